// The HTTP service: the routes of SPEC §6.1, the credentials of SPEC §6, and the handlers that
// turn each request into engine calls and each answer into the envelope.
#include <gatehouse/server/http_service.hpp>

#include "console.hpp"
#include "costly_calls.hpp"
#include "http_envelope.hpp"
#include "http_json.hpp"
#include "http_target.hpp"

#include <gatehouse/policy/limits.hpp>

#include <array>
#include <chrono>
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

constexpr std::string_view json_content_type = "application/json";
/// The Prometheus text exposition format.
constexpr std::string_view metrics_content_type = "text/plain; version=0.0.4";
constexpr std::string_view api_prefix[] = {"api", "v1"};
constexpr std::string_view token_secret_prefix = "api-";

/// The highest `pageIndex` accepted: far beyond any organization's token cap, and small enough
/// that `pageIndex * pageSize` cannot overflow.
constexpr std::size_t max_page_index = 1'000'000;

/// What a handler may use for one authenticated request.
struct request_context {
  iam::service& iam;
  server::metrics& metrics;
  const http_limits& limits;
  costly_calls& costly;
  const iam::caller& who;
  /// `who` as the access log names it: "member:<id>".
  std::string_view subject;
  std::string_view body;
  const query_parameters& query;
  /// The path parameters, in the order of the route's `{}`.
  std::span<const std::string> params;
};

using handler = reply (*)(const request_context&);

struct route {
  std::string_view method;
  /// The path below /api/v1; `{}` stands for one non-empty segment.
  std::string_view pattern;
  handler handle;
};

// ---- Handler helpers -------------------------------------------------------------------------

template <class Write>
std::string json_text(Write&& write) {
  rapidjson::StringBuffer buffer;
  json_writer w(buffer);
  write(w);
  return {buffer.GetString(), buffer.GetSize()};
}

/// The envelope of an engine outcome: `write(w, value)` produces the data on success.
template <class T, class Write>
reply answer(const iam::outcome<T>& result, Write&& write, success_kind kind = success_kind::ok) {
  if (!result) return failure_reply(result.error());
  return success_reply(json_text([&](json_writer& w) { write(w, *result); }), kind);
}

/// Deletions and other changes without a resource to show answer `data: true`, as FeatBit does.
reply answer(const iam::outcome<void>& result) {
  if (!result) return failure_reply(result.error());
  return success_reply("true");
}

template <class T, class Write>
auto array_of(Write write) {
  return [write](json_writer& w, const std::vector<T>& items) {
    w.StartArray();
    for (const auto& item : items) write(w, item);
    w.EndArray();
  };
}

/// Parses the body, which must be JSON of the given type; the reply to give otherwise.
std::optional<reply> read_body(std::string_view body, rapidjson::Document& doc,
                               rapidjson::Type expected, iam::field field) {
  if (auto error = parse_json(body, doc)) return invalid_json_reply(error->offset, error->message);
  if (doc.GetType() != expected) return failure_reply(failure(errc::field_invalid, field));
  return std::nullopt;
}

std::optional<reply> read_object_body(std::string_view body, rapidjson::Document& doc) {
  return read_body(body, doc, rapidjson::kObjectType, iam::field::body);
}

std::string_view param(const request_context& ctx, std::size_t i) { return ctx.params[i]; }

// ---- Decisions ---------------------------------------------------------------------------------

struct check {
  std::string_view action;
  std::string_view resource;
};

iam::outcome<check> read_check(const rapidjson::Value& v) {
  if (!v.IsObject()) return failure(errc::field_invalid, iam::field::checks);
  const auto action = required_string(v, "action");
  if (!action) return action.error();
  const auto resource = required_string(v, "resource");
  if (!resource) return resource.error();
  if (resource->size() > policy::max_request_resource_bytes) {
    return failure(errc::field_invalid, iam::field::resource,
                   "longer than " + std::to_string(policy::max_request_resource_bytes) + " bytes");
  }
  return check{*action, *resource};
}

