// options.js — the one table of numeric options (generation, context, threads) and their strict
// parsing, and the table of boolean ones (FLAGS), shared by the API (index.js, host.js), the CLI
// (bin/mobilellm.js) and the demo page.
// Integers must be integers and floats finite, both within the range below, so that no value
// wraps through the engine's 32-bit fields (--ctx 4294967299 is not a context of 3) and none is
// silently replaced by a default. A refusal is an ArgumentError naming the option and the range.

import { ArgumentError } from './errors.js';
import { describeValue } from '../models/convert/describe.js';
import { FILE_TYPES } from '../models/convert/quant_recipe.js';

/** The engine's thread pool limit (src/threads.c POOL_MAX). */
export const MAX_THREADS = 16;
/** The longest context any option may ask for; a loaded model's own context_length is the real cap. */
export const MAX_CTX = 1 << 24;
const INT32_MAX = 2 ** 31 - 1;

/**
 * @typedef {object} OptionSpec
 * @property {string} cli       the CLI flag
 * @property {string} label     the demo page's name for it
 * @property {boolean} int      an integer (else any finite number)
 * @property {number} min
 * @property {number} max
 * @property {boolean} [minExclusive] the value must be above min
 * @property {string} [note]    what special values mean
 */

/** @type {Readonly<Record<string, Readonly<OptionSpec>>>} */
export const OPTIONS = Object.freeze({
  maxTokens: { cli: '-n', label: 'Max tokens', int: true, min: 0, max: INT32_MAX, note: '0: until end of text or a full context' },
  temperature: { cli: '--temp', label: 'Temperature', int: false, min: 0, max: 100, note: '0: greedy' },
  topK: { cli: '--top-k', label: 'Top-k', int: true, min: 0, max: INT32_MAX, note: '0: off' },
  topP: { cli: '--top-p', label: 'Top-p', int: false, min: 0, minExclusive: true, max: 1, note: '1: off' },
  minP: { cli: '--min-p', label: 'Min-p', int: false, min: 0, max: 1, note: '0: off' },
  repeatPenalty: { cli: '--repeat-penalty', label: 'Repeat penalty', int: false, min: 0, minExclusive: true, max: 100, note: '1: off' },
  repeatLastN: { cli: '--repeat-last-n', label: 'Repeat window', int: true, min: 0, max: 1 << 20 }, // src/sampler.c MLLM_SAMPLER_MAX_WINDOW
  seed: { cli: '--seed', label: 'Seed', int: true, min: 0, max: 2 ** 32 - 1 },
  nCtx: { cli: '--ctx', label: 'Context', int: true, min: 1, max: MAX_CTX, note: 'at most the model\'s context_length' },
  threads: { cli: '--threads', label: 'Threads', int: true, min: 1, max: MAX_THREADS },
  memoryLimit: { cli: '--memory-limit', label: 'Memory limit (bytes)', int: true, min: 1 << 20, max: 2 ** 32, note: 'default: what this browser grants a page' },
  genTokens: { cli: '-n', label: 'Generated tokens', int: true, min: 1, max: MAX_CTX },
  promptTokens: { cli: '-p', label: 'Prompt tokens', int: true, min: 1, max: MAX_CTX },
  ctxPos: { cli: '--ctx-pos', label: 'Context position', int: true, min: 0, max: MAX_CTX },
  reps: { cli: '--reps', label: 'Repetitions', int: true, min: 1, max: 1000 },
  limit: { cli: '--limit', label: 'Items per task', int: true, min: 1, max: INT32_MAX },
  shots: { cli: '--shots', label: 'Few-shot examples', int: true, min: 0, max: 1000 },
  ctx: { cli: '--ctx', label: 'Perplexity window', int: true, min: 2, max: MAX_CTX },
  stride: { cli: '--stride', label: 'Perplexity stride', int: true, min: 1, max: MAX_CTX },
  maxGenTokens: { cli: '--max-gen-tokens', label: 'Generated answer tokens', int: true, min: 1, max: MAX_CTX },
  batch: { cli: '--batch', label: 'Tokens per scoring batch', int: true, min: 0, max: 1 << 16, note: '0: one document at a time' },
});

/** Weight types a checkpoint may be converted to (the `dtype` option, `convert --type`): the converter's file types (quant_recipe.js). */
export const DTYPES = Object.freeze(Object.keys(FILE_TYPES));

/**
 * The `dtype` option, lower-cased; q8_0 when absent.
 * @param {unknown} v
 * @returns {string}
 */
export function checkDtype(v) {
  const d = v === undefined ? 'q8_0' : typeof v === 'string' ? v.toLowerCase() : null;
  if (!DTYPES.includes(/** @type {any} */ (d))) {
    const names = DTYPES.map((n) => `'${n}'`);
    throw new ArgumentError(`dtype must be ${names.slice(0, -1).join(', ')} or ${names.at(-1)}, not ${describeValue(v)}.`);
  }
  return /** @type {string} */ (d);
}

/**
 * @typedef {object} FlagSpec
 * @property {string} label     the demo page's name for it
 * @property {boolean} default  its value when absent
 * @property {string} note      what the other value means
 */

/**
 * The boolean options and their defaults (the numeric ones are OPTIONS).
 * @type {Readonly<Record<string, Readonly<FlagSpec>>>}
 */
export const FLAGS = Object.freeze({
  cachePrompt: { label: 'Reuse the KV cache', default: true,
    note: 'false: evaluate the whole prompt, not only what follows the prefix it shares with the previous call' },
  persist: { label: 'Keep cached models', default: false,
    note: 'true: ask the browser to keep this origin\'s storage (navigator.storage.persist()); the answer is info.persisted' },
});

