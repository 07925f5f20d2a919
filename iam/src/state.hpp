// The service's state: the published directory snapshot and the token index, their locks, and
// the caches of compiled statements. Every change is committed to the store before it is
// published, so what a caller was told happened survives a crash.
#pragma once

#include <gatehouse/iam/secrets.hpp>
#include <gatehouse/iam/service.hpp>
#include <gatehouse/store/database.hpp>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "audit.hpp"
#include "directory.hpp"
#include "statement_cache.hpp"
#include "token_index.hpp"

namespace gatehouse::iam {

struct service::state {
  std::unique_ptr<store::database> database;
  secret_hasher hasher;
  iam::limits limits;
  iam::hooks hooks;

  // Directory: readers load the pointer; writers serialize on `directory_write`.
  std::atomic<std::shared_ptr<const directory>> current;
  std::mutex directory_write;

  // Tokens: readers take `tokens_lock` shared; writers serialize on `token_write` for the whole
  // change (including the store commit) and take `tokens_lock` exclusively only to apply it.
  mutable std::shared_mutex tokens_lock;
  std::mutex token_write;
  token_index tokens;
  string_pool pool;
  /// Every token by the HMAC of its current secret, which no two tokens share.
  current_secret_table current_secrets;
  /// The replaced secrets of rotated tokens, by HMAC: the token each belonged to. An entry stays
  /// until the token is rotated again or deleted; authentication checks its grace period.
  previous_secret_table previous_secrets;
  /// Tokens by status, kept with the index so that metrics never walk it.
  std::array<std::atomic<std::size_t>, 3> tokens_by_status{};

  // Members with the same effective policies share compiled rights; guarded by `directory_write`.
  rights_cache rights;

  // Identical statement sets share one compiled structure.
  std::mutex sets_lock;
  weak_cache<statement_set> sets;

  /// Bounds how many refusals each caller gets recorded in the audit trail.
  refusal_limiter refusals;

  /// The built-in policy documents in effect, and whether the store holds them as its newest
  /// generation (SPEC §12: a shared store's newest generation wins); guarded by `follow_lock`.
  std::vector<policy::policy_document> builtins;
  bool builtins_shared = false;

  /// The newest change-log entry memory includes (SPEC §12); `follow_lock` serializes following.
  std::atomic<std::int64_t> applied_change{0};
  std::mutex follow_lock;

  std::atomic<std::uint64_t> failed_closed{0};
  /// Counts and logs a stored statement that does not compile.
  const failure_reporter report_failure = [this](const std::string& what) {
    failed_closed.fetch_add(1, std::memory_order_relaxed);
    if (hooks.log) hooks.log("stored statement fails closed: " + what);
  };

  state(std::unique_ptr<store::database> s, server_key key, iam::limits l, iam::hooks h)
      : database(std::move(s)), hasher(std::move(key)), limits(l), hooks(std::move(h)) {}

  /// The service's clock, in milliseconds since the epoch: `hooks.clock`, or the system's.
  [[nodiscard]] store::timestamp now() const { return hooks.clock ? hooks.clock() : now_ms(); }

  [[nodiscard]] std::shared_ptr<const directory> snapshot() const {
    return current.load(std::memory_order_acquire);
  }

  /// Publishes `docs` as the shared store's newest built-in generation; nothing to do on a store
  /// only this process uses. Called with `follow_lock` held.
  [[nodiscard]] outcome<void> publish_builtins(const std::vector<policy::policy_document>& docs);

  /// Writes `changes` to the store in one transaction.
  [[nodiscard]] outcome<void> commit(std::span<const store::change> changes);

  // ---- Directory ----

  /// `require_holds` for the policies `ids` of `d`, compiled through the rights cache; called
  /// inside `mutate`.
  [[nodiscard]] outcome<void> holds(const caller& who, const directory& d,
                                    const std::vector<std::string>& ids, std::string_view what);

  /// Applies `edit` to a copy of the directory, derives what follows from it, and unless that
  /// breaks an invariant (an owner left, a member over the statement limit) commits the changes,
  /// then publishes the copy.
  template <class Edit>
  auto mutate(Edit&& edit)
      -> decltype(edit(std::declval<directory&>(), std::declval<std::vector<store::change>&>())) {
    std::lock_guard lock(directory_write);
    const auto previous = snapshot();
    auto next = std::make_shared<directory>(*previous);
    std::vector<store::change> changes;
    auto result = edit(*next, changes);
    if (!result) return result;
    if (auto published = publish(*previous, std::move(next), changes); !published) {
      return published.error();
    }
    return result;
  }

