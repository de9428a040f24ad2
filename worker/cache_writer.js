// cache_writer.js — filling a cache entry: chunk by chunk as bytes arrive, resumable, with the
// storage's failures (full disk, quota) turned into the API's errors.

import { QuotaError, CacheError, formatBytes, toApiError } from './errors.js';
import { CHUNK_SIZE, sha256Hex } from './cache_entry.js';

/** @typedef {import('./cache_entry.js').Store} Store */
/** @typedef {import('./cache_entry.js').EntryMeta} EntryMeta */

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
