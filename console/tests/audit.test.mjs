// The Audit log page and a token's history in its panel, read as a person reads them: changes
// made through the API come back in words, by name, filtered and paged.
import assert from 'node:assert/strict';
import {describe, test} from 'node:test';
import {addMember, api, apiOk, builtin, createPolicy, loginLink, memberJwt, openPage, owner,
        refusedResponses, screenshot, signIn, sharedServerAndBrowser,
        unexpectedProblems} from './harness.mjs';

let server;
let browser;
sharedServerAndBrowser((s, b) => {
  server = s;
  browser = b;
});

const developer = 'audit.dev@example.com';

/** Signs `email` in and opens the Audit log from the header's link. */
async function openAudit(email, {locale = 'en-US', link = 'Audit log', heading = 'Audit log'} = {}) {
  const page = await openPage(browser, server, {locale});
  await signIn(page, loginLink(server, email));
  await page.getByRole('navigation').getByRole('link', {name: link}).click();
  await page.getByRole('heading', {name: heading, level: 1}).waitFor();
  return page;
}

/** The Action cell (each row's header) of every row shown, top to bottom. */
const actionsShown = (page) => page.getByRole('table').getByRole('rowheader').allTextContents();

/** The rows whose Action is `action`. */
const row = (page, action) => page.getByRole('row')
    .filter({has: page.getByRole('rowheader', {name: action, exact: true})});

/** What a row's cells say, by column, without its time. */
async function cells(page, action) {
  const texts = await row(page, action).first().getByRole('cell').allTextContents();
  const [, actor, target, result, details] = texts;
  return {actor, target, result, details};
}

/** Waits until the table's range says `text`, the answer to the last filter or page. */
async function showsRange(page, text) {
  await page.getByText(text, {exact: true}).waitFor();
}

async function auditTotal(parameters = '') {
  return (await apiOk(server, memberJwt(server, owner), 'GET', `/audit-log${parameters}`)).totalCount;
}

