// Boost.Test entry point of the engine suites.
#define BOOST_TEST_MODULE gatehouse engine
#include <boost/test/unit_test.hpp>

#include <gatehouse/engine/compiled_policy.hpp>

#include "random_policy.hpp"

namespace gatehouse::testing {

std::shared_ptr<const engine::compiled_policy> compile_or_fail(
    const std::vector<engine::sourced_statement>& statements) {
  auto compiled = engine::compiled_policy::compile(statements);
  if (!compiled) {
    BOOST_FAIL("statements do not compile: " << engine::describe(compiled.error(), statements));
  }
  return *compiled;
}

}  // namespace gatehouse::testing
