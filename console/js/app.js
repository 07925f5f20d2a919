// The console's shell: the header (navigation, language, sign-out), the router from the address
// to a view, and what happens when the session ends.
import {onSessionEnded, session} from './api.js';
import {openDialog} from './dialog.js';
import {h, replace} from './dom.js';
import {language, languages, onLanguageChange, setLanguage, t} from './i18n.js';
import {accessTokensPage} from './views/access-tokens.js';
import {signInPage} from './views/sign-in.js';

const root = '/console';
const pages = {
  '/access-tokens': {title: 'nav.accessTokens', render: accessTokensPage, signedIn: true},
  '/sign-in': {title: 'signIn.title', render: signInPage, signedIn: false},
};

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
    'aria-current': path === target ? 'page' : null,
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
      signedIn ? h('nav', {'aria-label': t('nav.label')}, link('/access-tokens', 'nav.accessTokens')) : null,
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
  const page = pages[path];
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
  page.render(main, {navigate});
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
