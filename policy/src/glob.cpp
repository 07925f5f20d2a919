// Linear glob matching: anchored head and tail, then the pieces between stars left to right.
#include <gatehouse/policy/glob.hpp>

#include <gatehouse/policy/limits.hpp>
#include <gatehouse/policy/resource_name.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <optional>

namespace gatehouse::policy {
namespace {

constexpr std::size_t npos = std::string_view::npos;

// The leftmost start of `piece` (at most 64 bytes) in `text` at or after `from`, or npos.
// Shift-And: bit j of `state` says that the last j + 1 bytes read are the piece's first j + 1,
// so each byte costs a table look-up, a shift and an and, with no branch on what was read.
std::size_t find_short_piece(std::string_view text, std::size_t from,
                             std::string_view piece) noexcept {
  const std::size_t m = piece.size();
  std::array<std::uint64_t, 256> masks{};
  for (std::size_t j = 0; j < m; ++j) masks[static_cast<unsigned char>(piece[j])] |= 1ULL << j;
  const std::uint64_t found = 1ULL << (m - 1);
  std::uint64_t state = 0;
  for (std::size_t i = from; i < text.size(); ++i) {
    state = ((state << 1) | 1ULL) & masks[static_cast<unsigned char>(text[i])];
    if ((state & found) != 0) return i + 1 - m;
  }
  return npos;
}

constexpr std::size_t shift_and_pays = 256;

// border[i]: the length of the longest proper prefix of piece[0, i] that is also its suffix.
void fill_borders(std::string_view piece, std::uint16_t* border) noexcept {
  border[0] = 0;
  for (std::size_t i = 1, k = 0; i < piece.size(); ++i) {
    while (k > 0 && piece[i] != piece[k]) k = border[k - 1];
    if (piece[i] == piece[k]) ++k;
    border[i] = static_cast<std::uint16_t>(k);
  }
}

// Knuth-Morris-Pratt with the piece's borders. While no prefix of the piece is matched, memchr
// skips to the next byte that could begin one, as long as that pays: a jump shorter than
// `skip_pays` turns it off for the next `plain_stretch` bytes, so that a text full of the
// piece's first byte costs one comparison a byte, not a call.
std::size_t kmp_search(std::string_view text, std::size_t from, std::string_view piece,
                       const std::uint16_t* border) noexcept {
  const std::size_t m = piece.size();
  const std::size_t n = text.size();
  if (from > n || m > n - from) return npos;
  constexpr std::size_t skip_pays = 16;
  constexpr std::size_t plain_stretch = 256;
  // A short text (a tag) is read byte by byte from the start: a call costs more than it skips.
  std::size_t plain_until = n - from < plain_stretch ? n : from;
  std::size_t k = 0;
  for (std::size_t i = from; i < n; ++i) {
    if (k == 0 && i >= plain_until && text[i] != piece[0]) {
      const void* next = std::memchr(text.data() + i, piece[0], n - i);
      if (next == nullptr) return npos;
      const auto at = static_cast<std::size_t>(static_cast<const char*>(next) - text.data());
      if (at - i < skip_pays) plain_until = at + plain_stretch;
      i = at;
    }
    while (k > 0 && text[i] != piece[k]) k = border[k - 1];
    if (text[i] == piece[k]) ++k;
    if (k == m) return i + 1 - m;
  }
  return npos;
}

std::size_t find_byte(std::string_view text, std::size_t from, char c) noexcept {
  if (from >= text.size()) return npos;
  const void* at = std::memchr(text.data() + from, c, text.size() - from);
  return at == nullptr ? npos
                       : static_cast<std::size_t>(static_cast<const char*>(at) - text.data());
}

// The leftmost start of `piece` in `text` at or after `from`, or npos: one byte by memchr, up to
// 64 by Shift-And, longer ones by Knuth-Morris-Pratt with its border table on the stack.
std::size_t find_piece(std::string_view text, std::size_t from, std::string_view piece) noexcept {
  const std::size_t m = piece.size();
  const std::size_t n = text.size();
  if (from > n || m > n - from) return npos;
  if (m == 1) return find_byte(text, from, piece[0]);
  // Shift-And's table costs 2 KiB of stores, which only a text of some length repays; a tag or a
  // short path takes Knuth-Morris-Pratt, whose table is the piece's length.
  if (m <= 64 && n - from >= shift_and_pays) return find_short_piece(text, from, piece);
  if (m > max_pattern_bytes) {
    // Beyond the pattern limit, which nothing compiled or validated can hold; std::string_view's
    // search is correct there, if not linear.
    return text.find(piece, from);
  }
  std::array<std::uint16_t, max_pattern_bytes> border;  // NOLINT: filled up to m before use
  fill_borders(piece, border.data());
  return kmp_search(text, from, piece, border.data());
}

// Calls `each(piece, offset)` for every non-empty piece of `middle` (split at its stars), left to
// right, with its offset in `middle`; stops, returning false, at the first call that does.
template <class Each>
bool for_each_piece(std::string_view middle, Each&& each) {
  std::size_t offset = 0;
  while (offset < middle.size()) {
    const std::size_t star = middle.find('*', offset);
    const std::size_t end = star == npos ? middle.size() : star;
    if (end > offset && !each(middle.substr(offset, end - offset), offset)) return false;
    offset = end + 1;
  }
  return true;
}

// What a starred glob's head and tail leave of `text`, which its middle must match; nothing when
// `text` does not start with the head and end with the tail, apart.
std::optional<std::string_view> between_head_and_tail(const glob_parts& glob,
                                                      std::string_view text) noexcept {
  if (text.size() < glob.head.size() + glob.tail.size()) return std::nullopt;
  if (!text.starts_with(glob.head) || !text.ends_with(glob.tail)) return std::nullopt;
  return text.substr(glob.head.size(), text.size() - glob.head.size() - glob.tail.size());
}

}  // namespace

glob_parts glob_parts::of(std::string_view glob) noexcept {
  const std::size_t first_star = glob.find('*');
  if (first_star == npos) return {glob, {}, {}, false};
  const std::size_t last_star = glob.rfind('*');
  return {glob.substr(0, first_star),
          first_star == last_star ? std::string_view{}
                                  : glob.substr(first_star + 1, last_star - first_star - 1),
          glob.substr(last_star + 1), true};
}

bool glob_match(const glob_parts& glob, std::string_view text) noexcept {
  if (!glob.starred) return glob.head == text;
  const auto window = between_head_and_tail(glob, text);
  if (!window) return false;
  // The pieces between the first and the last star, each after the one before, inside what the
  // head and the tail leave of the text. The leftmost place of each piece leaves the most room
  // for those after it, so no choice is ever revisited.
  std::size_t at = 0;
  return for_each_piece(glob.middle, [&](std::string_view piece, std::size_t) {
    const std::size_t found = find_piece(*window, at, piece);
    if (found == npos) return false;
    at = found + piece.size();
    return true;
  });
}

bool glob_match(std::string_view pattern, std::string_view text) noexcept {
  return glob_match(glob_parts::of(pattern), text);
}

prepared_glob::prepared_glob(std::string_view glob) noexcept : parts_(glob_parts::of(glob)) {
  prepared_ = parts_.middle.size() <= borders_.size();
  if (!prepared_) return;
  for_each_piece(parts_.middle, [&](std::string_view text, std::size_t offset) {
    fill_borders(text, borders_.data() + offset);
    pieces_[piece_count_++] = {static_cast<std::uint16_t>(offset),
                               static_cast<std::uint16_t>(text.size())};
    return true;
  });
}

bool prepared_glob::matches(std::string_view text) const noexcept {
  if (!prepared_) return glob_match(parts_, text);
  if (!parts_.starred) return parts_.head == text;
  const auto window = between_head_and_tail(parts_, text);
  if (!window) return false;
  std::size_t at = 0;
  for (std::size_t p = 0; p < piece_count_; ++p) {
    const auto [offset, size] = pieces_[p];
    const std::string_view text_piece = parts_.middle.substr(offset, size);
    const std::size_t found = size == 1
                                  ? find_byte(*window, at, text_piece[0])
                                  : kmp_search(*window, at, text_piece, borders_.data() + offset);
    if (found == npos) return false;
    at = found + size;
  }
  return true;
}

bool scans_path(std::string_view glob) noexcept {
  const std::size_t first_star = glob.find('*');
  if (first_star == npos) return false;
  std::string_view middle = glob.substr(first_star + 1, glob.rfind('*') - first_star);
  while (!middle.empty()) {
    const std::size_t star = middle.find('*');
    if (middle.substr(0, star).size() >= 2) return true;
    if (star == npos) break;
    middle.remove_prefix(star + 1);
  }
  return false;
}

bool scans_tags(std::string_view glob) noexcept {
  const std::size_t first_star = glob.find('*');
  if (first_star == npos) return false;
  // `*` alone or a prefix: every star at the end.
  return glob.find_first_not_of('*', first_star) != npos;
}

std::size_t glob_min_length(std::string_view pattern) noexcept {
  return pattern.size() - static_cast<std::size_t>(std::count(pattern.begin(), pattern.end(), '*'));
}

std::size_t scanning_globs(const resource_pattern& pattern) noexcept {
  std::size_t n = 0;
  for (const auto& segment : pattern.segments) {
    n += scans_path(segment.path) ? 1 : 0;
    for (const auto& tag : segment.tags) n += scans_tags(tag) ? 1 : 0;
  }
  return n;
}

}  // namespace gatehouse::policy
