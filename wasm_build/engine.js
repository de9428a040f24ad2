// engine.js — the JS face of the wasm engine: loads dist/mobilellm.{js,wasm} and wraps the C
// API of src/mobilellm.h in small classes. Works in Node and in a Web Worker; no dependencies.
// Every C failure becomes a thrown MobileLLMError carrying the engine's code and sentence.
// Structs are read and written by field name through the module's own layout table (abi.js),
// and enumeration names come from the module's name functions.

import { StructAbi } from './abi.js';
import { ggmlType } from '../lib/ggml_types.js';
import { GGUF_KEY } from '../lib/gguf_keys.js';
import { modelFamily } from '../lib/model_family.js';
import { isNode } from '../lib/env.js';
import { nodeBuiltin } from '../lib/node_builtin.js';
import { locateEngineFile, readWasm, pthreadWorkerUrl, importGlue, glueMessage } from './engine_files.js';

/** An engine failure: `code` is one of 'argument','nomem','format','unsupported','missing',
 * 'context_full','state'; `message` is the engine's one-sentence explanation. */
export class MobileLLMError extends Error {
  /** @param {string} code @param {string} message */
  constructor(code, message) {
    super(message);
    this.name = 'MobileLLMError';
    this.code = code;
  }
}

const enc = new TextEncoder();

/** The most bytes one allocation can hold: wasm32 addresses 4 GiB and malloc takes a 32-bit size,
 * so a larger request must never reach it (it would wrap to a small block). */
export const MAX_ALLOC = 2 ** 32 - 1;
/** Allocations this large are checked against the engine's memoryLimit first (the per-token
 * and per-struct ones are far smaller; model bytes and caches far larger). */
const RESERVE_FROM = 1 << 20;
/** Threads one engine may start: two contexts of the pool's 16 (src/threads.c POOL_MAX) each, less the caller. */
export const MAX_ENGINE_THREADS = 31;

/** A number for a C struct field, refused (an 'argument' error) rather than wrapped or overflowed. */
function field(name, v, lo = -(2 ** 31), hi = 2 ** 31 - 1, int = true) {
  if (typeof v !== 'number' || Number.isNaN(v) || (int && !Number.isInteger(v)) || v < lo || v > hi) {
    throw new MobileLLMError('argument', `${name} must be ${int ? 'an integer' : 'a number'} from ${lo} to ${hi}, not ${String(v)}`);
  }
  return v;
}

const F32_MAX = 3.4028234663852886e38;
/** What each field kind of the ABI table can hold: [lowest, highest, integer]. */
const KIND_RANGE = { i32: [-(2 ** 31), 2 ** 31 - 1, true], u32: [0, 2 ** 32 - 1, true], f32: [-F32_MAX, F32_MAX, false] };

/** Set a struct field (abi.js) from a caller's number, checked against the field's kind first. */
function setChecked(e, p, strct, cField, name, value) {
  const r = KIND_RANGE[e.abi.field(strct, cField).kind];
  if (r) field(name, value, r[0], r[1], r[2]);
  e.abi.set(p, strct, cField, value);
}

/** The smallest module using a SIMD128 instruction (i32.const 0; i8x16.splat): engines
 * without SIMD128 reject it, so it decides which build to load. */
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 8, 1, 6, 0,
  65, 0, 253, 15, 11]);

/** @returns {boolean} whether this JS engine runs WebAssembly SIMD128 */
export function simdSupported() {
  try { return WebAssembly.validate(SIMD_PROBE); } catch { return false; }
}

/**
 * What Emscripten's PThread uses of a pool Worker (postMessage, onmessage, onerror, terminate),
 * over a port to a worker started elsewhere (worker/thread_pool.js), which is first told the
 * pthread script to run; {cmd: 'mllmClose'} asks that worker to end.
 * @param {MessagePort} port @param {string} script
 */
function portWorker(port, script) {
  port.postMessage({ cmd: 'mllmScript', script });
  return {
    postMessage: (/** @type {any} */ m, /** @type {Transferable[]} */ t) => port.postMessage(m, t ?? []),
    set onmessage(/** @type {(e: MessageEvent) => void} */ fn) { port.onmessage = fn; },
    get onmessage() { return port.onmessage; },
    onerror: null,
    terminate: () => { port.postMessage({ cmd: 'mllmClose' }); port.close(); },
  };
}

