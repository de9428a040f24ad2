// port.js — the channel from the API to the engine's worker: a module Web Worker in browsers, a
// worker_threads Worker in Node, or an in-process Host (worker: false).

import { isNode } from '../lib/env.js';
import { InternalError } from './errors.js';

/**
 * The channel to the engine's worker (or, with worker: false, to an in-process host).
 * @param {boolean} useWorker
 * @returns {Promise<import('./protocol.js').Port>}
 */
export async function openPort(useWorker) {
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
    const { Worker } = await import('node:worker_threads');
    const w = new Worker(new URL('./worker.js', import.meta.url), { workerData: { mobilellmWorker: true } });
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
  // Spelled inline so bundlers (Vite, webpack 5) recognize the worker entry and emit it.
  const w = new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: 'mobilellm' });
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
