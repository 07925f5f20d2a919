// Loading policy documents from JSON text, with validation findings that point at line:column.
#pragma once

#include <gatehouse/policy/statement.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gatehouse::policy {

enum class severity : unsigned char { error, warning };

/// One validation finding (SPEC §2.5). `code` is stable and documented in policy/README.md;
/// `pointer` is a JSON pointer into the document; line and column are 1-based.
struct finding {
  policy::severity severity = severity::error;
  std::string code;
  std::string message;
  std::string pointer;
  std::size_t line = 1;
  std::size_t column = 1;
};

/// The outcome of loading one document. `document` is set only when there is no error finding;
/// warnings never stop a document from loading.
struct load_result {
  std::optional<policy_document> document;
  std::vector<finding> findings;

  [[nodiscard]] bool ok() const noexcept { return document.has_value(); }
};

/// Parses and validates `json`, a policy document or a bare array of statements.
[[nodiscard]] load_result load_policy(std::string_view json);

/// Reads `path` and loads it; a file that cannot be read gives one `unreadable-file` error.
[[nodiscard]] load_result load_policy_file(const std::string& path);

/// Formats a finding as `file:line:col: severity code: message`.
[[nodiscard]] std::string format_finding(std::string_view file, const finding& f);

}  // namespace gatehouse::policy
