// `gatehouse jwt` and `gatehouse login-link`: a member JWT minted with the data directory's HS256
// key, for local use against a server running on that directory; bare, or in a console sign-in
// link.
#include "commands.hpp"

#include <gatehouse/iam/jwt.hpp>
#include "cli.hpp"
#include "command_line.hpp"
#include "data_directory.hpp"
#include "member_jwt.hpp"

#include <chrono>
#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <system_error>

namespace gatehouse::cli {
namespace {

constexpr std::string_view jwt_usage =
    R"(usage: gatehouse jwt --data DIR [--store URI] --member EMAIL [--ttl DURATION]
                     [--policies DIR] [--jwt-issuer ISS] [--jwt-audience AUD]

Prints a member JWT (HS256, signed with the key of the data directory DIR) for the member EMAIL
of the playground organization, valid for DURATION (30m, 1h, 2d; default 1h). Use it as
`Authorization: Bearer JWT`. Works while a server runs on DIR. --jwt-issuer and --jwt-audience
put `iss` and `aud` into the token, for a server started with the same flags; give the server's
--policies and --store too, if it has them.
Exit status: 0 success, 2 on usage error, no data directory at DIR, or no such member.
)";

constexpr std::string_view login_link_usage =
    R"(usage: gatehouse login-link --data DIR [--store URI] --member EMAIL [--base URL]
                            [--ttl DURATION] [--policies DIR] [--jwt-issuer ISS]
                            [--jwt-audience AUD]

Prints a link that signs the member EMAIL of the playground organization into the web console
of the server at URL (default http://127.0.0.1:8080), for DURATION (default 8h). The member JWT
travels in the link's fragment (#jwt=...), which browsers never send to a server, so it reaches
no access log; the console keeps it in the tab's session storage. Anyone holding the link acts
as that member until it expires: hand it over as you would a password.
Exit status: 0 success, 2 on usage error, no data directory at DIR, or no such member.
)";

po::options_description member_flags(std::string_view default_ttl) {
  po::options_description visible = options_with_help();
  visible.add_options()(
      "data",
      po::value<std::string>()->default_value(std::string(default_data_dir))->value_name("DIR"),
      "data directory of the server")(
      "store", po::value<std::string>()->value_name("URI"),
      "the server's --store, if it has one: its shared PostgreSQL database")(
      "member", po::value<std::string>()->required()->value_name("EMAIL"),
      "e-mail address of a member of the playground organization")(
      "ttl",
      po::value<std::string>()->default_value(std::string(default_ttl))->value_name("DURATION"),
      "lifetime of the token, in whole seconds: 30s, 30m, 1h, 2d")(
      "policies", po::value<std::string>()->default_value("")->value_name("DIR"),
      "the server's --policies, if it has one: the built-in policies to open the data directory "
      "with")("jwt-issuer", po::value<std::string>()->value_name("ISS"), "the token's iss claim")(
      "jwt-audience", po::value<std::string>()->value_name("AUD"), "the token's aud claim");
  return visible;
}

/// The JWT `command` was asked for, or nullopt after saying on `err` why there is none.
std::optional<std::string> mint_member_jwt(std::string_view command, std::string_view usage,
                                           const po::variables_map& values, std::ostream& err) {
  const std::string name = "gatehouse " + std::string(command);
  const auto ttl = parse_duration(values["ttl"].as<std::string>());
  if (!ttl || ttl->count() % 1000 != 0) {
    usage_error(err, command, usage, "--ttl takes whole seconds or more: 30s, 30m, 1h, 2d");
    return std::nullopt;
  }
  const auto rules = jwt_claim_rules_of(values);
  if (!rules) {
    usage_error(err, command, usage, rules.error().message);
    return std::nullopt;
  }
  const data_location where{values["data"].as<std::string>(),
                            values.count("store") != 0 ? values["store"].as<std::string>() : ""};
  if (where.shared() && !is_store_uri(where.store)) {
    usage_error(err, command, usage,
                "--store takes a PostgreSQL URI: postgresql://USER@HOST:PORT/DB");
    return std::nullopt;
  }
  // Opening would initialize a missing directory, and a token for a fresh owner would silently
  // act on a database no server uses.
  if (!where.exists()) {
    err << name << ": no gatehouse data directory at '" << where.dir
        << "'; `gatehouse serve --data " << where.dir << "` creates one\n";
    return std::nullopt;
  }
  const auto opened =
      open_data_directory_for(command, where, values["policies"].as<std::string>(), {}, err);
  if (!opened) return std::nullopt;
  auto token = data_directory_jwt(*opened, values["member"].as<std::string>(), *rules,
                                  std::chrono::duration_cast<std::chrono::seconds>(*ttl));
  if (!token) {
    err << name << ": " << token.error().message << '\n';
    return std::nullopt;
  }
  return std::move(*token);
}

}  // namespace

int run_jwt(std::span<const std::string> args, std::ostream& out, std::ostream& err) {
  const auto parsed = parse_arguments("jwt", jwt_usage, member_flags("1h"), {}, {}, args, out, err);
  if (parsed.exit) return *parsed.exit;
  const auto token = mint_member_jwt("jwt", jwt_usage, parsed.values, err);
  if (!token) return exit_bad_input;
  out << *token << '\n';
  return exit_ok;
}

int run_login_link(std::span<const std::string> args, std::ostream& out, std::ostream& err) {
  auto flags = member_flags("8h");
  flags.add_options()(
      "base", po::value<std::string>()->default_value("http://127.0.0.1:8080")->value_name("URL"),
      "the server's address as the browser reaches it");
  const auto parsed =
      parse_arguments("login-link", login_link_usage, flags, {}, {}, args, out, err);
  if (parsed.exit) return *parsed.exit;
  std::string base = parsed.values["base"].as<std::string>();
  if (!base.starts_with("http://") && !base.starts_with("https://")) {
    return usage_error(err, "login-link", login_link_usage,
                       "--base is the server's http:// or https:// address");
  }
  while (base.ends_with('/')) base.pop_back();
  const auto token = mint_member_jwt("login-link", login_link_usage, parsed.values, err);
  if (!token) return exit_bad_input;
  out << console_sign_in_link(base, *token) << '\n';
  return exit_ok;
}

}  // namespace gatehouse::cli
