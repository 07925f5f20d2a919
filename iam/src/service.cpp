// The IAM service: an immutable directory snapshot (organizations, members, groups, policies and
// every member's compiled rights) swapped atomically on each change, and a token index on
// Boost.MultiIndex read under a shared lock. Every change is committed to the store before it is
// published, so what a caller was told happened survives a crash.
#include <gatehouse/iam/service.hpp>

#include <gatehouse/engine/containment.hpp>
#include <gatehouse/policy/catalogue.hpp>
#include <gatehouse/policy/document.hpp>
#include <gatehouse/policy/glob.hpp>
#include <gatehouse/policy/text.hpp>

#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/multi_index/composite_key.hpp>
#include <boost/multi_index/hashed_index.hpp>
#include <boost/multi_index/member.hpp>
#include <boost/multi_index/ordered_index.hpp>
#include <boost/multi_index_container.hpp>
#include <chrono>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>
#include <unordered_set>

#include "cow_map.hpp"

namespace gatehouse::iam {

std::string_view to_string(policy_kind k) noexcept {
  switch (k) {
    case policy_kind::sys_managed:
      return "SysManaged";
    case policy_kind::access_token:
      return "AccessToken";
    case policy_kind::customer_managed:
      break;
  }
  return "CustomerManaged";
}

std::string_view to_string(subject_kind k) noexcept {
  switch (k) {
    case subject_kind::personal_token:
      return "personal-token";
    case subject_kind::service_token:
      return "service-token";
    case subject_kind::member:
      break;
  }
  return "member";
}

namespace {

namespace mi = boost::multi_index;

constexpr std::string_view manage_iam = "CanManageIAM";
constexpr std::string_view iam_resource = "iam/*";
constexpr std::string_view token_resource = "access-token/*";
/// The policy id under which token statements (service statements, personal scopes) report.
constexpr std::string_view token_policy_id = "access-token";

store::timestamp now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

using uuid = std::array<unsigned char, 16>;

std::optional<uuid> random_uuid() {
  uuid u{};
  if (RAND_bytes(u.data(), static_cast<int>(u.size())) != 1) return std::nullopt;
  u[6] = static_cast<unsigned char>((u[6] & 0x0f) | 0x40);  // version 4
  u[8] = static_cast<unsigned char>((u[8] & 0x3f) | 0x80);  // RFC 4122 variant
  return u;
}

std::string format_uuid(const uuid& u) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (std::size_t i = 0; i < u.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += hex[u[i] >> 4];
    out += hex[u[i] & 0xf];
  }
  return out;
}

std::optional<uuid> parse_uuid(std::string_view text) {
  if (text.size() != 36) return std::nullopt;
  uuid u{};
  std::size_t byte = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i] != '-') return std::nullopt;
      continue;
    }
    const char c = text[i];
    int v = 0;
    if (c >= '0' && c <= '9') {
      v = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      v = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      v = c - 'A' + 10;
    } else {
      return std::nullopt;
    }
    u[byte / 2] = static_cast<unsigned char>(byte % 2 == 0 ? v << 4 : u[byte / 2] | v);
    ++byte;
  }
  return u;
}

outcome<std::string> new_id() {
  const auto u = random_uuid();
  if (!u) return failure(errc::randomness_unavailable, "no random id");
  return format_uuid(*u);
}

// Names are unique per organization case-insensitively, compared as FeatBit does.
using policy::contains_folded;
using policy::equal_folded;
using policy::fold_ascii;

// ---- Statement sets --------------------------------------------------------------------------

/// Statements with their compiled form; shared by every holder of the same statements.
struct statement_set {
  std::string json;
  std::vector<policy::statement> statements;
  std::shared_ptr<const engine::compiled_policy> compiled;
};

/// Hears of each stored statement that does not compile and fails closed.
using failure_reporter = std::function<void(const std::string&)>;

/// Compiles statements that passed validation when they were written; should one not compile
/// anyway (a store written by hand or by another version), it fails closed on its own and is
/// reported. Never deny-all for the whole set.
std::shared_ptr<const engine::compiled_policy> compile_statements(
    std::span<const engine::sourced_statement> statements, const failure_reporter& report) {
  auto compiled = engine::compiled_policy::compile_fail_closed(statements);
  for (const auto& e : compiled.failures) report(engine::describe(e, statements));
  return std::move(compiled.policy);
}

/// The finding code of a statement that does not compile, as the validator reports the same.
std::string_view finding_code(const engine::compile_error& e) {
  using reason = engine::compile_error::reason;
  switch (e.what) {
    case reason::unknown_action:
      return "unknown-action";
    case reason::bad_resource:
      return policy::finding_code(e.rn.code);
    case reason::too_deep:
      return "rn-too-deep";
    case reason::pattern_too_long:
      return "rn-too-long";
    case reason::too_many_tags:
      return "rn-too-many-tags";
    case reason::too_many_actions:
      return "too-many-actions";
    case reason::too_many_resources:
      return "too-many-resources";
    case reason::nothing_listed:
      break;
  }
  return "empty-array";
}

/// Where in the statement list a compile error is.
std::string pointer_of(const engine::compile_error& e) {
  using reason = engine::compile_error::reason;
  std::string out = "/" + std::to_string(e.statement_index);
  switch (e.what) {
    case reason::unknown_action:
      return out + "/actions/" + std::to_string(e.item_index);
    case reason::bad_resource:
    case reason::too_deep:
    case reason::pattern_too_long:
    case reason::too_many_tags:
      return out + "/resources/" + std::to_string(e.item_index);
    case reason::too_many_actions:
      return out + "/actions";
    case reason::too_many_resources:
      return out + "/resources";
    case reason::nothing_listed:
      break;
  }
  return out;
}

/// What the schema says of a statement that typed values can still get wrong.
void check_statement_fields(const policy::statement& s, std::size_t index,
                            std::vector<policy::finding>& findings) {
  const std::string at = "/" + std::to_string(index);
  if (s.id.empty()) {
    findings.push_back({policy::severity::error, "schema-violation", "\"id\" must not be empty",
                        at + "/id", 0, 0});
  }
  if (s.resource_type != "*" && !policy::is_resource_type(s.resource_type)) {
    findings.push_back({policy::severity::error, "unknown-resource-type",
                        "unknown resourceType \"" + s.resource_type + "\"", at + "/resourceType", 0,
                        0});
  }
}

/// New statements from a caller, held to what validation of their text would hold them to:
/// every statement compiles, and the set stays within `options`' limits. A failure names `field`
/// and carries a finding per problem, pointing at it (no line or column: there is no text).
outcome<void> validate_new_statements(std::span<const policy::statement> statements,
                                      iam::field field, const policy::load_options& options) {
  std::vector<policy::finding> findings;
  std::vector<engine::sourced_statement> sourced;
  sourced.reserve(statements.size());
  for (std::size_t i = 0; i < statements.size(); ++i) {
    check_statement_fields(statements[i], i, findings);
    sourced.push_back({"", statements[i]});
  }
  const auto compiled = engine::compiled_policy::compile_fail_closed(sourced);
  for (const auto& e : compiled.failures) {
    findings.push_back({policy::severity::error, std::string(finding_code(e)),
                        engine::describe(e, sourced), pointer_of(e), 0, 0});
  }
  const auto limit = [&](const char* code, std::string message) {
    findings.push_back({policy::severity::error, code, std::move(message), "", 0, 0});
  };
  if (statements.size() > options.max_statements) {
    limit("too-many-statements", std::to_string(statements.size()) + " statements; at most " +
                                     std::to_string(options.max_statements) +
                                     " can be stored here");
  }
  std::size_t scanning = 0;
  for (const auto& s : compiled.policy->statements()) {
    for (const auto& pattern : s.patterns) scanning += policy::scanning_globs(pattern);
  }
  if (scanning > options.max_scanning_globs) {
    limit("too-many-scanning-globs", std::to_string(scanning) +
                                         " globs that scan a name (such as *web*); at most " +
                                         std::to_string(options.max_scanning_globs));
  }
  if (findings.empty()) return {};
  auto detail = findings.front().message;
  return failure(errc::field_invalid, field, std::move(detail), std::move(findings));
}

/// Reads statements stored earlier: validated as they were when written or, should that fail now
/// (a stricter validator, or a store edited by hand), as written, to fail closed when compiled.
outcome<std::vector<policy::statement>> read_stored_statements(
    std::string_view json, const policy::load_options& options) {
  auto loaded = policy::load_policy(json, options);
  if (loaded.ok()) return std::move(loaded.document->statements);
  if (auto as_stored = policy::read_statements_as_stored(json)) return std::move(*as_stored);
  return failure(errc::storage_failure, "stored statements are not a JSON statement array");
}

std::shared_ptr<const statement_set> make_statement_set(std::string json,
                                                        std::vector<policy::statement> statements,
                                                        const failure_reporter& report) {
  std::vector<engine::sourced_statement> sourced;
  sourced.reserve(statements.size());
  for (const auto& s : statements) sourced.push_back({std::string(token_policy_id), s});
  auto set = std::make_shared<statement_set>();
  set->json = std::move(json);
  set->statements = std::move(statements);
  set->compiled = compile_statements(sourced, report);
  return set;
}

// ---- Directory snapshot --------------------------------------------------------------------

/// The scanning globs of `statements` (policy/limits.hpp); those of resourceType "*" are never
/// compiled and do not count.
std::size_t scanning_globs_of(const std::vector<policy::statement>& statements) {
  std::size_t n = 0;
  for (const auto& s : statements) {
    if (s.resource_type == "*") continue;
    for (const auto& r : s.resources) {
      if (const auto pattern = policy::parse_resource_pattern(r))
        n += policy::scanning_globs(*pattern);
    }
  }
  return n;
}

struct policy_entry {
  policy_view view;
  std::string organization_id;  // empty for built-ins
  std::uint64_t generation = 0;
  store::timestamp created_at = 0;
  store::timestamp updated_at = 0;
  /// Of `view.statements`; set with them.
  std::size_t scanning_globs = 0;

