// Browser tests of the public portal (no login): the home page's search without diacritics
// and with typos, browsing by field with counts, the procedure page, the status lookup of a
// dossier this file files itself, the statistics page, the English switch, axe-core on every
// page, page weight of home and procedure pages, and screenshots at phone and desktop width.
//
//   TINHSO_BASE_URL=http://127.0.0.1:PORT node --test e2e/portal.test.mjs
// TINHSO_SCREENSHOTS_DIR, when set, receives portal-{home,search,procedure,statistics,
// lookup}-{desktop,phone}.png.

import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEMO, DESKTOP, PHONE, TEST_TIMEOUT_MS, assertAccessible, bodyText,
  clickAndWait, foreignRequests, login, nfc, screenshot, transferredBytes, url, useBrowser,
} from './lib/harness.mjs';

const browser = useBrowser();
const PAGE_BUDGET_BYTES = 100 * 1024;

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

async function open(path, status = 200) {
  const response = await page.goto(url(path), { waitUntil: 'load' });
  assert.equal(response?.status(), status, `GET ${path} should answer ${status}`);
  return response;
}

/** Types `query` into the home page's search box and submits it (Enter, like a user). */
async function searchFromHome(query) {
  await open('/');
  const box = page.getByLabel('Tìm thủ tục hành chính');
  await box.fill(query);
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), box.press('Enter')]);
  assert.equal(new URL(page.url()).pathname, '/procedures');
  return nfc(await page.locator('.result-list li a.result-title').first().innerText());
}

test('home page: search box, most used procedures, fields, lookup, statistics', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  await open('/');
  assert.equal(await page.locator('html').getAttribute('lang'), 'vi');
  assert.match(nfc(await page.locator('h1').innerText()), /Dịch vụ công trực tuyến/);
  assert.equal(await page.locator('form[action="/procedures"] input[name="q"]').count(), 1);
  const popular = await page.locator('section[aria-labelledby="popular-title"] .result-list li').count();
  assert.ok(popular >= 3, `at least 3 most used procedures, got ${popular}`);
  assert.ok(await page.getByRole('link', { name: 'Hộ tịch' }).count() >= 1, 'field "Hộ tịch" to browse');
  assert.equal(await page.locator('form[action="/tra-cuu"] input[name="ma"]').count(), 1, 'status lookup box');
  assert.ok(await page.locator('a[href="/statistics"]').count() >= 1, 'link to the statistics');
  await assertAccessible(t, page, 'home');
  await screenshot(page, 'portal-home-desktop.png', DESKTOP);
  await screenshot(page, 'portal-home-phone.png', PHONE);
});

test('search works without diacritics and with typos', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  for (const [query, expected] of [
    ['dang ky khai sinh', 'Đăng ký khai sinh'],
    ['khai sinh', 'Đăng ký khai sinh'],
    ['dang ki khai sinh', 'Đăng ký khai sinh'],
    ['khai snh', 'Đăng ký khai sinh'],
    ['giay phep xay dung', 'Cấp giấy phép xây dựng mới'],
    ['giay phep xay dng', 'Cấp giấy phép xây dựng mới'],
    ['chung thuc ban sao', 'Chứng thực bản sao từ bản chính'],
  ]) {
    const first = await searchFromHome(query);
    assert.ok(first.startsWith(expected), `"${query}" should list "${expected}" first, got "${first}"`);
  }
  // The query stays in the box; the page is accessible and fits a phone.
  assert.equal(await page.locator('input[name="q"]').inputValue(), 'chung thuc ban sao');
  await assertAccessible(t, page, 'search results');
  await screenshot(page, 'portal-search-desktop.png', DESKTOP);
  await screenshot(page, 'portal-search-phone.png', PHONE);
  // Nothing found says so.
  await open('/procedures?q=qwxzqwxz');
  assert.match(await bodyText(page), /Không tìm thấy thủ tục nào/);
});

