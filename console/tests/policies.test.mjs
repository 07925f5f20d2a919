// The policy author's pages, clicked through as a person uses them: the list, a new policy written
// with a typo and fixed from its finding, a request tried against it, a widened resource read in
// "Changes" and saved, and a save refused because someone else saved first.
import assert from 'node:assert/strict';
import {describe, test} from 'node:test';
import {apiOk, builtin, createPolicy, loginLink, memberJwt, openPage, owner, screenshot, signIn,
        sharedServerAndBrowser, unexpectedProblems} from './harness.mjs';

let server;
let browser;
sharedServerAndBrowser((s, b) => {
  server = s;
  browser = b;
});

const typoAtLine4 = `[
  {"id": "s1", "resourceType": "flag", "effect": "allow",
   "actions": ["ToggleFlag",
               "TogleFlag"],
   "resources": ["project/web:env/*:flag/*"]},
  {"id": "no-prod-delete", "resourceType": "flag", "effect": "deny",
   "actions": ["DeleteFlag"],
   "resources": ["project/*:env/prod:flag/*"]}
]`;

async function openPolicies(page, locale = 'en') {
  await signIn(page, loginLink(server, owner));
  await page.getByRole('link', {name: locale === 'ja' ? 'ポリシー' : 'Policies'}).click();
}

/** The editor's text area and what it shows. */
const statements = (page) => page.getByRole('textbox', {name: 'Statements'});
const findings = (page) => page.locator('.findings-status');

describe('the policy list', () => {
  test('lists the built-ins read-only and the organization\'s own with their actions', async () => {
    await createPolicy(server, 'flag-readers', JSON.parse(typoAtLine4.replace('"TogleFlag"', '"UpdateFlagName"')));
    const page = await openPage(browser, server);
    await openPolicies(page);
    await page.getByRole('heading', {name: 'Policies', level: 1}).waitFor();
    const table = page.getByRole('table', {name: 'Policies'});
    for (const name of ['Owner', 'Administrator', 'Developer']) {
      const row = table.getByRole('row').filter({has: page.getByRole('link', {name, exact: true})});
      await row.getByText('Built-in').waitFor();
      // A built-in has no menu: it cannot be edited or deleted.
      assert.equal(await row.getByRole('button').count(), 0);
    }
    const custom = table.getByRole('row').filter({has: page.getByRole('link', {name: 'flag-readers'})});
    await custom.getByText('Custom').waitFor();
    await custom.getByText('2 statements').waitFor();
    await page.getByRole('button', {name: 'Actions for flag-readers'}).waitFor();
    await screenshot(page, 'policies-list');

    // A built-in opens read-only.
    await page.getByRole('link', {name: 'Developer', exact: true}).click();
    await page.getByRole('heading', {name: 'Developer', level: 1}).waitFor();
    await page.getByText('Built-in policies are read-only').waitFor();
    assert.equal(await statements(page).getAttribute('readonly'), '');
    assert.equal(await page.getByRole('button', {name: 'Save', exact: true}).count(), 0);
    assert.deepEqual(page.problems, []);
    await page.context().close();
  });

  test('a custom policy is deleted after confirmation, and is gone from every holder', async () => {
    const statements = JSON.parse(typoAtLine4.replace('"TogleFlag"', '"CreateFlag"'));
    const id = await createPolicy(server, 'short-lived', statements);
    const holder = await apiOk(server, memberJwt(server, owner), 'POST', '/members/add',
                               {email: 'holder@example.com', policyIds: [id], groupIds: []});
    const page = await openPage(browser, server);
    await openPolicies(page);
    await page.getByRole('button', {name: 'Actions for short-lived'}).click();
    await page.getByRole('menuitem', {name: 'Delete'}).click();
    const confirm = page.getByRole('alertdialog', {name: 'Delete “short-lived”?'});
    await confirm.getByText('loses what it grants').waitFor();
    await screenshot(page, 'policies-delete');
    await confirm.getByRole('button', {name: 'Delete'}).click();
    await page.getByText('Policy “short-lived” deleted').waitFor();
    assert.equal(await page.getByRole('link', {name: 'short-lived'}).count(), 0);
    const members = await apiOk(server, memberJwt(server, owner), 'GET', '/members');
    assert.deepEqual(members.find((m) => m.id === holder.id).policyIds, []);
    assert.deepEqual(page.problems, []);
    await page.context().close();
  });

  test('reads in Japanese', async () => {
    const page = await openPage(browser, server, {locale: 'ja-JP'});
    await openPolicies(page, 'ja');
    await page.getByRole('heading', {name: 'ポリシー', level: 1}).waitFor();
    await page.getByRole('table').getByText('組み込み').first().waitFor();
    await screenshot(page, 'policies-list-ja');
    assert.deepEqual(page.problems, []);
    await page.context().close();
  });

  test('a Developer is told the page needs CanManageIAM', async () => {
    await apiOk(server, memberJwt(server, owner), 'POST', '/members/add',
                {email: 'reader@example.com', policyIds: [builtin.developer], groupIds: []});
    const page = await openPage(browser, server);
    await signIn(page, loginLink(server, 'reader@example.com'));
    await page.getByRole('link', {name: 'Policies'}).click();
    await page.getByRole('heading', {name: 'You cannot manage policies'}).waitFor();
    await page.getByText('CanManageIAM').waitFor();
    await page.context().close();
  });
});

