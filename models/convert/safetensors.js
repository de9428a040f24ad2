// safetensors.js — reads the safetensors container: an 8-byte little-endian header length, a JSON
// header {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}, then raw
// little-endian tensor data. Tensors are fetched one at a time through a byte source, so a
// multi-gigabyte checkpoint never has to sit in memory whole.

import { ConvertError } from './errors.js';
import { describeValue } from './describe.js';
import { f16ToF32, bf16ToF32 } from './quant.js';

/** Bytes per element of the dtypes the converter turns into floats. */
const FLOAT_DTYPES = { F32: 4, F16: 2, BF16: 2 };
/** Element sizes of the other safetensors dtypes, so their byte ranges can still be validated. */
const OTHER_DTYPES = { F64: 8, I64: 8, U64: 8, I32: 4, U32: 4, I16: 2, U16: 2, I8: 1, U8: 1, BOOL: 1, F8_E4M3: 1, F8_E5M2: 1 };

const MAX_HEADER = 100 * 1024 * 1024;
/** Most dimensions of one tensor. */
const MAX_DIMS = 16;

/**
 * A random-access byte source: a whole file in memory, or a Node file read on demand.
 * @typedef {object} ByteSource
 * @property {number} size
 * @property {(offset: number, length: number) => Uint8Array} read
 */

/**
 * @typedef {object} TensorEntry
 * @property {string} name
 * @property {string} dtype
 * @property {number[]} shape
 * @property {number} offset  absolute byte offset in the file
 * @property {number} nbytes
 */

/** @param {Uint8Array} bytes @returns {ByteSource} */
export function memorySource(bytes) {
  return { size: bytes.length, read: (offset, length) => bytes.subarray(offset, offset + length) };
}

