// The Members page, clicked through as a person uses it: by roles and visible names, each change
// checked against what the API and its decisions then say.
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

/** Signs `email` in and opens the Members page from the header's link. */
async function openMembers(email, {locale = 'en-US', link = 'Members', heading = 'Members'} = {}) {
  const page = await openPage(browser, server, {locale});
  await signIn(page, loginLink(server, email));
  await page.getByRole('navigation').getByRole('link', {name: link}).click();
  await page.getByRole('heading', {name: heading, level: 1}).waitFor();
  return page;
}

const row = (page, email) => page.getByRole('row', {name: new RegExp(email.replace(/[.+]/g, '\\$&'))});

/** The row's effective policies, as listed in its Policies cell. */
async function policiesOf(page, email) {
  return row(page, email).getByRole('listitem').allTextContents();
}

async function memberRecord(email) {
  const members = await apiOk(server, memberJwt(server, owner), 'GET', '/members');
  return members.find((m) => m.email === email);
}

function decide(credential, action, resource) {
  return api(server, credential, 'POST', '/decisions', {action, resource});
}

/** A personal token of member `email`, unscoped: it acts with the member's current rights. */
async function personalToken(email, name) {
  const token = await apiOk(server, memberJwt(server, email), 'POST', '/access-tokens',
                            {name, type: 'Personal', permissions: []});
  return token.token;
}

async function openAccess(page, email) {
  await page.getByRole('button', {name: `Actions for ${email}`}).click();
  await page.getByRole('menuitem', {name: 'Policies and groups'}).click();
  const dialog = page.getByRole('dialog', {name: `Policies and groups of ${email}`});
  await dialog.waitFor();
  return dialog;
}

describe('the list', () => {
  test('shows each member with their effective policies and groups', async () => {
    const page = await openMembers(owner);
    await row(page, owner).waitFor();
    assert.deepEqual(await page.getByRole('columnheader').allTextContents(),
                     ['Email', 'Policies', 'Groups', 'Joined', 'Actions']);
    assert.deepEqual(await policiesOf(page, owner), ['Owner']);
    assert.equal(await row(page, owner).getByRole('cell').nth(1).textContent(), 'None');
    assert.match(await row(page, owner).locator('time').textContent(), /^\d{4}-\d\d-\d\d \d\d:\d\d$/);
    assert.equal(await page.locator('[aria-busy="true"]').count(), 0);
    await screenshot(page, 'members-list');
    assert.deepEqual(page.problems, []);
    assert.deepEqual(page.foreign, []);
    await page.context().close();
  });

  test('in Japanese', async () => {
    const page = await openMembers(owner, {locale: 'ja-JP', link: 'メンバー', heading: 'メンバー'});
    await row(page, owner).waitFor();
    assert.deepEqual(await page.getByRole('columnheader').allTextContents(),
                     ['メールアドレス', 'ポリシー', 'グループ', '参加日時', '操作']);
    await screenshot(page, 'members-list-ja');
    await page.getByRole('button', {name: `${owner} の操作`}).click();
    await page.getByRole('menuitem', {name: 'ポリシーとグループ'}).click();
    const access = page.getByRole('dialog', {name: `${owner} のポリシーとグループ`});
    await access.getByRole('group', {name: 'ポリシー'}).getByRole('checkbox', {name: 'Owner'}).waitFor();
    assert.equal(await access.getByText('組み込み', {exact: true}).count(), 3);
    await screenshot(page, 'members-policies-ja');
    await page.keyboard.press('Escape');
    await page.getByRole('button', {name: 'メンバーを追加'}).click();
    const add = page.getByRole('dialog', {name: 'メンバーを追加'});
    await add.getByRole('textbox', {name: 'メールアドレス'}).fill(owner);
    await add.getByRole('button', {name: '追加', exact: true}).click();
    await add.getByText('このメールアドレスのメンバーはすでに存在します。').waitFor();
    await screenshot(page, 'members-add-ja');
    assert.deepEqual(unexpectedProblems(page, 409), []);
    await page.context().close();
  });
});

