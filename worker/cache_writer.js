// cache_writer.js — filling a cache entry: chunk by chunk as bytes arrive, resumable, under the
// entry's generation (a write after the entry was deleted or replaced is refused), with the
// storage's failures (full disk, quota) turned into the API's errors — after first making room
// by evicting other models' partial entries.

import { QuotaError, CacheError, formatBytes, toApiError } from './errors.js';
import { CHUNK_SIZE, COMMIT_MS, sha256Hex, newGeneration } from './cache_entry.js';
import { evictEntries, evictionOrder } from './cache_evict.js';

/** @typedef {import('./cache_entry.js').Store} Store */
/** @typedef {import('./cache_entry.js').EntryMeta} EntryMeta */

/**
 * Refuse early when the storage cannot hold `needed` more bytes (as far as its estimate tells),
 * after evicting other models' partial entries.
 * @param {Store} store @param {number} needed @param {string} what for the message
 * @param {string} [id] the entry being filled (never evicted for itself)
 */
export async function ensureSpace(store, needed, what, id) {
  if (!Number.isFinite(needed) || needed <= 0) return;
  let { free } = await store.estimate();
  if (free !== undefined && needed > free && id !== undefined) {
    const { freedBytes } = await evictEntries(store, { partialOnly: true, except: [id] });
    if (freedBytes > 0) ({ free } = await store.estimate());
  }
  if (free !== undefined && needed > free) {
    throw new QuotaError(`Caching ${what} needs ${formatBytes(needed)} of storage but only ${formatBytes(free)} is free.`, { needed, free });
  }
}

/**
 * Appends bytes to an entry in chunks; resumable. Each full chunk is stored (with its hash and
 * the meta record) as soon as it fills, and the partial last chunk at least every COMMIT_MS, so
 * an interruption loses at most that long of transfer and less than one chunk. The entry's
 * record appears with its first stored bytes (an entry holding nothing is never listed).
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
      created: now, lastUsed: now, gen: newGeneration(), extra: info.extra ?? {},
    };
    return new EntryWriter(store, meta, new Uint8Array(0), false);
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
      const b = await store.getChunk(m.id, full, tailLen, m.gen ?? null);
      if (b.length === tailLen && m.hashes[full] && (await sha256Hex(b)) === m.hashes[full]) tail = b.slice();
      else { m.stored = full * m.chunkSize; m.hashes.length = full; }
    }
    if (m.hashes.length < Math.ceil(m.stored / m.chunkSize)) { // meta from an older, inconsistent write
      m.stored = m.hashes.length * m.chunkSize;
      tail = new Uint8Array(0);
    }
    return new EntryWriter(store, m, tail, true);
  }

  /**
   * @param {Store} store @param {EntryMeta} meta @param {Uint8Array} tail bytes of a partial last chunk
   * @param {boolean} created whether the entry's record exists already
   */
  constructor(store, meta, tail, created) {
    this.store = store;
    this.meta = meta;
    this.buf = new Uint8Array(meta.chunkSize);
    this.buf.set(tail);
    this.fill = tail.length;
    this.chunkIndex = Math.floor((meta.stored - tail.length) / meta.chunkSize);
    this.created = created;
    /** set once a write was refused because the entry was deleted or replaced */
    this.gone = false;
    this.lastCommit = Date.now();
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
    if (this.fill > 0 && Date.now() - this.lastCommit >= COMMIT_MS) await this.checkpoint();
  }

  /** Store the partial last chunk, so every byte appended so far survives an interruption. */
  async checkpoint() {
    if (this.gone) return;
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
    await this.#write(() => this.store.putMeta(this.meta, { create: !this.created }), 0);
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
      await this.#write(() => this.store.putChunk(m, this.chunkIndex, bytes, { create: !this.created }), bytes.length, before.stored);
    } catch (e) {
      Object.assign(m, before); // the meta keeps describing what really is stored
      throw e;
    }
    this.lastCommit = Date.now();
  }

  /**
   * One write of the entry: a refused generation marks the writer gone; a full storage first
   * evicts other models' partial entries and tries once more.
   * @param {() => Promise<void>} fn @param {number} writing bytes of this write @param {number} [stored]
   */
  async #write(fn, writing, stored = this.meta.stored) {
    try {
      try {
        await fn();
      } catch (e) {
        if (toApiError(e).code !== 'quota') throw e;
        const { freedBytes } = await evictEntries(this.store, { partialOnly: true, except: [this.meta.id] });
        if (freedBytes === 0) throw e;
        await fn();
      }
      this.created = true;
    } catch (e) {
      if (/** @type {any} */ (e)?.gone) this.gone = true;
      throw await storageError(this.store, this.meta, e, stored, writing);
    }
  }
}

/**
 * Storage failures as the API's errors. A full disk or quota names the model's size, what of it
 * is stored, what is free and which cached entries could make room. (Browsers may report a
 * padded quota estimate: when the estimate claims enough room for a write that was just refused,
 * the free space is evidently 0.)
 * @param {Store} store @param {EntryMeta} meta @param {any} e
 * @param {number} stored bytes safely stored before this write
 * @param {number} writing bytes of this write (the least that was needed when the size is unknown)
 */
export async function storageError(store, meta, e, stored, writing) {
  if (e?.gone) return e;
  const err = toApiError(e);
  if (err.code === 'quota') {
    const known = meta.size != null;
    const needed = known ? Math.max(0, meta.size - stored) : writing;
    const est = await store.estimate().catch(() => ({}));
    const free = est.free !== undefined && est.free < needed ? est.free : 0;
    const others = evictionOrder((await store.list().catch(() => [])).filter((m) => m.id !== meta.id && m.stored > 0));
    const room = others.length
      ? `; MobileLLM.cache.evict() or deleting ${others.slice(0, 3).map((m) => `'${m.id}' (${formatBytes(m.stored)})`).join(', ')}${others.length > 3 ? ` or ${others.length - 3} more` : ''} makes room`
      : '; no other cache entry is left to delete';
    return new QuotaError(`Storing ${meta.source} (${known ? formatBytes(meta.size) : 'size unknown'}) in the cache failed for lack of space: `
      + `${formatBytes(stored)} of it is stored, it needs ${known ? '' : 'at least '}${formatBytes(needed)} more and the storage has ${formatBytes(free)} free${room}.`,
    { needed, free, size: meta.size ?? undefined });
  }
  if (err.code === 'internal') return new CacheError(`The cache could not store ${meta.source}: ${err.message}`);
  return err;
}
