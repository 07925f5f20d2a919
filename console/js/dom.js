// Building elements from data. Text always goes in as text (textContent), never as markup, so
// nothing a server or a person typed can become script.

/**
 * h('button', {class: 'primary', onclick: f, 'aria-label': 'Add'}, 'Add') -> <button>.
 * Attributes: `class`, `on<event>` handlers, booleans (set when true, left out when false),
 * `dataset` (an object), anything else as an attribute. Children: nodes, strings, numbers,
 * arrays of them; null, undefined and false are skipped.
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      element.addEventListener(name.slice(2), value);
    } else if (name === 'dataset') {
      Object.assign(element.dataset, value);
    } else if (name === 'value' || name === 'checked' || name === 'indeterminate') {
      element[name] = value;
    } else {
      element.setAttribute(name, value === true ? '' : String(value));
    }
  }
  append(element, children);
  return element;
}

function append(parent, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else parent.append(child instanceof Node ? child : String(child));
  }
}

/** Replaces everything inside `parent` with `children`. */
export function replace(parent, ...children) {
  parent.replaceChildren();
  append(parent, children);
}

let nextId = 0;
/** A document-unique id, for label/aria references between elements built together. */
export function uniqueId(prefix) {
  nextId += 1;
  return `${prefix}-${nextId}`;
}

/** `f` run once `ms` after the last call; `cancel()` drops a pending run. */
export function debounce(f, ms) {
  let timer = 0;
  const run = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => f(...args), ms);
  };
  run.cancel = () => clearTimeout(timer);
  return run;
}
