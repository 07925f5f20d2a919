// cow_map against a std::map model: copies stay as they were when later copies are edited, and
// for_each_difference names exactly the keys whose values changed.
#include "cow_map.hpp"

#include <boost/test/unit_test.hpp>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace {

using gatehouse::iam::cow_map;
using model = std::map<std::string, int>;

model contents(const cow_map<int>& m) {
  model out;
  m.for_each([&](const std::string& key, int value) { out[key] = value; });
  return out;
}

BOOST_AUTO_TEST_SUITE(cow_map_tests)

BOOST_AUTO_TEST_CASE(lookups_and_edits) {
  cow_map<int> m;
  BOOST_TEST(m.find("a") == nullptr);
  BOOST_CHECK_THROW(static_cast<void>(m.at("a")), std::out_of_range);
  m.set("a", std::make_shared<const int>(1));
  m.set("b", std::make_shared<const int>(2));
  m.set("a", std::make_shared<const int>(3));
  BOOST_TEST(m.at("a") == 3);
  BOOST_TEST(*m.find("b") == 2);
  BOOST_TEST(m.size() == 2U);
  m.erase("a");
  m.erase("missing");
  BOOST_TEST(!m.contains("a"));
  BOOST_TEST(m.size() == 1U);
}

// A key hashed once (as the token index keeps its interned ids) finds what its text finds, in
// every shard; the hash alone or the text alone is not enough.
BOOST_AUTO_TEST_CASE(a_key_with_its_hash_finds_what_its_text_finds) {
  using gatehouse::iam::hash_key;
  using gatehouse::iam::hashed_key;
  cow_map<int> m;
  for (int i = 0; i < 20'000; i += 2) {
    m.set("member-" + std::to_string(i), std::make_shared<const int>(i));
  }
  std::size_t agreeing = 0;
  for (int i = 0; i < 20'000; ++i) {
    const std::string key = "member-" + std::to_string(i);
    const hashed_key hashed = hash_key(key);
    const int* by_text = m.find(key);
    const auto* by_hash = m.find_ptr(hashed);
    if ((by_hash == nullptr ? nullptr : by_hash->get()) == by_text &&
        m.contains(hashed) == (i % 2 == 0)) {
      ++agreeing;
    }
  }
  BOOST_TEST(agreeing == 20'000U);
  // The same hash with another text, and the right text under another hash, find nothing.
  BOOST_TEST(!m.contains(hashed_key{"member-3", hash_key("member-2").hash}));
  BOOST_TEST(!m.contains(hashed_key{"member-2", hash_key("member-3").hash}));
  BOOST_TEST(m.contains(hashed_key{"member-2", hash_key("member-2").hash}));
}

// Random edits over a few thousand keys (enough to fill many shards more than once), with a
// snapshot taken every so often; every snapshot must still equal the model of its time, and the
// difference between consecutive snapshots must be the model's.
BOOST_AUTO_TEST_CASE(snapshots_are_unchanged_by_later_edits) {
  std::mt19937_64 rng(7);
  cow_map<int> live;
  model expected;
  std::vector<std::pair<cow_map<int>, model>> snapshots;
  std::vector<std::shared_ptr<const int>> values;
  for (int step = 0; step < 60'000; ++step) {
    const auto key = "k" + std::to_string(rng() % 5'000);
    if (rng() % 4 == 0) {
      live.erase(key);
      expected.erase(key);
    } else {
      const int value = static_cast<int>(rng() % 1'000);
      live.set(key, std::make_shared<const int>(value));
      expected[key] = value;
    }
    if (step % 2'000 == 1'999) {
      snapshots.emplace_back(live, expected);
      if (snapshots.size() >= 2) {
        const auto& [before, before_model] = snapshots[snapshots.size() - 2];
        const auto& [after, after_model] = snapshots.back();
        model removed;
        model added;
        cow_map<int>::for_each_difference(before, after,
                                          [&](const std::string& k, const int* was, const int* is) {
                                            if (was) removed[k] = *was;
                                            if (is) added[k] = *is;
                                          });
        // A key reported must differ (or have been set again); a key not reported must not.
        for (const auto& [k, v] : before_model) {
          const auto now = after_model.find(k);
          if (now == after_model.end() || now->second != v) BOOST_TEST(removed.contains(k));
        }
        for (const auto& [k, v] : after_model) {
          const auto was = before_model.find(k);
          if (was == before_model.end() || was->second != v) BOOST_TEST(added.contains(k));
          if (!added.contains(k)) BOOST_TEST((was != before_model.end()));
        }
        for (const auto& [k, v] : added) BOOST_TEST(after_model.at(k) == v);
        for (const auto& [k, v] : removed) BOOST_TEST(before_model.at(k) == v);
      }
    }
  }
  BOOST_TEST((contents(live) == expected));
  BOOST_TEST(live.size() == expected.size());
  for (const auto& [snapshot, snapshot_model] : snapshots) {
    BOOST_TEST((contents(snapshot) == snapshot_model));
  }
  // A copy with a few edits differs in exactly those keys, wherever they fall among shards
  // and branches the two still share.
  for (int trial = 0; trial < 500; ++trial) {
    cow_map<int> edited = live;
    std::set<std::string> touched;
    for (std::uint64_t n = 1 + rng() % 3; n > 0; --n) {
      const auto key = "k" + std::to_string(rng() % 6'000);
      touched.insert(key);
      if (rng() % 3 == 0) {
        edited.erase(key);
        if (!live.contains(key)) touched.erase(key);  // erasing a missing key changes nothing
      } else {
        edited.set(key, std::make_shared<const int>(-1));
      }
    }
    std::set<std::string> reported;
    cow_map<int>::for_each_difference(live, edited,
                                      [&](const std::string& k, auto&&...) { reported.insert(k); });
    BOOST_TEST_REQUIRE((reported == touched));
  }
  // An untouched copy differs from its source in nothing.
  const cow_map<int> copy = live;
  std::size_t reported = 0;
  cow_map<int>::for_each_difference(live, copy, [&](auto&&...) { ++reported; });
  BOOST_TEST(reported == 0U);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
