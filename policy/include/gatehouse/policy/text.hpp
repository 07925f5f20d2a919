// ASCII case folding, the one way names are compared case-insensitively: FeatBit folds only
// ASCII letters, so "Ä" and "ä" stay different names while "Web" and "web" are the same one.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>

namespace gatehouse::policy {

[[nodiscard]] constexpr char fold_ascii(char c) noexcept {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

[[nodiscard]] inline std::string fold_ascii(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = fold_ascii(c);
  return out;
}

[[nodiscard]] constexpr bool equal_folded(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return fold_ascii(x) == fold_ascii(y);
         });
}

[[nodiscard]] inline bool contains_folded(std::string_view haystack,
                                          std::string_view needle) noexcept {
  if (needle.empty()) return true;
  const auto it = std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(),
                              [](char x, char y) { return fold_ascii(x) == fold_ascii(y); });
  return it != haystack.end();
}

}  // namespace gatehouse::policy
