// The schema of the SQLite store and the forward migrations that bring a database to it.
#include "sqlite_schema.hpp"

#include "sqlite_connection.hpp"

#include <array>
#include <string>
#include <string_view>

namespace gatehouse::store::detail {
namespace {

// Forward migrations: entry i takes the schema from version i to version i + 1, so version 1 is
// the initial schema. Applied on open in one transaction; never edit a released entry, append.
//
// Design notes, which the SQL cannot say:
// - Policy ids in attachment lists have no foreign key: built-in policies are files, never rows.
// - A token's creator has no foreign key: service tokens outlive their creator (SPEC §4).
// - Foreign keys are DEFERRABLE INITIALLY DEFERRED so that the changes of one commit may come in
//   any order; they are checked at COMMIT, and a violation rolls the whole commit back.
// - Lists keep their order through a position column; the key (owner, position) lets a list
//   round-trip exactly as given.
// - tokens.secret_hash holds the HMAC only; secret_prefix is capped at secret_prefix_length (10)
//   characters so that no column of the table can hold a whole secret.
// - tokens.name_folded is the ASCII case-folded name, as the IAM service compares names; unique
//   per organization. ASCII folding suffices: FeatBit folds names the same way.
static_assert(secret_prefix_length == 10, "the tokens table caps secret_prefix at 10 characters");
// - audit_log has no foreign keys: a record outlives the member, token or policy it names.
//   AUTOINCREMENT keeps ids growing after the newest records are pruned, so that an id read once
//   never names another record.
constexpr std::array<std::string_view, 4> migrations{
    R"sql(
CREATE TABLE organizations (
  id TEXT PRIMARY KEY NOT NULL,
  name TEXT NOT NULL,
  created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE organization_default_policies (
  organization_id TEXT NOT NULL
    REFERENCES organizations (id) DEFERRABLE INITIALLY DEFERRED,
  position INTEGER NOT NULL,
  policy_id TEXT NOT NULL,
  PRIMARY KEY (organization_id, position)
) STRICT, WITHOUT ROWID;
CREATE INDEX organization_default_policies_by_policy
  ON organization_default_policies (policy_id);

CREATE TABLE members (
  id TEXT PRIMARY KEY NOT NULL,
  organization_id TEXT NOT NULL
    REFERENCES organizations (id) DEFERRABLE INITIALLY DEFERRED,
  email TEXT NOT NULL,
  created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX members_by_organization ON members (organization_id);

CREATE TABLE member_policies (
  member_id TEXT NOT NULL REFERENCES members (id) DEFERRABLE INITIALLY DEFERRED,
  position INTEGER NOT NULL,
  policy_id TEXT NOT NULL,
  PRIMARY KEY (member_id, position)
) STRICT, WITHOUT ROWID;
CREATE INDEX member_policies_by_policy ON member_policies (policy_id);

CREATE TABLE groups (
  id TEXT PRIMARY KEY NOT NULL,
  organization_id TEXT NOT NULL
    REFERENCES organizations (id) DEFERRABLE INITIALLY DEFERRED,
  name TEXT NOT NULL,
  description TEXT NOT NULL,
  created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX groups_by_organization ON groups (organization_id);

CREATE TABLE group_members (
  group_id TEXT NOT NULL REFERENCES groups (id) DEFERRABLE INITIALLY DEFERRED,
  position INTEGER NOT NULL,
  member_id TEXT NOT NULL REFERENCES members (id) DEFERRABLE INITIALLY DEFERRED,
  PRIMARY KEY (group_id, position)
) STRICT, WITHOUT ROWID;
CREATE INDEX group_members_by_member ON group_members (member_id);

CREATE TABLE group_policies (
  group_id TEXT NOT NULL REFERENCES groups (id) DEFERRABLE INITIALLY DEFERRED,
  position INTEGER NOT NULL,
  policy_id TEXT NOT NULL,
  PRIMARY KEY (group_id, position)
) STRICT, WITHOUT ROWID;
CREATE INDEX group_policies_by_policy ON group_policies (policy_id);

CREATE TABLE policies (
  id TEXT PRIMARY KEY NOT NULL,
  organization_id TEXT NOT NULL
    REFERENCES organizations (id) DEFERRABLE INITIALLY DEFERRED,
  key TEXT NOT NULL,
  name TEXT NOT NULL,
  description TEXT NOT NULL,
  statements_json TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX policies_by_organization ON policies (organization_id);

CREATE TABLE tokens (
  id TEXT PRIMARY KEY NOT NULL,
  organization_id TEXT NOT NULL
    REFERENCES organizations (id) DEFERRABLE INITIALLY DEFERRED,
  name TEXT NOT NULL,
  name_folded TEXT NOT NULL,
  type INTEGER NOT NULL CHECK (type IN (0, 1)),
  status INTEGER NOT NULL CHECK (status IN (0, 1, 2)),
  creator_id TEXT NOT NULL,
  secret_hash BLOB NOT NULL CHECK (length(secret_hash) = 32),
  secret_prefix TEXT NOT NULL CHECK (length(secret_prefix) <= 10),
  permissions_json TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  last_used_at INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX tokens_by_secret_hash ON tokens (secret_hash);
CREATE UNIQUE INDEX tokens_by_folded_name ON tokens (organization_id, name_folded);
)sql",
    // 2: token expiry (SPEC §13); 0 is never, as every token before it.
    R"sql(
ALTER TABLE tokens ADD COLUMN expires_at INTEGER NOT NULL DEFAULT 0;
)sql",
    // 3: rotation (SPEC §13): the replaced secret's HMAC while its grace period lasts, else NULL.
    R"sql(
ALTER TABLE tokens ADD COLUMN previous_secret_hash BLOB
  CHECK (previous_secret_hash IS NULL OR length(previous_secret_hash) = 32);
ALTER TABLE tokens ADD COLUMN previous_valid_until INTEGER NOT NULL DEFAULT 0;
)sql",
    // 4: the audit trail (SPEC §13).
    R"sql(
CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  organization_id TEXT NOT NULL,
  at INTEGER NOT NULL,
  actor_kind TEXT NOT NULL,
  actor_id TEXT NOT NULL,
  actor_member_id TEXT NOT NULL,
  type TEXT NOT NULL,
  target_id TEXT NOT NULL,
  denied INTEGER NOT NULL CHECK (denied IN (0, 1)),
  summary TEXT NOT NULL
) STRICT;
CREATE INDEX audit_log_by_organization ON audit_log (organization_id, id);
CREATE INDEX audit_log_by_target ON audit_log (organization_id, target_id, id);
CREATE INDEX audit_log_by_time ON audit_log (at);
)sql",
};
constexpr int schema_version = static_cast<int>(migrations.size());

}  // namespace

error_code check_version(sqlite3* db, bool& outdated) {
  const auto version = pragma_text(db, "PRAGMA user_version");
  if (!version) return version.error();
  const int number = std::stoi(*version);
  if (number > schema_version) return errc::schema_too_new;
  outdated = number < schema_version;
  return {};
}

error_code migrate(sqlite3* db, bool& created) {
  if (auto ec = exec(db, "BEGIN IMMEDIATE")) return ec;
  auto fail = [db](error_code ec) {
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    return ec;
  };
  const auto version_text = pragma_text(db, "PRAGMA user_version");
  if (!version_text) return fail(version_text.error());
  const int version = std::stoi(*version_text);
  if (version > schema_version) return fail(errc::schema_too_new);
  for (auto step = static_cast<std::size_t>(version); step < migrations.size(); ++step) {
    if (auto ec = exec(db, std::string(migrations[step]).c_str())) return fail(ec);
  }
  if (version < schema_version) {
    // PRAGMA takes no parameters; the value is our own integer.
    const auto set_version = "PRAGMA user_version = " + std::to_string(schema_version);
    if (auto ec = exec(db, set_version.c_str())) return fail(ec);
  }
  if (auto ec = exec(db, "COMMIT")) return fail(ec);
  created = version == 0;
  return {};
}

}  // namespace gatehouse::store::detail
