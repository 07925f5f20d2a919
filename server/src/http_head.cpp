// The head of an answer, written by hand as Beast's serializer would write it.
#include "http_head.hpp"

#include <boost/beast/http/status.hpp>

#include <charconv>
#include <cstddef>

namespace gatehouse::server {

namespace {

bool safe(std::string_view text) noexcept {
  return text.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

void append_field(std::string& head, std::string_view name, std::string_view value) {
  head += name;
  head += ": ";
  head += value;
  head += "\r\n";
}

void append_number(std::string& head, std::size_t n) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, n).ptr;
  head.append(digits, end);
}

}  // namespace

bool write_head(std::string& head, unsigned version, const http_response& response,
                bool keep_alive) {
  head.clear();
  if (!safe(response.content_type) || !safe(response.cache_control)) return false;
  for (const auto& [name, value] : response.headers) {
    if (!safe(name) || !safe(value)) return false;
  }
  const unsigned status = response.status;
  head += "HTTP/";
  head += static_cast<char>('0' + version / 10 % 10);
  head += '.';
  head += static_cast<char>('0' + version % 10);
  head += ' ';
  append_number(head, status);
  head += ' ';
  const auto reason =
      boost::beast::http::obsolete_reason(static_cast<boost::beast::http::status>(status));
  head.append(reason.data(), reason.size());
  head += "\r\n";
  if (!response.content_type.empty()) append_field(head, "Content-Type", response.content_type);
  if (!response.cache_control.empty()) append_field(head, "Cache-Control", response.cache_control);
  append_field(head, "X-Content-Type-Options", "nosniff");
  for (const auto& [name, value] : response.headers) append_field(head, name, value);
  // HTTP/1.1 keeps a connection open unless told; HTTP/1.0 closes it unless told.
  if (version >= 11 && !keep_alive) append_field(head, "Connection", "close");
  if (version < 11 && keep_alive) append_field(head, "Connection", "keep-alive");
  if (has_body(status)) {
    head += "Content-Length: ";
    append_number(head, response.body.size());
    head += "\r\n";
  }
  head += "\r\n";
  return true;
}

}  // namespace gatehouse::server
