// The "Add access token" panel (and its Edit and View forms): the name, checked while typing;
// the type; a service token's permissions, checked by the server against the member's own rights
// before anything is created; and the dialog that shows the new secret once.
import {ApiError, call, query} from '../api.js';
import {openDialog} from '../dialog.js';
import {debounce, h, replace, uniqueId} from '../dom.js';
import {formatTime, t} from '../i18n.js';
import {describeStatements, errorText} from './words.js';
import {permissionEditor} from './permission-editor.js';
import {tokenHistory} from './token-history.js';

/** The name field: required, and unique in the organization, asked while typing. */
function nameField(initial, ownId) {
  const id = uniqueId('token-name');
  const input = h('input', {id, type: 'text', required: true, value: initial, maxlength: 128,
                            autocomplete: 'off', 'aria-describedby': `${id}-status`});
  const status = h('p', {id: `${id}-status`, class: 'field-status', 'aria-live': 'polite'});
  let checked = {name: initial, used: false};
  let pending = null;

  async function check(name) {
    if (name === '' || name === initial) {
      checked = {name, used: false};
      return checked;
    }
    replace(status, t('token.validating'));
    status.className = 'field-status';
    const used = await call('GET', `/access-tokens/is-name-used${query({name})}`);
    checked = {name, used: used === true};
    return checked;
  }
  function show(result) {
    if (result.name !== input.value.trim()) return;
    const problem = result.name === '' ? t('token.nameRequired')
                  : result.used ? t('token.nameUsed') : '';
    replace(status, problem);
    status.className = problem ? 'field-error' : 'field-status';
    input.setAttribute('aria-invalid', problem ? 'true' : 'false');
  }
  const checkSoon = debounce((name) => {
    pending = check(name).then((r) => (show(r), r), () => null);
  }, 300);
  input.addEventListener('input', () => {
    replace(status);
    pending = null;
    checkSoon(input.value.trim());
  });

  return {
    element: h('div', {class: 'field'}, h('label', {for: id}, t('token.name')), input, status),
    input,
    /** True when the name may be saved; shows why not otherwise. */
    async valid() {
      checkSoon.cancel();
      const name = input.value.trim();
      const result = checked.name === name ? checked : await (pending ?? check(name));
      show(result ?? await check(name));
      return name !== '' && !(result ?? checked).used;
    },
    showUsed() {
      show({name: input.value.trim(), used: true});
    },
  };
}

/** The type: Personal (the default) or Service, Service only when the member may manage it. */
function typeField(rights) {
  const name = uniqueId('token-type');
  const options = [];
  if (rights.managePersonal) options.push('Personal');
  if (rights.manageService) options.push('Service');
  const radios = options.map((type, i) => ({
    type,
    radio: h('input', {type: 'radio', name, value: type, checked: i === 0}),
  }));
  const element = h('fieldset', {class: 'field type-field'},
      h('legend', {}, t('token.type')),
      radios.map(({type, radio}) => h('label', {class: 'check choice'}, radio,
          h('span', {}, h('strong', {}, t(`token.type.${type}`)), h('span', {class: 'hint'},
              t(`token.type.${type}.hint`))))),
      options.length === 1 ? h('p', {class: 'hint'}, t(`token.only.${options[0]}`)) : null);
  return {
    element,
    value: () => radios.find((r) => r.radio.checked)?.type ?? options[0],
    onChange(listener) {
      for (const r of radios) r.radio.addEventListener('change', listener);
    },
  };
}

const day = 86_400_000;

/**
 * When a new token stops working: in 7, 30 (the default) or 90 days, at the end of a chosen date,
 * or never. `value()` is the `expiresAt` to send (null for never) or {error}.
 */
