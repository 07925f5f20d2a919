// Statements from JSON text, as tests hand them to the IAM service, which takes typed values.
#pragma once

#include <gatehouse/policy/document.hpp>

#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <string_view>
#include <vector>

namespace gatehouse::testing {

/// The statements of `json`: parsed as the validator parses them, or, when it refuses them (an
/// unknown action, a pattern past the limits), read as written, so that the service's own checks
/// can be tested on them. Fails the test when the text is not a statement array at all.
inline std::vector<policy::statement> statements(std::string_view json) {
  const policy::load_options lenient{SIZE_MAX, SIZE_MAX, policy::severity::warning,
                                     std::size_t{64} << 20};
  auto loaded = policy::load_policy(json, lenient);
  if (loaded.ok()) return std::move(loaded.document->statements);
  auto as_written = policy::read_statements_as_stored(json);
  BOOST_REQUIRE_MESSAGE(as_written.has_value(), "not a statement array: " << json);
  return std::move(*as_written);
}

}  // namespace gatehouse::testing
