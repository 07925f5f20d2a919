// Groups: creating and deleting them, their members and their policies. A member gets the
// policies of every group it is in, so adding one is granting them.
#include <gatehouse/iam/service.hpp>

#include <gatehouse/policy/text.hpp>

#include "audit.hpp"
#include "checks.hpp"
#include "directory.hpp"
#include "ids.hpp"
#include "record_edits.hpp"
#include "state.hpp"

namespace gatehouse::iam {

outcome<std::vector<store::group_record>> service::list_groups(const caller& who) const {
  if (auto ok = require(*this, who, manage_iam, iam_resource); !ok) return ok.error();
  return organization_records(state_->snapshot()->groups, who.organization_id);
}

outcome<store::group_record> service::create_group(const caller& who, std::string name,
                                                   std::string description) {
  if (auto ok = require(*this, who, manage_iam, iam_resource); !ok) return ok.error();
  if (auto ok = check_name(name, field::name, state_->limits.max_name_length); !ok)
    return ok.error();
  if (description.size() > state_->limits.max_description_length) {
    return failure(errc::field_invalid, field::description);
  }
  auto id = new_id();
  if (!id) return id.error();
  return state_->mutate([&](directory& d,
                            std::vector<store::change>& changes) -> outcome<store::group_record> {
    if (d.tally(who.organization_id).groups >= state_->limits.max_groups_per_organization) {
      return failure(errc::limit_exceeded, "groups per organization");
    }
    bool name_used = false;
    d.groups.for_each([&](const std::string&, const store::group_record& g) {
      name_used = name_used ||
                  (g.organization_id == who.organization_id && policy::equal_folded(g.name, name));
    });
    if (name_used) return failure(errc::name_used, "name");
    store::group_record g{*id, who.organization_id, name, description, {}, {}, state_->now()};
    changes.push_back(store::put_group{g});
    changes.push_back(audit_change(who, g.created_at, audit_type::group_create, g.id,
                                   audit_summary()
                                       .section("after")
                                       .field("name", g.name)
                                       .field("description", g.description)
                                       .json()));
    put(d.groups, g);
    return g;
  });
}

outcome<store::group_record> service::add_group_member(const caller& who, std::string_view group_id,
                                                       std::string_view member_id) {
  audit_summary summary;
  summary.field("memberId", member_id);
  return edit_record(
      *this, *state_, who, &directory::groups, "group", group_id, audit_type::group_add_member,
      summary, [&](directory& d, store::group_record& g) -> outcome<void> {
        if (!d.find(d.members, member_id, who.organization_id)) {
          return failure(errc::not_found, "member");
        }
        // The member gets the group's rights: the caller grants them.
        if (auto ok = state_->holds(who, d, d.known_policies(g.policy_ids), "the group's rights");
            !ok) {
          return ok;
        }
        append_unique(g.member_ids, member_id);
        return {};
      });
}

outcome<store::group_record> service::remove_group_member(const caller& who,
                                                          std::string_view group_id,
                                                          std::string_view member_id) {
  audit_summary summary;
  summary.field("memberId", member_id);
  return edit_record(*this, *state_, who, &directory::groups, "group", group_id,
                     audit_type::group_remove_member, summary,
                     [&](directory& d, store::group_record& g) -> outcome<void> {
                       if (!d.find(d.members, member_id, who.organization_id)) {
                         return failure(errc::not_found, "member");
                       }
                       std::erase(g.member_ids, member_id);
                       return {};
                     });
}

outcome<store::group_record> service::attach_group_policy(const caller& who,
                                                          std::string_view group_id,
                                                          std::string_view policy_id) {
  audit_summary summary;
  summary.field("policyId", policy_id);
  return edit_record(*this, *state_, who, &directory::groups, "group", group_id,
                     audit_type::group_attach_policy, summary, attaching(*state_, who, policy_id));
}

outcome<store::group_record> service::detach_group_policy(const caller& who,
                                                          std::string_view group_id,
                                                          std::string_view policy_id) {
  audit_summary summary;
  summary.field("policyId", policy_id);
  return edit_record(*this, *state_, who, &directory::groups, "group", group_id,
                     audit_type::group_detach_policy, summary, detaching(who, policy_id));
}

outcome<void> service::delete_group(const caller& who, std::string_view group_id) {
  if (auto ok = require(*this, who, manage_iam, iam_resource); !ok) return ok.error();
  return state_->mutate([&](directory& d, std::vector<store::change>& changes) -> outcome<void> {
    const auto* group = d.find(d.groups, group_id, who.organization_id);
    if (!group) return failure(errc::not_found, "group");
    const std::string id = group->id;
    audit_summary summary;
    describe(summary.section("before"), *group);
    changes.push_back(
        audit_change(who, state_->now(), audit_type::group_delete, id, summary.json()));
    d.groups.erase(id);
    changes.push_back(store::erase_group{id});
    return {};
  });
}

}  // namespace gatehouse::iam
