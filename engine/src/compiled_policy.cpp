// Compiling statements into a compiled policy: each statement resolved on its own (its actions
// to a set, its patterns parsed, within the size limits), filed into the trie, and the trie laid
// out flat; plus the descriptions of decisions and compile errors.
#include <gatehouse/engine/compiled_policy.hpp>

#include "flat_layout.hpp"
#include "trie_builder.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace gatehouse::engine {

std::string_view to_string(decision d) noexcept {
  switch (d) {
    case decision::allow:
      return "allow";
    case decision::explicit_deny:
      return "explicit_deny";
    case decision::implicit_deny:
      break;
  }
  return "implicit_deny";
}

std::string describe(const compile_error& e, std::span<const sourced_statement> statements) {
  using reason = compile_error::reason;
  std::string out = "statement " + std::to_string(e.statement_index);
  if (e.statement_index >= statements.size()) return out + ": does not compile";
  const auto& s = statements[e.statement_index];
  out += " (\"" + s.statement.id + "\" of policy \"" + s.policy_id + "\")";
  const auto resource = [&] {
    return e.item_index < s.statement.resources.size()
               ? "resource pattern " + std::to_string(e.item_index)
               : std::string("a resource pattern");
  };
  switch (e.what) {
    case reason::unknown_action:
      if (e.item_index < s.statement.actions.size()) {
        return out + ": unknown action \"" + s.statement.actions[e.item_index] + "\"";
      }
      return out + ": unknown action";
    case reason::too_deep:
      return out + ": " + resource() + " has more than " +
             std::to_string(policy::max_pattern_segments) + " segments";
    case reason::pattern_too_long:
      return out + ": " + resource() + " is longer than " +
             std::to_string(policy::max_pattern_bytes) + " bytes";
    case reason::too_many_tags:
      return out + ": " + resource() + " has a segment with more than " +
             std::to_string(policy::max_segment_tags) + " tags";
    case reason::too_many_actions:
      return out + ": more than " + std::to_string(policy::max_statement_actions) + " actions";
    case reason::too_many_resources:
      return out + ": more than " + std::to_string(policy::max_statement_resources) + " resources";
    case reason::nothing_listed:
      return out + ": no actions or no resources";
    case reason::bad_resource:
      break;
  }
  if (e.item_index < s.statement.resources.size()) {
    return out + ": resource \"" + s.statement.resources[e.item_index] +
           "\" does not parse at offset " + std::to_string(e.rn.offset) + ": " +
           policy::make_error_code(e.rn.code).message();
  }
  return out + ": does not compile";
}

