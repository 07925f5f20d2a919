// Member JWT claims: what a minted token carries, the expiry and the clock's leeway, issuer and
// audience, and signed claims of the wrong type.
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

BOOST_AUTO_TEST_SUITE_END()
