// A token's history in its panel: the latest audit records about it, in words. Reading the
// trail needs CanManageIAM; without it the section says so and asks nothing of the server.
import {ApiError, call, query} from '../api.js';
import {h, replace} from '../dom.js';
import {t} from '../i18n.js';
import {actionText, actorText, auditNames, recordTime, resultBadge, summaryList} from './audit-words.js';
import {errorText} from './words.js';

const shown = 20;

/**
 * The "History" section of `token`'s panel. `rights.manageIam` says whether the member may read
 * the trail; `members` (id -> email) names the actors.
 */
export function tokenHistory({token, rights, members}) {
  const body = h('div', {class: 'history-body', 'aria-live': 'polite'});
  const section = h('section', {class: 'history', 'aria-label': t('history.title')},
      h('h3', {}, t('history.title')), body);
  const names = auditNames({tokens: [token]});
  for (const [id, email] of members) names.members.set(id, email);
  const noAccess = () => replace(body, h('p', {class: 'hint'}, t('history.noAccess')));

  if (!rights.manageIam) {
    noAccess();
    return section;
  }
  replace(body, h('p', {class: 'loading'}, t('history.loading')));
  section.setAttribute('aria-busy', 'true');
  call('GET', `/audit-log${query({targetId: token.id, pageSize: shown})}`).then((page) => {
    section.removeAttribute('aria-busy');
    if (page.items.length === 0) {
      replace(body, h('p', {class: 'hint'}, t('history.empty')));
      return;
    }
    replace(body, h('ol', {class: 'history-list'}, page.items.map((record) => h('li', {},
        h('p', {class: 'history-head'}, h('strong', {}, actionText(record)),
          record.denied ? [' ', resultBadge(record)] : null),
        h('p', {class: 'history-meta'}, recordTime(record), ' · ',
          t('history.by', {actor: actorText(record, names)})),
        summaryList(record, names)))),
    page.totalCount > shown ? h('p', {class: 'hint'}, t('history.more', {count: page.totalCount, shown}))
                            : null);
  }, (e) => {
    section.removeAttribute('aria-busy');
    if (e instanceof ApiError && e.status === 403) noAccess();
    else replace(body, h('p', {class: 'field-error'}, t('history.failed', {error: errorText(e)})));
  });
  return section;
}
