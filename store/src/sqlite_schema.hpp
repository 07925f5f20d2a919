// The schema of the SQLite store: the check of a database's version, and the forward migration
// that brings it to this build's.
#pragma once

#include <sqlite3.h>

#include <boost/system/error_code.hpp>

namespace gatehouse::store::detail {

/// Sets `outdated` when the database's schema is older than this build's; errc::schema_too_new
/// when it is newer, so that nothing writes to a database a newer gatehouse made.
[[nodiscard]] boost::system::error_code check_version(sqlite3* db, bool& outdated);

/// Brings the schema to this build's version in one transaction; refuses a newer database (it
/// checks again, now under the write lock). Sets `created` when the database was new (at
/// version 0).
[[nodiscard]] boost::system::error_code migrate(sqlite3* db, bool& created);

}  // namespace gatehouse::store::detail
