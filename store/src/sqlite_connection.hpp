// One SQLite connection and the statements prepared on it: handles that close and finalize
// themselves, value binding and column reading, and run/each_row, which every query of the store
// goes through.
#pragma once

#include <gatehouse/store/database.hpp>

#include <sqlite3.h>

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace gatehouse::store::detail {

using boost::system::error_code;

/// An SQLite (extended) result code as an error code of sqlite_category().
[[nodiscard]] error_code sqlite_error(int rc) noexcept;

struct connection_closer {
  void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
struct statement_finalizer {
  void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};
using connection_ptr = std::unique_ptr<sqlite3, connection_closer>;
using statement_ptr = std::unique_ptr<sqlite3_stmt, statement_finalizer>;

// Values are bound SQLITE_STATIC: each one outlives the step that reads it.
int bind(sqlite3_stmt* s, int index, std::string_view value) noexcept;
int bind(sqlite3_stmt* s, int index, const std::string& value) noexcept;
int bind(sqlite3_stmt* s, int index, std::int64_t value) noexcept;
int bind(sqlite3_stmt* s, int index, const secret_hash& value) noexcept;
/// NULL when `value` is empty.
int bind(sqlite3_stmt* s, int index, const std::optional<secret_hash>& value) noexcept;

/// The text of `column` of the current row; SQL NULL reads as empty.
[[nodiscard]] std::string column_string(sqlite3_stmt* s, int column);

/// Runs `text` (statements without parameters: pragmas, transaction control) directly.
[[nodiscard]] error_code exec(sqlite3* db, const char* text) noexcept;
/// The first column of the first row of `text` as text, empty when there is no row; for pragmas
/// before the store's statement cache exists.
[[nodiscard]] boost::system::result<std::string> pragma_text(sqlite3* db, const char* text);

// Resets a cached statement when its use ends, whatever the outcome, so that it neither holds a
// read snapshot open nor keeps pointers to values that are gone.
class statement_use {
 public:
  explicit statement_use(sqlite3_stmt* s) noexcept : s_(s) {}
  statement_use(const statement_use&) = delete;
  statement_use& operator=(const statement_use&) = delete;
  ~statement_use() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  [[nodiscard]] sqlite3_stmt* get() const noexcept { return s_; }

 private:
  sqlite3_stmt* s_;
};

/// The store's connection with its prepared statements, each prepared once and kept. Not
/// thread-safe: the store serializes every use.
class sqlite_connection {
 public:
  explicit sqlite_connection(connection_ptr db) noexcept : db_(std::move(db)) {}

  [[nodiscard]] sqlite3* handle() const noexcept { return db_.get(); }

  /// The statement for `text`, prepared on first use. The cache is keyed by the pointer, so
  /// `text` must be a string with static storage (the store's SQL constants).
  [[nodiscard]] boost::system::result<sqlite3_stmt*> prepared(const char* text);

  /// Runs a statement that returns no rows worth reading, binding `args` to ?1, ?2, ...
  template <class... Args>
  [[nodiscard]] error_code run(const char* text, const Args&... args) {
    return each_row(
        text, [](sqlite3_stmt*) { return error_code{}; }, args...);
  }

  /// Runs a statement and hands each row to `on_row`, which may stop the scan with an error.
  template <class OnRow, class... Args>
  [[nodiscard]] error_code each_row(const char* text, OnRow&& on_row, const Args&... args) {
    auto s = prepared(text);
    if (!s) return s.error();
    statement_use use(*s);
    int rc = SQLITE_OK;
    [[maybe_unused]] int index = 0;
    ((rc = rc == SQLITE_OK ? bind(use.get(), ++index, args) : rc), ...);
    if (rc != SQLITE_OK) return sqlite_error(rc);
    while ((rc = sqlite3_step(use.get())) == SQLITE_ROW) {
      if (auto ec = on_row(use.get())) return ec;
    }
    return rc == SQLITE_DONE ? error_code{} : sqlite_error(rc);
  }

  /// The first column of the first row of `text`, as an int.
  [[nodiscard]] error_code pragma_int(const char* text, int& out);

 private:
  // Declared first so that it is destroyed last, after every statement is finalized.
  connection_ptr db_;
  std::unordered_map<const char*, statement_ptr> statements_;
};

}  // namespace gatehouse::store::detail
