// A gatehouse data directory: server keys (mode 0600), the SQLite database, and on first start
// the `playground` organization with its owner. What `gatehouse serve`, `jwt` and
// `login-link` open.
#pragma once

#include <gatehouse/iam/errors.hpp>
#include <gatehouse/iam/service.hpp>
#include <gatehouse/policy/statement.hpp>

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

/// For `gatehouse COMMAND`: opens `dir` with the built-in policies of `policies_dir` (those
/// compiled in when it is empty). On failure says why on `err` and returns nullopt.
[[nodiscard]] std::optional<data_directory> open_data_directory_for(std::string_view command,
                                                                    const std::string& dir,
                                                                    const std::string& policies_dir,
                                                                    iam::hooks hooks,
                                                                    std::ostream& err);

}  // namespace gatehouse::cli
