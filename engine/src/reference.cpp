// The naive reference evaluator: SPEC §2.3 read literally, one statement at a time.
#include <gatehouse/engine/reference.hpp>

#include <gatehouse/policy/glob.hpp>

#include <algorithm>
#include <string>

namespace gatehouse::engine::reference {
namespace {

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (;;) {
    const auto end = text.find(separator, start);
    parts.push_back(text.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

struct path_and_tags {
  std::string_view path;
  std::vector<std::string_view> tags;
};

// A segment's path runs to its first `;`; the rest is a `,`-separated tag list whose empty
// entries are dropped.
path_and_tags split_segment(std::string_view segment) {
  path_and_tags out;
  const auto semicolon = segment.find(';');
  out.path = segment.substr(0, semicolon);
  if (semicolon == std::string_view::npos) return out;
  for (auto tag : split(segment.substr(semicolon + 1), ',')) {
    if (!tag.empty()) out.tags.push_back(tag);
  }
  return out;
}

}  // namespace

bool matches(std::string_view resource, std::string_view pattern) {
  if (resource.empty() || pattern.empty()) return false;
  const auto resource_segments = split(resource, ':');
  const auto pattern_segments = split(pattern, ':');
  if (pattern_segments.size() > resource_segments.size()) return false;
  for (std::size_t i = 0; i < pattern_segments.size(); ++i) {
    const auto want = split_segment(pattern_segments[i]);
    const auto have = split_segment(resource_segments[i]);
    if (!policy::glob_match(want.path, have.path)) return false;
    if (want.tags.empty()) continue;
    const bool tag_matched = std::any_of(want.tags.begin(), want.tags.end(), [&](auto glob) {
      return std::any_of(have.tags.begin(), have.tags.end(),
                         [&](auto tag) { return policy::glob_match(glob, tag); });
    });
    if (!tag_matched) return false;
  }
  return true;
}

bool statement_matches(const policy::statement& s, std::string_view action,
                       std::string_view resource) {
  if (s.resource_type == "*") return true;
  const bool action_matched = std::any_of(s.actions.begin(), s.actions.end(), [&](auto& a) {
    return a == policy::any_action || a == action;
  });
  return action_matched && std::any_of(s.resources.begin(), s.resources.end(),
                                       [&](auto& pattern) { return matches(resource, pattern); });
}

result evaluate(std::span<const sourced_statement> statements, std::string_view action,
                std::string_view resource) {
  std::vector<std::uint32_t> allows;
  std::vector<std::uint32_t> denies;
  for (std::uint32_t i = 0; i < statements.size(); ++i) {
    const auto& s = statements[i].statement;
    if (!statement_matches(s, action, resource)) continue;
    (s.effect == policy::effect::deny ? denies : allows).push_back(i);
  }
  if (!denies.empty()) return {decision::explicit_deny, std::move(denies)};
  if (!allows.empty()) return {decision::allow, std::move(allows)};
  return {decision::implicit_deny, {}};
}

}  // namespace gatehouse::engine::reference
