// Drives the browser page in headless Chromium against a running local
// stack (internal/e2e/browser_test.go starts the stack and this script, and
// asserts on what it prints).
//
//   node web/test/browser.mjs BASE_URL IMAGE TOO_LARGE_BYTES SCREENSHOT DOWNLOADS
//
// First it opens the page with ?api= naming an API the page does not
// allow, and changes the Settings field to it: the page must keep its own
// API and say so. Then, with a token in the Settings, it uploads IMAGE
// through the file picker and waits for its row to finish,
// then offers a file of TOO_LARGE_BYTES and waits for the refusal, then
// saves a screenshot. Then, on IMAGE's row, it ticks the first entity type
// offered for redaction, downloads the searchable PDF and the ALTO XML into
// the directory DOWNLOADS, and deletes the upload. It prints one JSON
// object: what the page showed, the page's Content-Security-Policy and any
// violation of it, which requests carried the token, and the API's status
// of the upload read before the page deleted it.
import fs from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [base, image, tooLargeBytes, screenshot, downloads] = process.argv.slice(2);
if (!downloads) {
  console.error('usage: browser.mjs BASE_URL IMAGE TOO_LARGE_BYTES SCREENSHOT DOWNLOADS');
  process.exit(2);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  // As root, in a sandbox with no network but loopback: no Chromium sandbox,
  // no GPU, and none of the background requests the closed network refuses.
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
// Page errors and console errors, apart from Chromium's own line for each
// failed request: those are listed in failedRequests instead.
// Chromium also logs each CSP violation as a console error.
const out = { console: [], failedRequests: [], cspViolations: [] };
const foreign = 'https://evil.example';
const token = 'browser-test-token';
const apiOrigin = new URL(base).origin;
// The API's fetches and XHRs, and the others (the S3 POST), by whether
// they carried the token; read once every request has been seen.
const sent = [];
try {
  const context = await browser.newContext({ viewport: { width: 1200, height: 1100 }, deviceScaleFactor: 1, acceptDownloads: true });
  // Violations as the page sees them, reported through a binding, which
  // the policy does not govern.
  await context.exposeBinding('s3ocrViolation', (_, v) => out.cspViolations.push(v));
  await context.addInitScript(() => document.addEventListener('securitypolicyviolation',
    (e) => window.s3ocrViolation(`${e.effectiveDirective} ${e.blockedURI}`)));
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) out.console.push(m.text());
  });
  page.on('response', (r) => {
    if (r.status() >= 400) out.failedRequests.push(`${r.request().method()} ${new URL(r.url()).pathname} ${r.status()}`);
  });
  page.on('request', (r) => {
    if (r.resourceType() !== 'fetch' && r.resourceType() !== 'xhr') return;
    sent.push(r.allHeaders().then((h) => ({ url: r.url(), method: r.method(), authorization: h.authorization || '' })));
  });
  page.on('pageerror', (e) => out.console.push(String(e)));
  page.setDefaultTimeout(90_000);

  // ?api= for an API the page does not allow: ignored in words, and the
  // page talks to its own; then the same through the Settings field.
  const first = await page.goto(`${base}?api=${encodeURIComponent(foreign)}`);
  out.csp = (await first.allHeaders())['content-security-policy'] || '';
  await page.waitForFunction(() => document.querySelector('#limits').textContent.startsWith('Up to'));
  const foreignAPI = { limits: await page.textContent('#limits') };
  foreignAPI.notice = await page.locator('#notice').isVisible() ? await page.textContent('#notice') : '';
  foreignAPI.api = await page.inputValue('#api');
  await page.locator('details.settings summary').click();
  await page.fill('#api', foreign);
  await page.locator('#api').dispatchEvent('change');
  foreignAPI.settingsApi = await page.inputValue('#api');
  foreignAPI.settingsNotice = await page.locator('#notice').isVisible() ? await page.textContent('#notice') : '';

  await page.goto(base);
  await page.waitForFunction(() => document.querySelector('#limits').textContent.startsWith('Up to'));
  out.limits = await page.textContent('#limits');
  out.noticeShown = await page.locator('#notice').isVisible();
  // The token for every API request from here on; the API is open, so
  // it is only carried, not checked.
  await page.locator('details.settings summary').click();
  await page.fill('#token', token);
  await page.locator('details.settings summary').click(); // closed again, as the screenshot shows it
  const tokenFrom = sent.length;

  // The image, through the file picker. Upload progress is seen through the
  // progress bar's value as the XHR reports it.
  await page.setInputFiles('#file-input', image);
  const row = page.locator('.file').first();
  await row.locator('.state').filter({ hasText: /Uploading|Reading|Waiting|Done/ }).waitFor();
  await page.waitForSelector('.file.done, .file.failed');
  out.image = await row.evaluate((li) => ({
    classes: li.className,
    uploadId: li.dataset.uploadId,
    state: li.querySelector('.state').textContent,
    progress: li.querySelector('progress').value,
    text: li.querySelector('.text').textContent,
    confidence: li.querySelector('.conf').textContent,
    error: li.querySelector('.error').hidden ? '' : li.querySelector('.error').textContent,
    boxes: li.querySelectorAll('.line-box').length,
    lowBoxes: li.querySelectorAll('.line-box.low').length,
    imageLoaded: (() => { const img = li.querySelector('.page img'); return !!img && img.complete && img.naturalWidth > 0; })(),
  }));

  // A file over the limit: the API refuses it before anything is sent.
  // Hundreds of megabytes: a sparse file on disk (Playwright takes a
  // buffer of at most 50 MB), which nothing reads.
  const hugeDir = fs.mkdtempSync(join(os.tmpdir(), 's3ocr-huge-'));
  const huge = join(hugeDir, 'huge-scan.png');
  fs.writeFileSync(huge, '');
  fs.truncateSync(huge, Number(tooLargeBytes));
  await page.setInputFiles('#file-input', huge);
  await page.waitForFunction(() => document.querySelectorAll('.file').length === 2 && document.querySelector('.file').classList.contains('failed'));
  fs.rmSync(hugeDir, { recursive: true, force: true });
  out.tooLarge = await page.locator('.file').first().evaluate((li) => ({
    classes: li.className,
    state: li.querySelector('.state').textContent,
    error: li.querySelector('.error').textContent,
  }));

  await page.screenshot({ path: screenshot, fullPage: true });

  // Downloads and erasure on the document's row, after the screenshot so
  // that the picture shows the row. The API's status is read first (by
  // node, not the page), for the test to compare the page with.
  const doc = page.locator('.file.done');
  const id = out.image.uploadId;
  const statusURL = new URL(`uploads/${id}`, base);
  out.apiStatus = await (await fetch(statusURL)).json();
  const boxes = doc.locator('.types input');
  out.redactOffered = await boxes.evaluateAll((bs) => bs.map((b) => b.value));
  if (out.redactOffered.length > 0) await boxes.first().check();
  // A download, or the refusal the row shows instead (both promises settle
  // quietly once the browser closes, whichever lost).
  const save = async (button, format) => {
    const asked = page.waitForRequest((r) => r.url().includes(`format=${format}`));
    const downloaded = page.waitForEvent('download').catch(() => null);
    const refused = doc.locator('.export-state.bad').waitFor().then(() => null, () => null);
    await doc.locator(button).click();
    const dl = await Promise.race([downloaded, refused]);
    const query = new URL((await asked).url()).search;
    if (!dl) return { query, error: await doc.locator('.export-state').textContent() };
    const path = join(downloads, dl.suggestedFilename());
    await dl.saveAs(path);
    return { query, filename: dl.suggestedFilename(), path };
  };
  out.pdf = await save('button.pdf', 'pdf');
  out.alto = await save('button.alto', 'alto');
  out.exportState = await doc.locator('.export-state').textContent();

  // Delete asks first, then erases and removes the row.
  await doc.locator('button.delete').click();
  out.deleteAsks = await doc.locator('button.delete').textContent();
  await doc.locator('button.delete').click();
  const gone = await page.waitForFunction((id) => {
    const li = document.querySelector(`.file[data-upload-id="${id}"]`);
    if (!li) return { error: '' };
    const state = li.querySelector('.export-state.bad');
    return state && { error: state.textContent };
  }, id);
  out.deleted = {
    ...(await gone.jsonValue()),
    rows: await page.locator('.file').count(),
    status: (await fetch(statusURL)).status,
  };

  const requests = await Promise.all(sent);
  foreignAPI.requests = requests.filter((r) => new URL(r.url).origin === foreign).map((r) => `${r.method} ${r.url}`);
  out.foreignApi = foreignAPI;
  const withToken = (r) => r.authorization === `Bearer ${token}`;
  const api = requests.slice(tokenFrom).filter((r) => new URL(r.url).origin === apiOrigin);
  const storage = requests.slice(tokenFrom).filter((r) => new URL(r.url).origin !== apiOrigin);
  out.token = {
    apiRequests: api.length,
    apiWithout: api.filter((r) => !withToken(r)).map((r) => `${r.method} ${new URL(r.url).pathname}`),
    storageRequests: storage.length,
    storageWith: storage.filter((r) => r.authorization !== '').map((r) => `${r.method} ${r.url}`),
  };
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
