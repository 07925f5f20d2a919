// The organization's members, groups and policies, asked for once, and what follows from them:
// which groups a member is in and the policies that apply to the member (SPEC §3).
import {call} from '../api.js';

/** Members, groups and policies in one round of three calls, with look-ups by id. */
export async function loadDirectory() {
  const [members, groups, policies] = await Promise.all([
    call('GET', '/members'), call('GET', '/groups'), call('GET', '/policies'),
  ]);
  return {
    members,
    groups,
    policies,
    policyById: new Map(policies.map((p) => [p.id, p])),
  };
}

/** The groups of `directory` that list `memberId` among their members. */
export function groupsOf(directory, memberId) {
  return directory.groups.filter((g) => g.memberIds.includes(memberId));
}

/**
 * The policies that apply to a member holding `directIds` and in `groups`, each once (by id):
 * [{policy, direct, through: [group]}], the direct ones first. A policy held directly and
 * through a group counts as direct; `through` still names the groups. Ids of policies that no
 * longer exist are left out, as the server leaves them out of decisions.
 */
export function effectivePolicies(directory, directIds, groups) {
  const entries = new Map();
  const entry = (id) => {
    const policy = directory.policyById.get(id);
    if (!policy) return null;
    if (!entries.has(id)) entries.set(id, {policy, direct: false, through: []});
    return entries.get(id);
  };
  for (const id of directIds) {
    const e = entry(id);
    if (e) e.direct = true;
  }
  for (const group of groups) {
    for (const id of group.policyIds) {
      const e = entry(id);
      if (e && !e.through.includes(group)) e.through.push(group);
    }
  }
  return [...entries.values()];
}

/** Built-in policies first, in the server's order, then the organization's own by name. */
export function sortedPolicies(policies) {
  const builtIn = policies.filter((p) => p.type === 'SysManaged');
  const custom = policies.filter((p) => p.type !== 'SysManaged')
      .sort((a, b) => a.name.localeCompare(b.name));
  return [...builtIn, ...custom];
}
