// The semantic checks of SPEC §2.5 that the schema cannot express, over a statement array.
#pragma once

#include "json_access.hpp"
#include "source_map.hpp"

#include <gatehouse/policy/document.hpp>

#include <string>

namespace gatehouse::policy::detail {

/// Checks the statements of the array at `pointer` (actions, resource names and their shapes,
/// duplicate ids) and the limits of the whole set, whatever the schema made of them: a statement
/// that is not an object is skipped, and so is a member of the wrong type.
void check_statements(const json_value& statements, const std::string& pointer,
                      const source_map& map, finding_list& findings, const load_options& options);

}  // namespace gatehouse::policy::detail
