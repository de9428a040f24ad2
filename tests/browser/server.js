// server.js — the local test server (127.0.0.1 only) for the API and browser tests: static files
// from the repository root, plus "served files" with knobs a real CDN's failures need:
// request log, HTTP Range / If-Range, ETags, cutting the connection at a byte offset, failing
// with a status, and a Hugging Face Hub imitation (/api/models/<repo>/revision/<rev> listing,
// /<repo>/resolve/<rev>/<file> redirecting large files to a /cdn/ URL, like the Hub's LFS).
//
//   import { startServer } from './server.js';
//   const srv = await startServer({ root });
//   srv.serveFile('/m/tiny.gguf', { path, etag: '"v1"', cutAt: 1000 });
//   srv.addRepo('test/tiny', dir);  // then MobileLLM.load('test/tiny', { hfEndpoint: srv.url })
//   srv.log  -> [{method, path, status, range, ifRange, start, bytes, cut}]
//
// Run directly to serve the repository for manual browser checks:
//   node tests/browser/server.js [--port 8080]

import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const MIME = {
  '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html; charset=utf-8',
  '.cjs': 'text/javascript', '.json': 'application/json', '.css': 'text/css', '.txt': 'text/plain; charset=utf-8',
};

/**
 * @typedef {object} FileOpts
 * @property {string} [path]        file on disk (read on each request, so it may change)
 * @property {Uint8Array} [data]    or the bytes themselves
 * @property {string|null} [etag]   default: a strong ETag from the content hash; null: none
 * @property {string} [lastModified]
 * @property {number} [cutAt]       close the connection after this file offset has been sent
 * @property {number} [cutTimes]    how many responses to cut (default 1)
 * @property {boolean} [noRange]    ignore Range headers (answer 200 with everything)
 * @property {number} [failTimes]   answer `failStatus` (default 503) this many times first
 * @property {number} [failStatus]
 * @property {number} [throttle]    bytes per 10 ms (slow responses, for abort tests)
 * @property {boolean} [noLength]   send no Content-Length (chunked), as a size-less stream
 */

/**
 * @param {{root?: string, port?: number, isolated?: boolean}} [o] isolated: send COOP same-origin +
 *   COEP require-corp on every response, so pages are cross-origin isolated (SharedArrayBuffer,
 *   hence the engine's pthreads build)
 */
