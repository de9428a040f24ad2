// worker.js — the entry point of the worker that runs the engine: a module Web Worker in
// browsers, a worker_threads Worker in Node (started by port.js). It only connects the message
// port to a Host (host.js); all logic lives there.

import { Host } from './host.js';
import { isNode } from '../lib/env.js';

if (isNode) {
  const { parentPort, workerData } = await import('node:worker_threads');
  // Attach only in a worker port.js started, never in someone else's thread that imports us.
  if (parentPort && workerData?.mobilellmWorker) {
    const host = new Host((msg, transfer) => parentPort.postMessage(msg, transfer));
    parentPort.on('message', (msg) => { host.handle(msg); });
  }
} else if (typeof WorkerGlobalScope !== 'undefined' && self instanceof WorkerGlobalScope) {
  const host = new Host((msg, transfer) => self.postMessage(msg, transfer ?? []));
  self.onmessage = (e) => { host.handle(e.data); };
}
