// The loader's JSON parse: RapidJSON's iterative parser, with every value's and key's start
// recorded by pointer, duplicate keys reported, and the nesting bounded.
#include "position_parser.hpp"

#include "message_text.hpp"

#include <gatehouse/policy/json.hpp>

#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

namespace gatehouse::policy::detail {
namespace {

/// Deepest nesting accepted: the limit of all JSON gatehouse reads (json.hpp).
constexpr std::size_t max_nesting_depth = max_json_depth;
/// Positions are kept for pointers up to this depth (`/statements/i/actions/j`); deeper findings
/// point at their nearest recorded ancestor.
constexpr std::size_t max_recorded_depth = 4;

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
    const std::size_t start = string_start();
    return scalar(start) && encoded({s, n}, start) && inner_.String(s, n, copy);
  }
  bool StartObject() { return open(false) && inner_.StartObject(); }
  bool Key(const char* s, rapidjson::SizeType n, bool copy) {
    const std::size_t start = string_start();
    if (!encoded({s, n}, start)) return false;
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
  /// Where a string's `\u` escapes made a lone surrogate, if one did.
  [[nodiscard]] std::optional<std::size_t> not_utf8_at() const noexcept { return not_utf8_at_; }

 private:
  struct frame {
    bool is_array;
    std::size_t next_index = 0;
    std::size_t parent_pointer_size;
    std::string pending_key;
    std::unordered_set<std::string> keys;
  };

  std::size_t end() const { return stream_.Tell(); }

  // The parser checks the bytes of the text, not what `\u` escapes decode to: a lone surrogate
  // would reach findings and answers that then are not UTF-8, hence not JSON.
  bool encoded(std::string_view s, std::size_t start) {
    if (valid_utf8(s)) return true;
    not_utf8_at_ = start;
    return false;
  }

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
  std::optional<std::size_t> not_utf8_at_;
};

}  // namespace

bool parse_with_positions(std::string_view text, rapidjson::Document& dom, source_map& map,
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
  std::optional<std::size_t> not_utf8_at;
  std::string failed_in;
  rapidjson::ParseResult result;
  auto generate = [&](rapidjson::Document& handler) {
    tracking_handler<rapidjson::Document> tracker(handler, stream, map, findings);
    // Iterative parsing keeps the call stack flat however deep the input nests.
    result = reader.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag>(
        stream, tracker);
    too_deep_at = tracker.too_deep_at();
    not_utf8_at = tracker.not_utf8_at();
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
  if (not_utf8_at) {
    findings.error("malformed-json",
                   "a \\u escape in this string stands for half of a surrogate pair alone, which "
                   "is no character; write the character itself, or both halves of the pair",
                   failed_in, *not_utf8_at);
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
}  // namespace gatehouse::policy::detail
