// Opening and first-start initialization of a data directory.
#include <gatehouse/engine/data_directory.hpp>

#include <gatehouse/policy/document.hpp>

#include <algorithm>
#include <filesystem>
#include <system_error>

namespace gatehouse::engine {

namespace fs = std::filesystem;

outcome<std::vector<policy::policy_document>> load_builtin_policies(const std::string& dir) {
  std::error_code ec;
  std::vector<fs::path> files;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file() && it->path().extension() == ".json") files.push_back(it->path());
  }
  if (ec)
    return failure(iam_errc::field_invalid,
                   "cannot read policy folder " + dir + ": " + ec.message());
  std::sort(files.begin(), files.end());
  std::vector<policy::policy_document> out;
  for (const auto& file : files) {
    auto loaded = policy::load_policy_file(file.string());
    if (!loaded.ok()) {
      for (const auto& f : loaded.findings) {
        if (f.severity == policy::severity::error) {
          return failure(iam_errc::field_invalid, policy::format_finding(file.string(), f));
        }
      }
      return failure(iam_errc::field_invalid, file.string() + " does not load");
    }
    if (loaded.document->id.empty()) {
      return failure(iam_errc::field_invalid, file.string() + ": a built-in policy needs an id");
    }
    out.push_back(std::move(*loaded.document));
  }
  for (auto id : {owner_policy_id, administrator_policy_id, developer_policy_id}) {
    if (std::none_of(out.begin(), out.end(), [&](auto& doc) { return doc.id == id; })) {
      return failure(iam_errc::field_invalid,
                     "policy folder " + dir + " lacks built-in policy " + std::string(id));
    }
  }
  return out;
}

outcome<data_directory> open_data_directory(const std::string& dir,
                                            std::vector<policy::policy_document> builtins,
                                            iam_hooks hooks) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return failure(iam_errc::storage_failure, "cannot create " + dir + ": " + ec.message());
  // Nobody else needs to read the directory: it holds the keys.
  fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);

  const auto db_path = (fs::path(dir) / "gatehouse.db").string();
  const bool fresh = !fs::exists(db_path);
  auto token_key = server_key::load_or_create((fs::path(dir) / "token.key").string());
  if (!token_key) {
    return failure(iam_errc::storage_failure, "token.key: " + token_key.error().message());
  }
  auto jwt_key = server_key::load_or_create((fs::path(dir) / "jwt.key").string());
  if (!jwt_key) return failure(iam_errc::storage_failure, "jwt.key: " + jwt_key.error().message());
  auto store = open_sqlite_store(db_path);
  if (!store) return failure(iam_errc::storage_failure, "gatehouse.db: " + store.error().message());
  auto iam = iam_service::open(std::move(*store), std::move(*token_key), std::move(builtins), {},
                               std::move(hooks));
  if (!iam) return iam.error();

  data_directory out;
  out.iam = std::move(*iam);
  out.jwt_secret = base64url(jwt_key->bytes().data(), jwt_key->bytes().size());
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

}  // namespace gatehouse::engine
