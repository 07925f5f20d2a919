// How an author fixes each resource-name error, for the loader's findings; kept beside the
// error's finding code and message in resource_name.cpp.
#pragma once

#include <gatehouse/policy/resource_name.hpp>

#include <string_view>

namespace gatehouse::policy::detail {

/// What to do about `e`, as a finding says it: "add the type before '/', e.g. ...".
[[nodiscard]] std::string_view rn_fix(rn_errc e) noexcept;

}  // namespace gatehouse::policy::detail
