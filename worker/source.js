// source.js — from a model source to GGUF bytes in the wasm heap, through the cache.
//
//   url       cache entry 'url:<url>' (downloaded, resumable) -> heap
//   hf repo   listing -> a GGUF file (as url), or a checkpoint: small files in memory, weights
//             downloaded as 'raw' entries, converted into entry 'hf:<repo>@<rev>:<dtype>' -> heap
//   path      Node: a GGUF file read straight into the heap; a checkpoint directory converted
//             into entry 'dir:<abs path>:<dtype>' (reconverted when its files change)
//   bytes     ArrayBuffer / typed array -> heap
//   blob      File / Blob (a GGUF) read slice by slice -> heap
//   files     {name: Blob | bytes} of a checkpoint (e.g. a directory picker) -> converted entry
//   cache     a complete entry by its key (MobileLLM.cache.list()) -> heap, no request
//
// Weights reach the heap with at most one transient extra copy: entries and blobs stream in
// chunks, Node files are read straight into the heap, bytes are copied once.

import { buildGGUF, memoryFiles } from '../models/convert/convert.js';
import { GGUFWriter } from '../models/convert/gguf_writer.js';
import { memorySource } from '../models/convert/safetensors.js';
import { CorruptEntryError, sha256Hex, CHUNK_SIZE } from './cache_entry.js';
import { EntryWriter, ensureSpace } from './cache_writer.js';
import { readEntryInto } from './cache_reader.js';
import { download } from './download.js';
import { withEntryLock } from './cache_lock.js';
import { listRepo, planRepo, resolveUrl, HF_ENDPOINT } from './hf.js';
import { AbortError, ArgumentError, CacheError, DownloadError, FormatError, toApiError } from './errors.js';
import { yieldToEventLoop } from './protocol.js';
import { loadModelFile } from './file_load.js';
import { isNode } from '../lib/env.js';
import { nodeBuiltin } from '../lib/node_builtin.js';

/**
 * @typedef {{type: 'url', url: string}
 *   | {type: 'hf', repo: string, revision?: string|null}
 *   | {type: 'path', path: string}
 *   | {type: 'bytes', bytes: Uint8Array}
 *   | {type: 'blob', blob: Blob, name?: string}
 *   | {type: 'files', files: Record<string, Blob|Uint8Array>, label?: string}
 *   | {type: 'cache', key: string}} SourceDesc
 *
 * @typedef {object} LoadContext
 * @property {import('./cache_entry.js').Store} store
 * @property {boolean|'reload'} cache   'reload' ignores (and replaces) cached copies
 * @property {string} dtype             for checkpoints: a file type (quant_recipe.js FILE_TYPES)
 * @property {(type: number, data: Float32Array, nRows: number, nPerRow: number) => Uint8Array} [quantizeRows]
 *                                      the engine's C quantizer (Engine.quantizeRows), for the
 *                                      4/5/6-bit types the JS converter does not encode
 * @property {string} [hfEndpoint]
 * @property {string} [hfToken]
 * @property {string} [revision]
 * @property {string} [file]            a GGUF file of a Hugging Face repo
 * @property {number} [retries]
 * @property {AbortSignal} signal
 * @property {(p: object) => void} onProgress
 * @property {string[]} warnings
 */

/**
 * What a source resolved to.
 * @template T
 * @typedef {object} Resolved
 * @property {T} value          the loaded model, or (sourceToFile) a file path
 * @property {string} source
 * @property {string|null} cacheKey
 * @property {boolean} fromCache
 * @property {number} fileBytes
 * @property {string[]} warnings
 */

/**
 * Load a source into the engine.
 * @param {import('../wasm_build/engine.js').Engine} eng
 * @param {SourceDesc} src
 * @param {LoadContext} lc
 * @returns {Promise<Resolved<import('../wasm_build/engine.js').Model>>}
 */