  void set_statements(std::vector<policy::statement> statements) {
    scanning_globs = scanning_globs_of(statements);
    view.statements = std::move(statements);
  }

  [[nodiscard]] bool builtin() const noexcept { return organization_id.empty(); }
  [[nodiscard]] store::policy_record record() const {
    return {view.id,          organization_id,   view.key,   view.name,
            view.description, statements_json(), created_at, updated_at};
  }
  [[nodiscard]] std::string statements_json() const;
};

std::string policy_entry::statements_json() const { return policy::to_json(view.statements); }

/// Per organization: how many members, groups, policies and owners it has, for the limits.
struct organization_tally {
  std::size_t members = 0;
  std::size_t groups = 0;
  std::size_t policies = 0;
  /// Members who hold Owner and may manage IAM.
  std::size_t owners = 0;
};

/// Shared immutable values by key, held weakly: an entry serves as long as someone else holds
/// its value. Entries left expired (values replaced, deleted or refused) are swept whenever the
/// map has doubled since the last sweep, so callers cannot grow it without bound. Not
/// thread-safe: its owner guards it.
template <class T>
class weak_cache {
 public:
  [[nodiscard]] std::shared_ptr<const T> find(const std::string& key) const {
    const auto it = entries_.find(key);
    return it == entries_.end() ? nullptr : it->second.lock();
  }
  void put(std::string key, const std::shared_ptr<const T>& value) {
    if (entries_.size() >= sweep_at_) {
      std::erase_if(entries_, [](const auto& entry) { return entry.second.expired(); });
      sweep_at_ = std::max<std::size_t>(1024, entries_.size() * 2);
    }
    entries_[std::move(key)] = value;
  }

 private:
  std::unordered_map<std::string, std::weak_ptr<const T>> entries_;
  std::size_t sweep_at_ = 1024;
};

/// Compiled rights by policy-set key ("id@generation|..."), shared by every member with the same
/// effective policies.
using rights_cache = weak_cache<engine::compiled_policy>;

/// The key under which a member's email is unique within its organization.
std::string email_key(std::string_view organization_id, std::string_view email) {
  std::string key(organization_id);
  key += '\n';
  for (char c : email) key += fold_ascii(c);
  return key;
}

/// One immutable snapshot of who is who. Edits go to a copy; the maps share unchanged storage
/// with the snapshot they were copied from, and `derive` brings the derived indexes up to date
/// by looking only at what the edit changed.
struct directory {
  cow_map<store::organization_record> organizations;
  cow_map<store::member_record> members;
  cow_map<store::group_record> groups;
  cow_map<policy_entry> policies;  // built-ins and every organization's own
  // Derived by `derive`:
  cow_map<std::vector<std::string>> member_groups;              // member id -> group ids
  cow_map<engine::compiled_policy> rights;                      // member id -> compiled rights
  cow_map<store::member_record> members_by_email;               // email_key -> member
  cow_map<std::string> owners;                                  // owner's member id -> org id
  std::unordered_map<std::string, organization_tally> tallies;  // organization id -> counts

  /// What `derive` found that the change must not do.
  struct derive_report {
    /// Members who would hold more effective statements or scanning globs than allowed.
    std::vector<std::string> over_member_limits;
    /// Organizations that had an owner before the change and have none after it.
    std::vector<std::string> without_owner;
  };

  template <class T>
  [[nodiscard]] const T* find(const cow_map<T>& map, std::string_view id,
                              std::string_view organization_id) const {
    const T* found = map.find(id);
    if (found == nullptr) return nullptr;
    if constexpr (std::is_same_v<T, policy_entry>) {
      if (!found->builtin() && found->organization_id != organization_id) return nullptr;
    } else if constexpr (!std::is_same_v<T, store::organization_record>) {
      if (found->organization_id != organization_id) return nullptr;
    }
    return found;
  }

  [[nodiscard]] organization_tally tally(const std::string& organization_id) const {
    const auto it = tallies.find(organization_id);
    return it == tallies.end() ? organization_tally{} : it->second;
  }

  /// The member's effective policy ids: direct and through groups, each once, sorted.
  [[nodiscard]] std::vector<std::string> effective_policy_ids(const store::member_record& m) const {
    std::vector<std::string> ids = m.policy_ids;
    if (const auto* group_ids = member_groups.find(m.id)) {
      for (const auto& g : *group_ids) {
        const auto& group = groups.at(g);
        ids.insert(ids.end(), group.policy_ids.begin(), group.policy_ids.end());
      }
    }
    return known_policies(std::move(ids));
  }

  /// `ids` sorted, each once, without those that name no policy.
  [[nodiscard]] std::vector<std::string> known_policies(std::vector<std::string> ids) const {
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    std::erase_if(ids, [&](const std::string& id) { return !policies.contains(id); });
    return ids;
  }

  /// The statements of the policies `ids` (known, sorted, unique), compiled; shared through
  /// `cache` by everyone who holds the same policies at the same generations.
  std::shared_ptr<const engine::compiled_policy> compiled_policies(
      const std::vector<std::string>& ids, rights_cache& cache,
      const failure_reporter& report) const {
    std::string key;
    for (const auto& p : ids) {
      key += p;
      key += '@';
      key += std::to_string(policies.at(p).generation);
      key += '|';
    }
    if (auto compiled = cache.find(key)) return compiled;
    std::vector<engine::sourced_statement> statements;
    for (const auto& p : ids) {
      for (const auto& s : policies.at(p).view.statements) statements.push_back({p, s});
    }
    auto compiled = compile_statements(statements, report);
    cache.put(std::move(key), compiled);
    return compiled;
  }

  /// Whether the policies `policy_ids` together stay within the limits of one member's
  /// effective statements and scanning globs.
  [[nodiscard]] bool within_member_limits(const std::vector<std::string>& policy_ids) const {
    std::size_t statements = 0;
    std::size_t globs = 0;
    for (const auto& p : policy_ids) {
      const auto& entry = policies.at(p);
      statements += entry.view.statements.size();
      globs += entry.scanning_globs;
    }
    return statements <= policy::max_effective_statements &&
           globs <= policy::max_effective_scanning_globs;
  }

  /// Brings the derived indexes up to date after this copy of `previous` was edited, or builds
  /// them when `previous` is empty. Only members whose effective policies may have changed get
  /// their rights looked up again: the edited members, the members who joined or left a group,
  /// every member of a group whose policies changed, and the holders of edited or deleted
  /// policies.
  derive_report derive(const directory& previous, rights_cache& cache,
                       const failure_reporter& report) {
    std::unordered_set<std::string> affected;
    derive_groups(previous, affected);
    derive_members(previous, affected);
    derive_policies(previous, affected);
    derive_report out;
    std::unordered_set<std::string> owners_changed;
    for (const auto& id : affected) {
      const auto* member = members.find(id);
      if (const auto* was_owner = owners.find(id)) {
        owners_changed.insert(*was_owner);
        --tallies[*was_owner].owners;
        owners.erase(id);
      }
      if (member == nullptr) {
        rights.erase(id);
        continue;
      }
      const auto policy_ids = effective_policy_ids(*member);
      if (!within_member_limits(policy_ids)) out.over_member_limits.push_back(id);
      auto compiled = compiled_policies(policy_ids, cache, report);
      if (is_owner(policy_ids, *compiled)) {
        owners.set(id, std::make_shared<const std::string>(member->organization_id));
        ++tallies[member->organization_id].owners;
        owners_changed.insert(member->organization_id);
      }
      rights.set(id, std::move(compiled));
    }
    for (const auto& org : owners_changed) {
      if (previous.tally(org).owners > 0 && tally(org).owners == 0)
        out.without_owner.push_back(org);
    }
    return out;
  }

 private:
  /// An owner holds the Owner policy and may manage IAM (SPEC §10: owners cannot vanish).
  static bool is_owner(const std::vector<std::string>& policy_ids,
                       const engine::compiled_policy& rights) {
    return std::binary_search(policy_ids.begin(), policy_ids.end(), owner_policy_id) &&
           rights.decide(manage_iam, iam_resource) == engine::decision::allow;
  }

  void derive_groups(const directory& previous, std::unordered_set<std::string>& affected) {
    cow_map<store::group_record>::for_each_difference(
        previous.groups, groups,
        [&](const std::string& id, const store::group_record* before,
            const store::group_record* after) {
          static const std::vector<std::string> none;
          const auto& was = before ? before->member_ids : none;
          const auto& is = after ? after->member_ids : none;
          if (before) --tallies[before->organization_id].groups;
          if (after) ++tallies[after->organization_id].groups;
          // Members who joined or left; when the group's policies changed, everyone in it.
          const std::unordered_set<std::string_view> was_set(was.begin(), was.end());
          const std::unordered_set<std::string_view> is_set(is.begin(), is.end());
          for (const auto& m : was) {
            if (is_set.contains(m)) continue;
            set_member_group(m, id, false);
            affected.insert(m);
          }
          for (const auto& m : is) {
            if (was_set.contains(m)) continue;
            set_member_group(m, id, true);
            affected.insert(m);
          }
          if (before && after && before->policy_ids == after->policy_ids) return;
          affected.insert(is.begin(), is.end());
        });
  }

  void derive_members(const directory& previous, std::unordered_set<std::string>& affected) {
    cow_map<store::member_record>::for_each_difference(
        previous.members, members,
        [&](const std::string& id, const store::member_record* before,
            const store::member_record* after) {
          affected.insert(id);
          if (before) {
            --tallies[before->organization_id].members;
            // Only its own entry: another member's (a duplicate in case only, from an older
            // store) stays findable.
            const auto key = email_key(before->organization_id, before->email);
            if (members_by_email.find(key) == before) members_by_email.erase(key);
          }
          if (after) {
            ++tallies[after->organization_id].members;
            members_by_email.set(email_key(after->organization_id, after->email),
                                 *members.find_ptr(id));
          }
        });
  }