export class Engine {
  /**
   * Instantiate the wasm module. Which build:
   *  - threads > 1 and SharedArrayBuffer usable (Node; cross-origin-isolated pages) and SIMD:
   *    dist/mobilellm-threads.js with a pool of threads - 1 workers;
   *  - else dist/mobilellm.js (SIMD128) where the engine validates a SIMD module,
   *    dist/mobilellm-nosimd.js otherwise.
   * All builds compute bit-identical results. `engine.build` says which one loaded, and
   * `relaxed`: whether its Q8_0 matmuls run on the relaxed-SIMD kernels here (the SIMD builds
   * carry them; they run where the engine computes the relaxed int8 dot exactly, e.g. Chromium
   * or Node 24+ on x86 with AVX-VNNI; src/kernels_relaxed.c).
   * @param {{wasmBinary?: Uint8Array, moduleUrl?: string, simd?: boolean, threads?: number,
   *   locateFile?: ((name: string, defaultUrl: string) => string|URL|undefined)|Record<string, string>,
   *   threadPorts?: MessagePort[]}} [opts]
   *   simd: force the SIMD (true) or scalar (false) build; threads: the most threads a context
   *   may use (contexts ask with newContext({threads})); locateFile: the address of a dist/ file
   *   by name (engine_files.js), for files served elsewhere; moduleUrl overrides the choice;
   *   threadPorts: the pool's workers, started elsewhere (the page: worker/thread_pool.js), one
   *   port each, threads - 1 of them, used by the threads build instead of workers of its own.
   * @returns {Promise<Engine>}
   */
  static async create(opts = {}) {
    const simd = opts.simd ?? simdSupported();
    // Each thread is a worker started now: check the count before starting any.
    const want = field('threads', opts.threads ?? 1, 1, MAX_ENGINE_THREADS);
    const shared = typeof SharedArrayBuffer === 'function' && (isNode || globalThis.crossOriginIsolated === true);
    const threads = want > 1 && simd && shared ? want : 1;
    const base = threads > 1 ? 'mobilellm-threads' : simd ? 'mobilellm' : 'mobilellm-nosimd';
    const moduleUrl = opts.moduleUrl ?? locateEngineFile(`${base}.js`, opts.locateFile);
    const wasmUrl = opts.moduleUrl ? opts.moduleUrl.replace(/\.js$/, '.wasm') : locateEngineFile(`${base}.wasm`, opts.locateFile);
    if (threads > 1 && isNode) {
      // emcc 3.1.6's Node pthreads glue is CommonJS-flavoured: give the ES module the
      // require and __dirname it expects (its worker script, *.worker.cjs, has its own).
      const { createRequire } = await nodeBuiltin('module');
      const { fileURLToPath } = await nodeBuiltin('url');
      globalThis.require ??= createRequire(moduleUrl);
      globalThis.__dirname ??= fileURLToPath(new URL('.', moduleUrl));
      globalThis.__filename ??= fileURLToPath(moduleUrl);
    }
    const createMobileLLM = await importGlue(`${base}.js`, moduleUrl);
    // The bytes are read here (emcc 3.1.6 cannot fetch() a path under Node, and its own fetch
    // would fail with an unexplained abort), then handed to the module.
    const wasmBinary = opts.wasmBinary ?? await readWasm(`${base}.wasm`, wasmUrl);
    const workerUrl = threads > 1 ? await pthreadWorkerUrl(opts.moduleUrl ? opts.moduleUrl.replace(/\.js$/, '.worker.cjs')
      : locateEngineFile('mobilellm-threads.worker.cjs', opts.locateFile)) : '';
    const modOpts = {
      wasmBinary, mainScriptUrlOrBlob: moduleUrl,
      locateFile: (/** @type {string} */ f) => (f.endsWith('.wasm') ? wasmUrl : f.endsWith('.worker.cjs') ? workerUrl : f),
      print: () => {}, printErr: () => {},
    };
    if (threads > 1) modOpts.mllmPoolSize = threads - 1;
    if (threads > 1 && opts.threadPorts) {
      const ports = [...opts.threadPorts];
      if (ports.length !== threads - 1) throw new MobileLLMError('argument', `The engine needs ${threads - 1} thread ports for ${threads} threads, not ${ports.length}.`);
      modOpts.mllmNewWorker = (/** @type {string} */ script) => {
        const port = ports.shift();
        if (!port) throw new MobileLLMError('internal', `The engine asked for more than the ${threads - 1} thread workers the page started.`);
        return portWorker(port, script);
      };
    }
    let mod;
    try {
      mod = await createMobileLLM(modOpts);
    } catch (e) {
      throw new MobileLLMError('unsupported', `The engine ${base}.wasm from ${wasmUrl} could not start here: ${glueMessage(e)}`);
    }
    // Node: the pool's worker threads must not keep the process alive.
    if (isNode) for (const w of mod.PThread?.unusedWorkers ?? []) w.unref?.();
    const eng = new Engine(mod);
    eng.build = { simd: opts.moduleUrl ? null : simd, threads, url: moduleUrl,
      relaxed: typeof mod.mllmRelaxedActive === 'function' && mod.mllmRelaxedActive() };
    return eng;
  }

