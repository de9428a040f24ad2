#!/usr/bin/env node
// serve.js — `npm run serve`: a small static server for trying the demo page (web/) locally.
// It serves the repository root (the page imports ../worker/ and ../dist/) on 127.0.0.1 and by
// default sends COOP/COEP so the page is cross-origin isolated (SharedArrayBuffer, threads);
// --plain leaves those headers out. Model files get ETags and Range support, so the API's
// resumable downloads work against it as they do against a CDN. From an installed package, the
// page's dependencies (node_modules/…) are found in the app's node_modules, as Node finds them.
//
//   node tools/serve.js [--port 8080] [--host 127.0.0.1] [--plain] [--root DIR]
//   import { startServe } from './tools/serve.js';
//   const srv = await startServe({ root, port: 0, isolate: true }); srv.url; srv.log; await srv.close();

import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const MIME = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.cjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.webmanifest': 'application/manifest+json',
  '.wasm': 'application/wasm', '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8', '.md': 'text/markdown; charset=utf-8',
};

/** Headers that make a page cross-origin isolated; CORP lets its own resources load under COEP. */
const ISOLATION = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/**
 * A `/node_modules/…` path the served folder lacks, looked up the way Node resolves a dependency
 * (the nearest node_modules folder above): the page's import map names
 * `../node_modules/@huggingface/jinja/…`, which an installed package finds in the app's
 * node_modules. Only files inside a node_modules folder; null when there is none.
 * @param {string} root @param {string} rel
 */
function dependencyFile(root, rel) {
  const inner = path.normalize(rel).split(path.sep).filter(Boolean);
  if (inner[0] !== 'node_modules' || inner.length < 2 || inner.includes('..')) return null;
  for (let dir = path.dirname(root); ; dir = path.dirname(dir)) {
    const modules = path.join(dir, 'node_modules');
    const file = path.join(modules, ...inner.slice(1));
    if (file.startsWith(modules + path.sep) && fs.statSync(file, { throwIfNoEntry: false })?.isFile()) return file;
    if (path.dirname(dir) === dir) return null;
  }
}

/**
 * @param {{root?: string, port?: number, host?: string, isolate?: boolean}} [o]
 * @returns {Promise<{url: string, port: number, log: {method: string, path: string, status: number, range: string|null}[],
 *   close: () => Promise<void>}>}
 */
