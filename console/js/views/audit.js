// IAM / Audit log: the organization's audit trail, newest first, in words; filtered by action,
// actor, target and days, and paged by the server. Needs CanManageIAM, as the API does.
import {ApiError, allowed, call, query} from '../api.js';
import {debounce, h, replace, uniqueId} from '../dom.js';
import {plural, t} from '../i18n.js';
import {actionText, actorText, auditNames, learnNames, recordTime, resultBadge, summaryList,
        targetText, typeLabel} from './audit-words.js';
import {iamBreadcrumb, noIamAccess} from './iam-pages.js';
import {errorText} from './words.js';

const pageSize = 20;

/** The type filter's choices: each topic, then its audit types (the API's `type` values). */
const topics = {
  token: ['token.create', 'token.rename', 'token.toggle', 'token.rotate', 'token.delete',
          'token.revoke'],
  member: ['member.add', 'member.remove', 'member.attach-policy', 'member.detach-policy'],
  group: ['group.create', 'group.delete', 'group.add-member', 'group.remove-member',
          'group.attach-policy', 'group.detach-policy'],
  policy: ['policy.create', 'policy.set-statements', 'policy.delete'],
  organization: ['organization.create'],
};

/** A date input's yyyy-MM-dd as the RFC 3339 time its day starts, in the browser's time zone. */
function dayStart(date, daysLater = 0) {
  const [y, m, d] = date.split('-').map(Number);
  return new Date(y, m - 1, d + daysLater).toISOString();
}

/** Who may be named as the actor and target of records: asked once, each list on its own. */
async function loadNames() {
  const list = (path) => call('GET', path).catch(() => []);
  const [members, groups, policies, tokens] = await Promise.all([
    list('/members'), list('/groups'), list('/policies'),
    call('GET', `/access-tokens${query({pageIndex: 0, pageSize: 100})}`).then((p) => p.items, () => []),
  ]);
  return {members, names: auditNames({members, tokens, groups, policies})};
}

