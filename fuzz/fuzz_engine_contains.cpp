// libFuzzer target: containment must be exact. A counterexample must be real on the reference
// evaluator, and "contained" must survive brute force over every request of a small alphabet.
#include <gatehouse/engine/containment.hpp>

#include <gatehouse/engine/compiled_policy.hpp>
#include <gatehouse/engine/reference.hpp>
#include "fuzz_support.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "brute_force.hpp"

namespace {

using gatehouse::fuzzing::require;

namespace engine = gatehouse::engine;
namespace policy = gatehouse::policy;
namespace testing = gatehouse::testing;

// Patterns use the letters a and b only, so that c is a letter no pattern holds: the brute force
// needs one, as the engine's own witnesses put a character no glob names where a `*` was.
constexpr std::array<std::string_view, 16> key_globs = {"a",   "b",   "*",   "a*",  "*b", "ab",
                                                        "a*b", "b*a", "*a*", "*b*", "**", "ba",
                                                        "aa",  "a*a", "*ab", "b*"};
constexpr std::array<std::string_view, 8> tag_globs = {"a",  "b",  "*",   "a*",
                                                       "*b", "ab", "a*b", "*a*"};
// The last type stands for a whole path of `*`, which also matches paths without a `/`.
constexpr std::array<std::string_view, 4> types = {"a", "b", "*", ""};
constexpr std::array<std::string_view, 4> statement_actions = {"ToggleFlag", "CreateFlag", "*",
                                                               "UpdateFlagName"};

// What is decoded is capped, so that a 1 MiB input costs what its first few hundred bytes cost
// and the brute force stays in the milliseconds: at most 12 statements a side, 2 resources each,
// 3 segments each. Two sides of 24 patterns also fit the brute force's 64.
constexpr std::size_t max_statements = 12;
constexpr std::size_t max_segments = 3;

// Reads the input front to back; past its end every byte reads as 0, so that every input decodes.
//
// Byte layout, per side (granted, then requested): a statement count (mod 13), then per statement
// a flags byte (bit 0 deny; bits 1-3 all set make it `resourceType "*"`; bits 4-5 the first
// action; bit 6 a second action from the next byte; bit 7 a second resource), then each resource
// pattern: a byte whose value mod 3 is the depth less one, then two bytes per segment. The path
// byte's low nibble picks a key glob and bits 4-5 a type (`a`, `b`, `*`, or the whole path `*`);
// the tag byte's low two bits say no tag (0, 1), one (2) or two (3) tag globs, picked by bits 2-4
// and 5-7.
class input_decoder {
 public:
  input_decoder(const std::uint8_t* data, std::size_t size) noexcept : data_(data), size_(size) {}

  std::vector<engine::sourced_statement> statements(std::string_view side) {
    std::vector<engine::sourced_statement> out;
    const std::size_t count = next() % (max_statements + 1);
    for (std::size_t i = 0; i < count; ++i) {
      policy::statement s;
      s.id = std::string(side) + std::to_string(i);
      const unsigned flags = next();
      s.effect = (flags & 1U) != 0 ? policy::effect::deny : policy::effect::allow;
      s.resource_type = ((flags >> 1U) & 7U) == 7U ? "*" : "flag";
      s.actions.emplace_back(statement_actions[(flags >> 4U) & 3U]);
      if ((flags & 0x40U) != 0) s.actions.emplace_back(statement_actions[next() & 3U]);
      s.resources.push_back(pattern());
      if ((flags & 0x80U) != 0) s.resources.push_back(pattern());
      out.push_back({"p", std::move(s)});
    }
    return out;
  }

 private:
  unsigned next() noexcept { return position_ < size_ ? data_[position_++] : 0U; }

