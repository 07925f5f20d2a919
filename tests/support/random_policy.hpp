// Random statement sets and requests over a small alphabet, for property and cross-check tests.
#pragma once

#include <gatehouse/engine/compiled_policy.hpp>

#include <boost/test/unit_test.hpp>

#include <ostream>
#include <random>
#include <string>
#include <vector>

namespace gatehouse::engine {
// Printing for BOOST_TEST comparisons.
inline std::ostream& operator<<(std::ostream& os, decision d) { return os << to_string(d); }
}  // namespace gatehouse::engine

namespace gatehouse::testing {

/// Generates grammar-valid statements and arbitrary requests over letters a, b (patterns) and
/// a, b, c (requests), so that random patterns and requests meet often.
class random_policy {
 public:
  explicit random_policy(std::uint64_t seed) : rng_(seed) {}

  std::mt19937_64& rng() { return rng_; }

  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  std::size_t below(std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_);
  }

  template <class T>
  const T& pick(const std::vector<T>& from) {
    return from[below(from.size())];
  }

  std::string glob() {
    static const std::vector<std::string> pieces = {"a", "b", "*", "a*", "*b", "ab", "a*b"};
    return pick(pieces);
  }

  std::string segment_pattern() {
    std::string out =
        chance(0.12) ? "*" : pick(std::vector<std::string>{"a", "c", "*"}) + "/" + glob();
    if (chance(0.3)) {
      out += ";" + glob();
      if (chance(0.3)) out += "," + glob();
    }
    return out;
  }

  std::string resource_pattern(std::size_t max_depth = 2) {
    std::string out = segment_pattern();
    const std::size_t depth = 1 + below(max_depth);
    for (std::size_t i = 1; i < depth; ++i) out += ":" + segment_pattern();
    return out;
  }

  policy::statement statement(std::size_t index) {
    policy::statement s;
    s.id = "s" + std::to_string(index);
    s.effect = chance(0.25) ? policy::effect::deny : policy::effect::allow;
    if (chance(0.04)) {
      s.resource_type = "*";
      s.actions = {"*"};
      s.resources = {"*"};
      return s;
    }
    s.resource_type = "flag";
    static const std::vector<std::string> actions = {"ToggleFlag", "CreateFlag", "*"};
    s.actions = {pick(actions)};
    if (chance(0.3)) s.actions.push_back(pick(actions));
    s.resources = {resource_pattern()};
    if (chance(0.3)) s.resources.push_back(resource_pattern());
    return s;
  }

  std::vector<engine::sourced_statement> statements(std::size_t max_count) {
    std::vector<engine::sourced_statement> out;
    const std::size_t count = below(max_count + 1);
    for (std::size_t i = 0; i < count; ++i)
      out.push_back({"p" + std::to_string(i % 3), statement(i)});
    return out;
  }

  std::string request_action() {
    static const std::vector<std::string> actions = {"ToggleFlag", "CreateFlag", "UpdateFlagName",
                                                     "SomethingElse"};
    return pick(actions);
  }

  std::string request_resource() {
    if (chance(0.02)) return "";
    std::string out;
    const std::size_t depth = 1 + below(3);
    for (std::size_t i = 0; i < depth; ++i) {
      if (i > 0) out += ':';
      static const std::vector<std::string> paths = {"a/a",   "a/b", "a/ab", "a/ba", "c/a",   "c/b",
                                                     "a/aab", "b/a", "a",    "",     "a/a/b", "*"};
      out += pick(paths);
      if (chance(0.35)) {
        out += ';';
        static const std::vector<std::string> tags = {"a", "b", "ab", "c", ""};
        out += pick(tags);
        if (chance(0.3)) out += "," + pick(tags);
      }
    }
    return out;
  }

 private:
  std::mt19937_64 rng_;
};

/// Compiles `statements`, failing the calling test when they do not compile.
inline std::shared_ptr<const engine::compiled_policy> compile_or_fail(
    const std::vector<engine::sourced_statement>& statements) {
  auto compiled = engine::compiled_policy::compile(statements);
  if (!compiled) {
    BOOST_FAIL("statements do not compile: " << engine::describe(compiled.error(), statements));
  }
  return *compiled;
}

}  // namespace gatehouse::testing
