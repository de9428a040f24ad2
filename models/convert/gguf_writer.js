// gguf_writer.js — writes GGUF v3 files (the layout llama.cpp reads), with no dependencies.
//
// File layout: magic "GGUF", u32 version 3, u64 tensor count, u64 kv count, the kvs, the
// tensor infos (name, u32 n_dims, u64 ne[n_dims], u32 type, u64 offset), zero padding to
// the alignment, then each tensor's data at its offset (relative to the data section),
// each padded to the alignment. All little-endian.
//
//   const w = new GGUFWriter({ alignment: 32 });
//   w.addString('general.architecture', 'llama');
//   w.addArray('tokenizer.ggml.tokens', GGUFValueType.STRING, ['<unk>', '<s>']);
//   w.addTensor('token_embd.weight', GGMLType.F32, [n_embd, n_vocab], bytes);   (lib/ggml_types.js)
//   const u8 = w.toBuffer();   or   await w.writeFile(path);
//
// Tensor bytes may also be a function returning them (a Promise too, for writeFile), so a
// converter can produce each tensor only when it is written instead of holding all of them.

import { ggmlType } from '../../lib/ggml_types.js';
import { nodeBuiltin } from '../../lib/node_builtin.js';

/** GGUF metadata value types. */
export const GGUFValueType = Object.freeze({
  UINT8: 0, INT8: 1, UINT16: 2, INT16: 3, UINT32: 4, INT32: 5, FLOAT32: 6, BOOL: 7,
  STRING: 8, ARRAY: 9, UINT64: 10, INT64: 11, FLOAT64: 12,
});

const SCALAR_SIZE = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };

const enc = new TextEncoder();

/**
 * Bytes a tensor of this type and shape occupies.
 * @param {number} type ggml type
 * @param {number[]} ne
 * @returns {number}
 */
export function ggmlNBytes(type, ne) {
  const t = ggmlType(type);
  if (!t) throw new RangeError(`unsupported ggml type ${type}`);
  if (ne[0] % t.blockElems !== 0) throw new RangeError(`ne[0] = ${ne[0]} is not a multiple of the block size ${t.blockElems} of type ${type}`);
  let n = (ne[0] / t.blockElems) * t.blockBytes;
  for (let i = 1; i < ne.length; i++) n *= ne[i];
  return n;
}

/** @param {number} x @param {number} a @returns {number} */
function alignUp(x, a) {
  return Math.ceil(x / a) * a;
}

/**
 * @typedef {{ type: number, value: any, arrType?: number }} KV
 * @typedef {{ name: string, nameBytes: Uint8Array, type: number, ne: number[], nbytes: number,
 *             bytes: Uint8Array | (() => Uint8Array | Promise<Uint8Array>), offset: number }} TensorRec
 */

/** Growable little-endian byte sink. */
class Sink {
  constructor() {
    this.buf = new Uint8Array(1024);
    this.dv = new DataView(this.buf.buffer);
    this.len = 0;
  }
  /** @param {number} n */
  reserve(n) {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const nb = new Uint8Array(cap);
    nb.set(this.buf.subarray(0, this.len));
    this.buf = nb;
    this.dv = new DataView(nb.buffer);
  }
  u8(v) { this.reserve(1); this.dv.setUint8(this.len, v); this.len += 1; }
  i8(v) { this.reserve(1); this.dv.setInt8(this.len, v); this.len += 1; }
  u16(v) { this.reserve(2); this.dv.setUint16(this.len, v, true); this.len += 2; }
  i16(v) { this.reserve(2); this.dv.setInt16(this.len, v, true); this.len += 2; }
  u32(v) { this.reserve(4); this.dv.setUint32(this.len, v, true); this.len += 4; }
  i32(v) { this.reserve(4); this.dv.setInt32(this.len, v, true); this.len += 4; }
  f32(v) { this.reserve(4); this.dv.setFloat32(this.len, v, true); this.len += 4; }
  f64(v) { this.reserve(8); this.dv.setFloat64(this.len, v, true); this.len += 8; }
  u64(v) { this.reserve(8); this.dv.setBigUint64(this.len, BigInt(v), true); this.len += 8; }
  i64(v) { this.reserve(8); this.dv.setBigInt64(this.len, BigInt(v), true); this.len += 8; }
  /** @param {Uint8Array} b */
  bytes(b) { this.reserve(b.length); this.buf.set(b, this.len); this.len += b.length; }
  /** @param {string|Uint8Array} s */
  str(s) {
    const b = typeof s === 'string' ? enc.encode(s) : s;
    this.u64(b.length);
    this.bytes(b);
  }
  result() { return this.buf.subarray(0, this.len); }
}

/**
 * @param {Sink} s
 * @param {number} type
 * @param {any} v
 * @param {string} key for messages
 */
