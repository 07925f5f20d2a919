// What the route handlers share beyond the header's templates: reading the requests to decide,
// and a policy's version as an entity tag.
#include "routes.hpp"

#include "http_fields.hpp"

#include <gatehouse/policy/limits.hpp>

#include <charconv>
#include <string>

namespace gatehouse::server {

namespace {

/// The buffer and writer of answers written in place, one pair per thread. RapidJSON's writer
/// allocates its nesting stack on first use, so it is kept too, and reset onto the buffer.
struct in_place_json {
  /// Room kept between answers; a larger answer (a batch of decisions naming many statements)
  /// gives its room back.
  static constexpr std::size_t kept_bytes = std::size_t{64} * 1024;
  rapidjson::StringBuffer buffer;
  json_writer writer{buffer};
};

in_place_json& thread_json() {
  thread_local in_place_json json;
  return json;
}

}  // namespace

json_writer& start_success_in_place() {
  in_place_json& json = thread_json();
  json.buffer.Clear();
  json.writer.Reset(json.buffer);
  write_envelope_head(json.writer, true, {});
  return json.writer;
}

reply finish_success_in_place(const request_context& ctx) {
  in_place_json& json = thread_json();
  json.writer.EndObject();
  ctx.answer_body.assign(json.buffer.GetString(), json.buffer.GetSize());
  if (json.buffer.GetSize() > in_place_json::kept_bytes) {
    json.buffer.Clear();
    json.buffer.ShrinkToFit();
  }
  reply r;
  r.in_place = true;
  return r;
}

iam::outcome<check> read_check(const rapidjson::Value& v) {
  if (!v.IsObject()) return iam::failure(iam::errc::field_invalid, iam::field::checks);
  const auto action = required_string(v, "action");
  if (!action) return action.error();
  const auto resource = required_string(v, "resource");
  if (!resource) return resource.error();
  if (resource->size() > policy::max_request_resource_bytes) {
    return iam::failure(
        iam::errc::field_invalid, iam::field::resource,
        "longer than " + std::to_string(policy::max_request_resource_bytes) + " bytes");
  }
  return check{*action, *resource};
}

iam::outcome<std::vector<check>> read_checks(const rapidjson::Value& checks, std::size_t max) {
  if (!checks.IsArray() || checks.Size() > max) {
    return iam::failure(iam::errc::field_invalid, iam::field::checks);
  }
  std::vector<check> batch;
  batch.reserve(checks.Size());
  for (const auto& item : checks.GetArray()) {
    auto c = read_check(item);
    if (!c) return c.error();
    batch.push_back(*c);
  }
  return batch;
}

std::optional<reply> read_statement_array(const request_context& ctx,
                                          std::vector<policy::statement>& out) {
  rapidjson::Document doc;
  if (auto bad = read_body(ctx.body, doc, rapidjson::kArrayType, iam::field::statements)) {
    return bad;
  }
  auto statements = read_statements(ctx.body, "", iam::field::statements, policy::stored_policy);
  if (!statements) return failure_reply(statements.error());
  out = std::move(*statements);
  return std::nullopt;
}

std::optional<reply> read_paging(const request_context& ctx, std::size_t& page_index,
                                 std::size_t& page_size) {
  // Far beyond any organization's count of tokens or records.
  constexpr std::size_t max_page_index = 1'000'000;
  const auto index = ctx.query.number("pageIndex", page_index, 0, max_page_index);
  if (!index) return failure_reply(index.error());
  const auto size = ctx.query.number("pageSize", page_size, 1, ctx.iam.limits().max_page_size);
  if (!size) return failure_reply(size.error());
  page_index = *index;
  page_size = *size;
  return std::nullopt;
}

std::string policy_etag(std::uint64_t version) { return '"' + std::to_string(version) + '"'; }

iam::version_match expected_versions(std::string_view if_match) {
  if_match = trim_ows(if_match);
  if (if_match.empty() || if_match == "*") return std::nullopt;
  std::vector<std::uint64_t> accepted;
  // A comma-separated list of entity tags (RFC 9110 §13.1.1); versions hold no comma.
  for_each_item(if_match, [&](std::string_view tag) {
    if (tag.size() <= 2 || tag.front() != '"' || tag.back() != '"') return;
    const auto digits = tag.substr(1, tag.size() - 2);
    std::uint64_t version = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), version);
    if (ec == std::errc() && end == digits.data() + digits.size()) accepted.push_back(version);
  });
  return accepted;
}

}  // namespace gatehouse::server
