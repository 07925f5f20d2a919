// The directory snapshot's queries, and `derive`, which brings its indexes up to date by looking
// only at what an edit changed.
#include "directory.hpp"

#include <gatehouse/iam/builtins.hpp>
#include <gatehouse/policy/document.hpp>
#include <gatehouse/policy/limits.hpp>
#include <gatehouse/policy/resource_name.hpp>
#include <gatehouse/policy/text.hpp>

#include <algorithm>

namespace gatehouse::iam {

std::size_t scanning_globs_of(const std::vector<policy::statement>& statements) {
  std::size_t n = 0;
  for (const auto& s : statements) {
    if (s.resource_type == "*") continue;
    for (const auto& r : s.resources) {
      if (const auto pattern = policy::parse_resource_pattern(r))
        n += policy::scanning_globs(*pattern);
    }
  }
  return n;
}

store::policy_record policy_entry::record() const {
  return {view.id,          organization_id,   view.key,   view.name,
          view.description, statements_json(), created_at, updated_at};
}

std::string policy_entry::statements_json() const { return policy::to_json(view.statements); }

policy_entry builtin_entry(const policy::policy_document& doc) {
  policy_entry e;
  e.view = {doc.id, doc.key, doc.name, doc.description, policy_kind::sys_managed, {}};
  e.set_statements(doc.statements);
  return e;
}

std::string email_key(std::string_view organization_id, std::string_view email) {
  std::string key(organization_id);
  key += '\n';
  for (char c : email) key += policy::fold_ascii(c);
  return key;
}

std::vector<std::string> directory::effective_policy_ids(const store::member_record& m) const {
  std::vector<std::string> ids = m.policy_ids;
  if (const auto* group_ids = member_groups.find(m.id)) {
    for (const auto& g : *group_ids) {
      const auto& group = groups.at(g);
      ids.insert(ids.end(), group.policy_ids.begin(), group.policy_ids.end());
    }
  }
  return known_policies(std::move(ids));
}

std::vector<std::string> directory::known_policies(std::vector<std::string> ids) const {
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  std::erase_if(ids, [&](const std::string& id) { return !policies.contains(id); });
  return ids;
}

std::shared_ptr<const engine::compiled_policy> directory::compiled_policies(
    const std::vector<std::string>& ids, rights_cache& cache,
    const failure_reporter& report) const {
  std::string key;
  for (const auto& p : ids) {
    key += p;
    key += '@';
    key += std::to_string(policies.at(p).view.version);
    key += '|';
  }
  if (auto compiled = cache.find(key)) return compiled;
  std::vector<engine::sourced_statement> statements;
  for (const auto& p : ids) {
    for (const auto& s : policies.at(p).view.statements) statements.push_back({p, s});
  }
  auto compiled = compile_statements(statements, report);
  cache.put(std::move(key), compiled);
  return compiled;
}

bool directory::within_member_limits(const std::vector<std::string>& policy_ids) const {
  std::size_t statements = 0;
  std::size_t globs = 0;
  for (const auto& p : policy_ids) {
    const auto& entry = policies.at(p);
    statements += entry.view.statements.size();
    globs += entry.scanning_globs;
  }
  return statements <= policy::max_effective_statements &&
         globs <= policy::max_effective_scanning_globs;
}

directory::derive_report directory::derive(const directory& previous, rights_cache& cache,
                                           const failure_reporter& report) {
  std::unordered_set<std::string> affected;
  derive_groups(previous, affected);
  derive_members(previous, affected);
  derive_policies(previous, affected);
  derive_report out;
  std::unordered_set<std::string> owners_changed;
  for (const auto& id : affected) rederive_member(id, cache, report, out, owners_changed);
  for (const auto& org : owners_changed) {
    if (previous.tally(org).owners > 0 && tally(org).owners == 0) out.without_owner.push_back(org);
  }
  return out;
}

namespace {

/// An owner holds the Owner policy and may manage IAM (SPEC §10: owners cannot vanish).
bool is_owner(const std::vector<std::string>& policy_ids, const engine::compiled_policy& rights) {
  return std::binary_search(policy_ids.begin(), policy_ids.end(), owner_policy_id) &&
         rights.decide(manage_iam, iam_resource) == engine::decision::allow;
}

}  // namespace

void directory::rederive_member(const std::string& id, rights_cache& cache,
                                const failure_reporter& report, derive_report& out,
                                std::unordered_set<std::string>& owners_changed) {
  const auto* member = members.find(id);
  if (const auto* was_owner = owners.find(id)) {
    owners_changed.insert(*was_owner);
    --tallies[*was_owner].owners;
    owners.erase(id);
  }
  if (member == nullptr) {
    rights.erase(id);
    return;
  }
  const auto policy_ids = effective_policy_ids(*member);
  if (!within_member_limits(policy_ids)) out.over_member_limits.push_back(id);
  auto compiled = compiled_policies(policy_ids, cache, report);
  if (is_owner(policy_ids, *compiled)) {
    owners.set(id, std::make_shared<const std::string>(member->organization_id));
    ++tallies[member->organization_id].owners;
    owners_changed.insert(member->organization_id);
  }
  rights.set(id, std::move(compiled));
}

void directory::derive_groups(const directory& previous,
                              std::unordered_set<std::string>& affected) {
  cow_map<store::group_record>::for_each_difference(
      previous.groups, groups,
      [&](const std::string& id, const store::group_record* before,
          const store::group_record* after) {
        static const std::vector<std::string> none;
        const auto& was = before ? before->member_ids : none;
        const auto& is = after ? after->member_ids : none;
        if (before) --tallies[before->organization_id].groups;
        if (after) ++tallies[after->organization_id].groups;
        // Members who joined or left; when the group's policies changed, everyone in it.
        const std::unordered_set<std::string_view> was_set(was.begin(), was.end());
        const std::unordered_set<std::string_view> is_set(is.begin(), is.end());
        for (const auto& m : was) {
          if (is_set.contains(m)) continue;
          set_member_group(m, id, false);
          affected.insert(m);
        }
        for (const auto& m : is) {
          if (was_set.contains(m)) continue;
          set_member_group(m, id, true);
          affected.insert(m);
        }
        if (before && after && before->policy_ids == after->policy_ids) return;
        affected.insert(is.begin(), is.end());
      });
}

void directory::derive_members(const directory& previous,
                               std::unordered_set<std::string>& affected) {
  cow_map<store::member_record>::for_each_difference(
      previous.members, members,
      [&](const std::string& id, const store::member_record* before,
          const store::member_record* after) {
        affected.insert(id);
        if (before) {
          --tallies[before->organization_id].members;
          // Only its own entry: another member's (a duplicate in case only, from an older
          // store) stays findable.
          const auto key = email_key(before->organization_id, before->email);
          if (members_by_email.find(key) == before) members_by_email.erase(key);
        }
        if (after) {
          ++tallies[after->organization_id].members;
          members_by_email.set(email_key(after->organization_id, after->email),
                               *members.find_ptr(id));
        }
      });
}

void directory::derive_policies(const directory& previous,
                                std::unordered_set<std::string>& affected) {
  // A policy that is new cannot be attached to anyone yet; an edited or deleted one may be.
  std::unordered_set<std::string> edited_policies;
  cow_map<policy_entry>::for_each_difference(
      previous.policies, policies,
      [&](const std::string& id, const policy_entry* before, const policy_entry* after) {
        if (before) {
          if (!before->builtin()) --tallies[before->organization_id].policies;
          edited_policies.insert(id);
        }
        if (after && !after->builtin()) ++tallies[after->organization_id].policies;
      });
  if (edited_policies.empty()) return;
  const auto holds_edited = [&](const std::vector<std::string>& policy_ids) {
    return std::any_of(policy_ids.begin(), policy_ids.end(),
                       [&](const std::string& p) { return edited_policies.contains(p); });
  };
  groups.for_each([&](const std::string&, const store::group_record& g) {
    if (holds_edited(g.policy_ids)) affected.insert(g.member_ids.begin(), g.member_ids.end());
  });
  members.for_each([&](const std::string& id, const store::member_record& m) {
    if (holds_edited(m.policy_ids)) affected.insert(id);
  });
}

void directory::set_member_group(const std::string& member_id, const std::string& group_id,
                                 bool in) {
  const auto* current = member_groups.find(member_id);
  std::vector<std::string> ids = current ? *current : std::vector<std::string>{};
  std::erase(ids, group_id);
  if (in) ids.push_back(group_id);
  if (ids.empty()) {
    member_groups.erase(member_id);
  } else {
    member_groups.set(member_id, std::make_shared<const std::vector<std::string>>(std::move(ids)));
  }
}

std::string directory::email_of(std::string_view member_id,
                                std::string_view organization_id) const {
  const auto* m = find(members, member_id, organization_id);
  return m != nullptr ? m->email : std::string();
}

}  // namespace gatehouse::iam
