// host.js — the worker side: owns one Engine and at most one model, and answers the requests of
// protocol.js. Everything that computes (download, conversion, hashing, the forward pass) runs
// here, so in a browser the page's main thread only posts messages. It has no side effects on
// import: worker.js attaches it to the worker's port, port.js runs it in process on request.

import { Engine, Generator } from '../wasm_build/engine.js';
import { jsonSchemaToGrammar } from './json_schema_grammar.js';
import { GrammarCache } from './grammar_cache.js';
import { PromptCache } from './prompt_cache.js';
import { openStore } from './cache.js';
import { loadSource } from './source.js';
import { transferables, yieldToEventLoop } from './protocol.js';
import {
  AbortError, ArgumentError, BusyError, ContextFullError, StateError, serializeError, toApiError,
} from './errors.js';
import {
  checkDtype, checkFlag, checkFlags, checkOptions, contextLength, GENERATE_FLAGS, GENERATE_OPTIONS, LOAD_OPTIONS,
} from './options.js';
import { contextBytes, defaultMemoryLimit } from './memory.js';
import { engineThreads } from './thread_pool.js';

const PREFILL_SLICE = 64; // prompt tokens per forward call, so an abort is seen within one slice

export class Host {
  /** @param {(msg: any, transfer?: ArrayBuffer[]) => void} post */
  constructor(post) {
    this.post = post;
    /** @type {Promise<Engine>|null} */
    this.enginePromise = null;
    /** @type {import('../wasm_build/engine.js').Model|null} */
    this.model = null;
    /** @type {import('../wasm_build/engine.js').Context|null} */
    this.ctx = null;
    /** @type {PromptCache|null} what this.ctx's KV cache holds between generations */
    this.promptCache = null;
    /** @type {GrammarCache|null} compiled grammars of this.model */
    this.grammars = null;
    /** @type {Map<number, AbortController>} request id -> its abort switch */
    this.controllers = new Map();
    this.generating = 0;
    /** @type {Map<number, {n: number, wake: (() => void)|null}>} tokens each generation may still send */
    this.credits = new Map();
    this.threads = 1; // threads the loaded model's contexts use
  }

  /** @param {{id: number, op: string, args: any}} msg */
  async handle(msg) {
    const { id, op, args } = msg ?? {};
    if (op === 'abort') {
      this.controllers.get(args?.target)?.abort();
      return;
    }
    if (op === 'credit') {
      const c = this.credits.get(args?.target);
      if (c) { c.n += Number(args.n) || 0; c.wake?.(); }
      return;
    }
    const ctl = new AbortController();
    this.controllers.set(id, ctl);
    try {
      const fn = this.ops[op];
      if (!fn) throw new ArgumentError(`Unknown request '${op}'.`);
      const data = await fn.call(this, args ?? {}, ctl.signal, id);
      this.post({ id, type: 'result', data }, transferables(data));
    } catch (e) {
      this.post({ id, type: 'error', error: serializeError(e) });
    } finally {
      this.controllers.delete(id);
    }
  }

  /**
   * The engine, created on first use: `threads` > 1 asks for the pthreads build, with workers
   * for two contexts of `threads` each (the session's, and the one logits() makes beside it:
   * each context's pool holds threads - 1 workers for its lifetime).
   * @param {number} [threads]
   * @param {Record<string, string>} [locateFile] engine files served elsewhere, by name (the load option)
   * @param {MessagePort[]} [threadPorts] the pool's workers, started by the page (thread_pool.js)
   */
  engine(threads = 1, locateFile = undefined, threadPorts = undefined) {
    this.enginePromise ??= Engine.create({ threads: engineThreads(threads), locateFile, threadPorts });
    return this.enginePromise;
  }

  requireModel() {
    if (!this.model) throw new StateError('No model is loaded (it was unloaded or never loaded).');
    return this.model;
  }

  get ops() {
    return {
      start: this.start,
      load: this.load,
      generate: this.generate,
      tokenize: this.tokenize,
      detokenize: this.detokenize,
      logits: this.logits,
      evaluate: this.evaluate,
      unload: this.unload,
    };
  }

  /**
   * Start the engine ahead of a load (MobileLLM.load does, for threads > 1, to watch for a stalled
   * start), on the pool the page started when it sends `threadPorts`.
   * @param {{threads?: number, locateFile?: Record<string, string>, threadPorts?: MessagePort[]}} a
   */
  async start(a) {
    const eng = await this.engine(a.threads ?? 1, a.locateFile, a.threadPorts);
    return { threads: eng.build?.threads ?? 1 };
  }

