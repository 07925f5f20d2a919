// Who a caller is: a token secret or an authenticated member, turned into a caller that holds
// its compiled rights.
#include <gatehouse/iam/service.hpp>

#include <mutex>
#include <shared_mutex>

#include "directory.hpp"
#include "state.hpp"
#include "token_index.hpp"

namespace gatehouse::iam {

namespace {

/// The token whose current secret has HMAC `hash`, or whose replaced secret has it and is still
/// within its grace period at `now`; nullptr when none. Called with `tokens_lock` held.
const token_entry* find_by_secret(const service::state& s, const secret_hash& hash,
                                  store::timestamp now) {
  if (const token_entry* current = s.current_secrets.find(hash)) return current;
  // Only rotated tokens are here: most look-ups of an unknown secret end at an empty table.
  const token_entry* previous = s.previous_secrets.find(hash);
  if (previous == nullptr || previous->previous_until == 0 || now >= previous->previous_until) {
    return nullptr;
  }
  return previous;
}

}  // namespace

outcome<caller> service::authenticate_token(std::string_view secret) const {
  if (!looks_like_token_secret(secret)) return failure(errc::unauthorized);
  const auto hash = state_->hasher.hash(secret);
  caller who;
  store::timestamp now = 0;
  std::shared_ptr<const directory> dir;
  // The directory keys of the ids, hashed when they were interned.
  std::size_t organization_hash = 0;
  std::size_t member_hash = 0;
  {
    std::shared_lock lock(state_->tokens_lock);
    // With a million tokens the slot is likely a cache miss: it is on its way while the clock and
    // the directory are read.
    state_->current_secrets.prefetch(hash);
    now = state_->now();
    dir = state_->snapshot();
    const token_entry* it = find_by_secret(*state_, hash, now);
    if (it == nullptr || it->status == store::token_status::revoked) {
      return failure(errc::unauthorized);
    }
    // Expired wins over inactive: the integration's owner learns what would fix it.
    if (expired_at(*it, now)) return failure(errc::token_expired);
    if (it->status == store::token_status::inactive) {
      return failure(errc::forbidden, "the access token is inactive");
    }
    who.kind = it->type == store::token_type::personal ? subject_kind::personal_token
                                                       : subject_kind::service_token;
    who.id = format_uuid(it->id);
    who.organization_id = state_->pool.at(it->organization);
    who.member_id = state_->pool.at(it->creator);
    organization_hash = state_->pool.hash_at(it->organization);
    member_hash = state_->pool.hash_at(it->creator);
    // The token's own statements, which the index keeps alive while the lock is held: a service
    // token's rights, or a personal token's scope when it has one.
    const statement_set& permissions = *it->permissions;
    if (who.kind == subject_kind::service_token) {
      who.rights = permissions.compiled;
    } else if (!permissions.statements.empty()) {
      who.scope = permissions.compiled;
    }
    it->last_used.value.store(now, std::memory_order_relaxed);
  }
  if (!dir->organizations.contains(hashed_key{who.organization_id, organization_hash})) {
    return failure(errc::unauthorized);
  }
  if (who.kind == subject_kind::service_token) return who;
  const auto* rights = dir->rights.find_ptr(hashed_key{who.member_id, member_hash});
  if (rights == nullptr) return failure(errc::unauthorized);
  who.rights = *rights;
  return who;
}

outcome<caller> service::authenticate_member(std::string_view member_id,
                                             std::string_view organization_id) const {
  const auto dir = state_->snapshot();
  const auto* member = dir->find(dir->members, member_id, organization_id);
  if (member == nullptr) return failure(errc::unauthorized);
  caller who;
  who.kind = subject_kind::member;
  who.id = member->id;
  who.organization_id = member->organization_id;
  who.member_id = member->id;
  const auto* rights = dir->rights.find_ptr(member->id);
  if (rights == nullptr) return failure(errc::unauthorized);
  who.rights = *rights;
  return who;
}

outcome<store::member_record> service::find_member_by_email(std::string_view organization_id,
                                                            std::string_view email) const {
  const auto dir = state_->snapshot();
  const auto* m = dir->members_by_email.find(email_key(organization_id, email));
  if (m == nullptr) return failure(errc::not_found, "member");
  return *m;
}

}  // namespace gatehouse::iam
