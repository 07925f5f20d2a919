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

namespace gatehouse::engine {

/// Entries are spread over `shard_count` shards by key hash; a copy of the map copies the shard
/// pointers only. The first write to a shard that another copy still holds copies that shard
/// (about size / shard_count entries), so a published snapshot never changes under its readers.
/// Writes are not thread-safe; a map that others can read must not be written.
template <class T>
class cow_map {
 public:
  using value_ptr = std::shared_ptr<const T>;
  static constexpr std::size_t shard_count = 256;

  /// The value under `key`, or nullptr.
  [[nodiscard]] const T* find(std::string_view key) const {
    const auto* p = find_ptr(key);
    return p ? p->get() : nullptr;
  }

  /// The shared pointer under `key`, or nullptr when there is none.
  [[nodiscard]] const value_ptr* find_ptr(std::string_view key) const {
    const auto& s = shards_[shard_of(key)];
    if (!s) return nullptr;
    const auto it = s->find(key);
    return it == s->end() ? nullptr : &it->second;
  }

  [[nodiscard]] bool contains(std::string_view key) const { return find_ptr(key) != nullptr; }

  /// The value under `key`; throws std::out_of_range when there is none.
  [[nodiscard]] const T& at(std::string_view key) const {
    const auto* p = find_ptr(key);
    if (!p) throw std::out_of_range("cow_map::at");
    return **p;
  }

  void set(const std::string& key, value_ptr value) {
    writable(shard_of(key))[key] = std::move(value);
  }

  void erase(std::string_view key) {
    const auto i = shard_of(key);
    if (!shards_[i] || !shards_[i]->contains(key)) return;
    auto& s = writable(i);
    s.erase(s.find(key));
  }

  [[nodiscard]] std::size_t size() const {
    std::size_t n = 0;
    for (const auto& s : shards_) n += s ? s->size() : 0;
    return n;
  }

  /// Calls `f(key, value)` for every entry, in no particular order.
  template <class F>
  void for_each(F&& f) const {
    for (const auto& s : shards_) {
      if (!s) continue;
      for (const auto& [key, value] : *s) f(key, *value);
    }
  }

  /// Calls `f(key, before, after)` for every key whose value differs between the two maps (by
  /// identity: a value replaced by an equal copy counts), with nullptr for a side that lacks it.
  /// Shards the two maps share are skipped, so the cost follows the edits since `before` was
  /// copied into `after`.
  template <class F>
  static void for_each_difference(const cow_map& before, const cow_map& after, F&& f) {
    for (std::size_t i = 0; i < shard_count; ++i) {
      const auto& b = before.shards_[i];
      const auto& a = after.shards_[i];
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
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  using shard = std::unordered_map<std::string, value_ptr, key_hash, std::equal_to<>>;

  static std::size_t shard_of(std::string_view key) noexcept {
    // The high bits pick the shard; the shard's own buckets use the hash modulo a prime.
    return static_cast<std::size_t>((key_hash{}(key)*0x9e3779b97f4a7c15ULL) >> 56) % shard_count;
  }

  // A shard held by this map alone is edited in place: nobody else can see it. Any other shard
  // is copied first. A map being edited is private to its writer, so the count cannot rise.
  shard& writable(std::size_t i) {
    auto& s = shards_[i];
    if (!s) {
      s = std::make_shared<shard>();
    } else if (s.use_count() > 1) {
      s = std::make_shared<shard>(*s);
    }
    return *s;
  }

  std::array<std::shared_ptr<shard>, shard_count> shards_{};
};

}  // namespace gatehouse::engine
