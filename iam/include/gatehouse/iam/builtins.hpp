// The built-in policies (SPEC §2.6): compiled into the library from policies/*.json, so that a
// copied binary runs anywhere, or loaded from a folder that overrides them.
#pragma once

#include <gatehouse/iam/errors.hpp>
#include <gatehouse/policy/statement.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace gatehouse::iam {

/// Ids of the built-in policies (FeatBit's).
inline constexpr std::string_view owner_policy_id = "98881f6a-5c6c-4277-bcf7-fda94c538785";
inline constexpr std::string_view administrator_policy_id = "3e961f0f-6fd4-4cf4-910f-52d356f8cc08";
inline constexpr std::string_view developer_policy_id = "66f3687f-939d-4257-bd3f-c3553d39e1b6";

/// The built-in policies as they were in policies/*.json when the library was built.
[[nodiscard]] const std::vector<policy::policy_document>& embedded_builtin_policies();

/// Loads the built-in policies from `dir`: every `*.json` directly in it (examples in
/// subfolders are not loaded). Fails, naming the file and the first error, if any does not
/// load, lacks an id, or if Owner, Administrator or Developer is missing.
[[nodiscard]] outcome<std::vector<policy::policy_document>> load_builtin_policies(
    const std::string& dir);

/// Fails unless `builtins` hold Owner, Administrator and Developer by id; `where` names them in
/// the message.
[[nodiscard]] outcome<void> check_builtin_policies(
    const std::vector<policy::policy_document>& builtins, std::string_view where);

}  // namespace gatehouse::iam