export async function loadSource(eng, src, lc) {
  lc.consume = (meta) => loadEntry(eng, lc.store, meta, lc);
  lc.quantizeRows ??= (type, data, nRows, nPerRow) => eng.quantizeRows(type, data, nRows, nPerRow);
  switch (src.type) {
    case 'bytes': {
      lc.onProgress({ phase: 'load', loaded: 0, total: src.bytes.length });
      const model = eng.loadModel(src.bytes);
      lc.onProgress({ phase: 'load', loaded: src.bytes.length, total: src.bytes.length });
      return direct(model, 'bytes', src.bytes.length, lc);
    }
    case 'blob': return loadBlob(eng, src.blob, src.name ?? 'the file', lc);
    case 'cache': return loadCached(src.key, lc);
    case 'path': {
      const abs = await nodeStat(src.path);
      return abs.dir ? viaSource({ type: 'path', path: abs.path }, lc) : loadFile(eng, abs.path, abs.size, lc);
    }
    default: return viaSource(src, lc);
  }
}

/**
 * Node: a GGUF file on disk for any source — the file itself, or the verified cache entry a
 * URL, repo or checkpoint directory resolves to (downloaded / converted as needed). Backs the
 * API's resolveModelFile (node_api.js), which the CLI's `-m` and `convert` use.
 * @param {SourceDesc} src
 * @param {LoadContext} lc
 * @returns {Promise<Resolved<string>>}
 */
export async function sourceToFile(src, lc) {
  if (!lc.store.dataPath) throw new ArgumentError('resolveModelFile needs the file-system cache (Node, cache not disabled).');
  if (src.type === 'path') {
    const abs = await nodeStat(src.path);
    if (!abs.dir) return direct(abs.path, abs.path, abs.size, lc);
    src = { type: 'path', path: abs.path };
  }
  lc.consume = async (meta) => {
    const scratch = new Uint8Array(Math.min(meta.size, meta.chunkSize));
    await readEntryInto(lc.store, meta, (off, len) => scratch.subarray(0, len));
    return lc.store.dataPath(meta.id);
  };
  return viaSource(src, lc);
}

/** @template T @param {T} value @returns {Resolved<T>} */
function direct(value, source, fileBytes, lc) {
  return { value, source, cacheKey: null, fromCache: false, fileBytes, warnings: lc.warnings };
}

/** Sources that go through a cache entry. @param {SourceDesc} src @param {LoadContext} lc */
async function viaSource(src, lc) {
  switch (src.type) {
    case 'url': {
      const id = `url:${src.url}`;
      return viaCache(id, src.url, lc, () => download(lc.store, src.url, dlOpts(lc, id, 'gguf', src.url)));
    }
    case 'hf': return viaHf(src, lc);
    case 'path': return viaDir(src.path, lc);
    case 'files': return viaFiles(src, lc);
    default: throw new ArgumentError(`Unknown model source type '${/** @type {any} */ (src).type}'.`);
  }
}

/**
 * @param {LoadContext} lc
 * @param {boolean} [hub] a Hugging Face download: only those carry the token, never a plain URL's host
 */
function dlOpts(lc, id, kind, source, file, hub = false) {
  return {
    id, kind, source, file, signal: lc.signal, retries: lc.retries,
    headers: hub && lc.hfToken ? { Authorization: `Bearer ${lc.hfToken}` } : undefined,
    onProgress: lc.onProgress,
  };
}

/** @param {string} p @returns {Promise<{path: string, dir: boolean, size: number}>} */
async function nodeStat(p) {
  if (!isNode) throw new ArgumentError('File paths are model sources only in Node; in a browser pass a URL, a File or bytes.');
  const [fs, path] = await Promise.all([nodeBuiltin('fs'), nodeBuiltin('path')]);
  const abs = path.resolve(p);
  try {
    const st = fs.statSync(abs);
    return { path: abs, dir: st.isDirectory(), size: st.size };
  } catch {
    throw new ArgumentError(`The model path ${abs} does not exist.`);
  }
}

/**
 * Use entry `id` (lc.consume: load it into the heap, or just verify it) if it is cached and
 * intact; otherwise (or when it proves damaged) run `produce` to (re)create it, then use that.
 * A cached entry makes no network request at all.
 * @param {string} id
 * @param {string} source
 * @param {LoadContext} lc
 * @param {() => Promise<import('./cache_entry.js').EntryMeta>} produce
 */
