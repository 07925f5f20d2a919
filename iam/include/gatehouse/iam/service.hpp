// The IAM service: organizations, members, groups, policies and API access tokens, with the
// compiled rights of every caller kept in immutable snapshots that decisions read without locks.
#pragma once

#include <gatehouse/engine/compiled_policy.hpp>
#include <gatehouse/engine/containment.hpp>
#include <gatehouse/iam/errors.hpp>
#include <gatehouse/iam/secrets.hpp>
#include <gatehouse/policy/statement.hpp>
#include <gatehouse/store/database.hpp>
#include <gatehouse/store/records.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace gatehouse::iam {

/// Limits on everything callers can grow, beside the statement limits of policy/limits.hpp.
struct limits {
  std::size_t max_name_length = 128;
  std::size_t max_description_length = 1024;
  std::size_t max_tokens_per_organization = 100'000;
  std::size_t max_members_per_organization = 100'000;
  std::size_t max_groups_per_organization = 10'000;
  std::size_t max_policies_per_organization = 10'000;
  std::size_t max_page_size = 100;
};

/// What the service tells its host about itself; each callback may be empty.
struct hooks {
  /// One line for the operator's log, never a secret: e.g. a stored statement that does not
  /// compile and fails closed.
  std::function<void(std::string_view)> log;
  /// The time in milliseconds since the epoch; the system clock when empty. Tests set it to
  /// decide expiry without waiting.
  std::function<store::timestamp()> clock;
};

enum class subject_kind : std::uint8_t { member, personal_token, service_token };

/// "member", "personal-token" or "service-token".
[[nodiscard]] std::string_view to_string(subject_kind k) noexcept;

/// "Personal" or "Service", as FeatBit names them.
[[nodiscard]] std::string_view to_string(store::token_type t) noexcept;
/// "Active", "Inactive" or "Revoked": the stored status, which expiry does not change.
[[nodiscard]] std::string_view to_string(store::token_status s) noexcept;

/// The types of audit record (SPEC §13): `topic.verb`, where the topic is what the target is.
namespace audit_type {
inline constexpr std::string_view organization_create = "organization.create";
inline constexpr std::string_view member_add = "member.add";
inline constexpr std::string_view member_remove = "member.remove";
inline constexpr std::string_view member_attach_policy = "member.attach-policy";
inline constexpr std::string_view member_detach_policy = "member.detach-policy";
inline constexpr std::string_view group_create = "group.create";
inline constexpr std::string_view group_delete = "group.delete";
inline constexpr std::string_view group_add_member = "group.add-member";
inline constexpr std::string_view group_remove_member = "group.remove-member";
inline constexpr std::string_view group_attach_policy = "group.attach-policy";
inline constexpr std::string_view group_detach_policy = "group.detach-policy";
inline constexpr std::string_view policy_create = "policy.create";
inline constexpr std::string_view policy_set_statements = "policy.set-statements";
inline constexpr std::string_view policy_delete = "policy.delete";
inline constexpr std::string_view token_create = "token.create";
inline constexpr std::string_view token_rename = "token.rename";
inline constexpr std::string_view token_toggle = "token.toggle";
inline constexpr std::string_view token_rotate = "token.rotate";
inline constexpr std::string_view token_delete = "token.delete";
/// A personal token revoked because its creator left the organization.
inline constexpr std::string_view token_revoke = "token.revoke";
}  // namespace audit_type

/// Every audit type, in the order above.
[[nodiscard]] std::span<const std::string_view> audit_types() noexcept;

/// Whether `filter` is an audit type or the topic of some ("token"), as audit queries take it.
[[nodiscard]] bool is_audit_type_filter(std::string_view filter) noexcept;

/// How long the audit trail keeps a record unless told otherwise: 365 days (SPEC §13).
inline constexpr std::int64_t default_audit_retention_days = 365;

/// An authenticated caller and what it may do. A personal token acts with its creator's current
/// rights, narrowed by its scope when it has one. Holding a caller keeps its compiled rights
/// alive; a later change to policies affects the next authentication, not this one.
struct caller {
  subject_kind kind = subject_kind::member;
  /// The member id, or the token id.
  std::string id;
  std::string organization_id;
  /// The member the rights come from: the caller itself, or a personal token's creator.
  std::string member_id;
  std::shared_ptr<const engine::compiled_policy> rights;
  std::shared_ptr<const engine::compiled_policy> scope;
};

struct grantable_actions {
  std::string resource_type;
  std::vector<std::string> actions;
};

struct statement_ref {
  std::string policy_id;
  std::string statement_id;
};

struct decision_result {
  engine::decision decision = engine::decision::implicit_deny;
  std::vector<statement_ref> statements;
  [[nodiscard]] bool allowed() const noexcept { return decision == engine::decision::allow; }
};

