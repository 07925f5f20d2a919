// Tests of the name hash behind the action catalogue and the engine's literal edges: what it
// reads of a name, and that tables indexed by its low bits stay even for families of names.
#include <gatehouse/policy/name_hash.hpp>

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <string>
#include <vector>

using namespace gatehouse::policy;

namespace {

struct probe_counts {
  double mean = 0;
  std::size_t most = 0;
};

// Files `names` into an open-addressed table of twice their number, indexed by the low bits of
// the hash and probed linearly, as the catalogue and the engine do.
probe_counts file_into_table(const std::vector<std::string>& names) {
  const std::size_t capacity = std::bit_ceil(names.size() * 2);
  std::vector<bool> used(capacity);
  std::size_t total = 0;
  probe_counts out;
  for (const auto& name : names) {
    std::size_t probes = 1;
    auto i = name_hash(name) & (capacity - 1);
    for (; used[i]; i = (i + 1) & (capacity - 1)) ++probes;
    used[i] = true;
    total += probes;
    out.most = std::max(out.most, probes);
  }
  out.mean = static_cast<double>(total) / static_cast<double>(names.size());
  return out;
}

std::vector<std::string> numbered(const std::string& stem, std::size_t n) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back(stem + std::to_string(i));
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(name_hash_suite)

BOOST_AUTO_TEST_CASE(reads_the_length_and_the_first_and_last_eight_bytes) {
  BOOST_TEST(name_hash("project/web") == name_hash(std::string("project/web")));
  BOOST_TEST(name_hash("flag/checkout-12") != name_hash("flag/checkout-13"));
  BOOST_TEST(name_hash("a") != name_hash("a-"));
  BOOST_TEST(name_hash("") != name_hash("a"));
  // Bytes between the first and last eight are not read: such names collide by design.
  BOOST_TEST(name_hash("project/web-1-frontend") == name_hash("project/web-2-frontend"));
  BOOST_TEST(first_bytes("abc") == first_bytes(std::string("abc\0\0\0\0\0", 8)));
}

// Each length takes its own path through first_bytes (overlapping loads, single bytes): every
// length up to past eight against a byte-by-byte reading, with distinct bytes so that a byte
// read from the wrong place shows.
BOOST_AUTO_TEST_CASE(first_bytes_reads_exactly_the_first_eight_bytes_at_every_length) {
  const std::string text = "\x01\x82\x13\xa4\x35\x46\xf7\x68\x99\x1a\xbb";
  for (std::size_t n = 0; n <= text.size(); ++n) {
    std::uint64_t expected = 0;
    for (std::size_t i = 0; i < std::min<std::size_t>(n, 8); ++i) {
      expected |= std::uint64_t{static_cast<unsigned char>(text[i])} << (8 * i);
    }
    BOOST_TEST(first_bytes(std::string_view(text).substr(0, n)) == expected, "length " << n);
  }
}

// Names that differ only in their last bytes (the common case: numbered projects and flags) must
// spread over the low bits too, or a look-up would walk a long run of slots.
BOOST_AUTO_TEST_CASE(families_of_names_spread_over_the_low_bits) {
  for (const auto& family : {numbered("flag/checkout-", 20000), numbered("env/e", 20000),
                             numbered("project/web-", 20000), numbered("x", 5000)}) {
    const probe_counts probes = file_into_table(family);
    BOOST_TEST(probes.mean < 2.0, family.front() << ": mean " << probes.mean);
    BOOST_TEST(probes.most < 40U, family.front() << ": most " << probes.most);
  }
}

BOOST_AUTO_TEST_SUITE_END()
