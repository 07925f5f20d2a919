// Random changes through the IAM service's interface, against references worked out afresh: every
// member's rights after every directory change (and after reopening the store), and service
// tokens that never exceed their creator.
#include <gatehouse/iam/service.hpp>

#include <gatehouse/engine/reference.hpp>
#include <gatehouse/policy/document.hpp>
#include <gatehouse/store/database.hpp>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cctype>
#include <filesystem>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "iam_fixture.hpp"
#include "random_policy.hpp"
#include "statements.hpp"

namespace {

using namespace gatehouse;
using namespace gatehouse::testing;
using engine::decision;
using iam::errc;

/// `n` random statements (random_policy's alphabet) as the JSON array a policy author sends.
std::string random_statements_json(testing::random_policy& gen, std::size_t n) {
  std::string json = "[";
  for (std::size_t i = 0; i < n; ++i) {
    auto s = gen.statement(i);
    if (s.resource_type == "*") s.resource_type = "flag";
    if (i > 0) json += ',';
    json += R"({"id":")" + s.id + R"(","resourceType":")" + s.resource_type + R"(","effect":")" +
            (s.effect == policy::effect::deny ? "deny" : "allow") + R"(","actions":[)";
    for (std::size_t a = 0; a < s.actions.size(); ++a) {
      json += (a ? ",\"" : "\"") + s.actions[a] + "\"";
    }
    json += R"(],"resources":[)";
    for (std::size_t r = 0; r < s.resources.size(); ++r) {
      json += (r ? ",\"" : "\"") + s.resources[r] + "\"";
    }
    json += "]}";
  }
  return json + "]";
}

/// The organization's members, groups and custom policies as one step of a walk found them.
struct listing {
  std::vector<store::member_record> members;
  std::vector<store::group_record> groups;
  std::vector<std::string> policies;
};

/// An organization on a SQLite store, changed at random step by step. After each step every
/// member's rights must equal a compile of its effective policies worked out afresh from the
/// records (direct policies plus those of the groups that list it).
struct directory_walk {
  temp_dir dir;
  std::filesystem::path db = dir.path / "gatehouse.db";
  iam::server_key key = test_key();
  iam::limits limits;
  std::unique_ptr<iam::service> iam;
  store::organization_record org;
  store::member_record owner_record;
  iam::caller owner;
  testing::random_policy gen{2024};
  // A change that would leave the owner unable to manage IAM is refused (SPEC §10): random
  // statements may deny it. Every other change must succeed.
  std::size_t refused_last_owner = 0;
  std::size_t applied = 0;
  std::size_t refused_for_limit = 0;
  std::size_t requests = 0;
  std::size_t next_name = 0;

  directory_walk() {
    limits.max_members_per_organization = 9;
    iam = expect(iam::service::open(sqlite_at(db), key, builtins(), limits));
    std::tie(org, owner_record) = expect(iam->create_organization("acme", "owner@example.com"));
    owner = expect(iam->authenticate_member(owner_record.id, org.id));
  }

  template <class T>
  void apply(const iam::outcome<T>& outcome) {
    if (outcome.has_value()) {
      ++applied;
      return;
    }
    BOOST_TEST_REQUIRE(static_cast<int>(outcome.error().code) == static_cast<int>(errc::last_owner),
                       outcome.error().detail);
    ++refused_last_owner;
  }

  [[nodiscard]] std::vector<policy::statement> random_statements() {
    return testing::statements(random_statements_json(gen, 1 + gen.below(4)));
  }

  void new_policy() {
    const auto key_text = "p" + std::to_string(next_name++);
    const auto p = expect(iam->create_policy(owner, key_text, key_text, ""));
    apply(iam->set_policy_statements(owner, p.id, random_statements()));
  }

  void new_group() { expect(iam->create_group(owner, "g" + std::to_string(next_name++), "")); }

  [[nodiscard]] std::vector<std::string> custom_policy_ids() const {
    std::vector<std::string> ids;
    for (const auto& p : expect(iam->list_policies(owner))) {
      if (p.kind == iam::policy_kind::customer_managed) ids.push_back(p.id);
    }
    return ids;
  }

  // ---- The reference

  /// Effective statements from the records alone.
  [[nodiscard]] std::vector<engine::sourced_statement> expected_statements(
      const store::member_record& m) const {
    std::vector<std::string> ids = m.policy_ids;
    for (const auto& g : expect(iam->list_groups(owner))) {
      if (std::find(g.member_ids.begin(), g.member_ids.end(), m.id) != g.member_ids.end()) {
        ids.insert(ids.end(), g.policy_ids.begin(), g.policy_ids.end());
      }
    }
    std::vector<engine::sourced_statement> out;
    for (const auto& p : expect(iam->list_policies(owner))) {
      if (std::find(ids.begin(), ids.end(), p.id) == ids.end()) continue;
      for (const auto& s : p.statements) out.push_back({p.id, s});
    }
    return out;
  }

