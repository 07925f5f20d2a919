// Where each value of a document starts, and the findings that point there.
#include "source_map.hpp"

#include "message_text.hpp"

#include <algorithm>
#include <tuple>

namespace gatehouse::policy::detail {
namespace {

/// Findings reported per document; the rest are summarised in one `too-many-findings`.

}  // namespace

source_map::source_map(std::string_view text) : text_(text) {
  line_starts_.push_back(0);
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n') line_starts_.push_back(i + 1);
  }
}

void source_map::record_value(const std::string& pointer, std::size_t offset) {
  entry& e = entries_[pointer];
  e.value = std::min(e.value, offset);
}

void source_map::record_key(const std::string& pointer, std::size_t offset) {
  entry& e = entries_[pointer];
  e.key = std::min(e.key, offset);
}

std::size_t source_map::value_offset(std::string_view pointer) const {
  for (;;) {
    const auto it = entries_.find(std::string(pointer));
    if (it != entries_.end() && it->second.value != npos) return it->second.value;
    if (pointer.empty()) return 0;
    pointer = pointer.substr(0, pointer.rfind('/'));
  }
}

std::size_t source_map::key_offset(std::string_view pointer) const {
  const auto it = entries_.find(std::string(pointer));
  if (it != entries_.end() && it->second.key != npos) return it->second.key;
  return value_offset(pointer);
}

std::pair<std::size_t, std::size_t> source_map::line_column(std::size_t offset) const {
  offset = std::min(offset, text_.size());
  const auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
  const std::size_t line = static_cast<std::size_t>(it - line_starts_.begin());
  const std::size_t line_start = line_starts_[line - 1];
  return {line, utf8_length(text_.substr(line_start, offset - line_start)) + 1};
}

void finding_list::add(severity sev, std::string code, std::string message, std::string pointer,
                       std::size_t offset) {
  has_error_ = has_error_ || sev == severity::error;
  if (items_.size() >= max_findings) {
    ++dropped_;
    dropped_error_ = dropped_error_ || sev == severity::error;
    return;
  }
  const auto [line, column] = map_.line_column(offset);
  items_.push_back({sev, std::move(code), std::move(message), std::move(pointer), line, column});
}

std::vector<finding> finding_list::take() && {
  std::stable_sort(items_.begin(), items_.end(), [](const finding& a, const finding& b) {
    return std::tie(a.line, a.column) < std::tie(b.line, b.column);
  });
  if (dropped_ > 0) {
    items_.push_back({dropped_error_ ? severity::error : severity::warning, "too-many-findings",
                      std::to_string(dropped_) + " more findings not shown; fix the ones above "
                                                 "and check again",
                      "", 1, 1});
  }
  return std::move(items_);
}

}  // namespace gatehouse::policy::detail
