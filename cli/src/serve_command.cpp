// `gatehouse serve`: reads its flags into settings, builds the member-JWT verifier, opens the
// data directory, and wires the IAM service, the HTTP service and the server together; the
// SIGHUP reload and the getting-started text of a fresh directory.
#include "commands.hpp"

#include <gatehouse/iam/builtins.hpp>
#include <gatehouse/iam/jwt.hpp>
#include <gatehouse/server/http_service.hpp>
#include <gatehouse/server/listener.hpp>
#include "cli.hpp"
#include "command_line.hpp"
#include "data_directory.hpp"
#include "member_jwt.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <limits>
#include <mutex>
#include <optional>
#include <ostream>
#include <stop_token>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <tuple>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace gatehouse::cli {
namespace {

constexpr std::string_view serve_usage =
    R"(usage: gatehouse serve [--data DIR] [--listen HOST:PORT] [--policies DIR] [options]

Serves the HTTP API (decisions, access tokens, IAM, /healthz, /metrics) on the data directory DIR.
An empty or missing DIR is initialized first: server keys (mode 0600), the SQLite database, the
organization "playground" and its owner owner@example.com with the Owner policy. With --store,
the state is in a PostgreSQL database that several instances share (each needs DIR's key files):
each applies the others' changes within a second, and answers the API 503 when it has not heard
from the database for --max-staleness (default 30s). With --tls-cert and --tls-key it serves
HTTPS (TLS 1.2 or later); a --listen address other than loopback without them gets a warning.
Member JWTs are verified with DIR's HS256 key (mint one with `gatehouse jwt`), or with the host
application's RS256 or ES256 public keys, as --jwt-alg says: one key for every token with
--jwt-public-key, or with --jwt-key-dir one per file named KID.pem, chosen by the token's `kid`
header (a token without `kid` only while there is one key). --jwt-issuer and --jwt-audience make
`iss` and `aud` required claims that must match (`aud` may be an array). `exp`, `nbf` and `iat`
are allowed 30 s of clock skew.
The web console is at http://HOST:PORT/console/; --console-link EMAIL prints a link that signs
that member in (as `gatehouse login-link` does; not with the host application's keys).
Prints `listening on HOST:PORT` once ready, then one access-log line per request (or appends
them to --access-log FILE; --access-log off writes none):
  TIME REMOTE METHOD PATH?QUERY-KEYS STATUS DURATIONus SUBJECT
Changes and refused attempts are kept in the audit trail (`gatehouse audit`, GET audit-log) for
--audit-retention days (default 365).
Signals: SIGTERM or SIGINT stop accepting, let the requests in flight finish and exit 0 (a second
one exits 1 at once); SIGHUP reloads the built-in policies from --policies and the keys of
--jwt-key-dir, each keeping the old set if the new one fails to load or, for keys, is empty; one
log line says what happened to each. DURATION is a number and a unit: 500ms, 10s, 5m, 1h, 2d.
Exit status: 0 after a graceful stop, 1 after a forced one, 2 when the server cannot start.
)";

// ---- Settings -------------------------------------------------------------------------------

/// What `serve` was asked to do, its flags read and checked.
struct serve_settings {
  data_location data;
  /// --max-staleness.
  std::chrono::milliseconds max_staleness{std::chrono::seconds(30)};
  std::string policies;
  server::serve_options transport;
  server::http_limits http;
  jwt_settings jwt;
  std::string console_link_member;  // --console-link
  /// --access-log: a file, "-" or "off".
  std::string access_log;
  /// --audit-retention, in days.
  std::int64_t audit_retention_days = iam::default_audit_retention_days;
};

po::options_description serve_flags() {
  const server::serve_options defaults;
  po::options_description visible = options_with_help();
  visible.add_options()(
      "data",
      po::value<std::string>()->default_value(std::string(default_data_dir))->value_name("DIR"),
      "data directory; initialized when empty")(
      "store", po::value<std::string>()->value_name("URI"),
      "a PostgreSQL database that several instances share (postgresql://USER@HOST:PORT/DB); DIR "
      "then holds only the keys, the same on every instance")(
      "max-staleness", po::value<std::string>()->default_value("30s")->value_name("DURATION"),
      "with --store: cut off from the database longer than this, the API answers 503")(
      "tls-cert", po::value<std::string>()->value_name("FILE"),
      "serve HTTPS with this PEM certificate chain (needs --tls-key)")(
      "tls-key", po::value<std::string>()->value_name("FILE"), "the PEM private key of --tls-cert")(
      "listen",
      po::value<std::string>()
          ->default_value(defaults.address + ':' + std::to_string(defaults.port))
          ->value_name("HOST:PORT"),
      "address to listen on (port 0: any free port)")(
      "policies", po::value<std::string>()->default_value("")->value_name("DIR"),
      "load the built-in policies from DIR/*.json instead of those compiled in; reloaded on "
      "SIGHUP")("threads", po::value<unsigned>()->default_value(defaults.threads)->value_name("N"),
                "threads answering requests")(
      "jwt-public-key", po::value<std::string>()->value_name("FILE"),
      "verify member JWTs with this PEM public key instead of DIR's HS256 key")(
      "jwt-key-dir", po::value<std::string>()->value_name("DIR"),
      "verify member JWTs with the PEM public keys KID.pem in DIR, chosen by the token's kid; "
      "read again on SIGHUP")("jwt-alg", po::value<std::string>()->value_name("RS256|ES256"),
                              "the algorithm of --jwt-public-key or of every --jwt-key-dir key")(
      "jwt-issuer", po::value<std::string>()->value_name("ISS"),
      "member JWTs must carry this iss claim")(
      "jwt-audience", po::value<std::string>()->value_name("AUD"),
      "member JWTs must carry an aud claim naming this audience")(
      "max-connections",
      po::value<std::size_t>()->default_value(defaults.max_connections)->value_name("N"),
      "open connections at most; more are closed at once")(
      "max-connections-per-client",
      po::value<std::size_t>()->default_value(defaults.max_connections_per_client)->value_name("N"),
      "open connections from one client address at most; more are closed at once")(
      "header-limit",
      po::value<std::size_t>()->default_value(defaults.header_limit)->value_name("BYTES"),
      "request line and headers at most (431 beyond)")(
      "body-limit",
      po::value<std::size_t>()
          ->default_value(server::http_limits{}.max_body_bytes)
          ->value_name("BYTES"),
      "request body at most (413 beyond)")(
      "read-timeout",
      po::value<std::string>()
          ->default_value(format_duration(defaults.read_timeout))
          ->value_name("DURATION"),
      "time for a whole request to arrive")(
      "idle-timeout",
      po::value<std::string>()
          ->default_value(format_duration(defaults.idle_timeout))
          ->value_name("DURATION"),
      "time a keep-alive connection waits for its next request")(
      "console-link", po::value<std::string>()->value_name("EMAIL"),
      "once listening, print a console sign-in link (valid 8h) for this member of the playground "
      "organization")(
      "access-log", po::value<std::string>()->default_value("-")->value_name("FILE|-|off"),
      "where access-log lines go: appended to FILE (created with mode 0600), standard output "
      "(-), or nowhere (off)")(
      "audit-retention",
      po::value<std::int64_t>()
          ->default_value(iam::default_audit_retention_days)
          ->value_name("DAYS"),
      "audit records older than this are deleted, at start and every hour (1 to 36500)");
  return visible;
}

/// --listen, --threads, the connection caps, the size limits and the timeouts, into `settings`.
std::optional<problem> read_transport(const po::variables_map& values, serve_settings& settings) {
  server::serve_options& options = settings.transport;
  const auto listen = parse_listen(values["listen"].as<std::string>());
  if (!listen) return problem{"--listen must be HOST:PORT, e.g. 127.0.0.1:8080"};
  std::tie(options.address, options.port) = *listen;
  options.threads = values["threads"].as<unsigned>();
  options.max_connections = values["max-connections"].as<std::size_t>();
  options.max_connections_per_client = values["max-connections-per-client"].as<std::size_t>();
  options.header_limit = values["header-limit"].as<std::size_t>();
  settings.http.max_body_bytes = values["body-limit"].as<std::size_t>();
  if (options.threads == 0 || options.max_connections == 0 ||
      options.max_connections_per_client == 0 || options.header_limit == 0 ||
      settings.http.max_body_bytes == 0) {
    return problem{"--threads, --max-connections and the limits must be positive"};
  }
  // Beast counts header bytes in 32 bits.
  if (options.header_limit > std::numeric_limits<std::uint32_t>::max()) {
    return problem{"--header-limit is too large"};
  }
  const auto read_timeout = parse_duration(values["read-timeout"].as<std::string>());
  const auto idle_timeout = parse_duration(values["idle-timeout"].as<std::string>());
  if (!read_timeout || !idle_timeout) {
    return problem{"--read-timeout and --idle-timeout take a DURATION such as 500ms or 10s"};
  }
  options.read_timeout = *read_timeout;
  options.idle_timeout = *idle_timeout;
  return std::nullopt;
}

/// The settings of `serve`; a problem is a usage error.
loaded<serve_settings> read_settings(const po::variables_map& values) {
  serve_settings settings;
  settings.data.dir = values["data"].as<std::string>();
  if (values.count("store") > 0) {
    settings.data.store = values["store"].as<std::string>();
    if (!is_store_uri(settings.data.store)) {
      return problem{"--store takes a PostgreSQL URI: postgresql://USER@HOST:PORT/DB"};
    }
  }
  const auto staleness = parse_duration(values["max-staleness"].as<std::string>());
  if (!staleness || *staleness < std::chrono::seconds(1)) {
    return problem{"--max-staleness takes a DURATION of at least 1s, such as 30s"};
  }
  settings.max_staleness = std::chrono::duration_cast<std::chrono::milliseconds>(*staleness);
  if ((values.count("tls-cert") > 0) != (values.count("tls-key") > 0)) {
    return problem{"--tls-cert and --tls-key go together"};
  }
  if (values.count("tls-cert") > 0) {
    settings.transport.tls_cert_file = values["tls-cert"].as<std::string>();
    settings.transport.tls_key_file = values["tls-key"].as<std::string>();
  }
  settings.policies = values["policies"].as<std::string>();
  settings.audit_retention_days = values["audit-retention"].as<std::int64_t>();
  settings.access_log = values["access-log"].as<std::string>();
  if (settings.access_log.empty()) return problem{"--access-log takes a FILE, - or off"};
  if (settings.audit_retention_days < 1 || settings.audit_retention_days > 36'500) {
    return problem{"--audit-retention takes 1 to 36500 days"};
  }
  if (auto wrong = read_transport(values, settings)) return std::move(*wrong);
  auto jwt = jwt_settings_of(values);
  if (!jwt) return std::move(jwt).error();
  settings.jwt = std::move(*jwt);
  if (values.count("console-link") > 0) {
    if (settings.jwt.host_keys) {
      return problem{
          "--console-link signs with DIR's key, which --jwt-public-key and --jwt-key-dir "
          "replace; sign members in with the host application instead"};
    }
    settings.console_link_member = values["console-link"].as<std::string>();
  }
  return settings;
}

// ---- The member-JWT verifier ----------------------------------------------------------------

/// The verifier of the data directory's own HS256 key. The secret moves into the verifier, which
/// wipes it; no other copy stays.
loaded<iam::jwt_verifier> data_directory_verifier(data_directory& directory,
                                                  const iam::jwt_claim_rules& rules) {
  iam::jwt_verifier verifier(iam::jwt_algorithm::hs256, std::move(directory.jwt_secret), rules);
  if (!verifier.usable()) {
    return problem{"the JWT key cannot be used: the data directory's jwt.key is too short"};
  }
  return verifier;
}

// ---- Reload ---------------------------------------------------------------------------------

/// SIGHUP: loads the built-in policies of `dir` again and swaps them in whole, or keeps the old
/// ones. Catches what it calls: the listener must go on waiting for signals after a failed reload.
server::reload_outcome reload_builtins(iam::service& iam, const std::string& dir) {
  constexpr std::string_view kept = "built-in policies not reloaded, the old ones stay: ";
  if (dir.empty()) return {true, "built-in policies compiled in, unchanged (no --policies)"};
  try {
    auto loaded = iam::load_builtin_policies(dir);
    if (!loaded) return {false, std::string(kept) + loaded.error().detail};
    const auto count = loaded->size();
    if (auto replaced = iam.replace_builtins(std::move(*loaded)); !replaced) {
      return {false, std::string(kept) + replaced.error().detail};
    }
    return {true, "reloaded " + count_of(count, "built-in policy file") + " from " + dir};
  } catch (const std::exception& e) {
    return {false, std::string(kept) + e.what()};
  }
}

/// SIGHUP: the built-in policies, then the JWT keys when they come from --jwt-key-dir; each
/// keeps its old state on failure, and the one line says what happened to both.
server::reload_outcome reload_all(iam::service& iam, const std::string& policies,
                                  server::http_service& service, const jwt_settings& settings) {
  auto builtins = reload_builtins(iam, policies);
  if (settings.key_dir.empty()) return builtins;
  auto keys = reload_jwt_keys(service, settings);
  try {
    return {builtins.ok && keys.ok, builtins.message + "; " + keys.message};
  } catch (const std::exception& e) {
    return {false, std::string("reload: ") + e.what()};
  }
}

// ---- Getting started ------------------------------------------------------------------------

/// How to run this executable again, for the getting-started text: relative to the working
/// directory when it lies below it (`build/bin/gatehouse`), else the absolute path.
std::string program_path() {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "gatehouse";
  const auto relative = self.lexically_proximate(std::filesystem::current_path(ec));
  if (ec || relative.empty() || *relative.begin() == "..") return self.string();
  // A bare name would be looked up in PATH by the shell.
  if (!relative.has_parent_path()) return "./" + relative.string();
  return relative.string();
}

/// `text` as one word for a POSIX shell, quoted only when it needs to be.
std::string shell_word(std::string_view text) {
  const bool plain = !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("_-.,/:@%+=").find(c) != std::string_view::npos;
  });
  if (plain) return std::string(text);
  std::string quoted = "'";
  for (const char c : text) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  return quoted + "'";
}

