// Two IAM services on one PostgreSQL database, in one process but each with its own store
// connections and its own thread following the change log, exactly as two `gatehouse serve`
// instances: revocation and creation propagation timed from one to the other, then token
// creations per second on PostgreSQL and on SQLite.
#include "instances.hpp"

#include "failures.hpp"
#include "json_fields.hpp"

#include <gatehouse/iam/secrets.hpp>
#include <gatehouse/iam/service.hpp>
#include <gatehouse/store/database.hpp>

#include <libpq-fe.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stop_token>
#include <thread>

namespace gatehouse::bench {
namespace {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

constexpr std::string_view permissions_json =
    R"([{"id": "toggle", "resourceType": "flag", "effect": "allow", "actions": ["ToggleFlag"],
        "resources": ["project/web:env/*:flag/*"]}])";
/// How long B may take to see a change before it counts as missed.
constexpr auto give_up_after = std::chrono::seconds(5);

/// `uri` with its database replaced by `name` (its query, if any, kept).
std::string with_database(const std::string& uri, const std::string& name) {
  const auto authority = uri.find("://");
  if (authority == std::string::npos) fail("--store must be a URI: postgresql://USER@HOST/DB");
  const auto path = uri.find('/', authority + 3);
  const auto query = uri.find('?', authority + 3);
  std::string out = uri.substr(0, std::min(path, query));
  out += '/';
  out += name;
  if (query != std::string::npos) out += uri.substr(query);
  return out;
}

/// A database of the measurement's own on the server of `uri`, dropped when done; and what the
/// server's commits cost (fsync, synchronous_commit).
class scratch_database {
 public:
  explicit scratch_database(const std::string& uri)
      : admin_(PQconnectdb(uri.c_str())), name_("gatehouse_bench_" + std::to_string(::getpid())) {
    if (PQstatus(admin_.get()) != CONNECTION_OK) fail("cannot connect to --store");
    PQsetNoticeProcessor(
        admin_.get(), [](void*, const char*) {}, nullptr);
    run("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
    run("CREATE DATABASE " + name_);
    uri_ = with_database(uri, name_);
    fsync_ = setting("fsync");
    synchronous_commit_ = setting("synchronous_commit");
  }
  scratch_database(const scratch_database&) = delete;
  scratch_database& operator=(const scratch_database&) = delete;
  ~scratch_database() {
    PQclear(PQexec(admin_.get(), ("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)").c_str()));
  }

  [[nodiscard]] const std::string& uri() const { return uri_; }
  [[nodiscard]] const std::string& fsync() const { return fsync_; }
  [[nodiscard]] const std::string& synchronous_commit() const { return synchronous_commit_; }

 private:
  struct finish {
    void operator()(PGconn* c) const noexcept { PQfinish(c); }
  };
  void run(const std::string& sql) {
    PGresult* r = PQexec(admin_.get(), sql.c_str());
    const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok) fail("PostgreSQL refused: " + sql);
  }
  std::string setting(const char* name) {
    PGresult* r = PQexec(admin_.get(), ("SHOW " + std::string(name)).c_str());
    std::string value = PQresultStatus(r) == PGRES_TUPLES_OK ? PQgetvalue(r, 0, 0) : "?";
    PQclear(r);
    return value;
  }

  std::unique_ptr<PGconn, finish> admin_;
  std::string name_;
  std::string uri_;
  std::string fsync_;
  std::string synchronous_commit_;
};

/// An instance: the service and the thread that follows the change log for it.
struct instance {
  std::unique_ptr<iam::service> iam;
  std::jthread follower;

  instance(const std::string& uri, const iam::server_key& token_key, const iam::server_key& jwt_key,
           const std::vector<policy::policy_document>& builtins) {
    auto db = value_or_fail(
        store::open_postgresql(uri, {.key_fingerprint = iam::key_fingerprint(token_key, jwt_key)}),
        "cannot open the PostgreSQL database");
    iam = value_or_fail(iam::service::open(std::move(db), token_key, builtins),
                        "the service does not open on PostgreSQL");
    follower = std::jthread([service = iam.get()](const std::stop_token& stop) {
      while (!stop.stop_requested()) {
        if (!service->follow_changes(std::chrono::milliseconds(200))) {
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
      }
    });
  }
};

latency_ms distribution(std::vector<double> ms) {
  latency_ms out;
  out.samples = ms.size();
  if (ms.empty()) return out;
  std::sort(ms.begin(), ms.end());
  const auto at = [&](double fraction) { return ms[nearest_rank(ms.size(), fraction)]; };
  out.min = ms.front();
  out.p50 = at(0.5);
  out.p90 = at(0.9);
  out.p99 = at(0.99);
  out.max = ms.back();
  return out;
}

double ms_since(clock_type::time_point start) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - start).count();
}

/// Waits until `done()`, at most give_up_after; the milliseconds it took, or nullopt.
template <class Done>
std::optional<double> wait_until(Done&& done) {
  const auto start = clock_type::now();
  while (!done()) {
    if (clock_type::now() - start > give_up_after) return std::nullopt;
    std::this_thread::yield();
  }
  return ms_since(start);
}

