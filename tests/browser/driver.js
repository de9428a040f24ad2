// driver.js — one small interface over the three browser engines the tests run the package in,
// each a Debian package driven without downloading anything:
//  - chromium: /usr/bin/chromium through playwright-core (CDP);
//  - firefox:  /usr/bin/firefox-esr through puppeteer-core over WebDriver BiDi;
//  - webkit:   WebKitGTK's MiniBrowser through WebKitWebDriver (plain W3C WebDriver over HTTP),
//              under xvfb-run (MiniBrowser needs a display even when nobody looks at it).
//
//   const b = await launch('firefox', { profileDir });
//   await b.goto(url); const v = await b.evaluate((arg) => …, arg); await b.close();
//
// What one engine's driver cannot do is named in `b.can` so a test can skip that one case with
// its reason printed, never silently. MLLM_ENGINES=chromium,firefox picks engines (default all).

import fs from 'node:fs';
import net from 'node:net';
import { spawn } from 'node:child_process';

export const ALL_ENGINES = ['chromium', 'firefox', 'webkit'];
export const ENGINES = (process.env.MLLM_ENGINES ?? ALL_ENGINES.join(',')).split(',').filter((e) => e);
for (const e of ENGINES) if (!ALL_ENGINES.includes(e)) throw new Error(`MLLM_ENGINES names '${e}'; the engines are ${ALL_ENGINES.join(', ')}.`);

export const BINARIES = {
  chromium: process.env.CHROMIUM ?? '/usr/bin/chromium',
  firefox: process.env.FIREFOX ?? '/usr/bin/firefox-esr',
  webkit: process.env.WEBKIT_DRIVER ?? '/usr/bin/WebKitWebDriver',
};
const MINIBROWSER = process.env.MINIBROWSER ?? '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';
const PACKAGE = { chromium: 'chromium', firefox: 'firefox-esr', webkit: 'webkit2gtk-driver and xvfb' };

/**
 * The engine build each browser gets here (facts of these engine versions, which the tests hold
 * the API's `info` to): SIMD128, the threads build where the page is cross-origin isolated, and
 * relaxed SIMD (Chromium only, and only where the CPU has AVX-VNNI: V8's exact int8 dot).
 */
export const ENGINE_BUILD = Object.freeze({
  chromium: { simd: true, threads: true, relaxed: true },
  firefox: { simd: true, threads: true, relaxed: false },
  // WebKitGTK 2.50: cross-origin isolated, but no SharedArrayBuffer (its shared wasm memory
  // cannot be posted to a worker either), so one thread.
  webkit: { simd: true, threads: false, relaxed: false },
});

const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run'];

/**
 * Firefox profile preferences: service workers and IndexedDB on http://127.0.0.1 (puppeteer's
 * automation profile otherwise leaves them as a fresh profile has them), no network calls home.
 * @param {{quotaKiB?: number}} o
 */
function firefoxPrefs(o) {
  return {
    'dom.serviceWorkers.enabled': true,
    'dom.serviceWorkers.testing.enabled': true, // service workers on plain-http localhost origins
    'dom.indexedDB.enabled': true,
    'dom.storage.enabled': true,
    'browser.cache.offline.enable': true,
    'network.captive-portal-service.enabled': false,
    'network.connectivity-service.enabled': false,
    ...(o.quotaKiB ? { 'dom.quotaManager.temporaryStorage.fixedLimit': o.quotaKiB } : {}),
  };
}

/**
 * @typedef {object} Browser
 * @property {string} engine
 * @property {string} version  the browser's name and version, e.g. 'Firefox 153.8.0'
 * @property {{quotaOverride: boolean, offline: boolean, console: boolean, longTasks: boolean, screenshots: boolean}} can
 * @property {(url: string) => Promise<void>} goto
 * @property {() => Promise<void>} reload
 * @property {<A, R>(fn: (arg: A) => R | Promise<R>, arg?: A) => Promise<R>} evaluate
 * @property {<A>(fn: (arg: A) => unknown, arg?: A, timeoutMs?: number) => Promise<void>} waitFor
 * @property {string[]} consoleErrors  console errors and uncaught page errors, where `can.console`
 * @property {(origin: string, bytes?: number) => Promise<void>} setQuota  chromium only; no bytes: undo
 * @property {(offline: boolean) => Promise<void>} setOffline  chromium only
 * @property {(file: string) => Promise<void>} screenshot
 * @property {() => Promise<void>} close
 */

