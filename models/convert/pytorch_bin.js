// pytorch_bin.js — reads the state dict of a torch.save checkpoint (pytorch_model.bin): a zip
// holding <archive>/data.pkl, the pickled dict of tensors, whose storages are persistent ids
// naming the records <archive>/data/<key> (raw little-endian elements). The pickle goes through
// the restricted unpickler (unpickle.js) with a whitelist of torch's tensor rebuild functions;
// tensor bytes are read in place from the uncompressed zip, one tensor at a time.
//
// The class has the interface the converter expects of SafetensorsSet: names(), has(),
// entry(name) -> {name, dtype, shape, offset, nbytes}, readF32(name).

import { ConvertError } from './errors.js';
import { describeValue } from './describe.js';

import { ZipReader } from './zip.js';
import { unpickle, PyObject } from './unpickle.js';
import { f16ToF32, bf16ToF32 } from './quant.js';

/** torch storage class -> [safetensors-style dtype name, bytes per element] */
const STORAGE_TYPES = {
  HalfStorage: ['F16', 2], BFloat16Storage: ['BF16', 2], FloatStorage: ['F32', 4], DoubleStorage: ['F64', 8],
  LongStorage: ['I64', 8], IntStorage: ['I32', 4], ShortStorage: ['I16', 2], CharStorage: ['I8', 1],
  ByteStorage: ['U8', 1], BoolStorage: ['BOOL', 1],
};

class StorageType {
  /** @param {string} name @param {string} dtype @param {number} elSize */
  constructor(name, dtype, elSize) { this.name = name; this.dtype = dtype; this.elSize = elSize; }
}

class StorageRef {
  /** @param {StorageType} type @param {string} key @param {number} numel */
  constructor(type, key, numel) { this.type = type; this.key = key; this.numel = numel; }
}

class TensorRef {
  /** @param {StorageRef} storage @param {number} offset @param {number[]} shape @param {number[]} stride */
  constructor(storage, offset, shape, stride) {
    this.storage = storage; this.offset = offset; this.shape = shape; this.stride = stride;
  }
}

const TYPE_MARKERS = new Set(['torch.Tensor', 'torch.nn.parameter.Parameter', 'torch._tensor.Tensor']);

/** data.pkl holds names and shapes only (kilobytes; ~100 kB for the largest MobileLLM). */
const MAX_PICKLE_BYTES = 64 << 20;
/** Dimensions of one tensor (torch allows 64; weights use 1 or 2). */
const MAX_DIMS = 16;

