// Browser test of agency administration: the provincial administrator edits a procedure's
// form in the catalogue editor (adds a field, is refused a bad key, previews the form as the
// citizen will see it, saves a new version), edits a notification template (an unknown
// placeholder is refused by name), and the citizen sees the new field; at the end the
// procedure and the template are restored so the other browser tests find the shipped data.
//
// Administrators must use TOTP: the demo administrator enrols at first login, and this test
// computes the codes itself (RFC 6238, HMAC-SHA1, 30 s steps) from the secret the enrolment
// page shows. Run against a fresh `tinhso serve --demo` (scripts/test.sh starts one per
// database): on a server where quantri.tinh already enrolled, the secret is unknown here.
//
// TINHSO_SCREENSHOTS_DIR receives admin-catalog-{list,edit,preview}-{desktop,phone}.png and
// admin-templates-{list,edit}-{desktop,phone}.png.

import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomInt } from 'node:crypto';
import path from 'node:path';
import {
  DEMO, DESKTOP, PHONE, TEST_TIMEOUT_MS, assertAccessible, bodyText, clickAndWait, login, logout,
  nfc, screenshot, url, useBrowser,
} from './lib/harness.mjs';

const browser = useBrowser();
/** A procedure the other browser tests do not use: "Đăng ký chấm dứt giám hộ". */
const CODE = '1.004845';
const SEARCH = 'cham dut giam ho';
const SUFFIX = String(randomInt(100_000, 999_999));
const NEW_KEY = `ghi_chu_e2e_${SUFFIX}`;
const NEW_LABEL = `Ghi chú thêm của người nộp (kiểm thử ${SUFFIX})`;

/** State shared by the tests of this file, in order. */
const shared = { secret: '', lastStep: 0, versionBefore: 0, versionAfter: 0, template: null };

/** @type {import('playwright-core').Page | undefined} */
let page;

/**
 * One viewport of a long page (the editor is several screens long), from `from` when given
 * (else the top), so the
 * committed PNG stays small. Written only when TINHSO_SCREENSHOTS_DIR is set.
 */
async function screenshotTop(name, viewport, from) {
  const dir = process.env.TINHSO_SCREENSHOTS_DIR;
  if (!dir) return;
  await page.setViewportSize(viewport);
  if (from) await from.evaluate((el) => el.scrollIntoView({ block: 'start' }));
  await page.screenshot({ path: path.join(dir, name), fullPage: false });
  await page.setViewportSize(DESKTOP);
}

beforeEach(async () => {
  await browser.context.clearCookies();
  page = await browser.context.newPage();
});

afterEach(async () => {
  await page?.close().catch(() => {});
  page = undefined;
});

// ------------------------------------------------------------------ RFC 6238

