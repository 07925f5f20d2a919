// The IAM service: an immutable directory snapshot (organizations, members, groups, policies and
// every member's compiled rights) swapped atomically on each change, and a token index on
// Boost.MultiIndex read under a shared lock. This file opens the service from its store; the
// operations live in *_ops.cpp, authentication.cpp and decisions.cpp.
#include <gatehouse/iam/builtins.hpp>
#include <gatehouse/iam/service.hpp>

#include <gatehouse/policy/document.hpp>

#include <optional>

#include "directory.hpp"
#include "state.hpp"
#include "statement_cache.hpp"
#include "token_index.hpp"

namespace gatehouse::iam {

std::string_view to_string(policy_kind k) noexcept {
  switch (k) {
    case policy_kind::sys_managed:
      return "SysManaged";
    case policy_kind::access_token:
      return "AccessToken";
    case policy_kind::customer_managed:
      break;
  }
  return "CustomerManaged";
}

std::string_view to_string(store::token_type t) noexcept {
  return t == store::token_type::service ? "Service" : "Personal";
}

std::string_view to_string(store::token_status s) noexcept {
  switch (s) {
    case store::token_status::inactive:
      return "Inactive";
    case store::token_status::revoked:
      return "Revoked";
    case store::token_status::active:
      break;
  }
  return "Active";
}

std::string_view to_string(subject_kind k) noexcept {
  switch (k) {
    case subject_kind::personal_token:
      return "personal-token";
    case subject_kind::service_token:
      return "service-token";
    case subject_kind::member:
      break;
  }
  return "member";
}

namespace {

/// Sizes the token index and the table of current secrets for the `expected` tokens a load will
/// stream, so that a million tokens load without rehashing.
void reserve_tokens(service::state& s, std::size_t expected) {
  if (expected == 0) return;
  s.tokens.get<by_id>().reserve(expected);
  s.tokens.get<by_name>().reserve(expected);
  s.tokens.get<by_creator>().reserve(expected);
  s.current_secrets.reserve(expected);
}

/// Streams the stored tokens into the index, and returns the rest of what the store holds.
outcome<store::stored_state> load_store(service::state& s) {
  reserve_tokens(s, s.database->token_count());
  return s.load([&s](token_entry&& t) { s.index_new(std::move(t)); });
}

}  // namespace

outcome<policy_entry> stored_policy_entry(const store::policy_record& p) {
  auto statements = read_stored_statements(p.statements_json, policy::stored_policy);
  if (!statements) {
    return failure(errc::storage_failure,
                   "stored policy " + p.id + " does not load: " + statements.error().detail);
  }
  policy_entry e;
  e.view = {p.id, p.key, p.name, p.description, policy_kind::customer_managed, {}};
  e.set_statements(std::move(*statements));
  e.organization_id = p.organization_id;
  e.created_at = p.created_at;
  e.updated_at = p.updated_at;
  e.view.version = static_cast<std::uint64_t>(p.updated_at);
  return e;
}

outcome<void> fill_directory(directory& dir, store::stored_state& loaded) {
  for (auto& o : loaded.organizations) put(dir.organizations, std::move(o));
  for (auto& m : loaded.members) put(dir.members, std::move(m));
  for (auto& g : loaded.groups) put(dir.groups, std::move(g));
  for (const auto& p : loaded.policies) {
    auto e = stored_policy_entry(p);
    if (!e) return e.error();
    put(dir.policies, std::move(*e));
  }
  return {};
}

service::service(std::unique_ptr<state> s) : state_(std::move(s)) {}
service::~service() = default;

outcome<std::unique_ptr<service>> service::open(std::unique_ptr<store::database> database,
                                                server_key token_key,
                                                std::vector<policy::policy_document> builtins,
                                                iam::limits limits, iam::hooks hooks) {
  auto s =
      std::make_unique<state>(std::move(database), std::move(token_key), limits, std::move(hooks));
  if (auto ok = check_builtin_policies(builtins, "the built-in policies"); !ok) return ok.error();
  auto loaded = load_store(*s);
  if (!loaded) return loaded.error();
  // A shared store's newest generation of built-ins wins over this instance's own (SPEC §12).
  if (loaded->builtins) {
    auto shared = builtins_of(*loaded->builtins);
    if (shared) {
      builtins = std::move(*shared);
      s->builtins_shared = true;
    } else if (s->hooks.log) {
      s->hooks.log(shared.error().detail + "; this instance's own built-in policies stay");
    }
  }
  auto dir = std::make_shared<directory>();
  for (const auto& doc : builtins) {
    put(dir->policies, builtin_entry(doc));
  }
  s->builtins = std::move(builtins);
  if (auto filled = fill_directory(*dir, *loaded); !filled) return filled.error();
  // What was stored is what it is: no invariant can refuse it now.
  static_cast<void>(dir->derive(directory{}, s->rights, s->report_failure));
  s->current.store(std::move(dir));
  s->applied_change.store(loaded->change_id);
  return std::unique_ptr<service>(new service(std::move(s)));
}

const iam::limits& service::limits() const noexcept { return state_->limits; }

service::token_counts service::count_tokens() const noexcept {
  const auto count = [&](store::token_status s) {
    return state_->tokens_by_status[static_cast<std::size_t>(s)].load(std::memory_order_relaxed);
  };
  return {count(store::token_status::active), count(store::token_status::inactive),
          count(store::token_status::revoked)};
}

std::uint64_t service::statements_failed_closed() const noexcept {
  return state_->failed_closed.load(std::memory_order_relaxed);
}

}  // namespace gatehouse::iam
