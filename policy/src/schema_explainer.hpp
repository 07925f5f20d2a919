// Explaining why a document fails the policy schema (schemas/policy.schema.json), failure by
// failure.
#pragma once

#include "json_access.hpp"
#include "source_map.hpp"

#include <string>

namespace gatehouse::policy::detail {

/// Reports to `findings`, once per distinct problem, why `value` (at `pointer` of the document)
/// is not what the policy schema's root accepts: a policy document or an array of statements.
void explain_schema_failures(const json_value& value, const std::string& pointer,
                             const source_map& map, finding_list& findings);

}  // namespace gatehouse::policy::detail
