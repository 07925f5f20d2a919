// The action catalogue: every action name gatehouse knows, with the resource type it belongs to.
// This table is the single source; action ids, bitsets and validation all derive from it.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace gatehouse::policy {

/// The resource types of SPEC §2.2, in catalogue order.
inline constexpr std::array<std::string_view, 9> resource_types = {
    "workspace", "organization", "iam",  "access-token", "relay-proxy",
    "project",   "env",          "flag", "segment"};

struct action_info {
  std::string_view name;
  std::string_view resource_type;
};

inline constexpr std::array<action_info, 48> action_catalogue = {{
    {"UpdateWorkspaceGeneralSettings", "workspace"},
    {"UpdateWorkspaceLicense", "workspace"},
    {"UpdateWorkspaceSSOSettings", "workspace"},
    {"UpdateOrgName", "organization"},
    {"UpdateOrgSortFlagsBy", "organization"},
    {"UpdateOrgDefaultUserPermissions", "organization"},
    {"CreateOrg", "organization"},
    {"CanManageIAM", "iam"},
    {"ListAccessTokens", "access-token"},
    {"ManagePersonalAccessTokens", "access-token"},
    {"ManageServiceAccessTokens", "access-token"},
    {"ListRelayProxies", "relay-proxy"},
    {"ManageRelayProxies", "relay-proxy"},
    {"CanAccessProject", "project"},
    {"CreateProject", "project"},
    {"DeleteProject", "project"},
    {"UpdateProjectSettings", "project"},
    {"CreateEnv", "project"},
    {"CanAccessEnv", "env"},
    {"DeleteEnv", "env"},
    {"UpdateEnvSettings", "env"},
    {"CreateEnvSecret", "env"},
    {"DeleteEnvSecret", "env"},
    {"UpdateEnvSecret", "env"},
    {"CreateFlag", "flag"},
    {"ArchiveFlag", "flag"},
    {"RestoreFlag", "flag"},
    {"DeleteFlag", "flag"},
    {"CloneFlag", "flag"},
    {"CopyFlagTo", "flag"},
    {"ToggleFlag", "flag"},
    {"UpdateFlagName", "flag"},
    {"UpdateFlagDescription", "flag"},
    {"UpdateFlagOffVariation", "flag"},
    {"UpdateFlagVariations", "flag"},
    {"UpdateFlagTags", "flag"},
    {"UpdateFlagDefaultRule", "flag"},
    {"UpdateFlagIndividualTargeting", "flag"},
    {"UpdateFlagTargetingRules", "flag"},
    {"CreateSegment", "segment"},
    {"ArchiveSegment", "segment"},
    {"RestoreSegment", "segment"},
    {"DeleteSegment", "segment"},
    {"UpdateSegmentName", "segment"},
    {"UpdateSegmentDescription", "segment"},
    {"UpdateSegmentTags", "segment"},
    {"UpdateSegmentTargetingUsers", "segment"},
    {"UpdateSegmentRules", "segment"},
}};

/// Index of an action in the catalogue; `unlisted_action` stands for every name outside it.
using action_id = std::uint8_t;
inline constexpr action_id unlisted_action = static_cast<action_id>(action_catalogue.size());
/// Number of distinct action ids, the catalogue plus the one class of unlisted names.
inline constexpr std::size_t action_id_count = action_catalogue.size() + 1;

/// A set of action ids; bit i stands for action id i.
using action_set = std::uint64_t;
static_assert(action_id_count <= 64, "action_set must hold every action id");
inline constexpr action_set all_actions = (action_set{1} << action_id_count) - 1;

/// The wildcard action, which stands for every action name.
inline constexpr std::string_view any_action = "*";

/// The action id of `name`: its catalogue index, or `unlisted_action` for any other string.
[[nodiscard]] action_id find_action(std::string_view name) noexcept;

/// Whether `name` is a catalogue action.
[[nodiscard]] inline bool is_catalogue_action(std::string_view name) noexcept {
  return find_action(name) != unlisted_action;
}

/// The name used for `id` in generated requests; for `unlisted_action`, a fixed name that no
/// catalogue entry has.
[[nodiscard]] std::string_view action_name(action_id id) noexcept;

/// Whether `type` is one of `resource_types`.
[[nodiscard]] bool is_resource_type(std::string_view type) noexcept;

}  // namespace gatehouse::policy
