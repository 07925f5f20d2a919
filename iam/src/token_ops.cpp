// Access tokens, which only members manage: listing, creating (capped at the creator's rights;
// the secret is shown once), renaming, switching off and on, deleting, and writing their batched
// last-used times.
#include <gatehouse/iam/service.hpp>

#include <gatehouse/policy/text.hpp>

#include <array>
#include <iterator>
#include <mutex>
#include <shared_mutex>

#include "audit.hpp"
#include "checks.hpp"
#include "directory.hpp"
#include "ids.hpp"
#include "state.hpp"
#include "token_index.hpp"

namespace gatehouse::iam {

namespace {

std::string_view manage_action(store::token_type type) {
  return type == store::token_type::personal ? "ManagePersonalAccessTokens"
                                             : "ManageServiceAccessTokens";
}

/// Fails unless `who` is a member who may create (or check) a token of `type`.
outcome<void> require_token_manager(const service& s, const caller& who, store::token_type type) {
  if (auto ok = require_member(who); !ok) return ok;
  return require(s, who, manage_action(type), token_resource);
}

/// Fails unless `who` is a member who may list the organization's tokens.
outcome<void> require_token_reader(const service& s, const caller& who) {
  if (auto ok = require_member(who); !ok) return ok;
  return require(s, who, "ListAccessTokens", token_resource);
}

}  // namespace

namespace {

/// Whether `t` is listed under `status` at `now`: an expired token only as Expired.
bool has_list_status(const token_entry& t, token_list_status status, store::timestamp now) {
  if (expired_at(t, now)) return status == token_list_status::expired;
  switch (status) {
    case token_list_status::active:
      return t.status == store::token_status::active;
    case token_list_status::inactive:
      return t.status == store::token_status::inactive;
    case token_list_status::expired:
      break;
  }
  return false;
}

}  // namespace

outcome<token_page> service::list_tokens(const caller& who, const token_query& q) const {
  if (auto ok = require_token_reader(*this, who); !ok) return ok.error();
  if (q.page_size == 0 || q.page_size > state_->limits.max_page_size) {
    return failure(errc::field_invalid, field::page_size);
  }
  token_page page;
  const auto dir = state_->snapshot();
  std::shared_lock lock(state_->tokens_lock);
  const auto organization = state_->pool.find(who.organization_id);
  if (!organization) return page;
  std::optional<std::uint32_t> creator;
  if (!q.creator_id.empty()) {
    creator = state_->pool.find(q.creator_id);
    if (!creator) return page;
  }
  const auto& index = state_->tokens.get<by_organization>();
  const auto [first, last] = index.equal_range(std::make_tuple(*organization));
  const std::size_t skip = q.page_index * q.page_size;
  const store::timestamp now = state_->now();
  // Newest first.
  for (auto it = std::make_reverse_iterator(last); it != std::make_reverse_iterator(first); ++it) {
    if (q.type && it->type != *q.type) continue;
    if (creator && it->creator != *creator) continue;
    if (q.status && !has_list_status(*it, *q.status, now)) continue;
    if (!policy::contains_folded(it->name, q.name)) continue;
    if (page.total_count >= skip && page.items.size() < q.page_size) {
      auto& view = page.items.emplace_back(to_view(*it, state_->pool, now));
      view.creator_email = dir->email_of(view.record.creator_id, who.organization_id);
    }
    ++page.total_count;
  }
  return page;
}

outcome<bool> service::is_token_name_used(const caller& who, std::string_view name) const {
  if (auto ok = require_token_reader(*this, who); !ok) return ok.error();
  std::shared_lock lock(state_->tokens_lock);
  const auto organization = state_->pool.find(who.organization_id);
  if (!organization) return false;
  return find_named(state_->tokens, *organization, name) != nullptr;
}

namespace {

/// Fails unless the caller's organization has room for one more token, and none named `name`.
outcome<void> check_token_room(const service::state& s, const caller& who, std::string_view name) {
  std::shared_lock lock(s.tokens_lock);
  const auto organization = s.pool.find(who.organization_id);
  if (!organization) return {};
  if (find_named(s.tokens, *organization, name) != nullptr) {
    return failure(errc::name_used, "name");
  }
  if (count_in(s.tokens, *organization) >= s.limits.max_tokens_per_organization) {
    return failure(errc::limit_exceeded, "access tokens per organization");
  }
  return {};
}

/// The record of a new active token of `who` with `secret` and `permissions`.
store::token_record new_token_record(const service::state& s, const caller& who, std::string id,
                                     std::string name, store::token_type type,
                                     const std::string& secret, const statement_set& permissions) {
  store::token_record record;
  record.id = std::move(id);
  record.organization_id = who.organization_id;
  record.name = std::move(name);
  record.type = type;
  record.status = store::token_status::active;
  record.creator_id = who.member_id;
  record.secret_hash = s.hasher.hash(secret);
  record.secret_prefix = secret.substr(0, secret_prefix_length);
  record.permissions_json = permissions.json;
  record.created_at = record.updated_at = s.now();
  return record;
}

/// The permissions of a new token, held to a token's limits: a service token needs some.
outcome<std::shared_ptr<const statement_set>> token_permissions(
    service::state& s, store::token_type type, std::vector<policy::statement> given) {
  if (type == store::token_type::service && given.empty()) {
    return failure(errc::field_required, field::permissions);
  }
  return s.new_permissions(std::move(given));
}

/// The permissions of a new token, checked: within a token's limits, and granting nothing beyond
/// its creator's rights as they are now.
outcome<std::shared_ptr<const statement_set>> checked_permissions(
    service::state& s, const caller& who, store::token_type type,
    std::vector<policy::statement> given) {
  auto permissions = token_permissions(s, type, std::move(given));
  if (!permissions) return permissions.error();
  const auto& requested = **permissions;
  if (!requested.statements.empty()) {
    if (auto ok = require_holds(who, *requested.compiled, "the permissions"); !ok) {
      return ok.error();
    }
  }
  return permissions;
}

}  // namespace

outcome<std::vector<grantable_actions>> service::grantable(const caller& who) const {
  if (auto ok = require_member(who); !ok) return ok.error();
  if (!who.rights) return std::vector<grantable_actions>{};
  // The unlisted-action bit stands for names outside the catalogue; nobody is given those.
  const policy::action_set catalogue =
      policy::all_actions & ~(policy::action_set{1} << policy::unlisted_action);
  const auto found = engine::allowed_somewhere(*who.rights, catalogue);
  if (!found.complete && state_->hooks.log) {
    state_->hooks.log("grantable actions of member " + who.member_id +
                      ": the search ran out of work; only the actions it proved are offered");
  }
  std::vector<grantable_actions> out;
  for (policy::action_id id = 0; id < policy::unlisted_action; ++id) {
    if ((found.actions >> id & 1U) == 0) continue;
    const policy::action_info& action = policy::action_catalogue[id];
    if (out.empty() || out.back().resource_type != action.resource_type) {
      out.push_back({std::string(action.resource_type), {}});
    }
    out.back().actions.emplace_back(action.name);
  }
  return out;
}

outcome<engine::containment> service::check_token(
    const caller& who, store::token_type type, std::vector<policy::statement> permissions) const {
  if (auto ok = require_token_manager(*this, who, type); !ok) return ok.error();
  auto requested = token_permissions(*state_, type, std::move(permissions));
  if (!requested) return requested.error();
  if ((*requested)->statements.empty()) return engine::containment{true, std::nullopt};
  return within_rights(who, *(*requested)->compiled, "the permissions");
}

outcome<token_view> service::create_token(const caller& who, std::string name,
                                          store::token_type type,
                                          std::vector<policy::statement> permissions_given,
                                          store::timestamp expires_at) {
  if (auto ok = require_token_manager(*this, who, type); !ok) return ok.error();
  if (auto ok = check_name(name, field::name, state_->limits.max_name_length); !ok) {
    return ok.error();
  }
  if (expires_at != 0 && expires_at <= state_->now()) {
    return failure(errc::field_invalid, field::expires_at, "must be in the future");
  }
  auto permissions = checked_permissions(*state_, who, type, std::move(permissions_given));
  if (!permissions) return permissions.error();

  std::lock_guard write(state_->token_write);
  // A member removed since authenticating is gone from the directory by now: removal revokes
  // tokens under `token_write`, so a token written after it would escape the revocation.
  const auto dir = state_->snapshot();
  if (dir->find(dir->members, who.member_id, who.organization_id) == nullptr) {
    return failure(errc::unauthorized, "the creator is no longer a member");
  }
  if (auto ok = check_token_room(*state_, who, name); !ok) return ok.error();
  auto secret = generate_token_secret();
  auto id = new_id();
  if (!secret || !id) {
    return failure(errc::randomness_unavailable, "no random secret or id");
  }
  auto record =
      new_token_record(*state_, who, std::move(*id), std::move(name), type, *secret, **permissions);
  record.expires_at = expires_at;
  auto entry = to_entry(record, *permissions, state_->pool);
  if (!entry) return entry.error();
  auto summary = audit_summary()
                     .section("after")
                     .field("name", record.name)
                     .field("type", to_string(type))
                     .field("status", to_string(record.status))
                     .time("expiresAt", record.expires_at)
                     .statements((*permissions)->statements)
                     .json();
  const std::array changes{
      store::change{store::put_token{record}},
      audit_change(who, record.created_at, audit_type::token_create, record.id, std::move(summary)),
  };
  if (auto committed = state_->commit(changes); !committed) return committed.error();
  {
    std::unique_lock lock(state_->tokens_lock);
    state_->index_new(std::move(*entry));
  }
  return token_view{std::move(record), false, (*permissions)->statements, std::move(*secret),
                    dir->email_of(who.member_id, who.organization_id)};
}

namespace {

/// Finds a token of the caller's organization and checks the caller may manage its type.
outcome<token_entry> managed_token(const service& service, const service::state& s,
                                   const caller& who, std::string_view token_id) {
  if (auto ok = require_member(who); !ok) return ok.error();
  const auto id = parse_uuid(token_id);
  if (!id) return failure(errc::not_found, "access token");
  std::optional<token_entry> found;
  {
    std::shared_lock lock(s.tokens_lock);
    const auto& index = s.tokens.get<by_id>();
    const auto it = index.find(*id);
    if (it == index.end() || s.pool.at(it->organization) != who.organization_id) {
      return failure(errc::not_found, "access token");
    }
    found = *it;
  }
  if (auto ok = require(service, who, manage_action(found->type), token_resource); !ok) {
    return ok.error();
  }
  return std::move(*found);
}

}  // namespace

outcome<token_view> service::rename_token(const caller& who, std::string_view token_id,
                                          std::string name) {
  if (auto ok = check_name(name, field::name, state_->limits.max_name_length); !ok)
    return ok.error();
  std::lock_guard write(state_->token_write);
  auto token = managed_token(*this, *state_, who, token_id);
  if (!token) return token.error();
  {
    std::shared_lock lock(state_->tokens_lock);
    const auto* named = find_named(state_->tokens, token->organization, name);
    if (named != nullptr && named->id != token->id) return failure(errc::name_used, "name");
  }
  audit_summary summary;
  summary.section("before").field("name", token->name).section("after").field("name", name);
  token->name = std::move(name);
  return state_->save_token(std::move(*token), who, audit_type::token_rename, summary);
}

namespace {

/// Of two refusals to reactivate a personal token (the caller holds neither its creator's rights
/// nor its scope): one that was too complex to check, else one whose counterexample the token
/// itself allows, else a refusal that shows none.
failure reactivation_refusal(const std::array<failure, 2>& refusals,
                             const engine::compiled_policy& creator_rights,
                             const engine::compiled_policy& scope) {
  for (const auto& refusal : refusals) {
    if (refusal.code == errc::check_too_complex) return refusal;
  }
  for (const auto& refusal : refusals) {
    const auto& example = refusal.counterexample;
    if (example &&
        creator_rights.decide(example->action, example->resource) == engine::decision::allow &&
        scope.decide(example->action, example->resource) == engine::decision::allow) {
      return refusal;
    }
  }
  return failure(errc::forbidden, "the token's rights are not within the caller's");
}

/// Whether `who` may switch `token` back on: the caller's current rights must contain the token's
/// (SPEC §10), so that a leaked token an owner switched off stays off. A service token's rights
/// are its statements; a personal token's are its creator's current rights within its scope,
/// which the creator always holds. Called with `token_write` held.
outcome<void> may_reactivate(const service::state& s, const caller& who, const token_entry& token) {
  const auto& permissions = *token.permissions;
  if (token.type == store::token_type::service) {
    return require_holds(who, *permissions.compiled, "the token's permissions");
  }
  const std::string& creator = s.pool.at(token.creator);
  if (who.member_id == creator) return {};
  const auto dir = s.snapshot();
  const auto* creator_rights = dir->rights.find_ptr(creator);
  if (creator_rights == nullptr) return failure(errc::forbidden, "the token's creator left");
  auto whole = require_holds(who, **creator_rights, "the token's rights");
  if (whole || permissions.statements.empty()) return whole;
  // Holding either the creator's rights or the scope is holding their intersection. When the
  // caller holds neither, a counterexample is shown only if the token itself allows it.
  auto scoped = require_holds(who, *permissions.compiled, "the token's rights");
  if (scoped) return {};
  return reactivation_refusal({whole.error(), scoped.error()}, **creator_rights,
                              *permissions.compiled);
}

}  // namespace

outcome<token_view> service::toggle_token(const caller& who, std::string_view token_id) {
  std::lock_guard write(state_->token_write);
  auto token = managed_token(*this, *state_, who, token_id);
  if (!token) return token.error();
  if (token->status == store::token_status::revoked) {
    return failure(errc::conflict, "a revoked token cannot be activated");
  }
  if (token->status == store::token_status::inactive) {
    if (auto ok = may_reactivate(*state_, who, *token); !ok) return ok.error();
  }
  audit_summary summary;
  // The name on both sides, unchanged, names the token in the record after it is gone.
  summary.section("before").field("name", token->name).field("status", to_string(token->status));
  token->status = token->status == store::token_status::active ? store::token_status::inactive
                                                               : store::token_status::active;
  summary.section("after").field("name", token->name).field("status", to_string(token->status));
  return state_->save_token(std::move(*token), who, audit_type::token_toggle, summary);
}

outcome<token_view> service::rotate_token(const caller& who, std::string_view token_id,
                                          std::uint32_t grace_seconds) {
  if (grace_seconds > max_rotation_grace_seconds) {
    return failure(errc::field_invalid, field::grace_period_seconds, "0 to 604,800 seconds");
  }
  std::lock_guard write(state_->token_write);
  auto token = managed_token(*this, *state_, who, token_id);
  if (!token) return token.error();
  if (token->status == store::token_status::revoked) {
    return failure(errc::conflict, "a revoked token cannot be rotated");
  }
  // A new secret is a working credential with the token's rights: whoever may switch the token
  // back on may mint one, no one else.
  if (auto ok = may_reactivate(*state_, who, *token); !ok) return ok.error();
  auto secret = generate_token_secret();
  if (!secret) return failure(errc::randomness_unavailable, "no random secret");

  // The secret replaced before, if any, stops now: save_token drops it with the old entry.
  token->previous_hash = token->hash;
  token->previous_until =
      grace_seconds == 0 ? 0 : state_->now() + store::timestamp{grace_seconds} * 1000;
  token->hash = state_->hasher.hash(*secret);
  std::copy_n(secret->begin(), token->prefix.size(), token->prefix.begin());
  // The summary says when the old secret stops, never what either secret is.
  audit_summary summary;
  summary.field("gracePeriodSeconds", std::int64_t{grace_seconds})
      .time("previousSecretValidUntil", token->previous_until)
      .section("before")
      .field("name", token->name)
      .section("after")
      .field("name", token->name);
  auto view = state_->save_token(std::move(*token), who, audit_type::token_rotate, summary);
  if (view) view->secret = std::move(*secret);
  return view;
}

outcome<void> service::delete_token(const caller& who, std::string_view token_id) {
  std::lock_guard write(state_->token_write);
  auto token = managed_token(*this, *state_, who, token_id);
  if (!token) return token.error();
  auto id = format_uuid(token->id);
  auto summary = audit_summary()
                     .section("before")
                     .field("name", token->name)
                     .field("type", to_string(token->type))
                     .field("status", to_string(token->status))
                     .json();
  const std::array changes{
      store::change{store::erase_token{id}},
      audit_change(who, state_->now(), audit_type::token_delete, id, std::move(summary)),
  };
  if (auto committed = state_->commit(changes); !committed) return committed;
  std::unique_lock lock(state_->tokens_lock);
  state_->erase_indexed(token->id);
  return {};
}

boost::system::error_code service::flush_last_used() {
  std::lock_guard write(state_->token_write);
  std::vector<store::change> changes;
  std::vector<std::pair<const token_entry*, store::timestamp>> flushed;
  std::shared_lock lock(state_->tokens_lock);
  for (const auto& t : state_->tokens) {
    const auto used = t.last_used.value.load(std::memory_order_relaxed);
    if (used <= t.persisted_last_used.value.load(std::memory_order_relaxed)) continue;
    changes.push_back(store::touch_token{format_uuid(t.id), used});
    flushed.emplace_back(&t, used);
  }
  if (changes.empty()) return {};
  if (const auto ec = state_->database->commit(changes)) return ec;
  for (const auto& [t, used] : flushed) {
    t->persisted_last_used.value.store(used, std::memory_order_relaxed);
  }
  return {};
}

}  // namespace gatehouse::iam
