// Policy statements and documents as loaded from JSON, before compilation.
#pragma once

#include <string>
#include <vector>

namespace gatehouse::policy {

enum class effect : unsigned char { allow, deny };

/// One IAM statement. Values are kept as written; `resource_type == "*"` makes the statement
/// match every request regardless of its actions and resources (SPEC §2.3).
struct statement {
  std::string id;
  std::string resource_type;
  policy::effect effect = effect::allow;
  std::vector<std::string> actions;
  std::vector<std::string> resources;

  friend bool operator==(const statement&, const statement&) = default;
};

/// A policy document. A bare statement array loads as a document with empty metadata.
struct policy_document {
  std::string id;
  std::string key;
  std::string name;
  std::string description;
  std::string type;
  std::vector<statement> statements;
};

}  // namespace gatehouse::policy
