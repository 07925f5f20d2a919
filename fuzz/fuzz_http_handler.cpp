// libFuzzer target: http_service::handle_request on arbitrary requests. Whatever arrives, the
// status is in 200..599, a JSON answer is valid JSON with the envelope, the console answers only
// with its files, its redirect, 404 or 405, and no secret leaks.
#include <gatehouse/server/http_service.hpp>

#include <gatehouse/iam/builtins.hpp>
#include <gatehouse/iam/secrets.hpp>
#include <gatehouse/policy/document.hpp>
#include "fuzz_support.hpp"

#include <rapidjson/document.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

using gatehouse::fuzzing::require;

namespace engine = gatehouse::engine;
namespace iam = gatehouse::iam;
namespace store = gatehouse::store;
namespace server = gatehouse::server;
using namespace std::chrono_literals;

template <class T>
T expect(iam::outcome<T> r) {
  require(r.has_value());
  return std::move(*r);
}

template <class T>
T expect(boost::system::result<T> r) {
  require(r.has_value());
  return std::move(*r);
}

// Input layout: method '\n' target '\n' authorization '\n' body, the body being the rest. The
// fuzzer cannot guess what the service generates, so placeholders stand for it: in the
// authorization `$owner` and `$dev` (member JWTs) and `$token` and `$service` (token secrets);
// in the target and the body `$tid`, `$mid`, `$pid` and `$gid` (ids of a personal token, a
// member, a custom policy and a group). Secrets are never substituted into the target or body,
// so that any secret in an answer is a leak, not an echo.

const std::string jwt_secret = "gatehouse-fuzz-jwt-secret-0123456789abcdef";

/// What is loaded once: building it per input would only repeat file reads.
struct fixed_parts {
  std::vector<gatehouse::policy::policy_document> builtins;
  iam::server_key key;
};

const fixed_parts& fixed() {
  static const fixed_parts parts = [] {
    auto key = iam::server_key::generate();
    require(key.has_value());
    return fixed_parts{iam::embedded_builtin_policies(), *key};
  }();
  return parts;
}

/// A fresh service per input, so that no input changes what a later one sees and every crash
/// reproduces from its input alone (an input may delete members, toggle tokens, and so on).
struct world {
  std::unique_ptr<iam::service> iam;
  server::metrics metrics;
  std::optional<server::http_service> service;
  std::vector<std::pair<std::string_view, std::string>> credentials;
  std::vector<std::pair<std::string_view, std::string>> ids;
  std::vector<std::string> secrets;

