// The audit trail of every store against the model (store_fixture.hpp) and the meaning of every
// filter (store::matches): random records in random commits, then random queries, paged and
// streamed; pruning by age; ids that keep growing after a prune; and a failed commit that keeps
// none of its records. The durable backends' cases are in store_conformance.
#include "store_fixture.hpp"

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <future>
#include <random>
#include <thread>

namespace gatehouse::store::testing {
namespace {

constexpr std::array organizations{"o-1", "o-2"};
constexpr std::array actors{"m-1", "m-2", "t-1"};
constexpr std::array targets{"x-1", "x-2", "x-3", ""};
constexpr std::array types{"token.create", "token.rotate", "member.add", "policy.delete"};
constexpr std::array type_filters{"", "token", "token.rotate", "member", "policy.delete", "group"};

audit_record random_record(std::mt19937_64& random, timestamp at) {
  auto pick = [&random](const auto& from) {
    return std::string(
        from[std::uniform_int_distribution<std::size_t>(0, from.size() - 1)(random)]);
  };
  audit_record r;
  r.organization_id = pick(organizations);
  r.at = at;
  r.actor_id = pick(actors);
  r.actor_kind = r.actor_id.starts_with("t-") ? "personal-token" : "member";
  r.actor_member_id = r.actor_id.starts_with("t-") ? "m-1" : r.actor_id;
  r.type = pick(types);
  r.target_id = pick(targets);
  r.denied = random() % 5 == 0;
  r.summary_json = R"({"reason":"n°)" + std::to_string(random() % 1000) + R"("})";
  return r;
}

/// What `q` should answer: the model's records that match, newest first, one page.
audit_page expected_page(const std::vector<audit_record>& all, const audit_query& q) {
  audit_page page;
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    if (!matches(*it, q)) continue;
    if (page.total_count >= q.page_index * q.page_size && page.items.size() < q.page_size) {
      page.items.push_back(*it);
    }
    ++page.total_count;
  }
  return page;
}

void check_against_model(database& s, const std::vector<audit_record>& all, std::mt19937_64& random,
                         timestamp first, timestamp last) {
  auto pick = [&random](const auto& from) {
    return std::string(
        from[std::uniform_int_distribution<std::size_t>(0, from.size() - 1)(random)]);
  };
  for (int i = 0; i < 300; ++i) {
    audit_query q;
    if (random() % 2 == 0) q.organization_id = pick(organizations);
    if (random() % 3 == 0) q.actor_id = pick(actors);
    if (random() % 3 == 0) q.target_id = pick(targets);
    q.type = pick(type_filters);
    std::uniform_int_distribution<timestamp> time(first - 5, last + 5);
    if (random() % 3 == 0) q.from = time(random);
    if (random() % 3 == 0) q.to = time(random);
    q.page_size = 1 + random() % 7;
    q.page_index = random() % 4;
    const auto got = s.audit_log(q);
    BOOST_REQUIRE(got.has_value());
    const auto want = expected_page(all, q);
    BOOST_TEST_CONTEXT("query " << i << " org=" << q.organization_id << " actor=" << q.actor_id
                                << " target=" << q.target_id << " type=" << q.type
                                << " from=" << q.from << " to=" << q.to) {
      BOOST_TEST(got->total_count == want.total_count);
      BOOST_TEST((got->items == want.items));
      std::vector<audit_record> streamed;
      BOOST_TEST(!s.each_audit_record(q, [&](const audit_record& r) { streamed.push_back(r); }));
      std::vector<audit_record> oldest_first;
      std::copy_if(all.begin(), all.end(), std::back_inserter(oldest_first),
                   [&](const audit_record& r) { return matches(r, q); });
      BOOST_TEST((streamed == oldest_first));
    }
  }
}

void run_conformance(database& s) {
  std::mt19937_64 random(20261201);
  model m;
  timestamp at = t0;
  for (int commit = 0; commit < 120; ++commit) {
    std::vector<change> changes;
    const int n = 1 + static_cast<int>(random() % 3);
    for (int i = 0; i < n; ++i) {
      at += static_cast<timestamp>(random() % 3);  // several records share a millisecond
      changes.push_back(append_audit{random_record(random, at)});
    }
    commit_or_fail(s, changes);
    m.apply(changes);
  }
  check_against_model(s, m.audit(), random, t0, at);

  // Pruning deletes what is older than the bound, and only that.
  const timestamp bound = t0 + (at - t0) / 2;
  const auto older = std::count_if(m.audit().begin(), m.audit().end(),
                                   [bound](const audit_record& r) { return r.at < bound; });
  const auto pruned = s.prune_audit_log(bound);
  BOOST_REQUIRE(pruned.has_value());
  BOOST_TEST(*pruned == static_cast<std::size_t>(older));
  std::vector<audit_record> kept;
  std::copy_if(m.audit().begin(), m.audit().end(), std::back_inserter(kept),
               [bound](const audit_record& r) { return r.at >= bound; });
  check_against_model(s, kept, random, t0, at);

  // A record appended after a prune gets an id above every id given before.
  commit_or_fail(s, {append_audit{random_record(random, at + 1)}});
  audit_query newest;
  newest.page_size = 1;
  const auto page = s.audit_log(newest);
  BOOST_REQUIRE(page.has_value() && page->items.size() == 1U);
  BOOST_TEST(page->items[0].id == static_cast<std::int64_t>(m.audit().size()) + 1);
}

namespace data = boost::unit_test::data;

BOOST_AUTO_TEST_SUITE(store_conformance)

BOOST_DATA_TEST_CASE(keeps_the_audit_trail_the_model_keeps, data::make(backends()), backend) {
  scratch_store db(backend);
  auto s = db.open();
  run_conformance(*s);
}

BOOST_DATA_TEST_CASE(a_failed_commit_keeps_none_of_its_audit_records, data::make(backends()),
                     backend) {
  scratch_store db(backend);
  auto s = db.open();
  std::mt19937_64 random(11);
  commit_or_fail(*s, {put_organization{organization("acme")}});
  // The member names an organization that does not exist: the deferred foreign key fails the
  // commit at its end, after the record was written.
  const auto ec = s->commit(std::vector<change>{append_audit{random_record(random, t0)},
                                                put_member{member("m-9", "nowhere")}});
  BOOST_TEST(ec.failed());
  audit_query all;
  BOOST_TEST(s->audit_log(all)->total_count == 0U);
  // The next record is the only one. Its id may leave a gap (PostgreSQL's identity does not roll
  // back): ids grow and are never reused, which the model's cases check.
  commit_or_fail(*s, {append_audit{random_record(random, t0)}});
  const auto after = s->audit_log(all);
  BOOST_REQUIRE(after.has_value());
  BOOST_TEST(after->total_count == 1U);
  BOOST_TEST(after->items.size() == 1U);
  if (!after->items.empty()) BOOST_TEST(after->items.front().id >= 1);
}

// A long read of the trail holds no lock that commits need: the reader stops inside its scan
// while another thread commits, and that commit must finish before the reader goes on.
BOOST_DATA_TEST_CASE(a_long_read_of_the_trail_does_not_hold_up_commits, data::make(backends()),
                     backend) {
  scratch_store db(backend);
  auto s = db.open();
  std::mt19937_64 random(13);
  for (int i = 0; i < 3; ++i) commit_or_fail(*s, {append_audit{random_record(random, t0 + i)}});
  std::promise<void> reading;
  std::promise<void> may_finish;
  std::size_t seen = 0;
  std::thread reader([&] {
    const audit_query all;
    const auto ec = s->each_audit_record(all, [&](const audit_record&) {
      if (seen++ == 0) {
        reading.set_value();
        may_finish.get_future().wait();
      }
    });
    BOOST_TEST(!ec);
  });
  reading.get_future().wait();
  auto committed = std::async(std::launch::async, [&] {
    return s->commit(std::vector<change>{append_audit{random_record(random, t0 + 9)}});
  });
  const bool finished = committed.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
  may_finish.set_value();
  reader.join();
  BOOST_TEST_REQUIRE(finished, "the commit waited for the reader");
  BOOST_TEST(!committed.get());
  BOOST_TEST(seen == 3U);  // the reader's snapshot predates the commit
  const audit_query all;
  BOOST_TEST(s->audit_log(all)->total_count == 4U);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(audit_store)

BOOST_AUTO_TEST_CASE(the_memory_store_keeps_the_trail_the_model_keeps) {
  auto s = make_memory();
  run_conformance(*s);
}

BOOST_AUTO_TEST_CASE(the_memory_store_keeps_only_its_capacity) {
  auto s = make_memory(3);
  std::mt19937_64 random(7);
  for (int i = 0; i < 5; ++i) commit_or_fail(*s, {append_audit{random_record(random, t0 + i)}});
  audit_query all;
  const auto page = s->audit_log(all);
  BOOST_REQUIRE(page.has_value());
  BOOST_TEST(page->total_count == 3U);
  BOOST_TEST(page->items.back().id == 3);  // the oldest kept
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace gatehouse::store::testing
