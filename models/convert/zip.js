// zip.js — reads the central directory of a zip archive held in a random-access byte source,
// and locates each entry's data so a stored (uncompressed) entry can be read in place. That is
// all a torch.save checkpoint needs: PyTorch writes its archives uncompressed (and 64-byte
// aligned) precisely so tensors can be mapped without inflating. ZIP64 archives (> 4 GiB or
// > 65535 entries) are understood. Compressed entries are refused with a clear message rather
// than inflated: doing so synchronously in a browser would need a bundled inflater. Every
// entry's bytes are checked against the CRC-32 its directory records before they are used.

import { ConvertError } from './errors.js';
import { crc32 } from './crc32.js';

/** @typedef {import('./safetensors.js').ByteSource} ByteSource */

/**
 * @typedef {object} ZipEntry
 * @property {string} name
 * @property {number} method       0 stored, 8 deflate, ...
 * @property {number} size         uncompressed bytes
 * @property {number} compressedSize
 * @property {number} headerOffset offset of the local file header
 * @property {number} crc32
 */

const EOCD_SIG = 0x06054b50;
const ZIP64_LOCATOR_SIG = 0x07064b50;
const ZIP64_EOCD_SIG = 0x06064b50;
const CDIR_SIG = 0x02014b50;
const LOCAL_SIG = 0x04034b50;
const U32_MAX = 0xffffffff;
const U16_MAX = 0xffff;
/** Entries read at once when checking a large entry's CRC. */
const CRC_CHUNK = 16 << 20;
/** Most entries a directory may list (a state dict has one record per tensor storage). */
const MAX_ENTRIES = 1 << 20;
/** Most bytes of the central directory (a million entries with long names fit). */
const MAX_DIRECTORY = 256 << 20;

/** @param {Uint8Array} b */
const view = (b) => new DataView(b.buffer, b.byteOffset, b.byteLength);

