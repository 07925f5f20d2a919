// Serving the console: a file by its path, the page for the console's own routes, 304 for what
// the browser holds already, and headers that keep the page to its own origin.
#include "console.hpp"

#include "console_assets.hpp"
#include "http_fields.hpp"

#include <algorithm>

namespace gatehouse::server {

namespace {

// Scripts, styles, images and API calls from this origin only; no inline script or style, no
// frames, no plugins, no form posted elsewhere.
constexpr std::string_view content_security_policy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'";

constexpr std::string_view page_path = "index.html";

const console_asset* find_asset(std::string_view path) noexcept {
  const auto assets = console_assets();
  const auto it =
      std::lower_bound(assets.begin(), assets.end(), path,
                       [](const console_asset& a, std::string_view p) { return a.path < p; });
  return it != assets.end() && it->path == path ? &*it : nullptr;
}

/// A path of the console's router (`access-tokens`, `sign-in`): no file extension.
bool is_page_route(std::string_view path) noexcept {
  const auto last = path.substr(path.rfind('/') + 1);
  return last.find('.') == std::string_view::npos;
}

/// True when `if_none_match` (a comma-separated list of ETags, or `*`) names `etag`. The
/// comparison is weak (RFC 9110 13.1.2), as If-None-Match asks: W/"x" names "x".
bool names_etag(std::string_view if_none_match, std::string_view etag) noexcept {
  if (if_none_match.empty()) return false;
  bool named = false;
  for_each_item(if_none_match, [&](std::string_view item) {
    if (item.starts_with("W/")) item.remove_prefix(2);
    named = named || item == "*" || item == etag;
  });
  return named;
}

http_response plain(unsigned status, std::string_view text) {
  http_response r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = text;
  return r;
}

}  // namespace

http_response console_response(std::string_view method, std::string_view path,
                               std::string_view if_none_match) {
  if (method != "GET" && method != "HEAD") {
    auto r = plain(405, "Method Not Allowed\n");
    r.headers.emplace_back("Allow", "GET, HEAD");
    return r;
  }
  const console_asset* asset = find_asset(path.empty() ? page_path : path);
  if (asset == nullptr && is_page_route(path)) asset = find_asset(page_path);
  if (asset == nullptr) return plain(404, "Not Found\n");

  http_response r;
  r.content_type = asset->content_type;
  // Kept, but asked about again each time: file names carry no version, and a 304 is cheap.
  r.cache_control = "no-cache";
  r.headers.emplace_back("ETag", asset->etag);
  r.headers.emplace_back("Content-Security-Policy", content_security_policy);
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  r.headers.emplace_back("Cross-Origin-Opener-Policy", "same-origin");
  if (names_etag(if_none_match, asset->etag)) {
    r.status = 304;
    r.content_type.clear();
    return r;
  }
  if (method == "GET") r.body = asset->body;
  return r;
}

http_response root_redirect(std::string_view method) {
  if (method != "GET" && method != "HEAD") {
    auto r = plain(405, "Method Not Allowed\n");
    r.headers.emplace_back("Allow", "GET, HEAD");
    return r;
  }
  auto r = plain(302, "Found: /console/\n");
  r.headers.emplace_back("Location", "/console/");
  return r;
}

}  // namespace gatehouse::server