  /** @param {any} mod the instantiated Emscripten module */
  constructor(mod) {
    this.mod = mod;
    /** The most linear memory this engine may grow to (bytes): a page that grows past what its
     * browser grants is killed, so large allocations are refused before that (reserve()). */
    this.memoryLimit = MAX_ALLOC + 1;
    this.abi = new StructAbi(mod);
    this.errPtr = mod._malloc(this.abi.size('mllm_error'));
    this.scratch = mod._malloc(64); // out-pointers
  }

  /** The engine's name for value `v` of an enumeration: `fn` is one of its name functions
   * (_mllm_status_name, _mllm_stop_name, _mllm_share_mode_name, _mllm_tokenizer_name, ...). */
  enumName(fn, v) { return this.cstr(this.mod[fn](v)); }

  /** A zeroed struct of the heap (caller frees). @param {string} strct */
  allocStruct(strct) {
    const n = this.abi.size(strct), p = this.alloc(n);
    this.u8().fill(0, p, p + n);
    return p;
  }

  get heapBytes() { return this.mod.HEAPU8.length; }

  // ---- heap helpers (views are re-read each time: memory growth replaces the buffers)
  u8() { return this.mod.HEAPU8; }
  i32() { return this.mod.HEAP32; }
  f32() { return this.mod.HEAPF32; }

  /**
   * Allocate heap bytes; sizes are checked as JS numbers (64-bit) before malloc sees them.
   * @param {number} bytes
   * @param {string} [what] what the bytes are, for the message
   */
  alloc(bytes, what = 'an allocation') {
    if (!Number.isSafeInteger(bytes) || bytes < 0) throw new MobileLLMError('argument', `${what} of ${bytes} bytes is not a byte count`);
    if (bytes > MAX_ALLOC) {
      throw new MobileLLMError('unsupported', `${what} of ${bytes} bytes is more than the 4 GiB the engine's wasm32 memory can address`);
    }
    if (bytes >= RESERVE_FROM) this.reserve(bytes, what);
    const p = this.mod._malloc(Math.max(1, bytes));
    if (!p) throw new MobileLLMError('nomem', `out of wasm memory allocating ${bytes} bytes for ${what}`);
    if (p + bytes > this.u8().length) { // malloc's block must lie inside linear memory
      this.mod._free(p);
      throw new MobileLLMError('nomem', `out of wasm memory allocating ${bytes} bytes for ${what}`);
    }
    return p;
  }
  free(p) { if (p) this.mod._free(p); }

  /**
   * Refuse (a 'nomem' error with `needed` and `limit`) what could grow the memory past
   * memoryLimit: at worst it all lands above the current heap, which cannot shrink.
   * @param {number} bytes
   * @param {string} what what the bytes are, for the message
   * @param {string} [fix] what would fit
   */
  reserve(bytes, what, fix = 'a smaller model fits') {
    const grown = this.heapBytes + bytes;
    if (grown <= this.memoryLimit) return;
    const mb = (n) => `${(n / 1e6).toFixed(1)} MB`;
    const e = new MobileLLMError('nomem', `${what[0].toUpperCase()}${what.slice(1)} needs ${mb(bytes)} of memory; with the ${mb(this.heapBytes)} the engine holds already `
      + `that is ${mb(grown)}, past the ${mb(this.memoryLimit)} this page may use (memoryLimit): ${fix}`);
    Object.assign(e, { needed: grown, limit: this.memoryLimit });
    throw e;
  }

  /** Copy bytes into the heap; returns the pointer (caller frees). @param {Uint8Array} bytes @param {string} [what] */
  put(bytes, what) {
    const p = this.alloc(bytes.length, what);
    this.u8().set(bytes, p);
    return p;
  }

  cstr(p, len) {
    const u8 = this.u8();
    if (len === undefined) { len = 0; while (u8[p + len]) len++; }
    return new TextDecoder().decode(u8.slice(p, p + len)); // a copy: the threads build's memory is shared
  }

  /** Throw the engine's error when status != 0. */
  check(status) {
    if (status === 0) return;
    const code = this.enumName('_mllm_status_name', status);
    const msg = this.cstr(this.errPtr + this.abi.field('mllm_error', 'msg').offset);
    throw new MobileLLMError(code, msg || `engine error ${code}`);
  }

