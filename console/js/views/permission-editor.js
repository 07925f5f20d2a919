// A service token's permissions, as FeatBit's panel builds them: per resource type the actions to
// allow (only those the signed-in member holds somewhere, from `GET user/grantable`) and the
// resources, all of them or resource names built segment by segment with "any" per segment.
// It yields one allow statement per resource type with something ticked.
import {h, replace, uniqueId} from '../dom.js';
import {t} from '../i18n.js';

/** Resource types in the order shown, each with the segments its resource names are built of. */
const resourceTypes = [
  {type: 'flag', segments: ['project', 'env', 'flag']},
  {type: 'segment', segments: ['project', 'env', 'segment']},
  {type: 'project', segments: ['project']},
  {type: 'env', segments: ['project', 'env']},
  {type: 'iam', segments: ['iam']},
  {type: 'workspace', segments: ['workspace']},
  {type: 'organization', segments: ['organization']},
  {type: 'relay-proxy', segments: ['relay-proxy']},
];
// Tokens cannot manage tokens (SPEC 4), so access-token actions are never offered.

/** Characters that would end a segment, a path or a tag inside a resource name. */
const separators = /[:;,\s]/;

/** The resource name of `segments` ([{type, key}]) with `tags` on the last segment. */
export function resourceName(segments, tags) {
  const path = segments.map((s) => `${s.type}/${s.key}`).join(':');
  return tags.length > 0 ? `${path};${tags.join(',')}` : path;
}

function allResources(spec) {
  return resourceName(spec.segments.map((type) => ({type, key: '*'})), []);
}

/** The builder of one resource name: a key (or "any") per segment, tags (or "any"). */
function resourceBuilder(spec, onAdd) {
  const error = h('p', {class: 'field-error', role: 'alert'});
  const preview = h('output', {class: 'rn-preview'});
  const parts = spec.segments.map((type) => {
    const id = uniqueId(`rn-${type}`);
    const key = h('input', {id, type: 'text', disabled: true, autocomplete: 'off', spellcheck: 'false',
                            oninput: update});
    const any = h('input', {type: 'checkbox', checked: true, onchange: () => {
      key.disabled = any.checked;
      if (!any.checked) key.focus();
      update();
    }});
    const row = h('div', {class: 'rn-part'},
        h('label', {for: id}, t(`rn.segment.${type}`)), key,
        h('label', {class: 'check'}, any, t('rn.any', {segment: t(`rn.segment.${type}`)})));
    return {type, key, any, row};
  });
  const tagsId = uniqueId('rn-tags');
  const tags = h('input', {id: tagsId, type: 'text', disabled: true, autocomplete: 'off',
                           spellcheck: 'false', 'aria-describedby': `${tagsId}-hint`, oninput: update});
  const anyTags = h('input', {type: 'checkbox', checked: true, onchange: () => {
    tags.disabled = anyTags.checked;
    if (!anyTags.checked) tags.focus();
    update();
  }});

  function current() {
    const segments = parts.map((p) => ({type: p.type, key: p.any.checked ? '*' : p.key.value.trim()}));
    const tagList = anyTags.checked ? [] : tags.value.split(',').map((s) => s.trim()).filter(Boolean);
    const empty = parts.find((p) => !p.any.checked && p.key.value.trim() === '');
    if (empty) return {error: t('rn.keyRequired', {segment: t(`rn.segment.${empty.type}`)})};
    if (segments.some((s) => separators.test(s.key)) || tagList.some((tag) => separators.test(tag))) {
      return {error: t('rn.badCharacter')};
    }
    if (!anyTags.checked && tagList.length === 0) return {error: t('rn.tagsRequired')};
    return {name: resourceName(segments, tagList)};
  }
  function update() {
    const {name} = current();
    preview.value = name ?? '';
    replace(error);
  }
  update();

  const add = h('button', {type: 'button', onclick: () => {
    const {name, error: problem} = current();
    if (problem) {
      replace(error, problem);
      return;
    }
    onAdd(name);
  }}, t('rn.add'));

  return h('div', {class: 'rn-builder', role: 'group', 'aria-label': t('rn.builder')},
      parts.map((p) => p.row),
      h('div', {class: 'rn-part'}, h('label', {for: tagsId}, t('rn.tags')), tags,
        h('label', {class: 'check'}, anyTags, t('rn.anyTags'))),
      h('p', {id: `${tagsId}-hint`, class: 'hint'}, t('rn.tagsHint')),
      h('div', {class: 'rn-result'}, h('span', {}, t('rn.preview')), preview, add),
      error);
}