  void derive_policies(const directory& previous, std::unordered_set<std::string>& affected) {
    // A policy that is new cannot be attached to anyone yet; an edited or deleted one may be.
    std::unordered_set<std::string> edited_policies;
    cow_map<policy_entry>::for_each_difference(
        previous.policies, policies,
        [&](const std::string& id, const policy_entry* before, const policy_entry* after) {
          if (before) {
            if (!before->builtin()) --tallies[before->organization_id].policies;
            edited_policies.insert(id);
          }
          if (after && !after->builtin()) ++tallies[after->organization_id].policies;
        });
    if (edited_policies.empty()) return;
    const auto holds_edited = [&](const std::vector<std::string>& policy_ids) {
      return std::any_of(policy_ids.begin(), policy_ids.end(),
                         [&](const std::string& p) { return edited_policies.contains(p); });
    };
    groups.for_each([&](const std::string&, const store::group_record& g) {
      if (holds_edited(g.policy_ids)) affected.insert(g.member_ids.begin(), g.member_ids.end());
    });
    members.for_each([&](const std::string& id, const store::member_record& m) {
      if (holds_edited(m.policy_ids)) affected.insert(id);
    });
  }

  void set_member_group(const std::string& member_id, const std::string& group_id, bool in) {
    const auto* current = member_groups.find(member_id);
    std::vector<std::string> ids = current ? *current : std::vector<std::string>{};
    std::erase(ids, group_id);
    if (in) ids.push_back(group_id);
    if (ids.empty()) {
      member_groups.erase(member_id);
    } else {
      member_groups.set(member_id,
                        std::make_shared<const std::vector<std::string>>(std::move(ids)));
    }
  }
};

/// Files `record` under its own id. The value is made before the key is read: in
/// `map.set(r.id, make(std::move(r)))` the id could be read after it was moved from.
template <class T>
void put(cow_map<T>& map, T record) {
  const auto value = std::make_shared<const T>(std::move(record));
  if constexpr (std::is_same_v<T, policy_entry>) {
    map.set(value->view.id, value);
  } else {
    map.set(value->id, value);
  }
}

// ---- Token index ---------------------------------------------------------------------------

/// A timestamp that several readers may bump; copyable so the index can hold it by value.
struct shared_time {
  mutable std::atomic<store::timestamp> value{0};
  shared_time() = default;
  explicit shared_time(store::timestamp t) : value(t) {}
  shared_time(const shared_time& other) : value(other.value.load(std::memory_order_relaxed)) {}
  shared_time& operator=(const shared_time& other) {
    value.store(other.value.load(std::memory_order_relaxed), std::memory_order_relaxed);
    return *this;
  }
};

/// One token in memory. Organization and creator ids are interned: thousands of tokens share
/// them, and the per-token budget is 512 bytes. What authentication reads comes last, ending with
/// the secret hash: the by-hash index is the innermost of `token_index`, so its links follow the
/// value directly and a look-up touches one or two cache lines of the node. With a million
/// tokens every line touched is a cache miss.
struct token_entry {
  std::string name;
  std::array<char, secret_prefix_length> prefix{};
  store::timestamp created_at = 0;
  store::timestamp updated_at = 0;
  shared_time persisted_last_used;
  // Read by authentication.
  std::shared_ptr<const statement_set> permissions;
  shared_time last_used;
  uuid id{};
  std::uint32_t organization = 0;
  std::uint32_t creator = 0;
  store::token_type type = store::token_type::personal;
  store::token_status status = store::token_status::active;
  secret_hash hash{};
};

struct uuid_hash {
  std::size_t operator()(const uuid& u) const noexcept {
    std::size_t h;
    std::memcpy(&h, u.data(), sizeof h);  // random bytes: any 8 of them are a good hash
    return h;
  }
};

struct secret_hash_hash {
  std::size_t operator()(const secret_hash& h) const noexcept {
    std::size_t out;
    std::memcpy(&out, h.data(), sizeof out);  // an HMAC output is uniformly distributed
    return out;
  }
};

// Secret look-ups compare hashes in constant time.
struct secret_hash_equal {
  bool operator()(const secret_hash& a, const secret_hash& b) const noexcept {
    return equal_in_constant_time(a, b);
  }
};

struct name_key {
  std::uint32_t organization;
  std::string_view name;
};

struct name_key_of {
  using result_type = name_key;
  result_type operator()(const token_entry& t) const noexcept { return {t.organization, t.name}; }
};

struct name_key_hash {
  std::size_t operator()(const name_key& k) const noexcept {
    std::size_t h = k.organization * 0x9e3779b97f4a7c15ULL;
    for (char c : k.name) h = (h ^ static_cast<unsigned char>(fold_ascii(c))) * 0x100000001b3ULL;
    return h;
  }
};

struct name_key_equal {
  bool operator()(const name_key& a, const name_key& b) const noexcept {
    return a.organization == b.organization && equal_folded(a.name, b.name);
  }
};

struct by_id {};
struct by_hash {};
struct by_name {};
struct by_creator {};
struct by_organization {};

// by_id first (the default view), by_hash last: the last index's links sit next to the value.
using token_index = mi::multi_index_container<
    token_entry,
    mi::indexed_by<
        mi::hashed_unique<mi::tag<by_id>, mi::member<token_entry, uuid, &token_entry::id>,
                          uuid_hash>,
        mi::hashed_unique<mi::tag<by_name>, name_key_of, name_key_hash, name_key_equal>,
        mi::hashed_non_unique<mi::tag<by_creator>,
                              mi::member<token_entry, std::uint32_t, &token_entry::creator>>,
        mi::ordered_non_unique<
            mi::tag<by_organization>,
            mi::composite_key<token_entry,
                              mi::member<token_entry, std::uint32_t, &token_entry::organization>,
                              mi::member<token_entry, store::timestamp, &token_entry::created_at>>>,
        mi::hashed_unique<mi::tag<by_hash>,
                          mi::member<token_entry, secret_hash, &token_entry::hash>,
                          secret_hash_hash, secret_hash_equal>>>;

/// Strings shared by many tokens, numbered. Append-only; read under the token lock.
class string_pool {
 public:
  std::uint32_t intern(const std::string& s) {
    const auto [it, inserted] = index_.try_emplace(s, static_cast<std::uint32_t>(strings_.size()));
    if (inserted) strings_.push_back(s);
    return it->second;
  }
  [[nodiscard]] std::optional<std::uint32_t> find(const std::string& s) const {
    const auto it = index_.find(s);
    if (it == index_.end()) return std::nullopt;
    return it->second;
  }
  [[nodiscard]] const std::string& at(std::uint32_t i) const { return strings_[i]; }

 private:
  std::deque<std::string> strings_;
  std::unordered_map<std::string, std::uint32_t> index_;
};

/// Whether the current rights of `who` contain `granted`, with a request that `granted` allows
/// and `who` may not make when they do not. A personal token acts with its creator's rights
/// narrowed by its scope, so both must contain it.
outcome<engine::containment> within_rights(const caller& who,
                                           const engine::compiled_policy& granted,
                                           std::string_view what) {
  if (!who.rights)
    return failure(errc::forbidden, std::string(what) + ": the caller has no rights");
  for (const engine::compiled_policy* side : {who.rights.get(), who.scope.get()}) {
    if (side == nullptr) continue;
    auto contained = engine::contains(*side, granted);
    if (!contained) {
      return failure(errc::check_too_complex,
                     std::string(what) + ": too complex to compare with the caller's rights");
    }
    if (!contained->contained) return std::move(*contained);
  }
  return engine::containment{true, std::nullopt};
}

/// Fails unless the current rights of `who` contain `granted`: nobody grants what they do not
/// hold (SPEC §10). A refusal carries a request that `granted` allows and `who` may not make.
outcome<void> require_holds(const caller& who, const engine::compiled_policy& granted,
                            std::string_view what) {
  const auto contained = within_rights(who, granted, what);
  if (!contained) return contained.error();
  if (!contained->contained) {
    return failure(errc::forbidden, std::string(what) + " beyond the caller's rights",
                   contained->counterexample);
  }
  return {};
}

}  // namespace

// ---- Service state ---------------------------------------------------------------------------

struct service::state {
  std::unique_ptr<store::database> database;
  secret_hasher hasher;
  iam::limits limits;
  iam::hooks hooks;

  // Directory: readers load the pointer; writers serialize on `directory_write`.
  std::atomic<std::shared_ptr<const directory>> current;
  std::mutex directory_write;

  // Tokens: readers take `tokens_lock` shared; writers serialize on `token_write` for the whole
  // change (including the store commit) and take `tokens_lock` exclusively only to apply it.
  mutable std::shared_mutex tokens_lock;
  std::mutex token_write;
  token_index tokens;
  string_pool pool;
  /// Tokens by status, kept with the index so that metrics never walk it.
  std::array<std::atomic<std::size_t>, 3> tokens_by_status{};

  // Members with the same effective policies share compiled rights; guarded by `directory_write`.
  rights_cache rights;

  // Identical statement sets share one compiled structure.
  std::mutex sets_lock;
  weak_cache<statement_set> sets;

  std::atomic<std::uint64_t> failed_closed{0};
  /// Counts and logs a stored statement that does not compile.
  const failure_reporter report_failure = [this](const std::string& what) {
    failed_closed.fetch_add(1, std::memory_order_relaxed);
    if (hooks.log) hooks.log("stored statement fails closed: " + what);
  };

  state(std::unique_ptr<store::database> s, server_key key, iam::limits l, iam::hooks h)
      : database(std::move(s)), hasher(std::move(key)), limits(l), hooks(std::move(h)) {}

  [[nodiscard]] std::shared_ptr<const directory> snapshot() const {
    return current.load(std::memory_order_acquire);
  }

  /// The statement set of `json`, shared with every token that has the same; `read` turns the
  /// text into statements when no token has it yet.
  template <class Read>
  outcome<std::shared_ptr<const statement_set>> statement_set_of(std::string json, Read&& read) {
    {
      std::lock_guard lock(sets_lock);
      if (auto set = sets.find(json)) return set;
    }
    auto statements = read(json);
    if (!statements) return statements.error();
    auto set = make_statement_set(json, std::move(*statements), report_failure);
    std::lock_guard lock(sets_lock);
    sets.put(std::move(json), set);
    return set;
  }

