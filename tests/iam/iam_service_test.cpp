// The IAM service through its public interface: effective rights, every access-token rule of
// SPEC §4, durability across reopen, and token writes racing with uses.
#include <gatehouse/iam/builtins.hpp>
#include <gatehouse/iam/service.hpp>

#include <gatehouse/engine/reference.hpp>
#include <gatehouse/policy/document.hpp>
#include <gatehouse/store/database.hpp>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <span>
#include <utility>
#include <variant>

#include "iam_fixture.hpp"
#include "random_policy.hpp"
#include "statements.hpp"

namespace {

using namespace gatehouse;
using namespace gatehouse::testing;
using engine::decision;
using iam::errc;
namespace fs = std::filesystem;

// A store that keeps nothing, like the memory store, but lets a test act while the service is
// committing a token: `during_token_write` runs (once) inside the commit that writes one, as a
// request served by another thread would. Last-use times written by a flush are kept.
class interleaving_store final : public store::database {
 public:
  std::function<void()> during_token_write;
  std::vector<store::touch_token> touched;

  boost::system::result<store::stored_state> load(
      const std::function<void(store::token_record&&)>& /*on_token*/) override {
    return store::stored_state{};
  }

  boost::system::error_code commit(std::span<const store::change> changes) override {
    for (const auto& c : changes) {
      if (std::holds_alternative<store::put_token>(c) && during_token_write) {
        std::exchange(during_token_write, nullptr)();
      }
      if (const auto* t = std::get_if<store::touch_token>(&c)) touched.push_back(*t);
    }
    return {};
  }

  [[nodiscard]] store::timestamp last_use_written(const std::string& token_id) const {
    store::timestamp latest = 0;
    for (const auto& t : touched) {
      if (t.id == token_id) latest = std::max(latest, t.last_used_at);
    }
    return latest;
  }
};

// A store that starts with `state` and streams `tokens` to the service, as a database edited by
// hand might hold them; it keeps nothing more.
class streaming_store final : public store::database {
 public:
  streaming_store(store::stored_state state, std::vector<store::token_record> tokens)
      : state_(std::move(state)), tokens_(std::move(tokens)) {}

  boost::system::result<store::stored_state> load(
      const std::function<void(store::token_record&&)>& on_token) override {
    for (auto t : tokens_) on_token(std::move(t));
    return state_;
  }

  boost::system::error_code commit(std::span<const store::change> /*changes*/) override {
    return {};
  }

