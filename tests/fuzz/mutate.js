// mutate.js — a seeded structural mutator for the JS fuzz harnesses: byte-level edits (bit flips,
// interesting integers at any width, inserted / deleted / duplicated ranges, truncation, splices
// between seeds) and JSON-level edits (a node replaced by a value of another type, an extreme
// number, a deep or long structure, a shared subtree; keys deleted, added or renamed).
// Deterministic for a given seed, so every failure is reproducible from (target, seed, case).

/** mulberry32: a small deterministic PRNG. @param {number} seed @returns {() => number} in [0, 1) */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** @param {() => number} r @param {number} n @returns {number} an integer in [0, n) */
export const below = (r, n) => Math.floor(r() * n);
/** @template T @param {() => number} r @param {readonly T[]} a @returns {T} */
export const pick = (r, a) => a[below(r, a.length)];

const INTERESTING = [0n, 1n, 2n, 7n, 8n, 16n, 31n, 32n, 63n, 64n, 127n, 128n, 255n, 256n, 1023n, 4096n, 32767n, 32768n, 65535n,
  65536n, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n, 0x1000000000n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 63n - 1n,
  2n ** 63n, 2n ** 64n - 1n, 4365209024n];

/**
 * @param {Uint8Array} seed
 * @param {() => number} r
 * @param {{others?: Uint8Array[], focus?: [number, number][], maxGrow?: number}} [o]
 *   others: seeds to splice from; focus: byte ranges that get most of the edits (headers)
 * @returns {Uint8Array}
 */
export function mutateBytes(seed, r, o = {}) {
  let b = seed.slice();
  const maxLen = seed.length + (o.maxGrow ?? 4096);
  const pos = (len = 1) => {
    if (b.length <= len) return 0;
    if (o.focus?.length && r() < 0.8) {
      const [lo, hi] = pick(r, o.focus);
      const top = Math.min(hi, b.length - len);
      if (top > lo) return lo + below(r, top - lo);
    }
    return below(r, b.length - len + 1);
  };
  const edits = 1 + below(r, r() < 0.7 ? 2 : 8);
  for (let k = 0; k < edits; k++) {
    switch (below(r, 10)) {
      case 0: { const p = pos(); if (b.length) b[p] ^= 1 << below(r, 8); break; }
      case 1: { const p = pos(); if (b.length) b[p] = below(r, 256); break; }
      case 2: { const p = pos(); if (b.length) b[p] = pick(r, [0, 1, 0x7f, 0x80, 0xff, 0x0a, 0x28, 0x2e, 0x22, 0x5b, 0x7b]); break; }
      case 3: case 4: { // an interesting integer, little-endian, 1 to 8 bytes wide, maybe negated
        const w = pick(r, [1, 2, 4, 4, 8, 8]);
        const p = pos(w);
        if (p + w > b.length) break;
        let v = pick(r, INTERESTING);
        if (r() < 0.2) v = -v;
        if (r() < 0.2) v += BigInt(below(r, 5)) - 2n;
        v = BigInt.asUintN(w * 8, v);
        for (let i = 0; i < w; i++) b[p + i] = Number((v >> BigInt(8 * i)) & 0xffn);
        break;
      }
      case 5: { // delete a range
        const p = pos();
        const n = 1 + below(r, r() < 0.8 ? 16 : Math.max(1, b.length - p));
        b = concat(b.subarray(0, p), b.subarray(Math.min(b.length, p + n)));
        break;
      }
      case 6: { // insert random or repeated bytes
        const p = pos();
        const n = 1 + below(r, 64);
        const ins = new Uint8Array(n);
        const fill = below(r, 256);
        for (let i = 0; i < n; i++) ins[i] = r() < 0.5 ? fill : below(r, 256);
        b = concat(b.subarray(0, p), ins, b.subarray(p));
        break;
      }
      case 7: { // duplicate a range in place (repeated structures)
        const p = pos();
        const n = 1 + below(r, 64);
        const piece = b.slice(p, p + n);
        const times = 1 + below(r, 8);
        const parts = [b.subarray(0, p)];
        for (let i = 0; i < times; i++) parts.push(piece);
        parts.push(b.subarray(p));
        b = concat(...parts);
        break;
      }
      case 8: { // truncate
        if (r() < 0.5) b = b.slice(0, pos());
        break;
      }
      default: { // splice in a range of another seed
        const other = o.others?.length ? pick(r, o.others) : seed;
        if (!other.length) break;
        const s = below(r, other.length);
        const n = 1 + below(r, Math.min(256, other.length - s));
        const p = pos(n);
        if (r() < 0.5 && p + n <= b.length) b.set(other.subarray(s, s + n), p);
        else b = concat(b.subarray(0, p), other.subarray(s, s + n), b.subarray(p));
      }
    }
    if (b.length > maxLen) b = b.slice(0, maxLen);
  }
  return b;
}

