#!/usr/bin/env node
// bench_4bit.js — issue 20's speed and memory tables, a part of `make bench` (tools/bench_report.js
// appends its --md output to BENCHMARKS.md). Every file is MobileLLM-shaped random weights quantized
// by llama.cpp itself (tools/bench_models.js). Sections, each runnable alone with --only:
//   chromium  Q4_0 and Q4_K_M against our Q8_0, Chromium, 1 thread
//   wllama    ours against wllama on the same Q4_K_M file, Chromium, 1 thread
//   native    ours (Node LTS) against native llama.cpp (node-llama-cpp) on the Q4_K_M file, 1 thread
//   sharing   2x30 `immediate` Q4_K_M against the same weights unrolled to 60, Node LTS and Chromium
//   shapes    the five MobileLLM shapes at Q4_K_M and 1.5B at Q8_0 in Chromium: size, heap, load, decode
// Runs of the things compared are interleaved; each figure is the best of REPS runs.
//   node tools/bench_4bit.js [--only chromium,wllama,native,sharing,shapes] [--reps R] [--quick]
//        [--md | --update BENCHMARKS.md] [--keep]
//   --md: print the sections' markdown; --update F: replace those sections in F (appended if absent);
//   --quick: 1 rep, shorter runs, shapes 125M and 350M only; --keep: keep the large shapes' files.
// Where a VM's vCPUs run at different speeds, pin the 1-thread sections to one (taskset -c 0 node
// tools/bench_4bit.js ...): an unpinned process lands on either, and its ratios mix the two. The
// sections' commands name the pinning they ran under.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { benchBrowser } from './bench_browser.js';
import { nodeLts } from './node_lts.js';
import { QUANT_DIR, quantizedModel, removeShape, unrollShared } from './bench_models.js';
import { SHAPES } from './make_random_model.js';

const argv = process.argv.slice(2);
const arg = (name, def) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : def);
const SECTIONS = ['chromium', 'wllama', 'native', 'sharing', 'shapes'];
{ // a long run: refuse what it does not know (e.g. --help) before starting one
  const USAGE = 'usage: node tools/bench_4bit.js [--only chromium,wllama,native,sharing,shapes] [--reps R] [--quick] [--md | --update FILE] [--keep]';
  for (let i = 0; i < argv.length; i++) {
    if (['--only', '--reps', '--update'].includes(argv[i]) && i + 1 < argv.length) i++;
    else if (!['--quick', '--md', '--keep'].includes(argv[i])) { console.error(`bench_4bit: unknown argument '${argv[i]}'\n${USAGE}`); process.exit(2); }
  }
}
const QUICK = argv.includes('--quick');
const REPS = Number(arg('--reps', process.env.BENCH_REPS ?? (QUICK ? 1 : 3)));
const only = arg('--only', SECTIONS.join(',')).split(',');
for (const s of only) if (!SECTIONS.includes(s)) { console.error(`bench_4bit: no section '${s}' (${SECTIONS.join(', ')})`); process.exit(2); }
const P = 128, N = QUICK ? 32 : 64;
const ENV = { ...process.env, NODE_PATH: '/usr/share/nodejs' };
const log = (...a) => process.stderr.write(`[bench_4bit] ${a.join(' ')}\n`);
const NODE_LTS = path.relative(process.cwd(), nodeLts());
const ltsVersion = execFileSync(NODE_LTS, ['--version'], { encoding: 'utf8' }).trim();
const f1 = (x) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(1) : '-');
const ratio = (a, b) => (a && b ? `${(a / b).toFixed(2)}x` : '-');
const mib = (f) => statSync(f).size / 1048576;
const load = () => os.loadavg().map((x) => x.toFixed(1)).join(' / ');
const verdict = (ok) => (ok ? 'met' : 'MISSED');

