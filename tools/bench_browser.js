#!/usr/bin/env node
// bench_browser.js — the browser half of `make bench`: serves the repository on 127.0.0.1
// (a static, read-only server that also sends the cross-origin-isolation headers, so pages
// may use SharedArrayBuffer), drives a Debian browser — Chromium, Firefox or WebKitGTK, through
// tests/browser/driver.js — to tools/bench_page/, and runs this project's engine and wllama
// (llama.cpp in wasm) on the same GGUF in the same browser. Prints one JSON line per run.
//   node tools/bench_browser.js MODEL [--engine chromium|firefox|webkit]
//        [--runs mobilellm,wllama,mobilellm-nosimd,mobilellm-norelaxed,mobilellm-norepack] [-p 128] [-n 64] [--threads 1] [--reps 1]
// (mobilellm-norepack: the weights kept in the file's layout, loadModelAt's repack: false)
import { createServer } from 'node:http';
import { createReadStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch } from '../tests/browser/driver.js';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript',
  '.cjs': 'text/javascript',
  '.wasm': 'application/wasm', '.json': 'application/json', '.gguf': 'application/octet-stream' };

/** Serve ROOT read-only on 127.0.0.1 (an ephemeral port); resolves to {server, origin}. */
export function serveRepo() {
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname));
    const file = join(ROOT, path);
    let st;
    if (req.method !== 'GET' && req.method !== 'HEAD') { res.writeHead(405).end(); return; }
    if (!(file === ROOT || file.startsWith(ROOT + sep))) { res.writeHead(403).end(); return; }
    try { st = statSync(file); } catch { res.writeHead(404).end(); return; }
    if (!st.isFile()) { res.writeHead(404).end(); return; }
    res.writeHead(200, {
      'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', 'Content-Length': st.size,
      'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp',
      'Cross-Origin-Resource-Policy': 'same-origin', 'Cache-Control': 'no-store',
    });
    if (req.method === 'HEAD') res.end(); else createReadStream(file).pipe(res);
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok({ server, origin: `http://127.0.0.1:${server.address().port}` })));
}

/**
 * Run the given benchmarks in one fresh browser (default Chromium): each of `runs` on `model`,
 * or `jobs`, each with its own model and options (P, N, threads override the call's).
 * @param {{model?: string, runs?: string[], jobs?: Array<{run: string, model: string, P?: number, N?: number, threads?: number}>,
 *   engine?: string, P?: number, N?: number, threads?: number, reps?: number}} o
 * @returns {Promise<Array<{run: string, model: string, threads: number, result: any}>>}
 */
export async function benchBrowser(o) {
  const { server, origin } = await serveRepo();
  const engine = o.engine ?? 'chromium';
  const profile = mkdtempSync(join(tmpdir(), `mllm-bench-${engine}-`));
  const jobs = o.jobs ?? o.runs.map((run) => ({ run, model: o.model }));
  let b = null;
  const out = [];
  try {
    b = await launch(engine, { profileDir: profile });
    await b.goto(`${origin}/tools/bench_page/index.html`);
    await b.waitFor(() => window.benchReady === true, null, 60000);
    const isolated = await b.evaluate(() => window.crossOriginIsolatedNow());
    for (let rep = 0; rep < (o.reps ?? 1); rep++) {
      for (const job of jobs) {
        const { run } = job;
        const modelUrl = `/${normalize(job.model).split(sep).join('/')}`;
        const which = run.startsWith('wllama') ? 'wllama' : 'mobilellm';
        const opts = { modelUrl, P: job.P ?? o.P ?? 128, N: job.N ?? o.N ?? 64, threads: job.threads ?? o.threads ?? 1 };
        if (run === 'mobilellm-nosimd') opts.simd = false;
        if (run === 'mobilellm-norelaxed') opts.relaxedSimd = false;
        if (run === 'mobilellm-norepack') opts.repack = false;
        const result = await b.evaluate(([e, op]) => window.bench(e, op), [which, opts]);
        result.cross_origin_isolated = isolated;
        result.browser = b.version;
        out.push({ run, model: job.model, threads: opts.threads, result });
      }
    }
  } finally {
    for (const e of b?.consoleErrors ?? []) process.stderr.write(`[${engine}] ${e}\n`);
    await b?.close();
    server.close();
    rmSync(profile, { recursive: true, force: true });
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const o = { runs: ['mobilellm', 'wllama'] };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--runs') o.runs = args[++i].split(',');
    else if (a === '--engine') o.engine = args[++i];
    else if (a === '-p') o.P = Number(args[++i]);
    else if (a === '-n') o.N = Number(args[++i]);
    else if (a === '--threads') o.threads = Number(args[++i]);
    else if (a === '--reps') o.reps = Number(args[++i]);
    else if (!o.model) o.model = a;
    else { console.error(`bench_browser: unexpected argument '${a}'`); process.exit(2); }
  }
  if (!o.model) { console.error('usage: node tools/bench_browser.js MODEL [--runs mobilellm,wllama] [-p P] [-n N]'); process.exit(2); }
  for (const r of await benchBrowser(o)) console.log(JSON.stringify({ run: r.run, ...r.result }));
}
