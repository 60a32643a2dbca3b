// Browser tests of document management (issue 5 item 7), with the demo officials of the
// ward 000.00.31.H32: the clerk registers an incoming letter with its scan (a wrong form
// first: the message beside the field, the values kept), the leader assigns it, the
// specialist records progress and drafts the reply, submits it; the leader approves it and
// uploads the signed PDF; the clerk releases it (the number shows, e.g. 12/UBND-VX) and
// dispatches it inside and outside the system; the tracking table shows each recipient's
// transport and business status. axe-core runs on every page; TINHSO_SCREENSHOTS_DIR
// receives documents-* at desktop and phone width; at 360 px no page scrolls sideways.
//
// Runs against `tinhso serve --demo` (scripts/test.sh, once on SQLite and once on
// PostgreSQL). The documents it works on are created here, with a number unique to the run.

import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEMO, DESKTOP, PHONE, TEST_TIMEOUT_MS, assertAccessible, bodyText, clickAndWait, login, logout,
  screenshot, url, useBrowser,
} from './lib/harness.mjs';

const CLERK = 'vanthu.phuong';
const browser = useBrowser();
const RUN = String(Date.now() % 1_000_000);
const pdf = (n) => Buffer.from(`%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n% documents e2e ${n} ${RUN} ${Date.now()}\ntrailer << /Root 1 0 R >>\n%%EOF\n`);

/** @type {import('playwright-core').Page | undefined} */
let page;
/** Shared by the tests of this file, which run in order. */
const state = { incoming: '', outgoing: '' };

beforeEach(async () => {
  await browser.context.clearCookies();
  page = await browser.context.newPage();
});

afterEach(async () => {
  await page?.close().catch(() => {});
  page = undefined;
});

/** Screenshots at both widths; at phone width the page must not scroll sideways. */
async function shots(name) {
  await page.setViewportSize(PHONE);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  await page.setViewportSize(DESKTOP);
  assert.ok(overflow <= 1, `${name}: ${overflow}px wider than a 360 px phone`);
  await screenshot(page, `documents-${name}-desktop.png`, DESKTOP);
  await screenshot(page, `documents-${name}-phone.png`, PHONE);
}

/** The submit button of the action section `id` on a document page. */
const actionButton = (id) => page.locator(`#action-${id} button[type="submit"]`);