  /// New permissions of a token of `type`, held to a token's limits (a service token must have
  /// some); kept as the JSON they are stored as.
  outcome<std::shared_ptr<const statement_set>> new_permissions(
      store::token_type type, std::vector<policy::statement> statements) {
    if (type == store::token_type::service && statements.empty()) {
      return failure(errc::field_required, field::permissions);
    }
    if (auto ok =
            validate_new_statements(statements, field::permissions, policy::token_permissions);
        !ok) {
      return ok.error();
    }
    std::string json = policy::to_json(statements);
    if (json.size() > policy::max_token_permissions_bytes) {
      return failure(errc::field_invalid, field::permissions,
                     "larger than " + std::to_string(policy::max_token_permissions_bytes / 1024) +
                         " KiB of JSON");
    }
    return statement_set_of(std::move(json), [&](std::string_view) {
      return outcome<std::vector<policy::statement>>(std::move(statements));
    });
  }

  /// The stored permissions of a token.
  outcome<std::shared_ptr<const statement_set>> stored_permissions(std::string json) {
    return statement_set_of(std::move(json), [](std::string_view text) {
      return read_stored_statements(text, policy::token_permissions);
    });
  }

  /// `require_holds` for the policies `ids` of `d`, compiled through the rights cache; called
  /// inside `mutate`.
  outcome<void> holds(const caller& who, const directory& d, const std::vector<std::string>& ids,
                      std::string_view what) {
    const auto known = d.known_policies(ids);
    if (known.empty()) return {};
    return require_holds(who, *d.compiled_policies(known, rights, report_failure), what);
  }

  /// Applies `edit` to a copy of the directory, derives what follows from it, and unless that
  /// breaks an invariant (an owner left, a member over the statement limit) commits the changes,
  /// then publishes the copy.
  template <class Edit>
  auto mutate(Edit&& edit)
      -> decltype(edit(std::declval<directory&>(), std::declval<std::vector<store::change>&>())) {
    std::lock_guard lock(directory_write);
    const auto previous = snapshot();
    auto next = std::make_shared<directory>(*previous);
    std::vector<store::change> changes;
    auto result = edit(*next, changes);
    if (!result) return result;
    const auto report = next->derive(*previous, rights, report_failure);
    if (!report.without_owner.empty()) {
      return failure(errc::last_owner,
                     "no other member holds Owner and may manage IAM; make someone else an owner "
                     "first");
    }
    if (!report.over_member_limits.empty()) {
      return failure(
          errc::too_many_statements,
          "a member would hold more than " + std::to_string(policy::max_effective_statements) +
              " effective statements or " + std::to_string(policy::max_effective_scanning_globs) +
              " globs that scan a name (such as *web*)");
    }
    if (!changes.empty()) {
      if (const auto ec = database->commit(changes)) {
        return failure(errc::storage_failure, ec.message());
      }
    }
    current.store(std::move(next), std::memory_order_release);
    return result;
  }

  /// Moves a token between the status counts: `before` is the status it had (none for a new one),
  /// `after` the one it has now (none once deleted).
  void count_status(std::optional<store::token_status> before,
                    std::optional<store::token_status> after) {
    if (before) tokens_by_status[static_cast<std::size_t>(*before)].fetch_sub(1);
    if (after) tokens_by_status[static_cast<std::size_t>(*after)].fetch_add(1);
  }

  [[nodiscard]] store::token_record to_record(const token_entry& t) const {
    store::token_record r;
    r.id = format_uuid(t.id);
    r.organization_id = pool.at(t.organization);
    r.name = t.name;
    r.type = t.type;
    r.status = t.status;
    r.creator_id = pool.at(t.creator);
    r.secret_hash = t.hash;
    r.secret_prefix.assign(t.prefix.data(), t.prefix.size());
    r.permissions_json = t.permissions ? t.permissions->json : "[]";
    r.created_at = t.created_at;
    r.updated_at = t.updated_at;
    r.last_used_at = t.last_used.value.load(std::memory_order_relaxed);
    return r;
  }

  /// Puts `t`, an edited copy of an indexed token, in the index in place of the old one, keeping
  /// the last use of requests authenticated since it was copied; called with `tokens_lock` held
  /// exclusively.
  void replace_indexed(token_entry t) {
    auto& index = tokens.get<by_id>();
    const auto indexed = index.find(t.id);
    if (indexed == index.end()) return;
    t.last_used = indexed->last_used;
    count_status(indexed->status, t.status);
    index.replace(indexed, std::move(t));
  }

  /// Commits `t`, an edited copy of an indexed token, and only then puts it in the index in
  /// place of the old one; called with `token_write` held.
  outcome<token_view> save_token(token_entry t) {
    t.updated_at = now_ms();
    auto view = to_view(t);
    const store::change c = store::put_token{view.record};
    if (const auto ec = database->commit({&c, 1})) {
      return failure(errc::storage_failure, ec.message());
    }
    std::unique_lock lock(tokens_lock);
    replace_indexed(std::move(t));
    return view;
  }

  /// The token as callers see it, without its secret.
  [[nodiscard]] token_view to_view(const token_entry& t) const { return to_view(t, *snapshot()); }
  [[nodiscard]] token_view to_view(const token_entry& t, const directory& d) const {
    token_view view{to_record(t),
                    t.permissions ? t.permissions->statements : std::vector<policy::statement>{},
                    std::nullopt,
                    {}};
    const auto* creator = d.find(d.members, view.record.creator_id, view.record.organization_id);
    if (creator != nullptr) view.creator_email = creator->email;
    return view;
  }

  /// Builds the in-memory entry of a record with its permissions; called with `token_write` held
  /// (interning).
  outcome<token_entry> to_entry(const store::token_record& r,
                                std::shared_ptr<const statement_set> permissions) {
    const auto id = parse_uuid(r.id);
    if (!id) return failure(errc::storage_failure, "a stored token has a malformed id");
    token_entry t;
    t.id = *id;
    t.hash = r.secret_hash;
    t.organization = pool.intern(r.organization_id);
    t.creator = pool.intern(r.creator_id);
    t.name = r.name;
    std::copy_n(r.secret_prefix.begin(), std::min(r.secret_prefix.size(), t.prefix.size()),
                t.prefix.begin());
    t.type = r.type;
    t.status = r.status;
    t.created_at = r.created_at;
    t.updated_at = r.updated_at;
    t.last_used = shared_time(r.last_used_at);
    t.persisted_last_used = shared_time(r.last_used_at);
    t.permissions = std::move(permissions);
    return t;
  }
};

namespace {

using state_t = service::state;

policy_entry builtin_entry(const policy::policy_document& doc) {
  policy_entry e;
  e.view = {doc.id, doc.key, doc.name, doc.description, policy_kind::sys_managed, {}};
  e.set_statements(doc.statements);
  return e;
}

/// Fails unless `who` may do `action` on `resource`.
outcome<void> require(const service& service, const caller& who, std::string_view action,
                      std::string_view resource) {
  if (service.decide_only(who, action, resource) != engine::decision::allow) {
    return failure(errc::forbidden,
                   "needs " + std::string(action) + " on " + std::string(resource));
  }
  return {};
}

outcome<void> require_member(const caller& who) {
  if (who.kind != subject_kind::member) {
    return failure(errc::forbidden, "access tokens cannot manage access tokens");
  }
  return {};
}

outcome<void> check_name(std::string_view name, iam::field field, std::size_t max) {
  if (name.empty()) return failure(errc::field_required, field);
  if (name.size() > max || std::any_of(name.begin(), name.end(), [](char c) {
        return static_cast<unsigned char>(c) < 0x20;
      })) {
    return failure(errc::field_invalid, field);
  }
  return {};
}

void append_unique(std::vector<std::string>& ids, std::string_view id) {
  if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.emplace_back(id);
}

}  // namespace

service::service(std::unique_ptr<state> s) : state_(std::move(s)) {}
service::~service() = default;

outcome<std::unique_ptr<service>> service::open(std::unique_ptr<store::database> database,
                                                server_key token_key,
                                                std::vector<policy::policy_document> builtins,
                                                iam::limits limits, iam::hooks hooks) {
  auto s =
      std::make_unique<state>(std::move(database), std::move(token_key), limits, std::move(hooks));
  auto dir = std::make_shared<directory>();
  for (const auto& doc : builtins) {
    put(dir->policies, builtin_entry(doc));
  }
  if (auto ok = check_builtin_policies(builtins, "the built-in policies"); !ok) return ok.error();

  std::optional<failure> token_failure;
  if (const auto expected = s->database->token_count(); expected > 0) {
    s->tokens.get<by_id>().reserve(expected);
    s->tokens.get<by_hash>().reserve(expected);
    s->tokens.get<by_name>().reserve(expected);
    s->tokens.get<by_creator>().reserve(expected);
  }
  auto loaded = s->database->load([&](store::token_record&& r) {
    if (token_failure) return;
    auto permissions = s->stored_permissions(r.permissions_json);
    auto entry = permissions ? s->to_entry(r, std::move(*permissions))
                             : outcome<token_entry>(permissions.error());
    if (!entry) {
      token_failure = entry.error();
      return;
    }
    s->count_status(std::nullopt, entry->status);
    s->tokens.insert(std::move(*entry));
  });
  if (!loaded) return failure(errc::storage_failure, loaded.error().message());
  if (token_failure) return *token_failure;

  for (auto& o : loaded->organizations) put(dir->organizations, std::move(o));
  for (auto& m : loaded->members) put(dir->members, std::move(m));
  for (auto& g : loaded->groups) put(dir->groups, std::move(g));
  for (auto& p : loaded->policies) {
    auto statements = read_stored_statements(p.statements_json, policy::stored_policy);
    if (!statements) {
      return failure(errc::storage_failure,
                     "stored policy " + p.id + " does not load: " + statements.error().detail);
    }
    policy_entry e;
    e.view = {p.id, p.key, p.name, p.description, policy_kind::customer_managed, {}};
    e.set_statements(std::move(*statements));
    e.organization_id = p.organization_id;
    e.created_at = p.created_at;
    e.updated_at = p.updated_at;
    e.generation = static_cast<std::uint64_t>(p.updated_at);
    put(dir->policies, std::move(e));
  }
  // What was stored is what it is: no invariant can refuse it now.
  static_cast<void>(dir->derive(directory{}, s->rights, s->report_failure));
  s->current.store(std::move(dir));
  return std::unique_ptr<service>(new service(std::move(s)));
}

