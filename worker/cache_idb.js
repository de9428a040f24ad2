// cache_idb.js — the browsers' cache store: IndexedDB, one record per entry's meta and one per
// chunk (key [id, index]). Every write checks the entry's generation in the same transaction as
// it writes (a chunk and its meta together), so a tab whose entry was deleted or replaced cannot
// write into it or re-create it; readers check it the same way with every chunk.

import { CacheError } from './errors.js';
import { EntryGoneError, realMeta } from './cache_entry.js';
import { browserLock, browserIsLocked } from './cache_lock.js';

/** @typedef {import('./cache_entry.js').Store} Store */

/** An exact ArrayBuffer for storing (structured clone of a view would copy its whole buffer). */
const ownBuffer = (/** @type {Uint8Array} */ b) =>
  (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b.buffer : b.slice().buffer);

/** @param {IDBRequest | IDBTransaction} r */
function idbDone(r) {
  return new Promise((resolve, reject) => {
    if ('oncomplete' in r) {
      r.oncomplete = () => resolve(undefined);
      // A failed request's error reaches the transaction first, while its own `error` is still
      // null (Firefox's quota refusal arrives this way): take the request's.
      r.onerror = (ev) => reject(/** @type {any} */ (ev?.target)?.error ?? r.error);
      r.onabort = () => reject(r.error ?? new DOMException('The IndexedDB transaction was aborted.', 'AbortError'));
    } else {
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    }
  });
}

/** @implements {Store} */
export class IdbStore {
  /** @param {string} [name] database name */
  constructor(name = 'mobilellm-wasm') {
    this.kind = 'indexeddb';
    this.name = name;
    /** @type {Promise<IDBDatabase>|null} */
    this.dbp = null;
  }

  db() {
    this.dbp ??= new Promise((resolve, reject) => {
      const req = indexedDB.open(this.name, 1);
      req.onupgradeneeded = () => {
        const db = req.result;
        if (!db.objectStoreNames.contains('entries')) db.createObjectStore('entries', { keyPath: 'id' });
        if (!db.objectStoreNames.contains('chunks')) db.createObjectStore('chunks'); // key [id, index]
      };
      req.onsuccess = () => {
        // Another tab upgrading the schema must not be blocked by us.
        req.result.onversionchange = () => { req.result.close(); this.dbp = null; };
        resolve(req.result);
      };
      req.onerror = () => reject(new CacheError(`IndexedDB '${this.name}' could not be opened (${req.error?.message ?? 'unknown error'}).`));
      req.onblocked = () => reject(new CacheError(`IndexedDB '${this.name}' is blocked by another tab holding an older version open.`));
    });
    return this.dbp;
  }

  async getMeta(id) {
    const db = await this.db();
    return (await idbDone(db.transaction('entries').objectStore('entries').get(id))) ?? null;
  }

  async putMeta(meta, o = {}) {
    await this.#write(meta, o, null);
  }

  async putChunk(meta, index, bytes, o = {}) {
    await this.#write(meta, o, (tx) => tx.objectStore('chunks').put(ownBuffer(bytes), [meta.id, index]));
  }

  /**
   * Meta (and chunk) writes under the generation check, all in one transaction: the record is
   * read first and the writes are issued only when it carries meta.gen (or, creating, is absent).
   * @param {import('./cache_entry.js').EntryMeta} meta @param {{create?: boolean}} o
   * @param {((tx: IDBTransaction) => void)|null} more
   */
  async #write(meta, o, more) {
    const db = await this.db();
    const tx = db.transaction(['entries', 'chunks'], 'readwrite');
    const entries = tx.objectStore('entries');
    let gone = false;
    entries.get(meta.id).onsuccess = (ev) => {
      const rec = /** @type {IDBRequest} */ (ev.target).result;
      if (rec ? rec.gen !== meta.gen : !o.create) { gone = true; tx.abort(); return; }
      more?.(tx);
      entries.put(meta);
    };
    try {
      await idbDone(tx);
    } catch (e) {
      if (gone) throw new EntryGoneError(meta.id, 'being written');
      throw e;
    }
  }

  async touch(meta) {
    const db = await this.db();
    const tx = db.transaction('entries', 'readwrite');
    const entries = tx.objectStore('entries');
    entries.get(meta.id).onsuccess = (ev) => {
      const rec = /** @type {IDBRequest} */ (ev.target).result;
      if (rec && rec.gen === meta.gen) entries.put({ ...rec, lastUsed: Date.now() });
    };
    await idbDone(tx);
  }

  async getChunk(id, index, length, gen) {
    const db = await this.db();
    const tx = db.transaction(['entries', 'chunks']);
    const rec = gen !== undefined ? idbDone(tx.objectStore('entries').get(id)) : null;
    const buf = await idbDone(tx.objectStore('chunks').get([id, index]));
    if (rec) {
      const r = await rec;
      if (!r || r.gen !== (gen ?? undefined)) throw new EntryGoneError(id, 'being read');
    }
    if (!buf) return new Uint8Array(0);
    const u8 = buf instanceof Uint8Array ? buf : new Uint8Array(buf);
    return u8.length > length ? u8.subarray(0, length) : u8;
  }

  async deleteEntry(id) {
    const db = await this.db();
    const tx = db.transaction(['entries', 'chunks'], 'readwrite');
    tx.objectStore('chunks').delete(IDBKeyRange.bound([id, 0], [id, Infinity]));
    tx.objectStore('entries').delete(id);
    await idbDone(tx);
  }

  async list() {
    const db = await this.db();
    const tx = db.transaction(['entries', 'chunks']);
    const metas = await idbDone(tx.objectStore('entries').getAll());
    // What is really stored: the chunk records present (keys only), not what the meta claims.
    const out = [];
    for (const m of metas) {
      const keys = await idbDone(tx.objectStore('chunks').getAllKeys(IDBKeyRange.bound([m.id, 0], [m.id, Infinity])));
      let present = 0;
      while (present < keys.length && keys[present][1] === present) present++;
      out.push(realMeta(m, present));
    }
    return out;
  }

  async probe(bytes) {
    if (!(bytes > 0)) return;
    const db = await this.db();
    const key = ['\uffffprobe', 0]; // outside every entry's key range
    // Incompressible bytes: IndexedDB compresses values, so zeros would cost it next to nothing.
    const junk = new Uint32Array(Math.ceil(bytes / 4));
    let x = 0x9e3779b9;
    for (let i = 0; i < junk.length; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; junk[i] = x; }
    let tx = db.transaction('chunks', 'readwrite');
    tx.objectStore('chunks').put(junk.buffer.slice(0, bytes), key);
    await idbDone(tx);
    tx = db.transaction('chunks', 'readwrite');
    tx.objectStore('chunks').delete(key);
    await idbDone(tx);
  }

  lock(id, signal) { return browserLock(id, signal); }

  isLocked(id) { return browserIsLocked(id); }

  async estimate() {
    const est = await globalThis.navigator?.storage?.estimate?.();
    if (!est || !Number.isFinite(est.quota)) return {};
    return { quota: est.quota, free: Math.max(0, est.quota - (est.usage ?? 0)) };
  }
}
