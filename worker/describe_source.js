// describe_source.js — what a model source given to the API is (URL, Hugging Face repo id, bytes,
// File / Blob, checkpoint files, cache key, Node path), classified on the calling side into the
// SourceDesc the worker loads (source.js).

import { parseRepoId } from '../lib/repo_id.js';
import { isNode } from '../lib/env.js';
import { transferables } from './protocol.js';
import { ArgumentError } from './errors.js';
import { nodeBuiltin } from '../lib/node_builtin.js';

/**
 * Classify a source on the calling side; bytes are transferred to the worker.
 * @param {any} source
 * @param {{transfer: boolean}} o
 * @returns {Promise<{desc: import('./source.js').SourceDesc, transferList: ArrayBuffer[]}>}
 */
export async function describeSource(source, o) {
  const none = [];
  if (source instanceof URL) {
    // Node: a file: URL names a local file (fetch() cannot read it); browsers fetch any URL.
    if (isNode && source.protocol === 'file:') return { desc: await filePath(source), transferList: none };
    return { desc: { type: 'url', url: source.href }, transferList: none };
  }
  if (typeof source === 'string') return { desc: await describeString(source.trim()), transferList: none };
  if (source instanceof ArrayBuffer) {
    const bytes = new Uint8Array(o.transfer ? source : source.slice(0));
    return { desc: { type: 'bytes', bytes }, transferList: [bytes.buffer] };
  }
  if (ArrayBuffer.isView(source)) {
    let bytes = new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
    // Transfer the caller's buffer only when the view is all of it; otherwise copy once.
    if (!o.transfer || transferables(bytes).length === 0) bytes = bytes.slice();
    return { desc: { type: 'bytes', bytes }, transferList: [bytes.buffer] };
  }
  if (typeof Blob !== 'undefined' && source instanceof Blob) {
    return { desc: { type: 'blob', blob: source, name: /** @type {any} */ (source).name }, transferList: none };
  }
  const list = typeof FileList !== 'undefined' && source instanceof FileList ? [...source] : Array.isArray(source) ? source : null;
  if (list && list.length && list.every((f) => typeof Blob !== 'undefined' && f instanceof Blob && typeof f.name === 'string')) {
    return { desc: { type: 'files', files: Object.fromEntries(list.map((f) => [f.name, f])), label: 'the selected files' }, transferList: none };
  }
  if (source && typeof source === 'object') {
    if ('cacheKey' in source) {
      if (typeof source.cacheKey !== 'string' || !source.cacheKey) throw new ArgumentError('cacheKey must be the key of a cache entry (MobileLLM.cache.list()), a non-empty string.');
      return { desc: { type: 'cache', key: source.cacheKey }, transferList: none };
    }
    if (typeof source.repo === 'string') {
      const r = parseRepoId(source.repo);
      if (!r) throw new ArgumentError(`'${source.repo}' is not a Hugging Face repo id of the form owner/name.`);
      return { desc: { type: 'hf', repo: r.repo, revision: source.revision ?? r.revision }, transferList: none };
    }
    if (source.files && typeof source.files === 'object') {
      return { desc: { type: 'files', files: { ...source.files }, label: source.label ?? 'the checkpoint files' }, transferList: none };
    }
  }
  throw new ArgumentError('The model source must be a URL, a Hugging Face repo id, a File, Blob, ArrayBuffer or typed array, { cacheKey }, or (in Node) a path.');
}

/** @param {string} s @returns {Promise<import('./source.js').SourceDesc>} */
async function describeString(s) {
  if (!s) throw new ArgumentError('The model source is an empty string.');
  const hfPage = /^https:\/\/huggingface\.co\/([^/?#]+\/[^/?#]+)\/?$/.exec(s);
  if (hfPage || s.startsWith('hf://')) {
    const r = parseRepoId(hfPage ? hfPage[1] : s);
    if (!r) throw new ArgumentError(`'${s}' is not a Hugging Face repo id of the form owner/name.`);
    return { type: 'hf', repo: r.repo, revision: r.revision };
  }
  if (/^https?:\/\//i.test(s)) return { type: 'url', url: s };
  if (isNode && /^file:/i.test(s)) {
    let u;
    try { u = new URL(s); } catch { throw new ArgumentError(`'${s}' is not a valid file: URL.`); }
    return filePath(u);
  }
  const looksLikeRepo = !!parseRepoId(s) && !/\.gguf$/i.test(s) && !/^[./~]/.test(s);
  if (isNode) {
    const fs = await nodeBuiltin('fs');
    if (fs.existsSync(s) || !looksLikeRepo) return { type: 'path', path: s };
    const r = parseRepoId(s);
    return { type: 'hf', repo: r.repo, revision: r.revision };
  }
  if (looksLikeRepo) {
    const r = parseRepoId(s);
    return { type: 'hf', repo: r.repo, revision: r.revision };
  }
  return { type: 'url', url: new URL(s, globalThis.location?.href).href };
}

/** Node: the path a file: URL names. @param {URL} u @returns {Promise<import('./source.js').SourceDesc>} */
async function filePath(u) {
  const { fileURLToPath } = await nodeBuiltin('url');
  try {
    return { type: 'path', path: fileURLToPath(u) };
  } catch (e) {
    throw new ArgumentError(`The file URL ${u.href} does not name a local file (${e?.message ?? e}).`);
  }
}
