// Member-JWT keys: reading PEM public keys from a file or a KID.pem directory, the verifier
// they make, their reload on SIGHUP, and the member-JWT flags of `serve`, `jwt` and `login-link`.
#include "member_jwt.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace gatehouse::cli {
namespace {

std::string_view key_requirement(iam::jwt_algorithm algorithm) {
  return algorithm == iam::jwt_algorithm::es256
             ? "a P-256 public key in PEM, as --jwt-alg ES256 says"
             : "an RSA public key of 2048 bits or more in PEM, as --jwt-alg RS256 says";
}

/// Reads a PEM public key file; the key is public, but a huge file is certainly not one.
loaded<std::string> read_key_file(const std::string& path) {
  constexpr std::uintmax_t max_key_file_bytes = 64ULL * 1024;
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return problem{"cannot read '" + path + "': " + ec.message()};
  if (size > max_key_file_bytes) {
    return problem{"'" + path + "' is larger than " + std::to_string(max_key_file_bytes / 1024) +
                   " KiB"};
  }
  std::ifstream in(path, std::ios::binary);
  std::string key((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in && !in.eof()) return problem{"cannot read '" + path + "'"};
  // Said outright: a string could make a `problem` as well.
  return {boost::system::in_place_value, std::move(key)};
}

/// Far above what a rotation needs (the old key, the current one, the next) and a bound on
/// the work of a reload.
constexpr std::size_t max_jwt_keys = 64;

/// The keys of --jwt-key-dir: each `KID.pem` directly in `dir` is the public key that tokens
/// with that `kid` are verified with. Sorted by kid. Fails when any key is unusable, when there
/// are too many, or when there is none: a partial set would refuse members without saying why.
loaded<std::vector<iam::jwt_key>> load_key_dir(const std::string& dir,
                                               iam::jwt_algorithm algorithm) {
  namespace fs = std::filesystem;
  std::vector<iam::jwt_key> keys;
  std::error_code ec;
  fs::directory_iterator entry(dir, ec);
  for (; !ec && entry != fs::directory_iterator(); entry.increment(ec)) {
    const fs::path& path = entry->path();
    const std::string name = path.filename().string();
    // Hidden entries are no keys: editors' backups, the `..data` links of mounted secrets.
    if (name.starts_with('.') || path.extension() != ".pem") continue;
    std::error_code type_ec;
    if (!entry->is_regular_file(type_ec)) continue;  // a link counts by what it points to
    if (keys.size() == max_jwt_keys) {
      return problem{"'" + dir + "' holds more than " + std::to_string(max_jwt_keys) + " keys"};
    }
    const std::string file = path.string();
    auto key = read_key_file(file);
    if (!key) return std::move(key).error();
    if (!iam::is_usable_jwt_key(algorithm, *key)) {
      return problem{"'" + file + "' is not " + std::string(key_requirement(algorithm))};
    }
    keys.push_back({path.stem().string(), algorithm, std::move(*key)});
  }
  if (ec) return problem{"cannot read '" + dir + "': " + ec.message()};
  if (keys.empty()) return problem{"'" + dir + "' holds no KID.pem key"};
  std::sort(keys.begin(), keys.end(),
            [](const iam::jwt_key& a, const iam::jwt_key& b) { return a.id < b.id; });
  return keys;
}

/// "a, b, c": the kids of `keys`, for the log.
std::string key_ids(const std::vector<iam::jwt_key>& keys) {
  std::string ids;
  for (const auto& key : keys) {
    if (!ids.empty()) ids += ", ";
    ids += key.id;
  }
  return ids;
}

}  // namespace

loaded<iam::jwt_claim_rules> jwt_claim_rules_of(const po::variables_map& values) {
  iam::jwt_claim_rules rules;
  if (values.count("jwt-issuer") != 0) rules.issuer = values["jwt-issuer"].as<std::string>();
  if (values.count("jwt-audience") != 0) rules.audience = values["jwt-audience"].as<std::string>();
  if ((values.count("jwt-issuer") != 0 && rules.issuer.empty()) ||
      (values.count("jwt-audience") != 0 && rules.audience.empty())) {
    return problem{"--jwt-issuer and --jwt-audience must not be empty"};
  }
  return rules;
}

loaded<jwt_settings> jwt_settings_of(const po::variables_map& values) {
  jwt_settings jwt;
  const bool public_key = values.count("jwt-public-key") != 0;
  const bool key_dir = values.count("jwt-key-dir") != 0;
  if (public_key && key_dir)
    return problem{"--jwt-public-key and --jwt-key-dir exclude each other"};
  if ((public_key || key_dir) != (values.count("jwt-alg") != 0)) {
    return problem{"--jwt-alg goes with --jwt-public-key or --jwt-key-dir, and they need it"};
  }
  if (public_key || key_dir) {
    const auto& alg = values["jwt-alg"].as<std::string>();
    if (alg != "RS256" && alg != "ES256") return problem{"--jwt-alg must be RS256 or ES256"};
    jwt.host_keys = true;
    jwt.algorithm = alg == "RS256" ? iam::jwt_algorithm::rs256 : iam::jwt_algorithm::es256;
    if (public_key) jwt.public_key_file = values["jwt-public-key"].as<std::string>();
    if (key_dir) jwt.key_dir = values["jwt-key-dir"].as<std::string>();
  }
  auto rules = jwt_claim_rules_of(values);
  if (!rules) return std::move(rules).error();
  jwt.rules = std::move(*rules);
  return jwt;
}

loaded<iam::jwt_verifier> host_jwt_verifier(const jwt_settings& settings) {
  if (!settings.key_dir.empty()) {
    auto keys = load_key_dir(settings.key_dir, settings.algorithm);
    if (!keys) return problem{"cannot use --jwt-key-dir: " + keys.error().message};
    return iam::jwt_verifier(std::move(*keys), settings.rules);
  }
  auto key = read_key_file(settings.public_key_file);
  if (!key) return problem{"cannot use --jwt-public-key: " + key.error().message};
  iam::jwt_verifier verifier(settings.algorithm, std::move(*key), settings.rules);
  if (!verifier.usable()) {
    return problem{"the JWT key cannot be used: --jwt-public-key must be " +
                   std::string(key_requirement(settings.algorithm))};
  }
  return verifier;
}

server::reload_outcome reload_jwt_keys(server::http_service& service,
                                       const jwt_settings& settings) {
  constexpr std::string_view kept = "JWT keys not reloaded, the old ones stay: ";
  try {
    auto keys = load_key_dir(settings.key_dir, settings.algorithm);
    if (!keys) return {false, std::string(kept) + keys.error().message};
    std::string message = "reloaded " + count_of(keys->size(), "JWT key") + " (" + key_ids(*keys) +
                          ") from " + settings.key_dir;
    service.replace_jwt_verifier(
        std::make_shared<const iam::jwt_verifier>(std::move(*keys), settings.rules));
    return {true, std::move(message)};
  } catch (const std::exception& e) {
    return {false, std::string(kept) + e.what()};
  }
}

loaded<std::string> data_directory_jwt(const data_directory& directory, std::string_view email,
                                       const iam::jwt_claim_rules& rules,
                                       std::chrono::seconds ttl) {
  const auto member = directory.iam->find_member_by_email(directory.organization_id, email);
  if (!member) {
    return problem{"no member '" + std::string(email) + "' in the organization " +
                   std::string(default_organization)};
  }
  auto token =
      iam::mint_hs256(directory.jwt_secret, member->id, directory.organization_id, rules, ttl);
  if (!token) return problem{"cannot sign the token: " + token.error().message()};
  return loaded<std::string>(boost::system::in_place_value, std::move(*token));
}

std::string console_sign_in_link(std::string_view base, std::string_view jwt) {
  std::string link(base);
  link += "/console/sign-in#jwt=";
  link += jwt;
  return link;
}

}  // namespace gatehouse::cli
