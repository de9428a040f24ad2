// env.js — where this code runs. Node (and not a browser page or Web Worker whose bundler
// polyfilled `process`): the Node-only paths (file system, worker_threads, node:crypto) apply.

/** True under Node, false in browser pages and Web Workers. */
export const isNode = typeof process === 'object' && !!process.versions?.node && typeof window === 'undefined'
  && typeof importScripts === 'undefined' && typeof WorkerGlobalScope === 'undefined';
