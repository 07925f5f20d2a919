// The seed's access-token page, clicked through as a person uses it: by roles and visible names.
import assert from 'node:assert/strict';
import {describe, test} from 'node:test';
import {addMember, api, apiOk, builtin, createPolicy, loginLink, memberJwt,
        openPage, owner, screenshot, signIn, sharedServerAndBrowser} from './harness.mjs';

let server;
let browser;
sharedServerAndBrowser((s, b) => {
  server = s;
  browser = b;
});

/** The open "Add access token" panel. */
const panel = (page) => page.getByRole('dialog', {name: 'Add access token'});

async function openAddPanel(page, name) {
  await page.getByRole('button', {name: 'Add', exact: true}).click();
  await panel(page).getByRole('textbox', {name: 'Name'}).fill(name);
}

/** Saves the panel and answers the secret shown once, after checking the dialog around it. */
async function saveAndReadSecret(page, name) {
  await panel(page).getByRole('button', {name: 'Save'}).click();
  const created = page.getByRole('dialog', {name: 'Access token created'});
  await created.waitFor();
  const secret = await created.getByRole('textbox', {name: `${name}:`}).inputValue();
  assert.match(secret, /^api-[\w-]{40,}$/);
  await created.getByRole('button', {name: 'Copy'}).click();
  await created.getByText('Copied').waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret);
  return {created, secret};
}

function decide(credential, action, resource) {
  return api(server, credential, 'POST', '/decisions', {action, resource});
}

