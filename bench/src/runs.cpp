// Running and reporting the decide, contains and compile measurements.
#include "runs.hpp"

#include "inputs.hpp"
#include "json_fields.hpp"

#include <gatehouse/engine/reference.hpp>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <limits>
#include <utility>

namespace gatehouse::bench {

double round1(double x) { return std::round(x * 10) / 10; }

namespace {

using statement_key = std::pair<std::string_view, std::string_view>;

std::vector<statement_key> sorted_unique(std::vector<statement_key> keys) {
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

// Determining statements named by (policy id, statement id), sorted and unique, so that the two
// evaluators are compared on what a caller sees rather than on internal indices.
std::vector<statement_key> compiled_keys(const engine::compiled_policy& compiled,
                                         std::span<const std::uint32_t> indices) {
  std::vector<statement_key> out;
  for (auto i : indices) {
    const auto& s = compiled.statement(i);
    out.emplace_back(s.policy_id, s.statement_id);
  }
  return sorted_unique(std::move(out));
}

std::vector<statement_key> reference_keys(std::span<const engine::sourced_statement> statements,
                                          std::span<const std::uint32_t> indices) {
  std::vector<statement_key> out;
  for (auto i : indices) out.emplace_back(statements[i].policy_id, statements[i].statement.id);
  return sorted_unique(std::move(out));
}

std::string describe_keys(const std::vector<statement_key>& keys) {
  std::string out = "[";
  for (const auto& [policy_id, id] : keys) {
    if (out.size() > 1) out += ", ";
    out += std::string(id);
  }
  return out + "]";
}

void profile_requests(const engine::compiled_policy& compiled,
                      std::span<const engine::request> requests, decide_result& out) {
  using clock = std::chrono::steady_clock;
  constexpr int runs = 5;
  constexpr int calls = 32;
  std::array<std::uint32_t, 64> determining{};
  std::vector<std::pair<double, std::size_t>> cost;
  cost.reserve(requests.size());
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const auto& q = requests[i];
    double best = std::numeric_limits<double>::max();
    for (int run = 0; run < runs; ++run) {
      const auto start = clock::now();
      for (int call = 0; call < calls; ++call) {
        keep(compiled.evaluate(q.action, q.resource, determining).decision);
      }
      const std::chrono::duration<double, std::nano> elapsed = clock::now() - start;
      best = std::min(best, elapsed.count() / calls);
    }
    cost.emplace_back(best, i);
  }
  if (cost.empty()) return;
  std::sort(cost.begin(), cost.end());
  const auto at = [&](double fraction) { return cost[nearest_rank(cost.size(), fraction)].first; };
  out.request_p50_ns = at(0.5);
  out.request_p99_ns = at(0.99);
  out.request_max_ns = cost.back().first;
  out.slowest_request = requests[cost.back().second];
}

void count_outcome(engine::decision d, decide_result& out) {
  switch (d) {
    case engine::decision::allow:
      ++out.allows;
      break;
    case engine::decision::explicit_deny:
      ++out.explicit_denies;
      break;
    case engine::decision::implicit_deny:
      ++out.implicit_denies;
      break;
  }
}

// Evaluates every request once with both evaluators: outcomes, determining statements and
// disagreements (the decision, decide()'s decision, or the determining statements differ).
void check_against_reference(std::span<const engine::sourced_statement> statements,
                             const engine::compiled_policy& compiled,
                             std::span<const engine::request> requests, decide_result& out) {
  // Room for every statement, so that the check never sees a truncated list.
  std::vector<std::uint32_t> all(std::max<std::size_t>(statements.size(), 1));
  for (const auto& q : requests) {
    const auto mine = compiled.evaluate(q.action, q.resource, all);
    const auto theirs = engine::reference::evaluate(statements, q.action, q.resource);
    count_outcome(theirs.decision, out);
    const auto my_keys = compiled_keys(compiled, std::span(all).first(mine.written));
    const auto their_keys = reference_keys(statements, theirs.determining);
    out.determining_mean += static_cast<double>(theirs.determining.size());
    out.determining_max = std::max(out.determining_max, theirs.determining.size());
    const bool same_decision = mine.decision == theirs.decision &&
                               compiled.decide(q.action, q.resource) == theirs.decision;
    if (same_decision && !mine.truncated && my_keys == their_keys) continue;
    if (++out.disagreements <= 5) {
      out.disagreement_examples.push_back(
          "{\"action\": \"" + q.action + "\", \"resource\": \"" + q.resource + "\"}: engine " +
          std::string(engine::to_string(mine.decision)) + " " + describe_keys(my_keys) +
          ", decide() " + std::string(engine::to_string(compiled.decide(q.action, q.resource))) +
          ", reference " + std::string(engine::to_string(theirs.decision)) + " " +
          describe_keys(their_keys));
    }
  }
  if (!requests.empty()) out.determining_mean /= static_cast<double>(requests.size());
}

void time_decisions(std::span<const engine::sourced_statement> statements,
                    const engine::compiled_policy& compiled,
                    std::span<const engine::request> requests, const decide_settings& settings,
                    decide_result& out) {
  std::array<std::uint32_t, 64> determining{};
  out.engine = time_calls(
      requests.size(),
      [&](std::size_t i) {
        const auto v = compiled.evaluate(requests[i].action, requests[i].resource, determining);
        keep(v.decision);
        keep(v.written);
      },
      settings.engine);
  out.decide_only = time_calls(
      requests.size(),
      [&](std::size_t i) { keep(compiled.decide(requests[i].action, requests[i].resource)); },
      settings.engine);
  profile_requests(compiled, requests, out);
  out.reference = time_calls(
      requests.size(),
      [&](std::size_t i) {
        const auto r =
            engine::reference::evaluate(statements, requests[i].action, requests[i].resource);
        keep(r.decision);
      },
      settings.reference);
}

}  // namespace

decide_result run_decide(std::span<const engine::sourced_statement> statements,
                         const engine::compiled_policy& compiled,
                         std::span<const engine::request> requests,
                         const decide_settings& settings) {
  decide_result out;
  out.statements = statements.size();
  out.requests = requests.size();
  out.node_count = compiled.node_count();
  check_against_reference(statements, compiled, requests, out);
  if (out.disagreements > 0) return out;
  time_decisions(statements, compiled, requests, settings, out);
  return out;
}

contains_result run_contains(std::span<const engine::sourced_statement> granted,
                             std::span<const engine::sourced_statement> requested,
                             const timing_limits& limits) {
  contains_result out;
  out.granted = granted.size();
  out.requested = requested.size();
  const auto g = compile_or_throw(granted, "granted");
  const auto r = compile_or_throw(requested, "requested");
  const auto first = engine::contains(*g, *r);
  if (!first) {
    out.error = first.error().message();
    return out;
  }
  out.contained = first->contained;
  out.counterexample = first->counterexample;
  if (const auto& c = out.counterexample) {
    out.counterexample_confirmed =
        engine::reference::evaluate(requested, c->action, c->resource).decision ==
            engine::decision::allow &&
        engine::reference::evaluate(granted, c->action, c->resource).decision !=
            engine::decision::allow;
  }
  out.time = time_each([&] { return engine::contains(*g, *r).has_value(); }, limits);
  return out;
}

compile_result run_compile(std::span<const engine::sourced_statement> statements,
                           const timing_limits& limits) {
  compile_result out;
  out.statements = statements.size();
  out.node_count = compile_or_throw(statements, "statements")->node_count();
  out.time = time_each([&] { return engine::compiled_policy::compile(statements); }, limits);
  return out;
}

std::string to_json(const decide_result& r) {
  return json_object([&](json_writer& w) {
    field(w, "benchmark", std::string_view("decide"));
    field(w, "statements", r.statements);
    field(w, "requests", r.requests);
    field(w, "node_count", r.node_count);
    field(w, "agree", r.disagreements == 0);
    if (r.disagreements > 0) field(w, "disagreements", r.disagreements);
    percentiles(w, "", r.engine);
    field(w, "mean_ns", r.engine.mean_ns);
    field(w, "min_ns", r.engine.min_ns);
    field(w, "decisions", r.engine.calls);
    field(w, "batch_size", r.engine.batch_size);
    field(w, "batches", r.engine.batches);
    field(w, "request_p50_ns", r.request_p50_ns);
    field(w, "request_p99_ns", r.request_p99_ns);
    field(w, "request_max_ns", r.request_max_ns);
    if (r.slowest_request) {
      w.Key("slowest_request");
      w.StartObject();
      field(w, "action", std::string_view(r.slowest_request->action));
      field(w, "resource", std::string_view(r.slowest_request->resource));
      w.EndObject();
    }
    percentiles(w, "decide_only_", r.decide_only);
    percentiles(w, "reference_", r.reference);
    field(w, "reference_decisions", r.reference.calls);
    field(w, "reference_batch_size", r.reference.batch_size);
    field(w, "speedup", r.engine.median_ns > 0 ? r.reference.median_ns / r.engine.median_ns : 0.0);
    field(w, "determining_mean", r.determining_mean);
    field(w, "determining_max", r.determining_max);
    w.Key("outcomes");
    w.StartObject();
    field(w, "allow", r.allows);
    field(w, "explicit_deny", r.explicit_denies);
    field(w, "implicit_deny", r.implicit_denies);
    w.EndObject();
  });
}

std::string to_json(const contains_result& r) {
  return json_object([&](json_writer& w) {
    field(w, "benchmark", std::string_view("contains"));
    field(w, "granted", r.granted);
    field(w, "requested", r.requested);
    if (!r.error.empty()) {
      field(w, "error", std::string_view(r.error));
    } else {
      field(w, "contained", r.contained);
      w.Key("counterexample");
      if (r.counterexample) {
        w.StartObject();
        field(w, "action", std::string_view(r.counterexample->action));
        field(w, "resource", std::string_view(r.counterexample->resource));
        w.EndObject();
        field(w, "counterexample_confirmed", r.counterexample_confirmed);
      } else {
        w.Null();
      }
    }
    percentiles(w, "", r.time);
    field(w, "min_ns", r.time.min_ns);
    field(w, "iterations", r.time.calls);
  });
}

std::string to_json(const compile_result& r) {
  return json_object([&](json_writer& w) {
    field(w, "benchmark", std::string_view("compile"));
    field(w, "statements", r.statements);
    field(w, "node_count", r.node_count);
    percentiles(w, "", r.time);
    field(w, "min_ns", r.time.min_ns);
    w.Key("median_ms");
    w.Double(std::round(r.time.median_ns / 1e3) / 1e3);
    field(w, "iterations", r.time.calls);
  });
}

}  // namespace gatehouse::bench
