// Following a store that several instances share (SPEC §12): what was committed, by the other
// instances and by this one, is read from the store's change log and applied to the same
// directory snapshot and token index that local changes update, directory first (a token's rights
// come from its creator), then tokens. Applying this instance's own changes again is harmless: a
// change is read as its record is now. Nothing here commits: the changes are already in the
// store.
#include <gatehouse/iam/service.hpp>

#include <type_traits>
#include <variant>

#include "ids.hpp"
#include "state.hpp"

namespace gatehouse::iam {
namespace {

/// Swaps the built-in policies of `d` for those of `generation`, another instance's; called with
/// `follow_lock` held. A generation that does not load leaves the set in effect, and is counted
/// and logged. Answers whether `d` changed.
bool adopt_builtins(service::state& s, directory& d, const store::builtin_generation& generation) {
  auto docs = builtins_of(generation);
  if (!docs) {
    s.report_failure(docs.error().detail);
    return false;
  }
  if (auto swapped = swap_builtins(d, *docs, s.now()); !swapped) {
    s.report_failure(swapped.error().detail);
    return false;
  }
  s.builtins = std::move(*docs);
  s.builtins_shared = true;
  return true;
}

/// Applies the built-in generation and the directory changes of `batch` to a copy of the
/// directory, derives it, and publishes it; called with `directory_write` and `follow_lock` held.
/// Invariants are not checked: the instance that committed checked them.
void apply_directory(service::state& s, const store::change_batch& batch) {
  const auto previous = s.snapshot();
  auto next = std::make_shared<directory>(*previous);
  bool changed = batch.builtins && adopt_builtins(s, *next, *batch.builtins);
  for (const auto& c : batch.changes) {
    std::visit(
        [&](const auto& x) {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, store::put_organization>) {
            put(next->organizations, x.record);
          } else if constexpr (std::is_same_v<T, store::put_member>) {
            put(next->members, x.record);
          } else if constexpr (std::is_same_v<T, store::put_group>) {
            put(next->groups, x.record);
          } else if constexpr (std::is_same_v<T, store::put_policy>) {
            auto entry = stored_policy_entry(x.record);
            if (entry) {
              put(next->policies, std::move(*entry));
            } else {
              // Fails closed: a policy that does not load grants nothing.
              s.report_failure(entry.error().detail);
              next->policies.erase(x.record.id);
            }
          } else if constexpr (std::is_same_v<T, store::erase_member>) {
            next->members.erase(x.id);
          } else if constexpr (std::is_same_v<T, store::erase_group>) {
            next->groups.erase(x.id);
          } else if constexpr (std::is_same_v<T, store::erase_policy>) {
            next->policies.erase(x.id);
          } else {
            return;  // tokens, below
          }
          changed = true;
        },
        c);
  }
  if (!changed) return;
  static_cast<void>(next->derive(*previous, s.rights, s.report_failure));
  s.current.store(std::move(next), std::memory_order_release);
}

/// Applies the token changes of `changes` to the index; called with `token_write` held.
void apply_tokens(service::state& s, const std::vector<store::change>& changes) {
  for (const auto& c : changes) {
    if (const auto* p = std::get_if<store::put_token>(&c)) {
      auto entry = s.stored_token(p->record);
      std::unique_lock lock(s.tokens_lock);
      if (!entry) {
        // Fails closed: a token whose record does not load is gone from memory.
        s.report_failure("token " + p->record.id + ": " + entry.error().detail);
        if (const auto id = parse_uuid(p->record.id)) s.erase_indexed(*id);
        continue;
      }
      const auto& by_ids = s.tokens.get<by_id>();
      if (by_ids.find(entry->id) != by_ids.end()) {
        s.replace_indexed(std::move(*entry));
      } else {
        s.index_new(std::move(*entry));
      }
    } else if (const auto* e = std::get_if<store::erase_token>(&c)) {
      if (const auto id = parse_uuid(e->id)) {
        std::unique_lock lock(s.tokens_lock);
        s.erase_indexed(*id);
      }
    }
  }
}

/// Replaces everything in memory with what the store holds now, for an instance the change log
/// no longer reaches back to; called with `token_write` and `directory_write` held.
outcome<void> reload(service::state& s) {
  std::vector<token_entry> entries;
  auto loaded = s.load([&entries](token_entry&& t) { entries.push_back(std::move(t)); });
  if (!loaded) return loaded.error();
  {
    auto dir = std::make_shared<directory>();
    s.snapshot()->policies.for_each([&](const std::string&, const policy_entry& p) {
      if (p.builtin()) put(dir->policies, p);
    });
    if (auto filled = fill_directory(*dir, *loaded); !filled) return filled.error();
    if (loaded->builtins) adopt_builtins(s, *dir, *loaded->builtins);
    static_cast<void>(dir->derive(directory{}, s.rights, s.report_failure));
    s.current.store(std::move(dir), std::memory_order_release);
  }
  std::unique_lock lock(s.tokens_lock);
  for (const auto& t : s.tokens) {
    s.current_secrets.erase(t);
    if (t.previous_until != 0) s.previous_secrets.erase(t);
  }
  s.tokens.clear();
  for (auto& count : s.tokens_by_status) count.store(0);
  for (auto& t : entries) s.index_new(std::move(t));
  s.applied_change.store(loaded->change_id);
  return {};
}

}  // namespace

outcome<std::size_t> service::follow_changes(std::chrono::milliseconds wait) {
  auto& s = *state_;
  // The wait holds no lock: a reload of the built-in policies, which takes `follow_lock`, must
  // not queue behind a thread that waits a second, lets go and takes it again at once.
  if (auto woke = s.database->await_change(wait); !woke) {
    return failure(errc::storage_failure, woke.error().message());
  }
  std::lock_guard follow(s.follow_lock);
  // Local changes commit and publish holding these: with them held from reading the log to
  // applying it, no local change falls between the two, so what is applied is never older than
  // what memory holds. Tokens before the directory, the order of every change that takes both.
  std::lock_guard token_guard(s.token_write);
  std::lock_guard directory_guard(s.directory_write);
  auto batch = s.database->changes_after(s.applied_change.load());
  if (!batch) return failure(errc::storage_failure, batch.error().message());
  if (batch->too_old) {
    if (s.hooks.log) {
      s.hooks.log("the change log no longer reaches back to this instance: reloading everything");
    }
    if (auto reloaded = reload(s); !reloaded) return reloaded.error();
    return std::size_t{0};
  }
  apply_directory(s, *batch);
  apply_tokens(s, batch->changes);
  s.applied_change.store(batch->last_id);
  return batch->changes.size();
}

std::int64_t service::applied_change_id() const noexcept { return state_->applied_change.load(); }

}  // namespace gatehouse::iam
