#!/usr/bin/env node
// bench_pro.js — MobileLLM-Pro-shaped random Q8_0 file (GGUF mobilellm-p1: 30 layers, width
// 1280, 20/4 heads, ffn 6144, vocab 202048, global attention on layers 0, 4, ..., 28 and 29, a
// window of 512 elsewhere): file size, load time and heap, the context's memory at 8k and 32k
// positions with the window against the same file with full attention on every layer (its
// sliding_window patched to 0), and decode tok/s near position 0, by CPU time, one thread; then
// the speed rows of issue 22: prefill and decode in Node and Chromium at 1 and 2 threads, and
// decode after 0 / 2k / 8k cached positions (Node, 1 thread; --quick: no 8k, no speed reps).
//   node tools/bench_pro.js [--ctx 8192,32768] [--decode 4] [--md] [--quick] [--no-speed] [-o FILE.gguf]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { GGUFWriter, GGUFValueType } from '../models/convert/gguf_writer.js';
import { tensorBytes } from '../models/convert/quant.js';
import { addLlamaMeta } from '../models/convert/llama_meta.js';
import { GGMLType } from '../lib/ggml_types.js';
import { GGUF_KEY, GGUF_ARCH, GGUF_ARCHITECTURE, archKey } from '../lib/gguf_keys.js';
import { benchBrowser } from './bench_browser.js';
import { nodeLts } from './node_lts.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const PRO = { nLayer: 30, nEmbd: 1280, nFf: 6144, nHead: 20, nHeadKv: 4, headDim: 64, nVocab: 202048, window: 512, nCtx: 131072 };
const SWA = Array.from({ length: PRO.nLayer }, (_, i) => (i % 4 === 0 || i === PRO.nLayer - 1 ? 0 : 1));
const ARCH = GGUF_ARCHITECTURE.MOBILELLM_P1;

/** Deterministic uniform(-a, a) floats (xorshift32): the values do not matter, only the size. */
function uniform(seed) {
  let s = seed >>> 0 || 1;
  return (n, a) => {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
      out[i] = ((s / 4294967296) * 2 - 1) * a;
    }
    return out;
  };
}

/** The Pro-shaped random Q8_0 GGUF. */
export function makeProModel(seed = 1) {
  const { nLayer, nEmbd, nFf, nHead, nHeadKv, headDim, nVocab } = PRO;
  const rand = uniform(seed);
  const w = new GGUFWriter({ alignment: 32 });
  addLlamaMeta(w, {
    arch: ARCH, name: 'random-mobilellm-pro', ftype: 7, nCtx: PRO.nCtx, nEmbd, nLayer, nFf, nHead, nHeadKv, headDim,
    ropeTheta: 500000, rmsEps: 1e-5, nVocab,
    pro: { window: PRO.window, swaLayers: SWA, ropeThetaSwa: null, qkNorm: false, ropeLayers: null, tempScale: 0, tempLength: 0 },
  });
  // a byte-level vocabulary: 256 byte symbols, then filler pieces
  const tokens = Array.from({ length: nVocab }, (_, i) => (i < 256 ? String.fromCodePoint(0x100 + i) : `w${i}`));
  w.addString(GGUF_KEY.TOKENIZER_MODEL, 'gpt2');
  w.addString(GGUF_KEY.TOKENIZER_PRE, 'llama4');
  w.addArray(GGUF_KEY.TOKENIZER_TOKENS, GGUFValueType.STRING, tokens);
  w.addArray(GGUF_KEY.TOKENIZER_TOKEN_TYPE, GGUFValueType.INT32, new Int32Array(nVocab).fill(1));
  w.addArray(GGUF_KEY.TOKENIZER_MERGES, GGUFValueType.STRING, []);
  w.addU32(GGUF_KEY.TOKENIZER_BOS_ID, 1);
  w.addU32(GGUF_KEY.TOKENIZER_EOS_ID, 2);
  const q8 = (ne, a) => () => tensorBytes(GGMLType.Q8_0, rand(ne[0] * ne[1], a));
  const ones = () => tensorBytes(GGMLType.F32, new Float32Array(nEmbd).fill(1));
  const kv = nHeadKv * headDim, q = nHead * headDim;
  w.addTensor('token_embd.weight', GGMLType.Q8_0, [nEmbd, nVocab], q8([nEmbd, nVocab], 0.05));
  w.addTensor('output_norm.weight', GGMLType.F32, [nEmbd], ones);
  for (let l = 0; l < nLayer; l++) {
    w.addTensor(`blk.${l}.attn_norm.weight`, GGMLType.F32, [nEmbd], ones);
    w.addTensor(`blk.${l}.ffn_norm.weight`, GGMLType.F32, [nEmbd], ones);
    for (const [n, ne] of [['attn_q', [nEmbd, q]], ['attn_k', [nEmbd, kv]], ['attn_v', [nEmbd, kv]], ['attn_output', [q, nEmbd]],
      ['ffn_gate', [nEmbd, nFf]], ['ffn_up', [nEmbd, nFf]], ['ffn_down', [nFf, nEmbd]]]) {
      w.addTensor(`blk.${l}.${n}.weight`, GGMLType.Q8_0, ne, q8(ne, 0.03));
    }
  }
  return w.toBuffer();
}

