// What the route handlers share beyond the header's templates: reading the requests to decide.
#include "routes.hpp"

#include <gatehouse/policy/limits.hpp>

#include <string>

namespace gatehouse::server {

iam::outcome<check> read_check(const rapidjson::Value& v) {
  if (!v.IsObject()) return iam::failure(iam::errc::field_invalid, iam::field::checks);
  const auto action = required_string(v, "action");
  if (!action) return action.error();
  const auto resource = required_string(v, "resource");
  if (!resource) return resource.error();
  if (resource->size() > policy::max_request_resource_bytes) {
    return iam::failure(
        iam::errc::field_invalid, iam::field::resource,
        "longer than " + std::to_string(policy::max_request_resource_bytes) + " bytes");
  }
  return check{*action, *resource};
}

iam::outcome<std::vector<check>> read_checks(const rapidjson::Value& checks, std::size_t max) {
  if (!checks.IsArray() || checks.Size() > max) {
    return iam::failure(iam::errc::field_invalid, iam::field::checks);
  }
  std::vector<check> batch;
  batch.reserve(checks.Size());
  for (const auto& item : checks.GetArray()) {
    auto c = read_check(item);
    if (!c) return c.error();
    batch.push_back(*c);
  }
  return batch;
}

}  // namespace gatehouse::server
