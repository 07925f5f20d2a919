// A store that keeps nothing but the newest audit records: the IAM service runs on its in-memory
// indexes alone, which is what tests and benchmarks of the service need.
#include <gatehouse/store/database.hpp>

#include <deque>
#include <mutex>
#include <type_traits>

namespace gatehouse::store {

namespace {
boost::system::error_code no_audit_trail() {
  return boost::system::errc::make_error_code(boost::system::errc::operation_not_supported);
}
}  // namespace

boost::system::result<audit_page> database::audit_log(const audit_query& /*q*/) {
  return no_audit_trail();
}
boost::system::error_code database::each_audit_record(
    const audit_query& /*q*/, const std::function<void(const audit_record&)>& /*on_record*/) {
  return no_audit_trail();
}
boost::system::result<std::size_t> database::prune_audit_log(timestamp /*before*/) {
  return no_audit_trail();
}

bool matches(const audit_record& r, const audit_query& q) noexcept {
  const auto is_or_empty = [](const std::string& filter, const std::string& value) {
    return filter.empty() || filter == value;
  };
  const bool type_matches =
      is_or_empty(q.type, r.type) ||
      (r.type.size() > q.type.size() && r.type.starts_with(q.type) && r.type[q.type.size()] == '.');
  return is_or_empty(q.organization_id, r.organization_id) &&
         (q.actor_id.empty() || q.actor_id == r.actor_id || q.actor_id == r.actor_member_id) &&
         is_or_empty(q.target_id, r.target_id) && type_matches && (q.from == 0 || r.at >= q.from) &&
         (q.to == 0 || r.at < q.to);
}

namespace {

class memory_store final : public database {
 public:
  explicit memory_store(std::size_t audit_capacity) : capacity_(audit_capacity) {}

  boost::system::result<stored_state> load(
      const std::function<void(token_record&&)>& /*on_token*/) override {
    return stored_state{};
  }

  boost::system::error_code commit(std::span<const change> changes) override {
    std::lock_guard lock(mutex_);
    for (const auto& c : changes) {
      if (const auto* audit = std::get_if<append_audit>(&c)) {
        auto& kept = audit_.emplace_back(audit->record);
        kept.id = ++last_id_;
        if (audit_.size() > capacity_) audit_.pop_front();
      }
    }
    return {};
  }

  boost::system::result<audit_page> audit_log(const audit_query& q) override {
    std::lock_guard lock(mutex_);
    audit_page page;
    const std::size_t skip = q.page_index * q.page_size;
    for (auto it = audit_.rbegin(); it != audit_.rend(); ++it) {
      if (!matches(*it, q)) continue;
      if (page.total_count >= skip && page.items.size() < q.page_size) page.items.push_back(*it);
      ++page.total_count;
    }
    return page;
  }

  boost::system::error_code each_audit_record(
      const audit_query& q, const std::function<void(const audit_record&)>& on_record) override {
    std::lock_guard lock(mutex_);
    for (const auto& r : audit_) {
      if (matches(r, q)) on_record(r);
    }
    return {};
  }

  boost::system::result<std::size_t> prune_audit_log(timestamp before) override {
    std::lock_guard lock(mutex_);
    return std::erase_if(audit_, [before](const audit_record& r) { return r.at < before; });
  }

 private:
  std::size_t capacity_;
  std::mutex mutex_;
  std::deque<audit_record> audit_;
  std::int64_t last_id_ = 0;
};

}  // namespace

std::unique_ptr<database> make_memory(std::size_t audit_capacity) {
  return std::make_unique<memory_store>(audit_capacity);
}

}  // namespace gatehouse::store
