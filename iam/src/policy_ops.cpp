// Policies: the built-ins every organization sees and each organization's own; creating them,
// setting their statements (capped at the caller's rights), deleting them, and swapping the
// built-ins on reload.
#include <gatehouse/engine/containment.hpp>
#include <gatehouse/iam/builtins.hpp>
#include <gatehouse/iam/service.hpp>

#include <gatehouse/policy/text.hpp>

#include <algorithm>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <tuple>
#include <unordered_set>

#include "audit.hpp"
#include "checks.hpp"
#include "directory.hpp"
#include "ids.hpp"
#include "record_edits.hpp"
#include "state.hpp"
#include "statement_cache.hpp"

namespace gatehouse::iam {

outcome<std::vector<policy_view>> service::list_policies(const caller& who) const {
  if (auto ok = require(*this, who, manage_iam, iam_resource); !ok) return ok.error();
  const auto dir = state_->snapshot();
  std::vector<const policy_entry*> visible;
  dir->policies.for_each([&](const std::string&, const policy_entry& p) {
    if (p.builtin() || p.organization_id == who.organization_id) visible.push_back(&p);
  });
  std::sort(visible.begin(), visible.end(), [](auto* a, auto* b) {
    return std::tuple(!a->builtin(), a->created_at, a->view.name) <
           std::tuple(!b->builtin(), b->created_at, b->view.name);
  });
  std::vector<policy_view> out;
  for (const auto* p : visible) out.push_back(p->view);
  return out;
}

outcome<policy_view> service::get_policy(const caller& who, std::string_view policy_id) const {
  if (auto ok = require(*this, who, manage_iam, iam_resource); !ok) return ok.error();
  const auto dir = state_->snapshot();
  const auto* p = dir->find(dir->policies, policy_id, who.organization_id);
  if (!p) return failure(errc::not_found, "policy");
  return p->view;
}

namespace {

/// Fails unless name, key and description of a new policy are within `limits` and the key is
/// made of lowercase letters, digits, '-' and '_'.
outcome<void> check_new_policy(std::string_view name, std::string_view key,
                               std::string_view description, const iam::limits& limits) {
  if (auto ok = check_name(name, field::name, limits.max_name_length); !ok) return ok;
  if (auto ok = check_name(key, field::key, limits.max_name_length); !ok) return ok;
  if (!std::all_of(key.begin(), key.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
      })) {
    return failure(errc::field_invalid, field::key);
  }
  if (description.size() > limits.max_description_length) {
    return failure(errc::field_invalid, field::description);
  }
  return {};
}

/// Fails when a policy the caller's organization sees already has `key`, or `name` in any case.
outcome<void> check_policy_unique(const directory& d, const caller& who, std::string_view key,
                                  std::string_view name) {
  bool key_used = false;
  bool name_used = false;
  d.policies.for_each([&](const std::string&, const policy_entry& p) {
    if (!p.builtin() && p.organization_id != who.organization_id) return;
    key_used = key_used || p.view.key == key;
    name_used = name_used || policy::equal_folded(p.view.name, name);
  });
  if (key_used) return failure(errc::key_used, "key");
  if (name_used) return failure(errc::name_used, "name");
  return {};
}

}  // namespace

outcome<policy_view> service::create_policy(const caller& who, std::string name, std::string key,
                                            std::string description) {
  if (auto ok = require(*this, who, manage_iam, iam_resource); !ok) return ok.error();
  if (auto ok = check_new_policy(name, key, description, state_->limits); !ok) return ok.error();
  auto id = new_id();
  if (!id) return id.error();
  return state_->mutate(
      [&](directory& d, std::vector<store::change>& changes) -> outcome<policy_view> {
        if (d.tally(who.organization_id).policies >= state_->limits.max_policies_per_organization) {
          return failure(errc::limit_exceeded, "policies per organization");
        }
        if (auto ok = check_policy_unique(d, who, key, name); !ok) return ok.error();
        policy_entry e;
        e.view = {*id, key, name, description, policy_kind::customer_managed, {}};
        e.organization_id = who.organization_id;
        e.created_at = e.updated_at = state_->now();
        // As a reopened store makes it, so that a version outlives a restart.
        e.view.version = static_cast<std::uint64_t>(e.updated_at);
        changes.push_back(store::put_policy{e.record()});
        changes.push_back(audit_change(
            who, e.created_at, audit_type::policy_create, e.view.id,
            audit_summary().section("after").field("key", key).field("name", name).json()));
        auto view = e.view;
        put(d.policies, std::move(e));
        return view;
      });
}

