// Shared harness of the browser tests: one headless Debian Chromium per test file, pages
// that stay on the app's origin, login as a demo account, axe-core checks, screenshots.
//
// Invariants (every *.test.mjs relies on them):
// - Debian's Chromium (/usr/bin/chromium, or TINHSO_CHROMIUM) is launched once per file,
//   headless, with a fresh --user-data-dir in a temp dir that is removed afterwards;
//   nothing is downloaded (playwright-core has no browser of its own).
// - Traffic goes only to TINHSO_BASE_URL (expected to be on 127.0.0.1); every other
//   request is recorded in `foreignRequests` and aborted.
// - Every test and every browser operation is bounded by a timeout.
// - TINHSO_SCREENSHOTS_DIR, when set, receives the screenshots the tests take.

import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);

export const BASE_URL = (process.env.TINHSO_BASE_URL ?? '').replace(/\/+$/, '');
const CHROMIUM = process.env.TINHSO_CHROMIUM || '/usr/bin/chromium';
const SCREENSHOTS_DIR = process.env.TINHSO_SCREENSHOTS_DIR || '';
const AXE_PATH = require.resolve('axe-core/axe.min.js');

export const DEMO_PASSWORD = 'demo-Tinhso-2026';
/** The demo citizen (personal ID number) and the demo officials, by role. */
export const DEMO = {
  citizen: '001099000001',
  counter: 'motcua',
  specialist: 'chuyenvien',
  leader: 'lanhdao',
  agencyAdmin: 'quantri.so',
  provincialAdmin: 'quantri.tinh',
};

export const TEST_TIMEOUT_MS = 90_000;
export const ACTION_TIMEOUT_MS = 15_000;
export const NAVIGATION_TIMEOUT_MS = 20_000;
const LAUNCH_TIMEOUT_MS = 60_000;

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 360, height: 740 };

const BLOCKING_IMPACTS = new Set(['serious', 'critical']);

export const nfc = (s) => (s ?? '').normalize('NFC');
export const url = (p) => `${BASE_URL}${p}`;

/** Responses from the app ({ url, status, headers }) and requests to anything else. */
export const appResponses = [];
export const foreignRequests = [];

/**
 * Registers before/after hooks that launch one browser context for the file and close it.
 * Returns an object whose `context` is set once the browser is up.
 */
export function useBrowser() {
  const handle = { context: undefined };
  let userDataDir = '';
  before(async () => {
    assert.ok(
      /^https?:\/\//.test(BASE_URL),
      'TINHSO_BASE_URL must point at a running server, e.g. http://127.0.0.1:8080 ' +
        '(scripts/test.sh starts one and sets it)',
    );
    const origin = new URL(BASE_URL).origin;
    userDataDir = await mkdtemp(path.join(tmpdir(), 'tinhso-e2e-chromium-'));
    const context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      timeout: LAUNCH_TIMEOUT_MS,
      viewport: DESKTOP,
      locale: 'vi-VN',
      timezoneId: 'Asia/Ho_Chi_Minh',
      acceptDownloads: true,
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
      const u = route.request().url();
      if (u.startsWith('data:') || u.startsWith('blob:') || new URL(u).origin === origin) {
        return route.continue();
      }
      foreignRequests.push(u);
      return route.abort('blockedbyclient');
    });
    context.on('response', (response) => {
      if (new URL(response.url()).origin === origin) {
        appResponses.push({ url: response.url(), status: response.status(), headers: response.headers() });
      }
    });
    if (SCREENSHOTS_DIR) await mkdir(SCREENSHOTS_DIR, { recursive: true });
    handle.context = context;
  });
  after(async () => {
    // Closing is bounded too: a hung browser must not hold the run.
    if (handle.context) {
      await Promise.race([
        handle.context.close().catch(() => {}),
        new Promise((resolve) => setTimeout(resolve, 10_000).unref()),
      ]);
    }
    if (userDataDir) await rm(userDataDir, { recursive: true, force: true });
  });
  return handle;
}

/** A full-page screenshot at `viewport` (then back to desktop), when screenshots are wanted. */
export async function screenshot(page, name, viewport = DESKTOP) {
  if (!SCREENSHOTS_DIR) return;
  await page.setViewportSize(viewport);
  await page.screenshot({ path: path.join(SCREENSHOTS_DIR, name), fullPage: true });
  await page.setViewportSize(DESKTOP);
}

/** Clicks `locator` and waits for the navigation it causes. */
export async function clickAndWait(page, locator) {
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), locator.click()]);
}

/** Logs in on /login with a demo account (password and, for officials, no second factor). */
export async function login(page, username, password = DEMO_PASSWORD) {
  const response = await page.goto(url('/login'), { waitUntil: 'load' });
  assert.equal(response?.status(), 200, 'GET /login should answer 200');
  const form = page.locator('form:has(input[name="username"])');
  await form.locator('input[name="username"]').fill(username);
  await form.locator('input[name="password"]').fill(password);
  await clickAndWait(page, form.locator('button[type="submit"], button:not([type])').first());
}

export function logoutButton(page) {
  return page.locator('form[action$="/logout"]').getByRole('button', { name: 'Đăng xuất' });
}

export async function logout(page) {
  const button = logoutButton(page);
  if ((await button.count()) > 0) await clickAndWait(page, button);
}

/** Injects axe-core and fails on serious or critical violations. */
export async function assertAccessible(t, page, what) {
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

/**
 * Bytes the browser transferred for one page load (document and every sub-resource), from
 * the Resource Timing entries: what a citizen on a slow link pays for.
 */
export async function transferredBytes(page) {
  return page.evaluate(() => {
    const nav = performance.getEntriesByType('navigation')[0];
    const resources = performance.getEntriesByType('resource');
    const size = (e) => e.transferSize || e.encodedBodySize || 0;
    return (nav ? size(nav) : 0) + resources.reduce((sum, e) => sum + size(e), 0);
  });
}

/** Text of the page body, NFC-normalised. */
export async function bodyText(page) {
  return nfc(await page.locator('body').innerText());
}
