// Records in and out of the PostgreSQL store's tables: one change written inside a commit's
// transaction, records read back (all of them at load, or those a change-log batch names), and
// the audit trail.
#pragma once

#include "pg_connection.hpp"

#include <gatehouse/store/records.hpp>

#include <functional>
#include <string>
#include <vector>

namespace gatehouse::store::detail {

/// What a change-log entry says a commit touched: the record's kind and id.
enum class record_kind : char {
  organization = 'o',
  member = 'm',
  group = 'g',
  policy = 'p',
  token = 't',
  /// A generation of built-in policies: its record id is the generation.
  builtins = 'b',
};

/// Writes one change; the caller holds the transaction. Sets `touched` to the record it changes,
/// or leaves it empty for a change other instances need not hear of (a last use, an audit
/// record).
[[nodiscard]] error_code pg_apply(pg_connection& db, const change& c,
                                  std::optional<std::pair<record_kind, std::string>>& touched);

/// Reads every organization, member, group and policy with their lists into `state`.
[[nodiscard]] error_code pg_load_directory(pg_connection& db, stored_state& state);

/// Streams every token to `on_token`; a row that is not a valid token fails with
/// errc::malformed_record.
[[nodiscard]] error_code pg_load_tokens(pg_connection& db,
                                        const std::function<void(token_record&&)>& on_token);

/// The records `ids` of `kind` as they are now: a `put_*` for each that exists, an `erase_*` for
/// each that does not, appended to `out` (puts to `puts`, erasures to `erasures`).
[[nodiscard]] error_code pg_read_current(pg_connection& db, record_kind kind,
                                         const std::vector<std::string>& ids,
                                         std::vector<change>& puts, std::vector<change>& erasures);

/// The newest generation of built-in policies, or none when none was published.
[[nodiscard]] error_code pg_read_builtins(pg_connection& db,
                                          std::optional<builtin_generation>& out);

/// A text[] literal of `items`, each quoted, for `= ANY($1::text[])` and unnest.
[[nodiscard]] std::string text_array(const std::vector<std::string>& items);

[[nodiscard]] error_code pg_read_audit_page(pg_connection& db, const audit_query& q,
                                            audit_page& out);
[[nodiscard]] error_code pg_each_audit_row(
    pg_connection& db, const audit_query& q,
    const std::function<void(const audit_record&)>& on_record);
[[nodiscard]] error_code pg_prune_audit_rows(pg_connection& db, timestamp before,
                                             std::size_t& pruned);

}  // namespace gatehouse::store::detail