describe('writing a policy', () => {
  test('a typo is found at its line, fixed, tried, widened, previewed and saved', async () => {
    const page = await openPage(browser, server);
    await openPolicies(page);
    await page.getByRole('button', {name: 'Add policy'}).click();
    const dialog = page.getByRole('dialog', {name: 'Add policy'});
    await dialog.getByRole('textbox', {name: 'Name'}).fill('Web flag togglers');
    assert.equal(await dialog.getByRole('textbox', {name: 'Key'}).inputValue(), 'web-flag-togglers');
    await dialog.getByRole('button', {name: 'Create'}).click();
    await page.getByRole('heading', {name: 'Web flag togglers', level: 1}).waitFor();
    const policyId = decodeURIComponent(new URL(page.url()).pathname.split('/').at(-1));

    // The typo: the finding names its line and column, and takes the cursor there.
    await statements(page).fill(typoAtLine4);
    const finding = page.getByRole('button', {name: /Line 4, column 16.*TogleFlag/});
    await finding.waitFor();
    await page.getByText('1 error').waitFor();
    await page.getByText('Fix the errors in the statements first.').waitFor();
    await finding.click();
    const selection = await statements(page).evaluate((t) => t.value.slice(0, t.selectionStart));
    assert.equal(selection.split('\n').length, 4);
    assert.ok(selection.endsWith('               '), JSON.stringify(selection.slice(-20)));
    assert.equal(await page.locator('.code-line-error').count(), 1);
    assert.equal(await page.getByRole('button', {name: 'Save', exact: true}).isDisabled(), true);
    await screenshot(page, 'policy-editor-finding');

    // Fixed: no findings, and the Changes panel shows what the first statements grant.
    await statements(page).fill(typoAtLine4.replace('"TogleFlag"', '"UpdateFlagName"'));
    await page.getByText('No problems found.').waitFor();
    await page.getByRole('heading', {name: 'Newly allowed: 2 actions'}).waitFor();

    // Try a request: the deciding statement is named and marked.
    const tryPanel = page.getByRole('region', {name: 'Try a request'});
    await tryPanel.getByRole('combobox', {name: 'Action'}).fill('DeleteFlag');
    await tryPanel.getByRole('textbox', {name: 'Resource'}).fill('project/web:env/prod:flag/checkout');
    await tryPanel.getByRole('button', {name: 'Decide'}).click();
    await tryPanel.getByText('Denied by a statement').waitFor();
    await tryPanel.getByRole('button', {name: '“no-prod-delete”, line 6'}).waitFor();
    assert.equal(await page.locator('.code-line-decided').count(), 3);
    await tryPanel.getByRole('combobox', {name: 'Action'}).fill('ToggleFlag');
    await tryPanel.getByRole('button', {name: 'Decide'}).click();
    await tryPanel.getByText('Allowed', {exact: true}).waitFor();
    await tryPanel.getByRole('button', {name: '“s1”, line 2'}).click();
    const picked = await statements(page).evaluate((t) => t.value.slice(t.selectionStart, t.selectionEnd));
    assert.match(picked, /^\{"id": "s1".*\}$/s);
    await screenshot(page, 'policy-editor-try');

    await page.getByRole('button', {name: 'Save', exact: true}).click();
    await page.getByText('Policy “Web flag togglers” saved').waitFor();
    await page.getByText('No unsaved changes.').waitFor();

    // Widened to every project: Changes names the one action gained, with an example outside web.
    await statements(page).fill(typoAtLine4.replace('"TogleFlag"', '"UpdateFlagName"')
        .replace('project/web:env/*:flag/*', 'project/*:env/*:flag/*'));
    const changes = page.getByRole('region', {name: 'Changes'});
    await changes.getByRole('heading', {name: 'Newly allowed: 2 actions'}).waitFor();
    const examples = await changes.getByRole('listitem').allTextContents();
    assert.equal(examples.length, 2);
    for (const text of examples) {
      assert.match(text, /^(ToggleFlag|UpdateFlagName) for example on project\//);
      assert.doesNotMatch(text, /project\/web:/);
    }
    await changes.getByText(/^In the examples, “.” stands for any text/).waitFor();
    await changes.getByText('Held by 0 members, 0 groups and 0 personal access tokens.').waitFor();
    await screenshot(page, 'policy-editor-changes');
    await page.getByRole('button', {name: 'Save', exact: true}).click();
    await page.getByText('No unsaved changes.').waitFor();
    const saved = await apiOk(server, memberJwt(server, owner), 'GET', `/policies/${policyId}`);
    assert.deepEqual(saved.statements[0].resources, ['project/*:env/*:flag/*']);
    assert.deepEqual(page.problems, []);
    await page.context().close();
  });

  test('a save made after someone else saved is refused, and the saved version can be loaded', async () => {
    const id = await createPolicy(server, 'shared', JSON.parse(typoAtLine4.replace('"TogleFlag"', '"UpdateFlagName"')));
    const page = await openPage(browser, server);
    await signIn(page, loginLink(server, owner));
    await page.goto(`${server.base}/console/policies/${id}`);
    await page.getByRole('heading', {name: 'shared', level: 1}).waitFor();
    await page.getByText('No problems found.').waitFor();

    // Someone else saves in between.
    const theirs = [{id: 'theirs', resourceType: 'flag', effect: 'allow', actions: ['CreateFlag'],
                     resources: ['project/api:env/*:flag/*']}];
    await apiOk(server, memberJwt(server, owner), 'PUT', `/policies/${id}/statements`, theirs);

    await statements(page).fill(typoAtLine4.replace('"TogleFlag"', '"CreateFlag"'));
    const alert = page.getByRole('alert').filter({hasText: 'Someone else saved this policy'});
    await alert.waitFor();
    assert.equal(await page.getByRole('button', {name: 'Save', exact: true}).isDisabled(), true);
    await screenshot(page, 'policy-editor-conflict');
    await alert.getByRole('button', {name: 'Load the saved version'}).click();
    await page.getByRole('alertdialog', {name: 'Load the saved version?'})
        .getByRole('button', {name: 'Load the saved version'}).click();
    await page.getByText('No unsaved changes.').waitFor();
    assert.match(await statements(page).inputValue(), /"id": "theirs"/);
    const stored = await apiOk(server, memberJwt(server, owner), 'GET', `/policies/${id}`);
    assert.equal(stored.statements[0].id, 'theirs');
    assert.deepEqual(unexpectedProblems(page, 409), []);
    await page.context().close();
  });
});
