// cache_lock.js — one writer per cache entry: the lock a download or conversion holds (Web Locks
// across a browser's tabs and workers; cache_fs.js has the file lock for Node processes), and the
// wait for it, which honours an AbortSignal at once and reports the holder's progress by polling
// the entry.

import { AbortError } from './errors.js';

/** @param {string} id */
const lockName = (id) => `mobilellm-cache:${id}`;

/**
 * Hold the Web Lock of entry `id` (a no-op where the API is missing).
 * @param {string} id @param {AbortSignal} [signal] aborts the wait
 * @returns {Promise<() => Promise<void>>} release
 */
export function browserLock(id, signal) {
  const locks = globalThis.navigator?.locks;
  if (!locks?.request) return Promise.resolve(async () => {});
  return new Promise((resolve, reject) => {
    /** @type {(v?: any) => void} */
    let release = () => {};
    const held = new Promise((r) => { release = r; });
    locks.request(lockName(id), signal ? { signal } : {}, () => {
      resolve(async () => release());
      return held;
    }).catch(reject);
  });
}

/** @param {string} id @returns {Promise<boolean>} */
export async function browserIsLocked(id) {
  const locks = globalThis.navigator?.locks;
  if (!locks?.query) return false;
  const q = await locks.query();
  return (q.held ?? []).some((l) => l.name === lockName(id));
}

/**
 * Run fn holding entry `id`'s writer lock. While another tab or process holds it, the entry is
 * polled and its progress reported through onWait; an abort ends the wait at once.
 * @template T
 * @param {import('./cache_entry.js').Store} store @param {string} id
 * @param {{signal?: AbortSignal, source: string, onWait?: (meta: import('./cache_entry.js').EntryMeta|null) => void, pollMs?: number}} o
 * @param {() => Promise<T>} fn
 * @returns {Promise<T>}
 */
export async function withEntryLock(store, id, o, fn) {
  if (o.signal?.aborted) throw new AbortError(`Loading ${o.source} was aborted.`);
  let waiting = true;
  const poll = async () => {
    if (!waiting) return;
    try { o.onWait?.(await store.getMeta(id)); } catch { /* a failed poll only skips one report */ }
    if (waiting) timer = setTimeout(poll, o.pollMs ?? 250);
  };
  /** @type {any} */
  let timer = setTimeout(poll, o.pollMs ?? 250);
  let release;
  try {
    release = await store.lock(id, o.signal);
  } catch (e) {
    if (o.signal?.aborted || e?.name === 'AbortError') {
      throw new AbortError(`Loading ${o.source} was aborted while it waited for another tab's or process's download of it.`);
    }
    throw e;
  } finally {
    waiting = false;
    clearTimeout(timer);
  }
  try {
    return await fn();
  } finally {
    await release();
  }
}
