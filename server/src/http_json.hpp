// JSON in and out of the HTTP API: request bodies parsed strictly with RapidJSON, fields read
// with FeatBit's `{field}_is_required`/`{field}_is_invalid` failures, and the camelCase JSON of
// every entity the API returns.
#pragma once

#include <gatehouse/iam/service.hpp>
#include <gatehouse/policy/json.hpp>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace gatehouse::server {

using policy::json_writer;
using policy::write_string;

// ---- Reading ---------------------------------------------------------------------------------

using policy::json_parse_error;
using policy::parse_json;

/// The member `field` of `object`; nullptr when it is missing or null, which requests treat alike.
[[nodiscard]] const rapidjson::Value* find_member(const rapidjson::Value& object,
                                                  const char* field) noexcept;
/// A string member of `object`: missing, null or empty -> `{field}_is_required`; any other
/// type -> `{field}_is_invalid`.
[[nodiscard]] iam::outcome<std::string_view> required_string(const rapidjson::Value& object,
                                                             const char* field);
/// A string member that may be missing or null (then empty); the IAM service decides about empty.
[[nodiscard]] iam::outcome<std::string_view> optional_string(const rapidjson::Value& object,
                                                             const char* field);
/// An array of strings that may be missing or null (then empty).
[[nodiscard]] iam::outcome<std::vector<std::string>> optional_string_array(
    const rapidjson::Value& object, const char* field);
/// The statement array at JSON pointer `at` of `body`, validated with `options`; a failure names
/// `field` and carries every finding, with its line and column in the body.
[[nodiscard]] iam::outcome<std::vector<policy::statement>> read_statements(
    std::string_view body, std::string_view at, iam::field field,
    const policy::load_options& options);

// ---- Writing ---------------------------------------------------------------------------------

/// Milliseconds since the epoch as ISO-8601 UTC (`2024-05-01T12:00:00.000Z`); 0 is null.
void write_time(json_writer& w, store::timestamp ms);
void write_statements(json_writer& w, std::span<const policy::statement> statements);
/// Validator findings as an array of `{line, column, severity, code, message, pointer}`.
void write_findings(json_writer& w, std::span<const policy::finding> findings);
void write_policy(json_writer& w, const iam::policy_view& p);
void write_member(json_writer& w, const store::member_record& m);
void write_group(json_writer& w, const store::group_record& g);
/// A token as lists show it. Its secret is set only in the answer to the token's creation; it
/// is then written as `"token"`, the one place a secret ever appears.
void write_token(json_writer& w, const iam::token_view& v);
/// One audit record: `summary` is the JSON object the service stored, written as it is. The
/// organization is left out unless asked for: an API caller only ever reads its own.
void write_audit_record(json_writer& w, const store::audit_record& r,
                        bool with_organization = false);
/// `{"contained", "counterexample": {action, resource} | null}`.
void write_containment(json_writer& w, const engine::containment& c);
/// `{resourceType: [actions]}`, in the catalogue's order.
void write_grantable(json_writer& w, const std::vector<iam::grantable_actions>& by_type);

/// "Personal" or "Service", as FeatBit spells them.
using iam::to_string;
[[nodiscard]] std::optional<store::token_type> parse_token_type(std::string_view text) noexcept;
/// "Active", "Inactive" or "Expired", as a token list filters on them.
[[nodiscard]] std::optional<iam::token_list_status> parse_list_status(
    std::string_view text) noexcept;

}  // namespace gatehouse::server
