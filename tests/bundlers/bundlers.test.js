// The package as web developers consume it, in Chromium (Debian's /usr/bin/chromium through
// playwright-core): `npm pack`ed, unpacked into a fresh app (apps.js) and then
//  - built by Vite 8 with no config, run on one thread and, served cross-origin isolated, on two;
//  - served by Vite's dev server (one thread; two with COOP/COEP headers);
//  - built by webpack 5 with its default configuration;
//  - served as is by a static server (an import map names the package);
//  - imported from another origin (a CDN-style URL: the worker starts through a blob: shim).
// Each generates greedily and must print the Node CLI's text for the same prompt and model.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

import { startServer } from '../browser/server.js';
import { packPackage, makeApp, viteBuild, viteDev, webpackBuild } from './apps.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MODEL = path.join(REPO, 'models/default.gguf');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run'];
const PROMPT = 'In the beginning';
const N = 16;

let work, app, browser, expected;
/** @type {{close: () => Promise<void>}[]} */
const servers = [];

before(async () => {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (make deps does)`);
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'mobilellm-bundlers-'));
  app = makeApp(path.join(work, 'app'), packPackage(work));
  // The reference: the Node CLI's greedy text (it prints the prompt, the text and a newline).
  const cli = execFileSync(process.execPath, [path.join(REPO, 'bin/mobilellm.js'), 'generate', '--temp', '0', '-n', String(N), PROMPT],
    { encoding: 'utf8' });
  assert.ok(cli.startsWith(PROMPT));
  expected = cli.slice(PROMPT.length, -1);
  assert.ok(expected.length > 10, 'the CLI generated text');
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
});

after(async () => {
  await browser?.close();
  for (const s of servers) await s.close();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

/** A test server for `root` that also offers the model at /model.gguf. */
async function serve(root, isolated = false) {
  const srv = await startServer({ root, isolated });
  srv.serveFile('/model.gguf', { path: MODEL });
  servers.push(srv);
  return srv;
}

/** Open `url` in a fresh page and wait for the app's window.result. */
async function run(url, threads = 1) {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  try {
    await page.goto(`${url}${url.includes('?') ? '&' : '?'}threads=${threads}&n=${N}&prompt=${encodeURIComponent(PROMPT)}`);
    await page.waitForFunction(() => window.result !== undefined, null, { timeout: 60_000 });
    const r = await page.evaluate(() => window.result);
    assert.equal(r.error, undefined, `the app failed: ${r.error} ${errors.join(' ')}`);
    return r;
  } finally {
    await page.close();
  }
}

/** The engine files a server was asked for, once each (the threads build's workers import its
 * glue again), by name without Vite's hash. */
const engineRequests = (srv) => [...new Set(srv.log.map((e) => e.path).filter((p) => /mobilellm[-\w]*\.(js|wasm)$/.test(p))
  .map((p) => p.replace(/^.*\//, '').replace(/-[\w-]{8}\./, '.')))];

test('a Vite build with no config generates the CLI text, on one thread and (cross-origin isolated) two', async () => {
  const out = await viteBuild(app);
  const plain = await serve(out);
  const one = await run(`${plain.url}/index.html`, 1);
  assert.equal(one.text, expected);
  assert.equal(one.threads, 1);
  // Only the build that runs is fetched (the SIMD one here), though all three were emitted.
  assert.deepEqual(engineRequests(plain).filter((p) => p.startsWith('mobilellm')).sort(), ['mobilellm.js', 'mobilellm.wasm']);
  const isolated = await serve(out, true);
  const two = await run(`${isolated.url}/index.html`, 2);
  assert.equal(two.text, expected);
  assert.equal(two.threads, 2, `two threads when isolated (warnings: ${two.warnings})`);
  assert.deepEqual(engineRequests(isolated).filter((p) => p.startsWith('mobilellm')).sort(), ['mobilellm-threads.js', 'mobilellm-threads.wasm']);
});

test('the Vite dev server serves the package unchanged, on one thread and (with COOP/COEP) two', async () => {
  const dev = await viteDev(app);
  servers.push(dev);
  // The dev server has no /model.gguf: the app fetches it from a second server (CORS allowed).
  const models = await serve(work);
  const page = `${dev.url}/index.html`;
  const r = await run(page.replace('index.html', `index.html?model=${encodeURIComponent(`${models.url}/model.gguf`)}`));
  assert.equal(r.text, expected);
  // With COOP/COEP headers the dev server's page is cross-origin isolated: two threads.
  const isolatedDev = await viteDev(app, { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' });
  servers.push(isolatedDev);
  const two = await run(`${isolatedDev.url}/index.html?model=${encodeURIComponent(`${models.url}/model.gguf`)}`, 2);
  assert.equal(two.text, expected);
  assert.equal(two.threads, 2, `two threads when isolated (warnings: ${two.warnings})`);
});

test('a webpack 5 build with the default configuration generates the CLI text', async () => {
  const out = await webpackBuild(app);
  const r = await run(`${(await serve(out)).url}/index.html`);
  assert.equal(r.text, expected);
});

test('a static server with no bundler: the package imported through an import map', async () => {
  const srv = await serve(app);
  const r = await run(`${srv.url}/static.html`);
  assert.equal(r.text, expected);
  // locateFile moves the wasm: it is fetched from there, not from the package's dist/.
  fs.cpSync(path.join(app, 'node_modules/mobilellm-wasm/dist'), path.join(app, 'elsewhere'), { recursive: true });
  const moved = await run(`${srv.url}/static.html?wasmDir=${encodeURIComponent(`${srv.url}/elsewhere`)}`);
  assert.equal(moved.text, expected);
  const wasm = srv.log.map((e) => e.path).filter((p) => p.endsWith('.wasm'));
  assert.deepEqual(wasm, ['/node_modules/mobilellm-wasm/dist/mobilellm.wasm', '/elsewhere/mobilellm.wasm']);
});

test('imported from another origin: the module worker starts through a same-origin blob: shim', async () => {
  const cdn = await serve(app); // the package's files, on one origin
  const site = await serve(work); // the page, on another
  const cdnUrl = cdn.url; // another port: another origin
  const html = `<!doctype html><meta charset="utf-8"><script type="importmap">${JSON.stringify({
    imports: { 'mobilellm-wasm': `${cdnUrl}/node_modules/mobilellm-wasm/worker/index.js` } })}</script>
<script type="module" src="./app/src/index.js"></script>`;
  fs.writeFileSync(path.join(work, 'cross.html'), html);
  const r = await run(`${site.url}/cross.html`);
  assert.equal(r.text, expected);
});
