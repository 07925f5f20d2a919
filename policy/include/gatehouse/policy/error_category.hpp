// The error categories of gatehouse's error enums (resource names, containment, the store, IAM,
// secrets, JWTs): one class for all, each category a name and a function that describes a code.
#pragma once

#include <boost/system/error_category.hpp>

#include <string>
#include <string_view>

namespace gatehouse::policy {

/// The Boost.System category of `Enum`: `Describe` gives each code's text (and a fallback for a
/// value outside the enum, which no gatehouse code produces but an `error_code` can carry).
template <typename Enum, std::string_view (*Describe)(Enum) noexcept>
class enum_category final : public boost::system::error_category {
 public:
  explicit enum_category(const char* name) noexcept : name_(name) {}

  [[nodiscard]] const char* name() const noexcept override { return name_; }
  [[nodiscard]] std::string message(int code) const override {
    return std::string(Describe(static_cast<Enum>(code)));
  }

 private:
  const char* name_;
};

}  // namespace gatehouse::policy
