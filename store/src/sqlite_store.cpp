// The embedded SQLite store: schema and forward migrations, durable atomic commits through cached
// prepared statements, and a load that streams tokens row by row. One connection, one mutex.
#include <gatehouse/store/database.hpp>

#include <gatehouse/policy/text.hpp>

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>

namespace gatehouse::store {
namespace {

using boost::system::error_code;

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

class store_category_impl final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "gatehouse.store"; }
  std::string message(int code) const override {
    switch (static_cast<errc>(code)) {
      case errc::schema_too_new:
        return "the database was written by a newer gatehouse (its schema version is ahead of "
               "this build); upgrade gatehouse or restore a matching backup";
      case errc::durability_unavailable:
        return "the database cannot use WAL journal mode with synchronous=FULL, so commits "
               "would not be durable";
      case errc::malformed_record:
        return "a stored row does not form a valid record";
    }
    return "unknown store error";
  }
};

error_code sqlite_error(int rc) noexcept { return {rc, sqlite_category()}; }

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
constexpr std::array<std::string_view, 1> migrations{
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
};
constexpr int schema_version = static_cast<int>(migrations.size());

// The statements commit and load run; the cache is keyed by these pointers.
namespace sql {
constexpr const char* begin_immediate = "BEGIN IMMEDIATE";
constexpr const char* begin_read = "BEGIN DEFERRED";
constexpr const char* commit = "COMMIT";

constexpr const char* upsert_organization =
    "INSERT INTO organizations (id, name, created_at) VALUES (?1, ?2, ?3) "
    "ON CONFLICT (id) DO UPDATE SET name = ?2, created_at = ?3";
constexpr const char* delete_organization_defaults =
    "DELETE FROM organization_default_policies WHERE organization_id = ?1";
constexpr const char* insert_organization_default =
    "INSERT INTO organization_default_policies (organization_id, position, policy_id) "
    "VALUES (?1, ?2, ?3)";

constexpr const char* upsert_member =
    "INSERT INTO members (id, organization_id, email, created_at) VALUES (?1, ?2, ?3, ?4) "
    "ON CONFLICT (id) DO UPDATE SET organization_id = ?2, email = ?3, created_at = ?4";
constexpr const char* delete_member_policies = "DELETE FROM member_policies WHERE member_id = ?1";
constexpr const char* insert_member_policy =
    "INSERT INTO member_policies (member_id, position, policy_id) VALUES (?1, ?2, ?3)";
constexpr const char* delete_member_from_groups = "DELETE FROM group_members WHERE member_id = ?1";
constexpr const char* delete_member = "DELETE FROM members WHERE id = ?1";

constexpr const char* upsert_group =
    "INSERT INTO groups (id, organization_id, name, description, created_at) "
    "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (id) DO UPDATE SET organization_id = ?2, name = ?3, "
    "description = ?4, created_at = ?5";
constexpr const char* delete_group_members = "DELETE FROM group_members WHERE group_id = ?1";
constexpr const char* insert_group_member =
    "INSERT INTO group_members (group_id, position, member_id) VALUES (?1, ?2, ?3)";
constexpr const char* delete_group_policies = "DELETE FROM group_policies WHERE group_id = ?1";
constexpr const char* insert_group_policy =
    "INSERT INTO group_policies (group_id, position, policy_id) VALUES (?1, ?2, ?3)";
constexpr const char* delete_group = "DELETE FROM groups WHERE id = ?1";

constexpr const char* upsert_policy =
    "INSERT INTO policies (id, organization_id, key, name, description, statements_json, "
    "created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
    "ON CONFLICT (id) DO UPDATE SET organization_id = ?2, key = ?3, name = ?4, "
    "description = ?5, statements_json = ?6, created_at = ?7, updated_at = ?8";
constexpr const char* detach_policy_from_members =
    "DELETE FROM member_policies WHERE policy_id = ?1";
constexpr const char* detach_policy_from_groups = "DELETE FROM group_policies WHERE policy_id = ?1";
constexpr const char* detach_policy_from_defaults =
    "DELETE FROM organization_default_policies WHERE policy_id = ?1";
constexpr const char* delete_policy = "DELETE FROM policies WHERE id = ?1";

constexpr const char* upsert_token =
    "INSERT INTO tokens (id, organization_id, name, name_folded, type, status, creator_id, "
    "secret_hash, secret_prefix, permissions_json, created_at, updated_at, last_used_at) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) "
    "ON CONFLICT (id) DO UPDATE SET organization_id = ?2, name = ?3, name_folded = ?4, "
    "type = ?5, status = ?6, creator_id = ?7, secret_hash = ?8, secret_prefix = ?9, "
    "permissions_json = ?10, created_at = ?11, updated_at = ?12, last_used_at = ?13";
constexpr const char* delete_token = "DELETE FROM tokens WHERE id = ?1";
constexpr const char* touch_token =
    "UPDATE tokens SET last_used_at = ?2 WHERE id = ?1 AND last_used_at < ?2";

constexpr const char* select_organizations =
    "SELECT id, name, created_at FROM organizations ORDER BY id";
constexpr const char* select_organization_defaults =
    "SELECT organization_id, policy_id FROM organization_default_policies "
    "ORDER BY organization_id, position";
constexpr const char* select_members =
    "SELECT id, organization_id, email, created_at FROM members ORDER BY id";
constexpr const char* select_member_policies =
    "SELECT member_id, policy_id FROM member_policies ORDER BY member_id, position";
constexpr const char* select_groups =
    "SELECT id, organization_id, name, description, created_at FROM groups ORDER BY id";
constexpr const char* select_group_members =
    "SELECT group_id, member_id FROM group_members ORDER BY group_id, position";
constexpr const char* select_group_policies =
    "SELECT group_id, policy_id FROM group_policies ORDER BY group_id, position";
constexpr const char* select_policies =
    "SELECT id, organization_id, key, name, description, statements_json, created_at, "
    "updated_at FROM policies ORDER BY id";
// Rowid order: a plain table scan, the fastest way through a million rows.
constexpr const char* select_tokens =
    "SELECT id, organization_id, name, type, status, creator_id, secret_hash, secret_prefix, "
    "permissions_json, created_at, updated_at, last_used_at FROM tokens";
// count(*) walks the smallest index of the table: ~30 ms for a million tokens.
constexpr const char* count_tokens = "SELECT count(*) FROM tokens";
}  // namespace sql