/// Tokens created per second by `threads` callers at once, `total` in all, on `iam`.
double creations_per_s(iam::service& iam, const iam::caller& owner, std::size_t total,
                       std::size_t threads, const std::string& prefix) {
  const auto permissions = statements_of(permissions_json);
  std::atomic<std::size_t> failures{0};
  const auto start = clock_type::now();
  {
    std::vector<std::jthread> pool;
    for (std::size_t t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        for (std::size_t i = t; i < total; i += threads) {
          if (!iam.create_token(owner, prefix + std::to_string(i), store::token_type::service,
                                permissions)) {
            failures.fetch_add(1);
          }
        }
      });
    }
  }
  const double seconds = ms_since(start) / 1000.0;
  if (failures.load() != 0) fail(prefix + ": " + std::to_string(failures.load()) + " failed");
  return static_cast<double>(total) / seconds;
}

/// An SQLite store in a temporary folder, removed at the end.
struct sqlite_folder {
  fs::path path;
  sqlite_folder() {
    std::string pattern = (fs::temp_directory_path() / "gatehouse-bench-instances-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) fail("cannot create a temporary folder");
    path = pattern;
  }
  sqlite_folder(const sqlite_folder&) = delete;
  sqlite_folder& operator=(const sqlite_folder&) = delete;
  ~sqlite_folder() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
};

}  // namespace

instances_result run_instances(const instances_options& options) {
  if (options.store.empty()) fail("instances needs --store URI (a PostgreSQL server)");
  instances_result out;
  out.threads = options.threads;
  const auto builtins = builtin_policies(options.policies_dir);
  const auto token_key = value_or_fail(iam::server_key::generate(), "no server key");
  const auto jwt_key = value_or_fail(iam::server_key::generate(), "no server key");
  scratch_database database(options.store);
  out.postgresql_fsync = database.fsync();
  out.postgresql_synchronous_commit = database.synchronous_commit();

  instance a(database.uri(), token_key, jwt_key, builtins);
  instance b(database.uri(), token_key, jwt_key, builtins);
  const auto [org, owner_record] =
      value_or_fail(a.iam->create_organization("bench", "owner@bench.example"), "organization");
  const auto owner = value_or_fail(a.iam->authenticate_member(owner_record.id, org.id), "owner");
  if (!wait_until(
          [&] { return b.iam->authenticate_member(owner_record.id, org.id).has_value(); })) {
    fail("instance B never saw the organization A created");
  }

  const auto permissions = statements_of(permissions_json);
  std::vector<double> revocations;
  std::vector<double> creations;
  for (std::size_t i = 0; i < options.revocations; ++i) {
    const auto token = value_or_fail(a.iam->create_token(owner, "revoked-" + std::to_string(i),
                                                         store::token_type::service, permissions),
                                     "create a token on A");
    const auto& secret = *token.secret;
    const auto seen = wait_until([&] { return b.iam->authenticate_token(secret).has_value(); });
    if (!seen) {
      ++out.mismatches;
      continue;
    }
    creations.push_back(*seen);
    value_or_fail(a.iam->delete_token(owner, token.record.id), "delete the token on A");
    const auto gone = wait_until([&] { return !b.iam->authenticate_token(secret).has_value(); });
    if (!gone) {
      ++out.mismatches;
      continue;
    }
    revocations.push_back(*gone);
  }
  out.revocation = distribution(std::move(revocations));
  out.creation = distribution(std::move(creations));

  out.postgresql_creations_per_s = creations_per_s(*a.iam, owner, options.creations, 1, "pg-");
  out.postgresql_concurrent_creations_per_s =
      creations_per_s(*a.iam, owner, options.creations, options.threads, "pg-many-");

  sqlite_folder folder;
  auto sqlite_store = value_or_fail(store::open_sqlite((folder.path / "gatehouse.db").string()),
                                    "cannot open SQLite");
  auto sqlite = value_or_fail(iam::service::open(std::move(sqlite_store), token_key, builtins),
                              "the service does not open on SQLite");
  const auto [sqlite_org, sqlite_owner_record] =
      value_or_fail(sqlite->create_organization("bench", "owner@bench.example"), "organization");
  const auto sqlite_owner = value_or_fail(
      sqlite->authenticate_member(sqlite_owner_record.id, sqlite_org.id), "owner on SQLite");
  out.sqlite_creations_per_s =
      creations_per_s(*sqlite, sqlite_owner, options.creations, 1, "sqlite-");
  out.sqlite_concurrent_creations_per_s =
      creations_per_s(*sqlite, sqlite_owner, options.creations, options.threads, "sqlite-many-");
  return out;
}

std::string to_json(const instances_result& r) {
  const auto latency = [](json_writer& w, const char* key, const latency_ms& l) {
    w.Key(key);
    w.StartObject();
    field(w, "min_ms", l.min);
    field(w, "p50_ms", l.p50);
    field(w, "p90_ms", l.p90);
    field(w, "p99_ms", l.p99);
    field(w, "max_ms", l.max);
    field(w, "samples", l.samples);
    w.EndObject();
  };
  return json_object([&](json_writer& w) {
    field(w, "benchmark", std::string_view("instances"));
    latency(w, "revocation", r.revocation);
    latency(w, "creation", r.creation);
    field(w, "postgresql_creations_per_s", r.postgresql_creations_per_s);
    field(w, "postgresql_concurrent_creations_per_s", r.postgresql_concurrent_creations_per_s);
    field(w, "sqlite_creations_per_s", r.sqlite_creations_per_s);
    field(w, "sqlite_concurrent_creations_per_s", r.sqlite_concurrent_creations_per_s);
    field(w, "threads", r.threads);
    field(w, "postgresql_fsync", std::string_view(r.postgresql_fsync));
    field(w, "postgresql_synchronous_commit", std::string_view(r.postgresql_synchronous_commit));
    field(w, "mismatches", r.mismatches);
  });
}

}  // namespace gatehouse::bench
