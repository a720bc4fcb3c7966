// s3ocr browser page: presign, upload straight to S3 with a presigned POST,
// poll the status with backoff, show text, confidence and line boxes; then
// download a searchable PDF or ALTO XML, redacted if asked, or erase the
// upload.
// Plain JS, no framework and no build step: the status function serves
// these three files at the API's root (package web), under a
// Content-Security-Policy that allows no inline script or style attribute.
'use strict';

const $ = (sel, root = document) => root.querySelector(sel);

// The API is the page's own origin (the status function serves both),
// unless ?api=URL or the settings field (kept in localStorage) names
// another that the deployment allows: those whose origin is in the
// s3ocr-api-origins meta tag, filled by the server from PAGE_API_ORIGINS
// (the page's connect-src allows the same). Anything else is refused with
// a notice: a link must not send the page's files and token elsewhere.
const params = new URLSearchParams(location.search);
const apiInput = $('#api');
const langInput = $('#langs');
const tokenInput = $('#token');
const allowedAPIs = new Set([location.origin]);
for (const o of ($('meta[name="s3ocr-api-origins"]')?.content || '').split(',')) {
  try { if (o.trim()) allowedAPIs.add(new URL(o.trim()).origin); } catch { /* the server checked them */ }
}
const allowedAPI = (url) => { try { return allowedAPIs.has(new URL(url).origin); } catch { return false; } };

function notice(text) {
  const p = $('#notice');
  p.textContent = text;
  p.hidden = !text;
}
const refused = (what) => notice(`${what}: not an API this page may use. It uses ${apiURL}; `
  + `it may use ${[...allowedAPIs].join(', ')} (its own and the deployment's PageApiOrigins).`);

let apiURL = location.origin;
{
  const asked = params.get('api');
  const kept = localStorage.getItem('s3ocr.api');
  if (asked && allowedAPI(asked)) apiURL = asked;
  else if (kept && allowedAPI(kept)) apiURL = kept;
  if (asked && !allowedAPI(asked)) refused(`Ignored ?api=${asked}`);
  else if (!asked && kept && !allowedAPI(kept)) refused(`Ignored the saved API ${kept}`);
}
apiInput.value = apiURL;
apiInput.addEventListener('change', () => {
  const url = apiInput.value.trim();
  if (!allowedAPI(url)) {
    apiInput.value = apiURL;
    refused(`Not changed to ${url}`);
    return;
  }
  apiURL = url;
  notice('');
  localStorage.setItem('s3ocr.api', apiURL);
  loadInfo();
});
langInput.value = params.get('lang') || localStorage.getItem('s3ocr.lang') || 'eng';
langInput.addEventListener('change', () => localStorage.setItem('s3ocr.lang', langInput.value));

// The sign-in token, when the deployment asks for one: sent as a Bearer
// token on every API request (never to S3, whose presigned form is its own
// grant), and kept for this tab only.
tokenInput.value = sessionStorage.getItem('s3ocr.token') || '';
tokenInput.addEventListener('input', () => sessionStorage.setItem('s3ocr.token', tokenInput.value.trim()));
tokenInput.addEventListener('change', () => loadInfo());

const api = () => apiURL.replace(/\/+$/, '');
const LOW_CONFIDENCE = 0.6;
let info = null;

// Messages in words for the error codes a user can meet (api/openapi.yaml
// lists them all); anything else shows the service's own message.
const MESSAGES = {
  too_large: 'The file is too large',
  unsupported_type: 'This type of file is not supported',
  unsupported_language: 'A chosen language is not installed',
  empty_file: 'The file is empty',
  type_mismatch: 'The file’s contents do not match its type',
  bad_image: 'The image is damaged or truncated',
  too_many_pixels: 'The image is too large in pixels',
  too_many_pages: 'The document has too many pages',
  bad_pdf: 'The PDF cannot be read',
  encrypted_pdf: 'The PDF is protected by a password',
  too_complex: 'The document needs more memory or time than a page is allowed',
  object_not_found: 'The uploaded file is gone',
  unknown_upload: 'The upload is unknown',
  ocr_failed: 'Text recognition failed',
  timeout: 'Reading took too long',
  crashed: 'Reading this file kept failing',
  not_uploaded: 'The file never arrived',
  unavailable: 'The service is busy; try again shortly',
  quota_exceeded: 'Your daily quota is used up; try again tomorrow',
  original_deleted: 'The original file was deleted once read, so no searchable PDF can be made',
  unauthorized: 'Your sign-in token is missing or expired; set it in Settings',
};

