// The size limits of SPEC §10, declared once: the validator reports each as an error with its
// position, the compiler refuses what exceeds them, and the HTTP layer answers 400 naming the
// field.
#pragma once

#include <cstddef>

namespace gatehouse::policy {

/// Bytes of one resource-name pattern.
inline constexpr std::size_t max_pattern_bytes = 1024;
/// Segments of one resource-name pattern; FeatBit's deepest names have four.
inline constexpr std::size_t max_pattern_segments = 16;
/// Tags of one pattern segment.
inline constexpr std::size_t max_segment_tags = 16;
/// Actions of one statement.
inline constexpr std::size_t max_statement_actions = 100;
/// Resources of one statement.
inline constexpr std::size_t max_statement_resources = 100;
/// Statements of one stored policy. Files checked by `gatehouse check` may hold more (a warning);
/// what the service stores may not (an error).
inline constexpr std::size_t max_policy_statements = 1000;
/// Statements of one access token's permissions.
inline constexpr std::size_t max_token_statements = 100;
/// Bytes of one access token's permissions, as compact JSON.
inline constexpr std::size_t max_token_permissions_bytes = std::size_t{64} * 1024;
/// Effective statements of one member: the statements of every policy they hold, directly and
/// through groups.
inline constexpr std::size_t max_effective_statements = 10'000;
/// Scanning globs (see `scans_path` and `scans_tags` in glob.hpp) in one access token's
/// permissions, in one stored policy, and among one member's effective statements. Each costs up
/// to the length of the request's resource name on every decision, where any other pattern costs
/// its own length; these limits keep a decision within a millisecond at the size limits.
inline constexpr std::size_t max_token_scanning_globs = 32;
inline constexpr std::size_t max_policy_scanning_globs = 64;
inline constexpr std::size_t max_effective_scanning_globs = 64;
/// Bytes of one resource name in a request.
inline constexpr std::size_t max_request_resource_bytes = 4096;

}  // namespace gatehouse::policy
