// Tokens between the index's form (interned ids, 16-byte uuid) and the store's records, and the
// tables that find tokens by the HMAC of a secret.
#include "token_index.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <new>
#include <type_traits>

namespace gatehouse::iam {

namespace {

/// Where transparent huge pages start to pay: one page of them.
constexpr std::size_t huge_page_bytes = std::size_t{2} << 20;

/// `bytes` of zeroed memory, aligned to the cache line; from `huge_page_bytes` up, aligned to a
/// huge page and advised to be backed by huge pages. Null when out of memory.
void* zeroed_slots(std::size_t bytes) noexcept {
  const bool huge = bytes >= huge_page_bytes;
  void* p = std::aligned_alloc(huge ? huge_page_bytes : 64, bytes);
  if (p == nullptr) return nullptr;
  // Only advice: where the kernel has no huge pages to give, the table works the same, slower.
  if (huge) ::madvise(p, bytes, MADV_HUGEPAGE);
  std::memset(p, 0, bytes);
  return p;
}

}  // namespace

template <secret_hash token_entry::*Hash>
const token_entry* secret_table<Hash>::find(const secret_hash& hash) const noexcept {
  if (size_ == 0) return nullptr;
  const std::uint64_t key = slot_key(hash);
  const std::size_t mask = capacity_ - 1;
  for (std::size_t i = home(key);; i = (i + 1) & mask) {
    const slot& s = slots_[i];
    if (s.token == nullptr) return nullptr;
    if (s.key == key && secret_hash_equal{}(s.token->*Hash, hash)) return s.token;
  }
}

template <secret_hash token_entry::*Hash>
void secret_table<Hash>::insert(const token_entry& t) {
  if ((size_ + 1) * 4 > capacity_ * 3) rehash(std::max<std::size_t>(16, capacity_ * 2));
  const std::uint64_t key = slot_key(t.*Hash);
  const std::size_t mask = capacity_ - 1;
  std::size_t i = home(key);
  for (; slots_[i].token != nullptr; i = (i + 1) & mask) {
    if (slots_[i].key == key && slots_[i].token->*Hash == t.*Hash) {
      slots_[i].token = &t;
      return;
    }
  }
  slots_[i] = {key, &t};
  ++size_;
}

template <secret_hash token_entry::*Hash>
void secret_table<Hash>::erase(const token_entry& t) noexcept {
  if (size_ == 0) return;
  const std::size_t mask = capacity_ - 1;
  std::size_t hole = home(slot_key(t.*Hash));
  while (slots_[hole].token != &t) {
    if (slots_[hole].token == nullptr) return;
    hole = (hole + 1) & mask;
  }
  // Backward shift: every later slot of the run whose home is not between the hole and itself
  // moves into the hole, so that probing never stops early at it and no tombstone is needed.
  for (std::size_t next = (hole + 1) & mask; slots_[next].token != nullptr;
       next = (next + 1) & mask) {
    const std::size_t wanted = home(slots_[next].key);
    const bool stays =
        hole <= next ? (hole < wanted && wanted <= next) : (hole < wanted || wanted <= next);
    if (stays) continue;
    slots_[hole] = slots_[next];
    hole = next;
  }
  slots_[hole] = {};
  --size_;
}

template <secret_hash token_entry::*Hash>
void secret_table<Hash>::reserve(std::size_t count) {
  std::size_t capacity = std::max<std::size_t>(16, capacity_);
  while (count * 4 > capacity * 3) capacity *= 2;
  if (capacity != capacity_) rehash(capacity);
}

template <secret_hash token_entry::*Hash>
void secret_table<Hash>::rehash(std::size_t capacity) {
  // An all-zero slot is an empty one.
  static_assert(std::is_trivially_copyable_v<slot>);
  std::unique_ptr<slot[], free_slots> fresh(
      static_cast<slot*>(zeroed_slots(capacity * sizeof(slot))));
  if (!fresh) throw std::bad_alloc();
  const std::size_t mask = capacity - 1;
  for (std::size_t j = 0; j < capacity_; ++j) {
    const slot& s = slots_[j];
    if (s.token == nullptr) continue;
    std::size_t i = static_cast<std::size_t>(s.key) & mask;
    while (fresh[i].token != nullptr) i = (i + 1) & mask;
    fresh[i] = s;
  }
  slots_ = std::move(fresh);
  capacity_ = capacity;
}

template class secret_table<&token_entry::hash>;
template class secret_table<&token_entry::previous_hash>;

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
