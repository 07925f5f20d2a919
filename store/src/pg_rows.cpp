// How each record is written to and read from the PostgreSQL store: one description per table
// (its upsert, its select, its fields in column order, the lists it owns) that commit, load and
// the change log's reads share, so that what is written is what is read back.
#include "pg_rows.hpp"

#include <gatehouse/policy/text.hpp>

#include <charconv>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <variant>

namespace gatehouse::store::detail {
namespace {

/// A list of ids a record owns, as (owner, position, id) rows.
template <class Record>
struct pg_list {
  const char* delete_all;  // $1 = owner
  const char* insert;      // $1 = owner, $2 = position, $3 = id
  const char* select;      // (owner, id) of every list, in owner and position order
  const char* select_of;   // the same for the owners in $1 (a text[])
  std::vector<std::string> Record::*ids;
};

template <class Record>
struct pg_table;

template <>
struct pg_table<organization_record> {
  static constexpr record_kind kind = record_kind::organization;
  static constexpr const char* upsert =
      "INSERT INTO organizations (id, name, created_at) VALUES ($1, $2, $3::bigint) "
      "ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, created_at = EXCLUDED.created_at";
  static constexpr const char* select = "SELECT id, name, created_at FROM organizations";
  static constexpr const char* select_of =
      "SELECT id, name, created_at FROM organizations WHERE id = ANY($1::text[])";
  static constexpr std::tuple columns{&organization_record::id, &organization_record::name,
                                      &organization_record::created_at};
  static constexpr std::array lists{pg_list<organization_record>{
      "DELETE FROM organization_default_policies WHERE organization_id = $1",
      "INSERT INTO organization_default_policies (organization_id, position, policy_id) "
      "VALUES ($1, $2::integer, $3)",
      "SELECT organization_id, policy_id FROM organization_default_policies "
      "ORDER BY organization_id, position",
      "SELECT organization_id, policy_id FROM organization_default_policies "
      "WHERE organization_id = ANY($1::text[]) ORDER BY organization_id, position",
      &organization_record::default_policy_ids}};
};

template <>
struct pg_table<member_record> {
  static constexpr record_kind kind = record_kind::member;
  static constexpr const char* upsert =
      "INSERT INTO members (id, organization_id, email, created_at) "
      "VALUES ($1, $2, $3, $4::bigint) ON CONFLICT (id) DO UPDATE SET "
      "organization_id = EXCLUDED.organization_id, email = EXCLUDED.email, "
      "created_at = EXCLUDED.created_at";
  static constexpr const char* select =
      "SELECT id, organization_id, email, created_at FROM members";
  static constexpr const char* select_of =
      "SELECT id, organization_id, email, created_at FROM members WHERE id = ANY($1::text[])";
  static constexpr std::tuple columns{&member_record::id, &member_record::organization_id,
                                      &member_record::email, &member_record::created_at};
  static constexpr std::array lists{pg_list<member_record>{
      "DELETE FROM member_policies WHERE member_id = $1",
      "INSERT INTO member_policies (member_id, position, policy_id) VALUES ($1, $2::integer, $3)",
      "SELECT member_id, policy_id FROM member_policies ORDER BY member_id, position",
      "SELECT member_id, policy_id FROM member_policies WHERE member_id = ANY($1::text[]) "
      "ORDER BY member_id, position",
      &member_record::policy_ids}};
};

template <>
struct pg_table<group_record> {
  static constexpr record_kind kind = record_kind::group;
  static constexpr const char* upsert =
      "INSERT INTO groups (id, organization_id, name, description, created_at) "
      "VALUES ($1, $2, $3, $4, $5::bigint) ON CONFLICT (id) DO UPDATE SET "
      "organization_id = EXCLUDED.organization_id, name = EXCLUDED.name, "
      "description = EXCLUDED.description, created_at = EXCLUDED.created_at";
  static constexpr const char* select =
      "SELECT id, organization_id, name, description, created_at FROM groups";
  static constexpr const char* select_of =
      "SELECT id, organization_id, name, description, created_at FROM groups "
      "WHERE id = ANY($1::text[])";
  static constexpr std::tuple columns{&group_record::id, &group_record::organization_id,
                                      &group_record::name, &group_record::description,
                                      &group_record::created_at};
  static constexpr std::array lists{
      pg_list<group_record>{
          "DELETE FROM group_members WHERE group_id = $1",
          "INSERT INTO group_members (group_id, position, member_id) "
          "VALUES ($1, $2::integer, $3)",
          "SELECT group_id, member_id FROM group_members ORDER BY group_id, position",
          "SELECT group_id, member_id FROM group_members WHERE group_id = ANY($1::text[]) "
          "ORDER BY group_id, position",
          &group_record::member_ids},
      pg_list<group_record>{
          "DELETE FROM group_policies WHERE group_id = $1",
          "INSERT INTO group_policies (group_id, position, policy_id) "
          "VALUES ($1, $2::integer, $3)",
          "SELECT group_id, policy_id FROM group_policies ORDER BY group_id, position",
          "SELECT group_id, policy_id FROM group_policies WHERE group_id = ANY($1::text[]) "
          "ORDER BY group_id, position",
          &group_record::policy_ids}};
};

template <>
struct pg_table<policy_record> {
  static constexpr record_kind kind = record_kind::policy;
  static constexpr const char* upsert =
      "INSERT INTO policies (id, organization_id, key, name, description, statements_json, "
      "created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7::bigint, $8::bigint) "
      "ON CONFLICT (id) DO UPDATE SET organization_id = EXCLUDED.organization_id, "
      "key = EXCLUDED.key, name = EXCLUDED.name, description = EXCLUDED.description, "
      "statements_json = EXCLUDED.statements_json, created_at = EXCLUDED.created_at, "
      "updated_at = EXCLUDED.updated_at";
  static constexpr const char* select =
      "SELECT id, organization_id, key, name, description, statements_json, created_at, "
      "updated_at FROM policies";
  static constexpr const char* select_of =
      "SELECT id, organization_id, key, name, description, statements_json, created_at, "
      "updated_at FROM policies WHERE id = ANY($1::text[])";
  static constexpr std::tuple columns{&policy_record::id,          &policy_record::organization_id,
                                      &policy_record::key,         &policy_record::name,
                                      &policy_record::description, &policy_record::statements_json,
                                      &policy_record::created_at,  &policy_record::updated_at};
  static constexpr std::array<pg_list<policy_record>, 0> lists{};
};

namespace token_sql {
constexpr const char* upsert =
    "INSERT INTO tokens (id, organization_id, name, name_folded, type, status, creator_id, "
    "secret_hash, secret_prefix, permissions_json, created_at, updated_at, last_used_at, "
    "expires_at, previous_secret_hash, previous_valid_until) VALUES ($1, $2, $3, $4, "
    "$5::smallint, $6::smallint, $7, $8::bytea, $9, $10, $11::bigint, $12::bigint, $13::bigint, "
    "$14::bigint, $15::bytea, $16::bigint) ON CONFLICT (id) DO UPDATE SET "
    "organization_id = EXCLUDED.organization_id, name = EXCLUDED.name, "
    "name_folded = EXCLUDED.name_folded, type = EXCLUDED.type, status = EXCLUDED.status, "
    "creator_id = EXCLUDED.creator_id, secret_hash = EXCLUDED.secret_hash, "
    "secret_prefix = EXCLUDED.secret_prefix, permissions_json = EXCLUDED.permissions_json, "
    "created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at, "
    // A last use recorded by another instance since this one read the token stays.
    "last_used_at = GREATEST(tokens.last_used_at, EXCLUDED.last_used_at), "
    "expires_at = EXCLUDED.expires_at, previous_secret_hash = EXCLUDED.previous_secret_hash, "
    "previous_valid_until = EXCLUDED.previous_valid_until";
// Only ever forward: a late flush of an older time from one instance must not undo a newer one
// from another (GREATEST, as SPEC §12 says).
constexpr const char* touch =
    "UPDATE tokens SET last_used_at = $2::bigint WHERE id = $1 AND last_used_at < $2::bigint";
#define GATEHOUSE_TOKEN_COLUMNS                                                                \
  "SELECT id, organization_id, name, type, status, creator_id, secret_hash, secret_prefix, "   \
  "permissions_json, created_at, updated_at, last_used_at, expires_at, previous_secret_hash, " \
  "previous_valid_until FROM tokens"
constexpr const char* select = GATEHOUSE_TOKEN_COLUMNS;
constexpr const char* select_of = GATEHOUSE_TOKEN_COLUMNS " WHERE id = ANY($1::text[])";
#undef GATEHOUSE_TOKEN_COLUMNS
}  // namespace token_sql

// What erasing a record runs, in order, each with $1 = the record's id; as on SQLite.
constexpr std::array erase_member_sql{
    "DELETE FROM member_policies WHERE member_id = $1",
    "DELETE FROM group_members WHERE member_id = $1",
    "DELETE FROM members WHERE id = $1",
};
constexpr std::array erase_group_sql{
    "DELETE FROM group_members WHERE group_id = $1",
    "DELETE FROM group_policies WHERE group_id = $1",
    "DELETE FROM groups WHERE id = $1",
};
constexpr std::array erase_policy_sql{
    "DELETE FROM member_policies WHERE policy_id = $1",
    "DELETE FROM group_policies WHERE policy_id = $1",
    "DELETE FROM organization_default_policies WHERE policy_id = $1",
    "DELETE FROM policies WHERE id = $1",
};
constexpr std::array erase_token_sql{"DELETE FROM tokens WHERE id = $1"};

using touched_record = std::optional<std::pair<record_kind, std::string>>;

template <std::size_t N>
error_code erase(pg_connection& db, const std::array<const char*, N>& statements,
                 const std::string& id) {
  for (const char* text : statements) {
    if (auto ec = db.run(text, id)) return ec;
  }
  return {};
}

template <class Record>
error_code put(pg_connection& db, const Record& r) {
  using table = pg_table<Record>;
  auto ec =
      std::apply([&](auto... field) { return db.run(table::upsert, r.*field...); }, table::columns);
  for (const auto& list : table::lists) {
    if (!ec) ec = db.run(list.delete_all, r.id);
    std::int64_t position = 0;
    for (const auto& id : r.*list.ids) {
      if (!ec) ec = db.run(list.insert, r.id, position++, id);
    }
  }
  return ec;
}

error_code put_token_row(pg_connection& db, const token_record& r) {
  return db.run(token_sql::upsert, r.id, r.organization_id, r.name, policy::fold_ascii(r.name),
                static_cast<std::int64_t>(r.type), static_cast<std::int64_t>(r.status),
                r.creator_id, r.secret_hash, r.secret_prefix, r.permissions_json, r.created_at,
                r.updated_at, r.last_used_at, r.expires_at,
                r.previous_valid_until != 0 ? std::optional(r.previous_secret_hash) : std::nullopt,
                r.previous_valid_until);
}

constexpr const char* insert_audit =
    "INSERT INTO audit_log (organization_id, at, actor_kind, actor_id, actor_member_id, type, "
    "target_id, denied, summary) VALUES ($1, $2::bigint, $3, $4, $5, $6, $7, "
    "$8::integer <> 0, $9)";

template <class Record>
touched_record touch_of(const Record& r) {
  return std::pair{pg_table<Record>::kind, r.id};
}

struct applier {
  pg_connection& db;
  touched_record& touched;

