// A store that keeps nothing: the IAM service runs on its in-memory indexes alone, which is what
// tests and benchmarks of the service need.
#include <gatehouse/store/database.hpp>

namespace gatehouse::store {
namespace {

class memory_store final : public database {
 public:
  boost::system::result<stored_state> load(
      const std::function<void(token_record&&)>& /*on_token*/) override {
    return stored_state{};
  }

  boost::system::error_code commit(std::span<const change> /*changes*/) override { return {}; }
};

}  // namespace

std::unique_ptr<database> make_memory() { return std::make_unique<memory_store>(); }

}  // namespace gatehouse::store