function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out = [];
  for (const c of text.replace(/[=\s]/g, '').toUpperCase()) {
    const i = alphabet.indexOf(c);
    assert.ok(i >= 0, `TOTP secret has a non-base32 character ${c}`);
    value = ((value << 5) | i) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

function totpAt(secret, step) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', base32Decode(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

/** A code for a step the server has not seen yet (it refuses replays), waiting ≤ 31 s. */
async function freshCode() {
  let step = Math.floor(Date.now() / 30_000);
  if (step <= shared.lastStep) {
    const wait = (shared.lastStep + 1) * 30_000 - Date.now() + 200;
    assert.ok(wait <= 31_000, 'bounded wait for the next TOTP step');
    await new Promise((resolve) => setTimeout(resolve, wait));
    step = Math.floor(Date.now() / 30_000);
  }
  shared.lastStep = step;
  return totpAt(shared.secret, step);
}

/** Logs in as the demo provincial administrator, enrolling TOTP the first time. */
async function loginAdmin() {
  await login(page, DEMO.provincialAdmin);
  const path = new URL(page.url()).pathname;
  if (path === '/account/totp') {
    shared.secret = nfc(await page.locator('code.secret').innerText()).trim();
    assert.match(shared.secret, /^[A-Z2-7]+=*$/, 'the enrolment page shows a base32 secret');
    await page.locator('input[name="code"]').fill(await freshCode());
    await clickAndWait(page, page.locator('form[action="/account/totp"] button[type="submit"]'));
    assert.equal(new URL(page.url()).pathname, '/account', 'TOTP enrolled');
  } else {
    assert.equal(
      path,
      '/login/totp',
      `after the password an administrator gives a TOTP code, got ${page.url()}`,
    );
    assert.ok(
      shared.secret,
      `${DEMO.provincialAdmin} already uses TOTP with a secret this run does not know: run against a fresh demo server`,
    );
    await page.locator('input[name="code"]').fill(await freshCode());
    await clickAndWait(page, page.locator('form:has(input[name="code"]) button[type="submit"]'));
    assert.equal(new URL(page.url()).pathname, '/', `logged in, got ${page.url()}`);
  }
}

async function apiProcedure() {
  const response = await page.request.get(url(`/api/v1/procedures/${CODE}`));
  assert.equal(response.status(), 200, `GET /api/v1/procedures/${CODE}`);
  return response.json();
}

/** The index of the form-schema row whose key input holds `key`, or -1. */
async function fieldRowIndex(key) {
  const keys = page.locator('input[name^="fields["][name$="].key"]');
  const n = await keys.count();
  for (let i = 0; i < n; i++) {
    if ((await keys.nth(i).inputValue()) === key) {
      const name = await keys.nth(i).getAttribute('name');
      return Number(/fields\[(\d+)\]/.exec(name ?? '')?.[1] ?? -1);
    }
  }
  return -1;
}

// ------------------------------------------------------------------ tests

test('the administrator adds a form field, is refused a bad key, previews and saves a new version', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const before = await apiProcedure();
  shared.versionBefore = before.version;
  await loginAdmin();

  // The list: search without diacritics.
  let response = await page.goto(url(`/admin/procedures?q=${encodeURIComponent(SEARCH)}`), { waitUntil: 'load' });
  assert.equal(response?.status(), 200, 'GET /admin/procedures');
  const link = page.locator(`a[href="/admin/procedures/${CODE}"]`);
  assert.equal(await link.count(), 1, `the search "${SEARCH}" finds ${CODE}`);
  assert.ok((await page.locator('tbody tr').count()) < 10, 'the search narrows the list');
  await assertAccessible(t, page, 'catalogue list');
  await screenshot(page, 'admin-catalog-list-desktop.png', DESKTOP);
  await screenshot(page, 'admin-catalog-list-phone.png', PHONE);

  await clickAndWait(page, link);
  assert.equal(new URL(page.url()).pathname, `/admin/procedures/${CODE}`);
  await assertAccessible(t, page, 'procedure editor');
  await screenshotTop('admin-catalog-edit-desktop.png', DESKTOP);
  await screenshotTop('admin-catalog-edit-phone.png', PHONE);
  const rows = before.spec.form.fields.length;
  assert.equal(await page.locator('input[name^="fields["][name$="].key"]').count(), rows, 'one row per form field');

  // "Add a field" is a submit button: the editor comes back with one more (empty) row.
  const name = page.locator('textarea[name="name"]');
  const typedName = `${nfc(await name.inputValue())}`;
  await clickAndWait(page, page.locator('button[value="add:fields"]'));
  assert.equal(await page.locator('input[name^="fields["][name$="].key"]').count(), rows + 1, 'a new row');
  assert.equal(nfc(await name.inputValue()), typedName, 'the other values are kept');

  // A key with spaces and capitals is refused beside its input; nothing is saved.
  await page.locator(`input[name="fields[${rows}].key"]`).fill('Ghi Chu');
  await page.locator(`input[name="fields[${rows}].label_vi"]`).fill(NEW_LABEL);
  await clickAndWait(page, page.locator('button[value="save"]').first());
  const summary = page.locator('.error-summary');
  assert.equal(await summary.count(), 1, 'an error summary');
  assert.equal(
    await summary.locator(`a[href="#ed-fields-${rows}-key"]`).count(),
    1,
    'the summary links to the key of the new row',
  );
  const keyField = page.locator(`input[name="fields[${rows}].key"]`);
  assert.equal(await keyField.getAttribute('aria-invalid'), 'true', 'the key input is marked invalid');
  assert.match(
    nfc(await page.locator(`#ed-fields-${rows}-key-error`).innerText()),
    /Mã trường/,
    'the message sits beside the key',
  );
  assert.equal(nfc(await page.locator(`input[name="fields[${rows}].label_vi"]`).inputValue()), NEW_LABEL, 'the label typed is kept');
  assert.equal((await apiProcedure()).version, shared.versionBefore, 'an invalid edit writes nothing');
  await assertAccessible(t, page, 'procedure editor with errors');

  // Preview: the form exactly as the citizen will see it, from the unsaved edit.
  await keyField.fill(NEW_KEY);
  await clickAndWait(page, page.locator('button[value="preview"]').first());
  const preview = page.locator('[data-preview]');
  assert.equal(await preview.count(), 1, 'a preview section');
  assert.equal(await preview.locator(`#field-${NEW_KEY}`).count(), 1, 'the new field is in the preview');
  assert.match(nfc(await preview.locator(`label[for="field-${NEW_KEY}"]`).innerText()), new RegExp(SUFFIX));
  for (const field of before.spec.form.fields) {
    assert.equal(await preview.locator(`#field-${field.key}`).count(), 1, `the preview keeps ${field.key}`);
  }
  assert.equal((await apiProcedure()).version, shared.versionBefore, 'a preview writes nothing');
  await assertAccessible(t, page, 'form preview');
  await screenshotTop('admin-catalog-preview-desktop.png', DESKTOP, preview);
  await screenshotTop('admin-catalog-preview-phone.png', PHONE, preview);

  // Save: a new version, announced on the page.
  await clickAndWait(page, page.locator('button[value="save"]').first());
  assert.equal(new URL(page.url()).pathname, `/admin/procedures/${CODE}`);
  assert.match(await bodyText(page), new RegExp(`Phiên bản hiện hành: ${shared.versionBefore + 1}`));
  const after = await apiProcedure();
  shared.versionAfter = after.version;
  assert.equal(after.version, shared.versionBefore + 1, 'saving makes a new version');
  const added = after.spec.form.fields.find((f) => f.key === NEW_KEY);
  assert.ok(added, `the API shows the new field ${NEW_KEY}`);
  assert.equal(nfc(added.label_vi), NEW_LABEL);
  assert.equal(added.required, false, 'the new field is optional');
  assert.equal(after.spec.form.fields.length, rows + 1);
});

