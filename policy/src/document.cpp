// Loading policy documents: a position-tracking JSON parse, schema validation that explains every
// failure, and the semantic checks of SPEC §2.5 (actions, resource names, shapes, duplicates).
#include <gatehouse/policy/document.hpp>

#include <gatehouse/policy/catalogue.hpp>
#include <gatehouse/policy/glob.hpp>
#include <gatehouse/policy/json.hpp>
#include <gatehouse/policy/limits.hpp>
#include <gatehouse/policy/resource_name.hpp>
#include <gatehouse/policy/text.hpp>

#include "policy_schema.hpp"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/pointer.h>
#include <rapidjson/reader.h>
#include <rapidjson/schema.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace gatehouse::policy {
namespace {

/// Largest document accepted; policies are a few KiB, so this only stops runaway input.
constexpr std::size_t max_document_bytes = std::size_t{4} << 20;
/// Deepest nesting accepted: the limit of all JSON gatehouse reads (json.hpp).
constexpr std::size_t max_nesting_depth = max_json_depth;
/// Findings reported per document; the rest are summarised in one `too-many-findings`.
constexpr std::size_t max_findings = 500;
/// Positions are kept for pointers up to this depth (`/statements/i/actions/j`); deeper findings
/// point at their nearest recorded ancestor.
constexpr std::size_t max_recorded_depth = 4;
/// User values quoted in messages are cut to this many bytes.
constexpr std::size_t max_quoted_bytes = 80;

using json_value = rapidjson::Value;

// ---------------------------------------------------------------------------------------------
// Text helpers

std::string escape_pointer_token(std::string_view token) {
  std::string out;
  out.reserve(token.size());
  for (const char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

// Quotes a user-supplied value for a message: escaped, and cut short so that a huge string does
// not make a huge message.
std::string quote(std::string_view value) {
  std::string out = "\"";
  const std::size_t n = std::min(value.size(), max_quoted_bytes);
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(value[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      std::array<char, 8> buf{};
      std::snprintf(buf.data(), buf.size(), "\\u%04x", c);
      out += buf.data();
    } else {
      out += static_cast<char>(c);
    }
  }
  if (n < value.size()) out += "...";
  out += '"';
  return out;
}

std::string join_quoted(const std::vector<std::string_view>& names) {
  std::string out;
  for (const std::string_view name : names) {
    if (!out.empty()) out += ", ";
    out += quote(name);
  }
  return out;
}

// Characters in UTF-8 `text`: every byte that is not a continuation byte starts one.
std::size_t utf8_length(std::string_view text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

// Levenshtein distance, case-insensitive so that a case slip counts as a near miss.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      const std::size_t substitution =
          diagonal + (fold_ascii(a[i - 1]) == fold_ascii(b[j - 1]) ? 0 : 1);
      row[j] = std::min({above + 1, row[j - 1] + 1, substitution});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// The candidate closest to `name`, if it is close enough to be a plausible typo.
std::optional<std::string_view> nearest_name(std::string_view name,
                                             const std::vector<std::string_view>& candidates) {
  constexpr std::size_t longest_compared = 64;  // keeps the quadratic distance cheap
  if (name.empty() || name.size() > longest_compared) return std::nullopt;
  std::optional<std::string_view> best;
  std::size_t best_distance = std::max<std::size_t>(2, name.size() / 3) + 1;
  for (const std::string_view candidate : candidates) {
    const std::size_t d = edit_distance(name, candidate);
    if (d < best_distance) {
      best_distance = d;
      best = candidate;
    }
  }
  return best;
}

std::string did_you_mean(std::string_view name, const std::vector<std::string_view>& candidates) {
  const auto best = nearest_name(name, candidates);
  return best ? "; did you mean " + quote(*best) + "?" : std::string{};
}

std::string_view as_view(const json_value& v) { return {v.GetString(), v.GetStringLength()}; }

std::string_view string_member_or(const json_value& obj, const char* name,
                                  std::string_view fallback) {
  const auto it = obj.FindMember(name);
  return it != obj.MemberEnd() && it->value.IsString() ? as_view(it->value) : fallback;
}

json_value::ConstMemberIterator find_member(const json_value& obj, std::string_view name) {
  return obj.FindMember(
      json_value(rapidjson::StringRef(name.data(), static_cast<rapidjson::SizeType>(name.size()))));
}

const char* json_type_name(const json_value& v) {
  switch (v.GetType()) {
    case rapidjson::kNullType:
      return "null";
    case rapidjson::kFalseType:
    case rapidjson::kTrueType:
      return "a boolean";
    case rapidjson::kObjectType:
      return "an object";
    case rapidjson::kArrayType:
      return "an array";
    case rapidjson::kStringType:
      return "a string";
    case rapidjson::kNumberType:
      return "a number";
  }
  return "a value";
}

// ---------------------------------------------------------------------------------------------
// Source positions

// Where each value and key starts, by JSON pointer, and the line starts that turn a byte offset
// into line:column.
class source_map {
 public:
  explicit source_map(std::string_view text) : text_(text) {
    line_starts_.push_back(0);
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '\n') line_starts_.push_back(i + 1);
    }
  }

  // A repeated key keeps the position of its first occurrence, the member the DOM look-ups find.
  void record_value(const std::string& pointer, std::size_t offset) {
    entry& e = entries_[pointer];
    e.value = std::min(e.value, offset);
  }
  void record_key(const std::string& pointer, std::size_t offset) {
    entry& e = entries_[pointer];
    e.key = std::min(e.key, offset);
  }

  /// The start of the value at `pointer`, or of its nearest recorded ancestor.
  [[nodiscard]] std::size_t value_offset(std::string_view pointer) const {
    for (;;) {
      const auto it = entries_.find(std::string(pointer));
      if (it != entries_.end() && it->second.value != npos) return it->second.value;
      if (pointer.empty()) return 0;
      pointer = pointer.substr(0, pointer.rfind('/'));
    }
  }
  /// The start of the key naming `pointer`, or of its value when it has no recorded key.
  [[nodiscard]] std::size_t key_offset(std::string_view pointer) const {
    const auto it = entries_.find(std::string(pointer));
    if (it != entries_.end() && it->second.key != npos) return it->second.key;
    return value_offset(pointer);
  }

  /// 1-based line and column of a byte offset; the column counts UTF-8 characters, as editors do.
  [[nodiscard]] std::pair<std::size_t, std::size_t> line_column(std::size_t offset) const {
    offset = std::min(offset, text_.size());
    const auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
    const std::size_t line = static_cast<std::size_t>(it - line_starts_.begin());
    const std::size_t line_start = line_starts_[line - 1];
    return {line, utf8_length(text_.substr(line_start, offset - line_start)) + 1};
  }

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

// ---------------------------------------------------------------------------------------------
// Findings

class finding_list {
 public:
  explicit finding_list(const source_map& map) : map_(map) {}

  void add(severity sev, std::string code, std::string message, std::string pointer,
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
  void error(std::string code, std::string message, std::string pointer, std::size_t offset) {
    add(severity::error, std::move(code), std::move(message), std::move(pointer), offset);
  }
  void warning(std::string code, std::string message, std::string pointer, std::size_t offset) {
    add(severity::warning, std::move(code), std::move(message), std::move(pointer), offset);
  }

  [[nodiscard]] bool has_error() const noexcept { return has_error_; }

  /// The findings in document order, with the overflow summarised last.
  std::vector<finding> take() && {
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

 private:
  const source_map& map_;
  std::vector<finding> items_;
  std::size_t dropped_ = 0;
  bool dropped_error_ = false;
  bool has_error_ = false;
};

// ---------------------------------------------------------------------------------------------
// Parsing with positions

// Forwards SAX events to the DOM while recording where each value and key starts, rejecting
// duplicate keys and limiting nesting. RapidJSON reports events after consuming the token, so
// starts are found by scanning back from the stream position.
template <typename Inner>
class tracking_handler {
 public:
  tracking_handler(Inner& inner, const rapidjson::MemoryStream& stream, source_map& map,
                   finding_list& findings)
      : inner_(inner), stream_(stream), map_(map), findings_(findings) {}

  bool Null() { return scalar(end() - 4) && inner_.Null(); }
  bool Bool(bool b) { return scalar(end() - (b ? 4 : 5)) && inner_.Bool(b); }
  bool Int(int i) { return scalar(number_start()) && inner_.Int(i); }
  bool Uint(unsigned u) { return scalar(number_start()) && inner_.Uint(u); }
  bool Int64(std::int64_t i) { return scalar(number_start()) && inner_.Int64(i); }
  bool Uint64(std::uint64_t u) { return scalar(number_start()) && inner_.Uint64(u); }
  bool Double(double d) { return scalar(number_start()) && inner_.Double(d); }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool copy) {
    return scalar(number_start()) && inner_.RawNumber(s, n, copy);
  }
  bool String(const char* s, rapidjson::SizeType n, bool copy) {
    return scalar(string_start()) && inner_.String(s, n, copy);
  }
  bool StartObject() { return open(false) && inner_.StartObject(); }
  bool Key(const char* s, rapidjson::SizeType n, bool copy) {
    const std::size_t start = string_start();
    frame& f = frames_.back();
    f.pending_key = escape_pointer_token({s, n});
    const std::string child = pointer_ + "/" + f.pending_key;
    if (frames_.size() <= max_recorded_depth) map_.record_key(child, start);
    if (!f.keys.emplace(s, n).second) {
      findings_.error("duplicate-key",
                      "key " + quote({s, n}) +
                          " appears twice in this object; keep one, since readers disagree on "
                          "which one wins",
                      child, start);
    }
    return inner_.Key(s, n, copy);
  }
  bool EndObject(rapidjson::SizeType n) { return close() && inner_.EndObject(n); }
  bool StartArray() { return open(true) && inner_.StartArray(); }
  bool EndArray(rapidjson::SizeType n) { return close() && inner_.EndArray(n); }

  /// The pointer of the innermost open container, for parse errors.
  [[nodiscard]] const std::string& current_pointer() const noexcept { return pointer_; }
  /// Where the nesting limit was exceeded, if it was.
  [[nodiscard]] std::optional<std::size_t> too_deep_at() const noexcept { return too_deep_at_; }

 private:
  struct frame {
    bool is_array;
    std::size_t next_index = 0;
    std::size_t parent_pointer_size;
    std::string pending_key;
    std::unordered_set<std::string> keys;
  };

  std::size_t end() const { return stream_.Tell(); }

  std::size_t number_start() const {
    const std::string_view text = map_.text();
    std::size_t i = end();
    while (i > 0 &&
           std::string_view("0123456789+-.eE").find(text[i - 1]) != std::string_view::npos) {
      --i;
    }
    return i;
  }

  // The opening quote is the nearest '"' before the closing one that is not escaped, i.e. not
  // preceded by an odd run of backslashes; a raw '"' cannot occur inside a JSON string.
  std::size_t string_start() const {
    const std::string_view text = map_.text();
    std::size_t i = end() - 1;  // the closing quote
    while (i > 0) {
      --i;
      if (text[i] != '"') continue;
      std::size_t backslashes = 0;
      while (backslashes < i && text[i - 1 - backslashes] == '\\') ++backslashes;
      if (backslashes % 2 == 0) return i;
    }
    return 0;
  }

  std::string child_pointer() {
    if (frames_.empty()) return {};
    frame& f = frames_.back();
    return pointer_ + "/" + (f.is_array ? std::to_string(f.next_index++) : f.pending_key);
  }

  bool scalar(std::size_t start) {
    if (frames_.size() > max_recorded_depth) {
      ++frames_.back().next_index;  // keeps array indices right without building the pointer
      return true;
    }
    map_.record_value(child_pointer(), start);
    return true;
  }

  bool open(bool is_array) {
    // The iterative parser reports a container before consuming its bracket, the recursive one
    // after; accept either.
    const std::size_t at = end();
    const char c = at < map_.text().size() ? map_.text()[at] : '\0';
    const std::size_t start = c == '{' || c == '[' ? at : at - 1;
    if (frames_.size() >= max_nesting_depth) {
      too_deep_at_ = start;
      return false;
    }
    std::string child = child_pointer();
    if (frames_.size() <= max_recorded_depth) map_.record_value(child, start);
    frames_.push_back({is_array, 0, pointer_.size(), {}, {}});
    pointer_ = std::move(child);
    return true;
  }

  bool close() {
    pointer_.resize(frames_.back().parent_pointer_size);
    frames_.pop_back();
    return true;
  }

  Inner& inner_;
  const rapidjson::MemoryStream& stream_;
  source_map& map_;
  finding_list& findings_;
  std::vector<frame> frames_;
  std::string pointer_;
  std::optional<std::size_t> too_deep_at_;
};

// Parses `text` into `dom`; on failure adds the finding and returns false.
bool parse_json(std::string_view text, rapidjson::Document& dom, source_map& map,
                finding_list& findings) {
  if (const std::size_t nul = text.find('\0'); nul != std::string_view::npos) {
    // RapidJSON reads NUL as end of input, which would silently drop the rest of the text.
    findings.error("malformed-json", "NUL byte in the document; JSON text cannot contain one", "",
                   nul);
    return false;
  }
  rapidjson::MemoryStream stream(text.data(), text.size());
  rapidjson::Reader reader;
  std::optional<std::size_t> too_deep_at;
  std::string failed_in;
  rapidjson::ParseResult result;
  auto generate = [&](rapidjson::Document& handler) {
    tracking_handler<rapidjson::Document> tracker(handler, stream, map, findings);
    // Iterative parsing keeps the call stack flat however deep the input nests.
    result = reader.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag>(
        stream, tracker);
    too_deep_at = tracker.too_deep_at();
    failed_in = tracker.current_pointer();
    return !result.IsError();
  };
  dom.Populate(generate);
  if (too_deep_at) {
    findings.error("nesting-too-deep",
                   "values nest more than " + std::to_string(max_nesting_depth) +
                       " levels deep; a policy document needs at most 3",
                   failed_in, *too_deep_at);
    return false;
  }
  if (result.IsError()) {
    findings.error("malformed-json",
                   std::string("invalid JSON: ") + rapidjson::GetParseError_En(result.Code()),
                   failed_in, result.Offset());
    return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Schema

// The policy schema, compiled once: the whole-document validator plus one validator per
// sub-schema, which explains failures node by node (RapidJSON reports only the first error).
class compiled_schema {
 public:
  compiled_schema() {
    source_.Parse(detail::policy_schema_json);
    if (source_.HasParseError() || !source_.IsObject()) {
      // The schema is compiled into the library; this is a build defect, not bad input.
      std::fputs("gatehouse: the built-in policy schema is not valid JSON\n", stderr);
      std::abort();
    }
    root_ = std::make_unique<rapidjson::SchemaDocument>(source_);
    by_node_.emplace(&source_, root_.get());
    add_subschemas(source_);
  }

  [[nodiscard]] const json_value& root() const noexcept { return source_; }

  /// Follows a local `$ref` to the node it names.
  [[nodiscard]] const json_value& resolve(const json_value& node) const {
    const auto ref = node.FindMember("$ref");
    if (ref == node.MemberEnd() || !ref->value.IsString()) return node;
    const std::string_view target = as_view(ref->value);
    if (target.empty() || target[0] != '#') return node;
    const std::string path(target.substr(1));
    const json_value* resolved = rapidjson::Pointer(path.c_str()).Get(source_);
    return resolved ? *resolved : node;
  }

  /// The compiled form of `node`, or null for a node under a keyword the loader does not descend
  /// into; the caller then blames the enclosing value.
  [[nodiscard]] const rapidjson::SchemaDocument* validator_for(const json_value& node) const {
    const auto it = by_node_.find(&node);
    return it != by_node_.end() ? it->second : nullptr;
  }

 private:
  // Every schema node gets a validator of its own. A node is compiled together with a copy of
  // the root's definitions so that `$ref`s inside it still resolve.
  void add_subschemas(const json_value& node) {
    if (!node.IsObject()) return;
    auto visit = [this](const json_value& child) {
      if (!child.IsObject() || child.HasMember("$ref")) return;
      if (!by_node_.contains(&child)) {
        auto copy = std::make_unique<rapidjson::Document>();
        copy->CopyFrom(child, copy->GetAllocator());
        const auto defs = source_.FindMember("definitions");
        if (defs != source_.MemberEnd() && !copy->HasMember("definitions")) {
          json_value defs_copy(defs->value, copy->GetAllocator());
          copy->AddMember("definitions", defs_copy, copy->GetAllocator());
        }
        auto compiled = std::make_unique<rapidjson::SchemaDocument>(*copy);
        by_node_.emplace(&child, compiled.get());
        copies_.push_back(std::move(copy));
        compiled_.push_back(std::move(compiled));
      }
      add_subschemas(child);
    };
    for (const char* group : {"properties", "definitions"}) {
      const auto it = node.FindMember(group);
      if (it == node.MemberEnd() || !it->value.IsObject()) continue;
      for (const auto& member : it->value.GetObject()) visit(member.value);
    }
    if (const auto items = node.FindMember("items"); items != node.MemberEnd()) {
      visit(items->value);
    }
  }

  rapidjson::Document source_;
  std::unique_ptr<rapidjson::SchemaDocument> root_;
  std::vector<std::unique_ptr<rapidjson::Document>> copies_;
  std::vector<std::unique_ptr<rapidjson::SchemaDocument>> compiled_;
  std::unordered_map<const json_value*, const rapidjson::SchemaDocument*> by_node_;
};

const compiled_schema& policy_schema() {
  static const compiled_schema schema;
  return schema;
}

std::vector<std::string_view> string_list(const json_value& node, const char* member) {
  std::vector<std::string_view> out;
  const auto it = node.FindMember(member);
  if (it == node.MemberEnd()) return out;
  if (it->value.IsArray()) {
    for (const auto& item : it->value.GetArray()) {
      if (item.IsString()) out.push_back(as_view(item));
    }
  } else if (it->value.IsObject()) {
    for (const auto& m : it->value.GetObject()) out.push_back(as_view(m.name));
  }
  return out;
}

std::string last_token(std::string_view pointer) {
  const std::size_t slash = pointer.rfind('/');
  return std::string(slash == std::string_view::npos ? pointer : pointer.substr(slash + 1));
}

// How a message names the value at `pointer`: `"effect"`, `entry 2 of "actions"`.
std::string describe_location(std::string_view pointer) {
  if (pointer.empty()) return "the document";
  const std::string token = last_token(pointer);
  if (!token.empty() && token.find_first_not_of("0123456789") == std::string::npos) {
    const std::string_view parent = pointer.substr(0, pointer.rfind('/'));
    return "entry " + token + (parent.empty() ? "" : " of " + quote(last_token(parent)));
  }
  return quote(token);
}

std::string describe_types(const json_value& node) {
  const auto it = node.FindMember("type");
  if (it == node.MemberEnd()) return "a different type";
  std::vector<std::string_view> names;
  if (it->value.IsString()) names.push_back(as_view(it->value));
  if (it->value.IsArray()) names = string_list(node, "type");
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += i + 1 == names.size() ? " or " : ", ";
    const bool vowel =
        !names[i].empty() && std::string_view("aeiou").find(names[i][0]) != std::string_view::npos;
    out += vowel ? "an " : "a ";
    out += names[i];
  }
  return out;
}

// Turns schema failures into findings with the stable codes of policy/README.md.
class schema_explainer {
 public:
  schema_explainer(const compiled_schema& schema, const source_map& map, finding_list& findings)
      : schema_(schema), map_(map), findings_(findings) {}

  /// Reports why `value` fails `node`, once per distinct problem; returns how many it reported.
  std::size_t explain(const json_value& value, const json_value& raw_node,
                      const std::string& pointer) {
    const json_value& node = schema_.resolve(raw_node);
    const rapidjson::SchemaDocument* compiled = schema_.validator_for(node);
    if (compiled == nullptr) return 0;
    rapidjson::SchemaValidator validator(*compiled);
    if (value.Accept(validator)) return 0;
    const std::string keyword = validator.GetInvalidSchemaKeyword();
    rapidjson::StringBuffer relative;
    validator.GetInvalidDocumentPointer().Stringify(relative);

    if (keyword == "type" && relative.GetSize() == 0) {
      wrong_type(value, node, pointer);
      return 1;
    }
    std::size_t reported = 0;
    const auto properties = node.FindMember("properties");
    const auto items = node.FindMember("items");
    if (value.IsObject() && properties != node.MemberEnd() && properties->value.IsObject()) {
      reported += explain_object(value, node, properties->value, pointer);
    } else if (value.IsArray() && items != node.MemberEnd() && items->value.IsObject()) {
      reported += explain_array(value, node, items->value, pointer);
    }
    if (reported == 0) {
      leaf(value, node, keyword, pointer + relative.GetString());
      reported = 1;
    }
    return reported;
  }

 private:
  std::size_t explain_object(const json_value& value, const json_value& node,
                             const json_value& properties, const std::string& pointer) {
    std::size_t reported = 0;
    const auto additional = node.FindMember("additionalProperties");
    const bool closed = additional != node.MemberEnd() && additional->value.IsFalse();
    for (const auto& member : value.GetObject()) {
      const std::string child = pointer + "/" + escape_pointer_token(as_view(member.name));
      if (const auto p = properties.FindMember(member.name); p != properties.MemberEnd()) {
        reported += explain(member.value, p->value, child);
      } else if (closed) {
        const auto allowed = string_list(node, "properties");
        findings_.error("unknown-key",
                        "unknown key " + quote(as_view(member.name)) +
                            did_you_mean(as_view(member.name), allowed) +
                            " (allowed keys: " + join_quoted(allowed) + ")",
                        child, map_.key_offset(child));
        ++reported;
      }
    }
    for (const std::string_view name : string_list(node, "required")) {
      if (find_member(value, name) != value.MemberEnd()) continue;
      std::string hint;
      if (const auto p = find_member(properties, name); p != properties.MemberEnd()) {
        const auto allowed = string_list(schema_.resolve(p->value), "enum");
        if (!allowed.empty()) hint = ", one of " + join_quoted(allowed);
      }
      const std::string_view title = string_member_or(node, "title", "object");
      findings_.error(
          "missing-key",
          (pointer.empty() ? std::string("the document") : "this " + std::string(title)) +
              " is missing required key " + quote(name) + "; add it" + hint,
          pointer, map_.value_offset(pointer));
      ++reported;
    }
    return reported;
  }

  std::size_t explain_array(const json_value& value, const json_value& node,
                            const json_value& items, const std::string& pointer) {
    std::size_t reported = 0;
    const auto min_items = node.FindMember("minItems");
    if (min_items != node.MemberEnd() && min_items->value.IsUint() &&
        value.Size() < min_items->value.GetUint()) {
      leaf(value, node, "minItems", pointer);
      ++reported;
    }
    for (rapidjson::SizeType i = 0; i < value.Size(); ++i) {
      reported += explain(value[i], items, pointer + "/" + std::to_string(i));
    }
    return reported;
  }

  void wrong_type(const json_value& value, const json_value& node, const std::string& pointer) {
    const std::string expected = pointer.empty()
                                     ? "a policy document object or an array of statements"
                                     : describe_types(node);
    findings_.error(
        "wrong-type",
        describe_location(pointer) + " must be " + expected + ", not " + json_type_name(value),
        pointer, map_.value_offset(pointer));
  }

  // A failure at a node that has no children to blame.
  void leaf(const json_value& value, const json_value& node, const std::string& keyword,
            const std::string& pointer) {
    const std::size_t offset = map_.value_offset(pointer);
    const std::string field = last_token(pointer);
    if (keyword == "enum") {
      const auto allowed = string_list(node, "enum");
      const std::string shown = value.IsString() ? quote(as_view(value)) : json_type_name(value);
      const std::string suggestion = value.IsString() ? did_you_mean(as_view(value), allowed) : "";
      if (field == "effect") {
        findings_.error(
            "bad-effect",
            "effect " + shown + " must be \"allow\" or \"deny\" (case-sensitive)" + suggestion,
            pointer, offset);
      } else if (field == "resourceType") {
        findings_.error(
            "unknown-resource-type",
            "unknown resourceType " + shown + suggestion + " (one of " + join_quoted(allowed) + ")",
            pointer, offset);
      } else {
        findings_.error("schema-violation",
                        quote(field) + " is " + shown + suggestion + "; it must be one of " +
                            join_quoted(allowed),
                        pointer, offset);
      }
    } else if (keyword == "minItems" && value.IsArray() && value.Empty()) {
      findings_.error("empty-array",
                      quote(field) + " is empty; list at least one entry (\"*\" for all)", pointer,
                      offset);
    } else if (keyword == "type") {
      wrong_type(value, node, pointer);
    } else if (keyword == "minLength" && value.IsString() && value.GetStringLength() == 0) {
      findings_.error("schema-violation", quote(field) + " must not be empty", pointer, offset);
    } else {
      findings_.error(
          "schema-violation",
          "value breaks the schema rule " + quote(keyword) + " of schemas/policy.schema.json",
          pointer, offset);
    }
  }

  const compiled_schema& schema_;
  const source_map& map_;
  finding_list& findings_;
};

// ---------------------------------------------------------------------------------------------
// Semantic checks

// The 1-based character number of byte `offset` in UTF-8 `text`.
std::size_t character_number(std::string_view text, std::size_t offset) {
  return utf8_length(text.substr(0, offset)) + 1;
}

const std::vector<std::string_view>& action_names() {
  static const std::vector<std::string_view> names = [] {
    std::vector<std::string_view> out;
    out.reserve(action_catalogue.size());
    for (const action_info& a : action_catalogue) out.push_back(a.name);
    return out;
  }();
  return names;
}

std::string_view rn_fix(rn_errc e) {
  switch (e) {
    case rn_errc::empty:
      return "write a pattern such as \"project/*\", or \"*\" for everything";
    case rn_errc::empty_segment:
      return "remove the extra ':' or fill in the segment";
    case rn_errc::missing_slash:
      return "write each segment as type/key, e.g. \"project/web\" or \"env/*\"";
    case rn_errc::trailing_slash:
      return "add the key after '/', or \"*\" for every key";
    case rn_errc::missing_type:
      return "add the type before '/', e.g. \"project/web\"";
    case rn_errc::empty_tag:
      return "remove the extra ';' or ',' or fill in the tag";
    case rn_errc::invalid_character:
      return "remove it; names cannot hold spaces or control characters, and tags follow one ';' "
             "separated by ','";
  }
  return "";
}

// The segment types FeatBit's resource names can have, in order (SPEC §2.2). A resource name is
// one of the roots below, or project, project:env, project:env:flag, project:env:segment.
bool is_producible_shape(const resource_pattern& pattern) {
  if (pattern.segments.size() == 1 && pattern.segments[0].path == "*") return true;
  static constexpr std::array<std::array<std::string_view, 3>, 9> shapes = {{
      {"workspace"},
      {"organization"},
      {"iam"},
      {"access-token"},
      {"relay-proxy"},
      {"project"},
      {"project", "env"},
      {"project", "env", "flag"},
      {"project", "env", "segment"},
  }};
  const auto& segments = pattern.segments;
  return std::any_of(shapes.begin(), shapes.end(), [&](const auto& shape) {
    const auto length = static_cast<std::size_t>(
        std::find(shape.begin(), shape.end(), std::string_view{}) - shape.begin());
    if (segments.size() != length) return false;
    for (std::size_t i = 0; i < length; ++i) {
      const std::string_view path = segments[i].path;
      const std::string_view type = path.substr(0, path.find('/'));
      // A glob in the type can stand for any type, so it never rules a shape out.
      if (type.find('*') == std::string_view::npos && type != shape[i]) return false;
    }
    return true;
  });
}

std::string type_sequence(const resource_pattern& pattern) {
  std::string out;
  for (const segment_pattern& s : pattern.segments) {
    if (!out.empty()) out += ':';
    out += std::string_view(s.path).substr(0, s.path.find('/'));
  }
  return out;
}

class statement_checker {
 public:
  statement_checker(const source_map& map, finding_list& findings, const load_options& options)
      : map_(map), findings_(findings), options_(options) {}

  void check(const json_value& stmt, const std::string& pointer) {
    if (!stmt.IsObject()) return;
    const std::string_view resource_type = string_member_or(stmt, "resourceType", {});
    const bool any_type = resource_type == "*";

    if (const auto id = stmt.FindMember("id");
        id != stmt.MemberEnd() && id->value.IsString() && id->value.GetStringLength() > 0) {
      const auto [first, inserted] =
          first_with_id_.try_emplace(std::string(as_view(id->value)), pointer);
      if (!inserted) {
        const std::string at = pointer + "/id";
        findings_.warning("duplicate-statement-id",
                          "statement id " + quote(as_view(id->value)) +
                              " is already used by the statement at " + first->second +
                              "; give each statement its own id so decisions can name it",
                          at, map_.value_offset(at));
      }
    }

    if (const json_value* actions = array_member(stmt, "actions")) {
      check_count(*actions, max_statement_actions, "too-many-actions", "actions",
                  pointer + "/actions");
      check_actions(*actions, resource_type, pointer + "/actions");
      if (any_type) warn_ignored(*actions, "actions", pointer + "/actions");
    }
    if (const json_value* resources = array_member(stmt, "resources")) {
      check_count(*resources, max_statement_resources, "too-many-resources", "resources",
                  pointer + "/resources");
      const bool all_parsed = check_resources(*resources, pointer + "/resources", !any_type);
      if (any_type) {
        warn_ignored(*resources, "resources", pointer + "/resources");
      } else if (all_parsed && !resources->Empty() && is_resource_type(resource_type)) {
        check_shapes(*resources, pointer + "/resources");
      }
    }
  }

 private:
  static const json_value* array_member(const json_value& obj, const char* name) {
    const auto it = obj.FindMember(name);
    return it != obj.MemberEnd() && it->value.IsArray() ? &it->value : nullptr;
  }

  void check_count(const json_value& list, std::size_t limit, const char* code, const char* field,
                   const std::string& pointer) {
    if (list.Size() <= limit) return;
    findings_.error(code,
                    std::string("\"") + field + "\" has " + std::to_string(list.Size()) +
                        " entries; a statement may have at most " + std::to_string(limit) +
                        "; split it into several statements",
                    pointer, map_.value_offset(pointer));
  }

  void check_actions(const json_value& actions, std::string_view resource_type,
                     const std::string& pointer) {
    for (rapidjson::SizeType i = 0; i < actions.Size(); ++i) {
      if (!actions[i].IsString()) continue;
      const std::string_view name = as_view(actions[i]);
      if (name == any_action) continue;
      const std::string at = pointer + "/" + std::to_string(i);
      const action_id id = find_action(name);
      if (id == unlisted_action) {
        findings_.error("unknown-action",
                        "unknown action " + quote(name) + did_you_mean(name, action_names()) +
                            " (actions are case-sensitive; see SPEC 2.4, or use \"*\")",
                        at, map_.value_offset(at));
      } else if (is_resource_type(resource_type) &&
                 action_catalogue[id].resource_type != resource_type) {
        findings_.warning("action-type-mismatch",
                          "action " + quote(name) + " belongs to resource type " +
                              quote(action_catalogue[id].resource_type) +
                              ", but this statement's resourceType is " + quote(resource_type) +
                              "; move it to a " + quote(action_catalogue[id].resource_type) +
                              " statement",
                          at, map_.value_offset(at));
      }
    }
  }

  // Returns whether every resource is a string that parses.
  // `compiled`: whether the patterns will be compiled (not so under resourceType "*"), and so
  // count toward the scanning globs.
  bool check_resources(const json_value& resources, const std::string& pointer, bool compiled) {
    bool all_parsed = true;
    for (rapidjson::SizeType i = 0; i < resources.Size(); ++i) {
      if (!resources[i].IsString()) {
        all_parsed = false;
        continue;
      }
      const std::string_view text = as_view(resources[i]);
      const std::string at = pointer + "/" + std::to_string(i);
      if (text.size() > max_pattern_bytes) {
        all_parsed = false;
        findings_.error("rn-too-long",
                        "resource " + quote(text) + " has " + std::to_string(text.size()) +
                            " bytes; a pattern may have at most " +
                            std::to_string(max_pattern_bytes) + "; shorten it or use \"*\"",
                        at, map_.value_offset(at));
        continue;
      }
      const auto parsed = parse_resource_pattern(text);
      if (parsed) {
        all_parsed = check_pattern_limits(*parsed, text, at) && all_parsed;
        if (compiled) count_scanning_globs(*parsed, at);
        continue;
      }
      all_parsed = false;
      const rn_error e = parsed.error();
      findings_.error(std::string(finding_code(e.code)),
                      "resource " + quote(text) + ": " + make_error_code(e.code).message() +
                          " at character " + std::to_string(character_number(text, e.offset)) +
                          "; " + std::string(rn_fix(e.code)),
                      at, offset_inside_string(map_.value_offset(at), e.offset));
    }
    return all_parsed;
  }

  // Adds the pattern's scanning globs to the set's, reporting where the set first goes over.
  void count_scanning_globs(const resource_pattern& pattern, const std::string& at) {
    const std::size_t before = scanning_globs_;
    scanning_globs_ += scanning_globs(pattern);
    if (before > options_.max_scanning_globs || scanning_globs_ <= options_.max_scanning_globs) {
      return;
    }
    findings_.add(
        options_.over_set_limits, "too-many-scanning-globs",
        "this pattern brings the globs that scan a name to " + std::to_string(scanning_globs_) +
            "; " +
            (options_.over_set_limits == severity::error ? "at most "
                                                         : "the service stores at most ") +
            std::to_string(options_.max_scanning_globs) +
            " (a glob with text of two or more bytes between two stars, like *web*, "
            "or a tag glob other than a literal, * or a prefix like beta*, costs the "
            "length of the name on every decision); use literals, prefixes or *",
        at, map_.value_offset(at));
  }

  // Reports the segment and tag limits; returns whether the pattern is within them.
  bool check_pattern_limits(const resource_pattern& pattern, std::string_view text,
                            const std::string& at) {
    if (pattern.segments.size() > max_pattern_segments) {
      findings_.error(
          "rn-too-deep",
          "resource " + quote(text) + " has " + std::to_string(pattern.segments.size()) +
              " segments; a pattern may have at most " + std::to_string(max_pattern_segments) +
              " (resource names have at most 4); a shorter pattern already matches "
              "everything below it",
          at, map_.value_offset(at));
      return false;
    }
    for (std::size_t i = 0; i < pattern.segments.size(); ++i) {
      const std::size_t tags = pattern.segments[i].tags.size();
      if (tags <= max_segment_tags) continue;
      findings_.error("rn-too-many-tags",
                      "resource " + quote(text) + ": segment " + std::to_string(i + 1) + " has " +
                          std::to_string(tags) + " tags; a segment may have at most " +
                          std::to_string(max_segment_tags) + "; use a tag glob such as \"beta-*\"",
                      at, map_.value_offset(at));
      return false;
    }
    return true;
  }

  // The byte offset of character `offset` of the string whose opening quote is at `quote_at`;
  // escapes before it make raw and decoded offsets differ, and then the string start is used.
  std::size_t offset_inside_string(std::size_t quote_at, std::size_t offset) const {
    const std::string_view raw = map_.text().substr(quote_at);
    if (raw.empty() || raw[0] != '"') return quote_at;
    const std::string_view before = raw.substr(1, offset);
    if (before.size() < offset || before.find('\\') != std::string_view::npos) return quote_at;
    return quote_at + 1 + offset;
  }

  void warn_ignored(const json_value& list, const char* field, const std::string& pointer) {
    if (list.Size() == 1 && list[0].IsString() && as_view(list[0]) == "*") return;
    findings_.warning("ignored-fields",
                      std::string("resourceType \"*\" matches every request, so \"") + field +
                          "\" is ignored; write [\"*\"] to say so, or name a resourceType",
                      pointer, map_.value_offset(pointer));
  }

  void check_shapes(const json_value& resources, const std::string& pointer) {
    std::string example;
    for (const auto& r : resources.GetArray()) {
      const auto parsed = parse_resource_pattern(as_view(r));
      if (!parsed || is_producible_shape(*parsed)) return;
      if (example.empty()) example = type_sequence(*parsed);
    }
    findings_.warning(
        "never-matches",
        "no resource here can match: resource names have the shapes workspace, organization, "
        "iam, access-token, relay-proxy, project, project:env, project:env:flag or "
        "project:env:segment, but " +
            quote(example) +
            " is none of them; e.g. write \"project/*:env/*:flag/x\" instead of \"flag/x\"",
        pointer, map_.value_offset(pointer));
  }

  const source_map& map_;
  finding_list& findings_;
  const load_options& options_;
  std::unordered_map<std::string, std::string> first_with_id_;
  std::size_t scanning_globs_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Building the result

std::string string_or_empty(const json_value& obj, const char* name) {
  return std::string(string_member_or(obj, name, {}));
}

std::vector<std::string> strings_of(const json_value& obj, const char* name) {
  std::vector<std::string> out;
  const auto it = obj.FindMember(name);
  if (it == obj.MemberEnd() || !it->value.IsArray()) return out;
  for (const auto& v : it->value.GetArray()) out.emplace_back(as_view(v));
  return out;
}

// Only called on statements the schema accepted, so every member has its type.
std::vector<statement> build_statements(const json_value& list) {
  std::vector<statement> out;
  out.reserve(list.Size());
  for (const auto& s : list.GetArray()) {
    statement st;
    st.id = string_or_empty(s, "id");
    st.resource_type = string_or_empty(s, "resourceType");
    st.effect = string_or_empty(s, "effect") == "deny" ? effect::deny : effect::allow;
    st.actions = strings_of(s, "actions");
    st.resources = strings_of(s, "resources");
    out.push_back(std::move(st));
  }
  return out;
}

// Only called on a document the schema accepted, so every member has its type.
policy_document build_document(const json_value& root) {
  policy_document doc;
  if (!root.IsObject()) {
    doc.statements = build_statements(root);
    return doc;
  }
  doc.id = string_or_empty(root, "id");
  doc.key = string_or_empty(root, "key");
  doc.name = string_or_empty(root, "name");
  doc.description = string_or_empty(root, "description");
  doc.type = string_or_empty(root, "type");
  doc.statements = build_statements(root["statements"]);
  return doc;
}

std::string byte_size(std::size_t bytes) {
  if (bytes % (std::size_t{1} << 20) == 0) return std::to_string(bytes >> 20) + " MiB";
  if (bytes % 1024 == 0) return std::to_string(bytes >> 10) + " KiB";
  return std::to_string(bytes) + " bytes";
}

load_result too_large(std::string what, std::size_t limit, std::string_view advice,
                      std::string pointer = {}) {
  load_result result;
  result.findings.push_back(
      {severity::error, "document-too-large",
       std::move(what) + " is larger than " + byte_size(limit) + "; " + std::string(advice),
       std::move(pointer), 1, 1});
  return result;
}

// The statements of a document the schema may not have accepted, and the pointer of their array.
std::pair<const json_value*, std::string> statements_of(const json_value& root) {
  if (root.IsArray()) return {&root, ""};
  if (!root.IsObject()) return {nullptr, ""};
  const auto statements = root.FindMember("statements");
  if (statements == root.MemberEnd() || !statements->value.IsArray()) return {nullptr, ""};
  return {&statements->value, "/statements"};
}

}  // namespace

namespace {

// The semantic checks and the set limits of the statement array at `pointer`.
void check_statements(const json_value& statements, const std::string& pointer,
                      const source_map& map, finding_list& findings, const load_options& options) {
  if (statements.Size() > options.max_statements) {
    findings.add(options.over_set_limits, "too-many-statements",
                 std::to_string(statements.Size()) + " statements; " +
                     (options.over_set_limits == severity::error
                          ? "at most " + std::to_string(options.max_statements) +
                                " can be stored here; split them over several policies"
                          : "the service stores at most " + std::to_string(options.max_statements) +
                                " per policy; split them over several policies"),
                 pointer, map.value_offset(pointer));
  }
  statement_checker checker(map, findings, options);
  for (rapidjson::SizeType i = 0; i < statements.Size(); ++i) {
    checker.check(statements[i], pointer + "/" + std::to_string(i));
  }
}

// The statement array at `at`, explained against the schema's statement list, or null with a
// finding that says why there is none.
const json_value* statements_at(const rapidjson::Document& dom, std::string_view at,
                                const source_map& map, finding_list& findings) {
  const std::string pointer(at);
  const json_value* value = rapidjson::Pointer(pointer.c_str()).Get(dom);
  if (value == nullptr) {
    const std::string parent = pointer.substr(0, pointer.rfind('/'));
    findings.error("missing-key",
                   "the document is missing required key " + quote(last_token(at)) +
                       "; add it, a list of statements",
                   parent, map.value_offset(parent));
    return nullptr;
  }
  if (!value->IsArray()) {
    findings.error("wrong-type",
                   describe_location(pointer) + " must be an array of statements, not " +
                       json_type_name(*value),
                   pointer, map.value_offset(pointer));
    return nullptr;
  }
  const compiled_schema& schema = policy_schema();
  schema_explainer(schema, map, findings).explain(*value, schema.root(), pointer);
  return value;
}

// load_policy (`at` empty: a document or a bare array) and load_statements (the array at `at`).
// The bytes of `value` written as compact JSON.
std::size_t compact_size(const json_value& value) {
  struct counter {
    using Ch = char;
    std::size_t bytes = 0;
    void Put(char /*c*/) noexcept { ++bytes; }
    void Flush() noexcept {}
  } out;
  rapidjson::Writer<counter> writer(out);
  value.Accept(writer);
  return out.bytes;
}

load_result load(std::string_view json, std::optional<std::string_view> at,
                 const load_options& options) {
  // The statements at `at` are held to `max_bytes`; the document around them only to the
  // largest document.
  const std::size_t max_bytes = std::min(options.max_bytes, max_document_bytes);
  const std::size_t max_document = at ? max_document_bytes : max_bytes;
  if (json.size() > max_document) {
    return too_large("the document", max_document, "split the policy into several documents");
  }
  // A UTF-8 byte order mark is invisible in editors, so positions are counted after it.
  if (json.substr(0, 3) == "\xEF\xBB\xBF") json.remove_prefix(3);

  source_map map(json);
  finding_list findings(map);
  rapidjson::Document dom;
  if (!parse_json(json, dom, map, findings)) return {std::nullopt, std::move(findings).take()};

  const json_value* statements = nullptr;
  std::string pointer;
  if (at) {
    statements = statements_at(dom, *at, map, findings);
    pointer = std::string(*at);
    if (statements != nullptr && json.size() > max_bytes && compact_size(*statements) > max_bytes) {
      return too_large("the statement list at " + pointer, max_bytes,
                       "use fewer or shorter statements", pointer);
    }
  } else {
    const compiled_schema& schema = policy_schema();
    schema_explainer(schema, map, findings).explain(dom, schema.root(), "");
    std::tie(statements, pointer) = statements_of(dom);
  }
  if (statements != nullptr) check_statements(*statements, pointer, map, findings, options);

  load_result result;
  if (!findings.has_error()) {
    if (at) {
      result.document.emplace().statements = build_statements(*statements);
    } else {
      result.document = build_document(dom);
    }
  }
  result.findings = std::move(findings).take();
  return result;
}

}  // namespace

load_result load_policy(std::string_view json, const load_options& options) {
  return load(json, std::nullopt, options);
}

load_result load_statements(std::string_view json, std::string_view at,
                            const load_options& options) {
  return load(json, at, options);
}

load_result load_policy_file(const std::string& path, const load_options& options) {
  auto unreadable = [&](const std::string& why) {
    load_result result;
    result.findings.push_back(
        {severity::error, "unreadable-file",
         "cannot read " + quote(path) + ": " + why + "; check the path and its permissions", "", 1,
         1});
    return result;
  };
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return unreadable("it is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) return unreadable(std::generic_category().message(errno));
  // Reads at most one chunk past the limit, so an oversized file is refused without reading it all.
  std::string text;
  std::array<char, std::size_t{64} * 1024> chunk{};
  while (in && text.size() <= max_document_bytes) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    text.append(chunk.data(), static_cast<std::size_t>(in.gcount()));
  }
  if (in.bad()) return unreadable("read error");
  if (text.size() > max_document_bytes) {
    return too_large("the file", max_document_bytes, "split the policy into several documents");
  }
  return load_policy(text, options);
}

std::optional<std::vector<statement>> read_statements_as_stored(std::string_view json) {
  rapidjson::Document dom;
  dom.Parse<rapidjson::kParseIterativeFlag>(json.data(), json.size());
  if (dom.HasParseError()) return std::nullopt;
  const auto [list, pointer] = statements_of(dom);
  if (list == nullptr) return std::nullopt;
  const auto text = [](const json_value& obj, const char* name) {
    return std::string(obj.IsObject() ? string_member_or(obj, name, {}) : std::string_view{});
  };
  // An entry that cannot be read is an empty string, which never compiles; a lone string stands
  // for itself beside one, so that it keeps its meaning while the statement fails closed.
  const auto strings = [](const json_value& obj, const char* name) {
    std::vector<std::string> out;
    const auto it = obj.IsObject() ? obj.FindMember(name) : obj.MemberEnd();
    if (obj.IsObject() && it != obj.MemberEnd() && it->value.IsArray()) {
      for (const auto& v : it->value.GetArray()) out.emplace_back(v.IsString() ? as_view(v) : "");
      return out;
    }
    if (obj.IsObject() && it != obj.MemberEnd() && it->value.IsString()) {
      out.emplace_back(as_view(it->value));
    }
    out.emplace_back();
    return out;
  };
  std::vector<statement> out;
  out.reserve(list->Size());
  for (const auto& s : list->GetArray()) {
    statement st;
    st.id = text(s, "id");
    st.resource_type = text(s, "resourceType");
    st.effect = text(s, "effect") == "allow" ? effect::allow : effect::deny;
    st.actions = strings(s, "actions");
    st.resources = strings(s, "resources");
    out.push_back(std::move(st));
  }
  return out;
}

std::string format_finding(std::string_view file, const finding& f) {
  std::string out(file);
  out += ':' + std::to_string(f.line) + ':' + std::to_string(f.column) + ": ";
  out += f.severity == severity::error ? "error " : "warning ";
  out += f.code + ": " + f.message;
  return out;
}

}  // namespace gatehouse::policy
