// Member JWTs: verification with libjwt on OpenSSL, the algorithm pinned to the configured key
// type; and minting HS256 tokens for local development (`gatehouse jwt`).
#pragma once

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

namespace gatehouse::engine {

/// The claims gatehouse uses from a verified member JWT.
struct member_claims {
  std::string member_id;     // `sub`
  std::string organization;  // `org`, empty when absent (the `Organization` header then decides)
  std::int64_t expires_at = 0;
};

enum class jwt_algorithm { hs256, rs256, es256 };

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
  /// `exp` is now or in the past (RFC 7519 §4.1.4: refused "on or after" that time).
  expired,
  /// No `sub` claim.
  missing_subject,
  /// `nbf` is in the future (RFC 7519 §4.1.5: such a token must not be accepted yet).
  not_yet_valid,
  /// The configured key cannot be used: an HS256 secret shorter than 32 bytes (RFC 7518 §3.2),
  /// or a PEM that is not an RSA (>= 2048 bits) or P-256 public key as the algorithm requires.
  /// Every token is refused until the configuration is fixed.
  unusable_key,
};
const boost::system::error_category& jwt_category() noexcept;
inline boost::system::error_code make_error_code(jwt_errc e) noexcept {
  return {static_cast<int>(e), jwt_category()};
}

/// Verifies member JWTs with one configured key. Thread-safe.
class jwt_verifier {
 public:
  /// `key` is the HS256 secret, or the PEM public key for RS256/ES256. An unusable key is not
  /// an exception: `verify` then refuses every token with `jwt_errc::unusable_key`.
  jwt_verifier(jwt_algorithm algorithm, std::string key);
  jwt_verifier(const jwt_verifier&) = default;
  jwt_verifier(jwt_verifier&&) = default;
  jwt_verifier& operator=(const jwt_verifier&) = default;
  jwt_verifier& operator=(jwt_verifier&&) = default;
  /// Wipes the HS256 secret.
  ~jwt_verifier();

  [[nodiscard]] boost::system::result<member_claims> verify(
      std::string_view token,
      std::chrono::system_clock::time_point now = std::chrono::system_clock::now()) const;

 private:
  jwt_algorithm algorithm_;
  std::string key_;
  bool key_usable_ = false;
};

/// Signs an HS256 JWT with `sub`, `org` (omitted when empty), `iat` and `exp` claims. Fails with
/// `jwt_errc::unusable_key` for a secret shorter than 32 bytes, and `invalid_argument` for an
/// empty member id or a ttl that is not positive.
[[nodiscard]] boost::system::result<std::string> mint_hs256(
    std::string_view secret, const std::string& member_id, const std::string& organization,
    std::chrono::seconds ttl,
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

}  // namespace gatehouse::engine

namespace boost::system {
template <>
struct is_error_code_enum<gatehouse::engine::jwt_errc> : std::true_type {};
}  // namespace boost::system
