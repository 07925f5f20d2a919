// Several instances on one PostgreSQL database (SPEC §12): how long a revocation made on one
// instance takes to be answered on another, and how many tokens a second one store can create,
// on PostgreSQL beside SQLite.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace gatehouse::bench {

struct instances_options {
  /// A libpq URI of a PostgreSQL server whose user may create databases; the measurement runs
  /// in a database of its own, dropped at the end.
  std::string store;
  std::string policies_dir;
  /// Revocations timed.
  std::size_t revocations = 200;
  /// Tokens created per creation measurement.
  std::size_t creations = 400;
  /// Threads creating tokens at once in the concurrent creation measurement.
  std::size_t threads = 4;
};

/// A latency distribution in milliseconds.
struct latency_ms {
  double min = 0;
  double p50 = 0;
  double p90 = 0;
  double p99 = 0;
  double max = 0;
  std::size_t samples = 0;
};

struct instances_result {
  /// From `delete_token` returning on instance A until B answers the secret as unknown.
  latency_ms revocation;
  /// From `create_token` returning on A until B authenticates the new secret.
  latency_ms creation;
  /// Tokens created per second through service::create_token, one caller at a time and
  /// `threads` at once, on the PostgreSQL database and on an SQLite file.
  double postgresql_creations_per_s = 0;
  double postgresql_concurrent_creations_per_s = 0;
  double sqlite_creations_per_s = 0;
  double sqlite_concurrent_creations_per_s = 0;
  std::size_t threads = 0;
  /// The server's settings that decide what a commit costs: "on"/"off".
  std::string postgresql_fsync;
  std::string postgresql_synchronous_commit;
  /// Revocations B still accepted after 5 s, or creations it never saw: each a failure.
  std::size_t mismatches = 0;
};

[[nodiscard]] instances_result run_instances(const instances_options& options);
[[nodiscard]] std::string to_json(const instances_result& r);

}  // namespace gatehouse::bench
