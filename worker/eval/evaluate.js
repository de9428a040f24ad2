// evaluate.js — runs task files and perplexity documents on a loaded engine model and reports
// what lm-evaluation-harness reports: acc / acc_norm (and acc_bytes) with mean_stderr and n per
// multiple-choice task, exact_match for TriviaQA, token / byte / word perplexity and bits per
// byte for text. Behind `mobilellm eval` and MobileLLM#evaluate (in the worker).

import { Generator } from '../../wasm_build/engine.js';
import { AbortError, ArgumentError, ContextFullError, FormatError } from '../errors.js';
import { yieldToEventLoop } from '../protocol.js';
import { checkOptions as checkNumbers, contextLength } from '../options.js';
import { checkOption } from '../options.js';
import { parseTask } from './tasks.js';
import { Scorer } from './scorer.js';
import { aggregate, byteLength, scoreChoice, scoreGenerated, wordCount } from './metrics.js';

const N_BATCH = 128; // rows of logits per all-logits eval
// Documents scored together (Scorer.documents): tokens per forward pass, at most as many as
// leave the logits of a full batch (n_vocab floats each) within BATCH_LOGITS_BYTES.
const BATCH_TOKENS = 512;
const BATCH_LOGITS_BYTES = 64 * 2 ** 20;
const MAX_GEN_TOKENS = 256; // the harness's max_gen_toks default

/**
 * @typedef {{name?: string, text: string, format?: string} | {name?: string, perplexity: string}} TaskInput
 * @typedef {{limit?: number, shots?: number, bos?: boolean, nCtx?: number, threads?: number,
 *   ctx?: number, stride?: number, maxGenTokens?: number, shared?: boolean, batch?: number, log?: boolean,
 *   signal?: AbortSignal, onProgress?: (p: {task: string, done: number, total: number}) => void}} EvalOptions
 */

/** The numeric evaluation options, checked against the one options table (worker/options.js). */
const EVAL_OPTIONS = ['limit', 'shots', 'nCtx', 'threads', 'ctx', 'stride', 'maxGenTokens', 'batch'];

/** @param {EvalOptions} o */
function checkOptions(o) {
  checkNumbers(o, EVAL_OPTIONS);
  if (o.stride !== undefined && o.ctx !== undefined && o.stride > o.ctx) {
    throw new ArgumentError(`The perplexity stride (${o.stride}) cannot exceed the window (${o.ctx}).`);
  }
}

/**
 * Evaluate a model on tasks (each a task file or a perplexity text) in a context of its own.
 * @param {import('../../wasm_build/engine.js').Model} model
 * @param {TaskInput[]} tasks
 * @param {EvalOptions} [opts]
 * @returns {Promise<{results: Record<string, any>, log?: any[]}>}
 */
export async function evaluate(model, tasks, opts = {}) {
  checkOptions(opts);
  if (!Array.isArray(tasks) || tasks.length === 0) throw new ArgumentError('evaluate() needs at least one task.');
  const nCtx = contextLength(opts.nCtx ?? opts.ctx, model.info.nCtxTrain, { fallbackCap: 2048, shownAs: opts.nCtx !== undefined ? 'nCtx' : 'ctx' });
  if (opts.ctx !== undefined && opts.ctx > nCtx) throw new ArgumentError(`The perplexity window (${opts.ctx}) exceeds the context (${nCtx}).`);
  const batch = Math.min(nCtx, opts.shared === false ? 0
    : opts.batch ?? Math.max(1, Math.min(BATCH_TOKENS, Math.floor(BATCH_LOGITS_BYTES / 4 / model.info.nVocab))));
  const nBatch = Math.max(Math.min(N_BATCH, nCtx), batch);
  const ctx = model.newContext({ nCtx, nBatch, threads: opts.threads });
  const results = {};
  const log = opts.log ? [] : undefined;
  try {
    const scorer = new Scorer(model, ctx, { bos: opts.bos, nBatch });
    for (const [i, t] of tasks.entries()) {
      const name = uniqueName(t.name ?? `task${i + 1}`, results);
      const t0 = performance.now();
      const r = 'perplexity' in t
        ? await runPerplexity(scorer, name, t.perplexity, opts)
        : await runTask(scorer, name, t, { ...opts, batch }, log);
      results[name] = { ...r, seconds: +((performance.now() - t0) / 1000).toFixed(3) };
    }
  } finally {
    ctx.free();
  }
  return log ? { results, log } : { results };
}

function uniqueName(name, taken) {
  let n = name, k = 2;
  while (n in taken) n = `${name}#${k++}`;
  return n;
}

async function step(opts, name, done, total) {
  try { opts.onProgress?.({ task: name, done, total }); } catch { /* a throwing callback must not stop the run */ }
  await yieldToEventLoop(); // an abort message gets its turn
  if (opts.signal?.aborted) throw new AbortError(`The evaluation was aborted in ${name} after ${done} of ${total} documents.`);
}

/**
 * @param {Scorer} scorer @param {string} name @param {{text: string, format?: string}} t
 * @param {EvalOptions} opts @param {any[]|undefined} log
 */
