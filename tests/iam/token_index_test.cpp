// The token index on its own: each token is found by id, by name (in any case) within its
// organization, by creator and by organization in creation order, and is gone from every view
// once erased; the tables of current and of replaced secrets find a token by its whole hash and
// agree with a map through any sequence of changes; the string pool numbers each id once; records
// survive the trip into the index and back; ids round-trip through their text.
#include "token_index.hpp"

#include <array>
#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include "iam_fixture.hpp"

namespace {

using namespace gatehouse;
using iam::by_creator;
using iam::by_id;
using iam::by_organization;

/// A uuid whose every byte is `n`.
iam::uuid uuid_of(unsigned char n) {
  iam::uuid u{};
  u.fill(n);
  return u;
}

struct index_fixture {
  iam::token_index tokens;
  iam::string_pool pool;
  std::shared_ptr<const iam::statement_set> unscoped =
      iam::make_statement_set("[]", {}, [](const std::string&) {});

  /// A token record: id, hash and creation time all from `n`.
  store::token_record record(unsigned char n, std::string name, std::string organization = "org-a",
                             std::string creator = "alice") const {
    store::token_record r;
    r.id = iam::format_uuid(uuid_of(n));
    r.organization_id = std::move(organization);
    r.name = std::move(name);
    r.type = store::token_type::personal;
    r.status = store::token_status::active;
    r.creator_id = std::move(creator);
    r.secret_hash.fill(n);
    r.secret_prefix = "api-000000";
    r.permissions_json = "[]";
    r.created_at = r.updated_at = 1000 + n;
    r.last_used_at = 5;
    return r;
  }

  /// Indexes `r`; false when the index refused it (a name or id taken).
  bool insert(const store::token_record& r) {
    auto entry = iam::to_entry(r, unscoped, pool);
    BOOST_REQUIRE(entry.has_value());
    return tokens.insert(std::move(*entry)).second;
  }

  [[nodiscard]] std::uint32_t number(const std::string& s) const {
    const auto n = pool.find(s);
    BOOST_REQUIRE_MESSAGE(n.has_value(), s << " is interned");
    return *n;
  }

