// Integrations / Access tokens: the organization's tokens, filtered and paged by the server, with
// Add and each row's actions offered as the server's decisions allow.
import {allowed, call, query, session} from '../api.js';
import {confirmAction} from '../dialog.js';
import {debounce, h, replace, uniqueId} from '../dom.js';
import {formatTime, plural, t} from '../i18n.js';
import {menuButton} from '../menu.js';
import {toastError, toastSuccess} from '../toast.js';
import {askRotation, openTokenPanel, showCreatedToken} from './token-panel.js';
import {errorText} from './words.js';

const pageSizes = [10, 20, 30];
const weekMs = 7 * 86_400_000;
const tokenResource = 'access-token/*';

/** What the signed-in member may do here, decided by the server in one batch. */
async function loadRights() {
  const [list, managePersonal, manageService, manageIam] = await allowed([
    ['ListAccessTokens', tokenResource],
    ['ManagePersonalAccessTokens', tokenResource],
    ['ManageServiceAccessTokens', tokenResource],
    ['CanManageIAM', 'iam/*'],
  ]);
  return {list, managePersonal, manageService, manageIam};
}

function mayManage(rights, token) {
  return token.type === 'Service' ? rights.manageService : rights.managePersonal;
}

export function accessTokensPage(main) {
  const state = {
    filters: {name: '', creatorId: '', type: '', status: ''},
    pageIndex: 0,
    pageSize: 10,
    rights: null,
    members: new Map(),
    firstRender: true,
  };
  const me = session.memberId();
  const heading = h('h1', {tabindex: '-1'}, t('tokens.title'));
  const lead = h('p', {class: 'lead'}, t('tokens.lead'));
  const content = h('div', {class: 'page-content', 'aria-busy': 'true'},
      h('p', {class: 'loading'}, t('tokens.loading')));
  replace(main, h('nav', {class: 'breadcrumb', 'aria-label': t('nav.breadcrumb')},
      h('span', {}, t('nav.integrations')), ' / ', h('span', {'aria-current': 'page'}, t('tokens.title'))),
  heading, lead, content);

  const table = h('div', {class: 'table-area'});
  const pager = h('div', {class: 'pager'});
  let addButton = null;

  start();

  // The rights, the first page and the members are asked for at once; the page is drawn when
  // all have answered.
  async function start() {
    const firstPage = fetchPage();
    firstPage.catch(() => {});  // awaited below, unless the rights say the list is not allowed
    // Without CanManageIAM the member list is refused; the creator filter then offers "Me".
    const members = call('GET', '/members').catch(() => []);
    try {
      state.rights = await loadRights();
    } catch (e) {
      showLoadError(e, start);
      return;
    }
    if (!state.rights.list) {
      content.removeAttribute('aria-busy');
      replace(content, h('div', {class: 'notice'}, h('h2', {}, t('tokens.noAccessTitle')),
          h('p', {}, t('tokens.noAccess'))));
      return;
    }
    for (const m of await members) state.members.set(m.id, m.email);
    replace(content, toolbar(), table, pager);
    await refresh(firstPage);
  }

  function fetchPage() {
    return call('GET', `/access-tokens${query({...state.filters, pageIndex: state.pageIndex,
                                               pageSize: state.pageSize})}`);
  }

  function toolbar() {
    const nameId = uniqueId('filter-name');
    const creatorId = uniqueId('filter-creator');
    const typeId = uniqueId('filter-type');
    const statusId = uniqueId('filter-status');
    const reload = () => {
      state.pageIndex = 0;
      refresh();
    };
    const nameSoon = debounce(reload, 300);
    const creators = [['', t('filter.anyCreator')]];
    if (me) creators.push([me, t('filter.me')]);
    for (const [id, email] of state.members) if (id !== me) creators.push([id, email]);
    const canAdd = state.rights.managePersonal || state.rights.manageService;
    addButton = canAdd ? h('button', {type: 'button', class: 'primary', onclick: add}, t('tokens.add')) : null;
    return h('div', {class: 'toolbar'},
        h('div', {class: 'filter'}, h('label', {for: nameId}, t('filter.name')),
          h('input', {id: nameId, type: 'search', autocomplete: 'off', oninput: (event) => {
            state.filters.name = event.target.value.trim();
            nameSoon();
          }})),
        h('div', {class: 'filter'}, h('label', {for: creatorId}, t('filter.creator')),
          h('select', {id: creatorId, onchange: (event) => {
            state.filters.creatorId = event.target.value;
            reload();
          }}, creators.map(([value, label]) => h('option', {value}, label)))),
        h('div', {class: 'filter'}, h('label', {for: typeId}, t('filter.type')),
          h('select', {id: typeId, onchange: (event) => {
            state.filters.type = event.target.value;
            reload();
          }}, h('option', {value: ''}, t('filter.anyType')),
          h('option', {value: 'Personal'}, t('token.type.Personal')),
          h('option', {value: 'Service'}, t('token.type.Service')))),
        h('div', {class: 'filter'}, h('label', {for: statusId}, t('filter.status')),
          h('select', {id: statusId, onchange: (event) => {
            state.filters.status = event.target.value;
            reload();
          }}, h('option', {value: ''}, t('filter.anyStatus')),
          ['Active', 'Inactive', 'Expired'].map((s) => h('option', {value: s}, t(`status.${s}`))))),
        h('div', {class: 'toolbar-end'}, addButton));
  }

  let loadNumber = 0;
  let shown = '';
  /** Shows the page `pending` answers (a fresh request by default). */
  async function refresh(pending = fetchPage()) {
    const mine = ++loadNumber;
    content.setAttribute('aria-busy', 'true');
    let page;
    try {
      page = await pending;
    } catch (e) {
      if (mine === loadNumber) showListError(e);
      return;
    }
    if (mine !== loadNumber) return;  // A newer filter's answer is on its way.
    if (page.items.length === 0 && state.pageIndex > 0 && page.totalCount > 0) {
      state.pageIndex = Math.floor((page.totalCount - 1) / state.pageSize);
      refresh();
      return;
    }
    content.removeAttribute('aria-busy');
    // The same answer again (a filter typed and taken back) leaves the rows, and an open menu,
    // as they are.
    const text = JSON.stringify([page, state.pageSize, state.pageIndex]);
    if (text === shown) return;
    shown = text;
    renderTable(page);
    renderPager(page.totalCount);
    if (state.firstRender) {
      state.firstRender = false;
      performance.mark('gatehouse:access-tokens-rendered');
    }
  }

  function showListError(e) {
    content.removeAttribute('aria-busy');
    replace(table, h('div', {class: 'notice notice-error', role: 'alert'},
        h('p', {}, t('tokens.loadFailed', {error: errorText(e)})),
        h('button', {type: 'button', onclick: refresh}, t('tokens.retry'))));
    replace(pager);
  }

  function showLoadError(e, retry) {
    content.removeAttribute('aria-busy');
    replace(content, h('div', {class: 'notice notice-error', role: 'alert'},
        h('p', {}, t('tokens.loadFailed', {error: errorText(e)})),
        h('button', {type: 'button', onclick: retry}, t('tokens.retry'))));
  }

  function creatorName(token) {
    if (token.creatorId === me) return t('tokens.you');
    return token.creator?.email ?? state.members.get(token.creatorId) ?? token.creatorId;
  }

  /** Renders `page`; focus on a row's control moves to the same control of the new rows. */
  function renderTable(page) {
    const focused = table.contains(document.activeElement) ? document.activeElement.dataset.focusKey : null;
    fillTable(page);
    if (!focused) return;
    const successor = table.querySelector(`[data-focus-key="${CSS.escape(focused)}"]`);
    if (successor) successor.focus();
    else heading.focus();
  }

  function fillTable(page) {
    if (page.items.length === 0) {
      const filtered = Object.values(state.filters).some((v) => v !== '');
      replace(table, h('div', {class: 'empty'},
          h('p', {class: 'empty-title'}, t(filtered ? 'tokens.noMatch' : 'tokens.empty')),
          filtered || !addButton ? null : h('p', {}, t('tokens.emptyHint'))));
      return;
    }
    const column = (key) => h('th', {scope: 'col'}, t(key));
    replace(table, h('table', {class: 'tokens'},
        h('caption', {class: 'visually-hidden'}, t('tokens.title')),
        h('thead', {}, h('tr', {}, column('col.name'), column('col.type'), column('col.creator'),
          column('col.status'), column('col.lastUsed'), column('col.expires'), column('col.token'),
          h('th', {scope: 'col'}, h('span', {class: 'visually-hidden'}, t('col.actions'))))),
        h('tbody', {}, page.items.map(row))));
  }

  function row(token) {
    const active = token.status === 'Active';
    return h('tr', {},
        h('th', {scope: 'row', class: 'token-name'}, token.name),
        h('td', {}, t(`token.type.${token.type}`)),
        h('td', {}, creatorName(token)),
        h('td', {}, h('span', {class: `status status-${token.status.toLowerCase()}`},
          t(`status.${token.status}`))),
        h('td', {}, h('time', {datetime: token.lastUsedAt ?? ''}, formatTime(token.lastUsedAt))),
        h('td', {}, expires(token)),
        h('td', {}, h('code', {class: 'masked', 'aria-label': t('tokens.masked', {prefix: token.secretPrefix})},
          `${token.secretPrefix}${'•'.repeat(8)}`)),
        h('td', {class: 'row-actions'}, mayManage(state.rights, token) ? menuButton({
          label: t('tokens.actionsFor', {name: token.name}),
          focusKey: `actions:${token.id}`,
          items: [
            {label: t('action.edit'), onSelect: () => edit(token)},
            active ? {label: t('action.deactivate'), onSelect: () => deactivate(token)}
                   : {label: t('action.activate'), onSelect: () => toggle(token, 'toast.activated')},
            token.status === 'Revoked' ? null : {label: t('action.rotate'), onSelect: () => rotate(token)},
            {label: t('action.remove'), danger: true, onSelect: () => remove(token)},
          ].filter(Boolean),
        }) : h('button', {type: 'button', class: 'link-button', dataset: {focusKey: `view:${token.id}`},
                          'aria-label': t('tokens.viewNamed', {name: token.name}),
                          onclick: () => openTokenPanel({mode: 'view', token, rights: state.rights,
                                                         members: state.members})},
          t('action.view'))));
  }

  /** When the token expires; within a week, marked so that its owner replaces it in time. */
  function expires(token) {
    if (!token.expiresAt) return t('expiry.never');
    const left = new Date(token.expiresAt).getTime() - Date.now();
    return [h('time', {datetime: token.expiresAt}, formatTime(token.expiresAt)),
      token.status !== 'Expired' && left > 0 && left <= weekMs
        ? [' ', h('span', {class: 'badge badge-warn'}, t('expiry.soon'))] : null];
  }

  function renderPager(total) {
    if (total === 0) {
      replace(pager);
      return;
    }
    const first = total === 0 ? 0 : state.pageIndex * state.pageSize + 1;
    const last = Math.min(total, (state.pageIndex + 1) * state.pageSize);
    const pages = Math.max(1, Math.ceil(total / state.pageSize));
    const sizeId = uniqueId('page-size');
    const go = (index) => {
      state.pageIndex = index;
      refresh();
    };
    replace(pager,
        h('p', {class: 'range', 'aria-live': 'polite'}, plural('pager.range', total, {first, last})),
        h('div', {class: 'pager-controls'},
          h('label', {for: sizeId}, t('pager.size')),
          h('select', {id: sizeId, onchange: (event) => {
            state.pageSize = Number(event.target.value);
            go(0);
          }}, pageSizes.map((n) => h('option', {value: n, selected: n === state.pageSize}, n))),
          h('button', {type: 'button', disabled: state.pageIndex === 0,
                       onclick: () => go(state.pageIndex - 1)}, t('pager.previous')),
          h('span', {class: 'page-of'}, t('pager.pageOf', {page: state.pageIndex + 1, pages})),
          h('button', {type: 'button', disabled: state.pageIndex + 1 >= pages,
                       onclick: () => go(state.pageIndex + 1)}, t('pager.next'))));
  }

  function add() {
    openTokenPanel({mode: 'add', rights: state.rights, onSaved: async (token) => {
      state.pageIndex = 0;
      refresh();
      await showCreatedToken(token);
      toastSuccess(t('toast.created', {name: token.name}));
    }});
  }

  function edit(token) {
    const onSaved = (saved) => {
      toastSuccess(t('toast.renamed', {name: saved.name}));
      refresh();
    };
    openTokenPanel({mode: 'edit', token, rights: state.rights, members: state.members, onSaved});
  }

  async function toggle(token, doneKey) {
    try {
      await call('PUT', `/access-tokens/${token.id}/toggle`);
      toastSuccess(t(doneKey, {name: token.name}));
    } catch (e) {
      toastError(t('toast.failed', {error: errorText(e)}));
    }
    refresh();
  }

  async function deactivate(token) {
    const yes = await confirmAction({title: t('confirm.deactivateTitle', {name: token.name}),
                                     message: t('confirm.deactivate'), verb: t('action.deactivate')});
    if (yes) toggle(token, 'toast.deactivated');
  }

  async function rotate(token) {
    const grace = await askRotation(token);
    if (grace === null) return;
    let rotated;
    try {
      rotated = await call('POST', `/access-tokens/${token.id}/rotate`, {gracePeriodSeconds: grace});
    } catch (e) {
      toastError(t('toast.failed', {error: errorText(e)}));
      return;
    }
    refresh();
    await showCreatedToken(rotated, t('rotate.done', {name: token.name}));
    toastSuccess(t('toast.rotated', {name: token.name}));
  }

  async function remove(token) {
    const yes = await confirmAction({title: t('confirm.removeTitle', {name: token.name}),
                                     message: t('confirm.remove'), verb: t('action.remove'),
                                     danger: true});
    if (!yes) return;
    try {
      await call('DELETE', `/access-tokens/${token.id}`);
      toastSuccess(t('toast.removed', {name: token.name}));
    } catch (e) {
      toastError(t('toast.failed', {error: errorText(e)}));
    }
    refresh();
  }
}
