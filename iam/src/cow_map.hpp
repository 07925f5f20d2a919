// cow_map: a string-keyed map of shared immutable values whose copies share storage, so that a
// directory snapshot can be copied and edited in time proportional to the edit, not to its size.
#pragma once

#include <array>
#include <cstddef>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>

namespace gatehouse::iam {

/// A key with its hash, computed once: a look-up by it hashes nothing, which pays for the ids
/// that every authentication by token looks up.
struct hashed_key {
  std::string_view text;
  std::size_t hash = 0;
};

/// `text` with the hash that cow_map files it under.
[[nodiscard]] inline hashed_key hash_key(std::string_view text) noexcept {
  return {text, std::hash<std::string_view>{}(text)};
}

/// Entries are spread by key hash over `shard_count` shards, reached through `fan_out` branches
/// of `fan_out` shards each; a copy of the map copies the branch pointers only. The first write
/// under a branch or to a shard that another copy still holds copies that branch (its shard
/// pointers) or that shard (about size / shard_count entries), so a published snapshot never
/// changes under its readers. At 100,000 entries an edit copies ~25 of them.
/// Writes are not thread-safe; a map that others can read must not be written.
template <class T>
class cow_map {
 public:
  using value_ptr = std::shared_ptr<const T>;
  static constexpr std::size_t fan_out = 64;
  static constexpr std::size_t shard_count = fan_out * fan_out;

  /// The value under `key`, or nullptr.
  [[nodiscard]] const T* find(std::string_view key) const {
    const auto* p = find_ptr(key);
    return p ? p->get() : nullptr;
  }

  /// The shared pointer under `key`, or nullptr when there is none.
  [[nodiscard]] const value_ptr* find_ptr(std::string_view key) const {
    return find_ptr(hash_key(key));
  }

  [[nodiscard]] const value_ptr* find_ptr(const hashed_key& key) const {
    const auto* s = shard_at(shard_of(key.hash));
    if (!s) return nullptr;
    const auto it = s->find(key);
    return it == s->end() ? nullptr : &it->second;
  }

  [[nodiscard]] bool contains(std::string_view key) const { return find_ptr(key) != nullptr; }
  [[nodiscard]] bool contains(const hashed_key& key) const { return find_ptr(key) != nullptr; }

  /// The value under `key`; throws std::out_of_range when there is none.
  [[nodiscard]] const T& at(std::string_view key) const {
    const auto* p = find_ptr(key);
    if (!p) throw std::out_of_range("cow_map::at");
    return **p;
  }

  void set(const std::string& key, value_ptr value) {
    writable(shard_of(hash_key(key).hash))[key] = std::move(value);
  }

  void erase(std::string_view key) {
    const auto i = shard_of(hash_key(key).hash);
    if (const auto* s = shard_at(i); !s || !s->contains(key)) return;
    auto& s = writable(i);
    s.erase(s.find(key));
  }

  [[nodiscard]] std::size_t size() const {
    std::size_t n = 0;
    for_each_shard([&](const shard& s) { n += s.size(); });
    return n;
  }

  /// Calls `f(key, value)` for every entry, in no particular order.
  template <class F>
  void for_each(F&& f) const {
    for_each_shard([&](const shard& s) {
      for (const auto& [key, value] : s) f(key, *value);
    });
  }

  /// Calls `f(key, before, after)` for every key whose value differs between the two maps (by
  /// identity: a value replaced by an equal copy counts), with nullptr for a side that lacks it.
  /// Branches and shards the two maps share are skipped, so the cost follows the edits since
  /// `before` was copied into `after`.
  template <class F>
  static void for_each_difference(const cow_map& before, const cow_map& after, F&& f) {
    for (std::size_t i = 0; i < shard_count; ++i) {
      if (i % fan_out == 0 && before.branches_[i / fan_out] == after.branches_[i / fan_out]) {
        i += fan_out - 1;
        continue;
      }
      const shard* b = before.shard_at(i);
      const shard* a = after.shard_at(i);
      if (a == b) continue;
      if (b) {
        for (const auto& [key, value] : *b) {
          const value_ptr* now = nullptr;
          if (a) {
            const auto it = a->find(key);
            if (it != a->end()) now = &it->second;
          }
          if (!now || *now != value) f(key, value.get(), now ? now->get() : nullptr);
        }
      }
      if (a) {
        for (const auto& [key, value] : *a) {
          if (!b || !b->contains(key)) f(key, nullptr, value.get());
        }
      }
    }
  }

 private:
  struct key_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return hash_key(s).hash; }
    std::size_t operator()(const hashed_key& k) const noexcept { return k.hash; }
  };
  struct key_equal {
    using is_transparent = void;
    bool operator()(std::string_view a, std::string_view b) const noexcept { return a == b; }
    bool operator()(const hashed_key& a, std::string_view b) const noexcept { return a.text == b; }
    bool operator()(std::string_view a, const hashed_key& b) const noexcept { return a == b.text; }
  };
  using shard = std::unordered_map<std::string, value_ptr, key_hash, key_equal>;
  using branch = std::array<std::shared_ptr<shard>, fan_out>;

  static std::size_t shard_of(std::size_t hash) noexcept {
    // The high bits pick the shard; the shard's own buckets use the hash modulo a prime.
    return static_cast<std::size_t>((hash * 0x9e3779b97f4a7c15ULL) >> 52) % shard_count;
  }

  [[nodiscard]] const shard* shard_at(std::size_t i) const {
    const auto& b = branches_[i / fan_out];
    return b ? (*b)[i % fan_out].get() : nullptr;
  }

  template <class F>
  void for_each_shard(F&& f) const {
    for (const auto& b : branches_) {
      if (!b) continue;
      for (const auto& s : *b) {
        if (s) f(*s);
      }
    }
  }

  // A branch or shard held by this map alone is edited in place: nobody else can see it. Any
  // other is copied first. A map being edited is private to its writer, so no count can rise.
  // The writer must keep the map it copied from alive until it is done (service's mutate
  // holds the previous snapshot): every node the copy started with then counts at least 2,
  // and a count of 1 can only be a node this edit made.
  template <class Node>
  static Node& owned(std::shared_ptr<Node>& p) {
    if (!p) {
      p = std::make_shared<Node>();
    } else if (p.use_count() > 1) {
      p = std::make_shared<Node>(*p);
    }
    return *p;
  }

  shard& writable(std::size_t i) { return owned(owned(branches_[i / fan_out])[i % fan_out]); }

  std::array<std::shared_ptr<branch>, fan_out> branches_{};
};

}  // namespace gatehouse::iam