/// A token as shown to callers: its record (whose `permissions_json` is what the store keeps),
/// its permissions as statements, and its secret, set only in the answer to its creation.
struct token_view {
  store::token_record record;
  /// Past its `expires_at` when the view was made: it authenticates no more (SPEC §13).
  bool expired = false;
  std::vector<policy::statement> permissions;
  std::optional<std::string> secret;
  /// The creator's e-mail address; empty once the creator has left the organization.
  std::string creator_email;
};

/// The longest grace period a rotation may give the replaced secret: a week (SPEC §13).
inline constexpr std::uint32_t max_rotation_grace_seconds = 604'800;

/// What a token list may be filtered on: an expired token is Expired whatever its active flag,
/// and a revoked one is none of the three.
enum class token_list_status : std::uint8_t { active, inactive, expired };

struct token_query {
  std::string name{};  // substring, case-insensitive; empty: any
  std::optional<store::token_type> type{};
  std::optional<token_list_status> status{};
  std::string creator_id{};
  std::size_t page_index = 0;
  std::size_t page_size = 10;
};

struct token_page {
  std::size_t total_count = 0;
  std::vector<token_view> items;
};

/// Where a policy comes from: built in (read-only, shared by every organization), written by an
/// organization, or an access token's own statements (as `own_policies` shows them to a token).
enum class policy_kind : std::uint8_t { sys_managed, customer_managed, access_token };

/// "SysManaged", "CustomerManaged" or "AccessToken".
[[nodiscard]] std::string_view to_string(policy_kind k) noexcept;

/// A policy as shown to callers: built-ins and the organization's own.
struct policy_view {
  std::string id;
  std::string key;
  std::string name;
  std::string description;
  policy_kind kind = policy_kind::customer_managed;
  std::vector<policy::statement> statements;
  /// Grows with every change of the statements (and every reload of the built-ins); a writer
  /// names the version it edited (HTTP `If-Match`) so that it cannot undo a change it never saw.
  std::uint64_t version = 0;
};

/// The versions of a policy a write may replace (HTTP `If-Match`): any when empty, otherwise
/// one of `accepted` (an empty list accepts none).
using version_match = std::optional<std::vector<std::uint64_t>>;

/// What replacing a policy's statements would change (SPEC §11), computed without changing it.
struct policy_preview {
  /// Per action whose grants grow, one request the new statements allow and the old do not,
  /// in catalogue order; `removed` the other way round.
  std::vector<engine::request> added;
  std::vector<engine::request> removed;
  /// Who holds the policy: members (directly or through a group, each once), groups, and the
  /// personal tokens of those members that are not revoked, which act with their rights.
  std::size_t members = 0;
  std::size_t groups = 0;
  std::size_t personal_tokens = 0;
  /// The version compared with.
  std::uint64_t version = 0;
};

struct new_member {
  std::string email;
  std::vector<std::string> policy_ids;
  std::vector<std::string> group_ids;
};

class service {
 public:
  /// Loads everything from `store`. `builtins` are the built-in policy documents (they must
  /// contain Owner, Administrator and Developer by id).
  [[nodiscard]] static outcome<std::unique_ptr<service>> open(
      std::unique_ptr<store::database> database, server_key token_key,
      std::vector<policy::policy_document> builtins, iam::limits limits = {},
      iam::hooks hooks = {});

  ~service();
  service(const service&) = delete;
  service& operator=(const service&) = delete;

  // ---- Authentication --------------------------------------------------------------------------

  /// A token secret (`api-…`): unknown or revoked -> unauthorized; inactive -> forbidden.
  [[nodiscard]] outcome<caller> authenticate_token(std::string_view secret) const;
  /// A member, already authenticated by the host (JWT verified): member must exist in
  /// `organization_id`.
  [[nodiscard]] outcome<caller> authenticate_member(std::string_view member_id,
                                                    std::string_view organization_id) const;
  /// The member with `email` in `organization_id`, for local tools (`gatehouse jwt`).
  [[nodiscard]] outcome<store::member_record> find_member_by_email(std::string_view organization_id,
                                                                   std::string_view email) const;

  // ---- Decisions -------------------------------------------------------------------------------

  /// May `who` do `action` on `resource`? Noexcept apart from building the statement list.
  [[nodiscard]] decision_result decide(const caller& who, std::string_view action,
                                       std::string_view resource) const;
  /// The decision alone; allocation-free.
  [[nodiscard]] engine::decision decide_only(const caller& who, std::string_view action,
                                             std::string_view resource) const noexcept;

  // ---- Organizations (bootstrap; no HTTP route) ------------------------------------------------

