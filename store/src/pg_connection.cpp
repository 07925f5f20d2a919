// The PostgreSQL connection of the store: parameters as text, statements prepared once per
// connection, SQLSTATE codes as error codes, reconnection, and waiting for notifications.
#include "pg_connection.hpp"

#include <poll.h>

#include <cerrno>
#include <charconv>
#include <string>

namespace gatehouse::store {
namespace {

// SQLSTATE is five characters of [0-9A-Z]: read as a base-36 number it fits an int.
int sqlstate_code(std::string_view state) noexcept {
  int code = 0;
  for (const char c : state) {
    const int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'Z' ? c - 'A' + 10 : 0;
    code = code * 36 + digit;
  }
  return code;
}

std::string sqlstate_text(int code) {
  std::string out(5, '0');
  for (int i = 4; i >= 0; --i) {
    const int digit = code % 36;
    out[static_cast<std::size_t>(i)] =
        static_cast<char>(digit < 10 ? '0' + digit : 'A' + digit - 10);
    code /= 36;
  }
  return out;
}

class postgresql_category_impl final : public boost::system::error_category {
 public:
  [[nodiscard]] const char* name() const noexcept override { return "postgresql"; }
  [[nodiscard]] std::string message(int code) const override {
    const auto state = sqlstate_text(code);
    // The conditions a store's caller may meet; the server's own message may quote values.
    if (state == "23505") return "unique constraint violated (SQLSTATE 23505)";
    if (state == "23503") return "foreign key constraint violated (SQLSTATE 23503)";
    if (state == "23514") return "check constraint violated (SQLSTATE 23514)";
    if (state == "23502") return "not-null constraint violated (SQLSTATE 23502)";
    if (state == "40001") return "serialization failure (SQLSTATE 40001)";
    if (state == "40P01") return "deadlock detected (SQLSTATE 40P01)";
    if (state == "57P01") return "the database server is shutting down (SQLSTATE 57P01)";
    if (state == "3D000") return "no such database (SQLSTATE 3D000)";
    if (state == "28000" || state == "28P01") {
      return "the database refused the credentials (SQLSTATE " + state + ")";
    }
    if (state.starts_with("08")) return "connection failure (SQLSTATE " + state + ")";
    return "database error (SQLSTATE " + state + ")";
  }
};

}  // namespace

const boost::system::error_category& postgresql_category() noexcept {
  static const postgresql_category_impl instance;
  return instance;
}

bool is_unavailable(const boost::system::error_code& ec) noexcept {
  if (ec == errc::unavailable) return true;
  if (ec.category() != postgresql_category()) return false;
  // Class 08 (connection exceptions) and 57P01 to 57P03 (the server shutting down or starting).
  const auto state = sqlstate_text(ec.value());
  return state.starts_with("08") || state == "57P01" || state == "57P02" || state == "57P03";
}

namespace detail {

pg_param::pg_param(std::int64_t value) {
  const auto end = std::to_chars(own_.data(), own_.data() + own_.size() - 1, value).ptr;
  *end = '\0';
  text_ = own_.data();
}

pg_param::pg_param(const secret_hash& value) { set_hash(value); }

pg_param::pg_param(const std::optional<secret_hash>& value) {
  if (value) set_hash(*value);
}

void pg_param::set_hash(const secret_hash& value) noexcept {
  static constexpr char digits[] = "0123456789abcdef";
  own_[0] = '\\';
  own_[1] = 'x';
  std::size_t at = 2;
  for (const unsigned char byte : value) {
    own_[at++] = digits[byte >> 4];
    own_[at++] = digits[byte & 15];
  }
  own_[at] = '\0';
  text_ = own_.data();
}

std::string column_string(const PGresult* r, int row, int column) {
  return {PQgetvalue(r, row, column), static_cast<std::size_t>(PQgetlength(r, row, column))};
}

std::int64_t column_int(const PGresult* r, int row, int column) {
  const char* text = PQgetvalue(r, row, column);
  std::int64_t value = 0;
  std::from_chars(text, text + PQgetlength(r, row, column), value);
  return value;
}

bool column_hash(const PGresult* r, int row, int column, secret_hash& out) {
  // bytea in hex output: "\x" and two digits a byte.
  const char* text = PQgetvalue(r, row, column);
  const auto length = static_cast<std::size_t>(PQgetlength(r, row, column));
  if (length != 2 + 2 * out.size() || text[0] != '\\' || text[1] != 'x') return false;
  for (std::size_t i = 0; i < out.size(); ++i) {
    unsigned value = 0;
    const auto parsed = std::from_chars(text + 2 + 2 * i, text + 4 + 2 * i, value, 16);
    if (parsed.ec != std::errc{} || parsed.ptr != text + 4 + 2 * i) return false;
    out[i] = static_cast<unsigned char>(value);
  }
  return true;
}

boost::system::result<pg_connection> pg_connection::open(const std::string& uri,
                                                         const char* application) {
  // Keywords after the URI override its settings of the same name. A server that vanishes from
  // the network (no reset, no answer) is noticed within about 10 s, by TCP keepalives while the
  // connection waits and by the unacknowledged-data timeout while it sends, instead of after the
  // operating system's minutes: until then writes and the change log's reader would hang.
  const char* keywords[] = {"dbname",           "application_name", "connect_timeout",
                            "keepalives",       "keepalives_idle",  "keepalives_interval",
                            "keepalives_count", "tcp_user_timeout", nullptr};
  const char* values[] = {uri.c_str(), application, "5", "1", "5", "2", "3", "10000", nullptr};
  pg_connection_ptr conn(PQconnectdbParams(keywords, values, /*expand_dbname=*/1));
  if (!conn || PQstatus(conn.get()) != CONNECTION_OK) return errc::unavailable;
  // The server's notices ("relation already exists, skipping") are no one's business on stderr.
  PQsetNoticeProcessor(
      conn.get(), [](void*, const char*) {}, nullptr);
  // Every time is an integer and every text compared byte by byte: nothing depends on the
  // session's settings but these.
  pg_connection out(std::move(conn));
  if (auto ec = out.exec("SET client_encoding = 'UTF8'")) return ec;
  return out;
}

error_code pg_connection::result_error(const PGresult* r) const {
  const char* state = r != nullptr ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  if (state == nullptr || PQstatus(conn_.get()) != CONNECTION_OK) return errc::unavailable;
  return {sqlstate_code(state), postgresql_category()};
}

error_code pg_connection::exec(const char* text) {
  if (broken()) return errc::unavailable;
  pg_result_ptr r(PQexec(conn_.get(), text));
  const auto status = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return {};
  return result_error(r.get());
}

boost::system::result<const char*> pg_connection::prepared(const char* text, int count) {
  if (const auto it = statements_.find(text); it != statements_.end()) return it->second.c_str();
  std::string name(1, 's');
  name += std::to_string(statements_.size());
  pg_result_ptr r(PQprepare(conn_.get(), name.c_str(), text, count, nullptr));
  if (!r || PQresultStatus(r.get()) != PGRES_COMMAND_OK) return result_error(r.get());
  return statements_.emplace(text, std::move(name)).first->second.c_str();
}

boost::system::result<pg_result_ptr> pg_connection::query_texts(const char* text, int count,
                                                                const char* const* values) {
  if (broken()) return errc::unavailable;
  const auto name = prepared(text, count);
  if (!name) return name.error();
  pg_result_ptr r(PQexecPrepared(conn_.get(), *name, count, values, nullptr, nullptr, 0));
  const auto status = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return r;
  return result_error(r.get());
}

error_code pg_connection::send_texts(const char* text, int count, const char* const* values) {
  if (broken()) return errc::unavailable;
  const auto name = prepared(text, count);
  if (!name) return name.error();
  if (PQsendQueryPrepared(conn_.get(), *name, count, values, nullptr, nullptr, 0) != 1 ||
      PQsetSingleRowMode(conn_.get()) != 1) {
    // Drain whatever was sent, so that the connection is usable again.
    while (pg_result_ptr r{PQgetResult(conn_.get())}) {
    }
    return errc::unavailable;
  }
  return {};
}

boost::system::result<bool> pg_connection::await_notification(int timeout_ms,
                                                              std::string_view own) {
  if (broken()) return errc::unavailable;
  auto drain = [this, own] {
    bool any = false;
    while (PGnotify* n = PQnotifies(conn_.get())) {
      any = any || own != n->extra;
      PQfreemem(n);
    }
    return any;
  };
  if (PQconsumeInput(conn_.get()) != 1) return errc::unavailable;
  if (drain()) return true;
  pollfd fd{PQsocket(conn_.get()), POLLIN, 0};
  if (fd.fd < 0) return errc::unavailable;
  const int ready = ::poll(&fd, 1, timeout_ms);
  if (ready < 0 && errno != EINTR) return errc::unavailable;
  if (ready <= 0) return false;
  if (PQconsumeInput(conn_.get()) != 1) return errc::unavailable;
  return drain();
}

bool pg_connection::broken() const noexcept {
  return !conn_ || PQstatus(conn_.get()) != CONNECTION_OK;
}

error_code pg_connection::reset() {
  statements_.clear();
  PQreset(conn_.get());
  if (broken()) return errc::unavailable;
  return exec("SET client_encoding = 'UTF8'");
}

}  // namespace detail
}  // namespace gatehouse::store