async function runTask(scorer, name, t, opts, log) {
  const { format, items } = parseTask(t.text, { name, format: t.format, limit: opts.limit, shots: opts.shots });
  const nCtx = scorer.ctx.nCtx;
  // Tokenize and check everything first: a document that cannot be scored fails the run
  // before any time is spent.
  const prepared = items.map((it) => {
    if (it.kind === 'generate') {
      const ids = scorer.encode(it.context);
      if (ids.length >= nCtx) {
        throw new ContextFullError(`${name} line ${it.line}: the question is ${ids.length} tokens but the context holds ${nCtx}, which leaves no room for an answer.`,
          { promptTokens: ids.length, nCtx });
      }
      return ids;
    }
    return it.requests.map((q, c) => {
      const pair = scorer.encodePair(q.context, q.continuation);
      if (pair.cont.length === 0) throw new FormatError(`${name} line ${it.line}: choice ${c} adds no tokens to its context.`);
      const n = pair.ctx.length + pair.cont.length - 1;
      if (n > nCtx) {
        throw new ContextFullError(`${name} line ${it.line}: the context with choice ${c} is ${n + 1} tokens but the context holds ${nCtx}.`,
          { promptTokens: n + 1, nCtx });
      }
      return pair;
    });
  });
  const docs = [];
  const record = (i, res) => {
    const it = items[i];
    const lls = res.map((x) => x.ll);
    const s = scoreChoice(lls, it.normTexts, it.gold);
    docs.push(s);
    log?.push({ task: name, line: it.line, gold: it.gold, lls, greedy: res.map((x) => x.greedy),
      tokens: prepared[i].map((p) => p.cont.length), pred: s.pred, pred_norm: s.pred_norm, acc: s.acc, acc_norm: s.acc_norm });
  };
  if (items[0]?.kind !== 'generate' && opts.batch > 0) {
    // a few batches' worth of documents at a time, then their progress (and a chance to abort)
    for (let i = 0; i < items.length;) {
      let j = i, tokens = 0;
      while (j < items.length && (j === i || tokens <= 4 * opts.batch)) tokens += prepared[j++].reduce((n, p) => n + p.ctx.length + p.cont.length, 0);
      scorer.documents(prepared.slice(i, j), opts.batch).forEach((res, k) => record(i + k, res));
      for (; i < j; i++) await step(opts, name, i + 1, items.length);
    }
    return { format, n: docs.length, ...aggregate(docs, ['acc', 'acc_norm', 'acc_bytes']), ...(opts.shots ? { shots: opts.shots } : {}) };
  }
  for (const [i, it] of items.entries()) {
    if (it.kind === 'generate') {
      const budget = Math.min(opts.maxGenTokens ?? MAX_GEN_TOKENS, nCtx - prepared[i].length);
      const output = scorer.generate(prepared[i], it.until, budget, Generator);
      const s = scoreGenerated(output, it.answers);
      docs.push(s);
      log?.push({ task: name, line: it.line, output, answers: it.answers, ...s });
    } else {
      record(i, scorer.loglikelihoods(prepared[i], { shared: opts.shared }));
    }
    await step(opts, name, i + 1, items.length);
  }
  const metrics = items[0].kind === 'generate' ? ['exact_match'] : ['acc', 'acc_norm', 'acc_bytes'];
  return { format, n: docs.length, ...aggregate(docs, metrics), ...(opts.shots ? { shots: opts.shots } : {}) };
}

/**
 * Documents of a perplexity file: JSON lines with a "text" field each, or else the whole file.
 * @param {string} text
 */
export function perplexityDocs(text) {
  const lines = text.split('\n').filter((l) => l.trim());
  if (lines.length && lines.every((l) => l.trimStart().startsWith('{'))) {
    return lines.map((l, i) => {
      let d;
      try { d = JSON.parse(l); } catch { d = null; }
      if (!d || typeof d.text !== 'string') throw new FormatError(`perplexity file line ${i + 1}: expected {"text": "..."}.`);
      return d.text;
    });
  }
  return [text];
}

/** @param {Scorer} scorer @param {string} name @param {string} text @param {EvalOptions} opts */
async function runPerplexity(scorer, name, text, opts) {
  if (typeof text !== 'string') throw new ArgumentError('A perplexity task needs its text as a string.');
  const docs = perplexityDocs(text).slice(0, opts.limit ?? Infinity);
  const maxLen = opts.ctx ?? scorer.ctx.nCtx;
  const stride = opts.stride ?? maxLen;
  let ll = 0, tokens = 0, bytes = 0, words = 0, windows = 0;
  for (const [i, d] of docs.entries()) {
    const ids = scorer.encode(d, false);
    const r = scorer.rolling(ids, maxLen, stride);
    ll += r.ll; windows += r.windows; tokens += ids.length; bytes += byteLength(d); words += wordCount(d);
    await step(opts, name, i + 1, docs.length);
  }
  if (tokens === 0) throw new FormatError(`The perplexity text ${name} holds no tokens.`);
  return {
    documents: docs.length, tokens, bytes, words, windows, ctx: maxLen, stride, loglikelihood: +ll.toFixed(4),
    token_perplexity: +Math.exp(-ll / tokens).toFixed(4), byte_perplexity: +Math.exp(-ll / bytes).toFixed(4),
    bits_per_byte: +(-ll / bytes / Math.LN2).toFixed(5), word_perplexity: +Math.exp(-ll / words).toFixed(4),
  };
}
