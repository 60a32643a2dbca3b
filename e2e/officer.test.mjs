// Browser tests of officials at work (issue 4 §3–4): the counter officer takes a dossier
// in at the desk and gets the receipt PDF; queue tickets are taken, called and shown on the
// waiting-room display, which updates itself; a specialist and a leader process a dossier
// to the end and the counter returns the result; a seeded overdue dossier gets an apology
// letter with a new date; a leader approves several dossiers at once. axe-core runs on every
// page; TINHSO_SCREENSHOTS_DIR receives officer-counter-*, officer-inbox-*, officer-dossier-*
// and officer-queue-display-* at desktop and phone width.
//
// Runs against `tinhso serve --demo` (scripts/test.sh, once on SQLite and once on
// PostgreSQL). Every dossier it works on is created here, except the overdue one, which
// comes from the demo dossiers the demo seeds in the commune 000.00.31.H32.

import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEMO, DESKTOP, PHONE, TEST_TIMEOUT_MS, assertAccessible, bodyText, clickAndWait, login, logout,
  screenshot, url, useBrowser,
} from './lib/harness.mjs';

const AGENCY = '000.00.31.H32';
const BIRTH = '1.001193';
const browser = useBrowser();

/** @type {import('playwright-core').Page | undefined} */
let page;

beforeEach(async () => {
  await browser.context.clearCookies();
  page = await browser.context.newPage();
});

afterEach(async () => {
  await page?.close().catch(() => {});
  page = undefined;
});

/** A valid answer for one input of a procedure's form, by its kind. */
async function fillFormFields(p) {
  const inputs = p.locator('[name^="form."]');
  const n = await inputs.count();
  for (let i = 0; i < n; i += 1) {
    const input = inputs.nth(i);
    const tag = await input.evaluate((e) => e.tagName.toLowerCase());
    const type = (await input.getAttribute('type')) ?? '';
    const mode = (await input.getAttribute('inputmode')) ?? '';
    if (tag === 'select') {
      const values = await input.locator('option').evaluateAll((os) => os.map((o) => o.value).filter(Boolean));
      await input.selectOption(values[0]);
    } else if (type === 'date') {
      await input.fill('2026-03-02');
    } else if (type === 'tel') {
      await input.fill('0905123456');
    } else if (type === 'email') {
      await input.fill('an@example.vn');
    } else if (type === 'number') {
      await input.fill('2');
    } else if (mode === 'numeric') {
      await input.fill('079200001234');
    } else {
      await input.fill('Khánh Hòa');
    }
  }
}

/** The counter takes a birth registration in at the desk; returns the new dossier's code. */
async function intakeAtDesk(p, applicant) {
  await p.goto(url('/counter'), { waitUntil: 'load' });
  await p.locator('#procedure').selectOption(BIRTH);
  await clickAndWait(p, p.getByRole('button', { name: 'Chọn thủ tục' }));
  assert.equal(new URL(p.url()).searchParams.get('procedure'), BIRTH);
  // The first field has the focus: the officer types straight away.
  assert.equal(await p.evaluate(() => document.activeElement?.id), 'applicant_name', 'autofocus on the applicant');
  await p.keyboard.type(applicant);
  await p.locator('#applicant_id').fill('079200004400');
  await p.locator('#applicant_phone').fill('0905123456');
  await fillFormFields(p);
  const docs = p.locator('input[type="checkbox"][name^="doc_"]');
  for (let i = 0; i < (await docs.count()); i += 1) await docs.nth(i).check();
  // Enter submits.
  await p.locator('#applicant_id').focus();
  await Promise.all([p.waitForNavigation({ waitUntil: 'load' }), p.keyboard.press('Enter')]);
  const match = new URL(p.url()).pathname.match(/^\/dossiers\/(.+)$/);
  assert.ok(match, `after intake the dossier page opens, got ${p.url()}`);
  return decodeURIComponent(match[1]);
}

/** Posts one action form of the dossier page and waits for the page after it. */
async function act(p, action, fill = async () => {}) {
  const section = p.locator(`#action-${action}`);
  assert.equal(await section.count(), 1, `the action ${action} is offered on ${p.url()}`);
  await fill(section);
  await clickAndWait(p, section.locator('button[type="submit"]'));
}

