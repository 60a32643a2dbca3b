// Browser smoke test for Tỉnh số: the login page, the demo specialist's login, the
// Vietnamese 404 page, security headers, and axe-core accessibility checks.
//
// Runs against an already started server:
//   TINHSO_BASE_URL=http://127.0.0.1:PORT node --test e2e/
// scripts/test.sh starts `tinhso serve --demo` once per database and runs every
// e2e/*.test.mjs file; the harness (lib/harness.mjs) states the invariants.
// TINHSO_SCREENSHOTS_DIR, when set, receives login-desktop.png, login-phone.png and
// home-desktop.png.

import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ACTION_TIMEOUT_MS, DEMO, DEMO_PASSWORD, DESKTOP, PHONE, TEST_TIMEOUT_MS, appResponses,
  assertAccessible as checkAccessible, foreignRequests, login, logoutButton as logoutOf, nfc,
  screenshot as shoot, url, useBrowser,
} from './lib/harness.mjs';

const SPECIALIST = DEMO.specialist;
const browser = useBrowser();

/** @type {import('playwright-core').Page | undefined} */
let page;

beforeEach(async () => {
  // Each test starts logged out, on a fresh tab.
  await browser.context.clearCookies();
  page = await browser.context.newPage();
});

afterEach(async () => {
  await page?.close().catch(() => {});
  page = undefined;
});

const screenshot = (name, viewport) => shoot(page, name, viewport);
const logoutButton = () => logoutOf(page);
const assertAccessible = (t, what) => checkAccessible(t, page, what);

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
  await login(page, SPECIALIST, DEMO_PASSWORD);
  assert.equal(
    new URL(page.url()).pathname,
    '/',
    `after logging in as ${SPECIALIST} the browser should land on /, got ${page.url()}`,
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
    const r = await browser.context.request.get(url(p), { maxRedirects: 0, timeout: ACTION_TIMEOUT_MS });
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
