// The PostgreSQL store that several instances share (SPEC §12): commits that write a change-log
// entry in commit order and notify the other instances, loads and change-log reads from one
// snapshot each, and the listening connection that wakes an instance when another commits.
#include <gatehouse/store/database.hpp>

#include "pg_connection.hpp"
#include "pg_rows.hpp"
#include "pg_schema.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <mutex>
#include <random>
#include <set>
#include <utility>

namespace gatehouse::store {
namespace {

using detail::error_code;
using detail::pg_connection;
using detail::record_kind;

namespace sql {
// Writers take this lock for the rest of their transaction just before they take a change-log
// id, so ids are given in commit order: the lock is released only once the commit is visible.
constexpr const char* lock_change_log = "SELECT pg_advisory_xact_lock(7401351220519473002)";
constexpr const char* insert_entry =
    "INSERT INTO change_log (id, instance_id, at) VALUES (nextval('change_log_ids'), $1, "
    "(extract(epoch FROM clock_timestamp()) * 1000)::bigint) RETURNING id";
constexpr const char* insert_entry_records =
    "INSERT INTO change_log_records (change_id, position, kind, record_id) "
    "SELECT $1::bigint, t.p - 1, substr($2, t.p::integer, 1)::\"char\", t.r "
    "FROM unnest($3::text[]) WITH ORDINALITY AS t (r, p)";
// Delivered when the transaction commits, and only then; the payload names the writer, so that
// an instance is not woken by its own commits.
constexpr const char* notify = "SELECT pg_notify('gatehouse_changes', $1)";
constexpr const char* listen = "LISTEN gatehouse_changes";
constexpr const char* pruned_through =
    "SELECT value::bigint FROM settings WHERE name = 'pruned_through'";
// The newest entry a snapshot includes: ids are visible in order, so this is a prefix's end.
constexpr const char* newest_entry =
    "SELECT greatest(coalesce(max(id), 0), "
    "(SELECT value::bigint FROM settings WHERE name = 'pruned_through')) FROM change_log";
constexpr const char* entries_after =
    "SELECT r.kind, r.record_id FROM change_log l JOIN change_log_records r "
    "ON r.change_id = l.id WHERE l.id > $1::bigint AND l.id <= $2::bigint "
    "ORDER BY l.id, r.position";
// An instance's progress through the log, recorded each time it reads it.
constexpr const char* record_progress =
    "INSERT INTO instances (id, applied_id, seen_at) VALUES ($1, $2::bigint, "
    "(extract(epoch FROM clock_timestamp()) * 1000)::bigint) ON CONFLICT (id) DO UPDATE SET "
    "applied_id = EXCLUDED.applied_id, seen_at = EXCLUDED.seen_at";
// The entries every live instance (one that read the log in the last 5 minutes) has applied,
// once a minute old, and every entry older than the retention ($1 ms), whoever has read it;
// with the newest id pruned recorded. Instances not seen for the retention are forgotten.
constexpr const char* prune_entries =
    "WITH now AS (SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS ms), "
    "live AS (SELECT min(applied_id) AS applied FROM instances "
    "WHERE seen_at > (SELECT ms FROM now) - 300000), "
    "cutoff AS (SELECT greatest("
    "coalesce(least((SELECT applied FROM live), (SELECT max(id) FROM change_log "
    "WHERE at <= (SELECT ms FROM now) - 60000)), 0), "
    "coalesce((SELECT max(id) FROM change_log WHERE at <= (SELECT ms FROM now) - $1::bigint), "
    "0)) AS id), "
    "gone AS (DELETE FROM change_log WHERE id <= (SELECT id FROM cutoff) RETURNING id), "
    "forgotten AS (DELETE FROM instances WHERE seen_at <= (SELECT ms FROM now) - $1::bigint) "
    "UPDATE settings SET value = greatest(value::bigint, (SELECT coalesce(max(id), 0) FROM gone))"
    "::text WHERE name = 'pruned_through'";
constexpr const char* count_tokens = "SELECT count(*) FROM tokens";
constexpr const char* next_generation =
    "SELECT coalesce(max(generation), 0) + 1 FROM builtin_policies";
constexpr const char* insert_builtins =
    "INSERT INTO builtin_policies (generation, position, document) "
    "SELECT $1::bigint, t.p - 1, t.d FROM unnest($2::text[]) WITH ORDINALITY AS t (d, p)";
// The last ten generations are kept, for whoever looks at what changed.
constexpr const char* forget_generations =
    "DELETE FROM builtin_policies WHERE generation < $1::bigint - 9";
// Held by the session across `exclusively`; released with the session if it is lost.
constexpr const char* lock_exclusive = "SELECT pg_advisory_lock(7401351220519473003)";
constexpr const char* unlock_exclusive = "SELECT pg_advisory_unlock(7401351220519473003)";
}  // namespace sql

// The order a batch's changes are applied in: records before what refers to them, erasures
// after, so that a batch never names a record memory does not hold yet.
constexpr std::array put_order{record_kind::organization, record_kind::policy, record_kind::member,
                               record_kind::group, record_kind::token};
constexpr std::array erase_order{record_kind::token, record_kind::group, record_kind::member,
                                 record_kind::policy};

std::string random_instance_id() {
  std::random_device device;
  std::string out;
  static constexpr char digits[] = "0123456789abcdef";
  for (int i = 0; i < 32; ++i) out += digits[device() % 16];
  return out;
}

// Rolls back an open transaction unless released.
class transaction {
 public:
  explicit transaction(pg_connection& db) noexcept : db_(&db) {}
  transaction(const transaction&) = delete;
  transaction& operator=(const transaction&) = delete;
  ~transaction() {
    if (db_ != nullptr && PQtransactionStatus(db_->handle()) != PQTRANS_IDLE) {
      (void)db_->exec("ROLLBACK");
    }
  }
  [[nodiscard]] error_code begin(const char* text) { return db_->exec(text); }
  [[nodiscard]] error_code commit() {
    auto ec = db_->exec("COMMIT");
    db_ = nullptr;
    return ec;
  }