// Words for the entity types the service finds and can redact, in the
// order of redact.Types() (internal/redact); the browser test holds this
// table to it.
const ENTITY_TYPES = {
  email: 'E-mail addresses',
  phone: 'Phone numbers',
  date: 'Dates',
  money: 'Amounts',
  iban: 'IBANs',
  card: 'Card numbers',
  pan: 'PAN numbers',
  aadhaar: 'Aadhaar numbers',
  driving_licence: 'Driving licence numbers',
  passport: 'Passport numbers',
  udyam: 'Udyam numbers',
};

function describe(err) {
  const words = MESSAGES[err.code];
  return words ? `${words} (${err.code}): ${err.message}` : `${err.message} (${err.code})`;
}

function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let i = -1;
  do { n /= 1024; i++; } while (n >= 1024 && i < units.length - 1);
  return `${n.toFixed(n < 10 ? 1 : 0)} ${units[i]}`;
}

class APIError extends Error {
  constructor(code, message) { super(message); this.code = code; }
}

// request fetches path from the API, with the token, and throws an
// APIError for anything but a success. fetch follows redirects itself: an
// answer too large for a Lambda response is a 303 to a short-lived link
// into the bucket, and fetch drops the Authorization header when it leaves
// the API's origin, as the presigned link needs.
async function request(path, init = {}, unreachable = `cannot reach the API at ${api()}`) {
  const headers = new Headers(init.headers);
  const token = tokenInput.value.trim();
  if (token) headers.set('Authorization', `Bearer ${token}`);
  let res;
  try {
    res = await fetch(api() + path, { ...init, headers });
  } catch (e) {
    throw new APIError('network', unreachable);
  }
  if (!res.ok) throw await errorOf(res);
  return res;
}

// errorOf reads an error answer: the API's {"error":{code,message}}, or
// S3's XML when a redirect led to the bucket and the bucket refused.
async function errorOf(res) {
  const text = await res.text().catch(() => '');
  if (res.redirected && new URL(res.url).origin !== new URL(api(), location.href).origin) {
    const doc = new DOMParser().parseFromString(text, 'application/xml');
    const code = doc.querySelector('Code')?.textContent || `HTTP ${res.status}`;
    const message = doc.querySelector('Message')?.textContent || 'no reason given';
    // The API's links into the bucket last minutes; asking again makes a new one.
    const hint = res.status === 403 ? ' (the link may have expired; try again)' : '';
    return new APIError('storage_refused', `the storage refused the download: ${code}: ${message}${hint}`);
  }
  let e = null;
  try { e = JSON.parse(text).error; } catch { /* not the API's JSON: a proxy's page, say */ }
  // API Gateway's authorizer answers 401 itself, as {"message":"Unauthorized"}.
  if (res.status === 401) return new APIError('unauthorized', e ? e.message : 'sign-in token missing or expired');
  return new APIError(e ? e.code : `http_${res.status}`, e ? e.message : `HTTP ${res.status}`);
}

// call returns the API's JSON answer to path (null for 204 No Content).
async function call(path, init) {
  const res = await request(path, init);
  return res.status === 204 ? null : res.json();
}

// download saves the API's answer to path as filename. fetch and an object
// URL rather than a link: fetch follows the 303 to the bucket under the
// page's connect-src (the API and the bucket), and a refusal (not_ready, an
// expired link) is shown in the row instead of replacing the page.
async function download(path, filename) {
  const res = await request(path, { redirect: 'follow' },
    `cannot fetch from the API at ${api()}, or the storage it redirected to does not allow this page’s origin`);
  saveBlob(await res.blob(), filename);
}

function saveBlob(blob, filename) {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = filename;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

async function loadInfo() {
  const limits = $('#limits');
  try {
    info = await call('/info');
    limits.textContent = `Up to ${formatBytes(info.limits.maxUploadBytes)} and ${info.limits.maxPages} pages per file · languages: ${info.languages.join(', ')}`;
  } catch (e) {
    info = null;
    limits.textContent = e.code === 'network' ? `The service cannot be reached: ${e.message}` : describe(e);
  }
}

// --- one row per file -------------------------------------------------------

function addRow(file) {
  const li = $('#row').content.firstElementChild.cloneNode(true);
  $('.name', li).textContent = file.name;
  $('.size', li).textContent = formatBytes(file.size);
  $('#files').prepend(li);
  return {
    li,
    state(text) { $('.state', li).textContent = text; },
    progress(fraction) { $('progress', li).value = Math.round(fraction * 100); },
    fail(err) {
      li.classList.add('failed');
      this.state('Failed');
      const p = $('.error', li);
      p.textContent = describe(err);
      p.hidden = false;
    },
  };
}

async function processFile(file) {
  const row = addRow(file);
  try {
    const languages = langInput.value.split(/[\s,+]+/).filter(Boolean);
    // The browser's idea of the type is only a hint: the service sniffs
    // the bytes and refuses a mismatch with type_mismatch.
    const contentType = file.type || guessType(file.name);
    row.state('Asking for an upload…');
    const created = await call('/uploads', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ filename: file.name, contentType, size: file.size, languages }),
    });
    row.li.dataset.uploadId = created.uploadId;
    row.state('Uploading…');
    await postToS3(created.upload, file, row);
    row.progress(1);
    const status = await poll(created.statusUrl, row);
    if (status.status === 'failed') throw new APIError(status.error.code, status.error.message);
    showResult(row, file, status);
  } catch (e) {
    row.fail(asAPIError(e));
  }
}

