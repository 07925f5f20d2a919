// The tables of the SQLite store as commit and load see them: for each record, the statements
// that write and read its row, its fields in the order of those statements' columns, and the
// lists it owns in tables of their own. Commit and load share one description, so that what is
// written is what is read back.
#pragma once

#include <gatehouse/store/records.hpp>

#include <array>
#include <string>
#include <tuple>
#include <vector>

namespace gatehouse::store::detail {

/// A list of ids a record owns, kept as (owner, position, id) rows so that it round-trips in the
/// order given.
template <class Record>
struct list_table {
  /// ?1 = owner: removes the whole list.
  const char* delete_all;
  /// ?1 = owner, ?2 = position, ?3 = id.
  const char* insert;
  /// (owner, id) of every list, in owner and position order.
  const char* select;
  std::vector<std::string> Record::*ids;
};

/// One record's table. `upsert` binds `columns` to ?1, ?2, ... and `select` reads them as columns
/// 0, 1, ..., in id order.
template <class Record>
struct record_table;

template <>
struct record_table<organization_record> {
  static constexpr const char* upsert =
      "INSERT INTO organizations (id, name, created_at) VALUES (?1, ?2, ?3) "
      "ON CONFLICT (id) DO UPDATE SET name = ?2, created_at = ?3";
  static constexpr const char* select =
      "SELECT id, name, created_at FROM organizations ORDER BY id";
  static constexpr std::tuple columns{&organization_record::id, &organization_record::name,
                                      &organization_record::created_at};
  static constexpr std::array lists{list_table<organization_record>{
      "DELETE FROM organization_default_policies WHERE organization_id = ?1",
      "INSERT INTO organization_default_policies (organization_id, position, policy_id) "
      "VALUES (?1, ?2, ?3)",
      "SELECT organization_id, policy_id FROM organization_default_policies "
      "ORDER BY organization_id, position",
      &organization_record::default_policy_ids}};
};

template <>
struct record_table<member_record> {
  static constexpr const char* upsert =
      "INSERT INTO members (id, organization_id, email, created_at) VALUES (?1, ?2, ?3, ?4) "
      "ON CONFLICT (id) DO UPDATE SET organization_id = ?2, email = ?3, created_at = ?4";
  static constexpr const char* select =
      "SELECT id, organization_id, email, created_at FROM members ORDER BY id";
  static constexpr std::tuple columns{&member_record::id, &member_record::organization_id,
                                      &member_record::email, &member_record::created_at};
  static constexpr std::array lists{list_table<member_record>{
      "DELETE FROM member_policies WHERE member_id = ?1",
      "INSERT INTO member_policies (member_id, position, policy_id) VALUES (?1, ?2, ?3)",
      "SELECT member_id, policy_id FROM member_policies ORDER BY member_id, position",
      &member_record::policy_ids}};
};

template <>
struct record_table<group_record> {
  static constexpr const char* upsert =
      "INSERT INTO groups (id, organization_id, name, description, created_at) "
      "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (id) DO UPDATE SET organization_id = ?2, "
      "name = ?3, description = ?4, created_at = ?5";
  static constexpr const char* select =
      "SELECT id, organization_id, name, description, created_at FROM groups ORDER BY id";
  static constexpr std::tuple columns{&group_record::id, &group_record::organization_id,
                                      &group_record::name, &group_record::description,
                                      &group_record::created_at};
  static constexpr std::array lists{
      list_table<group_record>{
          "DELETE FROM group_members WHERE group_id = ?1",
          "INSERT INTO group_members (group_id, position, member_id) VALUES (?1, ?2, ?3)",
          "SELECT group_id, member_id FROM group_members ORDER BY group_id, position",
          &group_record::member_ids},
      list_table<group_record>{
          "DELETE FROM group_policies WHERE group_id = ?1",
          "INSERT INTO group_policies (group_id, position, policy_id) VALUES (?1, ?2, ?3)",
          "SELECT group_id, policy_id FROM group_policies ORDER BY group_id, position",
          &group_record::policy_ids}};
};

template <>
struct record_table<policy_record> {
  static constexpr const char* upsert =
      "INSERT INTO policies (id, organization_id, key, name, description, statements_json, "
      "created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
      "ON CONFLICT (id) DO UPDATE SET organization_id = ?2, key = ?3, name = ?4, "
      "description = ?5, statements_json = ?6, created_at = ?7, updated_at = ?8";
  static constexpr const char* select =
      "SELECT id, organization_id, key, name, description, statements_json, created_at, "
      "updated_at FROM policies ORDER BY id";
  static constexpr std::tuple columns{&policy_record::id,          &policy_record::organization_id,
                                      &policy_record::key,         &policy_record::name,
                                      &policy_record::description, &policy_record::statements_json,
                                      &policy_record::created_at,  &policy_record::updated_at};
  static constexpr std::array<list_table<policy_record>, 0> lists{};
};

/// Tokens are written and read by hand: the row holds a folded name the record does not, enums
/// as integers, and a hash that load checks (sqlite_commit.cpp, sqlite_load.cpp).
struct token_table {
  static constexpr const char* upsert =
      "INSERT INTO tokens (id, organization_id, name, name_folded, type, status, creator_id, "
      "secret_hash, secret_prefix, permissions_json, created_at, updated_at, last_used_at, "
      "expires_at, previous_secret_hash, previous_valid_until) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16) "
      "ON CONFLICT (id) DO UPDATE SET organization_id = ?2, name = ?3, name_folded = ?4, "
      "type = ?5, status = ?6, creator_id = ?7, secret_hash = ?8, secret_prefix = ?9, "
      "permissions_json = ?10, created_at = ?11, updated_at = ?12, last_used_at = ?13, "
      "expires_at = ?14, previous_secret_hash = ?15, previous_valid_until = ?16";
  static constexpr const char* touch =
      "UPDATE tokens SET last_used_at = ?2 WHERE id = ?1 AND last_used_at < ?2";
  // Rowid order: a plain table scan, the fastest way through a million rows.
  static constexpr const char* select =
      "SELECT id, organization_id, name, type, status, creator_id, secret_hash, secret_prefix, "
      "permissions_json, created_at, updated_at, last_used_at, expires_at, previous_secret_hash, "
      "previous_valid_until FROM tokens";
  // count(*) walks the smallest index of the table: ~30 ms for a million tokens.
  static constexpr const char* count = "SELECT count(*) FROM tokens";
};

}  // namespace gatehouse::store::detail
