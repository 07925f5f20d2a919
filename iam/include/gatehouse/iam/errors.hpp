// The errors of the IAM service: one enum with its category, and the failure value that carries
// the detail a caller needs to answer (which field, which counterexample).
#pragma once

#include <gatehouse/engine/containment.hpp>
#include <gatehouse/policy/document.hpp>

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace gatehouse::iam {

enum class errc {
  /// No credential, an unknown or revoked token, or a member JWT that does not verify.
  unauthorized = 1,
  /// The caller is known but may not do this (including an inactive token, a token trying to
  /// manage tokens, and a token scope beyond its creator's rights).
  forbidden,
  /// A required field is missing; `failure::field` names it.
  field_required,
  /// A field has an unusable value; `failure::field` names it, `detail` says why.
  field_invalid,
  /// The organization, member, group, policy or token does not exist (in this organization).
  not_found,
  /// The request conflicts with the current state (e.g. adding a member twice).
  conflict,
  /// A name is already used in the organization (access tokens, groups, policies).
  name_used,
  /// A policy key is already used in the organization.
  key_used,
  /// Built-in policies cannot be changed or deleted.
  sys_managed_policy,
  /// A limit of the service was reached; `detail` says which.
  limit_exceeded,
  /// The store failed; the change was not applied.
  storage_failure,
  /// The change would leave the organization without a member who holds Owner and may manage
  /// IAM (SPEC §10).
  last_owner,
  /// The change would give a member more effective statements than the limit allows.
  too_many_statements,
  /// Comparing the statements needed more work than the containment budget allows; nothing was
  /// granted.
  check_too_complex,
  /// The operating system's random number generator failed; nothing was created.
  randomness_unavailable,
  /// Built-in policies that cannot serve (Owner, Administrator or Developer missing, or one that
  /// does not load); the old ones stay.
  bad_builtins,
  /// A token past its expiry time (SPEC §13): told apart from `unauthorized` so that an
  /// integration can tell its owner why it stopped working.
  token_expired,
  /// A store shared by several instances cannot be reached, or this instance has not heard from
  /// it for longer than it may answer from memory (SPEC §12); nothing was changed.
  store_unavailable,
};

/// The field of a request that a field error is about. Its wire name (`wire_name`) is the JSON
/// key a caller sent, and makes the error code: `permissions_is_invalid`.
enum class field : std::uint8_t {
  none,
  body,
  name,
  type,
  email,
  key,
  description,
  permissions,
  statements,
  policy_ids,
  group_ids,
  action,
  resource,
  checks,
  page_index,
  page_size,
  creator_id,
  status,
  query,
  expires_at,
  grace_period_seconds,
  from,
  to,
};

/// The JSON key of `f`: "pageSize", "policyIds"; "request" for `field::none`.
[[nodiscard]] std::string_view wire_name(iam::field f) noexcept;
/// The field whose wire name is `key`, or `field::none`.
[[nodiscard]] iam::field field_named(std::string_view key) noexcept;

const boost::system::error_category& iam_category() noexcept;
inline boost::system::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), iam_category()};
}

/// Why an IAM operation failed.
struct failure {
  errc code = errc::forbidden;
  /// For field errors, which field.
  iam::field field = field::none;
  /// What a person needs to know: what is wrong with the field, or why the operation failed.
  /// Never a secret.
  std::string detail;
  /// For statements that do not validate: every finding, with its pointer (and line and column
  /// when the statements came as text).
  std::vector<policy::finding> findings;
  /// For a grant refused by the containment check (a token's scope, an attached policy, a group,
  /// new statements, a token switched back on): a request it would allow that the caller may
  /// not make.
  std::optional<engine::request> counterexample;
  /// For a write to a stale version (`conflict`): the current version.
  std::optional<std::uint64_t> current_version;

  failure() = default;
  failure(errc c, std::string d = {}, std::optional<engine::request> ce = {})  // NOLINT
      : code(c), detail(std::move(d)), counterexample(std::move(ce)) {}
  failure(errc c, iam::field f, std::string d = {},
          std::vector<policy::finding> found = {})  // NOLINT
      : code(c), field(f), detail(std::move(d)), findings(std::move(found)) {}
};

/// Lets `outcome<T>::value()` throw a `boost::system::system_error` on a failure; service code
/// checks outcomes instead of calling `value()` on them.
[[noreturn]] void throw_exception_from_error(const failure& f, const boost::source_location& loc);

template <class T>
using outcome = boost::system::result<T, failure>;

}  // namespace gatehouse::iam

namespace boost::system {
template <>
struct is_error_code_enum<gatehouse::iam::errc> : std::true_type {};
}  // namespace boost::system