test('browse by field, agency and level; filters combine and show counts', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  await open('/');
  await clickAndWait(page, page.getByRole('link', { name: 'Hộ tịch', exact: true }));
  const field = new URL(page.url()).searchParams.get('field');
  assert.equal(nfc(field), 'Hộ tịch');
  const count = async () => Number((nfc(await page.locator('#results').innerText()).match(/^(\d+)/) ?? [])[1]);
  const civil = await count();
  assert.ok(civil >= 10, `the field lists its procedures (${civil})`);
  const rows = await page.locator('.result-list li').count();
  assert.equal(rows, Math.min(civil, 20), 'at most 20 per page');
  // The selected field's option shows the same count.
  const selected = nfc(await page.locator('#field option:checked').innerText());
  assert.equal(selected, `Hộ tịch (${civil})`);
  // Add the level filter with the form (no script needed): province-level civil status.
  const province = page.locator('#level option[value="province"]');
  const provinceLabel = nfc(await province.innerText());
  const expected = Number(provinceLabel.match(/\((\d+)\)/)[1]);
  await page.locator('#level').selectOption('province');
  await clickAndWait(page, page.getByRole('button', { name: 'Lọc', exact: true }));
  assert.equal(await count(), expected, `combined filters give ${expected}`);
  const params = new URL(page.url()).searchParams;
  assert.equal(nfc(params.get('field')), 'Hộ tịch');
  assert.equal(params.get('level'), 'province');
  for (const meta of await page.locator('.result-list .meta').allInnerTexts()) {
    assert.match(nfc(meta), /Hộ tịch/);
    assert.match(nfc(meta), /Cấp tỉnh/);
  }
  // Browse by agency: every procedure of the police lists the police as implementing agency.
  await open('/procedures');
  const total = await count();
  assert.ok(total >= 30, `whole catalogue (${total})`);
  assert.equal(await page.locator('.pagination a[rel="next"]').count(), 1, 'paginated beyond 20');
  await clickAndWait(page, page.locator('.pagination a[rel="next"]'));
  assert.equal(await page.locator('.result-list li').count(), Math.min(total - 20, 20), 'second page');
  const police = await page.locator('#agency option', { hasText: 'Công an cấp xã' }).getAttribute('value');
  await page.locator('#agency').selectOption(police);
  await clickAndWait(page, page.getByRole('button', { name: 'Lọc', exact: true }));
  assert.ok(await count() >= 5, 'the police handle the residence procedures');
  await assertAccessible(t, page, 'browse');
  // Clearing the filters goes back to the whole catalogue.
  await clickAndWait(page, page.getByRole('link', { name: 'Xóa tìm kiếm và bộ lọc' }));
  assert.equal(await count(), total);
});

test('procedure page: documents, fees, time, legal basis, apply button; weight', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  await searchFromHome('chung thuc ban sao');
  await clickAndWait(page, page.locator('.result-list li a.result-title').first());
  assert.equal(new URL(page.url()).pathname, '/procedures/2.000815');
  const text = await bodyText(page);
  for (const part of ['Thành phần hồ sơ', 'Phí, lệ phí', 'Thời hạn giải quyết', 'Căn cứ pháp lý', 'Cơ quan thực hiện', 'Cách thức nộp']) {
    assert.ok(text.includes(part), `procedure page shows "${part}"`);
  }
  // Fees in Vietnamese money format.
  assert.match(text, /2\.000 đ/, 'fee 2.000 đ');
  const apply = page.getByRole('link', { name: /Nộp hồ sơ trực tuyến/ }).first();
  assert.equal(await apply.getAttribute('href'), '/apply/2.000815');
  await assertAccessible(t, page, 'procedure 2.000815');

  // The birth registration: the form template is named, the time limit in working days.
  await open('/procedures/1.001193');
  const birth = await bodyText(page);
  assert.match(birth, /Tờ khai đăng ký khai sinh \(TT 04\/2024\/TT-BTP\)/);
  assert.match(birth, /1 ngày làm việc/);
  assert.match(birth, /60\/2014\/QH13/);
  await screenshot(page, 'portal-procedure-desktop.png', DESKTOP);
  await screenshot(page, 'portal-procedure-phone.png', PHONE);
  // A counter-only procedure has no apply button.
  await open('/procedures/2.001019');
  assert.equal(await page.getByRole('link', { name: /Nộp hồ sơ trực tuyến/ }).count(), 0);
  assert.match(await bodyText(page), /chỉ nộp trực tiếp/);
  // An unknown code is a Vietnamese 404.
  await open('/procedures/9.999999', 404);
});