/** The best prefill and decode over the reps of one job (run + model + threads). */
function best(results, run, model, threads = 1) {
  const list = results.filter((r) => r.run === run && r.model === model && r.threads === threads).map((r) => r.result);
  if (!list.length) throw new Error(`no result for ${run} on ${model}`);
  if (run === 'mobilellm' && list.some((r) => r.threads !== threads)) throw new Error(`${run} ran ${list[0].threads} threads, not ${threads}`);
  const top = (a, b, k) => (a[k] === undefined ? b[k] : b[k] === undefined ? a[k] : Math.max(a[k], b[k]));
  return list.reduce((a, b) => ({ ...a, prefill_tok_s: top(a, b, 'prefill_tok_s'), decode_tok_s: top(a, b, 'decode_tok_s'),
    first_prefill_tok_s: top(a, b, 'first_prefill_tok_s') }));
}

/** Best of REPS of CLI commands, interleaved; each prints one JSON line. */
function bestOfCli(cmds, reps = REPS) {
  const top = cmds.map(() => null);
  for (let r = 0; r < reps; r++) {
    cmds.forEach(([cmd, args], i) => {
      const res = JSON.parse(execFileSync(cmd, args, { encoding: 'utf8', env: ENV, stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop());
      if (!top[i]) top[i] = res;
      for (const k of ['prefill_tok_s', 'decode_tok_s', 'prefill_cpu_tok_s', 'decode_cpu_tok_s']) top[i][k] = Math.max(top[i][k], res[k]);
    });
  }
  return top;
}
const cmdText = ([c, a]) => `${c} ${a.join(' ')}`;
const cliLts = (model, extra = []) => [NODE_LTS, ['bin/mobilellm.js', 'bench', '-m', model, '-p', String(P), '-n', String(N), ...extra]];
/** This process's CPU list where it is narrower than the machine's (taskset), else null. */
const pinned = (() => {
  try {
    const list = /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    return list && list !== `0-${os.cpus().length - 1}` ? list : null;
  } catch {
    return null;
  }
})();
const self = (s) => `${pinned ? `taskset -c ${pinned} ` : ''}node tools/bench_4bit.js --only ${s}${REPS !== 3 ? ` --reps ${REPS}` : ''}${QUICK ? ' --quick' : ''}`;

/** One section's markdown, between markers so that --update can replace it alone. */
const wrap = (name, md) => `<!-- bench_4bit:${name} -->\n${md.trim()}\n<!-- /bench_4bit:${name} -->\n`;
async function section(name, fn) {
  const t0 = Date.now(), la = load();
  log(`section ${name} (load average ${la})`);
  let md;
  try {
    md = await fn(la);
  } catch (e) {
    log(`section ${name} failed: ${e?.stack ?? e}`);
    md = `## ${TITLES[name]}\n\nThe run failed: ${String(e?.message ?? e).split('\n')[0]} (\`${self(name)}\`)\n`;
  }
  log(`section ${name} took ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  return wrap(name, md);
}
const TITLES = {
  chromium: 'Issue 20: 4-bit against Q8_0, Chromium, 1 thread',
  wllama: 'Issue 20: against wllama on the same Q4_K_M file, Chromium, 1 thread',
  native: `Issue 20: against native llama.cpp on the same Q4_K_M file, Node ${ltsVersion}, 1 thread`,
  sharing: 'Issue 20: layer sharing at Q4_K_M, 2 threads',
  shapes: 'Issue 20: the five MobileLLM shapes in Chromium',
};
const head = (name, la, extra = '') => `## ${TITLES[name]}

\`${self(name)}\`${extra}; load average ${la} (1 / 5 / 15 min) on ${os.cpus().length} vCPUs when it started.
`;

// ---------------------------------------------------------------- the files
const q = (type) => quantizedModel('125m', type);
let browserRuns = null; // chromium and wllama share one browser run when both are asked for
async function chromiumRuns() {
  if (browserRuns) return browserRuns;
  const jobs = [];
  if (only.includes('chromium')) for (const t of ['q8_0', 'q4_0', 'q4_k_m']) jobs.push({ run: 'mobilellm', model: q(t) });
  else jobs.push({ run: 'mobilellm', model: q('q4_k_m') });
  if (only.includes('wllama')) jobs.push({ run: 'wllama', model: q('q4_k_m') });
  browserRuns = await benchBrowser({ jobs, P, N, threads: 1, reps: REPS });
  return browserRuns;
}

// ---------------------------------------------------------------- 1. Chromium: 4-bit vs Q8_0
async function secChromium(la) {
  const res = await chromiumRuns();
  const r = Object.fromEntries(['q8_0', 'q4_0', 'q4_k_m'].map((t) => [t, best(res, 'mobilellm', q(t))]));
  const b = r.q8_0;
  const rows = Object.entries(r).map(([t, x]) => `| ${t.toUpperCase()} | ${f1(mib(q(t)))} | ${f1(x.prefill_tok_s)} | ${f1(x.decode_tok_s)} | ${ratio(x.prefill_tok_s, b.prefill_tok_s)} | ${ratio(x.decode_tok_s, b.decode_tok_s)} | ${f1(x.first_prefill_tok_s)} |`);
  const tg = (t) => [`${t.toUpperCase()} decode >= 1.25x Q8_0: ${ratio(r[t].decode_tok_s, b.decode_tok_s)} (${verdict(r[t].decode_tok_s >= 1.25 * b.decode_tok_s)})`,
    `${t.toUpperCase()} prefill >= 0.8x Q8_0: ${ratio(r[t].prefill_tok_s, b.prefill_tok_s)} (${verdict(r[t].prefill_tok_s >= 0.8 * b.prefill_tok_s)})`];
  return `${head('chromium', la)}
\`${QUANT_DIR}/random-125m-<type>.gguf\`: MobileLLM-125M-shaped random weights written as F32 and quantized by
llama.cpp's \`llama_model_quantize\` (node-llama-cpp's libllama, no imatrix) to each type, so the three files hold the
same network (the Q8_0 file too is llama.cpp's). The 125M's 576-wide rows are not a multiple of 256, so llama.cpp's
Q4_K_M writes attn_q/k/output and ffn_gate/up as Q5_0, attn_v as Q5_0 or Q8_0, ffn_down (1536-wide rows) as Q4_K or Q6_K,
the tied embedding as Q8_0. ${b.browser}, our engine${b.relaxed ? ' with relaxed SIMD on (its Q8_0 kernels use it)' : ''}, ${P}-token
prompt in one eval, then ${N} greedy decode steps, best of ${REPS} interleaved runs, wall clock in the page's worker.
Each run loads the file in a fresh worker and first runs the same prompt and four decode steps untimed, so that V8's
tier-up of the kernels the run uses is done before the clock starts; "first prompt" is that warm-up's prefill, the first
after load, its compiles included (what a page's first prompt sees).

| file type | MiB | prefill tok/s | decode tok/s | prefill vs Q8_0 | decode vs Q8_0 | first prompt tok/s |
| --- | ---: | ---: | ---: | ---: | ---: | ---: |
${rows.join('\n')}

Targets: ${[...tg('q4_0'), ...tg('q4_k_m')].join('; ')}.
`;
}

// ---------------------------------------------------------------- 2. Chromium: against wllama
async function secWllama(la) {
  const res = await chromiumRuns();
  const ours = best(res, 'mobilellm', q('q4_k_m')), w = best(res, 'wllama', q('q4_k_m'));
  return `${head('wllama', la)}
\`${q('q4_k_m')}\` (${f1(mib(q('q4_k_m')))} MiB, llama.cpp's Q4_K_M of the 125M shape: mostly Q5_0, see above), ${ours.browser}, cross-origin isolated page. wllama
${w.version ?? ''} (npm @wllama/wllama, llama.cpp in wasm) reports llama.cpp's own timings for a ${w.prompt_tokens}-token prompt and
${w.gen_tokens} tokens; ours runs the same counts (${P}, ${N}). Best of ${REPS} interleaved runs.

| engine | prefill tok/s | decode tok/s | prefill vs wllama | decode vs wllama |
| --- | ---: | ---: | ---: | ---: |
| mobilellm wasm SIMD128${ours.relaxed ? ' (relaxed SIMD)' : ''} | ${f1(ours.prefill_tok_s)} | ${f1(ours.decode_tok_s)} | ${ratio(ours.prefill_tok_s, w.prefill_tok_s)} | ${ratio(ours.decode_tok_s, w.decode_tok_s)} |
| wllama (llama.cpp wasm) | ${f1(w.prefill_tok_s)} | ${f1(w.decode_tok_s)} | 1.00x | 1.00x |

Targets: decode >= 6x wllama: ${ratio(ours.decode_tok_s, w.decode_tok_s)} (${verdict(ours.decode_tok_s >= 6 * w.decode_tok_s)}); prefill >= 12x wllama: ${ratio(ours.prefill_tok_s, w.prefill_tok_s)} (${verdict(ours.prefill_tok_s >= 12 * w.prefill_tok_s)}).
`;
}

// ---------------------------------------------------------------- 3. Node LTS: against native llama.cpp
async function secNative(la) {
  const f = q('q4_k_m');
  const cmds = [cliLts(f), ['node', ['tools/bench_llamacpp.js', f, String(P), String(N), '1']]];
  const [ours, native] = bestOfCli(cmds);
  return `${head('native', la)}
\`${f}\` (${f1(mib(f))} MiB), the same counts (${P}-token prompt, ${N} greedy decode steps), best of ${REPS} interleaved runs,
wall clock and, less disturbed by other tenants, the process's CPU time. Native llama.cpp is node-llama-cpp's prebuilt CPU
library (the build it picks for this CPU).

| engine | prefill tok/s | decode tok/s | decode tok/s by CPU time | prefill vs llama.cpp | decode vs llama.cpp | decode vs llama.cpp, CPU time |
| --- | ---: | ---: | ---: | ---: | ---: | ---: |
| mobilellm wasm SIMD128${ours.relaxed ? ' (relaxed SIMD)' : ''}, Node ${ltsVersion}, 1 thread | ${f1(ours.prefill_tok_s)} | ${f1(ours.decode_tok_s)} | ${f1(ours.decode_cpu_tok_s)} | ${ratio(ours.prefill_tok_s, native.prefill_tok_s)} | ${ratio(ours.decode_tok_s, native.decode_tok_s)} | ${ratio(ours.decode_cpu_tok_s, native.decode_cpu_tok_s)} |
| llama.cpp native (node-llama-cpp), 1 thread | ${f1(native.prefill_tok_s)} | ${f1(native.decode_tok_s)} | ${f1(native.decode_cpu_tok_s)} | 1.00x | 1.00x | 1.00x |

Target: decode >= 1.0x native llama.cpp: ${ratio(ours.decode_tok_s, native.decode_tok_s)} by the wall clock (${verdict(ours.decode_tok_s >= native.decode_tok_s)}), ${ratio(ours.decode_cpu_tok_s, native.decode_cpu_tok_s)} by CPU time (${verdict(ours.decode_cpu_tok_s >= native.decode_cpu_tok_s)}).
Commands: \`${cmdText(cmds[0])}\` and \`${cmdText(cmds[1])}\`.
`;
}

// ---------------------------------------------------------------- 4. layer sharing at Q4_K_M
/** Whether our engine gives bit-identical logits on two files for a few prompt tokens (the
 * shared file and its unrolled copy must be the same network). */
async function sameLogits(a, b) {
  const { Engine } = await import('../wasm_build/engine.js');
  const eng = await Engine.create();
  const logits = [a, b].map((f) => {
    const m = eng.loadModel(readFileSync(f)), c = m.newContext({ nCtx: 64, nBatch: 8 });
    c.eval(Int32Array.from([1, 500, 900, 77, 3000, 12]));
    const l = Float32Array.from(c.logitsView());
    c.free();
    m.free();
    return l;
  });
  return logits[0].length === logits[1].length && logits[0].every((x, i) => Object.is(x, logits[1][i]));
}

async function secSharing(la) {
  const shared = quantizedModel('125m', 'q4_k_m', { share: 2, mode: 'immediate' });
  const unrolled = unrollShared(shared, `${QUANT_DIR}/random-125m-share2-unrolled-q4_k_m.gguf`);
  const same = await sameLogits(shared, unrolled);
  const T2 = ['--threads', '2'];
  const cmds = [cliLts(shared, T2), cliLts(unrolled, T2), cliLts(shared), cliLts(unrolled)];
  const node = bestOfCli(cmds);
  let br = null, brErr = null;
  try {
    const res = await benchBrowser({ jobs: [shared, unrolled].map((model) => ({ run: 'mobilellm', model })), P, N, threads: 2, reps: REPS });
    br = [best(res, 'mobilellm', shared, 2), best(res, 'mobilellm', unrolled, 2)];
  } catch (e) {
    brErr = String(e?.message ?? e).split('\n')[0];
  }
  const row = (name, file, r, base) => `| ${name} | ${f1(mib(file))} | ${f1(r.peak_mem_mb ?? r.heap_mb)} | ${f1(r.prefill_tok_s)} | ${f1(r.decode_tok_s)} | ${ratio(r.decode_tok_s, base.decode_tok_s)} | ${r.decode_cpu_tok_s ? ratio(r.decode_cpu_tok_s, base.decode_cpu_tok_s) : '-'} |`;
  const rows = [
    row(`2x30 \`immediate\`, Node ${ltsVersion}, 2 threads`, shared, node[0], node[1]),
    row(`60 unrolled, Node ${ltsVersion}, 2 threads`, unrolled, node[1], node[1]),
    row(`2x30 \`immediate\`, Node ${ltsVersion}, 1 thread`, shared, node[2], node[3]),
    row(`60 unrolled, Node ${ltsVersion}, 1 thread`, unrolled, node[3], node[3]),
    ...(br ? [row(`2x30 \`immediate\`, ${br[0].browser}, 2 threads`, shared, br[0], br[1]), row(`60 unrolled, ${br[1].browser}, 2 threads`, unrolled, br[1], br[1])] : []),
  ];
  const tgt = (name, a, b) => `${name}: ${ratio(a.decode_tok_s, b.decode_tok_s)} (${verdict(a.decode_tok_s >= 1.35 * b.decode_tok_s)})${a.decode_cpu_tok_s
    ? `, by CPU time ${ratio(a.decode_cpu_tok_s, b.decode_cpu_tok_s)} (${verdict(a.decode_cpu_tok_s >= 1.35 * b.decode_cpu_tok_s)})` : ''}`;
  return `${head('sharing', la)}
\`${shared}\`: the 125M shape with 30 stored blocks, each run twice in a row (\`mobilellm.layer_share\` repeat 2,
\`immediate\`), written as F32 and quantized by llama.cpp to Q4_K_M (the share keys pass through); \`${unrolled}\`: that
file's quantized blocks copied into 60 plain layers (tools/bench_models.js unrollShared; our engine's logits on the two
${same ? 'are bit-identical, checked in this run' : 'DIFFER in this run: the comparison below is not of the same network'}). ${P}-token prompt, ${N} decode steps, best of ${REPS} interleaved runs. Heap: the wasm memory after the run.
"By CPU time": the same ratio of decode rates by the process's CPU time (Node only; every thread's, the pool's waits
included), which other tenants' load disturbs less than the wall clock.

| model | file MiB | wasm heap MiB | prefill tok/s | decode tok/s | decode vs 60 unrolled | by CPU time |
| --- | ---: | ---: | ---: | ---: | ---: | ---: |
${rows.join('\n')}
${brErr ? `\nThe Chromium run failed: ${brErr}\n` : ''}
Target (2 threads, 2x30 immediate decode >= 1.35x the 60 unrolled): ${tgt(`Node ${ltsVersion}`, node[0], node[1])}${br ? `; ${tgt('Chromium', br[0], br[1])}` : ''}.
Node commands: \`${cmdText(cmds[0])}\` (and the unrolled file, and without \`--threads 2\`).
`;
}

// ---------------------------------------------------------------- 5. the five shapes
async function secShapes(la) {
  const list = [...(QUICK ? ['125m', '350m'] : ['125m', '350m', '600m', '1b', '1.5b']).map((s) => [s, 'q4_k_m']), ...(QUICK ? [] : [['1.5b', 'q8_0']])];
  const SP = QUICK ? 8 : 16, SN = QUICK ? 8 : 32;
  const rows = [];
  const made = new Set();
  try {
    for (const [shape, type] of list) {
      const free = os.freemem() / 2 ** 30;
      log(`shape ${shape} ${type} (${free.toFixed(1)} GiB free memory)`);
      const f = quantizedModel(shape, type);
      if (shape !== '125m') made.add(shape);
      try {
        const res = await benchBrowser({ jobs: [1, 2].map((threads) => ({ run: 'mobilellm', model: f, threads })), P: SP, N: SN, reps: 1 });
        const [a, b] = [best(res, 'mobilellm', f, 1), best(res, 'mobilellm', f, 2)];
        rows.push({ shape, type, file: mib(f), ...a, decode2: b.decode_tok_s, heap: Math.max(a.heap_mb, b.heap_mb) });
      } catch (e) {
        rows.push({ shape, type, file: mib(f), error: String(e?.message ?? e).split('\n')[0] });
      }
      // the large files go as soon as they are measured (1.5B's F16 source alone is 3 GB)
      if (!argv.includes('--keep') && shape !== '125m' && list.filter(([s]) => s === shape).at(-1)[1] === type) removeShape(shape);
    }
  } finally {
    if (!argv.includes('--keep')) for (const s of made) removeShape(s);
  }
  const name = (s) => s.toUpperCase();
  const shapeText = (s) => { const x = SHAPES[s]; return `${x.nLayer}/${x.nEmbd}/${x.nFf}/${x.nHead}/${x.nHeadKv}`; };
  const table = rows.map((r) => (r.error
    ? `| ${name(r.shape)} ${r.type.toUpperCase()} | ${shapeText(r.shape)} | ${f1(r.file)} | did not run: ${r.error} | | | | | | |`
    : `| ${name(r.shape)} ${r.type.toUpperCase()} | ${shapeText(r.shape)} | ${f1(r.file)} | ${f1(r.heap)} | ${f1(r.kv_mb)} | ${(r.heap / (r.file + r.kv_mb)).toFixed(3)}x | ${f1(r.fetch_ms + r.load_ms)} (${f1(r.load_ms)}) | ${f1(r.decode_tok_s)} | ${f1(r.decode2)} | ${f1(r.prefill_tok_s)} |`));
  const ok = rows.filter((r) => !r.error);
  const worst = ok.reduce((m, r) => Math.max(m, r.heap / (r.file + r.kv_mb)), 0);
  return `${head('shapes', la)}
Each shape (layers/dim/ffn/heads/KV heads, DESIGN.md; vocabulary 32000, tied embedding) with random weights,
written as F16 (125M: F32) by \`tools/make_random_model.js\` and quantized by llama.cpp's \`llama_model_quantize\`, made in
${QUANT_DIR}/ at bench time and deleted once measured. ${ok[0]?.browser ?? 'Chromium'}, one page worker per run; the model streams
from the local server into the wasm heap. Load: from the request to a ready model, in brackets the engine's load of the
bytes already in the heap (parse, checks, repack). Heap: the worker's wasm memory after the run (it never shrinks); KV: the
F32 cache of the run's ${ok[0]?.n_ctx ?? 256}-position context. ${SP}-token prompt, then ${SN} greedy decode steps; one run each.

| model | shape | file MiB | wasm heap MiB | KV MiB | heap / (file + KV) | load ms (engine) | decode tok/s, 1 thread | decode tok/s, 2 threads | prefill tok/s, 1 thread |
| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${table.join('\n')}

Target: heap <= 1.1x (file + KV cache): worst ${worst.toFixed(3)}x (${verdict(ok.length === rows.length && worst <= 1.1)}${ok.length < rows.length ? `; ${rows.length - ok.length} did not run` : ''}).
`;
}

const RUN = { chromium: secChromium, wllama: secWllama, native: secNative, sharing: secSharing, shapes: secShapes };
let md = '';
for (const s of SECTIONS) if (only.includes(s)) md += `\n${await section(s, RUN[s])}`;

const upd = arg('--update');
if (upd) {
  let text = existsSync(upd) ? readFileSync(upd, 'utf8') : '';
  for (const s of SECTIONS) {
    if (!only.includes(s)) continue;
    const m = new RegExp(`<!-- bench_4bit:${s} -->\\n[\\s\\S]*?<!-- /bench_4bit:${s} -->\\n`).exec(md)[0];
    const re = new RegExp(`<!-- bench_4bit:${s} -->\\n[\\s\\S]*?<!-- /bench_4bit:${s} -->\\n`);
    text = re.test(text) ? text.replace(re, () => m) : `${text.trimEnd()}\n\n${m}`;
  }
  writeFileSync(upd, text);
  log(`updated ${upd}`);
}
if (argv.includes('--md') || !upd) process.stdout.write(md);