  /// Creates an organization and its first member, who gets Owner.
  [[nodiscard]] outcome<std::pair<store::organization_record, store::member_record>>
  create_organization(std::string name, std::string owner_email);
  [[nodiscard]] std::optional<store::organization_record> find_organization_by_name(
      std::string_view name) const;

  // ---- Members (need CanManageIAM on iam/*) ----------------------------------------------------

  [[nodiscard]] outcome<std::vector<store::member_record>> list_members(const caller& who) const;
  [[nodiscard]] outcome<store::member_record> add_member(const caller& who, new_member m);
  /// Removes the member and revokes their personal tokens for good.
  [[nodiscard]] outcome<void> remove_member(const caller& who, std::string_view member_id);
  /// Attaches a policy to a member: the caller's rights must contain it.
  [[nodiscard]] outcome<store::member_record> attach_member_policy(const caller& who,
                                                                   std::string_view member_id,
                                                                   std::string_view policy_id);
  [[nodiscard]] outcome<store::member_record> detach_member_policy(const caller& who,
                                                                   std::string_view member_id,
                                                                   std::string_view policy_id);
  /// The member's effective policies (direct and through groups), each once.
  [[nodiscard]] outcome<std::vector<policy_view>> member_policies(const caller& who,
                                                                  std::string_view member_id) const;
  /// The caller's own effective policies (no IAM right needed). A service token answers its own
  /// statements; a personal token its creator's policies and, when it has one, its scope (its
  /// rights are their intersection).
  [[nodiscard]] outcome<std::vector<policy_view>> own_policies(const caller& who) const;

  // ---- Groups (need CanManageIAM on iam/*) -----------------------------------------------------

  [[nodiscard]] outcome<std::vector<store::group_record>> list_groups(const caller& who) const;
  [[nodiscard]] outcome<store::group_record> create_group(const caller& who, std::string name,
                                                          std::string description);
  /// Adds a member to a group: the caller's rights must contain the group's policies.
  [[nodiscard]] outcome<store::group_record> add_group_member(const caller& who,
                                                              std::string_view group_id,
                                                              std::string_view member_id);
  [[nodiscard]] outcome<store::group_record> remove_group_member(const caller& who,
                                                                 std::string_view group_id,
                                                                 std::string_view member_id);
  /// Attaches a policy to a group: the caller's rights must contain it.
  [[nodiscard]] outcome<store::group_record> attach_group_policy(const caller& who,
                                                                 std::string_view group_id,
                                                                 std::string_view policy_id);
  [[nodiscard]] outcome<store::group_record> detach_group_policy(const caller& who,
                                                                 std::string_view group_id,
                                                                 std::string_view policy_id);
  [[nodiscard]] outcome<void> delete_group(const caller& who, std::string_view group_id);

  // ---- Policies (need CanManageIAM on iam/*) ---------------------------------------------------

  [[nodiscard]] outcome<std::vector<policy_view>> list_policies(const caller& who) const;
  [[nodiscard]] outcome<policy_view> get_policy(const caller& who,
                                                std::string_view policy_id) const;
  [[nodiscard]] outcome<policy_view> create_policy(const caller& who, std::string name,
                                                   std::string key, std::string description);
  /// Replaces a custom policy's statements, held to what validation holds a stored policy to,
  /// and capped at the caller's rights. A version that `expected` does not accept fails with
  /// `conflict`, naming the current one.
  [[nodiscard]] outcome<policy_view> set_policy_statements(
      const caller& who, std::string_view policy_id, std::vector<policy::statement> statements,
      const version_match& expected = {});
  /// What `set_policy_statements` would change, per action, and whom it would reach; changes
  /// nothing. Fails as that call would on statements that do not validate, a built-in policy or
  /// a stale version, and with `check_too_complex` when the comparison runs out of work.
  [[nodiscard]] outcome<policy_preview> preview_policy(const caller& who,
                                                       std::string_view policy_id,
                                                       std::vector<policy::statement> statements,
                                                       const version_match& expected = {}) const;
  [[nodiscard]] outcome<void> delete_policy(const caller& who, std::string_view policy_id);
  /// Swaps the built-in policies (SIGHUP reload). On a shared store they are published first as
  /// its newest generation, which every other instance adopts as it follows the change log. On
  /// failure the old set stays.
  [[nodiscard]] outcome<void> replace_builtins(std::vector<policy::policy_document> builtins);
  /// On a shared store that holds no built-in policies yet, publishes this instance's as its
  /// first generation, which every instance then adopts (SPEC §12); else does nothing.
  [[nodiscard]] outcome<void> share_builtins();

  // ---- Access tokens (members only) ------------------------------------------------------------

