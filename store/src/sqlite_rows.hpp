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

}  // namespace gatehouse::store::detail
