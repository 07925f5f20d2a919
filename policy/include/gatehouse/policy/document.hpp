// Loading policy documents from JSON text, with validation findings that point at line:column.
#pragma once

#include <gatehouse/policy/limits.hpp>
#include <gatehouse/policy/statement.hpp>

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace gatehouse::policy {

enum class severity : unsigned char { error, warning };

/// One validation finding (SPEC §2.5). `code` is stable and documented in policy/README.md;
/// `pointer` is a JSON pointer into the document; line and column are 1-based.
struct finding {
  policy::severity severity = severity::error;
  std::string code;
  std::string message;
  std::string pointer;
  std::size_t line = 1;
  std::size_t column = 1;
};

/// The outcome of loading one document. `document` is set only when there is no error finding;
/// warnings never stop a document from loading.
struct load_result {
  std::optional<policy_document> document;
  std::vector<finding> findings;

  [[nodiscard]] bool ok() const noexcept { return document.has_value(); }
};

/// What a document is loaded as. Every per-pattern and per-statement limit is always an error;
/// the limits of the whole set (statements, scanning globs) are warnings for a file checked on
/// its own and errors for what the service stores (SPEC §10).
struct load_options {
  std::size_t max_statements = max_policy_statements;
  std::size_t max_scanning_globs = max_policy_scanning_globs;
  policy::severity over_set_limits = severity::warning;
  /// The largest document, in bytes; beyond it, one `document-too-large` error. For
  /// `load_statements`, the largest statement array written compactly, in a document of up to
  /// 4 MiB.
  std::size_t max_bytes = std::size_t{4} << 20;
};

/// A policy's statements as the service stores them (`gatehouse check --stored`).
inline constexpr load_options stored_policy{max_policy_statements, max_policy_scanning_globs,
                                            severity::error};
/// An access token's permissions.
inline constexpr load_options token_permissions{max_token_statements, max_token_scanning_globs,
                                                severity::error, max_token_permissions_bytes};

/// Parses and validates `json`, a policy document or a bare array of statements.
[[nodiscard]] load_result load_policy(std::string_view json, const load_options& options = {});

/// Loads the statement array at JSON pointer `at` of `json` (a request body, say), validated as
/// `load_policy` validates statements; findings point into the whole of `json`. The document
/// holds the statements only. A value at `at` that is not an array is a `wrong-type` error; none
/// at all, a `missing-key` error.
[[nodiscard]] load_result load_statements(std::string_view json, std::string_view at,
                                          const load_options& options = {});

/// The statements as compact JSON, an array in the shape `load_policy` reads: the one writer of
/// statements.
[[nodiscard]] std::string to_json(std::span<const statement> statements);
/// One statement as a compact JSON object, as written in the array.
[[nodiscard]] std::string to_json(const statement& s);
/// A whole document as compact JSON, in the shape `load_policy` reads (empty metadata left out).
[[nodiscard]] std::string to_json(const policy_document& d);

/// A request as a JSON object, `{"action", "resource"}`: how a counterexample is written.
[[nodiscard]] std::string request_json(std::string_view action, std::string_view resource);

/// A finding as a JSON object: `{"file"?, "line", "column", "severity", "code", "message",
/// "pointer"}`, with "file" only when `file` is not empty.
[[nodiscard]] std::string to_json(const finding& f, std::string_view file = {});

/// Reads `path` and loads it; a file that cannot be read gives one `unreadable-file` error.
[[nodiscard]] load_result load_policy_file(const std::string& path,
                                           const load_options& options = {});

/// The statements of `json` (a statement array, or a document holding one) as they are written,
/// checked for shape only: for statements stored long ago that the validator of today refuses,
/// which then compile fail-closed, statement by statement. An effect other than "allow" reads as
/// "deny"; an action or resource that is not a string, and a list that is missing or not a list,
/// read as an empty string (which never compiles), a lone string as itself beside one; so that
/// nothing read here grants more, or denies less, than was written. Nothing when the text is not
/// JSON or holds no statement array.
[[nodiscard]] std::optional<std::vector<statement>> read_statements_as_stored(
    std::string_view json);

/// Formats a finding as `file:line:col: severity code: message`.
[[nodiscard]] std::string format_finding(std::string_view file, const finding& f);

}  // namespace gatehouse::policy
