// The access log's line format (with the redaction of credential-like parts of a target) and
// its per-thread buffers.
#include "access_log.hpp"

#include <gatehouse/iam/secrets.hpp>
#include "log_output.hpp"

#include <charconv>

#include <unistd.h>

namespace gatehouse::server {
namespace {

/// Whether a path segment or query key could be a credential: an access-token secret or a JWT
/// put in the URL by mistake. It is replaced in the log; no route takes such a segment.
bool looks_like_credential(std::string_view text) noexcept {
  return text.starts_with("api-") || text.starts_with("eyJ") || iam::looks_like_token_secret(text);
}

void append_redacted(std::string& line, std::string_view part) {
  if (looks_like_credential(part)) {
    line += "[redacted]";
  } else {
    append_escaped(line, part);
  }
}

template <class Integer>
void append_number(std::string& line, Integer n) {
  char digits[24];
  line.append(digits, std::to_chars(digits, digits + sizeof digits, n).ptr);
}

/// Appends `target` for the access log: the path, and of the query only its keys. Secrets never
/// belong in a URL, but a query value may be a name or e-mail address that need not be logged.
void append_target(std::string& line, std::string_view target) {
  if (target.size() > logged_target_limit) target = target.substr(0, logged_target_limit);
  const auto query_start = target.find('?');
  const std::string_view path = target.substr(0, query_start);
  for (std::size_t start = 0;;) {
    const auto slash = path.find('/', start);
    append_redacted(line, path.substr(start, slash - start));
    if (slash == std::string_view::npos) break;
    line.push_back('/');
    start = slash + 1;
  }
  if (query_start == std::string_view::npos) return;
  line.push_back('?');
  std::string_view query = target.substr(query_start + 1);
  for (bool first = true; !query.empty(); first = false) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    if (!first) line.push_back('&');
    append_redacted(line, pair.substr(0, pair.find('=')));
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
  }
}

}  // namespace

void format_access_line(std::string& line, const access_record& record) {
  line.clear();
  append_timestamp(line);
  line.push_back(' ');
  line += record.remote;
  line.push_back(' ');
  if (!record.method.empty()) {
    append_escaped(line, record.method);
    line.push_back(' ');
    append_target(line, record.target);
  } else {
    line += "- -";
  }
  line.push_back(' ');
  append_number(line, record.status);
  line.push_back(' ');
  append_number(line, record.duration.count());
  line += "us ";
  append_escaped(line, record.subject);
}

void access_log::append(std::string_view line) {
  if (!enabled()) return;
  buffer& b = local_buffer();
  const std::lock_guard lock(b.mutex);
  b.lines.append(line);
  b.lines.push_back('\n');
  if (b.lines.size() >= buffer_bytes) {
    write(b.lines);
    b.lines.clear();
  }
}

void access_log::write(std::string_view lines) const {
  if (fd_ == STDOUT_FILENO) return write_out(lines);
  write_to(fd_, lines);
}

void access_log::flush() {
  const std::lock_guard registry(buffers_mutex_);
  for (const auto& b : buffers_) {
    const std::lock_guard lock(b->mutex);
    write(b->lines);
    b->lines.clear();
  }
}

// The cache names the log by a serial number, not its address: a later server in the same
// process may reuse the address.
access_log::buffer& access_log::local_buffer() {
  thread_local std::uint64_t cached_log = 0;
  thread_local buffer* cached_buffer = nullptr;
  if (cached_log != serial_) {
    const std::lock_guard registry(buffers_mutex_);
    buffers_.push_back(std::make_unique<buffer>());
    buffers_.back()->lines.reserve(buffer_bytes + logged_line_reserve);
    cached_buffer = buffers_.back().get();
    cached_log = serial_;
  }
  return *cached_buffer;
}

}  // namespace gatehouse::server