// ---- Authentication --------------------------------------------------------------------------

outcome<caller> service::authenticate_token(std::string_view secret) const {
  if (!looks_like_token_secret(secret)) return failure(errc::unauthorized);
  const auto hash = state_->hasher.hash(secret);
  caller who;
  std::shared_ptr<const statement_set> permissions;
  {
    std::shared_lock lock(state_->tokens_lock);
    const auto& index = state_->tokens.get<by_hash>();
    const auto it = index.find(hash);
    if (it == index.end() || it->status == store::token_status::revoked) {
      return failure(errc::unauthorized);
    }
    if (it->status == store::token_status::inactive) {
      return failure(errc::forbidden, "the access token is inactive");
    }
    who.kind = it->type == store::token_type::personal ? subject_kind::personal_token
                                                       : subject_kind::service_token;
    who.id = format_uuid(it->id);
    who.organization_id = state_->pool.at(it->organization);
    who.member_id = state_->pool.at(it->creator);
    permissions = it->permissions;
    it->last_used.value.store(now_ms(), std::memory_order_relaxed);
  }
  const auto dir = state_->snapshot();
  if (!dir->organizations.contains(who.organization_id)) return failure(errc::unauthorized);
  if (who.kind == subject_kind::service_token) {
    who.rights = permissions->compiled;
    return who;
  }
  const auto* rights = dir->rights.find_ptr(who.member_id);
  if (rights == nullptr) return failure(errc::unauthorized);
  who.rights = *rights;
  if (!permissions->statements.empty()) who.scope = permissions->compiled;
  return who;
}

outcome<caller> service::authenticate_member(std::string_view member_id,
                                             std::string_view organization_id) const {
  const auto dir = state_->snapshot();
  const auto* member = dir->find(dir->members, member_id, organization_id);
  if (member == nullptr) return failure(errc::unauthorized);
  caller who;
  who.kind = subject_kind::member;
  who.id = member->id;
  who.organization_id = member->organization_id;
  who.member_id = member->id;
  const auto* rights = dir->rights.find_ptr(member->id);
  if (rights == nullptr) return failure(errc::unauthorized);
  who.rights = *rights;
  return who;
}

outcome<store::member_record> service::find_member_by_email(std::string_view organization_id,
                                                            std::string_view email) const {
  const auto dir = state_->snapshot();
  const auto* m = dir->members_by_email.find(email_key(organization_id, email));
  if (m == nullptr) return failure(errc::not_found, "member");
  return *m;
}

// ---- Decisions ---------------------------------------------------------------------------------

namespace {

// Evaluates with a stack buffer first and a heap one only when the buffer is too small.
engine::decision evaluate_into(const engine::compiled_policy& p, std::string_view action,
                               std::string_view resource, std::vector<statement_ref>& out) {
  std::array<std::uint32_t, 64> buffer;
  auto v = p.evaluate(action, resource, buffer);
  std::span<const std::uint32_t> hits(buffer.data(), v.written);
  std::vector<std::uint32_t> large;
  if (v.truncated) {
    large.resize(p.statements().size());
    v = p.evaluate(action, resource, large);
    hits = std::span<const std::uint32_t>(large.data(), v.written);
  }
  for (const auto i : hits) out.push_back({p.statement(i).policy_id, p.statement(i).statement_id});
  return v.decision;
}

}  // namespace

decision_result service::decide(const caller& who, std::string_view action,
                                std::string_view resource) const {
  decision_result result;
  if (!who.rights) return result;
  result.decision = evaluate_into(*who.rights, action, resource, result.statements);
  if (result.decision != engine::decision::allow || !who.scope) return result;
  std::vector<statement_ref> scoped;
  const auto scoped_decision = evaluate_into(*who.scope, action, resource, scoped);
  if (scoped_decision != engine::decision::allow) return {scoped_decision, std::move(scoped)};
  result.statements.insert(result.statements.end(), scoped.begin(), scoped.end());
  return result;
}

engine::decision service::decide_only(const caller& who, std::string_view action,
                                      std::string_view resource) const noexcept {
  if (!who.rights) return engine::decision::implicit_deny;
  const auto d = who.rights->decide(action, resource);
  if (d != engine::decision::allow || !who.scope) return d;
  return who.scope->decide(action, resource);
}

// ---- Organizations ---------------------------------------------------------------------------

outcome<std::pair<store::organization_record, store::member_record>> service::create_organization(
    std::string name, std::string owner_email) {
  if (auto ok = check_name(name, field::name, state_->limits.max_name_length); !ok)
    return ok.error();
  if (auto ok = check_name(owner_email, field::email, state_->limits.max_name_length); !ok) {
    return ok.error();
  }
  if (find_organization_by_name(name)) return failure(errc::name_used, "name");
  auto org_id = new_id();
  auto member_id = new_id();
  if (!org_id || !member_id) return failure(errc::randomness_unavailable, "no random ids");
  const auto now = now_ms();
  store::organization_record org{*org_id, std::move(name), {std::string(developer_policy_id)}, now};
  store::member_record owner{
      *member_id, *org_id, std::move(owner_email), {std::string(owner_policy_id)}, now};
  auto done =
      state_->mutate([&](directory& d, std::vector<store::change>& changes)
                         -> outcome<std::pair<store::organization_record, store::member_record>> {
        put(d.organizations, org);
        put(d.members, owner);
        changes.push_back(store::put_organization{org});
        changes.push_back(store::put_member{owner});
        return std::pair{org, owner};
      });
  return done;
}

std::optional<store::organization_record> service::find_organization_by_name(
    std::string_view name) const {
  const auto dir = state_->snapshot();
  std::optional<store::organization_record> found;
  dir->organizations.for_each([&](const std::string&, const store::organization_record& o) {
    if (o.name == name) found = o;
  });
  return found;
}

// ---- Members -----------------------------------------------------------------------------------

outcome<std::vector<store::member_record>> service::list_members(const caller& who) const {
  if (auto ok = require(*this, who, manage_iam, iam_resource); !ok) return ok.error();
  const auto dir = state_->snapshot();
  std::vector<store::member_record> out;
  dir->members.for_each([&](const std::string&, const store::member_record& m) {
    if (m.organization_id == who.organization_id) out.push_back(m);
  });
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.created_at < b.created_at; });
  return out;
}

outcome<store::member_record> service::add_member(const caller& who, new_member m) {
  if (auto ok = require(*this, who, manage_iam, iam_resource); !ok) return ok.error();
  if (auto ok = check_name(m.email, field::email, state_->limits.max_name_length); !ok) {
    return ok.error();
  }
  if (m.email.find('@') == std::string::npos) return failure(errc::field_invalid, field::email);
  auto id = new_id();
  if (!id) return id.error();
  return state_->mutate(
      [&](directory& d, std::vector<store::change>& changes) -> outcome<store::member_record> {
        if (d.tally(who.organization_id).members >= state_->limits.max_members_per_organization) {
          return failure(errc::limit_exceeded, "members per organization");
        }
        if (d.members_by_email.contains(email_key(who.organization_id, m.email))) {
          return failure(errc::conflict, "a member with this email exists");
        }
        for (const auto& p : m.policy_ids) {
          if (!d.find(d.policies, p, who.organization_id)) {
            return failure(errc::field_invalid, field::policy_ids);
          }
        }
        for (const auto& g : m.group_ids) {
          if (!d.find(d.groups, g, who.organization_id)) {
            return failure(errc::field_invalid, field::group_ids);
          }
        }
        store::member_record record{*id, who.organization_id, m.email, {}, now_ms()};
        for (const auto& p : m.policy_ids) append_unique(record.policy_ids, p);
        if (m.policy_ids.empty() && m.group_ids.empty()) {
          record.policy_ids = d.organizations.at(who.organization_id).default_policy_ids;
        }
        // The new member's rights are granted by the caller, and capped at the caller's own.
        std::vector<std::string> granted = record.policy_ids;
        for (const auto& g : m.group_ids) {
          const auto& group_policies = d.groups.at(g).policy_ids;
          granted.insert(granted.end(), group_policies.begin(), group_policies.end());
        }
        if (auto ok =
                state_->holds(who, d, d.known_policies(std::move(granted)), "the member's rights");
            !ok) {
          return ok.error();
        }
        for (const auto& g : m.group_ids) {
          auto group = d.groups.at(g);
          append_unique(group.member_ids, record.id);
          changes.push_back(store::put_group{group});
          put(d.groups, std::move(group));
        }
        changes.insert(changes.begin(), store::put_member{record});
        put(d.members, record);
        return record;
      });
}

