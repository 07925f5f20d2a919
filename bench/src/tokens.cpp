// The token measurements. Two SQLite databases with the same organizations and members are
// written, one of them with N tokens; the service is opened on each and the difference in heap
// is what the tokens cost. Secrets are random like real ones; a sample of them is kept in this
// process's memory (never written anywhere) to authenticate with.
#include "tokens.hpp"

#include "failures.hpp"
#include "json_fields.hpp"

#include <gatehouse/iam/builtins.hpp>
#include <gatehouse/iam/secrets.hpp>
#include <gatehouse/iam/service.hpp>
#include <gatehouse/store/database.hpp>

#include <malloc.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <stdexcept>
#include <vector>

namespace gatehouse::bench {
namespace {

namespace fs = std::filesystem;
using clock = std::chrono::steady_clock;

constexpr std::size_t tokens_per_organization = 100'000;  // limits' default cap
constexpr std::size_t creators_per_organization = 50;
constexpr std::size_t batch = 10'000;
/// Every fifth token is a service token with one of these statement sets; the rest are
/// unscoped personal tokens.
constexpr std::array<std::string_view, 3> service_permissions = {
    R"([{"id":"read","effect":"allow","actions":["CanAccessEnv"],"resources":["project/*:env/*"],"resourceType":"env"}])",
    R"([{"id":"toggle","effect":"allow","actions":["ToggleFlag"],"resources":["project/web:env/dev:flag/*"],"resourceType":"flag"}])",
    R"([{"id":"segments","effect":"allow","actions":["UpdateSegmentTargetingUsers"],"resources":["project/*:env/*:segment/*"],"resourceType":"segment"}])",
};

/// Heap in use (small and mmapped blocks), as glibc counts it; signed, for differences.
double heap_in_use() {
  const struct mallinfo2 m = mallinfo2();
  return static_cast<double>(m.uordblks + m.hblkhd);
}

double ms_since(clock::time_point start) {
  return std::chrono::duration<double, std::milli>(clock::now() - start).count();
}

/// A version-4 UUID text from a counter: unique, and spread like random ids in the index.
std::string uuid_of(std::uint64_t kind, std::uint64_t n, std::mt19937_64& random) {
  std::array<char, 64> text{};
  const std::uint64_t r = random();
  std::snprintf(text.data(), text.size(), "%08llx-%04llx-4%03llx-8%03llx-%012llx",
                static_cast<unsigned long long>(r >> 32),
                static_cast<unsigned long long>((r >> 16) & 0xffff),
                static_cast<unsigned long long>(kind & 0xfff),
                static_cast<unsigned long long>(r & 0xfff), static_cast<unsigned long long>(n));
  return text.data();
}

void commit_or_fail(store::database& s, std::vector<store::change>& changes) {
  if (const auto ec = s.commit(changes)) fail("store commit failed: " + ec.message());
  changes.clear();
}

struct directory_ids {
  std::vector<std::string> organizations;
  std::vector<std::vector<std::string>> creators;  // by organization
};

/// The organizations and members both databases share.
directory_ids write_directory(store::database& s, std::size_t organizations,
                              std::mt19937_64& random) {
  directory_ids ids;
  std::vector<store::change> changes;
  for (std::size_t o = 0; o < organizations; ++o) {
    store::organization_record org;
    org.id = uuid_of(1, o, random);
    org.name = "organization-" + std::to_string(o);
    org.default_policy_ids = {std::string(iam::developer_policy_id)};
    changes.emplace_back(store::put_organization{org});
    ids.organizations.push_back(org.id);
    auto& creators = ids.creators.emplace_back();
    for (std::size_t m = 0; m < creators_per_organization; ++m) {
      store::member_record member;
      member.id = uuid_of(2, (o * creators_per_organization) + m, random);
      member.organization_id = org.id;
      member.email = "member-" + std::to_string(m) + "@org-" + std::to_string(o) + ".example";
      member.policy_ids = {std::string(iam::developer_policy_id)};
      creators.push_back(member.id);
      changes.emplace_back(store::put_member{std::move(member)});
    }
  }
  commit_or_fail(s, changes);
  return ids;
}

struct sample_secret {
  std::string secret;
  std::string token_id;
};

/// Writes `count` tokens; keeps every (count / sample)-th secret in `kept`.
void write_tokens(store::database& s, const directory_ids& ids, std::size_t count,
                  std::size_t sample, const iam::secret_hasher& hasher, std::mt19937_64& random,
                  std::vector<sample_secret>& kept) {
  const std::size_t stride = std::max<std::size_t>(1, count / std::max<std::size_t>(1, sample));
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  std::vector<store::change> changes;
  changes.reserve(batch);
  const auto start = clock::now();
  const std::size_t report_every = std::max<std::size_t>(batch, count / 10);
  for (std::size_t n = 0; n < count; ++n) {
    const std::size_t o = n / tokens_per_organization;
    auto secret = value_or_fail(iam::generate_token_secret(), "no random secret");
    store::token_record t;
    t.id = uuid_of(3, n, random);
    t.organization_id = ids.organizations[o];
    t.creator_id = ids.creators[o][n % creators_per_organization];
    // Names longer than the 15 characters std::string keeps inline, as real names are.
    if (n % 5 == 4) {
      t.type = store::token_type::service;
      t.name = "ci-pipeline-" + std::to_string(n);
      t.permissions_json = service_permissions[n % service_permissions.size()];
    } else {
      t.name = "laptop-script-" + std::to_string(n);
      t.permissions_json = "[]";
    }
    t.secret_hash = hasher.hash(secret);
    t.secret_prefix = secret.substr(0, iam::secret_prefix_length);
    t.created_at = now - static_cast<store::timestamp>(count - n);
    t.updated_at = t.created_at;
    if (n % stride == 0 && kept.size() < sample) kept.push_back({std::move(secret), t.id});
    changes.emplace_back(store::put_token{std::move(t)});
    if (changes.size() == batch || n + 1 == count) commit_or_fail(s, changes);
    if ((n + 1) % report_every == 0 || n + 1 == count) {
      std::fprintf(stderr, "      %zu of %zu tokens written (%.0f s)\n", n + 1, count,
                   ms_since(start) / 1000);
    }
  }
}

/// A temporary folder that removes itself, or the caller's folder, left alone.
class workspace {
 public:
  explicit workspace(const std::string& dir) {
    if (!dir.empty()) {
      path_ = dir;
      fs::create_directories(path_);
      return;
    }
    std::string pattern = (fs::temp_directory_path() / "gatehouse-bench-tokens-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) fail("cannot create a temporary folder");
    path_ = pattern;
    owned_ = true;
  }
  workspace(const workspace&) = delete;
  workspace& operator=(const workspace&) = delete;
  ~workspace() {
    std::error_code ignored;
    if (owned_) fs::remove_all(path_, ignored);
  }
  [[nodiscard]] std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
  bool owned_ = false;
};

std::unique_ptr<iam::service> open_service(const std::string& db, const iam::server_key& key,
                                           const std::vector<policy::policy_document>& b) {
  auto store = value_or_fail(store::open_sqlite(db), "cannot open " + db);
  return value_or_fail(iam::service::open(std::move(store), key, b),
                       "the service does not open on " + db);
}

/// Writes the two databases: the same directory in both (same random ids, same seed), and the
/// tokens in `tokens_db` only. Returns the sample secrets kept to authenticate with.
std::vector<sample_secret> write_databases(const tokens_options& options,
                                           const iam::secret_hasher& hasher,
                                           const std::string& empty_db,
                                           const std::string& tokens_db, tokens_result& out) {
  for (const auto& db : {empty_db, tokens_db}) {
    for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(db + suffix);
  }
  {
    std::mt19937_64 random(20261128);
    auto s = value_or_fail(store::open_sqlite(empty_db), "cannot create " + empty_db);
    write_directory(*s, out.organizations, random);
  }
  std::vector<sample_secret> kept;
  {
    std::fprintf(stderr, "[1/4] writing %zu tokens in %zu organizations to %s\n", out.tokens,
                 out.organizations, tokens_db.c_str());
    std::mt19937_64 random(20261128);
    auto s = value_or_fail(store::open_sqlite(tokens_db), "cannot create " + tokens_db);
    const auto ids = write_directory(*s, out.organizations, random);
    const auto start = clock::now();
    write_tokens(*s, ids, out.tokens, options.sample, hasher, random, kept);
    out.insert_ms = ms_since(start);
  }
  std::error_code no_wal;  // closing checkpoints the WAL into the database and removes it
  const auto wal = fs::file_size(tokens_db + "-wal", no_wal);
  out.database_mib =
      static_cast<double>(fs::file_size(tokens_db) + (no_wal ? 0 : wal)) / (1024.0 * 1024.0);
  return kept;
}

/// Heap the service takes on the directory alone, to subtract from the heap with tokens.
double directory_heap(const std::string& empty_db, const iam::server_key& key,
                      const std::vector<policy::policy_document>& builtins) {
  std::fprintf(stderr, "[2/4] opening the service on the directory alone\n");
  const auto before = heap_in_use();
  const auto service = open_service(empty_db, key, builtins);
  return heap_in_use() - before;
}

/// Opens the service on the tokens at least twice, timing each load; the first load also gives
/// the heap per token. Returns the service of the last load.
std::unique_ptr<iam::service> load_tokens(const std::string& tokens_db, const iam::server_key& key,
                                          const std::vector<policy::policy_document>& builtins,
                                          std::size_t rounds, double directory_bytes,
                                          tokens_result& out) {
  // The first load runs on a fresh heap, as a server start does; later rounds reuse the memory
  // the previous service freed and are reported apart.
  const std::size_t loads = std::max<std::size_t>(rounds, 2);
  std::fprintf(stderr, "[3/4] opening the service on %zu tokens (%zu times)\n", out.tokens, loads);
  std::unique_ptr<iam::service> service;
  for (std::size_t round = 0; round < loads; ++round) {
    service.reset();
    const auto before = heap_in_use();
    const auto start = clock::now();
    service = open_service(tokens_db, key, builtins);
    out.load_ms_runs.push_back(ms_since(start));
    if (round == 0) {
      const auto loaded_bytes = heap_in_use() - before;
      out.bytes_per_token = (loaded_bytes - directory_bytes) / static_cast<double>(out.tokens);
    }
  }
  out.load_ms = out.load_ms_runs.front();
  out.reload_ms = *std::min_element(out.load_ms_runs.begin() + 1, out.load_ms_runs.end());
  if (service->count_tokens().active != out.tokens) fail("the service did not load every token");
  return service;
}

/// Counts the sample secrets that do not authenticate as their token, and an unknown secret
/// that does.
std::size_t authentication_mismatches(const iam::service& service,
                                      const std::vector<sample_secret>& kept,
                                      const std::string& unknown) {
  std::size_t mismatches = 0;
  for (const auto& k : kept) {
    const auto who = service.authenticate_token(k.secret);
    if (!who || who->id != k.token_id) ++mismatches;
  }
  if (service.authenticate_token(unknown).has_value()) ++mismatches;
  return mismatches;
}

/// The host's speed varies by tens of percent for seconds at a time, so authentication is
/// measured in several rounds and the fastest is reported; every round's figure is listed beside
/// it.
void time_authentication(const iam::service& service, const iam::secret_hasher& hasher,
                         const std::vector<sample_secret>& kept, const std::string& unknown,
                         const tokens_options& options, tokens_result& out) {
  for (std::size_t round = 0; round < options.rounds; ++round) {
    const auto hash = time_calls(
        kept.size(), [&](std::size_t i) { keep(hasher.hash(kept[i].secret)); }, options.limits);
    const auto authenticate = time_calls(
        kept.size(), [&](std::size_t i) { keep(service.authenticate_token(kept[i].secret)); },
        options.limits);
    const auto rejected = time_calls(
        1, [&](std::size_t) { keep(service.authenticate_token(unknown)); }, options.limits);
    out.authenticate_runs.push_back(authenticate.median_ns);
    out.hash_runs.push_back(hash.median_ns);
    if (round == 0 || authenticate.median_ns < out.authenticate.median_ns) {
      out.hash = hash;
      out.authenticate = authenticate;
      out.unknown = rejected;
    }
  }
}

}  // namespace

tokens_result run_tokens(const tokens_options& options) {
  if (options.tokens == 0) fail("--tokens must be at least 1");
  tokens_result out;
  out.tokens = options.tokens;
  out.organizations = (options.tokens + tokens_per_organization - 1) / tokens_per_organization;
  out.creators = out.organizations * creators_per_organization;

  const auto builtins = builtin_policies(options.policies_dir);
  const auto key = value_or_fail(iam::server_key::generate(), "no server key");
  const iam::secret_hasher hasher(key);
  const workspace dir(options.dir);
  const std::string empty_db = dir.file("directory-only.db");
  const std::string tokens_db = dir.file("tokens.db");
  const auto kept = write_databases(options, hasher, empty_db, tokens_db, out);
  const double directory_bytes = directory_heap(empty_db, key, builtins);
  const auto service = load_tokens(tokens_db, key, builtins, options.rounds, directory_bytes, out);

  std::fprintf(stderr, "[4/4] authenticating with %zu sample secrets (%zu rounds)\n", kept.size(),
               options.rounds);
  const auto unknown = value_or_fail(iam::generate_token_secret(), "no random secret");
  out.mismatches = authentication_mismatches(*service, kept, unknown);
  time_authentication(*service, hasher, kept, unknown, options, out);
  return out;
}

std::string to_json(const tokens_result& r) {
  return json_object([&](json_writer& w) {
    field(w, "benchmark", std::string_view("tokens"));
    field(w, "tokens", r.tokens);
    field(w, "organizations", r.organizations);
    field(w, "creators", r.creators);
    field(w, "insert_ms", r.insert_ms);
    field(w, "database_mib", r.database_mib);
    field(w, "load_ms", r.load_ms);
    field(w, "reload_ms", r.reload_ms);
    numbers(w, "load_ms_runs", r.load_ms_runs);
    field(w, "bytes_per_token", r.bytes_per_token);
    percentiles(w, "authenticate_", r.authenticate);
    field(w, "authentications", r.authenticate.calls);
    field(w, "hash_median_ns", r.hash.median_ns);
    field(w, "unknown_secret_median_ns", r.unknown.median_ns);
    numbers(w, "authenticate_median_ns_runs", r.authenticate_runs);
    numbers(w, "hash_median_ns_runs", r.hash_runs);
    field(w, "mismatches", r.mismatches);
  });
}

}  // namespace gatehouse::bench