struct connection_closer {
  void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
struct statement_finalizer {
  void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};
using connection_ptr = std::unique_ptr<sqlite3, connection_closer>;
using statement_ptr = std::unique_ptr<sqlite3_stmt, statement_finalizer>;

// Values are bound SQLITE_STATIC: each one outlives the step that reads it.
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

std::string column_string(sqlite3_stmt* s, int column) {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(s, column));
  if (text == nullptr) return {};
  return {text, static_cast<std::size_t>(sqlite3_column_bytes(s, column))};
}

// Resets a cached statement when its use ends, whatever the outcome, so that it neither holds a
// read snapshot open nor keeps pointers to values that are gone.
class statement_use {
 public:
  explicit statement_use(sqlite3_stmt* s) noexcept : s_(s) {}
  statement_use(const statement_use&) = delete;
  statement_use& operator=(const statement_use&) = delete;
  ~statement_use() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  [[nodiscard]] sqlite3_stmt* get() const noexcept { return s_; }

 private:
  sqlite3_stmt* s_;
};

// Creates the database file with mode 0600 before SQLite opens it, or narrows an existing one to
// 0600. SQLite would create it 0644 less the umask; its -wal and -shm files, though, it creates
// with the mode of the database file whatever the umask (the unix VFS reads the database's mode
// and fchmods them to it), so making this one file private makes all three private. Setting the
// umask around sqlite3_open instead would not do: the umask is process-wide, so other threads'
// files would get it too, and the -wal and -shm files appear only later, at the first transaction.
error_code make_private_database_file(const std::string& path) noexcept {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, S_IRUSR | S_IWUSR);
  if (fd < 0) return {errno, boost::system::system_category()};
  // fchmod, not the mode of open: the umask may have narrowed the mode of a new file, and an
  // existing file may come from a version that let the umask decide.
  const int rc = ::fchmod(fd, S_IRUSR | S_IWUSR);
  const int chmod_errno = errno;
  ::close(fd);
  if (rc != 0) return {chmod_errno, boost::system::system_category()};
  return {};
}