  /**
   * @param {{source: import('./source.js').SourceDesc, options: Record<string, any>}} a
   * @param {AbortSignal} signal
   * @param {number} id
   */
  async load(a, signal, id) {
    if (this.model) throw new StateError('This worker already holds a model; unload it first.');
    const o = a.options ?? {};
    const dtype = checkDtype(o.dtype);
    checkOptions(o, LOAD_OPTIONS);
    const want = o.threads ?? 1;
    if (a.source?.type === 'cache' && o.cache === false) throw new ArgumentError('Loading a cache entry by key needs the cache; do not pass cache: false.');
    const t0 = performance.now();
    const eng = await this.engine(want, o.locateFile);
    // Large allocations (the model, its context) are refused before the memory would grow past this.
    eng.memoryLimit = o.memoryLimit ?? defaultMemoryLimit();
    /** @type {string[]} */
    const warnings = [];
    // The engine has a pool only in the pthreads build (it needs SharedArrayBuffer: Node, or a
    // cross-origin-isolated page): elsewhere the same results come from one thread.
    this.threads = (eng.build?.threads ?? 1) > 1 ? want : 1;
    if (this.threads < want) warnings.push(threadsWarning(want, eng));
    const store = await openStore({ cache: o.cache, cacheDir: o.cacheDir });
    const origin = await loadSource(eng, a.source, {
      store, cache: o.cache ?? true, dtype, hfEndpoint: o.hfEndpoint, hfToken: o.hfToken, revision: o.revision,
      file: o.file, retries: o.retries, signal, warnings,
      onProgress: (p) => this.post({ id, type: 'progress', data: p }),
    });
    const model = origin.value;
    try {
      const nCtx = contextLength(o.nCtx, model.info.nCtxTrain || 2048, { fallbackCap: 4096 });
      eng.reserve(contextBytes(model.info, nCtx), `Its context of ${nCtx} tokens`, 'a shorter nCtx or a smaller model fits');
      this.ctx = model.newContext({ nCtx, threads: this.threads });
    } catch (e) {
      model.free();
      throw e;
    }
    this.model = model;
    this.promptCache = new PromptCache(this.ctx);
    this.grammars = new GrammarCache(model);
    return this.describe(origin, performance.now() - t0);
  }

  describe(origin, loadMs) {
    const m = this.requireModel();
    const eng = m.eng;
    return {
      ...m.info,
      quant: m.info.weightType,
      nCtx: this.ctx.nCtx,
      source: origin.source,
      cacheKey: origin.cacheKey,
      fromCache: origin.fromCache,
      fileBytes: origin.fileBytes,
      warnings: origin.warnings,
      loadMs: Math.round(loadMs),
      heapBytes: eng.heapBytes,
      simd: eng.build?.simd ?? null,
      relaxedSimd: eng.build?.relaxed ?? false,
      threads: this.threads,
      memoryLimit: eng.memoryLimit,
    };
  }

  /** @param {{text: string, addBos?: boolean, parseSpecial?: boolean}} a */
  async tokenize(a) {
    const m = this.requireModel();
    if (typeof a.text !== 'string') throw new ArgumentError('tokenize() takes a string.');
    return m.tokenize(a.text, { addBos: a.addBos ?? m.info.addBos, parseSpecial: !!a.parseSpecial });
  }

  /** @param {{tokens: ArrayLike<number>, stripLeadingSpace?: boolean}} a */
  async detokenize(a) {
    const m = this.requireModel();
    // Like SentencePiece's decode: the space the tokenizer's dummy prefix added is not text.
    return m.detokenize(this.checkTokens(a.tokens, 'detokenize()'), { stripLeadingSpace: a.stripLeadingSpace ?? true });
  }

  checkTokens(tokens, what) {
    const m = this.requireModel();
    if (!tokens || typeof tokens.length !== 'number') throw new ArgumentError(`${what} takes an array of token ids.`);
    const ids = Int32Array.from(tokens);
    for (let i = 0; i < ids.length; i++) {
      if (ids[i] !== tokens[i] || ids[i] < 0 || ids[i] >= m.info.nVocab) {
        throw new ArgumentError(`Token ${tokens[i]} at position ${i} is not an id in the vocabulary of ${m.info.nVocab}.`);
      }
    }
    return ids;
  }

  /** @param {string|ArrayLike<number>} input @param {boolean|undefined} addBos */
  promptIds(input, addBos, what) {
    const m = this.requireModel();
    const ids = typeof input === 'string' ? m.tokenize(input, { addBos: addBos ?? m.info.addBos }) : this.checkTokens(input, what);
    if (ids.length === 0) throw new ArgumentError(`${what} got an empty prompt.`);
    return ids;
  }

