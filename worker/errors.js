// errors.js — the API's failures: one Error subclass per cause, each with a stable `code` and
// a one-sentence message naming the culprit. They cross the worker boundary as plain objects
// (serializeError / deserializeError) and come back as the same classes. The base class is
// the engine binding's MobileLLMError, so engine and API failures share one `instanceof`.

import { MobileLLMError } from '../wasm_build/engine.js';

export { MobileLLMError };

/** Extra fields some errors carry (copied across the worker boundary). */
const DETAIL_KEYS = ['status', 'url', 'needed', 'free', 'size', 'limit', 'promptTokens', 'nCtx', 'files'];

function define(name, code) {
  const cls = class extends MobileLLMError {
    /** @param {string} message @param {Record<string, any>} [details] */
    constructor(message, details) {
      super(code, message);
      this.name = name;
      if (details) for (const k of DETAIL_KEYS) if (details[k] !== undefined) this[k] = details[k];
    }
  };
  Object.defineProperty(cls, 'name', { value: name });
  return cls;
}

/** A network or HTTP failure (`status`, `url` when known). */
export const DownloadError = define('DownloadError', 'download');
/** The bytes are not a valid model / checkpoint (damaged, truncated, inconsistent). */
export const FormatError = define('FormatError', 'format');
/** A valid file asking for something this engine does not run, or a repo layout it cannot read. */
export const UnsupportedError = define('UnsupportedError', 'unsupported');
/** Not enough storage: `needed` and `free` in bytes. */
export const QuotaError = define('QuotaError', 'quota');
/** The prompt does not fit: `promptTokens` and `nCtx`. */
export const ContextFullError = define('ContextFullError', 'context_full');
/** Stopped by an AbortSignal (or by breaking out of the token loop). */
export const AbortError = define('AbortError', 'aborted');
/** A generation is already running on this model. */
export const BusyError = define('BusyError', 'busy');
/** A call out of order, e.g. after unload(). */
export const StateError = define('StateError', 'state');
/** A bad argument from the caller. */
export const ArgumentError = define('ArgumentError', 'argument');
/** The wasm heap could not grow, or would pass memoryLimit: `needed` and `limit` in bytes when known. */
export const NoMemoryError = define('NoMemoryError', 'nomem');
/** The local cache failed in a way that is not a quota problem. */
export const CacheError = define('CacheError', 'cache');
/** A bug or an unexpected environment failure. */
export const InternalError = define('InternalError', 'internal');

const BY_CODE = {
  download: DownloadError, format: FormatError, missing: FormatError, unsupported: UnsupportedError,
  quota: QuotaError, context_full: ContextFullError, aborted: AbortError, busy: BusyError, state: StateError,
  argument: ArgumentError, nomem: NoMemoryError, cache: CacheError, internal: InternalError,
};

/** @param {string} s */
const sentence = (s) => {
  const t = String(s || 'unknown error').trim();
  return /[.!?]$/.test(t) ? t : `${t}.`;
};

/**
 * Any thrown value as one of the API's errors: engine and converter errors keep their code,
 * DOM/Node failures map to the matching class, anything else is 'internal'.
 * @param {any} e
 * @returns {MobileLLMError}
 */
export function toApiError(e) {
  if (e instanceof MobileLLMError && e.constructor !== MobileLLMError && Object.values(BY_CODE).includes(/** @type {any} */ (e.constructor))) return e;
  const msg = sentence(e?.message ?? e);
  if (e?.name === 'AbortError' || e?.code === 'ABORT_ERR') return new AbortError('The operation was aborted.');
  if (e?.name === 'QuotaExceededError' || e?.code === 'ENOSPC' || e?.code === 'EDQUOT') {
    return new QuotaError(`The cache ran out of storage space (${msg.replace(/\.$/, '')}).`, e);
  }
  const code = typeof e?.code === 'string' ? e.code : '';
  const Cls = BY_CODE[code];
  if (Cls) {
    const err = new Cls(msg, e);
    if (code === 'missing') err.code = 'format'; // a missing tensor or key: the file is not a complete model
    return err;
  }
  if (e instanceof RangeError && /allocation|memory/i.test(msg)) return new NoMemoryError(`Out of memory: ${msg}`);
  return new InternalError(msg);
}

/**
 * @param {any} e
 * @returns {{name: string, code: string, message: string, details: Record<string, any>}}
 */
export function serializeError(e) {
  const err = toApiError(e);
  const details = {};
  for (const k of DETAIL_KEYS) if (err[k] !== undefined) details[k] = err[k];
  return { name: err.name, code: err.code, message: err.message, details };
}

/**
 * @param {{code: string, message: string, details?: Record<string, any>}} o
 * @returns {MobileLLMError}
 */
export function deserializeError(o) {
  const Cls = BY_CODE[o?.code] ?? InternalError;
  return new Cls(o?.message ?? 'Unknown error.', o?.details);
}

/**
 * Bytes for messages: 1.5 GB, 300 MB, 12 kB.
 * @param {number} n
 */
export function formatBytes(n) {
  if (!Number.isFinite(n)) return 'an unknown amount';
  const units = ['bytes', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) { v /= 1000; i++; }
  return i === 0 ? `${n} bytes` : `${v.toFixed(v >= 100 ? 0 : 1)} ${units[i]}`;
}
