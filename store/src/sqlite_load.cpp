// How the SQLite store's rows become records again at load: each table read through its select,
// lists joined to their owners, and tokens checked and streamed one by one.
#include "sqlite_rows.hpp"

#include "sqlite_tables.hpp"

#include <cstring>
#include <string_view>
#include <tuple>
#include <unordered_map>

namespace gatehouse::store::detail {
namespace {

void read_column(sqlite3_stmt* s, int column, std::string& out) { out = column_string(s, column); }
void read_column(sqlite3_stmt* s, int column, std::int64_t& out) {
  out = sqlite3_column_int64(s, column);
}

// Appends the (owner, id) rows of `select_sql` to the lists of the records they belong to.
template <class Record>
error_code load_list(sqlite_connection& db, const char* select_sql, std::vector<Record>& records,
                     std::vector<std::string> Record::*list) {
  std::unordered_map<std::string_view, Record*> by_id;
  by_id.reserve(records.size());
  for (auto& r : records) by_id.emplace(r.id, &r);
  return db.each_row(select_sql, [&](sqlite3_stmt* s) {
    const auto owner = column_string(s, 0);
    const auto it = by_id.find(owner);
    // Foreign keys make this impossible unless someone edited the file by hand.
    if (it == by_id.end()) return error_code(errc::malformed_record);
    (it->second->*list).push_back(column_string(s, 1));
    return error_code{};
  });
}

template <class Record>
error_code load_records(sqlite_connection& db, std::vector<Record>& records) {
  using table = record_table<Record>;
  auto ec = db.each_row(table::select, [&](sqlite3_stmt* s) {
    auto& r = records.emplace_back();
    int column = 0;
    std::apply([&](auto... field) { (read_column(s, column++, r.*field), ...); }, table::columns);
    return error_code{};
  });
  for (const auto& list : table::lists) {
    if (!ec) ec = load_list(db, list.select, records, list.ids);
  }
  return ec;
}

}  // namespace

error_code load_directory(sqlite_connection& db, stored_state& state) {
  auto ec = load_records(db, state.organizations);
  if (!ec) ec = load_records(db, state.members);
  if (!ec) ec = load_records(db, state.groups);
  if (!ec) ec = load_records(db, state.policies);
  return ec;
}

error_code load_tokens(sqlite_connection& db, const std::function<void(token_record&&)>& on_token) {
  return db.each_row(token_table::select, [&](sqlite3_stmt* s) {
    const auto type = sqlite3_column_int(s, 3);
    const auto status = sqlite3_column_int(s, 4);
    token_record r;
    if (type < 0 || type > static_cast<int>(token_type::service) || status < 0 ||
        status > static_cast<int>(token_status::revoked) ||
        sqlite3_column_bytes(s, 6) != static_cast<int>(r.secret_hash.size())) {
      return error_code(errc::malformed_record);
    }
    r.id = column_string(s, 0);
    r.organization_id = column_string(s, 1);
    r.name = column_string(s, 2);
    r.type = static_cast<token_type>(type);
    r.status = static_cast<token_status>(status);
    r.creator_id = column_string(s, 5);
    std::memcpy(r.secret_hash.data(), sqlite3_column_blob(s, 6), r.secret_hash.size());
    r.secret_prefix = column_string(s, 7);
    r.permissions_json = column_string(s, 8);
    r.created_at = sqlite3_column_int64(s, 9);
    r.updated_at = sqlite3_column_int64(s, 10);
    r.last_used_at = sqlite3_column_int64(s, 11);
    r.expires_at = sqlite3_column_int64(s, 12);
    r.previous_valid_until = sqlite3_column_int64(s, 14);
    if (r.previous_valid_until != 0) {
      if (sqlite3_column_bytes(s, 13) != static_cast<int>(r.previous_secret_hash.size())) {
        return error_code(errc::malformed_record);
      }
      std::memcpy(r.previous_secret_hash.data(), sqlite3_column_blob(s, 13),
                  r.previous_secret_hash.size());
    }
    on_token(std::move(r));
    return error_code{};
  });
}

}  // namespace gatehouse::store::detail
