// The IAM error category, and the hook that lets `outcome<T>::value()` throw on a failure.
#include <gatehouse/iam/errors.hpp>

#include <gatehouse/policy/error_category.hpp>

#include <boost/system/system_error.hpp>
#include <boost/throw_exception.hpp>

#include <array>

namespace gatehouse::iam {

namespace {

std::string_view describe(errc e) noexcept {
  switch (e) {
    case errc::unauthorized:
      return "unauthorized: no credential, or an unknown, revoked or unverifiable one";
    case errc::forbidden:
      return "forbidden: the caller may not do this";
    case errc::field_required:
      return "a required field is missing";
    case errc::field_invalid:
      return "a field has an invalid value";
    case errc::not_found:
      return "no such resource in this organization";
    case errc::conflict:
      return "the request conflicts with the current state";
    case errc::name_used:
      return "the name is already used in this organization";
    case errc::key_used:
      return "the policy key is already used in this organization";
    case errc::sys_managed_policy:
      return "built-in policies cannot be changed or deleted";
    case errc::limit_exceeded:
      return "a limit of the service was reached";
    case errc::storage_failure:
      return "the store failed; the change was not applied";
    case errc::last_owner:
      return "the change would leave the organization without an owner who can manage IAM";
    case errc::too_many_statements:
      return "the change would give a member more effective statements than allowed";
    case errc::check_too_complex:
      return "the statements are too complex to compare; nothing was granted";
    case errc::randomness_unavailable:
      return "the random number generator failed; nothing was created";
    case errc::bad_builtins:
      return "the built-in policies cannot serve; the old ones stay";
    case errc::token_expired:
      return "the access token has expired";
    case errc::store_unavailable:
      return "the shared store cannot be reached; nothing was changed";
  }
  return "unknown IAM error";
}

// The wire names of the fields, by `field`.
constexpr std::array<std::string_view, 23> wire_names = {
    "request",     "body",        "name",
    "type",        "email",       "key",
    "description", "permissions", "statements",
    "policyIds",   "groupIds",    "action",
    "resource",    "checks",      "pageIndex",
    "pageSize",    "creatorId",   "status",
    "query",       "expiresAt",   "gracePeriodSeconds",
    "from",        "to"};
static_assert(wire_names.size() == static_cast<std::size_t>(field::to) + 1);

}  // namespace

std::string_view wire_name(iam::field f) noexcept {
  const auto i = static_cast<std::size_t>(f);
  return i < wire_names.size() ? wire_names[i] : wire_names[0];
}

iam::field field_named(std::string_view key) noexcept {
  for (std::size_t i = 1; i < wire_names.size(); ++i) {
    if (wire_names[i] == key) return static_cast<iam::field>(i);
  }
  return field::none;
}

const boost::system::error_category& iam_category() noexcept {
  static const policy::enum_category<errc, describe> instance("gatehouse.iam");
  return instance;
}

void throw_exception_from_error(const failure& f, const boost::source_location& loc) {
  boost::throw_exception(boost::system::system_error(make_error_code(f.code), f.detail), loc);
}

}  // namespace gatehouse::iam
