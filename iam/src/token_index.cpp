// Tokens between the index's form (interned ids, 16-byte uuid) and the store's records.
#include "token_index.hpp"

#include <algorithm>

namespace gatehouse::iam {

store::token_record to_record(const token_entry& t, const string_pool& pool) {
  store::token_record r;
  r.id = format_uuid(t.id);
  r.organization_id = pool.at(t.organization);
  r.name = t.name;
  r.type = t.type;
  r.status = t.status;
  r.creator_id = pool.at(t.creator);
  r.secret_hash = t.hash;
  r.secret_prefix.assign(t.prefix.data(), t.prefix.size());
  r.permissions_json = t.permissions ? t.permissions->json : "[]";
  r.created_at = t.created_at;
  r.updated_at = t.updated_at;
  r.last_used_at = t.last_used.value.load(std::memory_order_relaxed);
  r.expires_at = t.expires_at;
  r.previous_secret_hash = t.previous_hash;
  r.previous_valid_until = t.previous_until;
  return r;
}

token_view to_view(const token_entry& t, const string_pool& pool, store::timestamp now) {
  return {to_record(t, pool),
          expired_at(t, now),
          t.permissions ? t.permissions->statements : std::vector<policy::statement>{},
          std::nullopt,
          {}};
}

outcome<token_entry> to_entry(const store::token_record& r,
                              std::shared_ptr<const statement_set> permissions, string_pool& pool) {
  const auto id = parse_uuid(r.id);
  if (!id) return failure(errc::storage_failure, "a stored token has a malformed id");
  token_entry t;
  t.id = *id;
  t.hash = r.secret_hash;
  t.organization = pool.intern(r.organization_id);
  t.creator = pool.intern(r.creator_id);
  t.name = r.name;
  std::copy_n(r.secret_prefix.begin(), std::min(r.secret_prefix.size(), t.prefix.size()),
              t.prefix.begin());
  t.type = r.type;
  t.status = r.status;
  t.created_at = r.created_at;
  t.updated_at = r.updated_at;
  t.last_used = shared_time(r.last_used_at);
  t.persisted_last_used = shared_time(r.last_used_at);
  t.expires_at = r.expires_at;
  t.previous_hash = r.previous_secret_hash;
  t.previous_until = r.previous_valid_until;
  t.permissions = std::move(permissions);
  return t;
}

}  // namespace gatehouse::iam
