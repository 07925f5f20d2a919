// A gatehouse data directory: server keys (mode 0600), the SQLite database, and on first start
// the `playground` organization with its owner. What `gatehouse serve` and `gatehouse jwt` open.
#pragma once

#include <gatehouse/engine/errors.hpp>
#include <gatehouse/engine/iam_service.hpp>
#include <gatehouse/policy/statement.hpp>

#include <memory>
#include <string>
#include <vector>

namespace gatehouse::engine {

inline constexpr std::string_view default_organization = "playground";
inline constexpr std::string_view default_owner_email = "owner@example.com";

struct data_directory {
  std::unique_ptr<iam_service> iam;
  /// The HS256 secret member JWTs are signed with (DIR/jwt.key). Never logged.
  std::string jwt_secret;
  /// The `playground` organization.
  std::string organization_id;
  /// True when this call created the directory's contents.
  bool initialized = false;
};

/// Loads the built-in policies from `dir`: every `*.json` directly in it (examples in
/// subfolders are not loaded). Fails, naming the file and the first error, if any does not
/// load or if Owner, Administrator or Developer is missing.
[[nodiscard]] outcome<std::vector<policy::policy_document>> load_builtin_policies(
    const std::string& dir);

/// Opens `dir`, creating it and initializing it when it holds no database yet; `hooks` go to the
/// IAM service.
[[nodiscard]] outcome<data_directory> open_data_directory(
    const std::string& dir, std::vector<policy::policy_document> builtins, iam_hooks hooks = {});

}  // namespace gatehouse::engine
