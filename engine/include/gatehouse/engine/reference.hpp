// The naive reference evaluator: SPEC §2.3 read literally, statement by statement, on strings.
// It is the yardstick the compiled structure is tested and benchmarked against.
#pragma once

#include <gatehouse/engine/compiled_policy.hpp>

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace gatehouse::engine::reference {

/// Whether the concrete resource name `resource` matches pattern text `pattern`.
[[nodiscard]] bool matches(std::string_view resource, std::string_view pattern);

/// Whether `s` matches the request (action, resource).
[[nodiscard]] bool statement_matches(const policy::statement& s, std::string_view action,
                                     std::string_view resource);

struct result {
  engine::decision decision = decision::implicit_deny;
  /// Indices into the evaluated statements, ascending.
  std::vector<std::uint32_t> determining;
};

/// Evaluates by scanning every statement.
[[nodiscard]] result evaluate(std::span<const sourced_statement> statements,
                              std::string_view action, std::string_view resource);

}  // namespace gatehouse::engine::reference