namespace {

/// `statements` of policy `policy_id`, compiled. They were validated before, so failing is a
/// defect; it is reported as the field's, and nothing unchecked is granted.
outcome<std::shared_ptr<const engine::compiled_policy>> compile_statements(
    std::string_view policy_id, const std::vector<policy::statement>& statements) {
  std::vector<engine::sourced_statement> sourced;
  sourced.reserve(statements.size());
  for (const auto& st : statements) sourced.push_back({std::string(policy_id), st});
  auto compiled = engine::compiled_policy::compile(sourced);
  if (!compiled) {
    return failure(errc::field_invalid, field::statements,
                   engine::describe(compiled.error(), sourced));
  }
  return std::shared_ptr<const engine::compiled_policy>(std::move(*compiled));
}

/// Fails unless `who` holds what `statements` of policy `policy_id` grant: whoever holds the
/// policy gets what it says, so the caller grants it.
outcome<void> require_holds_statements(const caller& who, std::string_view policy_id,
                                       const std::vector<policy::statement>& statements) {
  const auto compiled = compile_statements(policy_id, statements);
  if (!compiled) return compiled.error();
  return require_holds(who, **compiled, "the statements");
}

/// Fails with `conflict`, naming the current version, unless `expected` accepts `p`'s.
outcome<void> require_version(const policy_entry& p, const version_match& expected) {
  if (!expected ||
      std::find(expected->begin(), expected->end(), p.view.version) != expected->end()) {
    return {};
  }
  failure f(errc::conflict, "the policy changed since that version; it is now at version " +
                                std::to_string(p.view.version));
  f.current_version = p.view.version;
  return f;
}

/// The custom policy `policy_id` of the caller's organization, if its statements may be
/// replaced from version `expected`.
outcome<const policy_entry*> editable_policy(const directory& d, const caller& who,
                                             std::string_view policy_id,
                                             const version_match& expected) {
  const auto* p = d.find(d.policies, policy_id, who.organization_id);
  if (!p) return failure(errc::not_found, "policy");
  if (p->builtin()) return failure(errc::sys_managed_policy);
  if (auto ok = require_version(*p, expected); !ok) return ok.error();
  return p;
}

}  // namespace

outcome<policy_view> service::set_policy_statements(const caller& who, std::string_view policy_id,
                                                    std::vector<policy::statement> statements,
                                                    const version_match& expected) {
  if (auto ok = require(*this, who, manage_iam, iam_resource); !ok) return ok.error();
  if (auto ok = validate_new_statements(statements, field::statements, policy::stored_policy);
      !ok) {
    return ok.error();
  }
  if (auto ok = require_holds_statements(who, policy_id, statements); !ok) return ok.error();
  return state_->mutate(
      [&](directory& d, std::vector<store::change>& changes) -> outcome<policy_view> {
        const auto p = editable_policy(d, who, policy_id, expected);
        if (!p) return p.error();
        auto changed = **p;
        audit_summary summary;
        summary.section("before")
            .field("version", static_cast<std::int64_t>(changed.view.version))
            .statements(changed.view.statements);
        changed.set_statements(std::move(statements));
        changed.updated_at = std::max(state_->now(), changed.updated_at + 1);
        changed.view.version = static_cast<std::uint64_t>(changed.updated_at);
        summary.section("after")
            .field("version", static_cast<std::int64_t>(changed.view.version))
            .statements(changed.view.statements);
        changes.push_back(store::put_policy{changed.record()});
        changes.push_back(audit_change(who, changed.updated_at, audit_type::policy_set_statements,
                                       changed.view.id, summary.json()));
        auto view = changed.view;
        put(d.policies, std::move(changed));
        return view;
      });
}

namespace {

/// The holders of policy `id` in organization `organization_id`: groups, and members directly or
/// through one of those groups, each once. One pass over the members, one over the groups.
struct policy_holders {
  std::unordered_set<std::string> members;
  std::size_t groups = 0;
};

policy_holders holders_of(const directory& d, const std::string& id,
                          const std::string& organization_id) {
  const auto holds = [&id](const std::vector<std::string>& ids) {
    return std::find(ids.begin(), ids.end(), id) != ids.end();
  };
  policy_holders out;
  d.groups.for_each([&](const std::string&, const store::group_record& g) {
    if (g.organization_id != organization_id || !holds(g.policy_ids)) return;
    ++out.groups;
    out.members.insert(g.member_ids.begin(), g.member_ids.end());
  });
  d.members.for_each([&](const std::string& mid, const store::member_record& m) {
    if (m.organization_id == organization_id && holds(m.policy_ids)) out.members.insert(mid);
  });
  return out;
}

}  // namespace

