// The loader's JSON parse, which records where every value and key starts so that findings can
// say line:column.
#pragma once

#include "source_map.hpp"

#include <rapidjson/document.h>

#include <string_view>

namespace gatehouse::policy::detail {

/// Parses `text` into `dom`, recording positions in `map` and reporting duplicate keys to
/// `findings`; on malformed or too deeply nested JSON adds the finding and returns false.
[[nodiscard]] bool parse_with_positions(std::string_view text, rapidjson::Document& dom,
                                        source_map& map, finding_list& findings);

}  // namespace gatehouse::policy::detail
