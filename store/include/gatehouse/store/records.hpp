// The durable records of the identity model and of access tokens, as the store keeps them, and
// the changes the service commits to it.
#pragma once

#include <array>
#include <cstdint>
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

using change = std::variant<put_organization, put_member, erase_member, put_group, erase_group,
                            put_policy, erase_policy, put_token, erase_token, touch_token>;

/// Everything a store holds, as loaded at start.
struct stored_state {
  std::vector<organization_record> organizations;
  std::vector<member_record> members;
  std::vector<group_record> groups;
  std::vector<policy_record> policies;
  std::vector<token_record> tokens;
};

}  // namespace gatehouse::store
