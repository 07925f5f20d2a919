// The HTTP service: one request from its target to its answer: the paths outside the API
// (health, metrics, the console), the route look-up of SPEC §6.1, and the credentials of SPEC §6.
#include <gatehouse/server/http_service.hpp>

#include "console.hpp"
#include "costly_calls.hpp"
#include "http_fields.hpp"
#include "routes.hpp"

#include <gatehouse/policy/text.hpp>

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gatehouse::server {

namespace {

using iam::errc;
using iam::failure;

/// The Prometheus text exposition format.
constexpr std::string_view metrics_content_type = "text/plain; version=0.0.4";
constexpr std::string_view api_prefix[] = {"api", "v1"};
constexpr std::string_view token_secret_prefix = "api-";

// ---- Routing -----------------------------------------------------------------------------------

/// Whether `segments` match `pattern`; the segments in `{}` places go to `params`.
bool matches(std::string_view pattern, std::span<const std::string> segments,
             std::vector<std::string>& params) {
  params.clear();
  std::size_t i = 0;
  while (true) {
    const auto slash = pattern.find('/');
    const std::string_view part = pattern.substr(0, slash);
    if (i == segments.size()) return false;
    if (part == "{}") {
      if (segments[i].empty()) return false;
      params.push_back(segments[i]);
    } else if (part != segments[i]) {
      return false;
    }
    ++i;
    if (slash == std::string_view::npos) break;
    pattern.remove_prefix(slash + 1);
  }
  return i == segments.size();
}

/// The route for `method` and `segments` (below the prefix): nullptr and 404 when no route has
/// this path, 405 when none has it with this method.
const route* find_route(std::string_view method, std::span<const std::string> segments,
                        std::vector<std::string>& params, std::optional<reply>& refusal) {
  bool path_known = false;
  for (const auto table : {access_routes(), author_routes(), iam_routes()}) {
    for (const auto& r : table) {
      if (!matches(r.pattern, segments, params)) continue;
      if (r.method == method) return &r;
      path_known = true;
    }
  }
  refusal = path_known ? error_reply(http_error::method_not_allowed)
                       : failure_reply(failure(errc::not_found, "path"));
  return nullptr;
}

// ---- Credentials -------------------------------------------------------------------------------

/// SPEC §6: `api-…` raw (as FeatBit) or after `Bearer` is a token; any other bearer credential
/// is a member JWT. Every failure is `unauthorized` (401) except an inactive token, which the
/// IAM service answers `forbidden` (403). Nothing here is logged: the credential is a secret.
iam::outcome<iam::caller> authenticate(
    const iam::service& iam, const std::atomic<std::shared_ptr<const iam::jwt_verifier>>& jwt,
    const http_request& request) {
  std::string_view credential = trim_ows(request.authorization);
  const auto space = credential.find_first_of(" \t");
  if (space != std::string_view::npos &&
      policy::equal_folded(credential.substr(0, space), "Bearer")) {
    credential = trim_ows(credential.substr(space + 1));
    if (!credential.starts_with(token_secret_prefix)) {
      // Held to the end of the verification, should SIGHUP swap the keys meanwhile.
      const auto verifier = jwt.load(std::memory_order_acquire);
      if (!verifier) return failure(errc::unauthorized);
      const auto claims = verifier->verify(credential);
      if (!claims) return failure(errc::unauthorized);
      // The signed claim wins over the header: the header is the caller's word only.
      const std::string_view organization = claims->organization.empty()
                                                ? trim_ows(request.organization)
                                                : std::string_view(claims->organization);
      if (claims->member_id.empty() || organization.empty()) {
        return failure(errc::unauthorized);
      }
      return iam.authenticate_member(claims->member_id, organization);
    }
  }
  if (!credential.starts_with(token_secret_prefix)) return failure(errc::unauthorized);
  return iam.authenticate_token(credential);
}

/// Writes `who` as the access log names it into `subject`, keeping its allocation.
void write_subject(std::string& subject, const iam::caller& who) {
  subject = iam::to_string(who.kind);
  subject += ':';
  subject += who.id;
}

// ---- One request -------------------------------------------------------------------------------

struct service_parts {
  iam::service& iam;
  const std::atomic<std::shared_ptr<const iam::jwt_verifier>>& jwt;
  server::metrics& metrics;
  const http_limits& limits;
  costly_calls& costly;
  /// Of a shared store, or null.
  const store_freshness* freshness;
};

/// /healthz: "ok", or with a shared store its state and how long since it was heard from; 503
/// once that is too long.
void answer_health(const store_freshness* f, http_response& response) {
  if (f == nullptr) {
    response.body = success_reply(R"("ok")").body;
    return;
  }
  if (f->stale()) {
    response.status = 503;
    response.body = failure_reply(failure(errc::store_unavailable)).body;
    return;
  }
  std::string data = R"({"store":")";
  data += f->reachable() ? "reachable" : "unreachable";
  data += R"(","stalenessMs":)";
  data += std::to_string(f->staleness().count());
  data += '}';
  response.body = success_reply(data).body;
}