  /**
   * Teacher-forced logits of every position, row-major [n, nVocab], in a context of its own
   * (a running generation is not disturbed).
   * @param {{input: string|ArrayLike<number>, addBos?: boolean}} a
   */
  async logits(a, signal) {
    const m = this.requireModel();
    const ids = this.promptIds(a.input, a.addBos, 'logits()');
    const batch = Math.min(ids.length, 128);
    const ctx = m.newContext({ nCtx: ids.length, nBatch: batch, threads: this.threads });
    try {
      const out = new Float32Array(ids.length * m.info.nVocab);
      for (let s = 0; s < ids.length; s += batch) {
        const part = ids.subarray(s, Math.min(ids.length, s + batch));
        ctx.eval(part, { allLogits: true });
        for (let j = 0; j < part.length; j++) out.set(ctx.logitsView(j), (s + j) * m.info.nVocab);
        await yieldToEventLoop();
        if (signal.aborted) throw new AbortError('Computing logits was aborted.');
      }
      return out;
    } finally {
      ctx.free();
    }
  }

  /**
   * Task files and perplexity texts scored as lm-evaluation-harness does (eval/evaluate.js), in
   * a context of its own; one evaluation at a time.
   * @param {{tasks: any[], options: Record<string, any>}} a
   * @param {AbortSignal} signal
   * @param {number} id
   */
  async evaluate(a, signal, id) {
    const m = this.requireModel();
    if (this.evaluating) throw new BusyError('An evaluation is already running on this model; wait for it to finish or abort it.');
    this.evaluating = true;
    try {
      const { evaluate } = await import('./eval/evaluate.js');
      return await evaluate(m, a.tasks, { ...a.options, threads: this.threads, signal,
        onProgress: (p) => this.post({ id, type: 'progress', data: p }) });
    } finally {
      this.evaluating = false;
    }
  }

  /**
   * @param {{prompt: string|ArrayLike<number>, options: Record<string, any>}} a
   * @param {AbortSignal} signal
   * @param {number} id
   */
  async generate(a, signal, id) {
    const m = this.requireModel();
    if (this.generating) throw new BusyError('A generation is already running on this model; wait for it to finish or abort it.');
    this.generating = id;
    let finished;
    this.generationDone = new Promise((r) => { finished = r; });
    const o = a.options ?? {};
    let sampler = null;
    let gen = null;
    let committed = false; // the prompt cache describes the context again
    try {
      const ctx = this.ctx;
      const ids = this.promptIds(a.prompt, o.addBos, 'generate()');
      if (ids.length >= ctx.nCtx) {
        throw new ContextFullError(`The prompt is ${ids.length} tokens but the context holds ${ctx.nCtx}, which leaves no room to generate.`,
          { promptTokens: ids.length, nCtx: ctx.nCtx });
      }
      checkOptions(o, GENERATE_OPTIONS);
      checkFlags(o, GENERATE_FLAGS);
      checkStop(o.stop);
      checkConstraint(o);
      const gbnf = o.jsonSchema !== undefined ? jsonSchemaToGrammar(o.jsonSchema) : o.grammar;
      const grammar = gbnf !== undefined ? this.grammars.get(gbnf) : null;
      const seed = o.seed ?? ((Math.random() * 2 ** 32) >>> 0);
      sampler = m.newSampler({
        temperature: o.temperature, topK: o.topK, topP: o.topP, minP: o.minP,
        repeatPenalty: o.repeatPenalty, repeatLastN: o.repeatLastN, seed,
      });
      for (const t of ids) sampler.accept(t);

      // Only what follows the prefix the context already holds is evaluated (cachePrompt).
      const t0 = performance.now();
      const reused = this.promptCache.begin(ids, checkFlag('cachePrompt', o.cachePrompt));
      for (let s = reused; s < ids.length; s += PREFILL_SLICE) {
        ctx.eval(ids.subarray(s, Math.min(ids.length, s + PREFILL_SLICE)));
        if (s + PREFILL_SLICE < ids.length) {
          await yieldToEventLoop();
          if (signal.aborted) throw new AbortError('The generation was aborted during the prompt.');
        }
      }
      const t1 = performance.now();
      gen = new Generator(ctx, sampler, { maxTokens: o.maxTokens ?? 256, ignoreEos: !!o.ignoreEos, stop: o.stop ?? [],
        ...(grammar ? { grammar } : {}) });
      // Flow control: the consumer grants a token per token it takes, so the worker runs at
      // most `credit` tokens ahead — a slow or stopped consumer never leaves it racing on.
      const credit = { n: a.credit > 0 ? a.credit : Infinity, wake: null };
      this.credits.set(id, credit);
      const wake = () => credit.wake?.();
      signal.addEventListener('abort', wake, { once: true });
      /** @type {number[]} */
      const generated = [];
      let stop = null;
      for (;;) {
        const r = gen.step();
        if (r.token >= 0) generated.push(r.token);
        if (r.token >= 0 || r.text) {
          this.post({ id, type: 'token', data: { text: r.text, token: r.token >= 0 ? r.token : null } });
          credit.n--;
        }
        if (r.stop) { stop = r.stop; break; }
        await yieldToEventLoop(); // an abort or another request gets its turn between tokens
        while (credit.n <= 0 && !signal.aborted) await new Promise((res) => { credit.wake = res; });
        credit.wake = null;
        if (signal.aborted) { stop = 'aborted'; break; }
      }
      signal.removeEventListener('abort', wake);
      const t2 = performance.now();
      // A run that ended without an error (an abort between tokens included) leaves the cache
      // holding its prompt and the tokens it evaluated: the next call may start from them.
      this.promptCache.commit(ids, generated);
      committed = true;
      const n = generated.length, evalTokens = ids.length - reused;
      this.lastStats = {
        promptTokens: ids.length, reusedTokens: reused, evalTokens, generatedTokens: n, stopReason: stop, seed,
        prefillMs: +(t1 - t0).toFixed(2), decodeMs: +(t2 - t1).toFixed(2),
        prefillTokPerS: +(evalTokens / Math.max(1e-6, (t1 - t0) / 1000)).toFixed(2),
        decodeTokPerS: +(n / Math.max(1e-6, (t2 - t1) / 1000)).toFixed(2),
        heapBytes: m.eng.heapBytes,
      };
      this.post({ id, type: 'stats', data: this.lastStats });
      if (stop === 'aborted') throw new AbortError(`The generation was aborted after ${n} tokens.`);
      return this.lastStats;
    } catch (e) {
      if (!committed) this.promptCache?.clear(); // a failed run may have left the cache anywhere
      throw toApiError(e);
    } finally {
      gen?.free();
      sampler?.free();
      this.generating = 0;
      this.credits.delete(id);
      finished();
    }
  }