describe('signing in', () => {
  test('a sign-in link opens the access-token page and leaves no JWT in the address bar', async () => {
    const page = await openPage(browser, server);
    await page.goto(loginLink(server, owner));
    await page.getByRole('heading', {name: 'Access tokens', level: 1}).waitFor();
    assert.equal(new URL(page.url()).pathname, '/console/access-tokens');
    assert.equal(new URL(page.url()).hash, '');
    await page.getByText('No access tokens yet').waitFor();
    await screenshot(page, 'access-tokens-empty');
    assert.deepEqual(page.problems, []);
    await page.context().close();
  });

  test('the paste box signs in with a pasted link, and refuses something else', async () => {
    const page = await openPage(browser, server);
    await page.goto(`${server.base}/console/sign-in`);
    const box = page.getByRole('textbox', {name: 'Sign-in link or token'});
    await box.fill('not a link');
    await page.getByRole('button', {name: 'Sign in'}).click();
    await page.getByRole('alert').filter({hasText: 'not a sign-in link'}).waitFor();
    await screenshot(page, 'sign-in-refused');
    await box.fill(loginLink(server, owner));
    await page.getByRole('button', {name: 'Sign in'}).click();
    await page.getByRole('heading', {name: 'Access tokens', level: 1}).waitFor();
    await page.context().close();
  });

  test('a refused link (expired or forged) ends in the session-ended dialog, not a page', async () => {
    const page = await openPage(browser, server);
    // An unsigned JWT ({"alg":"none"}, {"sub":"x"}): shaped like one, accepted by nobody.
    const unsigned = 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.';
    const forged = loginLink(server, owner).replace(/#jwt=.*$/, `#jwt=${unsigned}`);
    await page.goto(forged);
    const ended = page.getByRole('dialog', {name: 'Your session has ended'});
    await ended.waitFor();
    assert.equal(new URL(page.url()).hash, '');
    assert.equal(await page.getByRole('table').count(), 0);
    await ended.getByRole('button', {name: 'Sign in again'}).click();
    await page.getByRole('heading', {name: 'Sign in', level: 1}).waitFor();
    await page.context().close();
  });
});

describe('creating tokens', () => {
  test('a personal token: its copied secret decides through the API', async () => {
    const page = await openPage(browser, server);
    await signIn(page, loginLink(server, owner));
    await openAddPanel(page, 'laptop script');
    assert.equal(await panel(page).getByRole('radio', {name: /Personal/}).isChecked(), true);
    await screenshot(page, 'add-personal');
    const {created, secret} = await saveAndReadSecret(page, 'laptop script');
    await screenshot(page, 'token-created');
    await created.getByRole('button', {name: 'OK'}).click();
    // Focus returns to the button that opened the panel.
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Add');
    await page.getByRole('row', {name: /laptop script/}).waitFor();

    const decision = await decide(secret, 'DeleteProject', 'project/web');
    assert.equal(decision.status, 200);
    assert.equal(decision.body.data.allowed, true);
    assert.equal(decision.body.data.subject.kind, 'personal-token');
    await page.context().close();
  });

  test('a service token for one project: allowed inside it, denied outside', async () => {
    const page = await openPage(browser, server);
    await signIn(page, loginLink(server, owner));
    await openAddPanel(page, 'web flags bot');
    await panel(page).getByRole('radio', {name: /Service/}).check();
    const flags = panel(page).getByRole('group', {name: 'Feature flags'});
    await flags.getByRole('checkbox', {name: 'ToggleFlag'}).check();
    await flags.getByRole('radio', {name: 'Choose resources'}).check();
    await flags.getByRole('checkbox', {name: 'Any Project'}).uncheck();
    await flags.getByRole('textbox', {name: 'Project'}).fill('web');
    await flags.getByRole('button', {name: 'Add resource'}).click();
    await flags.getByRole('listitem').filter({hasText: 'project/web:env/*:flag/*'}).waitFor();
    await screenshot(page, 'add-service-one-project');
    const {created, secret} = await saveAndReadSecret(page, 'web flags bot');
    await created.getByRole('button', {name: 'OK'}).click();

    const inside = await decide(secret, 'ToggleFlag', 'project/web:env/prod:flag/checkout');
    assert.equal(inside.body.data.allowed, true);
    const outside = await decide(secret, 'ToggleFlag', 'project/mobile:env/prod:flag/checkout');
    assert.equal(outside.body.data.allowed, false);
    const otherAction = await decide(secret, 'DeleteFlag', 'project/web:env/prod:flag/checkout');
    assert.equal(otherAction.body.data.allowed, false);
    await page.context().close();
  });

  test('beyond the member\'s rights: the counterexample, in words, and nothing created', async () => {
    const webOnly = await createPolicy(server, 'web-flags', [{
      id: 'web', resourceType: 'flag', effect: 'allow', actions: ['ToggleFlag', 'UpdateFlagName'],
      resources: ['project/web:env/*:flag/*'],
    }, {
      id: 'tokens', resourceType: 'access-token', effect: 'allow',
      actions: ['ListAccessTokens', 'ManageServiceAccessTokens'], resources: ['access-token/*'],
    }]);
    await addMember(server, 'web-dev@example.com', [webOnly]);
    const page = await openPage(browser, server);
    await signIn(page, loginLink(server, 'web-dev@example.com'));
    await openAddPanel(page, 'too wide');
    // Service is the only type this member may create, so it is already chosen.
    const flags = panel(page).getByRole('group', {name: 'Feature flags'});
    // Only what the member holds is offered.
    await flags.getByRole('checkbox', {name: 'ToggleFlag', exact: true}).waitFor();
    const offered = (name) => flags.getByRole('checkbox', {name, exact: true}).count();
    assert.equal(await offered('ToggleFlag'), 1);
    assert.equal(await offered('UpdateFlagName'), 1);
    assert.equal(await offered('DeleteFlag'), 0);
    assert.equal(await panel(page).getByRole('group', {name: 'Projects'}).count(), 0);
    await flags.getByRole('checkbox', {name: 'ToggleFlag'}).check();
    // All resources (project/*:env/*:flag/*) is wider than project/web.
    await panel(page).getByRole('button', {name: 'Save'}).click();
    const alert = panel(page).getByRole('alert').filter({hasText: 'This token could ToggleFlag on'});
    await alert.waitFor();
    assert.match(await alert.textContent(), /ToggleFlag on project\/(?!web:)[^ ]*:env\/[^ ]*:flag\/[^ ]*, which you cannot/);
    await screenshot(page, 'add-service-beyond-rights');
    const list = await apiOk(server, memberJwt(server, owner), 'GET', '/access-tokens?name=too%20wide');
    assert.equal(list.totalCount, 0);
    await page.context().close();
  });

  test('a member without ManageServiceAccessTokens is not offered Service', async () => {
    await addMember(server, 'dev@example.com', [builtin.developer]);
    const personalOnly = await createPolicy(server, 'personal-only', [{
      id: 'tokens', resourceType: 'access-token', effect: 'allow',
      actions: ['ListAccessTokens', 'ManagePersonalAccessTokens'], resources: ['access-token/*'],
    }]);
    await addMember(server, 'personal@example.com', [personalOnly]);
    const page = await openPage(browser, server);
    await signIn(page, loginLink(server, 'personal@example.com'));
    await openAddPanel(page, 'mine');
    await panel(page).getByText('You may create personal tokens only.').waitFor();
    assert.equal(await panel(page).getByRole('radio', {name: /Service/}).count(), 0);
    assert.equal(await panel(page).getByRole('radio', {name: /Personal/}).isChecked(), true);
    await screenshot(page, 'add-personal-only');
    await page.context().close();
  });

  test('the name is checked while typing', async () => {
    const jwt = memberJwt(server, owner);
    await apiOk(server, jwt, 'POST', '/access-tokens', {name: 'Taken Name', type: 'Personal'});
    const page = await openPage(browser, server);
    await signIn(page, loginLink(server, owner));
    await openAddPanel(page, 'taken name');
    await panel(page).getByText('Another access token in this organization has this name.').waitFor();
    await screenshot(page, 'add-name-used');
    await panel(page).getByRole('textbox', {name: 'Name'}).fill('a free name');
    await panel(page).getByText('Another access token').waitFor({state: 'detached'});
    await page.context().close();
  });
});

describe('expiry and rotation', () => {
  test('a token made to expire in 7 days says so, and a date in the past is refused', async () => {
    const page = await openPage(browser, server);
    await signIn(page, loginLink(server, owner));
    await openAddPanel(page, 'weekly job');
    const expires = panel(page).getByRole('combobox', {name: 'Expires'});
    assert.equal(await expires.inputValue(), '30');
    await expires.selectOption({label: 'In 7 days'});
    await panel(page).getByText(/^Works until .*401 TokenExpired/).waitFor();
    await screenshot(page, 'add-expiry');
    const before = Date.now();
    const {created} = await saveAndReadSecret(page, 'weekly job');
    await created.getByRole('button', {name: 'OK'}).click();
    const row = page.getByRole('row', {name: /weekly job/});
    await row.getByText('Expires soon').waitFor();
    const page0 = await apiOk(server, memberJwt(server, owner), 'GET', '/access-tokens?name=weekly');
    const expiresAt = new Date(page0.items[0].expiresAt).getTime();
    const week = 7 * 86_400_000;
    assert.ok(expiresAt >= before + week - 60_000 && expiresAt <= Date.now() + week + 60_000,
              page0.items[0].expiresAt);

    // "On a date": a date is needed, and it must be ahead.
    await openAddPanel(page, 'dated job');
    await panel(page).getByRole('combobox', {name: 'Expires'}).selectOption({label: 'On a date…'});
    await panel(page).getByRole('button', {name: 'Save'}).click();
    await panel(page).getByRole('alert').filter({hasText: 'Choose the date the token expires.'}).waitFor();
    await panel(page).getByLabel('Expiry date').fill('2001-01-01');
    await panel(page).getByRole('button', {name: 'Save'}).click();
    await panel(page).getByRole('alert').filter({hasText: 'Choose a date in the future.'}).waitFor();
    await panel(page).getByLabel('Expiry date').fill('2099-06-30');
    const {created: dated} = await saveAndReadSecret(page, 'dated job');
    await dated.getByRole('button', {name: 'OK'}).click();
    const stored = await apiOk(server, memberJwt(server, owner), 'GET', '/access-tokens?name=dated');
    assert.match(stored.items[0].expiresAt, /^2099-0[67]-/);
    assert.deepEqual(page.problems, []);
    await page.context().close();
  });

  test('an expired token answers TokenExpired and is listed and filtered as Expired', async () => {
    const jwt = memberJwt(server, owner);
    const soon = new Date(Date.now() + 1500).toISOString();
    const made = await apiOk(server, jwt, 'POST', '/access-tokens',
                             {name: 'short-lived', type: 'Personal', permissions: [], expiresAt: soon});
    const page = await openPage(browser, server);
    await signIn(page, loginLink(server, owner));
    // The server's clock decides: its answer is awaited before the page is asked.
    let refused;
    for (let i = 0; i < 40; i += 1) {
      refused = await decide(made.token, 'ToggleFlag', 'project/web:env/prod:flag/x');
      if (refused.status === 401) break;
      await page.waitForTimeout(250);
    }
    assert.equal(refused.status, 401);
    assert.deepEqual(refused.body.errors, ['TokenExpired']);
    await page.getByRole('combobox', {name: 'Status'}).selectOption({label: 'Expired'});
    const row = page.getByRole('row', {name: /short-lived/});
    await row.getByText('Expired', {exact: true}).waitFor();
    await screenshot(page, 'list-expired');
    await page.getByRole('combobox', {name: 'Status'}).selectOption({label: 'Active'});
    await page.getByRole('row', {name: /short-lived/}).waitFor({state: 'detached'});
    assert.deepEqual(page.problems, []);
    await page.context().close();
  });

  test('rotating gives a new secret once, and the old one works through the grace period', async () => {
    const jwt = memberJwt(server, owner);
    const made = await apiOk(server, jwt, 'POST', '/access-tokens', {name: 'ci runner', type: 'Personal'});
    const page = await openPage(browser, server);
    await signIn(page, loginLink(server, owner));
    await page.getByRole('searchbox', {name: 'Filter by name'}).fill('ci runner');
    await page.getByText('1–1 of 1 token', {exact: true}).waitFor();
    await page.getByRole('button', {name: 'Actions for ci runner'}).click();
    await page.getByRole('menuitem', {name: 'Rotate'}).click();
    const ask = page.getByRole('dialog', {name: 'Rotate “ci runner”?'});
    const grace = ask.getByRole('combobox', {name: 'The old secret keeps working'});
    assert.equal(await grace.inputValue(), '86400');
    await grace.selectOption({label: 'For 1 hour'});
    await screenshot(page, 'rotate-ask');
    await ask.getByRole('button', {name: 'Rotate'}).click();
    const shown = page.getByRole('dialog', {name: 'New secret for “ci runner”'});
    await shown.waitFor();
    const secret = await shown.getByRole('textbox', {name: 'ci runner:'}).inputValue();
    assert.match(secret, /^api-[\w-]{40,}$/);
    assert.notEqual(secret, made.token);
    await screenshot(page, 'rotate-secret');
    await shown.getByRole('button', {name: 'OK'}).click();
    await page.getByText('Access token “ci runner” rotated').waitFor();
    // Both work for the hour; the list shows the new prefix.
    for (const credential of [made.token, secret]) {
      const answer = await decide(credential, 'ToggleFlag', 'project/web:env/prod:flag/x');
      assert.equal(answer.status, 200);
    }
    await page.getByRole('row', {name: new RegExp(secret.slice(0, 10))}).waitFor();
    const listed = await apiOk(server, jwt, 'GET', '/access-tokens?name=ci%20runner');
    const until = new Date(listed.items[0].previousSecretValidUntil).getTime();
    assert.ok(Math.abs(until - (Date.now() + 3_600_000)) < 120_000, listed.items[0].previousSecretValidUntil);
    assert.deepEqual(page.problems, []);
    await page.context().close();
  });
});

describe('managing tokens', () => {
  test('deactivate (403 with the secret), activate, rename and remove, from the row menu', async () => {
    const jwt = memberJwt(server, owner);
    const token = await apiOk(server, jwt, 'POST', '/access-tokens', {name: 'rota', type: 'Personal'});
    const page = await openPage(browser, server);
    await signIn(page, loginLink(server, owner));
    await page.getByRole('searchbox', {name: 'Filter by name'}).fill('rota');
    await page.getByText('1–1 of 1 token', {exact: true}).waitFor();

    const menu = page.getByRole('button', {name: 'Actions for rota'});
    await menu.click();
    await screenshot(page, 'row-menu');
    await page.getByRole('menuitem', {name: 'Deactivate'}).click();
    const confirm = page.getByRole('alertdialog', {name: 'Deactivate “rota”?'});
    await confirm.waitFor();
    await screenshot(page, 'confirm-deactivate');
    await confirm.getByRole('button', {name: 'Deactivate'}).click();
    await page.getByRole('row', {name: /rota/}).getByText('Inactive').waitFor();
    assert.equal((await decide(token.token, 'DeleteProject', 'project/web')).status, 403);

    await page.getByRole('button', {name: 'Actions for rota'}).click();
    await page.getByRole('menuitem', {name: 'Activate'}).click();
    await page.getByRole('row', {name: /rota/}).getByText('Active', {exact: true}).waitFor();
    assert.equal((await decide(token.token, 'DeleteProject', 'project/web')).status, 200);

    await page.getByRole('button', {name: 'Actions for rota'}).click();
    await page.getByRole('menuitem', {name: 'Edit'}).click();
    const edit = page.getByRole('dialog', {name: 'Edit access token'});
    await edit.getByRole('textbox', {name: 'Name'}).fill('rota renamed');
    await edit.getByRole('button', {name: 'Save'}).click();
    await page.getByRole('searchbox', {name: 'Filter by name'}).fill('rota renamed');
    await page.getByRole('row', {name: /rota renamed/}).waitFor();

    await page.getByRole('button', {name: 'Actions for rota renamed'}).click();
    await page.getByRole('menuitem', {name: 'Remove'}).click();
    const remove = page.getByRole('alertdialog', {name: 'Remove “rota renamed”?'});
    await screenshot(page, 'confirm-remove');
    await remove.getByRole('button', {name: 'Remove'}).click();
    await page.getByText('No access tokens match these filters.').waitFor();
    assert.equal((await decide(token.token, 'DeleteProject', 'project/web')).status, 401);
    assert.deepEqual(page.problems, []);
    await page.context().close();
  });

  test('the row menu and its dialogs work from the keyboard alone', async () => {
    const jwt = memberJwt(server, owner);
    await apiOk(server, jwt, 'POST', '/access-tokens', {name: 'keys', type: 'Personal'});
    const page = await openPage(browser, server);
    await signIn(page, loginLink(server, owner));
    await page.getByRole('searchbox', {name: 'Filter by name'}).fill('keys');
    await page.getByText('1–1 of 1 token', {exact: true}).waitFor();
    const menu = page.getByRole('button', {name: 'Actions for keys'});
    await menu.focus();
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('role')), 'menuitem');
    await page.keyboard.press('ArrowDown');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Deactivate');
    await page.keyboard.press('Escape');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Actions for keys');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    const confirm = page.getByRole('alertdialog', {name: 'Deactivate “keys”?'});
    await confirm.waitFor();
    // The safe choice has focus; Escape closes, and focus is back on the menu button.
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Cancel');
    await page.keyboard.press('Escape');
    await confirm.waitFor({state: 'detached'});
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Actions for keys');
    await page.context().close();
  });

  test('filters and paging over 25 tokens', async () => {
    const jwt = memberJwt(server, owner);
    const dev = memberJwt(server, 'dev@example.com');
    for (let i = 1; i <= 25; i++) {
      const name = `batch-${String(i).padStart(2, '0')}`;
      await apiOk(server, i % 5 === 0 ? dev : jwt, 'POST', '/access-tokens', {name, type: 'Personal'});
    }
    const page = await openPage(browser, server);
    await signIn(page, loginLink(server, owner));
    await page.getByRole('searchbox', {name: 'Filter by name'}).fill('batch');
    await page.getByText('1–10 of 25 tokens').waitFor();
    assert.equal(await page.getByRole('row').count(), 11);
    await screenshot(page, 'paging-first');
    await page.getByRole('button', {name: 'Next page'}).click();
    await page.getByText('11–20 of 25 tokens').waitFor();
    await page.getByRole('button', {name: 'Next page'}).click();
    await page.getByText('21–25 of 25 tokens').waitFor();
    assert.equal(await page.getByRole('button', {name: 'Next page'}).isDisabled(), true);
    await page.getByRole('combobox', {name: 'Rows per page'}).selectOption('30');
    await page.getByText('1–25 of 25 tokens').waitFor();
    await page.getByRole('combobox', {name: 'Creator'}).selectOption({label: 'dev@example.com'});
    await page.getByText('1–5 of 5 tokens').waitFor();
    await page.getByRole('combobox', {name: 'Creator'}).selectOption({label: 'Me'});
    await page.getByText('1–20 of 20 tokens').waitFor();
    await page.getByRole('combobox', {name: 'Type'}).selectOption({label: 'Service'});
    await page.getByText('No access tokens match these filters.').waitFor();
    await screenshot(page, 'filters-no-match');
    await page.context().close();
  });

  test('a member who may only list sees rows without menus, and no Add', async () => {
    const listOnly = await createPolicy(server, 'list-only', [{
      id: 'tokens', resourceType: 'access-token', effect: 'allow', actions: ['ListAccessTokens'],
      resources: ['access-token/*'],
    }]);
    await addMember(server, 'viewer@example.com', [listOnly]);
    const page = await openPage(browser, server);
    await signIn(page, loginLink(server, 'viewer@example.com'));
    await page.getByRole('heading', {name: 'Access tokens', level: 1}).waitFor();
    await page.getByRole('table').waitFor();
    assert.equal(await page.getByRole('button', {name: 'Add', exact: true}).count(), 0);
    assert.equal(await page.getByRole('button', {name: /^Actions for/}).count(), 0);
    await page.getByRole('button', {name: /^View /}).first().click();
    await page.getByRole('dialog', {name: 'View access token'}).waitFor();
    await screenshot(page, 'view-only');
    await page.context().close();
  });

  test('without ListAccessTokens the page says what is missing', async () => {
    const nothing = await createPolicy(server, 'nothing', [{
      id: 'flags', resourceType: 'flag', effect: 'allow', actions: ['ToggleFlag'],
      resources: ['project/*:env/*:flag/*'],
    }]);
    await addMember(server, 'outsider@example.com', [nothing]);
    const page = await openPage(browser, server);
    await signIn(page, loginLink(server, 'outsider@example.com'));
    await page.getByRole('heading', {name: 'You cannot view access tokens'}).waitFor();
    await page.getByText('ListAccessTokens').waitFor();
    await screenshot(page, 'no-list-permission');
    await page.context().close();
  });
});

describe('the session', () => {
  test('a 401 mid-session says the session ended and how to get a new link', async () => {
    await addMember(server, 'leaver@example.com', [builtin.developer]);
    const page = await openPage(browser, server);
    await signIn(page, loginLink(server, 'leaver@example.com'));
    await page.getByRole('heading', {name: 'Access tokens', level: 1}).waitFor();
    const members = await apiOk(server, memberJwt(server, owner), 'GET', '/members');
    const leaver = members.find((m) => m.email === 'leaver@example.com');
    await apiOk(server, memberJwt(server, owner), 'DELETE', `/members/remove-from-org/${leaver.id}`);
    await page.getByRole('button', {name: 'Add', exact: true}).click();
    await panel(page).getByRole('textbox', {name: 'Name'}).fill('after leaving');
    const ended = page.getByRole('dialog', {name: 'Your session has ended'});
    await ended.waitFor();
    await ended.getByText('gatehouse login-link').waitFor();
    await screenshot(page, 'session-ended');
    await ended.getByRole('button', {name: 'Sign in again'}).click();
    await page.getByRole('heading', {name: 'Sign in', level: 1}).waitFor();
    await page.context().close();
  });
});