/** @param {DataView} dv @param {number} off @param {(why: string) => Error} bad */
function u64(dv, off, bad) {
  if (off + 8 > dv.byteLength) throw bad('a ZIP64 field runs past its record');
  const v = dv.getBigUint64(off, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw bad('a 64-bit size or offset is beyond 2^53');
  return Number(v);
}

/** @param {number} v */
const hex = (v) => `0x${v.toString(16).padStart(8, '0')}`;

export class ZipReader {
  /**
   * @param {ByteSource} src
   * @param {string} fileName for messages
   */
  constructor(src, fileName) {
    this.src = src;
    this.fileName = fileName;
    const bad = (why) => new ConvertError(`${fileName} is not a readable zip archive: ${why}.`);
    if (src.size < 22) throw bad('it is too short');

    // The end-of-central-directory record sits in the last 22 + 65535 (comment) bytes.
    const tailLen = Math.min(src.size, 22 + U16_MAX);
    const tailStart = src.size - tailLen;
    const tail = src.read(tailStart, tailLen);
    const tdv = view(tail);
    let eocd = -1;
    for (let i = tailLen - 22; i >= 0; i--) {
      if (tdv.getUint32(i, true) === EOCD_SIG && i + 22 + tdv.getUint16(i + 20, true) <= tailLen) { eocd = i; break; }
    }
    if (eocd < 0) throw bad('no end-of-central-directory record');
    let count = tdv.getUint16(eocd + 10, true);
    let cdSize = tdv.getUint32(eocd + 12, true);
    let cdOffset = tdv.getUint32(eocd + 16, true);
    if (count === U16_MAX || cdSize === U32_MAX || cdOffset === U32_MAX) {
      // ZIP64: a locator right before the EOCD points at the ZIP64 EOCD record.
      const loc = eocd - 20;
      if (loc < 0 || tdv.getUint32(loc, true) !== ZIP64_LOCATOR_SIG) throw bad('a ZIP64 archive without a ZIP64 locator');
      const recOff = u64(tdv, loc + 8, bad);
      if (recOff + 56 > src.size) throw bad('the ZIP64 end record lies outside the file');
      const rec = view(src.read(recOff, 56));
      if (rec.getUint32(0, true) !== ZIP64_EOCD_SIG) throw bad('a damaged ZIP64 end record');
      count = u64(rec, 32, bad);
      cdSize = u64(rec, 40, bad);
      cdOffset = u64(rec, 48, bad);
    }
    if (cdSize > MAX_DIRECTORY) throw bad(`its central directory claims ${cdSize} bytes`);
    if (count > MAX_ENTRIES || count * 46 > cdSize) throw bad(`its directory claims ${count} entries in ${cdSize} bytes`);
    if (cdOffset + cdSize > src.size) throw bad(`its central directory (${cdSize} bytes at ${cdOffset}) lies outside the file (truncated?)`);

    /** @type {Map<string, ZipEntry>} */
    this.entries = new Map();
    /** @type {Set<string>} entries whose CRC-32 matched */
    this.verified = new Set();
    const cd = src.read(cdOffset, cdSize);
    const dv = view(cd);
    const dec = new TextDecoder();
    let p = 0;
    for (let i = 0; i < count; i++) {
      if (p + 46 > cdSize || dv.getUint32(p, true) !== CDIR_SIG) throw bad(`central directory entry ${i} is damaged`);
      const method = dv.getUint16(p + 10, true);
      const crc32 = dv.getUint32(p + 16, true);
      let compressedSize = dv.getUint32(p + 20, true);
      let size = dv.getUint32(p + 24, true);
      const nameLen = dv.getUint16(p + 28, true);
      const extraLen = dv.getUint16(p + 30, true);
      const commentLen = dv.getUint16(p + 32, true);
      let headerOffset = dv.getUint32(p + 42, true);
      if (p + 46 + nameLen + extraLen + commentLen > cdSize) throw bad(`central directory entry ${i} runs past the directory`);
      const name = dec.decode(cd.subarray(p + 46, p + 46 + nameLen));
      // ZIP64 extended information (id 1): the 64-bit values of exactly the fields set to all ones.
      for (let e = p + 46 + nameLen, end = e + extraLen; e + 4 <= end;) {
        const id = dv.getUint16(e, true);
        const len = dv.getUint16(e + 2, true);
        if (id === 1) {
          let q = e + 4;
          const bad64 = (why) => bad(`central directory entry ${i}: ${why}`);
          if (size === U32_MAX) { size = u64(dv, q, bad64); q += 8; }
          if (compressedSize === U32_MAX) { compressedSize = u64(dv, q, bad64); q += 8; }
          if (headerOffset === U32_MAX) { headerOffset = u64(dv, q, bad64); q += 8; }
        }
        e += 4 + len;
      }
      if (this.entries.has(name)) throw bad(`it lists the entry '${name.slice(0, 200)}' twice`);
      this.entries.set(name, { name, method, size, compressedSize, headerOffset, crc32 });
      p += 46 + nameLen + extraLen + commentLen;
    }
  }

  /** @returns {string[]} */
  names() {
    return [...this.entries.keys()];
  }

  /** @param {string} name */
  has(name) {
    return this.entries.has(name);
  }

  /**
   * Absolute offset and size of a stored entry's bytes.
   * @param {string} name
   * @returns {{offset: number, size: number}}
   */
  locate(name) {
    const e = this.entries.get(name);
    if (!e) throw new ConvertError(`${this.fileName} has no entry '${name}'.`);
    if (e.method !== 0) {
      throw new ConvertError(`${this.fileName} entry '${name}' is compressed (zip method ${e.method}); only uncompressed archives, as torch.save writes them, can be read.`, 'unsupported');
    }
    if (e.headerOffset + 30 > this.src.size) throw new ConvertError(`${this.fileName} entry '${name}' lies outside the file (truncated?).`);
    const h = view(this.src.read(e.headerOffset, 30));
    if (h.getUint32(0, true) !== LOCAL_SIG) throw new ConvertError(`${this.fileName} entry '${name}' has a damaged local header.`);
    // The local extra field may differ from the central one (PyTorch pads it for alignment).
    const offset = e.headerOffset + 30 + h.getUint16(26, true) + h.getUint16(28, true);
    if (offset + e.size > this.src.size) throw new ConvertError(`${this.fileName} entry '${name}' extends past the end of the file (truncated download?).`);
    return { offset, size: e.size };
  }

  /**
   * A whole stored entry, its CRC-32 checked.
   * @param {string} name
   * @returns {Uint8Array}
   */
  read(name) {
    const { offset, size } = this.locate(name);
    const bytes = this.src.read(offset, size);
    this.#check(name, crc32(bytes));
    return bytes;
  }

  /**
   * Check a stored entry's CRC-32 (once; later calls return at once), reading it in chunks.
   * @param {string} name
   */
  verify(name) {
    if (this.verified.has(name)) return;
    const { offset, size } = this.locate(name);
    let crc = 0;
    for (let done = 0; done < size; done += CRC_CHUNK) crc = crc32(this.src.read(offset + done, Math.min(CRC_CHUNK, size - done)), crc);
    this.#check(name, crc);
  }

  /** @param {string} name @param {number} crc */
  #check(name, crc) {
    const want = /** @type {ZipEntry} */ (this.entries.get(name)).crc32;
    if (crc !== want) {
      throw new ConvertError(`${this.fileName} entry '${name}' is damaged: its CRC-32 is ${hex(crc)}, not the ${hex(want)} the archive records.`);
    }
    this.verified.add(name);
  }
}