/** @param {unknown} v */
const isCount = (v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/**
 * @typedef {object} TorchTensorEntry
 * @property {string} name
 * @property {string} dtype   F16, BF16, F32, ... (safetensors names)
 * @property {number[]} shape
 * @property {number} offset  absolute byte offset of the first element in the file
 * @property {number} nbytes  bytes of the tensor's elements
 * @property {boolean} contiguous
 * @property {number[]} stride  in elements
 * @property {number} storageStart absolute byte offset of the storage record
 * @property {string} record    the zip entry of the storage (its CRC-32 is checked on first read)
 */

export class TorchBinFile {
  /**
   * @param {import('./safetensors.js').ByteSource} src
   * @param {string} fileName for messages
   */
  constructor(src, fileName) {
    this.src = src;
    this.fileName = fileName;
    const fail = (why, code = 'format') => new ConvertError(`${fileName} ${why}.`, code);
    if (src.size < 4) throw fail('is too short to be a PyTorch checkpoint');
    const magic = src.read(0, 4);
    if (!(magic[0] === 0x50 && magic[1] === 0x4b && magic[2] === 3 && magic[3] === 4)) {
      if (magic[0] === 0x80) throw fail('uses the legacy (pre-1.6, non-zip) torch.save format; re-save it with a current torch.save or as safetensors', 'unsupported');
      throw fail('is not a PyTorch zip checkpoint');
    }
    const zip = (this.zip = new ZipReader(src, fileName));
    const pkls = zip.names().filter((n) => /^[^/]+\/data\.pkl$/.test(n));
    if (pkls.length !== 1) throw fail(`has ${pkls.length} data.pkl records instead of one`);
    const prefix = pkls[0].slice(0, -'data.pkl'.length);
    if (zip.has(prefix + 'byteorder')) {
      const order = new TextDecoder().decode(zip.read(prefix + 'byteorder')).trim();
      if (order !== 'little') throw fail(`stores its tensors ${order}-endian; only little-endian checkpoints are supported`, 'unsupported');
    }

    const pklSize = zip.locate(pkls[0]).size;
    if (pklSize > MAX_PICKLE_BYTES) throw fail(`has a data.pkl of ${pklSize} bytes, more than the ${MAX_PICKLE_BYTES} a state dict needs`);
    /** @type {Map<string, StorageRef>} */
    const storages = new Map();
    const root = unpickle(zip.read(pkls[0]), {
      label: `${fileName} (data.pkl)`,
      findClass: (module, name) => findClass(module, name, fail),
      persistentLoad: (pid) => {
        if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 5) throw fail(`has a persistent id ${describeValue(pid)} that is not a tensor storage`);
        const [, type, key, , numel] = pid;
        if (!(type instanceof StorageType)) throw fail(`has a storage of an unknown type (${describeValue(type)})`, 'unsupported');
        if (typeof key !== 'string' || !/^[\w.-]{1,64}$/.test(key)) throw fail(`names a storage record ${describeValue(key)}, which is not a record name`);
        if (!isCount(numel)) throw fail(`gives storage ${key} an element count of ${describeValue(numel)}`);
        const had = storages.get(key);
        if (had && (had.type !== type && had.type.name !== type.name)) throw fail(`gives storage ${key} two types`);
        if (!had) storages.set(key, new StorageRef(type, key, numel));
        return storages.get(key);
      },
    });

    /** @type {Map<string, TorchTensorEntry>} */
    this.tensors = new Map();
    /** @type {Map<string, {offset: number, size: number}>} */
    const located = new Map();
    for (const [name, t] of stateDictEntries(root, fail)) {
      const s = t.storage;
      if (!located.has(s.key)) {
        const rec = zip.locate(`${prefix}data/${s.key}`);
        if (rec.size < s.numel * s.type.elSize) throw fail(`storage ${s.key} holds ${rec.size} bytes, fewer than its ${s.numel} elements need`);
        located.set(s.key, rec);
      }
      const rec = located.get(s.key);
      const { shape, stride } = t;
      if (!Number.isSafeInteger(numelOf(shape))) throw fail(`tensor '${name}' has ${describeValue(shape)} elements, too many to address`);
      const numel = numelOf(shape);
      let last = t.offset;
      for (let i = 0; i < shape.length; i++) last += (shape[i] - 1) * stride[i];
      if (numel > 0 && (t.offset < 0 || last >= s.numel)) throw fail(`tensor '${name}' reaches outside its storage`);
      let expect = 1;
      let contiguous = true;
      for (let i = shape.length - 1; i >= 0; i--) {
        if (shape[i] !== 1 && stride[i] !== expect) contiguous = false;
        expect *= shape[i];
      }
      this.tensors.set(name, {
        name, dtype: s.type.dtype, shape, stride, contiguous,
        offset: rec.offset + t.offset * s.type.elSize, nbytes: numel * s.type.elSize, storageStart: rec.offset,
        record: `${prefix}data/${s.key}`,
      });
    }
  }

  /** @returns {string[]} */
  names() { return [...this.tensors.keys()]; }

  /** @param {string} name */
  has(name) { return this.tensors.has(name); }

  /** @param {string} name */
  entry(name) { return this.tensors.get(name); }

  /**
   * The tensor as float32, row-major in its logical shape (views are gathered).
   * @param {string} name
   * @returns {{shape: number[], dtype: string, data: Float32Array}}
   */
  readF32(name) {
    const e = this.tensors.get(name);
    if (!e) throw new ConvertError(`${this.fileName} has no tensor '${name}'.`);
    if (!['F32', 'F16', 'BF16'].includes(e.dtype)) {
      throw new ConvertError(`${this.fileName} tensor '${name}' has dtype ${e.dtype}, which the converter does not support (F32, F16, BF16).`, 'unsupported');
    }
    const el = e.dtype === 'F32' ? 4 : 2;
    const numel = e.nbytes / el;
    this.zip.verify(e.record); // once per storage: a flipped bit in the weights is a damaged file, not a model
    if (e.contiguous) return { shape: e.shape, dtype: e.dtype, data: toF32(this.src.read(e.offset, e.nbytes), e.dtype, numel) };
    // A view (e.g. a transposed or sliced tensor saved as is): read its span, then gather.
    let span = 1;
    for (let i = 0; i < e.shape.length; i++) span += (e.shape[i] - 1) * e.stride[i];
    const all = toF32(this.src.read(e.offset, span * el), e.dtype, span);
    const out = new Float32Array(numel);
    const idx = new Array(e.shape.length).fill(0);
    for (let o = 0; o < numel; o++) {
      let src = 0;
      for (let i = 0; i < idx.length; i++) src += idx[i] * e.stride[i];
      out[o] = all[src];
      for (let i = idx.length - 1; i >= 0; i--) {
        if (++idx[i] < e.shape[i]) break;
        idx[i] = 0;
      }
    }
    return { shape: e.shape, dtype: e.dtype, data: out };
  }
}

