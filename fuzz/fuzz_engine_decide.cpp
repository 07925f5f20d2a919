// libFuzzer target: the compiled decision structure must agree with the naive reference evaluator
// on decision and determining statements. The input decodes into 1-4 statements built from a tiny
// alphabet of pattern pieces, so that patterns and requests meet often, and one request.
#include <gatehouse/engine/compiled_policy.hpp>

#include <gatehouse/engine/reference.hpp>
#include <gatehouse/policy/resource_name.hpp>
#include "fuzz_support.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace {

using gatehouse::fuzzing::require;

namespace engine = gatehouse::engine;
namespace policy = gatehouse::policy;

// Pattern pieces: globs over two letters, so that patterns overlap each other and the requests.
constexpr std::array<std::string_view, 8> globs = {"a", "b", "*", "a*", "*b", "ab", "a*b", "b*a"};
constexpr std::array<std::string_view, 3> pattern_types = {"a", "c", "*"};
constexpr std::array<std::string_view, 4> statement_actions = {"ToggleFlag", "CreateFlag", "*",
                                                               "UpdateFlagName"};

// Request pieces: concrete paths and tags that the globs above do and do not match, including the
// edges of the split rules (no '/', empty path, empty tag).
constexpr std::array<std::string_view, 6> request_actions = {
    "ToggleFlag", "CreateFlag", "UpdateFlagName", "SomethingElse", "*", ""};
constexpr std::array<std::string_view, 12> request_paths = {
    "a/a", "a/b", "a/ab", "a/ba", "c/a", "c/b", "a/aab", "b/a", "a", "", "a/a/b", "*"};
constexpr std::array<std::string_view, 5> request_tags = {"a", "b", "ab", "c", ""};

// Free-form text: mostly RN separators and letters, plus bytes that no RN pattern may hold.
constexpr std::array<char, 16> free_chars = {'a', 'b', 'c', '/', ':', ';',  ',',    '*',
                                             'a', 'b', '/', ':', ' ', '\0', '\x7f', '\xff'};

constexpr std::size_t max_statements = 4;

struct decoded_request {
  std::string action;
  std::string resource;
};
constexpr std::size_t max_free_text = 48;

template <std::size_t N>
std::string_view pick(const std::array<std::string_view, N>& from, unsigned selector) {
  return from[selector % N];
}

// Reads the input front to back; past its end every byte reads as 0, so that every input decodes.
//
// Byte layout: statement count; per statement a flags byte (bit 0 deny, bits 1-3 all set makes it
// `resourceType "*"`, bits 4-5 the first action, bit 6 a second action from the next byte, bit 7 a
// second resource), then each resource pattern; the request's action byte and a mode byte (odd:
// the rest of the input as free text; even: built from pieces). A pattern starts with a byte whose
// top nibble 0xF means free text of the length in its low nibble, otherwise 1-3 segments of two
// bytes: path (low nibble 0xF: `*`; else type and key glob), and tags (low two bits 2 or 3: one or
// two tag globs).
class input_decoder {
 public:
  input_decoder(const std::uint8_t* data, std::size_t size) noexcept : data_(data), size_(size) {}

  std::vector<engine::sourced_statement> statements() {
    std::vector<engine::sourced_statement> out;
    const std::size_t count = 1 + next() % max_statements;
    for (std::size_t i = 0; i < count; ++i) {
      policy::statement s;
      s.id = "s" + std::to_string(i);
      const unsigned flags = next();
      s.effect = (flags & 1U) != 0 ? policy::effect::deny : policy::effect::allow;
      // Universal statements keep their generated actions and resources: both evaluators must
      // ignore them, even when a resource does not parse.
      s.resource_type = ((flags >> 1U) & 7U) == 7U ? "*" : "flag";
      s.actions.emplace_back(pick(statement_actions, flags >> 4U));
      if ((flags & 0x40U) != 0) s.actions.emplace_back(pick(statement_actions, next()));
      s.resources.push_back(pattern());
      if ((flags & 0x80U) != 0) s.resources.push_back(pattern());
      out.push_back({"p" + std::to_string(i % 2), std::move(s)});
    }
    return out;
  }