describe('the audit log', () => {
  test('an owner\'s changes and a refused attempt read in words, newest first', async () => {
    const jwt = memberJwt(server, owner);
    // A personal token acts for its creator: named by kind, name and creator.
    const script = await apiOk(server, jwt, 'POST', '/access-tokens',
                               {name: 'ops script', type: 'Personal', permissions: []});
    await apiOk(server, script.token, 'POST', '/groups', {name: 'on-call', description: ''});
    const token = await apiOk(server, jwt, 'POST', '/access-tokens',
                              {name: 'deploy bot', type: 'Personal', permissions: []});
    await apiOk(server, jwt, 'PUT', `/access-tokens/${token.id}`, {name: 'deploy robot'});
    await apiOk(server, jwt, 'PUT', `/access-tokens/${token.id}/toggle`);
    await apiOk(server, jwt, 'POST', `/access-tokens/${token.id}/rotate`, {gracePeriodSeconds: 3600});
    const readers = await createPolicy(server, 'readers', [{
      id: 'flags', resourceType: 'flag', effect: 'allow', actions: ['ToggleFlag'],
      resources: ['project/*:env/*:flag/*'],
    }]);
    const dev = await addMember(server, developer, [builtin.developer]);
    await apiOk(server, jwt, 'PUT', `/members/${dev.id}/add-policy/${readers}`);
    const refused = await api(server, memberJwt(server, developer), 'POST', '/members/add',
                              {email: 'friend@example.com', policyIds: [], groupIds: []});
    assert.equal(refused.status, 403);

    const page = await openAudit(owner);
    await row(page, 'Tried to add a member').waitFor();
    assert.deepEqual(await page.getByRole('columnheader').allTextContents(),
                     ['Time', 'Actor', 'Action', 'Target', 'Result', 'Details']);
    assert.deepEqual((await actionsShown(page)).slice(0, 9), [
      'Tried to add a member', 'Attached policy to member', 'Added member', 'Changed policy statements',
      'Created policy', 'Rotated access token', 'Deactivated access token', 'Renamed access token',
      'Created access token',
    ]);
    assert.deepEqual(await cells(page, 'Tried to add a member'), {
      actor: developer, target: 'None', result: 'Refused', details: 'Reason: needs CanManageIAM on iam/*',
    });
    const attached = await cells(page, 'Attached policy to member');
    assert.deepEqual(attached, {actor: owner, target: developer, result: 'Done',
                                details: 'Policy: readersPolicies: Developer → Developer, readers'});
    assert.equal((await cells(page, 'Added member')).details,
                 'Email: audit.dev@example.comPolicies: Developer');
    assert.equal((await cells(page, 'Changed policy statements')).details,
                 'Statements: 0 → 1Actions added: ToggleFlag');
    assert.equal((await cells(page, 'Deactivated access token')).details, 'Status: Active → Inactive');
    assert.deepEqual(await cells(page, 'Renamed access token'), {
      actor: owner, target: 'deploy robot', result: 'Done', details: 'Name: deploy bot → deploy robot',
    });
    assert.match((await cells(page, 'Rotated access token')).details,
                 /^The old secret works until \d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    assert.match((await cells(page, 'Created access token')).details,
                 /^Name: deploy botType: PersonalStatus: ActiveExpires: Never$/);
    assert.deepEqual(await cells(page, 'Created group'), {
      actor: `Personal token “ops script” of ${owner}`, target: 'on-call', result: 'Done',
      details: 'Name: on-call',
    });
    // The time is local, to the second; the exact UTC time is the element's title.
    const time = row(page, 'Renamed access token').locator('time');
    assert.match(await time.textContent(), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    assert.match(await time.getAttribute('title'), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \(UTC\)$/);
    // The first records of all: the organization and its owner, made by the server itself.
    await page.getByRole('combobox', {name: 'Action'}).selectOption({label: 'Created the organization'});
    await row(page, 'Created the organization').waitFor();
    assert.equal((await cells(page, 'Created the organization')).actor, 'System');
    await page.getByRole('combobox', {name: 'Action'}).selectOption({label: 'All actions'});
    await row(page, 'Tried to add a member').waitFor();
    await screenshot(page, 'audit-log');
    assert.deepEqual(unexpectedProblems(page), []);
    assert.deepEqual(page.foreign, []);
    await page.context().close();
  });

  test('filters by topic, by actor, by target and by day', async () => {
    const page = await openAudit(owner);
    await row(page, 'Tried to add a member').waitFor();
    const action = page.getByRole('combobox', {name: 'Action'});

    await action.selectOption({label: 'All access-token actions'});
    const tokens = await auditTotal('?type=token');
    await showsRange(page, `1–${Math.min(tokens, 20)} of ${tokens} records`);
    assert.ok((await actionsShown(page)).every((a) => a.endsWith('access token')));

    await action.selectOption({label: 'All actions'});
    await page.getByRole('combobox', {name: 'Actor'}).selectOption({label: developer});
    await showsRange(page, '1–1 of 1 record');
    assert.deepEqual(await actionsShown(page), ['Tried to add a member']);
    assert.equal(await row(page, 'Tried to add a member').getByText('Refused').count(), 1);
    await screenshot(page, 'audit-log-actor');

    await page.getByRole('combobox', {name: 'Actor'}).selectOption({label: 'Anyone'});
    const members = await apiOk(server, memberJwt(server, owner), 'GET', '/members');
    const dev = members.find((m) => m.email === developer);
    await page.getByRole('searchbox', {name: 'Target id'}).fill(dev.id);
    await showsRange(page, '1–2 of 2 records');
    assert.deepEqual(await actionsShown(page), ['Attached policy to member', 'Added member']);

    // A day before any record: nothing; today: the same two again.
    const to = page.getByLabel('To', {exact: true});
    await to.fill('2001-01-31');
    await page.getByText('No records match these filters.').waitFor();
    await to.fill('');
    await showsRange(page, '1–2 of 2 records');
    assert.deepEqual(unexpectedProblems(page), []);
    await page.context().close();
  });

  test('pages of 20 records, with the range and previous and next', async () => {
    const jwt = memberJwt(server, owner);
    const token = await apiOk(server, jwt, 'POST', '/access-tokens',
                              {name: 'renamed often 0', type: 'Personal', permissions: []});
    for (let i = 1; i <= 35; ++i) {
      await apiOk(server, jwt, 'PUT', `/access-tokens/${token.id}`, {name: `renamed often ${i}`});
    }
    const total = await auditTotal();
    assert.ok(total > 40, `${total} records`);
    const pages = Math.ceil(total / 20);
    const page = await openAudit(owner);
    await showsRange(page, `1–20 of ${total} records`);
    assert.equal((await actionsShown(page)).length, 20);
    assert.equal((await cells(page, 'Renamed access token')).details,
                 'Name: renamed often 34 → renamed often 35');
    await page.getByText(`Page 1 of ${pages}`).waitFor();
    assert.equal(await page.getByRole('button', {name: 'Previous page'}).isDisabled(), true);

    await page.getByRole('button', {name: 'Next page'}).click();
    await showsRange(page, `21–40 of ${total} records`);
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Next page');
    await page.getByRole('button', {name: 'Next page'}).click();
    await showsRange(page, `41–${Math.min(60, total)} of ${total} records`);
    await page.getByText(`Page 3 of ${pages}`).waitFor();
    await screenshot(page, 'audit-log-page-3');
    await page.getByRole('button', {name: 'Previous page'}).click();
    await showsRange(page, `21–40 of ${total} records`);
    assert.deepEqual(unexpectedProblems(page), []);
    await page.context().close();
  });

  test('in Japanese', async () => {
    const page = await openAudit(owner, {locale: 'ja-JP', link: '監査ログ', heading: '監査ログ'});
    await page.getByRole('rowheader', {name: 'アクセストークンの名前を変更'}).first().waitFor();
    assert.deepEqual(await page.getByRole('columnheader').allTextContents(),
                     ['日時', '実行者', '操作', '対象', '結果', '詳細']);
    await page.getByRole('combobox', {name: '操作'}).selectOption({label: 'メンバーのすべての操作'});
    await page.getByRole('rowheader', {name: 'メンバーの追加を試行'}).waitFor();
    const attached = row(page, 'メンバーにポリシーを付与');
    assert.deepEqual(await attached.getByRole('listitem').allTextContents(),
                     ['ポリシー: readers', '保有ポリシー: Developer → Developer、readers']);
    assert.equal(await row(page, 'メンバーの追加を試行').getByText('拒否').count(), 1);
    await screenshot(page, 'audit-log-ja');
    assert.deepEqual(unexpectedProblems(page), []);
    await page.context().close();
  });

  test('a Developer sees what is missing and makes no refused call', async () => {
    const page = await openPage(browser, server);
    await signIn(page, loginLink(server, developer));
    await page.getByRole('searchbox', {name: 'Filter by name'}).waitFor();
    const refused = refusedResponses(page);
    await page.getByRole('navigation').getByRole('link', {name: 'Audit log'}).click();
    await page.getByRole('heading', {name: 'You cannot view the audit log'}).waitFor();
    await page.getByText('CanManageIAM permission on iam/*').waitFor();
    assert.equal(await page.getByRole('table').count(), 0);
    await screenshot(page, 'audit-log-no-access');
    assert.deepEqual(refused, []);
    // The access-token page's member list (its creator filter) is refused before: its own 403.
    assert.deepEqual(unexpectedProblems(page, 403), []);
    await page.context().close();
  });
});

describe('a token\'s history in its panel', () => {
  /** Opens the Edit panel of `name` from its row menu; answers its History section. */
  async function openHistory(page, name, {actions = `Actions for ${name}`, edit = 'Edit',
                                          panel = 'Edit access token', history = 'History'} = {}) {
    await page.getByRole('button', {name: actions}).click();
    await page.getByRole('menuitem', {name: edit}).click();
    const dialog = page.getByRole('dialog', {name: panel});
    await dialog.waitFor();
    return dialog.getByRole('region', {name: history});
  }

  test('lists the rename and the deactivation, newest first, with who did them', async () => {
    const jwt = memberJwt(server, owner);
    const token = await apiOk(server, jwt, 'POST', '/access-tokens',
                              {name: 'nightly job', type: 'Personal', permissions: []});
    await apiOk(server, jwt, 'PUT', `/access-tokens/${token.id}`, {name: 'nightly export'});
    await apiOk(server, jwt, 'PUT', `/access-tokens/${token.id}/toggle`);

    const page = await openPage(browser, server);
    await signIn(page, loginLink(server, owner));
    // The filtered list, before a row menu opens: a later redraw would close it.
    await page.getByRole('searchbox', {name: 'Filter by name'}).fill('nightly export');
    await page.getByText('1–1 of 1 token', {exact: true}).waitFor();
    const history = await openHistory(page, 'nightly export');
    const entries = history.getByRole('listitem').filter({has: page.locator('time')});
    await entries.first().waitFor();
    assert.deepEqual(await entries.locator('strong').allTextContents(),
                     ['Deactivated access token', 'Renamed access token', 'Created access token']);
    await entries.nth(0).getByText('Status: Active → Inactive').waitFor();
    await entries.nth(1).getByText('Name: nightly job → nightly export').waitFor();
    assert.match(await entries.nth(1).textContent(), /\d\d:\d\d:\d\d · by owner@example\.com/);
    await screenshot(page, 'token-history');
    await page.keyboard.press('Escape');

    // In Japanese, after a rename made in the panel itself.
    await page.getByRole('combobox', {name: 'Language'}).selectOption({label: '日本語'});
    await page.getByRole('searchbox', {name: '名前で絞り込み'}).fill('nightly export');
    await page.getByText('1 件中 1–1 件', {exact: true}).waitFor();
    const japanese = {actions: 'nightly export の操作', edit: '編集', panel: 'アクセストークンの編集',
                      history: '履歴'};
    const again = await openHistory(page, 'nightly export', japanese);
    await again.getByText('ステータス: アクティブ → 非アクティブ').waitFor();
    await screenshot(page, 'token-history-ja');
    assert.deepEqual(unexpectedProblems(page), []);
    await page.context().close();
  });

  test('a member without CanManageIAM is told why, and the panel still works', async () => {
    const devJwt = memberJwt(server, developer);
    await apiOk(server, devJwt, 'POST', '/access-tokens',
                {name: 'dev script', type: 'Personal', permissions: []});
    const page = await openPage(browser, server);
    await signIn(page, loginLink(server, developer));
    await page.getByRole('searchbox', {name: 'Filter by name'}).fill('dev script');
    await page.getByText('1–1 of 1 token', {exact: true}).waitFor();
    const refused = refusedResponses(page);
    const history = await openHistory(page, 'dev script');
    await history.getByText('Only members who can manage IAM can see a token\'s history.').waitFor();
    await screenshot(page, 'token-history-no-access');
    const dialog = page.getByRole('dialog', {name: 'Edit access token'});
    await dialog.getByRole('textbox', {name: 'Name'}).fill('dev script 2');
    await dialog.getByRole('button', {name: 'Save'}).click();
    await dialog.waitFor({state: 'detached'});
    await page.getByRole('status').getByText('Access token renamed to “dev script 2”').waitFor();
    assert.deepEqual(refused, []);
    assert.deepEqual(unexpectedProblems(page, 403), []);
    await page.context().close();
  });
});