/** Offset of the u32 value of metadata key `key` (a little-endian u64 length, the key, type 4). */
function u32ValueOffset(bytes, key) {
  const k = Buffer.from(key);
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, 64 << 20));
  for (let at = buf.indexOf(k); at >= 0; at = buf.indexOf(k, at + 1)) {
    if (Number(buf.readBigUInt64LE(at - 8)) === k.length && buf.readUInt32LE(at + k.length) === 4) return bytes.byteOffset + at + k.length + 4;
  }
  throw new Error(`no u32 key ${key}`);
}

/** The KV cache bytes the engine allocates (forward.h): windowed layers a ring of 2 x (window + batch - 1) rows. */
export function kvBytes(nCtx, nBatch, windowed) {
  const ring = PRO.window + nBatch - 1;
  const rows = SWA.reduce((s, w) => s + (windowed && w && 2 * ring < nCtx ? 2 * ring : nCtx), 0);
  return 2 * rows * PRO.nHeadKv * PRO.headDim * 4;
}

/**
 * Prefill and decode of `file` through `mobilellm bench` (Node LTS) and the bench page (Chromium) at
 * 1 and 2 threads, best of `reps`; then decode after each of `positions` cached positions (Node,
 * 1 thread, one run each: a 16-token prompt after K positions, then 32 steps).
 */
async function speedRows(file, { reps, positions, P = 128, N = 32 }) {
  const node = path.relative(ROOT, nodeLts());
  const rel = path.relative(ROOT, file);
  const cli = (extra) => JSON.parse(execFileSync(node, ['bin/mobilellm.js', 'bench', '-m', rel, ...extra],
    { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26 }).trim().split('\n').pop());
  const best = new Map();
  const keep = (k, r) => {
    const b = best.get(k);
    if (!b) { best.set(k, { ...r }); return; }
    for (const f of ['prefill_tok_s', 'decode_tok_s']) b[f] = Math.max(b[f], r[f]);
    b.load_ms = Math.min(b.load_ms, r.load_ms);
  };
  for (let rep = 0; rep < reps; rep++) {
    for (const threads of [1, 2]) {
      console.error(`[bench_pro] rep ${rep + 1}/${reps}: Node ${threads}t`);
      const r = cli(['-p', String(P), '-n', String(N), '--threads', String(threads)]);
      keep(`Node ${execFileSync(node, ['--version'], { encoding: 'utf8' }).trim()}|${threads}`, { heap_mb: r.peak_mem_mb, ...r });
      console.error(`[bench_pro] rep ${rep + 1}/${reps}: Chromium ${threads}t`);
      const [b] = await benchBrowser({ model: rel, runs: ['mobilellm'], threads, P, N });
      if (b.result.error) throw new Error(`Chromium: ${b.result.error}`);
      keep(`Chromium|${threads}`, b.result);
    }
  }
  const rows = [...best].map(([k, r]) => ({ runtime: k.split('|')[0], threads: Number(k.split('|')[1]), ...r }));
  const pos = [];
  for (const K of positions) {
    console.error(`[bench_pro] decode after ${K} positions`);
    const r = cli(['-p', '16', '-n', '32', '--ctx-pos', String(K)]);
    pos.push({ K, decode_tok_s: r.decode_tok_s, heap_mb: r.peak_mem_mb });
  }
  return { rows, pos, P, N };
}

