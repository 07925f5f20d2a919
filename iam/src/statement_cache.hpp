// Statements with their compiled form, shared by everyone who holds the same ones: the weak cache
// that shares them, and the checks that statements pass on their way in (new from a caller) and
// on their way back (read from the store).
#pragma once

#include <gatehouse/engine/compiled_policy.hpp>
#include <gatehouse/iam/errors.hpp>
#include <gatehouse/policy/document.hpp>
#include <gatehouse/policy/statement.hpp>

#include <algorithm>
#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace gatehouse::iam {

/// The policy id under which token statements (service statements, personal scopes) report.
inline constexpr std::string_view token_policy_id = "access-token";

/// Statements with their compiled form; shared by every holder of the same statements.
struct statement_set {
  std::string json;
  std::vector<policy::statement> statements;
  std::shared_ptr<const engine::compiled_policy> compiled;
};

/// Hears of each stored statement that does not compile and fails closed.
using failure_reporter = std::function<void(const std::string&)>;

/// Compiles statements that passed validation when they were written; should one not compile
/// anyway (a store written by hand or by another version), it fails closed on its own and is
/// reported. Never deny-all for the whole set.
[[nodiscard]] std::shared_ptr<const engine::compiled_policy> compile_statements(
    std::span<const engine::sourced_statement> statements, const failure_reporter& report);

/// New statements from a caller, held to what validation of their text would hold them to:
/// every statement compiles, and the set stays within `options`' limits. A failure names `field`
/// and carries a finding per problem, pointing at it (no line or column: there is no text).
[[nodiscard]] outcome<void> validate_new_statements(std::span<const policy::statement> statements,
                                                    iam::field field,
                                                    const policy::load_options& options);

/// Reads statements stored earlier: validated as they were when written or, should that fail now
/// (a stricter validator, or a store edited by hand), as written, to fail closed when compiled.
[[nodiscard]] outcome<std::vector<policy::statement>> read_stored_statements(
    std::string_view json, const policy::load_options& options);

/// The statement set of a token's `statements`, stored as `json`; they report as
/// `token_policy_id`.
[[nodiscard]] std::shared_ptr<const statement_set> make_statement_set(
    std::string json, std::vector<policy::statement> statements, const failure_reporter& report);

/// Shared immutable values by key, held weakly: an entry serves as long as someone else holds
/// its value. Entries left expired (values replaced, deleted or refused) are swept whenever the
/// map has doubled since the last sweep, so callers cannot grow it without bound. Not
/// thread-safe: its owner guards it.
template <class T>
class weak_cache {
 public:
  [[nodiscard]] std::shared_ptr<const T> find(const std::string& key) const {
    const auto it = entries_.find(key);
    return it == entries_.end() ? nullptr : it->second.lock();
  }
  void put(std::string key, const std::shared_ptr<const T>& value) {
    if (entries_.size() >= sweep_at_) {
      std::erase_if(entries_, [](const auto& entry) { return entry.second.expired(); });
      sweep_at_ = std::max<std::size_t>(1024, entries_.size() * 2);
    }
    entries_[std::move(key)] = value;
  }

 private:
  std::unordered_map<std::string, std::weak_ptr<const T>> entries_;
  std::size_t sweep_at_ = 1024;
};

}  // namespace gatehouse::iam
