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
#include <vector>

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

/// The work one check may do; running out fails closed with `too_complex`. A unit is one step of
/// intersecting two globs, or one byte of a glob component or of a candidate resource name (a
/// candidate costs its two walks). The default is sized by `gatehouse-bench hostile` so that the
/// statement sets within the size limits of SPEC §10 that it builds, the worst it found included,
/// stay inside it, and that exhausting it takes well under 100 ms.
struct containment_limits {
  std::size_t max_work = 20'000'000;
};

enum class containment_errc {
  /// The check needed more work than `containment_limits` allows.
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

/// Requests, one per action, that one statement set allows and another does not.
struct action_witnesses {
  /// The actions with such a request: each one proven by a resource name.
  policy::action_set actions = 0;
  /// False when the work ran out first: actions may then be missing, never wrongly present.
  bool complete = true;
  /// One request per action of `actions`, in catalogue order.
  std::vector<request> witnesses;
};

/// For each action of `of_interest`, a request of it that `requested` allows and `granted` does
/// not, if there is one: the containment search carried on past its first counterexample. An
/// action of `of_interest` missing from a complete answer is allowed by `requested` on no
/// resource name beyond what `granted` allows for it. One search, within `limits`, however many
/// actions there are.
[[nodiscard]] action_witnesses beyond(const compiled_policy& granted,
                                      const compiled_policy& requested,
                                      policy::action_set of_interest,
                                      containment_limits limits = {});

/// The actions of `of_interest` that `p` allows on at least one resource name: `beyond` the
/// empty set.
[[nodiscard]] action_witnesses allowed_somewhere(const compiled_policy& p,
                                                 policy::action_set of_interest,
                                                 containment_limits limits = {});

}  // namespace gatehouse::engine

namespace boost::system {
template <>
struct is_error_code_enum<gatehouse::engine::containment_errc> : std::true_type {};
}  // namespace boost::system
