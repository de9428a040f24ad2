// mobilellm.js — the MobileLLM class. Each loaded model lives in its own worker (a module Web
// Worker in browsers, a worker_threads Worker in Node) that owns the wasm engine; this side only
// posts messages (protocol.js), so a page's main thread never computes.

import { RpcClient } from './protocol.js';
import { Gate } from './gate.js';
import { openPort } from './port.js';
import { describeSource } from './describe_source.js';
import { cacheApi } from './cache_api.js';
import { chatApi } from './chat.js';
import { AbortError, ArgumentError, StateError } from './errors.js';
import { ENGINE_START, startWatched } from './start_watchdog.js';
import { engineThreads, openThreadPool, pageHasThreads } from './thread_pool.js';
import { isNode } from '../lib/env.js';
import { ENGINE_FILES } from '../wasm_build/engine_files.js';
import { checkDtype, checkFlags, checkOptions, GENERATE_FLAGS, GENERATE_OPTIONS, LOAD_FLAGS, LOAD_OPTIONS, MAX_CTX } from './options.js';

/** Load options forwarded to the worker. */
const LOAD_KEYS = ['locateFile', 'cache', 'cacheDir', 'dtype', 'nCtx', 'threads', 'memoryLimit', 'hfEndpoint', 'hfToken', 'revision', 'file', 'retries'];
/** Generation options forwarded to the worker. */
const GEN_KEYS = ['maxTokens', 'temperature', 'topK', 'topP', 'minP', 'repeatPenalty', 'repeatLastN', 'seed', 'stop',
  'ignoreEos', 'addBos', 'grammar', 'jsonSchema', 'cachePrompt'];

/** Evaluation options forwarded to the worker (eval/evaluate.js). */
const EVAL_KEYS = ['limit', 'shots', 'bos', 'nCtx', 'ctx', 'stride', 'maxGenTokens', 'batch', 'log'];

/** Tokens the worker may compute ahead of the consumer: after the consumer stops (abort, break),
 * at most one more token is computed. */
const GEN_WINDOW = 2;

export class MobileLLM {
  /** @type {RpcClient} */ #rpc;
  /** @type {import('./protocol.js').Port} */ #port;
  /** @type {Record<string, any>} */ #info;
  /** @type {Record<string, any>|null} */ #lastStats = null;
  #gate = new Gate();
  #unloaded = false;
  /** @type {ReturnType<typeof chatApi>|null} */ #chat = null;

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
    checkFlags(options, LOAD_FLAGS);
    const files = locatedFiles(options.locateFile);
    const { desc, transferList } = await describeSource(source, { transfer });
    // Firefox asks the user before it answers persist(): the load never waits on that answer.
    const asking = storagePersistence(options.persist === true);
    const { port, rpc } = await startWorker(worker, files, options.threads ?? 1, signal);
    if (signal?.aborted) { // while the worker started: its abort event has gone by
      const e = new AbortError('Loading the model was aborted while its worker started.');
      rpc.close(e);
      await port.terminate?.();
      throw e;
    }
    const args = { source: desc, options: { ...pick(options, LOAD_KEYS), locateFile: files } };
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
      // the answer if it came during the load, else the state now (a pending prompt grants nothing yet)
      const persisted = await Promise.race([asking, storagePersistence(false)]);
      return new MobileLLM(rpc, port, { ...info, persisted: options.cache === false ? null : persisted }, CONSTRUCT);
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

  /** OpenAI's chat API on this model: chat.completions.create({ messages, stream, tools, … }) (chat.js). */
  get chat() { return (this.#chat ??= chatApi(this)); }

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
    return this.#until(call, opts.signal);
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
    return this.#until(call, opts.signal);
  }

  /** The result of a worker call that `signal` aborts. */
  async #until(call, signal) {
    const onAbort = () => this.#rpc.abort(call.id);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await call.done;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Stream a completion, one `{ text, token }` per generated token (text may be '' while
   * UTF-8 bytes or a possible stop string are held back). Only one generation runs at a time:
   * another caller gets a 'busy' error, or waits its turn with `wait: true`. The KV cache keeps
   * the last call's prompt and generated tokens: with `cachePrompt` (default true) only the
   * tokens after the prefix this prompt shares with them are evaluated.
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
    checkFlags(options, GENERATE_FLAGS);
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
  static cache = cacheApi;
}

