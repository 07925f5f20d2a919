// Member JWT keys and algorithms: keys chosen by kid, the key pinning the algorithm, `none` and
// algorithm confusion refused, libjwt and OpenSSL signatures, malformed tokens, unusable keys,
// minting, and the error codes' messages.
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

#include "jwt_fixture.hpp"

using namespace jwt_testing;

BOOST_AUTO_TEST_SUITE(jwt_keys_tests)

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
  const auto token = expect_libjwt_signed_verifies(JWT_ALG_RS256, rs256(), rsa_keys().private_pem,
                                                   other_rsa_keys().private_pem);
  BOOST_TEST(refusal(rs256(), token, t0 + 1h + 30s) == jwt_errc::expired);
}

BOOST_AUTO_TEST_CASE(es256_token_signed_by_libjwt_verifies) {
  const key_pair stranger_keys = make_pair(EVP_EC_gen("P-256"));
  expect_libjwt_signed_verifies(JWT_ALG_ES256, es256(), ec_keys().private_pem,
                                stranger_keys.private_pem);
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
