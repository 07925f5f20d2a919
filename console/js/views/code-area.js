// A plain textarea for JSON with line marks behind it: a backdrop, scrolled with the text, paints
// the lines of findings and of the statements that decided a request. The text stays a real
// textarea, so typing, selection, undo and screen readers work as everywhere else.
import {h} from '../dom.js';

/** The offset in `text` of 1-based `line` and `column` (counted in code points, as the server). */
export function offsetOf(text, line, column) {
  let offset = 0;
  for (let l = 1; l < line; l += 1) {
    const next = text.indexOf('\n', offset);
    if (next < 0) return text.length;
    offset = next + 1;
  }
  let remaining = column - 1;
  while (remaining > 0 && offset < text.length && text[offset] !== '\n') {
    offset += text.codePointAt(offset) > 0xffff ? 2 : 1;
    remaining -= 1;
  }
  return offset;
}

/** The 1-based line of `offset` in `text`. */
export function lineOf(text, offset) {
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) line += 1;
  return line;
}

/**
 * Where each statement of a policy's text begins and ends: the elements of the top-level array,
 * or of the `statements` array of a top-level object. Null when the text is not shaped so (the
 * validator says why). One pass, no recursion: depth is a counter.
 */
export function statementRanges(text) {
  let i = 0;
  const skipSpace = () => {
    while (i < text.length && ' \t\r\n'.includes(text[i])) i += 1;
  };
  const skipString = () => {  // at the opening quote; ends after the closing one
    for (i += 1; i < text.length; i += 1) {
      if (text[i] === '\\') i += 1;
      else if (text[i] === '"') {
        i += 1;
        return;
      }
    }
  };
  // Skips one value of any kind; answers false at the end of the text.
  const skipValue = () => {
    let depth = 0;
    do {
      skipSpace();
      if (i >= text.length) return false;
      const c = text[i];
      if (c === '"') skipString();
      else if (c === '{' || c === '[') {
        depth += 1;
        i += 1;
      } else if (c === '}' || c === ']') {
        depth -= 1;
        i += 1;
      } else if (c === ',' || c === ':') {
        i += 1;
      } else {
        while (i < text.length && !' \t\r\n,:]}'.includes(text[i])) i += 1;
      }
    } while (depth > 0);
    return true;
  };
  skipSpace();
  if (text[i] === '{') {
    // Finds the member `statements` at the top level.
    i += 1;
    for (;;) {
      skipSpace();
      if (text[i] !== '"') return null;
      const keyStart = i;
      skipString();
      const key = text.slice(keyStart, i);
      skipSpace();
      if (text[i] !== ':') return null;
      i += 1;
      skipSpace();
      if (key === '"statements"') break;
      if (!skipValue()) return null;
      skipSpace();
      if (text[i] !== ',') return null;
      i += 1;
    }
  }
  if (text[i] !== '[') return null;
  i += 1;
  const ranges = [];
  for (;;) {
    skipSpace();
    if (text[i] === ']') return ranges;
    const start = i;
    if (!skipValue()) return null;
    ranges.push({start, end: i});
    skipSpace();
    if (text[i] === ',') i += 1;
    else if (text[i] !== ']') return null;
  }
}

/**
 * A code area: `{element, textarea, mark(lines), select(start, end)}`. `mark` takes a Map of
 * 1-based line numbers to a class ('error', 'warning', 'decided').
 */
export function codeArea({id, value = '', readOnly = false, describedBy = null, oninput = null}) {
  const backdrop = h('div', {class: 'code-backdrop', 'aria-hidden': 'true'});
  const textarea = h('textarea', {
    id, class: 'code-text', spellcheck: 'false', autocapitalize: 'off', autocomplete: 'off',
    wrap: 'off', rows: 22, readonly: readOnly, 'aria-describedby': describedBy, oninput,
  });
  textarea.value = value;
  const element = h('div', {class: 'code-area'}, backdrop, textarea);
  let marks = new Map();

  function paint() {
    const lines = textarea.value.split('\n');
    backdrop.replaceChildren(...lines.map((line, i) => h('div', {
      class: marks.has(i + 1) ? `code-line code-line-${marks.get(i + 1)}` : 'code-line',
    }, line === '' ? '\u200b' : line)));
    backdrop.scrollTop = textarea.scrollTop;
    backdrop.scrollLeft = textarea.scrollLeft;
  }
  textarea.addEventListener('input', paint);
  textarea.addEventListener('scroll', () => {
    backdrop.scrollTop = textarea.scrollTop;
    backdrop.scrollLeft = textarea.scrollLeft;
  });
  paint();

  return {
    element,
    textarea,
    mark(lines) {
      marks = lines;
      paint();
    },
    /** Focuses the text with `start`..`end` selected, scrolled into view. */
    select(start, end = start) {
      textarea.focus();
      textarea.setSelectionRange(start, end);
      const line = lineOf(textarea.value, start);
      const lineHeight = textarea.scrollHeight / Math.max(1, textarea.value.split('\n').length);
      const top = (line - 1) * lineHeight;
      if (top < textarea.scrollTop || top > textarea.scrollTop + textarea.clientHeight - lineHeight) {
        textarea.scrollTop = Math.max(0, top - textarea.clientHeight / 3);
      }
    },
    setValue(text) {
      textarea.value = text;
      paint();
    },
  };
}