async function main() {
  const args = process.argv.slice(2);
  const opt = (name, def) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : def; };
  const ctxs = opt('--ctx', '8192,32768').split(',').map(Number);
  const nDecode = Number(opt('--decode', '4'));
  const quick = args.includes('--quick');
  const file = opt('-o', path.join(ROOT, 'build/fixtures/random-pro-q8_0.gguf'));
  const mib = (b) => b / (1 << 20);
  if (!fs.existsSync(file)) {
    const c0 = process.cpuUsage();
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(`${file}.partial`, makeProModel());
    fs.renameSync(`${file}.partial`, file);
    const c = process.cpuUsage(c0);
    console.error(`wrote ${file} in ${((c.user + c.system) / 1e6).toFixed(1)} s CPU`);
  }
  const bytes = new Uint8Array(fs.readFileSync(file));
  const swaAt = u32ValueOffset(bytes, archKey(ARCH, GGUF_ARCH.SLIDING_WINDOW));
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  const { Engine } = await import('../wasm_build/engine.js');
  const cpu = (f) => { const c = process.cpuUsage(); const r = f(); const d = process.cpuUsage(c); return [r, (d.user + d.system) / 1000]; };
  const out = { fileMiB: mib(bytes.length), loadavg: (await import('node:os')).loadavg()[0], runs: [] };
  for (const windowed of [true, false]) {
    view.setUint32(swaAt - bytes.byteOffset, windowed ? PRO.window : 0, true);
    for (const nCtx of ctxs) {
      const eng = await Engine.create();
      const [model, loadMs] = cpu(() => eng.loadModel(bytes));
      const heapLoaded = eng.heapBytes;
      let ctx;
      try {
        ctx = model.newContext({ nCtx, nBatch: 32 });
      } catch (e) {
        out.runs.push({ windowed, nCtx, loadMs, heapLoadedMiB: mib(heapLoaded), error: e.message });
        model.free();
        continue;
      }
      const run = { windowed, nCtx, loadMs, heapLoadedMiB: mib(heapLoaded), contextMiB: mib(eng.heapBytes - heapLoaded), kvMiB: mib(kvBytes(nCtx, 32, windowed)) };
      if (windowed && nCtx === ctxs[0] && nDecode > 0) {
        ctx.eval([1]);
        const [, ms] = cpu(() => { for (let i = 0; i < nDecode; i++) ctx.eval([3 + i]); });
        run.decodeTokS = nDecode / (ms / 1000);
      }
      out.runs.push(run);
      ctx.free();
      model.free();
    }
  }
  const fmt = (x) => (typeof x === 'number' ? x.toFixed(1) : '-');
  out.speed = args.includes('--no-speed') ? null : await speedRows(file, { reps: quick ? 1 : 2, positions: quick ? [0, 2048] : [0, 2048, 8192] });
  if (args.includes('--md')) {
    console.log(`\n## MobileLLM-Pro: KV memory with its window against full attention, and speed (\`node tools/bench_pro.js --md${quick ? ' --quick' : ''}\`)\n`);
    console.log(`\`build/fixtures/random-pro-q8_0.gguf\`: Pro's shape (GGUF \`mobilellm-p1\`, 30 layers, width 1280, 20/4 heads, ffn 6144,
vocab 202048; global attention on layers 0, 4, ..., 28 and 29, a window of 512 on the other 21) with random Q8_0 weights,
${out.fileMiB.toFixed(0)} MiB. "Full" is the same file with \`attention.sliding_window\` 0. Context memory is the heap's growth
for \`newContext({nCtx, nBatch: 32})\`; KV is what forward.h's layout allocates (float32 K and V; a windowed layer keeps a ring of
2 x (window + batch - 1) rows, so that every window is one run of rows). Load and decode by CPU time; decode near
position 0. Load average ${out.loadavg.toFixed(1)} on this run.\n`);
    console.log('| attention | context | load (CPU ms) | heap after load (MiB) | context memory (MiB) | of it KV (MiB) | decode tok/s (1 thread) |');
    console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const r of out.runs) {
      console.log(`| ${r.windowed ? 'local-global (window 512)' : 'full on every layer'} | ${r.nCtx} | ${r.loadMs.toFixed(0)} | ${r.heapLoadedMiB.toFixed(0)} | ${r.error ? r.error : r.contextMiB.toFixed(0)} | ${r.kvMiB?.toFixed(0) ?? ''} | ${r.decodeTokS?.toFixed(2) ?? ''} |`);
    }
    if (out.speed) {
      const { rows, pos, P, N } = out.speed;
      console.log(`\nSpeed on the same file (windowed): \`mobilellm bench -m build/fixtures/random-pro-q8_0.gguf -p ${P} -n ${N} --threads T\`
under Node, the same procedure on the bench page in Chromium (\`tools/bench_browser.js\`); best of ${quick ? 1 : 2} interleaved runs,
wall clock. Heap: the wasm heap after the run.\n`);
      console.log('| runtime | threads | load ms | heap MiB | prefill tok/s | decode tok/s |');
      console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
      for (const r of rows) console.log(`| ${r.runtime} | ${r.threads} | ${fmt(r.load_ms)} | ${fmt(r.heap_mb)} | ${fmt(r.prefill_tok_s)} | ${fmt(r.decode_tok_s)} |`);
      console.log(`\nDecode after K cached positions (Node, 1 thread, one run each; \`mobilellm bench -m FILE -p 16 -n 32 --ctx-pos K\`):
the windowed layers attend to at most 512 positions, so only the 9 global layers' attention grows with K.\n`);
      console.log(`| ${pos.map((p) => `decode tok/s at ${p.K}`).join(' | ')} | ${pos.map((p) => `heap MiB at ${p.K}`).join(' | ')} |`);
      console.log(`| ${pos.map(() => '---:').join(' | ')} | ${pos.map(() => '---:').join(' | ')} |`);
      console.log(`| ${pos.map((p) => fmt(p.decode_tok_s)).join(' | ')} | ${pos.map((p) => fmt(p.heap_mb)).join(' | ')} |`);
    }
  } else {
    console.log(JSON.stringify(out, null, 2));
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