test('the administrator edits a notification template; an unknown placeholder is refused by name', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  await loginAdmin();
  let response = await page.goto(url('/admin/templates'), { waitUntil: 'load' });
  assert.equal(response?.status(), 200, 'GET /admin/templates');
  assert.ok((await page.locator('tbody tr').count()) >= 10, 'one row per notified event');
  await assertAccessible(t, page, 'template list');
  await screenshot(page, 'admin-templates-list-desktop.png', DESKTOP);
  await screenshot(page, 'admin-templates-list-phone.png', PHONE);

  await clickAndWait(page, page.locator('a[href="/admin/templates/received"]'));
  const sms = page.locator('textarea[name="sms"]');
  shared.template = {
    subject: nfc(await page.locator('textarea[name="subject"]').inputValue()),
    body: nfc(await page.locator('textarea[name="body"]').inputValue()),
    sms: nfc(await sms.inputValue()),
  };
  assert.match(shared.template.body, /\{due\}/, 'the shipped text uses {due}');

  await sms.fill('Ho so {code} da tiep nhan, nguoi nhan {ho_ten}');
  await clickAndWait(page, page.locator('button[value="save"]'));
  assert.equal(await page.locator('.error-summary').count(), 1, 'an error summary');
  assert.match(nfc(await page.locator('#tpl-sms-error').innerText()), /\{ho_ten\}/, 'the error names the placeholder');
  assert.equal(nfc(await sms.inputValue()), 'Ho so {code} da tiep nhan, nguoi nhan {ho_ten}', 'the text typed is kept');
  await assertAccessible(t, page, 'template with an error');

  const newSms = `Ho so {code} da duoc tiep nhan, hen tra {due}. (${SUFFIX})`;
  await sms.fill(newSms);
  await clickAndWait(page, page.locator('button[value="preview"]'));
  const previewText = await bodyText(page);
  assert.match(previewText, new RegExp(`000\\.00\\.31\\.H32-270301-0001 da duoc tiep nhan, hen tra 16:00 ngày 23/02/2027\\. \\(${SUFFIX}\\)`), 'the preview fills the placeholders');
  await screenshot(page, 'admin-templates-edit-desktop.png', DESKTOP);
  await screenshot(page, 'admin-templates-edit-phone.png', PHONE);
  await clickAndWait(page, page.locator('button[value="save"]'));
  assert.match(await bodyText(page), /Đã lưu mẫu/);
  const stored = await page.request.get(url('/api/v1/notification-templates/received'));
  assert.equal(stored.status(), 200);
  const json = await stored.json();
  assert.equal(nfc(json.sms), newSms);
  assert.equal(json.customised, true);

  // Back to the shipped text, so other tests see the defaults.
  await page.locator('textarea[name="sms"]').fill(shared.template.sms);
  await clickAndWait(page, page.locator('button[value="save"]'));
  const restored = await (await page.request.get(url('/api/v1/notification-templates/received'))).json();
  assert.equal(restored.customised, false, 'the shipped text is in force again');
});

