// Browser smoke test for Tỉnh số: the login page, the demo specialist's login, the
// Vietnamese 404 page, security headers, and axe-core accessibility checks.
//
// Runs against an already started server:
//   TINHSO_BASE_URL=http://127.0.0.1:PORT node --test e2e/
// scripts/test.sh starts `tinhso serve --demo` once per database and runs this file.
//
// Invariants of the harness:
// - Debian's Chromium (/usr/bin/chromium, or TINHSO_CHROMIUM) is launched once per file,
//   headless, with a fresh --user-data-dir in a temp dir that is removed afterwards;
//   nothing is downloaded (playwright-core has no browser of its own).
// - Traffic goes only to TINHSO_BASE_URL (expected to be on 127.0.0.1); every other
//   request the page makes is aborted and fails the header test.
// - Every test and every browser operation is bounded by a timeout.
// - TINHSO_SCREENSHOTS_DIR, when set, receives login-desktop.png, login-phone.png and
//   home-desktop.png.

import { after, afterEach, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);

const BASE_URL = (process.env.TINHSO_BASE_URL ?? '').replace(/\/+$/, '');
const CHROMIUM = process.env.TINHSO_CHROMIUM || '/usr/bin/chromium';
const SCREENSHOTS_DIR = process.env.TINHSO_SCREENSHOTS_DIR || '';
const AXE_PATH = require.resolve('axe-core/axe.min.js');

const DEMO_PASSWORD = 'demo-Tinhso-2026';
const SPECIALIST = 'chuyenvien';

const TEST_TIMEOUT_MS = 60_000;
const ACTION_TIMEOUT_MS = 15_000;
const NAVIGATION_TIMEOUT_MS = 20_000;
const LAUNCH_TIMEOUT_MS = 60_000;

const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 360, height: 740 };

const BLOCKING_IMPACTS = new Set(['serious', 'critical']);

/** @type {import('playwright-core').BrowserContext} */
let context;
let userDataDir = '';
/** Responses from the app, for the header test: { url, status, headers }. */
const appResponses = [];
/** Requests to anything other than the app, which are aborted. */
const foreignRequests = [];

const nfc = (s) => (s ?? '').normalize('NFC');

before(async () => {
  assert.ok(
    /^https?:\/\//.test(BASE_URL),
    'TINHSO_BASE_URL must point at a running server, e.g. http://127.0.0.1:8080 ' +
      '(scripts/test.sh starts one and sets it)',
  );
  const origin = new URL(BASE_URL).origin;

  userDataDir = await mkdtemp(path.join(tmpdir(), 'tinhso-e2e-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    timeout: LAUNCH_TIMEOUT_MS,
    viewport: DESKTOP,
    locale: 'vi-VN',
    timezoneId: 'Asia/Ho_Chi_Minh',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  context.setDefaultTimeout(ACTION_TIMEOUT_MS);
  context.setDefaultNavigationTimeout(NAVIGATION_TIMEOUT_MS);

  // Keep every request on the app's own origin; anything else is recorded and aborted.
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith('data:') || url.startsWith('blob:') || new URL(url).origin === origin) {
      return route.continue();
    }
    foreignRequests.push(url);
    return route.abort('blockedbyclient');
  });
  context.on('response', (response) => {
    if (new URL(response.url()).origin === origin) {
      appResponses.push({
        url: response.url(),
        status: response.status(),
        headers: response.headers(),
      });
    }
  });

  if (SCREENSHOTS_DIR) await mkdir(SCREENSHOTS_DIR, { recursive: true });
});

after(async () => {
  // Closing is bounded too: a hung browser must not hold the run.
  if (context) {
    await Promise.race([
      context.close().catch(() => {}),
      new Promise((resolve) => setTimeout(resolve, 10_000).unref()),
    ]);
  }
  if (userDataDir) await rm(userDataDir, { recursive: true, force: true });
});

/** @type {import('playwright-core').Page | undefined} */
let page;

beforeEach(async () => {
  // Each test starts logged out, on a fresh tab.
  await context.clearCookies();
  page = await context.newPage();
});

afterEach(async () => {
  await page?.close().catch(() => {});
  page = undefined;
});

