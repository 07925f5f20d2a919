// The SQLite database file: the schema version, the durability settings in effect, private file
// modes, acknowledged commits surviving kill -9, and no secret on disk.
#include <gatehouse/store/database.hpp>

#include <poll.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "store_fixture.hpp"

namespace {

using namespace gatehouse::store;
using namespace gatehouse::store::testing;

BOOST_AUTO_TEST_SUITE(store_tests)

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
  t.expires_at = n % 2 == 0 ? 0 : t0 + 4 * timestamp{n};
  if (n % 3 == 0) {
    t.previous_secret_hash = sha256("crash previous secret " + k);
    t.previous_valid_until = t0 + 5 * timestamp{n};
  }
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

// A database of schema version 1, from before token expiry and rotation, opens with its tokens
// never expiring and without a previous secret, and is migrated in place; the next open finds
// nothing to do.
BOOST_AUTO_TEST_CASE(a_version_1_database_is_migrated_and_its_tokens_never_expire) {
  temp_dir dir;
  auto token = crash_token(1);
  {
    auto s = open_or_fail(dir.db());
    commit_or_fail(*s,
                   std::vector<change>{put_organization{organization("acme")}, put_token{token}});
  }
  {
    // What version 1 was: the same tables without the columns, and no audit trail.
    raw_connection raw(dir.db());
    raw.query("DROP TABLE audit_log");
    raw.query("ALTER TABLE tokens DROP COLUMN previous_valid_until");
    raw.query("ALTER TABLE tokens DROP COLUMN previous_secret_hash");
    raw.query("ALTER TABLE tokens DROP COLUMN expires_at");
    raw.query("PRAGMA user_version = 1");
  }
  // The first open migrates: no expiry. The second finds the expiry written after it.
  for (const timestamp expected : {timestamp{0}, t0 + 1}) {
    auto s = open_or_fail(dir.db());
    const auto settings = sqlite_settings_of(*s);
    BOOST_REQUIRE(settings.has_value());
    BOOST_TEST(settings->schema_version == 4);
    std::vector<token_record> tokens;
    BOOST_REQUIRE(s->load([&](token_record&& t) { tokens.push_back(std::move(t)); }).has_value());
    BOOST_REQUIRE(tokens.size() == 1U);
    token.expires_at = expected;
    BOOST_TEST((tokens[0] == token));
    token.expires_at = t0 + 1;
    commit_or_fail(*s, std::vector<change>{put_token{token}});
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