/** The API with the browser's session (the CSRF token of the page in the header). */
async function api(p, method, path, data) {
  const token = await p.locator('input[name="csrf_token"]').first().getAttribute('value');
  const response = await p.request.fetch(url(`/api/v1${path}`), {
    method, data, headers: { 'x-csrf-token': token ?? '' },
  });
  return { status: response.status(), body: await response.json().catch(() => null) };
}

test('the counter takes a dossier in at the desk and prints the receipt', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  await login(page, DEMO.counter);
  await page.goto(url('/counter'), { waitUntil: 'load' });
  await assertAccessible(t, page, 'counter page');

  // Half filled: each error beside its field, the other answers kept.
  await page.goto(url(`/counter?procedure=${BIRTH}`), { waitUntil: 'load' });
  await page.locator('#applicant_id').fill('079200004400');
  const submit = page.getByRole('button', { name: 'Tiếp nhận và in giấy biên nhận' });
  await clickAndWait(page, submit);
  assert.equal(await page.locator('#applicant_name-error').count(), 1, 'error beside the applicant name');
  assert.equal(await page.locator('#applicant_id').inputValue(), '079200004400', 'answer kept');
  assert.ok((await page.locator('.error-summary a[href="#applicant_name"]').count()) === 1, 'summary links to the field');
  assert.ok((await page.locator('.field-error [name^="form."]').count()) >= 1, 'form fields flagged');
  await assertAccessible(t, page, 'counter page with errors');

  await page.goto(url(`/counter?procedure=${BIRTH}`), { waitUntil: 'load' });
  await screenshot(page, 'officer-counter-desktop.png', DESKTOP);
  await screenshot(page, 'officer-counter-phone.png', PHONE);

  const code = await intakeAtDesk(page, 'Trần Thị Thu Trang');
  assert.match(code, /^000\.00\.31\.H32-\d{6}-\d{4,}$/);
  const text = await bodyText(page);
  assert.match(text, /Đã tiếp nhận hồ sơ/);
  assert.match(text, /Trần Thị Thu Trang/);
  const receipt = page.locator(`a[href="/api/v1/dossiers/${code}/forms/receipt"]`);
  assert.equal(await receipt.count(), 1, 'a receipt link');
  const pdf = await page.request.get(url(`/api/v1/dossiers/${code}/forms/receipt`));
  assert.equal(pdf.status(), 200);
  assert.equal(pdf.headers()['content-type'], 'application/pdf');
  assert.equal((await pdf.body()).subarray(0, 5).toString(), '%PDF-');
  await assertAccessible(t, page, 'dossier page after intake');
});

test('queue: take a number, the counter calls it, the display shows it live', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  // A visitor takes two numbers at the ticket page (no login).
  await page.goto(url(`/queue/${AGENCY}`), { waitUntil: 'load' });
  await assertAccessible(t, page, 'ticket page');
  const tickets = [];
  for (let i = 0; i < 2; i += 1) {
    await page.goto(url(`/queue/${AGENCY}`), { waitUntil: 'load' });
    await clickAndWait(page, page.getByRole('button', { name: 'Lấy số' }));
    tickets.push((await page.locator('[data-ticket-number]').innerText()).trim());
  }
  assert.match(tickets[0], /^\d{4,}$/);
  assert.equal(Number(tickets[1]), Number(tickets[0]) + 1, 'consecutive numbers');
  await assertAccessible(t, page, 'printed ticket');

  // The waiting room's display, open in a second tab.
  const display = await browser.context.newPage();
  try {
    await display.goto(url(`/queue/${AGENCY}/display`), { waitUntil: 'load' });
    await login(page, DEMO.counter);
    // Earlier numbers (if any) are called first; call until ours comes.
    let called = '';
    for (let i = 0; i < 30 && called !== tickets[0]; i += 1) {
      await page.goto(url('/counter'), { waitUntil: 'load' });
      await page.locator('#desk').fill('Quầy 5');
      await clickAndWait(page, page.getByRole('button', { name: 'Gọi số tiếp theo' }));
      const notice = await bodyText(page);
      called = notice.match(/Mời số (\d{4,})/)?.[1] ?? '';
      assert.ok(called, `a number was called: ${notice.slice(0, 300)}`);
    }
    assert.equal(called, tickets[0], 'our first ticket was called');
    await display.reload({ waitUntil: 'load' });
    assert.equal((await display.locator('[data-now-number]').innerText()).trim(), tickets[0]);
    assert.match(await bodyText(display), /Quầy 5/);
    await assertAccessible(t, display, 'waiting-room display');
    await screenshot(display, 'officer-queue-display-desktop.png', DESKTOP);
    await screenshot(display, 'officer-queue-display-phone.png', PHONE);

    // The next call reaches the display without reloading it.
    await page.goto(url('/counter'), { waitUntil: 'load' });
    await page.locator('#desk').fill('Quầy 6');
    await clickAndWait(page, page.getByRole('button', { name: 'Gọi số tiếp theo' }));
    assert.match(await bodyText(page), new RegExp(`Mời số ${tickets[1]}`));
    await display.waitForFunction(
      (n) => document.querySelector('[data-now-number]')?.textContent.trim() === n,
      tickets[1],
      { timeout: 10_000 },
    );
    assert.match(await bodyText(display), /Quầy 6/);
  } finally {
    await display.close().catch(() => {});
  }
});

