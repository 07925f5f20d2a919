// The token measurements: how long `service::open` takes to load a store of N tokens, how
// much memory each loaded token costs, and how long authenticating a secret takes.
#pragma once

#include "timing.hpp"

#include <cstddef>
#include <string>
#include <vector>

namespace gatehouse::bench {

struct tokens_options {
  std::size_t tokens = 1'000'000;
  /// Secrets kept aside (in memory only) to authenticate with; spread over the whole store.
  std::size_t sample = 4'096;
  /// Where the databases are written; empty: a fresh folder under the temp directory, removed
  /// at the end.
  std::string dir;
  std::string policies_dir;
  /// Loads (at least 2) and authentication measurements; see tokens_result.
  std::size_t rounds = 3;
  timing_limits limits;
};

struct tokens_result {
  std::size_t tokens = 0;
  std::size_t organizations = 0;
  std::size_t creators = 0;
  double insert_ms = 0;
  double database_mib = 0;
  /// open_sqlite + service::open on the database of `tokens` tokens, the first time in
  /// the process (as at a server start); `reload_ms` the fastest of the later rounds.
  double load_ms = 0;
  double reload_ms = 0;
  std::vector<double> load_ms_runs;
  /// Heap the loaded tokens take, excluding their statements, per token: the service's heap
  /// over an identical store without tokens, divided by `tokens` (first load).
  double bytes_per_token = 0;
  /// service::authenticate_token on known secrets: HMAC, index look-up, caller.
  timing authenticate;
  /// secret_hasher::hash alone, the HMAC-SHA-256 part of the above.
  timing hash;
  /// authenticate_token on a well-formed secret no token has.
  timing unknown;
  /// Every round's authenticate and hash medians; the figures above are those of the round with
  /// the fastest authentication.
  std::vector<double> authenticate_runs;
  std::vector<double> hash_runs;
  /// Sample secrets that did not authenticate as their own token (must be 0).
  std::size_t mismatches = 0;
};

/// Builds the databases, loads, measures. Progress goes to stderr. Throws std::runtime_error on
/// a failure of the store or the service.
[[nodiscard]] tokens_result run_tokens(const tokens_options& options);

[[nodiscard]] std::string to_json(const tokens_result& r);

}  // namespace gatehouse::bench