export function auditPage(main) {
  const filters = {type: '', actorId: '', targetId: '', from: '', to: ''};
  let pageIndex = 0;
  let names = null;
  let members = [];
  const heading = h('h1', {tabindex: '-1'}, t('audit.title'));
  const content = h('div', {class: 'page-content', 'aria-busy': 'true'},
      h('p', {class: 'loading'}, t('audit.loading')));
  replace(main, iamBreadcrumb(t('audit.title')), heading, h('p', {class: 'lead'}, t('audit.lead')),
      content);
  const table = h('div', {class: 'table-area'});
  const pager = h('div', {class: 'pager'});

  start();

  // The right is asked first, so that a member without it sees the notice and makes no call
  // that the server would refuse.
  async function start() {
    content.setAttribute('aria-busy', 'true');
    let mayRead;
    try {
      [mayRead] = await allowed([['CanManageIAM', 'iam/*']]);
    } catch (e) {
      showError(e, start);
      return;
    }
    if (!mayRead) {
      showNoAccess();
      return;
    }
    const firstPage = fetchPage();
    firstPage.catch(() => {});  // awaited by refresh() below
    ({members, names} = await loadNames());
    replace(content, toolbar(), table, pager);
    await refresh(firstPage);
  }

  function showNoAccess() {
    content.removeAttribute('aria-busy');
    replace(content, noIamAccess('audit.noAccessTitle'));
  }

  function showError(e, retry) {
    if (e instanceof ApiError && e.status === 403) {
      showNoAccess();
      return;
    }
    content.removeAttribute('aria-busy');
    replace(content, h('div', {class: 'notice notice-error', role: 'alert'},
        h('p', {}, t('audit.loadFailed', {error: errorText(e)})),
        h('button', {type: 'button', onclick: retry}, t('tokens.retry'))));
  }

  function fetchPage() {
    return call('GET', `/audit-log${query({
      type: filters.type,
      actorId: filters.actorId,
      targetId: filters.targetId,
      from: filters.from ? dayStart(filters.from) : '',
      // The To day is included: the API's `to` is exclusive, so it is the next day's start.
      to: filters.to ? dayStart(filters.to, 1) : '',
      pageIndex,
      pageSize,
    })}`);
  }

  function toolbar() {
    const ids = {type: uniqueId('audit-type'), actor: uniqueId('audit-actor'),
                 target: uniqueId('audit-target'), from: uniqueId('audit-from'),
                 to: uniqueId('audit-to'), days: uniqueId('audit-days')};
    const reload = () => {
      pageIndex = 0;
      refresh();
    };
    const targetSoon = debounce(reload, 300);
    const set = (name) => (event) => {
      filters[name] = event.target.value.trim();
      reload();
    };
    const filter = (id, label, control) => h('div', {class: 'filter'}, h('label', {for: id}, label), control);
    return h('div', {class: 'toolbar audit-filters'},
        filter(ids.type, t('audit.filter.type'), h('select', {id: ids.type, onchange: set('type')},
          h('option', {value: ''}, t('audit.filter.anyType')),
          Object.entries(topics).map(([topic, types]) => h('optgroup', {label: t(`audit.topic.${topic}`)},
              types.length > 1 ? h('option', {value: topic}, typeLabel(topic)) : null,
              types.map((type) => h('option', {value: type}, typeLabel(type))))))),
        filter(ids.actor, t('audit.filter.actor'), h('select', {id: ids.actor, onchange: set('actorId')},
          h('option', {value: ''}, t('audit.filter.anyActor')),
          members.map((m) => h('option', {value: m.id}, m.email)))),
        filter(ids.target, t('audit.filter.target'), h('input', {
          id: ids.target, type: 'search', autocomplete: 'off', spellcheck: 'false',
          oninput: (event) => {
            filters.targetId = event.target.value.trim();
            targetSoon();
          }})),
        filter(ids.from, t('audit.filter.from'), h('input', {id: ids.from, type: 'date',
          'aria-describedby': ids.days, onchange: set('from')})),
        filter(ids.to, t('audit.filter.to'), h('input', {id: ids.to, type: 'date',
          'aria-describedby': ids.days, onchange: set('to')})),
        h('p', {id: ids.days, class: 'hint filter-hint'}, t('audit.filter.days')));
  }

  let loadNumber = 0;
  /** Shows the page `pending` answers (a fresh request by default). */
  async function refresh(pending = fetchPage()) {
    const mine = ++loadNumber;
    content.setAttribute('aria-busy', 'true');
    let page;
    try {
      page = await pending;
    } catch (e) {
      if (mine !== loadNumber) return;
      if (e instanceof ApiError && e.status === 403) {
        showNoAccess();
        return;
      }
      content.removeAttribute('aria-busy');
      replace(table, h('div', {class: 'notice notice-error', role: 'alert'},
          h('p', {}, t('audit.loadFailed', {error: errorText(e)})),
          h('button', {type: 'button', onclick: () => refresh()}, t('tokens.retry'))));
      replace(pager);
      return;
    }
    if (mine !== loadNumber) return;  // A newer filter's answer is on its way.
    if (page.items.length === 0 && pageIndex > 0 && page.totalCount > 0) {
      pageIndex = Math.floor((page.totalCount - 1) / pageSize);  // old records were pruned
      refresh();
      return;
    }
    content.removeAttribute('aria-busy');
    learnNames(names, page.items);
    fillTable(page);
    renderPager(page.totalCount);
  }

  function fillTable(page) {
    if (page.items.length === 0) {
      const filtered = Object.values(filters).some((v) => v !== '');
      replace(table, h('div', {class: 'empty'},
          h('p', {class: 'empty-title'}, t(filtered ? 'audit.noMatch' : 'audit.empty'))));
      return;
    }
    const column = (key) => h('th', {scope: 'col'}, t(key));
    replace(table, h('table', {class: 'tokens audit'},
        h('caption', {class: 'visually-hidden'}, t('audit.title')),
        h('thead', {}, h('tr', {}, column('audit.col.time'), column('audit.col.actor'),
          column('audit.col.action'), column('audit.col.target'), column('audit.col.result'),
          column('audit.col.details'))),
        h('tbody', {}, page.items.map(row))));
  }

  function row(record) {
    const target = targetText(record, names);
    return h('tr', {class: record.denied ? 'audit-refused' : null},
        h('td', {class: 'audit-time'}, recordTime(record)),
        h('td', {}, actorText(record, names)),
        h('th', {scope: 'row'}, actionText(record)),
        h('td', {}, target === null ? h('span', {class: 'member-none'}, t('audit.noTarget'))
                                    : h('span', {title: record.targetId}, target)),
        h('td', {}, resultBadge(record)),
        h('td', {class: 'audit-details'}, summaryList(record, names)));
  }

  function renderPager(total) {
    if (total === 0) {
      replace(pager);
      return;
    }
    const first = pageIndex * pageSize + 1;
    const last = Math.min(total, (pageIndex + 1) * pageSize);
    const pages = Math.max(1, Math.ceil(total / pageSize));
    const go = (index) => {
      pageIndex = index;
      refresh();
    };
    // Paging keeps focus on the button pressed, or on the other one where the end is reached.
    const focused = pager.contains(document.activeElement) ? document.activeElement.dataset.focusKey : null;
    const previous = h('button', {type: 'button', disabled: pageIndex === 0, dataset: {focusKey: 'previous'},
                                  onclick: () => go(pageIndex - 1)}, t('pager.previous'));
    const next = h('button', {type: 'button', disabled: pageIndex + 1 >= pages, dataset: {focusKey: 'next'},
                              onclick: () => go(pageIndex + 1)}, t('pager.next'));
    replace(pager,
        h('p', {class: 'range', 'aria-live': 'polite'}, plural('audit.range', total, {first, last})),
        h('div', {class: 'pager-controls'},
          previous, h('span', {class: 'page-of'}, t('pager.pageOf', {page: pageIndex + 1, pages})), next));
    if (!focused) return;
    const [pressed, other] = focused === 'next' ? [next, previous] : [previous, next];
    (pressed.disabled ? other : pressed).focus();
  }
}
