// What the JWT suites share: keys generated once per run, claims, tokens signed by libjwt, by
// hand with HMAC and by OpenSSL, the stock verifiers, and the refusal a verifier gives a token.
#pragma once

#include <gatehouse/iam/jwt.hpp>

#include <gatehouse/iam/secrets.hpp>

#include <jwt.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <array>
#include <boost/test/data/monomorphic.hpp>
#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace jwt_testing {

namespace data = boost::unit_test::data;
using namespace std::chrono_literals;
using gatehouse::iam::jwt_algorithm;
using gatehouse::iam::jwt_claim_rules;
using gatehouse::iam::jwt_errc;
using gatehouse::iam::jwt_key;
using gatehouse::iam::jwt_verifier;
using gatehouse::iam::mint_hs256;

inline const auto t0 = std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000));
inline const std::string secret = "0123456789abcdef0123456789abcdef-hs256";
inline const std::string other_secret = "fedcba9876543210fedcba9876543210-hs256";

inline std::string b64(std::string_view text) {
  return gatehouse::iam::base64url(reinterpret_cast<const unsigned char*>(text.data()),
                                   text.size());
}

struct pkey_deleter {
  void operator()(EVP_PKEY* key) const noexcept { EVP_PKEY_free(key); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_deleter>;

struct key_pair {
  pkey_ptr key;
  std::string private_pem;
  std::string public_pem;
};

inline std::string pem(EVP_PKEY* key, bool private_key) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  BOOST_REQUIRE(bio);
  const int written =
      private_key ? PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr)
                  : PEM_write_bio_PUBKEY(bio.get(), key);
  BOOST_REQUIRE(written == 1);
  char* text = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &text);
  return {text, static_cast<std::size_t>(size)};
}

inline key_pair make_pair(EVP_PKEY* raw) {
  BOOST_REQUIRE(raw != nullptr);
  key_pair out{pkey_ptr(raw), {}, {}};
  out.private_pem = pem(raw, true);
  out.public_pem = pem(raw, false);
  return out;
}

// Generated once per run: RSA generation takes a noticeable fraction of a second.
inline const key_pair& rsa_keys() {
  static const key_pair keys = make_pair(EVP_RSA_gen(2048));
  return keys;
}
inline const key_pair& other_rsa_keys() {
  static const key_pair keys = make_pair(EVP_RSA_gen(2048));
  return keys;
}
inline const key_pair& ec_keys() {
  static const key_pair keys = make_pair(EVP_EC_gen("P-256"));
  return keys;
}

inline std::string claims_json(std::int64_t exp = 1'700'003'600) {
  return R"({"sub":"m1","org":"o1","exp":)" + std::to_string(exp) + "}";
}

/// The issuer and audience a bound verifier requires.
inline const jwt_claim_rules bound = {"https://issuer.example", "gatehouse"};

/// Claims with `extra` (`"iss": …, "aud": …` members).
inline std::string claims_with(std::string_view extra) {
  return R"({"sub":"m1","org":"o1","exp":1700003600,)" + std::string(extra) + "}";
}

// A token signed by libjwt with `key` (HS secret or PEM private key) over `claims`, with `kid`
// in its header when given.
inline std::string libjwt_sign(jwt_alg_t algorithm, const std::string& key,
                               const std::string& claims,
                               const std::optional<std::string>& kid = std::nullopt) {
  jwt_t* raw = nullptr;
  BOOST_REQUIRE(jwt_new(&raw) == 0);
  std::unique_ptr<jwt_t, decltype(&jwt_free)> token(raw, &jwt_free);
  BOOST_REQUIRE(jwt_add_grants_json(token.get(), claims.c_str()) == 0);
  if (kid) BOOST_REQUIRE(jwt_add_header(token.get(), "kid", kid->c_str()) == 0);
  BOOST_REQUIRE(jwt_set_alg(token.get(), algorithm,
                            reinterpret_cast<const unsigned char*>(key.data()),
                            static_cast<int>(key.size())) == 0);
  char* encoded = jwt_encode_str(token.get());
  BOOST_REQUIRE(encoded != nullptr);
  std::string out(encoded);
  std::free(encoded);
  return out;
}

