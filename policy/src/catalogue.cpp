// Action-name look-up over the catalogue table.
#include <gatehouse/policy/catalogue.hpp>

#include <algorithm>

namespace gatehouse::policy {
namespace {

// The catalogue sorted by name, built once; a binary search over 48 names beats hashing them
// at this size and needs no allocation per look-up.
struct sorted_catalogue {
  std::array<std::pair<std::string_view, action_id>, action_catalogue.size()> entries{};

  constexpr sorted_catalogue() {
    for (std::size_t i = 0; i < action_catalogue.size(); ++i) {
      entries[i] = {action_catalogue[i].name, static_cast<action_id>(i)};
    }
    std::sort(entries.begin(), entries.end());
  }
};

constexpr sorted_catalogue by_name{};

}  // namespace

action_id find_action(std::string_view name) noexcept {
  const auto it = std::lower_bound(
      by_name.entries.begin(), by_name.entries.end(), name,
      [](const auto& entry, std::string_view key) { return entry.first < key; });
  return it != by_name.entries.end() && it->first == name ? it->second : unlisted_action;
}

std::string_view action_name(action_id id) noexcept {
  return id < action_catalogue.size() ? action_catalogue[id].name : "UnlistedAction";
}

bool is_resource_type(std::string_view type) noexcept {
  return std::find(resource_types.begin(), resource_types.end(), type) != resource_types.end();
}

}  // namespace gatehouse::policy
