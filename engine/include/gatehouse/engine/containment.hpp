// Containment: does one compiled statement set allow nothing beyond another? Exact over all
// strings, with a concrete counterexample when it does not. The algorithm is in containment.md.
#pragma once

#include <gatehouse/engine/compiled_policy.hpp>

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <system_error>

namespace gatehouse::engine {

struct request {
  std::string action;
  std::string resource;

  friend bool operator==(const request&, const request&) = default;
};

struct containment {
  bool contained = false;
  /// A request that `requested` allows and `granted` does not; set iff !contained.
  std::optional<request> counterexample;
};

/// Bounds on the work one check may do; exceeding them fails closed with `too_complex`.
struct containment_limits {
  std::size_t max_candidates = 2'000'000;
};

enum class containment_errc {
  /// The check needed more candidate requests than `containment_limits` allows.
  too_complex = 1,
};
const boost::system::error_category& containment_category() noexcept;
inline boost::system::error_code make_error_code(containment_errc e) noexcept {
  return {static_cast<int>(e), containment_category()};
}

/// True iff every request that `requested` allows is allowed by `granted`.
[[nodiscard]] boost::system::result<containment> contains(const compiled_policy& granted,
                                                          const compiled_policy& requested,
                                                          containment_limits limits = {});

}  // namespace gatehouse::engine

namespace boost::system {
template <>
struct is_error_code_enum<gatehouse::engine::containment_errc> : std::true_type {};
}  // namespace boost::system
