// download.js — fetch a URL into a cache entry, resuming instead of starting over.
//
// The entry's meta records the bytes stored and the response's validator (ETag or
// Last-Modified). A later attempt — after a dropped connection in the same load, or in a later
// page session — asks for `Range: bytes=<stored>-` with `If-Range: <validator>`: a 206 that
// starts exactly there is appended; a 200 means the file changed (or the server ignores
// ranges), so the entry restarts from zero. Every byte that arrived is kept on interruption
// (EntryWriter.checkpoint), including on abort. One chunk's worth of storage is probed before a
// resumed transfer is requested (before a fresh one's body is read): a storage that cannot take
// even that (after evicting other models' partial entries) fails the download there.

import { EntryWriter, ensureSpace, storageError } from './cache_writer.js';
import { evictEntries } from './cache_evict.js';
import { AbortError, DownloadError, toApiError } from './errors.js';

/**
 * @typedef {object} DownloadOptions
 * @property {string} id                cache key
 * @property {'gguf'|'raw'} kind
 * @property {string} source            for messages and listings
 * @property {AbortSignal} [signal]
 * @property {(p: {phase: string, loaded: number, total: number|null, rate: number, resumedFrom?: number, file?: string}) => void} [onProgress]
 * @property {Record<string, string>} [headers]  e.g. Authorization for gated Hugging Face repos
 * @property {number} [retries]         attempts after a dropped connection or a 5xx (default 4)
 * @property {number} [retryDelayMs]    first back-off (default 250, doubling)
 * @property {string} [file]            name shown in progress events
 * @property {typeof fetch} [fetch]
 */

const RETRY_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);

/**
 * @param {import('./cache_entry.js').Store} store
 * @param {string} url
 * @param {DownloadOptions} o
 * @returns {Promise<import('./cache_entry.js').EntryMeta>} the complete entry
 */
