// Benchmark inputs and outputs on disk: statement files through the policy loader, request files
// as JSON lines, compilation with readable errors.
#pragma once

#include <gatehouse/engine/compiled_policy.hpp>
#include <gatehouse/engine/containment.hpp>

#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace gatehouse::bench {

/// Bad input: a file that cannot be read, does not load, or does not compile. The message is
/// ready for the user (findings as `file:line:col: severity code: message`).
class input_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Loads a policy document or bare statement array from `json`; `name` labels findings and is
/// the policy id when the document has none.
[[nodiscard]] std::vector<engine::sourced_statement> load_statements_text(std::string_view json,
                                                                          const std::string& name);
[[nodiscard]] std::vector<engine::sourced_statement> load_statements_file(const std::string& path);

/// Reads `{"action": …, "resource": …}` lines; blank lines are skipped, other keys ignored.
[[nodiscard]] std::vector<engine::request> load_requests_file(const std::string& path);

[[nodiscard]] std::shared_ptr<const engine::compiled_policy> compile_or_throw(
    std::span<const engine::sourced_statement> statements, const std::string& name);

void write_text_file(const std::string& path, std::string_view text);

}  // namespace gatehouse::bench
