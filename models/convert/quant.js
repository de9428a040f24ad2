// quant.js — f32 <-> f16/bf16 conversion and Q8_0 quantization, bit-identical to src/codec.c.
//
// Everything works on float32 bit patterns so results do not depend on JS's float64
// arithmetic: each float op below is computed in float64 and rounded once to float32
// (Math.fround), which for +, *, / of float32 operands equals the correctly rounded float32
// result, i.e. what C computes with FLT_EVAL_METHOD 0.

/** ggml type ids this module can encode (same numbers as GGMLType in gguf_writer.js). */
export const QK8_0 = 32;
export const Q8_0_BLOCK_BYTES = 34;

const f32buf = new Float32Array(1);
const u32buf = new Uint32Array(f32buf.buffer);

/** @param {number} x @returns {number} the float32 bit pattern of x (rounded to float32) */
function bitsOf(x) {
  f32buf[0] = x;
  return u32buf[0];
}

/** @param {number} u @returns {number} the float32 whose bits are u */
function fromBits(u) {
  u32buf[0] = u >>> 0;
  return f32buf[0];
}

/**
 * One float32 to IEEE half bits, round to nearest even (as numpy and ggml); NaN becomes
 * the canonical quiet NaN 0x7e00 with its sign.
 * @param {number} x
 * @returns {number}
 */
export function f32ToF16Bits(x) {
  const u = bitsOf(x);
  const sign = (u >>> 16) & 0x8000;
  const ax = u & 0x7fffffff;
  if (ax > 0x7f800000) return sign | 0x7e00;
  if (ax >= 0x477ff000) return sign | 0x7c00; // >= 65520 rounds to inf
  if (ax < 0x38800000) { // fp16 subnormal or zero
    if (ax <= 0x33000000) return sign; // <= 2^-25 rounds to (even) zero
    const e = ax >>> 23;
    const m = (ax & 0x7fffff) | 0x800000;
    const shift = 126 - e;
    let r = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (r & 1))) r++;
    return sign | r;
  }
  let r = (ax >>> 13) - (112 << 10);
  const rem = ax & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (r & 1))) r++;
  return sign | r;
}

/** @param {number} h half bits @returns {number} */
export function f16BitsToF32(h) {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  const man = h & 0x3ff;
  if (exp === 0x1f) return fromBits(sign | 0x7f800000 | (man << 13));
  if (exp === 0) {
    const v = man * 2 ** -24;
    return sign ? -v : v;
  }
  return fromBits(sign | ((exp + 112) << 23) | (man << 13));
}

/** @param {number} x @returns {number} bfloat16 bits, round to nearest even, NaN kept quiet */
export function f32ToBF16Bits(x) {
  const u = bitsOf(x);
  if ((u & 0x7fffffff) > 0x7f800000) return ((u >>> 16) | 0x40) & 0xffff;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff; // u + 0x8000 < 2^33: exact in float64
}

/** @param {number} h @returns {number} */
export function bf16BitsToF32(h) {
  return fromBits((h & 0xffff) << 16);
}

/** @param {ArrayLike<number>} src @returns {Uint16Array} half bits */
export function f32ToF16(src) {
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = f32ToF16Bits(src[i]);
  return out;
}

/** @param {Uint16Array} src @returns {Float32Array} */
export function f16ToF32(src) {
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = f16BitsToF32(src[i]);
  return out;
}

/** @param {ArrayLike<number>} src @returns {Uint16Array} bfloat16 bits */
export function f32ToBF16(src) {
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = f32ToBF16Bits(src[i]);
  return out;
}

/** @param {Uint16Array} src @returns {Float32Array} */
export function bf16ToF32(src) {
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = bf16BitsToF32(src[i]);
  return out;
}

/** C's roundf: half away from zero. Exact for float32 inputs (float64 has the headroom). */
function roundf(v) {
  return v < 0 ? -Math.floor(-v + 0.5) : Math.floor(v + 0.5);
}

/**
 * ggml's quantize_row_q8_0_ref: per 32 values, d = amax/127, q = roundf(x * (1/d)), d
 * stored as fp16. Blocks are 34 bytes: d (u16 LE) then 32 int8. Non-finite products give
 * q = 0 (the C side does the same; ggml leaves them undefined).
 * @param {Float32Array} src length a multiple of 32
 * @returns {Uint8Array}
 */
export function quantizeQ8_0(src) {
  if (src.length % QK8_0 !== 0) throw new RangeError(`Q8_0 needs a multiple of ${QK8_0} values, got ${src.length}`);
  const nb = src.length / QK8_0;
  const out = new Uint8Array(nb * Q8_0_BLOCK_BYTES);
  const q8 = new Int8Array(out.buffer);
  const x = src instanceof Float32Array ? src : Float32Array.from(src);
  for (let b = 0; b < nb; b++) {
    const base = b * QK8_0;
    let amax = 0;
    for (let j = 0; j < QK8_0; j++) {
      const v = Math.abs(x[base + j]);
      amax = amax > v ? amax : v; // exactly ggml's MAX(amax, v), NaN behaviour included
    }
    const d = Math.fround(amax / 127);
    const id = d !== 0 ? Math.fround(1 / d) : 0;
    const h = f32ToF16Bits(d);
    const o = b * Q8_0_BLOCK_BYTES;
    out[o] = h & 0xff;
    out[o + 1] = h >>> 8;
    for (let j = 0; j < QK8_0; j++) {
      const q = roundf(Math.fround(x[base + j] * id));
      q8[o + 2 + j] = q >= -128 && q <= 127 ? q : 0; // NaN fails both tests
    }
  }
  return out;
}

/**
 * @param {Uint8Array} bytes Q8_0 blocks
 * @param {number} [n] element count (default: all blocks)
 * @returns {Float32Array}
 */
export function dequantizeQ8_0(bytes, n) {
  const nb = n === undefined ? Math.floor(bytes.length / Q8_0_BLOCK_BYTES) : n / QK8_0;
  const out = new Float32Array(nb * QK8_0);
  const q8 = new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length);
  for (let b = 0; b < nb; b++) {
    const o = b * Q8_0_BLOCK_BYTES;
    const d = f16BitsToF32(bytes[o] | (bytes[o + 1] << 8));
    for (let j = 0; j < QK8_0; j++) out[b * QK8_0 + j] = Math.fround(d * q8[o + 2 + j]);
  }
  return out;
}

/** @param {Uint16Array} u16 @returns {Uint8Array} little-endian bytes */
function u16le(u16) {
  const out = new Uint8Array(u16.length * 2);
  for (let i = 0; i < u16.length; i++) {
    out[2 * i] = u16[i] & 0xff;
    out[2 * i + 1] = u16[i] >>> 8;
  }
  return out;
}

/**
 * Raw GGUF tensor bytes of `values` encoded as a ggml type (0 F32, 1 F16, 8 Q8_0, 30 BF16),
 * little-endian.
 * @param {number} ggmlType
 * @param {Float32Array} values
 * @returns {Uint8Array}
 */
export function tensorBytes(ggmlType, values) {
  switch (ggmlType) {
    case 0: {
      const out = new Uint8Array(values.length * 4);
      const dv = new DataView(out.buffer);
      for (let i = 0; i < values.length; i++) dv.setFloat32(4 * i, values[i], true);
      return out;
    }
    case 1: return u16le(f32ToF16(values));
    case 30: return u16le(f32ToBF16(values));
    case 8: return quantizeQ8_0(values);
    default: throw new RangeError(`tensorBytes: unsupported ggml type ${ggmlType}`);
  }
}