test('the clerk registers a letter; the leader assigns it; the specialist handles it and drafts the reply', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  await login(page, CLERK);
  await page.goto(url('/van-ban'), { waitUntil: 'load' });
  assert.match(await bodyText(page), /chờ phát hành/);
  await assertAccessible(t, page, 'documents home (clerk)');
  await shots('home');

  await clickAndWait(page, page.getByRole('link', { name: 'Vào sổ văn bản đến' }).first());
  assert.equal(new URL(page.url()).pathname, '/van-ban/den/moi');
  await assertAccessible(t, page, 'registration form');
  await page.locator('#organ_name').fill('Sở Văn hóa và Thể thao tỉnh Khánh Hòa');
  await page.locator('#code_number').fill(RUN);
  await page.locator('#code_notation').fill('SVHTT-VP');
  await page.locator('#issued_date').fill('2026-02-27');
  await page.locator('#type_code').selectOption('official_letter');
  await page.locator('#urgency').selectOption('1');
  await page.locator('#file').setInputFiles({ name: 'cong-van-den.pdf', mimeType: 'application/pdf', buffer: pdf(1) });
  // No subject: the message is beside the field and what was typed stays.
  await clickAndWait(page, page.getByRole('button', { name: 'Vào sổ' }));
  await assert.doesNotReject(page.locator('#subject-error').waitFor());
  assert.match(await page.locator('#subject-error').innerText(), /Nhập trích yếu/);
  assert.equal(await page.locator('#code_notation').inputValue(), 'SVHTT-VP');
  assert.equal(await page.locator('#subject').getAttribute('aria-invalid'), 'true');
  await assertAccessible(t, page, 'registration form with an error');
  await shots('register-error');

  await page.locator('#subject').fill(`Về việc tổ chức Ngày hội văn hóa các dân tộc (${RUN})`);
  await page.locator('#file').setInputFiles({ name: 'cong-van-den.pdf', mimeType: 'application/pdf', buffer: pdf(1) });
  await clickAndWait(page, page.getByRole('button', { name: 'Vào sổ' }));
  assert.match(page.url(), /\/van-ban\/den\/\d+\?done=registered$/);
  state.incoming = new URL(page.url()).pathname;
  const text = await bodyText(page);
  assert.match(text, /Đã vào sổ văn bản đến\./);
  assert.match(text, new RegExp(`${RUN}/SVHTT-VP`));
  assert.match(text, /cong-van-den\.pdf/);
  await assertAccessible(t, page, 'incoming document (clerk)');

  // The register lists it and finds it by words without diacritics.
  await page.goto(url(`/van-ban/den?q=ngay+hoi+${RUN}`), { waitUntil: 'load' });
  assert.equal(await page.locator('tbody tr').count(), 1);
  await assertAccessible(t, page, 'incoming register');
  await shots('incoming-register');
  await logout(page);

  // The leader assigns it to the specialist, with the clerk for information.
  await login(page, DEMO.leader);
  await page.goto(url(state.incoming), { waitUntil: 'load' });
  await page.locator('#main_handler').selectOption({ label: 'Nguyễn Thị Hoa (chuyên viên)' });
  await page.locator('#action-assign fieldset').nth(1).getByLabel('Đặng Thị Lan (văn thư phường)').check();
  const deadline = new Date(Date.now() + 14 * 86_400_000).toISOString().slice(0, 10);
  await page.locator('#deadline').fill(deadline);
  await page.locator('#direction').fill('Giao chuyên viên tham mưu văn bản trả lời');
  await assertAccessible(t, page, 'incoming document (leader)');
  await clickAndWait(page, actionButton('assign'));
  assert.match(await bodyText(page), /Đã phân công xử lý\./);
  assert.match(await page.locator('[data-handlers]').innerText(), /Nguyễn Thị Hoa \(chuyên viên\) — Chủ trì xử lý/);
  await shots('incoming-assigned');
  await logout(page);

  // The specialist records progress and drafts the reply from the document.
  await login(page, DEMO.specialist);
  await page.goto(url(state.incoming), { waitUntil: 'load' });
  await page.locator('#progress-note').fill('Đã liên hệ Sở để thống nhất thời gian');
  await clickAndWait(page, actionButton('progress'));
  assert.match(await page.locator('[data-timeline]').innerText(), /Đã liên hệ Sở/);
  await assertAccessible(t, page, 'incoming document (specialist)');
  await clickAndWait(page, page.locator('#action-reply a'));
  assert.equal(new URL(page.url()).pathname, '/van-ban/di/moi');
  await assertAccessible(t, page, 'draft form (reply)');
  await page.locator('#subject').fill(`V/v tham gia Ngày hội văn hóa các dân tộc (${RUN})`);
  await page.locator('#unit_abbreviation').selectOption('VX');
  await page.locator('#to_places').fill('Như trên;\nLưu: VT, VX.');
  await page.locator('#file').setInputFiles({ name: 'du-thao.pdf', mimeType: 'application/pdf', buffer: pdf(2) });
  await shots('draft-form');
  await clickAndWait(page, page.getByRole('button', { name: 'Lưu dự thảo' }));
  assert.match(page.url(), /\/van-ban\/di\/\d+\?done=drafted$/);
  state.outgoing = new URL(page.url()).pathname;
  await clickAndWait(page, actionButton('submit'));
  assert.match(await bodyText(page), /Đã trình duyệt\./);
  assert.equal(await page.locator('[data-status]').getAttribute('data-status'), 'submitted');
  await assertAccessible(t, page, 'outgoing document (submitted)');
  // The document answered shows its reply.
  await page.goto(url(state.incoming), { waitUntil: 'load' });
  assert.equal(await page.locator(`[data-replies] a[href="${state.outgoing}"]`).count(), 1);
});

