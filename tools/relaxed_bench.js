// relaxed_bench.js — the harness bench_x4quant.js and bench_kx4.js share: several builds of the
// relaxed module (LABEL=PATH arguments) instantiated over one memory, random test data, and
// cases timed interleaved across the builds by process CPU time, best of REPS, printed against
// the fastest build's Q8_0 time.
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';

/**
 * Options and builds from argv: --reps R, --tokens NT, then LABEL=PATH builds.
 * @param {string} tool @param {string[]} argv @param {{reps: number, tokens: number}} defaults
 */
export function relaxedBench(tool, argv, defaults) {
  const args = [...argv];
  const opt = (name, def) => {
    const i = args.indexOf(name);
    return i >= 0 ? Number(args.splice(i, 2)[1]) : def;
  };
  const reps = opt('--reps', defaults.reps), tokens = opt('--tokens', defaults.tokens);
  const extra = Object.fromEntries(Object.entries(defaults.extra ?? {}).map(([k, v]) => [k, opt(k, v)]));
  const builds = (args.length ? args : ['relaxed=build/relaxed/relaxed.wasm']).map((a) => {
    const [label, file] = a.includes('=') ? a.split('=') : [a, a];
    return { label, file };
  });
  const memory = new WebAssembly.Memory({ initial: 8192, maximum: 65536 });
  try {
    for (const b of builds) b.k = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(b.file)), { env: { memory } }).exports;
  } catch (e) {
    console.error(`${tool}: ${e.message} (it needs relaxed SIMD: run it with the Node LTS, build/node-*/bin/node)`);
    process.exit(1);
  }
  const u8 = new Uint8Array(memory.buffer), dv = new DataView(memory.buffer);
  let top = 1 << 20, rng = 12345;
  const alloc = (n) => { const p = top; top += (n + 63) & ~63; return p; };
  const rnd = () => { rng ^= rng << 13; rng >>>= 0; rng ^= rng >>> 17; rng ^= rng << 5; return (rng >>>= 0); };
  const half = () => [rnd() & 255, 0x20 + (rnd() & 7)]; // a positive normal fp16, little-endian
  /** n tokens of nIn inputs as Q8_0 blocks (quants -127..127). */
  const q8Tokens = (nIn, n) => {
    const p = alloc((n * nIn / 32) * 34);
    for (let b = 0; b < n * nIn / 32; b++) {
      u8.set(half(), p + 34 * b);
      for (let i = 0; i < 32; i++) u8[p + 34 * b + 2 + i] = ((rnd() % 255) - 127) & 255;
    }
    return p;
  };
  return { reps, tokens, extra, builds, u8, dv, alloc, rnd, half, q8Tokens };
}

/**
 * Time each case on each build (one warm-up call of c.fn, then one timed), REPS rounds
 * interleaved, and print µs per call with each type's ratio to the fastest build's Q8_0.
 * @param {{what: string, type: number, n: number, fn: (b: any) => void}[]} cases
 * @param {{label: string}[]} builds @param {number} reps @param {number} q8 the Q8_0 type
 * @param {number[]} types the others, in print order @param {Record<number, string>} name
 */
export function timeCases(cases, builds, reps, q8, types, name) {
  const best = new Map();
  for (let r = 0; r < reps; r++)
    for (const c of cases)
      for (const b of builds) {
        c.fn(b);
        const t0 = process.cpuUsage();
        c.fn(b);
        const t = process.cpuUsage(t0), us = (t.user + t.system) / c.n, key = `${c.what}|${c.type}|${b.label}`;
        best.set(key, Math.min(best.get(key) ?? Infinity, us));
      }
  console.log(`us per call, best of ${reps}, process CPU time; x: the fastest build's Q8_0 time / this (load ${loadavg()[0].toFixed(1)})`);
  for (const what of [...new Set(cases.map((c) => c.what))]) {
    const q8us = Math.min(...builds.map((b) => best.get(`${what}|${q8}|${b.label}`)));
    const cells = builds.length > 1 ? builds.map((b) => `Q8_0 ${b.label} ${best.get(`${what}|${q8}|${b.label}`).toFixed(1)}`) : [`Q8_0 ${q8us.toFixed(1)}`];
    for (const t of types) for (const b of builds) {
      const v = best.get(`${what}|${t}|${b.label}`);
      cells.push(`${name[t]}${builds.length > 1 ? ` ${b.label}` : ''} ${v.toFixed(1)} (${(q8us / v).toFixed(2)}x)`);
    }
    console.log(`${what}: ${cells.join(' | ')}`);
  }
}
