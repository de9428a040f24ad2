// hf.js — Hugging Face Hub repositories as model sources: the file listing
// (GET /api/models/<repo>/revision/<rev>), file URLs, and the choice of what to load from a
// repo's files: a transformers checkpoint (config.json + weights + tokenizer) to convert, or a
// ready GGUF file. (Repo ids themselves: lib/repo_id.js.)

import { DownloadError, UnsupportedError } from './errors.js';
import { GGML_TYPES } from '../lib/ggml_types.js';

export const HF_ENDPOINT = 'https://huggingface.co';

/** @param {string} endpoint @param {string} repo @param {string} revision @param {string} file */
export function resolveUrl(endpoint, repo, revision, file) {
  return `${endpoint.replace(/\/$/, '')}/${repo}/resolve/${encodeURIComponent(revision)}/${file.split('/').map(encodeURIComponent).join('/')}`;
}

/**
 * The repo's file names.
 * @param {{endpoint: string, repo: string, revision: string, headers?: Record<string, string>,
 *   signal?: AbortSignal, fetch?: typeof fetch}} o
 * @returns {Promise<string[]>}
 */
export async function listRepo(o) {
  const url = `${o.endpoint.replace(/\/$/, '')}/api/models/${o.repo}/revision/${encodeURIComponent(o.revision)}`;
  let res;
  try {
    res = await (o.fetch ?? fetch)(url, { headers: o.headers, signal: o.signal });
  } catch (e) {
    if (o.signal?.aborted) throw e;
    throw new DownloadError(`Could not reach the Hugging Face Hub at ${o.endpoint} to list ${o.repo} (${e?.cause?.code ?? e?.message ?? e}).`, { url });
  }
  if (res.status === 401 || res.status === 403 || res.status === 404) {
    throw new DownloadError(`The Hugging Face repo '${o.repo}' (revision ${o.revision}) was not found or needs a token (HTTP ${res.status}).`, { status: res.status, url });
  }
  if (!res.ok) throw new DownloadError(`The Hugging Face Hub answered ${res.status} when listing '${o.repo}'.`, { status: res.status, url });
  let info;
  try {
    info = await res.json();
  } catch {
    throw new DownloadError(`The Hugging Face Hub sent a listing of '${o.repo}' that is not JSON.`, { url });
  }
  if (!Array.isArray(info?.siblings)) throw new DownloadError(`The Hugging Face Hub listing of '${o.repo}' has no file list.`, { url });
  return info.siblings.filter((s) => typeof s?.rfilename === 'string').map((s) => s.rfilename);
}

/**
 * @typedef {{kind: 'checkpoint', weights: string[], small: string[]}
 *   | {kind: 'gguf', file: string}} RepoPlan
 */

const SMALL_FILES = ['config.json', 'tokenizer.model', 'tokenizer.json', 'tokenizer_config.json', 'added_tokens.json',
  'special_tokens_map.json', 'model.safetensors.index.json', 'chat_template.jinja',
  'chat_template.json'];

/** Preference among GGUF files when a repo has several, best first (types the engine computes). */
const GGUF_PREFERENCE = [/q8_0/i, /\bf16\b|fp16/i, /bf16/i, /f32|fp32/i];

/**
 * Decide what to load from a repo's files.
 * @param {string} repo for messages
 * @param {string[]} files
 * @param {{file?: string}} [o] a GGUF file name to load instead of choosing
 * @returns {RepoPlan}
 */
export function planRepo(repo, files, o = {}) {
  const have = new Set(files);
  if (o.file) {
    if (!have.has(o.file)) throw new UnsupportedError(`The repo '${repo}' has no file '${o.file}'.`, { files });
    if (!o.file.endsWith('.gguf')) throw new UnsupportedError(`'${o.file}' in '${repo}' is not a GGUF file; leave 'file' out to convert the checkpoint.`, { files });
    return { kind: 'gguf', file: o.file };
  }
  if (have.has('config.json')) {
    let weights = null;
    if (have.has('model.safetensors')) weights = ['model.safetensors'];
    else if (have.has('model.safetensors.index.json')) weights = files.filter((f) => /^model-\d+-of-\d+\.safetensors$/.test(f));
    else if (have.has('pytorch_model.bin')) weights = ['pytorch_model.bin'];
    const tokenizer = have.has('tokenizer.model') || have.has('tokenizer.json');
    if (weights?.length && tokenizer) return { kind: 'checkpoint', weights, small: SMALL_FILES.filter((f) => have.has(f)) };
    if (weights?.length && !tokenizer) throw new UnsupportedError(`The repo '${repo}' has weights but no tokenizer.model or tokenizer.json.`, { files });
    if (files.some((f) => f === 'pytorch_model.bin.index.json')) {
      throw new UnsupportedError(`The repo '${repo}' has sharded pytorch_model-*.bin weights, which are not supported; use a repo with model.safetensors or a single pytorch_model.bin.`, { files });
    }
  }
  const ggufs = files.filter((f) => f.toLowerCase().endsWith('.gguf'));
  if (ggufs.length === 1) return { kind: 'gguf', file: ggufs[0] };
  if (ggufs.length > 1) {
    for (const re of GGUF_PREFERENCE) {
      const hit = ggufs.find((f) => re.test(f));
      if (hit) return { kind: 'gguf', file: hit };
    }
    const runs = GGML_TYPES.filter((t) => t.engine).map((t) => t.name).join(', ');
    throw new UnsupportedError(`The repo '${repo}' has several GGUF files and none in a type this engine runs (${runs}): ${ggufs.join(', ')}.`, { files });
  }
  const shown = files.slice(0, 12).join(', ') + (files.length > 12 ? `, … (${files.length} files)` : '');
  throw new UnsupportedError(`The repo '${repo}' has no layout this loader reads (config.json with model.safetensors or pytorch_model.bin and a tokenizer, or a .gguf file); it has: ${shown || 'no files'}.`, { files });
}
