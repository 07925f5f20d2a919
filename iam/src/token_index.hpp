// The token index: every access token in memory, on Boost.MultiIndex, found by id, by name within
// its organization, by creator and by organization in creation order; the tables that find a
// token by the HMAC of its current or of its replaced secret; and the string pool that interns
// the ids many tokens share.
#pragma once

#include <gatehouse/iam/secrets.hpp>
#include <gatehouse/iam/service.hpp>
#include <gatehouse/policy/text.hpp>
#include <gatehouse/store/records.hpp>

#include <array>
#include <atomic>
#include <boost/multi_index/composite_key.hpp>
#include <boost/multi_index/hashed_index.hpp>
#include <boost/multi_index/member.hpp>
#include <boost/multi_index/ordered_index.hpp>
#include <boost/multi_index_container.hpp>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "cow_map.hpp"
#include "ids.hpp"
#include "statement_cache.hpp"

namespace gatehouse::iam {

/// A timestamp that several readers may bump; copyable so the index can hold it by value.
struct shared_time {
  mutable std::atomic<store::timestamp> value{0};
  shared_time() = default;
  explicit shared_time(store::timestamp t) : value(t) {}
  shared_time(const shared_time& other) : value(other.value.load(std::memory_order_relaxed)) {}
  shared_time& operator=(const shared_time& other) {
    value.store(other.value.load(std::memory_order_relaxed), std::memory_order_relaxed);
    return *this;
  }
};

/// One token in memory. Organization and creator ids are interned: thousands of tokens share
/// them, and the per-token budget is 512 bytes. What authentication reads comes first, starting
/// with the secret hash: the value starts its index node, so a look-up by secret reads a slot of
/// `secret_table` and then the first 90 bytes of the node, two cache lines (three for one node in
/// four, nodes being 16-byte aligned) that the processor reads at once, none of their addresses
/// depending on another. With a million tokens each of those reads can be a miss. A replaced
/// secret's hash and end follow; the rest is read by management calls only.
struct token_entry {
  // Read by authentication, up to `prefix`.
  secret_hash hash{};
  uuid id{};
  /// 0: never.
  store::timestamp expires_at = 0;
  std::uint32_t organization = 0;
  std::uint32_t creator = 0;
  std::shared_ptr<const statement_set> permissions;
  shared_time last_used;
  store::token_type type = store::token_type::personal;
  store::token_status status = store::token_status::active;
  std::array<char, secret_prefix_length> prefix{};
  /// The secret a rotation replaced, while its grace period lasts (`previous_until` 0: none).
  secret_hash previous_hash{};
  store::timestamp previous_until = 0;
  std::string name;
  store::timestamp created_at = 0;
  store::timestamp updated_at = 0;
  shared_time persisted_last_used;
};

struct uuid_hash {
  std::size_t operator()(const uuid& u) const noexcept {
    std::size_t h;
    std::memcpy(&h, u.data(), sizeof h);  // random bytes: any 8 of them are a good hash
    return h;
  }
};

// Secret look-ups compare hashes in constant time.
struct secret_hash_equal {
  bool operator()(const secret_hash& a, const secret_hash& b) const noexcept {
    return equal_in_constant_time(a, b);
  }
};

/// A token name within its organization; names are unique per organization case-insensitively,
/// compared as FeatBit does.
struct name_key {
  std::uint32_t organization;
  std::string_view name;
};

struct name_key_of {
  using result_type = name_key;
  result_type operator()(const token_entry& t) const noexcept { return {t.organization, t.name}; }
};

struct name_key_hash {
  std::size_t operator()(const name_key& k) const noexcept {
    std::size_t h = k.organization * 0x9e3779b97f4a7c15ULL;
    for (char c : k.name) {
      h = (h ^ static_cast<unsigned char>(policy::fold_ascii(c))) * 0x100000001b3ULL;
    }
    return h;
  }
};

struct name_key_equal {
  bool operator()(const name_key& a, const name_key& b) const noexcept {
    return a.organization == b.organization && policy::equal_folded(a.name, b.name);
  }
};

struct by_id {};
struct by_name {};
struct by_creator {};
struct by_organization {};

namespace mi = boost::multi_index;

// by_id first, the default view. Tokens are found by secret through `secret_table`, not here.
using token_index = mi::multi_index_container<
    token_entry,
    mi::indexed_by<
        mi::hashed_unique<mi::tag<by_id>, mi::member<token_entry, uuid, &token_entry::id>,
                          uuid_hash>,
        mi::hashed_unique<mi::tag<by_name>, name_key_of, name_key_hash, name_key_equal>,
        mi::hashed_non_unique<mi::tag<by_creator>,
                              mi::member<token_entry, std::uint32_t, &token_entry::creator>>,
        mi::ordered_non_unique<
            mi::tag<by_organization>,
            mi::composite_key<
                token_entry, mi::member<token_entry, std::uint32_t, &token_entry::organization>,
                mi::member<token_entry, store::timestamp, &token_entry::created_at>>>>>;

/// Where a secret hash starts probing in a table of secrets: its first 8 bytes, uniformly
/// distributed since it is an HMAC.
[[nodiscard]] inline std::uint64_t slot_key(const secret_hash& h) noexcept {
  std::uint64_t key;
  std::memcpy(&key, h.data(), sizeof key);
  return key;
}

/// Tokens by the HMAC of a secret, their current one (`Hash` = &token_entry::hash) or the one a
/// rotation replaced (&token_entry::previous_hash). Open addressing with linear probing over
/// 16-byte slots holding the first 8 bytes of the HMAC and the token, at most three quarters
/// full, so that a look-up reads one slot or a few adjacent ones and then the token: two
/// dependent reads from memory, where Boost's hashed index read its bucket, then each node of the
/// bucket up to the token (a token's secret hash lies in its node), and one more to learn that a
/// secret is unknown. From 2 MiB up the slots are aligned to huge pages and offered to the kernel
/// as such, so that a look-up spread over tens of megabytes does not also miss the TLB.
/// It points into a `token_index`, whose elements stay where they are until erased: a token
/// leaves this table before it leaves the index. Read with the token lock shared, changed with
/// it held exclusively.
template <secret_hash token_entry::*Hash>
class secret_table {
 public:
  secret_table() = default;
  secret_table(const secret_table&) = delete;
  secret_table& operator=(const secret_table&) = delete;

