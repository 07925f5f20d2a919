// How member JWTs are verified, as the command line says: the claim rules, and the host
// application's public keys (one file, or a directory of KID.pem files read again on SIGHUP).
#pragma once

#include <gatehouse/iam/jwt.hpp>
#include <gatehouse/server/http_service.hpp>
#include <gatehouse/server/listener.hpp>
#include "command_line.hpp"
#include "data_directory.hpp"

#include <chrono>
#include <string>
#include <string_view>

namespace gatehouse::cli {

/// How `serve` verifies member JWTs, as its command line said.
struct jwt_settings {
  /// --jwt-public-key or --jwt-key-dir was given: the host application's keys, not DIR's.
  bool host_keys = false;
  /// Of --jwt-public-key or of every key of --jwt-key-dir; DIR's key is always HS256.
  iam::jwt_algorithm algorithm = iam::jwt_algorithm::hs256;
  std::string public_key_file;  // --jwt-public-key: one key, whatever the token's `kid`
  std::string key_dir;          // --jwt-key-dir: KID.pem files, read again on SIGHUP
  iam::jwt_claim_rules rules;
};

/// --jwt-issuer and --jwt-audience, shared by `serve` and `jwt`. An empty value is refused: it
/// would silently turn the requirement off.
[[nodiscard]] loaded<iam::jwt_claim_rules> jwt_claim_rules_of(const po::variables_map& values);

/// The member-JWT flags of `serve`: the claim rules, and --jwt-public-key or --jwt-key-dir with
/// the --jwt-alg they need. A problem here is a usage error.
[[nodiscard]] loaded<jwt_settings> jwt_settings_of(const po::variables_map& values);

/// The verifier of the host application's keys, --jwt-public-key or --jwt-key-dir. A key that
/// cannot be used fails here, at start, rather than as a 401 for every member later.
[[nodiscard]] loaded<iam::jwt_verifier> host_jwt_verifier(const jwt_settings& settings);

/// SIGHUP: reads --jwt-key-dir again and swaps the new key set in whole, or keeps the old one.
/// Catches what it calls: the listener must go on waiting for signals after a failed reload.
[[nodiscard]] server::reload_outcome reload_jwt_keys(server::http_service& service,
                                                     const jwt_settings& settings);

/// A JWT for the member `email` of the playground organization of `directory`, signed with the
/// directory's HS256 key: what `gatehouse jwt` prints and `login-link` and `serve --console-link`
/// put into a sign-in link.
[[nodiscard]] loaded<std::string> data_directory_jwt(const data_directory& directory,
                                                     std::string_view email,
                                                     const iam::jwt_claim_rules& rules,
                                                     std::chrono::seconds ttl);

/// The console's sign-in link on the server at `base` (http://HOST:PORT, no trailing slash).
/// The JWT rides in the fragment, which browsers never send, so it reaches no server log.
[[nodiscard]] std::string console_sign_in_link(std::string_view base, std::string_view jwt);

}  // namespace gatehouse::cli