  /// Per resource type of the catalogue, in its order, the actions the member is allowed on at
  /// least one resource name: what a service token could be given. Decided by the containment
  /// search, so a deny counts against an allow; when that search runs out of work, only the
  /// actions it proved are listed (fail closed).
  [[nodiscard]] outcome<std::vector<grantable_actions>> grantable(const caller& who) const;

  [[nodiscard]] outcome<token_page> list_tokens(const caller& who, const token_query& q) const;
  [[nodiscard]] outcome<bool> is_token_name_used(const caller& who, std::string_view name) const;
  /// Creates a token with `permissions` (empty for an unscoped personal token), held to a
  /// token's limits and capped at the creator's rights, that expires at `expires_at` (0:
  /// never; else it must be in the future). The result carries the secret, the only time it is
  /// ever shown.
  [[nodiscard]] outcome<token_view> create_token(const caller& who, std::string name,
                                                 store::token_type type,
                                                 std::vector<policy::statement> permissions,
                                                 store::timestamp expires_at = 0);
  /// What create_token would answer about `permissions`, without creating anything: whether
  /// the caller's rights contain them, and if not a request they allow and the caller may not
  /// make. Needs the manage action of `type`, as creating does.
  [[nodiscard]] outcome<engine::containment> check_token(
      const caller& who, store::token_type type, std::vector<policy::statement> permissions) const;
  [[nodiscard]] outcome<token_view> rename_token(const caller& who, std::string_view token_id,
                                                 std::string name);
  [[nodiscard]] outcome<token_view> toggle_token(const caller& who, std::string_view token_id);
  /// Gives the token a new secret, shown once in the result; the one it replaces keeps working
  /// for `grace_seconds` (at most `max_rotation_grace_seconds`; 0: not at all), and one replaced
  /// before stops at once. Same id, permissions, status and expiry. Needs the manage action and,
  /// as switching a token back on does, to be its creator or hold its rights (SPEC §10).
  [[nodiscard]] outcome<token_view> rotate_token(const caller& who, std::string_view token_id,
                                                 std::uint32_t grace_seconds);
  [[nodiscard]] outcome<void> delete_token(const caller& who, std::string_view token_id);

  // ---- Audit trail (SPEC §13) -------------------------------------------------------------------

  /// One page of the caller's organization's audit trail, newest first; needs CanManageIAM.
  /// `q.organization_id` is ignored; `q.type` must pass is_audit_type_filter when set.
  [[nodiscard]] outcome<store::audit_page> audit_log(const caller& who, store::audit_query q) const;
  /// Records that `who` was refused (HTTP 403) an attempt of `type` at `target_id`, for
  /// `reason`. Nothing changed, so this is a transaction of its own. A caller's refusals beyond
  /// a few a minute are counted, not recorded, so that nobody can grow the trail at will; a store
  /// that fails is logged, never answered.
  void record_refusal(const caller& who, std::string_view type, std::string_view target_id,
                      std::string_view reason);
  /// Refusals not recorded because their caller was over the limit, since the service opened.
  [[nodiscard]] std::uint64_t refusals_not_recorded() const noexcept;
  /// Deletes the audit records older than `retention_days` days; answers how many.
  [[nodiscard]] outcome<std::size_t> prune_audit_log(std::int64_t retention_days);

  /// Writes the batched last-used times to the store. Called periodically and at shutdown.
  [[nodiscard]] boost::system::error_code flush_last_used();

  // ---- Several instances on one store (SPEC §12) ------------------------------------------------

  /// Waits up to `wait` for another instance to commit, then applies to memory, in order, every
  /// change the store's change log holds after the last one applied: the same snapshots local
  /// changes update. Reads the log whether or not a notification came, so that a lost one costs
  /// one wait at most; reloads everything when the log no longer reaches back far enough.
  /// Answers how many changes were applied; on a store failure nothing is applied, the failure is
  /// answered (errc::storage_failure), and the next call catches up. One caller at a time.
  [[nodiscard]] outcome<std::size_t> follow_changes(std::chrono::milliseconds wait);
  /// The id of the newest change-log entry memory includes; 0 for a store without a log.
  [[nodiscard]] std::int64_t applied_change_id() const noexcept;

  /// The limits the service was opened with.
  [[nodiscard]] const iam::limits& limits() const noexcept;

  /// Counts for metrics, kept up to date on every change: reading them takes no lock.
  struct token_counts {
    std::size_t active = 0;
    std::size_t inactive = 0;
    std::size_t revoked = 0;
  };
  [[nodiscard]] token_counts count_tokens() const noexcept;
  /// Stored statements that did not compile and failed closed, since the service opened.
  [[nodiscard]] std::uint64_t statements_failed_closed() const noexcept;

  struct state;

 private:
  explicit service(std::unique_ptr<state> s);
  std::unique_ptr<state> state_;
};

}  // namespace gatehouse::iam
