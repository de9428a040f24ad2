// gate.js — one generation at a time per model: later callers wait in line or are refused.

import { AbortError, BusyError } from './errors.js';

/** One generation at a time: later callers wait in line (wait: true) or are refused. */
export class Gate {
  constructor() {
    this.busy = false;
    /** @type {{go: () => void}[]} */
    this.queue = [];
  }

  /** @param {boolean} wait @param {AbortSignal} [signal] */
  async enter(wait, signal) {
    if (!this.busy) { this.busy = true; return; }
    if (!wait) throw new BusyError('A generation is already running on this model; wait for it to finish, abort it, or pass { wait: true }.');
    await new Promise((resolve, reject) => {
      const ticket = { go: () => { signal?.removeEventListener('abort', onAbort); resolve(undefined); } };
      const onAbort = () => {
        this.queue.splice(this.queue.indexOf(ticket), 1);
        reject(new AbortError('The generation was aborted while waiting for its turn.'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(ticket);
    });
  }

  leave() {
    const next = this.queue.shift();
    if (next) next.go(); // hand over without releasing, so nobody overtakes the line
    else this.busy = false;
  }
}