  /**
   * Quantize rows of floats to a 4/5/6/8-bit ggml type with the engine's reference quantizers:
   * the bytes llama.cpp's llama-quantize writes without an importance matrix (the converter's
   * quantizer). Works through the heap a few MB at a time.
   * @param {number} type ggml type id (Q4_0 2, ..., IQ4_XS 23; mllm_quantize_rows)
   * @param {Float32Array} data nRows * nPerRow values, row by row
   * @param {number} nRows
   * @param {number} nPerRow
   * @returns {Uint8Array}
   */
  quantizeRows(type, data, nRows, nPerRow) {
    const m = this.mod;
    const rowBytes = m._mllm_quantize_row_bytes(type, nPerRow);
    if (rowBytes <= 0) this.check(m._mllm_quantize_rows(type, 0, 0, nPerRow, 0, 0, this.errPtr));
    if (data.length !== nRows * nPerRow) throw new MobileLLMError('argument', `quantizeRows: ${data.length} values are not ${nRows} rows of ${nPerRow}.`);
    const out = new Uint8Array(nRows * rowBytes);
    const step = Math.max(1, Math.floor((4 << 20) / (nPerRow * 4)));
    const src = this.alloc(Math.min(step, nRows) * nPerRow * 4);
    const dst = this.alloc(Math.min(step, nRows) * rowBytes);
    try {
      for (let r = 0; r < nRows; r += step) {
        const n = Math.min(step, nRows - r);
        this.f32().set(data.subarray(r * nPerRow, (r + n) * nPerRow), src >> 2);
        this.check(m._mllm_quantize_rows(type, src, n, nPerRow, dst, n * rowBytes, this.errPtr));
        out.set(this.u8().subarray(dst, dst + n * rowBytes), r * rowBytes);
      }
    } finally {
      this.free(src);
      this.free(dst);
    }
    return out;
  }

  /**
   * Load a GGUF model from bytes. The bytes are copied once into the wasm heap, which the
   * model then owns (zero-copy views from there on).
   * @param {Uint8Array} bytes
   * @param {{repack?: boolean}} [opts] see loadModelAt
   * @returns {Model}
   */
  loadModel(bytes, opts = {}) {
    return this.loadModelAt(this.put(bytes, 'the model'), bytes.length, opts);
  }

  /**
   * Load a GGUF model whose bytes the caller already wrote into the heap at `data` (an
   * alloc() of `size` bytes), e.g. streamed there chunk by chunk so that no whole-file copy
   * exists outside the heap. The model owns the allocation from here on; on failure it is freed.
   * repack: false keeps the weights in the file's layout; by default, where the relaxed-SIMD
   * kernels run, the layer blocks' and the head's Q8_0, Q4_0, Q5_0, Q4_1, Q5_1, IQ4_NL and K-type rows are
   * interleaved in place for them at load (src/kernels.h KERN_LAYOUT_*_X4; same results; a tied
   * head's embedding rows are read back through dtype.h repacked_block).
   * @param {number} data
   * @param {number} size
   * @param {{repack?: boolean}} [opts]
   * @returns {Model}
   */
  loadModelAt(data, size, opts = {}) {
    const m = this.mod;
    let params = 0;
    let status;
    try {
      params = this.alloc(this.abi.size('mllm_model_params'));
      m._mllm_model_params_init(params);
      this.abi.set(params, 'mllm_model_params', 'take_ownership', 1);
      if (opts.repack === false) this.abi.set(params, 'mllm_model_params', 'repack', 0);
      status = m._mllm_model_load(data, size, params, this.scratch, this.errPtr);
    } catch (e) {
      this.free(data);
      throw e;
    } finally {
      this.free(params);
    }
    if (status !== 0) { this.free(data); this.check(status); }
    return new Model(this, this.i32()[this.scratch >> 2]);
  }
}

/** mllm_model_info fields whose JS name or value is not the camelCase of the C field's. */
const INFO_AS = {
  share_mode: (v, e) => ['shareMode', e.enumName('_mllm_share_mode_name', v)],
  weight_type: (v) => ['weightType', ggmlType(v)?.name ?? String(v)],
  tied_embeddings: (v) => ['tiedEmbeddings', v === 1],
  tokenizer_kind: (v, e) => ['tokenizer', e.enumName('_mllm_tokenizer_name', v)],
  add_bos: (v) => ['addBos', v === 1],
  rope_theta: (v) => ['ropeTheta', +v.toPrecision(7)],
  rms_eps: (v) => ['rmsEps', +v.toPrecision(7)],
  n_repacked: (v) => ['repacked', v],
  qk_norm: (v) => ['qkNorm', v === 1],
  n_swa: (v) => ['slidingWindow', v],
  n_swa_layers: (v) => ['nWindowedLayers', v],
};

/** Model.info from the C struct's fields by name: every field of mllm_model_info appears,
 * under its camelCase name unless INFO_AS says otherwise. */
export function modelInfo(eng, fields) {
  const info = {};
  for (const [k, v] of Object.entries(fields)) {
    const [name, value] = INFO_AS[k] ? INFO_AS[k](v, eng) : [k.replace(/_(\w)/g, (_, c) => c.toUpperCase()), v];
    info[name] = value;
  }
  return info;
}

export class Model {
  /** @param {Engine} eng @param {number} ptr */
  constructor(eng, ptr) {
    this.eng = eng;
    this.ptr = ptr;
    this.info = this.readInfo();
  }