  std::string pattern() {
    std::string out;
    const std::size_t depth = 1 + next() % max_segments;
    for (std::size_t i = 0; i < depth; ++i) {
      if (i > 0) out += ':';
      const unsigned path = next();
      const unsigned tags = next();
      const std::string_view type = types[(path >> 4U) & 3U];
      if (type.empty()) {
        out += '*';
      } else {
        out += type;
        out += '/';
        out += key_globs[path & 0x0FU];
      }
      if ((tags & 3U) < 2) continue;
      out += ';';
      out += tag_globs[(tags >> 2U) & 7U];
      if ((tags & 3U) == 3) {
        out += ',';
        out += tag_globs[tags >> 5U];
      }
    }
    return out;
  }

  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t position_ = 0;
};

[[noreturn]] void fail(const char* what, const engine::request& request) {
  std::fprintf(stderr, "fuzz_engine_contains: %s: %s on \"%s\"\n", what, request.action.c_str(),
               request.resource.c_str());
  std::abort();
}

bool allows(const std::vector<engine::sourced_statement>& statements,
            const engine::request& request) {
  return engine::reference::evaluate(statements, request.action, request.resource).decision ==
         engine::decision::allow;
}

std::size_t deepest_pattern(const std::vector<engine::sourced_statement>& statements) {
  std::size_t deepest = 0;
  for (const auto& sourced : statements) {
    if (sourced.statement.resource_type == "*") continue;
    for (const auto& resource : sourced.statement.resources) {
      deepest =
          std::max<std::size_t>(deepest, 1 + std::count(resource.begin(), resource.end(), ':'));
    }
  }
  return deepest;
}

// Every request over the patterns' letters and c: the statements' actions, a catalogue action no
// statement names and a name outside the catalogue; types a, b, c with keys of up to five letters,
// bare paths, a few keys that hold a `/`; tags of up to five letters; names one segment deeper
// than the deepest pattern. Five letters hold c in place of each `*` of any component of the
// intersection of two of the globs above (`*a*` and `*b*` give `cacbc`), which is where
// containment.md's minimal witnesses lie.
const testing::request_space& space_for(std::size_t deepest) {
  static const auto spaces = [] {
    std::array<testing::request_space, max_segments + 1> out;
    for (std::size_t depth = 0; depth < out.size(); ++depth) {
      testing::request_space& space = out[depth];
      space.actions = {"ToggleFlag", "CreateFlag", "UpdateFlagName", "DeleteFlag", "SomethingElse"};
      space.paths = testing::strings_over("abc", 0, 1);
      for (const char* type : {"a", "b", "c"}) {
        for (const auto& key : testing::strings_over("abc", 0, 5)) {
          space.paths.push_back(std::string(type) + "/" + key);
        }
      }
      for (const char* path : {"a/a/a", "a/b/b", "b/c/a", "c/c/c"}) space.paths.emplace_back(path);
      space.tags = testing::strings_over("abc", 1, 5);
      space.max_depth = depth + 1;
    }
    return out;
  }();
  return spaces.at(deepest);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  input_decoder input(data, size);
  const auto granted = input.statements("g");
  const auto requested = input.statements("r");

  // Every decoded pattern is in the grammar, so both sides compile.
  const auto granted_compiled = engine::compiled_policy::compile(granted);
  const auto requested_compiled = engine::compiled_policy::compile(requested);
  require(granted_compiled.has_value() && requested_compiled.has_value(),
          "a decoded statement set does not compile");

  const auto result = engine::contains(**granted_compiled, **requested_compiled);
  if (!result) {
    // Failing closed is allowed: the decoded space holds sets whose candidates exceed the budget,
    // such as 22 allows that each meet 22 denies, all of three segments with two tag globs.
    require(result.error() == engine::containment_errc::too_complex,
            "containment failed with an error other than too_complex");
    return 0;
  }
  require(result->contained == !result->counterexample.has_value(),
          "a counterexample is present iff not contained");
  if (!result->contained) {
    const engine::request& counterexample = *result->counterexample;
    if (!allows(requested, counterexample)) {
      fail("counterexample not allowed by requested", counterexample);
    }
    if (allows(granted, counterexample)) fail("counterexample allowed by granted", counterexample);
    return 0;
  }
  const auto& space = space_for(std::max(deepest_pattern(granted), deepest_pattern(requested)));
  if (const auto escape = testing::find_escape(granted, requested, space)) {
    fail("contained, yet requested allows and granted refuses", *escape);
  }
  return 0;
}
