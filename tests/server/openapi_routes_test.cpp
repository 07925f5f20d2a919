// schemas/openapi.json against the route tables, both ways: every route of access_routes(),
// iam_routes() and author_routes() is an operation of the document, every /api/v1 operation of
// the document is a route, and the paths outside the API are the few the handler serves. Every
// operation answers something, every path parameter is declared, and every $ref resolves.
#include "routes.hpp"

#include "service_fixture.hpp"

#include <rapidjson/document.h>
#include <rapidjson/pointer.h>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace gatehouse::server {
namespace {

namespace fs = std::filesystem;

fs::path schemas_dir() { return fs::path(GATEHOUSE_SOURCE_DIR) / "schemas"; }
constexpr std::string_view api_prefix = "/api/v1/";
constexpr std::string_view http_methods[] = {"get",  "put",     "post",  "delete",
                                             "head", "options", "patch", "trace"};

std::unique_ptr<rapidjson::Document> load_json(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  BOOST_TEST_REQUIRE(in.good(), "cannot open " << file);
  const std::string text{std::istreambuf_iterator<char>(in), {}};
  auto doc = std::make_unique<rapidjson::Document>();
  doc->Parse(text.data(), text.size());
  BOOST_TEST_REQUIRE(!doc->HasParseError(), file << " is not JSON");
  BOOST_TEST_REQUIRE(doc->IsObject(), file << " is not a JSON object");
  return doc;
}

const rapidjson::Document& openapi() {
  static const auto doc = load_json(schemas_dir() / "openapi.json");
  return *doc;
}

/// One operation of the document: the method in upper case, as the route tables spell it, and
/// the path as the document writes it (`/api/v1/groups/{id}/add-member/{memberId}`).
struct operation {
  std::string method;
  std::string path;
  const rapidjson::Value* node;
};

std::vector<operation> document_operations() {
  const auto& paths = openapi()["paths"];
  BOOST_TEST_REQUIRE(paths.IsObject());
  std::vector<operation> out;
  for (const auto& path : paths.GetObject()) {
    for (const std::string_view method : http_methods) {
      const auto it = path.value.FindMember(rapidjson::StringRef(method.data(), method.size()));
      if (it == path.value.MemberEnd()) continue;
      std::string upper(method);
      std::transform(upper.begin(), upper.end(), upper.begin(),
                     [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
      out.push_back({upper, path.name.GetString(), &it->value});
    }
  }
  return out;
}

std::vector<route> route_table() {
  std::vector<route> out;
  for (const auto table : {access_routes(), iam_routes(), author_routes()}) {
    out.insert(out.end(), table.begin(), table.end());
  }
  return out;
}

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  while (true) {
    const auto slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) return out;
    path.remove_prefix(slash + 1);
  }
}

bool is_template(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

/// Whether the document's `path` is the route `pattern` below /api/v1: segment by segment, a
/// route's `{}` against any `{name}` of the document, every other segment literally.
bool same_path(std::string_view path, std::string_view pattern) {
  if (!path.starts_with(api_prefix)) return false;
  const auto documented = split_path(path.substr(api_prefix.size()));
  const auto routed = split_path(pattern);
  if (documented.size() != routed.size()) return false;
  for (std::size_t i = 0; i < routed.size(); ++i) {
    const bool matches =
        routed[i] == "{}" ? is_template(documented[i]) : documented[i] == routed[i];
    if (!matches) return false;
  }
  return true;
}

// ---- $ref resolution ---------------------------------------------------------------------------

/// Resolves every `$ref` of `node`, written in `file`: `#/pointer` within the file, or
/// `other.json#/pointer` (`other.json` for its whole) relative to the file's folder. Each file a
/// reference reaches is checked in turn, once.
class ref_checker {
 public:
  void check_file(const fs::path& file, const rapidjson::Value& root) {
    if (!checked_.insert(file.lexically_normal().string()).second) return;
    walk(file, root, root);
  }

  std::size_t resolved() const noexcept { return resolved_; }

 private:
  void walk(const fs::path& file, const rapidjson::Value& root, const rapidjson::Value& node) {
    if (node.IsArray()) {
      for (const auto& item : node.GetArray()) walk(file, root, item);
      return;
    }
    if (!node.IsObject()) return;
    for (const auto& member : node.GetObject()) {
      if (std::string_view(member.name.GetString()) == "$ref" && member.value.IsString()) {
        resolve(file, root, member.value.GetString());
      } else {
        walk(file, root, member.value);
      }
    }
  }

  void resolve(const fs::path& file, const rapidjson::Value& root, const std::string& ref) {
    const auto hash = ref.find('#');
    const std::string target_file = ref.substr(0, hash);
    const std::string pointer = hash == std::string::npos ? "" : ref.substr(hash + 1);
    const rapidjson::Value* target_root = &root;
    fs::path target_path = file;
    if (!target_file.empty()) {
      target_path = (file.parent_path() / target_file).lexically_normal();
      auto& loaded = others_[target_path.string()];
      if (!loaded) {
        BOOST_TEST_REQUIRE(fs::is_regular_file(target_path),
                           file.filename() << ": " << ref << " names no file");
        loaded = load_json(target_path);
      }
      target_root = loaded.get();
    }
    const rapidjson::Pointer parsed(pointer.c_str());
    BOOST_TEST(parsed.IsValid(), file.filename() << ": " << ref << " is not a JSON pointer");
    const rapidjson::Value* target = parsed.IsValid() ? parsed.Get(*target_root) : nullptr;
    BOOST_TEST(target != nullptr, file.filename() << ": " << ref << " resolves to nothing");
    if (target != nullptr) ++resolved_;
    if (target_root != &root) check_file(target_path, *target_root);
  }

  std::set<std::string> checked_;
  std::map<std::string, std::unique_ptr<rapidjson::Document>> others_;
  std::size_t resolved_ = 0;
};

/// `node`, or what its `$ref` names within the document.
const rapidjson::Value& dereferenced(const rapidjson::Value& node) {
  if (!node.IsObject() || !node.HasMember("$ref") || !node["$ref"].IsString()) return node;
  const std::string ref = node["$ref"].GetString();
  BOOST_TEST_REQUIRE(ref.starts_with("#"), ref);
  const rapidjson::Value* target = rapidjson::Pointer(ref.substr(1).c_str()).Get(openapi());
  BOOST_TEST_REQUIRE(target != nullptr, ref);
  return *target;
}

/// The names of the path parameters declared in `parameters` (an array, or absent).
void add_path_parameters(const rapidjson::Value& owner, std::set<std::string>& names) {
  const auto it = owner.FindMember("parameters");
  if (it == owner.MemberEnd()) return;
  BOOST_TEST_REQUIRE(it->value.IsArray());
  for (const auto& raw : it->value.GetArray()) {
    const auto& p = dereferenced(raw);
    if (p.HasMember("in") && std::string_view(p["in"].GetString()) == "path") {
      BOOST_TEST((p.HasMember("required") && p["required"].IsTrue()), p["name"].GetString());
      names.insert(p["name"].GetString());
    }
  }
}

BOOST_AUTO_TEST_SUITE(openapi_document)

BOOST_AUTO_TEST_CASE(every_route_is_an_operation) {
  const auto operations = document_operations();
  const auto routes = route_table();
  BOOST_TEST_REQUIRE(routes.size() >= 30U);
  for (const route& r : routes) {
    const bool documented = std::any_of(operations.begin(), operations.end(), [&](const auto& op) {
      return op.method == r.method && same_path(op.path, r.pattern);
    });
    BOOST_TEST(documented, r.method << " /api/v1/" << r.pattern
                                    << " is a route that schemas/openapi.json does not describe");
  }
}

BOOST_AUTO_TEST_CASE(every_api_operation_is_a_route) {
  const auto routes = route_table();
  std::size_t api_operations = 0;
  for (const operation& op : document_operations()) {
    if (!op.path.starts_with(api_prefix)) continue;
    ++api_operations;
    const bool routed = std::any_of(routes.begin(), routes.end(), [&](const route& r) {
      return op.method == r.method && same_path(op.path, r.pattern);
    });
    BOOST_TEST(routed, op.method << " " << op.path
                                 << " is described by schemas/openapi.json but is in none of "
                                    "access_routes(), iam_routes(), author_routes()");
  }
  BOOST_TEST(api_operations >= routes.size());
}

// The paths outside the API are served by http_service.cpp itself; each one of the document is
// asked of the handler, which must answer it as the document says.
BOOST_AUTO_TEST_CASE(operations_outside_the_api_are_what_the_handler_serves) {
  struct served {
    std::string operation;  // as the document writes it
    std::string target;     // a request for it
    unsigned status;
  };
  const std::vector<served> expected = {
      {"GET /healthz", "/healthz", 200},
      {"GET /metrics", "/metrics", 200},
      {"GET /", "/", 302},
      {"GET /console/", "/console/", 200},
      {"GET /console/{path}", "/console/js/app.js", 200},
  };
  std::set<std::string> documented;
  for (const operation& op : document_operations()) {
    if (!op.path.starts_with(api_prefix)) documented.insert(op.method + ' ' + op.path);
  }
  std::set<std::string> listed;
  for (const auto& s : expected) listed.insert(s.operation);
  for (const auto& op : documented) {
    BOOST_TEST(listed.contains(op), op << " is described by schemas/openapi.json but is not among "
                                          "the paths outside the API that the handler serves");
  }
  for (const auto& op : listed) {
    BOOST_TEST(documented.contains(op), op << " is not described by schemas/openapi.json");
  }

  testing::service_fixture f;
  for (const auto& s : expected) {
    const auto response = f.service->handle_request({.method = "GET", .target = s.target});
    BOOST_TEST(response.status == s.status, s.operation << " -> " << response.status);
  }
}

BOOST_AUTO_TEST_CASE(every_operation_answers_and_has_an_id) {
  std::set<std::string> ids;
  for (const operation& op : document_operations()) {
    const std::string name = op.method + ' ' + op.path;
    const auto responses = op.node->FindMember("responses");
    BOOST_TEST_REQUIRE((responses != op.node->MemberEnd() && responses->value.IsObject()), name);
    BOOST_TEST(responses->value.MemberCount() > 0U, name << " has no response");
    const auto id = op.node->FindMember("operationId");
    BOOST_TEST_REQUIRE((id != op.node->MemberEnd() && id->value.IsString()), name);
    BOOST_TEST(ids.insert(id->value.GetString()).second,
               name << ": operationId " << id->value.GetString() << " is used twice");
  }
}

BOOST_AUTO_TEST_CASE(every_path_parameter_is_declared) {
  for (const auto& path : openapi()["paths"].GetObject()) {
    const std::string_view text = path.name.GetString();
    std::set<std::string> in_path;
    for (const auto segment : split_path(text)) {
      if (is_template(segment)) in_path.emplace(segment.substr(1, segment.size() - 2));
    }
    std::set<std::string> path_level;
    add_path_parameters(path.value, path_level);
    for (const std::string_view method : http_methods) {
      const auto op = path.value.FindMember(rapidjson::StringRef(method.data(), method.size()));
      if (op == path.value.MemberEnd()) continue;
      std::set<std::string> declared = path_level;
      add_path_parameters(op->value, declared);
      BOOST_TEST((declared == in_path), method << " " << text
                                               << ": path parameters declared and in the path "
                                                  "differ");
    }
  }
}

BOOST_AUTO_TEST_CASE(every_ref_resolves) {
  ref_checker checker;
  checker.check_file(schemas_dir() / "openapi.json", openapi());
  BOOST_TEST(checker.resolved() > 100U);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace gatehouse::server
