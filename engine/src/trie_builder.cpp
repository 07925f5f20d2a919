// Building the trie of a compiled policy: filing each statement's patterns segment by segment,
// summarising the actions below every node, and laying it all out in the flat arrays the walk
// reads.
#include "trie_builder.hpp"

#include <gatehouse/policy/glob.hpp>
#include <gatehouse/policy/name_hash.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

namespace gatehouse::engine {
namespace {

using detail::kind_of;
using detail::slot_hash;

// The same glob with every run of stars as one star: it matches the same texts, and is the form
// edges are keyed and tested by.
std::string collapse_stars(std::string_view glob) {
  std::string out;
  out.reserve(glob.size());
  for (const char c : glob) {
    if (c != '*' || out.empty() || out.back() != '*') out += c;
  }
  return out;
}

// Where an edge stands in its node's layout: the globs tried one by one (`*` and general globs)
// first, then the prefix groups, then the literal groups.
int layout_rank(std::string_view path) noexcept {
  const auto kind = kind_of(path);
  return kind == path_kind::prefix ? 1 : kind == path_kind::literal ? 2 : 0;
}

}  // namespace

void compiled_policy::builder::add_statement(compiled_statement statement, std::uint32_t index,
                                             compiled_policy& out) {
  const bool deny = statement.effect == policy::effect::deny;
  // A universal statement ends at the root, as a pattern of no segments would: it matches every
  // resource name, the empty one included.
  if (statement.universal) file_terminal(0, index, statement.actions, deny);
  for (const auto& pattern : statement.patterns) {
    out.max_depth_ = std::max(out.max_depth_, pattern.segments.size());
    add(pattern, index, statement.actions, deny);
  }
  out.statements_.push_back(std::move(statement));
}

std::uint32_t compiled_policy::builder::child_of(std::uint32_t parent,
                                                 const policy::segment_pattern& segment) {
  // Tag order, repetition and runs of stars never change a match, so they do not split edges.
  std::vector<std::string> tags;
  tags.reserve(segment.tags.size());
  for (const auto& tag : segment.tags) tags.push_back(collapse_stars(tag));
  std::sort(tags.begin(), tags.end());
  tags.erase(std::unique(tags.begin(), tags.end()), tags.end());
  std::string path = collapse_stars(segment.path);
  key.assign(reinterpret_cast<const char*>(&parent), sizeof parent);
  key += path;
  for (const auto& tag : tags) {
    key += ';';
    key += tag;
  }
  const auto [it, inserted] = children.try_emplace(key, static_cast<std::uint32_t>(nodes.size()));
  if (inserted) {
    nodes[parent].edges.push_back({it->second, std::move(path), std::move(tags)});
    nodes.emplace_back().parent = parent;
  }
  return it->second;
}

void compiled_policy::builder::add(const policy::resource_pattern& pattern, std::uint32_t statement,
                                   policy::action_set actions, bool deny) {
  std::uint32_t at = 0;
  for (const auto& segment : pattern.segments) at = child_of(at, segment);
  file_terminal(at, statement, actions, deny);
}

void compiled_policy::builder::file_terminal(std::uint32_t at, std::uint32_t statement,
                                             policy::action_set actions, bool deny) {
  auto& node = nodes[at];
  // Statements are added in order, so a statement already ending here is the last one.
  if (node.terminals.empty() || node.terminals.back().statement != statement) {
    node.terminals.push_back({statement, actions, deny});
  }
  (deny ? node.actions.here_deny : node.actions.here_allow) |= actions;
}

void compiled_policy::builder::summarise() {
  for (std::size_t n = nodes.size(); n-- > 1;) {
    auto& actions = nodes[n].actions;
    actions.deny_below |= actions.here_deny;
    auto& parent = nodes[nodes[n].parent].actions;
    parent.children |= actions.below();
    parent.deny_below |= actions.deny_below;
  }
  nodes[0].actions.deny_below |= nodes[0].actions.here_deny;
}

void compiled_policy::lay_out(builder& trie) {
  nodes_.resize(trie.nodes.size());
  for (std::size_t n = 0; n < trie.nodes.size(); ++n) {
    const auto& source = trie.nodes[n];
    auto& target = nodes_[n];
    target.actions = source.actions;
    builder::lay_out_terminals(source, target, *this);
    trie.lay_out_edges(static_cast<std::uint32_t>(n), target, *this);
  }
  trie.fill_tables(*this);
}

void compiled_policy::builder::lay_out_terminals(const build_node& source, node& target,
                                                 compiled_policy& out) {
  if (source.terminals.empty()) return;
  // Range k counts the terminals of the k-th (effect, action) pair the node has: allows first.
  const policy::action_set allows = source.actions.here_allow;
  const policy::action_set denies = source.actions.here_deny;
  const auto allow_ranges = static_cast<std::size_t>(std::popcount(allows));
  const auto range_of = [&](bool deny, std::size_t action) {
    const policy::action_set lower = (policy::action_set{1} << action) - 1;
    return deny ? allow_ranges + static_cast<std::size_t>(std::popcount(denies & lower))
                : static_cast<std::size_t>(std::popcount(allows & lower));
  };
  std::vector<std::uint32_t> cursor(allow_ranges + static_cast<std::size_t>(std::popcount(denies)) +
                                    1);
  for (const auto& t : source.terminals) {
    for (auto bits = t.actions; bits != 0; bits &= bits - 1) {
      ++cursor[range_of(t.deny, static_cast<std::size_t>(std::countr_zero(bits))) + 1];
    }
  }
  cursor[0] = static_cast<std::uint32_t>(out.terminals_.size());
  for (std::size_t r = 1; r < cursor.size(); ++r) cursor[r] += cursor[r - 1];
  target.ranges = static_cast<std::uint32_t>(out.terminal_ranges_.size());
  out.terminal_ranges_.insert(out.terminal_ranges_.end(), cursor.begin(), cursor.end());
  out.terminals_.resize(cursor.back());
  // Statements were added in index order, so each range comes out sorted.
  for (const auto& t : source.terminals) {
    for (auto bits = t.actions; bits != 0; bits &= bits - 1) {
      const auto r = range_of(t.deny, static_cast<std::size_t>(std::countr_zero(bits)));
      out.terminals_[cursor[r]++] = t.statement;
    }
  }
}

compiled_policy::text_ref compiled_policy::builder::intern(compiled_policy& out,
                                                           std::string_view text) {
  const text_ref ref{static_cast<std::uint32_t>(out.strings_.size()),
                     static_cast<std::uint32_t>(text.size())};
  out.strings_ += text;
  return ref;
}

compiled_policy::text_ref compiled_policy::builder::emit(compiled_policy& out,
                                                         const build_edge& e) {
  const text_ref path = intern(out, e.path);
  index_range tags{static_cast<std::uint32_t>(out.tag_globs_.size())};
  for (const auto& tag : e.tags) {
    out.tag_globs_.push_back(intern(out, tag));
    out.tag_shapes_.push_back(
        {static_cast<std::uint32_t>(policy::glob_min_length(tag)), kind_of(tag)});
  }
  tags.end = static_cast<std::uint32_t>(out.tag_globs_.size());
  out.edges_.push_back({.child = e.child, .path = path, .tags = tags, .kind = kind_of(e.path)});
  return path;
}

void compiled_policy::builder::lay_out_edges(std::uint32_t n, node& target, compiled_policy& out) {
  auto& edges = nodes[n].edges;
  // Prefix edges by their text (the path less its star), so that the groups are in text order.
  const auto order = [](const build_edge& e) {
    const std::string_view path = e.path;
    const int rank = layout_rank(path);
    return std::pair(rank, rank == 1 ? path.substr(0, path.size() - 1) : path);
  };
  std::stable_sort(edges.begin(), edges.end(),
                   [&](auto& a, auto& b) { return order(a) < order(b); });
  const auto grouped =
      std::find_if(edges.begin(), edges.end(), [](auto& e) { return layout_rank(e.path) > 0; });
  target.globs.begin = static_cast<std::uint32_t>(out.edges_.size());
  for (auto it = edges.begin(); it != grouped; ++it) emit(out, *it);
  target.globs.end = static_cast<std::uint32_t>(out.edges_.size());

  target.prefixes.begin = static_cast<std::uint32_t>(out.prefix_groups_.size());
  lay_out_groups(n, grouped, edges.end(), target, out);
  target.prefixes.end = static_cast<std::uint32_t>(out.prefix_groups_.size());
  if (target.prefixes.size() > detail::crowded_prefixes) {
    for (auto g = target.prefixes.begin; g != target.prefixes.end; ++g) {
      prefix_slots.push_back({n, out.prefix_groups_[g].text, out.prefix_groups_[g].edges});
    }
  }
  lay_out_prefix_lengths(target, out);
}

void compiled_policy::builder::lay_out_groups(std::uint32_t n, edge_iterator first,
                                              edge_iterator last, node& target,
                                              compiled_policy& out) {
  for (auto it = first; it != last;) {
    const auto group_end = std::find_if(it, last, [&](auto& e) { return e.path != it->path; });
    index_range edges{static_cast<std::uint32_t>(out.edges_.size())};
    text_ref path{};
    for (auto e = it; e != group_end; ++e) path = emit(out, *e);
    edges.end = static_cast<std::uint32_t>(out.edges_.size());
    if (layout_rank(it->path) == 1) {
      --path.length;  // the trailing star
      const std::string_view prefix_text(out.strings_.data() + path.offset, path.length);
      const auto head_size = std::min<std::size_t>(8, path.length);
      out.prefix_groups_.push_back(
          {path, edges, policy::first_bytes(prefix_text),
           head_size == 8 ? ~std::uint64_t{0} : policy::first_bytes(std::string(head_size, '\xff')),
           prefix_text.size() > 8 ? policy::first_bytes(prefix_text.substr(prefix_text.size() - 8))
                                  : 0});
    } else {
      target.has_literals = true;
      slots.push_back({n, path, edges});
    }
    it = group_end;
  }
}

// The distinct lengths of the node's prefix texts, ascending.
void compiled_policy::builder::lay_out_prefix_lengths(node& target, compiled_policy& out) {
  std::vector<prefix_length> lengths;
  for (auto g = target.prefixes.begin; g != target.prefixes.end; ++g) {
    const text_ref text = out.prefix_groups_[g].text;
    const auto hash =
        policy::name_hash(std::string_view(out.strings_).substr(text.offset, text.length));
    lengths.push_back({text.length, detail::filter_bit(hash)});
  }
  std::sort(lengths.begin(), lengths.end(),
            [](const auto& a, const auto& b) { return a.length < b.length; });
  target.prefix_lengths.begin = static_cast<std::uint32_t>(out.prefix_lengths_.size());
  for (const auto& length : lengths) {
    if (out.prefix_lengths_.size() > target.prefix_lengths.begin &&
        out.prefix_lengths_.back().length == length.length) {
      out.prefix_lengths_.back().filter |= length.filter;
    } else {
      out.prefix_lengths_.push_back(length);
    }
  }
  target.prefix_lengths.end = static_cast<std::uint32_t>(out.prefix_lengths_.size());
}

void compiled_policy::builder::fill_table(std::span<const pending_slot> slots,
                                          std::string_view strings,
                                          std::vector<literal_slot>& table, std::uint64_t& mask) {
  const std::size_t capacity = std::bit_ceil(std::max<std::size_t>(8, slots.size() * 2));
  table.assign(capacity, literal_slot{});
  mask = capacity - 1;
  for (const auto& slot : slots) {
    const auto hash = slot_hash(
        policy::name_hash(strings.substr(slot.path.offset, slot.path.length)), slot.parent);
    auto i = hash & mask;
    while (table[i].parent != literal_slot::empty) i = (i + 1) & mask;
    table[i] = {hash, slot.parent, slot.path, slot.edges};
  }
}

void compiled_policy::builder::fill_tables(compiled_policy& out) const {
  fill_table(slots, out.strings_, out.literal_table_, out.literal_mask_);
  fill_table(prefix_slots, out.strings_, out.prefix_table_, out.prefix_mask_);
}

}  // namespace gatehouse::engine
