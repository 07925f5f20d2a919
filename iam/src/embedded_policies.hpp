// The text of policies/*.json, compiled into the library at build time.
#pragma once

#include <string_view>
#include <vector>

namespace gatehouse::iam::detail {

struct embedded_policy {
  std::string_view file;
  std::string_view json;
};

/// The files in name order; generated from policies/*.json when CMake configures.
[[nodiscard]] const std::vector<embedded_policy>& embedded_policies();

}  // namespace gatehouse::iam::detail
