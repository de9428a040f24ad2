// start_watchdog.js — start the engine's worker under a time limit. Firefox (ESR 153) blocked
// a worker for good inside its own `new Worker()` while the pthreads build started its pool; the
// page now starts the pool (thread_pool.js), and this limit stays as the guard for any other
// stall: a blocked worker answers nothing, not even an abort. A start that takes longer than the
// limit counts as stalled: its worker is terminated and a fresh one tries; after `tries` stalls
// the load fails with an UnsupportedError, never a hang. The load's AbortSignal ends the wait at
// once: the starting worker is terminated here, since it may not be able to answer.

import { AbortError, InternalError, UnsupportedError } from './errors.js';

/** How long a worker may take to start the threads build (ms), and how many workers try. A normal
 * start took up to 8 s on the loaded test host (PERF_NOTES.md), so the limit keeps its margin. */
export const ENGINE_START = Object.freeze({ ms: 15000, tries: 3 });

/**
 * @template {{port: {terminate?: () => any}, rpc: {close: (e: Error) => void}}} W
 * @param {() => Promise<W>} open a fresh worker and its RPC client
 * @param {(w: W) => Promise<unknown>} start asks w to start its engine; settles when it has
 * @param {{ms: number, tries: number}} [limits]
 * @param {AbortSignal} [signal] the load's: an abort terminates the starting worker and rejects with an AbortError
 * @returns {Promise<W>} the first worker whose start settled in time
 */
export async function startWatched(open, start, limits = ENGINE_START, signal = undefined) {
  for (let i = 1; ; i++) {
    if (signal?.aborted) throw startAborted();
    const w = await open();
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    let timer;
    /** @type {(() => void) | undefined} */
    let onAbort;
    /** @type {Promise<'stalled' | 'aborted'>} */
    const stopped = new Promise((resolve) => {
      timer = setTimeout(() => resolve('stalled'), limits.ms);
      onAbort = () => resolve('aborted');
      signal?.addEventListener('abort', onAbort, { once: true });
      if (signal?.aborted) resolve('aborted'); // aborted while open() ran: no event comes now
    });
    /** @type {'started' | 'stalled' | 'aborted'} */
    let outcome;
    try {
      outcome = await Promise.race([start(w).then(() => /** @type {const} */ ('started')), stopped]);
    } catch (e) {
      w.rpc.close(/** @type {Error} */ (e));
      await w.port.terminate?.();
      throw e;
    } finally {
      clearTimeout(timer);
      if (onAbort) signal?.removeEventListener('abort', onAbort);
    }
    if (outcome === 'started') return w;
    const err = outcome === 'aborted' ? startAborted() : new InternalError('The engine start stalled.');
    w.rpc.close(err);
    await w.port.terminate?.();
    if (outcome === 'aborted') throw err;
    if (i >= limits.tries)
      throw new UnsupportedError(`The threads build did not start within ${limits.ms / 1000} s in ${limits.tries} fresh workers; load with threads: 1.`);
  }
}

const startAborted = () => new AbortError('Loading the model was aborted while its engine started.');
