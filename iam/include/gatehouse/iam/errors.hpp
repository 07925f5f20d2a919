// The errors of the IAM service: one enum with its category, and the failure value that carries
// the detail a caller needs to answer (which field, which counterexample).
#pragma once

#include <gatehouse/engine/containment.hpp>

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>
#include <optional>
#include <string>
#include <system_error>

namespace gatehouse::iam {

enum class errc {
  /// No credential, an unknown or revoked token, or a member JWT that does not verify.
  unauthorized = 1,
  /// The caller is known but may not do this (including an inactive token, a token trying to
  /// manage tokens, and a token scope beyond its creator's rights).
  forbidden,
  /// A required field is missing; `detail` names it.
  field_required,
  /// A field has an unusable value; `detail` names it.
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
};

const boost::system::error_category& iam_category() noexcept;
inline boost::system::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), iam_category()};
}

/// Why an IAM operation failed.
struct failure {
  errc code = errc::forbidden;
  /// The field for field errors; a human-readable reason otherwise (never a secret).
  std::string detail;
  /// For a grant refused by the containment check (a token's scope, an attached policy, a group,
  /// new statements, a token switched back on): a request it would allow that the caller may
  /// not make.
  std::optional<engine::request> counterexample;

  failure() = default;
  failure(errc c, std::string d = {}, std::optional<engine::request> ce = {})  // NOLINT
      : code(c), detail(std::move(d)), counterexample(std::move(ce)) {}
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
