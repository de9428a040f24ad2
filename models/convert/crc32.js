// crc32.js — the CRC-32 of zip archives (ISO 3309 / ITU-T V.42, reflected polynomial 0xEDB88320,
// initial and final XOR 0xFFFFFFFF), computed incrementally: in plain JS eight bytes at a time
// (slicing-by-8; browsers), or by Node's zlib where the runtime has it (several times faster on
// multi-gigabyte checkpoints). Both give the same value (tests/node/hostile.test.js).

const TABLES = (() => {
  const t = new Uint32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    for (let s = 1; s < 8; s++) t[s * 256 + n] = (t[(s - 1) * 256 + n] >>> 8) ^ t[t[(s - 1) * 256 + n] & 0xff];
  }
  return t;
})();

/** Node's zlib.crc32 (Node >= 20.16 / 22.2), or null (browsers, older Node). */
const native = (() => {
  try {
    const z = /** @type {any} */ (globalThis).process?.getBuiltinModule?.('node:zlib');
    return typeof z?.crc32 === 'function' ? /** @type {(b: Uint8Array, c: number) => number} */ (z.crc32) : null;
  } catch {
    return null;
  }
})();

/**
 * Continue a CRC-32 over more bytes: crc32(b) for a whole buffer, crc32(b2, crc32(b1)) for two parts.
 * @param {Uint8Array} bytes
 * @param {number} [crc] the CRC of the bytes before (0 to start)
 * @returns {number} unsigned 32-bit CRC
 */
export function crc32(bytes, crc = 0) {
  return native ? native(bytes, crc) >>> 0 : crc32Js(bytes, crc);
}

/**
 * The plain-JS CRC-32 (what browsers run); same arguments and result as crc32.
 * @param {Uint8Array} bytes
 * @param {number} [crc]
 * @returns {number}
 */
export function crc32Js(bytes, crc = 0) {
  const t = TABLES;
  let c = ~crc >>> 0;
  let i = 0;
  const n = bytes.length;
  for (; i + 8 <= n; i += 8) {
    const a = (c ^ (bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24))) >>> 0;
    c = t[7 * 256 + (a & 0xff)] ^ t[6 * 256 + ((a >>> 8) & 0xff)] ^ t[5 * 256 + ((a >>> 16) & 0xff)] ^ t[4 * 256 + (a >>> 24)]
      ^ t[3 * 256 + bytes[i + 4]] ^ t[2 * 256 + bytes[i + 5]] ^ t[256 + bytes[i + 6]] ^ t[bytes[i + 7]];
  }
  for (; i < n; i++) c = t[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}