test('the citizen sees the new field', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  assert.ok(shared.versionAfter > shared.versionBefore, 'the first test saved the procedure');
  // Public: the catalogue API shows the current version to everyone.
  const spec = await apiProcedure();
  assert.ok(spec.spec.form.fields.some((f) => f.key === NEW_KEY), 'the public API shows the field');

  await login(page, DEMO.citizen);
  assert.equal(new URL(page.url()).pathname, '/', 'the citizen is logged in');
  // The citizen's application (another area): checked once the route exists.
  const apply = await page.goto(url(`/apply/${CODE}`), { waitUntil: 'load' });
  if (apply?.status() === 404) {
    t.diagnostic(`/apply/${CODE} does not exist yet; the public API shows the new field`);
  } else {
    assert.equal(apply?.status(), 200, `GET /apply/${CODE}`);
    // Long forms are split into pages: look on each form page (at most one per field).
    let found = false;
    for (let step = 1; step <= spec.spec.form.fields.length && !found; step += 1) {
      const r = await page.goto(url(`/apply/${CODE}?step=${step}`), { waitUntil: 'load' });
      assert.equal(r?.status(), 200, `GET /apply/${CODE}?step=${step}`);
      found = (await page.locator(`[name$="${NEW_KEY}"]`).count()) > 0;
    }
    assert.ok(found, 'the application form shows the new field');
    assert.ok((await bodyText(page)).includes(NEW_LABEL), 'with its Vietnamese label');
    await assertAccessible(t, page, 'citizen application with the new field');
  }
  // An administrator's pages are not the citizen's.
  const editor = await page.goto(url(`/admin/procedures/${CODE}`), { waitUntil: 'load' });
  assert.equal(editor?.status(), 403, 'the citizen may not open the editor');
  await logout(page);
});

test('the administrator removes the field again, manages roles and sees the calendar editor', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  await loginAdmin();
  await page.goto(url(`/admin/procedures/${CODE}`), { waitUntil: 'load' });
  const index = await fieldRowIndex(NEW_KEY);
  assert.ok(index >= 0, 'the saved field is in the editor');
  await clickAndWait(page, page.locator(`button[value="remove:fields:${index}"]`));
  assert.equal(await fieldRowIndex(NEW_KEY), -1, 'the row is gone (not saved yet)');
  await clickAndWait(page, page.locator('button[value="save"]').first());
  const restored = await apiProcedure();
  assert.equal(restored.version, shared.versionAfter + 1, 'removing is another version');
  assert.ok(!restored.spec.form.fields.some((f) => f.key === NEW_KEY), 'the field is gone');
  await assertAccessible(t, page, 'procedure editor after saving');

  // Users and roles: a new official, a second role granted and revoked again.
  const username = `e2e.canbo${SUFFIX}`;
  await page.goto(url('/admin/users'), { waitUntil: 'load' });
  const create = page.locator('form[action="/admin/users"]');
  await create.locator('input[name="username"]').fill(username);
  await create.locator('input[name="display_name"]').fill(`Cán bộ kiểm thử ${SUFFIX}`);
  await create.locator('input[name="agency_code"]').fill('000.00.31.H32');
  await create.locator('select[name="role"]').selectOption('specialist');
  await create.locator('input[name="password"]').fill('mat-khau-ban-dau-2026');
  await clickAndWait(page, create.locator('button[type="submit"]'));
  const row = page.locator('tr', { has: page.locator(`code:text-is("${username}")`) });
  assert.equal(await row.count(), 1, 'the new official is listed');
  const grant = page.locator('form[action="/admin/users/roles"]:has(input[name="op"][value="grant"])');
  await grant.locator('input[name="username"]').fill(username);
  await grant.locator('select[name="role"]').selectOption('leader');
  await grant.locator('input[name="agency_code"]').fill('000.00.31.H32');
  await clickAndWait(page, grant.locator('button[type="submit"]'));
  assert.match(await bodyText(page), /Đã cấp vai trò/);
  const revoke = row.locator('form:has(input[name="role"][value="leader"]) button');
  assert.equal(await revoke.count(), 1, 'the granted role has a revoke button');
  await assertAccessible(t, page, 'users and roles');
  await screenshot(page, 'admin-users-desktop.png', DESKTOP);
  await clickAndWait(page, revoke);
  assert.match(await bodyText(page), /Đã thu hồi vai trò/);
  assert.equal(await row.locator('input[name="role"][value="leader"]').count(), 0, 'the role is gone');

  // The calendar of the year: the administrator's editor is there and accessible.
  await page.goto(url('/calendar'), { waitUntil: 'load' });
  assert.equal(await page.locator('form[action="/admin/calendar/schedule"]').count(), 1, 'the schedule editor');
  await assertAccessible(t, page, 'calendar with the schedule editor');
  await screenshot(page, 'admin-calendar-desktop.png', DESKTOP);
});
