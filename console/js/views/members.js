// Members: the organization's members with their effective policies; adding by e-mail, removing,
// and attaching or detaching policies and groups.
import {ApiError, allowed, call, session} from '../api.js';
import {confirmAction, openDialog} from '../dialog.js';
import {h, replace, uniqueId} from '../dom.js';
import {formatTime, t} from '../i18n.js';
import {menuButton} from '../menu.js';
import {toastError, toastSuccess} from '../toast.js';
import {changeErrorText, listOf, openMemberAccess} from './member-access.js';
import {effectivePolicies, groupsOf, loadDirectory} from './member-directory.js';
import {iamBreadcrumb, noIamAccess} from './iam-pages.js';
import {errorText} from './words.js';

/** What a refused POST members/add says about the e-mail field, or null when it is not about it. */
function emailProblem(error) {
  if (!(error instanceof ApiError)) return null;
  if (error.status === 409) return t('members.exists');
  if (error.errors.includes('email_is_invalid')) return t('members.emailInvalid');
  if (error.errors.includes('email_is_required')) return t('members.emailRequired');
  return null;
}

/** The dialog "Add member": an e-mail, checked by the server. Settles with the new member. */
function openAddMember() {
  const id = uniqueId('member-email');
  const formId = uniqueId('member-form');
  const problem = h('p', {id: `${id}-problem`, class: 'field-error', 'aria-live': 'polite'});
  const input = h('input', {id, type: 'email', required: true, autocomplete: 'off', spellcheck: 'false',
                            'aria-describedby': `${id}-hint ${id}-problem`});
  const alert = h('div', {class: 'panel-alert', role: 'alert'});
  const submit = h('button', {type: 'submit', class: 'primary', form: formId}, t('members.addSubmit'));
  const form = h('form', {id: formId, novalidate: true, onsubmit: (event) => {
    event.preventDefault();
    save();
  }}, alert, h('div', {class: 'field'}, h('label', {for: id}, t('members.email')), input,
    h('p', {id: `${id}-hint`, class: 'hint'}, t('members.emailHint')), problem));
  const dialog = openDialog({
    title: t('members.addTitle'),
    body: form,
    actions: [h('button', {type: 'button', onclick: () => dialog.close()}, t('dialog.cancel')), submit],
  });

  function showProblem(text) {
    replace(problem, text);
    input.setAttribute('aria-invalid', text ? 'true' : 'false');
  }
  input.addEventListener('input', () => showProblem(''));

  async function save() {
    replace(alert);
    const email = input.value.trim();
    if (email === '') {
      showProblem(t('members.emailRequired'));
      input.focus();
      return;
    }
    submit.disabled = true;
    try {
      dialog.close(await call('POST', '/members/add', {email, policyIds: [], groupIds: []}));
    } catch (e) {
      const text = emailProblem(e);
      if (text) {
        showProblem(text);
        input.focus();
      } else {
        replace(alert, changeErrorText(e, email));
      }
    } finally {
      submit.disabled = false;
    }
  }
  return dialog.closed;
}