void print_getting_started(std::ostream& out, std::string_view base, const data_location& where,
                           const std::string& policies, const iam::jwt_claim_rules& rules) {
  const std::string program = program_path();
  const std::string& data = where.dir;
  std::string jwt_command = program + " jwt --data " + data;
  // The URI may hold a password, which is not printed: the operator fills it in.
  if (where.shared()) jwt_command += " --store URI";
  if (!policies.empty()) jwt_command += " --policies " + shell_word(policies);
  if (!rules.issuer.empty()) jwt_command += " --jwt-issuer " + shell_word(rules.issuer);
  if (!rules.audience.empty()) jwt_command += " --jwt-audience " + shell_word(rules.audience);
  jwt_command += " --member ";
  jwt_command += cli::default_owner_email;
  out << "\nInitialized " << data << ": organization \"" << cli::default_organization
      << "\" and its owner " << cli::default_owner_email << " (Owner policy).\n\n"
      << "Getting started (README.md, \"Walk-through\", goes on to members and access tokens):\n"
      << "  # 1. a JWT that acts as the owner for one hour\n"
      << "  JWT=$(" << jwt_command << ")\n"
      << "  # 2. a first decision\n"
      << "  curl -s -X POST " << base << "/api/v1/decisions"
      << R"( -H "Authorization: Bearer $JWT" \)" << '\n'
      << R"(    -H 'Content-Type: application/json' \)" << '\n'
      << R"(    -d '{"action": "ToggleFlag", "resource": "project/web:env/prod:flag/dark-mode"}')"
      << '\n';
}