async function viaCache(id, source, lc, produce) {
  if (lc.cache !== 'reload') {
    const meta = await lc.store.getMeta(id);
    if (meta?.complete && meta.kind === 'gguf') {
      try {
        return { value: await lc.consume(meta), source, cacheKey: id, fromCache: true, fileBytes: meta.size, warnings: lc.warnings };
      } catch (e) {
        if (!(e instanceof CorruptEntryError)) throw e;
        lc.warnings.push(`${e.message} It was fetched again.`);
        lc.onProgress({ phase: 'verify', loaded: 0, total: meta.size, corrupt: true, message: e.message });
        await lc.store.deleteEntry(id);
      }
    }
  } else {
    await lc.store.deleteEntry(id);
  }
  // One producer per entry across tabs and processes: a second one waits (showing the first
  // one's progress, abortable), then finds it cached.
  let produced = false;
  let last = null;
  const meta = await withEntryLock(lc.store, id, {
    signal: lc.signal, source,
    onWait: (m) => {
      const now = Date.now();
      const stored = m?.stored ?? 0;
      const rate = last && now > last.t ? Math.max(0, (stored - last.stored) * 1000 / (now - last.t)) : 0;
      last = { t: now, stored };
      lc.onProgress({ phase: 'download', loaded: stored, total: m?.size ?? null, rate, waiting: true });
    },
  }, async () => {
    const ready = lc.cache !== 'reload' ? await lc.store.getMeta(id) : null;
    if (ready?.complete && ready.kind === 'gguf') return ready;
    produced = true;
    return produce();
  });
  try {
    return { value: await lc.consume(meta), source, cacheKey: id, fromCache: !produced, fileBytes: meta.size, warnings: lc.warnings };
  } catch (e) {
    if (!(e instanceof CorruptEntryError)) throw e;
    await lc.store.deleteEntry(id); // damaged while we wrote it: never keep it
    throw new FormatError(e.message);
  }
}

/**
 * A complete cache entry by key, with no request at all: an unknown, partial or raw entry is a
 * 'cache' error; a damaged one is deleted (its source can be loaded again to refetch it).
 * @param {string} key @param {LoadContext} lc
 */
async function loadCached(key, lc) {
  const meta = await lc.store.getMeta(key);
  if (!meta) throw new CacheError(`The cache has no entry '${key}'.`);
  if (!meta.complete) throw new CacheError(`The cache entry '${key}' is incomplete (${meta.stored ?? 0} of ${meta.size ?? 'unknown'} bytes); load its source to finish it.`);
  if (meta.kind !== 'gguf') throw new CacheError(`The cache entry '${key}' is a checkpoint download, not a model; load its source to convert it.`);
  try {
    return { value: await lc.consume(meta), source: meta.source || key, cacheKey: key, fromCache: true, fileBytes: meta.size, warnings: lc.warnings };
  } catch (e) {
    if (!(e instanceof CorruptEntryError)) throw e;
    lc.onProgress({ phase: 'verify', loaded: 0, total: meta.size, corrupt: true, message: e.message });
    await lc.store.deleteEntry(key);
    throw new CacheError(`${e.message.replace(/\.$/, '')}, so it was deleted; load its source again to refetch it.`);
  }
}

/** Stream a complete entry into the heap, then hand the engine the heap bytes. */
async function loadEntry(eng, store, meta, lc) {
  const ptr = eng.alloc(meta.size, `the model ${meta.source || meta.id}`);
  try {
    lc.onProgress({ phase: 'load', loaded: 0, total: meta.size });
    await readEntryInto(store, meta, (off, len) => heapSpan(eng, ptr, meta.size, off, len), (loaded) => {
      lc.onProgress({ phase: 'load', loaded, total: meta.size });
      if (lc.signal.aborted) throw new AbortError('Loading the model was aborted.');
    });
  } catch (e) {
    eng.free(ptr);
    throw e;
  }
  const model = eng.loadModelAt(ptr, meta.size); // owns ptr from here, freed on failure too
  await store.touch(meta).catch(() => {}); // only while this very copy is stored: never re-creates a deleted entry
  return model;
}