// An HS256 token over exactly the given header and claims text, for shapes libjwt never emits.
inline std::string hs256_by_hand(std::string_view header, std::string_view claims,
                                 const std::string& key = secret) {
  const std::string input = b64(header) + "." + b64(claims);
  std::array<unsigned char, 32> mac{};
  unsigned length = 0;
  BOOST_REQUIRE(HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
                     reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac.data(),
                     &length) != nullptr);
  return input + "." + gatehouse::iam::base64url(mac.data(), length);
}

// An ES256 token signed by OpenSSL without libjwt. JOSE wants the raw 64-byte R||S (RFC 7518
// §3.4); `der` keeps OpenSSL's DER encoding instead, which a verifier must refuse.
inline std::string es256_by_hand(EVP_PKEY* key, std::string_view claims, bool der = false) {
  const std::string input = b64(R"({"alg":"ES256","typ":"JWT"})") + "." + b64(claims);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> md(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  BOOST_REQUIRE(EVP_DigestSignInit(md.get(), nullptr, EVP_sha256(), nullptr, key) == 1);
  std::size_t size = 0;
  BOOST_REQUIRE(EVP_DigestSign(md.get(), nullptr, &size,
                               reinterpret_cast<const unsigned char*>(input.data()),
                               input.size()) == 1);
  std::vector<unsigned char> signature(size);
  BOOST_REQUIRE(EVP_DigestSign(md.get(), signature.data(), &size,
                               reinterpret_cast<const unsigned char*>(input.data()),
                               input.size()) == 1);
  signature.resize(size);
  if (der) return input + "." + gatehouse::iam::base64url(signature.data(), signature.size());
  const unsigned char* p = signature.data();
  std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> sig(
      d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(signature.size())), &ECDSA_SIG_free);
  BOOST_REQUIRE(sig);
  std::array<unsigned char, 64> raw{};
  BOOST_REQUIRE(BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), raw.data(), 32) == 32);
  BOOST_REQUIRE(BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), raw.data() + 32, 32) == 32);
  return input + "." + gatehouse::iam::base64url(raw.data(), raw.size());
}

inline std::string minted(std::chrono::seconds ttl = 1h, const std::string& org = "o1") {
  auto token = mint_hs256(secret, "m1", org, ttl, t0);
  BOOST_REQUIRE_MESSAGE(token.has_value(), token.error().message());
  return *token;
}

// The refusal a verifier gives `token` at t0 + 1 min; `jwt_errc{}` when it accepts it.
inline jwt_errc refusal(const jwt_verifier& verifier, std::string_view token,
                        std::chrono::system_clock::time_point now = t0 + 1min) {
  auto verified = verifier.verify(token, now);
  if (verified) return jwt_errc{};
  BOOST_REQUIRE_MESSAGE(verified.error().category() == gatehouse::iam::jwt_category(),
                        verified.error().message());
  return static_cast<jwt_errc>(verified.error().value());
}

inline const jwt_verifier& hs256() {
  static const jwt_verifier verifier(jwt_algorithm::hs256, secret);
  return verifier;
}
inline const jwt_verifier& rs256() {
  static const jwt_verifier verifier(jwt_algorithm::rs256, rsa_keys().public_pem);
  return verifier;
}
inline const jwt_verifier& es256() {
  static const jwt_verifier verifier(jwt_algorithm::es256, ec_keys().public_pem);
  return verifier;
}

/// A token libjwt signs with `private_pem` verifies under `verifier` with its claims, and one
/// signed with `stranger_pem` is refused as a bad signature. Answers the token.
inline std::string expect_libjwt_signed_verifies(jwt_alg_t algorithm, const jwt_verifier& verifier,
                                                 const std::string& private_pem,
                                                 const std::string& stranger_pem) {
  const auto token = libjwt_sign(algorithm, private_pem, claims_json());
  auto claims = verifier.verify(token, t0);
  BOOST_REQUIRE_MESSAGE(claims.has_value(), claims.error().message());
  BOOST_TEST(claims->member_id == "m1");
  BOOST_TEST(claims->organization == "o1");
  const auto stranger = libjwt_sign(algorithm, stranger_pem, claims_json());
  BOOST_TEST(refusal(verifier, stranger) == jwt_errc::bad_signature);
  return token;
}

}  // namespace jwt_testing

namespace gatehouse::iam {
inline std::ostream& operator<<(std::ostream& out, jwt_errc e) {
  return out << (e == jwt_errc{} ? std::string("accepted") : make_error_code(e).message());
}
}  // namespace gatehouse::iam
