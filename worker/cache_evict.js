// cache_evict.js — making room in the model cache: partial entries (interrupted downloads) go
// first, then complete ones least recently used first; an entry some tab or process is writing
// (its lock is held) is never touched.

/** @typedef {import('./cache_entry.js').Store} Store */
/** @typedef {import('./cache_entry.js').EntryMeta} EntryMeta */

/**
 * Entries in eviction order: partial before complete, then least recently used first.
 * @param {EntryMeta[]} all
 */
export function evictionOrder(all) {
  return all.slice().sort((a, b) => (Number(a.complete) - Number(b.complete)) || (a.lastUsed - b.lastUsed) || a.id.localeCompare(b.id));
}

/**
 * Delete entries in eviction order until the cache holds at most `keep` bytes.
 * @param {Store} store
 * @param {{keep?: number, except?: string[], partialOnly?: boolean}} o
 *   keep: bytes the cache may keep (default 0: evict every candidate); except: keys never evicted;
 *   partialOnly: only incomplete entries
 * @returns {Promise<{evicted: string[], freedBytes: number, usage: number}>}
 */
export async function evictEntries(store, o = {}) {
  const keep = o.keep ?? 0;
  const all = await store.list();
  let usage = all.reduce((s, m) => s + (m.stored ?? 0), 0);
  const evicted = [];
  let freedBytes = 0;
  for (const m of evictionOrder(all)) {
    if (usage <= keep) break;
    if (o.except?.includes(m.id) || (o.partialOnly && m.complete)) continue;
    if (await store.isLocked(m.id)) continue; // being downloaded or converted right now
    await store.deleteEntry(m.id);
    evicted.push(m.id);
    freedBytes += m.stored ?? 0;
    usage -= m.stored ?? 0;
  }
  return { evicted, freedBytes, usage };
}