test('the leader approves and signs; the clerk releases, dispatches and tracks the recipients', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  assert.ok(state.outgoing, 'the previous test drafted the reply');
  await login(page, DEMO.leader);
  await page.goto(url('/van-ban'), { waitUntil: 'load' });
  await assertAccessible(t, page, 'documents home (leader)');
  await page.goto(url(state.outgoing), { waitUntil: 'load' });
  await page.locator('#approve-comment').fill('Đồng ý');
  await clickAndWait(page, actionButton('approve'));
  assert.match(await bodyText(page), /Đã duyệt dự thảo\./);
  // Signing: the signed PDF produced by the signer's tool is uploaded.
  await page.locator('#sign-file').setInputFiles({ name: 'cong-van-da-ky.pdf', mimeType: 'application/pdf', buffer: pdf(3) });
  await page.locator('#sign-competence').selectOption('TM.');
  await page.locator('#sign-position').fill('Chủ tịch');
  await page.locator('#sign-name').fill('Võ Văn Dũng');
  await assertAccessible(t, page, 'outgoing document (to sign)');
  await shots('sign');
  // The section offers signing on the server with the agency's certificate first; this
  // journey takes the upload of a copy signed with the signer's own device.
  assert.equal(await page.locator('#action-sign form[data-sign-server]').count(), 1);
  await clickAndWait(page, page.locator('#action-sign form[enctype="multipart/form-data"] button[type="submit"]'));
  assert.match(await page.locator('[data-signed]').innerText(), /TM\. Chủ tịch Võ Văn Dũng/);
  assert.match(await bodyText(page), /cong-van-da-ky\.pdf/);
  await logout(page);

  await login(page, CLERK);
  await page.goto(url('/van-ban/di?status=signed'), { waitUntil: 'load' });
  assert.ok((await page.locator(`a[href="${state.outgoing}"]`).count()) >= 1, 'waiting for release');
  await assertAccessible(t, page, 'outgoing list');
  await page.goto(url(state.outgoing), { waitUntil: 'load' });
  await clickAndWait(page, actionButton('release'));
  const code = (await page.locator('[data-code]').innerText()).trim();
  assert.match(code, /^\d{2,}\/UBND-VX$/, code);
  assert.match(await bodyText(page), /Đã phát hành văn bản\./);

  // Dispatch: the provincial committee (in the system) and one agency outside it.
  await page.locator('#action-dispatch input[value="000.00.00.H32"]').check();
  await page.locator('#external_id').fill('000.00.00.H40');
  await page.locator('#external_name').fill('Ủy ban nhân dân tỉnh Nghệ An');
  await clickAndWait(page, actionButton('dispatch'));
  assert.match(await bodyText(page), /Đã gửi văn bản\./);
  const internal = page.locator('[data-recipient="000.00.00.H32"]');
  assert.match(await internal.locator('[data-transport]').innerText(), /Đã gửi đến/);
  assert.match(await internal.locator('[data-business]').innerText(), /03 — Đã tiếp nhận/);
  const external = page.locator('[data-recipient="000.00.00.H40"]');
  assert.match(await external.locator('[data-transport]').innerText(), /Chờ gửi/);
  await assertAccessible(t, page, 'outgoing document (tracking)');
  await shots('tracking');

  // The outgoing register shows the number.
  await page.goto(url('/van-ban/di?status=register'), { waitUntil: 'load' });
  assert.ok((await page.locator('tbody').innerText()).includes(code), 'in the outgoing register');
  await assertAccessible(t, page, 'outgoing register');
});
