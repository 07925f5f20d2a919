// The checks facade operations start with.
#include "checks.hpp"

#include <gatehouse/engine/containment.hpp>

#include <algorithm>
#include <string>

namespace gatehouse::iam {

outcome<void> require(const service& service, const caller& who, std::string_view action,
                      std::string_view resource) {
  if (service.decide_only(who, action, resource) != engine::decision::allow) {
    return failure(errc::forbidden,
                   "needs " + std::string(action) + " on " + std::string(resource));
  }
  return {};
}

outcome<void> require_member(const caller& who) {
  if (who.kind != subject_kind::member) {
    return failure(errc::forbidden, "access tokens cannot manage access tokens");
  }
  return {};
}

outcome<engine::containment> within_rights(const caller& who,
                                           const engine::compiled_policy& granted,
                                           std::string_view what) {
  if (!who.rights)
    return failure(errc::forbidden, std::string(what) + ": the caller has no rights");
  for (const engine::compiled_policy* side : {who.rights.get(), who.scope.get()}) {
    if (side == nullptr) continue;
    auto contained = engine::contains(*side, granted);
    if (!contained) {
      return failure(errc::check_too_complex,
                     std::string(what) + ": too complex to compare with the caller's rights");
    }
    if (!contained->contained) return std::move(*contained);
  }
  return engine::containment{true, std::nullopt};
}

outcome<void> require_holds(const caller& who, const engine::compiled_policy& granted,
                            std::string_view what) {
  const auto contained = within_rights(who, granted, what);
  if (!contained) return contained.error();
  if (!contained->contained) {
    return failure(errc::forbidden, std::string(what) + " beyond the caller's rights",
                   contained->counterexample);
  }
  return {};
}

outcome<void> require_policy(const directory& d, const caller& who, std::string_view id) {
  if (!d.find(d.policies, id, who.organization_id)) return failure(errc::not_found, "policy");
  return {};
}

outcome<void> check_name(std::string_view name, iam::field field, std::size_t max) {
  if (name.empty()) return failure(errc::field_required, field);
  if (name.size() > max || std::any_of(name.begin(), name.end(), [](char c) {
        return static_cast<unsigned char>(c) < 0x20;
      })) {
    return failure(errc::field_invalid, field);
  }
  return {};
}

}  // namespace gatehouse::iam
