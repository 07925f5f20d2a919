// Member JWTs on libjwt 1.10 (OpenSSL backend): shape, key and algorithm settled before libjwt
// sees a token, the signature verified by libjwt with the chosen key, the claims checked after.
#include <gatehouse/iam/jwt.hpp>

#include <gatehouse/policy/error_category.hpp>

#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <limits>
#include <memory>
#include <optional>
#include <vector>

namespace gatehouse::iam {

namespace {

// Far above any member JWT (a few hundred bytes), and a bound on the work and on the stack
// libjwt 1.10 takes with alloca() while decoding.
constexpr std::size_t max_token_length = std::size_t{8} * 1024;
// RFC 7518 §3.2: an HS256 key must be at least as long as the hash output.
constexpr std::size_t min_hs256_secret_length = 32;
constexpr int min_rsa_bits = 2048;

std::string_view describe(jwt_errc e) noexcept {
  switch (e) {
    case jwt_errc::malformed:
      return "JWT is malformed: not three base64url parts, or unparsable header or claims";
    case jwt_errc::wrong_algorithm:
      return "JWT header names an algorithm other than the configured one";
    case jwt_errc::bad_signature:
      return "JWT signature does not verify under the configured key";
    case jwt_errc::missing_expiry:
      return "JWT has no exp claim";
    case jwt_errc::expired:
      return "JWT has expired";
    case jwt_errc::missing_subject:
      return "JWT has no sub claim";
    case jwt_errc::not_yet_valid:
      return "JWT is not valid yet (nbf is in the future)";
    case jwt_errc::unusable_key:
      return "the configured JWT keys are unusable: a key unfit for its algorithm, a kid taken "
             "twice, or no key";
    case jwt_errc::issued_in_future:
      return "JWT was issued in the future (iat is ahead of the clock by more than the leeway)";
    case jwt_errc::wrong_issuer:
      return "JWT iss claim is missing or not the configured issuer";
    case jwt_errc::wrong_audience:
      return "JWT aud claim is missing or does not name the configured audience";
    case jwt_errc::unknown_key:
      return "JWT kid names no configured key, or is missing while several keys are configured";
  }
  return "unknown JWT error";
}

struct jwt_deleter {
  void operator()(jwt_t* token) const noexcept { jwt_free(token); }
};
using jwt_ptr = std::unique_ptr<jwt_t, jwt_deleter>;

struct pkey_deleter {
  void operator()(EVP_PKEY* key) const noexcept { EVP_PKEY_free(key); }
};
struct bio_deleter {
  void operator()(BIO* bio) const noexcept { BIO_free(bio); }
};

const char* algorithm_name(jwt_algorithm algorithm) noexcept {
  switch (algorithm) {
    case jwt_algorithm::hs256:
      return "HS256";
    case jwt_algorithm::rs256:
      return "RS256";
    case jwt_algorithm::es256:
      return "ES256";
  }
  return "";  // an out-of-range value matches no header
}

jwt_alg_t libjwt_algorithm(jwt_algorithm algorithm) noexcept {
  switch (algorithm) {
    case jwt_algorithm::hs256:
      return JWT_ALG_HS256;
    case jwt_algorithm::rs256:
      return JWT_ALG_RS256;
    case jwt_algorithm::es256:
      return JWT_ALG_ES256;
  }
  return JWT_ALG_INVAL;
}

bool is_base64url(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

// Unpadded base64url to bytes, refusing any other character. As for encoding, OpenSSL's
// EVP_DecodeBlock does the bit work after the url alphabet is mapped back and padding restored.
std::optional<std::string> decode_base64url(std::string_view text) {
  if (text.size() % 4 == 1 || !std::all_of(text.begin(), text.end(), is_base64url)) {
    return std::nullopt;
  }
  std::string standard(text);
  std::replace(standard.begin(), standard.end(), '-', '+');
  std::replace(standard.begin(), standard.end(), '_', '/');
  const std::size_t padding = (4 - standard.size() % 4) % 4;
  standard.append(padding, '=');
  std::string out(standard.size() / 4 * 3, '\0');
  const int decoded = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                      reinterpret_cast<const unsigned char*>(standard.data()),
                                      static_cast<int>(standard.size()));
  // EVP_DecodeBlock counts the zero bytes that padding stands for; they are not data.
  if (decoded < 0 || static_cast<std::size_t>(decoded) < padding) return std::nullopt;
  out.resize(static_cast<std::size_t>(decoded) - padding);
  return out;
}

// A JOSE header or claims set: one JSON object, valid UTF-8, member names unique. RFC 7515 §4
// lets a parser either reject duplicates or take the last; jansson (inside libjwt) takes the
// last and RapidJSON's FindMember the first, so duplicates are refused to keep both readings
// identical.
std::optional<rapidjson::Document> parse_object(std::string_view base64url_text) {
  auto text = decode_base64url(base64url_text);
  if (!text) return std::nullopt;
  rapidjson::Document doc;
  // Iterative parsing: nesting depth must not turn into stack depth.
  doc.Parse<rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag>(text->data(),
                                                                                    text->size());
  if (doc.HasParseError() || !doc.IsObject()) return std::nullopt;
  std::vector<std::string_view> names;
  names.reserve(doc.MemberCount());
  for (const auto& member : doc.GetObject()) {
    names.emplace_back(member.name.GetString(), member.name.GetStringLength());
  }
  std::sort(names.begin(), names.end());
  if (std::adjacent_find(names.begin(), names.end()) != names.end()) return std::nullopt;
  return doc;
}

const rapidjson::Value* find_member(const rapidjson::Value& object, const char* name) {
  const auto it = object.FindMember(name);
  return it == object.MemberEnd() ? nullptr : &it->value;
}

// A claim string as gatehouse uses it: no embedded NUL, which C APIs would silently cut at.
std::optional<std::string> claim_string(const rapidjson::Value& value) {
  if (!value.IsString()) return std::nullopt;
  std::string out(value.GetString(), value.GetStringLength());
  if (out.find('\0') != std::string::npos) return std::nullopt;
  return out;
}

bool has_nul(std::string_view text) noexcept { return text.find('\0') != std::string_view::npos; }

bool usable_public_key(const std::string& pem, jwt_algorithm algorithm) {
  if (pem.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) return false;
  std::unique_ptr<BIO, bio_deleter> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return false;
  std::unique_ptr<EVP_PKEY, pkey_deleter> key(
      PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return false;
  if (algorithm == jwt_algorithm::rs256) {
    return EVP_PKEY_is_a(key.get(), "RSA") == 1 && EVP_PKEY_get_bits(key.get()) >= min_rsa_bits;
  }
  // libjwt checks only that the key is EC; ES256 is P-256 and nothing else (RFC 7518 §3.4).
  std::array<char, 64> group{};
  std::size_t group_length = 0;
  return EVP_PKEY_is_a(key.get(), "EC") == 1 &&
         EVP_PKEY_get_utf8_string_param(key.get(), OSSL_PKEY_PARAM_GROUP_NAME, group.data(),
                                        group.size(), &group_length) == 1 &&
         std::string_view(group.data(), group_length) == "prime256v1";
}

std::int64_t seconds_since_epoch(std::chrono::system_clock::time_point t) {
  return std::chrono::floor<std::chrono::seconds>(t.time_since_epoch()).count();
}

bool has_string_value(const rapidjson::Value& value, std::string_view text) {
  return value.IsString() && std::string_view(value.GetString(), value.GetStringLength()) == text;
}

// RFC 7519 §4.1.3: `aud` is one StringOrURI or an array of them; the token is for us when any
// one of them is our audience.
boost::system::result<void> check_audience(const rapidjson::Value* aud, std::string_view audience) {
  if (aud == nullptr) return jwt_errc::wrong_audience;
  if (aud->IsString()) {
    if (has_string_value(*aud, audience)) return {};
    return jwt_errc::wrong_audience;
  }
  if (!aud->IsArray()) return jwt_errc::malformed;
  bool named = false;
  for (const auto& element : aud->GetArray()) {
    if (!element.IsString()) return jwt_errc::malformed;
    named = named || has_string_value(element, audience);
  }
  if (!named) return jwt_errc::wrong_audience;
  return {};
}

bool by_id(const jwt_key& a, const jwt_key& b) { return a.id < b.id; }

}  // namespace

const boost::system::error_category& jwt_category() noexcept {
  static const policy::enum_category<jwt_errc, describe> instance("gatehouse.jwt");
  return instance;
}

bool is_usable_jwt_key(jwt_algorithm algorithm, const std::string& key) {
  bool usable = false;
  switch (algorithm) {
    case jwt_algorithm::hs256:
      // An empty key would be worse than weak: libjwt 1.10 then skips verification altogether.
      usable = key.size() >= min_hs256_secret_length &&
               key.size() <= static_cast<std::size_t>(std::numeric_limits<int>::max());
      break;
    case jwt_algorithm::rs256:
    case jwt_algorithm::es256:
      usable = usable_public_key(key, algorithm);
      break;
  }
  ERR_clear_error();  // a refused PEM leaves reasons in this thread's OpenSSL error queue
  return usable;
}

jwt_verifier::jwt_verifier(jwt_algorithm algorithm, std::string key, jwt_claim_rules rules)
    : rules_(std::move(rules)) {
  keys_.reserve(1);  // no reallocation leaves a copy of the secret behind
  keys_.push_back({std::string(), algorithm, std::move(key)});
  usable_ = is_usable_jwt_key(algorithm, keys_.front().material);
}

jwt_verifier::jwt_verifier(std::vector<jwt_key> keys, jwt_claim_rules rules)
    : keys_(std::move(keys)), by_kid_(true), rules_(std::move(rules)) {
  std::sort(keys_.begin(), keys_.end(), by_id);
  const auto same_id = [](const jwt_key& a, const jwt_key& b) { return a.id == b.id; };
  usable_ = !keys_.empty() &&
            std::adjacent_find(keys_.begin(), keys_.end(), same_id) == keys_.end() &&
            std::all_of(keys_.begin(), keys_.end(), [](const jwt_key& key) {
              return is_usable_jwt_key(key.algorithm, key.material);
            });
}

jwt_verifier::~jwt_verifier() {
  for (auto& key : keys_) OPENSSL_cleanse(key.material.data(), key.material.size());
}

namespace {

/// The header, claims and signature texts of a compact JWS: exactly three parts.
struct jws_parts {
  std::string_view header;
  std::string_view claims;
  std::string_view signature;
};

boost::system::result<jws_parts> split_parts(std::string_view token) {
  if (token.empty() || token.size() > max_token_length) return jwt_errc::malformed;
  const auto first_dot = token.find('.');
  if (first_dot == std::string_view::npos) return jwt_errc::malformed;
  const auto second_dot = token.find('.', first_dot + 1);
  if (second_dot == std::string_view::npos) return jwt_errc::malformed;
  if (token.find('.', second_dot + 1) != std::string_view::npos) return jwt_errc::malformed;
  return jws_parts{token.substr(0, first_dot),
                   token.substr(first_dot + 1, second_dot - first_dot - 1),
                   token.substr(second_dot + 1)};
}

/// The key of `keys` (sorted by id) that the header's `kid` names; without `by_kid`, the one key.
boost::system::result<const jwt_key*> choose_key(const rapidjson::Value& header,
                                                 const std::vector<jwt_key>& keys, bool by_kid) {
  if (!by_kid) return &keys.front();
  const auto* kid = find_member(header, "kid");
  if (kid == nullptr) {
    // Which of several keys was meant is not ours to guess.
    if (keys.size() != 1) return jwt_errc::unknown_key;
    return &keys.front();
  }
  if (!kid->IsString()) return jwt_errc::malformed;
  const std::string_view wanted(kid->GetString(), kid->GetStringLength());
  const auto found = std::lower_bound(
      keys.begin(), keys.end(), wanted,
      [](const jwt_key& candidate, std::string_view id) { return candidate.id < id; });
  if (found == keys.end() || found->id != wanted) return jwt_errc::unknown_key;
  return &*found;
}

/// A token whose shape, key and algorithm are settled, not yet its signature.
struct unverified_token {
  const jwt_key* key = nullptr;
  rapidjson::Document claims;
};

// 1. Shape, key and algorithm, before any key is used: exactly three non-empty base64url parts,
// a key chosen by `kid`, and a header naming that key's algorithm. An HS256 header never
// reaches an RS256 or ES256 key (where libjwt would otherwise HMAC with the public key as the
// secret), and `none` never reaches libjwt at all.
boost::system::result<unverified_token> settle_key(std::string_view token,
                                                   const std::vector<jwt_key>& keys, bool by_kid) {
  const auto parts = split_parts(token);
  if (!parts) return parts.error();
  const auto header = parse_object(parts->header);
  if (!header) return jwt_errc::malformed;
  const auto* alg = find_member(*header, "alg");
  if (alg == nullptr || !alg->IsString()) return jwt_errc::malformed;
  const auto key = choose_key(*header, keys, by_kid);
  if (!key) return key.error();
  // The key decides the algorithm, never the header. Checked before the signature's shape, so
  // that an unsigned `none` token (empty third part) is reported for what it is.
  if (!has_string_value(*alg, algorithm_name((*key)->algorithm))) return jwt_errc::wrong_algorithm;
  // RFC 7515 §4.1.11: a `crit` extension we do not implement must make the token invalid.
  if (find_member(*header, "crit") != nullptr) return jwt_errc::malformed;
  auto claims = parse_object(parts->claims);
  if (!claims || parts->signature.empty() || !decode_base64url(parts->signature)) {
    return jwt_errc::malformed;
  }
  return unverified_token{*key, std::move(*claims)};
}

// 2. The signature, by libjwt under the chosen key. After the checks above a failure here
// is the signature's (or, rarely, a claims text jansson refuses and RapidJSON accepted).
// 3. What libjwt verified with must be what we pinned, whatever it read from the header.
boost::system::result<void> check_signature(std::string_view token, const jwt_key& key) {
  const std::string terminated(token);
  jwt_t* raw = nullptr;
  const int decode_result = jwt_decode(&raw, terminated.c_str(),
                                       reinterpret_cast<const unsigned char*>(key.material.data()),
                                       static_cast<int>(key.material.size()));
  const jwt_ptr decoded(raw);
  if (decode_result == ENOMEM) {
    return boost::system::errc::make_error_code(boost::system::errc::not_enough_memory);
  }
  if (decode_result != 0 || !decoded) {
    ERR_clear_error();
    return jwt_errc::bad_signature;
  }
  if (jwt_get_alg(decoded.get()) != libjwt_algorithm(key.algorithm)) {
    return jwt_errc::wrong_algorithm;
  }
  return {};
}

// 4. The times. libjwt 1.10's getters answer 0 both for `"exp": 0` and for `"exp": "soon"`,
// so types are checked on our own parse of the claims text, which the signature covers. Times
// are compared with the leeway on the side of `now`, which no claim can make overflow.
boost::system::result<std::int64_t> check_times(const rapidjson::Value& claims,
                                                std::chrono::system_clock::time_point now) {
  const auto now_seconds = seconds_since_epoch(now);
  const auto leeway = jwt_clock_leeway.count();
  const auto* exp = find_member(claims, "exp");
  if (exp == nullptr) return jwt_errc::missing_expiry;
  if (!exp->IsInt64()) return jwt_errc::malformed;
  const auto expires_at = exp->GetInt64();
  // RFC 7519 §4.1.4: refused "on or after" the expiry, here the expiry plus the leeway.
  if (now_seconds - leeway >= expires_at) return jwt_errc::expired;
  if (const auto* nbf = find_member(claims, "nbf")) {
    if (!nbf->IsInt64()) return jwt_errc::malformed;
    if (nbf->GetInt64() > now_seconds + leeway) return jwt_errc::not_yet_valid;
  }
  if (const auto* iat = find_member(claims, "iat")) {
    if (!iat->IsInt64()) return jwt_errc::malformed;
    if (iat->GetInt64() > now_seconds + leeway) return jwt_errc::issued_in_future;
  }
  return expires_at;
}

// 5. Issuer and audience, when the rules name them.
boost::system::result<void> check_binding(const rapidjson::Value& claims,
                                          const jwt_claim_rules& rules) {
  if (!rules.issuer.empty()) {
    const auto* iss = find_member(claims, "iss");
    if (iss == nullptr) return jwt_errc::wrong_issuer;
    if (!iss->IsString()) return jwt_errc::malformed;
    if (!has_string_value(*iss, rules.issuer)) return jwt_errc::wrong_issuer;
  }
  if (!rules.audience.empty()) {
    return check_audience(find_member(claims, "aud"), rules.audience);
  }
  return {};
}

// 6. Who: the member (`sub`) and, when given, the organization (`org`).
boost::system::result<void> read_subject(const rapidjson::Value& claims, member_claims& out) {
  const auto* sub = find_member(claims, "sub");
  if (sub == nullptr) return jwt_errc::missing_subject;
  auto member_id = claim_string(*sub);
  if (!member_id) return jwt_errc::malformed;
  if (member_id->empty()) return jwt_errc::missing_subject;
  out.member_id = std::move(*member_id);
  if (const auto* org = find_member(claims, "org")) {
    auto organization = claim_string(*org);
    if (!organization) return jwt_errc::malformed;
    out.organization = std::move(*organization);
  }
  return {};
}

}  // namespace

boost::system::result<member_claims> jwt_verifier::verify(
    std::string_view token, std::chrono::system_clock::time_point now) const {
  // A moved-from verifier has no keys left.
  if (!usable_ || keys_.empty()) return jwt_errc::unusable_key;
  const auto settled = settle_key(token, keys_, by_kid_);
  if (!settled) return settled.error();
  if (auto signed_ = check_signature(token, *settled->key); !signed_) return signed_.error();
  member_claims out;
  const auto expires_at = check_times(settled->claims, now);
  if (!expires_at) return expires_at.error();
  out.expires_at = *expires_at;
  if (auto bound = check_binding(settled->claims, rules_); !bound) return bound.error();
  if (auto subject = read_subject(settled->claims, out); !subject) return subject.error();
  return out;
}

boost::system::result<std::string> mint_hs256(std::string_view secret, const std::string& member_id,
                                              const std::string& organization,
                                              const jwt_claim_rules& binding,
                                              std::chrono::seconds ttl,
                                              std::chrono::system_clock::time_point now) {
  using boost::system::errc::make_error_code;
  if (secret.size() < min_hs256_secret_length ||
      secret.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    return jwt_errc::unusable_key;
  }
  const auto issued_at = seconds_since_epoch(now);
  // NUL would cut the claim short inside libjwt: a token for "alice\0x" would name "alice".
  if (member_id.empty() || has_nul(member_id) || has_nul(organization) || has_nul(binding.issuer) ||
      has_nul(binding.audience) || ttl <= std::chrono::seconds::zero() ||
      (issued_at > 0 && ttl.count() > std::numeric_limits<std::int64_t>::max() - issued_at)) {
    return make_error_code(boost::system::errc::invalid_argument);
  }
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) return make_error_code(boost::system::errc::not_enough_memory);
  const jwt_ptr token(raw);
  int result = jwt_add_grant(token.get(), "sub", member_id.c_str());
  if (result == 0 && !organization.empty()) {
    result = jwt_add_grant(token.get(), "org", organization.c_str());
  }
  if (result == 0 && !binding.issuer.empty()) {
    result = jwt_add_grant(token.get(), "iss", binding.issuer.c_str());
  }
  if (result == 0 && !binding.audience.empty()) {
    result = jwt_add_grant(token.get(), "aud", binding.audience.c_str());
  }
  if (result == 0) result = jwt_add_grant_int(token.get(), "iat", static_cast<long>(issued_at));
  if (result == 0) {
    result = jwt_add_grant_int(token.get(), "exp", static_cast<long>(issued_at + ttl.count()));
  }
  if (result == 0) {
    result = jwt_set_alg(token.get(), JWT_ALG_HS256,
                         reinterpret_cast<const unsigned char*>(secret.data()),
                         static_cast<int>(secret.size()));
  }
  if (result != 0) return boost::system::error_code(result, boost::system::generic_category());
  char* encoded = jwt_encode_str(token.get());
  if (encoded == nullptr) {
    ERR_clear_error();
    return boost::system::error_code(errno != 0 ? errno : EINVAL,
                                     boost::system::generic_category());
  }
  std::string out(encoded);
  std::free(encoded);  // libjwt 1.10 allocates with malloc and has no jwt_free_str
  return out;
}

boost::system::result<std::string> mint_hs256(std::string_view secret, const std::string& member_id,
                                              const std::string& organization,
                                              std::chrono::seconds ttl,
                                              std::chrono::system_clock::time_point now) {
  return mint_hs256(secret, member_id, organization, {}, ttl, now);
}

}  // namespace gatehouse::iam