void write_decision(const request_context& ctx, json_writer& w, const check& c) {
  const auto start = std::chrono::steady_clock::now();
  const iam::decision_result result = ctx.iam.decide(ctx.who, c.action, c.resource);
  ctx.metrics.count_decision(result.decision, std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                  std::chrono::steady_clock::now() - start));
  w.StartObject();
  w.Key("allowed");
  w.Bool(result.allowed());
  w.Key("decision");
  write_string(w, engine::to_string(result.decision));
  w.Key("statements");
  w.StartArray();
  for (const auto& s : result.statements) {
    w.StartObject();
    w.Key("policyId");
    write_string(w, s.policy_id);
    w.Key("statementId");
    write_string(w, s.statement_id);
    w.EndObject();
  }
  w.EndArray();
  w.Key("subject");
  w.StartObject();
  w.Key("kind");
  write_string(w, iam::to_string(ctx.who.kind));
  w.Key("id");
  write_string(w, ctx.who.id);
  w.EndObject();
  w.EndObject();
}

reply post_decisions(const request_context& ctx) {
  rapidjson::Document doc;
  if (auto bad = read_object_body(ctx.body, doc)) return std::move(*bad);
  const rapidjson::Value* checks = find_member(doc, "checks");
  if (checks == nullptr) {
    const auto single = read_check(doc);
    if (!single) return failure_reply(single.error());
    return success_reply(json_text([&](json_writer& w) { write_decision(ctx, w, *single); }));
  }
  // A body that is both a single check and a batch is ambiguous.
  if (doc.HasMember("action") || doc.HasMember("resource")) {
    return failure_reply(failure(errc::field_invalid, iam::field::body));
  }
  if (!checks->IsArray() || checks->Size() > ctx.limits.max_batch_checks) {
    return failure_reply(failure(errc::field_invalid, iam::field::checks));
  }
  // Every check is read before any is decided: a bad batch answers nothing but its error.
  std::vector<check> batch;
  batch.reserve(checks->Size());
  for (const auto& item : checks->GetArray()) {
    auto c = read_check(item);
    if (!c) return failure_reply(c.error());
    batch.push_back(*c);
  }
  return success_reply(json_text([&](json_writer& w) {
    w.StartObject();
    w.Key("results");
    w.StartArray();
    for (const auto& c : batch) write_decision(ctx, w, c);
    w.EndArray();
    w.EndObject();
  }));
}

// ---- Access tokens -----------------------------------------------------------------------------

reply list_access_tokens(const request_context& ctx) {
  iam::token_query q;
  const auto name = ctx.query.find("name");
  if (!name) return failure_reply(name.error());
  if (*name) q.name = **name;
  const auto type = ctx.query.find("type");
  if (!type) return failure_reply(type.error());
  // An empty `type=` is what a form with no choice sends: any type.
  if (*type && !(*type)->empty()) {
    q.type = parse_token_type(**type);
    if (!q.type) return failure_reply(failure(errc::field_invalid, iam::field::type));
  }
  const auto creator = ctx.query.find("creatorId");
  if (!creator) return failure_reply(creator.error());
  if (*creator) q.creator_id = **creator;
  const auto page_index = ctx.query.number("pageIndex", q.page_index, 0, max_page_index);
  if (!page_index) return failure_reply(page_index.error());
  q.page_index = *page_index;
  // The IAM service's page limit bounds the parse: a larger size is invalid, however large.
  const auto page_size =
      ctx.query.number("pageSize", q.page_size, 1, ctx.iam.limits().max_page_size);
  if (!page_size) return failure_reply(page_size.error());
  q.page_size = *page_size;
  return answer(ctx.iam.list_tokens(ctx.who, q), [](json_writer& w, const iam::token_page& p) {
    w.StartObject();
    w.Key("totalCount");
    w.Uint64(p.total_count);
    w.Key("items");
    w.StartArray();
    for (const auto& t : p.items) write_token(w, t);
    w.EndArray();
    w.EndObject();
  });
}

reply is_access_token_name_used(const request_context& ctx) {
  const auto name = ctx.query.find("name");
  if (!name) return failure_reply(name.error());
  if (!*name || (*name)->empty())
    return failure_reply(failure(errc::field_required, iam::field::name));
  return answer(ctx.iam.is_token_name_used(ctx.who, **name),
                [](json_writer& w, bool used) { w.Bool(used); });
}

struct token_request {
  store::token_type type;
  std::vector<policy::statement> permissions;
};

/// The `type` and `permissions` of a body that asks for a token (to create or to check).
iam::outcome<token_request> read_token_request(const request_context& ctx,
                                               const rapidjson::Document& doc) {
  const auto type_text = required_string(doc, "type");
  if (!type_text) return type_text.error();
  const auto type = parse_token_type(*type_text);
  if (!type) return failure(errc::field_invalid, iam::field::type);
  // An absent list is an empty one: an unscoped personal token (a service token without
  // statements is refused by the service). Findings point into the body.
  token_request out{*type, {}};
  if (find_member(doc, "permissions") != nullptr) {
    auto read = read_statements(ctx.body, "/permissions", iam::field::permissions,
                                policy::token_permissions);
    if (!read) return read.error();
    out.permissions = std::move(*read);
  }
  return out;
}

