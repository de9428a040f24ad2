// thread_pool.js — the threads build's pool of pthread workers, started by the page. Firefox (ESR
// 153) can block a worker for good inside its own `new Worker()`, never the page's (PERF_NOTES.md,
// "Firefox: the threads build's start"), so in browsers the page starts the pool and hands the
// engine's worker one MessagePort to each.
// Those workers run Emscripten's own pthread script (mobilellm-threads.worker.cjs) behind a small
// shim that routes its messages through the port.

import { locateEngineFile, pthreadWorkerUrl } from '../wasm_build/engine_files.js';
import { InternalError } from './errors.js';

/** Workers of one engine asked for `threads` (worker/host.js): two contexts of `threads` each
 * (the session's and logits()'s), counting the engine's own thread once. */
export const engineThreads = (/** @type {number} */ threads) => (threads > 1 ? 2 * threads - 1 : 1);

/** The pool worker's first message is {port, script}: from then on the port stands in for its
 * postMessage / onmessage, and {cmd: 'mllmClose'} on it ends the worker. */
const SHIM = `self.onmessage = (e) => {
  const { port, script } = e.data;
  self.onmessage = null;
  self.postMessage = (m, t) => port.postMessage(m, t || []);
  port.onmessage = (ev) => {
    if (ev.data && ev.data.cmd === 'mllmClose') { port.close(); self.close(); return; }
    if (self.onmessage) self.onmessage(ev);
  };
  importScripts(script);
};`;

/**
 * Whether this page would run the threads build (engine.js makes the same check in the worker).
 * @returns {boolean}
 */
export function pageHasThreads() {
  return typeof SharedArrayBuffer === 'function' && globalThis.crossOriginIsolated === true && typeof Worker === 'function';
}

/**
 * Start `count` pthread workers from this (the page's) thread.
 * @param {number} count
 * @param {Record<string, string>} files the load's located files (locateFile)
 * @returns {Promise<{ports: MessagePort[], onFailure: (fn: (e: Error) => void) => void, terminate: () => void}>}
 *   ports: one per worker, for the engine's worker (transfer them)
 */
export async function openThreadPool(count, files) {
  const script = await pthreadWorkerUrl(locateEngineFile('mobilellm-threads.worker.cjs', files));
  const shim = URL.createObjectURL(new Blob([SHIM], { type: 'text/javascript' }));
  /** @type {Worker[]} */
  const workers = [];
  /** @type {MessagePort[]} */
  const ports = [];
  /** @type {((e: Error) => void)[]} */
  const failed = [];
  let done = false;
  try {
    for (let i = 0; i < count; i++) {
      const w = new Worker(shim, { name: `mobilellm-thread-${i + 1}` });
      w.onerror = (e) => {
        e.preventDefault?.();
        const err = new InternalError(`A thread worker of the engine failed: ${e.message || 'it could not start (check that dist/ is served)'}.`);
        for (const fn of failed) fn(err);
      };
      const ch = new MessageChannel();
      w.postMessage({ port: ch.port2, script }, [ch.port2]);
      workers.push(w);
      ports.push(ch.port1);
    }
  } catch (e) {
    for (const w of workers) w.terminate();
    URL.revokeObjectURL(shim);
    throw e;
  }
  return {
    ports,
    onFailure: (fn) => { failed.push(fn); },
    terminate: () => {
      if (done) return;
      done = true;
      for (const w of workers) w.terminate();
      URL.revokeObjectURL(shim);
    },
  };
}