  world() {
    const fixed_parts& f = fixed();
    iam = expect(iam::service::open(store::make_memory(), f.key, f.builtins));
    auto [org, owner_record] = expect(iam->create_organization("acme", "owner@example.com"));
    const auto owner = expect(iam->authenticate_member(owner_record.id, org.id));
    const auto dev_record = expect(iam->add_member(owner, {"dev@example.com", {}, {}}));
    const auto dev = expect(iam->authenticate_member(dev_record.id, org.id));
    const auto personal =
        expect(iam->create_token(dev, "personal", store::token_type::personal, {}));
    auto toggle_any_flag = gatehouse::policy::read_statements_as_stored(
        R"([{"id":"s","resourceType":"flag","effect":"allow","actions":["ToggleFlag"],)"
        R"("resources":["project/*:env/*:flag/*"]}])");
    require(toggle_any_flag.has_value());
    const auto service_token = expect(iam->create_token(
        owner, "service", store::token_type::service, std::move(*toggle_any_flag)));
    const auto custom = expect(iam->create_policy(owner, "Custom", "custom", ""));
    const auto group = expect(iam->create_group(owner, "Group", ""));

    secrets = {*personal.secret, *service_token.secret};
    credentials = {
        {"$owner", "Bearer " + expect(iam::mint_hs256(jwt_secret, owner_record.id, org.id, 1h))},
        {"$dev", "Bearer " + expect(iam::mint_hs256(jwt_secret, dev_record.id, org.id, 1h))},
        {"$token", *personal.secret},
        {"$service", *service_token.secret},
    };
    ids = {{"$tid", personal.record.id},
           {"$mid", dev_record.id},
           {"$pid", custom.id},
           {"$gid", group.id}};
    service.emplace(*iam, iam::jwt_verifier(iam::jwt_algorithm::hs256, jwt_secret), metrics,
                    server::http_limits{.max_batch_checks = 8, .max_body_bytes = 4096});
  }
};

std::string substitute(std::string_view text,
                       const std::vector<std::pair<std::string_view, std::string>>& values) {
  // One pass, left to right: replacing in place would cost the length of the text per
  // placeholder, so that a 1 MiB input full of them timed out in the harness, not the handler.
  // No placeholder starts another, so the first that matches is the only one.
  std::string out;
  out.reserve(text.size());
  for (std::size_t at = 0; at < text.size();) {
    const auto match = std::find_if(values.begin(), values.end(), [&](const auto& v) {
      return text.substr(at).starts_with(v.first);
    });
    if (text[at] != '$' || match == values.end()) {
      out += text[at++];
      continue;
    }
    out += match->second;
    at += match->first.size();
  }
  return out;
}

/// The next '\n'-terminated part of `input`; the whole rest when there is no '\n'.
std::string_view next_part(std::string_view& input) {
  const auto end = input.find('\n');
  const std::string_view part = input.substr(0, end);
  input.remove_prefix(end == std::string_view::npos ? input.size() : end + 1);
  return part;
}

void check_envelope(const server::http_response& response) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseValidateEncodingFlag>(response.body.data(), response.body.size());
  require(!doc.HasParseError());
  require(doc.IsObject());
  require(doc.HasMember("success") && doc["success"].IsBool());
  require(doc.HasMember("errors") && doc["errors"].IsArray());
  require(doc.HasMember("data"));
  const bool success = doc["success"].GetBool();
  require(success == doc["errors"].Empty());
  require(success == (response.status < 300));
  for (const auto& code : doc["errors"].GetArray()) require(code.IsString());
}

/// The console's answers, outside the API: its files (200, or 304 when the ETag is current), the
/// redirect to it from `/` (302), and plain 404 and 405. None involves a caller.
void check_console(const server::http_response& response) {
  const unsigned s = response.status;
  require(s == 200 || s == 302 || s == 304 || s == 404 || s == 405,
          "a console answer with a status of its own");
  require(response.subject == "-", "a console answer named a caller");
  require(s != 200 || !response.content_type.empty(), "a console file without a content type");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input = gatehouse::fuzzing::text_of(data, size);
  const std::string_view method = next_part(input);
  const std::string_view target = next_part(input);
  const std::string_view authorization = next_part(input);
  const std::string_view body = input;

  world w;
  const std::string target_text = substitute(target, w.ids);
  const std::string authorization_text = substitute(authorization, w.credentials);
  const std::string body_text = substitute(body, w.ids);
  const server::http_response response =
      w.service->handle_request({.method = method,
                                 .target = target_text,
                                 .authorization = authorization_text,
                                 .organization = {},
                                 .body = body_text});

  require(response.status >= 200 && response.status <= 599, "a status outside 200-599");
  if (response.content_type == "application/json") {
    check_envelope(response);
  } else if (response.content_type == "text/plain; version=0.0.4") {
    require(response.status == 200 && !response.body.empty(), "metrics without a body");
  } else {
    check_console(response);
  }
  // The secrets were shown once, when the world was made; no answer may show them again.
  for (const auto& secret : w.secrets) {
    require(response.body.find(secret) == std::string::npos);
    require(response.subject.find(secret) == std::string::npos);
  }
  require(response.subject == "-" || response.subject.starts_with("member:") ||
          response.subject.starts_with("personal-token:") ||
          response.subject.starts_with("service-token:"));
  return 0;
}
