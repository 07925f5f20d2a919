// The token measurements. Three SQLite databases with the same organizations and members are
// written: one without tokens, one with N tokens as created, and one with the same N tokens each
// expiring and rotated, its replaced secret in its grace period. The service is opened on each
// and the difference in heap is what the tokens cost. Secrets are random like real ones; a sample
// of them is kept in this process's memory (never written anywhere) to authenticate with.
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
/// The rotated database's tokens expire a year ahead, and their replaced secrets work for the
/// longest grace period a rotation may give, so that both outlast any run.
constexpr store::timestamp expiry_ms = 365LL * 24 * 3600 * 1000;
constexpr store::timestamp grace_ms = 7LL * 24 * 3600 * 1000;
/// How long each kind of authentication runs before the next takes its turn: a few passes over
/// the sample secrets, and a small part of a measurement's budget.
constexpr std::chrono::milliseconds authentication_turn{50};
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
  /// The secret a rotation replaced, known to the rotated database only.
  std::string previous_secret;
  std::string token_id;
};

/// Writes `count` tokens to `plain`, and the same tokens (same ids, same current secrets) with an
/// expiry and a replaced secret in its grace period to `rotated`; keeps every
/// (count / sample)-th token's secrets in `kept`.
void write_tokens(store::database& plain, store::database& rotated, const directory_ids& ids,
                  std::size_t count, std::size_t sample, const iam::secret_hasher& hasher,
                  std::mt19937_64& random, std::vector<sample_secret>& kept) {
  const std::size_t stride = std::max<std::size_t>(1, count / std::max<std::size_t>(1, sample));
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  std::vector<store::change> plain_changes;
  std::vector<store::change> rotated_changes;
  plain_changes.reserve(batch);
  rotated_changes.reserve(batch);
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
    auto previous = value_or_fail(iam::generate_token_secret(), "no random secret");
    store::token_record with_expiry = t;
    with_expiry.expires_at = now + expiry_ms;
    with_expiry.previous_secret_hash = hasher.hash(previous);
    with_expiry.previous_valid_until = now + grace_ms;
    if (n % stride == 0 && kept.size() < sample) {
      kept.push_back({std::move(secret), std::move(previous), t.id});
    }
    plain_changes.emplace_back(store::put_token{std::move(t)});
    rotated_changes.emplace_back(store::put_token{std::move(with_expiry)});
    if (plain_changes.size() == batch || n + 1 == count) {
      commit_or_fail(plain, plain_changes);
      commit_or_fail(rotated, rotated_changes);
    }
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

/// The files of the three databases.
struct database_files {
  std::string empty;
  std::string plain;
  std::string rotated;
};

/// The size of database `db` with its WAL, if one is left.
double database_mib(const std::string& db) {
  std::error_code no_wal;  // closing checkpoints the WAL into the database and removes it
  const auto wal = fs::file_size(db + "-wal", no_wal);
  return static_cast<double>(fs::file_size(db) + (no_wal ? 0 : wal)) / (1024.0 * 1024.0);
}

/// Writes the three databases: the same directory in each (same random ids, same seed), and the
/// tokens in `plain` and `rotated` only. Returns the sample secrets kept to authenticate with.
std::vector<sample_secret> write_databases(const tokens_options& options,
                                           const iam::secret_hasher& hasher,
                                           const database_files& files, tokens_result& out) {
  for (const auto& db : {files.empty, files.plain, files.rotated}) {
    for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(db + suffix);
  }
  constexpr std::uint64_t seed = 20261128;
  {
    std::mt19937_64 random(seed);
    auto s = value_or_fail(store::open_sqlite(files.empty), "cannot create " + files.empty);
    write_directory(*s, out.organizations, random);
  }
  std::vector<sample_secret> kept;
  {
    std::fprintf(stderr,
                 "[1/5] writing %zu tokens in %zu organizations to %s, and the same tokens "
                 "expiring and rotated to %s\n",
                 out.tokens, out.organizations, files.plain.c_str(), files.rotated.c_str());
    std::mt19937_64 random(seed);
    std::mt19937_64 rotated_random(seed);
    auto plain = value_or_fail(store::open_sqlite(files.plain), "cannot create " + files.plain);
    auto rotated =
        value_or_fail(store::open_sqlite(files.rotated), "cannot create " + files.rotated);
    const auto ids = write_directory(*plain, out.organizations, random);
    write_directory(*rotated, out.organizations, rotated_random);
    const auto start = clock::now();
    write_tokens(*plain, *rotated, ids, out.tokens, options.sample, hasher, random, kept);
    out.insert_ms = ms_since(start);
  }
  out.database_mib = database_mib(files.plain);
  out.rotated_database_mib = database_mib(files.rotated);
  return kept;
}

/// Heap the service takes on the directory alone, to subtract from the heap with tokens.
double directory_heap(const std::string& empty_db, const iam::server_key& key,
                      const std::vector<policy::policy_document>& builtins) {
  std::fprintf(stderr, "[2/5] opening the service on the directory alone\n");
  const auto before = heap_in_use();
  const auto service = open_service(empty_db, key, builtins);
  return heap_in_use() - before;
}

/// Opens the service on the `tokens` tokens of `db` at least twice, timing each load; the first
/// load also gives the heap per token. Returns the service of the last load.
std::unique_ptr<iam::service> load_tokens(const std::string& db, std::size_t tokens,
                                          const iam::server_key& key,
                                          const std::vector<policy::policy_document>& builtins,
                                          std::size_t rounds, double directory_bytes,
                                          token_store_figures& out) {
  // The first load runs on a fresh heap, as a server start does; later rounds reuse the memory
  // the previous service freed and are reported apart.
  const std::size_t loads = std::max<std::size_t>(rounds, 2);
  std::unique_ptr<iam::service> service;
  for (std::size_t round = 0; round < loads; ++round) {
    service.reset();
    const auto before = heap_in_use();
    const auto start = clock::now();
    service = open_service(db, key, builtins);
    out.load_ms_runs.push_back(ms_since(start));
    if (round == 0) {
      const auto loaded_bytes = heap_in_use() - before;
      out.bytes_per_token = (loaded_bytes - directory_bytes) / static_cast<double>(tokens);
    }
  }
  out.load_ms = out.load_ms_runs.front();
  out.reload_ms = *std::min_element(out.load_ms_runs.begin() + 1, out.load_ms_runs.end());
  if (service->count_tokens().active != tokens) {
    fail("the service did not load every token of " + db);
  }
  return service;
}

/// Counts the sample secrets, current and replaced, that do not authenticate as their token
/// where they should, and the secrets that authenticate where they must not: a replaced secret
/// in the plain database, which never had it, and an unknown secret in either.
std::size_t authentication_mismatches(const iam::service& plain, const iam::service& rotated,
                                      const std::vector<sample_secret>& kept,
                                      const std::string& unknown) {
  const auto authenticates_as = [](const iam::service& s, const std::string& secret,
                                   const std::string& token_id) {
    const auto who = s.authenticate_token(secret);
    return who && who->id == token_id;
  };
  std::size_t mismatches = 0;
  for (const auto& k : kept) {
    if (!authenticates_as(plain, k.secret, k.token_id)) ++mismatches;
    if (!authenticates_as(rotated, k.secret, k.token_id)) ++mismatches;
    if (!authenticates_as(rotated, k.previous_secret, k.token_id)) ++mismatches;
    if (plain.authenticate_token(k.previous_secret).has_value()) ++mismatches;
  }
  for (const iam::service* s : {&plain, &rotated}) {
    if (s->authenticate_token(unknown).has_value()) ++mismatches;
  }
  return mismatches;
}

/// One round's authentication of a well-formed secret no token has.
timing time_unknown(const iam::service& service, const std::string& unknown,
                    const timing_limits& limits) {
  return time_calls(
      1, [&](std::size_t) { keep(service.authenticate_token(unknown)); }, limits);
}

/// Keeps `authenticate` and `unknown` as `out`'s figures when this round's authentication is
/// the fastest so far.
bool keep_if_fastest(token_store_figures& out, const timing& authenticate, const timing& unknown) {
  const bool fastest =
      out.authenticate_runs.empty() || authenticate.median_ns < out.authenticate.median_ns;
  out.authenticate_runs.push_back(authenticate.median_ns);
  if (fastest) {
    out.authenticate = authenticate;
    out.unknown = unknown;
  }
  return fastest;
}

/// The services on the two token databases, open at once.
struct token_services {
  std::unique_ptr<iam::service> plain;
  std::unique_ptr<iam::service> rotated;
};

/// The host's speed varies by tens of percent for seconds at a time, so authentication is
/// measured in several rounds and the fastest is reported; every round's figure is listed beside
/// it. Within a round the current secrets in both databases and the replaced ones take turns of
/// `authentication_turn`, so that the ratio of their figures compares the same stretches of the
/// host and of what else runs on it. `reopen(rotated_first)` opens both services again.
template <class Reopen>
void time_authentication(token_services& services, Reopen&& reopen,
                         const iam::secret_hasher& hasher, const std::vector<sample_secret>& kept,
                         const std::string& unknown, const tokens_options& options,
                         tokens_result& out) {
  const auto& limits = options.limits;
  const auto with = [&](const iam::service& service, std::string sample_secret::*which) {
    return [&service, &kept, which](std::size_t i) {
      keep(service.authenticate_token(kept[i].*which));
    };
  };
  for (std::size_t round = 0; round < options.rounds; ++round) {
    // At a million tokens, how fast a service authenticates depends on where its load put the
    // tokens in memory: from one opening to the next, the rotated database measured from 23 %
    // faster to 10 % slower than the plain one, in the same turns. So every round after the
    // first opens both again, each first in turn, and each database's best round is reported.
    if (round > 0) reopen(round % 2 == 1);
    const iam::service& plain = *services.plain;
    const iam::service& rotated = *services.rotated;
    const auto hash = time_calls(
        kept.size(), [&](std::size_t i) { keep(hasher.hash(kept[i].secret)); }, limits);
    const auto [plain_current, rotated_current, previous] = time_calls_in_turns(
        kept.size(), authentication_turn, limits, with(plain, &sample_secret::secret),
        with(rotated, &sample_secret::secret), with(rotated, &sample_secret::previous_secret));
    out.hash_runs.push_back(hash.median_ns);
    const double plain_vs_hash = 100 * plain_current.median_ns / hash.median_ns;
    const double rotated_vs_hash = 100 * rotated_current.median_ns / hash.median_ns;
    out.authenticate_vs_hash_percent_runs.push_back(plain_vs_hash);
    out.rotated_authenticate_vs_hash_percent_runs.push_back(rotated_vs_hash);
    if (keep_if_fastest(out.plain, plain_current, time_unknown(plain, unknown, limits))) {
      out.hash = hash;
      out.authenticate_vs_hash_percent = plain_vs_hash;
    }
    if (keep_if_fastest(out.rotated, rotated_current, time_unknown(rotated, unknown, limits))) {
      out.rotated_authenticate_vs_hash_percent = rotated_vs_hash;
    }
    out.previous_secret_runs.push_back(previous.median_ns);
    if (round == 0 || previous.median_ns < out.previous_secret.median_ns) {
      out.previous_secret = previous;
    }
    const double percent = 100 * rotated_current.median_ns / plain_current.median_ns;
    out.rotated_vs_plain_percent_runs.push_back(percent);
    std::fprintf(stderr,
                 "      round %zu (%s opened first): current secrets %.0f ns, expiring and "
                 "rotated %.0f ns (%.1f %%); replaced secrets %.0f ns; HMAC %.0f ns (current "
                 "secrets %.0f %% of it, expiring and rotated %.0f %%)\n",
                 round + 1, round % 2 == 1 ? "rotated" : "plain", plain_current.median_ns,
                 rotated_current.median_ns, percent, previous.median_ns, hash.median_ns,
                 plain_vs_hash, rotated_vs_hash);
  }
  out.rotated_vs_plain_percent =
      100 * out.rotated.authenticate.median_ns / out.plain.authenticate.median_ns;
}

/// The figures of one database, each key starting with `prefix`.
void store_fields(json_writer& w, const std::string& prefix, const token_store_figures& f) {
  const auto key = [&](const char* name) { return prefix + name; };
  field(w, key("load_ms").c_str(), f.load_ms);
  field(w, key("reload_ms").c_str(), f.reload_ms);
  numbers(w, key("load_ms_runs").c_str(), f.load_ms_runs);
  field(w, key("bytes_per_token").c_str(), f.bytes_per_token);
  percentiles(w, key("authenticate_"), f.authenticate);
  field(w, key("authentications").c_str(), f.authenticate.calls);
  field(w, key("unknown_secret_median_ns").c_str(), f.unknown.median_ns);
  numbers(w, key("authenticate_median_ns_runs").c_str(), f.authenticate_runs);
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
  const database_files files{dir.file("directory-only.db"), dir.file("tokens.db"),
                             dir.file("tokens-rotated.db")};
  const auto kept = write_databases(options, hasher, files, out);
  const double directory_bytes = directory_heap(files.empty, key, builtins);

  const std::size_t loads = std::max<std::size_t>(options.rounds, 2);
  std::fprintf(stderr, "[3/5] opening the service on %zu tokens (%zu times)\n", out.tokens, loads);
  token_services services;
  services.plain = load_tokens(files.plain, out.tokens, key, builtins, options.rounds,
                               directory_bytes, out.plain);
  // The plain service stays open, so the rotated database's first load also grows the heap.
  std::fprintf(stderr,
               "[4/5] opening the service on the same tokens expiring and rotated (%zu times)\n",
               loads);
  services.rotated = load_tokens(files.rotated, out.tokens, key, builtins, options.rounds,
                                 directory_bytes, out.rotated);

  std::fprintf(stderr,
               "[5/5] authenticating with %zu sample secrets (%zu rounds, both databases opened "
               "again before each round after the first, each first in turn)\n",
               kept.size(), options.rounds);
  const auto unknown = value_or_fail(iam::generate_token_secret(), "no random secret");
  out.mismatches = authentication_mismatches(*services.plain, *services.rotated, kept, unknown);
  const auto reopen = [&](bool rotated_first) {
    services = {};
    if (rotated_first) services.rotated = open_service(files.rotated, key, builtins);
    services.plain = open_service(files.plain, key, builtins);
    if (!rotated_first) services.rotated = open_service(files.rotated, key, builtins);
  };
  time_authentication(services, reopen, hasher, kept, unknown, options, out);
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
    field(w, "rotated_database_mib", r.rotated_database_mib);
    store_fields(w, "", r.plain);
    field(w, "hash_median_ns", r.hash.median_ns);
    numbers(w, "hash_median_ns_runs", r.hash_runs);
    field(w, "authenticate_vs_hash_percent", r.authenticate_vs_hash_percent);
    numbers(w, "authenticate_vs_hash_percent_runs", r.authenticate_vs_hash_percent_runs);
    field(w, "rotated_authenticate_vs_hash_percent", r.rotated_authenticate_vs_hash_percent);
    numbers(w, "rotated_authenticate_vs_hash_percent_runs",
            r.rotated_authenticate_vs_hash_percent_runs);
    store_fields(w, "rotated_", r.rotated);
    percentiles(w, "previous_secret_", r.previous_secret);
    numbers(w, "previous_secret_median_ns_runs", r.previous_secret_runs);
    field(w, "rotated_vs_plain_percent", r.rotated_vs_plain_percent);
    numbers(w, "rotated_vs_plain_percent_runs", r.rotated_vs_plain_percent_runs);
    field(w, "mismatches", r.mismatches);
  });
}

}  // namespace gatehouse::bench
