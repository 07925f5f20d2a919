// The shape every edit of one member or group takes (checked, applied to a copy, committed,
// published), and the edits that members and groups share: attaching and detaching a policy.
#pragma once

#include <gatehouse/iam/service.hpp>
#include <gatehouse/store/records.hpp>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "audit.hpp"
#include "checks.hpp"
#include "directory.hpp"
#include "state.hpp"

namespace gatehouse::iam {

inline void append_unique(std::vector<std::string>& ids, std::string_view id) {
  if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.emplace_back(id);
}

/// The store change that files `r`.
inline store::change put_change(store::member_record r) { return store::put_member{std::move(r)}; }
inline store::change put_change(store::group_record r) { return store::put_group{std::move(r)}; }

/// What an audit record says of a member or a group before and after an edit: what it is
/// called too, so that the record names it after it is gone.
inline audit_summary& describe(audit_summary& s, const store::member_record& m) {
  return s.field("email", m.email).field("policyIds", m.policy_ids);
}
inline audit_summary& describe(audit_summary& s, const store::group_record& g) {
  return s.field("name", g.name)
      .field("members", std::ssize(g.member_ids))
      .field("policyIds", g.policy_ids);
}

/// Applies `edit` to a copy of the record `id` in the `records` of the caller's organization and
/// stores it with its audit record of `type`, whose `summary` names what the edit is about (the
/// policy, the member); `what` names the record when there is none. Needs CanManageIAM.
template <class Record, class Edit>
outcome<Record> edit_record(const service& s, service::state& st, const caller& who,
                            cow_map<Record> directory::*records, std::string_view what,
                            std::string_view id, std::string_view type, audit_summary& summary,
                            Edit&& edit) {
  if (auto ok = require(s, who, manage_iam, iam_resource); !ok) return ok.error();
  return st.mutate([&](directory& d, std::vector<store::change>& changes) -> outcome<Record> {
    const auto* found = d.find(d.*records, id, who.organization_id);
    if (!found) return failure(errc::not_found, std::string(what));
    auto changed = *found;
    if (auto ok = edit(d, changed); !ok) return ok.error();
    describe(summary.section("before"), *found);
    describe(summary.section("after"), changed);
    changes.push_back(put_change(changed));
    changes.push_back(audit_change(who, st.now(), type, changed.id, summary.json()));
    put(d.*records, changed);
    return changed;
  });
}

/// The edit that attaches policy `policy_id` to a member or a group: its holders get the policy's
/// rights, so the caller grants them and must hold them.
inline auto attaching(service::state& st, const caller& who, std::string_view policy_id) {
  return [&st, &who, policy_id](directory& d, auto& holder) -> outcome<void> {
    if (auto ok = require_policy(d, who, policy_id); !ok) return ok;
    if (auto ok = st.holds(who, d, {std::string(policy_id)}, "the policy"); !ok) return ok;
    append_unique(holder.policy_ids, policy_id);
    return {};
  };
}

/// The edit that detaches policy `policy_id` from a member or a group.
inline auto detaching(const caller& who, std::string_view policy_id) {
  return [&who, policy_id](directory& d, auto& holder) -> outcome<void> {
    if (auto ok = require_policy(d, who, policy_id); !ok) return ok;
    std::erase(holder.policy_ids, policy_id);
    return {};
  };
}

}  // namespace gatehouse::iam
