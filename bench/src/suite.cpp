// The built-in sweep: decide and compile at 10 to 10,000 statements, containment at 20 vs 100
// and 1,000 vs 1,000 (contained and not), with SPEC §9 targets checked in the table.
#include "suite.hpp"

#include "inputs.hpp"
#include "json_fields.hpp"
#include "machine.hpp"
#include "runs.hpp"
#include "statement_json.hpp"
#include "workload.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <sstream>
#include <thread>

namespace gatehouse::bench {
namespace {

// SPEC §9 targets that the sweep can check, by case.
std::optional<double> decide_target_ns(std::size_t statements) {
  if (statements == 10) return 100;
  if (statements == 10'000) return 300;
  return std::nullopt;
}
std::optional<double> compile_target_ns(std::size_t statements) {
  if (statements == 10'000) return 20e6;
  return std::nullopt;
}
std::optional<double> contains_target_ns(std::size_t granted, std::size_t requested) {
  if (granted == 100 && requested <= 40) return 100e3;
  if (granted == 1'000 && requested >= 900) return 50e6;
  return std::nullopt;
}

std::string fixed(double value, int decimals) {
  std::array<char, 64> text{};
  std::snprintf(text.data(), text.size(), "%.*f", decimals, value);
  return text.data();
}

// Figures in the unit that suits them: ns below 10 µs, µs below 10 ms, ms above.
std::string duration_text(double ns) {
  if (ns < 10e3) return fixed(ns, 1) + " ns";
  if (ns < 10e6) return fixed(ns / 1e3, 1) + " µs";
  return fixed(ns / 1e6, 2) + " ms";
}

class progress {
 public:
  explicit progress(std::size_t total) : total_(total) {}
  void step(const std::string& what) {
    std::fprintf(stderr, "[%zu/%zu] %s…\n", ++done_, total_, what.c_str());
  }

 private:
  std::size_t total_;
  std::size_t done_ = 0;
};

struct containment_case {
  std::size_t granted;
  std::size_t requested;
  bool contained;
};

constexpr std::array<containment_case, 4> containment_cases = {
    {{100, 20, true}, {100, 20, false}, {1'000, 1'000, true}, {1'000, 1'000, false}}};

// Decisions are timed in many short batches; compiles and containment one call at a time.
struct suite_limits {
  timing_limits fast;
  timing_limits slow;
  timing_limits containment;
};

suite_limits limits_for(const suite_options& options) {
  suite_limits limits;
  limits.fast.budget = options.budget;
  limits.fast.max_batches = 20'000;
  limits.slow.budget = options.budget;
  limits.slow.max_batches = 5'000;
  limits.slow.min_batches = 5;
  limits.slow.warmup_batches = 1;
  limits.containment = limits.slow;
  limits.containment.budget = options.budget * 2;
  return limits;
}

/// Per row, the best round so far; and every failed check.
struct suite_rows {
  std::vector<decide_result> decides;
  std::vector<compile_result> compiles;
  std::vector<std::pair<containment_case, contains_result>> containments;
  std::vector<std::string> failures;
};

/// The machine during the run, for the table's header and results.json.
struct run_context {
  std::string started_at;
  std::string load_at_start;
  std::string load_at_end;
  machine_noise noise;
};

// Row `i` of `rows` becomes `result` when it is the first of its row or `faster` than the kept one.
template <typename Row, typename Faster>
void keep_best(std::vector<Row>& rows, std::size_t i, Row result, Faster faster) {
  if (i == rows.size()) {
    rows.push_back(std::move(result));
  } else if (faster(result, rows[i])) {
    rows[i] = std::move(result);
  }
}

// Round-trip through the policy loader: the generator's output must be what a user's file would
// be, schema and all.
std::vector<engine::sourced_statement> loaded(std::span<const generated_statement> statements,
                                              const std::string& name) {
  return load_statements_text(to_document_json(statements, name, name), name);
}

// The host's speed varies by tens of percent for tens of seconds at a time, so the sweep runs in
// rounds and keeps, per row, the round that ran on the quietest machine: for decide the round
// whose naive reference scan (a fixed amount of work) was fastest, together with that round's
// gatehouse figures; for compile and contains the fastest round. The checks (agreement,
// containment answers) are deterministic and taken from every round.
class sweep {
 public:
  explicit sweep(const suite_options& options)
      : options_(options),
        limits_(limits_for(options)),
        steps_((options.sizes.size() * 2 + containment_cases.size()) * options.rounds) {}

  void run_round(std::size_t round) {
    const std::string of_round =
        options_.rounds > 1 ? " (round " + std::to_string(round) + ")" : std::string();
    // Each round compiles first, as a server does at start and on reload.
    compile_sizes(of_round);
    decide_sizes(of_round);
    check_containment(of_round);
  }

  /// The rows, with each failed check once: a failing check repeats in every round.
  suite_rows finish() && {
    auto& failures = rows_.failures;
    std::sort(failures.begin(), failures.end());
    failures.erase(std::unique(failures.begin(), failures.end()), failures.end());
    return std::move(rows_);
  }

 private:
  std::vector<engine::sourced_statement> statements_of(const workload& generated,
                                                       std::size_t size) const {
    return loaded(generated.statements, "bench-" + std::to_string(size));
  }

  workload generated(std::size_t size) const {
    return generate_workload({size, options_.requests, options_.seed, false});
  }

  void compile_sizes(const std::string& of_round) {
    for (std::size_t i = 0; i < options_.sizes.size(); ++i) {
      const auto size = options_.sizes[i];
      steps_.step("compile " + std::to_string(size) + " statements" + of_round);
      keep_best(rows_.compiles, i, run_compile(statements_of(generated(size), size), limits_.slow),
                [](const auto& a, const auto& b) { return a.time.median_ns < b.time.median_ns; });
    }
  }

  void decide_sizes(const std::string& of_round) {
    for (std::size_t i = 0; i < options_.sizes.size(); ++i) {
      const auto size = options_.sizes[i];
      const auto workload = generated(size);
      const auto statements = statements_of(workload, size);
      const auto& requests = workload.requests;
      const auto compiled = compile_or_throw(statements, "bench-" + std::to_string(size));
      steps_.step("decide " + std::to_string(size) + " statements, " +
                  std::to_string(requests.size()) + " requests" + of_round);
      auto result = run_decide(statements, *compiled, requests, {limits_.fast, limits_.fast});
      for (const auto& example : result.disagreement_examples) {
        std::fprintf(stderr, "  disagreement: %s\n", example.c_str());
      }
      if (result.disagreements > 0) {
        rows_.failures.push_back("decide " + std::to_string(size) +
                                 ": engine and reference disagree on " +
                                 std::to_string(result.disagreements) + " requests");
      }
      keep_best(rows_.decides, i, std::move(result), [](const auto& a, const auto& b) {
        return a.reference.median_ns < b.reference.median_ns;
      });
    }
  }

  void check_containment(const std::string& of_round) {
    for (std::size_t i = 0; i < containment_cases.size(); ++i) {
      const auto& c = containment_cases[i];
      steps_.step("contains " + std::to_string(c.requested) + " requested vs " +
                  std::to_string(c.granted) + " granted (" +
                  (c.contained ? "contained" : "not contained") + ")" + of_round);
      const auto pair = generate_containment({c.granted, c.requested, options_.seed, c.contained});
      const auto granted = loaded(pair.granted, "granted");
      const auto requested = loaded(pair.requested, "requested");
      auto result = run_contains(granted, requested, limits_.containment);
      if (auto failure = containment_failure(c, result)) {
        rows_.failures.push_back(std::move(*failure));
      }
      keep_best(rows_.containments, i, std::pair(c, std::move(result)),
                [](const auto& a, const auto& b) {
                  return a.second.time.median_ns < b.second.time.median_ns;
                });
    }
  }

  static std::optional<std::string> containment_failure(const containment_case& c,
                                                        const contains_result& result) {
    const std::string label =
        "contains " + std::to_string(result.requested) + " vs " + std::to_string(result.granted);
    if (!result.error.empty()) return label + ": " + result.error;
    if (result.contained != c.contained) {
      return label + ": engine says " + (result.contained ? "contained" : "not contained") +
             ", the workload is built to be " + (c.contained ? "contained" : "not contained");
    }
    if (!result.counterexample_confirmed) {
      return label + ": the reference evaluator rejects the counterexample";
    }
    return std::nullopt;
  }

  const suite_options& options_;
  suite_limits limits_;
  progress steps_;
  suite_rows rows_;
};

// "<= 300.0 ns ok" when the row has a SPEC §9 target, else empty.
std::string target_text(double measured, std::optional<double> target) {
  if (!target) return "";
  return "<= " + duration_text(*target) + " " + (measured <= *target ? "ok" : "MISSED");
}

std::string table_header(const suite_options& options, const run_context& run) {
  std::ostringstream table;
  table << "gatehouse-bench suite, " << std::thread::hardware_concurrency() << " cores, "
        << cpu_model() << ", build " << GATEHOUSE_BUILD_TYPE << ", load " << run.load_at_start
        << " -> " << run.load_at_end << "\nother processes used "
        << fixed(run.noise.others_percent, 1) << "% of the machine's CPU during the run (steal "
        << fixed(run.noise.steal_percent, 1) << "%); rerun when that is high\nbest of "
        << options.rounds
        << " rounds per row: decide, the round whose reference scan was fastest; compile and "
           "contains, the fastest round\n\n";
  return table.str();
}

std::string decide_table(const std::vector<decide_result>& decides) {
  std::string table =
      "decide: time per decision, median over ~20 us batches. decide() = the decision alone\n"
      "(the target applies to it); evaluate = decision + determining statement ids, whose\n"
      "cost grows with their number (ids = mean per request); req p99 = 99th percentile of\n"
      "a request's evaluate cost; reference = naive scan of every statement, with ids\n"
      "  statements   decide()   evaluate       p99   ids   req p99   reference       p99"
      "  speedup  target\n";
  for (const auto& d : decides) {
    std::array<char, 256> line{};
    std::snprintf(line.data(), line.size(), "  %10zu %10s %10s %9s %5.1f %9s %11s %9s %7.0fx  %s\n",
                  d.statements, duration_text(d.decide_only.median_ns).c_str(),
                  duration_text(d.engine.median_ns).c_str(), duration_text(d.engine.p99_ns).c_str(),
                  d.determining_mean, duration_text(d.request_p99_ns).c_str(),
                  duration_text(d.reference.median_ns).c_str(),
                  duration_text(d.reference.p99_ns).c_str(),
                  d.engine.median_ns > 0 ? d.reference.median_ns / d.engine.median_ns : 0.0,
                  target_text(d.decide_only.median_ns, decide_target_ns(d.statements)).c_str());
    table += line.data();
  }
  return table;
}

std::string compile_table(const std::vector<compile_result>& compiles) {
  std::string table =
      "\ncompile: time to compile the statement set (median / p99 over runs)\n"
      "  statements       median       p99     nodes  target\n";
  for (const auto& c : compiles) {
    std::array<char, 256> line{};
    std::snprintf(line.data(), line.size(), "  %10zu %12s %9s %9zu  %s\n", c.statements,
                  duration_text(c.time.median_ns).c_str(), duration_text(c.time.p99_ns).c_str(),
                  c.node_count,
                  target_text(c.time.median_ns, compile_target_ns(c.statements)).c_str());
    table += line.data();
  }
  return table;
}

std::string contains_table(
    const std::vector<std::pair<containment_case, contains_result>>& containments) {
  std::string table =
      "\ncontains: time per containment check (median / p99 over runs)\n"
      "   requested  granted  contained       median       p99  target\n";
  for (const auto& [c, r] : containments) {
    std::array<char, 256> line{};
    std::snprintf(
        line.data(), line.size(), "  %10zu %8zu  %9s %12s %9s  %s\n", r.requested, r.granted,
        !r.error.empty() ? "error" : (r.contained ? "yes" : "no"),
        duration_text(r.time.median_ns).c_str(), duration_text(r.time.p99_ns).c_str(),
        target_text(r.time.median_ns, contains_target_ns(r.granted, r.requested)).c_str());
    table += line.data();
  }
  return table;
}

std::string summary_table(const suite_options& options, const run_context& run,
                          const suite_rows& rows) {
  std::string table = table_header(options, run) + decide_table(rows.decides) +
                      compile_table(rows.compiles) + contains_table(rows.containments);
  for (const auto& f : rows.failures) table += "\nFAILED: " + f;
  if (!rows.failures.empty()) table += "\n";
  return table;
}

// One row object a line, each as the subcommand would print it.
template <typename Rows, typename ToJson>
void append_rows(std::ostringstream& json, const Rows& rows, ToJson&& to_json_of) {
  for (std::size_t i = 0; i < rows.size(); ++i) {
    json << (i == 0 ? "\n    " : ",\n    ") << to_json_of(rows[i]);
  }
}

std::string results_json(const suite_options& options, const run_context& run,
                         const suite_rows& rows) {
  std::ostringstream json;
  json << "{\n  \"started_at\": " << json_quoted(run.started_at)
       << ",\n  \"command\": " << json_quoted(options.command)
       << ",\n  \"cores\": " << std::thread::hardware_concurrency()
       << ",\n  \"cpu\": " << json_quoted(cpu_model())
       << ",\n  \"compiler\": " << json_quoted(compiler_name)
       << ",\n  \"build_type\": " << json_quoted(GATEHOUSE_BUILD_TYPE)
       << ",\n  \"load_average_start\": " << json_quoted(run.load_at_start)
       << ",\n  \"load_average_end\": " << json_quoted(run.load_at_end)
       << ",\n  \"other_processes_cpu_percent\": " << fixed(run.noise.others_percent, 1)
       << ",\n  \"steal_cpu_percent\": " << fixed(run.noise.steal_percent, 1)
       << ",\n  \"rounds\": " << options.rounds << ",\n  \"seed\": " << options.seed
       << ",\n  \"requests\": " << options.requests
       << ",\n  \"budget_ms\": " << options.budget.count() << ",\n  \"decide\": [";
  append_rows(json, rows.decides, [](const auto& d) { return to_json(d); });
  json << "\n  ],\n  \"compile\": [";
  append_rows(json, rows.compiles, [](const auto& c) { return to_json(c); });
  json << "\n  ],\n  \"contains\": [";
  append_rows(json, rows.containments, [](const auto& c) { return to_json(c.second); });
  json << "\n  ],\n  \"failures\": [";
  for (std::size_t i = 0; i < rows.failures.size(); ++i) {
    json << (i == 0 ? "" : ", ") << json_quoted(rows.failures[i]);
  }
  json << "]\n}\n";
  return json.str();
}

// What the plot reads.
std::string decide_csv(const std::vector<decide_result>& decides) {
  std::ostringstream csv;
  csv << "statements,median_ns,p99_ns,reference_median_ns,reference_p99_ns,"
         "decide_only_median_ns\n";
  for (const auto& d : decides) {
    csv << d.statements << ',' << round1(d.engine.median_ns) << ',' << round1(d.engine.p99_ns)
        << ',' << round1(d.reference.median_ns) << ',' << round1(d.reference.p99_ns) << ','
        << round1(d.decide_only.median_ns) << '\n';
  }
  return csv.str();
}

void write_results(const suite_options& options, const std::string& json, const std::string& table,
                   const std::vector<decide_result>& decides) {
  if (options.out_dir.empty()) {
    std::fputs(json.c_str(), stdout);
    return;
  }
  std::filesystem::create_directories(options.out_dir);
  const std::filesystem::path dir(options.out_dir);
  write_text_file((dir / "results.json").string(), json);
  write_text_file((dir / "summary.txt").string(), table);
  write_text_file((dir / "decide.csv").string(), decide_csv(decides));
  std::fprintf(stderr, "wrote %s/{results.json,summary.txt,decide.csv}\n", options.out_dir.c_str());
}

}  // namespace

int run_suite(const suite_options& options) {
  run_context run;
  run.started_at = utc_now();
  run.load_at_start = load_average();
  const auto cpu_at_start = cpu_sample::now();

  sweep rounds(options);
  for (std::size_t round = 1; round <= options.rounds; ++round) rounds.run_round(round);
  const auto rows = std::move(rounds).finish();
  run.load_at_end = load_average();
  run.noise = noise_between(cpu_at_start, cpu_sample::now());

  const std::string table = summary_table(options, run, rows);
  std::fprintf(stderr, "\n%s", table.c_str());
  write_results(options, results_json(options, run, rows), table, rows.decides);
  return rows.failures.empty() ? 0 : 1;
}

}  // namespace gatehouse::bench
