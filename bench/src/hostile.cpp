// The hostile cases. Each is built as an attacker would, from what one request may carry: a
// token's permissions at 64 KiB of JSON and 100 statements of 100 resources, patterns of 1,024
// bytes, 16 segments and 16 tags, and a resource name of 4,096 bytes; and, for what a policy
// author can do, a member at 10,000 effective statements. Every set is validated as the service
// validates it before it is timed, so no case is beyond the limits.
#include "hostile.hpp"

#include "failures.hpp"
#include "json_fields.hpp"
#include "statement_json.hpp"

#include <gatehouse/engine/compiled_policy.hpp>
#include <gatehouse/engine/reference.hpp>
#include <gatehouse/iam/builtins.hpp>
#include <gatehouse/iam/service.hpp>
#include <gatehouse/policy/document.hpp>
#include <gatehouse/policy/limits.hpp>
#include <gatehouse/store/database.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <random>
#include <set>

namespace gatehouse::bench {
namespace {

using clock = std::chrono::steady_clock;

/// A statement on flags; its id is given by its place ("s0", "s1", …) when it is written.
struct flag_statement {
  policy::effect effect = policy::effect::allow;
  std::vector<std::string> actions;
  std::vector<std::string> resources;
};

std::string to_statements_json(const std::vector<flag_statement>& statements) {
  std::vector<policy::statement> out;
  out.reserve(statements.size());
  for (std::size_t i = 0; i < statements.size(); ++i) {
    const auto& s = statements[i];
    out.push_back({"s" + std::to_string(i), "flag", s.effect, s.actions, s.resources});
  }
  return statement_array_json(out);
}

/// As many of `patterns` as fit a token's permissions (64 KiB, 100 statements of 100 resources),
/// in allow statements of `action`.
std::string token_of(const std::vector<std::string>& patterns, const std::string& action) {
  std::vector<flag_statement> statements;
  std::size_t bytes = 2;
  constexpr std::size_t statement_overhead = 96;  // the keys, the id, the action, the brackets
  for (const auto& p : patterns) {
    if (statements.empty() ||
        statements.back().resources.size() == policy::max_statement_resources) {
      if (statements.size() == policy::max_token_statements) break;
      if (bytes + statement_overhead + action.size() > policy::max_token_permissions_bytes) break;
      statements.push_back({policy::effect::allow, {action}, {}});
      bytes += statement_overhead + action.size();
    }
    if (bytes + p.size() + 3 > policy::max_token_permissions_bytes) break;
    statements.back().resources.push_back(p);
    bytes += p.size() + 3;
  }
  auto json = to_statements_json(statements);
  while (json.size() > policy::max_token_permissions_bytes) {  // the estimate ran over: trim
    statements.back().resources.pop_back();
    if (statements.back().resources.empty()) statements.pop_back();
    json = to_statements_json(statements);
  }
  return json;
}

/// Loads `json` as the service would store it (`options`), failing the run when it does not
/// validate: every case must be within the limits.
std::vector<engine::sourced_statement> validated(const std::string& json,
                                                 const policy::load_options& options,
                                                 const std::string& name) {
  const auto loaded = policy::load_policy(json, options);
  if (!loaded.ok()) {
    std::string why;
    for (const auto& f : loaded.findings) {
      if (f.severity == policy::severity::error)
        why = f.code + " at " + f.pointer + ": " + f.message;
    }
    fail("hostile case " + name + " is not within the limits: " + why);
  }
  std::vector<engine::sourced_statement> out;
  for (const auto& s : loaded.document->statements) out.push_back({"p", s});
  return out;
}

/// A string over {A, B} of `n` bytes, the same for every run.
std::string ab_text(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::string out(n, 'A');
  for (auto& c : out) c = (rng() & 1) != 0 ? 'B' : 'A';
  return out;
}

/// `count` distinct strings over {A, B} of `length` bytes that do not occur in `text`: each glob
/// `*piece*` must then be scanned against the whole name, and fails only at its end.
std::vector<std::string> absent_pieces(const std::string& text, std::size_t count,
                                       std::size_t length) {
  std::set<std::string> out;
  std::mt19937 rng(7);
  while (out.size() < count) {
    std::string piece(length, 'A');
    for (auto& c : piece) c = (rng() & 1) != 0 ? 'B' : 'A';
    if (text.find(piece) == std::string::npos) out.insert(piece);
  }
  return {out.begin(), out.end()};
}

// ---- Decisions -------------------------------------------------------------------------------

struct decision_case {
  std::string name;
  std::string shape;
  std::string statements_json;
  policy::load_options options;
  std::string action;
  std::string resource;
};

hostile_case time_decision(const decision_case& c, std::size_t runs, std::size_t& mismatches) {
  const auto statements = validated(c.statements_json, c.options, c.name);
  const auto compiled_or = engine::compiled_policy::compile(statements);
  if (!compiled_or) fail(c.name + ": " + engine::describe(compiled_or.error(), statements));
  const auto& compiled = *compiled_or;
  // As the service answers a decision: determining statements into a buffer of 64, and again
  // into one large enough when they do not fit.
  engine::decision answer{};
  std::vector<std::uint32_t> large(statements.size());
  const auto decide = [&] {
    std::array<std::uint32_t, 64> buffer;
    auto v = compiled->evaluate(c.action, c.resource, buffer);
    if (v.truncated) v = compiled->evaluate(c.action, c.resource, large);
    answer = v.decision;
  };
  const auto t = time_runs(runs, decide);
  const auto expected = engine::reference::evaluate(statements, c.action, c.resource).decision;
  if (answer != expected) ++mismatches;
  return {c.name,
          "decision",
          c.shape,
          c.statements_json.size(),
          c.resource.size(),
          std::string(engine::to_string(answer)),
          t.median_ms,
          t.max_ms};
}

/// Globs over {A, B} that fail on `text` without scanning it: `*P` and `P*Q` compare their ends
/// in place, and `Q*` is a prefix; each distinct, so that none shares an edge.
std::vector<std::string> failing_cheap_globs(const std::string& prefix, const std::string& text,
                                             std::size_t count) {
  std::vector<std::string> out;
  const auto pieces = absent_pieces(text, count, 16);
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    switch (i % 3) {
      case 0:
        out.push_back(prefix + "*" + pieces[i]);
        break;
      case 1:
        out.push_back(prefix + pieces[i].substr(0, 8) + "*" + pieces[i].substr(8));
        break;
      default:
        out.push_back(prefix + text.substr(0, 12) + pieces[i] + "*");
        break;
    }
  }
  return out;
}

const std::string project_prefix = "project/";

/// The longest name a request may carry: `project/` and then A.
std::string long_a_name() {
  return project_prefix + std::string(policy::max_request_resource_bytes - 9, 'A');
}

decision_case stars_against_a_long_name() {
  std::string pattern = project_prefix;
  while (pattern.size() + 4 <= policy::max_pattern_bytes) pattern += "*A";
  pattern += "*B";
  return {"stars-against-a-long-name",
          "one pattern of 1,024 bytes, *A repeated then *B, against a name of 4,096 A",
          to_statements_json({{policy::effect::allow, {"ToggleFlag"}, {pattern}}}),
          policy::token_permissions,
          "ToggleFlag",
          long_a_name()};
}

decision_case long_piece_against_a_long_name() {
  const std::string pattern =
      project_prefix + "*" + std::string(policy::max_pattern_bytes - 10, 'A') + "B";
  return {"long-piece-against-a-long-name",
          "one pattern of 1,024 bytes, * then A... then B, against a name of 4,096 A",
          to_statements_json({{policy::effect::allow, {"ToggleFlag"}, {pattern}}}),
          policy::token_permissions,
          "ToggleFlag",
          long_a_name()};
}

/// As many scanning globs as a token may hold (32), each failing only at the end of the name
/// `text`, and 64 KiB filled with globs that fail where they are compared.
decision_case token_of_globs_at_one_node(const std::string& text) {
  const auto& prefix = project_prefix;
  std::vector<std::string> patterns;
  for (const auto& piece : absent_pieces(text, policy::max_token_scanning_globs, 16)) {
    patterns.push_back(prefix + "*" + piece + "*");
  }
  for (auto& p : failing_cheap_globs(prefix, text, 4'000)) patterns.push_back(std::move(p));
  return {"token-of-globs-at-one-node",
          "a token at 64 KiB: 32 patterns project/*P*, P absent from a name of 4,096 "
          "bytes over {A, B}, and failing suffix, prefix and two-ended globs",
          token_of(patterns, "ToggleFlag"),
          policy::token_permissions,
          "ToggleFlag",
          prefix + text};
}

/// Tags: a name with as many distinct tags as fit; patterns whose tag globs fail, 64 of them
/// by scanning every tag, the others by a look-up.
decision_case token_of_tag_globs() {
  const auto& prefix = project_prefix;
  // Every tag starts and ends as the scanning globs (A*Nz*x) want, so each is searched.
  std::string name = prefix + "x;AA";
  for (std::size_t i = 0; name.size() + 10 < policy::max_request_resource_bytes; ++i) {
    name += ",A" + std::to_string(i) + "x";
  }
  std::vector<std::string> patterns;
  for (std::size_t i = 0; i < 600; ++i) {
    std::string p = prefix + "*;";
    for (std::size_t t = 0; t < policy::max_segment_tags; ++t) {
      const std::size_t n = i * policy::max_segment_tags + t;
      p += t == 0 ? "" : ",";
      p += n < policy::max_token_scanning_globs ? "A*" + std::to_string(n) + "z*x"
           : n % 2 == 0                         ? "A" + std::to_string(n)
                                                : "Z" + std::to_string(n) + "*";
    }
    patterns.push_back(p);
  }
  return {"token-of-tag-globs",
          "a token at 64 KiB of patterns with 16 failing tag globs each (32 of them "
          "scanning, A*Nz*x), against a name with 700 distinct tags A...x",
          token_of(patterns, "ToggleFlag"),
          policy::token_permissions,
          "ToggleFlag",
          name};
}

/// Depth: 16-segment patterns of globs that all match, so the walk fans out at every level.
decision_case token_of_deep_patterns() {
  std::string segment(policy::max_request_resource_bytes / 16 - 1, 'A');
  segment[segment.size() / 2] = '/';
  std::string name;
  for (int i = 0; i < 16; ++i) name += (i ? ":" : "") + segment;
  std::vector<std::string> patterns;
  const std::array<std::string, 4> globs = {"*", "A*/*", "*/*A", "AA*/*"};
  std::mt19937 rng(3);
  for (int i = 0; i < 2'000; ++i) {
    std::string p;
    for (int s = 0; s < 16; ++s) p += (s ? ":" : "") + globs[rng() % globs.size()];
    patterns.push_back(p);
  }
  return {"token-of-deep-patterns",
          "a token at 64 KiB of 16-segment patterns of matching globs, against a name of "
          "16 segments of 255 bytes",
          token_of(patterns, "ToggleFlag"),
          policy::token_permissions,
          "ToggleFlag",
          name};
}

/// What a policy author can do: a member at 10,000 effective statements, 64 of them scanning.
decision_case member_of_globs_at_one_node(const std::string& text) {
  const auto& prefix = project_prefix;
  std::vector<flag_statement> statements;
  for (const auto& piece : absent_pieces(text, policy::max_effective_scanning_globs, 16)) {
    statements.push_back({policy::effect::allow, {"ToggleFlag"}, {prefix + "*" + piece + "*"}});
  }
  for (auto& p :
       failing_cheap_globs(prefix, text, policy::max_effective_statements - statements.size())) {
    statements.push_back({policy::effect::allow, {"ToggleFlag"}, {std::move(p)}});
  }
  return {"member-of-globs-at-one-node",
          "a member at 10,000 effective statements: 128 patterns project/*P*, P absent "
          "from a name of 4,096 bytes over {A, B}, and failing cheap globs",
          to_statements_json(statements),
          policy::load_options{policy::max_effective_statements,
                               policy::max_effective_scanning_globs, policy::severity::error},
          "ToggleFlag",
          prefix + text};
}

std::vector<decision_case> decision_cases() {
  // A name over {A, B} as long as a request may carry, the same in every run.
  const std::string text = ab_text(policy::max_request_resource_bytes - project_prefix.size(), 11);
  return {stars_against_a_long_name(),      long_piece_against_a_long_name(),
          token_of_globs_at_one_node(text), token_of_tag_globs(),
          token_of_deep_patterns(),         member_of_globs_at_one_node(text)};
}

// ---- Token creations -------------------------------------------------------------------------

struct creation_case {
  std::string name;
  std::string shape;
  /// Statements of a policy attached to the creator besides Owner (empty: none).
  std::string creator_json;
  std::string token_json;
  /// Answers that count as right.
  std::vector<std::string> expected;
};

std::string answer_of(const iam::outcome<iam::token_view>& r) {
  if (r) return "201";
  switch (r.error().code) {
    case iam::errc::forbidden:
      return r.error().counterexample ? "403 Forbidden with a counterexample" : "403 Forbidden";
    case iam::errc::check_too_complex:
      return "403 CheckTooComplex";
    case iam::errc::field_invalid:
      return "400 " + r.error().detail;
    default:
      return "error " + std::to_string(static_cast<int>(r.error().code)) + ": " + r.error().detail;
  }
}

creation_case deny_meets_a_long_pattern() {
  const std::string tail = ":env/*:flag/*";
  const std::string pattern =
      "project/*" + std::string(policy::max_pattern_bytes - 9 - tail.size(), 'A') + tail;
  return {
      "deny-meets-a-long-pattern",
      "the creator denies DeleteFlag on project/*:env/prod:flag/*; the token allows "
      "it on project/*AAA...:env/*:flag/* (1,024 bytes)",
      to_statements_json({{policy::effect::deny, {"DeleteFlag"}, {"project/*:env/prod:flag/*"}}}),
      to_statements_json({{policy::effect::allow, {"DeleteFlag"}, {pattern}}}),
      {"403 Forbidden with a counterexample"}};
}

creation_case interleaved_stars() {
  const auto [denied, allowed] = interleaved_star_patterns();
  return {"interleaved-stars",
          "the creator denies ToggleFlag on project/*A*B*A*B...* and the token allows "
          "it on project/*B*A*B*A...* (1,024 bytes each): their intersection has "
          "exponentially many parts",
          to_statements_json({{policy::effect::deny, {"ToggleFlag"}, {denied}}}),
          to_statements_json({{policy::effect::allow, {"ToggleFlag"}, {allowed}}}),
          {"403 Forbidden with a counterexample", "403 CheckTooComplex"}};
}

/// One pattern of 16 segments `tN/*`, each with the 16 tag globs `a*` to `p*`.
std::string sixteen_tags_at_sixteen_depths_pattern() {
  std::string tagged;
  for (int s = 0; s < 16; ++s) {
    tagged += s ? ":" : "";
    tagged += "t" + std::to_string(s) + "/*;";
    for (int t = 0; t < 16; ++t)
      tagged += std::string(t ? "," : "") + static_cast<char>('a' + t) + "*";
  }
  return tagged;
}

creation_case sixteen_tags_at_sixteen_depths() {
  return {
      "sixteen-tags-at-sixteen-depths",
      "an Owner's token of one pattern with 16 segments of 16 tag globs: 16^16 tag "
      "choices, none of which matters to the creator",
      "",
      to_statements_json(
          {{policy::effect::allow, {"ToggleFlag"}, {sixteen_tags_at_sixteen_depths_pattern()}}}),
      {"201"}};
}

creation_case sixteen_tags_with_tagged_denies() {
  std::string deny_tags;
  for (int s = 0; s < 16; ++s) deny_tags += (s ? ":" : "") + std::string("*;ax");
  return {"sixteen-tags-with-tagged-denies",
          "the same pattern beside a deny of the token's own with a tag at every depth, "
          "so that every tag choice matters",
          "",
          to_statements_json(
              {{policy::effect::allow, {"ToggleFlag"}, {sixteen_tags_at_sixteen_depths_pattern()}},
               {policy::effect::deny, {"ToggleFlag"}, {deny_tags}}}),
          {"201", "403 CheckTooComplex"}};
}

/// The largest token against a creator whose policy holds 1,000 denies that overlap it.
creation_case largest_token_against_1000_denies() {
  std::vector<flag_statement> denies;
  for (int i = 0; i < 1000; ++i) {
    denies.push_back({policy::effect::deny,
                      {"ToggleFlag"},
                      {"project/p" + std::to_string(i) + "*:env/prod*:flag/*"}});
  }
  std::vector<std::string> patterns;
  for (int i = 0; i < 10'000; ++i)
    patterns.push_back("project/p" + std::to_string(i % 997) + "*:env/d*:flag/f" +
                       std::to_string(i));
  return {"largest-token-against-1000-denies",
          "a token at 64 KiB of project/pN*:env/d*:flag/fM patterns; the creator's policy "
          "has 1,000 denies of project/pN*:env/prod*:flag/*",
          to_statements_json(denies),
          token_of(patterns, "ToggleFlag"),
          {"201"}};
}

std::vector<creation_case> creation_cases() {
  return {deny_meets_a_long_pattern(), interleaved_stars(), sixteen_tags_at_sixteen_depths(),
          sixteen_tags_with_tagged_denies(), largest_token_against_1000_denies()};
}

hostile_case time_creation(iam::service& iam, const iam::caller& owner, const creation_case& c,
                           std::size_t runs, std::size_t index, std::size_t& mismatches) {
  static_cast<void>(validated(c.token_json, policy::token_permissions, c.name));
  std::vector<std::string> policies = {std::string(iam::owner_policy_id)};
  if (!c.creator_json.empty()) {
    const auto key = "hostile-" + std::to_string(index);
    const auto p = value_or_fail(iam.create_policy(owner, key, key, ""), c.name + ": policy");
    value_or_fail(iam.set_policy_statements(owner, p.id, statements_of(c.creator_json)),
                  c.name + ": statements");
    policies.push_back(p.id);
  }
  const auto member = value_or_fail(
      iam.add_member(owner, {"creator" + std::to_string(index) + "@bench.example", policies, {}}),
      c.name + ": creator");
  const auto creator =
      value_or_fail(iam.authenticate_member(member.id, owner.organization_id), c.name + ": login");
  std::string answer;
  std::size_t run = 0;
  const auto t = time_runs(runs, [&] {
    // As the HTTP layer does: the body's statements validated, then the service's own checks.
    const auto created =
        iam.create_token(creator, c.name + "-" + std::to_string(run++), store::token_type::service,
                         statements_of(c.token_json, policy::token_permissions));
    answer = answer_of(created);
  });
  if (std::find(c.expected.begin(), c.expected.end(), answer) == c.expected.end()) ++mismatches;
  return {c.name, "token creation", c.shape, c.token_json.size(), 0, answer, t.median_ms, t.max_ms};
}

}  // namespace

star_patterns interleaved_star_patterns() {
  star_patterns out{"project/", "project/"};
  while (out.denied.size() + 5 <= policy::max_pattern_bytes) {
    out.denied += "*A*B";
    out.allowed += "*B*A";
  }
  out.denied += "*";
  out.allowed += "*";
  return out;
}

hostile_result run_hostile(const hostile_options& options) {
  hostile_result r;
  for (const auto& c : decision_cases()) {
    std::fprintf(stderr, "hostile: decision %s\n", c.name.c_str());
    r.cases.push_back(time_decision(c, options.runs, r.mismatches));
    r.worst_decision_ms = std::max(r.worst_decision_ms, r.cases.back().max_ms);
  }

  const auto builtins = builtin_policies(options.policies_dir);
  auto iam = value_or_fail(
      iam::service::open(store::make_memory(),
                         value_or_fail(iam::server_key::generate(), "no server key"), builtins),
      "cannot open the service");
  const auto [org, owner_record] =
      value_or_fail(iam->create_organization("hostile", "owner@bench.example"), "organization");
  const auto owner =
      value_or_fail(iam->authenticate_member(owner_record.id, org.id), "owner authentication");
  const auto cases = creation_cases();
  for (std::size_t i = 0; i < cases.size(); ++i) {
    std::fprintf(stderr, "hostile: token creation %s\n", cases[i].name.c_str());
    r.cases.push_back(time_creation(*iam, owner, cases[i], options.runs, i, r.mismatches));
    r.worst_creation_ms = std::max(r.worst_creation_ms, r.cases.back().max_ms);
  }
  for (auto& c : authoring_cases(options, r.mismatches)) {
    r.worst_authoring_ms = std::max(r.worst_authoring_ms, c.max_ms);
    r.cases.push_back(std::move(c));
  }
  return r;
}

std::string to_json(const hostile_result& r) {
  return json_object([&](json_writer& w) {
    field(w, "benchmark", std::string_view("hostile"));
    field(w, "worst_decision_ms", r.worst_decision_ms);
    field(w, "worst_creation_ms", r.worst_creation_ms);
    field(w, "worst_authoring_ms", r.worst_authoring_ms);
    field(w, "mismatches", r.mismatches);
    w.Key("cases");
    w.StartArray();
    for (const auto& c : r.cases) {
      w.StartObject();
      field(w, "name", std::string_view(c.name));
      field(w, "kind", std::string_view(c.kind));
      field(w, "shape", std::string_view(c.shape));
      field(w, "statement_bytes", c.statement_bytes);
      if (c.resource_bytes > 0) field(w, "resource_bytes", c.resource_bytes);
      field(w, "answer", std::string_view(c.answer));
      w.Key("median_ms");
      w.Double(c.median_ms);
      w.Key("max_ms");
      w.Double(c.max_ms);
      w.EndObject();
    }
    w.EndArray();
  });
}

}  // namespace gatehouse::bench
