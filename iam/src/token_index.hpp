// The token index: every access token in memory, on Boost.MultiIndex, found by id, by secret
// hash (authentication), by name within its organization, by creator and by organization in
// creation order; the table of rotated tokens' replaced secrets; and the string pool that interns
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
/// them, and the per-token budget is 512 bytes. What authentication by the current secret reads
/// comes last, ending with the secret hash: the by-hash index is the innermost of `token_index`,
/// so its links follow the value directly and a look-up touches one or two cache lines of the
/// node. With a million tokens every line touched is a cache miss. A replaced secret is found
/// through `previous_secret_table`, which points at the start of the value.
struct token_entry {
  std::string name;
  std::array<char, secret_prefix_length> prefix{};
  store::timestamp created_at = 0;
  store::timestamp updated_at = 0;
  shared_time persisted_last_used;
  /// The secret a rotation replaced, while its grace period lasts (`previous_until` 0: none).
  secret_hash previous_hash{};
  store::timestamp previous_until = 0;
  // Read by authentication.
  std::shared_ptr<const statement_set> permissions;
  shared_time last_used;
  uuid id{};
  /// 0: never.
  store::timestamp expires_at = 0;
  std::uint32_t organization = 0;
  std::uint32_t creator = 0;
  store::token_type type = store::token_type::personal;
  store::token_status status = store::token_status::active;
  secret_hash hash{};
};

struct uuid_hash {
  std::size_t operator()(const uuid& u) const noexcept {
    std::size_t h;
    std::memcpy(&h, u.data(), sizeof h);  // random bytes: any 8 of them are a good hash
    return h;
  }
};

struct secret_hash_hash {
  std::size_t operator()(const secret_hash& h) const noexcept {
    std::size_t out;
    std::memcpy(&out, h.data(), sizeof out);  // an HMAC output is uniformly distributed
    return out;
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
struct by_hash {};
struct by_name {};
struct by_creator {};
struct by_organization {};

namespace mi = boost::multi_index;

// by_id first (the default view), by_hash last: the last index's links sit next to the value.
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
            mi::composite_key<token_entry,
                              mi::member<token_entry, std::uint32_t, &token_entry::organization>,
                              mi::member<token_entry, store::timestamp, &token_entry::created_at>>>,
        mi::hashed_unique<mi::tag<by_hash>,
                          mi::member<token_entry, secret_hash, &token_entry::hash>,
                          secret_hash_hash, secret_hash_equal>>>;

/// The replaced secrets of rotated tokens, by HMAC, each with the token it belonged to. Open
/// addressing with linear probing over 16-byte slots, at most three quarters full: a look-up
/// reads a slot or a few adjacent ones, then the token; two dependent reads from memory, where a
/// node-based map keyed to the token's id took four (its bucket, its node, the by-id bucket, the
/// token) and about 75 bytes a rotated token instead of about 35.
/// It points into a `token_index`, whose elements stay where they are until erased: a token
/// leaves this table before it leaves the index. Read with the token lock shared, changed with
/// it held exclusively.
class previous_secret_table {
 public:
  /// The token whose replaced secret has HMAC `hash` (compared in constant time), or nullptr.
  /// Its grace period is the caller's to check.
  [[nodiscard]] const token_entry* find(const secret_hash& hash) const noexcept;
  /// Lists `t` under its `previous_hash`, in place of a token listed under the same one.
  void insert(const token_entry& t);
  /// Takes `t` out, if it is listed.
  void erase(const token_entry& t) noexcept;
  [[nodiscard]] std::size_t size() const noexcept { return size_; }

 private:
  struct slot {
    /// The first 8 bytes of the HMAC, which is uniformly distributed: also where probing starts.
    std::uint64_t key = 0;
    /// nullptr: the slot is empty.
    const token_entry* token = nullptr;
  };

  [[nodiscard]] std::size_t home(std::uint64_t key) const noexcept {
    return static_cast<std::size_t>(key) & (slots_.size() - 1);
  }
  /// Doubles the slots (a power of two, at least 16) and places every token again.
  void grow();

  std::vector<slot> slots_;
  std::size_t size_ = 0;
};

/// Strings shared by many tokens, numbered. Append-only; read under the token lock.
class string_pool {
 public:
  std::uint32_t intern(const std::string& s) {
    const auto [it, inserted] = index_.try_emplace(s, static_cast<std::uint32_t>(strings_.size()));
    if (inserted) strings_.push_back(s);
    return it->second;
  }
  [[nodiscard]] std::optional<std::uint32_t> find(const std::string& s) const {
    const auto it = index_.find(s);
    if (it == index_.end()) return std::nullopt;
    return it->second;
  }
  [[nodiscard]] const std::string& at(std::uint32_t i) const { return strings_[i]; }

 private:
  std::deque<std::string> strings_;
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