function writeScalar(s, type, v, key) {
  switch (type) {
    case 0: checkInt(v, 0, 0xff, key); s.u8(v); break;
    case 1: checkInt(v, -0x80, 0x7f, key); s.i8(v); break;
    case 2: checkInt(v, 0, 0xffff, key); s.u16(v); break;
    case 3: checkInt(v, -0x8000, 0x7fff, key); s.i16(v); break;
    case 4: checkInt(v, 0, 0xffffffff, key); s.u32(v); break;
    case 5: checkInt(v, -0x80000000, 0x7fffffff, key); s.i32(v); break;
    case 6: s.f32(Number(v)); break;
    case 7: s.u8(v ? 1 : 0); break;
    case 8:
      if (typeof v !== 'string' && !(v instanceof Uint8Array)) throw new TypeError(`metadata '${key}': ${v} is not a string`);
      s.str(v);
      break;
    case 10: checkBig(v, 0n, 0xffffffffffffffffn, key); s.u64(v); break;
    case 11: checkBig(v, -0x8000000000000000n, 0x7fffffffffffffffn, key); s.i64(v); break;
    case 12: s.f64(Number(v)); break;
    default: throw new RangeError(`metadata '${key}': unknown value type ${type}`);
  }
}

function checkInt(v, lo, hi, key) {
  if (!Number.isInteger(v) || v < lo || v > hi) throw new RangeError(`metadata '${key}': ${v} is not an integer in [${lo}, ${hi}]`);
}

function checkBig(v, lo, hi, key) {
  let b;
  try { b = BigInt(v); } catch { throw new RangeError(`metadata '${key}': ${v} is not an integer`); }
  if (b < lo || b > hi) throw new RangeError(`metadata '${key}': ${v} out of range`);
}

/**
 * Array payload: u32 element type, u64 count, elements. Nested arrays: elemType ARRAY and
 * each element `{ type, values }`.
 */
function writeArray(s, elemType, values, key) {
  s.u32(elemType);
  s.u64(values.length);
  if (elemType === GGUFValueType.ARRAY) {
    for (const inner of values) writeArray(s, inner.type, inner.values, key);
  } else {
    for (let i = 0; i < values.length; i++) writeScalar(s, elemType, values[i], key);
  }
}

export class GGUFWriter {
  /** @param {{ alignment?: number }} [opts] alignment of tensor data (power of two; 32 default) */
  constructor(opts = {}) {
    const a = opts.alignment ?? 32;
    if (!Number.isInteger(a) || a <= 0 || (a & (a - 1)) !== 0) throw new RangeError(`alignment must be a power of two, got ${a}`);
    this.alignment = a;
    /** @type {Map<string, KV>} */
    this.kv = new Map();
    /** @type {TensorRec[]} */
    this.tensors = [];
    this.tensorNames = new Set();
    if (a !== 32) this.addU32('general.alignment', a);
  }

  /** @param {string} key @param {number} type @param {any} value */
  addValue(key, type, value) {
    if (typeof key !== 'string' || key.length === 0) throw new TypeError('metadata key must be a non-empty string');
    if (this.kv.has(key)) throw new Error(`duplicate metadata key '${key}'`);
    if (type === GGUFValueType.ARRAY) throw new TypeError('use addArray for arrays');
    writeScalar(new Sink(), type, value, key); // validate now, not at write time
    this.kv.set(key, { type, value });
  }
  addString(key, s) { this.addValue(key, GGUFValueType.STRING, s); }
  addU8(key, v) { this.addValue(key, GGUFValueType.UINT8, v); }
  addI8(key, v) { this.addValue(key, GGUFValueType.INT8, v); }
  addU16(key, v) { this.addValue(key, GGUFValueType.UINT16, v); }
  addI16(key, v) { this.addValue(key, GGUFValueType.INT16, v); }
  addU32(key, v) { this.addValue(key, GGUFValueType.UINT32, v); }
  addI32(key, v) { this.addValue(key, GGUFValueType.INT32, v); }
  addU64(key, v) { this.addValue(key, GGUFValueType.UINT64, v); }
  addI64(key, v) { this.addValue(key, GGUFValueType.INT64, v); }
  addF32(key, v) { this.addValue(key, GGUFValueType.FLOAT32, v); }
  addF64(key, v) { this.addValue(key, GGUFValueType.FLOAT64, v); }
  addBool(key, v) { this.addValue(key, GGUFValueType.BOOL, v); }

  /**
   * @param {string} key
   * @param {number} elemType a GGUFValueType (ARRAY: elements are { type, values })
   * @param {ArrayLike<any>} values array or typed array
   */
  addArray(key, elemType, values) {
    if (typeof key !== 'string' || key.length === 0) throw new TypeError('metadata key must be a non-empty string');
    if (this.kv.has(key)) throw new Error(`duplicate metadata key '${key}'`);
    const vals = Array.isArray(values) ? values : Array.from(values);
    writeArray(new Sink(), elemType, vals, key); // validate now
    this.kv.set(key, { type: GGUFValueType.ARRAY, arrType: elemType, value: vals });
  }

