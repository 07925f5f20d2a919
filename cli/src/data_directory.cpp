// Opening and first-start initialization of a data directory, and the opening that `serve`,
// `jwt` and `login-link` share: with the built-in policies of --policies, failures told to the
// operator.
#include "data_directory.hpp"

#include <gatehouse/iam/builtins.hpp>
#include <gatehouse/iam/jwt.hpp>
#include <gatehouse/policy/document.hpp>

#include <filesystem>
#include <ostream>
#include <system_error>
#include <utility>

namespace gatehouse::cli {

namespace fs = std::filesystem;
using iam::errc;
using iam::failure;

namespace {

/// The built-in policies: those compiled in, or those of `dir` when --policies names one; says
/// why not on `err`.
std::optional<std::vector<policy::policy_document>> load_builtins(std::string_view command,
                                                                  const std::string& dir,
                                                                  std::ostream& err) {
  if (dir.empty()) return iam::embedded_builtin_policies();
  auto loaded = iam::load_builtin_policies(dir);
  if (!loaded) {
    err << "gatehouse " << command
        << ": cannot load the built-in policies: " << loaded.error().detail << '\n';
    return std::nullopt;
  }
  return std::move(*loaded);
}

}  // namespace

iam::outcome<data_directory> open_data_directory(const std::string& dir,
                                                 std::vector<policy::policy_document> builtins,
                                                 iam::hooks hooks) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return failure(errc::storage_failure, "cannot create " + dir + ": " + ec.message());
  // Nobody else needs to read the directory: it holds the keys.
  fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);

  const auto db_path = (fs::path(dir) / "gatehouse.db").string();
  const bool fresh = !fs::exists(db_path);
  auto token_key = iam::server_key::load_or_create((fs::path(dir) / "token.key").string());
  if (!token_key) {
    return failure(errc::storage_failure, "token.key: " + token_key.error().message());
  }
  auto jwt_key = iam::server_key::load_or_create((fs::path(dir) / "jwt.key").string());
  if (!jwt_key) return failure(errc::storage_failure, "jwt.key: " + jwt_key.error().message());
  auto store = store::open_sqlite(db_path);
  if (!store) return failure(errc::storage_failure, "gatehouse.db: " + store.error().message());
  auto opened = iam::service::open(std::move(*store), std::move(*token_key), std::move(builtins),
                                   {}, std::move(hooks));
  if (!opened) return opened.error();

  data_directory out;
  out.iam = std::move(*opened);
  out.jwt_secret = iam::base64url(jwt_key->bytes().data(), jwt_key->bytes().size());
  if (auto org = out.iam->find_organization_by_name(default_organization)) {
    out.organization_id = org->id;
  } else {
    auto created = out.iam->create_organization(std::string(default_organization),
                                                std::string(default_owner_email));
    if (!created) return created.error();
    out.organization_id = created->first.id;
    out.initialized = fresh;
  }
  return out;
}

std::optional<data_directory> open_data_directory_for(std::string_view command,
                                                      const std::string& dir,
                                                      const std::string& policies_dir,
                                                      iam::hooks hooks, std::ostream& err) {
  auto builtins = load_builtins(command, policies_dir, err);
  if (!builtins) return std::nullopt;
  auto opened = open_data_directory(dir, std::move(*builtins), std::move(hooks));
  if (!opened) {
    err << "gatehouse " << command << ": cannot open the data directory '" << dir
        << "': " << opened.error().detail << '\n';
    return std::nullopt;
  }
  return std::move(*opened);
}

}  // namespace gatehouse::cli
