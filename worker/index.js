// index.js — the package entry: the MobileLLM class. Each loaded model lives in its own worker
// (a module Web Worker in browsers, a worker_threads Worker in Node) that owns the wasm engine;
// this side only posts messages (protocol.js), so a page's main thread never computes.
//
//   import { MobileLLM } from 'mobilellm-wasm';
//   const llm = await MobileLLM.load('facebook/MobileLLM-125M', { onProgress });
//   for await (const { text } of llm.generate('Hello', { maxTokens: 32 })) out += text;

import { RpcClient, transferables } from './protocol.js';
import { parseRepoId } from './hf.js';
import { openStore, describeEntry, readEntryInto } from './cache.js';
import {
  MobileLLMError, DownloadError, FormatError, UnsupportedError, QuotaError, ContextFullError, AbortError,
  BusyError, StateError, ArgumentError, NoMemoryError, CacheError, InternalError, toApiError,
} from './errors.js';
import { checkDtype, checkOptions, GENERATE_OPTIONS, LOAD_OPTIONS, MAX_CTX } from './options.js';

export { jsonSchemaToGrammar } from './json_schema_grammar.js';

export { OPTIONS, MAX_THREADS, checkOption, parseOption } from './options.js';
export {
  MobileLLMError, DownloadError, FormatError, UnsupportedError, QuotaError, ContextFullError, AbortError,
  BusyError, StateError, ArgumentError, NoMemoryError, CacheError, InternalError,
};

const isNode = typeof process === 'object' && !!process.versions?.node && typeof window === 'undefined';

/** Load options forwarded to the worker. */
const LOAD_KEYS = ['cache', 'cacheDir', 'dtype', 'nCtx', 'threads', 'hfEndpoint', 'hfToken', 'revision', 'file', 'retries'];
/** Generation options forwarded to the worker. */
const GEN_KEYS = ['maxTokens', 'temperature', 'topK', 'topP', 'minP', 'repeatPenalty', 'repeatLastN', 'seed', 'stop',
  'ignoreEos', 'addBos', 'grammar', 'jsonSchema'];

/** Evaluation options forwarded to the worker (eval/evaluate.js). */
const EVAL_KEYS = ['limit', 'shots', 'bos', 'nCtx', 'ctx', 'stride', 'maxGenTokens', 'log'];

/** Tokens the worker may compute ahead of the consumer: after the consumer stops (abort, break),
 * at most one more token is computed. */
const GEN_WINDOW = 2;

/** One generation at a time: later callers wait in line (wait: true) or are refused. */
class Gate {
  constructor() {
    this.busy = false;
    /** @type {{go: () => void}[]} */
    this.queue = [];
  }

