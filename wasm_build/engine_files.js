// engine_files.js — where the engine's built files (dist/) are and how they are read. Each address
// is a `new URL('literal', import.meta.url)`, the form Vite and webpack 5 recognize: they emit the
// file and rewrite the address, with no configuration. Each sits in its own function, so only the
// build that runs is fetched. A caller's locateFile(name, defaultUrl) may point anywhere else.
// Failures name the file and the address it was requested from.

import { isNode } from '../lib/env.js';
import { nodeBuiltin } from '../lib/node_builtin.js';

/** Every file of the three builds, by name, with its default address (next to this package's dist/). */
export const ENGINE_FILES = {
  'mobilellm.js': () => new URL('../dist/mobilellm.js', import.meta.url),
  'mobilellm.wasm': () => new URL('../dist/mobilellm.wasm', import.meta.url),
  'mobilellm-nosimd.js': () => new URL('../dist/mobilellm-nosimd.js', import.meta.url),
  'mobilellm-nosimd.wasm': () => new URL('../dist/mobilellm-nosimd.wasm', import.meta.url),
  'mobilellm-threads.js': () => new URL('../dist/mobilellm-threads.js', import.meta.url),
  'mobilellm-threads.wasm': () => new URL('../dist/mobilellm-threads.wasm', import.meta.url),
  'mobilellm-threads.worker.cjs': () => new URL('../dist/mobilellm-threads.worker.cjs', import.meta.url),
};

/** A file that could not be had: `code` 'download' (the API's code for a failed fetch). */
export class EngineFileError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = 'MobileLLMError';
    this.code = 'download';
  }
}

/**
 * The absolute address of engine file `name`.
 * @param {string} name a key of ENGINE_FILES
 * @param {((name: string, defaultUrl: string) => string|URL|undefined)|Record<string, string>} [locate]
 * @returns {string}
 */
export function locateEngineFile(name, locate) {
  const def = ENGINE_FILES[name]().href;
  const got = typeof locate === 'function' ? locate(name, def) : locate?.[name];
  if (got === undefined || got === null || got === '') return def;
  try {
    return new URL(String(got), globalThis.location?.href ?? def).href;
  } catch {
    throw new EngineFileError(`locateFile gave '${String(got)}' for the engine file ${name}, which is not a URL.`);
  }
}

const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];

/**
 * The bytes of a wasm file, checked to be WebAssembly (a server or dev server that answers an
 * unknown path with its index.html is named as such).
 * @param {string} name @param {string} url
 * @returns {Promise<Uint8Array>}
 */
export async function readWasm(name, url) {
  const bytes = await readBytes(name, url);
  if (bytes.length < 8 || WASM_MAGIC.some((b, i) => bytes[i] !== b)) {
    const head = new TextDecoder().decode(bytes.subarray(0, 16)).replace(/[^\x20-\x7e]/g, '.');
    throw new EngineFileError(`The engine file ${name} requested from ${url} is not WebAssembly (it starts with '${head}'): `
      + `serve the package's dist/ files as they are, or point the locateFile option at them.`);
  }
  return bytes;
}

/** @param {string} name @param {string} url @returns {Promise<Uint8Array>} */
async function readBytes(name, url) {
  if (isNode && url.startsWith('file:')) {
    const { readFile } = await nodeBuiltin('fs/promises');
    try {
      return new Uint8Array(await readFile(new URL(url)));
    } catch (e) {
      throw new EngineFileError(`The engine file ${name} could not be read from ${url} (${e?.code ?? e?.message}): run 'make wasm' or reinstall the package.`);
    }
  }
  let res;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new EngineFileError(`The engine file ${name} could not be requested from ${url} (${e?.message ?? e}).`);
  }
  if (!res.ok) throw new EngineFileError(`The engine file ${name} requested from ${url} was answered with HTTP ${res.status}.`);
  return new Uint8Array(await res.arrayBuffer());
}

/**
 * An address that can start the threads build's pthread worker: the file itself when it is on
 * this page's origin; otherwise (another origin, or a data: URL a bundler inlined it as) its text
 * in a same-origin blob: URL. Node takes the file's path.
 * @param {string} url
 * @returns {Promise<string>}
 */
export async function pthreadWorkerUrl(url) {
  const name = 'mobilellm-threads.worker.cjs';
  if (isNode) {
    const { fileURLToPath } = await nodeBuiltin('url');
    return url.startsWith('file:') ? fileURLToPath(url) : url;
  }
  if (new URL(url).origin === globalThis.location?.origin) return url;
  const text = new TextDecoder().decode(await readBytes(name, url));
  return URL.createObjectURL(new Blob([text], { type: 'text/javascript' }));
}

/**
 * Import the Emscripten glue (an ES module) by address. Left to the runtime, not bundled: the
 * threads build's workers import it again by the same address.
 * @param {string} name @param {string} url
 * @returns {Promise<(opts: Record<string, any>) => Promise<any>>}
 */
export async function importGlue(name, url) {
  try {
    const m = await import(/* webpackIgnore: true */ /* @vite-ignore */ url);
    if (typeof m.default !== 'function') throw new Error('it has no default export');
    return m.default;
  } catch (e) {
    throw new EngineFileError(`The engine file ${name} could not be imported from ${url} (${e?.message ?? e}).`);
  }
}

/** An Emscripten failure in one sentence without its build advice. @param {unknown} e */
export function glueMessage(e) {
  const m = String(/** @type {any} */ (e)?.message ?? e);
  return m.replace(/\.? *Build with -s ASSERTIONS=1 for more info\.?/, '').replace(/^Aborted\((.*)\)$/s, '$1');
}