  error_code operator()(const put_organization& c) {
    touched = touch_of(c.record);
    return put(db, c.record);
  }
  error_code operator()(const put_member& c) {
    touched = touch_of(c.record);
    return put(db, c.record);
  }
  error_code operator()(const put_group& c) {
    touched = touch_of(c.record);
    return put(db, c.record);
  }
  error_code operator()(const put_policy& c) {
    touched = touch_of(c.record);
    return put(db, c.record);
  }
  error_code operator()(const put_token& c) {
    touched = std::pair{record_kind::token, c.record.id};
    return put_token_row(db, c.record);
  }
  error_code operator()(const erase_member& c) {
    touched = std::pair{record_kind::member, c.id};
    return erase(db, erase_member_sql, c.id);
  }
  error_code operator()(const erase_group& c) {
    touched = std::pair{record_kind::group, c.id};
    return erase(db, erase_group_sql, c.id);
  }
  error_code operator()(const erase_policy& c) {
    touched = std::pair{record_kind::policy, c.id};
    return erase(db, erase_policy_sql, c.id);
  }
  error_code operator()(const erase_token& c) {
    touched = std::pair{record_kind::token, c.id};
    return erase(db, erase_token_sql, c.id);
  }
  error_code operator()(const touch_token& c) {
    return db.run(token_sql::touch, c.id, c.last_used_at);
  }
  error_code operator()(const append_audit& c) {
    const auto& r = c.record;
    return db.run(insert_audit, r.organization_id, r.at, r.actor_kind, r.actor_id,
                  r.actor_member_id, r.type, r.target_id, std::int64_t{r.denied ? 1 : 0},
                  r.summary_json);
  }
};

void read_column(const PGresult* r, int row, int column, std::string& out) {
  out = column_string(r, row, column);
}
void read_column(const PGresult* r, int row, int column, std::int64_t& out) {
  out = column_int(r, row, column);
}

template <class Record>
Record read_record(const PGresult* r, int row) {
  Record out;
  int column = 0;
  std::apply([&](auto... field) { (read_column(r, row, column++, out.*field), ...); },
             pg_table<Record>::columns);
  return out;
}

// Reads the rows of `select` (with `args`) as records, then their lists.
template <class Record, class... Args>
error_code read_records(pg_connection& db, const char* select, std::vector<Record>& records,
                        bool all, const Args&... args) {
  const auto first = records.size();
  auto ec = db.each_row(
      select,
      [&](const PGresult* r, int row) {
        records.push_back(read_record<Record>(r, row));
        return error_code{};
      },
      args...);
  if (ec) return ec;
  std::unordered_map<std::string_view, Record*> by_id;
  for (auto i = first; i < records.size(); ++i) by_id.emplace(records[i].id, &records[i]);
  for (const auto& list : pg_table<Record>::lists) {
    ec = db.each_row(
        all ? list.select : list.select_of,
        [&](const PGresult* r, int row) {
          const auto owner = column_string(r, row, 0);
          const auto it = by_id.find(owner);
          // Foreign keys make this impossible unless someone edited the tables by hand.
          if (it == by_id.end()) return error_code(errc::malformed_record);
          (it->second->*list.ids).push_back(column_string(r, row, 1));
          return error_code{};
        },
        args...);
    if (ec) return ec;
  }
  return {};
}

error_code read_token(const PGresult* r, int row, token_record& out) {
  const auto type = column_int(r, row, 3);
  const auto status = column_int(r, row, 4);
  if (type < 0 || type > static_cast<int>(token_type::service) || status < 0 ||
      status > static_cast<int>(token_status::revoked) ||
      !column_hash(r, row, 6, out.secret_hash)) {
    return errc::malformed_record;
  }
  out.id = column_string(r, row, 0);
  out.organization_id = column_string(r, row, 1);
  out.name = column_string(r, row, 2);
  out.type = static_cast<token_type>(type);
  out.status = static_cast<token_status>(status);
  out.creator_id = column_string(r, row, 5);
  out.secret_prefix = column_string(r, row, 7);
  out.permissions_json = column_string(r, row, 8);
  out.created_at = column_int(r, row, 9);
  out.updated_at = column_int(r, row, 10);
  out.last_used_at = column_int(r, row, 11);
  out.expires_at = column_int(r, row, 12);
  out.previous_valid_until = column_int(r, row, 14);
  if (out.previous_valid_until != 0 && !column_hash(r, row, 13, out.previous_secret_hash)) {
    return errc::malformed_record;
  }
  return {};
}

// Files the records `found` of `ids` as puts, and each of `ids` not found as an `Erase`; with
// `Erase` void, a record that is gone is simply not put (an organization is never erased).
template <class Put, class Erase, class Record>
void file_current(const std::vector<std::string>& ids, std::vector<Record>& found,
                  std::vector<change>& puts, std::vector<change>& erasures) {
  if constexpr (!std::is_void_v<Erase>) {
    std::unordered_set<std::string_view> present;
    for (const auto& r : found) present.insert(r.id);
    for (const auto& id : ids) {
      if (!present.contains(id)) erasures.emplace_back(Erase{id});
    }
  }
  for (auto& r : found) puts.emplace_back(Put{std::move(r)});
}

// The records of `ids` as they are now, filed by `file_current`.
template <class Record, class Put, class Erase>
error_code read_current_records(pg_connection& db, const std::vector<std::string>& ids,
                                std::vector<change>& puts, std::vector<change>& erasures) {
  std::vector<Record> found;
  if (auto ec = read_records(db, pg_table<Record>::select_of, found, false, text_array(ids))) {
    return ec;
  }
  file_current<Put, Erase>(ids, found, puts, erasures);
  return {};
}

}  // namespace

std::string text_array(const std::vector<std::string>& items) {
  std::string out = "{";
  for (const auto& item : items) {
    if (out.size() > 1) out += ',';
    out += '"';
    for (const char c : item) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

error_code pg_apply(pg_connection& db, const change& c, touched_record& touched) {
  touched.reset();
  return std::visit(applier{db, touched}, c);
}

error_code pg_load_directory(pg_connection& db, stored_state& state) {
  auto ec = read_records(db, pg_table<organization_record>::select, state.organizations, true);
  if (!ec) ec = read_records(db, pg_table<member_record>::select, state.members, true);
  if (!ec) ec = read_records(db, pg_table<group_record>::select, state.groups, true);
  if (!ec) ec = read_records(db, pg_table<policy_record>::select, state.policies, true);
  return ec;
}

error_code pg_load_tokens(pg_connection& db, const std::function<void(token_record&&)>& on_token) {
  return db.each_row(token_sql::select, [&](const PGresult* r, int row) {
    token_record t;
    if (auto ec = read_token(r, row, t)) return ec;
    on_token(std::move(t));
    return error_code{};
  });
}

error_code pg_read_current(pg_connection& db, record_kind kind, const std::vector<std::string>& ids,
                           std::vector<change>& puts, std::vector<change>& erasures) {
  switch (kind) {
    case record_kind::organization:
      return read_current_records<organization_record, put_organization, void>(db, ids, puts,
                                                                               erasures);
    case record_kind::member:
      return read_current_records<member_record, put_member, erase_member>(db, ids, puts, erasures);
    case record_kind::group:
      return read_current_records<group_record, put_group, erase_group>(db, ids, puts, erasures);
    case record_kind::policy:
      return read_current_records<policy_record, put_policy, erase_policy>(db, ids, puts, erasures);
    case record_kind::builtins:
      break;  // pg_read_builtins
    case record_kind::token: {
      std::vector<token_record> found;
      auto ec = db.each_row(
          token_sql::select_of,
          [&](const PGresult* r, int row) {
            token_record t;
            if (auto bad = read_token(r, row, t)) return bad;
            found.push_back(std::move(t));
            return error_code{};
          },
          text_array(ids));
      if (ec) return ec;
      file_current<put_token, erase_token>(ids, found, puts, erasures);
      return {};
    }
  }
  return errc::malformed_record;
}

error_code pg_read_builtins(pg_connection& db, std::optional<builtin_generation>& out) {
  static constexpr const char* newest =
      "SELECT generation, document FROM builtin_policies "
      "WHERE generation = (SELECT max(generation) FROM builtin_policies) ORDER BY position";
  out.reset();
  return db.each_row(newest, [&](const PGresult* r, int row) {
    if (!out) out.emplace().generation = column_int(r, row, 0);
    out->documents.push_back(column_string(r, row, 1));
    return error_code{};
  });
}

// ---- The audit trail ----
namespace {

#define GATEHOUSE_AUDIT_FILTER                                                 \
  " WHERE ($1 = '' OR organization_id = $1)"                                   \
  " AND ($2 = '' OR actor_id = $2 OR actor_member_id = $2)"                    \
  " AND ($3 = '' OR type = $3 OR substr(type, 1, length($3) + 1) = $3 || '.')" \
  " AND ($4::bigint = 0 OR at >= $4::bigint) AND ($5::bigint = 0 OR at < $5::bigint)"
#define GATEHOUSE_AUDIT_COLUMNS                                                              \
  "SELECT id, organization_id, at, actor_kind, actor_id, actor_member_id, type, target_id, " \
  "denied, summary FROM audit_log"

namespace audit_sql {
constexpr const char* page_any = GATEHOUSE_AUDIT_COLUMNS GATEHOUSE_AUDIT_FILTER
    " AND ($6 = '' OR target_id = $6) ORDER BY id DESC LIMIT $7::bigint OFFSET $8::bigint";
constexpr const char* page_target = GATEHOUSE_AUDIT_COLUMNS GATEHOUSE_AUDIT_FILTER
    " AND target_id = $6 ORDER BY id DESC LIMIT $7::bigint OFFSET $8::bigint";
constexpr const char* count_any =
    "SELECT count(*) FROM audit_log" GATEHOUSE_AUDIT_FILTER " AND ($6 = '' OR target_id = $6)";
constexpr const char* count_target =
    "SELECT count(*) FROM audit_log" GATEHOUSE_AUDIT_FILTER " AND target_id = $6";
constexpr const char* oldest_first =
    GATEHOUSE_AUDIT_COLUMNS GATEHOUSE_AUDIT_FILTER " AND ($6 = '' OR target_id = $6) ORDER BY id";
constexpr const char* prune = "DELETE FROM audit_log WHERE at < $1::bigint";
}  // namespace audit_sql

#undef GATEHOUSE_AUDIT_COLUMNS
#undef GATEHOUSE_AUDIT_FILTER

audit_record read_audit(const PGresult* r, int row) {
  audit_record out;
  out.id = column_int(r, row, 0);
  out.organization_id = column_string(r, row, 1);
  out.at = column_int(r, row, 2);
  out.actor_kind = column_string(r, row, 3);
  out.actor_id = column_string(r, row, 4);
  out.actor_member_id = column_string(r, row, 5);
  out.type = column_string(r, row, 6);
  out.target_id = column_string(r, row, 7);
  out.denied = column_string(r, row, 8) == "t";
  out.summary_json = column_string(r, row, 9);
  return out;
}

template <class OnRow, class... Paging>
error_code each_match(pg_connection& db, const char* text, const audit_query& q, OnRow&& on_row,
                      const Paging&... paging) {
  return db.each_row(text, on_row, q.organization_id, q.actor_id, q.type, std::int64_t{q.from},
                     std::int64_t{q.to}, q.target_id, paging...);
}

}  // namespace

error_code pg_read_audit_page(pg_connection& db, const audit_query& q, audit_page& out) {
  const bool by_target = !q.target_id.empty();
  auto ec = each_match(db, by_target ? audit_sql::count_target : audit_sql::count_any, q,
                       [&](const PGresult* r, int row) {
                         out.total_count = static_cast<std::size_t>(column_int(r, row, 0));
                         return error_code{};
                       });
  if (ec || out.total_count == 0) return ec;
  const auto limit = static_cast<std::int64_t>(q.page_size);
  const auto offset = static_cast<std::int64_t>(q.page_index * q.page_size);
  return each_match(
      db, by_target ? audit_sql::page_target : audit_sql::page_any, q,
      [&](const PGresult* r, int row) {
        out.items.push_back(read_audit(r, row));
        return error_code{};
      },
      limit, offset);
}

error_code pg_each_audit_row(pg_connection& db, const audit_query& q,
                             const std::function<void(const audit_record&)>& on_record) {
  return each_match(db, audit_sql::oldest_first, q, [&](const PGresult* r, int row) {
    on_record(read_audit(r, row));
    return error_code{};
  });
}

error_code pg_prune_audit_rows(pg_connection& db, timestamp before, std::size_t& pruned) {
  auto r = db.query(audit_sql::prune, std::int64_t{before});
  if (!r) return r.error();
  // The command's row count, as text ("" for none).
  const std::string_view count = PQcmdTuples(r->get());
  std::uint64_t rows = 0;
  std::from_chars(count.data(), count.data() + count.size(), rows);
  pruned = static_cast<std::size_t>(rows);
  return {};
}

}  // namespace gatehouse::store::detail