outcome<void> service::remove_member(const caller& who, std::string_view member_id) {
  if (auto ok = require(*this, who, manage_iam, iam_resource); !ok) return ok.error();
  // Token changes and the directory change commit together: a removed member's personal tokens
  // are revoked in the same transaction, so no crash can leave them usable.
  std::lock_guard token_guard(state_->token_write);
  std::vector<token_entry> revoked;
  auto done = state_->mutate([&](directory& d,
                                 std::vector<store::change>& changes) -> outcome<void> {
    const auto* member = d.find(d.members, member_id, who.organization_id);
    if (!member) return failure(errc::not_found, "member");
    const std::string id = member->id;
    if (const auto* group_ids = d.member_groups.find(id)) {
      for (const auto& gid : std::vector<std::string>(*group_ids)) {
        auto changed = d.groups.at(gid);
        std::erase(changed.member_ids, id);
        changes.push_back(store::put_group{changed});
        put(d.groups, std::move(changed));
      }
    }
    d.members.erase(id);
    changes.push_back(store::erase_member{id});
    {
      std::shared_lock lock(state_->tokens_lock);
      if (const auto creator = state_->pool.find(id)) {
        const auto [first, last] = state_->tokens.get<by_creator>().equal_range(*creator);
        for (auto it = first; it != last; ++it) {
          if (it->type != store::token_type::personal || it->status == store::token_status::revoked)
            continue;
          token_entry t = *it;
          t.status = store::token_status::revoked;
          t.updated_at = now_ms();
          changes.push_back(store::put_token{state_->to_record(t)});
          revoked.push_back(std::move(t));
        }
      }
    }
    return {};
  });
  if (!done) return done;
  std::unique_lock lock(state_->tokens_lock);
  for (auto& t : revoked) state_->replace_indexed(std::move(t));
  return {};
}

namespace {

/// Applies `edit` to a copy of member `member_id` of the caller's organization and stores it.
template <class Edit>
outcome<store::member_record> edit_member(const service& s, state_t& st, const caller& who,
                                          std::string_view member_id, Edit&& edit) {
  if (auto ok = require(s, who, manage_iam, iam_resource); !ok) return ok.error();
  return st.mutate(
      [&](directory& d, std::vector<store::change>& changes) -> outcome<store::member_record> {
        const auto* member = d.find(d.members, member_id, who.organization_id);
        if (!member) return failure(errc::not_found, "member");
        auto changed = *member;
        if (auto ok = edit(d, changed); !ok) return ok.error();
        changes.push_back(store::put_member{changed});
        put(d.members, changed);
        return changed;
      });
}

/// Applies `edit` to a copy of group `group_id` of the caller's organization and stores it.
template <class Edit>
outcome<store::group_record> edit_group(const service& s, state_t& st, const caller& who,
                                        std::string_view group_id, Edit&& edit) {
  if (auto ok = require(s, who, manage_iam, iam_resource); !ok) return ok.error();
  return st.mutate(
      [&](directory& d, std::vector<store::change>& changes) -> outcome<store::group_record> {
        const auto* group = d.find(d.groups, group_id, who.organization_id);
        if (!group) return failure(errc::not_found, "group");
        auto changed = *group;
        if (auto ok = edit(d, changed); !ok) return ok.error();
        changes.push_back(store::put_group{changed});
        put(d.groups, changed);
        return changed;
      });
}

/// Fails unless `id` names a policy the caller's organization can see.
outcome<void> require_policy(const directory& d, const caller& who, std::string_view id) {
  if (!d.find(d.policies, id, who.organization_id)) return failure(errc::not_found, "policy");
  return {};
}

}  // namespace

outcome<store::member_record> service::attach_member_policy(const caller& who,
                                                            std::string_view member_id,
                                                            std::string_view policy_id) {
  return edit_member(
      *this, *state_, who, member_id, [&](directory& d, store::member_record& m) -> outcome<void> {
        if (auto ok = require_policy(d, who, policy_id); !ok) return ok;
        if (auto ok = state_->holds(who, d, {std::string(policy_id)}, "the policy"); !ok) {
          return ok;
        }
        append_unique(m.policy_ids, policy_id);
        return {};
      });
}

outcome<store::member_record> service::detach_member_policy(const caller& who,
                                                            std::string_view member_id,
                                                            std::string_view policy_id) {
  return edit_member(*this, *state_, who, member_id,
                     [&](directory& d, store::member_record& m) -> outcome<void> {
                       if (auto ok = require_policy(d, who, policy_id); !ok) return ok;
                       std::erase(m.policy_ids, policy_id);
                       return {};
                     });
}

namespace {

std::vector<policy_view> views_of(const directory& d, const store::member_record& m) {
  std::vector<policy_view> out;
  for (const auto& id : d.effective_policy_ids(m)) out.push_back(d.policies.at(id).view);
  return out;
}

}  // namespace

outcome<std::vector<policy_view>> service::member_policies(const caller& who,
                                                           std::string_view member_id) const {
  if (auto ok = require(*this, who, manage_iam, iam_resource); !ok) return ok.error();
  const auto dir = state_->snapshot();
  const auto* member = dir->find(dir->members, member_id, who.organization_id);
  if (!member) return failure(errc::not_found, "member");
  return views_of(*dir, *member);
}

outcome<std::vector<policy_view>> service::own_policies(const caller& who) const {
  std::vector<policy_view> out;
  if (who.kind != subject_kind::member) {
    // A token answers what it may do itself, never its creator's policies as if it were them.
    const auto id = parse_uuid(who.id);
    if (!id) return failure(errc::unauthorized);
    std::shared_lock lock(state_->tokens_lock);
    const auto& index = state_->tokens.get<by_id>();
    const auto it = index.find(*id);
    if (it == index.end()) return failure(errc::unauthorized);
    if (who.kind == subject_kind::service_token || !it->permissions->statements.empty()) {
      out.push_back({std::string(token_policy_id), std::string(token_policy_id), it->name,
                     who.kind == subject_kind::service_token
                         ? "The statements of this service token"
                         : "The scope of this personal token, within its creator's policies",
                     policy_kind::access_token, it->permissions->statements});
    }
    if (who.kind == subject_kind::service_token) return out;
  }
  const auto dir = state_->snapshot();
  const auto* member = dir->find(dir->members, who.member_id, who.organization_id);
  if (!member) return failure(errc::unauthorized);
  auto policies = views_of(*dir, *member);
  out.insert(out.end(), std::make_move_iterator(policies.begin()),
             std::make_move_iterator(policies.end()));
  return out;
}

// ---- Groups ------------------------------------------------------------------------------------

outcome<std::vector<store::group_record>> service::list_groups(const caller& who) const {
  if (auto ok = require(*this, who, manage_iam, iam_resource); !ok) return ok.error();
  const auto dir = state_->snapshot();
  std::vector<store::group_record> out;
  dir->groups.for_each([&](const std::string&, const store::group_record& g) {
    if (g.organization_id == who.organization_id) out.push_back(g);
  });
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.created_at < b.created_at; });
  return out;
}

outcome<store::group_record> service::create_group(const caller& who, std::string name,
                                                   std::string description) {
  if (auto ok = require(*this, who, manage_iam, iam_resource); !ok) return ok.error();
  if (auto ok = check_name(name, field::name, state_->limits.max_name_length); !ok)
    return ok.error();
  if (description.size() > state_->limits.max_description_length) {
    return failure(errc::field_invalid, field::description);
  }
  auto id = new_id();
  if (!id) return id.error();
  return state_->mutate(
      [&](directory& d, std::vector<store::change>& changes) -> outcome<store::group_record> {
        if (d.tally(who.organization_id).groups >= state_->limits.max_groups_per_organization) {
          return failure(errc::limit_exceeded, "groups per organization");
        }
        bool name_used = false;
        d.groups.for_each([&](const std::string&, const store::group_record& g) {
          name_used =
              name_used || (g.organization_id == who.organization_id && equal_folded(g.name, name));
        });
        if (name_used) return failure(errc::name_used, "name");
        store::group_record g{*id, who.organization_id, name, description, {}, {}, now_ms()};
        changes.push_back(store::put_group{g});
        put(d.groups, g);
        return g;
      });
}

outcome<store::group_record> service::add_group_member(const caller& who, std::string_view group_id,
                                                       std::string_view member_id) {
  return edit_group(
      *this, *state_, who, group_id, [&](directory& d, store::group_record& g) -> outcome<void> {
        if (!d.find(d.members, member_id, who.organization_id)) {
          return failure(errc::not_found, "member");
        }
        // The member gets the group's rights: the caller grants them.
        if (auto ok = state_->holds(who, d, d.known_policies(g.policy_ids), "the group's rights");
            !ok) {
          return ok;
        }
        append_unique(g.member_ids, member_id);
        return {};
      });
}

outcome<store::group_record> service::remove_group_member(const caller& who,
                                                          std::string_view group_id,
                                                          std::string_view member_id) {
  return edit_group(*this, *state_, who, group_id,
                    [&](directory& d, store::group_record& g) -> outcome<void> {
                      if (!d.find(d.members, member_id, who.organization_id)) {
                        return failure(errc::not_found, "member");
                      }
                      std::erase(g.member_ids, member_id);
                      return {};
                    });
}

outcome<store::group_record> service::attach_group_policy(const caller& who,
                                                          std::string_view group_id,
                                                          std::string_view policy_id) {
  return edit_group(
      *this, *state_, who, group_id, [&](directory& d, store::group_record& g) -> outcome<void> {
        if (auto ok = require_policy(d, who, policy_id); !ok) return ok;
        if (auto ok = state_->holds(who, d, {std::string(policy_id)}, "the policy"); !ok) {
          return ok;
        }
        append_unique(g.policy_ids, policy_id);
        return {};
      });
}

outcome<store::group_record> service::detach_group_policy(const caller& who,
                                                          std::string_view group_id,
                                                          std::string_view policy_id) {
  return edit_group(*this, *state_, who, group_id,
                    [&](directory& d, store::group_record& g) -> outcome<void> {
                      if (auto ok = require_policy(d, who, policy_id); !ok) return ok;
                      std::erase(g.policy_ids, policy_id);
                      return {};
                    });
}

outcome<void> service::delete_group(const caller& who, std::string_view group_id) {
  if (auto ok = require(*this, who, manage_iam, iam_resource); !ok) return ok.error();
  return state_->mutate([&](directory& d, std::vector<store::change>& changes) -> outcome<void> {
    const auto* group = d.find(d.groups, group_id, who.organization_id);
    if (!group) return failure(errc::not_found, "group");
    const std::string id = group->id;
    d.groups.erase(id);
    changes.push_back(store::erase_group{id});
    return {};
  });
}

// ---- Policies ----------------------------------------------------------------------------------