test('a specialist and a leader process a dossier to the end; the counter returns it', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  await login(page, DEMO.counter);
  const code = await intakeAtDesk(page, 'Nguyễn Thị Mai Anh');
  await logout(page);

  await login(page, DEMO.specialist);
  await page.goto(url('/inbox'), { waitUntil: 'load' });
  await assertAccessible(t, page, 'inbox (specialist)');
  const row = page.locator('tr', { has: page.locator(`a[href="/dossiers/${code}"]`) });
  assert.equal(await row.count(), 1, 'the new dossier is in the inbox');
  assert.match(await row.innerText(), /Trong hạn|Sắp đến hạn|Quá hạn/, 'labelled by urgency');
  await clickAndWait(page, row.locator(`a[href="/dossiers/${code}"]`));
  await assertAccessible(t, page, 'dossier page (specialist)');
  await act(page, 'start_processing');
  assert.match(await bodyText(page), /Đã bắt đầu xử lý/);
  await act(page, 'complete_step', (s) => s.locator('textarea[name="note"]').fill('Hồ sơ hợp lệ'));
  assert.match(await bodyText(page), /Đã chuyển hồ sơ sang bước tiếp theo/);
  assert.equal(await page.locator('#action-approve').count(), 0, 'a specialist does not decide');
  await screenshot(page, 'officer-dossier-desktop.png', DESKTOP);
  await screenshot(page, 'officer-dossier-phone.png', PHONE);
  await logout(page);

  await login(page, DEMO.leader);
  await page.goto(url(`/dossiers/${code}`), { waitUntil: 'load' });
  await act(page, 'approve');
  assert.match(await bodyText(page), /Đã phê duyệt hồ sơ/);
  assert.match(await bodyText(page), /Đã có kết quả/);
  await logout(page);

  await login(page, DEMO.counter);
  await page.goto(url('/counter'), { waitUntil: 'load' });
  const ready = page.locator('tr', { has: page.locator(`a[href="/dossiers/${code}"]`) });
  assert.equal(await ready.count(), 1, 'the result waits at the counter');
  await clickAndWait(page, ready.getByRole('button', { name: 'Trả kết quả' }));
  const text = await bodyText(page);
  assert.match(text, /Đã trả kết quả cho người dân/);
  assert.match(text, /Đã trả kết quả/);
});

