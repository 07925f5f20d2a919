// The store interface the IAM service persists through, and the embedded SQLite implementation.
// Reads are served from memory; the store is the source of truth at start and on every commit.
#pragma once

#include <gatehouse/store/records.hpp>

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace gatehouse::store {

class database {
 public:
  virtual ~database() = default;

  /// Reads everything. Tokens are streamed to `on_token` one by one so that a million of them
  /// need not sit in a vector beside the service's own index; the rest is returned (with
  /// `tokens` left empty). `on_token` must not call back into the store.
  [[nodiscard]] virtual boost::system::result<stored_state> load(
      const std::function<void(token_record&&)>& on_token) = 0;

  /// How many tokens a `load` now would stream, or 0 when the store cannot tell cheaply. The
  /// service sizes its token index with it, so that a million tokens load without rehashing.
  [[nodiscard]] virtual std::size_t token_count() { return 0; }

  /// Applies `changes` atomically and durably: when this returns success, the changes survive a
  /// crash or power loss; on failure none of them is applied.
  [[nodiscard]] virtual boost::system::error_code commit(std::span<const change> changes) = 0;

  // ---- The audit trail, which is read from the store, never held in memory. A store that does
  // not keep one answers `operation_not_supported` to each of these. ----

  /// One page of the records `q` matches, newest first.
  [[nodiscard]] virtual boost::system::result<audit_page> audit_log(const audit_query& q);
  /// Every record `q` matches (its paging ignored), oldest first, one at a time.
  [[nodiscard]] virtual boost::system::error_code each_audit_record(
      const audit_query& q, const std::function<void(const audit_record&)>& on_record);
  /// Deletes the records from before `before`; answers how many there were.
  [[nodiscard]] virtual boost::system::result<std::size_t> prune_audit_log(timestamp before);

  // ---- The change log of a store shared by several instances (SPEC §12). A store only one
  // process uses has none, and answers `operation_not_supported` to each of these. ----

  /// The changes committed after entry `after_id`, up to the newest entry, as
  /// the records they touched are now. Entries this instance wrote itself are included: reading
  /// them is harmless, and a commit whose answer was lost (the connection dropped after COMMIT)
  /// reaches memory that way.
  [[nodiscard]] virtual boost::system::result<change_batch> changes_after(std::int64_t after_id);
  /// Waits up to `timeout` for another instance to commit; answers whether one did (a
  /// notification arrived). The first call, and the first after a lost listening connection was
  /// made again, starts listening and answers true at once: what was committed meanwhile is for
  /// the caller's next read of the log. A reconnection that fails is an error.
  [[nodiscard]] virtual boost::system::result<bool> await_change(std::chrono::milliseconds timeout);
  /// Publishes `documents` as the newest generation of built-in policies, with a change-log
  /// entry, so that every instance adopts them; answers the generation.
  [[nodiscard]] virtual boost::system::result<std::int64_t> publish_builtins(
      const std::vector<std::string>& documents);
  /// Runs `fn` while no other instance runs `exclusively` on the same store, so that instances
  /// starting together initialize an empty database once. `fn` may commit. A store only one
  /// process uses just runs it.
  [[nodiscard]] virtual boost::system::error_code exclusively(const std::function<void()>& fn);
};

/// Opens (creating when missing) the SQLite database at `path`: WAL journal, synchronous=FULL,
/// schema versioned and migrated forward on open. Refuses a database from a newer version.
/// Errors are SQLite result codes (sqlite_category()) or errc.
[[nodiscard]] boost::system::result<std::unique_ptr<database>> open_sqlite(const std::string& path);

/// How an instance opens a shared PostgreSQL store.
struct postgresql_options {
  /// A fingerprint of the instance's key files (never the keys). The first instance records it;
  /// an instance with another is refused with errc::other_keys, as its tokens would not verify.
  std::string key_fingerprint;
  /// Change-log entries older than this are pruned, once every instance has had time to see them.
  std::chrono::seconds change_retention{std::chrono::hours(24)};
};

/// Opens the PostgreSQL database at `uri` (a libpq connection URI), creating the schema on an
/// empty database and migrating it forward; several instances may do so at once (an advisory
/// lock serializes them). Every commit writes a change-log entry and notifies the others.
/// Errors are errc, or postgresql_category() for a failure the server reported.
[[nodiscard]] boost::system::result<std::unique_ptr<database>> open_postgresql(
    const std::string& uri, const postgresql_options& options);

/// Failures of the SQLite store that are not SQLite result codes.
enum class errc {
  /// The database was written by a newer gatehouse: its schema version is ahead of this build.
  schema_too_new = 1,
  /// The database would not switch to WAL journal mode and synchronous=FULL, so commits could
  /// not be durable (e.g. an in-memory database or a file system without shared memory).
  durability_unavailable,
  /// A stored row does not form a valid record (e.g. a secret hash that is not 32 bytes).
  malformed_record,
  /// The database cannot be reached, or the connection to it was lost.
  unavailable,
  /// The shared database was initialized by instances with other key files.
  other_keys,
};

const boost::system::error_category& store_category() noexcept;
inline boost::system::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), store_category()};
}

/// SQLite's extended result codes as error codes. Messages come from sqlite3_errstr: they name
/// the kind of failure (e.g. a unique constraint), never the contents of a record.
const boost::system::error_category& sqlite_category() noexcept;

/// PostgreSQL's SQLSTATE codes as error codes (the five characters read as a base-36 number);
/// messages name the condition, never a value of a record.
const boost::system::error_category& postgresql_category() noexcept;

/// Whether `ec` says the store could not be reached (a lost connection, a server shutting
/// down), so that the same call may succeed later, rather than that the change was refused.
[[nodiscard]] bool is_unavailable(const boost::system::error_code& ec) noexcept;

/// What is in effect on an open SQLite store's connection, so that tests and diagnostics can
/// check durability instead of trusting it.
struct sqlite_settings {
  /// "wal" when the store is durable.
  std::string journal_mode;
  /// 2 is FULL: every commit syncs the WAL before it is acknowledged.
  int synchronous = 0;
  bool foreign_keys = false;
  int busy_timeout_ms = 0;
  /// The schema version of the database (PRAGMA user_version).
  int schema_version = 0;
};

/// The settings of a store made by open_sqlite; `invalid_argument` for any other store.
[[nodiscard]] boost::system::result<sqlite_settings> sqlite_settings_of(database& s);

/// A store that keeps nothing but the latest `audit_capacity` audit records, for tests and
/// benchmarks of the in-memory service.
[[nodiscard]] std::unique_ptr<database> make_memory(std::size_t audit_capacity = 100'000);

/// Whether `r` is one of the records `q` matches, paging aside: the meaning of every filter.
[[nodiscard]] bool matches(const audit_record& r, const audit_query& q) noexcept;

/// Whether audit type `type` ("token.rotate") is what `filter` names: the type itself, or its
/// topic ("token"). An empty filter names every type.
[[nodiscard]] bool audit_type_matches(std::string_view filter, std::string_view type) noexcept;

}  // namespace gatehouse::store

namespace boost::system {
template <>
struct is_error_code_enum<gatehouse::store::errc> : std::true_type {};
}  // namespace boost::system
