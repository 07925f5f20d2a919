// gatehouse-bench: subcommand dispatch (decide, contains, compile, generate, generate-contains,
// suite, tokens, directory, hostile). Exit codes: 0 success, 1 a check failed (disagreement, wrong
// containment), 2 bad input.
#include "directory.hpp"
#include "footprint.hpp"
#include "hostile.hpp"
#include "inputs.hpp"
#include "instances.hpp"
#include "runs.hpp"
#include "statement_json.hpp"
#include "suite.hpp"
#include "tokens.hpp"
#include "workload.hpp"

#include <boost/program_options.hpp>

#include <cstdio>
#include <functional>
#include <iostream>
#include <map>
#include <string>
#include <vector>

namespace po = boost::program_options;

namespace gatehouse::bench {
namespace {

constexpr const char* usage = R"(usage: gatehouse-bench <command> [options]

commands:
  decide    --statements FILE --requests FILE.jsonl [--iterations N] [--budget-ms MS]
            time compiled decisions and the naive reference on every request; one JSON object
  contains  --granted FILE --requested FILE [--iterations N] [--budget-ms MS]
            time the containment check; one JSON object
  compile   --statements FILE [--iterations N] [--budget-ms MS]
            time compiling the statement set; one JSON object
  generate  --statements N --requests M --seed S --out-statements FILE --out-requests FILE.jsonl
            [--universal]   write a synthetic FeatBit workload
  generate-contains --granted N --requested M --seed S [--not-contained]
            --out-granted FILE --out-requested FILE   write a containment pair
  suite     [--out DIR] [--seed S] [--requests M] [--rounds R] [--budget-ms MS]
            the built-in sweep (10 to 10,000 statements, containment cases)
  tokens    [--tokens N] [--sample M] [--rounds R] [--dir DIR] [--policies DIR] [--out FILE]
            [--budget-ms MS]   write N tokens to SQLite, and the same tokens expiring and
            rotated; time loading each into the service, memory per token, and token
            authentication (current and replaced secrets); one JSON object
  directory [--members N] [--policies DIR] [--out FILE]
            fill one organization to N members through the service, timing each addition,
            then time policy, group and member changes at that size; one JSON object
  hostile   [--runs N] [--policies DIR] [--out FILE]
            the slowest decisions and token creations built within the size limits, timed,
            with their answers checked; one JSON object
  footprint [--members N] [--statements N] [--policies DIR] [--out FILE]
            heap per member, per stored and per compiled statement; one JSON object
  instances --store URI [--revocations N] [--creations N] [--threads T] [--policies DIR]
            [--out FILE]   two instances on one PostgreSQL database (URI of a server whose
            user may create one): revocation and creation propagation between them, and token
            creations per second on PostgreSQL beside SQLite; one JSON object

Run `gatehouse-bench <command> --help` for a command's options.
)";

struct command_line {
  std::vector<std::string> args;
  std::string text;
};

// Parses `args` against `options`; returns false (after printing help) when --help was given.
bool parse(const command_line& cl, const std::string& name, po::options_description& options,
           po::variables_map& vm) {
  options.add_options()("help,h", "this help");
  po::store(po::command_line_parser(cl.args).options(options).run(), vm);
  if (vm.count("help") != 0) {
    std::cout << "gatehouse-bench " << name << "\n" << options << "\n";
    return false;
  }
  po::notify(vm);
  return true;
}

void add_timing_options(po::options_description& options, std::size_t& iterations,
                        std::size_t default_iterations, unsigned& budget_ms) {
  options.add_options()("iterations", po::value(&iterations)->default_value(default_iterations),
                        "most timed batches (decide) or runs (contains, compile)")(
      "budget-ms", po::value(&budget_ms)->default_value(1'000),
      "time budget of one timed measurement, in milliseconds");
}

/// The options of the commands that run the IAM service: its built-in policies, and a file to
/// keep the result in.
void add_service_options(po::options_description& options, std::string& policies_dir,
                         std::string& out_path) {
  options.add_options()("policies", po::value(&policies_dir),
                        "load the built-in policies from DIR/*.json instead of those compiled in")(
      "out", po::value(&out_path), "write the JSON object to FILE as well as printing it");
}

/// Prints the result object, and writes it to `out_path` too when one was given. Returns the exit
/// code: 1, after saying so on stderr, when `mismatches` answers were wrong.
int emit(const std::string& json, const std::string& out_path, std::size_t mismatches,
         const std::string& what_failed) {
  if (!out_path.empty()) write_text_file(out_path, json + "\n");
  std::puts(json.c_str());
  if (mismatches == 0) return 0;
  std::fprintf(stderr, "gatehouse-bench %s\n", what_failed.c_str());
  return 1;
}

timing_limits limits_from(std::size_t iterations, unsigned budget_ms, bool slow) {
  timing_limits limits;
  limits.max_batches = std::max<std::size_t>(iterations, 1);
  limits.min_batches = std::min<std::size_t>(slow ? 5 : 11, limits.max_batches);
  limits.warmup_batches = slow ? 1 : 3;
  limits.budget = std::chrono::milliseconds(budget_ms);
  return limits;
}

int decide_command(const command_line& cl) {
  std::string statements_path;
  std::string requests_path;
  std::size_t iterations = 0;
  unsigned budget_ms = 0;
  po::options_description options("options");
  options.add_options()("statements", po::value(&statements_path)->required(),
                        "policy document or statement array")(
      "requests", po::value(&requests_path)->required(), "requests, one JSON object per line");
  add_timing_options(options, iterations, 20'000, budget_ms);
  po::variables_map vm;
  if (!parse(cl, "decide", options, vm)) return 0;

  const auto statements = load_statements_file(statements_path);
  const auto requests = load_requests_file(requests_path);
  const auto compiled = compile_or_throw(statements, statements_path);
  const auto limits = limits_from(iterations, budget_ms, false);
  const auto result = run_decide(statements, *compiled, requests, {limits, limits});
  if (result.disagreements > 0) {
    std::fprintf(stderr,
                 "gatehouse-bench: the compiled engine and the reference evaluator disagree on "
                 "%zu of %zu requests:\n",
                 result.disagreements, result.requests);
    for (const auto& e : result.disagreement_examples) std::fprintf(stderr, "  %s\n", e.c_str());
    return 1;
  }
  std::puts(to_json(result).c_str());
  return 0;
}

int contains_command(const command_line& cl) {
  std::string granted_path;
  std::string requested_path;
  std::size_t iterations = 0;
  unsigned budget_ms = 0;
  po::options_description options("options");
  options.add_options()("granted", po::value(&granted_path)->required(),
                        "the statements that cap (e.g. a member's)")(
      "requested", po::value(&requested_path)->required(),
      "the statements checked against them (e.g. a token's)");
  add_timing_options(options, iterations, 1'000, budget_ms);
  po::variables_map vm;
  if (!parse(cl, "contains", options, vm)) return 0;

  const auto granted = load_statements_file(granted_path);
  const auto requested = load_statements_file(requested_path);
  const auto result = run_contains(granted, requested, limits_from(iterations, budget_ms, true));
  std::puts(to_json(result).c_str());
  if (!result.error.empty()) {
    std::fprintf(stderr, "gatehouse-bench: containment check failed: %s\n", result.error.c_str());
    return 1;
  }
  if (!result.counterexample_confirmed) {
    std::fprintf(stderr, "gatehouse-bench: the reference evaluator rejects the counterexample\n");
    return 1;
  }
  return 0;
}

int compile_command(const command_line& cl) {
  std::string statements_path;
  std::size_t iterations = 0;
  unsigned budget_ms = 0;
  po::options_description options("options");
  options.add_options()("statements", po::value(&statements_path)->required(),
                        "policy document or statement array");
  add_timing_options(options, iterations, 1'000, budget_ms);
  po::variables_map vm;
  if (!parse(cl, "compile", options, vm)) return 0;

  const auto statements = load_statements_file(statements_path);
  const auto result = run_compile(statements, limits_from(iterations, budget_ms, true));
  std::puts(to_json(result).c_str());
  return 0;
}

int generate_command(const command_line& cl) {
  workload_options w;
  std::string statements_path;
  std::string requests_path;
  po::options_description options("options");
  options.add_options()("statements", po::value(&w.statements)->default_value(w.statements),
                        "number of statements")(
      "requests", po::value(&w.requests)->default_value(w.requests), "number of requests")(
      "seed", po::value(&w.seed)->default_value(w.seed), "random seed; same seed, same files")(
      "universal", po::bool_switch(&w.universal),
      "add resourceType \"*\" allow statements (about 1%, at least one)")(
      "out-statements", po::value(&statements_path)->required(), "policy document to write")(
      "out-requests", po::value(&requests_path)->required(), "requests to write, JSON lines");
  po::variables_map vm;
  if (!parse(cl, "generate", options, vm)) return 0;

  const auto generated = generate_workload(w);
  const auto name = "bench-" + std::to_string(w.statements) + "-seed-" + std::to_string(w.seed);
  write_text_file(statements_path, to_document_json(generated.statements, name, name));
  write_text_file(requests_path, to_requests_jsonl(generated.requests));
  return 0;
}

int generate_contains_command(const command_line& cl) {
  containment_options c;
  bool not_contained = false;
  std::string granted_path;
  std::string requested_path;
  po::options_description options("options");
  options.add_options()("granted", po::value(&c.granted)->default_value(c.granted),
                        "number of granted statements")(
      "requested", po::value(&c.requested)->default_value(c.requested),
      "number of requested statements (about; copied denies may add a few)")(
      "seed", po::value(&c.seed)->default_value(c.seed), "random seed")(
      "not-contained", po::bool_switch(&not_contained),
      "add one statement that allows what granted does not")(
      "out-granted", po::value(&granted_path)->required(), "granted statements to write")(
      "out-requested", po::value(&requested_path)->required(), "requested statements to write");
  po::variables_map vm;
  if (!parse(cl, "generate-contains", options, vm)) return 0;

  c.contained = !not_contained;
  const auto pair = generate_containment(c);
  write_text_file(granted_path, to_document_json(pair.granted, "granted", "granted"));
  write_text_file(requested_path, to_document_json(pair.requested, "requested", "requested"));
  if (pair.witness) {
    std::fprintf(stderr, "witness: {\"action\": \"%s\", \"resource\": \"%s\"}\n",
                 pair.witness->action.c_str(), pair.witness->resource.c_str());
  }
  return 0;
}

int suite_command(const command_line& cl) {
  suite_options s;
  unsigned budget_ms = 0;
  po::options_description options("options");
  options.add_options()("out", po::value(&s.out_dir),
                        "directory for results.json, summary.txt, decide.csv (default: print "
                        "results.json)")("seed", po::value(&s.seed)->default_value(s.seed),
                                         "random seed of every workload")(
      "requests", po::value(&s.requests)->default_value(s.requests),
      "requests per decide workload")("rounds", po::value(&s.rounds)->default_value(s.rounds),
                                      "sweeps; each row reports its best round")(
      "budget-ms", po::value(&budget_ms)->default_value(1'000),
      "time budget of one timed measurement, in milliseconds (containment gets twice that)");
  po::variables_map vm;
  if (!parse(cl, "suite", options, vm)) return 0;
  if (s.rounds == 0) throw po::error("--rounds must be at least 1");
  s.budget = std::chrono::milliseconds(budget_ms);
  s.command = "gatehouse-bench " + cl.text;
  return run_suite(s);
}

int tokens_command(const command_line& cl) {
  tokens_options t;
  std::string out_path;
  unsigned budget_ms = 0;
  po::options_description options("options");
  options.add_options()("tokens", po::value(&t.tokens)->default_value(t.tokens),
                        "tokens in the database (100,000 per organization)")(
      "sample", po::value(&t.sample)->default_value(t.sample),
      "secrets kept in memory to authenticate with, spread over the tokens")(
      "rounds", po::value(&t.rounds)->default_value(t.rounds),
      "loads and authentication measurements; the best is reported")(
      "dir", po::value(&t.dir),
      "folder for the three databases, kept afterwards (default: a temporary folder, removed)")(
      "budget-ms", po::value(&budget_ms)->default_value(1'000),
      "time budget of one timed measurement, in milliseconds");
  add_service_options(options, t.policies_dir, out_path);
  po::variables_map vm;
  if (!parse(cl, "tokens", options, vm)) return 0;
  if (t.rounds == 0) throw po::error("--rounds must be at least 1");
  if (t.sample == 0) throw po::error("--sample must be at least 1");
  t.limits = limits_from(20'000, budget_ms, false);
  const auto result = run_tokens(t);
  return emit(to_json(result), out_path, result.mismatches,
              "tokens: " + std::to_string(result.mismatches) +
                  " sample secrets did not authenticate as their token, or secrets "
                  "authenticated where they must not");
}

int directory_command(const command_line& cl) {
  directory_options d;
  std::string out_path;
  po::options_description options("options");
  options.add_options()("members", po::value(&d.members)->default_value(d.members),
                        "members at the end, the owner included (at least 2,000)");
  add_service_options(options, d.policies_dir, out_path);
  po::variables_map vm;
  if (!parse(cl, "directory", options, vm)) return 0;
  if (d.members < 2'000) throw po::error("--members must be at least 2,000");
  const auto result = run_directory(d);
  return emit(to_json(result), out_path, result.mismatches,
              "directory: " + std::to_string(result.mismatches) + " decisions missed a change");
}

int hostile_command(const command_line& cl) {
  hostile_options h;
  std::string out_path;
  po::options_description options("options");
  options.add_options()("runs", po::value(&h.runs)->default_value(h.runs),
                        "timed runs of each case (median and slowest reported)");
  add_service_options(options, h.policies_dir, out_path);
  po::variables_map vm;
  if (!parse(cl, "hostile", options, vm)) return 0;
  if (h.runs == 0) throw po::error("--runs must be at least 1");
  const auto result = run_hostile(h);
  return emit(to_json(result), out_path, result.mismatches,
              "hostile: " + std::to_string(result.mismatches) + " cases got an unexpected answer");
}

int footprint_command(const command_line& cl) {
  footprint_options f;
  std::string out_path;
  po::options_description options("options");
  options.add_options()("members", po::value(&f.members)->default_value(f.members),
                        "members added to one organization")(
      "statements", po::value(&f.statements)->default_value(f.statements),
      "statements of the policy stored and compiled (at most 1,000, the stored-policy limit)");
  add_service_options(options, f.policies_dir, out_path);
  po::variables_map vm;
  if (!parse(cl, "footprint", options, vm)) return 0;
  if (f.members == 0 || f.statements == 0 || f.statements > 1'000) {
    throw po::error("--members must be at least 1 and --statements 1 to 1,000");
  }
  return emit(to_json(run_footprint(f)), out_path, 0, "");
}

int instances_command(const command_line& cl) {
  instances_options i;
  std::string out_path;
  po::options_description options("options");
  options.add_options()("store", po::value(&i.store)->required(),
                        "libpq URI of a PostgreSQL server (a database of its own is made and "
                        "dropped)")("revocations",
                                    po::value(&i.revocations)->default_value(i.revocations),
                                    "revocations timed from one instance to the other")(
      "creations", po::value(&i.creations)->default_value(i.creations),
      "tokens created in each creation measurement")(
      "threads", po::value(&i.threads)->default_value(i.threads),
      "callers creating tokens at once in the concurrent measurement");
  add_service_options(options, i.policies_dir, out_path);
  po::variables_map vm;
  if (!parse(cl, "instances", options, vm)) return 0;
  if (i.revocations == 0 || i.creations == 0 || i.threads == 0) {
    throw po::error("--revocations, --creations and --threads must be at least 1");
  }
  const auto result = run_instances(i);
  return emit(to_json(result), out_path, result.mismatches,
              "instances: " + std::to_string(result.mismatches) +
                  " changes were not seen by the other instance within 5 s");
}

}  // namespace
}  // namespace gatehouse::bench

int main(int argc, char** argv) {
  using namespace gatehouse::bench;
  if (argc < 2 || std::string_view(argv[1]) == "--help" || std::string_view(argv[1]) == "-h") {
    std::fputs(usage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const std::map<std::string, std::function<int(const command_line&)>, std::less<>> commands = {
      {"decide", decide_command},
      {"contains", contains_command},
      {"compile", compile_command},
      {"generate", generate_command},
      {"generate-contains", generate_contains_command},
      {"suite", suite_command},
      {"tokens", tokens_command},
      {"directory", directory_command},
      {"hostile", hostile_command},
      {"instances", instances_command},
      {"footprint", footprint_command},
  };
  const auto command = commands.find(std::string_view(argv[1]));
  if (command == commands.end()) {
    std::fprintf(stderr, "gatehouse-bench: unknown command \"%s\"\n\n%s", argv[1], usage);
    return 2;
  }
  command_line cl;
  cl.text = argv[1];
  for (int i = 2; i < argc; ++i) {
    cl.args.emplace_back(argv[i]);
    cl.text += std::string(" ") + argv[i];
  }
  try {
    return command->second(cl);
  } catch (const po::error& e) {
    std::fprintf(stderr, "gatehouse-bench %s: %s\n", argv[1], e.what());
    return 2;
  } catch (const input_error& e) {
    std::fprintf(stderr, "gatehouse-bench %s: %s\n", argv[1], e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gatehouse-bench %s: %s\n", argv[1], e.what());
    return 1;
  }
}
