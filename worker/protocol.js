// protocol.js — the one message protocol between the page (or Node main thread) and the worker
// that owns the engine. Requests carry an id; the worker answers each with any number of events
// and then exactly one 'result' or 'error':
//
//   page -> worker  {id, op, args}                 op: load | generate | tokenize | detokenize |
//                                                       logits | evaluate | unload
//                   {id: 0, op: 'abort', args: {target}}       stop request `target`
//                   {id: 0, op: 'credit', args: {target, n}}   let generation `target` send n more tokens
//   worker -> page  {id, type: 'progress', data}    load progress {phase, loaded, total, rate, resumedFrom?},
//                                                   evaluation progress {task, done, total}
//                   {id, type: 'token', data}       one generated token {text, token}
//                   {id, type: 'result', data}
//                   {id, type: 'error', error}      a serialized API error (errors.js)
//
// Large buffers (model bytes, token ids, logits) travel in the transfer list, never cloned.

import { deserializeError, StateError } from './errors.js';

export const OPS = Object.freeze(['load', 'generate', 'tokenize', 'detokenize', 'logits', 'evaluate', 'unload', 'abort', 'credit']);

/**
 * The ArrayBuffers inside a message worth transferring (typed arrays, ArrayBuffers; one level
 * into plain objects and arrays). A view over part of a larger buffer is not transferred:
 * that would detach memory the caller still uses.
 * @param {any} v
 * @returns {ArrayBuffer[]}
 */
export function transferables(v) {
  const out = new Set();
  const visit = (x, depth) => {
    if (!x || typeof x !== 'object' || depth > 2) return;
    if (x instanceof ArrayBuffer) out.add(x);
    else if (ArrayBuffer.isView(x)) {
      if (x.buffer instanceof ArrayBuffer && x.byteOffset === 0 && x.byteLength === x.buffer.byteLength) out.add(x.buffer);
    } else if (Array.isArray(x)) { if (x.length < 64) for (const y of x) visit(y, depth + 1); }
    else if (Object.getPrototypeOf(x) === Object.prototype) for (const y of Object.values(x)) visit(y, depth + 1);
  };
  visit(v, 0);
  return [...out];
}

/**
 * A port-like object both sides talk through: web Worker, worker_threads Worker/parentPort,
 * or an in-process pair.
 * @typedef {{postMessage: (msg: any, transfer?: any[]) => void, onMessage: (fn: (msg: any) => void) => void,
 *   onFailure?: (fn: (err: Error) => void) => void, terminate?: () => any, ref?: () => void, unref?: () => void}} Port
 */

/** Main-thread side: numbered requests, event callbacks, promise results. */
export class RpcClient {
  /** @param {Port} port */
  constructor(port) {
    this.port = port;
    this.nextId = 1;
    /** @type {Map<number, {resolve: Function, reject: Function, onEvent?: Function}>} */
    this.pending = new Map();
    this.closed = null;
    port.onMessage((m) => this.#receive(m));
    port.onFailure?.((err) => this.close(err));
  }

  /**
   * @param {string} op
   * @param {any} args
   * @param {{onEvent?: (type: string, data: any) => void, transfer?: ArrayBuffer[]}} [o]
   * @returns {{id: number, done: Promise<any>}}
   */
  call(op, args, o = {}) {
    const id = this.nextId++;
    if (this.closed) return { id, done: Promise.reject(this.closed) };
    const done = new Promise((resolve, reject) => this.pending.set(id, { resolve, reject, onEvent: o.onEvent }));
    this.port.ref?.(); // a worker_threads Worker keeps Node alive only while a request is open
    this.port.postMessage({ id, op, args }, o.transfer ?? []);
    return { id, done };
  }

  /** Ask the worker to stop request `target` (it answers that request with an 'aborted' error). */
  abort(target) {
    if (!this.closed && this.pending.has(target)) this.port.postMessage({ id: 0, op: 'abort', args: { target } });
  }

  /** Let request `target` send `n` more events (generation flow control). */
  credit(target, n) {
    if (!this.closed && this.pending.has(target)) this.port.postMessage({ id: 0, op: 'credit', args: { target, n } });
  }

  /** Fail every open request (worker crashed or terminated). @param {Error} err */
  close(err) {
    this.closed ??= err ?? new StateError('The model was unloaded.');
    for (const p of this.pending.values()) p.reject(this.closed);
    this.pending.clear();
    this.port.unref?.();
  }

  #receive(m) {
    const p = this.pending.get(m?.id);
    if (!p) return;
    if (m.type === 'result' || m.type === 'error') {
      this.pending.delete(m.id);
      if (this.pending.size === 0) this.port.unref?.();
      if (m.type === 'result') p.resolve(m.data);
      else p.reject(deserializeError(m.error));
    } else {
      p.onEvent?.(m.type, m.data);
    }
  }
}

/**
 * Let queued messages (an abort, a tokenize call) run between tokens. A MessageChannel round
 * trip is a macrotask without setTimeout's 4 ms clamp; Node has setImmediate.
 * @returns {Promise<void>}
 */
export const yieldToEventLoop = typeof setImmediate === 'function'
  ? () => new Promise((r) => setImmediate(r))
  : (() => {
    const ch = new MessageChannel();
    /** @type {Function[]} */
    const waiting = [];
    ch.port1.onmessage = () => waiting.shift()?.();
    return () => new Promise((r) => { waiting.push(r); ch.port2.postMessage(0); });
  })();
