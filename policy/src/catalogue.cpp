// Action-name look-up over the catalogue table.
#include <gatehouse/policy/catalogue.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace gatehouse::policy {
namespace {

// Every decision starts with this look-up, so it is one hash of a fixed cost (length and the
// first and last eight bytes) and one comparison, instead of a binary search of string compares.
std::uint64_t quick_hash(std::string_view name) noexcept {
  std::uint64_t head = 0;
  std::uint64_t tail = 0;
  const auto n = name.size();
  if (n >= 8) {
    std::memcpy(&head, name.data(), 8);
    std::memcpy(&tail, name.data() + n - 8, 8);
  } else if (n > 0) {
    std::memcpy(&head, name.data(), n);
  }
  std::uint64_t h = (head ^ (tail * 0x9e3779b97f4a7c15ULL) ^ n) * 0xff51afd7ed558ccdULL;
  return h ^ (h >> 29);
}

struct action_table {
  static constexpr std::size_t size = 256;  // a power of two, over 4x the catalogue
  std::array<std::uint8_t, size> slots{};   // action id + 1; 0 is empty

  action_table() {
    for (std::size_t id = 0; id < action_catalogue.size(); ++id) {
      auto i = quick_hash(action_catalogue[id].name) & (size - 1);
      while (slots[i] != 0) i = (i + 1) & (size - 1);
      slots[i] = static_cast<std::uint8_t>(id + 1);
    }
  }
};

}  // namespace

action_id find_action(std::string_view name) noexcept {
  static const action_table table;
  for (auto i = quick_hash(name) & (action_table::size - 1);;
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
