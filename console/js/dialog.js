// Modal dialogs on the native <dialog> element (WAI-ARIA dialog pattern): focus moves into the
// dialog, Tab stays inside, Escape closes, and focus returns to what opened it.
import {h, uniqueId} from './dom.js';
import {t} from './i18n.js';

/**
 * Opens a modal dialog titled `title` with `body` (nodes) and `actions` (buttons). `variant`
 * 'drawer' slides in from the right. Returns {element, close, closed}: `closed` settles with the
 * value passed to close(), or undefined after Escape.
 */
export function openDialog({title, body, actions = [], variant = 'modal', role = 'dialog',
                            describedBy = null, initialFocus = null}) {
  const opener = document.activeElement;
  const titleId = uniqueId('dialog-title');
  const dialog = h('dialog', {
    class: `dialog dialog-${variant}`,
    'aria-labelledby': titleId,
    'aria-describedby': describedBy,
    role: role === 'dialog' ? null : role,
  },
  h('div', {class: 'dialog-frame'},
    h('header', {class: 'dialog-header'},
      h('h2', {id: titleId}, title),
      h('button', {type: 'button', class: 'icon-button dialog-dismiss', 'aria-label': t('dialog.close'),
                   onclick: () => close(undefined)}, '×')),
    h('div', {class: 'dialog-body'}, body),
    actions.length > 0 ? h('footer', {class: 'dialog-actions'}, actions) : null));

  let settle;
  const closed = new Promise((resolve) => {
    settle = resolve;
  });
  let result;
  function close(value) {
    result = value;
    if (dialog.open) dialog.close();
  }
  dialog.addEventListener('close', () => {
    dialog.remove();
    if (opener instanceof HTMLElement && opener.isConnected) opener.focus();
    settle(result);
  });
  // Escape fires `cancel`, then `close`: the result stays undefined.
  dialog.addEventListener('cancel', () => {
    result = undefined;
  });
  document.body.append(dialog);
  dialog.showModal();
  const first = initialFocus?.() ?? dialog.querySelector(
      '[autofocus], input:not([type=hidden]):not([disabled]), select, textarea, .dialog-actions button');
  first?.focus();
  return {element: dialog, close, closed};
}

/**
 * Asks to confirm `verb` (the confirming button's name, e.g. "Deactivate"): resolves true when
 * confirmed. Built on the alertdialog role, with the message as its description.
 */
export function confirmAction({title, message, verb, danger = false}) {
  const messageId = uniqueId('confirm-message');
  const confirm = h('button', {type: 'button', class: danger ? 'danger' : 'primary',
                               onclick: () => dialog.close(true)}, verb);
  const cancel = h('button', {type: 'button', onclick: () => dialog.close(false)}, t('dialog.cancel'));
  const dialog = openDialog({
    title,
    body: h('p', {id: messageId}, message),
    actions: [cancel, confirm],
    role: 'alertdialog',
    describedBy: messageId,
    // The safe choice has focus first, as the alert dialog pattern advises for destructive ones.
    initialFocus: () => cancel,
  });
  return dialog.closed.then((value) => value === true);
}
