// The console's files, compiled into the server (cmake/embed_console.cmake writes their bytes).
#pragma once

#include <span>
#include <string_view>

namespace gatehouse::server {

struct console_asset {
  std::string_view path;  // below /console/, e.g. "js/app.js"
  std::string_view content_type;
  std::string_view etag;  // a strong ETag, quoted: a digest of the bytes
  std::string_view body;
};

/// Every file of console/ except its tests, sorted by path.
[[nodiscard]] std::span<const console_asset> console_assets() noexcept;

}  // namespace gatehouse::server
