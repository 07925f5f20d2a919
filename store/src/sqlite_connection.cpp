// The SQLite connection's statement cache, binding and reading, and the two error categories the
// store reports its failures in.
#include "sqlite_connection.hpp"

#include <gatehouse/policy/error_category.hpp>

#include <climits>

namespace gatehouse::store {
namespace {

class sqlite_category_impl final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "sqlite"; }
  std::string message(int code) const override {
    std::string text = sqlite3_errstr(code);
    // sqlite3_errstr speaks only of the primary code; which constraint failed is what a caller
    // (and an operator reading a log) needs, and it never involves a record's contents.
    switch (code) {
      case SQLITE_CONSTRAINT_UNIQUE:
      case SQLITE_CONSTRAINT_PRIMARYKEY:
        return text + " (unique)";
      case SQLITE_CONSTRAINT_FOREIGNKEY:
        return text + " (foreign key)";
      case SQLITE_CONSTRAINT_CHECK:
        return text + " (check)";
      case SQLITE_CONSTRAINT_NOTNULL:
        return text + " (not null)";
      default:
        return text;
    }
  }
};

std::string_view describe(errc e) noexcept {
  switch (e) {
    case errc::schema_too_new:
      return "the database was written by a newer gatehouse (its schema version is ahead of "
             "this build); upgrade gatehouse or restore a matching backup";
    case errc::durability_unavailable:
      return "the database cannot use WAL journal mode with synchronous=FULL, so commits "
             "would not be durable";
    case errc::malformed_record:
      return "a stored row does not form a valid record";
    case errc::unavailable:
      return "the database cannot be reached";
    case errc::other_keys:
      return "the database was initialized with other key files (token.key, jwt.key); every "
             "instance of a deployment needs the same ones";
  }
  return "unknown store error";
}

}  // namespace

const boost::system::error_category& sqlite_category() noexcept {
  static const sqlite_category_impl instance;
  return instance;
}

const boost::system::error_category& store_category() noexcept {
  static const policy::enum_category<errc, describe> instance("gatehouse.store");
  return instance;
}

namespace detail {

error_code sqlite_error(int rc) noexcept { return {rc, sqlite_category()}; }

int bind(sqlite3_stmt* s, int index, std::string_view value) noexcept {
  if (value.size() > static_cast<std::size_t>(INT_MAX)) return SQLITE_TOOBIG;
  // A null pointer would bind SQL NULL; an empty string must stay an empty string.
  const char* data = value.empty() ? "" : value.data();
  return sqlite3_bind_text(s, index, data, static_cast<int>(value.size()), SQLITE_STATIC);
}
int bind(sqlite3_stmt* s, int index, const std::string& value) noexcept {
  return bind(s, index, std::string_view(value));
}
int bind(sqlite3_stmt* s, int index, std::int64_t value) noexcept {
  return sqlite3_bind_int64(s, index, value);
}
int bind(sqlite3_stmt* s, int index, const secret_hash& value) noexcept {
  return sqlite3_bind_blob(s, index, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
}

int bind(sqlite3_stmt* s, int index, const std::optional<secret_hash>& value) noexcept {
  return value ? bind(s, index, *value) : sqlite3_bind_null(s, index);
}

std::string column_string(sqlite3_stmt* s, int column) {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(s, column));
  if (text == nullptr) return {};
  return {text, static_cast<std::size_t>(sqlite3_column_bytes(s, column))};
}

error_code exec(sqlite3* db, const char* text) noexcept {
  const int rc = sqlite3_exec(db, text, nullptr, nullptr, nullptr);
  return rc == SQLITE_OK ? error_code{} : sqlite_error(rc);
}

boost::system::result<std::string> pragma_text(sqlite3* db, const char* text) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db, text, -1, &raw, nullptr);
  if (rc != SQLITE_OK) return sqlite_error(rc);
  const statement_ptr s(raw);
  rc = sqlite3_step(s.get());
  if (rc == SQLITE_ROW) return column_string(s.get(), 0);
  if (rc == SQLITE_DONE) return std::string();
  return sqlite_error(rc);
}

boost::system::result<sqlite3_stmt*> sqlite_connection::prepared(const char* text) {
  auto& slot = statements_[text];
  if (!slot) {
    sqlite3_stmt* s = nullptr;
    const int rc = sqlite3_prepare_v3(db_.get(), text, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr);
    if (rc != SQLITE_OK) {
      statements_.erase(text);
      return sqlite_error(rc);
    }
    slot.reset(s);
  }
  return slot.get();
}

error_code sqlite_connection::pragma_int(const char* text, int& out) {
  return each_row(text, [&](sqlite3_stmt* s) {
    out = sqlite3_column_int(s, 0);
    return error_code{};
  });
}

}  // namespace detail
}  // namespace gatehouse::store
