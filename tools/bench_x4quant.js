#!/usr/bin/env node
// bench_x4quant.js — the relaxed module's x4 matmuls alone (src/kernels_relaxed.c's Q8_0 x4 and
// src/kernels_relaxed_x4quant.c's Q4_0, Q5_0, IQ4_NL, Q4_1, Q5_1; and Q4_1 / Q5_1 on the file's
// layout, src/kernels_relaxed_quant.c, marked "rows") on MobileLLM-125M's two matrix shapes, by
// process CPU time: decode with the matrix in L2 and streamed from memory (64 copies), and a
// prefill of NT tokens. Random bytes with positive normal scales (the plain-scales path); several
// builds of the module (LABEL=PATH) share one memory and run interleaved, so that an A/B of a
// kernel change is one run. Needs relaxed SIMD (Node 24+): build/relaxed/relaxed.wasm (make wasm).
//   build/node-*/bin/node tools/bench_x4quant.js [--reps R] [--tokens NT] [--xbytes B] [LABEL=relaxed.wasm ...]
// A label containing xbN (e.g. xb128=build/relaxed/relaxed.wasm) runs that build with N KiB of
// x4 prefill scratch (the engine's RELAXED_X4QUANT_SCRATCH), else --xbytes (default 131072).
import { relaxedBench, timeCases } from './relaxed_bench.js';

const { reps: REPS, tokens: NT, extra, builds, u8, alloc, rnd, half, q8Tokens } =
  relaxedBench('bench_x4quant', process.argv.slice(2), { reps: 5, tokens: 64, extra: { '--xbytes': 131072 } });
const COPIES = 64;
for (const b of builds) {
  const xb = /xb(\d+)/.exec(b.label);
  b.xbytes = xb ? Number(xb[1]) * 1024 : extra['--xbytes'];
}

const Q4 = 2, Q41 = 3, Q5 = 6, Q51 = 7, Q8 = 8, IQ4 = 20; // dtype.h
const ROWS = 100; // + type: that type on the file's layout (the relaxed kernels before the x4 layouts)
const NAME = { [Q8]: 'Q8_0', [Q4]: 'Q4_0', [Q5]: 'Q5_0', [IQ4]: 'IQ4_NL', [Q41]: 'Q4_1', [Q51]: 'Q5_1',
  [ROWS + Q41]: 'Q4_1 rows', [ROWS + Q51]: 'Q5_1 rows' };
// bytes per block of four rows (kernels.h; the file's layouts: four blocks)
const BLOCK = { [Q8]: 136, [Q4]: 72, [Q5]: 88, [IQ4]: 72, [Q41]: 80, [Q51]: 96, [ROWS + Q41]: 80, [ROWS + Q51]: 96 };
const PLAIN = 1, X4 = 4, UNSIGNED = 8; // kernels.h KERN_RELAXED_*
const withM = (type) => type % ROWS === Q41 || type % ROWS === Q51;

/** A 1536 x 576 (or 576 x 1536) matrix of type in its x4 layout (or the file's): random levels, plain scales. */
function matrix(type) {
  const bytes = (1536 / 4) * (576 / 32) * BLOCK[type], p = alloc(bytes);
  for (let i = 0; i < bytes; i++) u8[p + i] = rnd() & 255;
  if (type > ROWS) { // the file's blocks: d, m first
    for (let o = 0; o < bytes; o += BLOCK[type] / 4) { u8.set(half(), p + o); u8.set(half(), p + o + 2); }
    return p;
  }
  for (let o = 0; o < bytes; o += BLOCK[type]) for (let r = 0; r < (withM(type) ? 8 : 4); r++) u8.set(half(), p + o + 2 * r);
  return p;
}

/** n tokens of nIn inputs as Q8_1 blocks (d, s, quants -127..127; s any positive half: timing only). */
function q81Tokens(nIn, n) {
  const p = alloc((n * nIn / 32) * 36);
  for (let b = 0; b < n * nIn / 32; b++) {
    u8.set(half(), p + 36 * b);
    u8.set(half(), p + 36 * b + 2);
    for (let i = 0; i < 32; i++) u8[p + 36 * b + 4 + i] = ((rnd() % 255) - 127) & 255;
  }
  return p;
}
const xbuf = alloc(1 << 18), wbuf = alloc(1 << 16), out = alloc(4 * 1536 * Math.max(NT, 1));

function call(b, type, w, nIn, rows, xq, nTok) {
  if (type === Q8) return b.k.mllm_relaxed_q8_0(out, rows, w, nIn, rows, xq, nTok, xbuf, 131072, wbuf, 65536, PLAIN | X4);
  if (type > ROWS) return b.k.mllm_relaxed_quant(type - ROWS, out, rows, w, nIn, rows, xq, nTok, xbuf, 65536);
  return b.k.mllm_relaxed_x4quant(type, out, rows, w, nIn, rows, xq, nTok, xbuf, b.xbytes, PLAIN | (type === IQ4 ? UNSIGNED : 0));
}

const types = [Q8, Q4, Q5, IQ4, ROWS + Q41, Q41, ROWS + Q51, Q51];
const mats = Object.fromEntries(types.map((t) => [t, Array.from({ length: COPIES }, () => matrix(t))]));
const cases = [];
for (const [nIn, rows] of [[576, 1536], [1536, 576]]) {
  const t0 = [q8Tokens(nIn, 1), q8Tokens(nIn, NT)], t1 = [q81Tokens(nIn, 1), q81Tokens(nIn, NT)];
  for (const type of types) {
    const ms = mats[type], [x1, xp] = withM(type) ? t1 : t0;
    const c = (what, n, fn) => cases.push({ what: `${what} ${nIn}x${rows}`, type, n, fn });
    c('decode, L2', 64, (b) => { for (let i = 0; i < 64; i++) call(b, type, ms[0], nIn, rows, x1, 1); });
    c('decode, memory', 2 * COPIES, (b) => { for (let i = 0; i < 2 * COPIES; i++) call(b, type, ms[i % COPIES], nIn, rows, x1, 1); });
    c(`prefill ${NT}`, 4, (b) => { for (let i = 0; i < 4; i++) call(b, type, ms[i], nIn, rows, xp, NT); });
  }
}
timeCases(cases, builds, REPS, Q8, types.slice(1), NAME);
