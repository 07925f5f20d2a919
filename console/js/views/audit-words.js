// Audit records (SPEC §13) said in words: who acted, what they did or tried, to what, and what
// changed. Ids become the names the console knows; an id it cannot name is shown as it is.
import {h} from '../dom.js';
import {formatTime, t} from '../i18n.js';

/** Look-ups from id to what a person recognizes: members' emails, the others' names. */
export function auditNames({members = [], tokens = [], groups = [], policies = []} = {}) {
  return {
    members: new Map(members.map((m) => [m.id, m.email])),
    tokens: new Map(tokens.map((token) => [token.id, token.name])),
    groups: new Map(groups.map((g) => [g.id, g.name])),
    policies: new Map(policies.map((p) => [p.id, p.name])),
  };
}

const namesOfTopic = {token: 'tokens', member: 'members', group: 'groups', policy: 'policies'};

function topicOf(record) {
  return record.type.split('.')[0];
}

/** The name or email a record's own summary gives its target, the newest side first. */
function summaryName(record) {
  const {before, after} = record.summary ?? {};
  return after?.name ?? after?.email ?? before?.name ?? before?.email ?? null;
}

/**
 * Adds to `names` what `records` tell of targets it does not know (a removed token's name, say),
 * so that the other records about them read by name too. Known names are left as they are.
 */
export function learnNames(names, records) {
  for (const record of records) {
    const known = names[namesOfTopic[topicOf(record)]];
    const name = summaryName(record);
    if (known && name && record.targetId && !known.has(record.targetId)) known.set(record.targetId, name);
  }
}

/** Who acted: a member's email, an access token by kind and name with its creator, or System. */
export function actorText(record, names) {
  if (record.actorKind === 'system') return t('audit.actor.system');
  const member = names.members.get(record.actorMemberId) ?? record.actorMemberId;
  if (record.actorKind === 'member') return names.members.get(record.actorId) ?? record.actorId;
  const token = names.tokens.get(record.actorId) ?? record.actorId;
  const key = record.actorKind === 'service-token' ? 'audit.actor.serviceToken' : 'audit.actor.personalToken';
  return t(key, {token, member});
}

/** The string `key`, or `fallback` when no table has it (a type newer than this console). */
function known(key, fallback) {
  const text = t(key);
  return text === key ? fallback : text;
}

/** What was done ("Rotated access token") or, for a refusal, tried ("Tried to add a member"). */
export function actionText(record) {
  if (record.denied) return known(`audit.tried.${record.type}`, record.type);
  if (record.type === 'token.toggle') {
    const status = record.summary?.after?.status;
    if (status === 'Active') return t('audit.done.token.activate');
    if (status === 'Inactive') return t('audit.done.token.deactivate');
  }
  return known(`audit.done.${record.type}`, record.type);
}

/** The label of the type filter's option for `type`, an audit type or a topic. */
export function typeLabel(type) {
  return type.includes('.') ? known(`audit.done.${type}`, type) : t(`audit.every.${type}`);
}

/** What the record is about, by name where known; null for a refused creation (no target). */
export function targetText(record, names) {
  if (!record.targetId) return null;
  const topic = topicOf(record);
  if (topic === 'organization') return summaryName(record) ?? t('audit.organization');
  return names[namesOfTopic[topic]]?.get(record.targetId) ?? summaryName(record) ?? record.targetId;
}

const listOf = (items) => (items.length === 0 ? t('members.none') : items.join(t('members.separator')));

/** The summary fields this console knows, in the order they are told, each with how it reads. */
function fieldFormats(names) {
  const text = (v) => String(v);
  const ids = (map) => (list) => listOf(list.map((id) => map.get(id) ?? id));
  return {
    name: text,
    key: text,
    email: text,
    type: (v) => known(`token.type.${v}`, v),
    status: (v) => known(`status.${v}`, v),
    expiresAt: (v) => (v ? formatTime(v) : t('expiry.never')),
    statements: text,
    denying: text,
    actions: (list) => listOf(list),
    policyIds: ids(names.policies),
    groupIds: ids(names.groups),
    members: text,
    description: text,
    detachedFrom: text,
  };
}