describe('adding', () => {
  test('by email gives Developer; the same email again, or no email, is refused in the field', async () => {
    const email = 'new.dev@example.com';
    const page = await openMembers(owner);
    await page.getByRole('button', {name: 'Add member'}).click();
    const dialog = page.getByRole('dialog', {name: 'Add member'});
    const field = dialog.getByRole('textbox', {name: 'Email'});
    await field.fill(email);
    await dialog.getByRole('button', {name: 'Add', exact: true}).click();
    await dialog.waitFor({state: 'detached'});
    await page.getByRole('status').getByText(`${email} added`).waitFor();
    await row(page, email).getByRole('listitem').filter({hasText: 'Developer'}).waitFor();
    assert.deepEqual(await policiesOf(page, email), ['Developer']);
    assert.deepEqual((await memberRecord(email)).policyIds, [builtin.developer]);

    await page.getByRole('button', {name: 'Add member'}).click();
    await field.fill(email);
    await dialog.getByRole('button', {name: 'Add', exact: true}).click();
    await dialog.getByText('A member with this email already exists.').waitFor();
    assert.equal(await field.getAttribute('aria-invalid'), 'true');
    await screenshot(page, 'members-add');
    await field.fill('not-an-email');
    await dialog.getByRole('button', {name: 'Add', exact: true}).click();
    await dialog.getByText('Enter a valid email address.').waitFor();
    await field.fill('');
    await dialog.getByRole('button', {name: 'Add', exact: true}).click();
    await dialog.getByText('Enter an email address.').waitFor();
    await dialog.getByRole('button', {name: 'Cancel'}).click();
    await dialog.waitFor({state: 'detached'});
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Add member');
    const members = await apiOk(server, memberJwt(server, owner), 'GET', '/members');
    assert.equal(members.filter((m) => m.email === email).length, 1);
    assert.equal(members.some((m) => m.email === 'not-an-email'), false);
    assert.deepEqual(unexpectedProblems(page, 409, 400), []);
    await page.context().close();
  });
});

