// The store suites' helpers: a temporary directory, a scratch store per backend (SQLite in a
// temporary directory, or a fresh PostgreSQL database), open/commit/load that fail the test on
// error, a naive model of what a store must hold after a sequence of changes, and record builders.
#pragma once

#include <gatehouse/store/database.hpp>

#include <libpq-fe.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
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

// ---- The backends of the conformance suite ----------------------------------------------------

/// The directory of the throwaway PostgreSQL the ctest fixture started (its `uri` file holds an
/// admin URI), or null when the suite runs on SQLite.
inline const char* postgres_dir() { return std::getenv("GATEHOUSE_TEST_POSTGRES_DIR"); }

/// The backends the store_conformance cases run over: PostgreSQL alone when a server was given
/// (the plain store_tests run covers SQLite), else SQLite.
inline std::vector<std::string> backends() {
  if (postgres_dir() != nullptr) return {"postgresql"};
  return {"sqlite"};
}

/// What a case opens a PostgreSQL store with unless it says otherwise.
inline const postgresql_options test_keys{.key_fingerprint = "test-keys"};

/// A libpq connection beside the store, to create and drop scratch databases and to look at
/// tables the interface does not show.
class pg_session {
 public:
  /// Connects to `uri`; `error()` says why not.
  explicit pg_session(const std::string& uri) : conn_(PQconnectdb(uri.c_str())) {
    // Not the server's notices (such as DROP DATABASE IF EXISTS finding none) on the test's output.
    if (conn_)
      PQsetNoticeProcessor(
          conn_.get(), [](void*, const char*) {}, nullptr);
  }
  [[nodiscard]] std::string error() const {
    if (!conn_) return "out of memory";
    return PQstatus(conn_.get()) == CONNECTION_OK ? "" : PQerrorMessage(conn_.get());
  }
  /// Runs `sql`; answers the server's message on failure, else "".
  [[nodiscard]] std::string exec(const std::string& sql) {
    if (auto e = error(); !e.empty()) return e;
    const result r(PQexec(conn_.get(), sql.c_str()));
    const auto status = PQresultStatus(r.get());
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return "";
    return PQresultErrorMessage(r.get());
  }
  /// The first column of the first row `sql` answers; fails the test on error or no row.
  [[nodiscard]] std::string value(const std::string& sql) {
    BOOST_REQUIRE_MESSAGE(error().empty(), "connect: " << error());
    const result r(PQexec(conn_.get(), sql.c_str()));
    BOOST_REQUIRE_MESSAGE(PQresultStatus(r.get()) == PGRES_TUPLES_OK,
                          sql << ": " << PQresultErrorMessage(r.get()));
    BOOST_REQUIRE_MESSAGE(PQntuples(r.get()) > 0, sql << ": no row");
    return PQgetvalue(r.get(), 0, 0);
  }

 private:
  struct finish {
    void operator()(PGconn* c) const noexcept { PQfinish(c); }
  };
  struct clear {
    void operator()(PGresult* r) const noexcept { PQclear(r); }
  };
  using result = std::unique_ptr<PGresult, clear>;
  std::unique_ptr<PGconn, finish> conn_;
};

/// The admin URI of the server GATEHOUSE_TEST_POSTGRES_DIR names; fails the test when it cannot be
/// read, as a suite asked to run on PostgreSQL must not pass without it.
inline std::string postgres_admin_uri() {
  const char* dir = postgres_dir();
  BOOST_REQUIRE_MESSAGE(dir != nullptr, "GATEHOUSE_TEST_POSTGRES_DIR is not set");
  const auto path = fs::path(dir) / "uri";
  std::ifstream in(path);
  std::string uri;
  std::getline(in, uri);
  while (!uri.empty() && std::isspace(static_cast<unsigned char>(uri.back()))) uri.pop_back();
  BOOST_REQUIRE_MESSAGE(!uri.empty(), "GATEHOUSE_TEST_POSTGRES_DIR is set, but "
                                          << path << " holds no PostgreSQL URI");
  return uri;
}

