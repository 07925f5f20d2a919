// The audit trail in the SQLite store: records appended inside a commit's transaction, and read
// back a page at a time (newest first), streamed (oldest first), or pruned by age.
#include "sqlite_rows.hpp"

#include <string>

namespace gatehouse::store::detail {
namespace {

// Every filter of an audit_query; an empty string or a zero time matches anything. A topic
// ("token") matches the types it begins ("token.rotate").
#define GATEHOUSE_AUDIT_FILTER                                                 \
  " WHERE (?1 = '' OR organization_id = ?1)"                                   \
  " AND (?2 = '' OR actor_id = ?2 OR actor_member_id = ?2)"                    \
  " AND (?3 = '' OR type = ?3 OR substr(type, 1, length(?3) + 1) = ?3 || '.')" \
  " AND (?4 = 0 OR at >= ?4) AND (?5 = 0 OR at < ?5)"
#define GATEHOUSE_AUDIT_COLUMNS                                                              \
  "SELECT id, organization_id, at, actor_kind, actor_id, actor_member_id, type, target_id, " \
  "denied, summary FROM audit_log"

namespace sql {
constexpr const char* insert =
    "INSERT INTO audit_log (organization_id, at, actor_kind, actor_id, actor_member_id, type, "
    "target_id, denied, summary) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
// A target is the common filter (a token's own history): it has an index of its own.
constexpr const char* page_any = GATEHOUSE_AUDIT_COLUMNS GATEHOUSE_AUDIT_FILTER
    " AND (?6 = '' OR target_id = ?6) ORDER BY id DESC LIMIT ?7 OFFSET ?8";
constexpr const char* page_target = GATEHOUSE_AUDIT_COLUMNS GATEHOUSE_AUDIT_FILTER
    " AND target_id = ?6 ORDER BY id DESC LIMIT ?7 OFFSET ?8";
constexpr const char* count_any =
    "SELECT count(*) FROM audit_log" GATEHOUSE_AUDIT_FILTER " AND (?6 = '' OR target_id = ?6)";
constexpr const char* count_target =
    "SELECT count(*) FROM audit_log" GATEHOUSE_AUDIT_FILTER " AND target_id = ?6";
constexpr const char* oldest_first =
    GATEHOUSE_AUDIT_COLUMNS GATEHOUSE_AUDIT_FILTER " AND (?6 = '' OR target_id = ?6) ORDER BY id";
constexpr const char* prune = "DELETE FROM audit_log WHERE at < ?1";
}  // namespace sql

#undef GATEHOUSE_AUDIT_COLUMNS
#undef GATEHOUSE_AUDIT_FILTER

audit_record read_record(sqlite3_stmt* s) {
  audit_record r;
  r.id = sqlite3_column_int64(s, 0);
  r.organization_id = column_string(s, 1);
  r.at = sqlite3_column_int64(s, 2);
  r.actor_kind = column_string(s, 3);
  r.actor_id = column_string(s, 4);
  r.actor_member_id = column_string(s, 5);
  r.type = column_string(s, 6);
  r.target_id = column_string(s, 7);
  r.denied = sqlite3_column_int64(s, 8) != 0;
  r.summary_json = column_string(s, 9);
  return r;
}

template <class OnRow, class... Paging>
error_code each_match(sqlite_connection& db, const char* text, const audit_query& q, OnRow&& on_row,
                      const Paging&... paging) {
  return db.each_row(text, on_row, q.organization_id, q.actor_id, q.type, std::int64_t{q.from},
                     std::int64_t{q.to}, q.target_id, paging...);
}

}  // namespace

error_code append_audit_row(sqlite_connection& db, const audit_record& r) {
  return db.run(sql::insert, r.organization_id, r.at, r.actor_kind, r.actor_id, r.actor_member_id,
                r.type, r.target_id, std::int64_t{r.denied ? 1 : 0}, r.summary_json);
}

error_code read_audit_page(sqlite_connection& db, const audit_query& q, audit_page& out) {
  const bool by_target = !q.target_id.empty();
  auto ec = each_match(db, by_target ? sql::count_target : sql::count_any, q, [&](sqlite3_stmt* s) {
    out.total_count = static_cast<std::size_t>(sqlite3_column_int64(s, 0));
    return error_code{};
  });
  if (ec || out.total_count == 0) return ec;
  const auto limit = static_cast<std::int64_t>(q.page_size);
  const auto offset = static_cast<std::int64_t>(q.page_index * q.page_size);
  return each_match(
      db, by_target ? sql::page_target : sql::page_any, q,
      [&](sqlite3_stmt* s) {
        out.items.push_back(read_record(s));
        return error_code{};
      },
      limit, offset);
}

error_code each_audit_row(sqlite_connection& db, const audit_query& q,
                          const std::function<void(const audit_record&)>& on_record) {
  return each_match(db, sql::oldest_first, q, [&](sqlite3_stmt* s) {
    on_record(read_record(s));
    return error_code{};
  });
}

error_code prune_audit_rows(sqlite_connection& db, timestamp before, std::size_t& pruned) {
  if (auto ec = db.run(sql::prune, std::int64_t{before})) return ec;
  pruned = static_cast<std::size_t>(sqlite3_changes64(db.handle()));
  return {};
}

}  // namespace gatehouse::store::detail