reply create_access_token(const request_context& ctx) {
  rapidjson::Document doc;
  if (auto bad = read_object_body(ctx.body, doc)) return std::move(*bad);
  const auto name = required_string(doc, "name");
  if (!name) return failure_reply(name.error());
  auto asked = read_token_request(ctx, doc);
  if (!asked) return failure_reply(asked.error());
  return answer(
      ctx.iam.create_token(ctx.who, std::string(*name), asked->type, std::move(asked->permissions)),
      write_token, success_kind::created);
}

/// SPEC §11: the containment check of creating, without creating; one of the costly calls.
reply check_access_token(const request_context& ctx) {
  rapidjson::Document doc;
  if (auto bad = read_object_body(ctx.body, doc)) return std::move(*bad);
  auto asked = read_token_request(ctx, doc);
  if (!asked) return failure_reply(asked.error());
  const auto running = ctx.costly.enter(ctx.subject);
  if (!running) return error_reply(http_error::too_many_requests);
  return answer(ctx.iam.check_token(ctx.who, asked->type, std::move(asked->permissions)),
                write_containment);
}

reply grantable_actions(const request_context& ctx) {
  return answer(ctx.iam.grantable(ctx.who), write_grantable);
}

reply rename_access_token(const request_context& ctx) {
  rapidjson::Document doc;
  if (auto bad = read_object_body(ctx.body, doc)) return std::move(*bad);
  const auto name = required_string(doc, "name");
  if (!name) return failure_reply(name.error());
  return answer(ctx.iam.rename_token(ctx.who, param(ctx, 0), std::string(*name)), write_token);
}

reply toggle_access_token(const request_context& ctx) {
  return answer(ctx.iam.toggle_token(ctx.who, param(ctx, 0)), write_token);
}

reply delete_access_token(const request_context& ctx) {
  return answer(ctx.iam.delete_token(ctx.who, param(ctx, 0)));
}

// ---- Policies ----------------------------------------------------------------------------------

const auto write_policies = array_of<iam::policy_view>(write_policy);

reply list_policies(const request_context& ctx) {
  return answer(ctx.iam.list_policies(ctx.who), write_policies);
}

reply get_policy(const request_context& ctx) {
  return answer(ctx.iam.get_policy(ctx.who, param(ctx, 0)), write_policy);
}

reply create_policy(const request_context& ctx) {
  rapidjson::Document doc;
  if (auto bad = read_object_body(ctx.body, doc)) return std::move(*bad);
  const auto name = required_string(doc, "name");
  if (!name) return failure_reply(name.error());
  const auto key = required_string(doc, "key");
  if (!key) return failure_reply(key.error());
  const auto description = optional_string(doc, "description");
  if (!description) return failure_reply(description.error());
  return answer(ctx.iam.create_policy(ctx.who, std::string(*name), std::string(*key),
                                      std::string(*description)),
                write_policy, success_kind::created);
}

reply set_policy_statements(const request_context& ctx) {
  rapidjson::Document doc;
  if (auto bad = read_body(ctx.body, doc, rapidjson::kArrayType, iam::field::statements)) {
    return std::move(*bad);
  }
  auto statements = read_statements(ctx.body, "", iam::field::statements, policy::stored_policy);
  if (!statements) return failure_reply(statements.error());
  return answer(ctx.iam.set_policy_statements(ctx.who, param(ctx, 0), std::move(*statements)),
                write_policy);
}

reply delete_policy(const request_context& ctx) {
  return answer(ctx.iam.delete_policy(ctx.who, param(ctx, 0)));
}

// ---- Groups ------------------------------------------------------------------------------------

reply list_groups(const request_context& ctx) {
  return answer(ctx.iam.list_groups(ctx.who), array_of<store::group_record>(write_group));
}

reply create_group(const request_context& ctx) {
  rapidjson::Document doc;
  if (auto bad = read_object_body(ctx.body, doc)) return std::move(*bad);
  const auto name = required_string(doc, "name");
  if (!name) return failure_reply(name.error());
  const auto description = optional_string(doc, "description");
  if (!description) return failure_reply(description.error());
  return answer(ctx.iam.create_group(ctx.who, std::string(*name), std::string(*description)),
                write_group, success_kind::created);
}

