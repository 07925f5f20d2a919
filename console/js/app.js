// The console's shell: the header (navigation, language, sign-out), the router from the address
// to a view, and what happens when the session ends.
import {onSessionEnded, session} from './api.js';
import {openDialog} from './dialog.js';
import {h, replace} from './dom.js';
import {language, languages, onLanguageChange, setLanguage, t} from './i18n.js';
import {accessTokensPage} from './views/access-tokens.js';
import {auditPage} from './views/audit.js';
import {membersPage} from './views/members.js';
import {policiesPage} from './views/policies.js';
import {policyEditorPage} from './views/policy-editor.js';
import {signInPage} from './views/sign-in.js';

const root = '/console';
const pages = {
  '/access-tokens': {title: 'nav.accessTokens', render: accessTokensPage, signedIn: true},
  '/policies': {title: 'nav.policies', render: policiesPage, signedIn: true},
  '/members': {title: 'nav.members', render: membersPage, signedIn: true},
  '/audit': {title: 'nav.audit', render: auditPage, signedIn: true},
  '/sign-in': {title: 'signIn.title', render: signInPage, signedIn: false},
};
// Pages one segment below a path, which names the item they show: /policies/ID.
const itemPages = {
  '/policies': {title: 'editor.title', render: policyEditorPage, signedIn: true},
};

/** The page of `path` and, for an item page, the item's id. */
function findPage(path) {
  if (pages[path]) return {page: pages[path], item: null};
  const cut = path.lastIndexOf('/');
  const itemPage = cut > 0 ? itemPages[path.slice(0, cut)] : undefined;
  if (!itemPage) return {page: undefined, item: null};
  try {
    return {page: itemPage, item: decodeURIComponent(path.slice(cut + 1))};
  } catch {
    return {page: undefined, item: null};  // a malformed escape names no item
  }
}

const header = document.querySelector('#header');
const main = document.querySelector('#main');

/** Goes to `path` (below /console) as a link would, without reloading the page. */
export function navigate(path, {replaceEntry = false} = {}) {
  const url = root + path;
  if (replaceEntry) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  render();
}

function currentPath() {
  const path = location.pathname.startsWith(root) ? location.pathname.slice(root.length) : '/';
  return path === '' || path === '/' ? '/' : path.replace(/\/+$/, '');
}

function renderHeader(path) {
  const signedIn = session.token() !== null;
  const link = (target, key) => h('a', {
    href: root + target,
    'aria-current': path === target || path.startsWith(`${target}/`) ? 'page' : null,
    onclick: (event) => {
      if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
      event.preventDefault();
      navigate(target);
    },
  }, t(key));
  const languageSelect = h('select', {
    id: 'language', onchange: (event) => setLanguage(event.target.value),
  }, languages.map((l) => h('option', {value: l.code, selected: l.code === language()}, l.name)));
  replace(header,
      h('a', {class: 'brand', href: `${root}/`}, 'gatehouse'),
      signedIn ? h('nav', {'aria-label': t('nav.label')}, link('/access-tokens', 'nav.accessTokens'),
        link('/policies', 'nav.policies'), link('/members', 'nav.members'), link('/audit', 'nav.audit'))
        : null,
      h('div', {class: 'header-end'},
        h('label', {for: 'language', class: 'language'}, t('header.language')), languageSelect,
        signedIn ? h('button', {type: 'button', class: 'quiet', onclick: signOut}, t('header.signOut'))
                 : null));
}

function signOut() {
  session.end();
  navigate('/sign-in');
}

/** Renders the view of the address bar's path. */
export function render() {
  let path = currentPath();
  if (path === '/') {
    navigate(session.token() ? '/access-tokens' : '/sign-in', {replaceEntry: true});
    return;
  }
  const {page, item} = findPage(path);
  if (page?.signedIn && !session.token()) {
    navigate('/sign-in', {replaceEntry: true});
    return;
  }
  renderHeader(path);
  if (!page) {
    document.title = `${t('notFound.title')} · gatehouse`;
    replace(main, h('h1', {}, t('notFound.title')),
        h('p', {}, h('a', {href: `${root}/`}, t('notFound.home'))));
    return;
  }
  document.title = `${t(page.title)} · gatehouse`;
  replace(main);
  page.render(main, {navigate, item});
}

let sessionDialogOpen = false;
onSessionEnded(() => {
  if (sessionDialogOpen || currentPath() === '/sign-in') return;
  sessionDialogOpen = true;
  session.end();
  const dialog = openDialog({
    title: t('session.endedTitle'),
    body: [h('p', {}, t('session.endedBody')), h('p', {}, h('code', {}, t('session.endedCommand')))],
    actions: [h('button', {type: 'button', class: 'primary', onclick: () => dialog.close(true)},
        t('session.signInAgain'))],
  });
  dialog.closed.then(() => {
    sessionDialogOpen = false;
    navigate('/sign-in');
  });
});

onLanguageChange(render);
window.addEventListener('popstate', render);
render();
