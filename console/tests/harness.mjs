// What every browser test needs: a real `gatehouse serve` on a fresh data directory and a free
// loopback port, sign-in links and API calls for its members, and Debian's chromium with a page
// that records console errors and any request to another host.
import {spawn, execFileSync} from 'node:child_process';
import {mkdtempSync, mkdirSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join, resolve} from 'node:path';
import {after, before} from 'node:test';
import {chromium} from 'playwright-core';

const here = new URL('.', import.meta.url).pathname;
export const binary = process.env.GATEHOUSE_BIN ?? resolve(here, '../../build/bin/gatehouse');
export const screenshotDir = process.env.GATEHOUSE_SCREENSHOTS ??
    resolve(here, '../../build/console-screenshots');
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';

/** Starts `gatehouse serve` on a fresh data directory; resolves once it listens. */
export async function startServer() {
  const data = mkdtempSync(join(tmpdir(), 'gatehouse-console-'));
  const child = spawn(binary, ['serve', '--data', data, '--listen', '127.0.0.1:0'],
                      {stdio: ['ignore', 'pipe', 'pipe']});
  let output = '';
  const base = await new Promise((ready, fail) => {
    const timer = setTimeout(() => fail(new Error(`gatehouse did not start:\n${output}`)), 20000);
    // Read to the end, so that the access log never fills the pipe; kept only until ready.
    const read = (chunk) => {
      if (output.length > 65536) return;
      output += chunk;
      const listening = /listening on (\S+)\n/.exec(output);
      if (listening) {
        clearTimeout(timer);
        ready(`http://${listening[1]}`);
      }
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.on('exit', (code) => fail(new Error(`gatehouse exited with ${code}:\n${output}`)));
  });
  return {
    base,
    data,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((done) => child.on('exit', done));
      }
      rmSync(data, {recursive: true, force: true});
    },
  };
}

/** The sign-in link `gatehouse login-link` prints for `email`. */
export function loginLink(server, email, ttl = '1h') {
  return execFileSync(binary, ['login-link', '--data', server.data, '--member', email, '--ttl', ttl,
                               '--base', server.base], {encoding: 'utf8'}).trim();
}

/** A member JWT for API calls made by the test itself. */
export function memberJwt(server, email, ttl = '1h') {
  return execFileSync(binary, ['jwt', '--data', server.data, '--member', email, '--ttl', ttl],
                      {encoding: 'utf8'}).trim();
}

/** Calls the API as `credential` (a JWT or a token secret); answers {status, body}. */
export async function api(server, credential, method, path, body) {
  const response = await fetch(`${server.base}/api/v1${path}`, {
    method,
    headers: {
      Authorization: credential.startsWith('api-') ? credential : `Bearer ${credential}`,
      ...(body === undefined ? {} : {'Content-Type': 'application/json'}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return {status: response.status, body: await response.json()};
}

/** Like api(), but fails the test unless the call succeeds; answers the envelope's data. */
export async function apiOk(server, credential, method, path, body) {
  const {status, body: envelope} = await api(server, credential, method, path, body);
  if (status >= 300 || !envelope.success) {
    throw new Error(`${method} ${path} -> ${status} ${JSON.stringify(envelope)}`);
  }
  return envelope.data;
}

export const owner = 'owner@example.com';

/** Adds member `email` with the built-in or custom `policyIds`; answers the member. */
export async function addMember(server, email, policyIds) {
  return apiOk(server, memberJwt(server, owner), 'POST', '/members/add', {email, policyIds, groupIds: []});
}

/** Creates a custom policy with `statements`; answers its id. */
export async function createPolicy(server, name, statements) {
  const jwt = memberJwt(server, owner);
  const policy = await apiOk(server, jwt, 'POST', '/policies', {name, key: name, description: ''});
  await apiOk(server, jwt, 'PUT', `/policies/${policy.id}/statements`, statements);
  return policy.id;
}

export const builtin = {
  owner: '98881f6a-5c6c-4277-bcf7-fda94c538785',
  administrator: '3e961f0f-6fd4-4cf4-910f-52d356f8cc08',
  developer: '66f3687f-939d-4257-bd3f-c3553d39e1b6',
};

/** Launches chromium headless, as the tests' one browser. */
export function launchBrowser() {
  return chromium.launch({executablePath: chromiumPath, args: ['--no-sandbox']});
}

/**
 * One server and one browser for a whole test file: started before its first test, handed to
 * `use(server, browser)`, and stopped after its last.
 */
export function sharedServerAndBrowser(use) {
  let server;
  let browser;
  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
    use(server, browser);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });
}

/**
 * A page in a fresh context (`locale` chooses the browser's language) that records console
 * errors, failed CSP checks and requests to any host but the server's.
 */
export async function openPage(browser, server, {locale = 'en-US'} = {}) {
  const context = await browser.newContext({locale, viewport: {width: 1280, height: 860}});
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], {origin: server.base});
  const page = await context.newPage();
  const problems = [];
  const foreign = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));
  page.on('request', (request) => {
    if (!request.url().startsWith(server.base)) foreign.push(request.url());
  });
  page.problems = problems;
  page.foreign = foreign;
  return page;
}

/**
 * The page's console errors but those for the HTTP `statuses` a flow provokes on purpose: the
 * browser reports each refused request as an error of its own.
 */
export function unexpectedProblems(page, ...statuses) {
  return page.problems.filter((p) => !statuses.some((s) => p.includes(`status of ${s}`)));
}

/** The answers of 400 or more the page gets from now on, as `STATUS URL`, in an array that fills. */
export function refusedResponses(page) {
  const refused = [];
  page.on('response', (response) => {
    if (response.status() >= 400) refused.push(`${response.status()} ${response.url()}`);
  });
  return refused;
}

/** Signs in through `link` and waits for the access-token page. */
export async function signIn(page, link) {
  await page.goto(link);
  await page.getByRole('heading', {level: 1}).filter({hasNotText: /^Sign in$/}).waitFor();
}

/** Saves a screenshot of the page as `name`.png in the build folder. */
export async function screenshot(page, name) {
  mkdirSync(screenshotDir, {recursive: true});
  await page.screenshot({path: join(screenshotDir, `${name}.png`), fullPage: true});
}