export async function startServer(o = {}) {
  const root = path.resolve(o.root ?? ROOT);
  /** @type {Map<string, FileOpts>} */
  const files = new Map();
  /** @type {Map<string, {dir: string, revision: string, files: string[]}>} */
  const repos = new Map();
  const log = [];

  const server = http.createServer((req, res) => {
    handle(req, res).catch((e) => {
      if (!res.headersSent) { res.writeHead(500); res.end(String(e?.stack ?? e)); } else res.destroy();
    });
  });

  /** @param {http.IncomingMessage} req @param {http.ServerResponse} res */
  async function handle(req, res) {
    const url = new URL(req.url, 'http://127.0.0.1');
    const p = decodeURIComponent(url.pathname);
    const entry = { method: req.method, path: p, status: 0, range: req.headers.range ?? null, ifRange: req.headers['if-range'] ?? null, start: 0, bytes: 0, cut: false };
    log.push(entry);
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Access-Control-Allow-Origin', '*');
    if (o.isolated) {
      res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
      res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
      res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
    }

    if (files.has(p)) return sendFile(req, res, files.get(p), entry);

    // Hugging Face imitation.
    let m = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/([^/]+)$/.exec(p);
    if (m && repos.has(m[1])) {
      const r = repos.get(m[1]);
      if (m[2] !== r.revision && m[2] !== 'main') return status(res, entry, 404, 'Revision not found');
      const body = JSON.stringify({ id: m[1], sha: r.revision, siblings: r.files.map((f) => ({ rfilename: f })) });
      entry.status = 200;
      res.writeHead(200, { 'Content-Type': 'application/json' });
      return res.end(body);
    }
    if (m) return status(res, entry, 404, 'Repository not found');
    m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(p);
    if (m) {
      const r = repos.get(m[1]);
      if (!r || !r.files.includes(m[3])) return status(res, entry, 404, 'Entry not found');
      const fp = path.join(r.dir, m[3]);
      if (/\.(safetensors|bin|gguf)$/.test(m[3])) {
        // Large files: a redirect to content-addressed storage, as the Hub does for LFS.
        const key = `/cdn/${m[1]}/${m[3]}`;
        if (!files.has(key)) files.set(key, { path: fp });
        entry.status = 302;
        res.writeHead(302, { Location: key });
        return res.end();
      }
      return sendFile(req, res, { path: fp }, entry);
    }

    // Static files from the repository.
    const fp = path.normalize(path.join(root, p));
    if (!fp.startsWith(root + path.sep) && fp !== root) return status(res, entry, 403, 'Forbidden');
    let st;
    try { st = fs.statSync(fp); } catch { return status(res, entry, 404, 'Not found'); }
    if (st.isDirectory()) return status(res, entry, 404, 'Not found');
    entry.status = 200;
    entry.bytes = st.size;
    res.writeHead(200, { 'Content-Type': MIME[path.extname(fp)] ?? 'application/octet-stream', 'Content-Length': st.size });
    fs.createReadStream(fp).pipe(res);
  }

  function status(res, entry, code, text) {
    entry.status = code;
    res.writeHead(code, { 'Content-Type': 'text/plain' });
    res.end(text);
  }

  /** @param {http.IncomingMessage} req @param {http.ServerResponse} res @param {FileOpts} f */
  async function sendFile(req, res, f, entry) {
    if (f.failTimes > 0) {
      f.failTimes--;
      return status(res, entry, f.failStatus ?? 503, 'Injected failure');
    }
    let data;
    try { data = f.data ?? new Uint8Array(fs.readFileSync(f.path)); } catch { return status(res, entry, 404, 'Not found'); }
    const etag = f.etag === undefined ? `"${crypto.createHash('sha256').update(data).digest('hex').slice(0, 32)}"` : f.etag;
    const headers = { 'Content-Type': 'application/octet-stream', 'Accept-Ranges': f.noRange ? 'none' : 'bytes' };
    if (etag) headers.ETag = etag;
    if (f.lastModified) headers['Last-Modified'] = f.lastModified;

    let start = 0;
    let end = data.length - 1;
    let code = 200;
    const range = /^bytes=(\d+)-(\d*)$/.exec(String(req.headers.range ?? ''));
    const ifRange = req.headers['if-range'];
    const rangeOk = range && !f.noRange && (!ifRange || ifRange === etag || (f.lastModified && ifRange === f.lastModified));
    if (rangeOk) {
      start = Number(range[1]);
      if (range[2]) end = Math.min(end, Number(range[2]));
      if (start >= data.length || start > end) {
        entry.status = 416;
        res.writeHead(416, { 'Content-Range': `bytes */${data.length}` });
        return res.end();
      }
      code = 206;
      headers['Content-Range'] = `bytes ${start}-${end}/${data.length}`;
    }
    if (!f.noLength) headers['Content-Length'] = end - start + 1;
    entry.status = code;
    entry.start = start;
    res.writeHead(code, headers);
    if (req.method === 'HEAD') return res.end();

    const cut = f.cutAt !== undefined && (f.cutTimes ?? 1) > 0 && f.cutAt > start && f.cutAt <= end ? f.cutAt : -1;
    if (cut >= 0) f.cutTimes = (f.cutTimes ?? 1) - 1;
    const stop = cut >= 0 ? cut : end + 1;
    const step = f.throttle ?? 64 * 1024;
    for (let off = start; off < stop; off += step) {
      const piece = data.subarray(off, Math.min(stop, off + step));
      const ok = res.write(piece);
      entry.bytes += piece.length;
      if (f.throttle) await new Promise((r) => setTimeout(r, 10));
      else if (!ok) await new Promise((r) => res.once('drain', r));
      if (res.destroyed) return;
    }
    if (cut >= 0) {
      entry.cut = true;
      await new Promise((r) => res.write(new Uint8Array(0), r)); // flushed, then cut mid-body
      res.socket?.destroy();
      return;
    }
    res.end();
  }

  await new Promise((resolve) => server.listen(o.port ?? 0, '127.0.0.1', resolve));
  const addr = /** @type {import('node:net').AddressInfo} */ (server.address());
  const sockets = new Set();
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });

  return {
    url: `http://127.0.0.1:${addr.port}`,
    log,
    /** @param {string} urlPath @param {FileOpts} opts */
    serveFile(urlPath, opts) { files.set(urlPath, { ...opts }); },
    /** Change the knobs of a served file. @param {string} urlPath @param {FileOpts} opts */
    setFile(urlPath, opts) { Object.assign(files.get(urlPath), opts); },
    /**
     * A Hugging Face repo from a directory (every file in it, or `only`).
     * @param {string} repo @param {string} dir @param {{revision?: string, only?: string[], cdn?: FileOpts}} [opts]
     */
    addRepo(repo, dir, opts = {}) {
      const list = opts.only ?? fs.readdirSync(dir).filter((n) => fs.statSync(path.join(dir, n)).isFile() && !n.startsWith('.'));
      repos.set(repo, { dir, revision: opts.revision ?? 'main', files: list });
      for (const n of list) if (/\.(safetensors|bin|gguf)$/.test(n) && opts.cdn) files.set(`/cdn/${repo}/${n}`, { path: path.join(dir, n), ...opts.cdn });
    },
    /** Requests whose path starts with a prefix. @param {string} prefix */
    requests(prefix) { return log.filter((e) => e.path.startsWith(prefix)); },
    clearLog() { log.length = 0; },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const i = process.argv.indexOf('--port');
  const isolated = process.argv.includes('--isolated');
  const srv = await startServer({ port: i > 0 ? Number(process.argv[i + 1]) : 8080, isolated });
  console.log(`serving ${ROOT} at ${srv.url}${isolated ? ' (cross-origin isolated)' : ''}`);
}