/**
 * The heap bytes [off, off + len) of an allocation of `size` bytes at `ptr`: every copy into the
 * heap goes through here, so none can run past its allocation.
 * @param {import('../wasm_build/engine.js').Engine} eng
 * @returns {Uint8Array}
 */
function heapSpan(eng, ptr, size, off, len) {
  if (!(Number.isSafeInteger(off) && Number.isSafeInteger(len) && off >= 0 && len >= 0 && off + len <= size)) {
    throw new FormatError(`A read of ${len} bytes at ${off} runs past the ${size}-byte model it belongs to.`);
  }
  return eng.u8().subarray(ptr + off, ptr + off + len);
}

/** A File / Blob holding a GGUF: slices go straight into the heap. */
async function loadBlob(eng, blob, name, lc) {
  const size = blob.size;
  const ptr = eng.alloc(size, `the model ${name}`);
  try {
    for (let off = 0; off < size; off += CHUNK_SIZE) {
      if (lc.signal.aborted) throw new AbortError(`Loading ${name} was aborted.`);
      const want = Math.min(size, off + CHUNK_SIZE) - off;
      const part = new Uint8Array(await blob.slice(off, off + want).arrayBuffer());
      if (part.length !== want) throw new FormatError(`${name} gave ${part.length} bytes where ${want} were asked for; it changed while being read.`);
      heapSpan(eng, ptr, size, off, want).set(part);
      lc.onProgress({ phase: 'load', loaded: off + part.length, total: size });
    }
  } catch (e) {
    eng.free(ptr);
    throw e;
  }
  return direct(eng.loadModelAt(ptr, size), name, size, lc);
}

// ------------------------------------------------------------------------------ Node paths

/** A GGUF file on disk, read straight into the heap (file_load.js). */
async function loadFile(eng, abs, size, lc) {
  return direct(await loadModelFile(eng, abs, { size, signal: lc.signal, onProgress: lc.onProgress }), abs, size, lc);
}

/** A Hugging Face checkpoint directory on disk, converted once and cached. */
async function viaDir(dir, lc) {
  const [fs, path] = await Promise.all([nodeBuiltin('fs'), nodeBuiltin('path')]);
  const { dirFiles } = await import('../models/convert/convert.js');
  const fingerprint = fs.readdirSync(dir).sort().map((n) => {
    const s = fs.statSync(path.join(dir, n));
    return s.isFile() ? `${n}:${s.size}:${Math.round(s.mtimeMs)}` : '';
  }).filter(Boolean).join('|');
  const id = `dir:${dir}:${lc.dtype}`;
  const cached = await lc.store.getMeta(id);
  if (cached && cached.extra?.fingerprint !== fingerprint) await lc.store.deleteEntry(id); // the checkpoint changed
  return viaCache(id, dir, lc, async () => {
    const files = await dirFiles(dir);
    try {
      return await convertToEntry(files, { id, source: dir, extra: { dtype: lc.dtype, fingerprint } }, lc);
    } finally {
      files.close?.();
    }
  });
}

// ------------------------------------------------------------------------------ Hugging Face

async function viaHf(src, lc) {
  const endpoint = (lc.hfEndpoint ?? HF_ENDPOINT).replace(/\/$/, '');
  const revision = src.revision ?? lc.revision ?? 'main';
  const repoKey = `${endpoint}/${src.repo}@${revision}`;
  const label = `${src.repo}${revision !== 'main' ? `@${revision}` : ''}`;
  const convertedId = `hf:${repoKey}:${lc.dtype}`;

  // Cached already (as a converted checkpoint or a downloaded GGUF)? Then no request at all.
  if (lc.cache !== 'reload') {
    const all = await lc.store.list();
    const hit = all.find((m) => m.complete && m.kind === 'gguf' && m.extra?.hfRepo === repoKey
      && (lc.file ? m.extra.hfFile === lc.file : m.id === convertedId || m.extra.hfKind === 'gguf'));
    if (hit) return viaCache(hit.id, label, lc, () => produceHf(endpoint, src.repo, revision, repoKey, label, lc));
  }
  const plan = await planHf(endpoint, src.repo, revision, lc);
  const id = plan.kind === 'gguf' ? `url:${resolveUrl(endpoint, src.repo, revision, plan.file)}` : convertedId;
  return viaCache(id, label, lc, () => produceHf(endpoint, src.repo, revision, repoKey, label, lc, plan));
}

