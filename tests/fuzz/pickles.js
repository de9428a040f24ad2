// pickles.js — test helper: hand-assembled pickle programs (opcodes from CPython's
// Lib/pickletools.py) for the hostile-input tests and the fuzzer's seeds.

export const OP = {
  PROTO: 0x80, STOP: 0x2e, MARK: 0x28, DUP: 0x32, NONE: 0x4e, BININT1: 0x4b, BININT: 0x4a, LONG4: 0x8b,
  SHORT_BINUNICODE: 0x8c, BINUNICODE: 0x58, EMPTY_LIST: 0x5d, APPENDS: 0x65, TUPLE: 0x74, TUPLE2: 0x86,
  EMPTY_DICT: 0x7d, SETITEM: 0x73, STACK_GLOBAL: 0x93, BINPERSID: 0x51, GLOBAL: 0x63, REDUCE: 0x52, BINPUT: 0x71,
};

/** Bytes of a pickle from numbers and byte arrays. @param {...(number|Uint8Array|number[])} parts */
export function pickle(...parts) {
  const out = [];
  for (const p of parts) {
    if (typeof p === 'number') out.push(p);
    else for (const b of p) out.push(b);
  }
  return new Uint8Array(out);
}

/** SHORT_BINUNICODE s. @param {string} s */
export function str(s) {
  const b = new TextEncoder().encode(s);
  return [OP.SHORT_BINUNICODE, b.length, ...b];
}

/** BININT n (little-endian int32). @param {number} n */
export function int(n) {
  return [OP.BININT, n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
}

/** A value repeated as a tuple pair `depth` times: 2^depth leaves in 2 bytes per level. @param {number} depth */
export function dupTuples(depth) {
  const out = [];
  for (let i = 0; i < depth; i++) out.push(OP.DUP, OP.TUPLE2);
  return out;
}
