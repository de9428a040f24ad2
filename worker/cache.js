// cache.js — the model cache: IndexedDB in browsers, the file system in Node, memory when
// caching is off. Every entry is the bytes of one file (a GGUF, or a raw checkpoint file on its
// way to conversion) plus a meta record: its source, size, ETag / Last-Modified, and a SHA-256
// per fixed-size chunk.
//
// Why chunks, and why IndexedDB directly rather than Emscripten's IDBFS: IDBFS mirrors the
// whole mount into MEMFS (every cached model in JS memory at once) and persists whole files
// per sync, so a resumable download would rewrite the file on each checkpoint and a large
// model would be a single IndexedDB value. Fixed chunks give (1) resumable downloads — each
// chunk is durable as soon as it arrives, the meta record says how many bytes are stored;
// (2) corruption detection — each chunk is hashed on write and checked on read, so a damaged
// or truncated entry is refetched, never loaded; (3) the one-copy rule — loading streams chunk
// by chunk straight into the wasm heap, so the transient extra memory is one chunk.

import { QuotaError, CacheError, formatBytes, toApiError } from './errors.js';
import { isNode } from '../lib/env.js';

export const CHUNK_SIZE = 4 << 20;

/**
 * @typedef {object} EntryMeta
 * @property {string} id          cache key: 'url:<url>', 'hf:<endpoint>/<repo>@<rev>:<dtype>', ...
 * @property {'gguf'|'raw'} kind  gguf: loadable model; raw: a download awaiting conversion
 * @property {string} source      what the user asked for, for listings
 * @property {number|null} size   total bytes (null while unknown)
 * @property {number} stored      bytes stored so far
 * @property {boolean} complete
 * @property {string|null} etag
 * @property {string|null} lastModified
 * @property {number} chunkSize
 * @property {string[]} hashes    hex SHA-256 of each stored chunk (the last one may be partial)
 * @property {number} created
 * @property {number} lastUsed
 * @property {Record<string, any>} [extra]  e.g. the dtype and input fingerprint of a conversion
 */

// Node hashes synchronously (no window in which the heap view could be replaced by growth).
const nodeCrypto = isNode ? await import('node:crypto') : null;

/** @param {Uint8Array} bytes @returns {Promise<string>} */
export async function sha256Hex(bytes) {
  if (nodeCrypto) return nodeCrypto.createHash('sha256').update(bytes).digest('hex');
  const d = new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', bytes));
  let s = '';
  for (const b of d) s += b.toString(16).padStart(2, '0');
  return s;
}

/** An exact ArrayBuffer for storing (structured clone of a view would copy its whole buffer). */
const ownBuffer = (/** @type {Uint8Array} */ b) =>
  (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b.buffer : b.slice().buffer);

// ------------------------------------------------------------------------------ backends

/**
 * The storage primitives every backend provides.
 * @typedef {object} Store
 * @property {string} kind                      'indexeddb' | 'fs' | 'memory'
 * @property {(id: string) => Promise<EntryMeta|null>} getMeta
 * @property {(meta: EntryMeta) => Promise<void>} putMeta
 * @property {(meta: EntryMeta, index: number, bytes: Uint8Array) => Promise<void>} putChunk  chunk then meta, atomically where possible
 * @property {(id: string, index: number, length: number) => Promise<Uint8Array>} getChunk
 * @property {(id: string) => Promise<void>} deleteEntry
 * @property {() => Promise<EntryMeta[]>} list
 * @property {() => Promise<{quota?: number, free?: number}>} estimate
 * @property {(id: string) => string} [dataPath]  Node: the file holding the entry's bytes
 * @property {(meta: EntryMeta, index: number, target: Uint8Array) => Promise<number>} [readChunkInto]
 */

/** @implements {Store} */
export class MemoryStore {
  constructor() {
    this.kind = 'memory';
    /** @type {Map<string, {meta: EntryMeta, chunks: Uint8Array[]}>} */
    this.entries = new Map();
  }
  async getMeta(id) { const e = this.entries.get(id); return e ? structuredClone(e.meta) : null; }
  async putMeta(meta) {
    const e = this.entries.get(meta.id);
    if (e) e.meta = structuredClone(meta); else this.entries.set(meta.id, { meta: structuredClone(meta), chunks: [] });
  }
  async putChunk(meta, index, bytes) {
    await this.putMeta(meta);
    this.entries.get(meta.id).chunks[index] = bytes.slice();
  }
  async getChunk(id, index, length) {
    const c = this.entries.get(id)?.chunks[index];
    return c ? c.subarray(0, length) : new Uint8Array(0);
  }
  async deleteEntry(id) { this.entries.delete(id); }
  async list() { return [...this.entries.values()].map((e) => structuredClone(e.meta)); }
  async estimate() { return {}; }
}