/** @param {...Uint8Array} parts */
function concat(...parts) {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/** Values a JSON node is replaced by: other types, extremes, deep and long structures. */
function interestingJson(r, doc) {
  // at most 1000 levels, so three edits stay within what JSON.stringify (recursive) can write
  const deep = () => { let v = []; const d = 1 + below(r, 1000); for (let i = 0; i < d; i++) v = [v]; return v; };
  const choices = [
    () => null, () => true, () => false, () => 0, () => -1, () => 1, () => 0.5, () => -0.0, () => 2 ** 31, () => 2 ** 32 + 3,
    () => 2 ** 53 + 2, () => 1e308, () => -1e308, () => 4365209024, () => 100000000, () => 2 ** 28, () => '', () => 'x',
    () => 'constructor', () => '__proto__', () => 'NaN', () => '1', () => '\u0000\u001b[2J', () => 'x'.repeat(1 + below(r, 100000)),
    () => [], () => ({}), () => [1, 2], () => [0, 2 ** 53], () => [-1, 8], () => deep(),
    () => new Array(1 + below(r, 50000)).fill(1), () => ({ __proto__: 1, constructor: 2 }),
    () => structuredClone(randomNode(r, doc).value ?? null),
  ];
  return pick(r, choices)();
}

/** A random node of a JSON document with its parent and key. */
function randomNode(r, doc) {
  /** @type {{parent: any, key: string|number|null, value: any}[]} */
  const nodes = [];
  const visit = (parent, key, value, depth) => {
    nodes.push({ parent, key, value });
    if (depth > 8 || nodes.length > 5000 || value === null || typeof value !== 'object') return;
    if (Array.isArray(value)) {
      const step = Math.max(1, Math.floor(value.length / 64));
      for (let i = 0; i < value.length; i += step) visit(value, i, value[i], depth + 1);
    } else {
      for (const k of Object.keys(value)) visit(value, k, value[k], depth + 1);
    }
  };
  visit(null, null, doc, 0);
  return pick(r, nodes);
}

/**
 * A mutated copy of a JSON document (1-3 edits).
 * @param {any} doc
 * @param {() => number} r
 * @returns {any}
 */
export function mutateJson(doc, r) {
  let d = structuredClone(doc);
  const edits = 1 + below(r, 3);
  for (let k = 0; k < edits; k++) {
    const n = randomNode(r, d);
    const op = below(r, 10);
    if (n.parent === null) {
      if (op < 2) d = interestingJson(r, d);
      continue;
    }
    if (op < 6) n.parent[n.key] = interestingJson(r, d);
    else if (op < 7 && !Array.isArray(n.parent)) delete n.parent[n.key];
    else if (op < 8 && n.value && typeof n.value === 'object' && !Array.isArray(n.value)) n.value[pick(r, ['__proto__', 'x', 'constructor', 'dtype', 'shape', 'data_offsets', 'num_hidden_layers', 'vocab_size'])] = interestingJson(r, d);
    else if (op < 9 && !Array.isArray(n.parent)) { const v = n.parent[n.key]; delete n.parent[n.key]; n.parent[`${n.key}${pick(r, ['', '_', 'x'])}${below(r, 3)}`] = v; }
    else if (typeof n.value === 'number') n.parent[n.key] = pick(r, [n.value + 1, n.value - 1, n.value * 2, -n.value, n.value * 1e6, n.value + 0.5]);
  }
  return d;
}
