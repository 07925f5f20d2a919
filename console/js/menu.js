// The menu button pattern (WAI-ARIA): a button that opens a menu of actions. Arrow keys move
// between items, Home/End jump, Escape or Tab closes, and focus returns to the button.
import {h, uniqueId} from './dom.js';

/**
 * A menu button named `label` showing `text`, with `items`: [{label, onSelect, danger}].
 * `focusKey` names the button for views that re-render and want focus back on its successor.
 */
export function menuButton({label, text = '⋯', items, focusKey = null}) {
  const menuId = uniqueId('menu');
  const button = h('button', {
    type: 'button', class: 'icon-button menu-button', 'aria-label': label,
    'aria-haspopup': 'menu', 'aria-expanded': 'false', 'aria-controls': menuId,
    dataset: focusKey ? {focusKey} : null,
  }, text);
  const entries = items.map((item) => h('button', {
    type: 'button', role: 'menuitem', tabindex: '-1', class: item.danger ? 'menu-danger' : null,
    onclick: () => {
      // Focus goes back to the button first, so that a dialog the item opens returns it there.
      close();
      item.onSelect();
    },
  }, item.label));
  const menu = h('div', {id: menuId, role: 'menu', 'aria-label': label, class: 'menu', hidden: true},
      entries);

  // Fixed to the viewport beside its button, so that no scrolling table clips it.
  function place() {
    const box = button.getBoundingClientRect();
    menu.style.top = `${box.bottom + 4}px`;
    menu.style.right = `${document.documentElement.clientWidth - box.right}px`;
  }

  function open(focusIndex) {
    place();
    menu.hidden = false;
    window.addEventListener('scroll', closeQuietly, true);
    window.addEventListener('resize', closeQuietly);
    button.setAttribute('aria-expanded', 'true');
    entries.at(focusIndex)?.focus();
    document.addEventListener('pointerdown', onOutside, true);
  }
  function closeQuietly() {
    close(false);
  }
  function close(returnFocus = true) {
    if (menu.hidden) return;
    menu.hidden = true;
    window.removeEventListener('scroll', closeQuietly, true);
    window.removeEventListener('resize', closeQuietly);
    button.setAttribute('aria-expanded', 'false');
    document.removeEventListener('pointerdown', onOutside, true);
    if (returnFocus) button.focus();
  }
  function onOutside(event) {
    if (!wrapper.contains(event.target)) close(false);
  }

  button.addEventListener('click', () => (menu.hidden ? open(0) : close()));
  button.addEventListener('keydown', (event) => {
    if (event.key === 'ArrowDown') open(0);
    else if (event.key === 'ArrowUp') open(-1);
    else return;
    event.preventDefault();
  });
  menu.addEventListener('keydown', (event) => {
    const index = entries.indexOf(document.activeElement);
    const moves = {
      ArrowDown: (index + 1) % entries.length,
      ArrowUp: (index - 1 + entries.length) % entries.length,
      Home: 0,
      End: entries.length - 1,
    };
    if (event.key in moves) {
      entries[moves[event.key]].focus();
    } else if (event.key === 'Escape') {
      close();
    } else if (event.key === 'Tab') {
      close(false);
      return;
    } else {
      return;
    }
    event.preventDefault();
  });

  const wrapper = h('div', {class: 'menu-wrapper'}, button, menu);
  return wrapper;
}
