// What only the shared PostgreSQL store has (SPEC §12): instances opening one database together,
// the key fingerprint, the change log one instance reads of another's commits, notifications,
// reconnecting, pruning of the log, and failed commits that leave no entry. Runs when
// GATEHOUSE_TEST_POSTGRES_DIR names a server (the ctest entry store_postgresql_test).
#include <gatehouse/store/database.hpp>

#include <algorithm>
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <latch>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <variant>
#include <vector>

#include "store_fixture.hpp"

namespace gatehouse::store::testing {
namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

boost::test_tools::assertion_result postgres_is_configured(boost::unit_test::test_unit_id) {
  boost::test_tools::assertion_result configured(postgres_dir() != nullptr);
  configured.message() << "GATEHOUSE_TEST_POSTGRES_DIR is not set";
  return configured;
}

// "put_member m-1": what a change is and which record it names, to compare batches by.
std::string describe(const change& c) {
  static constexpr const char* names[] = {
      "put_organization", "put_member", "erase_member", "put_group",   "erase_group", "put_policy",
      "erase_policy",     "put_token",  "erase_token",  "touch_token", "append_audit"};
  static_assert(std::size(names) == std::variant_size_v<change>);
  const auto id = std::visit(
      [](const auto& x) -> std::string {
        if constexpr (requires { std::string_view(x.record.id); }) {
          return x.record.id;
        } else if constexpr (requires { std::string_view(x.id); }) {
          return x.id;
        } else {
          return "";
        }
      },
      c);
  return std::string(names[c.index()]) + " " + id;
}

std::vector<std::string> described(const std::vector<change>& changes) {
  std::vector<std::string> out;
  for (const auto& c : changes) out.push_back(describe(c));
  std::sort(out.begin(), out.end());
  return out;
}

change_batch changes_after_or_fail(database& s, std::int64_t after) {
  auto batch = s.changes_after(after);
  BOOST_REQUIRE_MESSAGE(batch.has_value(), "changes_after: " << batch.error().message());
  return std::move(*batch);
}

// A row count of the scratch database, read beside the store.
int rows(const scratch_store& db, const std::string& table) {
  pg_session session(db.location());
  return std::stoi(session.value("SELECT count(*) FROM " + table));
}

// Opens the listening connection, whose first wait answers true at once (what was committed while
// nobody listened is for the next read to find), and lets every pending notification go.
void start_listening(database& s) {
  for (int i = 0; i < 10; ++i) {
    const auto woken = s.await_change(50ms);
    BOOST_REQUIRE_MESSAGE(woken.has_value(), "await_change: " << woken.error().message());
    if (!*woken) return;
  }
  BOOST_FAIL("await_change kept answering true with nobody committing");
}

// An instance following a shared store from what it loaded: it applies every batch of
// changes_after to its model, as the IAM service applies them to memory.
struct follower {
  model seen;
  std::int64_t last = 0;
  int batches = 0;
  bool ids_grew = true;
  bool too_old = false;
  std::string failed;