describe('policies and groups', () => {
  test('attaching a policy or joining a group changes the member\'s decisions at once', async () => {
    const email = 'ops.dev@example.com';
    // Developer holds CanAccessEnv only on environments (policies/developer.json).
    const envSettings = await createPolicy(server, 'env-settings', [{
      id: 'env', resourceType: 'env', effect: 'allow', actions: ['UpdateEnvSettings'],
      resources: ['project/web:env/*'],
    }]);
    const member = await addMember(server, email, [builtin.developer]);
    const token = await personalToken(email, 'ops-dev script');
    const settings = () => decide(token, 'UpdateEnvSettings', 'project/web:env/prod');
    assert.equal((await settings()).body.data.allowed, false);

    const page = await openMembers(owner);
    let dialog = await openAccess(page, email);
    const policies = dialog.getByRole('group', {name: 'Policies'});
    assert.equal(await policies.getByRole('checkbox', {name: 'Developer'}).isChecked(), true);
    assert.equal(await policies.getByRole('checkbox', {name: 'Owner'}).isChecked(), false);
    assert.equal(await policies.getByText('Built-in', {exact: true}).count(), 3);
    await policies.getByRole('checkbox', {name: 'env-settings'}).check();
    await dialog.getByRole('status').getByText(`“env-settings” attached to ${email}`).waitFor();
    await screenshot(page, 'members-policies');
    assert.equal((await settings()).body.data.allowed, true);
    assert.ok((await memberRecord(email)).policyIds.includes(envSettings));

    await policies.getByRole('checkbox', {name: 'env-settings'}).uncheck();
    await dialog.getByRole('status').getByText(`“env-settings” detached from ${email}`).waitFor();
    assert.equal((await settings()).body.data.allowed, false);
    await dialog.getByRole('button', {name: 'Close'}).first().click();
    await dialog.waitFor({state: 'detached'});

    // A group: joined in the panel, given a policy through the API.
    const jwt = memberJwt(server, owner);
    const ops = await apiOk(server, jwt, 'POST', '/groups', {name: 'ops', description: 'On-call operators'});
    await page.reload();
    dialog = await openAccess(page, email);
    await dialog.getByText('Grants no policy yet.').waitFor();
    await dialog.getByRole('group', {name: 'Groups'}).getByRole('checkbox', {name: 'ops'}).check();
    await dialog.getByRole('status').getByText(`${email} added to the group “ops”`).waitFor();
    assert.deepEqual((await apiOk(server, jwt, 'GET', '/groups')).find((g) => g.id === ops.id).memberIds,
                     [member.id]);
    await page.keyboard.press('Escape');
    await dialog.waitFor({state: 'detached'});
    await row(page, email).getByRole('cell', {name: 'ops', exact: true}).waitFor();

    await apiOk(server, jwt, 'PUT', `/groups/${ops.id}/add-policy/${builtin.administrator}`);
    const deleteEnv = () => decide(token, 'DeleteEnv', 'project/web:env/prod');
    assert.equal((await deleteEnv()).body.data.allowed, true);
    await page.reload();
    await row(page, email).getByRole('listitem').filter({hasText: 'Administrator (through ops)'}).waitFor();
    assert.deepEqual(await policiesOf(page, email), ['Developer', 'Administrator (through ops)']);
    await screenshot(page, 'members-list-through-group');

    // From the keyboard: the row menu opens the panel, Space leaves the group, Escape closes.
    await page.getByRole('button', {name: `Actions for ${email}`}).focus();
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Policies and groups');
    await page.keyboard.press('Enter');
    dialog = page.getByRole('dialog', {name: `Policies and groups of ${email}`});
    await dialog.waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.type), 'checkbox');
    const administrator = dialog.getByRole('checkbox', {name: 'Administrator'});
    assert.equal(await administrator.isChecked(), false);
    await dialog.getByText('Held through ops.').waitFor();
    await screenshot(page, 'members-policies-through-group');
    await dialog.getByRole('checkbox', {name: 'ops'}).focus();
    await page.keyboard.press('Space');
    await dialog.getByRole('status').getByText(`${email} removed from the group “ops”`).waitFor();
    assert.equal(await dialog.getByText('Held through ops.').count(), 0);
    assert.equal((await deleteEnv()).body.data.allowed, false);
    await page.keyboard.press('Escape');
    await dialog.waitFor({state: 'detached'});
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')),
                 `Actions for ${email}`);
    await row(page, email).getByRole('cell', {name: 'None', exact: true}).waitFor();
    assert.deepEqual(await policiesOf(page, email), ['Developer']);
    assert.deepEqual(page.problems, []);
    await page.context().close();
  });
  test('a grant beyond the signed-in member\'s own rights is refused, in words', async () => {
    // An IAM administrator who holds nothing else.
    const iamOnly = await createPolicy(server, 'iam-only', [{
      id: 'iam', resourceType: 'iam', effect: 'allow', actions: ['CanManageIAM'], resources: ['iam/*'],
    }]);
    const deploy = await createPolicy(server, 'deploy', [{
      id: 'deploy', resourceType: 'env', effect: 'allow', actions: ['UpdateEnvSettings'],
      resources: ['project/*:env/*'],
    }]);
    await addMember(server, 'iam.admin@example.com', [iamOnly]);
    await addMember(server, 'target@example.com', [builtin.developer]);
    const page = await openMembers('iam.admin@example.com');
    const dialog = await openAccess(page, 'target@example.com');
    const box = dialog.getByRole('checkbox', {name: 'deploy'});
    await box.click();
    await dialog.getByRole('alert')
        .getByText(/^Not changed: This would let target@example\.com UpdateEnvSettings on project\/[^ ]*:env\/[^ ]*, which you may not do yourself\.$/)
        .waitFor();
    assert.equal(await box.isChecked(), false);
    assert.equal((await memberRecord('target@example.com')).policyIds.includes(deploy), false);
    await screenshot(page, 'members-beyond-rights');
    await page.keyboard.press('Escape');

    // A new member gets Developer, which this administrator does not hold either.
    await page.getByRole('button', {name: 'Add member'}).click();
    const add = page.getByRole('dialog', {name: 'Add member'});
    await add.getByRole('textbox', {name: 'Email'}).fill('too.much@example.com');
    await add.getByRole('button', {name: 'Add', exact: true}).click();
    await add.getByRole('alert').getByText(/^This would let too\.much@example\.com \w+ on /).waitFor();
    assert.equal(await memberRecord('too.much@example.com'), undefined);
    assert.deepEqual(unexpectedProblems(page, 403), []);
    await page.context().close();
  });
});

