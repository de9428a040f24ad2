// worker.js — the entry point of the worker that runs the engine: a module Web Worker in
// browsers, a worker_threads Worker in Node (started by port.js). It only connects the message
// port to a Host (host.js); all logic lives there. No top-level await: bundlers that emit
// workers as classic scripts (Vite's default) can take it.

import { Host } from './host.js';
import { isNode } from '../lib/env.js';
import { nodeBuiltin } from '../lib/node_builtin.js';

if (isNode) {
  nodeBuiltin('worker_threads').then(({ parentPort, workerData }) => {
    // Attach only in a worker port.js started, never in someone else's thread that imports us.
    if (parentPort && workerData?.mobilellmWorker) {
      const host = new Host((msg, transfer) => parentPort.postMessage(msg, transfer));
      parentPort.on('message', (msg) => { host.handle(msg); });
    }
  });
} else if (typeof WorkerGlobalScope !== 'undefined' && self instanceof WorkerGlobalScope) {
  const host = new Host((msg, transfer) => self.postMessage(msg, transfer ?? []));
  self.onmessage = (e) => { host.handle(e.data); };
}
