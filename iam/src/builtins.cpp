// The built-in policies: parsed from the text compiled into the library, or loaded from a folder.
#include <gatehouse/iam/builtins.hpp>

#include <gatehouse/policy/document.hpp>

#include "embedded_policies.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <system_error>

namespace gatehouse::iam {

namespace fs = std::filesystem;

namespace {

// One built-in document from its loaded form, or the failure that names `file` and what is wrong.
outcome<policy::policy_document> builtin_of(policy::load_result loaded, const std::string& file) {
  if (!loaded.ok()) {
    for (const auto& f : loaded.findings) {
      if (f.severity == policy::severity::error) {
        return failure(errc::field_invalid, policy::format_finding(file, f));
      }
    }
    return failure(errc::field_invalid, file + " does not load");
  }
  if (loaded.document->id.empty()) {
    return failure(errc::field_invalid, file + ": a built-in policy needs an id");
  }
  return std::move(*loaded.document);
}

}  // namespace

outcome<void> check_builtin_policies(const std::vector<policy::policy_document>& builtins,
                                     std::string_view where) {
  for (auto id : {owner_policy_id, administrator_policy_id, developer_policy_id}) {
    if (std::none_of(builtins.begin(), builtins.end(), [&](auto& doc) { return doc.id == id; })) {
      return failure(errc::field_invalid,
                     std::string(where) + " lacks built-in policy " + std::string(id));
    }
  }
  return {};
}

const std::vector<policy::policy_document>& embedded_builtin_policies() {
  static const std::vector<policy::policy_document> builtins = [] {
    std::vector<policy::policy_document> out;
    for (const auto& [file, json] : detail::embedded_policies()) {
      auto loaded = builtin_of(policy::load_policy(json), std::string(file));
      if (!loaded) {
        // The files are checked by the test suite before they are embedded: a build defect.
        std::fprintf(stderr, "gatehouse: embedded built-in policy: %s\n",
                     loaded.error().detail.c_str());
        std::abort();
      }
      out.push_back(std::move(*loaded));
    }
    return out;
  }();
  return builtins;
}

outcome<std::vector<policy::policy_document>> load_builtin_policies(const std::string& dir) {
  std::error_code ec;
  std::vector<fs::path> files;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file() && it->path().extension() == ".json") files.push_back(it->path());
  }
  if (ec) {
    return failure(errc::field_invalid, "cannot read policy folder " + dir + ": " + ec.message());
  }
  std::sort(files.begin(), files.end());
  std::vector<policy::policy_document> out;
  for (const auto& file : files) {
    auto loaded = builtin_of(policy::load_policy_file(file.string()), file.string());
    if (!loaded) return loaded.error();
    out.push_back(std::move(*loaded));
  }
  if (auto ok = check_builtin_policies(out, "policy folder " + dir); !ok) return ok.error();
  return out;
}

}  // namespace gatehouse::iam