/** The editor of one resource type: its actions, and its resources. */
function typeGroup(spec, offered) {
  const groupLabel = t(`type.${spec.type}`);
  const boxes = offered.map((action) => ({
    action,
    box: h('input', {type: 'checkbox', onchange: syncAll}),
  }));
  const all = h('input', {type: 'checkbox', onchange: () => {
    for (const b of boxes) b.box.checked = all.checked;
    syncAll();
  }});
  function syncAll() {
    const ticked = boxes.filter((b) => b.box.checked).length;
    all.checked = ticked === boxes.length;
    all.indeterminate = ticked > 0 && ticked < boxes.length;
  }

  const chosen = [];
  const chips = h('ul', {class: 'chips', 'aria-label': t('rn.chosen', {type: groupLabel})});
  const radioName = uniqueId('resources');
  const everything = allResources(spec);
  const allRadio = h('input', {type: 'radio', name: radioName, value: 'all', checked: true,
                               onchange: showMode});
  const someRadio = h('input', {type: 'radio', name: radioName, value: 'some', onchange: showMode});
  const custom = h('div', {class: 'rn-custom', hidden: true});
  function renderChips() {
    replace(chips, chosen.map((name, i) => h('li', {class: 'chip'}, h('code', {}, name),
        h('button', {type: 'button', class: 'icon-button', 'aria-label': t('rn.remove', {name}),
                     onclick: () => {
                       chosen.splice(i, 1);
                       renderChips();
                     }}, '×'))));
    if (chosen.length === 0) chips.append(h('li', {class: 'hint'}, t('rn.noneYet')));
  }
  renderChips();
  replace(custom, chips, resourceBuilder(spec, (name) => {
    if (!chosen.includes(name)) chosen.push(name);
    renderChips();
  }));
  function showMode() {
    custom.hidden = !someRadio.checked;
  }

  const element = h('fieldset', {class: 'type-group'},
      h('legend', {}, groupLabel),
      h('label', {class: 'check select-all'}, all, t('perm.allActions', {type: groupLabel})),
      h('div', {class: 'actions-grid'},
        boxes.map((b) => h('label', {class: 'check'}, b.box, b.action))),
      h('div', {class: 'resources', role: 'radiogroup', 'aria-label': t('perm.resources', {type: groupLabel})},
        h('label', {class: 'check'}, allRadio, t('perm.allResources'), ' ', h('code', {}, everything)),
        h('label', {class: 'check'}, someRadio, t('perm.someResources'))),
      custom);

  return {
    element,
    /** The allow statement of this group, null when no action is ticked, or {error}. */
    statement() {
      const actions = boxes.filter((b) => b.box.checked).map((b) => b.action);
      if (actions.length === 0) return null;
      const resources = someRadio.checked ? [...chosen] : [everything];
      if (resources.length === 0) return {error: t('perm.noResources', {type: groupLabel})};
      return {id: spec.type, resourceType: spec.type, effect: 'allow', actions, resources};
    },
  };
}

/**
 * The permission editor for what `grantable` ({resourceType: [actions]}) offers. `statements()`
 * answers {statements} or {error}.
 */
export function permissionEditor(grantable) {
  const groups = resourceTypes
      .filter((spec) => (grantable[spec.type] ?? []).length > 0)
      .map((spec) => typeGroup(spec, grantable[spec.type]));
  const element = h('div', {class: 'permission-editor'},
      groups.length > 0 ? groups.map((g) => g.element) : h('p', {class: 'hint'}, t('perm.nothing')));
  return {
    element,
    statements() {
      const statements = [];
      for (const group of groups) {
        const s = group.statement();
        if (s?.error) return {error: s.error};
        if (s) statements.push(s);
      }
      if (statements.length === 0) return {error: t('perm.noneChosen')};
      return {statements};
    },
  };
}
