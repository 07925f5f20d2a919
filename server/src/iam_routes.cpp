// The routes of IAM administration: policies, groups and members (SPEC §6.1).
#include "routes.hpp"

#include <gatehouse/store/utc_time.hpp>

#include <array>
#include <optional>
#include <string>
#include <utility>

namespace gatehouse::server {

namespace {

// ---- Policies ----------------------------------------------------------------------------------

const auto write_policies = array_of<iam::policy_view>(write_policy);

reply list_policies(const request_context& ctx) {
  return answer(ctx.iam.list_policies(ctx.who), write_policies);
}

/// One policy, with its version as the `ETag`, which a later write sends back as `If-Match`.
reply answer_policy(const iam::outcome<iam::policy_view>& result) {
  reply r = answer(result, write_policy);
  if (result) r.etag = policy_etag(result->version);
  return r;
}

reply get_policy(const request_context& ctx) {
  return answer_policy(ctx.iam.get_policy(ctx.who, param(ctx, 0)));
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
  std::vector<policy::statement> statements;
  if (auto bad = read_statement_array(ctx, statements)) return std::move(*bad);
  return answer_policy(ctx.iam.set_policy_statements(ctx.who, param(ctx, 0), std::move(statements),
                                                     expected_versions(ctx.if_match)));
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

// ---- Audit trail -------------------------------------------------------------------------------

/// The optional time `name` of an audit query, RFC 3339; 0 when absent or empty.
iam::outcome<store::timestamp> query_time(const request_context& ctx, std::string_view name,
                                          iam::field field) {
  const auto text = ctx.query.find(name);
  if (!text) return text.error();
  if (!*text || (*text)->empty()) return store::timestamp{0};
  const auto at = store::parse_time(**text);
  if (!at)
    return iam::failure(iam::errc::field_invalid, field, std::string(store::rfc3339_expected));
  return *at;
}

reply audit_log(const request_context& ctx) {
  store::audit_query q;
  for (auto [name, out] : {std::pair{"actorId", &q.actor_id}, std::pair{"targetId", &q.target_id},
                           std::pair{"type", &q.type}}) {
    const auto value = ctx.query.find(name);
    if (!value) return failure_reply(value.error());
    if (*value) *out = **value;
  }
  const auto from = query_time(ctx, "from", iam::field::from);
  if (!from) return failure_reply(from.error());
  const auto to = query_time(ctx, "to", iam::field::to);
  if (!to) return failure_reply(to.error());
  q.from = *from;
  q.to = *to;
  if (auto bad = read_paging(ctx, q.page_index, q.page_size)) return std::move(*bad);
  return answer(ctx.iam.audit_log(ctx.who, std::move(q)),
                page_of<store::audit_page>([](json_writer& w, const store::audit_record& r) {
                  write_audit_record(w, r);
                }));
}

}  // namespace

std::span<const route> iam_routes() noexcept {
  static constexpr std::array routes = {
      route{"GET", "policies", list_policies},
      route{"POST", "policies", create_policy, iam::audit_type::policy_create},
      route{"GET", "policies/{}", get_policy},
      route{"PUT", "policies/{}/statements", set_policy_statements,
            iam::audit_type::policy_set_statements},
      route{"DELETE", "policies/{}", delete_policy, iam::audit_type::policy_delete},
      route{"GET", "groups", list_groups},
      route{"POST", "groups", create_group, iam::audit_type::group_create},
      route{"PUT", "groups/{}/add-member/{}", add_group_member, iam::audit_type::group_add_member},
      route{"PUT", "groups/{}/remove-member/{}", remove_group_member,
            iam::audit_type::group_remove_member},
      route{"PUT", "groups/{}/add-policy/{}", add_group_policy,
            iam::audit_type::group_attach_policy},
      route{"PUT", "groups/{}/remove-policy/{}", remove_group_policy,
            iam::audit_type::group_detach_policy},
      route{"DELETE", "groups/{}", delete_group, iam::audit_type::group_delete},
      route{"GET", "members", list_members},
      route{"POST", "members/add", add_member, iam::audit_type::member_add},
      route{"DELETE", "members/remove-from-org/{}", remove_member, iam::audit_type::member_remove},
      route{"PUT", "members/{}/add-policy/{}", add_member_policy,
            iam::audit_type::member_attach_policy},
      route{"PUT", "members/{}/remove-policy/{}", remove_member_policy,
            iam::audit_type::member_detach_policy},
      route{"GET", "members/{}/policies", member_policies},
      route{"GET", "user/policies", own_policies},
      route{"GET", "audit-log", audit_log},
  };
  return routes;
}

}  // namespace gatehouse::server