  readInfo() {
    const e = this.eng;
    const p = e.alloc(e.abi.size('mllm_model_info'));
    e.mod._mllm_model_get_info(this.ptr, p);
    const info = modelInfo(e, e.abi.read(p, 'mllm_model_info'));
    e.free(p);
    info.name = this.metaString(GGUF_KEY.GENERAL_NAME);
    info.architecture = this.metaString(GGUF_KEY.GENERAL_ARCHITECTURE);
    // The model card: family, attention and RoPE pattern per effective layer, tokenizer, weight types.
    info.basename = this.metaString(GGUF_KEY.GENERAL_BASENAME);
    info.family = modelFamily(info);
    const layers = Array.from({ length: info.nLayerEffective }, (_, l) => this.layer(l));
    info.windowedLayers = layers.flatMap((l, i) => (l.window > 0 ? [i] : []));
    info.ropeLayers = layers.flatMap((l, i) => (l.rope ? [i] : []));
    const swaBase = layers.find((l) => l.rope && l.window > 0)?.ropeTheta; // Pro: the windowed layers' own base
    info.ropeThetaWindowed = swaBase !== undefined && swaBase !== info.ropeTheta ? swaBase : null;
    info.attention = info.nWindowedLayers === 0 ? 'global' : info.nWindowedLayers === info.nLayerEffective ? 'local' : 'local-global';
    info.preTokenizer = this.metaString(GGUF_KEY.TOKENIZER_PRE);
    info.weightTypes = this.typeUsage();
    // What chat needs (worker/chat_template.js): the template, the special tokens' text, every
    // end-of-generation id (the engine stops on each).
    info.chatTemplate = this.metaString(GGUF_KEY.TOKENIZER_CHAT_TEMPLATE);
    const piece = (id) => (id >= 0 && id < info.nVocab ? new TextDecoder().decode(this.tokenText(id)) : null);
    info.bosText = piece(info.bosId);
    info.eosText = piece(info.eosId);
    info.eogIds = [];
    for (let t = 0; t < info.nVocab; t++) if (this.isEog(t)) info.eogIds.push(t);
    return info;
  }

  /** Effective layer `l` as the forward pass runs it (C mllm_layer_info, fields by camelCase name). */
  layer(l) {
    const e = this.eng, p = e.alloc(e.abi.size('mllm_layer_info'));
    try {
      e.check(e.mod._mllm_model_get_layer(this.ptr, l, p, e.errPtr));
      const f = e.abi.read(p, 'mllm_layer_info');
      return { block: f.block, rope: f.rope === 1, window: f.window, qkNorm: f.qk_norm === 1, ropeTheta: +f.rope_theta.toPrecision(7) };
    } finally {
      e.free(p);
    }
  }

  /** The weight-type mix: one entry per tensor type, the most bytes first. */
  typeUsage() {
    const e = this.eng, size = e.abi.size('mllm_type_usage');
    const n = e.mod._mllm_model_type_usage(this.ptr, 0, 0);
    const p = e.alloc(Math.max(1, n) * size);
    try {
      e.mod._mllm_model_type_usage(this.ptr, p, n);
      return Array.from({ length: n }, (_, i) => e.abi.read(p + i * size, 'mllm_type_usage'))
        .map((u) => ({ type: ggmlType(u.type)?.name ?? String(u.type), tensors: u.n_tensors, params: u.n_elems, bytes: u.bytes }))
        .sort((a, b) => b.bytes - a.bytes);
    } finally {
      e.free(p);
    }
  }

  /** @param {string} key @returns {string|null} */
  metaString(key) {
    const e = this.eng;
    const k = e.put(enc.encode(key + '\0'));
    const s = e.mod._mllm_model_meta_str(this.ptr, k, e.scratch);
    e.free(k);
    return s ? e.cstr(s, e.i32()[e.scratch >> 2]) : null;
  }

  /**
   * @param {string|Uint8Array} text UTF-8 text (a Uint8Array passes raw bytes, invalid UTF-8 included)
   * @param {{addBos?: boolean, parseSpecial?: boolean}} [opts]
   * @returns {Int32Array}
   */
  tokenize(text, opts = {}) {
    const e = this.eng;
    const bytes = typeof text === 'string' ? enc.encode(text) : text;
    const addBos = opts.addBos ?? this.info.addBos;
    const tp = e.put(bytes);
    try {
      let cap = bytes.length + 8;
      for (;;) {
        const out = e.alloc(cap * 4);
        const n = e.mod._mllm_tokenize(this.ptr, tp, bytes.length, addBos ? 1 : 0, opts.parseSpecial ? 1 : 0,
          out, cap, e.errPtr);
        if (n < 0) { e.free(out); e.check(e.i32()[e.errPtr >> 2] || 1); }
        if (n <= cap) {
          const ids = e.i32().slice(out >> 2, (out >> 2) + n);
          e.free(out);
          return ids;
        }
        e.free(out);
        cap = n;
      }
    } finally {
      e.free(tp);
    }
  }

