// cache_reader.js — reading a complete cache entry into caller memory, every chunk checked
// against its length and hash, and against the entry's generation: a reader whose entry is
// deleted mid-read fails with a 'cache' error instead of refetching or mixing copies (a model
// already loaded keeps its own copy in the wasm heap and is unaffected).

import { CorruptEntryError, sha256Hex } from './cache_entry.js';

/** @typedef {import('./cache_entry.js').Store} Store */
/** @typedef {import('./cache_entry.js').EntryMeta} EntryMeta */

/**
 * Stream a complete entry into caller-provided memory (the wasm heap), checking every chunk's
 * length and hash. `target(offset, length)` returns the view to fill; it is asked again for
 * every chunk because the heap may have been replaced by memory growth in between.
 * @param {Store} store
 * @param {EntryMeta} meta
 * @param {(offset: number, length: number) => Uint8Array} target
 * @param {(loaded: number) => void} [onChunk]
 * @returns {Promise<void>} rejects with CorruptEntryError when the entry is damaged, with
 *   EntryGoneError (a 'cache' error) when it is deleted or replaced before the last chunk is read
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
      bytes = await store.getChunk(meta.id, i, len, meta.gen ?? null);
      if (bytes.length !== len) throw new CorruptEntryError(meta, `chunk ${i} holds ${bytes.length} bytes instead of ${len}`);
    }
    if ((await sha256Hex(bytes)) !== meta.hashes[i]) throw new CorruptEntryError(meta, `chunk ${i} does not match its checksum`);
    if (!store.readChunkInto) target(off, len).set(bytes);
    onChunk?.(off + len);
  }
}
