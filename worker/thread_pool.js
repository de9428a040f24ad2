// thread_pool.js — the threads build's pool of pthread workers, started by the page. Firefox (ESR
// 153) can block a worker for good inside its own `new Worker()`, never the page's (PERF_NOTES.md,
// "Firefox: the threads build's start"), so in browsers the page starts the pool and hands the
// engine's worker one MessagePort to each.
// Those workers run Emscripten's own pthread script (mobilellm-threads.worker.cjs) behind a small
// shim that routes its messages through the port.

import { InternalError } from './errors.js';

/** Workers of one engine asked for `threads` (worker/host.js): two contexts of `threads` each
 * (the session's and logits()'s), counting the engine's own thread once. */
export const engineThreads = (/** @type {number} */ threads) => (threads > 1 ? 2 * threads - 1 : 1);

/** The pool worker's first message, from the page, is {port}: from then on the port stands in for
 * its postMessage / onmessage. The port's first message, from the engine's worker, names
 * Emscripten's pthread script to run ({cmd: 'mllmScript', script}: the engine resolves it as for
 * workers of its own); it is fetched and run from a blob: (importScripts of the address itself
 * is a 'script' request, which dev servers such as Vite's rewrite as a module), and messages
 * that come before it has run wait. {cmd: 'mllmClose'} ends the worker. */
const SHIM = `self.onmessage = (e) => {
  const { port } = e.data;
  self.onmessage = null;
  self.postMessage = (m, t) => port.postMessage(m, t || []);
  let waiting = [];
  const run = (script) => fetch(script).then((r) => {
    if (!r.ok) throw new Error('HTTP ' + r.status);
    return r.text();
  }).then((text) => {
    const url = URL.createObjectURL(new Blob([text], { type: 'text/javascript' }));
    try { importScripts(url); } finally { URL.revokeObjectURL(url); }
    const w = waiting;
    waiting = null;
    for (const ev of w) self.onmessage(ev);
  }).catch((err) => { setTimeout(() => { throw new Error(script + ': ' + err.message); }); });
  port.onmessage = (ev) => {
    const d = ev.data;
    if (d && d.cmd === 'mllmScript') { run(d.script); return; }
    if (d && d.cmd === 'mllmClose') { port.close(); self.close(); return; }
    if (waiting) waiting.push(ev); else self.onmessage(ev);
  };
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
 * @returns {{ports: MessagePort[], onFailure: (fn: (e: Error) => void) => void, terminate: () => void}}
 *   ports: one per worker, for the engine's worker (transfer them)
 */
export function openThreadPool(count) {
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
        const why = (e.message || 'it could not start (check that dist/ is served)').replace(/\.$/, '');
        const err = new InternalError(`A thread worker of the engine failed: ${why}.`);
        for (const fn of failed) fn(err);
      };
      const ch = new MessageChannel();
      w.postMessage({ port: ch.port2 }, [ch.port2]);
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