/**
 * A boolean option given to the API: its value, or its default when absent.
 * @param {string} name a key of FLAGS
 * @param {unknown} value
 * @returns {boolean}
 */
export function checkFlag(name, value) {
  const s = Object.hasOwn(FLAGS, name) ? FLAGS[name] : undefined;
  if (!s) throw new ArgumentError(`There is no boolean option '${String(name).slice(0, 40)}'.`);
  if (value === undefined) return s.default;
  if (typeof value !== 'boolean') throw new ArgumentError(`The option ${name} must be true or false, not ${describeValue(value)}.`);
  return value;
}

/** The generation options the API checks (generate()). */
export const GENERATE_OPTIONS = /** @type {const} */ (['maxTokens', 'temperature', 'topK', 'topP', 'minP', 'repeatPenalty', 'repeatLastN', 'seed']);
/** The boolean generation options the API checks (generate()). */
export const GENERATE_FLAGS = /** @type {const} */ (['cachePrompt']);
/** The load options the API checks (MobileLLM.load()), before any worker starts. */
export const LOAD_OPTIONS = /** @type {const} */ (['nCtx', 'threads', 'memoryLimit']);
/** The boolean load options (FLAGS) the API checks. */
export const LOAD_FLAGS = /** @type {const} */ (['persist']);

/** @param {OptionSpec} s */
function rangeText(s) {
  const kind = s.int ? 'an integer' : 'a number';
  const lo = s.minExclusive ? `above ${s.min}` : `from ${s.min}`;
  return s.minExclusive ? `${kind} ${lo} up to ${s.max}` : `${kind} ${lo} to ${s.max}`;
}

/** @param {string} name */
function spec(name) {
  const s = Object.hasOwn(OPTIONS, name) ? OPTIONS[name] : undefined;
  if (!s) throw new ArgumentError(`There is no numeric option '${String(name).slice(0, 40)}'.`);
  return s;
}

/**
 * Check a number given to the API; returns it unchanged.
 * @param {string} name a key of OPTIONS
 * @param {unknown} value
 * @param {string} [shownAs] how the message names the option (default: its API name)
 * @returns {number}
 */
export function checkOption(name, value, shownAs = name) {
  const s = spec(name);
  const ok = typeof value === 'number' && Number.isFinite(value) && (!s.int || Number.isInteger(value))
    && (s.minExclusive ? value > s.min : value >= s.min) && value <= s.max;
  if (!ok) throw new ArgumentError(`The option ${shownAs} must be ${rangeText(s)}, not ${describeValue(value)}.`);
  return /** @type {number} */ (value);
}

const INT_TEXT = /^[+-]?\d+$/;
const FLOAT_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/**
 * Parse an option typed as text (a CLI argument, a form field): decimal digits only (no hex,
 * no blanks, no '' as 0), then the same range as checkOption.
 * @param {string} name a key of OPTIONS
 * @param {string} text
 * @param {string} [shownAs] default: the CLI flag
 * @returns {number}
 */
export function parseOption(name, text, shownAs) {
  const s = spec(name);
  const shown = shownAs ?? s.cli;
  const t = typeof text === 'string' ? text.trim() : '';
  if (!(s.int ? INT_TEXT : FLOAT_TEXT).test(t)) {
    throw new ArgumentError(`The option ${shown} must be ${rangeText(s)}, not ${describeValue(text)}.`);
  }
  const v = Number(t);
  // Digits beyond 2^53 round: a value that does not survive the round trip is out of range anyway.
  if (s.int && !Number.isSafeInteger(v)) throw new ArgumentError(`The option ${shown} must be ${rangeText(s)}, not ${describeValue(text)}.`);
  try {
    return checkOption(name, v, shown);
  } catch {
    throw new ArgumentError(`The option ${shown} must be ${rangeText(s)}, not ${describeValue(text)}.`);
  }
}

/**
 * Check the numeric options of an options object (absent keys are skipped).
 * @param {Record<string, unknown>} opts
 * @param {readonly string[]} names
 */
export function checkOptions(opts, names) {
  for (const n of names) if (opts[n] !== undefined) checkOption(n, opts[n]);
}

/**
 * Check the boolean options of an options object (absent keys are skipped).
 * @param {Record<string, unknown>} opts
 * @param {readonly string[]} names
 */
export function checkFlags(opts, names) {
  for (const n of names) if (opts[n] !== undefined) checkFlag(n, opts[n]);
}

/**
 * The context a model runs with: `nCtx` if given (at most the model's context_length), else
 * the model's, capped at `fallbackCap`.
 * @param {number|undefined} nCtx
 * @param {number} modelCtx the model's context_length (0: unknown)
 * @param {{fallbackCap?: number, shownAs?: string}} [o] shownAs: how the message names the option
 * @returns {number}
 */
export function contextLength(nCtx, modelCtx, { fallbackCap = Infinity, shownAs = 'nCtx' } = {}) {
  const max = modelCtx > 0 ? Math.min(modelCtx, MAX_CTX) : MAX_CTX;
  if (nCtx === undefined) return Math.min(max, fallbackCap);
  checkOption('nCtx', nCtx, shownAs);
  if (nCtx > max) throw new ArgumentError(`The option ${shownAs} must be an integer from 1 to ${max} (this model's context_length), not ${nCtx}.`);
  return nCtx;
}