 private:
  pg_connection* db_;
};

// A connection usable now: reset first when it was lost.
error_code usable(pg_connection& db) { return db.broken() ? db.reset() : error_code{}; }

class postgresql_store final : public database {
 public:
  postgresql_store(pg_connection writer, pg_connection reader, pg_connection listener,
                   postgresql_options options)
      : writer_(std::move(writer)),
        reader_(std::move(reader)),
        listener_(std::move(listener)),
        options_(std::move(options)),
        instance_id_(random_instance_id()) {}

  boost::system::result<stored_state> load(
      const std::function<void(token_record&&)>& on_token) override {
    std::lock_guard lock(reader_mutex_);
    if (auto ec = usable(reader_)) return ec;
    // One snapshot: every table, and the change-log id the state includes, read as of one
    // moment, so that reading the log after that id misses nothing and repeats nothing.
    transaction tx(reader_);
    if (auto ec = tx.begin("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")) return ec;
    stored_state state;
    auto newest = reader_.query(sql::newest_entry);
    if (!newest) return newest.error();
    state.change_id = detail::column_int(newest->get(), 0, 0);
    if (auto ec = detail::pg_read_builtins(reader_, state.builtins)) return ec;
    if (auto ec = detail::pg_load_directory(reader_, state)) return ec;
    if (auto ec = detail::pg_load_tokens(reader_, on_token)) return ec;
    if (auto ec = tx.commit()) return ec;
    return state;
  }

  std::size_t token_count() override {
    std::lock_guard lock(reader_mutex_);
    if (usable(reader_)) return 0;
    auto r = reader_.query(sql::count_tokens);
    return r ? static_cast<std::size_t>(detail::column_int(r->get(), 0, 0)) : 0;
  }

  error_code commit(std::span<const change> changes) override {
    if (changes.empty()) return {};
    std::lock_guard lock(writer_mutex_);
    if (auto ec = usable(writer_)) return ec;
    transaction tx(writer_);
    if (auto ec = tx.begin("BEGIN")) return ec;
    std::string kinds;
    std::vector<std::string> ids;
    std::optional<std::pair<record_kind, std::string>> touched;
    for (const auto& c : changes) {
      if (auto ec = detail::pg_apply(writer_, c, touched)) return ec;
      if (touched) {
        kinds += static_cast<char>(touched->first);
        ids.push_back(std::move(touched->second));
      }
    }
    if (!ids.empty()) {
      if (auto ec = writer_.exec(sql::lock_change_log)) return ec;
      if (auto ec = write_entry(kinds, ids)) return ec;
    }
    // Deferred foreign keys are checked here; a violation fails COMMIT and nothing is applied.
    if (auto ec = tx.commit()) return ec;
    if (!ids.empty()) prune_change_log();
    return {};
  }

