// The PostgreSQL store's schema: created or migrated on open, with the key files' fingerprint.
#pragma once

#include "pg_connection.hpp"

#include <string>

namespace gatehouse::store::detail {

/// Creates the schema of an empty database or migrates an older one forward, and records
/// `key_fingerprint` on first open; in one transaction under an advisory lock, so instances
/// opening together do it once. errc::schema_too_new for a newer database, errc::other_keys
/// when the database holds another fingerprint.
[[nodiscard]] error_code prepare_database(pg_connection& db, const std::string& key_fingerprint);

}  // namespace gatehouse::store::detail
