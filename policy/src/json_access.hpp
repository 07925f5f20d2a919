// Reading members of a parsed document whose shape is not yet known to be right: these run
// before the schema check, whatever the schema says.
#pragma once

#include <rapidjson/document.h>

#include <string_view>

namespace gatehouse::policy::detail {

using json_value = rapidjson::Value;

[[nodiscard]] inline std::string_view as_view(const json_value& v) {
  return {v.GetString(), v.GetStringLength()};
}

[[nodiscard]] inline std::string_view string_member_or(const json_value& obj, const char* name,
                                                       std::string_view fallback) {
  const auto it = obj.FindMember(name);
  return it != obj.MemberEnd() && it->value.IsString() ? as_view(it->value) : fallback;
}

[[nodiscard]] inline json_value::ConstMemberIterator find_member(const json_value& obj,
                                                                 std::string_view name) {
  return obj.FindMember(
      json_value(rapidjson::StringRef(name.data(), static_cast<rapidjson::SizeType>(name.size()))));
}

}  // namespace gatehouse::policy::detail
