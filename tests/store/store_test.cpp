// The stores: every change kind round-trips through close and reopen, erase semantics, failed
// commits apply nothing, schema versioning, durability settings, kill -9, and no secret on disk.
#include <gatehouse/store/database.hpp>

#include <openssl/evp.h>
#include <poll.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <map>
#include <ostream>
#include <random>
#include <set>
#include <thread>

namespace {

namespace fs = std::filesystem;
using namespace gatehouse::store;

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

secret_hash sha256(std::string_view text) {
  secret_hash out{};
  unsigned int size = 0;
  BOOST_REQUIRE(EVP_Digest(text.data(), text.size(), out.data(), &size, EVP_sha256(), nullptr));
  BOOST_REQUIRE(size == out.size());
  return out;
}

std::unique_ptr<database> open_or_fail(const std::string& path) {
  auto s = open_sqlite(path);
  BOOST_REQUIRE_MESSAGE(s.has_value(), "open_sqlite: " << s.error().message());
  return std::move(*s);
}

void commit_or_fail(database& s, const std::vector<change>& changes) {
  const auto ec = s.commit(changes);
  BOOST_REQUIRE_MESSAGE(!ec, "commit: " << ec.message());
}

// Everything a store holds, tokens included, each list in id order, so that states compare.
struct snapshot {
  std::vector<organization_record> organizations;
  std::vector<member_record> members;
  std::vector<group_record> groups;
  std::vector<policy_record> policies;
  std::vector<token_record> tokens;

  friend bool operator==(const snapshot&, const snapshot&) = default;
};

template <class Record>
void sort_by_id(std::vector<Record>& records) {
  std::sort(records.begin(), records.end(),
            [](const Record& a, const Record& b) { return a.id < b.id; });
}

snapshot load_or_fail(database& s) {
  snapshot out;
  auto loaded = s.load([&](token_record&& t) { out.tokens.push_back(std::move(t)); });
  BOOST_REQUIRE_MESSAGE(loaded.has_value(), "load: " << loaded.error().message());
  out.organizations = std::move(loaded->organizations);
  out.members = std::move(loaded->members);
  out.groups = std::move(loaded->groups);
  out.policies = std::move(loaded->policies);
  sort_by_id(out.organizations);
  sort_by_id(out.members);
  sort_by_id(out.groups);
  sort_by_id(out.policies);
  sort_by_id(out.tokens);
  return out;
}

// What another process (or a restart while this store is still open) reads from the file.
snapshot reopen_and_load(const std::string& path) { return load_or_fail(*open_or_fail(path)); }

void check_equal(const snapshot& got, const snapshot& want) {
  BOOST_CHECK_MESSAGE(got.organizations == want.organizations, "organizations differ");
  BOOST_CHECK_MESSAGE(got.members == want.members, "members differ");
  BOOST_CHECK_MESSAGE(got.groups == want.groups, "groups differ");
  BOOST_CHECK_MESSAGE(got.policies == want.policies, "policies differ");
  BOOST_CHECK_MESSAGE(got.tokens == want.tokens, "tokens differ");
}

// What a store must hold after a sequence of changes: the semantics of store.hpp written naively,
// the oracle the SQLite store is compared with.
class model {
 public:
  void apply(const std::vector<change>& changes) {
    for (const auto& c : changes) std::visit([this](const auto& x) { on(x); }, c);
  }