 private:
  store::stored_state state_;
  std::vector<store::token_record> tokens_;
};

BOOST_AUTO_TEST_SUITE(iam_service_tests)

BOOST_AUTO_TEST_CASE(new_members_get_the_default_policy) {
  organization_fixture f;
  const auto dev = f.add("dev@example.com");
  BOOST_TEST(f.iam->decide(dev, "ToggleFlag", flag).allowed());
  BOOST_TEST(!f.iam->decide(dev, "CanManageIAM", "iam/*").allowed());
  BOOST_TEST(f.iam->decide(f.owner, "CanManageIAM", "iam/*").allowed());
  const auto result = f.iam->decide(dev, "ToggleFlag", flag);
  BOOST_REQUIRE(!result.statements.empty());
  BOOST_TEST(result.statements.front().policy_id == developer_id);
  // Without CanManageIAM a member cannot administer IAM.
  expect_failure(f.iam->add_member(dev, {"x@example.com", {}, {}}), errc::forbidden);
}

BOOST_AUTO_TEST_CASE(personal_tokens_follow_their_creator) {
  organization_fixture f;
  const auto admin = f.add("admin@example.com", {admin_id});
  const auto t = f.token(admin, "mine", store::token_type::personal);
  BOOST_TEST(t.secret->rfind("api-", 0) == 0U);
  BOOST_TEST(f.iam->decide(f.use(t), "DeleteProject", "project/web").allowed());

  // Shrinks with the creator ...
  expect(f.iam->attach_member_policy(f.owner, admin.member_id, developer_id));
  expect(f.iam->detach_member_policy(f.owner, admin.member_id, admin_id));
  auto as_token = f.use(t);
  BOOST_TEST(!f.iam->decide(as_token, "DeleteProject", "project/web").allowed());
  BOOST_TEST(f.iam->decide(as_token, "ToggleFlag", flag).allowed());
  BOOST_TEST((as_token.kind == iam::subject_kind::personal_token));

  // ... and grows back, also through groups.
  const auto group = expect(f.iam->create_group(f.owner, "admins", ""));
  expect(f.iam->attach_group_policy(f.owner, group.id, admin_id));
  expect(f.iam->add_group_member(f.owner, group.id, admin.member_id));
  BOOST_TEST(f.iam->decide(f.use(t), "DeleteProject", "project/web").allowed());
  expect(f.iam->remove_group_member(f.owner, group.id, admin.member_id));
  BOOST_TEST(!f.iam->decide(f.use(t), "DeleteProject", "project/web").allowed());
}

BOOST_AUTO_TEST_CASE(scoped_personal_tokens_are_the_intersection) {
  organization_fixture f;
  const auto dev = f.add("dev@example.com");
  const auto t = f.token(dev, "read-flags", store::token_type::personal,
                         R"([{"id":"s","resourceType":"flag","effect":"allow",
                             "actions":["ToggleFlag"],"resources":["project/web:env/*:flag/*"]}])");
  const auto as_token = f.use(t);
  BOOST_TEST(f.iam->decide(as_token, "ToggleFlag", flag).allowed());
  BOOST_TEST(!f.iam->decide(as_token, "ToggleFlag", "project/api:env/prod:flag/x").allowed());
  BOOST_TEST(!f.iam->decide(as_token, "CreateFlag", flag).allowed());
  // When the creator loses the right, the scope cannot keep it.
  expect(f.iam->detach_member_policy(f.owner, dev.member_id, developer_id));
  BOOST_TEST(!f.iam->decide(f.use(t), "ToggleFlag", flag).allowed());
}

BOOST_AUTO_TEST_CASE(service_tokens_are_frozen_and_capped) {
  organization_fixture f;
  const auto dev = f.add("dev@example.com");
  const std::string statements =
      R"([{"id":"s","resourceType":"flag","effect":"allow","actions":["*"],
           "resources":["project/web:env/*:flag/*"]}])";
  const auto t = f.token(dev, "ci", store::token_type::service, statements);
  BOOST_TEST((f.use(t).kind == iam::subject_kind::service_token));
  BOOST_TEST(f.iam->decide(f.use(t), "ToggleFlag", flag).allowed());
  // The creator's rights no longer matter.
  expect(f.iam->detach_member_policy(f.owner, dev.member_id, developer_id));
  BOOST_TEST(f.iam->decide(f.use(t), "ToggleFlag", flag).allowed());
  BOOST_TEST(!f.iam->decide(f.use(t), "DeleteProject", "project/web").allowed());

  // A Developer cannot mint a token that deletes projects; the refusal says what exceeds.
  const auto dev2 = f.add("dev2@example.com");
  const auto refused = f.iam->create_token(
      dev2, "too-much", store::token_type::service,
      testing::statements(
          R"([{"id":"s","resourceType":"project","effect":"allow","actions":["DeleteProject","CanAccessProject"],
           "resources":["project/*"]}])"));
  expect_failure(refused, errc::forbidden);
  BOOST_REQUIRE(refused.error().counterexample.has_value());
  const auto ce = *refused.error().counterexample;
  BOOST_TEST(ce.action == "DeleteProject");
  BOOST_TEST(!f.iam->decide(dev2, ce.action, ce.resource).allowed());
  // A service token needs statements.
  expect_failure(f.iam->create_token(dev2, "empty", store::token_type::service, {}),
                 errc::field_required);
  // Malformed statements are a field error, not a crash.
  expect_failure(f.iam->create_token(dev2, "bad", store::token_type::service,
                                     testing::statements(R"([{"id":1}])")),
                 errc::field_invalid);
}

