// Member JWTs: HS256 round trips, every refusal (tampering, expiry, missing claims, `none`,
// algorithm confusion, malformed input, unusable keys), clock leeway, issuer and audience, keys
// chosen by `kid`, and RS256/ES256 tokens signed by libjwt and, for ES256, by OpenSSL directly.
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
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <memory>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

namespace {

namespace data = boost::unit_test::data;
using namespace std::chrono_literals;
using gatehouse::iam::jwt_algorithm;
using gatehouse::iam::jwt_claim_rules;
using gatehouse::iam::jwt_errc;
using gatehouse::iam::jwt_key;
using gatehouse::iam::jwt_verifier;
using gatehouse::iam::mint_hs256;

const auto t0 = std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000));
const std::string secret = "0123456789abcdef0123456789abcdef-hs256";
const std::string other_secret = "fedcba9876543210fedcba9876543210-hs256";

std::string b64(std::string_view text) {
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

std::string pem(EVP_PKEY* key, bool private_key) {
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

key_pair make_pair(EVP_PKEY* raw) {
  BOOST_REQUIRE(raw != nullptr);
  key_pair out{pkey_ptr(raw), {}, {}};
  out.private_pem = pem(raw, true);
  out.public_pem = pem(raw, false);
  return out;
}

// Generated once per run: RSA generation takes a noticeable fraction of a second.
const key_pair& rsa_keys() {
  static const key_pair keys = make_pair(EVP_RSA_gen(2048));
  return keys;
}
const key_pair& other_rsa_keys() {
  static const key_pair keys = make_pair(EVP_RSA_gen(2048));
  return keys;
}
const key_pair& ec_keys() {
  static const key_pair keys = make_pair(EVP_EC_gen("P-256"));
  return keys;
}

std::string claims_json(std::int64_t exp = 1'700'003'600) {
  return R"({"sub":"m1","org":"o1","exp":)" + std::to_string(exp) + "}";
}

// A token signed by libjwt with `key` (HS secret or PEM private key) over `claims`, with `kid`
// in its header when given.
std::string libjwt_sign(jwt_alg_t algorithm, const std::string& key, const std::string& claims,
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
std::string hs256_by_hand(std::string_view header, std::string_view claims,
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
std::string es256_by_hand(EVP_PKEY* key, std::string_view claims, bool der = false) {
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

std::string minted(std::chrono::seconds ttl = 1h, const std::string& org = "o1") {
  auto token = mint_hs256(secret, "m1", org, ttl, t0);
  BOOST_REQUIRE_MESSAGE(token.has_value(), token.error().message());
  return *token;
}

// The refusal a verifier gives `token` at t0 + 1 min; `jwt_errc{}` when it accepts it.
jwt_errc refusal(const jwt_verifier& verifier, std::string_view token,
                 std::chrono::system_clock::time_point now = t0 + 1min) {
  auto verified = verifier.verify(token, now);
  if (verified) return jwt_errc{};
  BOOST_REQUIRE_MESSAGE(verified.error().category() == gatehouse::iam::jwt_category(),
                        verified.error().message());
  return static_cast<jwt_errc>(verified.error().value());
}

const jwt_verifier& hs256() {
  static const jwt_verifier verifier(jwt_algorithm::hs256, secret);
  return verifier;
}
const jwt_verifier& rs256() {
  static const jwt_verifier verifier(jwt_algorithm::rs256, rsa_keys().public_pem);
  return verifier;
}
const jwt_verifier& es256() {
  static const jwt_verifier verifier(jwt_algorithm::es256, ec_keys().public_pem);
  return verifier;
}

}  // namespace

namespace gatehouse::iam {
std::ostream& operator<<(std::ostream& out, jwt_errc e) {
  return out << (e == jwt_errc{} ? std::string("accepted") : make_error_code(e).message());
}
}  // namespace gatehouse::iam

BOOST_AUTO_TEST_SUITE(jwt_tests)

BOOST_AUTO_TEST_CASE(minted_hs256_token_verifies_with_its_claims) {
  const auto token = minted();
  auto claims = hs256().verify(token, t0 + 1min);
  BOOST_REQUIRE_MESSAGE(claims.has_value(), claims.error().message());
  BOOST_TEST(claims->member_id == "m1");
  BOOST_TEST(claims->organization == "o1");
  BOOST_TEST(claims->expires_at == 1'700'003'600);
  // The configured key, and whether it is usable, travel with copies and moves.
  jwt_verifier copy = hs256();
  const jwt_verifier moved = std::move(copy);
  BOOST_TEST(refusal(moved, token) == jwt_errc{});
  // What is left behind has no key, and must not verify as if an empty key were one.
  BOOST_TEST(refusal(copy, token) == jwt_errc::unusable_key);  // NOLINT(bugprone-use-after-move)
}

BOOST_AUTO_TEST_CASE(token_without_org_verifies_with_empty_organization) {
  auto claims = hs256().verify(minted(1h, ""), t0);
  BOOST_REQUIRE(claims.has_value());
  BOOST_TEST(claims->organization.empty());
}

BOOST_AUTO_TEST_CASE(expiry_is_exclusive_after_the_leeway) {
  const auto token = minted(1h);  // exp = t0 + 3600 s
  BOOST_TEST(refusal(hs256(), token, t0 + 3599s) == jwt_errc{});
  BOOST_TEST(refusal(hs256(), token, t0 + 3600s + 29s) == jwt_errc{});
  BOOST_TEST(refusal(hs256(), token, t0 + 3600s + 30s) == jwt_errc::expired);
  BOOST_TEST(refusal(hs256(), token, t0 + 24h) == jwt_errc::expired);
}

namespace {

/// A time claim set `offset` seconds from t0, checked at t0.
struct clock_case {
  const char* claim;  // "exp", "nbf" or "iat"
  int offset;
  jwt_errc expected;
};
std::ostream& operator<<(std::ostream& out, const clock_case& c) {
  return out << c.claim << " at t0" << (c.offset < 0 ? "" : "+") << c.offset << "s";
}

// 30 s of leeway each way: expired 10 s ago still passes, 40 s ago does not; the same for `nbf`
// ahead of the clock; `iat` up to 30 s ahead passes, beyond is refused.
const std::vector<clock_case> clock_cases = {
    {"exp", 1, jwt_errc{}},
    {"exp", -10, jwt_errc{}},
    {"exp", -29, jwt_errc{}},
    {"exp", -30, jwt_errc::expired},
    {"exp", -31, jwt_errc::expired},
    {"exp", -40, jwt_errc::expired},
    {"nbf", -3600, jwt_errc{}},
    {"nbf", 10, jwt_errc{}},
    {"nbf", 30, jwt_errc{}},
    {"nbf", 31, jwt_errc::not_yet_valid},
    {"nbf", 40, jwt_errc::not_yet_valid},
    {"iat", -3600, jwt_errc{}},
    {"iat", 0, jwt_errc{}},
    {"iat", 29, jwt_errc{}},
    {"iat", 30, jwt_errc{}},
    {"iat", 31, jwt_errc::issued_in_future},
    {"iat", 3600, jwt_errc::issued_in_future},
};

}  // namespace

BOOST_DATA_TEST_CASE(time_claims_get_30_seconds_of_leeway, data::make(clock_cases), c) {
  const std::string claim = c.claim;
  const std::string at = std::to_string(1'700'000'000 + c.offset);
  const std::string claims = claim == "exp"
                                 ? R"({"sub":"m1","exp":)" + at + "}"
                                 : R"({"sub":"m1","exp":1700003600,")" + claim + R"(":)" + at + "}";
  BOOST_TEST(refusal(hs256(), hs256_by_hand(R"({"alg":"HS256"})", claims), t0) == c.expected);
}

BOOST_AUTO_TEST_CASE(tampered_claims_or_signature_or_other_key_is_bad_signature) {
  const auto token = minted();
  const auto first = token.find('.');
  const auto second = token.find('.', first + 1);
  const auto forged_claims = b64(R"({"sub":"admin","org":"o1","exp":1700003600})");
  BOOST_TEST(refusal(hs256(), token.substr(0, first + 1) + forged_claims + token.substr(second)) ==
             jwt_errc::bad_signature);
  auto flipped = token;
  flipped[second + 1] = flipped[second + 1] == 'A' ? 'B' : 'A';
  BOOST_TEST(refusal(hs256(), flipped) == jwt_errc::bad_signature);
  BOOST_TEST(refusal(jwt_verifier(jwt_algorithm::hs256, other_secret), token) ==
             jwt_errc::bad_signature);
}

BOOST_AUTO_TEST_CASE(missing_expiry_is_refused) {
  BOOST_TEST(refusal(hs256(), libjwt_sign(JWT_ALG_HS256, secret, R"({"sub":"m1"})")) ==
             jwt_errc::missing_expiry);
}

BOOST_AUTO_TEST_CASE(missing_or_empty_subject_is_refused) {
  BOOST_TEST(refusal(hs256(), libjwt_sign(JWT_ALG_HS256, secret, R"({"exp":1700003600})")) ==
             jwt_errc::missing_subject);
  BOOST_TEST(
      refusal(hs256(), libjwt_sign(JWT_ALG_HS256, secret, R"({"sub":"","exp":1700003600})")) ==
      jwt_errc::missing_subject);
}

BOOST_AUTO_TEST_CASE(not_before_in_the_future_is_refused) {
  const auto claims = R"({"sub":"m1","exp":1700003600,"nbf":1700000120})";
  const auto token = libjwt_sign(JWT_ALG_HS256, secret, claims);
  BOOST_TEST(refusal(hs256(), token, t0 + 1min) == jwt_errc::not_yet_valid);
  BOOST_TEST(refusal(hs256(), token, t0 + 2min) == jwt_errc{});
}

// ---- Issuer and audience ----------------------------------------------------------------------

namespace {

const jwt_claim_rules bound = {"https://issuer.example", "gatehouse"};

/// Claims with `extra` (`"iss": …, "aud": …` members) and what a verifier bound to `bound`
/// answers.
struct binding_case {
  const char* extra;
  jwt_errc expected;
};
std::ostream& operator<<(std::ostream& out, const binding_case& c) { return out << c.extra; }

const std::vector<binding_case> binding_cases = {
    {R"("iss":"https://issuer.example","aud":"gatehouse")", jwt_errc{}},
    {R"("iss":"https://issuer.example","aud":["gatehouse"])", jwt_errc{}},
    {R"("iss":"https://issuer.example","aud":["billing","gatehouse"])", jwt_errc{}},
    {R"("aud":"gatehouse")", jwt_errc::wrong_issuer},
    {R"("iss":"https://evil.example","aud":"gatehouse")", jwt_errc::wrong_issuer},
    {R"("iss":"https://issuer.example/","aud":"gatehouse")", jwt_errc::wrong_issuer},
    {R"("iss":"HTTPS://ISSUER.EXAMPLE","aud":"gatehouse")", jwt_errc::wrong_issuer},
    {R"("iss":"","aud":"gatehouse")", jwt_errc::wrong_issuer},
    {R"("iss":["https://issuer.example"],"aud":"gatehouse")", jwt_errc::malformed},
    {R"("iss":null,"aud":"gatehouse")", jwt_errc::malformed},
    {R"("iss":"https://issuer.example")", jwt_errc::wrong_audience},
    {R"("iss":"https://issuer.example","aud":"billing")", jwt_errc::wrong_audience},
    {R"("iss":"https://issuer.example","aud":"gatehous")", jwt_errc::wrong_audience},
    {R"("iss":"https://issuer.example","aud":"gatehouse2")", jwt_errc::wrong_audience},
    {R"("iss":"https://issuer.example","aud":["billing","gatehouse2"])", jwt_errc::wrong_audience},
    {R"("iss":"https://issuer.example","aud":[])", jwt_errc::wrong_audience},
    {R"("iss":"https://issuer.example","aud":["gatehouse",7])", jwt_errc::malformed},
    {R"("iss":"https://issuer.example","aud":{"gatehouse":true})", jwt_errc::malformed},
    {R"("iss":"https://issuer.example","aud":null)", jwt_errc::malformed},
};

std::string claims_with(std::string_view extra) {
  return R"({"sub":"m1","org":"o1","exp":1700003600,)" + std::string(extra) + "}";
}

}  // namespace

BOOST_DATA_TEST_CASE(issuer_and_audience_are_required_and_matched, data::make(binding_cases), c) {
  const jwt_verifier verifier(jwt_algorithm::hs256, secret, bound);
  BOOST_TEST(refusal(verifier, hs256_by_hand(R"({"alg":"HS256"})", claims_with(c.extra))) ==
             c.expected);
  // Unbound, the same claims are not looked at.
  BOOST_TEST(refusal(hs256(), hs256_by_hand(R"({"alg":"HS256"})", claims_with(c.extra))) ==
             jwt_errc{});
}

BOOST_AUTO_TEST_CASE(issuer_and_audience_are_each_required_only_when_configured) {
  const jwt_verifier issuer_only(jwt_algorithm::hs256, secret, {"https://issuer.example", ""});
  const jwt_verifier audience_only(jwt_algorithm::hs256, secret, {"", "gatehouse"});
  const auto with_issuer =
      hs256_by_hand(R"({"alg":"HS256"})", claims_with(R"("iss":"https://issuer.example")"));
  const auto with_audience =
      hs256_by_hand(R"({"alg":"HS256"})", claims_with(R"("aud":["gatehouse"])"));
  BOOST_TEST(refusal(issuer_only, with_issuer) == jwt_errc{});
  BOOST_TEST(refusal(issuer_only, with_audience) == jwt_errc::wrong_issuer);
  BOOST_TEST(refusal(audience_only, with_audience) == jwt_errc{});
  BOOST_TEST(refusal(audience_only, with_issuer) == jwt_errc::wrong_audience);
}

BOOST_AUTO_TEST_CASE(minted_tokens_carry_issuer_and_audience) {
  const jwt_verifier verifier(jwt_algorithm::hs256, secret, bound);
  auto token = mint_hs256(secret, "m1", "o1", bound, 1h, t0);
  BOOST_REQUIRE_MESSAGE(token.has_value(), token.error().message());
  auto claims = verifier.verify(*token, t0);
  BOOST_REQUIRE_MESSAGE(claims.has_value(), claims.error().message());
  BOOST_TEST(claims->member_id == "m1");
  BOOST_TEST(refusal(verifier, minted()) == jwt_errc::wrong_issuer);
  auto other_audience = mint_hs256(secret, "m1", "o1", {bound.issuer, "billing"}, 1h, t0);
  BOOST_REQUIRE(other_audience.has_value());
  BOOST_TEST(refusal(verifier, *other_audience) == jwt_errc::wrong_audience);
  using boost::system::errc::invalid_argument;
  BOOST_TEST((mint_hs256(secret, "m1", "o1", {std::string("a\0b", 3), ""}, 1h, t0).error() ==
              invalid_argument));
  BOOST_TEST((mint_hs256(secret, "m1", "o1", {"", std::string("a\0b", 3)}, 1h, t0).error() ==
              invalid_argument));
}

// ---- Keys chosen by kid -----------------------------------------------------------------------

namespace {

/// An RS256 token over claims_json(), its header's `kid` and the key that signs it, against a
/// verifier holding key "a" (rsa_keys), or keys "a" and "b" (other_rsa_keys).
struct kid_case {
  const char* name;
  std::optional<std::string> kid;
  char signer;  // 'a' or 'b'
  bool both_keys;
  jwt_errc expected;
};
std::ostream& operator<<(std::ostream& out, const kid_case& c) { return out << c.name; }

const std::vector<kid_case> kid_cases = {
    {"kid a, signed by a", "a", 'a', true, jwt_errc{}},
    {"kid b, signed by b", "b", 'b', true, jwt_errc{}},
    {"kid a, signed by b", "a", 'b', true, jwt_errc::bad_signature},
    {"kid b, signed by a", "b", 'a', true, jwt_errc::bad_signature},
    {"unknown kid", "c", 'a', true, jwt_errc::unknown_key},
    {"kid differs in case", "A", 'a', true, jwt_errc::unknown_key},
    {"empty kid", "", 'a', true, jwt_errc::unknown_key},
    {"no kid, two keys", std::nullopt, 'a', true, jwt_errc::unknown_key},
    {"no kid, one key", std::nullopt, 'a', false, jwt_errc{}},
    {"no kid, one key, signed by another", std::nullopt, 'b', false, jwt_errc::bad_signature},
    {"kid a, one key", "a", 'a', false, jwt_errc{}},
    {"kid of a removed key", "b", 'b', false, jwt_errc::unknown_key},
};

jwt_verifier keys_by_kid(bool both_keys, jwt_claim_rules rules = {}) {
  std::vector<jwt_key> keys = {{"a", jwt_algorithm::rs256, rsa_keys().public_pem}};
  if (both_keys) keys.push_back({"b", jwt_algorithm::rs256, other_rsa_keys().public_pem});
  return jwt_verifier(std::move(keys), std::move(rules));
}

}  // namespace

BOOST_DATA_TEST_CASE(keys_are_chosen_by_kid, data::make(kid_cases), c) {
  const auto& signer = c.signer == 'a' ? rsa_keys() : other_rsa_keys();
  const auto token = libjwt_sign(JWT_ALG_RS256, signer.private_pem, claims_json(), c.kid);
  BOOST_TEST(refusal(keys_by_kid(c.both_keys), token) == c.expected);
}

BOOST_AUTO_TEST_CASE(one_key_for_every_token_ignores_kid) {
  // --jwt-public-key and DIR's key: one key, whatever the header names.
  for (const char* kid : {"a", "anything", ""}) {
    const auto token = libjwt_sign(JWT_ALG_RS256, rsa_keys().private_pem, claims_json(), kid);
    BOOST_TEST(refusal(rs256(), token) == jwt_errc{}, kid);
  }
}

BOOST_AUTO_TEST_CASE(kid_of_the_wrong_type_is_malformed) {
  const jwt_verifier verifier(std::vector<jwt_key>{{"7", jwt_algorithm::hs256, secret}});
  BOOST_TEST(refusal(verifier, hs256_by_hand(R"({"alg":"HS256","kid":"7"})", claims_json())) ==
             jwt_errc{});
  BOOST_TEST(refusal(verifier, hs256_by_hand(R"({"alg":"HS256","kid":7})", claims_json())) ==
             jwt_errc::malformed);
  BOOST_TEST(refusal(verifier, hs256_by_hand(R"({"alg":"HS256","kid":["7"]})", claims_json())) ==
             jwt_errc::malformed);
}

BOOST_AUTO_TEST_CASE(the_chosen_key_pins_the_algorithm) {
  // One RS256 and one ES256 key: whichever the kid names decides the algorithm; the header's
  // `alg` never picks a key type.
  const jwt_verifier verifier(
      std::vector<jwt_key>{{"rsa", jwt_algorithm::rs256, rsa_keys().public_pem},
                           {"ec", jwt_algorithm::es256, ec_keys().public_pem}});
  BOOST_TEST(refusal(verifier, libjwt_sign(JWT_ALG_RS256, rsa_keys().private_pem, claims_json(),
                                           "rsa")) == jwt_errc{});
  BOOST_TEST(refusal(verifier, libjwt_sign(JWT_ALG_ES256, ec_keys().private_pem, claims_json(),
                                           "ec")) == jwt_errc{});
  BOOST_TEST(refusal(verifier, libjwt_sign(JWT_ALG_ES256, ec_keys().private_pem, claims_json(),
                                           "rsa")) == jwt_errc::wrong_algorithm);
  BOOST_TEST(refusal(verifier, libjwt_sign(JWT_ALG_RS256, rsa_keys().private_pem, claims_json(),
                                           "ec")) == jwt_errc::wrong_algorithm);
  // The classic confusion, with a kid: HS256 keyed with the public key the kid names.
  for (const auto& [kid, pem] :
       {std::pair{"rsa", rsa_keys().public_pem}, std::pair{"ec", ec_keys().public_pem}}) {
    BOOST_TEST(refusal(verifier, libjwt_sign(JWT_ALG_HS256, pem, claims_json(), kid)) ==
                   jwt_errc::wrong_algorithm,
               kid);
    const std::string unsigned_token =
        b64(R"({"alg":"none","kid":")" + std::string(kid) + R"("})") + "." + b64(claims_json()) +
        ".";
    BOOST_TEST(refusal(verifier, unsigned_token) == jwt_errc::wrong_algorithm, kid);
  }
}

BOOST_AUTO_TEST_CASE(key_sets_that_cannot_be_used_refuse_every_token) {
  const auto token = libjwt_sign(JWT_ALG_RS256, rsa_keys().private_pem, claims_json(), "a");
  BOOST_TEST(keys_by_kid(true).usable());
  const std::vector<std::vector<jwt_key>> unusable = {
      {},
      {{"a", jwt_algorithm::rs256, rsa_keys().public_pem},
       {"a", jwt_algorithm::rs256, other_rsa_keys().public_pem}},
      {{"a", jwt_algorithm::rs256, rsa_keys().public_pem},
       {"b", jwt_algorithm::rs256, ec_keys().public_pem}},
      {{"a", jwt_algorithm::rs256, rsa_keys().public_pem}, {"h", jwt_algorithm::hs256, "short"}},
  };
  std::size_t index = 0;
  for (const auto& keys : unusable) {
    const jwt_verifier verifier(keys);
    BOOST_TEST(!verifier.usable(), "set " << index);
    BOOST_TEST(refusal(verifier, token) == jwt_errc::unusable_key, "set " << index);
    ++index;
  }
}

BOOST_AUTO_TEST_CASE(key_sets_apply_issuer_and_audience) {
  const auto verifier = keys_by_kid(true, bound);
  const auto bound_claims = claims_with(R"("iss":"https://issuer.example","aud":"gatehouse")");
  BOOST_TEST(refusal(verifier, libjwt_sign(JWT_ALG_RS256, other_rsa_keys().private_pem,
                                           bound_claims, "b")) == jwt_errc{});
  BOOST_TEST(refusal(verifier, libjwt_sign(JWT_ALG_RS256, other_rsa_keys().private_pem,
                                           claims_json(), "b")) == jwt_errc::wrong_issuer);
}

// Signed claims of the wrong types: libjwt 1.10 would read each as 0 or absent.
const std::vector<std::string> mistyped_claims = {
    R"({"sub":"m1","exp":"1700003600"})",
    R"({"sub":"m1","exp":1700003600.5})",
    R"({"sub":"m1","exp":null})",
    R"({"sub":7,"exp":1700003600})",
    R"({"sub":["m1"],"exp":1700003600})",
    R"({"sub":"m1","org":7,"exp":1700003600})",
    R"({"sub":"m1","exp":1700003600,"nbf":"now"})",
    R"({"sub":"m1","exp":1700003600,"iat":"now"})",
    R"({"sub":"m1","exp":1700003600,"iat":1700000000.5})",
    R"({"sub":"m1","sub":"admin","exp":1700003600})",
    R"(["sub","m1"])",
    R"({"sub":"m1","exp":1700003600} trailing)",
};

BOOST_DATA_TEST_CASE(signed_claims_of_the_wrong_type_are_malformed, data::make(mistyped_claims),
                     claims) {
  BOOST_TEST(refusal(hs256(), hs256_by_hand(R"({"alg":"HS256","typ":"JWT"})", claims)) ==
             jwt_errc::malformed);
}

// Claims texts that jansson (inside libjwt) refuses before our checks see them: reported as
// bad_signature or malformed, depending on who refuses first, but never accepted.
const std::vector<std::string> claims_jansson_refuses = {
    R"({"sub":"m1\u0000admin","exp":1700003600})",
    R"({"sub":"m1","exp":99999999999999999999})",
};

BOOST_DATA_TEST_CASE(claims_jansson_refuses_are_never_accepted, data::make(claims_jansson_refuses),
                     claims) {
  const auto refused = refusal(hs256(), hs256_by_hand(R"({"alg":"HS256"})", claims));
  BOOST_TEST((refused == jwt_errc::bad_signature || refused == jwt_errc::malformed), refused);
}

BOOST_AUTO_TEST_CASE(hand_signed_token_with_good_claims_verifies) {
  // The helper above is only as good as this check that its tokens verify when well formed.
  BOOST_TEST(refusal(hs256(), hs256_by_hand(R"({"alg":"HS256"})", claims_json())) == jwt_errc{});
}

const std::vector<std::string> unsigned_headers = {
    R"({"alg":"none"})", R"({"alg":"none","typ":"JWT"})", R"({"alg":"None"})", R"({"alg":"NONE"})",
    R"({"alg":""})",
};

BOOST_DATA_TEST_CASE(alg_none_is_refused_by_every_verifier, data::make(unsigned_headers), header) {
  const std::string unsigned_token = b64(header) + "." + b64(claims_json()) + ".";
  BOOST_TEST(refusal(hs256(), unsigned_token) == jwt_errc::wrong_algorithm);
  BOOST_TEST(refusal(rs256(), unsigned_token) == jwt_errc::wrong_algorithm);
  BOOST_TEST(refusal(es256(), unsigned_token) == jwt_errc::wrong_algorithm);
  // A signature part changes nothing.
  BOOST_TEST(refusal(hs256(), unsigned_token + "c2ln") == jwt_errc::wrong_algorithm);
}

BOOST_AUTO_TEST_CASE(hs256_token_keyed_with_the_public_key_is_refused_by_rs256_and_es256) {
  // The classic confusion: an attacker HMACs with the public key, which a naive verifier would
  // pass to libjwt as the HMAC secret.
  auto forged_rsa = mint_hs256(rsa_keys().public_pem, "admin", "o1", 1h, t0);
  auto forged_ec = mint_hs256(ec_keys().public_pem, "admin", "o1", 1h, t0);
  BOOST_REQUIRE(forged_rsa.has_value());
  BOOST_REQUIRE(forged_ec.has_value());
  BOOST_TEST(refusal(rs256(), *forged_rsa) == jwt_errc::wrong_algorithm);
  BOOST_TEST(refusal(es256(), *forged_ec) == jwt_errc::wrong_algorithm);
}

BOOST_AUTO_TEST_CASE(tokens_of_another_algorithm_are_refused) {
  const auto rs = libjwt_sign(JWT_ALG_RS256, rsa_keys().private_pem, claims_json());
  const auto es = libjwt_sign(JWT_ALG_ES256, ec_keys().private_pem, claims_json());
  const auto hs384 = libjwt_sign(JWT_ALG_HS384, secret, claims_json());
  BOOST_TEST(refusal(hs256(), rs) == jwt_errc::wrong_algorithm);
  BOOST_TEST(refusal(hs256(), es) == jwt_errc::wrong_algorithm);
  BOOST_TEST(refusal(hs256(), hs384) == jwt_errc::wrong_algorithm);
  BOOST_TEST(refusal(rs256(), es) == jwt_errc::wrong_algorithm);
  BOOST_TEST(refusal(es256(), rs) == jwt_errc::wrong_algorithm);
}

BOOST_AUTO_TEST_CASE(rs256_token_signed_by_libjwt_verifies) {
  const auto token = libjwt_sign(JWT_ALG_RS256, rsa_keys().private_pem, claims_json());
  auto claims = rs256().verify(token, t0);
  BOOST_REQUIRE_MESSAGE(claims.has_value(), claims.error().message());
  BOOST_TEST(claims->member_id == "m1");
  BOOST_TEST(claims->organization == "o1");
  BOOST_TEST(refusal(rs256(), token, t0 + 1h + 30s) == jwt_errc::expired);
  const auto stranger = libjwt_sign(JWT_ALG_RS256, other_rsa_keys().private_pem, claims_json());
  BOOST_TEST(refusal(rs256(), stranger) == jwt_errc::bad_signature);
}

BOOST_AUTO_TEST_CASE(es256_token_signed_by_libjwt_verifies) {
  const auto token = libjwt_sign(JWT_ALG_ES256, ec_keys().private_pem, claims_json());
  auto claims = es256().verify(token, t0);
  BOOST_REQUIRE_MESSAGE(claims.has_value(), claims.error().message());
  BOOST_TEST(claims->member_id == "m1");
  const key_pair stranger_keys = make_pair(EVP_EC_gen("P-256"));
  const auto stranger = libjwt_sign(JWT_ALG_ES256, stranger_keys.private_pem, claims_json());
  BOOST_TEST(refusal(es256(), stranger) == jwt_errc::bad_signature);
}

BOOST_AUTO_TEST_CASE(es256_token_signed_by_openssl_interoperates) {
  // libjwt signing and verifying could agree on a wrong signature format; this token is built
  // from OpenSSL's signature as RFC 7518 §3.4 prescribes.
  BOOST_TEST(refusal(es256(), es256_by_hand(ec_keys().key.get(), claims_json())) == jwt_errc{});
  BOOST_TEST(refusal(es256(), es256_by_hand(ec_keys().key.get(), claims_json(), true)) ==
             jwt_errc::bad_signature);
}

BOOST_AUTO_TEST_CASE(unknown_critical_header_is_refused) {
  BOOST_TEST(refusal(hs256(), hs256_by_hand(R"({"alg":"HS256","crit":["exp"],"exp":1})",
                                            claims_json())) == jwt_errc::malformed);
}

std::vector<std::string> malformed_tokens() {
  const auto header = b64(R"({"alg":"HS256"})");
  const auto claims = b64(claims_json());
  return {
      "",
      ".",
      "..",
      "a.b",
      "a.b.c.d",
      header + "." + claims + ".c2ln.c2ln",
      "!!!.###.$$$",
      header + ".!!!." + "c2ln",
      header + "." + claims + ".c2ln=",
      header + "." + claims + ".A",  // 1 character mod 4 is no base64
      header + "." + claims + ".",   // HS256 header, no signature
      header + "." + claims + ".c2 l",
      " " + header + "." + claims + ".c2ln",
      b64("not json") + "." + claims + ".c2ln",
      b64("[]") + "." + claims + ".c2ln",
      b64("{}") + "." + claims + ".c2ln",  // no alg
      b64(R"({"alg":7})") + "." + claims + ".c2ln",
      b64(R"({"alg":"HS256","alg":"none"})") + "." + claims + ".c2ln",
      b64(R"({"alg":"HS256"} trailing)") + "." + claims + ".c2ln",
      b64(R"({"alg":"HS256")") + "." + claims + ".c2ln",
      b64("{\"alg\":\"HS256\",\"x\":\"\xff\"}") + "." + claims + ".c2ln",  // not UTF-8
      header + "." + b64("not json") + ".c2ln",
      header + ".." + "c2ln",
      "." + claims + ".c2ln",
      header + "." + claims + "." + std::string(9000, 'A'),
  };
}

BOOST_DATA_TEST_CASE(malformed_tokens_are_refused_as_malformed, data::make(malformed_tokens()),
                     token) {
  BOOST_TEST(refusal(hs256(), token) == jwt_errc::malformed);
}

std::vector<std::pair<jwt_algorithm, std::string>> unusable_keys() {
  return {
      {jwt_algorithm::hs256, ""},
      {jwt_algorithm::hs256, std::string(31, 'k')},
      {jwt_algorithm::rs256, ""},
      {jwt_algorithm::rs256, "-----BEGIN PUBLIC KEY-----\ngarbage\n-----END PUBLIC KEY-----\n"},
      {jwt_algorithm::rs256, rsa_keys().private_pem},
      {jwt_algorithm::rs256, ec_keys().public_pem},
      {jwt_algorithm::rs256, make_pair(EVP_RSA_gen(1024)).public_pem},
      {jwt_algorithm::es256, rsa_keys().public_pem},
      {jwt_algorithm::es256, make_pair(EVP_EC_gen("P-384")).public_pem},
      {jwt_algorithm::es256, secret},
  };
}

BOOST_AUTO_TEST_CASE(unusable_keys_refuse_every_token) {
  const auto token = libjwt_sign(JWT_ALG_HS256, std::string(31, 'k'), claims_json());
  std::size_t index = 0;
  for (const auto& [algorithm, key] : unusable_keys()) {
    const jwt_verifier verifier(algorithm, key);
    BOOST_TEST(refusal(verifier, token) == jwt_errc::unusable_key, "key " << index);
    BOOST_TEST(refusal(verifier, minted()) == jwt_errc::unusable_key, "key " << index);
    ++index;
  }
}

BOOST_AUTO_TEST_CASE(minting_refuses_weak_secrets_and_bad_arguments) {
  auto short_secret = mint_hs256(std::string(31, 'k'), "m1", "o1", 1h, t0);
  BOOST_REQUIRE(!short_secret.has_value());
  BOOST_TEST(short_secret.error() == make_error_code(jwt_errc::unusable_key));
  using boost::system::errc::invalid_argument;
  BOOST_TEST((mint_hs256(secret, "", "o1", 1h, t0).error() == invalid_argument));
  BOOST_TEST(
      (mint_hs256(secret, std::string("m1\0admin", 8), "o1", 1h, t0).error() == invalid_argument));
  BOOST_TEST(
      (mint_hs256(secret, "m1", std::string("o1\0o2", 5), 1h, t0).error() == invalid_argument));
  BOOST_TEST((mint_hs256(secret, "m1", "o1", 0s, t0).error() == invalid_argument));
  BOOST_TEST((mint_hs256(secret, "m1", "o1", -1h, t0).error() == invalid_argument));
}

BOOST_AUTO_TEST_CASE(jwt_error_codes_have_distinct_messages) {
  std::set<std::string> messages;
  for (int code = static_cast<int>(jwt_errc::malformed);
       code <= static_cast<int>(jwt_errc::unknown_key); ++code) {
    messages.insert(make_error_code(static_cast<jwt_errc>(code)).message());
  }
  BOOST_TEST(messages.size() == 12u);
  BOOST_TEST(messages.count("unknown JWT error") == 0u);
  BOOST_TEST(gatehouse::iam::jwt_category().name() == std::string("gatehouse.jwt"));
}

BOOST_AUTO_TEST_SUITE_END()
