// Action-name look-up over the catalogue table.
#include <gatehouse/policy/catalogue.hpp>

#include <gatehouse/policy/name_hash.hpp>

#include <algorithm>
#include <cstdint>

namespace gatehouse::policy {
namespace {

// Every decision starts with this look-up, so it is one hash of a fixed cost and one comparison,
// instead of a binary search of string compares.
struct action_table {
  static constexpr std::size_t size = 256;  // a power of two, over 4x the catalogue
  std::array<std::uint8_t, size> slots{};   // action id + 1; 0 is empty

  action_table() {
    for (std::size_t id = 0; id < action_catalogue.size(); ++id) {
      auto i = name_hash(action_catalogue[id].name) & (size - 1);
      while (slots[i] != 0) i = (i + 1) & (size - 1);
      slots[i] = static_cast<std::uint8_t>(id + 1);
    }
  }
};

}  // namespace

action_id find_action(std::string_view name) noexcept {
  static const action_table table;
  for (auto i = name_hash(name) & (action_table::size - 1);;
       i = (i + 1) & (action_table::size - 1)) {
    const auto slot = table.slots[i];
    if (slot == 0) return unlisted_action;
    if (action_catalogue[slot - 1].name == name) return static_cast<action_id>(slot - 1);
  }
}

std::string_view action_name(action_id id) noexcept {
  return id < action_catalogue.size() ? action_catalogue[id].name : "UnlistedAction";
}

bool is_resource_type(std::string_view type) noexcept {
  return std::find(resource_types.begin(), resource_types.end(), type) != resource_types.end();
}

}  // namespace gatehouse::policy