outcome<std::vector<policy_view>> service::list_policies(const caller& who) const {
  if (auto ok = require(*this, who, manage_iam, iam_resource); !ok) return ok.error();
  const auto dir = state_->snapshot();
  std::vector<const policy_entry*> visible;
  dir->policies.for_each([&](const std::string&, const policy_entry& p) {
    if (p.builtin() || p.organization_id == who.organization_id) visible.push_back(&p);
  });
  std::sort(visible.begin(), visible.end(), [](auto* a, auto* b) {
    return std::tuple(!a->builtin(), a->created_at, a->view.name) <
           std::tuple(!b->builtin(), b->created_at, b->view.name);
  });
  std::vector<policy_view> out;
  for (const auto* p : visible) out.push_back(p->view);
  return out;
}

outcome<policy_view> service::get_policy(const caller& who, std::string_view policy_id) const {
  if (auto ok = require(*this, who, manage_iam, iam_resource); !ok) return ok.error();
  const auto dir = state_->snapshot();
  const auto* p = dir->find(dir->policies, policy_id, who.organization_id);
  if (!p) return failure(errc::not_found, "policy");
  return p->view;
}

outcome<policy_view> service::create_policy(const caller& who, std::string name, std::string key,
                                            std::string description) {
  if (auto ok = require(*this, who, manage_iam, iam_resource); !ok) return ok.error();
  if (auto ok = check_name(name, field::name, state_->limits.max_name_length); !ok)
    return ok.error();
  if (auto ok = check_name(key, field::key, state_->limits.max_name_length); !ok) return ok.error();
  if (!std::all_of(key.begin(), key.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
      })) {
    return failure(errc::field_invalid, field::key);
  }
  if (description.size() > state_->limits.max_description_length) {
    return failure(errc::field_invalid, field::description);
  }
  auto id = new_id();
  if (!id) return id.error();
  return state_->mutate(
      [&](directory& d, std::vector<store::change>& changes) -> outcome<policy_view> {
        if (d.tally(who.organization_id).policies >= state_->limits.max_policies_per_organization) {
          return failure(errc::limit_exceeded, "policies per organization");
        }
        bool key_used = false;
        bool name_used = false;
        d.policies.for_each([&](const std::string&, const policy_entry& p) {
          if (!p.builtin() && p.organization_id != who.organization_id) return;
          key_used = key_used || p.view.key == key;
          name_used = name_used || equal_folded(p.view.name, name);
        });
        if (key_used) return failure(errc::key_used, "key");
        if (name_used) return failure(errc::name_used, "name");
        policy_entry e;
        e.view = {*id, key, name, description, policy_kind::customer_managed, {}};
        e.organization_id = who.organization_id;
        e.created_at = e.updated_at = now_ms();
        e.generation = 1;
        changes.push_back(store::put_policy{e.record()});
        auto view = e.view;
        put(d.policies, std::move(e));
        return view;
      });
}

outcome<policy_view> service::set_policy_statements(const caller& who, std::string_view policy_id,
                                                    std::vector<policy::statement> statements) {
  if (auto ok = require(*this, who, manage_iam, iam_resource); !ok) return ok.error();
  if (auto ok = validate_new_statements(statements, field::statements, policy::stored_policy);
      !ok) {
    return ok.error();
  }
  // Whoever holds the policy gets what it says: the statements are granted by the caller.
  std::vector<engine::sourced_statement> sourced;
  sourced.reserve(statements.size());
  for (const auto& st : statements) sourced.push_back({std::string(policy_id), st});
  const auto compiled = engine::compiled_policy::compile(sourced);
  if (!compiled) {  // validated above: cannot happen, but nothing unchecked is granted
    return failure(errc::field_invalid, field::statements,
                   engine::describe(compiled.error(), sourced));
  }
  if (auto ok = require_holds(who, **compiled, "the statements"); !ok) return ok.error();
  return state_->mutate(
      [&](directory& d, std::vector<store::change>& changes) -> outcome<policy_view> {
        const auto* p = d.find(d.policies, policy_id, who.organization_id);
        if (!p) return failure(errc::not_found, "policy");
        if (p->builtin()) return failure(errc::sys_managed_policy);
        auto changed = *p;
        changed.set_statements(std::move(statements));
        changed.updated_at = std::max(now_ms(), changed.updated_at + 1);
        changed.generation = static_cast<std::uint64_t>(changed.updated_at);
        changes.push_back(store::put_policy{changed.record()});
        auto view = changed.view;
        put(d.policies, std::move(changed));
        return view;
      });
}

outcome<void> service::delete_policy(const caller& who, std::string_view policy_id) {
  if (auto ok = require(*this, who, manage_iam, iam_resource); !ok) return ok.error();
  return state_->mutate([&](directory& d, std::vector<store::change>& changes) -> outcome<void> {
    const auto* p = d.find(d.policies, policy_id, who.organization_id);
    if (!p) return failure(errc::not_found, "policy");
    if (p->builtin()) return failure(errc::sys_managed_policy);
    const std::string id = p->view.id;
    // Detached from every holder in the same commit; collected first, since the maps cannot be
    // edited while they are walked.
    const auto holds = [&](const std::vector<std::string>& ids) {
      return std::find(ids.begin(), ids.end(), id) != ids.end();
    };
    std::vector<store::member_record> members;
    d.members.for_each([&](const std::string&, const store::member_record& m) {
      if (holds(m.policy_ids)) members.push_back(m);
    });
    std::vector<store::group_record> groups;
    d.groups.for_each([&](const std::string&, const store::group_record& g) {
      if (holds(g.policy_ids)) groups.push_back(g);
    });
    for (auto& m : members) {
      std::erase(m.policy_ids, id);
      changes.push_back(store::put_member{m});
      put(d.members, std::move(m));
    }
    for (auto& g : groups) {
      std::erase(g.policy_ids, id);
      changes.push_back(store::put_group{g});
      put(d.groups, std::move(g));
    }
    d.policies.erase(id);
    changes.push_back(store::erase_policy{id});
    return {};
  });
}

outcome<void> service::replace_builtins(std::vector<policy::policy_document> builtins) {
  if (auto ok = check_builtin_policies(builtins, "the built-in policies"); !ok) return ok.error();
  return state_->mutate([&](directory& d, std::vector<store::change>&) -> outcome<void> {
    // Generations only grow, even for two reloads in one millisecond: a reused generation would
    // hand members the rights compiled from the old statements.
    std::uint64_t generation = static_cast<std::uint64_t>(now_ms());
    std::vector<std::string> old_builtins;
    d.policies.for_each([&](const std::string& id, const policy_entry& p) {
      if (!p.builtin()) return;
      old_builtins.push_back(id);
      generation = std::max(generation, p.generation + 1);
    });
    for (const auto& id : old_builtins) d.policies.erase(id);
    for (const auto& doc : builtins) {
      if (d.policies.contains(doc.id)) {
        return failure(errc::conflict, "built-in policy id " + doc.id + " is taken");
      }
      auto e = builtin_entry(doc);
      e.generation = generation;
      put(d.policies, std::move(e));
    }
    return {};
  });
}

// ---- Access tokens -----------------------------------------------------------------------------

namespace {

std::string_view manage_action(store::token_type type) {
  return type == store::token_type::personal ? "ManagePersonalAccessTokens"
                                             : "ManageServiceAccessTokens";
}

}  // namespace

outcome<token_page> service::list_tokens(const caller& who, const token_query& q) const {
  if (auto ok = require_member(who); !ok) return ok.error();
  if (auto ok = require(*this, who, "ListAccessTokens", token_resource); !ok) return ok.error();
  if (q.page_size == 0 || q.page_size > state_->limits.max_page_size) {
    return failure(errc::field_invalid, field::page_size);
  }
  token_page page;
  const auto dir = state_->snapshot();
  std::shared_lock lock(state_->tokens_lock);
  const auto organization = state_->pool.find(who.organization_id);
  if (!organization) return page;
  std::optional<std::uint32_t> creator;
  if (!q.creator_id.empty()) {
    creator = state_->pool.find(q.creator_id);
    if (!creator) return page;
  }
  const auto& index = state_->tokens.get<by_organization>();
  const auto [first, last] = index.equal_range(std::make_tuple(*organization));
  const std::size_t skip = q.page_index * q.page_size;
  // Newest first.
  for (auto it = std::make_reverse_iterator(last); it != std::make_reverse_iterator(first); ++it) {
    if (q.type && it->type != *q.type) continue;
    if (creator && it->creator != *creator) continue;
    if (!contains_folded(it->name, q.name)) continue;
    if (page.total_count >= skip && page.items.size() < q.page_size) {
      page.items.push_back(state_->to_view(*it, *dir));
    }
    ++page.total_count;
  }
  return page;
}

outcome<bool> service::is_token_name_used(const caller& who, std::string_view name) const {
  if (auto ok = require_member(who); !ok) return ok.error();
  if (auto ok = require(*this, who, "ListAccessTokens", token_resource); !ok) return ok.error();
  std::shared_lock lock(state_->tokens_lock);
  const auto organization = state_->pool.find(who.organization_id);
  if (!organization) return false;
  const auto& index = state_->tokens.get<by_name>();
  return index.find(name_key{*organization, name}) != index.end();
}

outcome<std::vector<grantable_actions>> service::grantable(const caller& who) const {
  if (auto ok = require_member(who); !ok) return ok.error();
  if (!who.rights) return std::vector<grantable_actions>{};
  // The unlisted-action bit stands for names outside the catalogue; nobody can be given those.
  const policy::action_set catalogue =
      policy::all_actions & ~(policy::action_set{1} << policy::unlisted_action);
  const auto found = engine::allowed_somewhere(*who.rights, catalogue);
  if (!found.complete) {
    if (state_->hooks.log) {
      state_->hooks.log("grantable actions of member " + who.member_id +
                        ": the search ran out of work; only the actions it proved are offered");
    }
  }
  std::vector<grantable_actions> out;
  for (policy::action_id id = 0; id < policy::unlisted_action; ++id) {
    if ((found.actions >> id & 1U) == 0) continue;
    const auto& [action, type] = policy::action_catalogue[id];
    if (out.empty() || out.back().resource_type != type) out.push_back({std::string(type), {}});
    out.back().actions.emplace_back(action);
  }
  return out;
}

