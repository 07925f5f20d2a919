// The console as a whole: served by the executable alone, under its Content-Security-Policy,
// talking to no other host, in English and Japanese, and its first render with 1,000 tokens.
import assert from 'node:assert/strict';
import {writeFileSync, mkdirSync} from 'node:fs';
import {join} from 'node:path';
import {describe, test} from 'node:test';
import {apiOk, loginLink, memberJwt, openPage, owner, screenshot, screenshotDir,
        signIn, sharedServerAndBrowser} from './harness.mjs';

let server;
let browser;
sharedServerAndBrowser((s, b) => {
  server = s;
  browser = b;
});

describe('serving', () => {
  test('/ redirects to the console, whose page carries a strict policy and a strong ETag', async () => {
    const root = await fetch(`${server.base}/`, {redirect: 'manual'});
    assert.equal(root.status, 302);
    assert.equal(root.headers.get('location'), '/console/');
    const page = await fetch(`${server.base}/console/access-tokens`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type'), /^text\/html/);
    const csp = page.headers.get('content-security-policy');
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
    const etag = page.headers.get('etag');
    assert.match(etag, /^"[0-9a-f]{32}"$/);
    const again = await fetch(`${server.base}/console/access-tokens`, {headers: {'If-None-Match': etag}});
    assert.equal(again.status, 304);
    const script = await fetch(`${server.base}/console/js/app.js`);
    assert.match(script.headers.get('content-type'), /^text\/javascript/);
    assert.equal(script.headers.get('cache-control'), 'no-cache');
    assert.equal((await fetch(`${server.base}/console/js/missing.js`)).status, 404);
    assert.equal((await fetch(`${server.base}/console/tests/harness.mjs`)).status, 404);
  });

  test('the page runs under its policy, without errors, and contacts no other host', async () => {
    const page = await openPage(browser, server);
    const violations = [];
    await page.exposeFunction('reportViolation', (text) => violations.push(text));
    await page.addInitScript(() => {
      document.addEventListener('securitypolicyviolation',
          (event) => window.reportViolation(`${event.violatedDirective} ${event.blockedURI}`));
    });
    await signIn(page, loginLink(server, owner));
    await page.getByRole('button', {name: 'Add', exact: true}).click();
    await page.getByRole('dialog', {name: 'Add access token'}).getByRole('radio', {name: /Service/}).check();
    await page.getByRole('group', {name: 'Feature flags'}).waitFor();
    // Inline script is refused: the policy is on.
    const inlineRan = await page.evaluate(() => {
      window.inlineRan = false;
      const script = document.createElement('script');
      script.textContent = 'window.inlineRan = true';
      document.body.append(script);
      return window.inlineRan;
    });
    assert.equal(inlineRan, false);
    await page.waitForFunction(() => true);
    assert.equal(violations.length, 1, violations.join('\n'));
    assert.match(violations[0], /^script-src/);
    assert.deepEqual(page.foreign, []);
    assert.deepEqual(page.problems.filter((p) => !p.includes('Content Security Policy')), []);
    await page.context().close();
  });
});

describe('languages', () => {
  test('a Japanese browser gets the Japanese page; the header switches to English', async () => {
    const page = await openPage(browser, server, {locale: 'ja-JP'});
    await signIn(page, loginLink(server, owner));
    await page.getByRole('heading', {name: 'アクセストークン', level: 1}).waitFor();
    await page.getByRole('button', {name: '追加', exact: true}).click();
    const panel = page.getByRole('dialog', {name: 'アクセストークンの追加'});
    await panel.getByRole('radio', {name: /サービス/}).check();
    await panel.getByRole('group', {name: 'フィーチャーフラグ'}).waitFor();
    await screenshot(page, 'ja-add-service');
    await panel.getByRole('button', {name: 'キャンセル'}).click();
    await screenshot(page, 'ja-access-tokens');
    await page.getByRole('combobox', {name: '言語'}).selectOption('en');
    await page.getByRole('heading', {name: 'Access tokens', level: 1}).waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');
    await page.context().close();
  });
});

describe('first render', () => {
  test('with 1,000 tokens in the organization', async () => {
    const jwt = memberJwt(server, owner);
    const existing = await apiOk(server, jwt, 'GET', '/access-tokens?pageSize=1');
    for (let i = existing.totalCount; i < 1000; i++) {
      await apiOk(server, jwt, 'POST', '/access-tokens', {name: `load-${i}`, type: 'Personal'});
    }
    // Milliseconds from the navigation's start to the first page of tokens on screen.
    const rendered = async (page) => {
      await page.getByText('1–10 of 1000 tokens').waitFor();
      return page.evaluate(
          () => performance.getEntriesByName('gatehouse:access-tokens-rendered')[0].startTime);
    };
    const link = loginLink(server, owner);
    const cold = [];
    const warm = [];
    for (let run = 0; run < 5; run++) {
      // A fresh browser context: nothing cached, signing in through the link.
      const page = await openPage(browser, server);
      await signIn(page, link);
      cold.push(await rendered(page));
      if (run === 0) await screenshot(page, 'access-tokens-1000');
      // The same tab opening the page again: its files revalidated, the session kept.
      await page.goto(`${server.base}/console/access-tokens`);
      warm.push(await rendered(page));
      await page.context().close();
    }
    const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const result = {tokens: 1000, runs: cold.length,
                    cold_median_ms: median(cold), cold_max_ms: Math.max(...cold),
                    warm_median_ms: median(warm), warm_max_ms: Math.max(...warm),
                    note: 'navigation start to the first page of tokens on screen; cold: a ' +
                          'new context through the sign-in link, warm: the page opened again'};
    mkdirSync(screenshotDir, {recursive: true});
    writeFileSync(join(screenshotDir, 'first-render.json'), `${JSON.stringify(result)}\n`);
    console.log(`first render with 1,000 tokens: ${JSON.stringify(result)}`);
    assert.equal(cold.length + warm.length, 10);
  });
});