function expiryField() {
  const id = uniqueId('token-expiry');
  const dateId = uniqueId('token-expiry-date');
  const choices = ['7', '30', '90', 'date', 'never'];
  const select = h('select', {id, 'aria-describedby': `${id}-hint`},
      choices.map((c) => h('option', {value: c, selected: c === '30'}, t(`expiry.choice.${c}`))));
  const tomorrow = new Date(Date.now() + day);
  const two = (n) => String(n).padStart(2, '0');
  const date = h('input', {id: dateId, type: 'date',
                           min: `${tomorrow.getFullYear()}-${two(tomorrow.getMonth() + 1)}-${two(tomorrow.getDate())}`});
  const dateField = h('div', {class: 'expiry-date', hidden: true},
      h('label', {for: dateId}, t('expiry.date')), date);
  const hint = h('p', {id: `${id}-hint`, class: 'hint'});
  const showHint = () => {
    const at = value();
    hint.textContent = at === null ? t('expiry.neverHint')
        : at.error ? '' : t('expiry.until', {time: formatTime(at)});
  };
  select.addEventListener('change', () => {
    dateField.hidden = select.value !== 'date';
    showHint();
  });
  date.addEventListener('input', showHint);

  function value() {
    if (select.value === 'never') return null;
    if (select.value !== 'date') return new Date(Date.now() + Number(select.value) * day).toISOString();
    // The end of the chosen day, in the browser's time zone.
    const [y, m, d] = date.value.split('-').map(Number);
    const end = new Date(y, m - 1, d, 23, 59, 59);
    if (!date.value || Number.isNaN(end.getTime())) return {error: t('expiry.dateRequired')};
    if (end.getTime() <= Date.now()) return {error: t('expiry.datePast')};
    return end.toISOString();
  }
  showHint();
  return {
    element: h('div', {class: 'field'}, h('label', {for: id}, t('expiry.label')), select, dateField, hint),
    value,
    focus: () => (select.value === 'date' ? date : select).focus(),
  };
}

/**
 * Asks how long the secret a rotation replaces keeps working; resolves the grace period in
 * seconds, or null when the rotation is cancelled.
 */
export function askRotation(token) {
  const id = uniqueId('rotation-grace');
  const graces = [['0', 'rotate.grace.none'], ['3600', 'rotate.grace.hour'],
                  ['86400', 'rotate.grace.day'], ['604800', 'rotate.grace.week']];
  const select = h('select', {id}, graces.map(([value, key]) =>
      h('option', {value, selected: value === '86400'}, t(key))));
  const rotate = h('button', {type: 'button', class: 'primary',
                              onclick: () => dialog.close(Number(select.value))}, t('action.rotate'));
  const dialog = openDialog({
    title: t('rotate.title', {name: token.name}),
    body: [h('p', {}, t('rotate.message')),
      h('div', {class: 'field'}, h('label', {for: id}, t('rotate.grace')), select,
        h('p', {class: 'hint'}, t('rotate.graceHint')))],
    actions: [h('button', {type: 'button', onclick: () => dialog.close(null)}, t('dialog.cancel')), rotate],
    initialFocus: () => select,
  });
  return dialog.closed.then((value) => (typeof value === 'number' ? value : null));
}

/** Shows the secret of a new token, once, with a Copy button, under `title`. */
export function showCreatedToken(token, title = t('created.title')) {
  const id = uniqueId('token-secret');
  const secret = h('input', {id, type: 'text', readonly: true, value: token.token, class: 'secret',
                             spellcheck: 'false'});
  const copied = h('span', {class: 'copied', 'aria-live': 'polite'});
  const copy = h('button', {type: 'button', onclick: async () => {
    try {
      await navigator.clipboard.writeText(token.token);
    } catch {
      secret.select();
      document.execCommand('copy');
    }
    replace(copied, t('created.copied'));
  }}, t('created.copy'));
  const dialog = openDialog({
    title,
    body: [
      h('p', {class: 'warning'}, t('created.warning')),
      h('label', {for: id}, `${token.name}:`),
      h('div', {class: 'secret-row'}, secret, copy, copied),
    ],
    actions: [h('button', {type: 'button', class: 'primary', onclick: () => dialog.close(true)},
        t('created.ok'))],
    initialFocus: () => copy,
  });
  secret.addEventListener('focus', () => secret.select());
  return dialog.closed;
}

/**
 * Opens the panel. `mode`: 'add', 'edit' (rename) or 'view'. `onSaved(token)` runs after the
 * server accepted a change; the panel closes then. `members` (id -> email) names who acted in an
 * existing token's history.
 */
