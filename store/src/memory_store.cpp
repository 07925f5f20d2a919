// A store that keeps nothing but the newest audit records: the IAM service runs on its in-memory
// indexes alone, which is what tests and benchmarks of the service need.
#include <gatehouse/store/database.hpp>

#include <deque>
#include <mutex>
#include <type_traits>

namespace gatehouse::store {

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
