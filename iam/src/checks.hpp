// The checks facade operations start with: the caller's right to act, what a caller may grant,
// and the names and ids it passes in.
#pragma once

#include <gatehouse/engine/compiled_policy.hpp>
#include <gatehouse/engine/containment.hpp>
#include <gatehouse/iam/errors.hpp>
#include <gatehouse/iam/service.hpp>

#include <cstddef>
#include <string_view>

#include "directory.hpp"

namespace gatehouse::iam {

inline constexpr std::string_view token_resource = "access-token/*";

/// Fails unless `who` may do `action` on `resource`.
[[nodiscard]] outcome<void> require(const service& service, const caller& who,
                                    std::string_view action, std::string_view resource);

/// Fails unless `who` is a member: access tokens cannot manage access tokens.
[[nodiscard]] outcome<void> require_member(const caller& who);

/// Whether the current rights of `who` contain `granted`, with a request that `granted` allows
/// and `who` may not make when they do not. A personal token acts with its creator's rights
/// narrowed by its scope, so both must contain it.
[[nodiscard]] outcome<engine::containment> within_rights(const caller& who,
                                                         const engine::compiled_policy& granted,
                                                         std::string_view what);

/// Fails unless the current rights of `who` contain `granted`: nobody grants what they do not
/// hold (SPEC §10). A refusal carries a request that `granted` allows and `who` may not make.
[[nodiscard]] outcome<void> require_holds(const caller& who, const engine::compiled_policy& granted,
                                          std::string_view what);

/// Fails unless `id` names a policy the caller's organization can see.
[[nodiscard]] outcome<void> require_policy(const directory& d, const caller& who,
                                           std::string_view id);

/// Fails unless `name` is set, at most `max` bytes long and free of control characters.
[[nodiscard]] outcome<void> check_name(std::string_view name, iam::field field, std::size_t max);

}  // namespace gatehouse::iam
