// scorer.js — log-likelihoods, greedy answers and rolling-window perplexity on one engine
// context, tokenized as lm-evaluation-harness does (HFLM._encode_pair, get_rolling_token_windows).
//
// Shared-prefix scoring: the tokens every request of a document has in common (its context,
// or for WinoGrande the sentence up to the blank) are evaluated once; each continuation is
// then evaluated from there as one batch and the KV cache is rewound to the shared prefix
// before the next. Whatever the cache still holds from the previous document is reused too.
// Batched (documents()): several documents in one forward pass (Context.evalBatch), each
// document's shared prefix once and every continuation seeing it; the log-likelihoods are
// bit-identical to the one-document-at-a-time path's (tests/c/test_batch.c). Models the engine
// does not batch (sliding-window layers) are scored one document at a time.

/** @param {ArrayLike<number>} a @param {ArrayLike<number>} b @param {number} n */
function commonPrefix(a, b, n = Infinity) {
  const m = Math.min(a.length, b.length, n);
  let i = 0;
  while (i < m && a[i] === b[i]) i++;
  return i;
}

/** The columns of a Context.evalBatch, filled by Scorer.#append. */
const newBatch = () => ({ token: [], pos: [], seeFrom: [], seeTo: [], segFrom: [], logits: [] });

/**
 * log_softmax(row)[tok] in float64, and whether tok is the row's argmax (the harness's is_greedy).
 * @param {Float32Array} row @param {number} tok
 */
export function tokenLogprob(row, tok) {
  let max = -Infinity, best = 0;
  for (let k = 0; k < row.length; k++) if (row[k] > max) { max = row[k]; best = k; }
  let sum = 0;
  for (let k = 0; k < row.length; k++) sum += Math.exp(row[k] - max);
  return { lp: row[tok] - max - Math.log(sum), greedy: best === tok };
}

export class Scorer {
  /**
   * @param {import('../../wasm_build/engine.js').Model} model
   * @param {import('../../wasm_build/engine.js').Context} ctx a context this scorer owns while it runs
   * @param {{bos?: boolean, nBatch: number}} o bos: prepend BOS to every encoding (default: the
   *   model's add_bos, which is what the harness's tokenizer call does); nBatch: the context's n_batch
   */
  constructor(model, ctx, o) {
    this.model = model;
    this.ctx = ctx;
    this.bos = o.bos ?? model.info.addBos;
    this.nBatch = o.nBatch;
    /** @type {Int32Array} tokens at positions 0.. of the KV cache */
    this.cached = new Int32Array(0);
    ctx.rewind(0);
  }

  /** @param {string} text @param {boolean} [bos] */
  encode(text, bos = this.bos) { return this.model.tokenize(text, { addBos: bos }); }

  /** The token id the harness puts before an empty context (prefix_token_id: BOS, else EOS). */
  get prefixToken() {
    const { bosId, eosId } = this.model.info;
    return bosId >= 0 ? bosId : eosId;
  }

  /**
   * HFLM: trailing spaces of the context move to the continuation; whole = encode(context +
   * continuation), context_enc = encode(context), continuation_enc = whole[len(context_enc):].
   * An empty context is the prefix token (loglikelihood()).
   * @param {string} context @param {string} continuation
   * @returns {{ctx: Int32Array, cont: Int32Array}}
   */
  encodePair(context, continuation) {
    if (context === '') {
      const cont = this.encode(continuation, false);
      const p = this.prefixToken;
      return cont[0] !== p ? { ctx: Int32Array.of(p), cont } : { ctx: cont.slice(0, 1), cont: cont.slice(1) };
    }
    const trimmed = context.replace(/\s+$/u, '');
    if (trimmed.length < context.length) {
      continuation = context.slice(trimmed.length) + continuation;
      context = trimmed;
    }
    const whole = this.encode(context + continuation);
    const ctx = this.encode(context);
    return { ctx, cont: whole.slice(ctx.length) };
  }