const url = (p) => `${BASE_URL}${p}`;

async function screenshot(name, viewport) {
  if (!SCREENSHOTS_DIR) return;
  await page.setViewportSize(viewport);
  await page.screenshot({ path: path.join(SCREENSHOTS_DIR, name), fullPage: true });
  await page.setViewportSize(DESKTOP);
}

function assertSecurityHeaders(response, what) {
  assert.ok(response, `${what}: no response`);
  const headers = response.headers();
  assert.ok(headers['x-request-id'], `${what}: missing x-request-id header`);
  assert.ok(headers['content-security-policy'], `${what}: missing content-security-policy header`);
}

async function gotoLogin() {
  const response = await page.goto(url('/login'), { waitUntil: 'load' });
  assert.equal(response?.status(), 200, 'GET /login should answer 200');
  assertSecurityHeaders(response, 'GET /login');
  return response;
}

async function submitLogin(username, password) {
  const form = page.locator('form:has(input[name="username"])');
  await form.locator('input[name="username"]').fill(username);
  await form.locator('input[name="password"]').fill(password);
  await Promise.all([
    page.waitForNavigation({ waitUntil: 'load' }),
    form.locator('button[type="submit"], button:not([type]), input[type="submit"]').first().click(),
  ]);
}

async function loginAsSpecialist() {
  await gotoLogin();
  await submitLogin(SPECIALIST, DEMO_PASSWORD);
  assert.equal(
    new URL(page.url()).pathname,
    '/',
    `after logging in as ${SPECIALIST} the browser should land on /, got ${page.url()}`,
  );
}

function logoutButton() {
  return page
    .locator('form[action$="/logout"]')
    .getByRole('button', { name: 'Đăng xuất' });
}

/** Injects axe-core and fails on serious or critical violations. */
async function assertAccessible(t, what) {
  try {
    await page.addScriptTag({ path: AXE_PATH });
  } catch (err) {
    // A strict CSP (script-src 'self') rightly refuses an inline <script>; evaluate the
    // same file through the DevTools protocol instead, which the page's CSP does not govern.
    const reason = /Content Security Policy/i.test(String(err?.message)) ? "the page's CSP" : String(err);
    t.diagnostic(`${what}: addScriptTag refused by ${reason}; evaluating axe-core directly`);
    const source = await readFile(AXE_PATH, 'utf8');
    await page.evaluate(`${source}\n;void 0;`);
  }
  const results = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      helpUrl: v.helpUrl,
      targets: v.nodes.slice(0, 5).map((n) => n.target.join(' ')),
    }));
  });
  for (const v of results.filter((v) => !BLOCKING_IMPACTS.has(v.impact))) {
    t.diagnostic(`${what}: axe ${v.impact} ${v.id}: ${v.help} [${v.targets.join(', ')}]`);
  }
  const blocking = results.filter((v) => BLOCKING_IMPACTS.has(v.impact));
  assert.deepEqual(
    blocking.map((v) => `${v.impact} ${v.id}: ${v.help} — ${v.targets.join(', ')} (${v.helpUrl})`),
    [],
    `${what}: axe-core found serious or critical violations`,
  );
}

test('login page renders in Vietnamese', { timeout: TEST_TIMEOUT_MS }, async () => {
  await gotoLogin();
  assert.equal(await page.locator('html').getAttribute('lang'), 'vi', '<html lang="vi">');
  const h1 = nfc(await page.locator('h1').first().innerText());
  assert.match(h1, /Đăng nhập/, `<h1> should contain "Đăng nhập", got ${JSON.stringify(h1)}`);

  const form = page.locator('form:has(input[name="username"])');
  assert.equal(await form.count(), 1, 'exactly one login form');
  assert.equal(await form.locator('input[name="username"]').count(), 1, 'username input');
  assert.equal(
    await form.locator('input[name="password"]').getAttribute('type'),
    'password',
    'password input of type password',
  );
  const csrf = form.locator('input[name="csrf_token"]');
  assert.equal(await csrf.getAttribute('type'), 'hidden', 'hidden csrf_token input');
  assert.ok((await csrf.getAttribute('value'))?.length, 'csrf_token has a value');
  assert.ok(
    (await form.locator('button[type="submit"], button:not([type]), input[type="submit"]').count()) >= 1,
    'a submit button',
  );

  await screenshot('login-desktop.png', DESKTOP);
  await screenshot('login-phone.png', PHONE);
});

