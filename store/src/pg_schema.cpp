// The schema of the PostgreSQL store, the forward migrations that bring a database to it, and
// the key files' fingerprint every instance of a deployment must share.
#include "pg_schema.hpp"

#include <array>
#include <string>
#include <string_view>

namespace gatehouse::store::detail {
namespace {

// Forward migrations: entry i takes the schema from version i to version i + 1. Applied on open,
// all in one transaction, under an advisory lock, so that instances starting together migrate
// once. Never edit a released entry; append.
//
// The tables are those of the SQLite store (sqlite_schema.cpp says why each is as it is), in
// PostgreSQL's types, with the change log of SPEC §12 beside them:
// - change_log: one entry per commit that changed a record, with the instance that wrote it.
//   Its ids come from a sequence read under a transaction-scoped advisory lock, so they grow in
//   commit order: an instance that has read entry N has seen every commit up to N.
// - change_log_records: what each entry touched, (kind, record id) in commit order. A reader
//   reads the records as they are now, so the log never holds a copy of a record.
// - builtin_policies: the built-in policy documents, one generation per reload; the newest is
//   the one every instance uses (change-log kind 'b', record id the generation).
// - instances: each instance's newest applied entry and when it last read the log, so that
//   entries every live instance has applied can go.
// - settings: key_fingerprint (of the deployment's key files) and pruned_through (the newest
//   change-log id pruned; a reader whose last id is older must reload).
static_assert(secret_prefix_length == 10, "the tokens table caps secret_prefix at 10 characters");
constexpr std::array<std::string_view, 1> migrations{
    R"sql(
CREATE TABLE organizations (
  id text PRIMARY KEY,
  name text NOT NULL,
  created_at bigint NOT NULL
);
CREATE TABLE organization_default_policies (
  organization_id text NOT NULL
    REFERENCES organizations (id) DEFERRABLE INITIALLY DEFERRED,
  position integer NOT NULL,
  policy_id text NOT NULL,
  PRIMARY KEY (organization_id, position)
);
CREATE INDEX organization_default_policies_by_policy
  ON organization_default_policies (policy_id);

CREATE TABLE members (
  id text PRIMARY KEY,
  organization_id text NOT NULL
    REFERENCES organizations (id) DEFERRABLE INITIALLY DEFERRED,
  email text NOT NULL,
  created_at bigint NOT NULL
);
CREATE INDEX members_by_organization ON members (organization_id);
CREATE TABLE member_policies (
  member_id text NOT NULL REFERENCES members (id) DEFERRABLE INITIALLY DEFERRED,
  position integer NOT NULL,
  policy_id text NOT NULL,
  PRIMARY KEY (member_id, position)
);
CREATE INDEX member_policies_by_policy ON member_policies (policy_id);

CREATE TABLE groups (
  id text PRIMARY KEY,
  organization_id text NOT NULL
    REFERENCES organizations (id) DEFERRABLE INITIALLY DEFERRED,
  name text NOT NULL,
  description text NOT NULL,
  created_at bigint NOT NULL
);
CREATE INDEX groups_by_organization ON groups (organization_id);
CREATE TABLE group_members (
  group_id text NOT NULL REFERENCES groups (id) DEFERRABLE INITIALLY DEFERRED,
  position integer NOT NULL,
  member_id text NOT NULL REFERENCES members (id) DEFERRABLE INITIALLY DEFERRED,
  PRIMARY KEY (group_id, position)
);
CREATE INDEX group_members_by_member ON group_members (member_id);
CREATE TABLE group_policies (
  group_id text NOT NULL REFERENCES groups (id) DEFERRABLE INITIALLY DEFERRED,
  position integer NOT NULL,
  policy_id text NOT NULL,
  PRIMARY KEY (group_id, position)
);
CREATE INDEX group_policies_by_policy ON group_policies (policy_id);

CREATE TABLE policies (
  id text PRIMARY KEY,
  organization_id text NOT NULL
    REFERENCES organizations (id) DEFERRABLE INITIALLY DEFERRED,
  key text NOT NULL,
  name text NOT NULL,
  description text NOT NULL,
  statements_json text NOT NULL,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL
);
CREATE INDEX policies_by_organization ON policies (organization_id);

CREATE TABLE tokens (
  id text PRIMARY KEY,
  organization_id text NOT NULL
    REFERENCES organizations (id) DEFERRABLE INITIALLY DEFERRED,
  name text NOT NULL,
  name_folded text NOT NULL,
  type smallint NOT NULL CHECK (type IN (0, 1)),
  status smallint NOT NULL CHECK (status IN (0, 1, 2)),
  creator_id text NOT NULL,
  secret_hash bytea NOT NULL CHECK (length(secret_hash) = 32),
  secret_prefix text NOT NULL CHECK (length(secret_prefix) <= 10),
  permissions_json text NOT NULL,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL,
  last_used_at bigint NOT NULL,
  expires_at bigint NOT NULL DEFAULT 0,
  previous_secret_hash bytea
    CHECK (previous_secret_hash IS NULL OR length(previous_secret_hash) = 32),
  previous_valid_until bigint NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX tokens_by_secret_hash ON tokens (secret_hash);
CREATE UNIQUE INDEX tokens_by_folded_name ON tokens (organization_id, name_folded);

CREATE TABLE audit_log (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  organization_id text NOT NULL,
  at bigint NOT NULL,
  actor_kind text NOT NULL,
  actor_id text NOT NULL,
  actor_member_id text NOT NULL,
  type text NOT NULL,
  target_id text NOT NULL,
  denied boolean NOT NULL,
  summary text NOT NULL
);
CREATE INDEX audit_log_by_organization ON audit_log (organization_id, id);
CREATE INDEX audit_log_by_target ON audit_log (organization_id, target_id, id);
CREATE INDEX audit_log_by_time ON audit_log (at);

CREATE SEQUENCE change_log_ids;
CREATE TABLE change_log (
  id bigint PRIMARY KEY,
  instance_id text NOT NULL,
  at bigint NOT NULL
);
CREATE INDEX change_log_by_time ON change_log (at);
CREATE TABLE change_log_records (
  change_id bigint NOT NULL REFERENCES change_log (id) ON DELETE CASCADE,
  position integer NOT NULL,
  kind "char" NOT NULL,
  record_id text NOT NULL,
  PRIMARY KEY (change_id, position)
);

CREATE TABLE builtin_policies (
  generation bigint NOT NULL,
  position integer NOT NULL,
  document text NOT NULL,
  PRIMARY KEY (generation, position)
);

CREATE TABLE instances (
  id text PRIMARY KEY,
  applied_id bigint NOT NULL,
  seen_at bigint NOT NULL
);

CREATE TABLE settings (
  name text PRIMARY KEY,
  value text NOT NULL
);
INSERT INTO settings (name, value) VALUES ('pruned_through', '0');
)sql",
};
constexpr int schema_version = static_cast<int>(migrations.size());

// Every instance's open takes this lock for its transaction; the number is the store's own.
constexpr const char* lock_schema = "SELECT pg_advisory_xact_lock(7401351220519473001)";
constexpr const char* create_versions =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "version integer PRIMARY KEY, applied_at bigint NOT NULL)";
constexpr const char* current_version = "SELECT coalesce(max(version), 0) FROM schema_migrations";
constexpr const char* record_version =
    "INSERT INTO schema_migrations (version, applied_at) "
    "VALUES ($1::integer, (extract(epoch FROM clock_timestamp()) * 1000)::bigint)";
// The first instance records its fingerprint; every later one must match it.
constexpr const char* claim_fingerprint =
    "INSERT INTO settings (name, value) VALUES ('key_fingerprint', $1) "
    "ON CONFLICT (name) DO NOTHING";
constexpr const char* read_fingerprint =
    "SELECT value FROM settings WHERE name = 'key_fingerprint'";

}  // namespace

error_code prepare_database(pg_connection& db, const std::string& key_fingerprint) {
  if (auto ec = db.exec("BEGIN")) return ec;
  auto fail = [&db](error_code ec) {
    (void)db.exec("ROLLBACK");
    return ec;
  };
  if (auto ec = db.exec(lock_schema)) return fail(ec);
  if (auto ec = db.exec(create_versions)) return fail(ec);
  auto version = db.query(current_version);
  if (!version) return fail(version.error());
  const auto at = column_int(version->get(), 0, 0);
  if (at > schema_version) return fail(errc::schema_too_new);
  for (auto step = at; step < schema_version; ++step) {
    const std::string text(migrations[static_cast<std::size_t>(step)]);
    if (auto ec = db.exec(text.c_str())) return fail(ec);
    if (auto ec = db.run(record_version, std::int64_t{step + 1})) return fail(ec);
  }
  if (auto ec = db.run(claim_fingerprint, key_fingerprint)) return fail(ec);
  auto recorded = db.query(read_fingerprint);
  if (!recorded) return fail(recorded.error());
  if (PQntuples(recorded->get()) != 1 || column_string(recorded->get(), 0, 0) != key_fingerprint) {
    return fail(errc::other_keys);
  }
  if (auto ec = db.exec("COMMIT")) return fail(ec);
  return {};
}

}  // namespace gatehouse::store::detail