export async function openTokenPanel({mode, token = null, rights, onSaved, members = new Map()}) {
  const alert = h('div', {class: 'panel-alert', role: 'alert'});
  const name = mode === 'view' ? null : nameField(token?.name ?? '', token?.id);
  const body = [alert];
  if (name) body.push(name.element);
  let type = null;
  let expiry = null;
  let editor = null;
  let grantable = null;
  if (mode === 'add') {
    type = typeField(rights);
    const permissions = h('section', {class: 'permissions', 'aria-label': t('perm.title'), hidden: true},
        h('h3', {}, t('perm.title')), h('p', {class: 'hint'}, t('perm.hint')),
        h('p', {class: 'loading'}, t('perm.loading')));
    const showPermissions = async () => {
      permissions.hidden = type.value() !== 'Service';
      if (type.value() !== 'Service' || grantable) return;
      try {
        grantable = await call('GET', '/user/grantable');
        editor = permissionEditor(grantable);
        permissions.lastChild.replaceWith(editor.element);
      } catch (e) {
        permissions.lastChild.replaceWith(h('p', {class: 'field-error'},
            t('perm.loadFailed', {error: errorText(e)})));
      }
    };
    type.onChange(showPermissions);
    // A member who may create service tokens only starts on Service.
    showPermissions();
    expiry = expiryField();
    body.push(type.element, expiry.element, permissions);
  } else {
    const fact = (key, value) => [h('dt', {}, t(key)), h('dd', {}, value)];
    body.push(h('dl', {class: 'token-facts'},
        mode === 'view' ? fact('token.name', token.name) : null,
        fact('token.type', t(`token.type.${token.type}`)),
        fact('col.status', t(`status.${token.status}`)),
        fact('col.creator', token.creator?.email ?? token.creatorId),
        fact('token.createdAt', formatTime(token.createdAt)),
        fact('col.lastUsed', formatTime(token.lastUsedAt)),
        fact('col.expires', token.expiresAt ? formatTime(token.expiresAt) : t('expiry.never')),
        fact('col.token', h('code', {}, `${token.secretPrefix}${'•'.repeat(8)}`)),
        token.type === 'Service' ? fact('perm.title', describeStatements(token.permissions)) : null),
    tokenHistory({token, rights, members}));
  }

  const save = h('button', {type: 'submit', class: 'primary', form: 'token-form'}, t('token.save'));
  const cancel = h('button', {type: 'button', onclick: () => dialog.close()}, t('dialog.cancel'));
  const form = h('form', {id: 'token-form', novalidate: true, onsubmit: (event) => {
    event.preventDefault();
    submit();
  }}, body);
  const titles = {add: 'panel.add', edit: 'panel.edit', view: 'panel.view'};
  const dialog = openDialog({
    title: t(titles[mode]),
    body: form,
    actions: mode === 'view' ? [h('button', {type: 'button', onclick: () => dialog.close()}, t('dialog.close'))]
                             : [cancel, save],
    variant: 'drawer',
  });

  async function submit() {
    replace(alert);
    save.disabled = true;
    try {
      if (!(await name.valid())) {
        name.input.focus();
        return;
      }
      const saved = mode === 'add' ? await create() : await call('PUT', `/access-tokens/${token.id}`,
          {name: name.input.value.trim()});
      if (!saved) return;
      dialog.close(saved);
      onSaved(saved);
    } catch (e) {
      if (e instanceof ApiError && e.errors.includes('NameHasBeenUsed')) {
        name.showUsed();
        name.input.focus();
      } else {
        replace(alert, errorText(e));
      }
    } finally {
      save.disabled = false;
    }
  }

  /** Creates the token; null when something in the form must change first. */
  async function create() {
    const tokenType = type.value();
    const expiresAt = expiry.value();
    if (expiresAt?.error) {
      replace(alert, expiresAt.error);
      expiry.focus();
      return null;
    }
    let permissions = [];
    if (tokenType === 'Service') {
      const chosen = editor?.statements() ?? {error: t('perm.noneChosen')};
      if (chosen.error) {
        replace(alert, chosen.error);
        return null;
      }
      permissions = chosen.statements;
      const check = await call('POST', '/access-tokens/check', {type: tokenType, permissions});
      if (!check.contained) {
        replace(alert, t('check.beyond', check.counterexample));
        return null;
      }
    }
    return call('POST', '/access-tokens',
                {name: name.input.value.trim(), type: tokenType, permissions, expiresAt});
  }
}
