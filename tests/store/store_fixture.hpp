// The store suites' helpers: a temporary directory, open/commit/load that fail the test on error,
// a naive model of what a store must hold after a sequence of changes, and record builders.
#pragma once

#include <gatehouse/store/database.hpp>

#include <openssl/evp.h>
#include <stdlib.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

namespace gatehouse::store::testing {

namespace fs = std::filesystem;

// A fresh directory per test, removed afterwards.
struct temp_dir {
  fs::path path;
  temp_dir() {
    std::string pattern = (fs::temp_directory_path() / "gatehouse-store-XXXXXX").string();
    BOOST_REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  [[nodiscard]] std::string db() const { return (path / "gatehouse.db").string(); }
};

inline secret_hash sha256(std::string_view text) {
  secret_hash out{};
  unsigned int size = 0;
  BOOST_REQUIRE(EVP_Digest(text.data(), text.size(), out.data(), &size, EVP_sha256(), nullptr));
  BOOST_REQUIRE(size == out.size());
  return out;
}

inline std::unique_ptr<database> open_or_fail(const std::string& path) {
  auto s = open_sqlite(path);
  BOOST_REQUIRE_MESSAGE(s.has_value(), "open_sqlite: " << s.error().message());
  return std::move(*s);
}

inline void commit_or_fail(database& s, const std::vector<change>& changes) {
  const auto ec = s.commit(changes);
  BOOST_REQUIRE_MESSAGE(!ec, "commit: " << ec.message());
}

template <class Record>
inline void sort_by_id(std::vector<Record>& records) {
  std::sort(records.begin(), records.end(),
            [](const Record& a, const Record& b) { return a.id < b.id; });
}

// Everything the store holds, tokens included, each list in id order, so that states compare.
inline stored_state load_or_fail(database& s) {
  std::vector<token_record> tokens;
  auto loaded = s.load([&](token_record&& t) { tokens.push_back(std::move(t)); });
  BOOST_REQUIRE_MESSAGE(loaded.has_value(), "load: " << loaded.error().message());
  stored_state out = std::move(*loaded);
  out.tokens = std::move(tokens);
  sort_by_id(out.organizations);
  sort_by_id(out.members);
  sort_by_id(out.groups);
  sort_by_id(out.policies);
  sort_by_id(out.tokens);
  return out;
}

// What another process (or a restart while this store is still open) reads from the file.
inline stored_state reopen_and_load(const std::string& path) {
  return load_or_fail(*open_or_fail(path));
}

inline void check_equal(const stored_state& got, const stored_state& want) {
  BOOST_CHECK_MESSAGE(got.organizations == want.organizations, "organizations differ");
  BOOST_CHECK_MESSAGE(got.members == want.members, "members differ");
  BOOST_CHECK_MESSAGE(got.groups == want.groups, "groups differ");
  BOOST_CHECK_MESSAGE(got.policies == want.policies, "policies differ");
  BOOST_CHECK_MESSAGE(got.tokens == want.tokens, "tokens differ");
}

// What a store must hold after a sequence of changes: the semantics of store/database.hpp written
// naively, the oracle the SQLite store is compared with.
class model {
 public:
  void apply(const std::vector<change>& changes) {
    for (const auto& c : changes) std::visit([this](const auto& x) { on(x); }, c);
  }

  [[nodiscard]] stored_state expected() const {
    stored_state out;
    for (const auto& [id, r] : organizations_) out.organizations.push_back(r);
    for (const auto& [id, r] : members_) out.members.push_back(r);
    for (const auto& [id, r] : groups_) out.groups.push_back(r);
    for (const auto& [id, r] : policies_) out.policies.push_back(r);
    for (const auto& [id, r] : tokens_) out.tokens.push_back(r);
    return out;
  }

  /// The audit trail, oldest first, with the ids a store gives: 1, 2, 3, ...
  [[nodiscard]] const std::vector<audit_record>& audit() const { return audit_; }

 private:
  void on(const put_organization& c) { organizations_[c.record.id] = c.record; }
  void on(const put_member& c) { members_[c.record.id] = c.record; }
  void on(const erase_member& c) {
    members_.erase(c.id);
    for (auto& [id, g] : groups_) std::erase(g.member_ids, c.id);
  }
  void on(const put_group& c) { groups_[c.record.id] = c.record; }
  void on(const erase_group& c) { groups_.erase(c.id); }
  void on(const put_policy& c) { policies_[c.record.id] = c.record; }
  void on(const erase_policy& c) {
    policies_.erase(c.id);
    for (auto& [id, m] : members_) std::erase(m.policy_ids, c.id);
    for (auto& [id, g] : groups_) std::erase(g.policy_ids, c.id);
    for (auto& [id, o] : organizations_) std::erase(o.default_policy_ids, c.id);
  }
  void on(const put_token& c) { tokens_[c.record.id] = c.record; }
  void on(const erase_token& c) { tokens_.erase(c.id); }
  void on(const append_audit& c) {
    auto& r = audit_.emplace_back(c.record);
    r.id = static_cast<std::int64_t>(audit_.size());
  }
  void on(const touch_token& c) {
    const auto it = tokens_.find(c.id);
    if (it != tokens_.end()) {
      it->second.last_used_at = std::max(it->second.last_used_at, c.last_used_at);
    }
  }

  std::map<std::string, organization_record> organizations_;
  std::map<std::string, member_record> members_;
  std::map<std::string, group_record> groups_;
  std::map<std::string, policy_record> policies_;
  std::map<std::string, token_record> tokens_;
  std::vector<audit_record> audit_;
};

inline constexpr timestamp t0 = 1'700'000'000'000;

inline organization_record organization(std::string id, std::vector<std::string> defaults = {}) {
  return {std::move(id), "Acme Ltd", std::move(defaults), t0};
}
inline member_record member(std::string id, std::string org,
                            std::vector<std::string> policies = {}) {
  auto email = id + "@example.com";
  return {std::move(id), std::move(org), std::move(email), std::move(policies), t0 + 1};
}
inline group_record group(std::string id, std::string org, std::vector<std::string> members,
                          std::vector<std::string> policies) {
  return {std::move(id),      std::move(org),      "Ops", "Operators, on call",
          std::move(members), std::move(policies), t0 + 2};
}
inline policy_record policy(std::string id, std::string org, std::string statements) {
  auto key = "key-" + id;
  return {std::move(id),  std::move(org),        std::move(key), "Read flags",
          "What it says", std::move(statements), t0 + 3,         t0 + 4};
}
inline token_record token(std::string id, std::string org, std::string name) {
  token_record t;
  t.secret_hash = sha256("secret of " + id);
  t.id = std::move(id);
  t.organization_id = std::move(org);
  t.name = std::move(name);
  t.creator_id = "m-1";
  t.secret_prefix = "api-Ab3_x9";
  t.permissions_json = "[]";
  t.created_at = t0 + 5;
  t.updated_at = t0 + 6;
  t.last_used_at = t0 + 7;
  return t;
}

inline const std::string read_flags =
    R"([{"id":"s1","effect":"allow","actions":["ListFlags"],"resources":["project/*:env/*:flag/*"]}])";

}  // namespace gatehouse::store::testing
