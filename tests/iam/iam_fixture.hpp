// An IAM service with one organization and its owner, and the helpers that unwrap outcomes and
// keep stores in temporary directories; shared by the suites of the IAM service.
#pragma once

#include <gatehouse/iam/builtins.hpp>
#include <gatehouse/iam/service.hpp>

#include <gatehouse/policy/document.hpp>
#include <gatehouse/store/database.hpp>

#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "statements.hpp"

namespace gatehouse::testing {

inline std::vector<policy::policy_document> builtins() {
  std::vector<policy::policy_document> out;
  for (const char* name : {"owner", "administrator", "developer"}) {
    auto loaded =
        policy::load_policy_file(std::string(GATEHOUSE_SOURCE_DIR) + "/policies/" + name + ".json");
    BOOST_REQUIRE_MESSAGE(loaded.ok(), name << ".json must load");
    out.push_back(*loaded.document);
  }
  return out;
}

inline iam::server_key test_key() {
  auto key = iam::server_key::generate();
  BOOST_REQUIRE(key.has_value());
  return *key;
}

template <class T>
T expect(iam::outcome<T> r) {
  BOOST_REQUIRE_MESSAGE(r.has_value(), "unexpected failure: " << r.error().detail);
  return std::move(*r);
}
inline void expect(iam::outcome<void> r) {
  BOOST_REQUIRE_MESSAGE(r.has_value(), "unexpected failure: " << r.error().detail);
}

template <class T>
void expect_failure(const iam::outcome<T>& r, iam::errc code) {
  BOOST_REQUIRE(!r.has_value());
  BOOST_TEST(static_cast<int>(r.error().code) == static_cast<int>(code), r.error().detail);
}

inline const std::string flag = "project/web:env/prod:flag/dark-mode";
inline const std::string owner_builtin_id(iam::owner_policy_id);
inline const std::string admin_id(iam::administrator_policy_id);
inline const std::string developer_id(iam::developer_policy_id);

// An organization with its owner, on the in-memory store.
struct organization_fixture {
  std::unique_ptr<iam::service> iam;
  iam::caller owner;

  explicit organization_fixture(std::unique_ptr<store::database> store = store::make_memory(),
                                iam::hooks hooks = {}) {
    iam =
        expect(iam::service::open(std::move(store), test_key(), builtins(), {}, std::move(hooks)));
    auto [org, member] = expect(iam->create_organization("acme", "owner@example.com"));
    owner = expect(iam->authenticate_member(member.id, org.id));
  }

  iam::caller add(const std::string& email, std::vector<std::string> policies = {}) {
    const auto m = expect(iam->add_member(owner, {email, std::move(policies), {}}));
    return expect(iam->authenticate_member(m.id, owner.organization_id));
  }

  // Callers are snapshots of rights; re-authenticating picks up changes.
  iam::caller again(const iam::caller& who) {
    return expect(iam->authenticate_member(who.member_id, who.organization_id));
  }

  iam::token_view token(const iam::caller& who, const std::string& name, store::token_type type,
                        const std::string& permissions = "[]") {
    return expect(iam->create_token(who, name, type, testing::statements(permissions)));
  }

  iam::caller use(const iam::token_view& t) { return expect(iam->authenticate_token(*t.secret)); }

  std::string policy(const std::string& key, const std::string& statements) {
    const auto p = expect(iam->create_policy(owner, key, key, ""));
    expect(iam->set_policy_statements(owner, p.id, testing::statements(statements)));
    return p.id;
  }
};

/// A directory of its own under the system's temporary directory, removed with everything in it.
struct temp_dir {
  std::filesystem::path path;
  temp_dir() {
    path = std::filesystem::temp_directory_path() /
           ("gatehouse-test-" + std::to_string(::getpid()) + "-" + std::to_string(std::rand()));
    std::filesystem::create_directories(path);
  }
  ~temp_dir() { std::filesystem::remove_all(path); }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
};

inline std::unique_ptr<store::database> sqlite_at(const std::filesystem::path& file) {
  auto store = store::open_sqlite(file.string());
  BOOST_REQUIRE_MESSAGE(store.has_value(), "sqlite store: " << store.error().message());
  return std::move(*store);
}

}  // namespace gatehouse::testing
