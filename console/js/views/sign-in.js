// Signing in: a link whose fragment carries a member JWT (`gatehouse login-link` prints one), or
// the same link or JWT pasted into the box. The JWT stays in this tab's sessionStorage only.
import {ApiError, allowed, session} from '../api.js';
import {h, replace} from '../dom.js';
import {t} from '../i18n.js';

/** The JWT in a sign-in link's fragment (`#jwt=...`), or `text` itself when it looks like one. */
function jwtOf(text) {
  const trimmed = text.trim();
  const hash = trimmed.includes('#') ? trimmed.slice(trimmed.indexOf('#') + 1) : '';
  const fromLink = new URLSearchParams(hash).get('jwt');
  const candidate = fromLink ?? trimmed;
  return /^[\w-]+\.[\w-]+\.[\w-]*$/.test(candidate) ? candidate : null;
}

export function signInPage(main, {navigate}) {
  // The link's fragment never reaches a server; it is taken and removed from the address bar.
  // A link goes straight to the page, whose own first calls prove the JWT: no form is drawn and
  // no extra round trip made, and a refused link ends in the session-ended dialog, which says
  // how to get a new one.
  const fromFragment = jwtOf(location.hash.slice(1) ? `#${location.hash.slice(1)}` : '');
  if (location.hash) history.replaceState(null, '', location.pathname);
  if (fromFragment) {
    session.start(fromFragment);
    navigate('/access-tokens', {replaceEntry: true});
    return;
  }

  const error = h('p', {class: 'form-error', role: 'alert'});
  const box = h('textarea', {id: 'sign-in-link', rows: 4, spellcheck: 'false',
                             autocomplete: 'off', 'aria-describedby': 'sign-in-hint'});
  const submit = h('button', {type: 'submit', class: 'primary'}, t('signIn.submit'));

  async function signIn(jwt) {
    submit.disabled = true;
    replace(error);
    session.start(jwt);
    try {
      // Any call proves the JWT; this one is cheap and needs no right.
      await allowed([['ListAccessTokens', 'access-token/*']]);
      navigate('/access-tokens', {replaceEntry: true});
    } catch (e) {
      session.end();
      replace(error, e instanceof ApiError && e.status === 401 ? t('signIn.rejected')
                                                                : t('signIn.failed', {error: e.message}));
      submit.disabled = false;
      box.focus();
    }
  }

  const form = h('form', {class: 'sign-in', novalidate: true, onsubmit: (event) => {
    event.preventDefault();
    const jwt = jwtOf(box.value);
    if (!jwt) {
      replace(error, t('signIn.notALink'));
      box.focus();
      return;
    }
    signIn(jwt);
  }},
  h('label', {for: 'sign-in-link'}, t('signIn.label')),
  box,
  h('p', {id: 'sign-in-hint', class: 'hint'}, t('signIn.hint'), ' ',
    h('code', {}, 'gatehouse login-link --data DIR --member EMAIL')),
  error,
  h('div', {class: 'form-actions'}, submit));

  replace(main, h('section', {class: 'narrow'}, h('h1', {}, t('signIn.title')),
      h('p', {class: 'lead'}, t('signIn.lead')), form));
  box.focus();
}