export class SafetensorsFile {
  /**
   * @param {ByteSource} src
   * @param {string} fileName for error messages
   */
  constructor(src, fileName) {
    this.src = src;
    this.fileName = fileName;
    if (src.size < 8) throw new ConvertError(`${fileName} is too short to be a safetensors file.`);
    const lenBytes = src.read(0, 8);
    const headerLen = Number(new DataView(lenBytes.buffer, lenBytes.byteOffset, 8).getBigUint64(0, true));
    if (headerLen > MAX_HEADER || headerLen > src.size - 8) {
      throw new ConvertError(`${fileName} has a header length of ${headerLen} bytes, beyond the file or the ${MAX_HEADER}-byte limit; it is not a valid safetensors file.`);
    }
    let header;
    try {
      header = JSON.parse(new TextDecoder().decode(src.read(8, headerLen)));
    } catch {
      throw new ConvertError(`${fileName} has a header that is not valid JSON.`);
    }
    if (header === null || typeof header !== 'object' || Array.isArray(header)) {
      throw new ConvertError(`${fileName} has a header that is not a JSON object.`);
    }
    const dataStart = 8 + headerLen;
    /** @type {Map<string, TensorEntry>} */
    this.tensors = new Map();
    /** @type {Record<string, string>} */
    this.metadata = {};
    for (const [name, e] of Object.entries(header)) {
      if (name === '__metadata__') {
        if (e === null || typeof e !== 'object' || Array.isArray(e) || !Object.values(e).every((v) => typeof v === 'string')) {
          throw new ConvertError(`${fileName} has __metadata__ that is not a map of strings.`);
        }
        this.metadata = e;
        continue;
      }
      const label = name.length > 200 ? `${name.slice(0, 200)}…` : name;
      const bad = (why) => new ConvertError(`${fileName} tensor '${label}' ${why}.`);
      if (e === null || typeof e !== 'object' || typeof e.dtype !== 'string' || !Array.isArray(e.shape) || !Array.isArray(e.data_offsets)) {
        throw bad(`has a malformed header entry ${describeValue(e)}`);
      }
      const elSize = Object.hasOwn(FLOAT_DTYPES, e.dtype) ? FLOAT_DTYPES[e.dtype] : Object.hasOwn(OTHER_DTYPES, e.dtype) ? OTHER_DTYPES[e.dtype] : 0;
      if (!elSize) throw bad(`has unknown dtype ${describeValue(e.dtype)}`);
      if (e.shape.length > MAX_DIMS || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw bad(`has a malformed shape ${describeValue(e.shape)}`);
      const [begin, end] = e.data_offsets;
      const numel = e.shape.reduce((a, b) => a * b, 1);
      if (e.data_offsets.length !== 2 || !Number.isSafeInteger(begin) || !Number.isSafeInteger(end) || begin < 0 || end < begin
          || end - begin !== numel * elSize) {
        throw bad(`has data_offsets ${describeValue(e.data_offsets)} that do not match its shape ${describeValue(e.shape)} and dtype ${e.dtype}`);
      }
      if (dataStart + end > src.size) throw bad('extends past the end of the file (truncated download?)');
      this.tensors.set(name, { name, dtype: e.dtype, shape: e.shape, offset: dataStart + begin, nbytes: end - begin });
    }
    // Each tensor owns its bytes: two tensors over the same range would be read as one.
    const byStart = [...this.tensors.values()].filter((t) => t.nbytes > 0).sort((a, b) => a.offset - b.offset);
    for (let i = 1; i < byStart.length; i++) {
      const a = byStart[i - 1], b = byStart[i];
      if (b.offset < a.offset + a.nbytes) {
        throw new ConvertError(`${fileName} tensors '${a.name.slice(0, 200)}' and '${b.name.slice(0, 200)}' have overlapping data_offsets; the file is damaged.`);
      }
    }
  }

  /** @param {string} name */
  has(name) {
    return this.tensors.has(name);
  }

  /**
   * The tensor as float32 (row-major, HF order).
   * @param {string} name
   * @returns {{shape: number[], dtype: string, data: Float32Array}}
   */
  readF32(name) {
    const e = this.tensors.get(name);
    if (!e) throw new ConvertError(`${this.fileName} has no tensor '${name}'.`, 'missing');
    if (!FLOAT_DTYPES[e.dtype]) {
      throw new ConvertError(`${this.fileName} tensor '${name}' has dtype ${e.dtype}, which the converter does not support (F32, F16, BF16).`, 'unsupported');
    }
    // Typed-array views need aligned offsets; the data offset in the file need not be one.
    let raw = this.src.read(e.offset, e.nbytes);
    if (raw.byteOffset % 4 !== 0) raw = raw.slice();
    let data;
    if (e.dtype === 'F32') data = new Float32Array(raw.buffer, raw.byteOffset, e.nbytes / 4);
    else if (e.dtype === 'F16') data = f16ToF32(new Uint16Array(raw.buffer, raw.byteOffset, e.nbytes / 2));
    else data = bf16ToF32(new Uint16Array(raw.buffer, raw.byteOffset, e.nbytes / 2));
    return { shape: e.shape, dtype: e.dtype, data };
  }
}

/**
 * Several safetensors shards behind one name → file lookup (model.safetensors.index.json), or a
 * single file.
 */
export class SafetensorsSet {
  /** @param {SafetensorsFile[]} files */
  constructor(files) {
    /** @type {Map<string, SafetensorsFile>} */
    this.byName = new Map();
    for (const f of files) {
      for (const name of f.tensors.keys()) {
        const other = this.byName.get(name);
        if (other) throw new ConvertError(`The tensor '${name.slice(0, 200)}' is in both ${other.fileName} and ${f.fileName}.`);
        this.byName.set(name, f);
      }
    }
    this.fileNames = files.map((f) => f.fileName);
  }

  /** @returns {string[]} */
  names() {
    return [...this.byName.keys()];
  }

  /** @param {string} name */
  has(name) {
    return this.byName.has(name);
  }

  /** @param {string} name */
  entry(name) {
    return this.byName.get(name)?.tensors.get(name);
  }

  /** @param {string} name */
  readF32(name) {
    const f = this.byName.get(name);
    if (!f) throw new ConvertError(`The checkpoint has no tensor '${name}' (looked in ${this.fileNames.join(', ')}).`, 'missing');
    return f.readF32(name);
  }
}
