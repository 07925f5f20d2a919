// Records in and out of the SQLite store's tables: one change written inside a commit's
// transaction, and everything read back inside a load's.
#pragma once

#include "sqlite_connection.hpp"

#include <gatehouse/store/records.hpp>

#include <functional>

namespace gatehouse::store::detail {

/// Writes one change; the caller holds the transaction that makes a commit atomic.
[[nodiscard]] error_code apply(sqlite_connection& db, const change& c);

/// Reads every organization, member, group and policy with their lists into `state`.
[[nodiscard]] error_code load_directory(sqlite_connection& db, stored_state& state);

/// Streams every token to `on_token`; a row that is not a valid token fails the load with
/// errc::malformed_record.
[[nodiscard]] error_code load_tokens(sqlite_connection& db,
                                     const std::function<void(token_record&&)>& on_token);

/// Appends `r` to the audit trail (its id is given by the table); inside a commit's transaction.
[[nodiscard]] error_code append_audit_row(sqlite_connection& db, const audit_record& r);

/// Reads the page of audit records `q` asks for, with the count of every match.
[[nodiscard]] error_code read_audit_page(sqlite_connection& db, const audit_query& q,
                                         audit_page& out);

/// Streams the audit records `q` matches, oldest first.
[[nodiscard]] error_code each_audit_row(sqlite_connection& db, const audit_query& q,
                                        const std::function<void(const audit_record&)>& on_record);

/// Deletes the audit records from before `before`, counting them in `pruned`.
[[nodiscard]] error_code prune_audit_rows(sqlite_connection& db, timestamp before,
                                          std::size_t& pruned);

}  // namespace gatehouse::store::detail
