#!/usr/bin/env node
// bench_kx4.js — the relaxed module's K x4 matmuls alone (src/kernels_relaxed_quant.c's Q4_K,
// Q5_K, Q6_K x4 kernels) beside its Q8_0 x4, per weight, by process CPU time: decode with the
// matrix in cache and streamed from memory (32 copies), and a prefill of NT tokens. Random levels
// with positive normal fp16 scales (timing only). Several builds (LABEL=PATH) share one memory
// and run interleaved, so that an A/B of a kernel change is one run; pin it (taskset -c 0).
//   taskset -c 0 build/node-*/bin/node tools/bench_kx4.js [--reps R] [--tokens NT] [LABEL=relaxed.wasm ...]
import { relaxedBench, timeCases } from './relaxed_bench.js';

const { reps: REPS, tokens: NT, builds, u8, dv, alloc, rnd, half, q8Tokens } =
  relaxedBench('bench_kx4', process.argv.slice(2), { reps: 5, tokens: 64 });
const COPIES = 32;

const Q8 = 8, Q4K = 12, Q5K = 13, Q6K = 14; // dtype.h
const NAME = { [Q8]: 'Q8_0', [Q4K]: 'Q4_K', [Q5K]: 'Q5_K', [Q6K]: 'Q6_K' };
// bytes per block of four rows and the fp16 scales' offsets in it (kernels.h KERN_LAYOUT_*_X4)
const BLOCK = { [Q8]: 136, [Q4K]: 576, [Q5K]: 704, [Q6K]: 840 };
const HALVES = { [Q8]: [0, 4], [Q4K]: [0, 8], [Q5K]: [0, 8], [Q6K]: [832, 4] };
const WIDTH = { [Q8]: 32, [Q4K]: 256, [Q5K]: 256, [Q6K]: 256 };
const PLAIN = 1, X4 = 4, QUANT_X4 = 0x100; // kernels.h KERN_RELAXED_*

function matrix(type, nIn, rows) {
  const bytes = (rows / 4) * (nIn / WIDTH[type]) * BLOCK[type], p = alloc(bytes);
  const [at, n] = HALVES[type];
  for (let i = 0; i < bytes; i++) u8[p + i] = rnd() & 255;
  for (let o = 0; o < bytes; o += BLOCK[type]) for (let r = 0; r < n; r++) u8.set(half(), p + o + at + 2 * r);
  return p;
}
/** n tokens of nIn inputs: Q8_0 blocks (34 bytes a 32) or block_q8_K (292 bytes a 256). */
function tokens(k, nIn, n) {
  if (!k) return q8Tokens(nIn, n);
  const p = alloc((n * nIn / 256) * 292);
  for (let b = 0; b < n * nIn / 256; b++) {
    const o = p + 292 * b;
    dv.setFloat32(o, 0.01, true);
    let s = 0;
    for (let i = 0; i < 256; i++) {
      const q = (rnd() % 255) - 127;
      u8[o + 4 + i] = q & 255;
      s += q;
      if (i % 16 === 15) { dv.setInt16(o + 260 + 2 * (i >> 4), s, true); s = 0; }
    }
  }
  return p;
}
const XBYTES = 131072; // the engine's K x4 scratch (src/kernels_quant.c kx4_relaxed)
const xbuf = alloc(XBYTES), wbuf = alloc(1 << 16), out = alloc(4 * 4096 * Math.max(NT, 1));

function call(b, type, w, nIn, rows, xq, nTok) {
  if (type === Q8) return b.k.mllm_relaxed_q8_0(out, rows, w, nIn, rows, xq, nTok, xbuf, 131072, wbuf, 65536, PLAIN | X4);
  return b.k.mllm_relaxed_quant(type | QUANT_X4, out, rows, w, nIn, rows, xq, nTok, xbuf, XBYTES);
}

const types = [Q8, Q4K, Q5K, Q6K];
const cases = [];
for (const [nIn, rows] of [[1536, 576], [2048, 1024]]) {
  const x = { 0: [tokens(0, nIn, 1), tokens(0, nIn, NT)], 1: [tokens(1, nIn, 1), tokens(1, nIn, NT)] };
  for (const type of types) {
    const ms = Array.from({ length: COPIES }, () => matrix(type, nIn, rows));
    const [x1, xp] = x[type === Q8 ? 0 : 1];
    const c = (what, n, fn) => cases.push({ what: `${what} ${nIn}x${rows}`, type, n, fn });
    c('decode, cache', 64, (b) => { for (let i = 0; i < 64; i++) call(b, type, ms[0], nIn, rows, x1, 1); });
    c('decode, memory', 2 * COPIES, (b) => { for (let i = 0; i < 2 * COPIES; i++) call(b, type, ms[i % COPIES], nIn, rows, x1, 1); });
    c(`prefill ${NT}`, 4, (b) => { for (let i = 0; i < 4; i++) call(b, type, ms[i], nIn, rows, xp, NT); });
  }
}
timeCases(cases, builds, REPS, Q8, [Q4K, Q5K, Q6K], NAME);
