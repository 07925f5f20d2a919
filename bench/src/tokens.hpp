// The token measurements: how long `service::open` takes to load a store of N tokens, how
// much memory each loaded token costs, and how long authenticating a secret takes, for tokens
// as created and for the same tokens with an expiry and two live secrets.
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

/// One database's figures: how long it takes to load, what its tokens cost in memory, how long
/// authenticating with a current secret takes.
struct token_store_figures {
  /// open_sqlite + service::open on the database, the first time (as at a server start);
  /// `reload_ms` the fastest of the later rounds.
  double load_ms = 0;
  double reload_ms = 0;
  std::vector<double> load_ms_runs;
  /// Heap the loaded tokens take, excluding their statements, per token: the service's heap
  /// over an identical store without tokens, divided by the token count (first load).
  double bytes_per_token = 0;
  /// service::authenticate_token on known current secrets: HMAC, index look-up, caller.
  timing authenticate;
  /// authenticate_token on a well-formed secret no token has.
  timing unknown;
  /// Every round's authenticate median; the figures above are those of the round with the
  /// fastest authentication.
  std::vector<double> authenticate_runs;
};

struct tokens_result {
  std::size_t tokens = 0;
  std::size_t organizations = 0;
  std::size_t creators = 0;
  /// Writing both token databases.
  double insert_ms = 0;
  double database_mib = 0;
  double rotated_database_mib = 0;
  /// The tokens as created: no expiry, one secret each.
  token_store_figures plain;
  /// The same tokens with the same current secrets, each also expiring a year ahead and with
  /// the secret a rotation replaced still in its grace period (SPEC §13): two live secrets.
  token_store_figures rotated;
  /// authenticate_token on those replaced secrets, in the rotated database.
  timing previous_secret;
  std::vector<double> previous_secret_runs;
  /// rotated.authenticate as a percentage of plain.authenticate (medians; 110: 10 % slower).
  /// Both are timed in every round, one right after the other; `rotated_vs_plain_percent_runs`
  /// lists each round's figure.
  double rotated_vs_plain_percent = 0;
  std::vector<double> rotated_vs_plain_percent_runs;
  /// secret_hasher::hash alone, the HMAC-SHA-256 part of authentication, in the round that
  /// the plain authentication figures come from.
  timing hash;
  std::vector<double> hash_runs;
  /// plain.authenticate and rotated.authenticate as percentages of the HMAC alone (250: 2.5
  /// times as long), each over the `hash` of the round its figure comes from; `_runs` lists each
  /// round's figure.
  double authenticate_vs_hash_percent = 0;
  double rotated_authenticate_vs_hash_percent = 0;
  std::vector<double> authenticate_vs_hash_percent_runs;
  std::vector<double> rotated_authenticate_vs_hash_percent_runs;
  /// Sample secrets, current or replaced, that did not authenticate as their own token, and
  /// secrets that authenticated where they must not (must be 0).
  std::size_t mismatches = 0;
};

/// Builds the databases, loads, measures. Progress goes to stderr. Throws std::runtime_error on
/// a failure of the store or the service.
[[nodiscard]] tokens_result run_tokens(const tokens_options& options);

[[nodiscard]] std::string to_json(const tokens_result& r);

}  // namespace gatehouse::bench