  async unload() {
    for (const c of this.controllers.values()) c.abort();
    if (this.generating) await this.generationDone; // never free what a running step uses
    this.grammars?.free();
    this.ctx?.free();
    this.model?.free();
    this.grammars = null;
    this.promptCache = null;
    this.ctx = null;
    this.model = null;
    return true;
  }
}

/** Why a request for `want` threads runs on one. @param {number} want @param {Engine} eng */
function threadsWarning(want, eng) {
  const isolated = globalThis.crossOriginIsolated !== false;
  const why = eng.build?.simd === false ? 'the threaded build needs WebAssembly SIMD, which this browser lacks'
    : !isolated ? 'threads need SharedArrayBuffer, which only a cross-origin-isolated page has (serve it with COOP: same-origin and COEP: require-corp)'
      // (WebKitGTK: isolated, yet no SharedArrayBuffer, and its shared wasm memory cannot be posted to a worker)
      : typeof SharedArrayBuffer !== 'function' ? 'this browser offers no SharedArrayBuffer, even to a cross-origin-isolated page'
        : 'the engine was started without threads';
  return `${want} threads were asked for but ${why}, so the model runs on one thread.`;
}

/** stop: absent, or an array of non-empty strings. @param {unknown} stop */
function checkStop(stop) {
  if (stop !== undefined && (!Array.isArray(stop) || !stop.every((x) => typeof x === 'string' && x.length > 0))) {
    throw new ArgumentError('The generation option stop must be a non-empty string or an array of them.');
  }
}

/** grammar / jsonSchema: one of them at most, a string grammar, and no stop strings with them. */
function checkConstraint(o) {
  if (o.grammar !== undefined && typeof o.grammar !== 'string') throw new ArgumentError('The generation option grammar must be a GBNF string.');
  if (o.grammar !== undefined && o.jsonSchema !== undefined) throw new ArgumentError('Give the generation option grammar or jsonSchema, not both.');
  if ((o.grammar !== undefined || o.jsonSchema !== undefined) && o.stop?.length) {
    throw new ArgumentError('The generation option stop cannot be combined with grammar or jsonSchema, which decide where the text ends.');
  }
}
