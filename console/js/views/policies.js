// Policies: the organization's policies, built-ins marked and read-only; creating one (which then
// opens in the editor) and deleting one.
import {call} from '../api.js';
import {confirmAction, openDialog} from '../dialog.js';
import {h, replace, uniqueId} from '../dom.js';
import {plural, t} from '../i18n.js';
import {menuButton} from '../menu.js';
import {toastError, toastSuccess} from '../toast.js';
import {iamBreadcrumb, noIamAccess, pageLink} from './iam-pages.js';
import {errorText} from './words.js';

/** A policy key from its name, as a person would write it: "Flag editors" -> "flag-editors". */
function keyFrom(name) {
  return name.toLowerCase().normalize('NFKD').replace(/[^a-z0-9_]+/g, '-').replace(/^-+|-+$/g, '')
      .slice(0, 64);
}

export function policiesPage(main, {navigate}) {
  const heading = h('h1', {tabindex: '-1'}, t('policies.title'));
  const content = h('div', {class: 'page-content', 'aria-busy': 'true'},
      h('p', {class: 'loading'}, t('policies.loading')));
  replace(main, iamBreadcrumb(t('policies.title')), heading,
      h('p', {class: 'lead'}, t('policies.lead')), content);
  load();

  async function load() {
    let policies;
    try {
      policies = await call('GET', '/policies');
    } catch (e) {
      content.removeAttribute('aria-busy');
      if (e.status === 403) {
        replace(content, noIamAccess('policies.noAccessTitle'));
        return;
      }
      replace(content, h('div', {class: 'notice notice-error', role: 'alert'},
          h('p', {}, t('policies.loadFailed', {error: errorText(e)})),
          h('button', {type: 'button', onclick: load}, t('tokens.retry'))));
      return;
    }
    content.removeAttribute('aria-busy');
    replace(content,
        h('div', {class: 'toolbar'}, h('div', {class: 'toolbar-end'},
          h('button', {type: 'button', class: 'primary', onclick: add}, t('policies.add')))),
        table(policies));
  }

  function table(policies) {
    const column = (key) => h('th', {scope: 'col'}, t(key));
    return h('div', {class: 'table-area'}, h('table', {class: 'tokens'},
        h('caption', {class: 'visually-hidden'}, t('policies.title')),
        h('thead', {}, h('tr', {}, column('col.name'), column('policies.col.key'),
          column('col.type'), column('policies.col.statements'), column('policies.col.description'),
          h('th', {scope: 'col'}, h('span', {class: 'visually-hidden'}, t('col.actions'))))),
        h('tbody', {}, policies.map(row))));
  }

  function row(policy) {
    const builtin = policy.type === 'SysManaged';
    return h('tr', {},
        h('th', {scope: 'row', class: 'token-name'},
          pageLink(navigate, `/policies/${encodeURIComponent(policy.id)}`, policy.name)),
        h('td', {}, h('code', {}, policy.key)),
        h('td', {}, h('span', {class: builtin ? 'badge' : null},
          t(builtin ? 'policies.builtin' : 'policies.custom'))),
        h('td', {}, plural('policies.statementCount', policy.statements.length)),
        h('td', {class: 'description'}, policy.description),
        h('td', {class: 'row-actions'}, builtin ? null : menuButton({
          label: t('tokens.actionsFor', {name: policy.name}),
          items: [
            {label: t('action.edit'),
             onSelect: () => navigate(`/policies/${encodeURIComponent(policy.id)}`)},
            {label: t('action.delete'), danger: true, onSelect: () => remove(policy)},
          ],
        })));
  }

  async function remove(policy) {
    const yes = await confirmAction({title: t('policies.deleteTitle', {name: policy.name}),
                                     message: t('policies.deleteMessage'), verb: t('action.delete'),
                                     danger: true});
    if (!yes) return;
    try {
      await call('DELETE', `/policies/${encodeURIComponent(policy.id)}`);
      toastSuccess(t('policies.deleted', {name: policy.name}));
    } catch (e) {
      toastError(t('toast.failed', {error: errorText(e)}));
    }
    load();
  }

  function add() {
    const nameId = uniqueId('policy-name');
    const keyId = uniqueId('policy-key');
    const descriptionId = uniqueId('policy-description');
    const name = h('input', {id: nameId, type: 'text', autocomplete: 'off', required: true});
    const key = h('input', {id: keyId, type: 'text', autocomplete: 'off', required: true,
                            'aria-describedby': `${keyId}-hint`});
    const description = h('textarea', {id: descriptionId, rows: 2});
    const problem = h('p', {class: 'form-error', role: 'alert'});
    let keyEdited = false;
    name.addEventListener('input', () => {
      if (!keyEdited) key.value = keyFrom(name.value);
    });
    key.addEventListener('input', () => {
      keyEdited = true;
    });
    const create = h('button', {type: 'submit', class: 'primary'}, t('policies.create'));
    const form = h('form', {novalidate: true, onsubmit: async (event) => {
      event.preventDefault();
      problem.textContent = '';
      if (!name.value.trim() || !key.value.trim()) {
        problem.textContent = t('policies.nameAndKey');
        return;
      }
      create.disabled = true;
      try {
        const policy = await call('POST', '/policies', {
          name: name.value.trim(), key: key.value.trim(), description: description.value.trim()});
        dialog.close(policy);
      } catch (e) {
        problem.textContent = e.errors?.includes('key_is_invalid') ? t('policies.badKey') : errorText(e);
        create.disabled = false;
      }
    }},
    h('div', {class: 'field'}, h('label', {for: nameId}, t('token.name')), name),
    h('div', {class: 'field'}, h('label', {for: keyId}, t('policies.col.key')), key,
      h('p', {class: 'hint', id: `${keyId}-hint`}, t('policies.keyHint'))),
    h('div', {class: 'field'}, h('label', {for: descriptionId}, t('policies.col.description')),
      description),
    problem,
    h('div', {class: 'form-actions'},
      h('button', {type: 'button', onclick: () => dialog.close()}, t('dialog.cancel')), create));
    const dialog = openDialog({title: t('policies.addTitle'), body: form});
    dialog.closed.then((policy) => {
      if (!policy) return;
      toastSuccess(t('policies.created', {name: policy.name}));
      navigate(`/policies/${encodeURIComponent(policy.id)}`);
    });
  }
}
