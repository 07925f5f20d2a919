// `gatehouse jwt`: mints a member JWT with the data directory's HS256 key, for local use against
// a server running on that directory.
#include "commands.hpp"

#include <gatehouse/iam/jwt.hpp>
#include "cli.hpp"
#include "command_line.hpp"
#include "data_directory.hpp"
#include "member_jwt.hpp"

#include <chrono>
#include <filesystem>
#include <ostream>
#include <string>
#include <string_view>
#include <system_error>

namespace gatehouse::cli {
namespace {

constexpr std::string_view jwt_usage =
    R"(usage: gatehouse jwt --data DIR --member EMAIL [--ttl DURATION]
                     [--jwt-issuer ISS] [--jwt-audience AUD]

Prints a member JWT (HS256, signed with the key of the data directory DIR) for the member EMAIL
of the playground organization, valid for DURATION (30m, 1h, 2d; default 1h). Use it as
`Authorization: Bearer JWT`. Works while a server runs on DIR. --jwt-issuer and --jwt-audience
put `iss` and `aud` into the token, for a server started with the same flags.
Exit status: 0 success, 2 on usage error, no data directory at DIR, or no such member.
)";

po::options_description jwt_flags() {
  po::options_description visible = options_with_help();
  visible.add_options()(
      "data",
      po::value<std::string>()->default_value(std::string(default_data_dir))->value_name("DIR"),
      "data directory of the server")("member",
                                      po::value<std::string>()->required()->value_name("EMAIL"),
                                      "e-mail address of a member of the playground organization")(
      "ttl", po::value<std::string>()->default_value("1h")->value_name("DURATION"),
      "lifetime of the token, in whole seconds: 30s, 30m, 1h, 2d")(
      "policies", po::value<std::string>()->default_value("")->value_name("DIR"),
      "the server's --policies, if it has one: the built-in policies to open the data directory "
      "with")("jwt-issuer", po::value<std::string>()->value_name("ISS"), "the token's iss claim")(
      "jwt-audience", po::value<std::string>()->value_name("AUD"), "the token's aud claim");
  return visible;
}

}  // namespace

int run_jwt(std::span<const std::string> args, std::ostream& out, std::ostream& err) {
  const auto parsed = parse_arguments("jwt", jwt_usage, jwt_flags(), {}, {}, args, out, err);
  if (parsed.exit) return *parsed.exit;
  const auto& values = parsed.values;
  const auto ttl = parse_duration(values["ttl"].as<std::string>());
  if (!ttl || ttl->count() % 1000 != 0) {
    return usage_error(err, "jwt", jwt_usage,
                       "--ttl takes whole seconds or more: 30s, 30m, 1h, 2d");
  }
  const auto rules = jwt_claim_rules_of(values);
  if (!rules) return usage_error(err, "jwt", jwt_usage, rules.error().message);
  const auto& data = values["data"].as<std::string>();
  // Opening would initialize a missing directory, and a token for a fresh owner would silently
  // act on a database no server uses.
  if (std::error_code ec;
      !std::filesystem::exists(std::filesystem::path(data) / "gatehouse.db", ec)) {
    err << "gatehouse jwt: no gatehouse data directory at '" << data
        << "'; `gatehouse serve --data " << data << "` creates one\n";
    return exit_bad_input;
  }
  const auto opened =
      open_data_directory_for("jwt", data, values["policies"].as<std::string>(), {}, err);
  if (!opened) return exit_bad_input;
  const auto& email = values["member"].as<std::string>();
  const auto member = opened->iam->find_member_by_email(opened->organization_id, email);
  if (!member) {
    err << "gatehouse jwt: no member '" << email << "' in the organization " << default_organization
        << '\n';
    return exit_bad_input;
  }
  const auto token =
      iam::mint_hs256(opened->jwt_secret, member->id, opened->organization_id, *rules,
                      std::chrono::duration_cast<std::chrono::seconds>(*ttl));
  if (!token) {
    err << "gatehouse jwt: cannot sign the token: " << token.error().message() << '\n';
    return exit_bad_input;
  }
  out << *token << '\n';
  return exit_ok;
}

}  // namespace gatehouse::cli