async function planHf(endpoint, repo, revision, lc) {
  const files = await listRepo({
    endpoint, repo, revision, signal: lc.signal,
    headers: lc.hfToken ? { Authorization: `Bearer ${lc.hfToken}` } : undefined,
  });
  return planRepo(repo, files, { file: lc.file });
}

/** Download (and for checkpoints convert) a repo into its cache entry. */
async function produceHf(endpoint, repo, revision, repoKey, label, lc, plan) {
  plan ??= await planHf(endpoint, repo, revision, lc);
  const headers = lc.hfToken ? { Authorization: `Bearer ${lc.hfToken}` } : undefined;
  if (plan.kind === 'gguf') {
    const url = resolveUrl(endpoint, repo, revision, plan.file);
    const id = `url:${url}`;
    const meta = await download(lc.store, url, dlOpts(lc, id, 'gguf', `${label}/${plan.file}`, plan.file, true));
    meta.extra = { ...meta.extra, hfRepo: repoKey, hfKind: 'gguf', hfFile: plan.file };
    await lc.store.putMeta(meta);
    return meta;
  }

  // A checkpoint: small files into memory, weights into 'raw' entries (resumable), convert.
  /** @type {Record<string, Uint8Array>} */
  const small = {};
  for (const f of plan.small) {
    const url = resolveUrl(endpoint, repo, revision, f);
    let res;
    try {
      res = await fetch(url, { headers, signal: lc.signal });
    } catch (e) {
      if (lc.signal.aborted) throw new AbortError(`Downloading ${label} was aborted.`);
      throw new DownloadError(`Could not download ${f} of ${label} (${e?.cause?.code ?? e?.message ?? e}).`, { url });
    }
    if (!res.ok) throw new DownloadError(`The server answered ${res.status} for ${url}.`, { status: res.status, url });
    small[f] = new Uint8Array(await res.arrayBuffer());
  }
  /** @type {Record<string, import('./cache_entry.js').EntryMeta>} */
  const raw = {};
  for (const f of plan.weights) {
    const url = resolveUrl(endpoint, repo, revision, f);
    raw[f] = await download(lc.store, url, dlOpts(lc, `raw:${url}`, 'raw', `${label}/${f}`, f, true));
  }
  lc.onProgress({ phase: 'convert', loaded: 0, total: null });
  const sources = await rawSources(lc.store, raw);
  const files = {
    label,
    has: (n) => n in small || n in raw,
    read: (n) => small[n],
    source: (n) => sources[n],
  };
  const inputs = Object.fromEntries(Object.entries(raw).map(([f, m]) => [f, { size: m.size, etag: m.etag }]));
  let meta;
  try {
    meta = await convertToEntry(files, {
      id: `hf:${repoKey}:${lc.dtype}`, source: label, extra: { dtype: lc.dtype, hfRepo: repoKey, hfKind: 'checkpoint', inputs },
    }, lc);
  } finally {
    for (const s of Object.values(sources)) s.close?.();
  }
  // The converted model is what gets loaded from now on; the raw weights only took space.
  for (const m of Object.values(raw)) await lc.store.deleteEntry(m.id);
  return meta;
}

/**
 * Random access to raw entries for the converter: Node reads the entry's file on demand; a
 * browser assembles each file in memory once (IndexedDB reads are asynchronous, the
 * converter's are not).
 * @returns {Promise<Record<string, import('../models/convert/safetensors.js').ByteSource>>}
 */
