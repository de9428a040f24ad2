// sw.js — the demo page's service worker: keeps the app shell, the package's scripts and the
// wasm engine in a Cache so that, after one visit, the page loads and runs with the network
// off. Models are not its business: the API stores them in IndexedDB, and model downloads
// (Range requests, .gguf / checkpoint files) pass straight through.
//
// Scope: this file sits in web/, so it controls web/ only. The package lives beside it
// (../worker/, ../wasm_build/, ../dist/, ../models/convert/), outside that scope, and the
// model's Web Worker is a client of its own, matched by its own URL. So the page imports the
// API as ./pkg/worker/index.js when it is controlled: ./pkg/<path> is this worker's view of
// ../<path>, inside the scope, and the model worker started from there is controlled too.
//
// Cross-origin isolation where the host sends no headers (GitHub Pages and the like): every
// response this worker gives carries COOP/COEP/CORP when the server's lacks them, so from the
// second load on the page (and the model's workers) are cross-origin isolated: SharedArrayBuffer,
// hence the engine's threads. A server that sends its own values keeps them.
//
// Strategy: network first (an online visit always gets the current files and refreshes the
// cache), the cache when the network fails. Install crawls the package's module graph from a
// few entry points, so files the API adds later are cached without editing a list here.

const VERSION = 'mobilellm-web-v2';
const SCOPE = new URL(self.registration.scope); // …/web/
const ROOT = new URL('../', SCOPE); // the folder holding web/, worker/, dist/
const PKG = new URL('pkg/', SCOPE);

/** The page itself (relative to the scope); all must be cached for install to succeed. */
const SHELL = ['index.html', 'app.js', 'evaluate.js', 'style.css', 'sw.js', 'manifest.webmanifest', 'icon.svg'];
/** Entry points of the package and the page (relative to ROOT); their imports are followed. */
const SEEDS = ['worker/index.js', 'worker/worker.js', 'wasm_build/engine.js', 'web/app.js',
  'dist/mobilellm.js', 'dist/mobilellm.wasm', 'dist/mobilellm-nosimd.js', 'dist/mobilellm-nosimd.wasm',
  'dist/mobilellm-threads.js', 'dist/mobilellm-threads.wasm', 'dist/mobilellm-threads.worker.cjs'];
/** What app files look like (never model weights, which may be huge and use Range requests). */
const APP_FILE = /\.(?:[mc]?js|wasm|html|css|webmanifest|svg|png|ico)$/i;
/** The headers that make a document cross-origin isolated; CORP lets its own resources load under COEP. */
const ISOLATION = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};
/** Module specifiers and asset names in a script: './x.js', '../../lib/y.js', '../dist/z.wasm', 'mobilellm.wasm'. */
const REFERENCE = /["'`]((?:\.{1,2}\/)*[\w@~-][\w@~.\/-]*\.(?:[mc]?js|wasm))["'`]/g;

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(VERSION);
    await cache.addAll(SHELL.map((p) => new Request(new URL(p, SCOPE), { cache: 'no-cache' })));
    // The folder URL too, where the server maps it to index.html (not every static server does).
    await fetch(SCOPE.href, { cache: 'no-cache' }).then((r) => (r.ok && !r.redirected ? cache.put(SCOPE.href, r) : r.body?.cancel()), () => null)
      .catch(() => null);
    await crawl(cache);
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (name !== VERSION && name.startsWith('mobilellm-web-')) await caches.delete(name);
    await self.clients.claim();
  })());
});

/**
 * Cache the package's scripts and wasm, following references from the seeds. A file that is
 * missing (e.g. a build variant that was not made) is skipped, not fatal. At most four requests
 * at a time, and every body is read or cancelled: an unread body holds one of the browser's few
 * connections to the host, and a page downloading a model needs one too.
 * @param {Cache} cache
 */