function guessType(name) {
  const ext = name.toLowerCase().split('.').pop();
  return {
    png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', tif: 'image/tiff', tiff: 'image/tiff',
    webp: 'image/webp', bmp: 'image/bmp', gif: 'image/gif', pdf: 'application/pdf',
  }[ext] || 'application/octet-stream';
}

// fetch() cannot report upload progress; XMLHttpRequest's upload events can.
function postToS3(upload, file, row) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const [k, v] of Object.entries(upload.fields)) form.append(k, v);
    form.append('file', file); // last, as S3 requires
    const xhr = new XMLHttpRequest();
    xhr.open('POST', upload.url);
    xhr.upload.onprogress = (e) => {
      if (!e.lengthComputable) return;
      row.progress(e.loaded / e.total);
      row.state(`Uploading ${Math.round((100 * e.loaded) / e.total)}%`);
    };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) return resolve();
      // S3 answers XML; its Code and Message say what the policy refused.
      const doc = xhr.responseXML || new DOMParser().parseFromString(xhr.responseText || '', 'application/xml');
      const code = doc.querySelector('Code')?.textContent || `http_${xhr.status}`;
      const message = doc.querySelector('Message')?.textContent || 'the upload was refused';
      reject(code === 'EntityTooLarge'
        ? new APIError('too_large', 'the file is larger than declared')
        : new APIError('upload_refused', `S3 refused the upload: ${code}: ${message}`));
    };
    xhr.onerror = () => reject(new APIError('network', 'the upload to S3 failed (network or CORS)'));
    xhr.send(form);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Poll with backoff: quick at first (a small image is read in about a
// second), then slower, capped at 5 s.
async function poll(statusUrl, row) {
  let delay = 250;
  for (;;) {
    const s = await call(statusUrl);
    if (s.status === 'done' || s.status === 'failed') return s;
    if (s.status === 'processing') {
      const p = s.progress;
      row.state(p && p.pages > 1 ? `Reading page ${p.pagesDone + 1} of ${p.pages}…` : 'Reading…');
    } else {
      row.state('Waiting for the file to be picked up…');
    }
    await sleep(delay);
    delay = Math.min(delay * 1.5, 5000);
  }
}

function showResult(row, file, status) {
  const { li } = row;
  const r = status.result;
  li.classList.add('done');
  row.state(status.cached ? 'Done (already read before)' : 'Done');
  $('.conf', li).textContent = `Mean confidence ${(100 * r.confidence).toFixed(1)}% · ${r.pages.length} page${r.pages.length === 1 ? '' : 's'}`;
  $('.text', li).textContent = r.text;
  $('.copy', li).onclick = async (e) => {
    await navigator.clipboard.writeText(r.text).catch(() => {});
    e.target.textContent = 'Copied';
  };
  $('.json', li).onclick = () => {
    saveBlob(new Blob([JSON.stringify(status, null, 2)], { type: 'application/json' }), `${file.name.replace(/\.[^.]+$/, '')}.ocr.json`);
  };
  drawPage(li, file, r.pages[0]);
  showExports(li, file, status);
  $('.result', li).hidden = false;
}

// The downloads the service renders (searchable PDF, ALTO XML), with a
// checkbox per entity type found in the result to redact in them, and the
// erasure of the upload. Downloads are named after the file with the
// format's suffix appended (scan.png.pdf), as the command line names them.
function showExports(li, file, status) {
  const id = status.uploadId;
  const counts = new Map();
  for (const e of status.result.entities || []) counts.set(e.type, (counts.get(e.type) || 0) + 1);
  const known = Object.keys(ENTITY_TYPES);
  const found = [...counts.keys()].sort((a, b) => (known.indexOf(a) + 1 || 99) - (known.indexOf(b) + 1 || 99));
  const types = $('.types', li);
  for (const type of found) {
    const label = document.createElement('label');
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.value = type;
    label.append(box, ` ${ENTITY_TYPES[type] || type} (${counts.get(type)})`);
    types.append(label);
  }
  $('.none', li).hidden = found.length > 0;
  const redact = () => [...types.querySelectorAll('input:checked')].map((b) => b.value);

  const state = $('.export-state', li);
  const show = (text, bad = false) => { state.textContent = text; state.classList.toggle('bad', bad); };
  const offer = (button, format, suffix, what) => {
    button.onclick = async () => {
      const chosen = redact();
      const query = `?format=${format}` + (chosen.length ? `&redact=${chosen.join(',')}` : '');
      button.disabled = true;
      show(`Preparing the ${what}…`);
      try {
        await download(`/uploads/${encodeURIComponent(id)}${query}`, file.name + suffix);
        show('');
      } catch (e) {
        show(`The ${what} could not be downloaded: ${describe(asAPIError(e))}`, true);
      } finally {
        button.disabled = false;
      }
    };
  };
  offer($('.pdf', li), 'pdf', '.pdf', 'searchable PDF');
  offer($('.alto', li), 'alto', '.alto.xml', 'ALTO XML');

  // Erasure cannot be undone, so the first click asks and the second, within
  // a few seconds, erases.
  const del = $('.delete', li);
  let armed = null;
  const disarm = () => { armed = null; del.textContent = 'Delete'; del.classList.remove('armed'); };
  del.onclick = async () => {
    if (!armed) {
      del.textContent = 'Delete for good?';
      del.classList.add('armed');
      armed = setTimeout(disarm, 5000);
      return;
    }
    clearTimeout(armed);
    del.disabled = true;
    show('Deleting…');
    try {
      await call(`/uploads/${encodeURIComponent(id)}`, { method: 'DELETE' });
    } catch (e) {
      // not_found: expired or erased elsewhere; gone either way.
      if (!(e instanceof APIError && e.code === 'not_found')) {
        show(`The upload could not be deleted: ${describe(asAPIError(e))}`, true);
        del.disabled = false;
        disarm();
        return;
      }
    }
    const img = $('.page img', li);
    if (img && img.src.startsWith('blob:')) URL.revokeObjectURL(img.src);
    li.remove();
  };
}

const asAPIError = (e) => (e instanceof APIError ? e : new APIError('internal', String(e)));

// The first page's image with its lines boxed. Browsers show PNG, JPEG,
// GIF, WebP and BMP themselves (with EXIF orientation applied, as the
// service does); TIFF and PDF get the text only. Boxes are placed in
// percent of the page, so they follow the image's displayed size.
function drawPage(li, file, page) {
  const holder = $('.page', li);
  const showable = /^image\/(png|jpeg|gif|webp|bmp)$/.test(file.type || guessType(file.name));
  if (!showable || !page || !page.width || !page.height) {
    holder.remove();
    $('.cols', li).classList.add('single');
    return;
  }
  const img = $('img', holder);
  img.src = URL.createObjectURL(file);
  img.alt = `Page 1 of ${file.name}`;
  const boxes = $('.boxes', holder);
  for (const line of page.lines || []) {
    const [x0, y0, x1, y1] = line.bbox;
    const box = document.createElement('div');
    box.className = 'line-box' + (line.confidence < LOW_CONFIDENCE ? ' low' : '');
    box.style.left = `${(100 * x0) / page.width}%`;
    box.style.top = `${(100 * y0) / page.height}%`;
    box.style.width = `${(100 * (x1 - x0)) / page.width}%`;
    box.style.height = `${(100 * (y1 - y0)) / page.height}%`;
    box.title = `${line.text} (${(100 * line.confidence).toFixed(0)}%)`;
    boxes.append(box);
  }
}

// --- picking and dropping ---------------------------------------------------

const drop = $('#drop');
const input = $('#file-input');
const take = (files) => { for (const f of files) processFile(f); };

drop.addEventListener('click', () => input.click());
drop.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); input.click(); } });
input.addEventListener('change', () => { take(input.files); input.value = ''; });
for (const type of ['dragenter', 'dragover']) {
  drop.addEventListener(type, (e) => { e.preventDefault(); drop.classList.add('over'); });
}
for (const type of ['dragleave', 'drop']) {
  drop.addEventListener(type, () => drop.classList.remove('over'));
}
drop.addEventListener('drop', (e) => { e.preventDefault(); take(e.dataTransfer.files); });

loadInfo();
