// One policy's statements: edited as JSON text, validated by the server while typing (each
// finding jumps to its place), tried against a request (the deciding statements marked), and
// saved once the "Changes" panel has shown what the edit grants and takes away, and from whom.
// Saving names the version that was edited: a policy someone else saved since is not overwritten.
import {call} from '../api.js';
import {confirmAction} from '../dialog.js';
import {debounce, h, replace, uniqueId} from '../dom.js';
import {plural, t} from '../i18n.js';
import {toastSuccess} from '../toast.js';
import {codeArea, lineOf, offsetOf, statementRanges} from './code-area.js';
import {iamBreadcrumb, noIamAccess, pageLink} from './iam-pages.js';
import {errorText} from './words.js';

/** The statement array of a policy's text (a document object or an array), or null. */
function statementsOf(text) {
  try {
    const value = JSON.parse(text);
    if (Array.isArray(value)) return value;
    if (value && typeof value === 'object' && Array.isArray(value.statements)) return value.statements;
  } catch {
    // The validator reports it.
  }
  return null;
}

export function policyEditorPage(main, {navigate, item: policyId}) {
  const path = `/policies/${encodeURIComponent(policyId)}`;
  const heading = h('h1', {tabindex: '-1'}, t('editor.title'));
  const content = h('div', {class: 'page-content', 'aria-busy': 'true'},
      h('p', {class: 'loading'}, t('editor.loading')));
  const back = pageLink(navigate, '/policies', t('policies.title'));
  const crumbs = h('div', {}, iamBreadcrumb(back, t('editor.title')));
  replace(main, crumbs, heading, content);
  load();

  async function load() {
    let policy;
    let grantable = {};
    try {
      [policy, grantable] = await Promise.all([call('GET', path),
                                               call('GET', '/user/grantable').catch(() => ({}))]);
    } catch (e) {
      content.removeAttribute('aria-busy');
      if (e.status === 403) replace(content, noIamAccess('policies.noAccessTitle'));
      else replace(content, h('div', {class: 'notice notice-error', role: 'alert'},
          h('p', {}, t('editor.loadFailed', {error: errorText(e)})), back));
      return;
    }
    content.removeAttribute('aria-busy');
    document.title = `${policy.name} · gatehouse`;
    heading.textContent = policy.name;
    replace(crumbs, iamBreadcrumb(back, policy.name));
    editor(policy, grantable);
  }

  function editor(policy, grantable) {
    const builtin = policy.type === 'SysManaged';
    let version = policy.version;
    let savedText = JSON.stringify(policy.statements, null, 2);
    let findings = [];
    let decided = [];  // lines of the statements that decided the last request tried

    const textId = uniqueId('statements');
    const findingsId = uniqueId('findings');
    const area = codeArea({id: textId, value: savedText, readOnly: builtin, describedBy: findingsId,
                           oninput: () => edited()});
    const findingsStatus = h('p', {class: 'findings-status', role: 'status'});
    const findingsList = h('ul', {class: 'findings'});
    const changes = h('div', {class: 'changes-body', 'aria-live': 'polite'});
    const saveProblem = h('div', {class: 'panel-alert', role: 'alert'});
    const save = h('button', {type: 'button', class: 'primary', disabled: true, onclick: saveNow},
        t('token.save'));

    replace(content,
        h('p', {class: 'lead'}, policy.description || t('editor.lead')),
        builtin ? h('p', {class: 'notice'}, t('editor.builtinReadOnly')) : null,
        h('div', {class: 'editor-layout'},
          h('section', {class: 'editor-main', 'aria-labelledby': `${textId}-label`},
            h('label', {for: textId, id: `${textId}-label`, class: 'section-label'},
              t('editor.statements')),
            h('p', {class: 'hint'}, t('editor.statementsHint')),
            area.element,
            h('div', {id: findingsId, class: 'findings-area'}, findingsStatus, findingsList)),
          h('div', {class: 'editor-side'},
            tryPanel(grantable),
            builtin ? null : h('section', {class: 'side-panel', 'aria-labelledby': `${textId}-changes`},
              h('h2', {id: `${textId}-changes`}, t('editor.changes')), changes, saveProblem,
              h('div', {class: 'form-actions'}, save)))));

    // ---- Findings, while typing --------------------------------------------------------------

    function edited() {
      decided = [];
      remark();
      save.disabled = true;
      validateSoon();
    }

    const validateSoon = debounce(validate, 350);
    let validation = 0;
    async function validate() {
      const mine = ++validation;
      const text = area.textarea.value;
      let answer;
      try {
        answer = await call('POST', '/policies/validate', text, {text: true});
      } catch (e) {
        if (mine === validation) findingsStatus.textContent = t('editor.validateFailed', {error: errorText(e)});
        return;
      }
      if (mine !== validation) return;  // the text changed since; its own answer follows
      findings = answer.findings;
      showFindings();
      const errors = findings.filter((f) => f.severity === 'error').length;
      if (!builtin) {
        if (errors > 0) showChanges(null, 'editor.fixFirst');
        else if (text === savedText) showChanges(null);
        else previewSoon(text);
      }
    }

    function showFindings() {
      const errors = findings.filter((f) => f.severity === 'error').length;
      findingsStatus.textContent = findings.length === 0 ? t('editor.noFindings')
          : `${plural('editor.errors', errors)} · ${plural('editor.warnings', findings.length - errors)}`;
      findingsStatus.className = `findings-status${errors > 0 ? ' has-errors' : ''}`;
      replace(findingsList, findings.map((f) => h('li', {},
          h('button', {type: 'button', class: `finding finding-${f.severity}`, onclick: () => {
            const at = offsetOf(area.textarea.value, f.line, f.column);
            area.select(at);
          }},
          h('span', {class: 'finding-place'}, t('editor.at', {line: f.line, column: f.column})),
          h('span', {class: 'finding-severity'}, t(`editor.severity.${f.severity}`)),
          h('span', {}, f.message)))));
      remark();
    }

    function remark() {
      const lines = new Map();
      for (const line of decided) lines.set(line, 'decided');
      for (const f of findings) {
        if (f.severity === 'error' || !lines.has(f.line)) lines.set(f.line, f.severity);
      }
      area.mark(lines);
    }

    // ---- Try a request -----------------------------------------------------------------------

    /** `held` is GET user/grantable's answer: {resourceType: [actions]}. */
    function tryPanel(held) {
      const actionId = uniqueId('try-action');
      const resourceId = uniqueId('try-resource');
      const listId = uniqueId('actions');
      const action = h('input', {id: actionId, type: 'text', list: listId, autocomplete: 'off',
                                 spellcheck: 'false'});
      const resource = h('input', {id: resourceId, type: 'text', autocomplete: 'off',
                                   spellcheck: 'false', placeholder: 'project/web:env/prod:flag/checkout'});
      const result = h('div', {class: 'try-result', role: 'status'});
      const decide = h('button', {type: 'submit'}, t('editor.decide'));
      // The actions the author holds: the only ones a policy they save may grant.
      const suggestions = [...new Set(Object.values(held).flat())].sort();
      return h('section', {class: 'side-panel', 'aria-labelledby': `${actionId}-heading`},
          h('h2', {id: `${actionId}-heading`}, t('editor.try')),
          h('form', {class: 'try-form', onsubmit: (event) => {
            event.preventDefault();
            tryRequest(action.value.trim(), resource.value.trim(), result, decide);
          }},
          h('div', {class: 'field'}, h('label', {for: actionId}, t('editor.action')), action,
            h('datalist', {id: listId}, suggestions.map((a) => h('option', {value: a})))),
          h('div', {class: 'field'}, h('label', {for: resourceId}, t('editor.resource')), resource),
          h('div', {class: 'form-actions'}, decide)),
          result);
    }

    async function tryRequest(action, resource, result, button) {
      const text = area.textarea.value;
      const statements = statementsOf(text);
      if (!action || !resource) {
        replace(result, h('p', {class: 'field-error'}, t('editor.tryNeeds')));
        return;
      }
      if (!statements) {
        replace(result, h('p', {class: 'field-error'}, t('editor.fixFirst')));
        return;
      }
      button.disabled = true;
      try {
        const answer = await call('POST', '/policies/simulate',
                                  {statements, checks: [{action, resource}]});
        const r = answer.results[0];
        const ranges = statementRanges(text) ?? [];
        decided = [];
        for (const s of r.statements) {
          const range = ranges[s.index];
          if (!range) continue;
          for (let line = lineOf(text, range.start); line <= lineOf(text, range.end); line += 1) {
            decided.push(line);
          }
        }
        remark();
        replace(result,
            h('p', {class: `decision decision-${r.decision}`}, t(`editor.decision.${r.decision}`)),
            r.statements.length === 0 ? h('p', {class: 'hint'}, t('editor.noStatementDecided'))
              : h('div', {},
                h('p', {}, plural('editor.decidedBy', r.statements.length)),
                h('ul', {class: 'decided-list'}, r.statements.map((s) => h('li', {},
                  h('button', {type: 'button', class: 'link-button', onclick: () => {
                    const range = ranges[s.index];
                    if (range) area.select(range.start, range.end);
                  }}, t('editor.statementAt', {id: s.statementId,
                                               line: ranges[s.index] ? lineOf(text, ranges[s.index].start) : '?'})))))));
      } catch (e) {
        replace(result, h('p', {class: 'field-error'}, errorText(e)));
      } finally {
        button.disabled = false;
      }
    }

    // ---- Changes and saving ------------------------------------------------------------------

    const previewSoon = debounce(preview, 250);
    let previewing = 0;
    async function preview(text) {
      const mine = ++previewing;
      const statements = statementsOf(text);
      if (!statements) return;
      replace(changes, h('p', {class: 'loading'}, t('editor.comparing')));
      let answer;
      try {
        answer = await call('POST', `${path}/preview`, statements, {ifMatch: version});
      } catch (e) {
        if (mine !== previewing) return;
        if (e.errors.includes('Conflict')) showConflict();
        else showChanges(null, null, errorText(e));
        return;
      }
      if (mine !== previewing || text !== area.textarea.value) return;
      showChanges(answer);
      save.disabled = false;
    }

    /** The Changes panel: `answer` from preview, or a sentence when there is nothing to show. */
    function showChanges(answer, key = 'editor.unchanged', problem = null) {
      if (!answer) {
        replace(changes, h('p', {class: problem ? 'field-error' : 'hint'}, problem ?? t(key)));
        return;
      }
      const {added, removed} = answer.grants;
      const list = (items, kind) => h('ul', {class: `change-list change-${kind}`},
          items.map((r) => h('li', {},
            h('strong', {}, r.action), ' ', t('editor.forExample'), ' ', h('code', {}, r.resource))));
      const {members, groups, personalTokens} = answer.holders;
      // The engine writes its examples with one character that no pattern of either side holds
      // where a pattern has "*": one in the examples and in neither text is that character. It is
      // named, so that "project/#" does not read as a project called "#".
      const examples = [...added, ...removed].map((r) => r.resource).join('');
      const placeholder = [...new Set(examples)].find((c) => c > ' ' && !':;,/'.includes(c) &&
          !area.textarea.value.includes(c) && !savedText.includes(c));
      replace(changes,
          added.length + removed.length === 0 ? h('p', {}, t('editor.sameGrants')) : null,
          added.length > 0 ? [h('h3', {}, plural('editor.added', added.length)), list(added, 'added')] : null,
          removed.length > 0 ? [h('h3', {}, plural('editor.removed', removed.length)), list(removed, 'removed')]
            : null,
          placeholder ? h('p', {class: 'hint'}, t('editor.placeholder', {character: placeholder})) : null,
          h('p', {class: 'holders'}, t('editor.holders', {
            members: plural('editor.members', members),
            groups: plural('editor.groups', groups),
            tokens: plural('editor.tokens', personalTokens),
          })));
    }

    function showConflict() {
      save.disabled = true;
      replace(saveProblem, h('p', {}, t('editor.conflict')),
          h('button', {type: 'button', onclick: reloadSaved}, t('editor.loadSaved')));
      showChanges(null, 'editor.conflictShort');
    }

    async function reloadSaved() {
      const yes = await confirmAction({title: t('editor.loadSavedTitle'), message: t('editor.loadSavedMessage'),
                                       verb: t('editor.loadSaved'), danger: true});
      if (yes) navigate(path, {replaceEntry: true});
    }

    async function saveNow() {
      const text = area.textarea.value;
      const statements = statementsOf(text);
      if (!statements) return;
      save.disabled = true;
      replace(saveProblem);
      try {
        const saved = await call('PUT', `${path}/statements`, statements, {ifMatch: version});
        version = saved.version;
        savedText = text;
        showChanges(null, 'editor.unchanged');
        toastSuccess(t('editor.saved', {name: policy.name}));
      } catch (e) {
        if (e.errors.includes('Conflict')) {
          showConflict();
          return;
        }
        replace(saveProblem, h('p', {}, errorText(e)));
        save.disabled = false;
      }
    }

    showChanges(null);
    validate();
  }
}