/** Fields never told: a policy's version is a stamp, and allowing statements follow from the rest. */
const untold = new Set(['version', 'allowing']);

/** Whether a field told on one side only says nothing: an empty list or text, no statements. */
function saysNothing(field, side) {
  const value = side[field];
  if (value === '' || (Array.isArray(value) && value.length === 0)) return true;
  if (field === 'denying') return value === 0;
  return (field === 'statements' || field === 'actions') && side.statements === 0;
}

/**
 * What changed, one line each: "Name: a → b" where both sides are told and differ, "Name: a"
 * where only one is (a creation or a removal). Statement sets tell their count, their deny
 * statements when there are any, and which actions came or went. Fields this console does not
 * know yet are told too, by their own name.
 */
function beforeAfterLines(before = {}, after = {}, names) {
  const formats = fieldFormats(names);
  const fields = [...new Set([...Object.keys(formats), ...Object.keys(before), ...Object.keys(after)])];
  const lines = [];
  for (const field of fields) {
    const [hasBefore, hasAfter] = [field in before, field in after];
    if (untold.has(field) || (!hasBefore && !hasAfter)) continue;
    const label = known(`audit.field.${field}`, field);
    const format = formats[field] ?? JSON.stringify;
    if (hasBefore !== hasAfter) {
      const side = hasAfter ? after : before;
      if (!saysNothing(field, side)) lines.push(t('audit.value', {field: label, value: format(side[field])}));
      continue;
    }
    if (JSON.stringify(before[field]) === JSON.stringify(after[field])) continue;
    if (field === 'actions') {
      const added = after.actions.filter((a) => !before.actions.includes(a));
      const removed = before.actions.filter((a) => !after.actions.includes(a));
      if (added.length > 0) lines.push(t('audit.actionsAdded', {actions: listOf(added)}));
      if (removed.length > 0) lines.push(t('audit.actionsRemoved', {actions: listOf(removed)}));
      continue;
    }
    lines.push(t('audit.changed', {field: label, before: format(before[field]), after: format(after[field])}));
  }
  return lines;
}

/** The record's summary as lines of text, the refusal's reason or the edit's subject first. */
export function summaryLines(record, names) {
  const summary = record.summary ?? {};
  const lines = [];
  if (summary.reason) lines.push(t('audit.reason', {reason: summary.reason}));
  if (summary.policyId) {
    lines.push(t('audit.value', {field: t('audit.field.policy'),
                                 value: names.policies.get(summary.policyId) ?? summary.policyId}));
  }
  if (summary.memberId) {
    lines.push(t('audit.value', {field: t('audit.field.member'),
                                 value: names.members.get(summary.memberId) ?? summary.memberId}));
  }
  if ('gracePeriodSeconds' in summary) {
    lines.push(summary.gracePeriodSeconds > 0 && summary.previousSecretValidUntil
      ? t('audit.graceUntil', {time: formatTime(summary.previousSecretValidUntil, {seconds: true})})
      : t('audit.graceNone'));
  }
  lines.push(...beforeAfterLines(summary.before, summary.after, names));
  return lines;
}

/** The record's time in the browser's zone, to the second, with the exact UTC time as its title. */
export function recordTime(record) {
  return h('time', {datetime: record.at, title: t('audit.utc', {time: record.at})},
      formatTime(record.at, {seconds: true}));
}

/** The result of the attempt: "Done", or "Refused" marked by more than its colour. */
export function resultBadge(record) {
  return record.denied ? h('span', {class: 'result result-refused'}, t('audit.refused'))
                       : h('span', {class: 'result result-done'}, t('audit.done'));
}

/** The summary lines as a list, or nothing when there is nothing to tell. */
export function summaryList(record, names) {
  const lines = summaryLines(record, names);
  return lines.length === 0 ? null : h('ul', {class: 'audit-summary'}, lines.map((line) => h('li', {}, line)));
}
