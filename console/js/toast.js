// Short notices after an action: a polite live region for success, an assertive one for failure,
// each message gone after a few seconds.
import {h} from './dom.js';

const region = h('div', {class: 'toasts'},
    h('div', {role: 'status', 'aria-live': 'polite', class: 'toast-stack'}),
    h('div', {role: 'alert', 'aria-live': 'assertive', class: 'toast-stack'}));
document.body.append(region);

function show(stack, text, kind) {
  const toast = h('p', {class: `toast toast-${kind}`}, text);
  stack.append(toast);
  setTimeout(() => toast.remove(), kind === 'error' ? 8000 : 4000);
}

export function toastSuccess(text) {
  show(region.children[0], text, 'success');
}

export function toastError(text) {
  show(region.children[1], text, 'error');
}