/** Why an engine cannot run here, or null. @param {string} engine */
export function missing(engine) {
  if (!fs.existsSync(BINARIES[engine])) return `${BINARIES[engine]} is missing: apt-get install ${PACKAGE[engine]} (make deps does)`;
  if (engine === 'webkit' && !fs.existsSync(MINIBROWSER)) return `${MINIBROWSER} is missing: apt-get install webkit2gtk-driver`;
  if (engine === 'webkit' && !fs.existsSync('/usr/bin/xvfb-run')) return 'xvfb-run is missing: apt-get install xvfb xauth';
  return null;
}

/**
 * @param {string} engine 'chromium' | 'firefox' | 'webkit'
 * @param {{profileDir: string, viewport?: {width: number, height: number}, quotaKiB?: number}} o
 *   profileDir: a fresh folder (no storage from earlier runs); quotaKiB: Firefox's storage limit
 * @returns {Promise<Browser>}
 */
export async function launch(engine, o) {
  const why = missing(engine);
  if (why) throw new Error(why);
  if (engine === 'chromium') return launchChromium(o);
  if (engine === 'firefox') return launchFirefox(o);
  if (engine === 'webkit') return launchWebKit(o);
  throw new Error(`unknown engine '${engine}'`);
}

/** A console listener's filter: errors only, with where they came from. */
const consoleError = (list, where) => (m) => { if (m.type() === 'error') list.push(`${where} console: ${m.text()}`); };

async function launchChromium(o) {
  const { chromium } = await import('playwright-core');
  const context = await chromium.launchPersistentContext(o.profileDir, {
    executablePath: BINARIES.chromium, headless: true, args: CHROMIUM_FLAGS, viewport: o.viewport ?? { width: 1280, height: 900 },
  });
  const page = context.pages()[0] ?? await context.newPage();
  const consoleErrors = [];
  page.on('console', consoleError(consoleErrors, 'page'));
  page.on('pageerror', (e) => consoleErrors.push(`page error: ${e?.stack ?? e}`));
  context.on('serviceworker', (w) => w.on('console', consoleError(consoleErrors, 'service worker')));
  let cdp = null;
  return {
    engine: 'chromium',
    version: `Chromium ${context.browser()?.version() ?? ''}`.trim(),
    can: { quotaOverride: true, offline: true, console: true, longTasks: true, screenshots: true },
    page,
    consoleErrors,
    goto: async (url) => { await page.goto(url); },
    reload: async () => { await page.reload(); },
    evaluate: (fn, arg) => page.evaluate(fn, arg),
    waitFor: async (fn, arg, timeoutMs = 30000) => { await page.waitForFunction(fn, arg, { timeout: timeoutMs }); },
    async setQuota(origin, bytes) {
      cdp ??= await context.newCDPSession(page);
      await cdp.send('Storage.overrideQuotaForOrigin', bytes === undefined ? { origin } : { origin, quotaSize: bytes });
    },
    setOffline: (off) => context.setOffline(off),
    screenshot: async (file) => { await page.screenshot({ path: file, fullPage: true }); },
    close: async () => { await cdp?.detach().catch(() => {}); await context.close(); },
  };
}

async function launchFirefox(o) {
  const { default: puppeteer } = await import('puppeteer-core');
  const browser = await puppeteer.launch({
    browser: 'firefox', executablePath: BINARIES.firefox, headless: true, userDataDir: o.profileDir,
    extraPrefsFirefox: firefoxPrefs(o), defaultViewport: o.viewport ?? { width: 1280, height: 900 },
  });
  const page = (await browser.pages())[0] ?? await browser.newPage();
  const consoleErrors = [];
  page.on('console', consoleError(consoleErrors, 'page'));
  page.on('pageerror', (e) => consoleErrors.push(`page error: ${e?.stack ?? e}`));
  const unsupported = (what) => async () => { throw new Error(`${what} is not available in Firefox over WebDriver BiDi`); };
  const version = (await browser.version()).replace(/^firefox\//i, 'Firefox ');
  return {
    engine: 'firefox',
    version,
    can: { quotaOverride: false, offline: false, console: true, longTasks: false, screenshots: true },
    page,
    consoleErrors,
    goto: async (url) => { await page.goto(url); },
    reload: async () => { await page.reload(); },
    evaluate: (fn, arg) => page.evaluate(fn, arg),
    waitFor: async (fn, arg, timeoutMs = 30000) => { await page.waitForFunction(fn, { timeout: timeoutMs, polling: 50 }, arg); },
    setQuota: unsupported('a per-origin quota override'),
    setOffline: unsupported('offline emulation'),
    screenshot: async (file) => { await page.screenshot({ path: file, fullPage: true }); },
    close: () => browser.close(),
  };
}

/** A free TCP port on 127.0.0.1. */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = /** @type {net.AddressInfo} */ (s.address()); s.close(() => resolve(port)); });
  });
}

