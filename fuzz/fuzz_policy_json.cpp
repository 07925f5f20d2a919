// libFuzzer target: `load_policy` on arbitrary bytes. It must never crash, and whatever it accepts
// must be a document the engine can compile: known actions, resources that parse as RN patterns.
#include <gatehouse/policy/document.hpp>

#include <gatehouse/policy/catalogue.hpp>
#include <gatehouse/policy/resource_name.hpp>
#include "fuzz_support.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace {

using gatehouse::fuzzing::require;

namespace policy = gatehouse::policy;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view json = gatehouse::fuzzing::text_of(data, size);
  const policy::load_result loaded = policy::load_policy(json);

  // Errors, and only errors, stop a document from loading (SPEC §2.5).
  const bool has_error =
      std::any_of(loaded.findings.begin(), loaded.findings.end(),
                  [](const policy::finding& f) { return f.severity == policy::severity::error; });
  require(loaded.ok() != has_error);
  for (const policy::finding& f : loaded.findings) {
    require(f.line >= 1 && f.column >= 1);
    require(!f.code.empty() && !f.message.empty());
    require(!policy::format_finding("fuzz.json", f).empty());
  }
  if (!loaded.ok()) return 0;

  for (const policy::statement& s : loaded.document->statements) {
    for (const std::string& action : s.actions) {
      require(action == policy::any_action || policy::is_catalogue_action(action));
    }
    for (const std::string& resource : s.resources) {
      require(policy::parse_resource_pattern(resource).has_value());
    }
  }
  return 0;
}