export async function download(store, url, o) {
  const fetchFn = o.fetch ?? globalThis.fetch;
  const retries = o.retries ?? 4;
  const aborted = () => new AbortError(`The download of ${o.source} was aborted${writer ? `; ${writer.length} bytes are kept for resuming` : ''}.`);
  /** @type {EntryWriter|null} */
  let writer = null;
  let failures = 0;
  let lastError = null;
  const t0 = Date.now();
  let sessionBytes = 0;
  let lastEmit = 0;
  /** @type {number|null} where the current transfer resumed a stored partial copy (Range), else null */
  let resumedFrom = null;
  const progress = (force) => {
    const now = Date.now();
    if (!o.onProgress || (!force && now - lastEmit < 100)) return;
    lastEmit = now;
    const secs = Math.max(1e-3, (now - t0) / 1000);
    o.onProgress({ phase: 'download', loaded: writer?.length ?? 0, total: writer?.meta.size ?? null, rate: sessionBytes / secs,
      ...(resumedFrom !== null ? { resumedFrom } : {}), ...(o.file ? { file: o.file } : {}) });
  };

  for (;;) {
    if (o.signal?.aborted) throw aborted();
    if (failures > retries) throw lastError;
    if (failures > 0) await sleep((o.retryDelayMs ?? 250) * 2 ** (failures - 1), o.signal).catch(() => { throw aborted(); });

    // Where to start: the writer from a previous attempt, else a stored partial entry.
    if (!writer) {
      const meta = await store.getMeta(o.id);
      if (meta && !meta.complete && meta.stored > 0 && (meta.etag || meta.lastModified)) writer = await EntryWriter.resume(store, meta);
      else if (meta?.complete) await store.deleteEntry(o.id); // a caller asking to download means the copy was unusable
    }
    const start = writer?.length ?? 0;
    /** @type {Record<string, string>} */
    const headers = { ...(o.headers ?? {}) };
    if (start > 0 && writer) {
      headers.Range = `bytes=${start}-`;
      const v = writer.meta.etag && !writer.meta.etag.startsWith('W/') ? writer.meta.etag : writer.meta.lastModified;
      if (v) headers['If-Range'] = v;
    }

    // Resuming: the storage must take the next chunk before anything is requested.
    const probed = start > 0 && writer !== null;
    if (probed) await probeSpace(store, writer);

    let res;
    try {
      res = await fetchFn(url, { headers, signal: o.signal, cache: 'no-store', redirect: 'follow' });
    } catch (e) {
      if (o.signal?.aborted) throw aborted();
      lastError = new DownloadError(`Could not reach ${url} (${e?.cause?.code ?? e?.message ?? e}).`, { url });
      failures++;
      continue;
    }

    if (res.status === 206 && writer && start > 0) {
      const cr = parseContentRange(res.headers.get('content-range'));
      const etag = res.headers.get('etag');
      if (!cr || cr.start !== start || (writer.meta.etag && etag && etag !== writer.meta.etag)) {
        // Not the continuation we asked for: start over with a plain request.
        await res.body?.cancel().catch(() => {});
        await store.deleteEntry(o.id);
        writer = null;
        failures++;
        lastError = new DownloadError(`The server answered a range request for ${url} with a different range or file.`, { url });
        continue;
      }
      if (cr.total !== null) {
        if (writer.meta.size !== null && writer.meta.size !== cr.total) {
          await res.body?.cancel().catch(() => {});
          await store.deleteEntry(o.id);
          writer = null;
          continue;
        }
        writer.meta.size = cr.total;
      }
      resumedFrom = start;
    } else if (res.status === 200) {
      resumedFrom = null; // the whole file again
      const len = res.headers.get('content-encoding') ? null : numberOrNull(res.headers.get('content-length'));
      if (len !== null) await ensureSpace(store, len, o.source, o.id).catch(async (e) => { await res.body?.cancel().catch(() => {}); throw e; });
      writer = await EntryWriter.create(store, {
        id: o.id, kind: o.kind, source: o.source, size: len,
        etag: res.headers.get('etag'), lastModified: res.headers.get('last-modified'),
      });
    } else if (res.status === 416 && writer) {
      await store.deleteEntry(o.id); // our stored length is beyond the file: it changed
      writer = null;
      failures++;
      continue;
    } else {
      await res.body?.cancel().catch(() => {});
      const err = new DownloadError(`The server answered ${res.status}${res.statusText ? ` ${res.statusText}` : ''} for ${url}.`, { status: res.status, url });
      if (!RETRY_STATUS.has(res.status)) throw err;
      lastError = err;
      failures++;
      continue;
    }
    try {
      if (writer.meta.size !== null && start > 0) await ensureSpace(store, writer.meta.size - start, o.source, o.id);
      if (!probed || writer.length === 0) await probeSpace(store, writer); // a fresh transfer: probed once its size is known
    } catch (e) {
      await res.body?.cancel().catch(() => {});
      throw e;
    }

    // Stream the body into the entry.
    progress(true);
    const reader = res.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        await writer.append(value);
        sessionBytes += value.length;
        progress(false);
      }
    } catch (e) {
      if (e?.code === 'quota' || e?.code === 'cache') { // the storage refused: stop the transfer too
        await reader.cancel().catch(() => {});
        throw e;
      }
      await writer.checkpoint();
      if (o.signal?.aborted) throw aborted();
      lastError = new DownloadError(`The connection to ${url} broke after ${writer.length} of ${writer.meta.size ?? 'unknown'} bytes (${e?.cause?.code ?? e?.message ?? e}).`, { url });
      failures++;
      continue;
    }
    if (writer.meta.size !== null && writer.length < writer.meta.size) {
      await writer.checkpoint(); // the server closed early without an error
      lastError = new DownloadError(`The server closed ${url} after ${writer.length} of ${writer.meta.size} bytes.`, { url });
      failures++;
      continue;
    }
    if (writer.meta.size !== null && writer.length > writer.meta.size) {
      await store.deleteEntry(o.id);
      throw new DownloadError(`The server sent ${writer.length} bytes for ${url}, more than the ${writer.meta.size} it announced.`, { url });
    }
    const meta = await writer.finish();
    progress(true);
    return meta;
  }
}

/**
 * Whether the storage takes the next chunk (or what is left of the file, if less), evicting other
 * models' partial entries when it does not; else the quota error, before any byte is read.
 * (It tells that one chunk fits, not the whole file: a transfer that passes may be refused later.)
 * @param {import('./cache_entry.js').Store} store @param {EntryWriter} writer
 */
async function probeSpace(store, writer) {
  const m = writer.meta;
  const n = Math.min(m.chunkSize, m.size !== null ? m.size - writer.length : m.chunkSize);
  if (n <= 0) return;
  try {
    await store.probe(n);
  } catch (e) {
    if (toApiError(e).code !== 'quota') throw e;
    const { freedBytes } = await evictEntries(store, { partialOnly: true, except: [m.id] });
    try {
      if (freedBytes === 0) throw e;
      await store.probe(n);
    } catch (e2) {
      throw await storageError(store, m, e2, writer.length, n);
    }
  }
}

/** @param {string|null} h 'bytes 100-199/1000' */
function parseContentRange(h) {
  const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(h?.trim() ?? '');
  return m ? { start: Number(m[1]), end: Number(m[2]), total: m[3] === '*' ? null : Number(m[3]) } : null;
}

/** @param {string|null} s */
function numberOrNull(s) {
  const n = s === null ? NaN : Number(s);
  return Number.isSafeInteger(n) && n >= 0 ? n : null;
}

/** @param {number} ms @param {AbortSignal} [signal] */
function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(undefined); }, ms);
    const onAbort = () => { clearTimeout(t); reject(new Error('aborted')); };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
