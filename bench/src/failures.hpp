// Failing a measurement: an IAM service or store failure ends the run with std::runtime_error,
// which main reports on stderr with exit code 1.
#pragma once

#include <boost/system/result.hpp>

#include <gatehouse/iam/builtins.hpp>
#include <gatehouse/iam/errors.hpp>
#include <gatehouse/policy/document.hpp>

#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace gatehouse::bench {

[[noreturn]] inline void fail(const std::string& what) { throw std::runtime_error(what); }

/// The value of `r` (if it has one), or a failure naming `what` and the error.
template <typename T, typename E>
T value_or_fail(boost::system::result<T, E> r, const std::string& what) {
  if (!r) {
    if constexpr (std::is_same_v<E, iam::failure>) {
      fail(what + ": " + r.error().detail);
    } else {
      fail(what + ": " + r.error().message());
    }
  }
  if constexpr (!std::is_void_v<T>) return std::move(*r);
}

/// The statements of `json` (a statement array), which must validate.
inline std::vector<policy::statement> statements_of(std::string_view json,
                                                    const policy::load_options& options = {}) {
  auto loaded = policy::load_policy(json, options);
  if (!loaded.ok()) {
    for (const auto& f : loaded.findings) {
      if (f.severity == policy::severity::error) fail(f.pointer + ": " + f.message);
    }
  }
  return std::move(loaded.document->statements);
}

/// The built-in policies compiled in, or those of `dir` when one is given.
inline std::vector<policy::policy_document> builtin_policies(const std::string& dir) {
  if (dir.empty()) return iam::embedded_builtin_policies();
  return value_or_fail(iam::load_builtin_policies(dir), "cannot load the built-in policies");
}

}  // namespace gatehouse::bench