async function rawSources(store, raw) {
  /** @type {Record<string, any>} */
  const out = {};
  for (const [f, meta] of Object.entries(raw)) {
    if (store.dataPath) {
      const fs = await nodeBuiltin('fs');
      const fd = fs.openSync(store.dataPath(meta.id), 'r');
      out[f] = {
        size: meta.size,
        read(offset, length) {
          const buf = new Uint8Array(length);
          for (let d = 0; d < length;) {
            const got = fs.readSync(fd, buf, d, length - d, offset + d);
            if (got === 0) throw new FormatError(`${f} of ${meta.source} ended early at byte ${offset + d}.`);
            d += got;
          }
          return buf;
        },
        close: () => fs.closeSync(fd),
      };
    } else {
      const bytes = new Uint8Array(meta.size);
      await readEntryInto(store, meta, (off, len) => bytes.subarray(off, off + len)).catch(async (e) => {
        if (e instanceof CorruptEntryError) await store.deleteEntry(meta.id);
        throw e instanceof CorruptEntryError ? new FormatError(e.message + ' Load the model again to refetch it.') : e;
      });
      out[f] = memorySource(bytes);
    }
  }
  return out;
}

// ------------------------------------------------------------------------------ file sets

/** A checkpoint handed over as files (browser directory picker, or a map of bytes). */
async function viaFiles(src, lc) {
  const names = Object.keys(src.files).sort();
  const parts = names.map((n) => {
    const f = src.files[n];
    const size = f instanceof Uint8Array ? f.length : f.size;
    return `${n}:${size}:${/** @type {any} */ (f).lastModified ?? ''}`;
  });
  const fp = await sha256Hex(new TextEncoder().encode(parts.join('|')));
  const id = `files:${fp.slice(0, 32)}:${lc.dtype}`;
  const label = src.label ?? 'the checkpoint files';
  return viaCache(id, label, lc, async () => {
    /** @type {Record<string, Uint8Array>} */
    const map = {};
    for (const n of names) {
      const f = src.files[n];
      map[n] = f instanceof Uint8Array ? f : new Uint8Array(await f.arrayBuffer());
    }
    return convertToEntry(memoryFiles(map, label), { id, source: label, extra: { dtype: lc.dtype } }, lc);
  });
}

// ------------------------------------------------------------------------------ conversion

/**
 * Convert a checkpoint to GGUF, streaming the file into a cache entry tensor by tensor (the
 * whole GGUF is never held in memory).
 * @param {import('../models/convert/convert.js').CheckpointFiles} files
 * @param {{id: string, source: string, extra: Record<string, any>}} entry
 * @param {LoadContext} lc
 */
export async function convertToEntry(files, entry, lc) {
  let built;
  try {
    built = buildGGUF(files, { type: lc.dtype, quantizeRows: lc.quantizeRows, onWarning: (w) => lc.warnings.push(w) });
  } catch (e) {
    throw toApiError(e);
  }
  const { writer } = built;
  const { head, dataStart, dataSize } = writer.header();
  const total = dataStart + dataSize;
  await ensureSpace(lc.store, total, entry.source, entry.id);
  const w = await EntryWriter.create(lc.store, { id: entry.id, kind: 'gguf', source: entry.source, size: total, extra: entry.extra });
  try {
    lc.onProgress({ phase: 'convert', loaded: 0, total });
    await w.append(head);
    for (const t of writer.tensors) {
      const start = dataStart + t.offset;
      if (start > w.length) await w.append(new Uint8Array(start - w.length));
      let bytes;
      try {
        bytes = GGUFWriter.checkData(t, typeof t.bytes === 'function' ? await t.bytes() : t.bytes);
      } catch (e) {
        throw toApiError(e);
      }
      await w.append(bytes);
      lc.onProgress({ phase: 'convert', loaded: w.length, total });
      await yieldToEventLoop(); // let an abort message in
      if (lc.signal.aborted) throw new AbortError(`Converting ${entry.source} was aborted.`);
    }
    if (total > w.length) await w.append(new Uint8Array(total - w.length));
    return await w.finish();
  } catch (e) {
    await lc.store.deleteEntry(entry.id).catch(() => {}); // a half-converted model is useless
    throw e;
  }
}