// ---- Running --------------------------------------------------------------------------------

/// Says what stops `serve` from starting on `err`; the exit code.
int refuse(std::ostream& err, std::string_view message) {
  err << "gatehouse serve: " << message << '\n';
  return exit_bad_input;
}

/// The file descriptor of --access-log, open for the life of the process: closed on exit.
class access_log_file {
 public:
  access_log_file() = default;
  access_log_file(const access_log_file&) = delete;
  access_log_file& operator=(const access_log_file&) = delete;
  ~access_log_file() {
    if (fd_ > STDOUT_FILENO) ::close(fd_);
  }

  /// Opens `where` (a file, "-" or "off"); the error's message otherwise.
  std::optional<std::string> open(const std::string& where) {
    if (where == "-") return std::nullopt;
    if (where == "off") {
      fd_ = -1;
      return std::nullopt;
    }
    fd_ = ::open(where.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, S_IRUSR | S_IWUSR);
    if (fd_ < 0) return "cannot open --access-log " + where + ": " + std::strerror(errno);
    return std::nullopt;
  }
  [[nodiscard]] int fd() const noexcept { return fd_; }

 private:
  int fd_ = STDOUT_FILENO;
};

/// Applies the shared store's changes until `stop`: on failure, reports the store lost and tries
/// again after a pause that doubles up to 1 s, so that once the store is back the others'
/// changes (a revocation) are read within about a second, as they are while it is up. Logs each
/// change between reachable and not.
void follow_store(iam::service& iam, server::store_freshness& freshness,
                  const std::stop_token& stop) {
  std::chrono::milliseconds pause(100);
  bool reachable = true;
  while (!stop.stop_requested()) {
    const auto followed = iam.follow_changes(std::chrono::seconds(1));
    if (followed) {
      freshness.heard();
      if (!reachable) server::log_event("the shared store is reachable again; caught up");
      reachable = true;
      pause = std::chrono::milliseconds(100);
      continue;
    }
    freshness.lost();
    if (reachable) {
      server::log_event("cannot read the shared store's change log: " + followed.error().detail);
    }
    reachable = false;
    std::mutex m;
    std::condition_variable_any wake;
    std::unique_lock lock(m);
    wake.wait_for(lock, stop, pause, [] { return false; });
    pause = std::min(pause * 2, std::chrono::milliseconds(1000));
  }
}