test('home and procedure pages transfer under 100 KB', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  // With the cache off every byte of a first visit counts (document, CSS, script, icon).
  const cdp = await browser.context.newCDPSession(page);
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  for (const path of ['/', '/procedures/1.001193', '/procedures/1.013978']) {
    await open(path);
    const bytes = await transferredBytes(page);
    t.diagnostic(`${path}: ${bytes} bytes`);
    assert.ok(bytes > 5_000, `${path}: transfer measured (${bytes})`);
    assert.ok(bytes < PAGE_BUDGET_BYTES, `${path} transferred ${bytes} bytes, budget ${PAGE_BUDGET_BYTES}`);
  }
  await cdp.detach();
});

test('status lookup of a dossier filed at the counter', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  // File a dossier through the API as the demo counter officer logged in in this browser
  // (this file's own data); the session's API calls carry the CSRF token.
  await login(page, DEMO.counter);
  const csrf = await page.locator('input[name="csrf_token"]').first().inputValue();
  const api = page.request;
  const procedure = await (await api.get(url('/api/v1/procedures/1.001193'))).json();
  const form = answersFor(procedure.spec.form.fields);
  const documents = procedure.spec.required_documents.map((_, i) => ({ requirement: i, paper: true }));
  const filed = await api.post(url('/api/v1/dossiers'), {
    headers: { 'x-csrf-token': csrf },
    data: {
      procedure_code: '1.001193', agency_code: '000.00.31.H32', channel: 'counter',
      applicant: { name: 'Trần Thị Tra Cứu', id_number: '001199004321', phone: '0905004321' },
      form, documents,
    },
  });
  assert.equal(filed.status(), 200, `filing: ${await filed.text()}`);
  const code = (await filed.json()).code;
  await browser.context.clearCookies();

  // Half-filled: the missing box gets its own message, the typed code is kept.
  await open(`/tra-cuu?ma=${encodeURIComponent(code)}`);
  await clickAndWait(page, page.getByRole('button', { name: 'Tra cứu' }));
  assert.equal(await page.locator('#check[aria-invalid="true"]').count(), 1, 'check digits marked');
  assert.equal(await page.locator('#ma').inputValue(), code);
  assert.equal(await page.locator('.error-summary a[href="#check"]').count(), 1);
  await assertAccessible(t, page, 'lookup with an error');
  // Wrong digits: not found, nothing disclosed.
  await page.locator('#check').fill('0000');
  await clickAndWait(page, page.getByRole('button', { name: 'Tra cứu' }));
  assert.equal(await page.locator('.status-tag').count(), 0);
  // The right digits (last four of the ID number) show the status and dates in dd/mm/yyyy.
  await page.locator('#check').fill('4321');
  await clickAndWait(page, page.getByRole('button', { name: 'Tra cứu' }));
  const text = await bodyText(page);
  assert.ok(text.includes(code), 'shows the code');
  assert.match(text, /Đăng ký khai sinh/);
  assert.match(text, /\d{2}\/\d{2}\/\d{4} \d{2}:\d{2}/, 'Vietnamese date format');
  assert.ok(!text.includes('Trần Thị Tra Cứu'), 'no personal data on the public page');
  await assertAccessible(t, page, 'lookup result');
  await screenshot(page, 'portal-lookup-desktop.png', DESKTOP);
  await screenshot(page, 'portal-lookup-phone.png', PHONE);
});

