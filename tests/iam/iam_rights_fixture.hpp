// What the suites of SPEC §10's limits share: statements they grant, a store that counts its
// commits, the organization as its owner sees it, and checks of refusals and their
// counterexamples.
#pragma once

#include <gatehouse/iam/service.hpp>

#include <gatehouse/engine/reference.hpp>
#include <gatehouse/policy/document.hpp>
#include <gatehouse/store/database.hpp>

#include <boost/test/unit_test.hpp>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "iam_fixture.hpp"

namespace gatehouse::testing {

// The vocabulary of the suites that include this.
using engine::decision;
using iam::errc;
using store::token_type;

inline const std::string allow_toggle =
    R"([{"id":"toggle","resourceType":"flag","effect":"allow","actions":["ToggleFlag"],)"
    R"("resources":["project/*:env/*:flag/*"]}])";
inline const std::string allow_delete_projects =
    R"([{"id":"delete-projects","resourceType":"project","effect":"allow",)"
    R"("actions":["DeleteProject"],"resources":["project/*"]}])";
inline const std::string manage_iam_only =
    R"([{"id":"iam","resourceType":"iam","effect":"allow","actions":["CanManageIAM"],)"
    R"("resources":["iam/*"]}])";
inline const std::string deny_manage_iam =
    R"([{"id":"no-iam","resourceType":"iam","effect":"deny","actions":["CanManageIAM"],)"
    R"("resources":["iam/*"]}])";
inline const std::string everything =
    R"([{"id":"all","resourceType":"*","effect":"allow","actions":["*"],"resources":["*"]}])";

/// A store that keeps nothing, like the memory store, and counts the commits it is asked for:
/// a refused change must never reach it.
class counting_store final : public store::database {
 public:
  std::size_t commits = 0;

  boost::system::result<store::stored_state> load(
      const std::function<void(store::token_record&&)>& /*on_token*/) override {
    return store::stored_state{};
  }
  boost::system::error_code commit(std::span<const store::change> /*changes*/) override {
    ++commits;
    return {};
  }
};

/// An organization on a counting store.
struct counted_organization {
  counting_store* store;
  organization_fixture f;

  counted_organization() : counted_organization(std::make_unique<counting_store>()) {}
  explicit counted_organization(std::unique_ptr<counting_store> owned)
      : store(owned.get()), f(std::move(owned)) {}
};

/// Everything a change could touch in the organization of `f`, as its owner sees it.
struct world {
  std::vector<store::member_record> members;
  std::vector<store::group_record> groups;
  std::vector<std::pair<std::string, std::vector<policy::statement>>> policies;

  friend bool operator==(const world&, const world&) = default;
};

inline world world_of(organization_fixture& f) {
  world w;
  w.members = expect(f.iam->list_members(f.owner));
  w.groups = expect(f.iam->list_groups(f.owner));
  for (auto& p : expect(f.iam->list_policies(f.owner))) {
    w.policies.emplace_back(p.id, std::move(p.statements));
  }
  return w;
}

inline std::vector<policy::statement> statements_of_json(const std::string& json) {
  const auto loaded = policy::load_policy(json);
  BOOST_REQUIRE(loaded.ok());
  return loaded.document->statements;
}

inline std::vector<policy::statement> builtin_statements(const std::string& id) {
  for (const auto& doc : builtins()) {
    if (doc.id == id) return doc.statements;
  }
  BOOST_FAIL("no built-in policy " << id);
  return {};
}

/// Whether `statements` allow the request, by the reference evaluator.
inline bool allows(const std::vector<policy::statement>& statements, const engine::request& r) {
  std::vector<engine::sourced_statement> sourced;
  for (const auto& s : statements) sourced.push_back({"granted", s});
  return engine::reference::evaluate(sourced, r.action, r.resource).decision ==
         engine::decision::allow;
}

/// A refusal names a real counterexample: `granted` allows it and `who` may not make it.
template <class T>
void expect_counterexample(const iam::outcome<T>& r, const iam::service& iam,
                           const iam::caller& who, const std::vector<policy::statement>& granted) {
  expect_failure(r, iam::errc::forbidden);
  BOOST_REQUIRE_MESSAGE(r.error().counterexample.has_value(), "no counterexample");
  const engine::request ce = *r.error().counterexample;  // error() answers a copy
  BOOST_TEST(allows(granted, ce), ce.action << " on " << ce.resource << " is not granted");
  BOOST_TEST(iam.decide_only(who, ce.action, ce.resource) != engine::decision::allow,
             ce.action << " on " << ce.resource << " is allowed to the caller");
}

template <class T>
std::optional<iam::failure> failure_of(const iam::outcome<T>& r) {
  if (r) return std::nullopt;
  return r.error();
}

}  // namespace gatehouse::testing