  boost::system::result<change_batch> changes_after(std::int64_t after_id) override {
    std::lock_guard lock(reader_mutex_);
    if (auto ec = usable(reader_)) return ec;
    transaction tx(reader_);
    if (auto ec = tx.begin("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")) return ec;
    change_batch batch;
    auto pruned = reader_.query(sql::pruned_through);
    if (!pruned) return pruned.error();
    auto newest = reader_.query(sql::newest_entry);
    if (!newest) return newest.error();
    batch.last_id = std::max(after_id, detail::column_int(newest->get(), 0, 0));
    if (after_id < detail::column_int(pruned->get(), 0, 0)) {
      batch.too_old = true;
      if (auto ec = tx.commit()) return ec;
      return batch;
    }
    // What the entries touched, each record once, by kind.
    std::array<std::vector<std::string>, 128> by_kind;
    std::set<std::pair<char, std::string>> seen;
    auto ec = reader_.each_row(
        sql::entries_after,
        [&](const PGresult* r, int row) {
          const auto kind = detail::column_string(r, row, 0);
          auto id = detail::column_string(r, row, 1);
          if (kind.size() != 1 || static_cast<unsigned char>(kind[0]) >= by_kind.size()) {
            return error_code(errc::malformed_record);
          }
          if (seen.emplace(kind[0], id).second) {
            by_kind[static_cast<unsigned char>(kind[0])].push_back(std::move(id));
          }
          return error_code{};
        },
        after_id, batch.last_id);
    if (ec) return ec;
    std::vector<change> puts;
    std::array<std::vector<change>, 128> erasures;
    for (const auto kind : put_order) {
      const auto at = static_cast<unsigned char>(kind);
      if (by_kind[at].empty()) continue;
      if (auto read = detail::pg_read_current(reader_, kind, by_kind[at], puts, erasures[at])) {
        return read;
      }
    }
    if (!by_kind[static_cast<unsigned char>(record_kind::builtins)].empty()) {
      if (auto read = detail::pg_read_builtins(reader_, batch.builtins)) return read;
    }
    if (auto done = tx.commit()) return done;
    // Only a hint for pruning: a failure here loses nothing.
    (void)reader_.run(sql::record_progress, instance_id_, batch.last_id);
    batch.changes = std::move(puts);
    for (const auto kind : erase_order) {
      for (auto& c : erasures[static_cast<unsigned char>(kind)]) {
        batch.changes.push_back(std::move(c));
      }
    }
    return batch;
  }

  boost::system::result<bool> await_change(std::chrono::milliseconds timeout) override {
    std::lock_guard lock(listener_mutex_);
    if (listener_.broken() || !listening_) {
      listening_ = false;
      auto ec = usable(listener_);
      if (!ec) ec = listener_.exec(sql::listen);
      if (ec) return {boost::system::in_place_error, ec};
      listening_ = true;
      // Whatever was committed while nobody listened is found by the caller's next read.
      return true;
    }
    return listener_.await_notification(static_cast<int>(timeout.count()), instance_id_);
  }

  boost::system::result<std::int64_t> publish_builtins(
      const std::vector<std::string>& documents) override {
    std::lock_guard lock(writer_mutex_);
    if (auto ec = usable(writer_)) return ec;
    transaction tx(writer_);
    if (auto ec = tx.begin("BEGIN")) return ec;
    // Under the writers' lock: generations, like change-log ids, follow commit order.
    if (auto ec = writer_.exec(sql::lock_change_log)) return ec;
    auto next = writer_.query(sql::next_generation);
    if (!next) return next.error();
    const auto generation = detail::column_int(next->get(), 0, 0);
    if (auto ec = writer_.run(sql::insert_builtins, generation, detail::text_array(documents))) {
      return ec;
    }
    if (auto ec = writer_.run(sql::forget_generations, generation)) return ec;
    if (auto ec = write_entry(std::string(1, static_cast<char>(record_kind::builtins)),
                              {std::to_string(generation)})) {
      return ec;
    }
    if (auto ec = tx.commit()) return ec;
    return generation;
  }

