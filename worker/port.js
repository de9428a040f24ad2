// port.js — the channel from the API to the engine's worker: a module Web Worker in browsers, a
// worker_threads Worker in Node, or an in-process Host (worker: false).

import { isNode } from '../lib/env.js';
import { InternalError } from './errors.js';
import { nodeBuiltin } from '../lib/node_builtin.js';

/**
 * The channel to the engine's worker (or, with worker: false, to an in-process host).
 * @param {boolean} useWorker
 * @param {string} [workerUrl] where the worker script is, when not beside this file (locateFile)
 * @returns {Promise<import('./protocol.js').Port>}
 */
export async function openPort(useWorker, workerUrl) {
  if (!useWorker) {
    const { Host } = await import('./host.js');
    /** @type {(msg: any) => void} */
    let toMain = () => {};
    const host = new Host((msg) => queueMicrotask(() => toMain(msg)));
    return {
      postMessage: (msg) => queueMicrotask(() => { host.handle(msg); }),
      onMessage: (fn) => { toMain = fn; },
    };
  }
  if (isNode) {
    const { Worker } = await nodeBuiltin('worker_threads');
    const w = new Worker(workerUrl ? new URL(workerUrl) : new URL('./worker.js', import.meta.url), { workerData: { mobilellmWorker: true } });
    let terminated = false;
    return {
      postMessage: (msg, transfer) => w.postMessage(msg, transfer),
      onMessage: (fn) => { w.on('message', fn); },
      onFailure: (fn) => {
        w.on('error', (e) => fn(new InternalError(`The model worker failed: ${e?.message ?? e}`)));
        w.on('exit', (code) => { if (!terminated) fn(new InternalError(`The model worker exited unexpectedly (code ${code}).`)); });
      },
      terminate: () => { terminated = true; return w.terminate(); },
      ref: () => w.ref(),
      unref: () => w.unref(),
    };
  }
  const w = startWebWorker(workerUrl);
  return {
    postMessage: (msg, transfer) => w.postMessage(msg, transfer ?? []),
    onMessage: (fn) => { w.onmessage = (e) => fn(e.data); },
    onFailure: (fn) => {
      w.onerror = (e) => { e.preventDefault?.(); fn(new InternalError(`The model worker failed: ${e.message || 'it could not start (check that worker/, wasm_build/ and dist/ are served)'}.`)); };
      w.onmessageerror = () => fn(new InternalError('A message from the model worker could not be read.'));
    },
    terminate: () => w.terminate(),
  };
}

/** The worker script's name, for the cross-origin shim (resolved by hand, not as a new URL that
 * bundlers would emit the unbundled file for). */
const WORKER_FILE = 'worker.js';

/**
 * Start the module Web Worker. `new Worker(new URL('./worker.js', import.meta.url), …)` is spelled
 * inline so bundlers (Vite, webpack 5) recognize the entry and emit it. A script on another origin
 * (the package imported from a CDN) cannot start a worker: a same-origin blob: module that
 * imports it can, and the worker's own imports then resolve against its real address.
 * @param {string} [workerUrl]
 * @returns {Worker}
 */
function startWebWorker(workerUrl) {
  const opts = /** @type {WorkerOptions} */ ({ type: 'module', name: 'mobilellm' });
  try {
    return workerUrl ? new Worker(workerUrl, opts) : new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: 'mobilellm' });
  } catch (e) {
    if (/** @type {any} */ (e)?.name !== 'SecurityError') throw e;
  }
  const target = workerUrl ?? import.meta.url.replace(/[^/?#]*([?#].*)?$/, WORKER_FILE);
  const shim = new Blob([`import ${JSON.stringify(target)};\n`], { type: 'text/javascript' });
  return new Worker(URL.createObjectURL(shim), opts);
}
