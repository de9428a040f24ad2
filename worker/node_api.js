// node_api.js — the API's Node-only helpers: a GGUF file on disk for any source
// (resolveModelFile, behind the CLI's -m) and checkpoint conversion to a file (convertSource,
// behind `mobilellm convert`).

import { isNode } from '../lib/env.js';
import { openStore } from './cache.js';
import { describeSource } from './describe_source.js';
import { checkDtype } from './options.js';
import { ArgumentError, toApiError } from './errors.js';
import { nodeBuiltin } from '../lib/node_builtin.js';

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
  const { sourceToFile } = await import('./source.js');
  const { desc } = await describeSource(source, { transfer: false });
  const store = await openStore({ cacheDir: options.cacheDir });
  const dtype = checkDtype(options.dtype);
  const quantizeRows = await engineQuantizer(dtype);
  try {
    const r = await sourceToFile(desc, {
      store, cache: options.cache ?? true, dtype, quantizeRows, hfEndpoint: options.hfEndpoint, hfToken: options.hfToken,
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
  const fs = await nodeBuiltin('fs');
  const dtype = checkDtype(options.dtype);
  if (fs.existsSync(source) && fs.statSync(source).isDirectory()) {
    // a directory converts straight to the file
    const { convertToFile } = await import('../models/convert/convert.js');
    try {
      return await convertToFile(source, outPath, {
        type: dtype, onWarning: () => {}, quantizeRows: await engineQuantizer(dtype),
        onTensor: (i, n, name) => { try { options.onProgress?.({ phase: 'convert', tensor: i, tensors: n, name }); } catch { /* ignore */ } },
      });
    } catch (e) {
      throw toApiError(e);
    }
  }
  const r = await resolveModelFile(source, { ...options, dtype });
  fs.copyFileSync(r.path, outPath);
  return { warnings: r.warnings };
}

/**
 * The engine's C quantizer (Engine.quantizeRows) where converting to file type `dtype` needs it
 * (the 4/5/6-bit types), else undefined (no engine is started).
 * @param {string} dtype
 */
async function engineQuantizer(dtype) {
  const { needsQuantizer } = await import('../models/convert/convert.js');
  if (!needsQuantizer(dtype)) return undefined;
  const { Engine } = await import('../wasm_build/engine.js');
  const eng = await Engine.create();
  return (/** @type {number} */ type, /** @type {Float32Array} */ data, /** @type {number} */ nRows, /** @type {number} */ nPerRow) =>
    eng.quantizeRows(type, data, nRows, nPerRow);
}