  decoded_request request() {
    decoded_request out;
    out.action = pick(request_actions, next());
    const unsigned mode = next();
    if ((mode & 1U) != 0) {
      out.resource = free_text(max_free_text);
      return out;
    }
    const unsigned depth = 1 + (mode >> 1U) % 3;
    for (unsigned i = 0; i < depth; ++i) {
      if (i > 0) out.resource += ':';
      out.resource += pick(request_paths, next());
      const unsigned tags = next();
      if ((tags & 3U) < 2) continue;
      out.resource += ';';
      out.resource += pick(request_tags, tags >> 2U);
      if ((tags & 3U) == 3) {
        out.resource += ',';
        out.resource += pick(request_tags, tags >> 5U);
      }
    }
    return out;
  }

 private:
  unsigned next() noexcept { return position_ < size_ ? data_[position_++] : 0U; }

  std::string free_text(std::size_t max_length) {
    std::string out;
    while (position_ < size_ && out.size() < max_length) out += free_chars[next() % 16];
    return out;
  }

  std::string pattern() {
    const unsigned shape = next();
    if ((shape & 0xF0U) == 0xF0U) {
      std::string out;
      for (unsigned length = shape & 0x0FU; length > 0; --length) out += free_chars[next() % 16];
      return out;
    }
    std::string out;
    const unsigned depth = 1 + shape % 3;
    for (unsigned i = 0; i < depth; ++i) {
      if (i > 0) out += ':';
      const unsigned path = next();
      const unsigned tags = next();
      if ((path & 0x0FU) == 0x0FU) {
        out += '*';
      } else {
        out += pick(pattern_types, path >> 4U);
        out += '/';
        out += pick(globs, path);
      }
      if ((tags & 3U) < 2) continue;
      out += ';';
      out += pick(globs, tags >> 2U);
      if ((tags & 3U) == 3) {
        out += ',';
        out += pick(globs, tags >> 5U);
      }
    }
    return out;
  }

  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t position_ = 0;
};

bool universal(const policy::statement& s) { return s.resource_type == "*"; }

bool parses(const std::string& pattern) {
  return policy::parse_resource_pattern(pattern).has_value();
}

// A failed compile must name the first resource that does not parse, exactly as the parser does.
void check_compile_error(const engine::compile_error& e,
                         std::span<const engine::sourced_statement> statements) {
  require(e.what == engine::compile_error::reason::bad_resource);  // every action is valid here
  require(e.statement_index < statements.size());
  for (std::size_t i = 0; i < e.statement_index; ++i) {
    const policy::statement& earlier = statements[i].statement;
    require(universal(earlier) ||
            std::all_of(earlier.resources.begin(), earlier.resources.end(), parses));
  }
  const policy::statement& s = statements[e.statement_index].statement;
  require(!universal(s));
  require(e.item_index < s.resources.size());
  for (std::size_t i = 0; i < e.item_index; ++i) require(parses(s.resources[i]));
  const auto parsed = policy::parse_resource_pattern(s.resources[e.item_index]);
  require(!parsed && parsed.error().code == e.rn.code && parsed.error().offset == e.rn.offset);
  require(!engine::describe(e, statements).empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  input_decoder input(data, size);
  const std::vector<engine::sourced_statement> statements = input.statements();
  const decoded_request request = input.request();

  const auto compile_result = engine::compiled_policy::compile(statements);
  if (!compile_result) {
    check_compile_error(compile_result.error(), statements);
    return 0;
  }
  for (const engine::sourced_statement& s : statements) {
    require(universal(s.statement) ||
            std::all_of(s.statement.resources.begin(), s.statement.resources.end(), parses));
  }
  const engine::compiled_policy& compiled = **compile_result;
  const engine::reference::result expected =
      engine::reference::evaluate(statements, request.action, request.resource);

  // Room for every statement: nothing may be truncated.
  std::array<std::uint32_t, max_statements> determining{};
  const engine::verdict got = compiled.evaluate(request.action, request.resource, determining);
  require(got.decision == expected.decision);
  require(!got.truncated);
  require(got.written == expected.determining.size());
  require(
      std::equal(expected.determining.begin(), expected.determining.end(), determining.begin()));
  require(compiled.decide(request.action, request.resource) == expected.decision);

  // A buffer too small for all determining statements still gets the decision, and is filled
  // with some of them.
  const engine::verdict none = compiled.evaluate(request.action, request.resource, {});
  require(none.decision == expected.decision && none.written == 0);
  require(none.truncated == !expected.determining.empty());
  if (expected.determining.size() >= 2) {
    std::array<std::uint32_t, 1> one{};
    const engine::verdict partial = compiled.evaluate(request.action, request.resource, one);
    require(partial.decision == expected.decision && partial.truncated && partial.written == 1);
    require(std::binary_search(expected.determining.begin(), expected.determining.end(), one[0]));
  }
  return 0;
}