  /** @param {boolean} wait @param {AbortSignal} [signal] */
  async enter(wait, signal) {
    if (!this.busy) { this.busy = true; return; }
    if (!wait) throw new BusyError('A generation is already running on this model; wait for it to finish, abort it, or pass { wait: true }.');
    await new Promise((resolve, reject) => {
      const ticket = { go: () => { signal?.removeEventListener('abort', onAbort); resolve(undefined); } };
      const onAbort = () => {
        this.queue.splice(this.queue.indexOf(ticket), 1);
        reject(new AbortError('The generation was aborted while waiting for its turn.'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(ticket);
    });
  }

  leave() {
    const next = this.queue.shift();
    if (next) next.go(); // hand over without releasing, so nobody overtakes the line
    else this.busy = false;
  }
}

export class MobileLLM {
  /** @type {RpcClient} */ #rpc;
  /** @type {import('./protocol.js').Port} */ #port;
  /** @type {Record<string, any>} */ #info;
  /** @type {Record<string, any>|null} */ #lastStats = null;
  #gate = new Gate();
  #unloaded = false;

  /** Use MobileLLM.load(). */
  constructor(rpc, port, info, token) {
    if (token !== CONSTRUCT) throw new TypeError('Use MobileLLM.load(source, options) to create a MobileLLM.');
    this.#rpc = rpc;
    this.#port = port;
    this.#info = Object.freeze(info);
  }

  /**
   * Load a model: a URL, a Hugging Face repo id ('owner/name' or 'owner/name@revision'), a
   * File / Blob / ArrayBuffer / typed array (transferred to the worker), a set of checkpoint
   * files, `{ cacheKey }` (a complete entry of MobileLLM.cache.list(), loaded with no request), or
   * in Node a file or checkpoint-directory path. `threads` > 1 runs the pthreads build where
   * SharedArrayBuffer is usable (Node; cross-origin-isolated pages), else one thread with a
   * warning; info.threads says how many are used.
   * @param {any} source
   * @param {Record<string, any>} [options]
   * @returns {Promise<MobileLLM>}
   */
  static async load(source, options = {}) {
    if (options === null || typeof options !== 'object') throw new ArgumentError('MobileLLM.load() takes its options as an object.');
    const { onProgress, signal, worker = true, transfer = true } = options;
    if (signal?.aborted) throw new AbortError('Loading the model was aborted before it started.');
    checkOptions(options, LOAD_OPTIONS); // before any worker (or thread pool) starts
    checkDtype(options.dtype);
    const { desc, transferList } = await describeSource(source, { transfer });
    const port = await openPort(worker);
    const rpc = new RpcClient(port);
    const args = { source: desc, options: pick(options, LOAD_KEYS) };
    const call = rpc.call('load', args, {
      transfer: transferList,
      onEvent: (type, data) => {
        if (type !== 'progress' || !onProgress) return;
        try { onProgress(data); } catch { /* a throwing callback must not break the load */ }
      },
    });
    const onAbort = () => rpc.abort(call.id);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const info = await call.done;
      return new MobileLLM(rpc, port, info, CONSTRUCT);
    } catch (e) {
      rpc.close(e);
      await port.terminate?.();
      throw e;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Model facts: hparams (stored and effective layers), quant, context, source, cache key. */
  get info() { return this.#info; }

  /** Figures of the last finished (or aborted) generation, or null. */
  get lastStats() { return this.#lastStats; }

  #check() {
    if (this.#unloaded) throw new StateError('The model was unloaded.');
  }

  /**
   * @param {string} text
   * @param {{addBos?: boolean, parseSpecial?: boolean}} [opts]
   * @returns {Promise<Int32Array>}
   */
  async tokenize(text, opts = {}) {
    this.#check();
    opts ??= {};
    return this.#rpc.call('tokenize', { text, addBos: opts.addBos, parseSpecial: opts.parseSpecial }).done;
  }

  /**
   * @param {ArrayLike<number>} tokens
   * @param {{stripLeadingSpace?: boolean}} [opts] drop the space a SentencePiece dummy prefix put first (default true)
   * @returns {Promise<string>}
   */
  async detokenize(tokens, opts = {}) {
    this.#check();
    opts ??= {};
    return this.#rpc.call('detokenize', { tokens: promptArg(tokens ?? [], 'detokenize()'), stripLeadingSpace: opts.stripLeadingSpace }).done;
  }

  /**
   * Teacher-forced logits of every position: a Float32Array of n × info.nVocab, row-major.
   * @param {string|ArrayLike<number>} input text (tokenized with BOS by default) or token ids
   * @param {{addBos?: boolean, signal?: AbortSignal}} [opts]
   * @returns {Promise<Float32Array>}
   */
  async logits(input, opts = {}) {
    this.#check();
    opts ??= {};
    const call = this.#rpc.call('logits', { input: promptArg(input, 'logits()'), addBos: opts.addBos });
    const onAbort = () => this.#rpc.abort(call.id);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await call.done;
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Score the model on task files as lm-evaluation-harness does (acc, acc_norm, their stderr, n per
   * task; exact match for TriviaQA) or measure perplexity on texts. A task is JSON-lines text
   * (or a File/Blob of it) in a dataset's layout or {context, choices, gold}, or
   * `{ text, name?, format? }`, or `{ perplexity: text, name? }`. Runs in a context of its own.
   * @param {any} tasks one task or an array
   * @param {Record<string, any>} [opts] limit, shots, bos, nCtx, ctx, stride, maxGenTokens, log, onProgress, signal
   * @returns {Promise<{results: Record<string, any>, log?: any[]}>}
   */
  async evaluate(tasks, opts = {}) {
    this.#check();
    if (opts.signal?.aborted) throw new AbortError('The evaluation was aborted before it started.');
    const list = [];
    for (const [i, t] of (Array.isArray(tasks) ? tasks : [tasks]).entries()) list.push(await taskInput(t, i));
    const call = this.#rpc.call('evaluate', { tasks: list, options: pick(opts, EVAL_KEYS) }, {
      onEvent: (type, data) => {
        if (type !== 'progress' || !opts.onProgress) return;
        try { opts.onProgress(data); } catch { /* a throwing callback must not stop the evaluation */ }
      },
    });
    const onAbort = () => this.#rpc.abort(call.id);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await call.done;
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Stream a completion, one `{ text, token }` per generated token (text may be '' while
   * UTF-8 bytes or a possible stop string are held back). Only one generation runs at a time:
   * another caller gets a 'busy' error, or waits its turn with `wait: true`.
   * @param {string|ArrayLike<number>} prompt
   * @param {Record<string, any>} [opts]
   * @returns {AsyncGenerator<{text: string, token: number|null}, void, void>}
   */
  async *generate(prompt, opts = {}) {
    this.#check();
    if (opts === null || typeof opts !== 'object') throw new ArgumentError('generate() takes its options as an object.');
    const signal = opts.signal;
    if (signal?.aborted) throw new AbortError('The generation was aborted before it started.');
    const options = pick(opts, GEN_KEYS);
    checkOptions(options, GENERATE_OPTIONS);
    if (typeof options.stop === 'string') options.stop = [options.stop];
    const input = promptArg(prompt, 'generate()');
    await this.#gate.enter(!!opts.wait, signal);
    /** @type {{text: string, token: number|null}[]} */
    const events = [];
    /** @type {(() => void)|null} */
    let wake = null;
    let finished = false;
    let failure = null;
    const poke = () => { const w = wake; wake = null; w?.(); };
    let call = null;
    const onAbort = () => { if (call) this.#rpc.abort(call.id); };
    try {
      this.#check();
      call = this.#rpc.call('generate', { prompt: input, options, credit: GEN_WINDOW }, {
        onEvent: (type, data) => {
          if (type === 'token') events.push(data);
          else if (type === 'stats') this.#lastStats = data;
          poke();
        },
      });
      call.done.then((s) => { this.#lastStats = s; }, (e) => { failure = e; }).finally(() => { finished = true; poke(); });
      signal?.addEventListener('abort', onAbort, { once: true });
      for (;;) {
        // Once the signal fires nothing more is yielded, even tokens already in flight.
        if (signal?.aborted) throw new AbortError('The generation was aborted.');
        if (events.length) {
          yield /** @type {any} */ (events.shift());
          if (signal?.aborted) throw new AbortError('The generation was aborted.');
          this.#rpc.credit(call.id, 1); // the consumer took one: the worker may make one more
          continue;
        }
        if (finished) break;
        await new Promise((r) => { wake = r; });
      }
      if (failure) throw failure;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      if (call && !finished) {
        this.#rpc.abort(call.id); // the consumer stopped early (break / return)
        await call.done.catch(() => {});
      }
      this.#gate.leave();
    }
  }

  /** Free the model and stop its worker. Later calls fail with a 'state' error. */
  async unload() {
    if (this.#unloaded) return;
    this.#unloaded = true;
    try {
      await this.#rpc.call('unload', {}).done;
    } catch { /* the worker may already be gone */ }
    this.#rpc.close(new StateError('The model was unloaded.'));
    await this.#port.terminate?.();
  }

  /** The model cache (IndexedDB in browsers, a directory in Node). */
  static cache = {
    /**
     * @param {{cacheDir?: string}} [o]
     */
    async list(o = {}) {
      const store = await openStore(o);
      return (await store.list()).map(describeEntry).sort((a, b) => a.key.localeCompare(b.key));
    },
    /** @param {string} key @param {{cacheDir?: string}} [o] @returns {Promise<boolean>} whether it existed */
    async delete(key, o = {}) {
      const store = await openStore(o);
      const had = !!(await store.getMeta(key));
      await store.deleteEntry(key);
      return had;
    },
    /** @param {{cacheDir?: string}} [o] @returns {Promise<number>} entries deleted */
    async clear(o = {}) {
      const store = await openStore(o);
      const all = await store.list();
      for (const m of all) await store.deleteEntry(m.id);
      return all.length;
    },
    /**
     * Bytes our entries use, and the storage quota / free space (null when unknown).
     * @param {{cacheDir?: string}} [o]
     */
    async usage(o = {}) {
      const store = await openStore(o);
      const all = await store.list();
      const est = await store.estimate();
      return {
        usage: all.reduce((s, m) => s + (m.stored ?? 0), 0), entries: all.length,
        quota: est.quota ?? null, free: est.free ?? null, store: store.kind,
      };
    },
    /**
     * A complete entry's bytes, checked against its checksums (export, tests).
     * @param {string} key @param {{cacheDir?: string}} [o] @returns {Promise<Uint8Array>}
     */
    async read(key, o = {}) {
      const store = await openStore(o);
      const meta = await store.getMeta(key);
      if (!meta?.complete) throw new StateError(`The cache has no complete entry '${key}'.`);
      const bytes = new Uint8Array(meta.size);
      try {
        await readEntryInto(store, meta, (off, len) => bytes.subarray(off, off + len));
      } catch (e) {
        throw e?.name === 'CorruptEntryError' ? new FormatError(e.message) : toApiError(e);
      }
      return bytes;
    },
  };
}

const CONSTRUCT = Symbol('construct');

/** One evaluate() task as {name, text, format} or {name, perplexity}; Blobs are read here. */
async function taskInput(t, i) {
  const isBlob = (x) => typeof Blob !== 'undefined' && x instanceof Blob;
  const read = async (x) => (isBlob(x) ? x.text() : x);
  if (typeof t === 'string') return { name: `task${i + 1}`, text: t };
  if (isBlob(t)) return { name: /** @type {any} */ (t).name || `task${i + 1}`, text: await t.text() };
  if (t && typeof t === 'object') {
    const name = typeof t.name === 'string' && t.name ? t.name : isBlob(t.text ?? t.perplexity) ? (t.text ?? t.perplexity).name : `task${i + 1}`;
    if (typeof t.perplexity === 'string' || isBlob(t.perplexity)) return { name, perplexity: await read(t.perplexity) };
    if (typeof t.text === 'string' || isBlob(t.text)) return { name, text: await read(t.text), ...(t.format ? { format: t.format } : {}) };
  }
  throw new ArgumentError('A task must be JSON-lines text, a File or Blob of it, { text, name?, format? } or { perplexity: text, name? }.');
}

/**
 * A prompt as it crosses to the worker: a string, or an array-like of numbers copied to an Array.
 * @param {unknown} p @param {string} what
 * @returns {string|number[]}
 */
function promptArg(p, what) {
  if (typeof p === 'string') return p;
  const n = /** @type {any} */ (p)?.length;
  if (p === null || typeof p !== 'object' || !Number.isSafeInteger(n) || n < 0) {
    throw new ArgumentError(`${what} takes a string or an array of token ids, not ${p === null ? 'null' : typeof p}.`);
  }
  if (n > MAX_CTX) throw new ArgumentError(`${what} got ${n} token ids, more than any context holds (${MAX_CTX}).`);
  const ids = Array.from(/** @type {ArrayLike<unknown>} */ (p));
  if (!ids.every((t) => typeof t === 'number')) throw new ArgumentError(`${what} takes token ids that are numbers.`);
  return /** @type {number[]} */ (ids);
}

/** @param {Record<string, any>} o @param {string[]} keys */
function pick(o, keys) {
  const out = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

/**
 * Classify a source on the calling side; bytes are transferred to the worker.
 * @param {any} source
 * @param {{transfer: boolean}} o
 * @returns {Promise<{desc: import('./source.js').SourceDesc, transferList: ArrayBuffer[]}>}
 */
async function describeSource(source, o) {
  const none = [];
  if (source instanceof URL) return { desc: { type: 'url', url: source.href }, transferList: none };
  if (typeof source === 'string') return { desc: await describeString(source.trim()), transferList: none };
  if (source instanceof ArrayBuffer) {
    const bytes = new Uint8Array(o.transfer ? source : source.slice(0));
    return { desc: { type: 'bytes', bytes }, transferList: [bytes.buffer] };
  }
  if (ArrayBuffer.isView(source)) {
    let bytes = new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
    // Transfer the caller's buffer only when the view is all of it; otherwise copy once.
    if (!o.transfer || transferables(bytes).length === 0) bytes = bytes.slice();
    return { desc: { type: 'bytes', bytes }, transferList: [bytes.buffer] };
  }
  if (typeof Blob !== 'undefined' && source instanceof Blob) {
    return { desc: { type: 'blob', blob: source, name: /** @type {any} */ (source).name }, transferList: none };
  }
  const list = typeof FileList !== 'undefined' && source instanceof FileList ? [...source] : Array.isArray(source) ? source : null;
  if (list && list.length && list.every((f) => typeof Blob !== 'undefined' && f instanceof Blob && typeof f.name === 'string')) {
    return { desc: { type: 'files', files: Object.fromEntries(list.map((f) => [f.name, f])), label: 'the selected files' }, transferList: none };
  }
  if (source && typeof source === 'object') {
    if ('cacheKey' in source) {
      if (typeof source.cacheKey !== 'string' || !source.cacheKey) throw new ArgumentError('cacheKey must be the key of a cache entry (MobileLLM.cache.list()), a non-empty string.');
      return { desc: { type: 'cache', key: source.cacheKey }, transferList: none };
    }
    if (typeof source.repo === 'string') {
      const r = parseRepoId(source.repo);
      if (!r) throw new ArgumentError(`'${source.repo}' is not a Hugging Face repo id of the form owner/name.`);
      return { desc: { type: 'hf', repo: r.repo, revision: source.revision ?? r.revision }, transferList: none };
    }
    if (source.files && typeof source.files === 'object') {
      return { desc: { type: 'files', files: { ...source.files }, label: source.label ?? 'the checkpoint files' }, transferList: none };
    }
  }
  throw new ArgumentError('The model source must be a URL, a Hugging Face repo id, a File, Blob, ArrayBuffer or typed array, { cacheKey }, or (in Node) a path.');
}

/** @param {string} s @returns {Promise<import('./source.js').SourceDesc>} */
async function describeString(s) {
  if (!s) throw new ArgumentError('The model source is an empty string.');
  const hfPage = /^https:\/\/huggingface\.co\/([^/?#]+\/[^/?#]+)\/?$/.exec(s);
  if (hfPage || s.startsWith('hf://')) {
    const r = parseRepoId(hfPage ? hfPage[1] : s);
    if (!r) throw new ArgumentError(`'${s}' is not a Hugging Face repo id of the form owner/name.`);
    return { type: 'hf', repo: r.repo, revision: r.revision };
  }
  if (/^https?:\/\//i.test(s)) return { type: 'url', url: s };
  const looksLikeRepo = !!parseRepoId(s) && !/\.gguf$/i.test(s) && !/^[./~]/.test(s);
  if (isNode) {
    const fs = await import('node:fs');
    if (fs.existsSync(s) || !looksLikeRepo) return { type: 'path', path: s };
    const r = parseRepoId(s);
    return { type: 'hf', repo: r.repo, revision: r.revision };
  }
  if (looksLikeRepo) {
    const r = parseRepoId(s);
    return { type: 'hf', repo: r.repo, revision: r.revision };
  }
  return { type: 'url', url: new URL(s, globalThis.location?.href).href };
}

/**
 * The channel to the engine's worker (or, with worker: false, to an in-process host).
 * @param {boolean} useWorker
 * @returns {Promise<import('./protocol.js').Port>}
 */
async function openPort(useWorker) {
  if (!useWorker) {
    const { Host } = await import('./host.js');
    /** @type {(msg: any) => void} */
    let toMain = () => {};
    const host = new Host((msg) => queueMicrotask(() => toMain(msg)));
    return {
      postMessage: (msg) => queueMicrotask(() => { host.handle(msg); }),
      onMessage: (fn) => { toMain = fn; },
    };
  }
  if (isNode) {
    const { Worker } = await import('node:worker_threads');
    const w = new Worker(new URL('./worker.js', import.meta.url), { workerData: { mobilellmWorker: true } });
    let terminated = false;
    return {
      postMessage: (msg, transfer) => w.postMessage(msg, transfer),
      onMessage: (fn) => { w.on('message', fn); },
      onFailure: (fn) => {
        w.on('error', (e) => fn(new InternalError(`The model worker failed: ${e?.message ?? e}`)));
        w.on('exit', (code) => { if (!terminated) fn(new InternalError(`The model worker exited unexpectedly (code ${code}).`)); });
      },
      terminate: () => { terminated = true; return w.terminate(); },
      ref: () => w.ref(),
      unref: () => w.unref(),
    };
  }
  // Spelled inline so bundlers (Vite, webpack 5) recognize the worker entry and emit it.
  const w = new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: 'mobilellm' });
  return {
    postMessage: (msg, transfer) => w.postMessage(msg, transfer ?? []),
    onMessage: (fn) => { w.onmessage = (e) => fn(e.data); },
    onFailure: (fn) => {
      w.onerror = (e) => { e.preventDefault?.(); fn(new InternalError(`The model worker failed: ${e.message || 'it could not start (check that worker/, wasm_build/ and dist/ are served)'}.`)); };
      w.onmessageerror = () => fn(new InternalError('A message from the model worker could not be read.'));
    },
    terminate: () => w.terminate(),
  };
}

// ------------------------------------------------------------------------------ Node helpers

/**
 * Node: the path of a GGUF file for any source — a GGUF path as is, or the verified cache entry
 * a URL, Hugging Face repo or checkpoint directory resolves to (downloaded and converted as
 * needed, Q8_0 unless `dtype` says otherwise). Backs the CLI's `-m` and `convert`.
 * @param {string} source
 * @param {Record<string, any>} [options] cacheDir, dtype, onProgress, signal, hfEndpoint, hfToken, revision, file
 * @returns {Promise<{path: string, fromCache: boolean, cacheKey: string|null, warnings: string[]}>}
 */
export async function resolveModelFile(source, options = {}) {
  if (!isNode) throw new ArgumentError('resolveModelFile() is for Node; in a browser use MobileLLM.load().');
  const { resolveModelFile: resolve } = await import('./source.js');
  const { desc } = await describeSource(source, { transfer: false });
  const store = await openStore({ cacheDir: options.cacheDir });
  const dtype = checkDtype(options.dtype);
  try {
    const r = await resolve(desc, {
      store, cache: options.cache ?? true, dtype, hfEndpoint: options.hfEndpoint, hfToken: options.hfToken,
      revision: options.revision, file: options.file, retries: options.retries,
      signal: options.signal ?? new AbortController().signal, warnings: [],
      onProgress: (p) => { try { options.onProgress?.(p); } catch { /* ignore */ } },
    });
    return { path: r.value, fromCache: r.fromCache, cacheKey: r.cacheKey, warnings: r.warnings };
  } catch (e) {
    throw toApiError(e);
  }
}

/**
 * Node: convert a checkpoint (directory, repo id) to a GGUF file at `outPath` (`mobilellm
 * convert`). A directory is converted straight to the file; a repo goes through the cache.
 * @param {string} source
 * @param {string} outPath
 * @param {Record<string, any>} [options] dtype (q8_0 default), plus resolveModelFile's
 * @returns {Promise<{warnings: string[]}>}
 */
export async function convertSource(source, outPath, options = {}) {
  if (!isNode) throw new ArgumentError('convertSource() is for Node.');
  const fs = await import('node:fs');
  if (fs.existsSync(source) && fs.statSync(source).isDirectory()) {
    // a directory converts straight to the file: every output type of the converter
    const { convertToFile, OUTPUT_TYPES } = await import('../models/convert/convert.js');
    const type = typeof options.dtype === 'string' ? options.dtype.toLowerCase() : options.dtype === undefined ? 'q8_0' : '';
    if (!Object.hasOwn(OUTPUT_TYPES, type)) {
      throw new ArgumentError(`dtype must be one of ${Object.keys(OUTPUT_TYPES).join(', ')}, not '${options.dtype}'.`);
    }
    const { Engine } = await import('../wasm_build/engine.js');
    const eng = await Engine.create(); // its C quantizers write the 4/5/6-bit types
    try {
      return await convertToFile(source, outPath, {
        type, onWarning: () => {}, quantizeRows: (t, d, r, c) => eng.quantizeRows(t, d, r, c),
      });
    } catch (e) {
      throw toApiError(e);
    }
  }
  const dtype = checkDtype(options.dtype);
  const r = await resolveModelFile(source, { ...options, dtype });
  fs.copyFileSync(r.path, outPath);
  return { warnings: r.warnings };
}