namespace {

/// Who may create (or check) a token of `type`: a member with its manage action.
outcome<void> require_token_manager(const service& service, const caller& who,
                                    store::token_type type) {
  if (auto ok = require_member(who); !ok) return ok.error();
  return require(service, who, manage_action(type), token_resource);
}

}  // namespace

outcome<engine::containment> service::check_token(
    const caller& who, store::token_type type, std::vector<policy::statement> permissions) const {
  if (auto ok = require_token_manager(*this, who, type); !ok) return ok.error();
  auto requested = state_->new_permissions(type, std::move(permissions));
  if (!requested) return requested.error();
  if ((*requested)->statements.empty()) return engine::containment{true, std::nullopt};
  return within_rights(who, *(*requested)->compiled, "the permissions");
}

outcome<token_view> service::create_token(const caller& who, std::string name,
                                          store::token_type type,
                                          std::vector<policy::statement> permissions_given) {
  if (auto ok = require_token_manager(*this, who, type); !ok) return ok.error();
  if (auto ok = check_name(name, field::name, state_->limits.max_name_length); !ok) {
    return ok.error();
  }
  auto permissions = state_->new_permissions(type, std::move(permissions_given));
  if (!permissions) return permissions.error();
  const auto& requested = **permissions;
  // Capping: the token may grant nothing beyond its creator's rights as they are now.
  if (!requested.statements.empty()) {
    if (auto ok = require_holds(who, *requested.compiled, "the permissions"); !ok) {
      return ok.error();
    }
  }

  std::lock_guard write(state_->token_write);
  // A member removed since authenticating is gone from the directory by now: removal revokes
  // tokens under `token_write`, so a token written after it would escape the revocation.
  const auto dir = state_->snapshot();
  if (dir->find(dir->members, who.member_id, who.organization_id) == nullptr) {
    return failure(errc::unauthorized, "the creator is no longer a member");
  }
  store::token_record record;
  {
    std::shared_lock lock(state_->tokens_lock);
    const auto organization = state_->pool.find(who.organization_id);
    if (organization) {
      const auto& by_names = state_->tokens.get<by_name>();
      if (by_names.find(name_key{*organization, name}) != by_names.end()) {
        return failure(errc::name_used, "name");
      }
      const auto& by_org = state_->tokens.get<by_organization>();
      const auto [first, last] = by_org.equal_range(std::make_tuple(*organization));
      if (static_cast<std::size_t>(std::distance(first, last)) >=
          state_->limits.max_tokens_per_organization) {
        return failure(errc::limit_exceeded, "access tokens per organization");
      }
    }
  }
  auto secret = generate_token_secret();
  auto id = new_id();
  if (!secret || !id) {
    return failure(errc::randomness_unavailable, "no random secret or id");
  }
  const auto now = now_ms();
  record.id = *id;
  record.organization_id = who.organization_id;
  record.name = std::move(name);
  record.type = type;
  record.status = store::token_status::active;
  record.creator_id = who.member_id;
  record.secret_hash = state_->hasher.hash(*secret);
  record.secret_prefix = secret->substr(0, secret_prefix_length);
  record.permissions_json = requested.json;
  record.created_at = record.updated_at = now;
  auto entry = state_->to_entry(record, *permissions);
  if (!entry) return entry.error();
  const store::change c = store::put_token{record};
  if (const auto ec = state_->database->commit({&c, 1})) {
    return failure(errc::storage_failure, ec.message());
  }
  {
    std::unique_lock lock(state_->tokens_lock);
    state_->count_status(std::nullopt, entry->status);
    state_->tokens.insert(std::move(*entry));
  }
  std::string creator_email;
  if (const auto* creator = dir->find(dir->members, who.member_id, who.organization_id)) {
    creator_email = creator->email;
  }
  return token_view{std::move(record), requested.statements, std::move(*secret),
                    std::move(creator_email)};
}

namespace {

/// Finds a token of the caller's organization and checks the caller may manage its type.
template <class Service>
outcome<token_entry> managed_token(const Service& service, const state_t& s, const caller& who,
                                   std::string_view token_id) {
  if (auto ok = require_member(who); !ok) return ok.error();
  const auto id = parse_uuid(token_id);
  if (!id) return failure(errc::not_found, "access token");
  std::optional<token_entry> found;
  {
    std::shared_lock lock(s.tokens_lock);
    const auto& index = s.tokens.get<by_id>();
    const auto it = index.find(*id);
    if (it == index.end() || s.pool.at(it->organization) != who.organization_id) {
      return failure(errc::not_found, "access token");
    }
    found = *it;
  }
  if (auto ok = require(service, who, manage_action(found->type), token_resource); !ok) {
    return ok.error();
  }
  return std::move(*found);
}

}  // namespace

outcome<token_view> service::rename_token(const caller& who, std::string_view token_id,
                                          std::string name) {
  if (auto ok = check_name(name, field::name, state_->limits.max_name_length); !ok)
    return ok.error();
  std::lock_guard write(state_->token_write);
  auto token = managed_token(*this, *state_, who, token_id);
  if (!token) return token.error();
  {
    std::shared_lock lock(state_->tokens_lock);
    const auto& by_names = state_->tokens.get<by_name>();
    const auto it = by_names.find(name_key{token->organization, name});
    if (it != by_names.end() && it->id != token->id) return failure(errc::name_used, "name");
  }
  token->name = std::move(name);
  return state_->save_token(std::move(*token));
}

namespace {

/// Whether `who` may switch `token` back on: the caller's current rights must contain the token's
/// (SPEC §10), so that a leaked token an owner switched off stays off. A service token's rights
/// are its statements; a personal token's are its creator's current rights within its scope,
/// which the creator always holds. Called with `token_write` held.
outcome<void> may_reactivate(const state_t& s, const caller& who, const token_entry& token) {
  const auto& permissions = *token.permissions;
  if (token.type == store::token_type::service) {
    return require_holds(who, *permissions.compiled, "the token's permissions");
  }
  const std::string& creator = s.pool.at(token.creator);
  if (who.member_id == creator) return {};
  const auto dir = s.snapshot();
  const auto* creator_rights = dir->rights.find_ptr(creator);
  if (creator_rights == nullptr) return failure(errc::forbidden, "the token's creator left");
  auto whole = require_holds(who, **creator_rights, "the token's rights");
  if (whole || permissions.statements.empty()) return whole;
  // Holding either the creator's rights or the scope is holding their intersection. When the
  // caller holds neither, a counterexample is shown only if the token itself allows it.
  auto scoped = require_holds(who, *permissions.compiled, "the token's rights");
  if (scoped) return {};
  const std::array<failure, 2> refusals = {whole.error(), scoped.error()};
  for (const auto& refusal : refusals) {
    if (refusal.code == errc::check_too_complex) return refusal;
  }
  for (const auto& refusal : refusals) {
    const auto& example = refusal.counterexample;
    if (example &&
        (*creator_rights)->decide(example->action, example->resource) == engine::decision::allow &&
        permissions.compiled->decide(example->action, example->resource) ==
            engine::decision::allow) {
      return refusal;
    }
  }
  return failure(errc::forbidden, "the token's rights are not within the caller's");
}

}  // namespace

outcome<token_view> service::toggle_token(const caller& who, std::string_view token_id) {
  std::lock_guard write(state_->token_write);
  auto token = managed_token(*this, *state_, who, token_id);
  if (!token) return token.error();
  if (token->status == store::token_status::revoked) {
    return failure(errc::conflict, "a revoked token cannot be activated");
  }
  if (token->status == store::token_status::inactive) {
    if (auto ok = may_reactivate(*state_, who, *token); !ok) return ok.error();
  }
  token->status = token->status == store::token_status::active ? store::token_status::inactive
                                                               : store::token_status::active;
  return state_->save_token(std::move(*token));
}

outcome<void> service::delete_token(const caller& who, std::string_view token_id) {
  std::lock_guard write(state_->token_write);
  auto token = managed_token(*this, *state_, who, token_id);
  if (!token) return token.error();
  const store::change c = store::erase_token{format_uuid(token->id)};
  if (const auto ec = state_->database->commit({&c, 1})) {
    return failure(errc::storage_failure, ec.message());
  }
  std::unique_lock lock(state_->tokens_lock);
  if (state_->tokens.get<by_id>().erase(token->id) > 0) {
    state_->count_status(token->status, std::nullopt);
  }
  return {};
}

const iam::limits& service::limits() const noexcept { return state_->limits; }

boost::system::error_code service::flush_last_used() {
  std::lock_guard write(state_->token_write);
  std::vector<store::change> changes;
  std::vector<std::pair<const token_entry*, store::timestamp>> flushed;
  std::shared_lock lock(state_->tokens_lock);
  for (const auto& t : state_->tokens) {
    const auto used = t.last_used.value.load(std::memory_order_relaxed);
    if (used <= t.persisted_last_used.value.load(std::memory_order_relaxed)) continue;
    changes.push_back(store::touch_token{format_uuid(t.id), used});
    flushed.emplace_back(&t, used);
  }
  if (changes.empty()) return {};
  if (const auto ec = state_->database->commit(changes)) return ec;
  for (const auto& [t, used] : flushed) {
    t->persisted_last_used.value.store(used, std::memory_order_relaxed);
  }
  return {};
}

service::token_counts service::count_tokens() const noexcept {
  const auto count = [&](store::token_status s) {
    return state_->tokens_by_status[static_cast<std::size_t>(s)].load(std::memory_order_relaxed);
  };
  return {count(store::token_status::active), count(store::token_status::inactive),
          count(store::token_status::revoked)};
}

std::uint64_t service::statements_failed_closed() const noexcept {
  return state_->failed_closed.load(std::memory_order_relaxed);
}

}  // namespace gatehouse::iam
