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
