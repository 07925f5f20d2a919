// Statements, policy documents and requests as JSON text: the one place bench writes statements
// out, for the generated workloads and the hostile cases.
#pragma once

#include "workload.hpp"

#include <gatehouse/engine/compiled_policy.hpp>
#include <gatehouse/policy/statement.hpp>

#include <span>
#include <string>
#include <string_view>

namespace gatehouse::bench {

/// One statement as compact JSON: id, resourceType, effect, actions, resources.
[[nodiscard]] std::string statement_json(const policy::statement& s);

/// A bare statement array as compact JSON, as a token's permissions are sent.
[[nodiscard]] std::string statement_array_json(std::span<const policy::statement> statements);

/// A policy document (SPEC §2.1), one statement per line.
[[nodiscard]] std::string to_document_json(std::span<const generated_statement> statements,
                                           std::string_view id, std::string_view name);

/// One `{"action": …, "resource": …}` object per line.
[[nodiscard]] std::string to_requests_jsonl(std::span<const engine::request> requests);

}  // namespace gatehouse::bench
