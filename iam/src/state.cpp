// The service state's commit-then-publish of directory changes, and its token bookkeeping.
#include "state.hpp"

#include <gatehouse/iam/builtins.hpp>
#include <gatehouse/policy/document.hpp>
#include <gatehouse/policy/limits.hpp>

#include "checks.hpp"

namespace gatehouse::iam {

outcome<void> service::state::commit(std::span<const store::change> changes) {
  if (const auto ec = database->commit(changes)) return storage_failure_of(ec);
  return {};
}

outcome<void> service::state::publish_builtins(const std::vector<policy::policy_document>& docs) {
  std::vector<std::string> documents;
  documents.reserve(docs.size());
  for (const auto& d : docs) documents.push_back(policy::to_json(d));
  const auto published = database->publish_builtins(documents);
  if (!published) {
    // A store only this process uses keeps no built-ins: they are its own files.
    if (published.error() == boost::system::errc::operation_not_supported) return {};
    return storage_failure_of(published.error());
  }
  builtins_shared = true;
  return {};
}

outcome<std::vector<policy::policy_document>> builtins_of(
    const store::builtin_generation& generation) {
  std::vector<policy::policy_document> docs;
  for (const auto& text : generation.documents) {
    auto loaded = policy::load_policy(text);
    if (!loaded.ok() || loaded.document->id.empty()) {
      return failure(errc::bad_builtins, "built-in generation " +
                                             std::to_string(generation.generation) +
                                             " holds a document that does not load");
    }
    docs.push_back(std::move(*loaded.document));
  }
  if (auto ok = check_builtin_policies(docs, "the shared built-in policies"); !ok) {
    return ok.error();
  }
  return docs;
}

failure storage_failure_of(const boost::system::error_code& ec) {
  return failure(store::is_unavailable(ec) ? errc::store_unavailable : errc::storage_failure,
                 ec.message());
}

outcome<void> service::state::holds(const caller& who, const directory& d,
                                    const std::vector<std::string>& ids, std::string_view what) {
  const auto known = d.known_policies(ids);
  if (known.empty()) return {};
  return require_holds(who, *d.compiled_policies(known, rights, report_failure), what);
}

outcome<void> service::state::publish(const directory& previous, std::shared_ptr<directory> next,
                                      std::span<const store::change> changes) {
  const auto report = next->derive(previous, rights, report_failure);
  if (!report.without_owner.empty()) {
    return failure(errc::last_owner,
                   "no other member holds Owner and may manage IAM; make someone else an owner "
                   "first");
  }
  if (!report.over_member_limits.empty()) {
    return failure(
        errc::too_many_statements,
        "a member would hold more than " + std::to_string(policy::max_effective_statements) +
            " effective statements or " + std::to_string(policy::max_effective_scanning_globs) +
            " globs that scan a name (such as *web*)");
  }
  if (!changes.empty()) {
    if (auto committed = commit(changes); !committed) return committed;
  }
  current.store(std::move(next), std::memory_order_release);
  return {};
}

outcome<std::shared_ptr<const statement_set>> service::state::new_permissions(
    std::vector<policy::statement> statements) {
  if (auto ok = validate_new_statements(statements, field::permissions, policy::token_permissions);
      !ok) {
    return ok.error();
  }
  std::string json = policy::to_json(statements);
  if (json.size() > policy::max_token_permissions_bytes) {
    return failure(errc::field_invalid, field::permissions,
                   "larger than " + std::to_string(policy::max_token_permissions_bytes / 1024) +
                       " KiB of JSON");
  }
  return statement_set_of(std::move(json), [&](std::string_view) {
    return outcome<std::vector<policy::statement>>(std::move(statements));
  });
}

outcome<std::shared_ptr<const statement_set>> service::state::stored_permissions(std::string json) {
  return statement_set_of(std::move(json), [](std::string_view text) {
    return read_stored_statements(text, policy::token_permissions);
  });
}

outcome<token_entry> service::state::stored_token(const store::token_record& r) {
  auto permissions = stored_permissions(r.permissions_json);
  if (!permissions) return permissions.error();
  return to_entry(r, std::move(*permissions), pool);
}

outcome<store::stored_state> service::state::load(
    const std::function<void(token_entry&&)>& on_token) {
  std::optional<failure> token_failure;
  auto loaded = database->load([&](store::token_record&& r) {
    if (token_failure) return;
    auto entry = stored_token(r);
    if (!entry) {
      token_failure = entry.error();
      return;
    }
    on_token(std::move(*entry));
  });
  if (!loaded) return failure(errc::storage_failure, loaded.error().message());
  if (token_failure) return *token_failure;
  return std::move(*loaded);
}

void service::state::count_status(std::optional<store::token_status> before,
                                  std::optional<store::token_status> after) {
  if (before) tokens_by_status[static_cast<std::size_t>(*before)].fetch_sub(1);
  if (after) tokens_by_status[static_cast<std::size_t>(*after)].fetch_add(1);
}

void service::state::index_new(token_entry t) {
  if (current_secrets.find(t.hash) != nullptr) return;
  const auto status = t.status;
  const auto [indexed, inserted] = tokens.insert(std::move(t));
  if (!inserted) return;
  count_status(std::nullopt, status);
  current_secrets.insert(*indexed);
  if (indexed->previous_until != 0) previous_secrets.insert(*indexed);
}

void service::state::replace_indexed(token_entry t) {
  auto& index = tokens.get<by_id>();
  const auto indexed = index.find(t.id);
  if (indexed == index.end()) return;
  if (t.hash != indexed->hash && current_secrets.find(t.hash) != nullptr) return;
  t.last_used = indexed->last_used;
  const auto status = t.status;
  current_secrets.erase(*indexed);
  if (indexed->previous_until != 0) previous_secrets.erase(*indexed);
  // What the token now holds: a replacement that would clash in the index leaves the old value.
  const auto before = indexed->status;
  if (index.replace(indexed, std::move(t))) count_status(before, status);
  current_secrets.insert(*indexed);
  if (indexed->previous_until != 0) previous_secrets.insert(*indexed);
}

void service::state::erase_indexed(const uuid& id) {
  auto& index = tokens.get<by_id>();
  const auto indexed = index.find(id);
  if (indexed == index.end()) return;
  count_status(indexed->status, std::nullopt);
  current_secrets.erase(*indexed);
  if (indexed->previous_until != 0) previous_secrets.erase(*indexed);
  index.erase(indexed);
}

outcome<token_view> service::state::save_token(token_entry t, const caller& who,
                                               std::string_view type, audit_summary& summary) {
  t.updated_at = now();
  auto view = to_view(t, pool, t.updated_at);
  view.creator_email = snapshot()->email_of(view.record.creator_id, view.record.organization_id);
  const std::array changes{
      store::change{store::put_token{view.record}},
      audit_change(who, t.updated_at, type, view.record.id, summary.json()),
  };
  if (auto committed = commit(changes); !committed) return committed.error();
  std::unique_lock lock(tokens_lock);
  replace_indexed(std::move(t));
  return view;
}

}  // namespace gatehouse::iam
