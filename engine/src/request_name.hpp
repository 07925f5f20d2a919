// The request's resource name as the walk reads it: each segment split, its path hashed and its
// tags sorted when the walk first needs them. Inline: this is the decision
// path, and splitting the name is a large share of a decision's cost.
#pragma once

#include <gatehouse/policy/name_hash.hpp>

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

namespace gatehouse::engine::detail {

// A segment of the request's resource name. Trivial, so that the walker's array of them costs
// nothing until `name_segments` fills it.
struct rn_segment {
  const char* path_data;
  const char* tags_data;
  std::uint32_t path_size;
  std::uint32_t tags_size;
  bool tagged;
  mutable bool hashed;
  /// Where the walk keeps this segment's tags, sorted: not yet, in `tag_scratch` from
  /// `sorted_begin` to `sorted_end`, or not at all (too many; they are then scanned).
  mutable enum : std::uint8_t { unsorted, sorted, unsortable } tag_order;
  mutable std::uint16_t sorted_begin;
  mutable std::uint16_t sorted_end;
  mutable std::uint64_t path_hash;

  [[nodiscard]] std::string_view path() const noexcept { return {path_data, path_size}; }
  [[nodiscard]] std::string_view tags() const noexcept { return {tags_data, tags_size}; }
  [[nodiscard]] std::uint64_t hash() const noexcept {
    if (!hashed) {
      path_hash = policy::name_hash(path());
      hashed = true;
    }
    return path_hash;
  }
};

// The first byte in [p, end) that is `c` or `or_c`, or `end`. Eight bytes
// at a time, since splitting the resource name is a large share of a decision's cost.
// `floor` is the start of the whole name: a short tail is read as the name's last eight bytes,
// shifted, rather than byte by byte.
inline const char* find_byte(const char* floor, const char* p, const char* end, char c,
                             char or_c) noexcept {
  constexpr std::uint64_t ones = 0x0101010101010101ULL;
  constexpr std::uint64_t highs = 0x8080808080808080ULL;
  static_assert(std::endian::native == std::endian::little, "byte order of the word scan");
  const std::uint64_t pattern = ones * static_cast<unsigned char>(c);
  const std::uint64_t or_pattern = ones * static_cast<unsigned char>(or_c);
  while (p != end) {
    const auto left = static_cast<std::size_t>(end - p);
    std::uint64_t word;
    if (left >= 8) {
      std::memcpy(&word, p, 8);
    } else if (end - floor >= 8) {
      std::memcpy(&word, end - 8, 8);
      word >>= 8 * (8 - left);  // zero bytes shift in; a zero byte never equals a separator
    } else {
      while (p != end && *p != c && *p != or_c) ++p;
      return p;
    }
    const std::uint64_t x = word ^ pattern;
    const std::uint64_t y = word ^ or_pattern;
    // The lowest flagged byte of each is exactly its first match; higher flags may be false.
    const std::uint64_t found = ((x - ones) & ~x & highs) | ((y - ones) & ~y & highs);
    if (found != 0) {
      const auto at = static_cast<std::size_t>(std::countr_zero(found) >> 3);
      return at < left ? p + at : end;
    }
    if (left <= 8) return end;
    p += 8;
  }
  return end;
}

// A tag with its first eight bytes as a big-endian number (zero-padded): ordering by (key,
// text) is ordering by text, and most comparisons of a binary search end on the number.
struct sorted_tag {
  std::uint64_t key;
  std::string_view text;

  static std::uint64_t key_of(std::string_view text) noexcept {
    return __builtin_bswap64(policy::first_bytes(text));
  }
  explicit sorted_tag(std::string_view t = {}) noexcept : key(key_of(t)), text(t) {}
  friend bool operator<(const sorted_tag& a, const sorted_tag& b) noexcept {
    return a.key != b.key ? a.key < b.key : a.text < b.text;
  }
  friend bool operator==(const sorted_tag& a, const sorted_tag& b) noexcept {
    return a.key == b.key && a.text == b.text;
  }
};

// The segments of a resource name, each split once and only when a walk first reaches it: the
// walk visits a segment at several nodes when globs branch, and must not scan it again each
// time, while most walks end before the name does.
class name_segments {
 public:
  /// Splits at most `limit` segments (the deepest pattern's) of `resource`, which is not empty,
  /// into `out`, which has room for them.
  name_segments(std::string_view resource, rn_segment* out, std::size_t limit) noexcept
      : floor_(resource.data()),
        next_(resource.data()),
        end_(resource.data() + resource.size()),
        out_(out),
        limit_(limit) {}

  /// Whether the name has a segment `level`, splitting up to it.
  [[nodiscard]] bool reach(std::size_t level) noexcept {
    while (count_ <= level) {
      if (next_ == nullptr || count_ == limit_) return false;
      split_next();
    }
    return true;
  }

  /// Segment `level`, once `reach(level)` said it exists.
  [[nodiscard]] const rn_segment& operator[](std::size_t level) const noexcept {
    return out_[level];
  }

 private:
  void split_next() noexcept {
    // One scan to the segment's first separator; only a tagged segment scans on to its end.
    const char* const semicolon = find_byte(floor_, next_, end_, ':', ';');
    const char* const colon = semicolon != end_ && *semicolon == ';'
                                  ? find_byte(floor_, semicolon, end_, ':', ':')
                                  : semicolon;
    auto& segment = out_[count_++];
    segment.path_data = next_;
    segment.path_size = static_cast<std::uint32_t>(semicolon - next_);
    segment.tagged = semicolon != colon;
    segment.tags_data = segment.tagged ? semicolon + 1 : colon;
    segment.tags_size = segment.tagged ? static_cast<std::uint32_t>(colon - semicolon - 1) : 0;
    segment.hashed = false;
    segment.tag_order = rn_segment::unsorted;
    next_ = colon == end_ ? nullptr : colon + 1;
  }

  const char* floor_;
  /// Where the next segment starts; nullptr after the last.
  const char* next_;
  const char* end_;
  rn_segment* out_;
  std::size_t limit_;
  std::size_t count_ = 0;
};

}  // namespace gatehouse::engine::detail
