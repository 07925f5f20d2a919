// libFuzzer target: the RN pattern grammar on arbitrary bytes. A parse either fails with an error
// that points inside the text, or yields a well-formed pattern that prints and parses back to
// itself: `parse(to_string(p)) == p`.
#include <gatehouse/policy/resource_name.hpp>
#include "fuzz_support.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

using gatehouse::fuzzing::require;

namespace policy = gatehouse::policy;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = gatehouse::fuzzing::text_of(data, size);
  const auto parsed = policy::parse_resource_pattern(text);

  if (!parsed) {
    const policy::rn_error& e = parsed.error();
    require(e.code >= policy::rn_errc::empty && e.code <= policy::rn_errc::invalid_character);
    require((e.code == policy::rn_errc::empty) == text.empty());
    require(e.offset <= text.size());
    require(!make_error_code(e.code).message().empty());
    return 0;
  }

  const policy::resource_pattern& pattern = *parsed;
  require(!pattern.segments.empty());
  for (const policy::segment_pattern& segment : pattern.segments) {
    require(!segment.path.empty());
    require(std::none_of(segment.tags.begin(), segment.tags.end(),
                         [](const std::string& tag) { return tag.empty(); }));
  }

  const std::string printed = policy::to_string(pattern);
  const auto reparsed = policy::parse_resource_pattern(printed);
  require(reparsed.has_value() && *reparsed == pattern);
  return 0;
}