  // ---- Tokens ----

  /// New permissions of a token, held to a token's limits; kept as the JSON they are stored as.
  [[nodiscard]] outcome<std::shared_ptr<const statement_set>> new_permissions(
      std::vector<policy::statement> statements);

  /// The stored permissions of a token.
  [[nodiscard]] outcome<std::shared_ptr<const statement_set>> stored_permissions(std::string json);

  /// The in-memory entry of stored token `r`, with its stored permissions.
  [[nodiscard]] outcome<token_entry> stored_token(const store::token_record& r);

  /// Reads everything the store holds: each token, as its entry, to `on_token` (stopping at the
  /// first that does not load), the rest returned.
  [[nodiscard]] outcome<store::stored_state> load(
      const std::function<void(token_entry&&)>& on_token);

  /// Moves a token between the status counts: `before` is the status it had (none for a new one),
  /// `after` the one it has now (none once deleted).
  void count_status(std::optional<store::token_status> before,
                    std::optional<store::token_status> after);

  /// Adds a new token to the index, the secret tables and the counts, unless its id, its name
  /// in its organization or its secret hash is taken; called with `tokens_lock` held
  /// exclusively, or before the service is shared.
  void index_new(token_entry t);

  /// Puts `t`, an edited copy of an indexed token, in the index in place of the old one, keeping
  /// the last use of requests authenticated since it was copied, and its secrets in the secret
  /// tables in place of the old one's; called with `tokens_lock` held exclusively. All change in
  /// this one exclusive section, so no authentication sees a token between two of its secrets.
  /// A replacement whose name or secret hash another token holds leaves the old value.
  void replace_indexed(token_entry t);

  /// Takes token `id` out of the index, the counts and the secret tables; called with
  /// `tokens_lock` held exclusively.
  void erase_indexed(const uuid& id);

  /// Commits `t`, an edited copy of an indexed token, with the audit record of `type` by `who`
  /// summarized by `summary`, and only then puts it in the index in place of the old one; called
  /// with `token_write` held.
  [[nodiscard]] outcome<token_view> save_token(token_entry t, const caller& who,
                                               std::string_view type, audit_summary& summary);

 private:
  /// Derives the indexes of `next`, an edited copy of `previous`, refuses it if it breaks an
  /// invariant, and otherwise commits `changes` and publishes it; called with `directory_write`
  /// held.
  outcome<void> publish(const directory& previous, std::shared_ptr<directory> next,
                        std::span<const store::change> changes);

  /// The statement set of `json`, shared with every token that has the same; `read` turns the
  /// text into statements when no token has it yet.
  template <class Read>
  outcome<std::shared_ptr<const statement_set>> statement_set_of(std::string json, Read&& read) {
    {
      std::lock_guard lock(sets_lock);
      if (auto set = sets.find(json)) return set;
    }
    auto statements = read(json);
    if (!statements) return statements.error();
    auto set = make_statement_set(json, std::move(*statements), report_failure);
    std::lock_guard lock(sets_lock);
    sets.put(std::move(json), set);
    return set;
  }
};

/// Replaces the built-in policies of `d` by `builtins`, with a generation above every earlier one
/// (`now` in milliseconds, or one more than the newest).
[[nodiscard]] outcome<void> swap_builtins(directory& d,
                                          const std::vector<policy::policy_document>& builtins,
                                          store::timestamp now);

/// The built-in documents of a shared store's generation; fails unless every one loads and
/// Owner, Administrator and Developer are there.
[[nodiscard]] outcome<std::vector<policy::policy_document>> builtins_of(
    const store::builtin_generation& generation);

/// The failure of a store error: errc::store_unavailable when the store cannot be reached (a
/// retry may succeed), else errc::storage_failure.
[[nodiscard]] failure storage_failure_of(const boost::system::error_code& ec);

/// The entry of an organization's stored policy; fails when its statements do not load.
[[nodiscard]] outcome<policy_entry> stored_policy_entry(const store::policy_record& p);

/// Files the directory records of `loaded` in `dir`, beside the built-ins already there.
[[nodiscard]] outcome<void> fill_directory(directory& dir, store::stored_state& loaded);

}  // namespace gatehouse::iam