test('statistics page: KPIs as charts with a data table, by agency and period', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  await open('/statistics');
  const text = await bodyText(page);
  for (const part of ['Tỷ lệ hồ sơ trực tuyến', 'Tỷ lệ giải quyết đúng hạn', 'Tỷ lệ hài lòng', 'Bảng số liệu']) {
    assert.ok(text.includes(part), `statistics show "${part}"`);
  }
  assert.equal(await page.locator('svg.donut').count(), 3, 'three donuts');
  assert.ok(await page.locator('svg.bar').count() >= 9, 'bar charts');
  const received = async () => Number(nfc(await page.locator('.stats-table tbody tr').first().locator('td').innerText()));
  const all = await received();
  assert.ok(all >= 1, `at least the dossier filed by the lookup test (${all})`);
  // The same figures as the public API.
  const api = await (await page.request.get(url('/api/v1/statistics'))).json();
  assert.equal(api.received.total, all);
  // A period in the past has no dossier; the chosen period is shown in dd/mm/yyyy.
  await page.locator('#from').fill('01/01/2001');
  await page.locator('#to').fill('31/12/2001');
  await clickAndWait(page, page.getByRole('button', { name: 'Xem số liệu' }));
  assert.equal(await received(), 0);
  assert.match(await bodyText(page), /01\/01\/2001 – 31\/12\/2001/);
  // An agency scope keeps the period; a backwards period is an error beside its field.
  const scope = await page.locator('#agency option').nth(1).getAttribute('value');
  await page.locator('#agency').selectOption(scope);
  await page.locator('#from').fill('01/01/2002');
  await page.locator('#to').fill('01/01/2001');
  await clickAndWait(page, page.getByRole('button', { name: 'Xem số liệu' }));
  assert.equal(await page.locator('#from[aria-invalid="true"]').count(), 1);
  assert.equal(await page.locator('#agency').inputValue(), scope, 'other answers kept');
  await assertAccessible(t, page, 'statistics with an error');
  await clickAndWait(page, page.getByRole('link', { name: 'Toàn bộ thời gian' }));
  assert.equal(await page.locator('#agency').inputValue(), scope);
  const link = await page.getByRole('link', { name: /Tải bảng số liệu/ }).getAttribute('href');
  assert.ok(link.startsWith('/api/v1/statistics/xlsx'), link);
  const xlsx = await page.request.get(url(link));
  assert.equal(xlsx.status(), 200);
  await open('/statistics');
  await assertAccessible(t, page, 'statistics');
  await screenshot(page, 'portal-statistics-desktop.png', DESKTOP);
  await screenshot(page, 'portal-statistics-phone.png', PHONE);
});

test('English switch works on every portal page and comes back', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  for (const [path, english] of [
    ['/', 'Online public services'],
    ['/procedures?q=khai+sinh', 'Administrative procedures'],
    ['/procedures/1.001193', 'Required documents'],
    ['/tra-cuu', 'Look up a dossier'],
    ['/statistics', 'Public service statistics'],
  ]) {
    await open(path);
    await clickAndWait(page, page.locator('a.lang-switch'));
    assert.equal(new URL(page.url()).pathname + new URL(page.url()).search, path, 'back on the same page');
    assert.equal(await page.locator('html').getAttribute('lang'), 'en');
    assert.ok((await bodyText(page)).includes(english), `${path} in English shows "${english}"`);
    await assertAccessible(t, page, `${path} (English)`);
    await clickAndWait(page, page.locator('a.lang-switch'));
    assert.equal(await page.locator('html').getAttribute('lang'), 'vi');
  }
});

test('portal works without JavaScript', { timeout: TEST_TIMEOUT_MS }, async () => {
  // The only script is /static/app.js (the CSP allows no other): blocking it is JS off.
  await page.route('**/*.js', (route) => route.abort());
  await open('/');
  await page.getByLabel('Tìm thủ tục hành chính').fill('dang ky ket hon');
  await clickAndWait(page, page.getByRole('button', { name: 'Tìm kiếm' }).first());
  const first = nfc(await page.locator('.result-list li a.result-title').first().innerText());
  assert.equal(first, 'Đăng ký kết hôn');
  await page.locator('#field').selectOption('Hộ tịch');
  await clickAndWait(page, page.getByRole('button', { name: 'Lọc', exact: true }));
  assert.equal(nfc(await page.locator('.result-list li a.result-title').first().innerText()), 'Đăng ký kết hôn');
  assert.deepEqual(foreignRequests, [], 'no request left the app');
});

/** Valid answers for a procedure's form schema (what a counter officer would type). */
function answersFor(fields) {
  const answers = {};
  for (const f of fields) {
    if (!f.required) continue;
    switch (f.type) {
      case 'date': answers[f.key] = '2027-01-15'; break;
      case 'select': answers[f.key] = f.options[0]; break;
      case 'personal_id': answers[f.key] = '001199004321'; break;
      case 'phone': answers[f.key] = '0905004321'; break;
      case 'email': answers[f.key] = 'tra.cuu@example.vn'; break;
      case 'number': answers[f.key] = '1'; break;
      default: answers[f.key] = 'Nguyễn Văn Bé';
    }
  }
  return answers;
}
