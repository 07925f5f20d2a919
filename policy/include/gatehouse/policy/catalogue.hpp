// The action catalogue: every action name gatehouse knows, with the resource type it belongs to
// and what it lets a caller do. This table is the single source; action ids, bitsets, validation
// and the action list of schemas/policy.schema.json all derive from it.
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
  /// One line of English saying what the action lets a caller do; editors show it beside the
  /// name (schemas/policy.schema.json).
  std::string_view description;
};

inline constexpr std::array<action_info, 48> action_catalogue = {{
    {"UpdateWorkspaceGeneralSettings", "workspace",
     "Change the workspace's general settings, such as its name and key"},
    {"UpdateWorkspaceLicense", "workspace", "Replace the workspace's license"},
    {"UpdateWorkspaceSSOSettings", "workspace", "Configure single sign-on (SSO) for the workspace"},
    {"UpdateOrgName", "organization", "Rename the organization"},
    {"UpdateOrgSortFlagsBy", "organization", "Choose how the organization's flag lists are sorted"},
    {"UpdateOrgDefaultUserPermissions", "organization",
     "Choose the policies and groups that new members of the organization get"},
    {"CreateOrg", "organization", "Create an organization in the workspace"},
    {"CanManageIAM", "iam", "Manage members, groups and policies"},
    {"ListAccessTokens", "access-token", "See the organization's access tokens"},
    {"ManagePersonalAccessTokens", "access-token",
     "Create, rename, switch on or off and delete personal access tokens"},
    {"ManageServiceAccessTokens", "access-token",
     "Create, rename, switch on or off and delete service access tokens"},
    {"ListRelayProxies", "relay-proxy", "See the organization's relay proxies"},
    {"ManageRelayProxies", "relay-proxy", "Create, change and delete relay proxies"},
    {"CanAccessProject", "project", "Open a project and see its environments"},
    {"CreateProject", "project", "Create a project"},
    {"DeleteProject", "project", "Delete a project with its environments"},
    {"UpdateProjectSettings", "project", "Change a project's settings, such as its name"},
    {"CreateEnv", "project", "Create an environment in a project"},
    {"CanAccessEnv", "env", "Open an environment and see its flags and segments"},
    {"DeleteEnv", "env", "Delete an environment"},
    {"UpdateEnvSettings", "env",
     "Change an environment's settings, such as its name and description"},
    {"CreateEnvSecret", "env", "Create a secret (SDK key) for an environment"},
    {"DeleteEnvSecret", "env", "Delete one of an environment's secrets"},
    {"UpdateEnvSecret", "env", "Change one of an environment's secrets, such as its name"},
    {"CreateFlag", "flag", "Create a feature flag"},
    {"ArchiveFlag", "flag", "Archive a feature flag"},
    {"RestoreFlag", "flag", "Restore an archived feature flag"},
    {"DeleteFlag", "flag", "Delete a feature flag permanently"},
    {"CloneFlag", "flag", "Create a feature flag as a copy of another"},
    {"CopyFlagTo", "flag", "Copy a feature flag's settings to another environment"},
    {"ToggleFlag", "flag", "Switch a feature flag on or off"},
    {"UpdateFlagName", "flag", "Rename a feature flag"},
    {"UpdateFlagDescription", "flag", "Change a feature flag's description"},
    {"UpdateFlagOffVariation", "flag",
     "Choose the variation a feature flag serves while it is off"},
    {"UpdateFlagVariations", "flag", "Add, change or remove a feature flag's variations"},
    {"UpdateFlagTags", "flag", "Change a feature flag's tags"},
    {"UpdateFlagDefaultRule", "flag",
     "Change what a feature flag serves to users no targeting rule matches"},
    {"UpdateFlagIndividualTargeting", "flag",
     "Choose which variation a feature flag serves to individual users"},
    {"UpdateFlagTargetingRules", "flag", "Add, change or remove a feature flag's targeting rules"},
    {"CreateSegment", "segment", "Create a segment of users"},
    {"ArchiveSegment", "segment", "Archive a segment"},
    {"RestoreSegment", "segment", "Restore an archived segment"},
    {"DeleteSegment", "segment", "Delete a segment permanently"},
    {"UpdateSegmentName", "segment", "Rename a segment"},
    {"UpdateSegmentDescription", "segment", "Change a segment's description"},
    {"UpdateSegmentTags", "segment", "Change a segment's tags"},
    {"UpdateSegmentTargetingUsers", "segment",
     "Choose the individual users a segment includes or excludes"},
    {"UpdateSegmentRules", "segment", "Change the rules that decide which users are in a segment"},
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
/// What `any_action` lets a caller do, as `action_info::description` says it of one action.
inline constexpr std::string_view any_action_description =
    "Every action, including those added to the catalogue later";

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
