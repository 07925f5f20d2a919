// The web console under /console/: its embedded files with their cache and security headers,
// and the page for every path of the console's own router.
#pragma once

#include <gatehouse/server/http_service.hpp>

#include <string_view>

namespace gatehouse::server {

/// The answer to `method` on `path` below /console/ ("" for /console/ itself, "js/app.js"),
/// given the request's If-None-Match.
[[nodiscard]] http_response console_response(std::string_view method, std::string_view path,
                                             std::string_view if_none_match);

/// The answer to `/`: a redirect to the console.
[[nodiscard]] http_response root_redirect(std::string_view method);

}  // namespace gatehouse::server
