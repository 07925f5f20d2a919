// The trie a compiled policy is built in: mutable, keyed by canonical segment text, then laid out
// flat (flat_layout.hpp) once every statement is in.
#pragma once

#include "flat_layout.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace gatehouse::engine {

struct compiled_policy::builder {
  struct build_edge {
    std::uint32_t child;
    std::string path;
    std::vector<std::string> tags;
  };
  struct build_terminal {
    std::uint32_t statement;
    policy::action_set actions;
    bool deny;
  };
  struct build_node {
    std::uint32_t parent = 0;
    action_summary actions;
    std::vector<build_terminal> terminals;
    std::vector<build_edge> edges;
  };
  struct pending_slot {
    std::uint32_t parent;
    text_ref path;
    index_range edges;
  };

  std::vector<build_node> nodes{1};
  std::unordered_map<std::string, std::uint32_t> children;
  std::string key;
  /// Literal edge groups, and the prefix groups of crowded nodes, filed into their hash tables
  /// once every node is laid out.
  std::vector<pending_slot> slots;
  std::vector<pending_slot> prefix_slots;

  /// Files statement `index` of `out` in the trie: at the root when it is universal, and by each
  /// of its patterns.
  void add_statement(compiled_statement statement, std::uint32_t index, compiled_policy& out);

  /// The action summaries of every node. Children are always created after their parent, so one
  /// reverse pass suffices.
  void summarise();

  /// Lays out node `n`'s edges in three groups: globs tried one by one (`*` and general globs),
  /// prefix globs found by the first bytes of their text, and literals found by their path; the
  /// last two grouped by text so that one entry names all edges sharing it.
  void lay_out_edges(std::uint32_t n, node& target, compiled_policy& out);

  /// Files the node's terminals per action, so that a request reads only the statements of its
  /// own action: a counting sort by action id, linear in what it writes.
  static void lay_out_terminals(const build_node& source, node& target, compiled_policy& out);

  /// The open-addressed tables of literal edge groups and of crowded nodes' prefix groups, keyed
  /// by (parent node, text).
  void fill_tables(compiled_policy& out) const;

 private:
  std::uint32_t child_of(std::uint32_t parent, const policy::segment_pattern& segment);
  void add(const policy::resource_pattern& pattern, std::uint32_t statement,
           policy::action_set actions, bool deny);
  /// Statement `statement` ends at node `at`, for `actions`.
  void file_terminal(std::uint32_t at, std::uint32_t statement, policy::action_set actions,
                     bool deny);

  using edge_iterator = std::vector<build_edge>::iterator;
  void lay_out_groups(std::uint32_t n, edge_iterator first, edge_iterator last, node& target,
                      compiled_policy& out);
  static void lay_out_prefix_lengths(node& target, compiled_policy& out);
  /// An open-addressed table of `slots`, at most half full, keyed by slot_hash(text, parent).
  static void fill_table(std::span<const pending_slot> slots, std::string_view strings,
                         std::vector<literal_slot>& table, std::uint64_t& mask);
  static text_ref intern(compiled_policy& out, std::string_view text);
  static text_ref emit(compiled_policy& out, const build_edge& e);
};

}  // namespace gatehouse::engine
