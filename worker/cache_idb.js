// cache_idb.js — the browsers' cache store: IndexedDB, one record per entry's meta and one per
// chunk (key [id, index]), a chunk and its meta written in one transaction.

import { CacheError } from './errors.js';

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

  async putMeta(meta) {
    const db = await this.db();
    const tx = db.transaction('entries', 'readwrite');
    tx.objectStore('entries').put(meta);
    await idbDone(tx);
  }

  async putChunk(meta, index, bytes) {
    const db = await this.db();
    const tx = db.transaction(['entries', 'chunks'], 'readwrite');
    tx.objectStore('chunks').put(ownBuffer(bytes), [meta.id, index]);
    tx.objectStore('entries').put(meta);
    await idbDone(tx);
  }

  async getChunk(id, index, length) {
    const db = await this.db();
    const buf = await idbDone(db.transaction('chunks').objectStore('chunks').get([id, index]));
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
    return idbDone(db.transaction('entries').objectStore('entries').getAll());
  }

  async estimate() {
    const est = await globalThis.navigator?.storage?.estimate?.();
    if (!est || !Number.isFinite(est.quota)) return {};
    return { quota: est.quota, free: Math.max(0, est.quota - (est.usage ?? 0)) };
  }
}
