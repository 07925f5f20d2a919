// Timestamps, escaping and the serialized write to standard output behind the access log and
// log_event.
#include "log_output.hpp"

#include <gatehouse/store/utc_time.hpp>

#include <gatehouse/server/listener.hpp>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <mutex>

#include <unistd.h>

namespace gatehouse::server {
namespace {

/// Serializes writes to standard output: access-log flushes from several threads and event lines
/// never interleave, even in a pipe, where a write over PIPE_BUF bytes may be split.
std::mutex stdout_mutex;

}  // namespace

void append_timestamp(std::string& line) {
  const auto text = store::utc_time(
      std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now()));
  line.append(text.data(), text.size());
}

void append_escaped(std::string& line, std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  const auto plain = [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte > 0x20 && byte < 0x7f && c != '"' && c != '\\';
  };
  while (!text.empty()) {
    // What needs no escape goes in a run at a time: every line has several such parts.
    std::size_t run = 0;
    while (run < text.size() && plain(text[run])) ++run;
    line.append(text.data(), run);
    if (run == text.size()) return;
    const auto byte = static_cast<unsigned char>(text[run]);
    const char escaped[] = {'\\', 'x', hex[byte >> 4], hex[byte & 0xf]};
    line.append(escaped, sizeof escaped);
    text.remove_prefix(run + 1);
  }
}

void write_to(int fd, std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    // A log that cannot be written (full disk, closed pipe) must not stop the service.
    if (n <= 0) return;
    text.remove_prefix(static_cast<std::size_t>(n));
  }
}

void write_out(std::string_view text) {
  const std::lock_guard lock(stdout_mutex);
  write_to(STDOUT_FILENO, text);
}

void log_event(std::string_view message) {
  std::string line;
  line.reserve(32 + message.size());
  append_timestamp(line);
  line.push_back(' ');
  for (const char c : message) line.push_back(c == '\n' || c == '\r' ? ' ' : c);
  line.push_back('\n');
  write_out(line);
}

}  // namespace gatehouse::server
