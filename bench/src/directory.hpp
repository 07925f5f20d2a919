// The directory measurements: what a change to members, groups and policies costs as an
// organization grows to its member limit, on the in-memory store so that no disk write is timed.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace gatehouse::bench {

struct directory_options {
  /// Members of the one organization at the end, its owner included (limits' default cap).
  std::size_t members = 100'000;
  std::string policies_dir;
};

struct directory_checkpoint {
  std::size_t members = 0;
  /// add_member over the last `window` additions before the organization reached `members`.
  double median_us = 0;
  double p99_us = 0;
  std::size_t window = 0;
};

struct directory_result {
  std::size_t members = 0;
  double fill_s = 0;
  std::vector<directory_checkpoint> add_member;
  /// Every tenth member holds the policy "team"; editing its statements re-derives their rights.
  std::size_t team_members = 0;
  double edit_team_policy_ms = 0;
  /// A group of 1,000 members gets a policy attached or detached.
  std::size_t group_members = 0;
  double change_group_policy_ms = 0;
  /// One member gets a policy attached or detached.
  double attach_member_policy_us = 0;
  /// A member is removed (no tokens).
  double remove_member_us = 0;
  /// A policy of this many generated statements (the stored-policy limit), held by the group
  /// `big`, previewed against an edit that adds one statement and drops another: both
  /// containment searches and the holder count, at this organization size.
  std::size_t preview_statements = 0;
  double preview_median_ms = 0;
  double preview_max_ms = 0;
  /// Actions the edit adds and removes, each with an example checked by the reference
  /// evaluator, and the members the preview counts as holders.
  std::size_t preview_added = 0;
  std::size_t preview_removed = 0;
  std::size_t preview_holders = 0;
  /// Decisions that did not follow the latest change (must be 0).
  std::size_t mismatches = 0;
};

/// Fills the organization and times the changes. Progress goes to stderr. Throws
/// std::runtime_error on a failure of the service.
[[nodiscard]] directory_result run_directory(const directory_options& options);

[[nodiscard]] std::string to_json(const directory_result& r);

}  // namespace gatehouse::bench
