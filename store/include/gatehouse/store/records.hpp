// The durable records of the identity model and of access tokens, as the store keeps them, and
// the changes the service commits to it.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace gatehouse::store {

/// The keyed hash (HMAC-SHA-256) of an access token's secret: all the store ever holds of it.
using secret_hash = std::array<unsigned char, 32>;

/// Number of characters of a secret shown in lists: `api-` and a few more, not enough to guess.
/// No column of the store holds more of a secret.
inline constexpr std::size_t secret_prefix_length = 10;

/// Milliseconds since the Unix epoch.
using timestamp = std::int64_t;

struct organization_record {
  std::string id;
  std::string name;
  /// Policies a member added without policies or groups gets (SPEC §3).
  std::vector<std::string> default_policy_ids;
  timestamp created_at = 0;

  friend bool operator==(const organization_record&, const organization_record&) = default;
};

struct member_record {
  std::string id;
  std::string organization_id;
  std::string email;
  /// Policies attached to the member directly.
  std::vector<std::string> policy_ids;
  timestamp created_at = 0;

  friend bool operator==(const member_record&, const member_record&) = default;
};

struct group_record {
  std::string id;
  std::string organization_id;
  std::string name;
  std::string description;
  std::vector<std::string> member_ids;
  std::vector<std::string> policy_ids;
  timestamp created_at = 0;

  friend bool operator==(const group_record&, const group_record&) = default;
};

/// A customer-managed policy of one organization. Built-ins are files, never stored.
struct policy_record {
  std::string id;
  std::string organization_id;
  std::string key;
  std::string name;
  std::string description;
  /// The statements as a JSON array, exactly as accepted.
  std::string statements_json;
  timestamp created_at = 0;
  timestamp updated_at = 0;

  friend bool operator==(const policy_record&, const policy_record&) = default;
};

enum class token_type : std::uint8_t { personal, service };
enum class token_status : std::uint8_t {
  active,
  inactive,
  /// The creator left the organization; permanent.
  revoked,
};

struct token_record {
  std::string id;
  std::string organization_id;
  std::string name;
  token_type type = token_type::personal;
  token_status status = token_status::active;
  std::string creator_id;
  store::secret_hash secret_hash{};
  /// The first `secret_prefix_length` characters of the secret, for lists.
  std::string secret_prefix;
  /// Service token statements, or a personal token's scope (empty array: unscoped), as JSON.
  std::string permissions_json;
  timestamp created_at = 0;
  timestamp updated_at = 0;
  timestamp last_used_at = 0;
  /// When the token stops working, or 0 for never (SPEC §13).
  timestamp expires_at = 0;
  /// After a rotation with a grace period: the HMAC of the secret it replaced, which works until
  /// `previous_valid_until`; 0 there when there is none.
  store::secret_hash previous_secret_hash{};
  timestamp previous_valid_until = 0;

  friend bool operator==(const token_record&, const token_record&) = default;
};

/// One change; a commit applies a list of them atomically. `put_*` inserts or replaces by id.
struct put_organization {
  organization_record record;
};
struct put_member {
  member_record record;
};
struct erase_member {
  std::string id;
};
struct put_group {
  group_record record;
};
struct erase_group {
  std::string id;
};
struct put_policy {
  policy_record record;
};
struct erase_policy {
  std::string id;
};
struct put_token {
  token_record record;
};
struct erase_token {
  std::string id;
};
/// Records when a token was last used, without touching anything else.
struct touch_token {
  std::string id;
  timestamp last_used_at = 0;
};

/// One entry of an organization's audit trail (SPEC §13): a change to its tokens, members,
/// groups or policies, or a refused attempt at one. Never holds a secret.
struct audit_record {
  /// Given by the store, growing with every record and never reused; 0 in a record to append.
  std::int64_t id = 0;
  std::string organization_id;
  timestamp at = 0;
  /// "member", "personal-token", "service-token", or "system" for a local command.
  std::string actor_kind;
  std::string actor_id;
  /// The member the actor acts for: the member itself, or a token's creator; empty for system.
  std::string actor_member_id;
  /// What was done or attempted, such as "token.rotate".
  std::string type;
  std::string target_id;
  /// The attempt was refused (HTTP 403) and changed nothing.
  bool denied = false;
  /// A JSON object: what the target was before and is after, or why the attempt was refused.
  std::string summary_json;

  friend bool operator==(const audit_record&, const audit_record&) = default;
};
/// Appends `record` to the audit trail, in the same transaction as the change it records.
struct append_audit {
  audit_record record;
};

using change =
    std::variant<put_organization, put_member, erase_member, put_group, erase_group, put_policy,
                 erase_policy, put_token, erase_token, touch_token, append_audit>;

/// Which audit records to read. Empty strings and zero times match anything.
struct audit_query {
  std::string organization_id;
  /// The actor, or the member an access token acted for.
  std::string actor_id;
  std::string target_id;
  /// A type ("token.rotate"), or a topic that matches every type it begins ("token").
  std::string type;
  /// At or after `from`, before `to`.
  timestamp from = 0;
  timestamp to = 0;
  std::size_t page_index = 0;
  std::size_t page_size = 20;
};

/// One page of audit records, newest first, and how many match in all.
struct audit_page {
  std::size_t total_count = 0;
  std::vector<audit_record> items;
};

/// The built-in policy documents (as JSON, each in the shape of a policy file) that the instances
/// of a shared store use (SPEC §12): each reload publishes a new generation, and the newest wins.
struct builtin_generation {
  std::int64_t generation = 0;
  std::vector<std::string> documents;

  friend bool operator==(const builtin_generation&, const builtin_generation&) = default;
};

/// Everything a store holds, as loaded at start.
struct stored_state {
  std::vector<organization_record> organizations;
  std::vector<member_record> members;
  std::vector<group_record> groups;
  std::vector<policy_record> policies;
  std::vector<token_record> tokens;
  /// The id of the newest change-log entry the loaded state includes (SPEC §12); 0 for a store
  /// without a change log.
  std::int64_t change_id = 0;
  /// The newest built-in generation of a shared store, when one was published.
  std::optional<builtin_generation> builtins;
};

/// What was committed to a shared store since an instance last looked (SPEC §12).
/// Each change names a record as it is now: `put_*` with its current row, or `erase_*` when it is
/// gone, read in one snapshot of the database, so that applying them in order leaves memory as
/// that snapshot was. Never holds `touch_token` or `append_audit`.
struct change_batch {
  /// The id of the newest entry the batch includes: where the next read goes on from.
  std::int64_t last_id = 0;
  std::vector<change> changes;
  /// The entries after the id asked for have been pruned: reload everything instead.
  bool too_old = false;
  /// The newest built-in generation, when an entry of the batch published one.
  std::optional<builtin_generation> builtins;
};

}  // namespace gatehouse::store
