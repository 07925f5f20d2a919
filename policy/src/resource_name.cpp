// The resource-name grammar (SPEC §2.2) in Spirit X3, its error category and its printer.
// This is the only translation unit that instantiates the grammar, so headers stay light.
#include <gatehouse/policy/error_category.hpp>
#include <gatehouse/policy/resource_name.hpp>

#include "rn_fix.hpp"

#include <boost/fusion/include/adapt_struct.hpp>
#include <boost/spirit/home/x3.hpp>
#include <boost/system/system_error.hpp>

#include <array>
#include <optional>
#include <string>

BOOST_FUSION_ADAPT_STRUCT(gatehouse::policy::segment_pattern, path, tags)

namespace gatehouse::policy {
namespace {

namespace x3 = boost::spirit::x3;

// Ranges rather than x3::space/x3::cntrl: the classifiers call <cctype> on plain char, which is
// undefined for the negative values of UTF-8 bytes; those bytes are ordinary name characters.
const auto name_char = x3::char_ - x3::char_('\0', ' ') - x3::char_('\x7f') - x3::char_(":;,");

const auto type_text = +(name_char - '/');
// A key may hold '/', but not as its last character: `a/b/` is a trailing slash, not key `b/`.
const auto key_text = +(name_char - ('/' >> !name_char));

const x3::rule<struct path_class, std::string> path = "path";
const auto path_def = x3::raw[type_text >> '/' >> key_text] | x3::string("*");

const x3::rule<struct tag_class, std::string> tag = "tag";
const auto tag_def = +name_char;

const x3::rule<struct segment_class, segment_pattern> segment = "segment";
const auto segment_def = path >> -(';' >> (tag % ','));

// Deliberately no end-of-input check: the parse stops after the longest run of valid segments,
// and the classifier below explains why the rest did not parse.
const x3::rule<struct segments_class, std::vector<segment_pattern>> segments = "segments";
const auto segments_def = segment % ':';

BOOST_SPIRIT_DEFINE(path, tag, segment, segments)

bool is_invalid_char(char c) noexcept {
  const auto u = static_cast<unsigned char>(c);
  return u <= 0x20 || u == 0x7f;
}

// Explains why the segment starting at `start` does not parse, scanning left to right so that
// the reported offset is the first problem an author would see. Mirrors the grammar above.
std::optional<rn_error> classify_segment(std::string_view text, std::size_t start) {
  const std::size_t end = std::min(text.find(':', start), text.size());
  if (start == end) return rn_error{rn_errc::empty_segment, start};

  std::size_t i = start;
  for (; i < end && text[i] != ';'; ++i) {
    if (text[i] == ',' || is_invalid_char(text[i])) return rn_error{rn_errc::invalid_character, i};
  }
  const std::string_view path_text = text.substr(start, i - start);
  if (path_text != "*") {
    const std::size_t slash = path_text.find('/');
    if (slash == 0) return rn_error{rn_errc::missing_type, start};
    if (slash == std::string_view::npos) return rn_error{rn_errc::missing_slash, start};
    if (path_text.back() == '/') return rn_error{rn_errc::trailing_slash, i - 1};
  }
  if (i == end) return std::nullopt;

  ++i;  // past ';'
  std::size_t tag_start = i;
  for (; i <= end; ++i) {
    if (i == end || text[i] == ',') {
      if (i == tag_start) return rn_error{rn_errc::empty_tag, tag_start};
      tag_start = i + 1;
    } else if (text[i] == ';' || is_invalid_char(text[i])) {
      return rn_error{rn_errc::invalid_character, i};
    }
  }
  return std::nullopt;
}

// What each error is called in findings, what it says, and how an author fixes it: one row per
// code, indexed by code - 1 (0 is success in an error_code), so that the three never drift apart.
struct rn_errc_text {
  std::string_view finding_code;
  std::string_view message;
  std::string_view fix;
};
constexpr std::array<rn_errc_text, 7> rn_errc_texts = {{
    {"rn-empty", "empty resource name",
     "write a pattern such as \"project/*\", or \"*\" for everything"},
    {"rn-empty-segment", "empty segment between ':' separators",
     "remove the extra ':' or fill in the segment"},
    {"rn-missing-slash", "segment path has no '/' between type and key",
     "write each segment as type/key, e.g. \"project/web\" or \"env/*\""},
    {"rn-trailing-slash", "segment path ends in '/': the key is missing",
     "add the key after '/', or \"*\" for every key"},
    {"rn-missing-type", "segment path starts with '/': the type is missing",
     "add the type before '/', e.g. \"project/web\""},
    {"rn-empty-tag", "empty tag after ';' or ','",
     "remove the extra ';' or ',' or fill in the tag"},
    {"rn-invalid-character", "character not allowed in a resource name",
     "remove it; names cannot hold spaces or control characters, and tags follow one ';' "
     "separated by ','"},
}};
// A new code needs its row: the table ends at the last code.
static_assert(rn_errc_texts.size() == static_cast<std::size_t>(rn_errc::invalid_character));

const rn_errc_text* text_of(int code) noexcept {
  return code >= 1 && static_cast<std::size_t>(code) <= rn_errc_texts.size()
             ? &rn_errc_texts[static_cast<std::size_t>(code) - 1]
             : nullptr;
}

std::string_view describe(rn_errc e) noexcept {
  const rn_errc_text* text = text_of(static_cast<int>(e));
  return text != nullptr ? text->message : "unknown resource-name error";
}

}  // namespace

const boost::system::error_category& rn_category() noexcept {
  static const enum_category<rn_errc, describe> category("gatehouse.rn");
  return category;
}

void throw_exception_from_error(const rn_error& e, const boost::source_location& loc) {
  boost::throw_exception(
      boost::system::system_error(make_error_code(e.code), "at offset " + std::to_string(e.offset)),
      loc);
}

boost::system::result<resource_pattern, rn_error> parse_resource_pattern(std::string_view text) {
  if (text.empty()) return rn_error{rn_errc::empty, 0};

  resource_pattern pattern;
  auto first = text.begin();
  const bool parsed_any = x3::parse(first, text.end(), segments, pattern.segments);
  if (parsed_any && first == text.end()) return pattern;

  // The failing segment is the one after the ':' where parsing stopped, or the one that holds
  // the stray character.
  const auto stop = static_cast<std::size_t>(first - text.begin());
  std::size_t start = 0;
  if (parsed_any) {
    start = text[stop] == ':' ? stop + 1 : text.rfind(':', stop) + 1;  // npos + 1 == 0
  }
  if (auto error = classify_segment(text, start)) return *error;
  // The classifier mirrors the grammar; should they ever disagree, still fail at the stop point.
  return rn_error{rn_errc::invalid_character, stop};
}

std::string to_string(const resource_pattern& pattern) {
  std::string text;
  for (const segment_pattern& seg : pattern.segments) {
    if (&seg != &pattern.segments.front()) text += ':';
    text += seg.path;
    for (std::size_t i = 0; i < seg.tags.size(); ++i) {
      text += i == 0 ? ';' : ',';
      text += seg.tags[i];
    }
  }
  return text;
}

std::string_view finding_code(rn_errc e) {
  const rn_errc_text* text = text_of(static_cast<int>(e));
  return text != nullptr ? text->finding_code : "rn-invalid-character";
}

namespace detail {

std::string_view rn_fix(rn_errc e) noexcept {
  const rn_errc_text* text = text_of(static_cast<int>(e));
  return text != nullptr ? text->fix : "";
}

}  // namespace detail

}  // namespace gatehouse::policy
