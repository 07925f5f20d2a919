// Heap per member and per statement: a service on the memory store (keeping no audit records,
// so that only the directory is counted), measured around each step.
#include "footprint.hpp"

#include "failures.hpp"
#include "json_fields.hpp"

#include <gatehouse/iam/service.hpp>
#include <gatehouse/store/database.hpp>

#include <malloc.h>

#include <string>

namespace gatehouse::bench {
namespace {

double heap_in_use() {
  const struct mallinfo2 m = mallinfo2();
  return static_cast<double>(m.uordblks + m.hblkhd);
}

/// `count` statements, each on a project of its own, as a JSON array.
std::string statements_json(std::size_t count) {
  std::string json = "[";
  for (std::size_t i = 0; i < count; ++i) {
    if (i > 0) json += ',';
    json +=
        R"({"id": "s)" + std::to_string(i) +
        R"(", "resourceType": "flag", "effect": "allow", "actions": ["ToggleFlag", "CreateFlag"], "resources": ["project/p)" +
        std::to_string(i) + R"(:env/*:flag/*"]})";
  }
  return json + "]";
}

}  // namespace

footprint_result run_footprint(const footprint_options& options) {
  footprint_result out;
  out.members = options.members;
  out.statements = options.statements;
  auto iam =
      value_or_fail(iam::service::open(store::make_memory(0),
                                       value_or_fail(iam::server_key::generate(), "no server key"),
                                       builtin_policies(options.policies_dir)),
                    "the service does not open");
  const auto [org, owner_record] =
      value_or_fail(iam->create_organization("footprint", "owner@bench.example"), "organization");
  const auto owner = value_or_fail(iam->authenticate_member(owner_record.id, org.id), "owner");

  const double before_members = heap_in_use();
  for (std::size_t i = 0; i < options.members; ++i) {
    value_or_fail(iam->add_member(owner, {"m" + std::to_string(i) + "@bench.example", {}, {}}),
                  "add_member");
  }
  out.bytes_per_member = (heap_in_use() - before_members) /
                         static_cast<double>(std::max<std::size_t>(1, options.members));

  const auto statements = statements_json(options.statements);
  const auto policy = value_or_fail(iam->create_policy(owner, "big", "big", ""), "policy");
  const double before_stored = heap_in_use();
  value_or_fail(iam->set_policy_statements(owner, policy.id, statements_of(statements)),
                "set_policy_statements");
  const double stored = heap_in_use();
  value_or_fail(iam->add_member(owner, {"holder@bench.example", {policy.id}, {}}), "holder");
  const double compiled = heap_in_use();
  const auto n = static_cast<double>(std::max<std::size_t>(1, options.statements));
  out.bytes_per_stored_statement = (stored - before_stored) / n;
  out.bytes_per_compiled_statement = (compiled - stored) / n;
  return out;
}

std::string to_json(const footprint_result& r) {
  return json_object([&](json_writer& w) {
    field(w, "benchmark", std::string_view("footprint"));
    field(w, "members", r.members);
    field(w, "bytes_per_member", r.bytes_per_member);
    field(w, "statements", r.statements);
    field(w, "bytes_per_stored_statement", r.bytes_per_stored_statement);
    field(w, "bytes_per_compiled_statement", r.bytes_per_compiled_statement);
  });
}

}  // namespace gatehouse::bench
