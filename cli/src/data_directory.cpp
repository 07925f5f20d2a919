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

bool data_location::exists() const {
  std::error_code ec;
  if (!shared()) return fs::exists(fs::path(dir) / "gatehouse.db", ec);
  return fs::exists(fs::path(dir) / "token.key", ec) && fs::exists(fs::path(dir) / "jwt.key", ec);
}

bool is_store_uri(std::string_view text) noexcept {
  return text.starts_with("postgresql://") || text.starts_with("postgres://");
}

namespace {

struct opened_store {
  std::unique_ptr<store::database> database;
  iam::server_key token_key;
  iam::server_key jwt_key;
};

/// The keys of `where` (made when missing, with the directory, when `create`) and its store.
iam::outcome<opened_store> open_store(const data_location& where, bool create) {
  const auto& dir = where.dir;
  std::error_code ec;
  if (create) {
    fs::create_directories(dir, ec);
    if (ec) return failure(errc::storage_failure, "cannot create " + dir + ": " + ec.message());
    // Nobody else needs to read the directory: it holds the keys.
    fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  }
  auto token_key = iam::server_key::load_or_create((fs::path(dir) / "token.key").string());
  if (!token_key) {
    return failure(errc::storage_failure, "token.key: " + token_key.error().message());
  }
  auto jwt_key = iam::server_key::load_or_create((fs::path(dir) / "jwt.key").string());
  if (!jwt_key) return failure(errc::storage_failure, "jwt.key: " + jwt_key.error().message());
  if (!where.shared()) {
    auto db = store::open_sqlite((fs::path(dir) / "gatehouse.db").string());
    if (!db) return failure(errc::storage_failure, "gatehouse.db: " + db.error().message());
    return opened_store{std::move(*db), std::move(*token_key), std::move(*jwt_key)};
  }
  const auto fingerprint = iam::key_fingerprint(*token_key, *jwt_key);
  if (fingerprint.empty()) {
    return failure(errc::storage_failure, "cannot compute the fingerprint of the keys");
  }
  auto db = store::open_postgresql(where.store, {.key_fingerprint = fingerprint});
  // The URI may hold a password: it is never repeated.
  if (!db) return failure(errc::storage_failure, "--store: " + db.error().message());
  return opened_store{std::move(*db), std::move(*token_key), std::move(*jwt_key)};
}

}  // namespace

std::unique_ptr<store::database> open_store_for(std::string_view command,
                                                const data_location& where, bool create,
                                                std::ostream& err) {
  auto opened = open_store(where, create);
  if (!opened) {
    err << "gatehouse " << command << ": cannot open the data directory '" << where.dir
        << "': " << opened.error().detail << '\n';
    return nullptr;
  }
  return std::move(opened->database);
}

iam::outcome<data_directory> open_data_directory(const data_location& where,
                                                 std::vector<policy::policy_document> builtins,
                                                 iam::hooks hooks) {
  const bool fresh = !where.exists();
  auto opened = open_store(where, true);
  if (!opened) return opened.error();
  store::database& database = *opened->database;
  data_directory out;
  out.shared = where.shared();
  out.jwt_secret = iam::base64url(opened->jwt_key.bytes().data(), opened->jwt_key.bytes().size());
  auto service = iam::service::open(std::move(opened->database), std::move(opened->token_key),
                                    std::move(builtins), {}, std::move(hooks));
  if (!service) return service.error();
  out.iam = std::move(*service);

  // On a shared store, instances starting together take turns here: the first creates the
  // organization, the others find it in what they follow of its change log.
  std::optional<failure> problem;
  const auto ec = database.exclusively([&] {
    // The first instance's built-in policies become the shared store's first generation; the
    // others adopt them (SPEC §12: the newest generation in the database wins).
    if (out.shared) {
      auto followed = out.iam->follow_changes(std::chrono::milliseconds(0));
      if (!followed) {
        problem = followed.error();
        return;
      }
      if (auto shared = out.iam->share_builtins(); !shared) {
        problem = shared.error();
        return;
      }
    }
    if (auto org = out.iam->find_organization_by_name(default_organization)) {
      out.organization_id = org->id;
      return;
    }
    auto created = out.iam->create_organization(std::string(default_organization),
                                                std::string(default_owner_email));
    if (!created) {
      problem = created.error();
      return;
    }
    out.organization_id = created->first.id;
    out.initialized = fresh || out.shared;
  });
  if (ec) return failure(errc::storage_failure, ec.message());
  if (problem) return *problem;
  return out;
}

std::optional<data_directory> open_data_directory_for(std::string_view command,
                                                      const data_location& where,
                                                      const std::string& policies_dir,
                                                      iam::hooks hooks, std::ostream& err) {
  auto builtins = load_builtins(command, policies_dir, err);
  if (!builtins) return std::nullopt;
  auto opened = open_data_directory(where, std::move(*builtins), std::move(hooks));
  if (!opened) {
    err << "gatehouse " << command << ": cannot open the data directory '" << where.dir
        << "': " << opened.error().detail << '\n';
    return std::nullopt;
  }
  return std::move(*opened);
}

}  // namespace gatehouse::cli
