// `gatehouse audit`: the audit trail of a data directory as JSON lines, oldest first, for scripts.
// It reads the database directly, so it works beside a running server and keeps no token in
// memory (--organization reads past them to find the organizations).
#include "commands.hpp"

#include <gatehouse/server/http_service.hpp>
#include <gatehouse/store/database.hpp>
#include <gatehouse/store/utc_time.hpp>

#include "cli.hpp"
#include "command_line.hpp"
#include "data_directory.hpp"

#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <system_error>

namespace gatehouse::cli {
namespace {

constexpr std::string_view audit_usage =
    R"(usage: gatehouse audit --data DIR [--store URI] [--organization NAME] [--actor ID]
                       [--target ID] [--type TYPE] [--from TIME] [--to TIME]

Prints the audit trail of the data directory DIR, oldest first, one JSON object per line: the
records of GET /api/v1/audit-log with their organizationId. Every change to access tokens,
members, groups and policies has one, and so has every refused attempt at one. A record never
holds a secret. Works while a server runs on DIR.
  --store URI          the server's shared PostgreSQL database, if it has one (DIR holds its keys)
  --organization NAME  only that organization's records
  --actor ID           only what this member or token did (a member id includes their tokens)
  --target ID          only records about this token, member, group, policy or organization
  --type TYPE          a type such as token.rotate, or a topic: token, member, group, policy,
                       organization
  --from, --to TIME    at or after --from and before --to; RFC 3339, e.g. 2027-01-31T00:00:00Z
Exit status: 0 success, 2 on usage error or no data directory at DIR.
)";

po::options_description audit_flags() {
  po::options_description visible = options_with_help();
  visible.add_options()(
      "data",
      po::value<std::string>()->default_value(std::string(default_data_dir))->value_name("DIR"),
      "data directory of the server")(
      "store", po::value<std::string>()->value_name("URI"),
      "the server's --store, if it has one: its shared PostgreSQL database")(
      "organization", po::value<std::string>()->value_name("NAME"),
      "only this organization's records")("actor", po::value<std::string>()->value_name("ID"),
                                          "only what this member or token did")(
      "target", po::value<std::string>()->value_name("ID"), "only records about this id")(
      "type", po::value<std::string>()->value_name("TYPE"), "an audit type or topic")(
      "from", po::value<std::string>()->value_name("TIME"), "at or after this RFC 3339 time")(
      "to", po::value<std::string>()->value_name("TIME"), "before this RFC 3339 time");
  return visible;
}

std::string text_of(const po::variables_map& values, const char* name) {
  return values.count(name) != 0 ? values[name].as<std::string>() : std::string();
}

/// The id of the organization named `name` in `db`, or nullopt after saying why on `err`.
std::optional<std::string> organization_id(store::database& db, const std::string& name,
                                           std::ostream& err) {
  const auto state = db.load([](store::token_record&&) {});
  if (!state) {
    err << "gatehouse audit: cannot read the database: " << state.error().message() << '\n';
    return std::nullopt;
  }
  for (const auto& o : state->organizations) {
    if (o.name == name) return o.id;
  }
  err << "gatehouse audit: no organization named '" << name << "'\n";
  return std::nullopt;
}

}  // namespace

int run_audit(std::span<const std::string> args, std::ostream& out, std::ostream& err) {
  const auto parsed = parse_arguments("audit", audit_usage, audit_flags(), {}, {}, args, out, err);
  if (parsed.exit) return *parsed.exit;
  const auto& values = parsed.values;
  store::audit_query q;
  q.actor_id = text_of(values, "actor");
  q.target_id = text_of(values, "target");
  q.type = text_of(values, "type");
  if (!q.type.empty() && !iam::is_audit_type_filter(q.type)) {
    return usage_error(err, "audit", audit_usage,
                       "--type takes an audit type such as token.rotate, or a topic: token, "
                       "member, group, policy, organization");
  }
  for (auto [flag, out_time] : {std::pair{"from", &q.from}, std::pair{"to", &q.to}}) {
    const auto text = text_of(values, flag);
    if (text.empty()) continue;
    const auto at = store::parse_time(text);
    if (!at) {
      return usage_error(
          err, "audit", audit_usage,
          std::string("--") + flag + " takes " + std::string(store::rfc3339_expected));
    }
    *out_time = *at;
  }

  const data_location where{text_of(values, "data"), text_of(values, "store")};
  if (where.shared() && !is_store_uri(where.store)) {
    return usage_error(err, "audit", audit_usage,
                       "--store takes a PostgreSQL URI: postgresql://USER@HOST:PORT/DB");
  }
  // Opening would create a database where there is none.
  if (!where.exists()) {
    err << "gatehouse audit: no gatehouse data directory at '" << where.dir
        << "'; `gatehouse serve --data " << where.dir << "` creates one\n";
    return exit_bad_input;
  }
  auto db = open_store_for("audit", where, false, err);
  if (!db) return exit_bad_input;
  if (values.count("organization") != 0) {
    auto id = organization_id(*db, values["organization"].as<std::string>(), err);
    if (!id) return exit_bad_input;
    q.organization_id = std::move(*id);
  }
  const auto ec = db->each_audit_record(
      q, [&out](const store::audit_record& r) { out << server::audit_record_line(r) << '\n'; });
  if (ec) {
    err << "gatehouse audit: cannot read the audit trail: " << ec.message() << '\n';
    return exit_bad_input;
  }
  return exit_ok;
}

}  // namespace gatehouse::cli
