// The directory: one immutable snapshot of organizations, members, groups and policies, with the
// indexes derived from them (every member's groups and compiled rights, members by email, owners,
// counts per organization). Edits go to a copy, and `derive` brings the copy's indexes up to date.
#pragma once

#include <gatehouse/engine/compiled_policy.hpp>
#include <gatehouse/iam/service.hpp>
#include <gatehouse/policy/statement.hpp>
#include <gatehouse/store/records.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "cow_map.hpp"
#include "statement_cache.hpp"

namespace gatehouse::iam {

/// The right that makes a member an IAM manager, and with Owner an owner (SPEC §10).
inline constexpr std::string_view manage_iam = "CanManageIAM";
inline constexpr std::string_view iam_resource = "iam/*";

/// The scanning globs of `statements` (policy/limits.hpp); those of resourceType "*" are never
/// compiled and do not count.
[[nodiscard]] std::size_t scanning_globs_of(const std::vector<policy::statement>& statements);

struct policy_entry {
  policy_view view;
  std::string organization_id;  // empty for built-ins
  store::timestamp created_at = 0;
  store::timestamp updated_at = 0;
  /// Of `view.statements`; set with them.
  std::size_t scanning_globs = 0;

  void set_statements(std::vector<policy::statement> statements) {
    scanning_globs = scanning_globs_of(statements);
    view.statements = std::move(statements);
  }

  [[nodiscard]] bool builtin() const noexcept { return organization_id.empty(); }
  [[nodiscard]] store::policy_record record() const;
  [[nodiscard]] std::string statements_json() const;
};

/// The entry of a built-in policy document, at generation 0.
[[nodiscard]] policy_entry builtin_entry(const policy::policy_document& doc);

/// Per organization: how many members, groups, policies and owners it has, for the limits.
struct organization_tally {
  std::size_t members = 0;
  std::size_t groups = 0;
  std::size_t policies = 0;
  /// Members who hold Owner and may manage IAM.
  std::size_t owners = 0;
};

/// Compiled rights by policy-set key ("id@generation|..."), shared by every member with the same
/// effective policies.
using rights_cache = weak_cache<engine::compiled_policy>;

/// The key under which a member's email is unique within its organization: names are unique
/// per organization case-insensitively, compared as FeatBit does.
[[nodiscard]] std::string email_key(std::string_view organization_id, std::string_view email);

/// One immutable snapshot of who is who. Edits go to a copy; the maps share unchanged storage
/// with the snapshot they were copied from, and `derive` brings the derived indexes up to date
/// by looking only at what the edit changed.
struct directory {
  cow_map<store::organization_record> organizations;
  cow_map<store::member_record> members;
  cow_map<store::group_record> groups;
  cow_map<policy_entry> policies;  // built-ins and every organization's own
  // Derived by `derive`:
  cow_map<std::vector<std::string>> member_groups;              // member id -> group ids
  cow_map<engine::compiled_policy> rights;                      // member id -> compiled rights
  cow_map<store::member_record> members_by_email;               // email_key -> member
  cow_map<std::string> owners;                                  // owner's member id -> org id
  std::unordered_map<std::string, organization_tally> tallies;  // organization id -> counts

  /// What `derive` found that the change must not do.
  struct derive_report {
    /// Members who would hold more effective statements or scanning globs than allowed.
    std::vector<std::string> over_member_limits;
    /// Organizations that had an owner before the change and have none after it.
    std::vector<std::string> without_owner;
  };

  /// The entry `id` of `map` as organization `organization_id` sees it: its own, and built-in
  /// policies; nullptr for anything else.
  template <class T>
  [[nodiscard]] const T* find(const cow_map<T>& map, std::string_view id,
                              std::string_view organization_id) const {
    const T* found = map.find(id);
    if (found == nullptr) return nullptr;
    if constexpr (std::is_same_v<T, policy_entry>) {
      if (!found->builtin() && found->organization_id != organization_id) return nullptr;
    } else if constexpr (!std::is_same_v<T, store::organization_record>) {
      if (found->organization_id != organization_id) return nullptr;
    }
    return found;
  }

  [[nodiscard]] organization_tally tally(const std::string& organization_id) const {
    const auto it = tallies.find(organization_id);
    return it == tallies.end() ? organization_tally{} : it->second;
  }

  /// The member's effective policy ids: direct and through groups, each once, sorted.
  [[nodiscard]] std::vector<std::string> effective_policy_ids(const store::member_record& m) const;
  /// The e-mail address of member `member_id` of the organization; empty when there is none.
  [[nodiscard]] std::string email_of(std::string_view member_id,
                                     std::string_view organization_id) const;

  /// `ids` sorted, each once, without those that name no policy.
  [[nodiscard]] std::vector<std::string> known_policies(std::vector<std::string> ids) const;

  /// The statements of the policies `ids` (known, sorted, unique), compiled; shared through
  /// `cache` by everyone who holds the same policies at the same generations.
  [[nodiscard]] std::shared_ptr<const engine::compiled_policy> compiled_policies(
      const std::vector<std::string>& ids, rights_cache& cache,
      const failure_reporter& report) const;

  /// Whether the policies `policy_ids` together stay within the limits of one member's
  /// effective statements and scanning globs.
  [[nodiscard]] bool within_member_limits(const std::vector<std::string>& policy_ids) const;

  /// Brings the derived indexes up to date after this copy of `previous` was edited, or builds
  /// them when `previous` is empty. Only members whose effective policies may have changed get
  /// their rights looked up again: the edited members, the members who joined or left a group,
  /// every member of a group whose policies changed, and the holders of edited or deleted
  /// policies.
  derive_report derive(const directory& previous, rights_cache& cache,
                       const failure_reporter& report);

 private:
  /// Looks up the rights and owner status of member `id` again (or drops them once it is gone).
  void rederive_member(const std::string& id, rights_cache& cache, const failure_reporter& report,
                       derive_report& out, std::unordered_set<std::string>& owners_changed);
  void derive_groups(const directory& previous, std::unordered_set<std::string>& affected);
  void derive_members(const directory& previous, std::unordered_set<std::string>& affected);
  void derive_policies(const directory& previous, std::unordered_set<std::string>& affected);
  void set_member_group(const std::string& member_id, const std::string& group_id, bool in);
};

/// The records of `map` that belong to organization `organization_id`, oldest first.
template <class T>
[[nodiscard]] std::vector<T> organization_records(const cow_map<T>& map,
                                                  std::string_view organization_id) {
  std::vector<T> out;
  map.for_each([&](const std::string&, const T& r) {
    if (r.organization_id == organization_id) out.push_back(r);
  });
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.created_at < b.created_at; });
  return out;
}

/// Files `record` under its own id. The value is made before the key is read: in
/// `map.set(r.id, make(std::move(r)))` the id could be read after it was moved from.
template <class T>
void put(cow_map<T>& map, T record) {
  const auto value = std::make_shared<const T>(std::move(record));
  if constexpr (std::is_same_v<T, policy_entry>) {
    map.set(value->view.id, value);
  } else {
    map.set(value->id, value);
  }
}

}  // namespace gatehouse::iam
