// A gatehouse data directory: server keys (mode 0600), the SQLite database or the URI of a
// PostgreSQL database several instances share, and on first start the `playground`
// organization with its owner. What `gatehouse serve`, `jwt`, `login-link` and `audit` open.
#pragma once

#include <gatehouse/iam/errors.hpp>
#include <gatehouse/iam/service.hpp>
#include <gatehouse/policy/statement.hpp>
#include <gatehouse/store/database.hpp>

#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gatehouse::cli {

/// The data directory of `serve`, `jwt` and `login-link` when --data does not name one.
inline constexpr std::string_view default_data_dir = "./data";
inline constexpr std::string_view default_organization = "playground";
inline constexpr std::string_view default_owner_email = "owner@example.com";

/// Where a command's state is: the data directory (keys, and the SQLite database unless `store`
/// is set) and the `--store` URI of a shared PostgreSQL database (SPEC §12).
struct data_location {
  std::string dir;
  std::string store;

  [[nodiscard]] bool shared() const noexcept { return !store.empty(); }
  /// Whether the location holds data already: the SQLite database, or the keys that a shared
  /// database's fingerprint was made from.
  [[nodiscard]] bool exists() const;
};

/// Whether `text` is a PostgreSQL connection URI (`postgresql://` or `postgres://`).
[[nodiscard]] bool is_store_uri(std::string_view text) noexcept;

/// Opens the store of `where` with the keys of its directory (creating them when `create`):
/// SQLite in the directory, or the shared database. Says why not on `err`, as `command`.
[[nodiscard]] std::unique_ptr<store::database> open_store_for(std::string_view command,
                                                              const data_location& where,
                                                              bool create, std::ostream& err);

struct data_directory {
  std::unique_ptr<iam::service> iam;
  /// The HS256 secret member JWTs are signed with (DIR/jwt.key). Never logged.
  std::string jwt_secret;
  /// The `playground` organization.
  std::string organization_id;
  /// True when this call created the directory's contents.
  bool initialized = false;
  /// The store is shared with other instances: follow its change log.
  bool shared = false;
};

/// Opens `where`, creating the directory and initializing the store when it holds no
/// organization yet (once, even when several instances start on one shared store together);
/// `hooks` go to the IAM service.
[[nodiscard]] iam::outcome<data_directory> open_data_directory(
    const data_location& where, std::vector<policy::policy_document> builtins,
    iam::hooks hooks = {});

/// For `gatehouse COMMAND`: opens `where` with the built-in policies of `policies_dir` (those
/// compiled in when it is empty). On failure says why on `err` and returns nullopt.
[[nodiscard]] std::optional<data_directory> open_data_directory_for(std::string_view command,
                                                                    const data_location& where,
                                                                    const std::string& policies_dir,
                                                                    iam::hooks hooks,
                                                                    std::ostream& err);

}  // namespace gatehouse::cli
