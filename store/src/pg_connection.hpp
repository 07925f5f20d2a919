// One PostgreSQL connection (libpq) and the statements prepared on it: results that free
// themselves, parameters sent as text, errors as SQLSTATE codes, and run/each_row, which every
// query of the PostgreSQL store goes through.
#pragma once

#include <gatehouse/store/database.hpp>

#include <libpq-fe.h>

#include <array>
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

struct pg_result_free {
  void operator()(PGresult* r) const noexcept { PQclear(r); }
};
struct pg_connection_close {
  void operator()(PGconn* c) const noexcept { PQfinish(c); }
};
using pg_result_ptr = std::unique_ptr<PGresult, pg_result_free>;
using pg_connection_ptr = std::unique_ptr<PGconn, pg_connection_close>;

/// One parameter as the text PostgreSQL reads: strings as they are, integers in decimal, hashes
/// as bytea's hex form (`\x...`), an empty optional as NULL.
class pg_param {
 public:
  pg_param(const std::string& value) noexcept : text_(value.c_str()) {}  // NOLINT
  pg_param(std::int64_t value);                                          // NOLINT
  pg_param(const secret_hash& value);                                    // NOLINT
  pg_param(const std::optional<secret_hash>& value);                     // NOLINT
  pg_param(const pg_param&) = delete;
  pg_param& operator=(const pg_param&) = delete;

  /// The text, or null for SQL NULL. Points into the value or into this object.
  [[nodiscard]] const char* text() const noexcept { return text_; }

 private:
  void set_hash(const secret_hash& value) noexcept;

  std::array<char, 2 + 2 * 32 + 1> own_{};
  const char* text_ = nullptr;
};

/// Reading the columns of a row: text as it is, bigint in decimal, bytea in hex.
[[nodiscard]] std::string column_string(const PGresult* r, int row, int column);
[[nodiscard]] std::int64_t column_int(const PGresult* r, int row, int column);
/// False unless the column holds exactly 32 bytes.
[[nodiscard]] bool column_hash(const PGresult* r, int row, int column, secret_hash& out);

/// A connection and its prepared statements. Not thread-safe: the store serializes every use.
/// A lost connection is reset on the next use; until one succeeds, calls fail with
/// errc::unavailable.
class pg_connection {
 public:
  /// Connects to `uri`; `application` names the connection in pg_stat_activity.
  [[nodiscard]] static boost::system::result<pg_connection> open(const std::string& uri,
                                                                 const char* application);

  [[nodiscard]] PGconn* handle() const noexcept { return conn_.get(); }

  /// Runs `text` with `params` ($1, $2, ...) as a statement prepared on first use, keyed by
  /// the pointer (so `text` must have static storage, as the store's SQL constants do).
  template <class... Args>
  [[nodiscard]] boost::system::result<pg_result_ptr> query(const char* text, const Args&... args) {
    const std::array<pg_param, sizeof...(Args)> params{pg_param(args)...};
    std::array<const char*, sizeof...(Args) + 1> values{};
    for (std::size_t i = 0; i < params.size(); ++i) values[i] = params[i].text();
    return query_texts(text, static_cast<int>(params.size()), values.data());
  }

  /// `query` for a statement whose rows do not matter.
  template <class... Args>
  [[nodiscard]] error_code run(const char* text, const Args&... args) {
    auto r = query(text, args...);
    return r ? error_code{} : r.error();
  }

  /// Runs `text` (no parameters, not prepared): transaction control and schema changes.
  [[nodiscard]] error_code exec(const char* text);

  /// Streams the rows of `text` to `on_row(result, row)` a batch at a time (single-row mode),
  /// so that a million rows never sit in memory at once.
  template <class OnRow, class... Args>
  [[nodiscard]] error_code each_row(const char* text, OnRow&& on_row, const Args&... args) {
    const std::array<pg_param, sizeof...(Args)> params{pg_param(args)...};
    std::array<const char*, sizeof...(Args) + 1> values{};
    for (std::size_t i = 0; i < params.size(); ++i) values[i] = params[i].text();
    if (auto ec = send_texts(text, static_cast<int>(params.size()), values.data())) return ec;
    error_code first;
    while (pg_result_ptr r{PQgetResult(conn_.get())}) {
      const auto status = PQresultStatus(r.get());
      if (status == PGRES_SINGLE_TUPLE) {
        if (!first) first = on_row(r.get(), 0);
      } else if (status != PGRES_TUPLES_OK && !first) {
        first = result_error(r.get());
      }
    }
    return first;
  }

  /// Waits up to `timeout_ms` for a notification on a channel the connection LISTENs on; answers
  /// whether one came whose payload is not `own` (those are the instance's own commits). Drains
  /// every notification already queued.
  [[nodiscard]] boost::system::result<bool> await_notification(int timeout_ms,
                                                               std::string_view own);

  /// Whether the connection is known to be broken.
  [[nodiscard]] bool broken() const noexcept;
  /// Tries to reconnect a broken connection; forgets the prepared statements.
  [[nodiscard]] error_code reset();

 private:
  explicit pg_connection(pg_connection_ptr c) noexcept : conn_(std::move(c)) {}

  [[nodiscard]] boost::system::result<pg_result_ptr> query_texts(const char* text, int count,
                                                                 const char* const* values);
  [[nodiscard]] error_code send_texts(const char* text, int count, const char* const* values);
  [[nodiscard]] boost::system::result<const char*> prepared(const char* text, int count);
  [[nodiscard]] error_code result_error(const PGresult* r) const;

  pg_connection_ptr conn_;
  std::unordered_map<const char*, std::string> statements_;
};

}  // namespace gatehouse::store::detail