// fsync of the directory, so that a newly created database file is itself durable.
void sync_directory_of(const std::string& path) noexcept {
  std::error_code ec;
  auto dir = std::filesystem::absolute(path, ec).parent_path();
  if (ec) return;
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

class sqlite_store final : public database {
 public:
  explicit sqlite_store(connection_ptr db) : db_(std::move(db)) {}

  boost::system::result<stored_state> load(
      const std::function<void(token_record&&)>& on_token) override {
    std::lock_guard lock(mutex_);
    // One read transaction: every table is read from the same snapshot.
    if (auto ec = run(sql::begin_read)) return ec;
    transaction_guard guard(*this);
    stored_state state;
    if (auto ec = load_directory(state)) return ec;
    if (auto ec = load_tokens(on_token)) return ec;
    if (auto ec = run(sql::commit)) return ec;
    guard.release();
    return state;
  }

  std::size_t token_count() override {
    std::lock_guard lock(mutex_);
    int count = 0;
    if (pragma_int(sql::count_tokens, count)) return 0;  // only a sizing hint: unknown is fine
    return static_cast<std::size_t>(std::max(count, 0));
  }

  error_code commit(std::span<const change> changes) override {
    if (changes.empty()) return {};
    std::lock_guard lock(mutex_);
    // IMMEDIATE takes the write lock now, so a busy database fails here (after busy_timeout)
    // rather than halfway through the changes.
    if (auto ec = run(sql::begin_immediate)) return ec;
    transaction_guard guard(*this);
    for (const auto& c : changes) {
      if (auto ec = std::visit([this](const auto& x) { return apply(x); }, c)) return ec;
    }
    // Deferred foreign keys are checked here; a violation fails COMMIT and the guard rolls back.
    if (auto ec = run(sql::commit)) return ec;
    guard.release();
    return {};
  }

  boost::system::result<sqlite_settings> settings() {
    std::lock_guard lock(mutex_);
    sqlite_settings out;
    auto ec = each_row("PRAGMA journal_mode", [&](sqlite3_stmt* s) {
      out.journal_mode = column_string(s, 0);
      return error_code{};
    });
    if (!ec) ec = pragma_int("PRAGMA synchronous", out.synchronous);
    int foreign_keys = 0;
    if (!ec) ec = pragma_int("PRAGMA foreign_keys", foreign_keys);
    if (!ec) ec = pragma_int("PRAGMA busy_timeout", out.busy_timeout_ms);
    if (!ec) ec = pragma_int("PRAGMA user_version", out.schema_version);
    if (ec) return ec;
    out.foreign_keys = foreign_keys != 0;
    return out;
  }

 private:
  // Rolls back an open transaction unless released: on an error return and on an exception.
  class transaction_guard {
   public:
    explicit transaction_guard(sqlite_store& s) noexcept : s_(&s) {}
    transaction_guard(const transaction_guard&) = delete;
    transaction_guard& operator=(const transaction_guard&) = delete;
    ~transaction_guard() {
      if (s_ != nullptr && sqlite3_get_autocommit(s_->db_.get()) == 0) {
        sqlite3_exec(s_->db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
      }
    }
    void release() noexcept { s_ = nullptr; }

   private:
    sqlite_store* s_;
  };

  boost::system::result<sqlite3_stmt*> prepared(const char* text) {
    auto& slot = statements_[text];
    if (!slot) {
      sqlite3_stmt* s = nullptr;
      const int rc =
          sqlite3_prepare_v3(db_.get(), text, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr);
      if (rc != SQLITE_OK) {
        statements_.erase(text);
        return sqlite_error(rc);
      }
      slot.reset(s);
    }
    return slot.get();
  }

  // Runs a statement that returns no rows worth reading.
  template <class... Args>
  error_code run(const char* text, const Args&... args) {
    return each_row(
        text, [](sqlite3_stmt*) { return error_code{}; }, args...);
  }

  // Runs a statement and hands each row to `on_row`, which may stop the scan with an error.
  template <class OnRow, class... Args>
  error_code each_row(const char* text, OnRow&& on_row, const Args&... args) {
    auto s = prepared(text);
    if (!s) return s.error();
    statement_use use(*s);
    int rc = SQLITE_OK;
    [[maybe_unused]] int index = 0;
    ((rc = rc == SQLITE_OK ? bind(use.get(), ++index, args) : rc), ...);
    if (rc != SQLITE_OK) return sqlite_error(rc);
    while ((rc = sqlite3_step(use.get())) == SQLITE_ROW) {
      if (auto ec = on_row(use.get())) return ec;
    }
    return rc == SQLITE_DONE ? error_code{} : sqlite_error(rc);
  }

  // The first column of the first row of `text`, as an int.
  error_code pragma_int(const char* text, int& out) {
    return each_row(text, [&](sqlite3_stmt* s) {
      out = sqlite3_column_int(s, 0);
      return error_code{};
    });
  }

  // Replaces the list owned by `owner_id`: delete every row, insert the new ones in order.
  error_code replace_list(const char* delete_sql, const char* insert_sql,
                          const std::string& owner_id, const std::vector<std::string>& ids) {
    if (auto ec = run(delete_sql, owner_id)) return ec;
    std::int64_t position = 0;
    for (const auto& id : ids) {
      if (auto ec = run(insert_sql, owner_id, position++, id)) return ec;
    }
    return {};
  }

  error_code apply(const put_organization& c) {
    const auto& r = c.record;
    if (auto ec = run(sql::upsert_organization, r.id, r.name, r.created_at)) return ec;
    return replace_list(sql::delete_organization_defaults, sql::insert_organization_default, r.id,
                        r.default_policy_ids);
  }

  error_code apply(const put_member& c) {
    const auto& r = c.record;
    if (auto ec = run(sql::upsert_member, r.id, r.organization_id, r.email, r.created_at)) {
      return ec;
    }
    return replace_list(sql::delete_member_policies, sql::insert_member_policy, r.id, r.policy_ids);
  }

  // A member who leaves leaves their groups too; a missing id is no error.
  error_code apply(const erase_member& c) {
    if (auto ec = run(sql::delete_member_policies, c.id)) return ec;
    if (auto ec = run(sql::delete_member_from_groups, c.id)) return ec;
    return run(sql::delete_member, c.id);
  }

  error_code apply(const put_group& c) {
    const auto& r = c.record;
    if (auto ec =
            run(sql::upsert_group, r.id, r.organization_id, r.name, r.description, r.created_at)) {
      return ec;
    }
    if (auto ec =
            replace_list(sql::delete_group_members, sql::insert_group_member, r.id, r.member_ids)) {
      return ec;
    }
    return replace_list(sql::delete_group_policies, sql::insert_group_policy, r.id, r.policy_ids);
  }

  error_code apply(const erase_group& c) {
    if (auto ec = run(sql::delete_group_members, c.id)) return ec;
    if (auto ec = run(sql::delete_group_policies, c.id)) return ec;
    return run(sql::delete_group, c.id);
  }

  error_code apply(const put_policy& c) {
    const auto& r = c.record;
    return run(sql::upsert_policy, r.id, r.organization_id, r.key, r.name, r.description,
               r.statements_json, r.created_at, r.updated_at);
  }

  // A deleted policy is detached from every member, group and default list, as the service
  // does, so that no stored list names a policy that is gone.
  error_code apply(const erase_policy& c) {
    if (auto ec = run(sql::detach_policy_from_members, c.id)) return ec;
    if (auto ec = run(sql::detach_policy_from_groups, c.id)) return ec;
    if (auto ec = run(sql::detach_policy_from_defaults, c.id)) return ec;
    return run(sql::delete_policy, c.id);
  }

  error_code apply(const put_token& c) {
    const auto& r = c.record;
    return run(sql::upsert_token, r.id, r.organization_id, r.name, policy::fold_ascii(r.name),
               static_cast<std::int64_t>(r.type), static_cast<std::int64_t>(r.status), r.creator_id,
               r.secret_hash, r.secret_prefix, r.permissions_json, r.created_at, r.updated_at,
               r.last_used_at);
  }

  error_code apply(const erase_token& c) { return run(sql::delete_token, c.id); }

  // Only ever moves last_used_at forward: a late flush of an older time must not undo a newer.
  error_code apply(const touch_token& c) { return run(sql::touch_token, c.id, c.last_used_at); }

  // Appends the (owner, id) rows of `select_sql` to the lists of the records they belong to.
  template <class Record>
  error_code load_list(const char* select_sql, std::vector<Record>& records,
                       std::vector<std::string> Record::*list) {
    std::unordered_map<std::string_view, Record*> by_id;
    by_id.reserve(records.size());
    for (auto& r : records) by_id.emplace(r.id, &r);
    return each_row(select_sql, [&](sqlite3_stmt* s) {
      const auto owner = column_string(s, 0);
      const auto it = by_id.find(owner);
      // Foreign keys make this impossible unless someone edited the file by hand.
      if (it == by_id.end()) return error_code(errc::malformed_record);
      (it->second->*list).push_back(column_string(s, 1));
      return error_code{};
    });
  }

  error_code load_directory(stored_state& state) {
    auto ec = each_row(sql::select_organizations, [&](sqlite3_stmt* s) {
      auto& r = state.organizations.emplace_back();
      r.id = column_string(s, 0);
      r.name = column_string(s, 1);
      r.created_at = sqlite3_column_int64(s, 2);
      return error_code{};
    });
    if (!ec) {
      ec = load_list(sql::select_organization_defaults, state.organizations,
                     &organization_record::default_policy_ids);
    }
    if (!ec) {
      ec = each_row(sql::select_members, [&](sqlite3_stmt* s) {
        auto& r = state.members.emplace_back();
        r.id = column_string(s, 0);
        r.organization_id = column_string(s, 1);
        r.email = column_string(s, 2);
        r.created_at = sqlite3_column_int64(s, 3);
        return error_code{};
      });
    }
    if (!ec) ec = load_list(sql::select_member_policies, state.members, &member_record::policy_ids);
    if (!ec) {
      ec = each_row(sql::select_groups, [&](sqlite3_stmt* s) {
        auto& r = state.groups.emplace_back();
        r.id = column_string(s, 0);
        r.organization_id = column_string(s, 1);
        r.name = column_string(s, 2);
        r.description = column_string(s, 3);
        r.created_at = sqlite3_column_int64(s, 4);
        return error_code{};
      });
    }
    if (!ec) ec = load_list(sql::select_group_members, state.groups, &group_record::member_ids);
    if (!ec) ec = load_list(sql::select_group_policies, state.groups, &group_record::policy_ids);
    if (!ec) {
      ec = each_row(sql::select_policies, [&](sqlite3_stmt* s) {
        auto& r = state.policies.emplace_back();
        r.id = column_string(s, 0);
        r.organization_id = column_string(s, 1);
        r.key = column_string(s, 2);
        r.name = column_string(s, 3);
        r.description = column_string(s, 4);
        r.statements_json = column_string(s, 5);
        r.created_at = sqlite3_column_int64(s, 6);
        r.updated_at = sqlite3_column_int64(s, 7);
        return error_code{};
      });
    }
    return ec;
  }

  error_code load_tokens(const std::function<void(token_record&&)>& on_token) {
    return each_row(sql::select_tokens, [&](sqlite3_stmt* s) {
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
      on_token(std::move(r));
      return error_code{};
    });
  }

  // Declared first so that it is destroyed last, after every statement is finalized.
  connection_ptr db_;
  std::unordered_map<const char*, statement_ptr> statements_;
  // commit may be called from several threads; the connection and its statements are not shared.
  std::mutex mutex_;
};

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

// Brings the schema to `schema_version` in one transaction; refuses a newer database. Sets
// `created` when the database was new (at version 0).
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

}  // namespace

const boost::system::error_category& sqlite_category() noexcept {
  static const sqlite_category_impl instance;
  return instance;
}

const boost::system::error_category& store_category() noexcept {
  static const store_category_impl instance;
  return instance;
}

boost::system::result<std::unique_ptr<database>> open_sqlite(const std::string& path) {
  if (auto ec = make_private_database_file(path)) return ec;
  sqlite3* raw = nullptr;
  // NOMUTEX: sqlite_store serializes every use of the connection with its own mutex.
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  connection_ptr db(raw);
  if (rc != SQLITE_OK) {
    return sqlite_error(db ? sqlite3_extended_errcode(db.get()) : rc);
  }
  sqlite3_extended_result_codes(db.get(), 1);
  // Another process (`gatehouse jwt` beside a running server) may hold the write lock briefly.
  sqlite3_busy_timeout(db.get(), 5000);

  // A newer database is refused before anything here writes to it (journal_mode does). migrate
  // checks again under the write lock.
  const auto version = pragma_text(db.get(), "PRAGMA user_version");
  if (!version) return version.error();
  if (std::stoi(*version) > schema_version) return errc::schema_too_new;

  // journal_mode answers with the mode in effect, which stays the old one if WAL is refused.
  const auto mode = pragma_text(db.get(), "PRAGMA journal_mode = WAL");
  if (!mode) return mode.error();
  if (*mode != "wal") return errc::durability_unavailable;
  // FULL syncs the WAL on every commit: with NORMAL a power loss may drop acknowledged commits.
  if (auto ec = exec(db.get(), "PRAGMA synchronous = FULL")) return ec;
  const auto synchronous = pragma_text(db.get(), "PRAGMA synchronous");
  if (!synchronous) return synchronous.error();
  if (*synchronous != "2") return errc::durability_unavailable;
  // Outside any transaction, where the pragma takes effect.
  if (auto ec = exec(db.get(), "PRAGMA foreign_keys = ON")) return ec;
  // Nothing in the schema needs functions from the database file itself.
  if (auto ec = exec(db.get(), "PRAGMA trusted_schema = OFF")) return ec;

  // A current database needs no write lock to open, so a second process (`gatehouse jwt`) opens
  // beside a busy server without waiting.
  if (std::stoi(*version) < schema_version) {
    bool created = false;
    if (auto ec = migrate(db.get(), created)) return ec;
    if (created) sync_directory_of(path);
  }
  return std::unique_ptr<database>(std::make_unique<sqlite_store>(std::move(db)));
}

boost::system::result<sqlite_settings> sqlite_settings_of(database& s) {
  auto* sqlite = dynamic_cast<sqlite_store*>(&s);
  if (sqlite == nullptr)
    return boost::system::errc::make_error_code(boost::system::errc::invalid_argument);
  return sqlite->settings();
}

}  // namespace gatehouse::store