/// Answers `request` into `response`, setting its subject once the caller is known.
void respond(const service_parts& service, const http_request& request, http_response& response) {
  const auto give = [&response](reply r) {
    response.status = r.status;
    if (!r.in_place) response.body = std::move(r.body);
    if (!r.etag.empty()) response.headers.emplace_back("ETag", std::move(r.etag));
  };
  // The transport enforces the same limit; checked again so that no other caller of the
  // service can hand it more.
  if (request.body.size() > service.limits.max_body_bytes) {
    return give(error_reply(http_error::payload_too_large));
  }
  auto target = parse_target(request.target);
  if (!target) return give(failure_reply(target.error()));
  const auto& segments = target->segments;

  if (segments.size() == 1 && (segments[0] == "healthz" || segments[0] == "metrics")) {
    if (request.method != "GET") return give(error_reply(http_error::method_not_allowed));
    if (segments[0] == "healthz") return answer_health(service.freshness, response);
    response.status = 200;
    response.content_type = metrics_content_type;
    response.body = service.metrics.render(service.iam, service.freshness);
    return;
  }

  if (segments.size() == 1 && segments[0].empty()) {
    response = root_redirect(request.method);
    return;
  }
  if (segments[0] == "console") {
    // The files are looked up by name in a table: no path reaches a file system.
    std::string path;
    for (std::size_t i = 1; i < segments.size(); ++i) {
      if (i > 1) path += '/';
      path += segments[i];
    }
    response = console_response(request.method, path, request.if_none_match);
    return;
  }

  if (segments.size() <= std::size(api_prefix) || segments[0] != api_prefix[0] ||
      segments[1] != api_prefix[1]) {
    return give(failure_reply(failure(errc::not_found, "path")));
  }
  const auto below_prefix =
      std::span<const std::string>(segments.data(), segments.size()).subspan(std::size(api_prefix));
  std::vector<std::string> params;
  std::optional<reply> refusal;
  const route* r = find_route(request.method, below_prefix, params, refusal);
  if (r == nullptr) return give(std::move(*refusal));
  // Cut off from a shared store too long, memory may miss a revocation made elsewhere: nothing
  // is answered from it (SPEC §12).
  if (service.freshness != nullptr && service.freshness->stale()) {
    return give(failure_reply(failure(errc::store_unavailable)));
  }

  const auto who = authenticate(service.iam, service.jwt, request);
  if (!who) return give(failure_reply(who.error()));
  write_subject(response.subject, *who);
  const request_context ctx{service.iam,   service.metrics,  service.limits, service.costly,
                            *who,          response.subject, request.body,   request.if_match,
                            target->query, params,           response.body};
  reply answer = r->handle(ctx);
  if (answer.status == 403 && !r->audit_type.empty()) {
    service.iam.record_refusal(*who, r->audit_type, params.empty() ? "" : params.front(),
                               answer.refusal);
  }
  give(std::move(answer));
}

}  // namespace

store_freshness::store_freshness(std::chrono::milliseconds max_staleness) noexcept
    : max_staleness_(max_staleness),
      heard_at_ns_(std::chrono::steady_clock::now().time_since_epoch().count()) {}

void store_freshness::heard() noexcept {
  heard_at_ns_.store(std::chrono::steady_clock::now().time_since_epoch().count(),
                     std::memory_order_relaxed);
  reachable_.store(true, std::memory_order_relaxed);
}

void store_freshness::lost() noexcept { reachable_.store(false, std::memory_order_relaxed); }

std::chrono::milliseconds store_freshness::staleness() const noexcept {
  const auto since =
      std::chrono::steady_clock::now().time_since_epoch() -
      std::chrono::steady_clock::duration(heard_at_ns_.load(std::memory_order_relaxed));
  return std::chrono::duration_cast<std::chrono::milliseconds>(since);
}

http_service::http_service(iam::service& iam, iam::jwt_verifier jwt, metrics& m, http_limits limits)
    : iam_(iam),
      jwt_(std::make_shared<const iam::jwt_verifier>(std::move(jwt))),
      metrics_(m),
      limits_(limits),
      costly_(std::make_unique<costly_calls>()) {}

http_service::~http_service() = default;

void http_service::replace_jwt_verifier(std::shared_ptr<const iam::jwt_verifier> jwt) noexcept {
  jwt_.store(std::move(jwt), std::memory_order_release);
}

void http_service::handle_request(const http_request& request, http_response& response) noexcept {
  try {
    response.reset();
    respond({iam_, jwt_, metrics_, limits_, *costly_, freshness_}, request, response);
  } catch (...) {
    // Whatever failed, the caller learns only that it did; the subject, if known, stays for the
    // log. Should even the answer fail to allocate, a bare 500 goes out.
    response.status = 500;
    response.headers.clear();
    try {
      response.content_type = http_response::json_content_type;
      response.cache_control = http_response::no_store;
      response.body = error_reply(http_error::internal).body;
    } catch (...) {
      response.body.clear();
    }
  }
  metrics_.count_response(response.status);
}

http_response http_service::handle_request(const http_request& request) noexcept {
  http_response response;
  handle_request(request, response);
  return response;
}

}  // namespace gatehouse::server
