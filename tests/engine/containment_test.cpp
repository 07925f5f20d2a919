// Containment: hand-made cases for every feature of the language, and a cross-check against
// brute-force enumeration of all requests over a small alphabet.
#include <gatehouse/engine/containment.hpp>

#include <gatehouse/engine/reference.hpp>

#include <boost/test/unit_test.hpp>

#include <bit>

#include "brute_force.hpp"
#include "random_policy.hpp"

namespace {

using namespace gatehouse;
using engine::sourced_statement;

sourced_statement allow(std::vector<std::string> actions, std::vector<std::string> resources) {
  return {"p", {"a", "flag", policy::effect::allow, std::move(actions), std::move(resources)}};
}
sourced_statement deny(std::vector<std::string> actions, std::vector<std::string> resources) {
  return {"p", {"d", "flag", policy::effect::deny, std::move(actions), std::move(resources)}};
}
sourced_statement universal(policy::effect e) { return {"p", {"u", "*", e, {"*"}, {"*"}}}; }

// Runs the check and verifies any counterexample on the reference evaluator.
engine::containment check(const std::vector<sourced_statement>& granted,
                          const std::vector<sourced_statement>& requested) {
  const auto g = testing::compile_or_fail(granted);
  const auto r = testing::compile_or_fail(requested);
  auto result = engine::contains(*g, *r);
  BOOST_REQUIRE(result.has_value());
  BOOST_TEST(result->contained == !result->counterexample.has_value());
  if (result->counterexample) {
    const auto& [action, resource] = *result->counterexample;
    BOOST_TEST_CONTEXT("counterexample " << action << " on \"" << resource << "\"") {
      BOOST_TEST((engine::reference::evaluate(requested, action, resource).decision ==
                  engine::decision::allow));
      BOOST_TEST((engine::reference::evaluate(granted, action, resource).decision !=
                  engine::decision::allow));
    }
  }
  return *result;
}

BOOST_AUTO_TEST_SUITE(containment_tests)

BOOST_AUTO_TEST_CASE(prefixes_and_globs) {
  const std::vector<sourced_statement> developer = {allow({"*"}, {"project/*:env/*:flag/*"}),
                                                    allow({"CanAccessProject"}, {"project/*"})};
  BOOST_TEST(check(developer, {allow({"ToggleFlag"}, {"project/web:env/prod:flag/*"})}).contained);
  BOOST_TEST(
      check(developer, {allow({"ToggleFlag"}, {"project/web:env/prod:flag/a*;beta"})}).contained);
  // A shorter pattern is a prefix and reaches beyond flags.
  auto r = check(developer, {allow({"ToggleFlag"}, {"project/web:env/prod"})});
  BOOST_TEST(!r.contained);
  BOOST_TEST(r.counterexample->resource.rfind("project/web:env/prod", 0) == 0U);
  // Actions outside the granted set, and names outside the catalogue under "*".
  r = check(developer, {allow({"DeleteProject"}, {"project/web"})});
  BOOST_TEST(!r.contained);
  BOOST_TEST(r.counterexample->action == "DeleteProject");
  r = check({allow({"ToggleFlag", "CreateFlag"}, {"*"})}, {allow({"*"}, {"project/x"})});
  BOOST_TEST(!r.contained);
}

BOOST_AUTO_TEST_CASE(deny_statements_on_both_sides) {
  const std::vector<sourced_statement> granted = {allow({"*"}, {"project/*"}),
                                                  deny({"ToggleFlag"}, {"project/*:env/prod"})};
  auto r = check(granted, {allow({"ToggleFlag"}, {"project/web"})});
  BOOST_TEST(!r.contained);
  BOOST_TEST(r.counterexample->resource.find(":env/prod") != std::string::npos);
  // The requested side may carve out the granted side's denial itself.
  BOOST_TEST(check(granted, {allow({"ToggleFlag"}, {"project/web"}),
                             deny({"ToggleFlag"}, {"project/web:env/prod"})})
                 .contained);
  // ... but not a narrower part of it.
  BOOST_TEST(!check(granted, {allow({"ToggleFlag"}, {"project/web"}),
                              deny({"ToggleFlag"}, {"project/web:env/prod:flag/*"})})
                  .contained);
  // A requested deny on everything asks for nothing.
  BOOST_TEST(check({}, {allow({"*"}, {"*"}), universal(policy::effect::deny)}).contained);
}

BOOST_AUTO_TEST_CASE(tags_are_one_of) {
  const std::vector<sourced_statement> granted = {allow({"*"}, {"project/*;beta,ops"})};
  BOOST_TEST(check(granted, {allow({"*"}, {"project/web;beta"})}).contained);
  BOOST_TEST(check(granted, {allow({"*"}, {"project/web;ops,beta"})}).contained);
  BOOST_TEST(!check(granted, {allow({"*"}, {"project/web;beta,dev"})}).contained);
  BOOST_TEST(!check(granted, {allow({"*"}, {"project/web"})}).contained);
  BOOST_TEST(check({allow({"*"}, {"project/web"})}, {allow({"*"}, {"project/web;x*"})}).contained);
  // A denied tag only needs one of the request's tags.
  const std::vector<sourced_statement> no_ops = {allow({"*"}, {"project/*"}),
                                                 deny({"*"}, {"project/*;ops"})};
  auto r = check(no_ops, {allow({"*"}, {"project/web;beta"})});
  BOOST_TEST(!r.contained);
  BOOST_TEST(r.counterexample->resource.find("ops") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(universal_statements) {
  const std::vector<sourced_statement> owner = {universal(policy::effect::allow)};
  BOOST_TEST(check(owner, owner).contained);
  BOOST_TEST(check(owner, {allow({"*"}, {"*"})}).contained);
  // "*" as a pattern never matches the empty resource name; resourceType "*" does.
  auto r = check({allow({"*"}, {"*"})}, owner);
  BOOST_TEST(!r.contained);
  BOOST_TEST(r.counterexample->resource == "");
  BOOST_TEST(!check({universal(policy::effect::allow), universal(policy::effect::deny)},
                    {allow({"ToggleFlag"}, {"project/a"})})
                  .contained);
  BOOST_TEST(check({}, {}).contained);
}

BOOST_AUTO_TEST_CASE(glob_overlaps_need_the_right_witness) {
  // Only requests in both globs are denied; the witness must sit in their intersection.
  const std::vector<sourced_statement> granted = {allow({"*"}, {"project/*"}),
                                                  deny({"*"}, {"project/a*b*c"})};
  auto r = check(granted, {allow({"*"}, {"project/*bc*"})});
  BOOST_TEST(!r.contained);
  BOOST_TEST(check(granted, {allow({"*"}, {"project/x*"})}).contained);
  // Two allows that together cover a glob no single one covers still leave a gap.
  BOOST_TEST(!check({allow({"*"}, {"project/a*", "project/*b"})}, {allow({"*"}, {"project/*"})})
                  .contained);
}

BOOST_AUTO_TEST_CASE(limit_fails_closed) {
  std::vector<sourced_statement> requested;
  for (int i = 0; i < 10; ++i) requested.push_back(allow({"*"}, {"project/a" + std::to_string(i)}));
  const auto g = testing::compile_or_fail({allow({"*"}, {"project/*"})});
  const auto r = testing::compile_or_fail(requested);
  BOOST_TEST(engine::contains(*g, *r)->contained);
  const auto result = engine::contains(*g, *r, {.max_work = 5});
  BOOST_REQUIRE(!result.has_value());
  BOOST_TEST((result.error() == engine::containment_errc::too_complex));
}

// Every request over the alphabet the random generator uses, up to the depth its patterns reach.
testing::request_space small_space() {
  testing::request_space space;
  space.actions = {"ToggleFlag", "CreateFlag", "SomethingElse"};
  space.paths = {"a", ""};
  for (const char* type : {"a", "c"}) {
    for (const auto& key : testing::strings_over("abc", 1, 2)) {
      space.paths.push_back(std::string(type) + "/" + key);
    }
  }
  space.tags = {"a", "b", "c", "ab"};
  space.max_depth = 2;
  return space;
}

BOOST_AUTO_TEST_CASE(agrees_with_brute_force) {
  const auto space = small_space();
  testing::random_policy gen(424242);
  std::size_t contained = 0;
  std::size_t refuted = 0;
  const int instances = 1200;
  for (int round = 0; round < instances; ++round) {
    auto granted = gen.statements(6);
    std::vector<sourced_statement> requested;
    if (gen.chance(0.5)) {
      // Derived from the granted set, so that containment is often true and barely so.
      for (const auto& s : granted) {
        if (gen.chance(0.6)) requested.push_back(s);
      }
      if (gen.chance(0.5)) requested.push_back({"p", gen.statement(50)});
    } else {
      requested = gen.statements(4);
    }
    const auto g = testing::compile_or_fail(granted);
    const auto r = testing::compile_or_fail(requested);
    const auto result = engine::contains(*g, *r);
    BOOST_REQUIRE(result.has_value());

    const bool brute_contained = !testing::find_escape(granted, requested, space).has_value();
    BOOST_TEST_CONTEXT("round " << round) {
      if (result->contained) {
        ++contained;
        BOOST_TEST(brute_contained);
      } else {
        ++refuted;
        BOOST_REQUIRE(result->counterexample.has_value());
        const auto& [action, resource] = *result->counterexample;
        BOOST_TEST((engine::reference::evaluate(requested, action, resource).decision ==
                    engine::decision::allow));
        BOOST_TEST((engine::reference::evaluate(granted, action, resource).decision !=
                    engine::decision::allow));
      }
    }
  }
  // Both outcomes must be common, or the cross-check proves little.
  BOOST_TEST(contained > static_cast<std::size_t>(instances) / 5);
  BOOST_TEST(refuted > static_cast<std::size_t>(instances) / 5);
}

// The actions a set allows somewhere, in one search: each with a request the reference evaluator
// allows, and none that brute force finds missing.
BOOST_AUTO_TEST_CASE(actions_allowed_somewhere_agree_with_brute_force) {
  const auto space = small_space();
  testing::random_policy gen(171717);
  std::size_t found = 0;
  std::size_t absent = 0;
  for (int round = 0; round < 400; ++round) {
    const auto statements = gen.statements(5);
    const auto compiled = testing::compile_or_fail(statements);
    const auto result = engine::allowed_somewhere(*compiled, policy::all_actions);
    BOOST_REQUIRE(result.complete);
    BOOST_TEST(static_cast<std::size_t>(std::popcount(result.actions)) == result.witnesses.size());
    for (const auto& [action, resource] : result.witnesses) {
      BOOST_TEST((engine::reference::evaluate(statements, action, resource).decision ==
                  engine::decision::allow),
                 "round " << round << ": " << action << " on \"" << resource << '"');
    }
    for (const auto& action : space.actions) {
      auto one = space;
      one.actions = {action};
      const bool brute = testing::find_escape({}, statements, one).has_value();
      const auto id = policy::find_action(action);
      const bool engine_says = (result.actions >> id & 1U) != 0;
      BOOST_TEST_CONTEXT("round " << round << ", " << action) {
        if (brute) BOOST_TEST(engine_says);
      }
      if (engine_says)
        ++found;
      else
        ++absent;
    }
  }
  BOOST_TEST(found > 100U);
  BOOST_TEST(absent > 100U);
}

// What an edit of a policy adds, per action, in one search: each witness real by the reference
// evaluator, and an action without one has no request in the brute-force space that the new
// statements allow and the old do not. Edits keep, drop and add statements, as authors do.
BOOST_AUTO_TEST_CASE(actions_beyond_agree_with_brute_force) {
  const auto space = small_space();
  testing::random_policy gen(505050);
  std::size_t differing = 0;
  std::size_t equal = 0;
  for (int round = 0; round < 500; ++round) {
    const auto before = gen.statements(5);
    std::vector<sourced_statement> after;
    for (const auto& s : before) {
      if (gen.chance(0.7)) after.push_back(s);
    }
    if (gen.chance(0.6)) after.push_back({"p", gen.statement(60)});
    const auto old_rules = testing::compile_or_fail(before);
    const auto new_rules = testing::compile_or_fail(after);
    const auto result = engine::beyond(*old_rules, *new_rules, policy::all_actions);
    BOOST_REQUIRE(result.complete);
    BOOST_TEST(static_cast<std::size_t>(std::popcount(result.actions)) == result.witnesses.size());
    for (const auto& [action, resource] : result.witnesses) {
      BOOST_TEST_CONTEXT("round " << round << ": " << action << " on \"" << resource << '"') {
        BOOST_TEST((engine::reference::evaluate(after, action, resource).decision ==
                    engine::decision::allow));
        BOOST_TEST((engine::reference::evaluate(before, action, resource).decision !=
                    engine::decision::allow));
      }
    }
    for (const auto& action : space.actions) {
      auto one = space;
      one.actions = {action};
      const bool brute = testing::find_escape(before, after, one).has_value();
      const bool engine_says = (result.actions >> policy::find_action(action) & 1U) != 0;
      BOOST_TEST_CONTEXT("round " << round << ", " << action) {
        if (brute) BOOST_TEST(engine_says);
      }
      if (engine_says)
        ++differing;
      else
        ++equal;
    }
  }
  BOOST_TEST(differing > 100U);
  BOOST_TEST(equal > 100U);
}

BOOST_AUTO_TEST_CASE(actions_allowed_somewhere_respect_denies) {
  const auto p = testing::compile_or_fail(
      {allow({"ToggleFlag", "DeleteFlag"}, {"project/*"}), deny({"DeleteFlag"}, {"project/*"}),
       allow({"CreateFlag"}, {"project/a"}), deny({"CreateFlag"}, {"project/*"})});
  const auto result = engine::allowed_somewhere(*p, policy::all_actions);
  BOOST_TEST(result.complete);
  BOOST_REQUIRE(result.witnesses.size() == 1U);
  BOOST_TEST(result.witnesses[0].action == "ToggleFlag");
  // Only the actions asked about are looked for.
  const auto none = engine::allowed_somewhere(*p, 0);
  BOOST_TEST(none.actions == 0U);
  BOOST_TEST(none.witnesses.empty());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