  /// The token listed under HMAC `hash` (compared in constant time), or nullptr.
  [[nodiscard]] const token_entry* find(const secret_hash& hash) const noexcept;
  /// Starts reading the slot where `find(hash)` will look first, so that with a table much
  /// larger than the caches the read can overlap other work.
  void prefetch(const secret_hash& hash) const noexcept {
    if (capacity_ != 0) __builtin_prefetch(&slots_[home(slot_key(hash))]);
  }
  /// Lists `t` under its hash, in place of a token listed under the same one.
  void insert(const token_entry& t);
  /// Takes `t` out, if it is listed.
  void erase(const token_entry& t) noexcept;
  /// Makes room for `count` tokens without growing.
  void reserve(std::size_t count);
  [[nodiscard]] std::size_t size() const noexcept { return size_; }

 private:
  struct slot {
    /// The first 8 bytes of the HMAC, which is uniformly distributed: also where probing starts.
    std::uint64_t key = 0;
    /// nullptr: the slot is empty.
    const token_entry* token = nullptr;
  };
  struct free_slots {
    void operator()(slot* p) const noexcept { std::free(p); }
  };

  [[nodiscard]] std::size_t home(std::uint64_t key) const noexcept {
    return static_cast<std::size_t>(key) & (capacity_ - 1);
  }
  /// Moves every token to `capacity` empty slots (a power of two, at least 16).
  void rehash(std::size_t capacity);

  std::unique_ptr<slot[], free_slots> slots_;
  std::size_t capacity_ = 0;
  std::size_t size_ = 0;
};

using current_secret_table = secret_table<&token_entry::hash>;
using previous_secret_table = secret_table<&token_entry::previous_hash>;

/// Strings shared by many tokens, numbered, each with its hash as a directory key (they are the
/// ids of organizations and members). Append-only; read under the token lock.
class string_pool {
 public:
  std::uint32_t intern(const std::string& s) {
    const auto [it, inserted] = index_.try_emplace(s, static_cast<std::uint32_t>(strings_.size()));
    if (inserted) {
      strings_.push_back(s);
      hashes_.push_back(hash_key(s).hash);
    }
    return it->second;
  }
  [[nodiscard]] std::optional<std::uint32_t> find(const std::string& s) const {
    const auto it = index_.find(s);
    if (it == index_.end()) return std::nullopt;
    return it->second;
  }
  [[nodiscard]] const std::string& at(std::uint32_t i) const { return strings_[i]; }
  /// `at(i)`'s hash as a directory key (`hash_key`).
  [[nodiscard]] std::size_t hash_at(std::uint32_t i) const { return hashes_[i]; }

 private:
  std::deque<std::string> strings_;
  std::vector<std::size_t> hashes_;
  std::unordered_map<std::string, std::uint32_t> index_;
};

/// The token named `name` (in any case) in `organization`, or nullptr.
[[nodiscard]] inline const token_entry* find_named(const token_index& tokens,
                                                   std::uint32_t organization,
                                                   std::string_view name) {
  const auto& index = tokens.get<by_name>();
  const auto it = index.find(name_key{organization, name});
  return it == index.end() ? nullptr : &*it;
}

/// How many tokens `organization` has, whatever their status.
[[nodiscard]] inline std::size_t count_in(const token_index& tokens, std::uint32_t organization) {
  const auto [first, last] =
      tokens.get<by_organization>().equal_range(std::make_tuple(organization));
  return static_cast<std::size_t>(std::distance(first, last));
}

/// The record of `t`, as the store keeps it; its ids are read from `pool`.
[[nodiscard]] store::token_record to_record(const token_entry& t, const string_pool& pool);

/// Whether `t` has expired at `now`.
[[nodiscard]] inline bool expired_at(const token_entry& t, store::timestamp now) noexcept {
  return t.expires_at != 0 && now >= t.expires_at;
}

/// The token as callers see it at `now`, without its secret.
[[nodiscard]] token_view to_view(const token_entry& t, const string_pool& pool,
                                 store::timestamp now);

/// The in-memory entry of `r` with its permissions, its ids interned in `pool`. Fails on a
/// malformed id.
[[nodiscard]] outcome<token_entry> to_entry(const store::token_record& r,
                                            std::shared_ptr<const statement_set> permissions,
                                            string_pool& pool);

}  // namespace gatehouse::iam