test('a late dossier gets an apology letter with a new appointment', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  await login(page, DEMO.specialist);
  await page.goto(url('/inbox'), { waitUntil: 'load' });
  // Coloured and labelled: every row says on time, due soon or overdue in words.
  const labels = await page.locator('tbody tr .urgency').allInnerTexts();
  assert.ok(labels.length >= 1 && labels.every((l) => /^(Trong hạn|Sắp đến hạn|Quá hạn)$/.test(l.trim())), labels.join(', '));
  await screenshot(page, 'officer-inbox-desktop.png', DESKTOP);
  await screenshot(page, 'officer-inbox-phone.png', PHONE);
  await page.locator('#status').selectOption('overdue');
  await clickAndWait(page, page.getByRole('button', { name: 'Lọc', exact: true }));
  const rows = page.locator('tr.row-overdue', { hasText: 'Đang xử lý' });
  assert.ok((await rows.count()) >= 1, 'a seeded overdue dossier in progress');
  assert.equal(await page.locator('tbody tr:not(.row-overdue)').count(), 0, 'only overdue rows after filtering');
  const link = rows.first().locator('a[href^="/dossiers/"]');
  const code = decodeURIComponent((await link.getAttribute('href')).replace('/dossiers/', ''));
  await clickAndWait(page, link);
  assert.match(await bodyText(page), /Quá hạn/);

  // Without a reason the form comes back with the message, the date kept.
  const soon = new Date(Date.now() + 3 * 86_400_000);
  const day = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Ho_Chi_Minh' }).format(soon);
  const newDue = `${day}T10:00`;
  await act(page, 'apologize', (s) => s.locator('input[name="new_due"]').fill(newDue));
  assert.equal(await page.locator('#action-apologize .field-message').count(), 1, 'the error beside the reason');
  assert.equal(await page.locator('#action-apologize input[name="new_due"]').inputValue(), newDue);
  await assertAccessible(t, page, 'dossier page with an error');

  await act(page, 'apologize', (s) => s.locator('textarea[name="reason"]').fill('Cần xác minh thêm thông tin với cơ quan liên quan'));
  const text = await bodyText(page);
  assert.match(text, /Đã ban hành phiếu xin lỗi/);
  const [y, m, d] = day.split('-');
  assert.equal((await page.locator('[data-apology-due]').innerText()).trim(), `${d}/${m}/${y} 10:00`, 'the new date in Vietnamese format');
  const letter = page.locator(`a[href="/api/v1/dossiers/${code}/forms/apology"]`);
  assert.equal(await letter.count(), 1, 'a link to the apology letter');
  const pdf = await page.request.get(url(`/api/v1/dossiers/${code}/forms/apology`));
  assert.equal(pdf.status(), 200);
  assert.equal(pdf.headers()['content-type'], 'application/pdf');
});

test('a leader approves several dossiers at once', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  // Two dossiers taken in and forwarded to the leader through the API twins.
  await login(page, DEMO.counter);
  await page.goto(url('/counter'), { waitUntil: 'load' });
  const procedure = await (await page.request.get(url(`/api/v1/procedures/${BIRTH}`))).json();
  const spec = procedure.spec;
  const answer = (f) => ({
    date: '2026-03-02', number: '2', select: f.options?.[0] ?? '', personal_id: '079200001234',
    phone: '0905123456', email: 'an@example.vn',
  })[f.type] ?? 'Khánh Hòa';
  const form = Object.fromEntries(spec.form.fields.map((f) => [f.key, answer(f)]));
  const codes = [];
  for (const name of ['Phan Thanh Bình', 'Lý Thị Kim Oanh']) {
    const r = await api(page, 'POST', '/dossiers', {
      procedure_code: BIRTH, agency_code: AGENCY, channel: 'counter',
      applicant: { name, id_number: '079200004400' }, form,
      documents: spec.required_documents.map((_, i) => ({ requirement: i, paper: true })),
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    codes.push(r.body.code);
  }
  await logout(page);
  await login(page, DEMO.specialist);
  await page.goto(url('/inbox'), { waitUntil: 'load' });
  for (const code of codes) {
    for (const action of ['start_processing', 'complete_step']) {
      const r = await api(page, 'POST', `/dossiers/${code}/actions`, { action });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    }
  }
  await logout(page);

  await login(page, DEMO.leader);
  await page.goto(url('/inbox'), { waitUntil: 'load' });
  await assertAccessible(t, page, 'inbox (leader)');
  for (const code of codes) await page.locator(`input[name="code"][value="${code}"]`).check();
  await clickAndWait(page, page.getByRole('button', { name: 'Phê duyệt các hồ sơ đã chọn' }));
  for (const code of codes) {
    const line = page.locator('li.bulk-ok', { has: page.locator(`a[href="/dossiers/${code}"]`) });
    assert.equal(await line.count(), 1, `${code} approved`);
  }
  await assertAccessible(t, page, 'inbox after bulk approval');
  for (const code of codes) {
    const r = await page.request.get(url(`/api/v1/dossiers/${code}`));
    assert.equal((await r.json()).status, 'resolved');
  }
});
