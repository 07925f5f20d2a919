// The access log: one line per answered request, with what a client sent escaped and anything
// that could be a credential redacted, batched per I/O thread into few writes.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace gatehouse::server {

/// Bytes of a request target kept in the access log; the rest is cut, so that a line stays short
/// whatever the client sends.
inline constexpr std::size_t logged_target_limit = 512;

/// What one access-log line says about one answered request. Never a header, so never a
/// credential.
struct access_record {
  std::string_view remote;
  /// Empty when the start line is not known: the header was too large to be read whole.
  std::string_view method;
  std::string_view target;
  unsigned status = 0;
  std::chrono::microseconds duration{0};
  std::string_view subject;
};

/// Writes `record` into `line` (emptied first, its allocation kept): time, remote address, method,
/// target (path and query keys), status, duration in µs, subject.
void format_access_line(std::string& line, const access_record& record);

/// Lines collect in one buffer per I/O thread and go out in one write(2) when the buffer fills or
/// at the periodic flush: a write per request cost a quarter of the throughput of the decision
/// endpoint (bench/README.md, "HTTP"). Each buffer has its own mutex, uncontended but for the
/// flush, so threads never wait for each other to log.
class access_log {
 public:
  /// A log written to `fd` (standard output: serialized with the event lines); -1 for none.
  explicit access_log(int fd) : fd_(fd) {}

  /// Whether lines are written at all; when not, nothing need be formatted.
  [[nodiscard]] bool enabled() const noexcept { return fd_ >= 0; }

  /// Bytes a thread's buffer holds before it is written out.
  static constexpr std::size_t buffer_bytes = std::size_t{16} * 1024;
  /// How long a line may wait in a buffer.
  static constexpr std::chrono::milliseconds flush_interval{200};

  void append(std::string_view line);

  /// Writes out every thread's lines; from any thread.
  void flush();

 private:
  struct buffer {
    std::mutex mutex;
    std::string lines;
  };

  /// This thread's buffer, registered on its first line.
  buffer& local_buffer();
  void write(std::string_view lines) const;

  int fd_;

  /// Room for one more line beyond the flush threshold, so that a buffer never reallocates.
  static constexpr std::size_t logged_line_reserve = 2 * logged_target_limit;

  static inline std::atomic<std::uint64_t> next_serial{1};
  const std::uint64_t serial_ = next_serial.fetch_add(1);
  std::mutex buffers_mutex_;
  std::vector<std::unique_ptr<buffer>> buffers_;
};

}  // namespace gatehouse::server
