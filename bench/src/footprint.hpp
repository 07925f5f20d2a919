// What the service holds in memory per member and per statement (docs/scaling.md): heap
// differences, as glibc counts them, around adding members and storing and compiling policies.
#pragma once

#include <cstddef>
#include <string>

namespace gatehouse::bench {

struct footprint_options {
  std::size_t members = 20'000;
  /// Statements of the policy stored and compiled.
  std::size_t statements = 1'000;
  std::string policies_dir;
};

struct footprint_result {
  std::size_t members = 0;
  /// A member with the organization's default policies: record, indexes, a share of the rights
  /// every member with the same policies shares.
  double bytes_per_member = 0;
  std::size_t statements = 0;
  /// A customer-managed policy's statements as stored (validated, kept for the API).
  double bytes_per_stored_statement = 0;
  /// The same statements compiled into a holder's rights, once per distinct set of policies.
  double bytes_per_compiled_statement = 0;
};

[[nodiscard]] footprint_result run_footprint(const footprint_options& options);
[[nodiscard]] std::string to_json(const footprint_result& r);

}  // namespace gatehouse::bench