export async function startServe(o = {}) {
  const root = path.resolve(o.root ?? REPO);
  const isolate = o.isolate ?? true;
  const host = o.host ?? '127.0.0.1';
  const log = [];

  const server = http.createServer((req, res) => {
    const entry = { method: req.method ?? '', path: req.url ?? '', status: 0, range: req.headers.range ?? null };
    log.push(entry);
    try {
      handle(req, res, entry);
    } catch (e) {
      entry.status = 500;
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end(`Internal error: ${e?.message ?? e}\n`);
    }
  });

  /** @param {http.IncomingMessage} req @param {http.ServerResponse} res */
  function handle(req, res, entry) {
    const common = { 'Cache-Control': 'no-cache', ...(isolate ? ISOLATION : {}) };
    const send = (code, text, headers = {}) => {
      entry.status = code;
      res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8', ...common, ...headers });
      res.end(req.method === 'HEAD' ? undefined : text);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'Only GET and HEAD.\n', { Allow: 'GET, HEAD' });

    const url = new URL(req.url ?? '/', 'http://localhost');
    let rel;
    try { rel = decodeURIComponent(url.pathname); } catch { return send(400, 'Bad path.\n'); }
    if (rel === '/') return send(302, 'See /web/\n', { Location: '/web/' });
    const file = path.join(root, path.normalize(rel));
    if (file !== root && !file.startsWith(root + path.sep)) return send(403, 'Outside the served folder.\n');

    let st;
    try { st = fs.statSync(file); } catch { /* below */ }
    if (!st) {
      const dep = dependencyFile(root, rel);
      if (!dep) return send(404, `Not found: ${rel}\n`);
      return serveFile(req, res, dep, entry, common, send);
    }
    if (st.isDirectory()) {
      if (!rel.endsWith('/')) return send(301, 'Moved\n', { Location: `${url.pathname}/${url.search}` });
      return serveFile(req, res, path.join(file, 'index.html'), entry, common, send);
    }
    return serveFile(req, res, file, entry, common, send);
  }

  function serveFile(req, res, file, entry, common, send) {
    let st;
    try { st = fs.statSync(file); } catch { return send(404, 'Not found.\n'); }
    if (!st.isFile()) return send(404, 'Not found.\n');
    const etag = `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
    const headers = {
      ...common, 'Content-Type': MIME[path.extname(file).toLowerCase()] ?? 'application/octet-stream',
      ETag: etag, 'Last-Modified': st.mtime.toUTCString(), 'Accept-Ranges': 'bytes',
    };
    if (req.headers['if-none-match'] === etag) { entry.status = 304; res.writeHead(304, headers); return res.end(); }

    let start = 0;
    let end = st.size - 1;
    let code = 200;
    const m = /^bytes=(\d*)-(\d*)$/.exec(String(req.headers.range ?? ''));
    const ifRange = req.headers['if-range'];
    if (m && (!ifRange || ifRange === etag) && (m[1] || m[2])) {
      if (m[1]) { start = Number(m[1]); if (m[2]) end = Math.min(end, Number(m[2])); } else start = Math.max(0, st.size - Number(m[2]));
      if (start >= st.size || start > end) return send(416, 'Range not satisfiable.\n', { 'Content-Range': `bytes */${st.size}` });
      code = 206;
      headers['Content-Range'] = `bytes ${start}-${end}/${st.size}`;
    }
    headers['Content-Length'] = String(st.size === 0 ? 0 : end - start + 1);
    entry.status = code;
    res.writeHead(code, headers);
    if (req.method === 'HEAD' || st.size === 0) return res.end();
    const stream = fs.createReadStream(file, { start, end });
    stream.on('error', () => res.destroy());
    stream.pipe(res);
  }

  const sockets = new Set();
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 8080, host, () => { server.off('error', reject); resolve(undefined); });
  });
  const port = /** @type {import('node:net').AddressInfo} */ (server.address()).port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    log,
    async close() {
      for (const s of sockets) s.destroy(); // drop keep-alive connections too: the "network is gone"
      await new Promise((r) => server.close(() => r(undefined)));
    },
  };
}

/** @param {string[]} argv */
function parseArgs(argv) {
  const o = { port: 8080, host: '127.0.0.1', isolate: true, root: REPO };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--port' || a === '-p') o.port = Number(val());
    else if (a === '--host') o.host = val();
    else if (a === '--root') o.root = path.resolve(val());
    else if (a === '--plain') o.isolate = false;
    else if (a === '--help' || a === '-h') {
      console.log('usage: node tools/serve.js [--port 8080] [--host 127.0.0.1] [--plain] [--root DIR]\n'
        + '  Serves DIR (default: the repository) with COOP/COEP headers (cross-origin isolated);\n'
        + '  --plain sends no isolation headers. Open /web/ for the demo page.');
      process.exit(0);
    } else throw new Error(`unknown argument '${a}' (try --help)`);
  }
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) throw new Error('--port must be a number from 0 to 65535');
  return o;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`serve: ${e.message}`);
    process.exit(2);
  }
  try {
    const srv = await startServe(opts);
    console.log(`Serving ${opts.root} at ${srv.url}/ (${opts.isolate ? 'cross-origin isolated: COOP/COEP sent' : 'plain: no COOP/COEP'}).`);
    console.log(`Demo page: ${srv.url}/web/   Stop with Ctrl+C.`);
  } catch (e) {
    console.error(`serve: could not listen on ${opts.host}:${opts.port} (${e.code ?? e.message}).`);
    process.exit(1);
  }
}