reply add_group_member(const request_context& ctx) {
  return answer(ctx.iam.add_group_member(ctx.who, param(ctx, 0), param(ctx, 1)), write_group);
}

reply remove_group_member(const request_context& ctx) {
  return answer(ctx.iam.remove_group_member(ctx.who, param(ctx, 0), param(ctx, 1)), write_group);
}

reply add_group_policy(const request_context& ctx) {
  return answer(ctx.iam.attach_group_policy(ctx.who, param(ctx, 0), param(ctx, 1)), write_group);
}

reply remove_group_policy(const request_context& ctx) {
  return answer(ctx.iam.detach_group_policy(ctx.who, param(ctx, 0), param(ctx, 1)), write_group);
}

reply delete_group(const request_context& ctx) {
  return answer(ctx.iam.delete_group(ctx.who, param(ctx, 0)));
}

// ---- Members -----------------------------------------------------------------------------------

reply list_members(const request_context& ctx) {
  return answer(ctx.iam.list_members(ctx.who), array_of<store::member_record>(write_member));
}

reply add_member(const request_context& ctx) {
  rapidjson::Document doc;
  if (auto bad = read_object_body(ctx.body, doc)) return std::move(*bad);
  const auto email = required_string(doc, "email");
  if (!email) return failure_reply(email.error());
  auto policy_ids = optional_string_array(doc, "policyIds");
  if (!policy_ids) return failure_reply(policy_ids.error());
  auto group_ids = optional_string_array(doc, "groupIds");
  if (!group_ids) return failure_reply(group_ids.error());
  return answer(ctx.iam.add_member(
                    ctx.who, {std::string(*email), std::move(*policy_ids), std::move(*group_ids)}),
                write_member, success_kind::created);
}

reply remove_member(const request_context& ctx) {
  return answer(ctx.iam.remove_member(ctx.who, param(ctx, 0)));
}

reply add_member_policy(const request_context& ctx) {
  return answer(ctx.iam.attach_member_policy(ctx.who, param(ctx, 0), param(ctx, 1)), write_member);
}

reply remove_member_policy(const request_context& ctx) {
  return answer(ctx.iam.detach_member_policy(ctx.who, param(ctx, 0), param(ctx, 1)), write_member);
}

reply member_policies(const request_context& ctx) {
  return answer(ctx.iam.member_policies(ctx.who, param(ctx, 0)), write_policies);
}

reply own_policies(const request_context& ctx) {
  return answer(ctx.iam.own_policies(ctx.who), write_policies);
}

// ---- Routing -----------------------------------------------------------------------------------

/// SPEC §6.1. Where a literal and a `{}` could both match, the literal route comes first.
constexpr std::array routes = {
    route{"POST", "decisions", post_decisions},
    route{"GET", "access-tokens", list_access_tokens},
    route{"GET", "access-tokens/is-name-used", is_access_token_name_used},
    route{"POST", "access-tokens", create_access_token},
    route{"POST", "access-tokens/check", check_access_token},
    route{"PUT", "access-tokens/{}", rename_access_token},
    route{"PUT", "access-tokens/{}/toggle", toggle_access_token},
    route{"DELETE", "access-tokens/{}", delete_access_token},
    route{"GET", "policies", list_policies},
    route{"POST", "policies", create_policy},
    route{"GET", "policies/{}", get_policy},
    route{"PUT", "policies/{}/statements", set_policy_statements},
    route{"DELETE", "policies/{}", delete_policy},
    route{"GET", "groups", list_groups},
    route{"POST", "groups", create_group},
    route{"PUT", "groups/{}/add-member/{}", add_group_member},
    route{"PUT", "groups/{}/remove-member/{}", remove_group_member},
    route{"PUT", "groups/{}/add-policy/{}", add_group_policy},
    route{"PUT", "groups/{}/remove-policy/{}", remove_group_policy},
    route{"DELETE", "groups/{}", delete_group},
    route{"GET", "members", list_members},
    route{"POST", "members/add", add_member},
    route{"DELETE", "members/remove-from-org/{}", remove_member},
    route{"PUT", "members/{}/add-policy/{}", add_member_policy},
    route{"PUT", "members/{}/remove-policy/{}", remove_member_policy},
    route{"GET", "members/{}/policies", member_policies},
    route{"GET", "user/policies", own_policies},
    route{"GET", "user/grantable", grantable_actions},
};

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
  for (const auto& r : routes) {
    if (!matches(r.pattern, segments, params)) continue;
    if (r.method == method) return &r;
    path_known = true;
  }
  refusal = path_known ? error_reply(http_error::method_not_allowed)
                       : failure_reply(failure(errc::not_found, "path"));
  return nullptr;
}