/// `uri` with its database name replaced by `name`.
inline std::string with_database(const std::string& uri, const std::string& name) {
  const auto scheme = uri.find("://");
  BOOST_REQUIRE_MESSAGE(scheme != std::string::npos, "not a connection URI: " << uri);
  const auto query = uri.find('?', scheme + 3);
  const auto path = uri.find('/', scheme + 3);
  if (path == std::string::npos || path > query) {
    return std::string(uri).insert(query == std::string::npos ? uri.size() : query, "/" + name);
  }
  const auto end = query == std::string::npos ? uri.size() : query;
  return std::string(uri).replace(path + 1, end - path - 1, name);
}

/// An empty store of one backend for one case: SQLite in a temporary directory, or a PostgreSQL
/// database of its own (gatehouse_test_<pid>_<n>), dropped afterwards, also when the case fails.
/// `open()` gives a new store on it each time: a second one is a restart, or another instance.
class scratch_store {
 public:
  explicit scratch_store(std::string backend) : backend_(std::move(backend)) {
    if (backend_ == "sqlite") {
      dir_.emplace();
      location_ = dir_->db();
      return;
    }
    BOOST_REQUIRE_MESSAGE(backend_ == "postgresql", "no such backend: " << backend_);
    admin_uri_ = postgres_admin_uri();
    static std::atomic<int> counter{0};
    name_ = "gatehouse_test_" + std::to_string(::getpid()) + "_" + std::to_string(++counter);
    pg_session admin(admin_uri_);
    BOOST_REQUIRE_MESSAGE(admin.error().empty(),
                          "GATEHOUSE_TEST_POSTGRES_DIR is set, but the "
                          "server at "
                              << admin_uri_ << " cannot be reached: " << admin.error());
    // A database left by an earlier run whose process had the same id.
    const auto dropped = admin.exec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
    BOOST_REQUIRE_MESSAGE(dropped.empty(), "DROP DATABASE " << name_ << ": " << dropped);
    const auto created = admin.exec("CREATE DATABASE " + name_);
    BOOST_REQUIRE_MESSAGE(created.empty(), "CREATE DATABASE " << name_ << ": " << created);
    location_ = with_database(admin_uri_, name_);
  }
  scratch_store(const scratch_store&) = delete;
  scratch_store& operator=(const scratch_store&) = delete;
  ~scratch_store() {
    if (name_.empty()) return;
    // FORCE ends the connections of stores still open, e.g. when the case failed holding one.
    pg_session admin(admin_uri_);
    const auto dropped = admin.exec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
    BOOST_CHECK_MESSAGE(dropped.empty(), "DROP DATABASE " << name_ << ": " << dropped);
  }

  [[nodiscard]] const std::string& backend() const { return backend_; }
  /// The SQLite file, or the URI of the PostgreSQL database.
  [[nodiscard]] const std::string& location() const { return location_; }

  [[nodiscard]] boost::system::result<std::unique_ptr<database>> try_open(
      const postgresql_options& options = test_keys) const {
    if (backend_ == "sqlite") return open_sqlite(location_);
    return open_postgresql(location_, options);
  }
  [[nodiscard]] std::unique_ptr<database> open(
      const postgresql_options& options = test_keys) const {
    auto s = try_open(options);
    BOOST_REQUIRE_MESSAGE(s.has_value(), "open " << backend_ << ": " << s.error().message());
    return std::move(*s);
  }

 private:
  std::string backend_;
  std::optional<temp_dir> dir_;
  std::string admin_uri_;
  std::string name_;
  std::string location_;
};

/// What a restart (or another instance) reads while the store may still be open.
inline stored_state reopen_and_load(const scratch_store& where) {
  return load_or_fail(*where.open());
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
  model() = default;
  /// A model that starts from what a store loaded, as an instance that follows a shared store.
  explicit model(const stored_state& s) {
    for (const auto& r : s.organizations) organizations_[r.id] = r;
    for (const auto& r : s.members) members_[r.id] = r;
    for (const auto& r : s.groups) groups_[r.id] = r;
    for (const auto& r : s.policies) policies_[r.id] = r;
    for (const auto& r : s.tokens) tokens_[r.id] = r;
  }

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