BOOST_AUTO_TEST_CASE(who_may_manage_tokens) {
  organization_fixture f;
  const auto dev = f.add("dev@example.com");
  const auto t = f.token(dev, "mine", store::token_type::personal);
  // Tokens cannot manage tokens, whatever their rights.
  const auto as_token = f.use(t);
  expect_failure(f.iam->list_tokens(as_token, {}), errc::forbidden);
  expect_failure(f.iam->create_token(as_token, "more", store::token_type::personal, {}),
                 errc::forbidden);
  // A member whose policy lacks the token actions cannot list or create.
  const auto reader = f.add("reader@example.com", {f.policy("flags-only", R"([
      {"id":"s","resourceType":"flag","effect":"allow","actions":["*"],"resources":["project/*:env/*:flag/*"]}])")});
  expect_failure(f.iam->list_tokens(reader, {}), errc::forbidden);
  expect_failure(f.iam->create_token(reader, "x", store::token_type::personal, {}),
                 errc::forbidden);
  // Personal and service management are separate rights.
  const auto personal_only = f.add("p@example.com", {f.policy("personal-only", R"([
      {"id":"s","resourceType":"access-token","effect":"allow","actions":["ManagePersonalAccessTokens","ListAccessTokens"],"resources":["access-token/*"]},
      {"id":"f","resourceType":"flag","effect":"allow","actions":["*"],"resources":["project/*:env/*:flag/*"]}])")});
  BOOST_TEST(f.iam->create_token(personal_only, "p1", store::token_type::personal, {}).has_value());
  expect_failure(
      f.iam->create_token(
          personal_only, "s1", store::token_type::service,
          testing::statements(
              R"([{"id":"s","resourceType":"flag","effect":"allow","actions":["ToggleFlag"],"resources":["project/*:env/*:flag/*"]}])")),
      errc::forbidden);
  // Another organization's token is not found, not forbidden.
  auto [org2, owner2] = expect(f.iam->create_organization("other", "o@example.com"));
  const auto other = expect(f.iam->authenticate_member(owner2.id, org2.id));
  expect_failure(f.iam->delete_token(other, t.record.id), errc::not_found);
}

BOOST_AUTO_TEST_CASE(status_revocation_and_deletion) {
  organization_fixture f;
  const auto dev = f.add("dev@example.com");
  const auto personal = f.token(dev, "personal", store::token_type::personal);
  const auto service = f.token(
      dev, "service", store::token_type::service,
      R"([{"id":"s","resourceType":"flag","effect":"allow","actions":["ToggleFlag"],"resources":["project/*:env/*:flag/*"]}])");

  // Inactive is Forbidden; unknown is Unauthorized.
  expect(f.iam->toggle_token(dev, personal.record.id));
  expect_failure(f.iam->authenticate_token(*personal.secret), errc::forbidden);
  expect(f.iam->toggle_token(dev, personal.record.id));
  BOOST_TEST(f.iam->authenticate_token(*personal.secret).has_value());
  expect_failure(f.iam->authenticate_token("api-" + std::string(43, 'A')), errc::unauthorized);
  expect_failure(f.iam->authenticate_token("not-a-token"), errc::unauthorized);

  // Removing the member revokes personal tokens for good; service tokens survive.
  expect(f.iam->remove_member(f.owner, dev.member_id));
  expect_failure(f.iam->authenticate_token(*personal.secret), errc::unauthorized);
  BOOST_TEST(f.iam->decide(f.use(service), "ToggleFlag", flag).allowed());
  f.add("dev@example.com");
  expect_failure(f.iam->authenticate_token(*personal.secret), errc::unauthorized);
  expect_failure(f.iam->toggle_token(f.owner, personal.record.id), errc::conflict);

  // Delete is permanent.
  expect(f.iam->delete_token(f.owner, service.record.id));
  expect_failure(f.iam->authenticate_token(*service.secret), errc::unauthorized);
  expect_failure(f.iam->delete_token(f.owner, service.record.id), errc::not_found);
}

BOOST_AUTO_TEST_CASE(names_are_unique_case_insensitively) {
  organization_fixture f;
  const auto a = f.token(f.owner, "Deploy Bot", store::token_type::personal);
  expect_failure(f.iam->create_token(f.owner, "deploy bot", store::token_type::personal, {}),
                 errc::name_used);
  BOOST_TEST(expect(f.iam->is_token_name_used(f.owner, "DEPLOY BOT")));
  BOOST_TEST(!expect(f.iam->is_token_name_used(f.owner, "other")));
  const auto b = f.token(f.owner, "other", store::token_type::personal);
  expect_failure(f.iam->rename_token(f.owner, b.record.id, "DEPLOY bot"), errc::name_used);
  const auto renamed = expect(f.iam->rename_token(f.owner, a.record.id, "deploy BOT"));
  BOOST_TEST(renamed.record.name == "deploy BOT");
  expect_failure(f.iam->create_token(f.owner, "", store::token_type::personal, {}),
                 errc::field_required);
}

BOOST_AUTO_TEST_CASE(lists_filter_and_page) {
  organization_fixture f;
  for (int i = 0; i < 25; ++i)
    f.token(f.owner, "token-" + std::to_string(i), store::token_type::personal);
  f.token(
      f.owner, "svc", store::token_type::service,
      R"([{"id":"s","resourceType":"flag","effect":"allow","actions":["ToggleFlag"],"resources":["project/*"]}])");
  auto page = expect(f.iam->list_tokens(f.owner, {.page_index = 1, .page_size = 10}));
  BOOST_TEST(page.total_count == 26U);
  BOOST_TEST(page.items.size() == 10U);
  page = expect(f.iam->list_tokens(f.owner, {.type = store::token_type::service}));
  BOOST_REQUIRE(page.items.size() == 1U);
  BOOST_TEST(page.items[0].record.name == "svc");
  page = expect(f.iam->list_tokens(f.owner, {.name = "TOKEN-1"}));
  BOOST_TEST(page.total_count == 11U);  // token-1, token-10 .. token-19
  for (const auto& item : page.items) BOOST_TEST(item.record.secret_prefix.rfind("api-", 0) == 0U);
  expect_failure(f.iam->list_tokens(f.owner, {.page_size = 1000}), errc::field_invalid);
}

BOOST_AUTO_TEST_CASE(policies_and_builtins) {
  organization_fixture f;
  expect_failure(f.iam->delete_policy(f.owner, admin_id), errc::sys_managed_policy);
  expect_failure(f.iam->set_policy_statements(f.owner, admin_id, {}), errc::sys_managed_policy);
  const auto id = f.policy("no-prod", R"([{"id":"s","resourceType":"flag","effect":"deny",
      "actions":["ToggleFlag"],"resources":["project/*:env/prod:flag/*"]}])");
  expect_failure(f.iam->create_policy(f.owner, "x", "no-prod", ""), errc::key_used);
  expect_failure(f.iam->create_policy(f.owner, "NO-PROD", "y", ""), errc::name_used);
  const auto dev = f.add("dev@example.com", {developer_id, id});
  BOOST_TEST(!f.iam->decide(dev, "ToggleFlag", flag).allowed());
  BOOST_TEST(f.iam->decide(dev, "ToggleFlag", "project/web:env/dev:flag/x").allowed());
  BOOST_TEST(expect(f.iam->member_policies(f.owner, dev.member_id)).size() == 2U);
  expect_failure(f.iam->set_policy_statements(
                     f.owner, id, testing::statements(R"([{"id":"s","effect":"allow"}])")),
                 errc::field_invalid);
  expect(f.iam->delete_policy(f.owner, id));
  BOOST_TEST(f.iam->decide(f.again(dev), "ToggleFlag", flag).allowed());
}

BOOST_AUTO_TEST_CASE(everything_survives_reopen_and_no_secret_is_stored) {
  temp_dir dir;
  const auto db = dir.path / "gatehouse.db";
  auto key = test_key();
  std::vector<std::string> secrets;
  std::string personal_id;
  std::string dev_id;
  {
    auto iam = expect(iam::service::open(sqlite_at(db), key, builtins()));
    auto [org, owner_record] = expect(iam->create_organization("acme", "owner@example.com"));
    const auto owner = expect(iam->authenticate_member(owner_record.id, org.id));
    const auto dev = expect(iam->add_member(owner, {"dev@example.com", {}, {}}));
    dev_id = dev.id;
    const auto group = expect(iam->create_group(owner, "g", "a group"));
    expect(iam->add_group_member(owner, group.id, dev.id));
    expect(iam->attach_group_policy(owner, group.id, std::string(iam::administrator_policy_id)));
    const auto dev_caller = expect(iam->authenticate_member(dev.id, org.id));
    for (int i = 0; i < 20; ++i) {
      auto t = expect(
          iam->create_token(dev_caller, "t" + std::to_string(i), store::token_type::personal, {}));
      secrets.push_back(*t.secret);
      if (i == 0) personal_id = t.record.id;
    }
    expect(iam->toggle_token(dev_caller, personal_id));
    // Last use is batched and written on flush.
    BOOST_TEST(iam->authenticate_token(secrets[1]).has_value());
    BOOST_TEST(!iam->flush_last_used());
  }
  auto iam = expect(iam::service::open(sqlite_at(db), key, builtins()));
  const auto org = iam->find_organization_by_name("acme");
  BOOST_REQUIRE(org.has_value());
  expect_failure(iam->authenticate_token(secrets[0]), errc::forbidden);
  const auto as_token = expect(iam->authenticate_token(secrets[2]));
  // Administrator through the group survived the reopen.
  BOOST_TEST(iam->decide(as_token, "DeleteProject", "project/web").allowed());
  const auto dev = expect(iam->authenticate_member(dev_id, org->id));
  const auto page = expect(iam->list_tokens(dev, {.name = "t1", .page_size = 100}));
  bool found = false;
  for (const auto& t : page.items) {
    if (t.record.name == "t1") {
      found = true;
      BOOST_TEST(t.record.last_used_at > 0);
    }
  }
  BOOST_TEST(found);
  iam.reset();

  // The key is not in the database either way; the secrets must not be anywhere in its files.
  for (const auto& entry : fs::directory_iterator(dir.path)) {
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), {});
    for (const auto& secret : secrets) {
      BOOST_TEST(bytes.find(secret) == std::string::npos);
      BOOST_TEST(bytes.find(secret.substr(4)) == std::string::npos);
    }
  }
}

/// A service on one SQLite file whose clock the test sets, reopened at will.
struct clocked_file {
  temp_dir dir;
  iam::server_key key = test_key();
  store::timestamp now = 1'893'456'000'000;
  iam::hooks hooks;
  clocked_file() {
    hooks.clock = [this] { return now; };
  }
  std::unique_ptr<iam::service> open() {
    return expect(
        iam::service::open(sqlite_at(dir.path / "gatehouse.db"), key, builtins(), {}, hooks));
  }
  /// The owner of a new organization of `iam`.
  static iam::caller owner_of(iam::service& iam) {
    auto [org, owner_record] = expect(iam.create_organization("acme", "owner@example.com"));
    return expect(iam.authenticate_member(owner_record.id, org.id));
  }
};

// A token's expiry is stored with it: after a reopen the same secret works until the same time.
BOOST_AUTO_TEST_CASE(an_expiry_outlives_a_reopen) {
  clocked_file file;
  auto& now = file.now;
  std::string secret;
  {
    auto iam = file.open();
    const auto owner = clocked_file::owner_of(*iam);
    secret =
        *expect(iam->create_token(owner, "t", store::token_type::personal, {}, now + 1000)).secret;
  }
  auto iam = file.open();
  now += 999;
  BOOST_TEST(iam->authenticate_token(secret).has_value());
  now += 1;
  expect_failure(iam->authenticate_token(secret), errc::token_expired);
}

// A rotation's grace period is stored with the token: reopened in the middle of it, both secrets
// work until its end, then only the new one.
BOOST_AUTO_TEST_CASE(a_grace_period_outlives_a_reopen) {
  clocked_file file;
  auto& now = file.now;
  std::string old_secret;
  std::string new_secret;
  {
    auto iam = file.open();
    const auto owner = clocked_file::owner_of(*iam);
    const auto made = expect(iam->create_token(owner, "t", store::token_type::personal, {}));
    old_secret = *made.secret;
    new_secret = *expect(iam->rotate_token(owner, made.record.id, 60)).secret;
  }
  now += 30'000;
  auto iam = file.open();
  BOOST_TEST(iam->authenticate_token(old_secret).has_value());
  BOOST_TEST(iam->authenticate_token(new_secret).has_value());
  now += 30'000;
  expect_failure(iam->authenticate_token(old_secret), errc::unauthorized);
  BOOST_TEST(iam->authenticate_token(new_secret).has_value());
}

// Among many rotated tokens each replaced secret finds its own token, and stops with it: when
// the token is deleted, revoked with its creator, or rotated again.
BOOST_AUTO_TEST_CASE(each_replaced_secret_finds_its_token_until_the_token_goes) {
  organization_fixture f;
  const auto dev = f.add("dev@example.com");
  struct rotated {
    std::string id;
    std::string replaced;
    std::string current;
  };
  std::vector<rotated> tokens;
  for (int i = 0; i < 40; ++i) {
    const auto& creator = i % 2 == 0 ? f.owner : dev;
    const auto made = f.token(creator, "t" + std::to_string(i), store::token_type::personal);
    const auto next = expect(f.iam->rotate_token(creator, made.record.id, 600));
    tokens.push_back({made.record.id, *made.secret, *next.secret});
  }
  const auto authenticates_as = [&](const std::string& secret, const std::string& id) {
    const auto who = f.iam->authenticate_token(secret);
    return who && who->id == id;
  };
  for (const auto& t : tokens) {
    BOOST_TEST(authenticates_as(t.replaced, t.id));
    BOOST_TEST(authenticates_as(t.current, t.id));
  }

  for (std::size_t i = 0; i < tokens.size(); i += 4) {
    expect(f.iam->delete_token(f.owner, tokens[i].id));
  }
  expect(f.iam->remove_member(f.owner, dev.member_id));  // revokes the odd ones
  const auto& again = tokens[2];
  const auto newest = *expect(f.iam->rotate_token(f.owner, again.id, 600)).secret;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const auto& t = tokens[i];
    if (i % 4 != 2) {
      expect_failure(f.iam->authenticate_token(t.replaced), errc::unauthorized);
      expect_failure(f.iam->authenticate_token(t.current), errc::unauthorized);
    } else if (i != 2) {
      BOOST_TEST(authenticates_as(t.replaced, t.id));
    }
  }
  expect_failure(f.iam->authenticate_token(again.replaced), errc::unauthorized);
  BOOST_TEST(authenticates_as(again.current, again.id));
  BOOST_TEST(authenticates_as(newest, again.id));
}

// SQLite refuses two tokens with one secret hash; a store that holds them anyway loads the first
// and leaves the second out of every index and count, so the secret names one token.
BOOST_AUTO_TEST_CASE(a_secret_hash_stored_twice_loads_once) {
  const auto key = test_key();
  const auto secret = iam::generate_token_secret();
  BOOST_REQUIRE(secret.has_value());
  store::stored_state state;
  state.organizations.push_back({"org", "acme", {developer_id}, 1});
  state.members.push_back({"owner", "org", "owner@example.com", {owner_builtin_id}, 1});
  std::vector<store::token_record> tokens(2);
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    auto& t = tokens[i];
    t.id = "6b1f1c2e-5d0a-4c9e-8f3b-2a7d9e4c1b0" + std::to_string(i);
    t.organization_id = "org";
    t.name = "twin-" + std::to_string(i);
    t.type = store::token_type::service;
    t.creator_id = "owner";
    t.secret_hash = iam::secret_hasher(key).hash(*secret);
    t.secret_prefix = secret->substr(0, iam::secret_prefix_length);
    t.permissions_json =
        R"([{"id":"s","resourceType":"flag","effect":"allow","actions":["ToggleFlag"],)"
        R"("resources":["project/*:env/*:flag/*"]}])";
    t.created_at = t.updated_at = 1;
  }
  const auto iam =
      expect(iam::service::open(std::make_unique<streaming_store>(state, tokens), key, builtins()));
  BOOST_TEST(expect(iam->authenticate_token(*secret)).id == tokens[0].id);
  BOOST_TEST(iam->count_tokens().active == 1U);
  const auto owner = expect(iam->authenticate_member("owner", "org"));
  const auto listed = expect(iam->list_tokens(owner, {}));
  BOOST_REQUIRE(listed.items.size() == 1U);
  BOOST_TEST(listed.items[0].record.id == tokens[0].id);
}

BOOST_AUTO_TEST_CASE(several_organizations_survive_reopen) {
  temp_dir dir;
  const auto db = dir.path / "gatehouse.db";
  auto key = test_key();
  std::vector<std::pair<std::string, std::string>> members;  // (member id, organization id)
  std::string policy_id;
  {
    auto iam = expect(iam::service::open(sqlite_at(db), key, builtins()));
    for (const char* name : {"one", "two", "three"}) {
      auto [org, owner_record] = expect(iam->create_organization(name, "owner@example.com"));
      const auto owner = expect(iam->authenticate_member(owner_record.id, org.id));
      members.emplace_back(owner_record.id, org.id);
      const auto m = expect(iam->add_member(owner, {std::string(name) + "@example.com", {}, {}}));
      members.emplace_back(m.id, org.id);
      expect(iam->create_group(owner, std::string("group-") + name, ""));
      const auto p =
          expect(iam->create_policy(owner, std::string("p-") + name, std::string("p-") + name, ""));
      expect(iam->set_policy_statements(
          owner, p.id,
          testing::statements(
              R"([{"id":"s","resourceType":"flag","effect":"deny","actions":["*"],"resources":["*"]}])")));
      if (policy_id.empty()) policy_id = p.id;
    }
  }
  auto iam = expect(iam::service::open(sqlite_at(db), key, builtins()));
  for (const char* name : {"one", "two", "three"})
    BOOST_TEST(iam->find_organization_by_name(name).has_value());
  for (const auto& [member, org] : members) {
    const auto who = expect(iam->authenticate_member(member, org));
    BOOST_TEST(expect(iam->own_policies(who)).size() == 1U);
  }
  const auto owner = expect(iam->authenticate_member(members[0].first, members[0].second));
  BOOST_TEST(expect(iam->list_groups(owner)).size() == 1U);
  const auto p = expect(iam->get_policy(owner, policy_id));
  BOOST_TEST(p.statements.size() == 1U);
  // Another organization's policy is invisible.
  const auto other = expect(iam->authenticate_member(members[2].first, members[2].second));
  expect_failure(iam->get_policy(other, policy_id), errc::not_found);
}

// Reloaded built-ins take effect for every holder at once, even several reloads within one
// millisecond: each reload gets a newer generation, so no member keeps rights compiled from the
// statements it replaced.
BOOST_AUTO_TEST_CASE(reloaded_builtins_take_effect_at_once) {
  organization_fixture f;
  const auto dev = f.add("dev@example.com");
  BOOST_REQUIRE(f.iam->decide(dev, "ToggleFlag", flag).allowed());
  const auto original = builtins();
  auto emptied = original;
  for (auto& doc : emptied) {
    if (doc.id == developer_id) doc.statements.clear();
  }
  for (int reload = 0; reload < 40; ++reload) {
    const bool empty = reload % 2 == 0;
    expect(f.iam->replace_builtins(empty ? emptied : original));
    BOOST_TEST_REQUIRE(f.again(dev).rights != nullptr);
    BOOST_TEST_REQUIRE(f.iam->decide(f.again(dev), "ToggleFlag", flag).allowed() == !empty,
                       "reload " << reload);
  }
}

// The service never writes two members whose emails differ only in case, but a store edited by
// hand may hold them. Removing the one the email index does not point at must leave the other
// findable.
BOOST_AUTO_TEST_CASE(removing_a_case_duplicate_keeps_the_other_findable) {
  temp_dir dir;
  const auto db = dir.path / "gatehouse.db";
  const auto key = test_key();
  {
    auto store = sqlite_at(db);
    const std::string owner_policy(iam::owner_policy_id);
    const std::vector<store::change> changes = {
        store::put_organization{{"org", "acme", {developer_id}, 1}},
        store::put_member{{"owner", "org", "owner@example.com", {owner_policy}, 1}},
        store::put_member{{"upper", "org", "Dup@example.com", {}, 2}},
        store::put_member{{"lower", "org", "dup@example.com", {}, 3}},
    };
    BOOST_REQUIRE(!store->commit(changes));
  }
  auto iam = expect(iam::service::open(sqlite_at(db), key, builtins()));
  const auto owner = expect(iam->authenticate_member("owner", "org"));
  const auto indexed = expect(iam->find_member_by_email("org", "DUP@example.com")).id;
  expect(iam->remove_member(owner, indexed == "upper" ? "lower" : "upper"));
  const auto still = iam->find_member_by_email("org", "dup@EXAMPLE.com");
  BOOST_TEST_REQUIRE(still.has_value());
  BOOST_TEST(still->id == indexed);
}

// A token edit commits a copy of the token and then puts it in the index; a request that uses
// the token in between must not have its last use overwritten by the older copy.
BOOST_AUTO_TEST_CASE(uses_during_a_token_write_keep_their_time) {
  auto owned = std::make_unique<interleaving_store>();
  auto& store = *owned;
  organization_fixture f(std::move(owned));
  const auto dev = f.add("dev@example.com");
  const auto renamed = f.token(dev, "renamed", store::token_type::personal);
  const auto revoked = f.token(dev, "revoked", store::token_type::personal);
  bool used = false;

  store.during_token_write = [&] { used = f.iam->authenticate_token(*renamed.secret).has_value(); };
  expect(f.iam->rename_token(dev, renamed.record.id, "renamed-again"));
  BOOST_TEST(used);

  used = false;
  store.during_token_write = [&] { used = f.iam->authenticate_token(*revoked.secret).has_value(); };
  expect(f.iam->remove_member(f.owner, dev.member_id));
  BOOST_TEST(used);
  expect_failure(f.iam->authenticate_token(*revoked.secret), errc::unauthorized);

  BOOST_TEST(!f.iam->flush_last_used());
  BOOST_TEST(store.last_use_written(renamed.record.id) > 0);
  BOOST_TEST(store.last_use_written(revoked.record.id) > 0);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
