// dtype_option.js — the `dtype` load option: which type a checkpoint is converted to (the
// converter's output types, lib/ggml_types.js), Q8_0 when left out.

import { OUTPUT_TYPES } from '../lib/ggml_types.js';
import { ArgumentError } from './errors.js';

/**
 * @param {unknown} value the caller's dtype (any case), or undefined
 * @returns {string} the lower-case type name
 */
export function dtypeOption(value) {
  const dtype = String(value ?? 'q8_0').toLowerCase();
  if (!Object.hasOwn(OUTPUT_TYPES, dtype)) {
    const names = Object.keys(OUTPUT_TYPES).map((n) => `'${n}'`);
    throw new ArgumentError(`dtype must be ${names.slice(0, -1).join(', ')} or ${names.at(-1)}, not '${value}'.`);
  }
  return dtype;
}
