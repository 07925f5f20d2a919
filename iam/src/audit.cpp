// The audit trail as the service writes and reads it (SPEC §13).
#include "audit.hpp"

#include <gatehouse/store/utc_time.hpp>

#include <algorithm>
#include <array>
#include <chrono>

#include "checks.hpp"
#include "directory.hpp"
#include "state.hpp"

namespace gatehouse::iam {

namespace {

constexpr std::array all_audit_types{
    audit_type::organization_create,   audit_type::member_add,
    audit_type::member_remove,         audit_type::member_attach_policy,
    audit_type::member_detach_policy,  audit_type::group_create,
    audit_type::group_delete,          audit_type::group_add_member,
    audit_type::group_remove_member,   audit_type::group_attach_policy,
    audit_type::group_detach_policy,   audit_type::policy_create,
    audit_type::policy_set_statements, audit_type::policy_delete,
    audit_type::token_create,          audit_type::token_rename,
    audit_type::token_toggle,          audit_type::token_rotate,
    audit_type::token_delete,          audit_type::token_revoke,
};

void write(rapidjson::Writer<rapidjson::StringBuffer>& w, std::string_view text) {
  w.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

}  // namespace

std::span<const std::string_view> audit_types() noexcept { return all_audit_types; }

bool is_audit_type_filter(std::string_view filter) noexcept {
  return !filter.empty() &&
         std::any_of(all_audit_types.begin(), all_audit_types.end(),
                     [filter](auto type) { return store::audit_type_matches(filter, type); });
}

// ---- Summaries ---------------------------------------------------------------------------------

audit_summary& audit_summary::section(std::string_view name) {
  if (in_section_) writer_.EndObject();
  write(writer_, name);
  writer_.StartObject();
  in_section_ = true;
  return *this;
}

audit_summary& audit_summary::field(std::string_view key, std::string_view value) {
  write(writer_, key);
  write(writer_, value);
  return *this;
}

audit_summary& audit_summary::field(std::string_view key, std::int64_t value) {
  write(writer_, key);
  writer_.Int64(value);
  return *this;
}

audit_summary& audit_summary::time(std::string_view key, store::timestamp ms) {
  write(writer_, key);
  if (ms == 0) {
    writer_.Null();
    return *this;
  }
  const auto text = store::utc_time(
      std::chrono::sys_time<std::chrono::milliseconds>{std::chrono::milliseconds{ms}});
  write(writer_, std::string_view(text.data(), text.size()));
  return *this;
}

audit_summary& audit_summary::field(std::string_view key, const std::vector<std::string>& values) {
  write(writer_, key);
  writer_.StartArray();
  for (std::size_t i = 0; i < values.size() && i < max_listed; ++i) write(writer_, values[i]);
  if (values.size() > max_listed) {
    write(writer_, "… and " + std::to_string(values.size() - max_listed) + " more");
  }
  writer_.EndArray();
  return *this;
}

audit_summary& audit_summary::statements(const std::vector<policy::statement>& statements) {
  std::int64_t denying = 0;
  std::vector<std::string> actions;
  for (const auto& s : statements) {
    if (s.effect == policy::effect::deny) ++denying;
    actions.insert(actions.end(), s.actions.begin(), s.actions.end());
  }
  std::sort(actions.begin(), actions.end());
  actions.erase(std::unique(actions.begin(), actions.end()), actions.end());
  const auto count = static_cast<std::int64_t>(statements.size());
  return field("statements", count)
      .field("allowing", count - denying)
      .field("denying", denying)
      .field("actions", actions);
}

std::string audit_summary::json() {
  if (in_section_) writer_.EndObject();
  in_section_ = false;
  writer_.EndObject();
  return {buffer_.GetString(), buffer_.GetSize()};
}

// ---- Records -----------------------------------------------------------------------------------

store::change audit_change(const caller& who, store::timestamp at, std::string_view type,
                           std::string target_id, std::string summary_json) {
  return store::append_audit{store::audit_record{
      0, who.organization_id, at, std::string(to_string(who.kind)), who.id, who.member_id,
      std::string(type), std::move(target_id), false, std::move(summary_json)}};
}

store::change system_audit_change(std::string organization_id, store::timestamp at,
                                  std::string_view type, std::string target_id,
                                  std::string summary_json) {
  return store::append_audit{store::audit_record{0, std::move(organization_id), at, "system", "",
                                                 "", std::string(type), std::move(target_id), false,
                                                 std::move(summary_json)}};
}

bool refusal_limiter::admit(const std::string& caller_id, store::timestamp now) {
  std::lock_guard lock(mutex_);
  const store::timestamp minute = now / 60'000;
  if (minute != minute_) {
    minute_ = minute;
    counts_.clear();
  }
  auto it = counts_.find(caller_id);
  if (it == counts_.end()) {
    if (counts_.size() >= max_callers) {
      ++dropped_;
      return false;
    }
    it = counts_.emplace(caller_id, 0).first;
  }
  if (it->second >= per_minute) {
    ++dropped_;
    return false;
  }
  ++it->second;
  return true;
}

std::uint64_t refusal_limiter::dropped() const {
  std::lock_guard lock(mutex_);
  return dropped_;
}

// ---- The service's audit operations ------------------------------------------------------------

outcome<store::audit_page> service::audit_log(const caller& who, store::audit_query q) const {
  if (auto ok = require(*this, who, manage_iam, iam_resource); !ok) return ok.error();
  if (q.page_size == 0 || q.page_size > state_->limits.max_page_size) {
    return failure(errc::field_invalid, field::page_size);
  }
  if (!q.type.empty() && !is_audit_type_filter(q.type)) {
    return failure(errc::field_invalid, field::type, "not an audit type or topic");
  }
  q.organization_id = who.organization_id;
  auto page = state_->database->audit_log(q);
  if (!page) return failure(errc::storage_failure, page.error().message());
  return std::move(*page);
}

void service::record_refusal(const caller& who, std::string_view type, std::string_view target_id,
                             std::string_view reason) {
  const auto now = state_->now();
  if (!state_->refusals.admit(who.id, now)) return;
  auto record = audit_change(who, now, type, std::string(target_id),
                             audit_summary().field("reason", reason).json());
  std::get<store::append_audit>(record).record.denied = true;
  if (const auto ec = state_->database->commit({&record, 1}); ec && state_->hooks.log) {
    state_->hooks.log("a refusal could not be recorded in the audit trail: " + ec.message());
  }
}

std::uint64_t service::refusals_not_recorded() const noexcept { return state_->refusals.dropped(); }

outcome<std::size_t> service::prune_audit_log(std::int64_t retention_days) {
  if (retention_days <= 0) return failure(errc::field_invalid, "retention must be positive");
  const auto pruned =
      state_->database->prune_audit_log(state_->now() - retention_days * 86'400'000);
  if (!pruned) return failure(errc::storage_failure, pruned.error().message());
  return *pruned;
}

}  // namespace gatehouse::iam
