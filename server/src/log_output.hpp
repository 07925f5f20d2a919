// Lines for the operator on standard output: the UTC timestamp they start with, the escaping of
// bytes a client sent, and the one serialized write that every line goes out through.
#pragma once

#include <string>
#include <string_view>

namespace gatehouse::server {

/// Appends the current UTC time as 2024-05-01T12:00:00.123Z.
void append_timestamp(std::string& line);

/// Appends `text` with every byte outside printable ASCII (and space, `"` and `\`) written as
/// \xHH: a client must not be able to forge or split log lines.
void append_escaped(std::string& line, std::string_view text);

/// Writes `text` to standard output whole, never interleaved with another thread's text. A log
/// that cannot be written (full disk, closed pipe) is given up silently.
void write_out(std::string_view text);

/// Writes `text` to `fd` whole, or gives up silently as write_out does; the caller serializes.
void write_to(int fd, std::string_view text);

}  // namespace gatehouse::server