  void check_member(const store::member_record& m) {
    const auto who = expect(iam->authenticate_member(m.id, org.id));
    const auto statements = expected_statements(m);
    for (int r = 0; r < 25; ++r) {
      const auto action = gen.request_action();
      const auto resource = gen.request_resource();
      const auto want = engine::reference::evaluate(statements, action, resource).decision;
      BOOST_TEST_REQUIRE(iam->decide_only(who, action, resource) == want,
                         m.email << " " << action << " on " << resource);
      ++requests;
    }
    if (m.id == owner_record.id) {
      BOOST_TEST_REQUIRE(iam->decide_only(who, "CanManageIAM", "iam/*") == decision::allow);
    }
    std::string shouted = m.email;
    std::transform(shouted.begin(), shouted.end(), shouted.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    const auto by_email = iam->find_member_by_email(org.id, shouted);
    BOOST_TEST_REQUIRE(by_email.has_value());
    BOOST_TEST(by_email->id == m.id);
  }

  void check_everyone() {
    for (const auto& m : expect(iam->list_members(owner))) check_member(m);
  }

  // ---- Random picks among what a step found

  std::string any_member(const listing& l) { return gen.pick(l.members).id; }
  /// Anyone but the owner, who must stay.
  std::string some_member(const listing& l) {
    return l.members.size() > 1 ? l.members[1 + gen.below(l.members.size() - 1)].id : std::string();
  }
  std::string any_group(const listing& l) {
    return l.groups.empty() ? std::string() : gen.pick(l.groups).id;
  }
  std::string any_policy(const listing& l) {
    return l.policies.empty() || gen.chance(0.15) ? developer_id : gen.pick(l.policies);
  }

  // ---- The changes

  void add_member(const listing& l) {
    iam::new_member m{"x" + std::to_string(next_name++) + "@example.com", {}, {}};
    if (gen.chance(0.5)) m.policy_ids.push_back(any_policy(l));
    if (gen.chance(0.5) && !l.groups.empty()) m.group_ids.push_back(any_group(l));
    const auto added = iam->add_member(owner, m);
    if (l.members.size() >= limits.max_members_per_organization) {
      BOOST_TEST_REQUIRE(!added.has_value());
      BOOST_TEST(static_cast<int>(added.error().code) == static_cast<int>(errc::limit_exceeded));
      ++refused_for_limit;
      return;
    }
    BOOST_TEST_REQUIRE(added.has_value());
    // The same address in other letter case is the same member (when the limit does not refuse
    // it first).
    m.email[0] = 'X';
    if (l.members.size() + 1 < limits.max_members_per_organization) {
      expect_failure(iam->add_member(owner, m), errc::conflict);
    }
  }

  void remove_member(const listing& l) {
    const auto id = some_member(l);
    if (id.empty()) return;
    const auto email = std::find_if(l.members.begin(), l.members.end(), [&](auto& m) {
                         return m.id == id;
                       })->email;
    expect(iam->remove_member(owner, id));
    expect_failure(iam->authenticate_member(id, org.id), errc::unauthorized);
    expect_failure(iam->find_member_by_email(org.id, email), errc::not_found);
  }

  void change_groups(const listing& l) {
    if (l.groups.empty()) return;
    apply((gen.chance(0.6) ? iam->add_group_member(owner, any_group(l), any_member(l))
                           : iam->remove_group_member(owner, any_group(l), any_member(l))));
  }

  void change_group_policies(const listing& l) {
    if (l.groups.empty()) return;
    apply((gen.chance(0.6) ? iam->attach_group_policy(owner, any_group(l), any_policy(l))
                           : iam->detach_group_policy(owner, any_group(l), any_policy(l))));
  }

  /// One random change, or none: the same snapshot must then keep answering the same.
  void step() {
    const listing l{expect(iam->list_members(owner)), expect(iam->list_groups(owner)),
                    custom_policy_ids()};
    switch (gen.below(10)) {
      case 0:
      case 1:
        add_member(l);
        break;
      case 2:
        remove_member(l);
        break;
      case 3:
        apply((gen.chance(0.6) ? iam->attach_member_policy(owner, any_member(l), any_policy(l))
                               : iam->detach_member_policy(owner, any_member(l), any_policy(l))));
        break;
      case 4:
        change_groups(l);
        break;
      case 5:
        change_group_policies(l);
        break;
      case 6:
        if (!l.policies.empty()) {
          apply(iam->set_policy_statements(owner, gen.pick(l.policies), random_statements()));
        }
        break;
      case 7:
        if (!l.policies.empty() && gen.chance(0.5)) {
          apply(iam->delete_policy(owner, gen.pick(l.policies)));
        } else {
          new_policy();
        }
        break;
      case 8:
        if (!l.groups.empty() && gen.chance(0.4)) {
          apply(iam->delete_group(owner, any_group(l)));
        } else {
          new_group();
        }
        break;
      default:
        break;
    }
    check_everyone();
  }

  /// A service reopened from the same database, which derives everything in one pass from the
  /// stored records, decides the same.
  void check_reopened() {
    auto reopened = expect(iam::service::open(sqlite_at(db), key, builtins(), limits));
    for (const auto& m : expect(iam->list_members(owner))) {
      const auto a = expect(iam->authenticate_member(m.id, org.id));
      const auto b = expect(reopened->authenticate_member(m.id, org.id));
      for (int r = 0; r < 200; ++r) {
        const auto action = gen.request_action();
        const auto resource = gen.request_resource();
        BOOST_TEST_REQUIRE(iam->decide_only(a, action, resource) ==
                           reopened->decide_only(b, action, resource));
      }
    }
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(iam_property_tests)

// A created service token never allows what its creator could not do at creation time.
BOOST_AUTO_TEST_CASE(service_tokens_never_exceed_their_creator) {
  organization_fixture f;
  testing::random_policy gen(99);
  std::size_t created = 0;
  std::size_t refused = 0;
  for (int round = 0; round < 60; ++round) {
    const auto statements_json = [&](std::size_t n) { return random_statements_json(gen, n); };
    // The creator needs the token rights besides its random ones.
    const std::string manage = R"({"id":"m","resourceType":"access-token","effect":"allow",
        "actions":["ManageServiceAccessTokens"],"resources":["access-token/*"]})";
    auto creator_json = statements_json(1 + gen.below(5));
    creator_json.insert(1, manage + (creator_json.size() > 2 ? "," : ""));
    const auto creator = f.add("c" + std::to_string(round) + "@example.com",
                               {f.policy("creator-" + std::to_string(round), creator_json)});
    const auto requested = statements_json(1 + gen.below(3));
    const auto token =
        f.iam->create_token(creator, "t" + std::to_string(round), store::token_type::service,
                            testing::statements(requested));
    if (!token) {
      BOOST_TEST(static_cast<int>(token.error().code) == static_cast<int>(errc::forbidden));
      if (!token.error().counterexample) {
        // A random deny took the creator's own right to create tokens away.
        BOOST_TEST(
            !f.iam->decide(creator, "ManageServiceAccessTokens", "access-token/*").allowed());
        continue;
      }
      const auto ce = *token.error().counterexample;
      BOOST_TEST(!f.iam->decide(creator, ce.action, ce.resource).allowed());
      ++refused;
      continue;
    }
    ++created;
    const auto as_token = f.use(*token);
    for (int r = 0; r < 500; ++r) {
      const auto action = gen.request_action();
      const auto resource = gen.request_resource();
      if (f.iam->decide_only(as_token, action, resource) == decision::allow) {
        BOOST_TEST(f.iam->decide_only(creator, action, resource) == decision::allow);
      }
    }
  }
  BOOST_TEST(created > 5U);
  BOOST_TEST(refused > 5U);
}

// Each change updates only what it touches: the members it edits, the members of the groups it
// edits, the holders of the policies it edits. After every one of a long run of random changes,
// every member's rights must equal a compile of its effective policies worked out afresh from
// the records (direct policies plus those of the groups that list it), and a service reopened
// from the same database, which derives everything at once, must decide the same. The member
// limit and the email index are checked along the way.
BOOST_AUTO_TEST_CASE(rights_follow_every_directory_change) {
  directory_walk walk;
  for (int i = 0; i < 4; ++i) walk.new_policy();
  for (int i = 0; i < 3; ++i) walk.new_group();
  for (int step = 0; step < 400; ++step) walk.step();
  BOOST_TEST(walk.refused_for_limit > 0U);
  BOOST_TEST(walk.requests > 20'000U);
  // The refusals are the exception: the test exercises changes, not refusals.
  BOOST_TEST(walk.applied > 10 * walk.refused_last_owner);
  walk.check_reopened();
}

BOOST_AUTO_TEST_SUITE_END()