  /**
   * Make the cache hold seq[0:n] with the logits of position n - 1 current, reusing what it
   * holds. At least one token is evaluated, so those logits exist.
   * @param {Int32Array} seq @param {number} n
   */
  #prefill(seq, n) {
    const keep = Math.min(commonPrefix(this.cached, seq, n), n - 1);
    this.ctx.rewind(keep);
    this.cached = this.cached.subarray(0, keep);
    this.ctx.eval(seq.subarray(keep, n));
    this.cached = seq.slice(0, n);
  }

  /**
   * Evaluate seq[from:to] after a cache holding seq[0:from], logits for every row, calling
   * onRow(position, logits) for rows at positions >= rowFrom.
   */
  #rows(seq, from, to, rowFrom, onRow) {
    for (let s = from; s < to; s += this.nBatch) {
      const e = Math.min(to, s + this.nBatch);
      if (e <= rowFrom) { this.ctx.eval(seq.subarray(s, e)); continue; }
      this.ctx.eval(seq.subarray(s, e), { allLogits: true });
      for (let p = Math.max(s, rowFrom); p < e; p++) onRow(p, this.ctx.logitsView(p - s));
    }
    this.cached = seq.slice(0, to);
  }

  /**
   * Log-likelihoods of a document's requests (each {ctx, cont} from encodePair).
   * @param {{ctx: Int32Array, cont: Int32Array}[]} reqs
   * @param {{shared?: boolean}} [o] shared: false scores each request from an empty cache (the
   *   reference the shared-prefix path is checked and timed against)
   * @returns {{ll: number, greedy: boolean}[]}
   */
  loglikelihoods(reqs, o = {}) {
    const seqs = reqs.map((r) => {
      const s = new Int32Array(r.ctx.length + r.cont.length);
      s.set(r.ctx);
      s.set(r.cont, r.ctx.length);
      return s;
    });
    const out = reqs.map(() => ({ ll: 0, greedy: true }));
    const take = (r) => (p, row) => {
      const t = tokenLogprob(row, seqs[r][p + 1]);
      out[r].ll += t.lp;
      out[r].greedy &&= t.greedy;
    };
    if (o.shared === false) {
      reqs.forEach((q, r) => {
        this.ctx.rewind(0);
        this.cached = new Int32Array(0);
        const c = q.ctx.length;
        if (c > 1) this.#prefill(seqs[r], c - 1);
        this.#rows(seqs[r], c - 1, seqs[r].length - 1, c - 1, take(r));
      });
      return out;
    }
    // P: the prefix all requests share, never past the shortest context.
    let P = Math.min(...reqs.map((q) => q.ctx.length));
    for (const s of seqs) P = commonPrefix(seqs[0], s, P);
    if (P > 0) {
      this.#prefill(seqs[0], P);
      const row = this.ctx.logitsView(-1);
      reqs.forEach((q, r) => { if (q.ctx.length === P) take(r)(P - 1, row); });
    }
    reqs.forEach((q, r) => {
      if (this.cached.length !== P) {
        this.ctx.rewind(P);
        this.cached = this.cached.subarray(0, P);
      }
      this.#rows(seqs[r], P, seqs[r].length - 1, q.ctx.length - 1, take(r));
    });
    return out;
  }

  /**
   * Log-likelihoods of several documents' requests (each document a list of {ctx, cont} from
   * encodePair), in forward passes of at most `batch` tokens (<= the context's n_batch): whole
   * documents packed together where they fit, else a document's shared prefix evaluated
   * first and its continuations batched after it in the cache.
   * @param {{ctx: Int32Array, cont: Int32Array}[][]} docs
   * @param {number} batch
   * @returns {{ll: number, greedy: boolean}[][]}
   */
  documents(docs, batch) {
    this.canBatch ??= this.#probeBatch();
    if (!this.canBatch) return docs.map((reqs) => this.loglikelihoods(reqs)); // e.g. sliding-window layers
    const plans = docs.map((reqs) => this.#plan(reqs));
    const out = plans.map((p) => p.seqs.map(() => ({ ll: 0, greedy: true })));
    let pack = [], used = 0;
    const flush = () => {
      if (pack.length) this.#runPack(pack, out);
      pack = [];
      used = 0;
    };
    plans.forEach((p, d) => {
      if (p.tokens > batch) { flush(); this.#runLarge(p, out[d], batch); return; }
      if (used + p.tokens > batch) flush();
      pack.push([p, d]);
      used += p.tokens;
    });
    flush();
    return out;
  }

  /** Whether the engine runs batches of several sequences on this model: one token tried. */
  #probeBatch() {
    this.ctx.rewind(0);
    this.cached = new Int32Array(0);
    try {
      this.ctx.evalBatch({ token: [0], pos: [0], seeFrom: [0], seeTo: [0], segFrom: [0], logits: [0] });
    } catch (e) {
      if (/** @type {any} */ (e).code === 'unsupported') return false;
      throw e;
    } finally {
      this.ctx.rewind(0);
    }
    return true;
  }

  /** A document's sequences, their shared prefix P (never past the shortest context) and the
   * tokens it puts in a batch: P once, then each sequence's inputs after it. */
  #plan(reqs) {
    const seqs = reqs.map((r) => {
      const s = new Int32Array(r.ctx.length + r.cont.length);
      s.set(r.ctx);
      s.set(r.cont, r.ctx.length);
      return s;
    });
    let P = Math.min(...reqs.map((q) => q.ctx.length));
    for (const s of seqs) P = commonPrefix(seqs[0], s, P);
    const tokens = seqs.reduce((n, s) => n + s.length - 1 - P, P);
    return { seqs, ctxLen: reqs.map((q) => q.ctx.length), P, tokens };
  }

  /**
   * Append a plan's tokens to batch b (its columns, from slot `base`): the prefix seq[0:P] at
   * positions 0.. unless `prefixAt` >= 0 (the slot where the cache already holds it), then the
   * given sequences' inputs after P, each seeing the prefix and itself. Rows wanting logits
   * get take[k] = [sequence, position] in the order evalBatch returns them.
   */
  #append(b, base, plan, prefixAt, which, take) {
    const { seqs, ctxLen, P } = plan;
    const push = (tok, pos, seeFrom, seeTo, segFrom, want) => {
      b.token.push(tok); b.pos.push(pos); b.seeFrom.push(seeFrom); b.seeTo.push(seeTo); b.segFrom.push(segFrom);
      b.logits.push(want ? 1 : 0);
    };
    let p0 = prefixAt;
    if (prefixAt < 0) {
      p0 = base + b.token.length;
      for (let i = 0; i < P; i++) push(seqs[0][i], i, p0, p0, p0, i === P - 1 && ctxLen.some((c) => c === P));
      if (ctxLen.some((c) => c === P)) take.push([-1, P - 1]);
    }
    for (const r of which) {
      const seg = base + b.token.length;
      for (let i = P; i < seqs[r].length - 1; i++) {
        const want = i >= ctxLen[r] - 1;
        push(seqs[r][i], i, p0, p0 + P, seg, want);
        if (want) take.push([r, i]);
      }
    }
  }

  /** Whole documents in one forward pass from an empty cache. */
  #runPack(pack, out) {
    this.ctx.rewind(0);
    this.cached = new Int32Array(0);
    const b = newBatch();
    const takes = pack.map(([p]) => {
      const take = [];
      this.#append(b, 0, p, -1, p.seqs.map((_, r) => r), take);
      return take;
    });
    this.ctx.evalBatch(b);
    let k = 0;
    pack.forEach(([p, d], i) => { for (const [r, pos] of takes[i]) this.#score(p, out[d], r, pos, k++); });
    this.ctx.rewind(0);
  }

  /** Add logits row k of the last evalBatch, at position i, to sequence r's log-likelihood
   * (r = -1: every sequence whose context is the prefix). */
  #score(plan, out, r, i, k) {
    const row = this.ctx.logitsView(k);
    const rs = r >= 0 ? [r] : plan.seqs.map((_, j) => j).filter((j) => plan.ctxLen[j] === plan.P);
    for (const j of rs) {
      const t = tokenLogprob(row, plan.seqs[j][i + 1]);
      out[j].ll += t.lp;
      out[j].greedy &&= t.greedy;
    }
  }

  /** A document larger than a batch: its prefix into the cache (reusing what it holds), then
   * its continuations in batches after it; one longer than a batch alone, chunk by chunk. */
  #runLarge(plan, out, batch) {
    const { seqs, ctxLen, P } = plan;
    if (P > 0) {
      this.#prefill(seqs[0], P);
      const row = this.ctx.logitsView(-1);
      seqs.forEach((s, r) => {
        if (ctxLen[r] !== P) return;
        const t = tokenLogprob(row, s[P]);
        out[r].ll += t.lp;
        out[r].greedy &&= t.greedy;
      });
    } else {
      this.ctx.rewind(0);
      this.cached = new Int32Array(0);
    }
    const prefix = this.cached;
    let group = [], used = 0;
    const run = () => {
      if (!group.length) return;
      const b = newBatch(), take = [];
      this.#append(b, P, plan, 0, group, take);
      this.ctx.evalBatch(b);
      take.forEach(([r, i], k) => this.#score(plan, out, r, i, k));
      this.ctx.rewind(P);
      group = [];
      used = 0;
    };
    seqs.forEach((s, r) => {
      const n = s.length - 1 - P;
      if (n === 0) return; // its one row is the prefix's last, scored above
      if (n > batch) { // alone, as the one-document path does it
        run();
        this.#rows(s, P, s.length - 1, ctxLen[r] - 1, (p, row) => {
          const t = tokenLogprob(row, s[p + 1]);
          out[r].ll += t.lp;
          out[r].greedy &&= t.greedy;
        });
        this.ctx.rewind(P);
        return;
      }
      if (used + n > batch) run();
      group.push(r);
      used += n;
    });
    run();
    this.cached = prefix;
  }

  /**
   * Greedy generation after `context` until a stop string, EOS, maxTokens or the context's end;
   * the text before the first stop string.
   * @param {Int32Array} ids the encoded context
   * @param {string[]} until
   * @param {number} maxTokens
   * @param {typeof import('../../wasm_build/engine.js').Generator} Generator
   */
  generate(ids, until, maxTokens, Generator) {
    this.#prefill(ids, ids.length);
    const sampler = this.model.newSampler({ temperature: 0, repeatPenalty: 1, topK: 0, topP: 1, minP: 0 });
    let gen = null;
    try {
      gen = new Generator(this.ctx, sampler, { maxTokens, stop: until, ignoreEos: false });
      let text = '';
      for (;;) {
        const r = gen.step();
        text += r.text;
        if (r.stop) break;
      }
      return text;
    } finally {
      gen?.free();
      sampler.free();
      // The generator evaluated tokens after the context: keep only the context.
      this.ctx.rewind(ids.length);
      this.cached = ids.slice();
    }
  }

  /**
   * The harness's loglikelihood_rolling of one document: windows of at most maxLen inputs,
   * each predicting `stride` new tokens after maxLen - stride tokens of context
   * (get_rolling_token_windows with context_len = maxLen - stride + 1, then make_disjoint_window);
   * the first window starts from the prefix token. stride = maxLen is the harness's own setting.
   * @param {Int32Array} tokens the document, encoded without BOS
   * @param {number} maxLen @param {number} stride
   * @returns {{ll: number, windows: number}}
   */
  rolling(tokens, maxLen, stride) {
    let ll = 0, windows = 0;
    const score = (input, nPred) => {
      // input[i] predicts input[i + 1] for the last nPred rows; the last target is passed separately
      this.ctx.rewind(0);
      this.cached = new Int32Array(0);
      const n = input.length - 1; // inputs evaluated
      if (n - nPred > 0) this.#prefill(input, n - nPred);
      this.#rows(input, Math.max(0, n - nPred), n, n - nPred, (p, row) => { ll += tokenLogprob(row, input[p + 1]).lp; });
      windows++;
    };
    if (tokens.length === 0) return { ll, windows };
    const first = Math.min(maxLen, tokens.length);
    const w0 = new Int32Array(first + 1);
    w0[0] = this.prefixToken;
    w0.set(tokens.subarray(0, first), 1);
    score(w0, first);
    let predicted = first;
    while (predicted < tokens.length) {
      const nPred = Math.min(tokens.length - predicted, stride);
      const end = predicted + nPred;
      // inputs tokens[end - maxLen - 1 .. end - 2], targets up to tokens[end - 1]
      score(tokens.subarray(end - maxLen - 1, end), nPred);
      predicted = end;
    }
    return { ll, windows };
  }
}