  /**
   * @param {string} name
   * @param {number} type ggml type id (lib/ggml_types.js GGMLType)
   * @param {number[]} ne dims, ne[0] contiguous (HF [out, in] is ne [in, out])
   * @param {Uint8Array | (() => Uint8Array | Promise<Uint8Array>)} bytes raw data in that type
   */
  addTensor(name, type, ne, bytes) {
    if (this.tensorNames.has(name)) throw new Error(`duplicate tensor name '${name}'`);
    if (!Array.isArray(ne) || ne.length < 1 || ne.length > 4) throw new RangeError(`tensor '${name}': 1 to 4 dims required`);
    const dims = ne.map(Number);
    for (const d of dims) if (!Number.isInteger(d) || d < 0) throw new RangeError(`tensor '${name}': bad dimension ${d}`);
    let nbytes;
    try { nbytes = ggmlNBytes(type, dims); } catch (e) { throw new RangeError(`tensor '${name}': ${e.message}`); }
    if (bytes instanceof Uint8Array) {
      if (bytes.length !== nbytes) throw new RangeError(`tensor '${name}': ${bytes.length} bytes given, type ${type} with ne [${dims}] needs ${nbytes}`);
    } else if (typeof bytes !== 'function') {
      throw new TypeError(`tensor '${name}': bytes must be a Uint8Array or a function returning one`);
    }
    this.tensorNames.add(name);
    this.tensors.push({ name, nameBytes: enc.encode(name), type, ne: dims, nbytes, bytes, offset: 0 });
  }

  /** Header (through the padding before the data section) and the tensor offsets. */
  header() {
    const s = new Sink();
    s.u32(0x46554747); // "GGUF"
    s.u32(3);
    s.u64(this.tensors.length);
    s.u64(this.kv.size);
    for (const [key, kv] of this.kv) {
      s.str(key);
      s.u32(kv.type);
      if (kv.type === GGUFValueType.ARRAY) writeArray(s, kv.arrType, kv.value, key);
      else writeScalar(s, kv.type, kv.value, key);
    }
    let off = 0;
    for (const t of this.tensors) {
      t.offset = off;
      off = alignUp(off + t.nbytes, this.alignment);
      s.str(t.nameBytes);
      s.u32(t.ne.length);
      for (const d of t.ne) s.u64(d);
      s.u32(t.type);
      s.u64(t.offset);
    }
    const dataStart = alignUp(s.len, this.alignment);
    s.bytes(new Uint8Array(dataStart - s.len));
    return { head: s.result(), dataStart, dataSize: off };
  }

  /** @param {TensorRec} t @param {Uint8Array} b */
  static checkData(t, b) {
    if (!(b instanceof Uint8Array) || b.length !== t.nbytes) throw new RangeError(`tensor '${t.name}': data provider gave ${b && b.length} bytes, expected ${t.nbytes}`);
    return b;
  }

  /** The whole file in memory. @returns {Uint8Array} */
  toBuffer() {
    const { head, dataStart, dataSize } = this.header();
    const out = new Uint8Array(dataStart + dataSize);
    out.set(head, 0);
    for (const t of this.tensors) {
      const b = typeof t.bytes === 'function' ? t.bytes() : t.bytes;
      if (b && typeof b.then === 'function') throw new TypeError(`tensor '${t.name}': async data provider; use writeFile`);
      out.set(GGUFWriter.checkData(t, b), dataStart + t.offset);
    }
    return out;
  }

  /** Streams the file to disk (Node). @param {string} path */
  async writeFile(path) {
    const fs = await nodeBuiltin('fs/promises');
    const { head, dataStart } = this.header();
    const fh = await fs.open(path, 'w');
    const write = async (/** @type {Uint8Array} */ b) => {
      // FileHandle.write may write less than asked; loop until all of b is out
      for (let done = 0; done < b.length;) done += (await fh.write(b, done, b.length - done)).bytesWritten;
    };
    try {
      await write(head);
      let pos = dataStart;
      for (const t of this.tensors) {
        const start = dataStart + t.offset;
        if (start > pos) await write(new Uint8Array(start - pos));
        const b = GGUFWriter.checkData(t, typeof t.bytes === 'function' ? await t.bytes() : t.bytes);
        await write(b);
        pos = start + b.length;
      }
      const end = alignUp(pos, this.alignment);
      if (this.tensors.length && end > pos) await write(new Uint8Array(end - pos));
    } finally {
      await fh.close();
    }
  }
}