outcome<policy_preview> service::preview_policy(const caller& who, std::string_view policy_id,
                                                std::vector<policy::statement> statements,
                                                const version_match& expected) const {
  if (auto ok = require(*this, who, manage_iam, iam_resource); !ok) return ok.error();
  if (auto ok = validate_new_statements(statements, field::statements, policy::stored_policy);
      !ok) {
    return ok.error();
  }
  const auto dir = state_->snapshot();
  const auto p = editable_policy(*dir, who, policy_id, expected);
  if (!p) return p.error();
  const auto before = compile_statements(policy_id, (*p)->view.statements);
  if (!before) return before.error();
  const auto after = compile_statements(policy_id, statements);
  if (!after) return after.error();

  // Actions outside the catalogue are named by no route, so only the catalogue's are compared.
  constexpr policy::action_set catalogue =
      policy::all_actions & ~(policy::action_set{1} << policy::unlisted_action);
  auto added = engine::beyond(**before, **after, catalogue);
  auto removed = engine::beyond(**after, **before, catalogue);
  if (!added.complete || !removed.complete) {
    return failure(errc::check_too_complex,
                   "the statements are too complex to compare with the stored ones");
  }
  policy_preview out{std::move(added.witnesses), std::move(removed.witnesses), 0, 0, 0,
                     (*p)->view.version};
  const auto holders = holders_of(*dir, (*p)->view.id, who.organization_id);
  out.members = holders.members.size();
  out.groups = holders.groups;
  std::shared_lock lock(state_->tokens_lock);
  const auto& by_creator = state_->tokens.get<iam::by_creator>();
  for (const auto& member_id : holders.members) {
    const auto creator = state_->pool.find(member_id);
    if (!creator) continue;
    const auto [first, last] = by_creator.equal_range(*creator);
    out.personal_tokens += static_cast<std::size_t>(std::count_if(first, last, [](auto& t) {
      return t.type == store::token_type::personal && t.status != store::token_status::revoked;
    }));
  }
  return out;
}

namespace {

/// Detaches policy `id` from every member or group of `holders` that holds it.
template <class Record>
void detach_everywhere(cow_map<Record>& holders, const std::string& id,
                       std::vector<store::change>& changes) {
  // Collected first, since the map cannot be edited while it is walked.
  std::vector<Record> holding;
  holders.for_each([&](const std::string&, const Record& r) {
    if (std::find(r.policy_ids.begin(), r.policy_ids.end(), id) != r.policy_ids.end()) {
      holding.push_back(r);
    }
  });
  for (auto& r : holding) {
    std::erase(r.policy_ids, id);
    changes.push_back(put_change(r));
    put(holders, std::move(r));
  }
}

}  // namespace

outcome<void> service::delete_policy(const caller& who, std::string_view policy_id) {
  if (auto ok = require(*this, who, manage_iam, iam_resource); !ok) return ok.error();
  return state_->mutate([&](directory& d, std::vector<store::change>& changes) -> outcome<void> {
    const auto* p = d.find(d.policies, policy_id, who.organization_id);
    if (!p) return failure(errc::not_found, "policy");
    if (p->builtin()) return failure(errc::sys_managed_policy);
    const std::string id = p->view.id;
    audit_summary summary;
    summary.section("before")
        .field("key", p->view.key)
        .field("name", p->view.name)
        .statements(p->view.statements);
    // Detached from every holder in the same commit.
    const auto before_detaching = changes.size();
    detach_everywhere(d.members, id, changes);
    detach_everywhere(d.groups, id, changes);
    summary.section("after").field("detachedFrom",
                                   static_cast<std::int64_t>(changes.size() - before_detaching));
    changes.push_back(
        audit_change(who, state_->now(), audit_type::policy_delete, id, summary.json()));
    d.policies.erase(id);
    changes.push_back(store::erase_policy{id});
    return {};
  });
}

outcome<void> swap_builtins(directory& d, const std::vector<policy::policy_document>& builtins,
                            store::timestamp now) {
  // Generations only grow, even for two reloads in one millisecond: a reused generation would
  // hand members the rights compiled from the old statements.
  auto generation = static_cast<std::uint64_t>(now);
  std::vector<std::string> old_builtins;
  d.policies.for_each([&](const std::string& id, const policy_entry& p) {
    if (!p.builtin()) return;
    old_builtins.push_back(id);
    generation = std::max(generation, p.view.version + 1);
  });
  for (const auto& id : old_builtins) d.policies.erase(id);
  for (const auto& doc : builtins) {
    if (d.policies.contains(doc.id)) {
      return failure(errc::conflict, "built-in policy id " + doc.id + " is taken");
    }
    auto e = builtin_entry(doc);
    e.view.version = generation;
    put(d.policies, std::move(e));
  }
  return {};
}

outcome<void> service::replace_builtins(std::vector<policy::policy_document> builtins) {
  if (auto ok = check_builtin_policies(builtins, "the built-in policies"); !ok) return ok.error();
  std::lock_guard follow(state_->follow_lock);
  // A shared store gets them first, as a new generation that every instance adopts (SPEC §12).
  if (auto published = state_->publish_builtins(builtins); !published) return published;
  auto swapped = state_->mutate([&](directory& d, std::vector<store::change>&) {
    return swap_builtins(d, builtins, state_->now());
  });
  if (swapped) state_->builtins = std::move(builtins);
  return swapped;
}

outcome<void> service::share_builtins() {
  std::lock_guard follow(state_->follow_lock);
  if (state_->builtins_shared) return {};
  return state_->publish_builtins(state_->builtins);
}

}  // namespace gatehouse::iam