/** @param {IDBRequest | IDBTransaction} r */
function idbDone(r) {
  return new Promise((resolve, reject) => {
    if ('oncomplete' in r) {
      r.oncomplete = () => resolve(undefined);
      r.onerror = () => reject(r.error);
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

/** @implements {Store} */
export class FsStore {
  /** @param {string} root the cache directory */
  constructor(root) {
    this.kind = 'fs';
    this.root = root;
  }

  async mods() {
    if (!this.m) {
      const [fs, path, crypto] = await Promise.all([import('node:fs'), import('node:path'), import('node:crypto')]);
      this.m = { fs, path, crypto };
      fs.mkdirSync(path.join(this.root, 'entries'), { recursive: true });
    }
    return this.m;
  }

  /** @param {string} id */
  dirOf(id) {
    const { path, crypto } = this.m;
    return path.join(this.root, 'entries', crypto.createHash('sha256').update(id).digest('hex').slice(0, 32));
  }

  /** @param {string} id */
  dataPath(id) { return this.m.path.join(this.dirOf(id), 'data'); }

  async getMeta(id) {
    const { fs, path } = await this.mods();
    try {
      const meta = JSON.parse(fs.readFileSync(path.join(this.dirOf(id), 'meta.json'), 'utf8'));
      return meta?.id === id ? meta : null;
    } catch {
      return null;
    }
  }

  async putMeta(meta) {
    const { fs, path } = await this.mods();
    const dir = this.dirOf(meta.id);
    fs.mkdirSync(dir, { recursive: true });
    const tmp = path.join(dir, `meta.json.${process.pid}.tmp`);
    fs.writeFileSync(tmp, JSON.stringify(meta));
    fs.renameSync(tmp, path.join(dir, 'meta.json')); // atomic: a crash leaves the old or the new meta
  }

  async putChunk(meta, index, bytes) {
    const { fs } = await this.mods();
    fs.mkdirSync(this.dirOf(meta.id), { recursive: true });
    const fh = await fs.promises.open(this.dataPath(meta.id), fs.existsSync(this.dataPath(meta.id)) ? 'r+' : 'w+');
    try {
      const at = index * meta.chunkSize;
      for (let done = 0; done < bytes.length;) done += (await fh.write(bytes, done, bytes.length - done, at + done)).bytesWritten;
      if ((await fh.stat()).size > at + bytes.length && index === meta.hashes.length - 1) await fh.truncate(at + bytes.length);
    } finally {
      await fh.close();
    }
    await this.putMeta(meta);
  }

  async getChunk(id, index, length) {
    const { fs } = await this.mods();
    const meta = await this.getMeta(id);
    let fd;
    try { fd = fs.openSync(this.dataPath(id), 'r'); } catch { return new Uint8Array(0); }
    try {
      const buf = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const got = fs.readSync(fd, buf, done, length - done, index * (meta?.chunkSize ?? CHUNK_SIZE) + done);
        if (got === 0) break;
        done += got;
      }
      return buf.subarray(0, done);
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Read chunk `index` straight into `target` (no intermediate buffer); returns the bytes read. */
  async readChunkInto(meta, index, target) {
    const { fs } = await this.mods();
    let fd;
    try { fd = fs.openSync(this.dataPath(meta.id), 'r'); } catch { return 0; }
    try {
      let done = 0;
      while (done < target.length) {
        const got = fs.readSync(fd, target, done, target.length - done, index * meta.chunkSize + done);
        if (got === 0) break;
        done += got;
      }
      return done;
    } finally {
      fs.closeSync(fd);
    }
  }

  async deleteEntry(id) {
    const { fs } = await this.mods();
    fs.rmSync(this.dirOf(id), { recursive: true, force: true });
  }

  async list() {
    const { fs, path } = await this.mods();
    const out = [];
    for (const d of fs.readdirSync(path.join(this.root, 'entries'))) {
      try { out.push(JSON.parse(fs.readFileSync(path.join(this.root, 'entries', d, 'meta.json'), 'utf8'))); } catch { /* half-created entry */ }
    }
    return out;
  }

  async estimate() {
    const { fs } = await this.mods();
    try {
      const s = await fs.promises.statfs(this.root);
      return { quota: s.blocks * s.bsize, free: s.bavail * s.bsize };
    } catch {
      return {};
    }
  }
}

/**
 * The default cache directory in Node: $MOBILELLM_CACHE_DIR, else $XDG_CACHE_HOME/mobilellm-wasm,
 * else ~/.cache/mobilellm-wasm.
 * @returns {Promise<string>}
 */
export async function defaultCacheDir() {
  const [os, path] = await Promise.all([import('node:os'), import('node:path')]);
  if (process.env.MOBILELLM_CACHE_DIR) return path.resolve(process.env.MOBILELLM_CACHE_DIR);
  const base = process.env.XDG_CACHE_HOME ? path.resolve(process.env.XDG_CACHE_HOME) : path.join(os.homedir(), '.cache');
  return path.join(base, 'mobilellm-wasm');
}

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

// ------------------------------------------------------------------------------ space

/**
 * Refuse early when the storage cannot hold `needed` more bytes.
 * @param {Store} store @param {number} needed @param {string} what for the message
 */
export async function ensureSpace(store, needed, what) {
  if (!Number.isFinite(needed) || needed <= 0) return;
  const { free } = await store.estimate();
  if (free !== undefined && needed > free) {
    throw new QuotaError(`Caching ${what} needs ${formatBytes(needed)} of storage but only ${formatBytes(free)} is free.`, { needed, free });
  }
}

// ------------------------------------------------------------------------------ writing

/**
 * Appends bytes to an entry in chunks; resumable. Each full chunk is stored (with its hash and
 * the meta record) as soon as it fills; checkpoint() also stores a partial last chunk, so an
 * interrupted download keeps every byte that arrived.
 */
export class EntryWriter {
  /**
   * A fresh entry (any previous one with this id is deleted).
   * @param {Store} store
   * @param {{id: string, kind: 'gguf'|'raw', source: string, size?: number|null, etag?: string|null,
   *   lastModified?: string|null, extra?: Record<string, any>}} info
   */
  static async create(store, info) {
    await store.deleteEntry(info.id);
    const now = Date.now();
    /** @type {EntryMeta} */
    const meta = {
      id: info.id, kind: info.kind, source: info.source, size: info.size ?? null, stored: 0, complete: false,
      etag: info.etag ?? null, lastModified: info.lastModified ?? null, chunkSize: CHUNK_SIZE, hashes: [],
      created: now, lastUsed: now, extra: info.extra ?? {},
    };
    await guard(store, meta, () => store.putMeta(meta));
    return new EntryWriter(store, meta, new Uint8Array(0));
  }

  /**
   * Continue an incomplete entry from its stored bytes. A damaged partial last chunk is dropped
   * (the download then resumes from the last whole chunk).
   * @param {Store} store @param {EntryMeta} meta
   */
  static async resume(store, meta) {
    const m = structuredClone(meta);
    const full = Math.floor(m.stored / m.chunkSize);
    const tailLen = m.stored - full * m.chunkSize;
    m.hashes.length = Math.min(m.hashes.length, full + (tailLen ? 1 : 0));
    let tail = new Uint8Array(0);
    if (tailLen) {
      const b = await store.getChunk(m.id, full, tailLen);
      if (b.length === tailLen && m.hashes[full] && (await sha256Hex(b)) === m.hashes[full]) tail = b.slice();
      else { m.stored = full * m.chunkSize; m.hashes.length = full; }
    }
    if (m.hashes.length < Math.ceil(m.stored / m.chunkSize)) { // meta from an older, inconsistent write
      m.stored = m.hashes.length * m.chunkSize;
      tail = new Uint8Array(0);
    }
    return new EntryWriter(store, m, tail);
  }

  /** @param {Store} store @param {EntryMeta} meta @param {Uint8Array} tail bytes of a partial last chunk */
  constructor(store, meta, tail) {
    this.store = store;
    this.meta = meta;
    this.buf = new Uint8Array(meta.chunkSize);
    this.buf.set(tail);
    this.fill = tail.length;
    this.chunkIndex = Math.floor((meta.stored - tail.length) / meta.chunkSize);
  }

  /** Bytes appended so far (stored or buffered). */
  get length() { return this.chunkIndex * this.meta.chunkSize + this.fill; }

  /** @param {Uint8Array} bytes */
  async append(bytes) {
    let off = 0;
    while (off < bytes.length) {
      const n = Math.min(bytes.length - off, this.buf.length - this.fill);
      this.buf.set(bytes.subarray(off, off + n), this.fill);
      this.fill += n;
      off += n;
      if (this.fill === this.buf.length) {
        await this.#store(this.buf);
        this.chunkIndex++;
        this.fill = 0;
      }
    }
  }

  /** Store the partial last chunk, so every byte appended so far survives an interruption. */
  async checkpoint() {
    if (this.fill > 0 && this.meta.stored < this.length) await this.#store(this.buf.subarray(0, this.fill));
  }

  /**
   * Mark the entry complete.
   * @param {{size?: number}} [o] the final size when it was unknown at the start
   * @returns {Promise<EntryMeta>}
   */
  async finish(o = {}) {
    await this.checkpoint();
    if (o.size !== undefined) this.meta.size = o.size;
    if (this.meta.size === null) this.meta.size = this.length;
    if (this.length !== this.meta.size) {
      throw new CacheError(`The cache entry for ${this.meta.source} holds ${this.length} bytes instead of ${this.meta.size}.`);
    }
    this.meta.complete = true;
    await guard(this.store, this.meta, () => this.store.putMeta(this.meta));
    return structuredClone(this.meta);
  }

  /** @param {Uint8Array} bytes the current chunk (full, or the partial last one) */
  async #store(bytes) {
    const hash = await sha256Hex(bytes);
    const m = this.meta;
    const before = { stored: m.stored, hashes: m.hashes.slice() };
    m.hashes[this.chunkIndex] = hash;
    m.hashes.length = this.chunkIndex + 1;
    m.stored = this.chunkIndex * m.chunkSize + bytes.length;
    try {
      await guard(this.store, m, () => this.store.putChunk(m, this.chunkIndex, bytes), before.stored, bytes.length);
    } catch (e) {
      Object.assign(m, before); // the meta keeps describing what really is stored
      throw e;
    }
  }
}

/**
 * Storage failures as the API's errors; a full disk or quota says how much more was needed and
 * how much is free. (Browsers may report a padded quota estimate: when the estimate claims
 * enough room for a write that was just refused, the free space is evidently 0.)
 * @param {Store} store @param {EntryMeta} meta @param {() => Promise<any>} fn
 * @param {number} [stored] bytes safely stored before this write
 * @param {number} [writing] bytes of this write (the least that was needed when the size is unknown)
 */
async function guard(store, meta, fn, stored = meta.stored, writing = 0) {
  try {
    return await fn();
  } catch (e) {
    const err = toApiError(e);
    if (err.code === 'quota') {
      const known = meta.size != null;
      const needed = known ? Math.max(0, meta.size - stored) : writing;
      const est = await store.estimate().catch(() => ({}));
      const free = est.free !== undefined && est.free < needed ? est.free : 0;
      throw new QuotaError(`Storing ${meta.source} in the cache failed for lack of space: it needs ${known ? '' : 'at least '}${formatBytes(needed)} more and the storage has ${formatBytes(free)} free.`, { needed, free });
    }
    if (err.code === 'internal') throw new CacheError(`The cache could not store ${meta.source}: ${err.message}`);
    throw err;
  }
}

// ------------------------------------------------------------------------------ reading

/**
 * Stream a complete entry into caller-provided memory (the wasm heap), checking every chunk's
 * length and hash. `target(offset, length)` returns the view to fill; it is asked again for
 * every chunk because the heap may have been replaced by memory growth in between.
 * @param {Store} store
 * @param {EntryMeta} meta
 * @param {(offset: number, length: number) => Uint8Array} target
 * @param {(loaded: number) => void} [onChunk]
 * @returns {Promise<void>} rejects with CorruptEntryError when the entry is damaged
 */
export async function readEntryInto(store, meta, target, onChunk) {
  if (!meta.complete || meta.size === null || meta.stored !== meta.size) throw new CorruptEntryError(meta, 'it is incomplete');
  const n = Math.ceil(meta.size / meta.chunkSize);
  if (meta.hashes.length !== n) throw new CorruptEntryError(meta, `it lists ${meta.hashes.length} chunk hashes for ${n} chunks`);
  for (let i = 0; i < n; i++) {
    const off = i * meta.chunkSize;
    const len = Math.min(meta.chunkSize, meta.size - off);
    let bytes;
    if (store.readChunkInto) { // file system: read straight into the heap, then check it there
      bytes = target(off, len);
      const got = await store.readChunkInto(meta, i, bytes);
      if (got !== len) throw new CorruptEntryError(meta, `chunk ${i} holds ${got} bytes instead of ${len}`);
    } else {
      bytes = await store.getChunk(meta.id, i, len);
      if (bytes.length !== len) throw new CorruptEntryError(meta, `chunk ${i} holds ${bytes.length} bytes instead of ${len}`);
    }
    if ((await sha256Hex(bytes)) !== meta.hashes[i]) throw new CorruptEntryError(meta, `chunk ${i} does not match its checksum`);
    if (!store.readChunkInto) target(off, len).set(bytes);
    onChunk?.(off + len);
  }
}

/** A damaged cache entry: callers delete it and fetch the source again. */
export class CorruptEntryError extends Error {
  /** @param {EntryMeta} meta @param {string} why */
  constructor(meta, why) {
    super(`The cached copy of ${meta.source} is damaged (${why}).`);
    this.name = 'CorruptEntryError';
    this.code = 'format';
  }
}

/**
 * The public view of an entry (MobileLLM.cache.list()).
 * @param {EntryMeta} m
 */
export function describeEntry(m) {
  return {
    key: m.id, kind: m.kind, source: m.source, size: m.size, storedBytes: m.stored, complete: m.complete,
    etag: m.etag, createdAt: new Date(m.created).toISOString(), lastUsedAt: new Date(m.lastUsed).toISOString(),
    ...(m.extra?.dtype ? { dtype: m.extra.dtype } : {}),
  };
}
