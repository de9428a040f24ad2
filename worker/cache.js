// cache.js — the model cache's store for this environment: IndexedDB in browsers
// (cache_idb.js), the file system in Node (cache_fs.js), memory when caching is off
// (cache_memory.js). The entry format is cache_entry.js.

import { isNode } from '../lib/env.js';
import { MemoryStore } from './cache_memory.js';
import { IdbStore } from './cache_idb.js';
import { FsStore, defaultCacheDir } from './cache_fs.js';

/** @typedef {import('./cache_entry.js').Store} Store */

/**
 * The store for this environment: FsStore in Node, IdbStore in browsers, MemoryStore when caching
 * is off or IndexedDB is missing.
 * @param {{cache?: boolean|string, cacheDir?: string}} [opts]
 * @returns {Promise<Store>}
 */
export async function openStore(opts = {}) {
  if (opts.cache === false) return new MemoryStore();
  if (isNode) return new FsStore(opts.cacheDir ?? (await defaultCacheDir()));
  if (typeof indexedDB !== 'undefined') return new IdbStore();
  return new MemoryStore();
}
