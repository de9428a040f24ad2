// int4.js — a fake-quantized int4 matrix (float weights w beside `<name>_fake_quantizer.scale`,
// as MobileLLM-Pro's int4 checkpoints hold them) written as the exact ggml type: symmetric int4 in
// groups of a multiple of 32 with one scale per group is Q4_0 exactly, block scale d = s and
// nibble q + 8, when every s is a float16 value. The fake quantizer's effective weight is
// s * clamp(round_half_even(w * (1 / s)), -8, 7) (torchao's int4 range, computed in float32).

import { ConvertError } from './errors.js';
import { f32ToF16Bits, f16BitsToF32 } from './quant.js';
import { GGMLType, ggmlType } from '../../lib/ggml_types.js';

const QK4_0 = ggmlType(GGMLType.Q4_0).blockElems; // 32
const Q4_0_BLOCK_BYTES = ggmlType(GGMLType.Q4_0).blockBytes; // 18: fp16 d, 16 bytes of nibbles

/** Suffixes of the quantizer's tensors beside `<matrix>.weight`. */
export const FAKE_QUANT_SCALE = '_fake_quantizer.scale';
export const FAKE_QUANT_ZERO_POINT = '_fake_quantizer.zero_point';

/** float32 round half to even (torch.round). @param {number} x */
function roundHalfEven(x) {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * The Q4_0 bytes of a fake-quantized matrix.
 * @param {Float32Array} w        row-major [rows, cols]
 * @param {number} rows
 * @param {number} cols
 * @param {Float32Array} scale    row-major [rows, groups] (groups = 1: one scale per row)
 * @param {number} groups
 * @param {Float32Array|null} zeroPoint same shape as scale, or null
 * @param {string} name           the checkpoint tensor, for messages
 * @returns {Uint8Array}
 */
export function fakeQuantToQ4_0(w, rows, cols, scale, groups, zeroPoint, name) {
  const size = cols / groups;
  if (!Number.isInteger(size) || size % QK4_0 !== 0) {
    throw new ConvertError(`The int4 tensor '${name}' has groups of ${size} values, not a multiple of ${QK4_0}, so no exact ggml type holds it.`, 'unsupported');
  }
  if (zeroPoint && zeroPoint.some((z) => z !== 0)) {
    throw new ConvertError(`The int4 tensor '${name}' has a non-zero zero point (asymmetric int4), which Q4_0 cannot hold exactly.`, 'unsupported');
  }
  const out = new Uint8Array((rows * cols / QK4_0) * Q4_0_BLOCK_BYTES);
  const q = new Int32Array(QK4_0);
  let o = 0;
  for (let r = 0; r < rows; r++) {
    for (let b = 0; b < cols / QK4_0; b++) {
      const s = scale[r * groups + Math.floor((b * QK4_0) / size)];
      const h = f32ToF16Bits(s);
      if (!(s > 0) || !Number.isFinite(s) || f16BitsToF32(h) !== s) {
        throw new ConvertError(`The int4 tensor '${name}' has the scale ${s} (row ${r}), which is not a positive float16 value, so Q4_0 cannot hold it exactly.`, 'unsupported');
      }
      const inv = Math.fround(1 / s);
      for (let j = 0; j < QK4_0; j++) {
        const v = roundHalfEven(Math.fround(w[r * cols + b * QK4_0 + j] * inv));
        q[j] = Math.min(7, Math.max(-8, v)) + 8;
      }
      out[o] = h & 0xff;
      out[o + 1] = h >>> 8;
      for (let j = 0; j < QK4_0 / 2; j++) out[o + 2 + j] = q[j] | (q[j + QK4_0 / 2] << 4);
      o += Q4_0_BLOCK_BYTES;
    }
  }
  return out;
}
