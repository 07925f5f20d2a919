// The console's languages: English and Japanese, one string table each (strings/en.js,
// strings/ja.js). The browser's language chooses at first; the header's switch remembers a choice.
import en from './strings/en.js';
import ja from './strings/ja.js';

const tables = {en, ja};
const storageKey = 'gatehouse.language';
const listeners = new Set();

export const languages = [
  {code: 'en', name: 'English'},
  {code: 'ja', name: '日本語'},
];

function initial() {
  const saved = localStorage.getItem(storageKey);
  if (saved && tables[saved]) return saved;
  for (const preferred of navigator.languages ?? [navigator.language]) {
    const code = String(preferred).toLowerCase().split('-')[0];
    if (tables[code]) return code;
  }
  return 'en';
}

let current = initial();
document.documentElement.lang = current;

export function language() {
  return current;
}

export function setLanguage(code) {
  if (!tables[code] || code === current) return;
  current = code;
  localStorage.setItem(storageKey, code);
  document.documentElement.lang = code;
  for (const listener of listeners) listener(code);
}

export function onLanguageChange(listener) {
  listeners.add(listener);
}

/**
 * The string `key` in the current language, with `{name}` replaced by `params.name`. A key
 * missing from a table falls back to English, and a key missing there too shows itself, so a
 * slip is visible rather than blank.
 */
export function t(key, params = {}) {
  const text = tables[current][key] ?? tables.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

/** `count` with the table's singular or plural form: key.one / key.other. */
export function plural(key, count, params = {}) {
  return t(`${key}.${count === 1 ? 'one' : 'other'}`, {count, ...params});
}

/**
 * A date and time as yyyy-MM-dd HH:mm in the browser's time zone, as FeatBit shows it; with
 * `seconds`, HH:mm:ss (an audit record's time).
 */
export function formatTime(iso, {seconds = false} = {}) {
  if (!iso) return t('time.never');
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return t('time.never');
  const two = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ` +
         `${two(d.getHours())}:${two(d.getMinutes())}${seconds ? `:${two(d.getSeconds())}` : ''}`;
}
