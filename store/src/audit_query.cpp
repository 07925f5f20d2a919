// What an audit query means, for every store (the memory store filters with it, and the tests
// hold SQLite's queries to it), and the answers of a store that keeps no audit trail.
#include <gatehouse/store/database.hpp>

namespace gatehouse::store {

namespace {
// Also the answer of a store without a change log: it is kept by one process alone.
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
boost::system::result<change_batch> database::changes_after(std::int64_t /*after_id*/) {
  return no_audit_trail();
}
boost::system::result<std::int64_t> database::publish_builtins(
    const std::vector<std::string>& /*documents*/) {
  return no_audit_trail();
}
boost::system::error_code database::exclusively(const std::function<void()>& fn) {
  fn();
  return {};
}
boost::system::result<bool> database::await_change(std::chrono::milliseconds /*timeout*/) {
  // A bool is constructible from an error code too: say which is meant.
  return {boost::system::in_place_error, no_audit_trail()};
}

bool audit_type_matches(std::string_view filter, std::string_view type) noexcept {
  return filter.empty() || filter == type ||
         (type.size() > filter.size() && type.starts_with(filter) && type[filter.size()] == '.');
}

bool matches(const audit_record& r, const audit_query& q) noexcept {
  const auto is_or_empty = [](const std::string& filter, const std::string& value) {
    return filter.empty() || filter == value;
  };
  return is_or_empty(q.organization_id, r.organization_id) &&
         (q.actor_id.empty() || q.actor_id == r.actor_id || q.actor_id == r.actor_member_id) &&
         is_or_empty(q.target_id, r.target_id) && audit_type_matches(q.type, r.type) &&
         (q.from == 0 || r.at >= q.from) && (q.to == 0 || r.at < q.to);
}

}  // namespace gatehouse::store
