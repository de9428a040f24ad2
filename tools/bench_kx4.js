#!/usr/bin/env node
// bench_kx4.js — the relaxed module's K x4 matmuls alone (src/kernels_relaxed_quant.c's Q4_K,
// Q5_K, Q6_K x4 kernels) beside its Q8_0 x4, per weight, by process CPU time: decode with the
// matrix in cache and streamed from memory (32 copies), and a prefill of NT tokens. Random levels
// with positive normal fp16 scales (timing only). Several builds (LABEL=PATH) share one memory
// and run interleaved, so that an A/B of a kernel change is one run; pin it (taskset -c 0).
//   taskset -c 0 build/node-*/bin/node tools/bench_kx4.js [--reps R] [--tokens NT] [LABEL=relaxed.wasm ...]
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';

const argv = process.argv.slice(2);
const opt = (name, def) => {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv.splice(i, 2)[1]) : def;
};
const REPS = opt('--reps', 5), NT = opt('--tokens', 64), COPIES = 32;
const builds = (argv.length ? argv : ['relaxed=build/relaxed/relaxed.wasm']).map((a) => {
  const [label, file] = a.includes('=') ? a.split('=') : [a, a];
  return { label, file };
});

const Q8 = 8, Q4K = 12, Q5K = 13, Q6K = 14; // dtype.h
const NAME = { [Q8]: 'Q8_0', [Q4K]: 'Q4_K', [Q5K]: 'Q5_K', [Q6K]: 'Q6_K' };
// bytes per block of four rows and the fp16 scales' offsets in it (kernels.h KERN_LAYOUT_*_X4)
const BLOCK = { [Q8]: 136, [Q4K]: 576, [Q5K]: 704, [Q6K]: 840 };
const HALVES = { [Q8]: [0, 4], [Q4K]: [0, 8], [Q5K]: [0, 8], [Q6K]: [832, 4] };
const WIDTH = { [Q8]: 32, [Q4K]: 256, [Q5K]: 256, [Q6K]: 256 };
const PLAIN = 1, X4 = 4, QUANT_X4 = 0x100; // kernels.h KERN_RELAXED_*

const memory = new WebAssembly.Memory({ initial: 8192, maximum: 65536 });
try {
  for (const b of builds) b.k = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(b.file)), { env: { memory } }).exports;
} catch (e) {
  console.error(`bench_kx4: ${e.message} (it needs relaxed SIMD: run it with the Node LTS, build/node-*/bin/node)`);
  process.exit(1);
}
const u8 = new Uint8Array(memory.buffer), dv = new DataView(memory.buffer);
let top = 1 << 20;
const alloc = (n) => { const p = top; top += (n + 63) & ~63; return p; };
let rng = 12345;
const rnd = () => { rng ^= rng << 13; rng >>>= 0; rng ^= rng >>> 17; rng ^= rng << 5; return (rng >>>= 0); };
const half = () => [rnd() & 255, 0x20 + (rnd() & 7)]; // a positive normal fp16, little-endian

function matrix(type, nIn, rows) {
  const bytes = (rows / 4) * (nIn / WIDTH[type]) * BLOCK[type], p = alloc(bytes);
  const [at, n] = HALVES[type];
  for (let i = 0; i < bytes; i++) u8[p + i] = rnd() & 255;
  for (let o = 0; o < bytes; o += BLOCK[type]) for (let r = 0; r < n; r++) u8.set(half(), p + o + at + 2 * r);
  return p;
}
/** n tokens of nIn inputs: Q8_0 blocks (34 bytes a 32) or block_q8_K (292 bytes a 256). */
function tokens(k, nIn, n) {
  if (!k) {
    const p = alloc((n * nIn / 32) * 34);
    for (let b = 0; b < n * nIn / 32; b++) {
      u8.set(half(), p + 34 * b);
      for (let i = 0; i < 32; i++) u8[p + 34 * b + 2 + i] = ((rnd() % 255) - 127) & 255;
    }
    return p;
  }
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
const XBYTES = 1 << 20;
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
const best = new Map();
for (let r = 0; r < REPS; r++)
  for (const c of cases)
    for (const b of builds) {
      c.fn(b);
      const t0 = process.cpuUsage();
      c.fn(b);
      const t = process.cpuUsage(t0), us = (t.user + t.system) / c.n, key = `${c.what}|${c.type}|${b.label}`;
      best.set(key, Math.min(best.get(key) ?? Infinity, us));
    }
console.log(`us per call, best of ${REPS}, process CPU time; x: the fastest build's Q8_0 time / this (load ${loadavg()[0].toFixed(1)})`);
for (const what of [...new Set(cases.map((c) => c.what))]) {
  const q8 = Math.min(...builds.map((b) => best.get(`${what}|${Q8}|${b.label}`)));
  const cells = [`Q8_0 ${q8.toFixed(1)}`];
  for (const t of [Q4K, Q5K, Q6K]) for (const b of builds) {
    const v = best.get(`${what}|${t}|${b.label}`);
    cells.push(`${NAME[t]}${builds.length > 1 ? ` ${b.label}` : ''} ${v.toFixed(1)} (${(q8 / v).toFixed(2)}x)`);
  }
  console.log(`${what}: ${cells.join(' | ')}`);
}
