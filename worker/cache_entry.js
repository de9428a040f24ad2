// cache_entry.js — the format of a model-cache entry: the bytes of one file (a GGUF, or a raw
// checkpoint file on its way to conversion) stored in fixed-size chunks, each with its SHA-256,
// plus a meta record (source, size, ETag / Last-Modified, chunk hashes); the Store interface
// every backend implements (cache_idb.js, cache_fs.js, cache_memory.js; cache.js picks one).
// Writing: cache_writer.js; reading: cache_reader.js.
//
// Why chunks, and why IndexedDB directly rather than Emscripten's IDBFS: IDBFS mirrors the
// whole mount into MEMFS (every cached model in JS memory at once) and persists whole files
// per sync, so a resumable download would rewrite the file on each checkpoint and a large
// model would be a single IndexedDB value. Fixed chunks give (1) resumable downloads — each
// chunk is durable as soon as it arrives, the meta record says how many bytes are stored;
// (2) corruption detection — each chunk is hashed on write and checked on read, so a damaged
// or truncated entry is refetched, never loaded; (3) the one-copy rule — loading streams chunk
// by chunk straight into the wasm heap, so the transient extra memory is one chunk.

import { isNode } from '../lib/env.js';
import { nodeBuiltin } from '../lib/node_builtin.js';
import { CacheError } from './errors.js';

/** Bytes per chunk of new entries (each entry records its own chunkSize). */
export const CHUNK_SIZE = 1 << 20;
/** A partial chunk is committed at least this often while bytes arrive, so an interruption
 * loses at most this long of transfer (and never more than one chunk). */
export const COMMIT_MS = 1000;

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
 * @property {string} [gen]       generation: a fresh random id per (re)creation; every write names it
 *   and is refused when the stored record has another one or none (the entry was deleted)
 * @property {Record<string, any>} [extra]  e.g. the dtype and input fingerprint of a conversion
 */

/**
 * The storage primitives every backend provides.
 * @typedef {object} Store
 * @property {string} kind                      'indexeddb' | 'fs' | 'memory'
 * @property {(id: string) => Promise<EntryMeta|null>} getMeta
 * @property {(meta: EntryMeta, o?: WriteMode) => Promise<void>} putMeta  refused (EntryGoneError) unless
 *   the stored record has meta.gen — or, with create, there is none yet
 * @property {(meta: EntryMeta, index: number, bytes: Uint8Array, o?: WriteMode) => Promise<void>} putChunk
 *   chunk and meta under the same generation check, atomically where possible
 * @property {(meta: EntryMeta) => Promise<void>} touch  lastUsed = now, only while meta.gen is stored
 * @property {(id: string, index: number, length: number, gen?: string|null) => Promise<Uint8Array>} getChunk
 *   with gen (a reader): EntryGoneError once the entry is deleted or replaced
 * @property {(id: string) => Promise<void>} deleteEntry
 * @property {() => Promise<EntryMeta[]>} list  stored / complete as the chunks really present say
 * @property {() => Promise<{quota?: number, free?: number}>} estimate
 * @property {(bytes: number) => Promise<void>} probe  store and drop `bytes` of scratch: throws the
 *   storage's quota error when even that does not fit (before anything is downloaded)
 * @property {(id: string, signal?: AbortSignal) => Promise<() => Promise<void>>} lock  the entry's one
 *   writer across tabs / processes: resolves with a release function once held
 * @property {(id: string) => Promise<boolean>} isLocked  whether some tab or process holds the lock
 * @property {(id: string) => string} [dataPath]  Node: the file holding the entry's bytes
 * @property {(meta: EntryMeta, index: number, target: Uint8Array) => Promise<number>} [readChunkInto]
 *   checked like getChunk with a generation
 */

/** @typedef {{create?: boolean}} WriteMode  create: the writer's first write, which makes the record */

/** node:crypto once loaded (Node hashes synchronously: no window in which heap growth could
 * replace the view being hashed). Loaded on first use, not at module load: no top-level await. */
let nodeCrypto = null;

/** @param {Uint8Array} bytes @returns {Promise<string>} */
export async function sha256Hex(bytes) {
  if (isNode) {
    // A copy across the one await of the first call, so a growing heap cannot detach it.
    if (!nodeCrypto) { const copy = bytes.slice(); nodeCrypto = await nodeBuiltin('crypto'); bytes = copy; }
    return nodeCrypto.createHash('sha256').update(bytes).digest('hex');
  }
  const d = new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', bytes));
  let s = '';
  for (const b of d) s += b.toString(16).padStart(2, '0');
  return s;
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

/** The entry a reader or writer was using was deleted (or replaced by a new copy) meanwhile. */
export class EntryGoneError extends CacheError {
  /** @param {string} id @param {string} doing e.g. 'being read' */
  constructor(id, doing) {
    super(`The cache entry '${id}' was deleted while it was ${doing}.`);
    this.gone = true;
  }
}

/** A fresh generation id. */
export function newGeneration() {
  const b = globalThis.crypto.getRandomValues(new Uint8Array(12));
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

/**
 * The bytes really present of an entry whose chunks 0..n-1 exist (`present` contiguous ones):
 * never more than its meta claims, never more than its chunks hold.
 * @param {EntryMeta} m @param {number} present
 * @returns {EntryMeta}
 */
export function realMeta(m, present) {
  const stored = Math.min(m.stored ?? 0, present * m.chunkSize);
  return stored === m.stored ? m : { ...m, stored, complete: false };
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
