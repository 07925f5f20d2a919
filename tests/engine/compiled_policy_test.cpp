// The compiled decision structure: SPEC vectors, agreement with the reference evaluator on random
// policies, and the algebraic properties every IAM evaluator must have.
#include <gatehouse/engine/compiled_policy.hpp>

#include <gatehouse/engine/containment.hpp>
#include <gatehouse/engine/reference.hpp>

#include <algorithm>
#include <array>
#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <map>
#include <ostream>

#include "random_policy.hpp"

namespace {

using namespace gatehouse;
using engine::decision;
using engine::sourced_statement;

struct match_vector {
  const char* resource;
  const char* pattern;
  bool expected;
};
std::ostream& operator<<(std::ostream& os, const match_vector& v) {
  return os << '"' << v.resource << "\" vs \"" << v.pattern << "\" -> " << v.expected;
}

// SPEC §2.3's vectors, FeatBit's behaviour, and the edges of the split rules.
const std::array<match_vector, 46> match_vectors = {{
    // Prefix globs around the eight-byte head the engine compares first.
    {"project/web-frontend", "project/web-front*", true},
    {"project/web-fronx", "project/web-front*", false},
    {"project/web", "project/web-front*", false},
    {"proj", "project*", false},
    {"project", "project*", true},
    {"projecT/x", "project/*", false},
    {"project/foo;tagA,tagB", "project/foo;tag*", true},
    {"project/foo;tagC", "project/foo;tagA,tagB", false},
    {"project/foo", "project/*;required", false},
    {"project/foo;dev:env/prod;us-east", "project/*:env/*;us-east", true},
    {"project/Foo", "project/foo", false},
    {"project/foo.bar", "project/*.bar", true},
    {"project/foo", "project/foo:env/*", false},
    {"anything/here", "*", true},
    {"", "project/foo", false},
    {"", "*", false},
    {"project/web", "project/web", true},
    {"project/web:env/prod:flag/x", "project/web", true},
    {"project/web:env/prod:flag/x", "project/web:env/prod", true},
    {"project/web:env/prod:flag/x", "project/*:env/*:flag/*", true},
    {"project/web:env/prod:flag/x", "project/*:env/dev:flag/*", false},
    {"project/web:env/prod", "*", true},
    {"project/web", "project/*", true},
    {"project/web", "project/w*b", true},
    {"project/web", "project/w*x", false},
    {"project/", "project/*", true},
    {"project/a/b", "project/*", true},
    {"project/web", "*/web", true},
    {"projectweb", "project/*", false},
    {"project/web;beta", "project/web", true},
    {"project/web;beta", "project/web;beta", true},
    {"project/web;beta,ops", "project/web;ops", true},
    {"project/web;beta", "project/web;Beta", false},
    {"project/web;", "project/web;*", false},
    {"project/web;,x", "project/web;x", true},
    {"project/web;a;b", "project/web;a;b", true},
    {"project/web;a;b", "project/web;a", false},
    {"project/web:env/x;t", "project/web:env/*;*", true},
    {"project/web:env/x", "project/web:env/*;*", false},
    {"project/web::flag/x", "project/web:*:flag/x", true},
    {"project/web:", "project/web:*", true},
    {"project/web", "project/web:*", false},
    {"a:b", "*:*", true},
    {"a", "*:*", false},
    {"flag/dark-mode", "flag/dark-*", true},
    {"flag/dark-mode", "flag/*-mode*", true},
}};

std::vector<sourced_statement> allow_on(const std::string& pattern,
                                        std::string action = "ToggleFlag") {
  return {
      {"p", policy::statement{"s", "flag", policy::effect::allow, {std::move(action)}, {pattern}}}};
}

BOOST_AUTO_TEST_SUITE(compiled_policy_tests)

BOOST_DATA_TEST_CASE(spec_match_vectors, boost::unit_test::data::make(match_vectors), v) {
  BOOST_TEST(engine::reference::matches(v.resource, v.pattern) == v.expected);
  // Patterns that are outside the grammar are only checked on the reference evaluator.
  const auto statements = allow_on(v.pattern);
  auto compiled = engine::compiled_policy::compile(statements);
  if (!compiled) return;
  const auto expected = v.expected ? decision::allow : decision::implicit_deny;
  BOOST_TEST((*compiled)->decide("ToggleFlag", v.resource) == expected);
  std::array<std::uint32_t, 4> buffer{};
  const auto verdict = (*compiled)->evaluate("ToggleFlag", v.resource, buffer);
  BOOST_TEST(verdict.decision == expected);
  BOOST_TEST(verdict.written == (v.expected ? 1U : 0U));
}

BOOST_AUTO_TEST_CASE(actions_select_statements) {
  const auto p = testing::compile_or_fail(allow_on("project/*", "ToggleFlag"));
  BOOST_TEST(p->decide("ToggleFlag", "project/web") == decision::allow);
  BOOST_TEST(p->decide("CreateFlag", "project/web") == decision::implicit_deny);
  BOOST_TEST(p->decide("toggleflag", "project/web") == decision::implicit_deny);
  BOOST_TEST(p->decide("SomethingElse", "project/web") == decision::implicit_deny);

  const auto any = testing::compile_or_fail(allow_on("project/*", "*"));
  BOOST_TEST(any->decide("CreateFlag", "project/web") == decision::allow);
  BOOST_TEST(any->decide("SomethingElse", "project/web") == decision::allow);
  BOOST_TEST(any->decide("", "project/web") == decision::allow);
}

BOOST_AUTO_TEST_CASE(resource_type_star_matches_everything) {
  std::vector<sourced_statement> s = {
      {"owner", {"all", "*", policy::effect::allow, {"CreateFlag"}, {"project/none"}}}};
  const auto p = testing::compile_or_fail(s);
  BOOST_TEST(p->decide("DeleteProject", "project/web") == decision::allow);
  BOOST_TEST(p->decide("SomethingElse", "") == decision::allow);
  BOOST_TEST(p->decide("ToggleFlag", "no-slash-at-all") == decision::allow);
}

BOOST_AUTO_TEST_CASE(deny_wins_and_names_its_statements) {
  std::vector<sourced_statement> s = {
      {"dev", {"a1", "flag", policy::effect::allow, {"*"}, {"project/*:env/*:flag/*"}}},
      {"dev", {"a2", "flag", policy::effect::allow, {"ToggleFlag"}, {"project/web"}}},
      {"guard", {"d1", "flag", policy::effect::deny, {"ToggleFlag"}, {"project/*:env/prod"}}},
      {"guard", {"d2", "flag", policy::effect::deny, {"ToggleFlag"}, {"*:env/prod:flag/*;ops"}}},
  };
  const auto p = testing::compile_or_fail(s);
  std::array<std::uint32_t, 8> buffer{};

  auto v = p->evaluate("ToggleFlag", "project/web:env/prod:flag/x;ops", buffer);
  BOOST_TEST(v.decision == decision::explicit_deny);
  BOOST_TEST(std::vector<std::uint32_t>(buffer.begin(), buffer.begin() + v.written) ==
                 (std::vector<std::uint32_t>{2, 3}),
             boost::test_tools::per_element());

  v = p->evaluate("ToggleFlag", "project/web:env/dev:flag/x", buffer);
  BOOST_TEST(v.decision == decision::allow);
  BOOST_TEST(std::vector<std::uint32_t>(buffer.begin(), buffer.begin() + v.written) ==
                 (std::vector<std::uint32_t>{0, 1}),
             boost::test_tools::per_element());
  BOOST_TEST(p->statement(1).statement_id == "a2");
  BOOST_TEST(p->statement(2).policy_id == "guard");

  v = p->evaluate("CreateFlag", "project/web:env/prod:flag/x", buffer);
  BOOST_TEST(v.decision == decision::allow);
  BOOST_TEST(v.written == 1U);
}

BOOST_AUTO_TEST_CASE(small_buffer_reports_truncation) {
  std::vector<sourced_statement> s;
  for (int i = 0; i < 5; ++i) {
    s.push_back({"p",
                 {"s" + std::to_string(i),
                  "flag",
                  policy::effect::allow,
                  {"*"},
                  {"project/*" + std::string(static_cast<std::size_t>(i), '*')}}});
  }
  s.push_back({"p", {"d", "flag", policy::effect::deny, {"*"}, {"project/x"}}});
  const auto p = testing::compile_or_fail(s);
  std::array<std::uint32_t, 2> small{};
  auto v = p->evaluate("ToggleFlag", "project/web", small);
  BOOST_TEST(v.decision == decision::allow);
  BOOST_TEST(v.truncated);
  BOOST_TEST(v.written == 2U);
  // A deny found after the buffer filled with allows is still reported, alone.
  v = p->evaluate("ToggleFlag", "project/x", small);
  BOOST_TEST(v.decision == decision::explicit_deny);
  BOOST_TEST(!v.truncated);
  BOOST_TEST(v.written == 1U);
  BOOST_TEST(small[0] == 5U);
}

BOOST_AUTO_TEST_CASE(a_statement_met_twice_fills_one_slot) {
  std::vector<sourced_statement> s = {
      {"p", {"twice", "flag", policy::effect::allow, {"*"}, {"a/a", "a/*", "*"}}},
      {"p", {"once", "flag", policy::effect::allow, {"*"}, {"a/a"}}}};
  const auto p = testing::compile_or_fail(s);
  std::array<std::uint32_t, 2> exact{};
  const auto v = p->evaluate("ToggleFlag", "a/a", exact);
  BOOST_TEST(v.decision == decision::allow);
  BOOST_TEST(!v.truncated);
  BOOST_TEST(v.written == 2U);
  BOOST_TEST(exact[0] == 0U);
  BOOST_TEST(exact[1] == 1U);
}

// Sets larger than one evaluate window are collected window by window when they come from many
// trie nodes, and merged when they come from few; the ids must come out complete, ascending and of
// the deciding effect, across the window boundary, either way.
BOOST_DATA_TEST_CASE(determining_statements_span_evaluate_windows,
                     boost::unit_test::data::make({false, true}), apart) {
  constexpr std::size_t window = engine::compiled_policy::evaluate_window;
  const std::size_t count = window + 300;
  std::vector<sourced_statement> s;
  s.reserve(count);
  // The matching allows: all at one node, or each at a node of its own.
  const std::map<std::size_t, std::string> matching = {
      {3, "project/*"},
      {window - 1, apart ? "project/w*" : "project/*"},
      {window, apart ? "project/web" : "project/*"},
      {count - 1, apart ? "project/we*" : "project/*"}};
  for (std::size_t i = 0; i < count; ++i) {
    // Filler on other projects; matching allows just before and after the boundary and at
    // both ends, and one matching deny for "project/x" only, past the boundary.
    std::string resource = "project/p" + std::to_string(i);
    if (const auto it = matching.find(i); it != matching.end()) resource = it->second;
    s.push_back({"p", {"s" + std::to_string(i), "flag", policy::effect::allow, {"*"}, {resource}}});
  }
  s[window + 150].statement.effect = policy::effect::deny;
  s[window + 150].statement.resources = {"project/x"};
  const auto p = testing::compile_or_fail(s);

  std::vector<std::uint32_t> all(8);
  auto v = p->evaluate("ToggleFlag", "project/web", all);
  BOOST_TEST(v.decision == decision::allow);
  BOOST_TEST(!v.truncated);
  const std::vector<std::uint32_t> allows = {3, static_cast<std::uint32_t>(window - 1),
                                             static_cast<std::uint32_t>(window),
                                             static_cast<std::uint32_t>(count - 1)};
  BOOST_TEST(std::vector<std::uint32_t>(all.begin(), all.begin() + v.written) == allows,
             boost::test_tools::per_element());

  // A buffer that fills inside the first window keeps the lowest ids and says so.
  std::array<std::uint32_t, 2> two{};
  v = p->evaluate("ToggleFlag", "project/web", two);
  BOOST_TEST(v.truncated);
  BOOST_TEST(v.written == 2U);
  BOOST_TEST(two[0] == 3U);
  BOOST_TEST(two[1] == window - 1);

  // The deny in the second window decides, and is reported alone.
  v = p->evaluate("ToggleFlag", "project/x", all);
  BOOST_TEST(v.decision == decision::explicit_deny);
  BOOST_TEST(!v.truncated);
  BOOST_TEST(v.written == 1U);
  BOOST_TEST(all[0] == window + 150);
  BOOST_TEST(p->decide("ToggleFlag", "project/x") == decision::explicit_deny);

  const auto expected = engine::reference::evaluate(s, "ToggleFlag", "project/x");
  BOOST_TEST(expected.determining == std::vector<std::uint32_t>{all[0]},
             boost::test_tools::per_element());
}

// What one evaluation met and did not report (past a full buffer, or allows met before a deny
// decided) must not show up in the next one on the same thread.
BOOST_AUTO_TEST_CASE(an_evaluation_leaves_nothing_behind_for_the_next) {
  std::vector<sourced_statement> s;
  const auto add = [&](policy::effect effect, const std::string& resource) {
    s.push_back(
        {"p", {"s" + std::to_string(s.size()), "flag", effect, {"ToggleFlag"}, {resource}}});
  };
  // Each group ends at three trie nodes, more than a walk merges directly: its statements are
  // marked in the per-thread bitmap, which must be left clear.
  const auto three_ways = [](int i, const std::string& name) {
    return i % 3 == 0   ? "project/" + name
           : i % 3 == 1 ? "project/" + name + "*"
                        : "project/*" + name;
  };
  for (int i = 0; i < 200; ++i) add(policy::effect::allow, three_ways(i, "a"));  // 0-199
  add(policy::effect::allow, "project/b");                                       // 200
  add(policy::effect::deny, "project/c:env/e");  // 201, met after the allows above it
  for (int i = 0; i < 100; ++i) add(policy::effect::allow, three_ways(i, "c"));  // 202-301
  const auto p = testing::compile_or_fail(s);
  std::array<std::uint32_t, 256> all{};

  std::array<std::uint32_t, 1> one{};
  auto v = p->evaluate("ToggleFlag", "project/a", one);
  BOOST_TEST(v.truncated);
  BOOST_TEST(one[0] == 0U);
  v = p->evaluate("ToggleFlag", "project/b", all);
  BOOST_TEST(v.decision == decision::allow);
  BOOST_TEST(std::vector<std::uint32_t>(all.begin(), all.begin() + v.written) ==
                 std::vector<std::uint32_t>{200},
             boost::test_tools::per_element());

  v = p->evaluate("ToggleFlag", "project/c:env/e", all);
  BOOST_TEST(v.decision == decision::explicit_deny);
  BOOST_TEST(std::vector<std::uint32_t>(all.begin(), all.begin() + v.written) ==
                 std::vector<std::uint32_t>{201},
             boost::test_tools::per_element());
  v = p->evaluate("ToggleFlag", "project/b", all);
  BOOST_TEST(std::vector<std::uint32_t>(all.begin(), all.begin() + v.written) ==
                 std::vector<std::uint32_t>{200},
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(patterns_deeper_than_the_limit_do_not_compile) {
  std::string deep = "a/a";
  for (std::size_t i = 1; i <= engine::compiled_policy::max_pattern_depth; ++i) deep += ":a/a";
  const auto statements = allow_on(deep);
  const auto compiled = engine::compiled_policy::compile(statements);
  BOOST_REQUIRE(!compiled);
  BOOST_TEST((compiled.error().what == engine::compile_error::reason::too_deep));
  // At the limit it compiles, and a deeper request still matches it as a prefix.
  const auto at_limit = allow_on(deep.substr(4));
  const auto p = testing::compile_or_fail(at_limit);
  BOOST_TEST(p->decide("ToggleFlag", deep + ":x/y") == decision::allow);
}

BOOST_AUTO_TEST_CASE(compile_errors_name_the_item) {
  std::vector<sourced_statement> s = {
      {"p", {"ok", "flag", policy::effect::allow, {"ToggleFlag"}, {"project/*"}}},
      {"p", {"bad", "flag", policy::effect::allow, {"ToggleFlag", "ToggelFlag"}, {"project/*"}}}};
  auto compiled = engine::compiled_policy::compile(s);
  BOOST_REQUIRE(!compiled);
  BOOST_TEST((compiled.error().what == engine::compile_error::reason::unknown_action));
  BOOST_TEST(compiled.error().statement_index == 1U);
  BOOST_TEST(compiled.error().item_index == 1U);
  BOOST_TEST(engine::describe(compiled.error(), s).find("ToggelFlag") != std::string::npos);

  s[1].statement.actions = {"ToggleFlag"};
  s[1].statement.resources = {"project/*", "project/web::env/x"};
  compiled = engine::compiled_policy::compile(s);
  BOOST_REQUIRE(!compiled);
  BOOST_TEST((compiled.error().what == engine::compile_error::reason::bad_resource));
  BOOST_TEST(compiled.error().item_index == 1U);
  BOOST_TEST((compiled.error().rn.code == policy::rn_errc::empty_segment));
}

struct limit_case {
  const char* name;
  policy::statement statement;
  engine::compile_error::reason reason;
};
std::ostream& operator<<(std::ostream& os, const limit_case& c) { return os << c.name; }

std::string tagged_pattern(std::size_t tags) {
  std::string p = "project/*;t0";
  for (std::size_t i = 1; i < tags; ++i) p += ",t" + std::to_string(i);
  return p;
}

std::vector<std::string> numbered(const std::string& stem, std::size_t n) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back(stem + std::to_string(i));
  return out;
}

// A one-statement allow of `type`, as the limit cases vary it.
policy::statement allow(std::string type, std::vector<std::string> actions,
                        std::vector<std::string> resources) {
  return {"s", std::move(type), policy::effect::allow, std::move(actions), std::move(resources)};
}

// A pattern one byte past the pattern limit.
std::string too_long_pattern() {
  return "project/" + std::string(policy::max_pattern_bytes - 7, 'x');
}

// One item past each per-pattern and per-statement limit of policy/limits.hpp; the compiler holds
// them as the validator does, so nothing beyond them is ever compiled.
using limit = engine::compile_error::reason;
const std::array<limit_case, 5> past_the_limits = {{
    {"pattern bytes", allow("flag", {"ToggleFlag"}, {too_long_pattern()}), limit::pattern_too_long},
    {"tags", allow("flag", {"ToggleFlag"}, {tagged_pattern(policy::max_segment_tags + 1)}),
     limit::too_many_tags},
    {"actions",
     allow("flag", std::vector<std::string>(policy::max_statement_actions + 1, "ToggleFlag"),
           {"project/*"}),
     limit::too_many_actions},
    {"resources",
     allow("flag", {"ToggleFlag"}, numbered("project/p", policy::max_statement_resources + 1)),
     limit::too_many_resources},
    {"pattern bytes under resourceType *", allow("*", {"*"}, {too_long_pattern()}),
     limit::pattern_too_long},
}};

BOOST_DATA_TEST_CASE(statements_past_a_limit_do_not_compile,
                     boost::unit_test::data::make(past_the_limits), c) {
  const std::vector<sourced_statement> past = {{"p", c.statement}};
  const auto compiled = engine::compiled_policy::compile(past);
  BOOST_REQUIRE(!compiled);
  BOOST_TEST((compiled.error().what == c.reason));
  BOOST_TEST(engine::describe(compiled.error(), past).find("statement 0") != std::string::npos);
  // One item fewer compiles.
  auto at = c.statement;
  if (!at.resources.empty() && at.resources.size() > policy::max_statement_resources) {
    at.resources.pop_back();
  } else if (at.actions.size() > policy::max_statement_actions) {
    at.actions.pop_back();
  } else if (at.resources[0].find(';') != std::string::npos) {
    at.resources[0] = tagged_pattern(policy::max_segment_tags);
  } else {
    at.resources[0].pop_back();
  }
  BOOST_TEST(
      engine::compiled_policy::compile(std::vector<sourced_statement>{{"p", at}}).has_value());
}

// A stored statement that does not compile (an unknown action, a pattern past the limits) fails
// closed alone: an allow grants nothing, a deny denies its actions everywhere, and every other
// statement keeps its meaning.
BOOST_AUTO_TEST_CASE(statements_that_do_not_compile_fail_closed_one_by_one) {
  const std::string too_deep = [] {
    std::string p = "project/a";
    for (std::size_t i = 0; i < policy::max_pattern_segments; ++i) p += ":env/e";
    return p;
  }();
  const std::vector<sourced_statement> stored = {
      {"p", {"good", "flag", policy::effect::allow, {"*"}, {"project/*"}}},
      {"p", {"bad-allow", "flag", policy::effect::allow, {"TogleFlag"}, {"project/*"}}},
      {"p", {"bad-deny", "flag", policy::effect::deny, {"DeleteFlag"}, {too_deep}}},
      {"p", {"good-deny", "flag", policy::effect::deny, {"ArchiveFlag"}, {"project/x"}}},
      {"p", {"unknown-deny", "flag", policy::effect::deny, {"Nonsense"}, {"project/z"}}},
  };
  BOOST_TEST(!engine::compiled_policy::compile(stored).has_value());
  const auto compiled = engine::compiled_policy::compile_fail_closed(stored);
  BOOST_REQUIRE(compiled.policy);
  BOOST_REQUIRE(compiled.failures.size() == 3U);
  BOOST_TEST(compiled.failures[0].statement_index == 1U);
  BOOST_TEST((compiled.failures[0].what == engine::compile_error::reason::unknown_action));
  BOOST_TEST(compiled.failures[1].statement_index == 2U);
  BOOST_TEST((compiled.failures[1].what == engine::compile_error::reason::too_deep));
  BOOST_TEST(compiled.failures[2].statement_index == 4U);
  const auto& p = *compiled.policy;
  // The good allow still grants; the broken deny denies DeleteFlag on everything (the empty name
  // included) and, for the unknown name, what a request naming it would resolve to.
  BOOST_TEST(p.decide("ToggleFlag", "project/web") == decision::allow);
  BOOST_TEST(p.decide("DeleteFlag", "project/web") == decision::explicit_deny);
  BOOST_TEST(p.decide("DeleteFlag", "organization/o") == decision::explicit_deny);
  BOOST_TEST(p.decide("DeleteFlag", "") == decision::explicit_deny);
  BOOST_TEST(p.decide("Nonsense", "project/web") == decision::explicit_deny);
  BOOST_TEST(p.decide("ArchiveFlag", "project/x") == decision::explicit_deny);
  BOOST_TEST(p.decide("ArchiveFlag", "project/y") == decision::allow);
  // Determining statements name the broken deny.
  std::array<std::uint32_t, 8> buffer{};
  const auto v = p.evaluate("DeleteFlag", "project/web", buffer);
  BOOST_TEST((v.decision == decision::explicit_deny));
  BOOST_TEST(v.written == 1U);
  BOOST_TEST(buffer[0] == 2U);
  // The broken allow alone grants nothing.
  const std::vector<sourced_statement> allow_only = {stored[1]};
  const auto nothing = engine::compiled_policy::compile_fail_closed(allow_only);
  BOOST_TEST(nothing.policy->decide("ToggleFlag", "project/web") == decision::implicit_deny);
  // A containment check sees the broken deny too: nothing that allows DeleteFlag fits inside.
  const auto wants_delete = testing::compile_or_fail(
      {{"t", {"t", "flag", policy::effect::allow, {"DeleteFlag"}, {"project/web"}}}});
  const auto contained = engine::contains(p, *wants_delete);
  BOOST_REQUIRE(contained.has_value());
  BOOST_TEST(!contained->contained);
}

std::vector<std::uint32_t> determining_of(const engine::compiled_policy& p,
                                          const std::string& action, const std::string& resource,
                                          decision& out) {
  std::array<std::uint32_t, 64> buffer{};
  const auto v = p.evaluate(action, resource, buffer);
  BOOST_TEST(!v.truncated);
  out = v.decision;
  return {buffer.begin(), buffer.begin() + v.written};
}

BOOST_AUTO_TEST_CASE(agrees_with_reference_on_random_policies) {
  testing::random_policy gen(20261128);
  std::size_t requests = 0;
  std::array<std::size_t, 3> seen{};
  for (int round = 0; round < 2000; ++round) {
    const auto statements = gen.statements(12);
    const auto compiled = testing::compile_or_fail(statements);
    for (int r = 0; r < 60; ++r, ++requests) {
      const auto action = gen.request_action();
      const auto resource = gen.request_resource();
      const auto expected = engine::reference::evaluate(statements, action, resource);
      decision got{};
      const auto determining = determining_of(*compiled, action, resource, got);
      ++seen[static_cast<std::size_t>(expected.decision)];
      BOOST_TEST_CONTEXT("round " << round << " action " << action << " resource \"" << resource
                                  << "\"") {
        BOOST_TEST(got == expected.decision);
        BOOST_TEST(compiled->decide(action, resource) == expected.decision);
        BOOST_TEST(determining == expected.determining, boost::test_tools::per_element());
        // A buffer of exactly the right size is enough, whatever matched twice.
        std::vector<std::uint32_t> exact(expected.determining.size());
        const auto v = compiled->evaluate(action, resource, exact);
        BOOST_TEST(!v.truncated);
        BOOST_TEST(exact == expected.determining, boost::test_tools::per_element());
        // One short: truncated, holding the lowest. The statements left out must not linger
        // into the next request's answer (the next evaluation checks that).
        if (expected.determining.size() >= 2) {
          std::vector<std::uint32_t> short_by_one(expected.determining.size() - 1);
          const auto cut = compiled->evaluate(action, resource, short_by_one);
          BOOST_TEST(cut.truncated);
          BOOST_TEST(cut.written == short_by_one.size());
          BOOST_TEST(
              std::equal(short_by_one.begin(), short_by_one.end(), expected.determining.begin()));
        }
        // Several actions in one walk, which passes by what can no longer change any of them:
        // one reference decision per action.
        policy::action_set of_interest = 0;
        policy::action_set expected_allowed = 0;
        for (int k = 0; k < 3; ++k) {
          const auto other = k == 0 ? action : gen.request_action();
          const policy::action_set bit = policy::action_set{1} << policy::find_action(other);
          of_interest |= bit;
          if (engine::reference::evaluate(statements, other, resource).decision ==
              decision::allow) {
            expected_allowed |= bit;
          }
        }
        BOOST_TEST(compiled->allowed_actions(of_interest, resource) == expected_allowed);
      }
    }
  }
  BOOST_TEST(requests >= 100'000U);
  // The generator must exercise every outcome, or the agreement says little.
  for (auto count : seen) BOOST_TEST(count > requests / 50);
}

// Decisions of `statements` over a fixed request sample.
std::vector<decision> decisions(const std::vector<sourced_statement>& statements,
                                const std::vector<std::pair<std::string, std::string>>& requests) {
  const auto compiled = testing::compile_or_fail(statements);
  std::vector<decision> out;
  for (const auto& [action, resource] : requests) out.push_back(compiled->decide(action, resource));
  return out;
}

BOOST_AUTO_TEST_CASE(algebraic_properties) {
  testing::random_policy gen(7);
  for (int round = 0; round < 300; ++round) {
    auto statements = gen.statements(10);
    std::vector<std::pair<std::string, std::string>> requests;
    for (int r = 0; r < 60; ++r)
      requests.emplace_back(gen.request_action(), gen.request_resource());
    const auto base = decisions(statements, requests);

    // Default deny: nothing allows what no statement matches.
    const auto nothing = decisions({}, requests);
    BOOST_TEST(std::all_of(nothing.begin(), nothing.end(),
                           [](decision d) { return d == decision::implicit_deny; }));

    // Order and duplicates never change a decision.
    auto shuffled = statements;
    std::shuffle(shuffled.begin(), shuffled.end(), gen.rng());
    if (!statements.empty()) shuffled.push_back(statements[gen.below(statements.size())]);
    BOOST_TEST(decisions(shuffled, requests) == base, boost::test_tools::per_element());

    // Adding an allow never turns an allow into a deny; adding a deny never turns a deny into
    // an allow; a deny that matches wins.
    auto more_allow = statements;
    auto extra = gen.statement(99);
    extra.effect = policy::effect::allow;
    more_allow.push_back({"extra", extra});
    const auto with_allow = decisions(more_allow, requests);
    auto more_deny = statements;
    extra.effect = policy::effect::deny;
    more_deny.push_back({"extra", extra});
    const auto with_deny = decisions(more_deny, requests);
    for (std::size_t i = 0; i < requests.size(); ++i) {
      if (base[i] == decision::allow) BOOST_TEST(with_allow[i] == decision::allow);
      if (base[i] != decision::allow) BOOST_TEST(with_deny[i] != decision::allow);
      if (engine::reference::statement_matches(extra, requests[i].first, requests[i].second)) {
        BOOST_TEST(with_deny[i] == decision::explicit_deny);
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