  /** Raw bytes of one token's piece. @param {number} id @returns {Uint8Array} */
  tokenToPiece(id) {
    return this.#bytesCall((out, cap) => this.eng.mod._mllm_token_to_piece(this.ptr, id, out, cap));
  }

  /** A token's vocabulary entry verbatim (control tokens' text included). @param {number} id @returns {Uint8Array} */
  tokenText(id) {
    return this.#bytesCall((out, cap) => this.eng.mod._mllm_token_text(this.ptr, id, out, cap));
  }

  /**
   * @param {ArrayLike<number>} ids
   * @param {{stripLeadingSpace?: boolean}} [opts]
   * @returns {string}
   */
  detokenize(ids, opts = {}) {
    return new TextDecoder().decode(this.detokenizeBytes(ids, opts));
  }

  /**
   * The raw bytes of a whole-sequence detokenization (may hold invalid UTF-8 from byte tokens).
   * @param {ArrayLike<number>} ids
   * @param {{stripLeadingSpace?: boolean}} [opts]
   * @returns {Uint8Array}
   */
  detokenizeBytes(ids, opts = {}) {
    const e = this.eng;
    const tp = e.put(new Uint8Array(Int32Array.from(ids).buffer));
    try {
      return this.#bytesCall((out, cap) =>
        e.mod._mllm_detokenize(this.ptr, tp, ids.length, opts.stripLeadingSpace ? 1 : 0, out, cap));
    } finally {
      e.free(tp);
    }
  }

  /** @param {{stripLeadingSpace?: boolean}} [opts] @returns {Detokenizer} */
  newDetokenizer(opts = {}) { return new Detokenizer(this, !!opts.stripLeadingSpace); }

  #bytesCall(fn) {
    const e = this.eng;
    let cap = 256;
    for (;;) {
      const out = e.alloc(cap);
      const n = fn(out, cap);
      if (n < 0) { e.free(out); throw new MobileLLMError('argument', `invalid token id`); }
      if (n <= cap) {
        const bytes = e.u8().slice(out, out + n);
        e.free(out);
        return bytes;
      }
      e.free(out);
      cap = n;
    }
  }

  /** @param {number} id */
  isEog(id) { return this.eng.mod._mllm_token_is_eog(this.ptr, id) !== 0; }

  /**
   * @param {{nCtx?: number, nBatch?: number, threads?: number, relaxedSimd?: boolean}} [opts]
   *   relaxedSimd: false keeps the matmuls off the relaxed-SIMD kernels (same results; for
   *   comparisons)
   * @returns {Context}
   */
  newContext(opts = {}) {
    const e = this.eng;
    const p = e.alloc(e.abi.size('mllm_context_params'));
    e.mod._mllm_context_params_init(p);
    const set = (name, field, value) => setChecked(e, p, 'mllm_context_params', field, name, value);
    try {
      if (opts.nCtx) set('nCtx', 'n_ctx', opts.nCtx);
      if (opts.nBatch) set('nBatch', 'n_batch', opts.nBatch);
      if (opts.threads) set('threads', 'n_threads', opts.threads);
      if (opts.relaxedSimd === false) set('relaxedSimd', 'relaxed_simd', 0);
      e.check(e.mod._mllm_context_new(this.ptr, p, e.scratch, e.errPtr));
    } finally {
      e.free(p);
    }
    return new Context(this, e.i32()[e.scratch >> 2]);
  }

  /** @param {SamplerOptions} [opts] @returns {Sampler} */
  newSampler(opts = {}) { return new Sampler(this, opts); }

  free() {
    if (this.ptr) { this.eng.mod._mllm_model_free(this.ptr); this.ptr = 0; }
  }
}

/** Streaming detokenizer: push() returns only whole UTF-8 characters, as bytes. */
export class Detokenizer {
  /** @param {Model} model @param {boolean} strip */
  constructor(model, strip) {
    const e = (this.eng = model.eng);
    e.check(e.mod._mllm_detok_new(model.ptr, strip ? 1 : 0, e.scratch, e.errPtr));
    this.ptr = e.i32()[e.scratch >> 2];
  }

