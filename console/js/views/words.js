// What the API answers, said in words: failures, statements, counterexamples.
import {ApiError} from '../api.js';
import {h} from '../dom.js';
import {t} from '../i18n.js';

/** A failed call as a sentence: the counterexample of a capped grant, a known code, or the codes. */
export function errorText(error) {
  if (!(error instanceof ApiError)) return t('error.unexpected', {error: String(error?.message ?? error)});
  const counterexample = error.data?.counterexample;
  if (counterexample?.action && counterexample?.resource) return t('check.beyond', counterexample);
  if (error.status === 0) return t('error.network');
  const message = error.data?.message;
  const known = error.errors.map((code) => t(`error.${code}`)).filter((text) => !text.startsWith('error.'));
  if (known.length > 0) return known.join(' ');
  const codes = error.errors.join('/') || `HTTP ${error.status}`;
  return message ? `${codes}: ${message}` : codes;
}

/** Statements as a list: "Allow ToggleFlag, UpdateFlagName on project/*:env/*:flag/*". */
export function describeStatements(statements) {
  if (!Array.isArray(statements) || statements.length === 0) return t('perm.none');
  return h('ul', {class: 'statement-list'}, statements.map((s) => h('li', {},
      t(s.effect === 'deny' ? 'perm.deny' : 'perm.allow', {
        actions: (s.actions ?? []).join(', '),
        resources: (s.resources ?? []).join(', '),
      }))));
}
