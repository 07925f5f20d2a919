// Where each value of a document starts, and the findings that point there: the loader's way of
// keeping line, column and JSON pointer with every finding until a person reads it.
#pragma once

#include <gatehouse/policy/document.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace gatehouse::policy::detail {

/// Where each value and key starts, by JSON pointer, and the line starts that turn a byte offset
/// into line:column.
class source_map {
 public:
  explicit source_map(std::string_view text);

  // A repeated key keeps the position of its first occurrence, the member the DOM look-ups find.
  void record_value(const std::string& pointer, std::size_t offset);
  void record_key(const std::string& pointer, std::size_t offset);

  /// The start of the value at `pointer`, or of its nearest recorded ancestor.
  [[nodiscard]] std::size_t value_offset(std::string_view pointer) const;
  /// The start of the key naming `pointer`, or of its value when it has no recorded key.
  [[nodiscard]] std::size_t key_offset(std::string_view pointer) const;

  /// 1-based line and column of a byte offset; the column counts UTF-8 characters, as editors do.
  [[nodiscard]] std::pair<std::size_t, std::size_t> line_column(std::size_t offset) const;

  [[nodiscard]] std::string_view text() const noexcept { return text_; }

 private:
  static constexpr std::size_t npos = std::string::npos;
  struct entry {
    std::size_t value = npos;
    std::size_t key = npos;
  };
  std::string_view text_;
  std::vector<std::size_t> line_starts_;
  std::unordered_map<std::string, entry> entries_;
};

/// The findings of one document, each placed by its byte offset in the text.
class finding_list {
 public:
  explicit finding_list(const source_map& map) : map_(map) {}

  void add(severity sev, std::string code, std::string message, std::string pointer,
           std::size_t offset);
  void error(std::string code, std::string message, std::string pointer, std::size_t offset) {
    add(severity::error, std::move(code), std::move(message), std::move(pointer), offset);
  }
  void warning(std::string code, std::string message, std::string pointer, std::size_t offset) {
    add(severity::warning, std::move(code), std::move(message), std::move(pointer), offset);
  }

  [[nodiscard]] bool has_error() const noexcept { return has_error_; }
  /// Whether findings added now are only counted: what only their message needs (a near-miss
  /// suggestion, say) need not be computed.
  [[nodiscard]] bool full() const noexcept { return items_.size() >= max_findings; }

  /// Findings kept at most; the rest are counted in one last finding.
  static constexpr std::size_t max_findings = 500;

  /// The findings in document order, with the overflow summarised last.
  std::vector<finding> take() &&;

 private:
  const source_map& map_;
  std::vector<finding> items_;
  std::size_t dropped_ = 0;
  bool dropped_error_ = false;
  bool has_error_ = false;
};

}  // namespace gatehouse::policy::detail
