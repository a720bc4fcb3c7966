// Drives the browser page in headless Chromium against a running local
// stack (internal/e2e/browser_test.go starts the stack and this script, and
// asserts on what it prints).
//
//   node web/test/browser.mjs BASE_URL IMAGE TOO_LARGE_BYTES SCREENSHOT
//
// It uploads IMAGE through the file picker and waits for its row to finish,
// then offers a file of TOO_LARGE_BYTES and waits for the refusal, then
// saves a screenshot. It prints one JSON object: what the page showed.
import { chromium } from 'playwright-core';

const [base, image, tooLargeBytes, screenshot] = process.argv.slice(2);
if (!screenshot) {
  console.error('usage: browser.mjs BASE_URL IMAGE TOO_LARGE_BYTES SCREENSHOT');
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
const out = { console: [], failedRequests: [] };
try {
  const context = await browser.newContext({ viewport: { width: 1200, height: 1100 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) out.console.push(m.text());
  });
  page.on('response', (r) => {
    if (r.status() >= 400) out.failedRequests.push(`${r.request().method()} ${new URL(r.url()).pathname} ${r.status()}`);
  });
  page.on('pageerror', (e) => out.console.push(String(e)));
  page.setDefaultTimeout(90_000);

  await page.goto(base);
  await page.waitForFunction(() => document.querySelector('#limits').textContent.startsWith('Up to'));
  out.limits = await page.textContent('#limits');

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
  await page.setInputFiles('#file-input', {
    name: 'huge-scan.png',
    mimeType: 'image/png',
    buffer: Buffer.alloc(Number(tooLargeBytes)),
  });
  await page.waitForFunction(() => document.querySelectorAll('.file').length === 2 && document.querySelector('.file').classList.contains('failed'));
  out.tooLarge = await page.locator('.file').first().evaluate((li) => ({
    classes: li.className,
    state: li.querySelector('.state').textContent,
    error: li.querySelector('.error').textContent,
  }));

  await page.screenshot({ path: screenshot, fullPage: true });
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