/// Serves the IAM service of `directory` over HTTP until a signal stops it; the exit code.
int serve(const serve_settings& settings, data_directory& directory, iam::jwt_verifier verifier,
          const std::string& console_jwt, std::ostream& out) {
  server::metrics metrics;
  server::http_service service(*directory.iam, std::move(verifier), metrics, settings.http);
  iam::service& iam = *directory.iam;
  server::server_hooks hooks;
  hooks.reload = [&iam, &settings, &service] {
    return reload_all(iam, settings.policies, service, settings.jwt);
  };
  const bool tls = !settings.transport.tls_cert_file.empty();
  const auto& address = settings.transport.address;
  if (!tls && !address.starts_with("127.") && address != "::1" && address != "localhost") {
    server::log_event("warning: listening on " + address +
                      " without TLS: access tokens and JWTs would cross the network readable; "
                      "give --tls-cert and --tls-key");
  }
  hooks.ready = [&, tls](std::string_view endpoint) {
    out << "listening on " << endpoint << '\n';
    const std::string base = (tls ? "https://" : "http://") + std::string(endpoint);
    out << "console: " << base << "/console/\n";
    if (!console_jwt.empty()) {
      out << "sign in as " << settings.console_link_member
          << " (8 hours): " << console_sign_in_link(base, console_jwt) << '\n';
    }
    if (directory.initialized) {
      print_getting_started(out, base, settings.data, settings.policies, settings.jwt.rules);
    }
    // The access log that follows is written to the same descriptor, unbuffered.
    out.flush();
  };
  // The audit trail is pruned at start and then once an hour.
  const auto prune_audit = [&iam, days = settings.audit_retention_days] {
    const auto pruned = iam.prune_audit_log(days);
    if (!pruned) {
      server::log_event("cannot prune the audit trail: " + pruned.error().detail);
    } else if (*pruned > 0) {
      server::log_event("pruned " + std::to_string(*pruned) + " audit records older than " +
                        std::to_string(days) + " days");
    }
  };
  prune_audit();
  // Access tokens' last uses are batched in memory; written every few seconds and at the end.
  hooks.periodic = [&iam, prune_audit, last_prune = std::chrono::steady_clock::now()]() mutable {
    if (const auto ec = iam.flush_last_used()) {
      server::log_event("cannot write the last-used times of access tokens: " + ec.message());
    }
    if (const auto now = std::chrono::steady_clock::now();
        now - last_prune >= std::chrono::hours(1)) {
      last_prune = now;
      prune_audit();
    }
  };
  // A shared store: every other instance's changes are read from its change log, woken by a
  // notification or once a second, so that a revocation made elsewhere is answered here too.
  server::store_freshness freshness(settings.max_staleness);
  std::optional<std::jthread> follower;
  if (directory.shared) {
    service.follow(&freshness);
    follower.emplace(
        [&iam, &freshness](const std::stop_token& stop) { follow_store(iam, freshness, stop); });
  }
  return server::run_server(service, metrics, settings.transport, std::move(hooks));
}

}  // namespace

