// file_load.js — Node: a GGUF file on disk loaded into an engine. The bytes are read straight
// into one heap allocation, a step at a time, so no whole-file buffer exists beside the heap
// (peak memory about 1x the file); the engine then loads them in place. Used by the API's path
// sources (source.js) and by the CLI.

import { AbortError, ArgumentError, FormatError } from './errors.js';
import { yieldToEventLoop } from './protocol.js';
import { nodeBuiltin } from '../lib/node_builtin.js';

/** Bytes per read (and between progress events and abort checks). */
const STEP = 16 << 20;

/** @param {string} path @param {any} e a Node fs failure */
const unreadable = (path, e) => new ArgumentError(`The model file ${path} cannot be read (${e?.code ?? e?.message ?? e}).`);

/**
 * @param {import('../wasm_build/engine.js').Engine} eng
 * @param {string} path
 * @param {{size?: number, signal?: AbortSignal, onProgress?: (p: {phase: 'load', loaded: number, total: number}) => void}} [opts]
 *   size: the length stat gave (else the open file's); a file that turns out shorter is a FormatError
 * @returns {Promise<import('../wasm_build/engine.js').Model>}
 */
export async function loadModelFile(eng, path, opts = {}) {
  const fs = await nodeBuiltin('fs');
  let fd;
  try {
    fd = fs.openSync(path, 'r');
  } catch (e) {
    throw unreadable(path, e);
  }
  let ptr = 0, size = 0;
  try {
    size = opts.size ?? fs.fstatSync(fd).size;
    ptr = eng.alloc(size, `the model ${path}`);
    opts.onProgress?.({ phase: 'load', loaded: 0, total: size });
    for (let off = 0; off < size;) {
      if (opts.signal?.aborted) throw new AbortError(`Loading ${path} was aborted.`);
      const len = Math.min(STEP, size - off);
      let got;
      try {
        got = fs.readSync(fd, eng.u8().subarray(ptr + off, ptr + off + len), 0, len, off); // straight into the heap
      } catch (e) {
        throw unreadable(path, e);
      }
      if (got === 0) throw new FormatError(`${path} ended early while being read (${off} of ${size} bytes).`);
      off += got;
      opts.onProgress?.({ phase: 'load', loaded: off, total: size });
      await yieldToEventLoop(); // lets an abort in
    }
  } catch (e) {
    eng.free(ptr);
    throw e;
  } finally {
    fs.closeSync(fd);
  }
  return eng.loadModelAt(ptr, size); // owns ptr from here, freed on failure too
}
