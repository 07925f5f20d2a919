// Organizations and their members: creating an organization with its owner, adding and removing
// members (a removed member's personal tokens are revoked in the same commit), their policies.
#include <gatehouse/iam/builtins.hpp>
#include <gatehouse/iam/service.hpp>

#include <algorithm>
#include <iterator>
#include <mutex>
#include <shared_mutex>

#include "audit.hpp"
#include "checks.hpp"
#include "directory.hpp"
#include "ids.hpp"
#include "record_edits.hpp"
#include "state.hpp"
#include "token_index.hpp"

namespace gatehouse::iam {

// ---- Organizations ---------------------------------------------------------------------------

outcome<std::pair<store::organization_record, store::member_record>> service::create_organization(
    std::string name, std::string owner_email) {
  if (auto ok = check_name(name, field::name, state_->limits.max_name_length); !ok)
    return ok.error();
  if (auto ok = check_name(owner_email, field::email, state_->limits.max_name_length); !ok) {
    return ok.error();
  }
  if (find_organization_by_name(name)) return failure(errc::name_used, "name");
  auto org_id = new_id();
  auto member_id = new_id();
  if (!org_id || !member_id) return failure(errc::randomness_unavailable, "no random ids");
  const auto now = state_->now();
  store::organization_record org{*org_id, std::move(name), {std::string(developer_policy_id)}, now};
  store::member_record owner{
      *member_id, *org_id, std::move(owner_email), {std::string(owner_policy_id)}, now};
  auto done =
      state_->mutate([&](directory& d, std::vector<store::change>& changes)
                         -> outcome<std::pair<store::organization_record, store::member_record>> {
        put(d.organizations, org);
        put(d.members, owner);
        changes.push_back(store::put_organization{org});
        changes.push_back(store::put_member{owner});
        changes.push_back(
            system_audit_change(org.id, now, audit_type::organization_create, org.id,
                                audit_summary().section("after").field("name", org.name).json()));
        audit_summary summary;
        describe(summary.section("after"), owner);
        changes.push_back(
            system_audit_change(org.id, now, audit_type::member_add, owner.id, summary.json()));
        return std::pair{org, owner};
      });
  return done;
}

std::optional<store::organization_record> service::find_organization_by_name(
    std::string_view name) const {
  const auto dir = state_->snapshot();
  std::optional<store::organization_record> found;
  dir->organizations.for_each([&](const std::string&, const store::organization_record& o) {
    if (o.name == name) found = o;
  });
  return found;
}

// ---- Members -----------------------------------------------------------------------------------

outcome<std::vector<store::member_record>> service::list_members(const caller& who) const {
  if (auto ok = require(*this, who, manage_iam, iam_resource); !ok) return ok.error();
  return organization_records(state_->snapshot()->members, who.organization_id);
}

namespace {

/// Fails unless `m` can join the caller's organization as it is in `d`: room for one more, a new
/// email, and policies and groups of its own.
outcome<void> check_new_member(const directory& d, const caller& who, const new_member& m,
                               const iam::limits& limits) {
  if (d.tally(who.organization_id).members >= limits.max_members_per_organization) {
    return failure(errc::limit_exceeded, "members per organization");
  }
  if (d.members_by_email.contains(email_key(who.organization_id, m.email))) {
    return failure(errc::conflict, "a member with this email exists");
  }
  for (const auto& p : m.policy_ids) {
    if (!d.find(d.policies, p, who.organization_id)) {
      return failure(errc::field_invalid, field::policy_ids);
    }
  }
  for (const auto& g : m.group_ids) {
    if (!d.find(d.groups, g, who.organization_id)) {
      return failure(errc::field_invalid, field::group_ids);
    }
  }
  return {};
}

/// The record of new member `m`: its policies, or the organization's defaults when it is given
/// neither policies nor groups.
store::member_record new_member_record(const directory& d, const caller& who, std::string id,
                                       const new_member& m, store::timestamp now) {
  store::member_record record{std::move(id), who.organization_id, m.email, {}, now};
  for (const auto& p : m.policy_ids) append_unique(record.policy_ids, p);
  if (m.policy_ids.empty() && m.group_ids.empty()) {
    record.policy_ids = d.organizations.at(who.organization_id).default_policy_ids;
  }
  return record;
}

/// The policies `record` gets directly and through `group_ids`.
std::vector<std::string> granted_policies(const directory& d, const store::member_record& record,
                                          const std::vector<std::string>& group_ids) {
  std::vector<std::string> granted = record.policy_ids;
  for (const auto& g : group_ids) {
    const auto& group_policies = d.groups.at(g).policy_ids;
    granted.insert(granted.end(), group_policies.begin(), group_policies.end());
  }
  return d.known_policies(std::move(granted));
}

/// Files member `id` in `group_ids` (or out of every group it is in, with `join` false).
void set_groups(directory& d, const std::string& id, const std::vector<std::string>& group_ids,
                bool join, std::vector<store::change>& changes) {
  for (const auto& g : group_ids) {
    auto group = d.groups.at(g);
    if (join) {
      append_unique(group.member_ids, id);
    } else {
      std::erase(group.member_ids, id);
    }
    changes.push_back(store::put_group{group});
    put(d.groups, std::move(group));
  }
}

}  // namespace

outcome<store::member_record> service::add_member(const caller& who, new_member m) {
  if (auto ok = require(*this, who, manage_iam, iam_resource); !ok) return ok.error();
  if (auto ok = check_name(m.email, field::email, state_->limits.max_name_length); !ok) {
    return ok.error();
  }
  if (m.email.find('@') == std::string::npos) return failure(errc::field_invalid, field::email);
  auto id = new_id();
  if (!id) return id.error();
  return state_->mutate([&](directory& d,
                            std::vector<store::change>& changes) -> outcome<store::member_record> {
    if (auto ok = check_new_member(d, who, m, state_->limits); !ok) return ok.error();
    auto record = new_member_record(d, who, *id, m, state_->now());
    // The new member's rights are granted by the caller, and capped at the caller's own.
    if (auto ok =
            state_->holds(who, d, granted_policies(d, record, m.group_ids), "the member's rights");
        !ok) {
      return ok.error();
    }
    set_groups(d, record.id, m.group_ids, true, changes);
    changes.insert(changes.begin(), store::put_member{record});
    audit_summary summary;
    describe(summary.section("after"), record).field("groupIds", m.group_ids);
    changes.push_back(
        audit_change(who, record.created_at, audit_type::member_add, record.id, summary.json()));
    put(d.members, record);
    return record;
  });
}

namespace {

/// Revokes the personal tokens of member `id` that are not revoked yet, on behalf of `who`:
/// their changes and audit records go to `changes`, their new entries to `revoked`. Called with
/// `token_write` held.
void revoke_personal_tokens(const service::state& s, const caller& who, const std::string& id,
                            std::vector<store::change>& changes,
                            std::vector<token_entry>& revoked) {
  std::shared_lock lock(s.tokens_lock);
  const auto creator = s.pool.find(id);
  if (!creator) return;
  const auto [first, last] = s.tokens.get<by_creator>().equal_range(*creator);
  for (auto it = first; it != last; ++it) {
    if (it->type != store::token_type::personal || it->status == store::token_status::revoked)
      continue;
    token_entry t = *it;
    t.status = store::token_status::revoked;
    t.updated_at = s.now();
    auto record = to_record(t, s.pool);
    changes.push_back(audit_change(who, t.updated_at, audit_type::token_revoke, record.id,
                                   audit_summary()
                                       .field("reason", "its creator left the organization")
                                       .section("before")
                                       .field("name", t.name)
                                       .field("status", to_string(it->status))
                                       .section("after")
                                       .field("name", t.name)
                                       .field("status", to_string(t.status))
                                       .json()));
    changes.push_back(store::put_token{std::move(record)});
    revoked.push_back(std::move(t));
  }
}

}  // namespace

outcome<void> service::remove_member(const caller& who, std::string_view member_id) {
  if (auto ok = require(*this, who, manage_iam, iam_resource); !ok) return ok.error();
  // Token changes and the directory change commit together: a removed member's personal tokens
  // are revoked in the same transaction, so no crash can leave them usable.
  std::lock_guard token_guard(state_->token_write);
  std::vector<token_entry> revoked;
  auto done =
      state_->mutate([&](directory& d, std::vector<store::change>& changes) -> outcome<void> {
        const auto* member = d.find(d.members, member_id, who.organization_id);
        if (!member) return failure(errc::not_found, "member");
        const std::string id = member->id;
        std::vector<std::string> group_ids;
        if (const auto* groups = d.member_groups.find(id)) group_ids = *groups;
        audit_summary summary;
        describe(summary.section("before"), *member).field("groupIds", group_ids);
        changes.push_back(
            audit_change(who, state_->now(), audit_type::member_remove, id, summary.json()));
        set_groups(d, id, group_ids, false, changes);
        d.members.erase(id);
        changes.push_back(store::erase_member{id});
        revoke_personal_tokens(*state_, who, id, changes, revoked);
        return {};
      });
  if (!done) return done;
  std::unique_lock lock(state_->tokens_lock);
  for (auto& t : revoked) state_->replace_indexed(std::move(t));
  return {};
}

outcome<store::member_record> service::attach_member_policy(const caller& who,
                                                            std::string_view member_id,
                                                            std::string_view policy_id) {
  audit_summary summary;
  summary.field("policyId", policy_id);
  return edit_record(*this, *state_, who, &directory::members, "member", member_id,
                     audit_type::member_attach_policy, summary, attaching(*state_, who, policy_id));
}

outcome<store::member_record> service::detach_member_policy(const caller& who,
                                                            std::string_view member_id,
                                                            std::string_view policy_id) {
  audit_summary summary;
  summary.field("policyId", policy_id);
  return edit_record(*this, *state_, who, &directory::members, "member", member_id,
                     audit_type::member_detach_policy, summary, detaching(who, policy_id));
}

namespace {

std::vector<policy_view> views_of(const directory& d, const store::member_record& m) {
  std::vector<policy_view> out;
  for (const auto& id : d.effective_policy_ids(m)) out.push_back(d.policies.at(id).view);
  return out;
}

/// What a token may do itself, as a policy: a service token's statements, or a personal token's
/// scope (none when it has no scope). Never its creator's policies as if they were its own.
outcome<std::optional<policy_view>> token_policy(const service::state& s, const caller& who) {
  const auto id = parse_uuid(who.id);
  if (!id) return failure(errc::unauthorized);
  std::shared_lock lock(s.tokens_lock);
  const auto& index = s.tokens.get<by_id>();
  const auto it = index.find(*id);
  if (it == index.end()) return failure(errc::unauthorized);
  if (who.kind != subject_kind::service_token && it->permissions->statements.empty()) {
    return std::optional<policy_view>();
  }
  return std::optional<policy_view>(
      policy_view{std::string(token_policy_id), std::string(token_policy_id), it->name,
                  who.kind == subject_kind::service_token
                      ? "The statements of this service token"
                      : "The scope of this personal token, within its creator's policies",
                  policy_kind::access_token, it->permissions->statements});
}

}  // namespace

outcome<std::vector<policy_view>> service::member_policies(const caller& who,
                                                           std::string_view member_id) const {
  if (auto ok = require(*this, who, manage_iam, iam_resource); !ok) return ok.error();
  const auto dir = state_->snapshot();
  const auto* member = dir->find(dir->members, member_id, who.organization_id);
  if (!member) return failure(errc::not_found, "member");
  return views_of(*dir, *member);
}

outcome<std::vector<policy_view>> service::own_policies(const caller& who) const {
  std::vector<policy_view> out;
  if (who.kind != subject_kind::member) {
    auto own = token_policy(*state_, who);
    if (!own) return own.error();
    if (*own) out.push_back(std::move(**own));
    if (who.kind == subject_kind::service_token) return out;
  }
  const auto dir = state_->snapshot();
  const auto* member = dir->find(dir->members, who.member_id, who.organization_id);
  if (!member) return failure(errc::unauthorized);
  auto policies = views_of(*dir, *member);
  out.insert(out.end(), std::make_move_iterator(policies.begin()),
             std::make_move_iterator(policies.end()));
  return out;
}

}  // namespace gatehouse::iam