  explicit follower(const stored_state& loaded) : seen(loaded), last(loaded.change_id) {}
  // Without Boost.Test assertions, which are not for a loop this fast.
  void follow(database& s) {
    auto batch = s.changes_after(last);
    if (!batch) {
      failed = batch.error().message();
      return;
    }
    too_old = too_old || batch->too_old;
    if (batch->changes.empty()) {
      ids_grew = ids_grew && batch->last_id >= last;
      return;
    }
    ids_grew = ids_grew && batch->last_id > last;
    seen.apply(batch->changes);
    last = batch->last_id;
    ++batches;
  }
};

boost::system::error_code error_of(const boost::system::error_code& ec) { return ec; }
template <class T>
boost::system::error_code error_of(const boost::system::result<T>& r) {
  return r.has_value() ? boost::system::error_code{} : r.error();
}

// Calls `call` again when it failed for want of the database, as a server retries.
template <class Call>
auto with_one_retry(Call&& call) {
  auto first = call();
  const auto ec = error_of(first);
  if (!ec) return first;
  BOOST_TEST(is_unavailable(ec), "the first call failed with " << ec.message());
  BOOST_TEST_MESSAGE("retried after: " << ec.message());
  return call();
}

BOOST_AUTO_TEST_SUITE(store_conformance)
BOOST_AUTO_TEST_SUITE(postgresql_only, *boost::unit_test::precondition(postgres_is_configured))

// The server's start (SPEC §12): open, then initialize an empty database under `exclusively`.
BOOST_AUTO_TEST_CASE(instances_opening_an_empty_database_together_set_it_up_once) {
  scratch_store db("postgresql");
  const std::vector<change> playground{put_organization{organization("playground")},
                                       put_member{member("owner", "playground", {"owner"})}};
  constexpr int instances = 4;
  auto open_together = [&] {
    std::vector<std::string> failures(instances);
    std::latch start(instances);
    std::vector<std::thread> threads;
    for (int i = 0; i < instances; ++i) {
      threads.emplace_back([&, i] {
        start.arrive_and_wait();
        auto s = db.try_open(test_keys);
        if (!s) {
          failures[i] = "open: " + s.error().message();
          return;
        }
        const auto ec = (*s)->exclusively([&] {
          auto loaded = (*s)->load([](token_record&&) {});
          if (!loaded) {
            failures[i] = "load: " + loaded.error().message();
          } else if (loaded->organizations.empty()) {
            if (const auto committed = (*s)->commit(playground)) {
              failures[i] = "commit: " + committed.message();
            }
          }
        });
        if (ec) failures[i] = "exclusively: " + ec.message();
      });
    }
    for (auto& t : threads) t.join();
    for (int i = 0; i < instances; ++i) {
      BOOST_TEST_CONTEXT("instance " << i) { BOOST_TEST(failures[i] == ""); }
    }
  };

  open_together();
  model want;
  want.apply(playground);
  const auto first = reopen_and_load(db);
  check_equal(first, want.expected());
  BOOST_TEST(rows(db, "schema_migrations") == 1);
  BOOST_TEST(rows(db, "settings") == 2);  // the fingerprint and how far the log was pruned
  BOOST_TEST(rows(db, "change_log") == 1);

  open_together();
  const auto second = reopen_and_load(db);
  check_equal(second, want.expected());
  BOOST_TEST(second.change_id == first.change_id);
  BOOST_TEST(rows(db, "schema_migrations") == 1);
  BOOST_TEST(rows(db, "settings") == 2);
  BOOST_TEST(rows(db, "change_log") == 1);
}

BOOST_AUTO_TEST_CASE(instances_with_other_keys_are_refused) {
  scratch_store db("postgresql");
  auto first = db.open();
  commit_or_fail(*first, {put_organization{organization("acme")}});
  const auto other = db.try_open({.key_fingerprint = "other-keys"});
  BOOST_REQUIRE(!other.has_value());
  BOOST_TEST(other.error() == make_error_code(errc::other_keys), other.error().message());
  // The refusal changed nothing: the first keys still open, and find what they committed.
  auto again = db.open();
  BOOST_TEST(load_or_fail(*again).organizations.size() == 1U);
  pg_session session(db.location());
  BOOST_TEST(session.value("SELECT value FROM settings WHERE name = 'key_fingerprint'") ==
             "test-keys");
}

BOOST_AUTO_TEST_CASE(an_instance_reads_what_another_committed_as_it_is_now) {
  scratch_store db("postgresql");
  auto a = db.open();
  auto b = db.open();
  const auto start = changes_after_or_fail(*b, 0);
  BOOST_TEST(start.changes.empty());
  BOOST_TEST(!start.too_old);
  std::int64_t last = start.last_id;
  model seen_by_b;

  auto renamed = token("t-1", "acme", "Renamed");
  renamed.updated_at = t0 + 100;
  struct step {
    const char* name;
    std::vector<std::vector<change>> commits_on_a;
    std::vector<std::string> b_sees;
  };
  const std::vector<step> steps{
      {"create",
       {{put_organization{organization("acme")}, put_member{member("m-1", "acme")},
         put_group{group("g-1", "acme", {"m-1"}, {})}, put_token{token("t-1", "acme", "Deploy")}}},
       {"put_group g-1", "put_member m-1", "put_organization acme", "put_token t-1"}},
      {"replace",
       {{put_member{member("m-1", "acme", {"developer"})}, put_token{renamed}}},
       {"put_member m-1", "put_token t-1"}},
      // Two commits read at once: the record once, as the second left it.
      {"replace twice",
       {{put_token{token("t-2", "acme", "First")}}, {put_token{token("t-2", "acme", "Second")}}},
       {"put_token t-2"}},
      {"erase",
       {{erase_group{"g-1"}, erase_member{"m-1"}}, {erase_token{"t-2"}}},
       {"erase_group g-1", "erase_member m-1", "erase_token t-2"}},
      // Put, then gone before B looked: B hears that it is gone.
      {"put then erase",
       {{put_token{token("t-3", "acme", "Brief")}}, {erase_token{"t-3"}}},
       {"erase_token t-3"}},
  };
  for (const auto& st : steps) {
    BOOST_TEST_CONTEXT("step " << st.name) {
      const auto last_before = last;
      for (const auto& changes : st.commits_on_a) commit_or_fail(*a, changes);
      const auto batch = changes_after_or_fail(*b, last);
      BOOST_TEST(!batch.too_old);
      BOOST_TEST(batch.last_id > last);
      BOOST_TEST(described(batch.changes) == st.b_sees, boost::test_tools::per_element());
      seen_by_b.apply(batch.changes);
      const auto now = load_or_fail(*a);
      check_equal(seen_by_b.expected(), now);
      last = batch.last_id;
      // A load's change id is the newest entry it includes; nothing is newer yet.
      BOOST_TEST(load_or_fail(*b).change_id == last);
      const auto again = changes_after_or_fail(*b, last);
      BOOST_TEST(again.changes.empty());
      BOOST_TEST(again.last_id == last);
      // A reads its own commits too, as they are now: a commit whose answer was lost on the way
      // (the connection dropped after COMMIT) still reaches A's memory.
      const auto own = changes_after_or_fail(*a, last_before);
      BOOST_TEST(described(own.changes) == st.b_sees, boost::test_tools::per_element());
      BOOST_TEST(own.last_id == last);
    }
  }

  // Neither a touch nor an audit record is a change another instance must apply.
  commit_or_fail(*a, {touch_token{"t-1", t0 + 5000}});
  audit_record created;
  created.organization_id = "acme";
  created.at = t0;
  created.actor_kind = "system";
  created.type = "token.create";
  created.target_id = "t-1";
  created.summary_json = "{}";
  commit_or_fail(*a, {append_audit{created}});
  const auto quiet = changes_after_or_fail(*b, last);
  BOOST_TEST(quiet.changes.empty());
  BOOST_TEST(quiet.last_id == last);

  // B's commits go the other way.
  const std::vector<change> on_b{put_policy{policy("p-9", "acme", read_flags)}};
  commit_or_fail(*b, on_b);
  const auto from_b = changes_after_or_fail(*a, last);
  BOOST_TEST(described(from_b.changes) == std::vector<std::string>{"put_policy p-9"},
             boost::test_tools::per_element());
  BOOST_TEST(from_b.last_id > last);
}

// Two writers commit from their own threads while a third instance follows the log: what it
// applies, batch after batch, is what it then loads.
BOOST_AUTO_TEST_CASE(a_follower_misses_nothing_of_two_interleaving_writers) {
  scratch_store db("postgresql");
  auto a = db.open();
  auto b = db.open();
  auto c = db.open();
  commit_or_fail(*a, {put_organization{organization("acme")}});
  constexpr int commits = 300;
  // Built here: Boost.Test assertions (in token()) are not for other threads.
  auto work_of = [](const std::string& writer) {
    std::vector<std::vector<change>> work;
    for (int i = 0; i < commits; ++i) {
      const auto id = writer + "-" + std::to_string(i);
      std::vector<change> changes{put_token{token("t-" + id, "acme", id)}};
      if (i % 3 == 0) changes.emplace_back(put_member{member("m-" + id, "acme")});
      if (i % 5 == 4)
        changes.emplace_back(erase_token{"t-" + writer + "-" + std::to_string(i - 2)});
      if (i % 7 == 6) {
        changes.emplace_back(
            put_token{token("t-" + writer + "-" + std::to_string(i - 1), "acme", id + " renamed")});
      }
      if (i % 11 == 10)
        changes.emplace_back(erase_member{"m-" + writer + "-" + std::to_string(i - 1)});
      work.push_back(std::move(changes));
    }
    return work;
  };
  const auto work_a = work_of("a");
  const auto work_b = work_of("b");
  std::atomic<int> failures{0};
  std::atomic<int> writing{2};
  auto write = [&](database& s, const std::vector<std::vector<change>>& work) {
    for (const auto& changes : work) {
      if (s.commit(changes)) ++failures;
    }
    --writing;
  };
  std::thread writer_a(write, std::ref(*a), std::cref(work_a));
  std::thread writer_b(write, std::ref(*b), std::cref(work_b));

  // One follower from before the writers start, one from a load taken while they write: a
  // load's change id must match the snapshot it read, or the second misses or repeats changes.
  follower early(load_or_fail(*c));
  std::optional<follower> late;
  while (writing.load() > 0 && early.failed.empty()) {
    early.follow(*c);
    if (!late && early.batches == 20) late.emplace(load_or_fail(*c));
    if (late) late->follow(*c);
  }
  writer_a.join();
  writer_b.join();
  BOOST_TEST(failures.load() == 0);
  BOOST_REQUIRE_MESSAGE(late.has_value(),
                        "the writers were done before the follower read 20 batches");
  const auto now = load_or_fail(*c);
  for (auto* f : {&early, &*late}) {
    BOOST_TEST_CONTEXT((f == &early ? "the early follower" : "the late follower")) {
      if (f->failed.empty()) f->follow(*c);
      BOOST_TEST(f->failed == "");
      BOOST_TEST(!f->too_old);
      BOOST_TEST(f->ids_grew);
      BOOST_TEST_MESSAGE("a follower read " << f->batches << " batches of " << 2 * commits
                                            << " commits");
      BOOST_TEST(f->batches > 1);
      check_equal(f->seen.expected(), now);
      BOOST_TEST(now.change_id == f->last);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_waiting_instance_wakes_when_another_commits) {
  scratch_store db("postgresql");
  auto a = db.open();
  auto b = db.open();
  commit_or_fail(*a, {put_organization{organization("acme")}});
  start_listening(*a);
  start_listening(*b);

  // Nobody commits: the wait lasts its timeout.
  const auto began = steady::now();
  const auto idle = b->await_change(200ms);
  const auto idle_ms = std::chrono::duration<double, std::milli>(steady::now() - began).count();
  BOOST_REQUIRE(idle.has_value());
  BOOST_TEST(!*idle);
  BOOST_TEST(idle_ms >= 150);
  BOOST_TEST(idle_ms < 1000);

  boost::system::result<bool> woken = false;
  steady::time_point woken_at;
  std::thread waiter([&] {
    woken = b->await_change(5s);
    woken_at = steady::now();
  });
  std::this_thread::sleep_for(100ms);  // B is waiting
  const auto committed_at = steady::now();
  commit_or_fail(*a, {put_member{member("m-1", "acme")}});
  waiter.join();
  BOOST_REQUIRE_MESSAGE(woken.has_value(), "await_change: " << woken.error().message());
  BOOST_TEST(*woken);
  const auto latency = std::chrono::duration<double, std::milli>(woken_at - committed_at);
  BOOST_TEST_MESSAGE("B woke " << latency.count() << " ms after A's commit began");
  BOOST_TEST(latency.count() < 2000);

  // A's own commit does not wake A.
  const auto own = a->await_change(200ms);
  BOOST_REQUIRE(own.has_value());
  BOOST_TEST(!*own);
}

// A connection the server ends (a restart, a failover, an administrator) comes back on the next
// call: at most one call fails, as unavailable rather than refused, and nothing is missed.
BOOST_AUTO_TEST_CASE(an_instance_reconnects_after_losing_its_connections) {
  scratch_store db("postgresql");
  auto a = db.open();
  auto b = db.open();
  commit_or_fail(*a, {put_organization{organization("acme")}});
  const auto loaded = load_or_fail(*b);
  start_listening(*b);

  pg_session session(db.location());
  BOOST_TEST(session.value("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                           "WHERE datname = current_database() AND pid <> pg_backend_pid()") ==
             "6");  // a writer, a reader and a listener each

  BOOST_TEST_CONTEXT("A's commit") {
    const auto ec = with_one_retry(
        [&] { return a->commit(std::vector<change>{put_member{member("m-1", "acme")}}); });
    BOOST_TEST(!ec, ec.message());
  }
  BOOST_TEST_CONTEXT("B's wait") {
    const auto woken = with_one_retry([&] { return b->await_change(2s); });
    BOOST_REQUIRE_MESSAGE(woken.has_value(), woken.error().message());
    BOOST_TEST(*woken);
  }
  BOOST_TEST_CONTEXT("B's read of the log") {
    const auto batch = with_one_retry([&] { return b->changes_after(loaded.change_id); });
    BOOST_REQUIRE_MESSAGE(batch.has_value(), batch.error().message());
    BOOST_TEST(!batch->too_old);
    BOOST_TEST(described(batch->changes) == std::vector<std::string>{"put_member m-1"},
               boost::test_tools::per_element());
  }
  BOOST_TEST_CONTEXT("A's load") {
    const auto state = with_one_retry([&] { return a->load([](token_record&&) {}); });
    BOOST_REQUIRE_MESSAGE(state.has_value(), state.error().message());
    BOOST_TEST(state->members.size() == 1U);
  }
  // B listens again after reconnecting: A's next commit wakes it.
  start_listening(*b);
  commit_or_fail(*a, {put_member{member("m-2", "acme")}});
  const auto woken = b->await_change(2s);
  BOOST_REQUIRE_MESSAGE(woken.has_value(), woken.error().message());
  BOOST_TEST(*woken);
}

// The writer prunes after a commit that wrote an entry, at most once per retention period (and
// at least once a minute): with no retention, after every such commit.
BOOST_AUTO_TEST_CASE(a_reader_behind_the_pruned_log_is_told_to_reload) {
  scratch_store db("postgresql");
  auto writer = db.open({.key_fingerprint = "test-keys", .change_retention = 0s});
  auto reader = db.open();
  const auto start = changes_after_or_fail(*reader, 0);
  BOOST_REQUIRE(!start.too_old);

  commit_or_fail(*writer, {put_organization{organization("acme")}});
  std::this_thread::sleep_for(5ms);  // the entries' times are in milliseconds
  commit_or_fail(*writer, {put_member{member("m-1", "acme")}});
  BOOST_TEST(rows(db, "change_log") == 0);
  const auto behind = changes_after_or_fail(*reader, start.last_id);
  BOOST_TEST(behind.too_old);
  BOOST_TEST(behind.changes.empty());

  // Reloading brings the reader up to date, and the log goes on from there.
  const auto reloaded = load_or_fail(*reader);
  BOOST_TEST(reloaded.members.size() == 1U);
  const auto current = changes_after_or_fail(*reader, reloaded.change_id);
  BOOST_TEST(!current.too_old);
  BOOST_TEST(current.changes.empty());
  BOOST_TEST(current.last_id == reloaded.change_id);
}

BOOST_AUTO_TEST_CASE(a_failed_commit_leaves_no_entry_in_the_log) {
  scratch_store db("postgresql");
  auto a = db.open();
  auto b = db.open();
  commit_or_fail(*a,
                 {put_organization{organization("acme")}, put_token{token("t-1", "acme", "x")}});
  const auto before = load_or_fail(*b);
  start_listening(*b);
  const auto entries = rows(db, "change_log");

  auto same_secret = token("t-2", "acme", "y");
  same_secret.secret_hash = token("t-1", "acme", "x").secret_hash;
  struct failing {
    const char* name;
    std::vector<change> changes;
  };
  const std::vector<failing> failures{
      // Refused by a unique index as the change is written.
      {"two tokens with one secret hash",
       {put_member{member("m-9", "acme")}, put_token{same_secret}}},
      // Refused by a deferred foreign key at COMMIT, after the entry was written and notified.
      {"a group with an unknown member",
       {put_member{member("m-9", "acme")}, put_group{group("g-9", "acme", {"m-404"}, {})}}},
  };
  for (const auto& f : failures) {
    BOOST_TEST_CONTEXT(f.name) {
      const auto ec = a->commit(f.changes);
      BOOST_TEST(ec.failed());
      BOOST_TEST(!is_unavailable(ec), ec.message());
      const auto batch = changes_after_or_fail(*b, before.change_id);
      BOOST_TEST(batch.changes.empty());
      BOOST_TEST(batch.last_id == before.change_id);
      BOOST_TEST(rows(db, "change_log") == entries);
      const auto woken = b->await_change(200ms);
      BOOST_REQUIRE(woken.has_value());
      BOOST_TEST(!*woken);
      check_equal(load_or_fail(*b), before);
    }
  }
}

// Built-in policies (SPEC §12): each publication is a new generation in commit order, loaded
// with the state and named in the change log, where every instance reads the newest.
BOOST_AUTO_TEST_CASE(built_in_generations_reach_every_instance) {
  scratch_store db("postgresql");
  auto a = db.open();
  auto b = db.open();
  BOOST_TEST(!load_or_fail(*a).builtins.has_value());
  const auto start = changes_after_or_fail(*b, 0);
  BOOST_TEST(!start.builtins.has_value());

  const auto first = a->publish_builtins({R"({"id":"x","statements":[]})", "two"});
  BOOST_REQUIRE(first.has_value());
  BOOST_TEST(*first == 1);
  const auto batch = changes_after_or_fail(*b, start.last_id);
  BOOST_TEST(batch.changes.empty());
  BOOST_REQUIRE(batch.builtins.has_value());
  BOOST_TEST(batch.builtins->generation == 1);
  BOOST_TEST(batch.builtins->documents ==
                 (std::vector<std::string>{R"({"id":"x","statements":[]})", "two"}),
             boost::test_tools::per_element());

  const auto second = b->publish_builtins({"three"});
  BOOST_REQUIRE(second.has_value());
  BOOST_TEST(*second == 2);
  const auto loaded = load_or_fail(*db.open());
  BOOST_REQUIRE(loaded.builtins.has_value());
  BOOST_TEST(loaded.builtins->generation == 2);
  BOOST_TEST(loaded.builtins->documents == std::vector<std::string>{"three"},
             boost::test_tools::per_element());
  // Read after both: only the newest.
  const auto both = changes_after_or_fail(*a, start.last_id);
  BOOST_REQUIRE(both.builtins.has_value());
  BOOST_TEST(both.builtins->generation == 2);
}

BOOST_AUTO_TEST_SUITE_END()
BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace gatehouse::store::testing