async function crawl(cache) {
  const seen = new Set(SEEDS.map((p) => new URL(p, ROOT).href));
  const queue = [...seen];
  const one = async (href) => {
    let res;
    try {
      res = await fetch(href, { cache: 'no-cache' });
    } catch {
      return;
    }
    if (!res.ok) { await res.body?.cancel().catch(() => {}); return; }
    const isScript = /\.[mc]?js$/i.test(new URL(href).pathname);
    const text = isScript ? await res.clone().text() : '';
    await cache.put(href, res);
    for (const m of text.matchAll(REFERENCE)) {
      const u = new URL(m[1], href);
      if (u.origin === ROOT.origin && u.href.startsWith(ROOT.href) && !u.href.startsWith(PKG.href) && !seen.has(u.href)) {
        seen.add(u.href);
        queue.push(u.href);
      }
    }
  };
  const worker = async () => { while (queue.length) await one(/** @type {string} */ (queue.shift())); };
  // A worker that finds the queue empty stops; those still busy pull what their files add.
  while (queue.length) await Promise.all(Array.from({ length: Math.min(4, queue.length) }, worker));
}

self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET' || req.headers.has('range')) return;
  const url = new URL(req.url);
  if (url.origin !== SCOPE.origin) return;
  if (url.href.startsWith(PKG.href)) {
    const real = new URL(url.pathname.slice(PKG.pathname.length), ROOT);
    event.respondWith(fromPackage(real));
    return;
  }
  if (req.mode === 'navigate' && url.href.startsWith(SCOPE.href)) {
    event.respondWith(networkFirst(req, url.pathname.endsWith('/') ? new URL('index.html', url) : null).then(withIsolation));
    return;
  }
  if (url.href.startsWith(ROOT.href) && APP_FILE.test(url.pathname)) event.respondWith(networkFirst(req, null).then(withIsolation));
});

/**
 * The response with the isolation headers it lacks (an error or opaque response as it is).
 * @param {Response} res
 */
function withIsolation(res) {
  if (res.type === 'error' || res.type === 'opaque' || res.type === 'opaqueredirect') return res;
  return Object.keys(ISOLATION).every((k) => res.headers.has(k)) ? res : rewrap(res);
}

/**
 * The same status, headers (plus the isolation ones it lacks) and body, in a response with no
 * URL of its own. @param {Response} res
 */
function rewrap(res) {
  const headers = new Headers(res.headers);
  for (const [k, v] of Object.entries(ISOLATION)) if (!headers.has(k)) headers.set(k, v);
  return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
}

/**
 * @param {Request|URL} req
 * @param {URL|null} alt a second cache key to try (a folder URL's index.html)
 * @returns {Promise<Response>}
 */
async function networkFirst(req, alt) {
  const cache = await caches.open(VERSION);
  const key = stripSearch(req instanceof URL ? req.href : req.url);
  try {
    const res = await fetch(req instanceof URL ? req.href : req, req instanceof URL ? { cache: 'no-cache' } : undefined);
    if (res.ok && !res.redirected) cache.put(key, res.clone()).catch(() => {}); // a full disk must not break the page
    return res; // the server answered (even 404): that is the truth
  } catch { /* offline, or the server is gone: the cache answers */ }
  const hit = await cache.match(key) ?? (alt ? await cache.match(alt.href) : undefined);
  return hit ?? Response.error();
}

/**
 * A package file for ./pkg/<path>. The body is re-wrapped so the response carries no URL of
 * its own: module scripts then resolve their imports (and new Worker URLs) against the ./pkg/
 * address, which keeps everything they load inside this worker's scope.
 * @param {URL} real
 */
async function fromPackage(real) {
  const res = await networkFirst(real, null);
  return res.type === 'error' ? res : rewrap(res);
}

/** Cache keys ignore the query (?model=… must not miss the cached page). @param {string} href */
function stripSearch(href) {
  const u = new URL(href);
  u.search = '';
  u.hash = '';
  return u.href;
}