/**
 * Whether the browser keeps this origin's storage (the model cache) under storage pressure:
 * asked for with navigator.storage.persist() when `ask`, else read; null where there is no such
 * thing (Node, whose cache directory is never evicted; a worker scope cannot ask).
 * @param {boolean} ask @returns {Promise<boolean|null>}
 */
async function storagePersistence(ask) {
  const st = globalThis.navigator?.storage;
  try {
    if (ask && typeof st?.persist === 'function') return await st.persist();
    if (typeof st?.persisted === 'function') return await st.persisted();
  } catch { /* an opaque origin, or storage denied */ }
  return null;
}

/**
 * The model's worker and its RPC client. For threads > 1 in a browser worker the engine is
 * started first, under start_watchdog.js's time limit (Firefox can block a worker for good while
 * it starts workers of its own); the load's signal ends that wait at once. Where the page can run
 * the threads build, the page starts the pool's workers itself (thread_pool.js) and the engine's
 * worker starts none.
 * @param {any} worker the load option @param {Record<string, string>} files @param {number} threads
 * @param {AbortSignal} [signal]
 */
async function startWorker(worker, files, threads, signal) {
  const open = async () => {
    const port = await openPort(worker, files[WORKER_FILE]);
    return { port, rpc: new RpcClient(port), pool: null };
  };
  if (!(threads > 1) || isNode || worker === false) return open();
  if (!pageHasThreads()) return startWatched(open, ({ rpc }) => rpc.call('start', { threads, locateFile: files }).done, ENGINE_START, signal);
  const openWithPool = async () => {
    const pool = openThreadPool(engineThreads(threads) - 1);
    /** @type {import('./protocol.js').Port} */
    let engine;
    try {
      engine = await openPort(worker, files[WORKER_FILE]);
    } catch (e) {
      pool.terminate();
      throw e;
    }
    /** @type {import('./protocol.js').Port} */
    const port = {
      ...engine,
      onFailure: (fn) => { engine.onFailure?.(fn); pool.onFailure(fn); },
      terminate: () => { pool.terminate(); return engine.terminate?.(); },
    };
    return { port, rpc: new RpcClient(port), pool };
  };
  return startWatched(openWithPool, async ({ rpc, pool }) => {
    const r = await rpc.call('start', { threads, locateFile: files, threadPorts: pool.ports }, { transfer: pool.ports }).done;
    if (!(r?.threads > 1)) pool.terminate(); // the engine runs on one thread here (no SIMD): the pool idles
    return r;
  }, ENGINE_START, signal);
}

const CONSTRUCT = Symbol('construct');

/** The worker script's name for locateFile. */
const WORKER_FILE = 'worker.js';

/**
 * The files a locateFile option moves: its function (name, defaultUrl) => address, or an object
 * of name -> address, asked for the worker script and every engine file, as a plain object
 * that can cross to the worker.
 * @param {unknown} locate
 * @returns {Record<string, string>}
 */
function locatedFiles(locate) {
  if (locate === undefined || locate === null) return {};
  if (typeof locate !== 'function' && typeof locate !== 'object') {
    throw new ArgumentError('locateFile must be a function (name, defaultUrl) => URL or an object of file name -> URL.');
  }
  /** @type {Record<string, string>} */
  const out = {};
  for (const name of [WORKER_FILE, ...Object.keys(ENGINE_FILES)]) {
    const def = name === WORKER_FILE ? '' : ENGINE_FILES[name]().href;
    const got = typeof locate === 'function' ? locate(name, def) : /** @type {any} */ (locate)[name];
    if (got === undefined || got === null || got === '') continue;
    try {
      out[name] = new URL(String(got), globalThis.location?.href).href;
    } catch {
      throw new ArgumentError(`locateFile gave '${String(got)}' for ${name}, which is not an absolute URL.`);
    }
  }
  return out;
}

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
