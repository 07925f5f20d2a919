// The costly checks one caller may run at once (today a token's containment check without
// creating it): at most two per caller, so that one member cannot occupy every thread of the
// server with them.
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace gatehouse::server {

class costly_calls {
 public:
  static constexpr unsigned max_per_caller = 2;

  /// Held while a check runs; gives the place back when destroyed.
  class slot {
   public:
    slot(costly_calls& calls, std::string caller) : calls_(&calls), caller_(std::move(caller)) {}
    slot(slot&& other) noexcept : calls_(other.calls_), caller_(std::move(other.caller_)) {
      other.calls_ = nullptr;
    }
    slot(const slot&) = delete;
    slot& operator=(const slot&) = delete;
    slot& operator=(slot&&) = delete;
    ~slot() {
      if (calls_ != nullptr) calls_->leave(caller_);
    }

   private:
    costly_calls* calls_;
    std::string caller_;
  };

  /// A place for `caller` (a subject such as "member:<id>"), or none when it has
  /// `max_per_caller` checks running already.
  [[nodiscard]] std::optional<slot> enter(std::string_view caller) {
    std::lock_guard lock(mutex_);
    auto [it, fresh] = running_.try_emplace(std::string(caller), 0U);
    if (it->second >= max_per_caller) return std::nullopt;
    ++it->second;
    return std::optional<slot>(std::in_place, *this, it->first);
  }

 private:
  void leave(const std::string& caller) noexcept {
    std::lock_guard lock(mutex_);
    const auto it = running_.find(caller);
    if (it != running_.end() && --it->second == 0) running_.erase(it);
  }

  std::mutex mutex_;
  std::unordered_map<std::string, unsigned> running_;
};

}  // namespace gatehouse::server