describe('removing', () => {
  test('after confirmation the member is gone and their personal token answers 401', async () => {
    const email = 'departing@example.com';
    await addMember(server, email, [builtin.developer]);
    const token = await personalToken(email, 'departing script');
    assert.equal((await decide(token, 'CanAccessProject', 'project/web')).status, 200);

    const page = await openMembers(owner);
    await page.getByRole('button', {name: `Actions for ${email}`}).click();
    await page.getByRole('menuitem', {name: 'Remove'}).click();
    const confirm = page.getByRole('alertdialog', {name: `Remove ${email}?`});
    await confirm.getByText('personal access tokens stop working at once and for good').waitFor();
    await confirm.getByRole('button', {name: 'Remove'}).click();
    await page.getByRole('status').getByText(`${email} removed from the organization`).waitFor();
    await row(page, email).waitFor({state: 'detached'});
    assert.equal(await memberRecord(email), undefined);
    assert.equal((await decide(token, 'CanAccessProject', 'project/web')).status, 401);
    // The focus had nowhere to go back to but the heading.
    assert.equal(await page.evaluate(() => document.activeElement?.tagName), 'H1');
    assert.deepEqual(page.problems, []);
    await page.context().close();
  });

  test('the last owner stays, and the page says why', async () => {
    const page = await openMembers(owner);
    await page.getByRole('button', {name: `Actions for ${owner}`}).click();
    await page.getByRole('menuitem', {name: 'Remove'}).click();
    const confirm = page.getByRole('alertdialog', {name: `Remove ${owner}?`});
    await confirm.getByText('This is you').waitFor();
    await confirm.getByRole('button', {name: 'Remove'}).click();
    const words = `${owner} is the organization's last owner who can manage IAM. ` +
                  'Make another member an Owner first.';
    await page.getByRole('alert').getByText(words).waitFor();
    await screenshot(page, 'members-last-owner');
    assert.deepEqual(await policiesOf(page, owner), ['Owner']);
    assert.deepEqual((await memberRecord(owner)).policyIds, [builtin.owner]);

    // Detaching Owner from the last owner is refused the same way; the tick comes back.
    const dialog = await openAccess(page, owner);
    const ownerBox = dialog.getByRole('checkbox', {name: 'Owner'});
    await ownerBox.click();
    await dialog.getByRole('alert').getByText(words).waitFor();
    assert.equal(await ownerBox.isChecked(), true);
    assert.deepEqual((await memberRecord(owner)).policyIds, [builtin.owner]);
    await screenshot(page, 'members-last-owner-panel');
    assert.deepEqual(unexpectedProblems(page, 422), []);
    await page.context().close();
  });
});

describe('without CanManageIAM', () => {
  test('a Developer sees what is missing, and no list', async () => {
    await addMember(server, 'plain.dev@example.com', [builtin.developer]);
    const page = await openPage(browser, server);
    await signIn(page, loginLink(server, 'plain.dev@example.com'));
    // The access-token page asks for the members (its creator filter) and is refused: that 403
    // is its own. The Members page asks the server's decision first and makes no refused call.
    await page.getByRole('searchbox', {name: 'Filter by name'}).waitFor();
    const refused = refusedResponses(page);
    await page.getByRole('navigation').getByRole('link', {name: 'Members'}).click();
    await page.getByRole('heading', {name: 'You cannot view members'}).waitFor();
    await page.getByText('CanManageIAM permission on iam/*').waitFor();
    assert.equal(await page.getByRole('table').count(), 0);
    assert.equal(await page.getByRole('button', {name: 'Add member'}).count(), 0);
    await screenshot(page, 'members-no-access');
    assert.deepEqual(refused, []);
    assert.deepEqual(unexpectedProblems(page, 403), []);
    await page.context().close();
  });
});