  [[nodiscard]] snapshot expected() const {
    snapshot out;
    for (const auto& [id, r] : organizations_) out.organizations.push_back(r);
    for (const auto& [id, r] : members_) out.members.push_back(r);
    for (const auto& [id, r] : groups_) out.groups.push_back(r);
    for (const auto& [id, r] : policies_) out.policies.push_back(r);
    for (const auto& [id, r] : tokens_) out.tokens.push_back(r);
    return out;
  }

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
};

constexpr timestamp t0 = 1'700'000'000'000;

organization_record organization(std::string id, std::vector<std::string> defaults = {}) {
  return {std::move(id), "Acme Ltd", std::move(defaults), t0};
}
member_record member(std::string id, std::string org, std::vector<std::string> policies = {}) {
  auto email = id + "@example.com";
  return {std::move(id), std::move(org), std::move(email), std::move(policies), t0 + 1};
}
group_record group(std::string id, std::string org, std::vector<std::string> members,
                   std::vector<std::string> policies) {
  return {std::move(id),      std::move(org),      "Ops", "Operators, on call",
          std::move(members), std::move(policies), t0 + 2};
}
policy_record policy(std::string id, std::string org, std::string statements) {
  auto key = "key-" + id;
  return {std::move(id),  std::move(org),        std::move(key), "Read flags",
          "What it says", std::move(statements), t0 + 3,         t0 + 4};
}
token_record token(std::string id, std::string org, std::string name) {
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

const std::string read_flags =
    R"([{"id":"s1","effect":"allow","actions":["ListFlags"],"resources":["project/*:env/*:flag/*"]}])";

BOOST_AUTO_TEST_SUITE(store_tests)

BOOST_AUTO_TEST_CASE(every_change_kind_round_trips_through_reopen) {
  temp_dir dir;
  auto s = open_or_fail(dir.db());
  model want;

  auto service = token("t-2", "acme", "Deploy bot");
  service.type = token_type::service;
  service.status = token_status::inactive;
  service.creator_id = "m-2";
  service.permissions_json = read_flags;
  auto renamed = token("t-1", "acme", "Renamed");
  renamed.status = token_status::revoked;
  renamed.updated_at = t0 + 100;
  auto changed_policy = policy("p-1", "acme", "[]");
  changed_policy.name = "Nothing";
  changed_policy.updated_at = t0 + 200;
  auto renamed_org = organization("acme", {"administrator", "p-1"});
  renamed_org.name = "Acme Corporation";

  struct step {
    const char* name;
    std::vector<change> changes;
  };
  const std::vector<step> steps{
      // The group comes before its members: order inside one commit does not matter.
      {"create",
       {put_group{group("g-1", "acme", {"m-1", "m-2"}, {"p-1", "developer"})},
        put_organization{organization("acme", {"developer", "p-1"})},
        put_organization{organization("globex")}, put_policy{policy("p-1", "acme", read_flags)},
        put_member{member("m-1", "acme", {"owner", "p-1"})}, put_member{member("m-2", "acme")},
        put_member{member("m-3", "acme", {"developer"})}, put_token{token("t-1", "acme", "Deploy")},
        put_token{service},
        // The same name in another organization is another name.
        put_token{token("t-3", "globex", "deploy")}}},
      {"replace",
       {put_organization{renamed_org}, put_member{member("m-1", "acme", {"p-1"})},
        put_group{group("g-1", "acme", {"m-2", "m-3", "m-1"}, {"p-1", "developer"})},
        put_policy{changed_policy}, put_token{renamed},
        // t-1 gave up "Deploy" in the change before; another token may take it in any case.
        put_token{token("t-4", "acme", "DEPLOY")}}},
      {"touch",
       {touch_token{"t-1", t0 + 1000}, touch_token{"t-2", t0}, touch_token{"t-404", t0 + 1000}}},
      {"erase member", {erase_member{"m-2"}}},
      {"erase policy", {erase_policy{"p-1"}}},
      {"erase group", {erase_group{"g-1"}}},
      {"erase token", {erase_token{"t-2"}, erase_token{"t-404"}}},
  };
  for (const auto& st : steps) {
    BOOST_TEST_CONTEXT("step " << st.name) {
      commit_or_fail(*s, st.changes);
      want.apply(st.changes);
      // The open store and a restarted one see the same.
      check_equal(load_or_fail(*s), want.expected());
      BOOST_TEST(s->token_count() == want.expected().tokens.size());
      s.reset();
      s = open_or_fail(dir.db());
      check_equal(load_or_fail(*s), want.expected());
      BOOST_TEST(s->token_count() == want.expected().tokens.size());
    }
  }

  // The semantics the model encodes, stated once without it.
  s.reset();
  const auto got = reopen_and_load(dir.db());
  BOOST_TEST(got.groups.empty());
  BOOST_REQUIRE_EQUAL(got.members.size(), 2U);
  BOOST_TEST(got.members[0].id == "m-1");
  BOOST_TEST(got.members[0].policy_ids.empty());  // p-1 was erased
  BOOST_TEST(got.members[1].id == "m-3");
  BOOST_REQUIRE_EQUAL(got.organizations.size(), 2U);
  BOOST_TEST(got.organizations[0].default_policy_ids == std::vector<std::string>{"administrator"});
  BOOST_TEST(got.policies.empty());
  BOOST_REQUIRE_EQUAL(got.tokens.size(), 3U);
  BOOST_TEST(got.tokens[0].id == "t-1");
  BOOST_TEST(got.tokens[0].last_used_at == t0 + 1000);
  BOOST_TEST(got.tokens[0].name == "Renamed");
  BOOST_TEST((got.tokens[0].status == token_status::revoked));
}

BOOST_AUTO_TEST_CASE(erasing_a_member_or_policy_detaches_it_everywhere) {
  temp_dir dir;
  auto s = open_or_fail(dir.db());
  commit_or_fail(*s, {put_organization{organization("acme", {"p-1", "developer"})},
                      put_policy{policy("p-1", "acme", read_flags)},
                      put_member{member("m-1", "acme", {"p-1"})}, put_member{member("m-2", "acme")},
                      put_group{group("g-1", "acme", {"m-1", "m-2"}, {"developer", "p-1"})},
                      put_group{group("g-2", "acme", {"m-2"}, {"p-1"})}});
  commit_or_fail(*s, {erase_member{"m-2"}, erase_policy{"p-1"}});
  const auto got = reopen_and_load(dir.db());
  BOOST_REQUIRE_EQUAL(got.groups.size(), 2U);
  BOOST_TEST(got.groups[0].member_ids == std::vector<std::string>{"m-1"});
  BOOST_TEST(got.groups[0].policy_ids == std::vector<std::string>{"developer"});
  BOOST_TEST(got.groups[1].member_ids.empty());
  BOOST_TEST(got.groups[1].policy_ids.empty());
  BOOST_REQUIRE_EQUAL(got.members.size(), 1U);
  BOOST_TEST(got.members[0].policy_ids.empty());
  BOOST_TEST(got.organizations[0].default_policy_ids == std::vector<std::string>{"developer"});
}

// A commit that fails at its last change; everything before it must be rolled back too.
struct failing_commit {
  const char* name;
  /// The token that fails the commit; none for the case of a group with an unknown member.
  std::function<token_record()> bad_token;
  int sqlite_code;
};
std::ostream& operator<<(std::ostream& os, const failing_commit& c) { return os << c.name; }

const failing_commit failing_commits[] = {
    {"a stored token's name in another case", [] { return token("t-9", "acme", "dEPLOY"); },
     SQLITE_CONSTRAINT_UNIQUE},
    {"a stored token's secret hash",
     [] {
       auto t = token("t-9", "acme", "Other");
       t.secret_hash = sha256("secret of t-1");
       return t;
     },
     SQLITE_CONSTRAINT_UNIQUE},
    {"an unknown organization", [] { return token("t-9", "nowhere", "Other"); },
     SQLITE_CONSTRAINT_FOREIGNKEY},
    {"a whole secret as the prefix",
     [] {
       auto t = token("t-9", "acme", "Other");
       t.secret_prefix = "api-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
       return t;
     },
     SQLITE_CONSTRAINT_CHECK},
    {"a group with an unknown member", nullptr, SQLITE_CONSTRAINT_FOREIGNKEY},
};

BOOST_DATA_TEST_CASE(a_failed_commit_applies_nothing, boost::unit_test::data::make(failing_commits),
                     c) {
  temp_dir dir;
  auto s = open_or_fail(dir.db());
  const std::vector<change> baseline{
      put_organization{organization("acme")}, put_member{member("m-1", "acme")},
      put_token{token("t-1", "acme", "Deploy")}, put_token{token("t-2", "acme", "Release")}};
  commit_or_fail(*s, baseline);
  model want;
  want.apply(baseline);

  std::vector<change> changes{put_member{member("m-9", "acme", {"owner"})},
                              put_member{member("m-1", "acme", {"developer"})},
                              touch_token{"t-1", t0 + 999}, erase_token{"t-2"},
                              put_token{token("t-8", "acme", "Build")}};
  if (c.bad_token) {
    changes.emplace_back(put_token{c.bad_token()});
  } else {
    changes.emplace_back(put_group{group("g-9", "acme", {"m-1", "m-404"}, {})});
  }
  const auto ec = s->commit(changes);
  BOOST_REQUIRE(ec.failed());
  BOOST_TEST(ec.category().name() == std::string(sqlite_category().name()));
  BOOST_CHECK_MESSAGE(ec.value() == c.sqlite_code, "got " << ec.message());
  // Messages name the failure, never the records.
  for (const char* content : {"m-9", "t-9", "Deploy", "dEPLOY", "acme", "AAAA"}) {
    BOOST_TEST(ec.message().find(content) == std::string::npos);
  }
  check_equal(load_or_fail(*s), want.expected());
  check_equal(reopen_and_load(dir.db()), want.expected());

  // The store stays usable.
  const std::vector<change> next{put_member{member("m-9", "acme")}};
  commit_or_fail(*s, next);
  want.apply(next);
  check_equal(reopen_and_load(dir.db()), want.expected());
}

BOOST_AUTO_TEST_CASE(names_differing_only_in_case_in_one_commit_fail_it) {
  temp_dir dir;
  auto s = open_or_fail(dir.db());
  commit_or_fail(*s, {put_organization{organization("acme")}});
  const std::vector<change> changes{put_token{token("t-1", "acme", "Build")},
                                    put_token{token("t-2", "acme", "bUILD")}};
  const auto ec = s->commit(changes);
  BOOST_TEST(ec.value() == SQLITE_CONSTRAINT_UNIQUE);
  BOOST_TEST(reopen_and_load(dir.db()).tokens.empty());
}

// Raw access to the database file, beside the store.
struct raw_connection {
  sqlite3* db = nullptr;
  explicit raw_connection(const std::string& path) {
    BOOST_REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
  }
  raw_connection(const raw_connection&) = delete;
  raw_connection& operator=(const raw_connection&) = delete;
  ~raw_connection() { sqlite3_close_v2(db); }

  std::string query(const std::string& text) {
    sqlite3_stmt* s = nullptr;
    BOOST_REQUIRE(sqlite3_prepare_v2(db, text.c_str(), -1, &s, nullptr) == SQLITE_OK);
    std::string out;
    if (sqlite3_step(s) == SQLITE_ROW) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
    }
    sqlite3_finalize(s);
    return out;
  }
};

BOOST_AUTO_TEST_CASE(a_newer_schema_is_refused) {
  temp_dir dir;
  int version = 0;
  {
    auto s = open_or_fail(dir.db());
    const auto settings = sqlite_settings_of(*s);
    BOOST_REQUIRE(settings.has_value());
    version = settings->schema_version;
    BOOST_TEST(version >= 1);
  }
  {
    raw_connection raw(dir.db());
    raw.query("PRAGMA user_version = " + std::to_string(version + 1));
  }
  const auto refused = open_sqlite(dir.db());
  BOOST_REQUIRE(!refused.has_value());
  BOOST_TEST((refused.error() == errc::schema_too_new));
  BOOST_TEST(refused.error().message().find("newer gatehouse") != std::string::npos);
  raw_connection raw(dir.db());
  BOOST_TEST(raw.query("PRAGMA user_version") == std::to_string(version + 1));
}

BOOST_AUTO_TEST_CASE(a_file_that_is_not_a_database_is_refused) {
  temp_dir dir;
  std::ofstream(dir.db()) << std::string(4096, 'x');
  const auto refused = open_sqlite(dir.db());
  BOOST_REQUIRE(!refused.has_value());
  BOOST_TEST(refused.error().value() == SQLITE_NOTADB);
}

BOOST_AUTO_TEST_CASE(wal_and_synchronous_full_are_in_effect) {
  temp_dir dir;
  auto s = open_or_fail(dir.db());
  const auto settings = sqlite_settings_of(*s);
  BOOST_REQUIRE(settings.has_value());
  BOOST_TEST(settings->journal_mode == "wal");
  BOOST_TEST(settings->synchronous == 2);  // FULL
  BOOST_TEST(settings->foreign_keys);
  BOOST_TEST(settings->busy_timeout_ms > 0);
  // The journal mode is a property of the file, which a second connection sees.
  raw_connection raw(dir.db());
  BOOST_TEST(raw.query("PRAGMA journal_mode") == "wal");

  auto memory = make_memory();
  BOOST_TEST(!sqlite_settings_of(*memory).has_value());
}

// Sets the process umask for one scope; the file modes below must not depend on the umask the
// suite was started with.
class scoped_umask {
 public:
  explicit scoped_umask(::mode_t mask) : previous_(::umask(mask)) {}
  scoped_umask(const scoped_umask&) = delete;
  scoped_umask& operator=(const scoped_umask&) = delete;
  ~scoped_umask() { ::umask(previous_); }

 private:
  ::mode_t previous_;
};

// The database and its -wal and -shm files exist and are readable and writable by the owner only.
void expect_private_database_files(const std::string& db) {
  for (const std::string suffix : {"", "-wal", "-shm"}) {
    const auto file = db + suffix;
    std::error_code ec;
    const auto status = fs::status(file, ec);
    BOOST_TEST_REQUIRE(fs::exists(status), file << " does not exist");
    const auto mode = static_cast<unsigned>(status.permissions() & fs::perms::mask);
    BOOST_TEST(mode == 0600U, file << " has mode " << std::oct << mode << ", expected 600");
  }
}

BOOST_AUTO_TEST_CASE(database_files_are_private_whatever_the_umask) {
  const scoped_umask permissive(022);
  temp_dir dir;
  auto s = open_or_fail(dir.db());
  commit_or_fail(*s, {put_organization{organization("acme")}});
  expect_private_database_files(dir.db());
}

BOOST_AUTO_TEST_CASE(an_existing_world_readable_database_is_made_private) {
  const scoped_umask permissive(022);
  temp_dir dir;
  open_or_fail(dir.db()).reset();
  fs::permissions(dir.db(), fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                                fs::perms::others_read);
  auto s = open_or_fail(dir.db());
  commit_or_fail(*s, {put_organization{organization("acme")}});
  expect_private_database_files(dir.db());
}

BOOST_AUTO_TEST_CASE(commits_from_several_threads_all_land) {
  temp_dir dir;
  auto s = open_or_fail(dir.db());
  commit_or_fail(*s, {put_organization{organization("acme")}});
  constexpr int threads = 4;
  constexpr int per_thread = 20;
  // Built here: Boost.Test assertions (in token()) are not for other threads.
  std::vector<std::vector<change>> work(threads);
  for (int w = 0; w < threads; ++w) {
    for (int i = 0; i < per_thread; ++i) {
      const auto id = "t-" + std::to_string(w) + "-" + std::to_string(i);
      work[w].emplace_back(put_token{token(id, "acme", id)});
    }
  }
  std::vector<std::thread> workers;
  workers.reserve(threads);
  std::atomic<int> failures{0};
  for (const auto& changes : work) {
    workers.emplace_back([&] {
      for (const auto& c : changes) {
        if (s->commit({&c, 1})) ++failures;
      }
    });
  }
  for (auto& w : workers) w.join();
  BOOST_TEST(failures.load() == 0);
  BOOST_TEST(reopen_and_load(dir.db()).tokens.size() == std::size_t{threads} * per_thread);
}

// ---- kill -9 ---------------------------------------------------------------------------------

// Every field of crash token `n`, so that the parent can recompute what the child wrote. The
// permissions are long enough for a record to span pages: a torn write would show.
token_record crash_token(std::uint32_t n) {
  char id[32];
  std::snprintf(id, sizeof id, "crash-%08u", n);
  const auto k = std::to_string(n);
  token_record t;
  t.id = id;
  t.organization_id = "acme";
  t.name = "Crash token " + k;
  t.type = n % 2 == 0 ? token_type::personal : token_type::service;
  t.status = static_cast<token_status>(n % 3);
  t.creator_id = "m-" + std::to_string(n % 7);
  t.secret_hash = sha256("crash secret " + k);
  t.secret_prefix = "api-" + k.substr(0, 6);
  t.permissions_json = R"([{"id":")" + k + R"(","effect":"allow","actions":["*"],"resources":[")" +
                       std::string(3000, static_cast<char>('a' + n % 26)) + R"("]}])";
  t.created_at = t0 + n;
  t.updated_at = t0 + 2 * timestamp{n};
  t.last_used_at = t0 + 3 * timestamp{n};
  return t;
}

std::uint32_t crash_number(const std::string& id) {
  BOOST_REQUIRE(id.rfind("crash-", 0) == 0);
  return static_cast<std::uint32_t>(std::stoul(id.substr(6)));
}

// The child: commits one token per commit, forever, and acknowledges each number on the pipe
// only after commit returned success. Never returns into the test framework.
[[noreturn]] void commit_until_killed(const std::string& path, std::uint32_t first, int ack_fd) {
  auto s = open_sqlite(path);
  if (!s) ::_exit(2);
  for (std::uint32_t n = first;; ++n) {
    const change c = put_token{crash_token(n)};
    if ((*s)->commit({&c, 1})) ::_exit(3);
    if (::write(ack_fd, &n, sizeof n) != static_cast<ssize_t>(sizeof n)) ::_exit(4);
  }
}

// Runs the child until `target` commits are acknowledged, kills it with SIGKILL and returns every
// number it acknowledged (including those acknowledged between the decision and the kill).
std::vector<std::uint32_t> kill_after(const std::string& path, std::uint32_t first,
                                      std::size_t target) {
  int fds[2];
  BOOST_REQUIRE(::pipe(fds) == 0);
  const pid_t child = ::fork();
  BOOST_REQUIRE(child >= 0);
  if (child == 0) {
    ::close(fds[0]);
    commit_until_killed(path, first, fds[1]);
  }
  ::close(fds[1]);

  std::vector<std::uint32_t> acked;
  std::string pending;
  bool killed = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (;;) {
    if (!killed && acked.size() >= target) {
      ::kill(child, SIGKILL);
      killed = true;
    }
    if (!killed && std::chrono::steady_clock::now() > deadline) {
      ::kill(child, SIGKILL);
      killed = true;
      BOOST_ERROR("the child acknowledged only " << acked.size() << " commits in 30 s");
    }
    pollfd p{fds[0], POLLIN, 0};
    if (::poll(&p, 1, 1000) <= 0) continue;
    char buffer[4096];
    const auto got = ::read(fds[0], buffer, sizeof buffer);
    if (got <= 0) break;  // every write end is closed: the child is gone
    pending.append(buffer, static_cast<std::size_t>(got));
    std::size_t used = 0;
    for (; pending.size() - used >= sizeof(std::uint32_t); used += sizeof(std::uint32_t)) {
      std::uint32_t n = 0;
      std::memcpy(&n, pending.data() + used, sizeof n);
      acked.push_back(n);
    }
    pending.erase(0, used);
  }
  ::close(fds[0]);
  int status = 0;
  BOOST_REQUIRE(::waitpid(child, &status, 0) == child);
  BOOST_REQUIRE_MESSAGE(
      WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
      "the child must die by the kill, not exit on its own (status " << status << ")");
  return acked;
}

BOOST_AUTO_TEST_CASE(acknowledged_commits_survive_kill_9) {
  temp_dir dir;
  {
    auto s = open_or_fail(dir.db());
    commit_or_fail(*s, {put_organization{organization("acme")}});
  }
  std::set<std::uint32_t> acked;
  std::uint32_t next = 0;
  // Two rounds: the second starts from a database recovered after a kill.
  for (const std::size_t target : {200U, 100U}) {
    const auto round = kill_after(dir.db(), next, target);
    BOOST_TEST_REQUIRE(round.size() >= target);
    acked.insert(round.begin(), round.end());

    const auto got = reopen_and_load(dir.db());
    std::set<std::uint32_t> present;
    for (const auto& t : got.tokens) {
      const auto n = crash_number(t.id);
      present.insert(n);
      // Complete or absent: every field is what the child wrote.
      BOOST_REQUIRE_MESSAGE(t == crash_token(n), "token " << t.id << " is not intact");
    }
    for (const auto n : acked) {
      BOOST_REQUIRE_MESSAGE(present.contains(n), "acknowledged token " << n << " is missing");
    }
    // Commits are sequential: at most the one in flight at the kill is there unacknowledged.
    BOOST_TEST(present.size() <= acked.size() + 1);
    BOOST_TEST(*present.rbegin() + 1 == present.size());
    next = static_cast<std::uint32_t>(present.size());
  }
}

// ---- secrets never reach the files -----------------------------------------------------------

std::string random_secret(std::mt19937_64& random) {
  static constexpr std::string_view alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out = "api-";
  for (int i = 0; i < 43; ++i) out += alphabet[random() % alphabet.size()];
  return out;
}

std::string database_bytes(const std::string& path) {
  std::string out;
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    std::ifstream in(path + suffix, std::ios::binary);
    out.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return out;
}

void check_no_secret(const std::string& bytes, const std::vector<std::string>& secrets,
                     const std::vector<token_record>& tokens) {
  BOOST_TEST_REQUIRE(!bytes.empty());
  for (std::size_t i = 0; i < secrets.size(); ++i) {
    // Positive control: what was stored is in these bytes, so the scan looks at the right data.
    const auto& hash = tokens[i].secret_hash;
    BOOST_TEST(bytes.find(std::string(hash.begin(), hash.end())) != std::string::npos);
    BOOST_TEST(bytes.find(tokens[i].secret_prefix) != std::string::npos);
    // No 16 consecutive characters of a secret: each such run reaches past the shown prefix.
    for (std::size_t at = 0; at + 16 <= secrets[i].size(); ++at) {
      BOOST_REQUIRE_MESSAGE(bytes.find(secrets[i].substr(at, 16)) == std::string::npos,
                            "part of secret " << i << " at offset " << at << " is on disk");
    }
  }
}

BOOST_AUTO_TEST_CASE(no_secret_reaches_the_database_files) {
  temp_dir dir;
  auto s = open_or_fail(dir.db());
  std::mt19937_64 random(std::random_device{}());
  std::vector<std::string> secrets;
  std::vector<token_record> tokens;
  std::vector<change> changes{put_organization{organization("acme")}};
  for (int i = 0; i < 40; ++i) {
    secrets.push_back(random_secret(random));
    auto t = token("t-" + std::to_string(i), "acme", "Token " + std::to_string(i));
    t.secret_hash = sha256(secrets.back());
    t.secret_prefix = secrets.back().substr(0, secret_prefix_length);
    tokens.push_back(t);
    changes.emplace_back(put_token{std::move(t)});
  }
  commit_or_fail(*s, changes);
  // A rename rewrites the record; still nothing of the secret.
  auto renamed = tokens[0];
  renamed.name = "Renamed";
  commit_or_fail(*s, {put_token{renamed}});

  // While open, the records live in the WAL; after close, in the database file.
  check_no_secret(database_bytes(dir.db()), secrets, tokens);
  s.reset();
  BOOST_TEST(!fs::exists(dir.db() + "-wal"));  // checkpointed into the database on close
  check_no_secret(database_bytes(dir.db()), secrets, tokens);
}

// ---- the memory store ------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(the_memory_store_keeps_nothing) {
  auto s = make_memory();
  const std::vector<change> changes{put_organization{organization("acme")},
                                    put_token{token("t-1", "nowhere", "x")}, erase_member{"m"}};
  BOOST_TEST(!s->commit(changes).failed());
  int tokens = 0;
  const auto loaded = s->load([&](token_record&&) { ++tokens; });
  BOOST_REQUIRE(loaded.has_value());
  BOOST_TEST(loaded->organizations.empty());
  BOOST_TEST(tokens == 0);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