async function launchWebKit(o) {
  const port = await freePort();
  // Its own process group, so close() ends xvfb-run, Xvfb, the driver and MiniBrowser together.
  const proc = spawn('xvfb-run', ['-a', BINARIES.webkit, `--port=${port}`, '--host=127.0.0.1'],
    { stdio: ['ignore', 'ignore', 'pipe'], detached: true, env: { ...process.env, HOME: o.profileDir, XDG_DATA_HOME: o.profileDir, XDG_CACHE_HOME: o.profileDir } });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr = (stderr + d).slice(-4000); });
  const base = `http://127.0.0.1:${port}`;
  async function call(method, p, body) {
    const r = await fetch(base + p, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    const j = await r.json();
    if (j.value?.error) throw new Error(`WebKitWebDriver ${method} ${p}: ${j.value.error}: ${j.value.message}`);
    return j.value;
  }
  const kill = () => { try { process.kill(-proc.pid, 'SIGTERM'); } catch { /* gone already */ } };
  let sid;
  let version = 'WebKitGTK';
  try {
    for (let i = 0; ; i++) {
      try { await call('GET', '/status'); break; } catch (e) {
        if (i >= 300 || proc.exitCode !== null) throw new Error(`WebKitWebDriver did not start: ${stderr || e.message}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const s = await call('POST', '/session', { capabilities: { alwaysMatch: {
      'webkitgtk:browserOptions': { binary: MINIBROWSER, args: ['--automation'] },
    } } });
    sid = s.sessionId;
    version = `WebKitGTK ${s.capabilities?.browserVersion ?? ''}`.trim();
    await call('POST', `/session/${sid}/timeouts`, { script: 600000, pageLoad: 60000 });
    if (o.viewport) await call('POST', `/session/${sid}/window/rect`, { width: o.viewport.width, height: o.viewport.height });
  } catch (e) {
    kill();
    throw e;
  }
  const S = `/session/${sid}`;
  /** Run fn(arg) in the page; a rejection comes back as an Error with the page's message. */
  async function evaluate(fn, arg) {
    const script = `const [src, arg, done] = arguments;
      Promise.resolve().then(() => (new Function('return (' + src + ')'))()(arg))
        .then((v) => done({ ok: v === undefined ? null : v }), (e) => done({ err: String(e) + (e && e.stack ? '\\n' + e.stack : '') }));`;
    const r = await call('POST', `${S}/execute/async`, { script, args: [fn.toString(), arg ?? null] });
    if (r && 'err' in r) throw new Error(`in the page: ${r.err}`);
    return r?.ok;
  }
  const unsupported = (what) => async () => { throw new Error(`${what} is not available in WebKitGTK over W3C WebDriver`); };
  return {
    engine: 'webkit',
    version,
    can: { quotaOverride: false, offline: false, console: false, longTasks: false, screenshots: true },
    page: null,
    consoleErrors: [],
    goto: async (url) => { await call('POST', `${S}/url`, { url }); },
    reload: async () => { await call('POST', `${S}/refresh`, {}); },
    evaluate,
    async waitFor(fn, arg, timeoutMs = 30000) {
      const t0 = Date.now();
      for (;;) {
        let v = false;
        try { v = await evaluate(fn, arg); } catch (e) { if (!/in the page/.test(e.message) && !/JavaScript|navigation|frame/i.test(e.message)) throw e; }
        if (v) return;
        if (Date.now() - t0 > timeoutMs) throw new Error(`waitFor timed out after ${timeoutMs} ms: ${fn.toString().slice(0, 200)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    setQuota: unsupported('a per-origin quota override'),
    setOffline: unsupported('offline emulation'),
    async screenshot(file) { fs.writeFileSync(file, Buffer.from(await call('GET', `${S}/screenshot`), 'base64')); },
    async close() {
      await call('DELETE', S).catch(() => {});
      kill();
    },
  };
}
