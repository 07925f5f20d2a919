// The "Policies and groups" panel of one member: every policy and every group as a checkbox.
// Ticking attaches or joins at once; a refusal puts the tick back as it was and says why.
import {ApiError, call} from '../api.js';
import {openDialog} from '../dialog.js';
import {h, replace, uniqueId} from '../dom.js';
import {t} from '../i18n.js';
import {groupsOf, sortedPolicies} from './member-directory.js';
import {errorText} from './words.js';

/** Names joined as a list in the current language. */
export function listOf(names) {
  return names.join(t('members.separator'));
}

/**
 * A refused change to member `email` in words: the last-owner refusal, and a grant beyond the
 * signed-in member's own rights (its counterexample), said about this member; else errorText.
 */
export function changeErrorText(error, email) {
  if (error instanceof ApiError && error.errors.includes('LastOwner')) {
    return t('members.lastOwner', {email});
  }
  const counterexample = error instanceof ApiError ? error.data?.counterexample : null;
  if (counterexample?.action && counterexample?.resource) {
    return t('members.beyond', {email, action: counterexample.action, resource: counterexample.resource});
  }
  return errorText(error);
}

/**
 * One checkbox named `name`, described by `details` (nodes, each given an id). `apply(on)` makes
 * the change on the server; the box ignores clicks until it answers, and is unticked or
 * ticked again when it fails.
 */
function choice({name, details, checked, apply}) {
  const id = uniqueId('member-choice');
  const described = details.map((node, i) => {
    node.id = `${id}-d${i}`;
    return node.id;
  });
  const box = h('input', {type: 'checkbox', id, checked, 'aria-describedby': described.join(' ')});
  let busy = false;
  box.addEventListener('click', (event) => {
    if (busy) event.preventDefault();
  });
  box.addEventListener('change', async () => {
    const on = box.checked;
    busy = true;
    box.setAttribute('aria-busy', 'true');
    try {
      await apply(on);
    } catch {
      box.checked = !on;
    } finally {
      busy = false;
      box.removeAttribute('aria-busy');
    }
  });
  return h('div', {class: 'access-choice'}, box,
      h('div', {class: 'access-choice-text'}, h('label', {for: id}, name), details));
}

/**
 * Opens the panel for `member`, from `directory` as the page last loaded it. Settles when the
 * panel closes, with true when something changed.
 */
export function openMemberAccess({member, directory}) {
  const email = member.email;
  const direct = new Set(member.policyIds);
  const joined = new Set(groupsOf(directory, member.id).map((g) => g.id));
  const status = h('p', {role: 'status', class: 'access-status'});
  const alert = h('div', {class: 'panel-alert access-alert', role: 'alert'});
  const throughNotes = [];
  let changed = false;

  /**
   * PUTs `path`; once the server agrees, `held` (the member's policies or groups) gains or loses
   * `id` and `done` is said. A refusal is said and thrown on, for the box to untick or retick.
   */
  async function change({path, on, held, id, done}) {
    replace(alert);
    try {
      await call('PUT', path);
    } catch (e) {
      replace(status);
      replace(alert, t('members.changeFailed', {error: changeErrorText(e, email)}));
      throw e;
    }
    if (on) held.add(id);
    else held.delete(id);
    changed = true;
    replace(status, done);
    updateThroughNotes();
  }

  /** Says, beside each policy, through which of the member's groups it also applies. */
  function updateThroughNotes() {
    for (const {policy, note} of throughNotes) {
      const groups = directory.groups.filter((g) => joined.has(g.id) && g.policyIds.includes(policy.id));
      const key = direct.has(policy.id) ? 'members.alsoThrough' : 'members.heldThrough';
      replace(note, groups.length > 0 ? t(key, {groups: listOf(groups.map((g) => g.name))}) : '');
    }
  }

  const memberPath = encodeURIComponent(member.id);
  const policyChoices = sortedPolicies(directory.policies).map((policy) => {
    const note = h('p', {class: 'hint access-note'});
    throughNotes.push({policy, note});
    const builtIn = policy.type === 'SysManaged';
    return choice({
      name: policy.name,
      details: [builtIn ? h('span', {class: 'member-badge'}, t('members.builtIn')) : null,
        policy.description ? h('p', {class: 'hint'}, policy.description) : null, note].filter(Boolean),
      checked: direct.has(policy.id),
      apply: (on) => change({
        path: `/members/${memberPath}/${on ? 'add' : 'remove'}-policy/${encodeURIComponent(policy.id)}`,
        on, held: direct, id: policy.id,
        done: t(on ? 'members.attached' : 'members.detached', {policy: policy.name, email}),
      }),
    });
  });

  const groupChoices = directory.groups.map((group) => {
    const grants = group.policyIds.map((id) => directory.policyById.get(id)?.name).filter(Boolean);
    return choice({
      name: group.name,
      details: [group.description ? h('p', {class: 'hint'}, group.description) : null,
        h('p', {class: 'hint'}, grants.length > 0 ? t('members.grants', {policies: listOf(grants)})
                                                  : t('members.grantsNothing'))].filter(Boolean),
      checked: joined.has(group.id),
      apply: (on) => change({
        path: `/groups/${encodeURIComponent(group.id)}/${on ? 'add' : 'remove'}-member/${memberPath}`,
        on, held: joined, id: group.id,
        done: t(on ? 'members.joined' : 'members.left', {group: group.name, email}),
      }),
    });
  });
  updateThroughNotes();

  const close = h('button', {type: 'button', class: 'primary', onclick: () => dialog.close()},
      t('dialog.close'));
  const dialog = openDialog({
    title: t('members.accessTitle', {email}),
    body: [
      h('p', {class: 'hint'}, t('members.accessHint')),
      h('fieldset', {class: 'access-group'}, h('legend', {}, t('members.policies')), policyChoices),
      h('fieldset', {class: 'access-group'}, h('legend', {}, t('members.groups')),
        groupChoices.length > 0 ? groupChoices : h('p', {class: 'hint'}, t('members.noGroups'))),
    ],
    actions: [h('div', {class: 'access-messages'}, alert, status), close],
    variant: 'drawer',
  });
  return dialog.closed.then(() => changed);
}