/** Elements of a shape (may exceed 2^53 for a hostile one: callers check). @param {number[]} shape */
function numelOf(shape) {
  return shape.reduce((a, b) => a * b, 1);
}

/** @param {Uint8Array} raw @param {string} dtype @param {number} n */
function toF32(raw, dtype, n) {
  const b = raw.slice(); // aligned copy: storage records need not start at a multiple of 4
  if (dtype === 'F32') return new Float32Array(b.buffer, 0, n);
  const h = new Uint16Array(b.buffer, 0, n);
  return dtype === 'F16' ? f16ToF32(h) : bf16ToF32(h);
}

/**
 * The whitelist: the only Python names a weights pickle may mention.
 * @param {string} module @param {string} name @param {(why: string, code?: string) => Error} fail
 */
function findClass(module, name, fail) {
  const full = `${module}.${name}`;
  if (module === 'torch' && STORAGE_TYPES[name]) return new StorageType(name, ...STORAGE_TYPES[name]);
  if (TYPE_MARKERS.has(full)) return { typeMarker: full };
  switch (full) {
    case 'torch._utils._rebuild_tensor_v2':
    case 'torch._utils._rebuild_tensor':
      return (storage, offset, size, stride) => {
        if (!(storage instanceof StorageRef)) throw fail('rebuilds a tensor from something that is not a storage');
        if (!isCount(offset)) throw fail(`rebuilds a tensor at storage offset ${describeValue(offset)}`);
        const dims = (v) => Array.isArray(v) && v.length <= MAX_DIMS && v.every(isCount);
        if (!dims(size) || !dims(stride) || size.length !== stride.length) {
          throw fail(`rebuilds a tensor with size ${describeValue(size)} and stride ${describeValue(stride)}, not two equal-length lists of at most ${MAX_DIMS} counts`);
        }
        return new TensorRef(storage, offset, [...size], [...stride]);
      };
    case 'torch._utils._rebuild_parameter':
    case 'torch._utils._rebuild_parameter_with_state':
      return (data) => data;
    case 'torch._tensor._rebuild_from_type_v2':
    case 'torch._tensor._rebuild_from_type':
      return (fn, _type, args) => {
        if (typeof fn !== 'function' || !Array.isArray(args) || args.length > MAX_DIMS) throw fail('rebuilds a tensor from a malformed call');
        return fn(...args);
      };
    case 'collections.OrderedDict':
      return (pairs) => {
        const m = new Map();
        if (pairs == null) return m;
        if (!Array.isArray(pairs)) throw fail(`builds an OrderedDict from ${describeValue(pairs)}, not a list of pairs`);
        for (const kv of pairs) {
          if (!Array.isArray(kv) || kv.length !== 2) throw fail(`builds an OrderedDict from ${describeValue(kv)}, not a key-value pair`);
          m.set(kv[0], kv[1]);
        }
        return m;
      };
    case '_codecs.encode': // protocol 2's spelling of a bytes object
      return (s) => {
        if (typeof s !== 'string') throw fail(`encodes ${describeValue(s)} as bytes, which is not a string`);
        return Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);
      };
    default:
      throw fail(`refers to the Python object ${describeValue(full)}, which a weights file does not need; refusing to load it`, 'unsupported');
  }
}

/**
 * The tensors of a state dict: the root dict, or one wrapped as {state_dict: ...} / {model: ...}.
 * Non-tensor entries (e.g. _extra_state) carry no weights and are skipped.
 * @param {any} root
 * @param {(why: string) => Error} fail
 * @returns {[string, TensorRef][]}
 */
function stateDictEntries(root, fail) {
  if (!(root instanceof Map)) throw fail(`holds ${root instanceof PyObject ? `a ${describeValue(root.cls)}` : describeValue(root)}, not a state dict`);
  const tensors = [...root].filter(([, v]) => v instanceof TensorRef);
  for (const [k] of tensors) if (typeof k !== 'string' || k.length > 512) throw fail(`names a tensor ${describeValue(k)}, not a string of at most 512 characters`);
  if (tensors.length) return tensors;
  for (const k of ['state_dict', 'model', 'module']) {
    const inner = root.get(k);
    if (inner instanceof Map) return stateDictEntries(inner, fail);
  }
  throw fail('holds no tensors');
}
