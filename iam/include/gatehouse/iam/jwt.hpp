// Member JWTs: verification with libjwt on OpenSSL (keys chosen by `kid`, each pinned to its
// algorithm; issuer, audience and times checked); minting HS256 tokens for `gatehouse jwt`.
#pragma once

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace gatehouse::iam {

/// The claims gatehouse uses from a verified member JWT.
struct member_claims {
  std::string member_id;     // `sub`
  std::string organization;  // `org`, empty when absent (the `Organization` header then decides)
  std::int64_t expires_at = 0;
};

enum class jwt_algorithm { hs256, rs256, es256 };

/// How far `exp`, `nbf` and `iat` may be off this server's clock: the host application's clock
/// and ours are never quite in step (RFC 7519 §4.1.4 allows "some small leeway").
inline constexpr std::chrono::seconds jwt_clock_leeway{30};

/// The issuer and audience a deployment binds its member JWTs to (RFC 8725 §3.8, §3.9). A
/// verifier requires and matches each one that is not empty; the minter writes each one that is
/// not empty. Empty: the claim is neither required nor checked.
struct jwt_claim_rules {
  std::string issuer;    // `iss` must equal it
  std::string audience;  // `aud` must equal it, or be an array of strings holding it
};

/// One verification key and the `kid` that selects it.
struct jwt_key {
  std::string id;  // the header's `kid` that names this key
  jwt_algorithm algorithm = jwt_algorithm::hs256;
  std::string material;  // the HS256 secret, or the PEM public key for RS256/ES256
};

/// Why a JWT was refused. Callers answer all of them with 401; the reason goes to the log.
enum class jwt_errc {
  /// Not three base64url parts, or unparsable header/claims.
  malformed = 1,
  /// The header's `alg` is not the one configured for the key (including `none`).
  wrong_algorithm,
  /// The signature does not verify under the configured key.
  bad_signature,
  /// No `exp` claim.
  missing_expiry,
  /// `exp` has passed by the leeway or more (RFC 7519 §4.1.4: refused "on or after" that time).
  expired,
  /// No `sub` claim.
  missing_subject,
  /// `nbf` is further in the future than the leeway (RFC 7519 §4.1.5).
  not_yet_valid,
  /// The configured key cannot be used: an HS256 secret shorter than 32 bytes (RFC 7518 §3.2),
  /// or a PEM that is not an RSA (>= 2048 bits) or P-256 public key as the algorithm requires;
  /// or no key at all, or two with one `kid`. Every token is refused until the configuration is
  /// fixed.
  unusable_key,
  /// `iat` is further in the future than the leeway: no clock skew explains such a token.
  issued_in_future,
  /// An issuer is configured and `iss` is missing or another one.
  wrong_issuer,
  /// An audience is configured and `aud` is missing or does not name it.
  wrong_audience,
  /// Keys are chosen by `kid`, and the header's names none of them, or has none while several
  /// keys are configured.
  unknown_key,
};
const boost::system::error_category& jwt_category() noexcept;
inline boost::system::error_code make_error_code(jwt_errc e) noexcept {
  return {static_cast<int>(e), jwt_category()};
}

/// Whether `key` can verify (or, for HS256, sign) tokens of `algorithm`; see
/// `jwt_errc::unusable_key`.
[[nodiscard]] bool is_usable_jwt_key(jwt_algorithm algorithm, const std::string& key);

/// Verifies member JWTs with one key, or with one of several chosen by `kid`. Immutable and
/// thread-safe: to change keys, build another verifier and swap it in.
class jwt_verifier {
 public:
  /// One key for every token, whatever its `kid` (or none). `key` is the HS256 secret, or the
  /// PEM public key for RS256/ES256. An unusable key is not an exception: `verify` then refuses
  /// every token with `jwt_errc::unusable_key`.
  jwt_verifier(jwt_algorithm algorithm, std::string key, jwt_claim_rules rules = {});
  /// Keys chosen by the header's `kid`; a token without `kid` is verified only when there is
  /// exactly one key. An unusable key, two keys with one id, or none at all make `verify`
  /// refuse every token with `jwt_errc::unusable_key`.
  explicit jwt_verifier(std::vector<jwt_key> keys, jwt_claim_rules rules = {});
  jwt_verifier(const jwt_verifier&) = default;
  jwt_verifier(jwt_verifier&&) = default;
  jwt_verifier& operator=(const jwt_verifier&) = default;
  jwt_verifier& operator=(jwt_verifier&&) = default;
  /// Wipes the HS256 secrets.
  ~jwt_verifier();

  /// False when every token would be refused with `jwt_errc::unusable_key`.
  [[nodiscard]] bool usable() const noexcept { return usable_; }

  [[nodiscard]] boost::system::result<member_claims> verify(
      std::string_view token,
      std::chrono::system_clock::time_point now = std::chrono::system_clock::now()) const;

 private:
  std::vector<jwt_key> keys_;  // sorted by id
  bool by_kid_ = false;
  jwt_claim_rules rules_;
  bool usable_ = false;
};

/// Signs an HS256 JWT with `sub`, `org` (omitted when empty), `iss` and `aud` (each omitted when
/// empty), `iat` and `exp` claims. Fails with `jwt_errc::unusable_key` for a secret shorter than
/// 32 bytes, and `invalid_argument` for an empty member id, a NUL in a claim, or a ttl that is
/// not positive.
[[nodiscard]] boost::system::result<std::string> mint_hs256(
    std::string_view secret, const std::string& member_id, const std::string& organization,
    const jwt_claim_rules& binding, std::chrono::seconds ttl,
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

/// As above, without `iss` and `aud`.
[[nodiscard]] boost::system::result<std::string> mint_hs256(
    std::string_view secret, const std::string& member_id, const std::string& organization,
    std::chrono::seconds ttl,
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

}  // namespace gatehouse::iam

namespace boost::system {
template <>
struct is_error_code_enum<gatehouse::iam::jwt_errc> : std::true_type {};
}  // namespace boost::system
