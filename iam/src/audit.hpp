// The audit trail as the service writes it: the record of a change, committed with the change
// itself, the JSON summaries of what changed, and the limit on how many refusals one caller can
// have recorded.
#pragma once

#include <gatehouse/iam/service.hpp>
#include <gatehouse/policy/statement.hpp>
#include <gatehouse/store/records.hpp>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace gatehouse::iam {

/// A change's summary, as a JSON object: top-level fields, then "before" and "after" objects.
/// Summaries name ids, names, counts and statuses; never a secret, never a secret's hash.
class audit_summary {
 public:
  audit_summary() : writer_(buffer_) { writer_.StartObject(); }
  audit_summary(const audit_summary&) = delete;
  audit_summary& operator=(const audit_summary&) = delete;

  /// Lists of ids in a summary stop after this many, ending with how many more there were: a
  /// record stays small whatever the size of a group.
  static constexpr std::size_t max_listed = 20;

  /// Opens the object `name` ("before" or "after"); fields go to it until the next one.
  audit_summary& section(std::string_view name);
  audit_summary& field(std::string_view key, std::string_view value);
  audit_summary& field(std::string_view key, std::int64_t value);
  /// A time as RFC 3339 in UTC, to the millisecond; null for 0 (never).
  audit_summary& time(std::string_view key, store::timestamp ms);
  /// At most `max_listed` of `values`, then "… and N more".
  audit_summary& field(std::string_view key, const std::vector<std::string>& values);
  /// What a set of statements is, in a few fields: how many, allowing and denying, and the
  /// actions they name (a stored set names catalogue actions only, so the list is short).
  audit_summary& statements(const std::vector<policy::statement>& statements);

  [[nodiscard]] std::string json();

 private:
  rapidjson::StringBuffer buffer_;
  rapidjson::Writer<rapidjson::StringBuffer> writer_;
  bool in_section_ = false;
};

/// The change that records `type` done by `who` on `target_id` at `at`, for the same commit as
/// the change itself.
[[nodiscard]] store::change audit_change(const caller& who, store::timestamp at,
                                         std::string_view type, std::string target_id,
                                         std::string summary_json);

/// The same for a change made by a local command, with no caller.
[[nodiscard]] store::change system_audit_change(std::string organization_id, store::timestamp at,
                                                std::string_view type, std::string target_id,
                                                std::string summary_json);

/// At most `per_minute` recorded refusals per caller in each minute: a member who keeps trying
/// cannot grow the trail, or the store's write load, at will.
class refusal_limiter {
 public:
  static constexpr std::uint32_t per_minute = 30;
  /// Callers tracked in one minute; beyond them, refusals are not recorded until the next.
  static constexpr std::size_t max_callers = 10'000;

  /// Whether a refusal of `caller_id` at `now` may be recorded; counts one that may not.
  [[nodiscard]] bool admit(const std::string& caller_id, store::timestamp now);
  [[nodiscard]] std::uint64_t dropped() const;

 private:
  mutable std::mutex mutex_;
  store::timestamp minute_ = 0;
  std::unordered_map<std::string, std::uint32_t> counts_;
  std::uint64_t dropped_ = 0;
};

}  // namespace gatehouse::iam