int run_serve(std::span<const std::string> args, std::ostream& out, std::ostream& err) {
  const auto parsed = parse_arguments("serve", serve_usage, serve_flags(), {}, {}, args, out, err);
  if (parsed.exit) return *parsed.exit;
  auto settings = read_settings(parsed.values);
  if (!settings) return usage_error(err, "serve", serve_usage, settings.error().message);

  // The host's keys are read before the data directory is opened, so that a mistake leaves
  // nothing initialized behind.
  for (const auto* file : {&settings->transport.tls_cert_file, &settings->transport.tls_key_file}) {
    if (file->empty()) continue;
    if (std::ifstream readable(*file); !readable) {
      return refuse(err, "cannot read " + *file + ": " + std::strerror(errno));
    }
  }
  access_log_file access_log;
  if (auto problem = access_log.open(settings->access_log)) return refuse(err, *problem);
  settings->transport.access_log_fd = access_log.fd();
  std::optional<iam::jwt_verifier> verifier;
  if (settings->jwt.host_keys) {
    auto host = host_jwt_verifier(settings->jwt);
    if (!host) return refuse(err, host.error().message);
    verifier.emplace(std::move(*host));
  }
  iam::hooks hooks;
  hooks.log = server::log_event;
  auto directory =
      open_data_directory_for("serve", settings->data, settings->policies, std::move(hooks), err);
  if (!directory) return exit_bad_input;
  std::string console_jwt;
  if (!settings->console_link_member.empty()) {
    auto minted = data_directory_jwt(*directory, settings->console_link_member, settings->jwt.rules,
                                     std::chrono::hours(8));
    if (!minted) return refuse(err, "--console-link: " + minted.error().message);
    console_jwt = std::move(*minted);
  }
  if (!verifier) {
    auto own = data_directory_verifier(*directory, settings->jwt.rules);
    if (!own) return refuse(err, own.error().message);
    verifier.emplace(std::move(*own));
  }
  return serve(*settings, *directory, std::move(*verifier), console_jwt, out);
}

}  // namespace gatehouse::cli