  error_code exclusively(const std::function<void()>& fn) override {
    {
      std::lock_guard lock(writer_mutex_);
      if (auto ec = usable(writer_)) return ec;
      if (auto ec = writer_.exec(sql::lock_exclusive)) return ec;
    }
    struct unlock {
      postgresql_store* self;
      ~unlock() {
        std::lock_guard lock(self->writer_mutex_);
        (void)self->writer_.exec(sql::unlock_exclusive);
      }
    } guard{this};
    fn();
    return {};
  }

  boost::system::result<audit_page> audit_log(const audit_query& q) override {
    std::lock_guard lock(reader_mutex_);
    if (auto ec = usable(reader_)) return ec;
    // One snapshot, so that the count and the page agree.
    transaction tx(reader_);
    if (auto ec = tx.begin("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")) return ec;
    audit_page page;
    if (auto ec = detail::pg_read_audit_page(reader_, q, page)) return ec;
    if (auto ec = tx.commit()) return ec;
    return page;
  }

  error_code each_audit_record(const audit_query& q,
                               const std::function<void(const audit_record&)>& on_record) override {
    std::lock_guard lock(reader_mutex_);
    if (auto ec = usable(reader_)) return ec;
    return detail::pg_each_audit_row(reader_, q, on_record);
  }

  boost::system::result<std::size_t> prune_audit_log(timestamp before) override {
    std::lock_guard lock(writer_mutex_);
    if (auto ec = usable(writer_)) return ec;
    std::size_t pruned = 0;
    if (auto ec = detail::pg_prune_audit_rows(writer_, before, pruned)) return ec;
    return pruned;
  }

 private:
  // Writes a change-log entry naming what the transaction touched (`kinds[i]`, `ids[i]`) and the
  // notification the commit sends; called with `writer_mutex_` and the change-log lock held.
  error_code write_entry(const std::string& kinds, const std::vector<std::string>& ids) {
    auto entry = writer_.query(sql::insert_entry, instance_id_);
    if (!entry) return entry.error();
    const auto id = detail::column_int(entry->get(), 0, 0);
    if (auto ec = writer_.run(sql::insert_entry_records, id, kinds, detail::text_array(ids))) {
      return ec;
    }
    return writer_.run(sql::notify, instance_id_);
  }

  // Deletes the change-log entries every live instance has applied, and those older than the
  // retention, at most once per retention period (and at least once a minute); called with
  // `writer_mutex_` held, after a commit. A failure only leaves the entries for the next time.
  void prune_change_log() {
    const auto now = std::chrono::steady_clock::now();
    const auto every = std::min<std::chrono::steady_clock::duration>(options_.change_retention,
                                                                     std::chrono::minutes(1));
    if (pruned_once_ && now - last_prune_ < every) return;
    pruned_once_ = true;
    last_prune_ = now;
    transaction tx(writer_);
    if (tx.begin("BEGIN")) return;
    // Under the writers' lock, so that no entry is given an id below one already pruned.
    if (writer_.exec(sql::lock_change_log)) return;
    const std::int64_t retention_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(options_.change_retention).count();
    if (writer_.run(sql::prune_entries, retention_ms)) return;
    (void)tx.commit();
  }

  pg_connection writer_;
  std::mutex writer_mutex_;
  pg_connection reader_;
  std::mutex reader_mutex_;
  pg_connection listener_;
  std::mutex listener_mutex_;
  bool listening_ = false;
  postgresql_options options_;
  const std::string instance_id_;
  bool pruned_once_ = false;
  std::chrono::steady_clock::time_point last_prune_{};
};

}  // namespace

boost::system::result<std::unique_ptr<database>> open_postgresql(
    const std::string& uri, const postgresql_options& options) {
  auto writer = pg_connection::open(uri, "gatehouse");
  if (!writer) return writer.error();
  if (auto ec = detail::prepare_database(*writer, options.key_fingerprint)) return ec;
  auto reader = pg_connection::open(uri, "gatehouse reader");
  if (!reader) return reader.error();
  auto listener = pg_connection::open(uri, "gatehouse listener");
  if (!listener) return listener.error();
  return std::unique_ptr<database>(std::make_unique<postgresql_store>(
      std::move(*writer), std::move(*reader), std::move(*listener), options));
}

}  // namespace gatehouse::store
