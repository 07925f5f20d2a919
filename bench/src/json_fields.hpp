// Writing result objects: one `field` per JSON member, numbers rounded to 0.1 as printed.
#pragma once

#include "timing.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace gatehouse::bench {

/// Rounds to one decimal: nanosecond figures carry no more precision than that.
[[nodiscard]] double round1(double x);

using json_writer = rapidjson::Writer<rapidjson::StringBuffer>;

inline void field(json_writer& w, const char* key, double value) {
  w.Key(key);
  w.Double(round1(value));
}

inline void field(json_writer& w, const char* key, std::size_t value) {
  w.Key(key);
  w.Uint64(value);
}

inline void field(json_writer& w, const char* key, bool value) {
  w.Key(key);
  w.Bool(value);
}

inline void field(json_writer& w, const char* key, std::string_view value) {
  w.Key(key);
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

/// The compact JSON text that `write(w)` writes.
template <typename Write>
std::string json_text(Write&& write) {
  rapidjson::StringBuffer buffer;
  json_writer w(buffer);
  write(w);
  return buffer.GetString();
}

/// One compact JSON object, its members written by `members(w)`.
template <typename Members>
std::string json_object(Members&& members) {
  return json_text([&](json_writer& w) {
    w.StartObject();
    members(w);
    w.EndObject();
  });
}

/// `text` as a JSON string, quoted and escaped, for JSON laid out by hand.
inline std::string json_quoted(std::string_view text) {
  return json_text([&](json_writer& w) {
    w.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
  });
}

/// The median and p99 of `t` as `PREFIXmedian_ns` and `PREFIXp99_ns`.
inline void percentiles(json_writer& w, std::string_view prefix, const timing& t) {
  const std::string median = std::string(prefix) + "median_ns";
  const std::string p99 = std::string(prefix) + "p99_ns";
  field(w, median.c_str(), t.median_ns);
  field(w, p99.c_str(), t.p99_ns);
}

inline void numbers(json_writer& w, const char* key, const std::vector<double>& values) {
  w.Key(key);
  w.StartArray();
  for (const double v : values) w.Double(round1(v));
  w.EndArray();
}

}  // namespace gatehouse::bench