  /// The names of `organization`'s tokens, oldest first.
  [[nodiscard]] std::vector<std::string> names_in(const std::string& organization) const {
    std::vector<std::string> out;
    const auto [first, last] =
        tokens.get<by_organization>().equal_range(std::make_tuple(number(organization)));
    for (auto it = first; it != last; ++it) out.push_back(it->name);
    return out;
  }
};

BOOST_FIXTURE_TEST_SUITE(token_index_tests, index_fixture)

BOOST_AUTO_TEST_CASE(found_by_id) {
  BOOST_TEST(insert(record(1, "deploy")));
  BOOST_TEST(insert(record(2, "ci")));
  BOOST_TEST(!insert(record(2, "other")));  // the id is taken
  const auto& ids = tokens.get<by_id>();
  const auto it = ids.find(uuid_of(2));
  BOOST_REQUIRE(it != ids.end());
  BOOST_TEST(it->name == "ci");
  BOOST_TEST((ids.find(uuid_of(3)) == ids.end()));
}

BOOST_AUTO_TEST_CASE(names_are_unique_per_organization_in_any_case) {
  BOOST_TEST(insert(record(1, "Deploy")));
  BOOST_TEST(!insert(record(2, "dEPLOY")));
  BOOST_TEST(insert(record(3, "deploy", "org-b")));
  BOOST_TEST(tokens.size() == 2U);
  const auto* found = iam::find_named(tokens, number("org-a"), "DEPLOY");
  BOOST_REQUIRE(found != nullptr);
  BOOST_TEST((found->id == uuid_of(1)));
  BOOST_TEST((iam::find_named(tokens, number("org-b"), "Deploy")->id == uuid_of(3)));
  BOOST_TEST(iam::find_named(tokens, number("org-a"), "deplo") == nullptr);
  BOOST_TEST(iam::find_named(tokens, number("org-a"), "deploy2") == nullptr);
}

BOOST_AUTO_TEST_CASE(found_by_creator) {
  insert(record(1, "a1"));
  insert(record(2, "b1", "org-a", "bob"));
  insert(record(3, "a2"));
  insert(record(4, "a3", "org-b"));
  std::vector<std::string> names;
  const auto [first, last] = tokens.get<by_creator>().equal_range(number("alice"));
  for (auto it = first; it != last; ++it) names.push_back(it->name);
  std::sort(names.begin(), names.end());
  BOOST_TEST(names == (std::vector<std::string>{"a1", "a2", "a3"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(listed_by_organization_in_creation_order) {
  insert(record(3, "third"));
  insert(record(1, "first"));
  insert(record(9, "elsewhere", "org-b"));
  insert(record(2, "second"));
  BOOST_TEST(names_in("org-a") == (std::vector<std::string>{"first", "second", "third"}),
             boost::test_tools::per_element());
  BOOST_TEST(iam::count_in(tokens, number("org-a")) == 3U);
  BOOST_TEST(iam::count_in(tokens, number("org-b")) == 1U);
}

BOOST_AUTO_TEST_CASE(an_erased_token_is_gone_from_every_view) {
  insert(record(1, "deploy"));
  insert(record(2, "ci"));
  BOOST_TEST(tokens.get<by_id>().erase(uuid_of(1)) == 1U);
  BOOST_TEST(iam::find_named(tokens, number("org-a"), "deploy") == nullptr);
  BOOST_TEST(tokens.get<by_creator>().count(number("alice")) == 1U);
  BOOST_TEST(names_in("org-a") == std::vector<std::string>{"ci"}, boost::test_tools::per_element());
  // Its name is free again.
  BOOST_TEST(insert(record(3, "DEPLOY")));
}

/// A secret's HMAC: `key` in its first 8 bytes (where the tables probe from), `n` after.
store::secret_hash hash_of(std::uint64_t key, std::uint32_t n) {
  store::secret_hash h{};
  std::memcpy(h.data(), &key, sizeof key);
  std::memcpy(h.data() + sizeof key, &n, sizeof n);
  return h;
}

/// Each table with the hash of a token it lists it by.
template <class Table>
store::secret_hash& listed_hash(iam::token_entry& t);
template <>
store::secret_hash& listed_hash<iam::current_secret_table>(iam::token_entry& t) {
  return t.hash;
}
template <>
store::secret_hash& listed_hash<iam::previous_secret_table>(iam::token_entry& t) {
  return t.previous_hash;
}

using secret_tables = std::tuple<iam::current_secret_table, iam::previous_secret_table>;

BOOST_AUTO_TEST_CASE_TEMPLATE(a_secret_is_found_by_its_whole_hash, Table, secret_tables) {
  Table table;
  std::array<iam::token_entry, 3> t{};
  listed_hash<Table>(t[0]) = hash_of(7, 0);
  listed_hash<Table>(t[1]) = hash_of(7, 1);  // same first 8 bytes
  listed_hash<Table>(t[2]) = listed_hash<Table>(t[0]);
  // The other secret of each token is one the table must not find it by.
  auto& other = std::is_same_v<Table, iam::current_secret_table> ? t[1].previous_hash : t[1].hash;
  other = hash_of(9, 9);
  BOOST_TEST(table.find(listed_hash<Table>(t[0])) == nullptr);
  table.insert(t[0]);
  table.insert(t[1]);
  BOOST_TEST(table.find(listed_hash<Table>(t[0])) == &t[0]);
  BOOST_TEST(table.find(listed_hash<Table>(t[1])) == &t[1]);
  BOOST_TEST(table.find(other) == nullptr);
  auto off = listed_hash<Table>(t[0]);
  off[31] = 1;  // one byte off
  BOOST_TEST(table.find(off) == nullptr);
  // A token listed under a hash already listed takes its place.
  table.insert(t[2]);
  BOOST_TEST(table.size() == 2U);
  BOOST_TEST(table.find(listed_hash<Table>(t[0])) == &t[2]);
  table.erase(t[0]);  // no longer listed: nothing changes
  BOOST_TEST(table.find(listed_hash<Table>(t[2])) == &t[2]);
  table.erase(t[2]);
  BOOST_TEST(table.find(listed_hash<Table>(t[2])) == nullptr);
  BOOST_TEST(table.find(listed_hash<Table>(t[1])) == &t[1]);
  BOOST_TEST(table.size() == 1U);
}

// Random inserts and erases of hashes crowded onto a few probe starts, at the start and at the end
// of the slots so that runs wrap around, while the table grows, and once made room for ahead:
// after every change each token is found exactly when a map says it is listed.
BOOST_AUTO_TEST_CASE_TEMPLATE(the_secret_tables_agree_with_a_map, Table, secret_tables) {
  std::mt19937_64 random(17);
  std::vector<iam::token_entry> entries(300);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const std::uint64_t start = random() % 8;
    const std::uint64_t key = i % 2 == 0 ? start : ~start;
    listed_hash<Table>(entries[i]) = hash_of(key, static_cast<std::uint32_t>(i));
  }
  Table table;
  std::map<std::size_t, bool> listed;
  for (int step = 0; step < 3'000; ++step) {
    if (step == 1'500) table.reserve(entries.size());
    const std::size_t i = random() % entries.size();
    if (random() % 3 != 0) {
      table.insert(entries[i]);
      listed[i] = true;
    } else {
      table.erase(entries[i]);
      listed[i] = false;
    }
    std::size_t size = 0;
    for (std::size_t j = 0; j < entries.size(); ++j) {
      const bool is_listed = listed[j];
      size += is_listed ? 1 : 0;
      const auto* found = table.find(listed_hash<Table>(entries[j]));
      BOOST_REQUIRE_MESSAGE(found == (is_listed ? &entries[j] : nullptr),
                            "token " << j << " at step " << step);
    }
    BOOST_REQUIRE(table.size() == size);
  }
}

// From 2 MiB of slots up (here 4 MiB) the slots are aligned for huge pages: every token is found
// there, and a hash nobody has is not.
BOOST_AUTO_TEST_CASE(a_table_of_huge_pages_finds_each_secret) {
  std::vector<iam::token_entry> entries(150'000);
  iam::current_secret_table table;
  table.reserve(entries.size());
  std::mt19937_64 random(3);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    entries[i].hash = hash_of(random(), static_cast<std::uint32_t>(i));
    table.insert(entries[i]);
  }
  BOOST_TEST(table.size() == entries.size());
  std::size_t found = 0;
  for (const auto& e : entries) found += table.find(e.hash) == &e ? 1 : 0;
  BOOST_TEST(found == entries.size());
  BOOST_TEST(table.find(hash_of(random(), 1)) == nullptr);
}

BOOST_AUTO_TEST_CASE(the_pool_numbers_each_string_once) {
  const auto a = pool.intern("org-a");
  const auto b = pool.intern("org-b");
  BOOST_TEST(a != b);
  BOOST_TEST(pool.intern("org-a") == a);
  BOOST_TEST(pool.at(a) == "org-a");
  BOOST_TEST(!pool.find("org-c").has_value());
  // Strings stay where they are while the pool grows: readers hold references to them.
  const std::string* first = &pool.at(a);
  for (int i = 0; i < 10'000; ++i) pool.intern("id-" + std::to_string(i));
  BOOST_TEST(&pool.at(a) == first);
  BOOST_TEST(pool.at(b) == "org-b");
}

BOOST_AUTO_TEST_CASE(tokens_share_their_interned_ids) {
  insert(record(1, "one"));
  insert(record(2, "two", "org-a", "bob"));
  const auto& ids = tokens.get<by_id>();
  const auto one = ids.find(uuid_of(1));
  const auto two = ids.find(uuid_of(2));
  BOOST_TEST(one->organization == two->organization);
  BOOST_TEST(one->creator != two->creator);
  BOOST_TEST(pool.at(two->creator) == "bob");
}

BOOST_AUTO_TEST_CASE(records_round_trip_through_the_index) {
  auto r = record(7, "deploy");
  r.type = store::token_type::service;
  r.status = store::token_status::inactive;
  r.secret_prefix = "api-777777";
  auto permissions = iam::make_statement_set(
      R"([{"id":"t","resourceType":"flag","effect":"allow","actions":["ToggleFlag"],)"
      R"("resources":["project/*:env/*:flag/*"]}])",
      testing::statements(
          R"([{"id":"t","resourceType":"flag","effect":"allow","actions":["ToggleFlag"],)"
          R"("resources":["project/*:env/*:flag/*"]}])"),
      [](const std::string&) {});
  r.permissions_json = permissions->json;
  r.expires_at = r.created_at + 86'400'000;
  const auto entry = iam::to_entry(r, permissions, pool);
  BOOST_REQUIRE(entry.has_value());
  BOOST_TEST((iam::to_record(*entry, pool) == r));
  const auto view = iam::to_view(*entry, pool, r.expires_at - 1);
  BOOST_TEST(view.permissions.size() == 1U);
  BOOST_TEST(!view.secret.has_value());
  BOOST_TEST(!view.expired);
  BOOST_TEST(iam::to_view(*entry, pool, r.expires_at).expired);
  r.id = "not-a-uuid";
  testing::expect_failure(iam::to_entry(r, permissions, pool), iam::errc::storage_failure);
}

BOOST_AUTO_TEST_CASE(ids_round_trip_through_their_text) {
  const auto u = iam::random_uuid();
  BOOST_REQUIRE(u.has_value());
  const auto text = iam::format_uuid(*u);
  BOOST_TEST(text.size() == 36U);
  BOOST_TEST(text[14] == '4');  // version 4
  BOOST_TEST((iam::parse_uuid(text) == u));
  std::string upper = text;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  BOOST_TEST((iam::parse_uuid(upper) == u));
  BOOST_TEST(!iam::parse_uuid(text.substr(1)).has_value());
  BOOST_TEST(!iam::parse_uuid("0123456789abcdef0123456789abcdef0123").has_value());
  std::string bad = text;
  bad[0] = 'g';
  BOOST_TEST(!iam::parse_uuid(bad).has_value());
  BOOST_TEST(iam::format_uuid(uuid_of(0xab)) == "abababab-abab-abab-abab-abababababab");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
