// Glob matching: table vectors, and agreement with the backtracking matcher it replaced on random
// patterns and texts.
#include <gatehouse/policy/glob.hpp>

#include <gatehouse/policy/limits.hpp>

#include <array>
#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <ostream>
#include <random>
#include <string>

namespace {

using gatehouse::policy::glob_match;
using gatehouse::policy::glob_min_length;

struct glob_vector {
  const char* pattern;
  const char* text;
  bool expected;
};
std::ostream& operator<<(std::ostream& os, const glob_vector& v) {
  return os << v.pattern << " ~ " << v.text;
}

// Three vectors per line, in columns.
// clang-format off
const std::array<glob_vector, 27> glob_vectors = {{
    {"*", "", true},          {"*", "anything", true},   {"", "", true},
    {"", "a", false},         {"a", "a", true},          {"a", "A", false},
    {"a*", "a", true},        {"a*", "ab", true},        {"a*", "ba", false},
    {"*a", "ba", true},       {"*a", "ab", false},       {"a*b", "ab", true},
    {"a*b", "axxb", true},    {"a*b", "axxba", false},   {"*a*a*", "aa", true},
    {"*a*a*", "a", false},    {"**", "x", true},         {"a*b*c", "abbbcbc", true},
    {"ab*ba", "aba", false},  {"*aab*", "aaab", true},   {"*abab*", "abaabab", true},
    {"*aba*b", "ababab", true}, {"a*a", "a", false},     {"*aaab*", "aaaaab", true},
    {"*ab*cd*", "acdab", false}, {"x*ab*ab*y", "xabay", false}, {"*a*", "bbb", false},
}};
// clang-format on

// The matcher gatehouse used before: greedy, backtracking to the last star. Correct, and the
// oracle here; O(|pattern| x |text|) at worst, which is why it was replaced.
bool backtracking_match(std::string_view pattern, std::string_view text) {
  std::size_t p = 0;
  std::size_t t = 0;
  std::size_t star = std::string_view::npos;
  std::size_t resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::string random_text(std::mt19937& rng, std::string_view alphabet, std::size_t max_length) {
  std::uniform_int_distribution<std::size_t> length(0, max_length);
  std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
  std::string out(length(rng), ' ');
  for (auto& c : out) c = alphabet[pick(rng)];
  return out;
}

struct glob_case {
  std::string pattern;
  std::string text;
};

// Runs `cases` generated cases through glob_match and the backtracking matcher, which must agree;
// both outcomes must be well represented, so that the agreement says something.
template <class Generate>
void check_agreement(int cases, Generate generate) {
  std::size_t matched = 0;
  for (int i = 0; i < cases; ++i) {
    const glob_case c = generate(i);
    const bool expected = backtracking_match(c.pattern, c.text);
    matched += expected ? 1 : 0;
    if (glob_match(c.pattern, c.text) != expected) {
      BOOST_FAIL("\"" << c.pattern << "\" ~ \"" << c.text << "\": expected " << expected);
    }
  }
  BOOST_TEST(matched > static_cast<std::size_t>(cases / 10));
  BOOST_TEST(matched < static_cast<std::size_t>(cases * 9 / 10));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(glob_tests)

BOOST_DATA_TEST_CASE(glob_matching, boost::unit_test::data::make(glob_vectors), v) {
  BOOST_TEST(glob_match(v.pattern, v.text) == v.expected);
  BOOST_TEST(backtracking_match(v.pattern, v.text) == v.expected);
}

// Small alphabets make pieces repeat and overlap, which is where a piece search that skips too
// far, or a greedy step in the wrong place, shows; star runs and empty pieces come for free.
BOOST_AUTO_TEST_CASE(agrees_with_the_backtracking_matcher) {
  std::mt19937 rng(20261130);
  check_agreement(200'000, [&](int i) {
    glob_case c;
    c.pattern = random_text(rng, i % 2 == 0 ? "ab*" : "a*", 12);
    c.text = random_text(rng, i % 3 == 0 ? "ab" : "abc", 16);
    return c;
  });
}

// Pieces of more than 64 bytes take the Knuth-Morris-Pratt path: periodic pieces (whose borders
// are long) planted in texts with near-misses of themselves.
BOOST_AUTO_TEST_CASE(long_pieces_agree_with_the_backtracking_matcher) {
  std::mt19937 rng(77);
  check_agreement(3'000, [&](int) {
    const std::string unit = random_text(rng, "ab", 4) + "a";
    std::string piece;
    while (piece.size() < 65 + rng() % 40) piece += unit;
    std::string near_miss = piece;
    near_miss[rng() % near_miss.size()] ^= 3;  // 'a' <-> 'b'
    glob_case c;
    c.text = random_text(rng, "ab", 20) + near_miss + random_text(rng, "ab", 10);
    if (rng() % 2 == 0) c.text += piece.substr(rng() % 3) + random_text(rng, "ab", 10);
    c.pattern = (rng() % 2 ? "*" : "") + std::string("*") + piece + "*" +
                (rng() % 2 ? random_text(rng, "ab", 2) : "");
    return c;
  });
}

BOOST_AUTO_TEST_CASE(which_globs_scan) {
  using gatehouse::policy::scans_path;
  using gatehouse::policy::scans_tags;
  // Paths: only a piece of two or more bytes between two stars is searched for.
  BOOST_TEST(scans_path("*web*"));
  BOOST_TEST(scans_path("a*bc*d"));
  BOOST_TEST(scans_path("**ab**"));
  BOOST_TEST(!scans_path("*"));
  BOOST_TEST(!scans_path("web"));
  BOOST_TEST(!scans_path("web*"));
  BOOST_TEST(!scans_path("*-beta"));
  BOOST_TEST(!scans_path("a*b"));
  BOOST_TEST(!scans_path("*/*"));
  BOOST_TEST(!scans_path("a*b*c"));
  // Tags: every glob but a literal, a star alone or a prefix.
  BOOST_TEST(!scans_tags("beta"));
  BOOST_TEST(!scans_tags("*"));
  BOOST_TEST(!scans_tags("beta*"));
  BOOST_TEST(!scans_tags("beta**"));
  BOOST_TEST(scans_tags("*beta"));
  BOOST_TEST(scans_tags("b*a"));
}

BOOST_AUTO_TEST_CASE(agrees_at_the_size_limits) {
  // The worst shapes for a backtracking matcher, at the pattern and request limits.
  const std::string name(gatehouse::policy::max_request_resource_bytes - 1, 'A');
  std::string stars;
  for (std::size_t i = 0; stars.size() + 2 <= gatehouse::policy::max_pattern_bytes; ++i) {
    stars += "*A";
  }
  BOOST_TEST(glob_match(stars, name));
  BOOST_TEST(!glob_match(stars + "*B", name));
  BOOST_TEST(glob_match(stars + "*B", name + "B"));
  const std::string long_piece =
      "*" + std::string(gatehouse::policy::max_pattern_bytes - 2, 'A') + "B";
  BOOST_TEST(!glob_match(long_piece, name));
  BOOST_TEST(glob_match(long_piece, name + "B"));
  BOOST_TEST(glob_match("*" + long_piece.substr(1) + "*", name.substr(7) + "B" + name));
}

BOOST_AUTO_TEST_CASE(min_length_counts_the_bytes_other_than_stars) {
  BOOST_TEST(glob_min_length("") == 0U);
  BOOST_TEST(glob_min_length("***") == 0U);
  BOOST_TEST(glob_min_length("a*b**c") == 3U);
}

BOOST_AUTO_TEST_SUITE_END()
