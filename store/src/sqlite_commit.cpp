// How each change kind is written to the SQLite store inside a commit's transaction: records
// through their table's upsert and lists, erasures with every row that refers to the record.
#include "sqlite_rows.hpp"

#include "sqlite_tables.hpp"

#include <gatehouse/policy/text.hpp>

#include <optional>
#include <span>
#include <tuple>
#include <variant>

namespace gatehouse::store::detail {
namespace {

// What erasing a record runs, in order, each statement with ?1 = the record's id. A missing id is
// no error.
constexpr std::array erase_member_sql{
    // A member who leaves leaves their groups too.
    record_table<member_record>::lists[0].delete_all,
    "DELETE FROM group_members WHERE member_id = ?1",
    "DELETE FROM members WHERE id = ?1",
};
constexpr std::array erase_group_sql{
    record_table<group_record>::lists[0].delete_all,
    record_table<group_record>::lists[1].delete_all,
    "DELETE FROM groups WHERE id = ?1",
};
// A deleted policy is detached from every member, group and default list, as the service does,
// so that no stored list names a policy that is gone.
constexpr std::array erase_policy_sql{
    "DELETE FROM member_policies WHERE policy_id = ?1",
    "DELETE FROM group_policies WHERE policy_id = ?1",
    "DELETE FROM organization_default_policies WHERE policy_id = ?1",
    "DELETE FROM policies WHERE id = ?1",
};
constexpr std::array erase_token_sql{"DELETE FROM tokens WHERE id = ?1"};

error_code erase(sqlite_connection& db, std::span<const char* const> statements,
                 const std::string& id) {
  for (const char* text : statements) {
    if (auto ec = db.run(text, id)) return ec;
  }
  return {};
}

// Replaces the list owned by `owner_id`: delete every row, insert the new ones in order.
template <class Record>
error_code replace_list(sqlite_connection& db, const list_table<Record>& list,
                        const std::string& owner_id, const std::vector<std::string>& ids) {
  if (auto ec = db.run(list.delete_all, owner_id)) return ec;
  std::int64_t position = 0;
  for (const auto& id : ids) {
    if (auto ec = db.run(list.insert, owner_id, position++, id)) return ec;
  }
  return {};
}

template <class Record>
error_code put(sqlite_connection& db, const Record& r) {
  using table = record_table<Record>;
  auto ec =
      std::apply([&](auto... field) { return db.run(table::upsert, r.*field...); }, table::columns);
  for (const auto& list : table::lists) {
    if (!ec) ec = replace_list(db, list, r.id, r.*list.ids);
  }
  return ec;
}

error_code apply_one(sqlite_connection& db, const put_organization& c) { return put(db, c.record); }
error_code apply_one(sqlite_connection& db, const put_member& c) { return put(db, c.record); }
error_code apply_one(sqlite_connection& db, const put_group& c) { return put(db, c.record); }
error_code apply_one(sqlite_connection& db, const put_policy& c) { return put(db, c.record); }
error_code apply_one(sqlite_connection& db, const put_token& c) {
  const auto& r = c.record;
  return db.run(token_table::upsert, r.id, r.organization_id, r.name, policy::fold_ascii(r.name),
                static_cast<std::int64_t>(r.type), static_cast<std::int64_t>(r.status),
                r.creator_id, r.secret_hash, r.secret_prefix, r.permissions_json, r.created_at,
                r.updated_at, r.last_used_at, r.expires_at,
                r.previous_valid_until != 0 ? std::optional(r.previous_secret_hash) : std::nullopt,
                r.previous_valid_until);
}
error_code apply_one(sqlite_connection& db, const erase_member& c) {
  return erase(db, erase_member_sql, c.id);
}
error_code apply_one(sqlite_connection& db, const erase_group& c) {
  return erase(db, erase_group_sql, c.id);
}
error_code apply_one(sqlite_connection& db, const erase_policy& c) {
  return erase(db, erase_policy_sql, c.id);
}
error_code apply_one(sqlite_connection& db, const erase_token& c) {
  return erase(db, erase_token_sql, c.id);
}
// Only ever moves last_used_at forward: a late flush of an older time must not undo a newer.
error_code apply_one(sqlite_connection& db, const touch_token& c) {
  return db.run(token_table::touch, c.id, c.last_used_at);
}

error_code apply_one(sqlite_connection& db, const append_audit& c) {
  return append_audit_row(db, c.record);
}

}  // namespace

error_code apply(sqlite_connection& db, const change& c) {
  return std::visit([&db](const auto& x) { return apply_one(db, x); }, c);
}

}  // namespace gatehouse::store::detail
