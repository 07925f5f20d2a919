// The policy document JSON Schema (schemas/policy.schema.json), compiled into the library.
#pragma once

namespace gatehouse::policy::detail {

/// The schema text, NUL-terminated; generated from schemas/policy.schema.json at configure time.
extern const char* const policy_schema_json;

}  // namespace gatehouse::policy::detail
