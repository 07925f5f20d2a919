// A gatehouse data directory: server keys (mode 0600), the SQLite database, and on first start
// the `playground` organization with its owner. What `gatehouse serve` and `gatehouse jwt` open.
#pragma once

#include <gatehouse/iam/errors.hpp>
#include <gatehouse/iam/service.hpp>
#include <gatehouse/policy/statement.hpp>

#include <memory>
#include <string>
#include <vector>

namespace gatehouse::cli {

inline constexpr std::string_view default_organization = "playground";
inline constexpr std::string_view default_owner_email = "owner@example.com";

struct data_directory {
  std::unique_ptr<iam::service> iam;
  /// The HS256 secret member JWTs are signed with (DIR/jwt.key). Never logged.
  std::string jwt_secret;
  /// The `playground` organization.
  std::string organization_id;
  /// True when this call created the directory's contents.
  bool initialized = false;
};

/// Opens `dir`, creating it and initializing it when it holds no database yet; `hooks` go to the
/// IAM service.
[[nodiscard]] iam::outcome<data_directory> open_data_directory(
    const std::string& dir, std::vector<policy::policy_document> builtins, iam::hooks hooks = {});

}  // namespace gatehouse::cli
