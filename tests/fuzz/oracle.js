// oracle.js — what a rejection of hostile input must look like: a coded error of the converter
// (ConvertError) or of the engine / API (MobileLLMError), one short sentence, and none of the
// text V8 puts in its own exceptions (which would mean a bug, not a diagnosis, reached the user).
import { ConvertError } from '../../models/convert/errors.js';
import { MobileLLMError } from '../../wasm_build/engine.js';

/** Phrases of V8's own TypeError / RangeError / SyntaxError messages. */
export const V8_INTERNAL = new RegExp([
  'Cannot convert', 'Do not know how to serialize', 'is not a function', 'is not iterable', 'circular structure',
  'Invalid array length', 'Invalid typed array length', 'Invalid string length', 'Maximum call stack',
  'Cannot read properties', 'Cannot set properties', 'is not a constructor', 'Unexpected token', 'in JSON at position',
  'Array buffer allocation failed', 'outside the bounds of the DataView', 'Cannot mix BigInt', 'is not defined',
  'Reduce of empty array', 'Cannot define property', 'not extensible', 'read only property', 'Cannot create property',
  'Offset is outside', 'Start offset', 'must be a multiple of', 'Invalid count value', 'out of memory',
].join('|'), 'i');

/** The codes a rejection may carry. */
export const KNOWN_CODES = new Set(['format', 'unsupported', 'missing', 'argument', 'nomem', 'context_full', 'state']);

/**
 * Why a thrown value is not a clean rejection, or null when it is.
 * @param {any} e
 * @returns {string|null}
 */
export function uncleanReason(e) {
  if (!(e instanceof ConvertError || e instanceof MobileLLMError)) return `not a coded error: ${e?.name}: ${String(e?.message ?? e).slice(0, 300)}`;
  if (!KNOWN_CODES.has(e.code)) return `unknown code ${e.code}: ${e.message.slice(0, 300)}`;
  if (V8_INTERNAL.test(e.message)) return `V8-internal text: ${e.message.slice(0, 300)}`;
  if (e.message.length > 600) return `a message of ${e.message.length} characters`;
  return null;
}