// ---- Credentials -------------------------------------------------------------------------------

std::string_view trim(std::string_view s) noexcept {
  constexpr std::string_view blanks = " \t";
  const auto first = s.find_first_not_of(blanks);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(blanks) - first + 1);
}

bool equals_ignoring_case(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) {
      return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
    };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

/// SPEC §6: `api-…` raw (as FeatBit) or after `Bearer` is a token; any other bearer credential
/// is a member JWT. Every failure is `unauthorized` (401) except an inactive token, which the
/// engine answers `forbidden` (403). Nothing here is logged: the credential is a secret.
iam::outcome<iam::caller> authenticate(
    const iam::service& iam, const std::atomic<std::shared_ptr<const iam::jwt_verifier>>& jwt,
    const http_request& request) {
  std::string_view credential = trim(request.authorization);
  const auto space = credential.find_first_of(" \t");
  if (space != std::string_view::npos &&
      equals_ignoring_case(credential.substr(0, space), "Bearer")) {
    credential = trim(credential.substr(space + 1));
    if (!credential.starts_with(token_secret_prefix)) {
      // Held to the end of the verification, should SIGHUP swap the keys meanwhile.
      const auto verifier = jwt.load(std::memory_order_acquire);
      if (!verifier) return failure(errc::unauthorized);
      const auto claims = verifier->verify(credential);
      if (!claims) return failure(errc::unauthorized);
      // The signed claim wins over the header: the header is the caller's word only.
      const std::string_view organization = claims->organization.empty()
                                                ? trim(request.organization)
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

std::string subject_of(const iam::caller& who) {
  std::string subject(iam::to_string(who.kind));
  subject += ':';
  subject += who.id;
  return subject;
}

// ---- One request -------------------------------------------------------------------------------

struct service_parts {
  iam::service& iam;
  const std::atomic<std::shared_ptr<const iam::jwt_verifier>>& jwt;
  server::metrics& metrics;
  const http_limits& limits;
  costly_calls& costly;
};

/// Answers `request` into `response`, setting its subject once the caller is known.
void respond(const service_parts& service, const http_request& request, http_response& response) {
  const auto give = [&response](reply r) {
    response.status = r.status;
    response.body = std::move(r.body);
  };
  // The transport enforces the same limit; checked again so that no other caller of the
  // service can hand it more.
  if (request.body.size() > service.limits.max_body_bytes) {
    return give(error_reply(http_error::payload_too_large));
  }
  auto target = parse_target(request.target);
  if (!target) return give(failure_reply(target.error()));
  const std::vector<std::string>& segments = target->segments;

  if (segments.size() == 1 && (segments[0] == "healthz" || segments[0] == "metrics")) {
    if (request.method != "GET") return give(error_reply(http_error::method_not_allowed));
    if (segments[0] == "healthz") return give(success_reply(R"("ok")"));
    response.status = 200;
    response.content_type = metrics_content_type;
    response.body = service.metrics.render(service.iam);
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
  const auto below_prefix = std::span(segments).subspan(std::size(api_prefix));
  std::vector<std::string> params;
  std::optional<reply> refusal;
  const route* r = find_route(request.method, below_prefix, params, refusal);
  if (r == nullptr) return give(std::move(*refusal));

  const auto who = authenticate(service.iam, service.jwt, request);
  if (!who) return give(failure_reply(who.error()));
  response.subject = subject_of(*who);
  const request_context ctx{service.iam,      service.metrics, service.limits, service.costly, *who,
                            response.subject, request.body,    target->query,  params};
  give(r->handle(ctx));
}

}  // namespace

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

http_response http_service::handle_request(const http_request& request) noexcept {
  http_response response;
  try {
    respond({iam_, jwt_, metrics_, limits_, *costly_}, request, response);
  } catch (...) {
    // Whatever failed, the caller learns only that it did; the subject, if known, stays for the
    // log. Should even the answer fail to allocate, a bare 500 goes out.
    response.status = 500;
    try {
      response.content_type = json_content_type;
      response.body = error_reply(http_error::internal).body;
    } catch (...) {
      response.body.clear();
    }
  }
  metrics_.count_response(response.status);
  return response;
}

}  // namespace gatehouse::server