test('wrong password shows a generic error and stays on the login page', { timeout: TEST_TIMEOUT_MS }, async () => {
  const messages = [];
  // An existing user with a wrong password and an unknown user must look the same.
  for (const username of [SPECIALIST, 'khong-co-nguoi-nay']) {
    await gotoLogin();
    await submitLogin(username, 'sai-mat-khau-2026');
    assert.equal(new URL(page.url()).pathname, '/login', `stays on /login (user ${username})`);
    assert.equal(await page.locator('input[name="password"]').count(), 1, 'login form shown again');
    const body = nfc(await page.locator('body').innerText());
    assert.match(body, /không đúng/i, `generic error "…không đúng" for user ${username}`);
    assert.equal(await logoutButton().count(), 0, 'not logged in');
    const line = body.split('\n').find((l) => /không đúng/i.test(l));
    messages.push(line?.trim());
  }
  assert.equal(messages[0], messages[1], 'same error for wrong password and unknown user');
});

test('demo specialist logs in and sees "Đăng xuất"', { timeout: TEST_TIMEOUT_MS }, async () => {
  await loginAsSpecialist();
  const button = logoutButton();
  assert.equal(await button.count(), 1, 'a "Đăng xuất" button inside a form posting to /logout');
  const method = await page.locator('form[action$="/logout"]').getAttribute('method');
  assert.equal(method?.toLowerCase(), 'post', 'logout form uses POST');
  assert.ok((await page.locator('nav a').count()) >= 1, 'a <nav> with links');
  assert.equal(await page.locator('html').getAttribute('lang'), 'vi', '<html lang="vi">');

  await screenshot('home-desktop.png', DESKTOP);

  // Logging out ends the session: no logout button afterwards, and / no longer shows one.
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), button.click()]);
  assert.equal(await logoutButton().count(), 0, 'logged out after "Đăng xuất"');
  await page.goto(url('/'), { waitUntil: 'load' });
  assert.equal(await logoutButton().count(), 0, 'still logged out on /');
});

test('unknown route answers 404 with a Vietnamese page', { timeout: TEST_TIMEOUT_MS }, async () => {
  const response = await page.goto(url('/khong-ton-tai'), { waitUntil: 'load' });
  assert.equal(response?.status(), 404, 'GET /khong-ton-tai should answer 404');
  assertSecurityHeaders(response, 'GET /khong-ton-tai');
  assert.equal(await page.locator('html').getAttribute('lang'), 'vi', '<html lang="vi">');
  const body = nfc(await page.locator('body').innerText());
  assert.match(body, /Không tìm thấy/, '404 page says "Không tìm thấy"');
});

test('no serious or critical axe-core violations (login, home)', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  await gotoLogin();
  await assertAccessible(t, 'login page');
  await loginAsSpecialist();
  await assertAccessible(t, 'home page');
});

test('every response carries x-request-id and content-security-policy', { timeout: TEST_TIMEOUT_MS }, async () => {
  // Ask for a couple of responses the browser tests did not necessarily see.
  for (const p of ['/healthz', '/login', '/khong-ton-tai']) {
    const r = await context.request.get(url(p), { maxRedirects: 0, timeout: ACTION_TIMEOUT_MS });
    appResponses.push({ url: url(p), status: r.status(), headers: r.headers() });
  }
  assert.ok(appResponses.length > 0, 'some responses were recorded');
  const missing = [
    ...new Set(
      appResponses
        .filter((r) => !r.headers['x-request-id'] || !r.headers['content-security-policy'])
        .map((r) => `${r.status} ${r.url}`),
    ),
  ];
  assert.deepEqual(missing, [], 'responses without x-request-id or content-security-policy');
  assert.deepEqual([...new Set(foreignRequests)], [], 'the pages asked for resources outside the app');
});