namespace {

using detail::bit_of;
using reason = compile_error::reason;

// The actions that a deny which failed to compile denies everywhere: each listed name's id, where
// an unknown name is the unlisted id that a request naming it resolves to. An empty name stands
// for an entry that could not be read; a deny with no name that can be read denies every action.
policy::action_set lenient_actions(const policy::statement& s) noexcept {
  if (s.resource_type == "*") return policy::all_actions;
  policy::action_set actions = 0;
  bool readable = false;
  for (const auto& name : s.actions) {
    if (name.empty()) continue;
    readable = true;
    actions |= name == policy::any_action ? policy::all_actions : bit_of(policy::find_action(name));
  }
  return readable ? actions : policy::all_actions;
}

using pattern_cache = std::unordered_map<std::string_view, policy::resource_pattern>;

// The size limits of policy/limits.hpp, which hold for every statement, even one that matches
// everything.
std::optional<compile_error> check_size_limits(const policy::statement& source, std::size_t index) {
  if (source.actions.size() > policy::max_statement_actions) {
    return compile_error{reason::too_many_actions, index, 0, {}};
  }
  if (source.resources.size() > policy::max_statement_resources) {
    return compile_error{reason::too_many_resources, index, 0, {}};
  }
  for (std::size_t r = 0; r < source.resources.size(); ++r) {
    if (source.resources[r].size() > policy::max_pattern_bytes) {
      return compile_error{reason::pattern_too_long, index, r, {}};
    }
  }
  return std::nullopt;
}

// The statement's action names as a set into `out`.
std::optional<compile_error> resolve_actions(const policy::statement& source, std::size_t index,
                                             compiled_statement& out) {
  for (std::size_t a = 0; a < source.actions.size(); ++a) {
    const auto& name = source.actions[a];
    if (name == policy::any_action) {
      out.actions = policy::all_actions;
      continue;
    }
    const auto id = policy::find_action(name);
    if (id == policy::unlisted_action) return compile_error{reason::unknown_action, index, a, {}};
    out.actions |= bit_of(id);
  }
  return std::nullopt;
}

// The statement's resource patterns, parsed, into `out`; identical pattern texts are common
// across statements and parsed once.
std::optional<compile_error> resolve_patterns(const policy::statement& source, std::size_t index,
                                              pattern_cache& parsed, compiled_statement& out) {
  for (std::size_t r = 0; r < source.resources.size(); ++r) {
    auto it = parsed.find(source.resources[r]);
    if (it == parsed.end()) {
      auto pattern = policy::parse_resource_pattern(source.resources[r]);
      if (!pattern) return compile_error{reason::bad_resource, index, r, pattern.error()};
      if (pattern->segments.size() > policy::max_pattern_segments) {
        return compile_error{reason::too_deep, index, r, {}};
      }
      for (const auto& segment : pattern->segments) {
        if (segment.tags.size() > policy::max_segment_tags) {
          return compile_error{reason::too_many_tags, index, r, {}};
        }
      }
      it = parsed.emplace(source.resources[r], std::move(*pattern)).first;
    }
    out.patterns.push_back(it->second);
  }
  return std::nullopt;
}

compiled_statement with_ids(const sourced_statement& source) {
  compiled_statement out;
  out.policy_id = source.policy_id;
  out.statement_id = source.statement.id;
  out.effect = source.statement.effect;
  return out;
}

// Statement `index` on its own: its actions as a set and its patterns parsed, or why it does not
// compile.
boost::system::result<compiled_statement, compile_error> compile_statement(
    const sourced_statement& sourced, std::size_t index, pattern_cache& parsed) {
  const policy::statement& source = sourced.statement;
  if (auto error = check_size_limits(source, index)) return *error;
  compiled_statement out = with_ids(sourced);
  if (source.resource_type == "*") {
    out.universal = true;  // matches everything; nothing else is consulted
    out.actions = policy::all_actions;
    return out;
  }
  if (source.actions.empty() || source.resources.empty()) {
    return compile_error{reason::nothing_listed, index, 0, {}};
  }
  if (auto error = resolve_actions(source, index, out)) return *error;
  if (auto error = resolve_patterns(source, index, parsed, out)) return *error;
  return out;
}

// What a statement that does not compile stands for, failing closed on its own: an allow grants
// nothing, a deny denies its actions everywhere.
compiled_statement fail_closed(const sourced_statement& source) {
  compiled_statement out = with_ids(source);
  out.universal = source.statement.effect == policy::effect::deny;
  out.actions = out.universal ? lenient_actions(source.statement) : 0;
  return out;
}

}  // namespace

compiled_policy::compiled_policy() = default;
compiled_policy::~compiled_policy() = default;

std::size_t compiled_policy::node_count() const noexcept { return nodes_.size(); }

boost::system::result<std::shared_ptr<const compiled_policy>, compile_error>
compiled_policy::compile(std::span<const sourced_statement> statements) {
  return build(statements, on_failure::refuse, nullptr);
}

fail_closed_compilation compiled_policy::compile_fail_closed(
    std::span<const sourced_statement> statements) {
  fail_closed_compilation out;
  out.policy = *build(statements, on_failure::fail_closed, &out.failures);
  return out;
}

boost::system::result<std::shared_ptr<const compiled_policy>, compile_error> compiled_policy::build(
    std::span<const sourced_statement> statements, on_failure mode,
    std::vector<compile_error>* failures) {
  std::shared_ptr<compiled_policy> out(new compiled_policy());
  builder trie;
  pattern_cache parsed;
  parsed.reserve(statements.size());
  out->statements_.reserve(statements.size());
  for (std::size_t i = 0; i < statements.size(); ++i) {
    auto compiled = compile_statement(statements[i], i, parsed);
    if (!compiled) {
      if (mode == on_failure::refuse) return compiled.error();
      failures->push_back(compiled.error());
      compiled = fail_closed(statements[i]);
    }
    trie.add_statement(std::move(*compiled), static_cast<std::uint32_t>(i), *out);
  }
  trie.summarise();
  out->lay_out(trie);
  return std::shared_ptr<const compiled_policy>(std::move(out));
}

}  // namespace gatehouse::engine