export function membersPage(main) {
  const me = session.memberId();
  const heading = h('h1', {tabindex: '-1'}, t('members.title'));
  const content = h('div', {class: 'page-content', 'aria-busy': 'true'},
      h('p', {class: 'loading'}, t('members.loading')));
  replace(main, iamBreadcrumb(t('members.title')), heading, h('p', {class: 'lead'}, t('members.lead')),
      content);
  const toolbar = h('div', {class: 'toolbar'}, h('div', {class: 'toolbar-end'},
      h('button', {type: 'button', class: 'primary', onclick: add}, t('members.add'))));
  const table = h('div', {class: 'table-area'});
  let directory = null;

  start();

  // The right is asked first, so that a member without it sees the notice and makes no call
  // that the server would refuse.
  async function start() {
    content.setAttribute('aria-busy', 'true');
    let mayManage;
    try {
      [mayManage] = await allowed([['CanManageIAM', 'iam/*']]);
    } catch (e) {
      showError(e);
      return;
    }
    if (mayManage) refresh();
    else showNoAccess();
  }

  let loadNumber = 0;
  /** Loads members, groups and policies again and redraws the table. */
  async function refresh() {
    const mine = ++loadNumber;
    content.setAttribute('aria-busy', 'true');
    let loaded;
    try {
      loaded = await loadDirectory();
    } catch (e) {
      if (mine === loadNumber) showError(e);
      return;
    }
    if (mine !== loadNumber) return;  // A later change's answer is on its way.
    directory = loaded;
    content.removeAttribute('aria-busy');
    if (!table.isConnected) replace(content, toolbar, table);
    renderTable();
  }

  function showNoAccess() {
    content.removeAttribute('aria-busy');
    replace(content, noIamAccess('members.noAccessTitle'));
  }

  function showError(e) {
    if (e instanceof ApiError && e.status === 403) {
      showNoAccess();
      return;
    }
    content.removeAttribute('aria-busy');
    replace(content, h('div', {class: 'notice notice-error', role: 'alert'},
        h('p', {}, t('members.loadFailed', {error: errorText(e)})),
        h('button', {type: 'button', onclick: start}, t('members.retry'))));
  }

  /** Redraws the rows; focus on a row's menu moves to the same member's new menu. */
  function renderTable() {
    const focused = table.contains(document.activeElement) ? document.activeElement.dataset.focusKey : null;
    fillTable();
    if (!focused) return;
    const successor = table.querySelector(`[data-focus-key="${CSS.escape(focused)}"]`);
    if (successor) successor.focus();
    else heading.focus();
  }

  function fillTable() {
    if (directory.members.length === 0) {
      replace(table, h('div', {class: 'empty'}, h('p', {class: 'empty-title'}, t('members.empty'))));
      return;
    }
    const column = (key) => h('th', {scope: 'col'}, t(key));
    // The list style is the access-token page's.
    replace(table, h('table', {class: 'tokens'},
        h('caption', {class: 'visually-hidden'}, t('members.title')),
        h('thead', {}, h('tr', {}, column('members.col.email'), column('members.col.policies'),
          column('members.col.groups'), column('members.col.joined'),
          h('th', {scope: 'col'}, h('span', {class: 'visually-hidden'}, t('members.col.actions'))))),
        h('tbody', {}, directory.members.map(row))));
  }

  function row(member) {
    const groups = groupsOf(directory, member.id);
    const policies = effectivePolicies(directory, member.policyIds, groups);
    const none = () => h('span', {class: 'member-none'}, t('members.none'));
    return h('tr', {},
        h('th', {scope: 'row', class: 'token-name'}, member.email,
          member.id === me ? h('span', {class: 'member-badge member-badge-you'}, t('members.you')) : null),
        h('td', {}, policies.length === 0 ? none() : h('ul', {class: 'member-policy-list'},
            policies.map(({policy, direct, through}) => h('li', {}, direct ? policy.name
              : t('members.through', {policy: policy.name, groups: listOf(through.map((g) => g.name))}))))),
        h('td', {}, groups.length === 0 ? none() : listOf(groups.map((g) => g.name))),
        h('td', {}, h('time', {datetime: member.createdAt ?? ''}, formatTime(member.createdAt))),
        h('td', {class: 'row-actions'}, menuButton({
          label: t('members.actionsFor', {email: member.email}),
          focusKey: `actions:${member.id}`,
          items: [
            {label: t('members.access'), onSelect: () => editAccess(member)},
            {label: t('members.remove'), danger: true, onSelect: () => remove(member)},
          ],
        })));
  }

  async function add() {
    const member = await openAddMember();
    if (!member) return;
    toastSuccess(t('members.added', {email: member.email}));
    refresh();
  }

  async function editAccess(member) {
    if (await openMemberAccess({member, directory})) refresh();
  }

  async function remove(member) {
    const email = member.email;
    const message = t('members.removeMessage', {email});
    const yes = await confirmAction({
      title: t('members.removeTitle', {email}),
      message: member.id === me ? t('members.removeSelf', {message}) : message,
      verb: t('members.remove'),
      danger: true,
    });
    if (!yes) return;
    try {
      await call('DELETE', `/members/remove-from-org/${encodeURIComponent(member.id)}`);
      toastSuccess(t('members.removed', {email}));
    } catch (e) {
      toastError(t('members.failed', {error: changeErrorText(e, email)}));
    }
    refresh();
  }
}
