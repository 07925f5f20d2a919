// The embedded SQLite store: opening a database durably and privately, and the store's load and
// commit, each one transaction on one connection behind one mutex.
#include <gatehouse/store/database.hpp>

#include "sqlite_connection.hpp"
#include "sqlite_rows.hpp"
#include "sqlite_schema.hpp"
#include "sqlite_tables.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <mutex>
#include <utility>

namespace gatehouse::store {
namespace {

using detail::error_code;
using detail::sqlite_connection;

// The statements that open and close the store's transactions.
namespace sql {
constexpr const char* begin_immediate = "BEGIN IMMEDIATE";
constexpr const char* begin_read = "BEGIN DEFERRED";
constexpr const char* commit = "COMMIT";
}  // namespace sql

// Creates the database file with mode 0600 before SQLite opens it, or narrows an existing one to
// 0600. SQLite would create it 0644 less the umask; its -wal and -shm files, though, it creates
// with the mode of the database file whatever the umask (the unix VFS reads the database's mode
// and fchmods them to it), so making this one file private makes all three private. Setting the
// umask around sqlite3_open instead would not do: the umask is process-wide, so other threads'
// files would get it too, and the -wal and -shm files appear only later, at the first transaction.
error_code make_private_database_file(const std::string& path) noexcept {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, S_IRUSR | S_IWUSR);
  if (fd < 0) return {errno, boost::system::system_category()};
  // fchmod, not the mode of open: the umask may have narrowed the mode of a new file, and an
  // existing file may come from a version that let the umask decide.
  const int rc = ::fchmod(fd, S_IRUSR | S_IWUSR);
  const int chmod_errno = errno;
  ::close(fd);
  if (rc != 0) return {chmod_errno, boost::system::system_category()};
  return {};
}

// fsync of the directory, so that a newly created database file is itself durable.
void sync_directory_of(const std::string& path) noexcept {
  std::error_code ec;
  auto dir = std::filesystem::absolute(path, ec).parent_path();
  if (ec) return;
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

class sqlite_store final : public database {
 public:
  sqlite_store(detail::connection_ptr db, detail::connection_ptr reader)
      : db_(std::move(db)), reader_(std::move(reader)) {}

  boost::system::result<stored_state> load(
      const std::function<void(token_record&&)>& on_token) override {
    std::lock_guard lock(mutex_);
    // One read transaction: every table is read from the same snapshot.
    if (auto ec = db_.run(sql::begin_read)) return ec;
    transaction_guard guard(db_);
    stored_state state;
    if (auto ec = detail::load_directory(db_, state)) return ec;
    if (auto ec = detail::load_tokens(db_, on_token)) return ec;
    if (auto ec = db_.run(sql::commit)) return ec;
    guard.release();
    return state;
  }

  std::size_t token_count() override {
    std::lock_guard lock(mutex_);
    int count = 0;
    // Only a sizing hint: unknown is fine.
    if (db_.pragma_int(detail::token_table::count, count)) return 0;
    return static_cast<std::size_t>(std::max(count, 0));
  }

  error_code commit(std::span<const change> changes) override {
    if (changes.empty()) return {};
    std::lock_guard lock(mutex_);
    // IMMEDIATE takes the write lock now, so a busy database fails here (after busy_timeout)
    // rather than halfway through the changes.
    if (auto ec = db_.run(sql::begin_immediate)) return ec;
    transaction_guard guard(db_);
    for (const auto& c : changes) {
      if (auto ec = detail::apply(db_, c)) return ec;
    }
    // Deferred foreign keys are checked here; a violation fails COMMIT and the guard rolls back.
    if (auto ec = db_.run(sql::commit)) return ec;
    guard.release();
    return {};
  }

  // The trail is read on a connection of its own: in WAL mode a reader neither waits for a
  // commit nor holds one up, so a long read of a large trail never stalls the changes.
  boost::system::result<audit_page> audit_log(const audit_query& q) override {
    std::lock_guard lock(reader_mutex_);
    // One read transaction, so that the count and the page agree.
    if (auto ec = reader_.run(sql::begin_read)) return ec;
    transaction_guard guard(reader_);
    audit_page page;
    if (auto ec = detail::read_audit_page(reader_, q, page)) return ec;
    if (auto ec = reader_.run(sql::commit)) return ec;
    guard.release();
    return page;
  }

  error_code each_audit_record(const audit_query& q,
                               const std::function<void(const audit_record&)>& on_record) override {
    std::lock_guard lock(reader_mutex_);
    return detail::each_audit_row(reader_, q, on_record);
  }

  boost::system::result<std::size_t> prune_audit_log(timestamp before) override {
    std::lock_guard lock(mutex_);
    std::size_t pruned = 0;
    if (auto ec = detail::prune_audit_rows(db_, before, pruned)) return ec;
    return pruned;
  }

  boost::system::result<sqlite_settings> settings() {
    std::lock_guard lock(mutex_);
    sqlite_settings out;
    auto ec = db_.each_row("PRAGMA journal_mode", [&](sqlite3_stmt* s) {
      out.journal_mode = detail::column_string(s, 0);
      return error_code{};
    });
    if (!ec) ec = db_.pragma_int("PRAGMA synchronous", out.synchronous);
    int foreign_keys = 0;
    if (!ec) ec = db_.pragma_int("PRAGMA foreign_keys", foreign_keys);
    if (!ec) ec = db_.pragma_int("PRAGMA busy_timeout", out.busy_timeout_ms);
    if (!ec) ec = db_.pragma_int("PRAGMA user_version", out.schema_version);
    if (ec) return ec;
    out.foreign_keys = foreign_keys != 0;
    return out;
  }

 private:
  // Rolls back an open transaction unless released: on an error return and on an exception.
  class transaction_guard {
   public:
    explicit transaction_guard(sqlite_connection& db) noexcept : db_(&db) {}
    transaction_guard(const transaction_guard&) = delete;
    transaction_guard& operator=(const transaction_guard&) = delete;
    ~transaction_guard() {
      if (db_ != nullptr && sqlite3_get_autocommit(db_->handle()) == 0) {
        sqlite3_exec(db_->handle(), "ROLLBACK", nullptr, nullptr, nullptr);
      }
    }
    void release() noexcept { db_ = nullptr; }

   private:
    sqlite_connection* db_;
  };

  sqlite_connection db_;
  // commit may be called from several threads; the connection and its statements are not shared.
  std::mutex mutex_;
  sqlite_connection reader_;
  std::mutex reader_mutex_;
};

/// A second connection to `path`, read-only, for reads that must not hold up commits.
boost::system::result<detail::connection_ptr> open_reader(const std::string& path) {
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
  detail::connection_ptr db(raw);
  if (rc != SQLITE_OK) return detail::sqlite_error(db ? sqlite3_extended_errcode(db.get()) : rc);
  sqlite3_extended_result_codes(db.get(), 1);
  sqlite3_busy_timeout(db.get(), 5000);
  if (auto ec = detail::exec(db.get(), "PRAGMA trusted_schema = OFF")) return ec;
  return db;
}

}  // namespace

boost::system::result<std::unique_ptr<database>> open_sqlite(const std::string& path) {
  if (auto ec = make_private_database_file(path)) return ec;
  sqlite3* raw = nullptr;
  // NOMUTEX: sqlite_store serializes every use of the connection with its own mutex.
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  detail::connection_ptr db(raw);
  if (rc != SQLITE_OK) {
    return detail::sqlite_error(db ? sqlite3_extended_errcode(db.get()) : rc);
  }
  sqlite3_extended_result_codes(db.get(), 1);
  // Another process (`gatehouse jwt` beside a running server) may hold the write lock briefly.
  sqlite3_busy_timeout(db.get(), 5000);

  // A newer database is refused before anything here writes to it (journal_mode does).
  bool outdated = false;
  if (auto ec = detail::check_version(db.get(), outdated)) return ec;

  // journal_mode answers with the mode in effect, which stays the old one if WAL is refused.
  const auto mode = detail::pragma_text(db.get(), "PRAGMA journal_mode = WAL");
  if (!mode) return mode.error();
  if (*mode != "wal") return errc::durability_unavailable;
  // FULL syncs the WAL on every commit: with NORMAL a power loss may drop acknowledged commits.
  if (auto ec = detail::exec(db.get(), "PRAGMA synchronous = FULL")) return ec;
  const auto synchronous = detail::pragma_text(db.get(), "PRAGMA synchronous");
  if (!synchronous) return synchronous.error();
  if (*synchronous != "2") return errc::durability_unavailable;
  // Outside any transaction, where the pragma takes effect.
  if (auto ec = detail::exec(db.get(), "PRAGMA foreign_keys = ON")) return ec;
  // Nothing in the schema needs functions from the database file itself.
  if (auto ec = detail::exec(db.get(), "PRAGMA trusted_schema = OFF")) return ec;

  // A current database needs no write lock to open, so a second process (`gatehouse jwt`) opens
  // beside a busy server without waiting.
  if (outdated) {
    bool created = false;
    if (auto ec = detail::migrate(db.get(), created)) return ec;
    if (created) sync_directory_of(path);
  }
  auto reader = open_reader(path);
  if (!reader) return reader.error();
  return std::unique_ptr<database>(
      std::make_unique<sqlite_store>(std::move(db), std::move(*reader)));
}

boost::system::result<sqlite_settings> sqlite_settings_of(database& s) {
  auto* sqlite = dynamic_cast<sqlite_store*>(&s);
  if (sqlite == nullptr)
    return boost::system::errc::make_error_code(boost::system::errc::invalid_argument);
  return sqlite->settings();
}

}  // namespace gatehouse::store