  #take(n) {
    const p = this.eng.mod._mllm_detok_text(this.ptr);
    return this.eng.u8().slice(p, p + n);
  }

  /** @param {number} id @returns {Uint8Array} the bytes that became complete */
  push(id) { return this.#take(this.eng.mod._mllm_detok_push(this.ptr, id)); }
  /** End of stream: an unfinished character comes out as U+FFFD. @returns {Uint8Array} */
  flush() { return this.#take(this.eng.mod._mllm_detok_flush(this.ptr)); }
  free() { if (this.ptr) { this.eng.mod._mllm_detok_free(this.ptr); this.ptr = 0; } }
}

export class Context {
  /** @param {Model} model @param {number} ptr */
  constructor(model, ptr) {
    this.model = model;
    this.eng = model.eng;
    this.ptr = ptr;
    this.idsPtr = 0;
    this.idsCap = 0;
    this.batchPtr = 0;
    this.batchCap = 0;
  }

  get nPast() { return this.eng.mod._mllm_n_past(this.ptr); }
  get nCtx() { return this.eng.mod._mllm_n_ctx(this.ptr); }

  /**
   * Evaluate tokens after the current position.
   * @param {ArrayLike<number>} ids
   * @param {{allLogits?: boolean}} [opts]
   */
  eval(ids, opts = {}) {
    const e = this.eng;
    if (ids.length > this.idsCap) {
      e.free(this.idsPtr);
      this.idsCap = Math.max(ids.length, 64);
      this.idsPtr = e.alloc(this.idsCap * 4);
    }
    e.i32().set(ids, this.idsPtr >> 2);
    e.check(e.mod._mllm_eval(this.ptr, this.idsPtr, ids.length, opts.allLogits ? 1 : 0, e.errPtr));
  }

  /**
   * A view of token i's logits from the last eval (i = -1: the last token). The view is only
   * valid until the next engine call; use logits() for a copy.
   * @returns {Float32Array}
   */
  logitsView(i = -1) {
    const e = this.eng;
    const p = e.mod._mllm_logits(this.ptr, i);
    if (!p) throw new MobileLLMError('state', `no logits for row ${i} of the last evaluation`);
    return e.f32().subarray(p >> 2, (p >> 2) + this.model.info.nVocab);
  }

  /** @returns {Float32Array} a copy of token i's logits */
  logits(i = -1) { return this.logitsView(i).slice(); }

  /** Forget positions >= n. @param {number} n */
  rewind(n) { this.eng.check(this.eng.mod._mllm_kv_rewind(this.ptr, n, this.eng.errPtr)); }

  /**
   * Several sequences in one forward pass (mllm_eval_batch, src/mobilellm.h): token i goes into
   * KV slot nPast + i at position pos[i] and attends to slots seeFrom[i] .. seeTo[i] - 1, then
   * segFrom[i] .. its own. logitsView(k) is then the k-th token marked in `logits`. Every array
   * has one entry per token.
   * @param {{token: ArrayLike<number>, pos: ArrayLike<number>, seeFrom: ArrayLike<number>,
   *   seeTo: ArrayLike<number>, segFrom: ArrayLike<number>, logits: ArrayLike<number>}} b
   */
  evalBatch(b) {
    const e = this.eng, n = b.token.length;
    const size = e.abi.size('mllm_batch_token');
    if (n > this.batchCap) {
      e.free(this.batchPtr);
      this.batchCap = Math.max(n, 64);
      this.batchPtr = e.alloc(this.batchCap * size);
    }
    const at = (f) => e.abi.field('mllm_batch_token', f).offset >> 2;
    const cols = [['token', b.token], ['pos', b.pos], ['see_from', b.seeFrom], ['see_to', b.seeTo], ['seg_from', b.segFrom], ['logits', b.logits]];
    const heap = e.i32(), base = this.batchPtr >> 2, stride = size >> 2;
    for (const [f, col] of cols) {
      if (col.length !== n) throw new MobileLLMError('argument', `evalBatch: ${f} has ${col.length} entries for ${n} tokens`);
      const o = base + at(f);
      for (let i = 0; i < n; i++) heap[o + i * stride] = col[i];
    }
    e.check(e.mod._mllm_eval_batch(this.ptr, this.batchPtr, n, e.errPtr));
  }

  free() {
    if (this.ptr) {
      this.eng.mod._mllm_context_free(this.ptr);
      this.eng.free(this.idsPtr);
      this.eng.free(this.batchPtr);
      this.ptr = 0;
    }
  }
}

/**
 * @typedef {{temperature?: number, topK?: number, topP?: number, minP?: number,
 *   repeatPenalty?: number, repeatLastN?: number, seed?: number}} SamplerOptions
 */

export class Sampler {
  /** @param {Model} model @param {SamplerOptions} opts */
  constructor(model, opts) {
    const e = (this.eng = model.eng);
    const p = e.alloc(e.abi.size('mllm_sampler_params'));
    e.mod._mllm_sampler_params_init(p);
    const set = (name, field, value) => { if (value !== undefined) setChecked(e, p, 'mllm_sampler_params', field, name, value); };
    try {
      set('temperature', 'temperature', opts.temperature);
      set('topK', 'top_k', opts.topK);
      set('topP', 'top_p', opts.topP);
      set('minP', 'min_p', opts.minP);
      set('repeatPenalty', 'repeat_penalty', opts.repeatPenalty);
      set('repeatLastN', 'repeat_last_n', opts.repeatLastN);
      set('seed', 'seed', opts.seed);
    } catch (err) {
      e.free(p);
      throw err;
    }
    try {
      e.check(e.mod._mllm_sampler_new(model.info.nVocab, p, e.scratch, e.errPtr));
    } finally {
      e.free(p);
    }
    this.ptr = e.i32()[e.scratch >> 2];
  }

  /** Sample from a context's last logits. @param {Context} ctx */
  sample(ctx) {
    const p = this.eng.mod._mllm_logits(ctx.ptr, -1);
    if (!p) throw new MobileLLMError('state', 'nothing to sample from: evaluate the prompt first');
    return this.eng.mod._mllm_sampler_sample(this.ptr, p);
  }

  /** @param {number} id */
  accept(id) { this.eng.mod._mllm_sampler_accept(this.ptr, id); }
  reset() { this.eng.mod._mllm_sampler_reset(this.ptr); }
  free() { if (this.ptr) { this.eng.mod._mllm_sampler_free(this.ptr); this.ptr = 0; } }
}

/**
 * Streaming generation: each step() samples one token, feeds it back, and returns the text
 * that became final (UTF-8 complete, not possibly the start of a stop string).
 */
export class Generator {
  /**
   * @param {Context} ctx a context holding the prompt's logits
   * @param {Sampler} sampler
   * @param {{maxTokens?: number, ignoreEos?: boolean, stop?: string[], grammar?: Grammar}} [opts]
   *   grammar: constrain the output to a compiled GBNF grammar (borrowed: it must outlive the
   *   generator); the output is then always one complete value of it
   */
  constructor(ctx, sampler, opts = {}) {
    const e = (this.eng = ctx.eng);
    const p = e.allocStruct('mllm_generator_params');
    try {
      setChecked(e, p, 'mllm_generator_params', 'max_tokens', 'maxTokens', opts.maxTokens ?? 0);
    } catch (err) {
      e.free(p);
      throw err;
    }
    e.abi.set(p, 'mllm_generator_params', 'ignore_eos', opts.ignoreEos ? 1 : 0);
    try {
      e.check(e.mod._mllm_generator_new(ctx.ptr, sampler.ptr, p, e.scratch, e.errPtr));
    } finally {
      e.free(p);
    }
    this.ptr = e.i32()[e.scratch >> 2];
    this.result = e.alloc(e.abi.size('mllm_step_result'));
    this.decoder = new TextDecoder();
    try {
      for (const s of opts.stop ?? []) {
        const b = enc.encode(s);
        const sp = e.put(b);
        try { e.check(e.mod._mllm_generator_add_stop(this.ptr, sp, b.length, e.errPtr)); } finally { e.free(sp); }
      }
      if (opts.grammar) e.check(e.mod._mllm_generator_set_grammar(this.ptr, opts.grammar.ptr, e.errPtr));
    } catch (err) {
      this.free();
      throw err;
    }
  }

  /** @returns {{token: number, text: string, stop: string|null, nGenerated: number}} */
  step() {
    const e = this.eng;
    e.check(e.mod._mllm_generator_step(this.ptr, this.result, e.errPtr));
    const { token, stop, text_len: len, n_generated: nGenerated } = e.abi.read(this.result, 'mllm_step_result');
    const tp = e.mod._mllm_generator_text(this.ptr);
    const text = len ? this.decoder.decode(e.u8().slice(tp, tp + len)) : ''; // a copy (shared memory)
    return { token, text, stop: stop ? e.enumName('_mllm_stop_name', stop) : null, nGenerated };
  }

  free() {
    if (this.ptr) {
      this.eng.mod._mllm_generator_free(this.ptr);
      this.eng.free(this.result);
      this.ptr = 0;
    }
  }
}

/**
 * A GBNF grammar (llama.cpp's dialect) compiled against a model's vocabulary, for
 * `new Generator(ctx, sampler, { grammar })`. A mistake in the grammar throws a
 * MobileLLMError with code 'argument' naming the line and column.
 */
export class Grammar {
  /** @param {Model} model @param {string} text */
  constructor(model, text) {
    const e = (this.eng = model.eng);
    const b = enc.encode(text);
    const tp = e.put(b);
    try {
      e.check(e.mod._mllm_grammar_new(model.ptr, tp, b.length, e.scratch, e.errPtr));
    } finally {
      e.free(tp);
    }
    this.ptr = e.i32()[e.scratch >> 2];
  }

  free() { if (this.ptr) { this.eng.mod._mllm_grammar_free(this.ptr); this.ptr = 0; } }
}
