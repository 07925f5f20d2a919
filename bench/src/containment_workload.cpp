// The containment pair generator: a token scope narrowed from a member's statements so that it is
// contained by construction, and for a not-contained pair one statement that widens it.
#include "workload.hpp"

#include "featbit_vocabulary.hpp"

#include <gatehouse/engine/reference.hpp>
#include <gatehouse/policy/catalogue.hpp>

#include <algorithm>
#include <stdexcept>

namespace gatehouse::bench {
namespace {

using policy::resource_pattern;

// Each step gives a pattern that matches a subset of what the input matches.
resource_pattern narrow_pattern(rng& r, const vocabulary& v, resource_pattern p) {
  const std::size_t steps = 1 + r.below(2);
  for (std::size_t step = 0; step < steps; ++step) {
    auto& last = p.segments.back();
    switch (r.below(4)) {
      case 0: {  // a glob key made concrete: the glob matches the concrete key
        std::vector<std::size_t> globbed;
        for (std::size_t i = 0; i < p.segments.size(); ++i) {
          if (key_of(p.segments[i]).find('*') != std::string_view::npos) globbed.push_back(i);
        }
        if (globbed.empty()) break;
        auto& s = p.segments[r.pick(globbed)];
        const auto type = type_of(s);
        s.path = std::string(type) + "/" + fill_key_glob(r, v, type, key_of(s));
        break;
      }
      case 1: {  // one more segment: a longer pattern matches only descendants
        const auto below = child_type(r, type_of(last));
        if (below.empty()) break;
        p.segments.push_back(seg(below, r.chance(0.5) ? std::string("*") : v.key(r, below)));
        break;
      }
      case 2:  // a tag on an untagged segment: the resource must then carry it
        if (last.tags.empty() && last.path != "*") last.tags.push_back(vocabulary::tag(r));
        break;
      default:  // fewer tag globs, or a glob made concrete
        if (last.tags.size() > 1) {
          last.tags = {r.pick(last.tags)};
        } else if (!last.tags.empty()) {
          last.tags.front() = fill_tag_glob(r, last.tags.front());
        }
        break;
    }
  }
  return p;
}

generated_statement narrow(rng& r, const vocabulary& v, const generated_statement& g,
                           std::string id) {
  generated_statement out;
  out.statement.id = std::move(id);
  out.statement.resource_type = g.statement.resource_type;
  out.statement.effect = policy::effect::allow;
  if (g.statement.actions.front() != policy::any_action) {
    out.statement.actions = subset(r, g.statement.actions);
  } else if (r.chance(0.5)) {
    out.statement.actions = {"*"};
  } else {
    out.statement.actions = some_actions(r, g.statement.resource_type, 3);
  }
  std::vector<std::size_t> kept;
  for (std::size_t i = 0; i < g.patterns.size(); ++i) {
    if (r.chance(0.6)) kept.push_back(i);
  }
  if (kept.empty()) kept.push_back(r.below(g.patterns.size()));
  for (auto i : kept) out.patterns.push_back(narrow_pattern(r, v, g.patterns[i]));
  set_resources(out);
  return out;
}

std::string literal_prefix(std::string_view glob) {
  return std::string(glob.substr(0, glob.find('*')));
}

// Whether some request could match both: a cheap over-approximation. Two first-segment globs
// whose literal prefixes disagree share no resource, and neither do disjoint action lists.
bool may_overlap(const generated_statement& allow, const generated_statement& deny) {
  if (deny.statement.resource_type == "*") return true;
  const auto& a = allow.statement.actions;
  const auto& d = deny.statement.actions;
  const bool actions_meet = a.front() == policy::any_action || d.front() == policy::any_action ||
                            std::any_of(a.begin(), a.end(), [&](auto& x) {
                              return std::find(d.begin(), d.end(), x) != d.end();
                            });
  if (!actions_meet) return false;
  for (const auto& pa : allow.patterns) {
    const auto x = literal_prefix(pa.segments.front().path);
    for (const auto& pd : deny.patterns) {
      const auto y = literal_prefix(pd.segments.front().path);
      if (x.starts_with(y) || y.starts_with(x)) return true;
    }
  }
  return false;
}

engine::decision reference_decision(const std::vector<engine::sourced_statement>& statements,
                                    const engine::request& q) {
  return engine::reference::evaluate(statements, q.action, q.resource).decision;
}

// One statement that allows a request `granted` denies: the request's resource with its last key
// widened to `*`, as a token asking for a whole env where its creator holds only some flags.
generated_statement widening_statement(rng& r, const vocabulary& v,
                                       const std::vector<generated_statement>& granted,
                                       std::vector<generated_statement> requested,
                                       engine::request& witness) {
  const auto granted_sourced = sourced(granted, "granted");
  for (int attempt = 0; attempt < 10'000; ++attempt) {
    auto q = vocabulary_request(r, v);
    if (!policy::is_catalogue_action(q.action)) continue;
    if (reference_decision(granted_sourced, q) == engine::decision::allow) continue;
    auto parsed = policy::parse_resource_pattern(q.resource);
    if (!parsed) continue;
    auto& last = parsed->segments.back();
    const auto type = type_of(last);
    last = seg(type, "*");
    generated_statement w;
    w.statement.id = "widened";
    w.statement.resource_type = type;
    w.statement.actions = {q.action};
    w.patterns = {*parsed};
    set_resources(w);
    requested.push_back(w);
    if (reference_decision(sourced(requested, "requested"), q) != engine::decision::allow) {
      requested.pop_back();
      continue;
    }
    witness = std::move(q);
    return w;
  }
  throw std::runtime_error("no request found that the granted statements deny");
}

}  // namespace

containment_workload generate_containment(const containment_options& options) {
  containment_workload out;
  out.granted = generate_workload({options.granted, 0, options.seed, false}).statements;
  rng r(options.seed ^ 0x9e3779b97f4a7c15ULL);
  const vocabulary v(options.granted);
  std::vector<const generated_statement*> allows;
  std::vector<const generated_statement*> denies;
  for (const auto& g : out.granted) {
    (g.statement.effect == policy::effect::deny ? denies : allows).push_back(&g);
  }
  if (allows.empty()) throw std::runtime_error("the granted statements allow nothing to narrow");
  std::vector<bool> copied(denies.size(), false);
  // The widening statement of a not-contained pair takes the last place.
  const std::size_t target = options.contained ? options.requested : options.requested - 1;
  std::size_t narrowed = 0;
  while (out.requested.size() < std::max<std::size_t>(target, 1)) {
    auto n = narrow(r, v, *r.pick(allows), "r" + std::to_string(narrowed++));
    // A copied deny takes back from `requested` whatever `granted` takes back with it.
    for (std::size_t i = 0; i < denies.size(); ++i) {
      if (copied[i] || !may_overlap(n, *denies[i])) continue;
      copied[i] = true;
      out.requested.push_back(*denies[i]);
    }
    out.requested.push_back(std::move(n));
  }
  if (!options.contained) {
    engine::request witness;
    out.requested.push_back(widening_statement(r, v, out.granted, out.requested, witness));
    out.witness = std::move(witness);
  }
  return out;
}

}  // namespace gatehouse::bench
