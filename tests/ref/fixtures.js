// fixtures.js — Node side of the Python references, shared by the converter and forward tests:
// builds the random HF checkpoints once (tests/ref/make_checkpoint.py → build/fixtures/hf/) and
// runs tests/ref/mobilellm_ref.py for logits. Always Debian's /usr/bin/python3 (it has torch).

import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const FIXTURES = path.join(ROOT, 'build/fixtures');
export const HF_DIR = path.join(FIXTURES, 'hf');
const PY = '/usr/bin/python3';
const MAKE = path.join(ROOT, 'tests/ref/make_checkpoint.py');
const REF = path.join(ROOT, 'tests/ref/mobilellm_ref.py');
const MAKE_LLAMA4 = path.join(ROOT, 'tests/ref/make_llama4_checkpoint.py');
/** The Llama-4 text (MobileLLM-R1) reference, the same --jobs interface as REF. */
export const LLAMA4_REF = path.join(ROOT, 'tests/ref/llama4_ref.py');
const MAKE_PRO = path.join(ROOT, 'tests/ref/pro_make_checkpoint.py');
/** The MobileLLM-Pro reference (local-global attention), the same --jobs interface as REF. */
export const PRO_REF = path.join(ROOT, 'tests/ref/pro_ref.py');

/** @param {string[]} args */
export function python(args) {
  const r = spawnSync(PY, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 256 << 20 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${PY} ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
  return r.stdout;
}

/**
 * The random checkpoints (rebuilt when make_checkpoint.py changes) and their token sequences.
 * @returns {{dir: (name: string) => string, tokens: {n_pieces: number, seq40: number[], seq200: number[], seq300: number[]}}}
 */
export function checkpoints() {
  return buildCheckpoints(MAKE, HF_DIR);
}

/**
 * The random MobileLLM-R1-shaped checkpoints (tests/ref/make_llama4_checkpoint.py → build/fixtures/hf-llama4/).
 * @returns {{dir: (name: string) => string, tokens: {n_vocab: number, seq40: number[], seq100: number[]}}}
 */
export function llama4Checkpoints() {
  return buildCheckpoints(MAKE_LLAMA4, path.join(FIXTURES, 'hf-llama4'), [MAKE]);
}

/**
 * The random MobileLLM-Pro-shaped checkpoints (tests/ref/pro_make_checkpoint.py → build/fixtures/hf-pro/).
 * @returns {{dir: (name: string) => string, tokens: {n_vocab: number, window: number, seq40: number[], seq100: number[]}}}
 */
export function proCheckpoints() {
  return buildCheckpoints(MAKE_PRO, path.join(FIXTURES, 'hf-pro'), [MAKE, MAKE_LLAMA4]);
}

/** Run `script` into `dir` unless its stamp matches the scripts' hash; `also`: scripts it imports. */
function buildCheckpoints(script, dir, also = []) {
  const stampFile = path.join(dir, '.stamp');
  const hash = createHash('sha256');
  for (const f of [script, ...also]) hash.update(fs.readFileSync(f));
  const want = hash.digest('hex');
  const have = fs.existsSync(stampFile) ? fs.readFileSync(stampFile, 'utf8') : '';
  if (have !== want) {
    // Build beside and swap in, so a half-written set is never used.
    const tmp = `${dir}.tmp-${process.pid}`;
    fs.rmSync(tmp, { recursive: true, force: true });
    python([script, tmp]);
    fs.writeFileSync(path.join(tmp, '.stamp'), want);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(tmp, dir);
  }
  return {
    dir: (name) => path.join(dir, name),
    tokens: JSON.parse(fs.readFileSync(path.join(dir, 'tokens.json'), 'utf8')),
  };
}

/**
 * Reference logits from mobilellm_ref.py (or `script`, e.g. LLAMA4_REF), one Python run for all jobs.
 * @param {{dir: string, tokens: number[], mode?: string, repeat?: number, dtype?: string}[]} jobs
 * @param {string} [script]
 * @returns {Float32Array[]} row-major [n_tokens, n_vocab] per job
 */
export function referenceLogits(jobs, script = REF) {
  const work = fs.mkdtempSync(path.join(FIXTURES, 'ref-'));
  try {
    const withOut = jobs.map((j, i) => ({ dtype: 'float64', ...j, out: path.join(work, `${i}.f32`) }));
    fs.writeFileSync(path.join(work, 'jobs.json'), JSON.stringify(withOut));
    python([script, '--jobs', path.join(work, 'jobs.json')]);
    return withOut.map((j) => {
      const b = fs.readFileSync(j.out);
      return new Float32Array(b.buffer, b.byteOffset, b.length / 4).slice();
    });
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** @param {string} name a scratch directory under build/fixtures, emptied */
export function scratchDir(name) {
  const d = path.join(FIXTURES, name);
  fs.rmSync(d, { recursive: true, force: true });
  fs.mkdirSync(d, { recursive: true });
  return d;
}

/**
 * max_i |a_i - b_i| / (max b - min b) over one row of logits.
 * @param {ArrayLike<number>} a
 * @param {ArrayLike<number>} b reference
 */
export function relMaxDiff(a, b) {
  let mx = -Infinity;
  let mn = Infinity;
  let d = 0;
  for (let i = 0; i < b.length; i++) {
    mx = Math.max(mx, b[i]);
    mn = Math.min(mn, b[i]);
    d = Math.max(d, Math.abs(a[i] - b[i]));
  }
  return d / (mx - mn);
}

/**
 * The worst relMaxDiff over all positions of `rows` (one logit row per position) against `ref`
 * (the rows back to back), asserting each position is within `tol`.
 * @param {ArrayLike<number>[]} rows @param {Float32Array|Float64Array} ref @param {string} label @param {number} tol
 */
export function compareRows(rows, ref, label, tol) {
  const nVocab = ref.length / rows.length;
  let worst = 0;
  rows.forEach((row, p) => {
    assert.equal(row.length, nVocab);
    const d = relMaxDiff(row, ref.subarray(p * nVocab, (p + 1) * nVocab));
    assert.ok(d <= tol, `${label} position ${p}: max |diff| / range = ${d}`);
    worst = Math.max(worst, d);
  });
  return worst;
}

/** @param {ArrayLike<number>} row */
export function argmax(row) {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

/**
 * llama.cpp's teacher-forced logits at every position of `seq` (node-llama-cpp, one thread).
 * @param {any} llama from node-llama-cpp's getLlama({gpu: false, build: 'never'})
 * @param {string} modelPath a GGUF file
 * @param {number[]} seq
 * @param {{f32Kv?: boolean}} [opts] f32Kv: F32 KV cache instead of llama.cpp's default F16
 * @returns {Promise<Float32Array[]>}
 */
export async function llamaCppLogits(llama, modelPath, seq, { f32Kv = false } = {}) {
  const model = await llama.loadModel({ modelPath });
  const size = 64 * Math.ceil(seq.length / 64);
  const ctx = await model.createContext({
    contextSize: size, batchSize: size, threads: 1,
    ...(f32Kv ? { flashAttention: false, experimentalKvCacheKeyType: 'F32', experimentalKvCacheValueType: 'F32' } : {}),
  });
  try {
    const res = await ctx.getSequence().controlledEvaluate(seq.map((t) => [t, { generateNext: { logits: true } }]));
    return res.map((r) => {
      const row = new Float32Array(r.next.logits.size);
      for (const [tok, v] of r.next.logits) row[tok] = v;
      return row;
    });
  } finally {
    await ctx.dispose();
    await model.dispose();
  }
}

/**
 * The wasm engine's teacher-forced logits at every position of `seq`, evaluated in all-logits
 * chunks of `chunk` tokens.
 * @param {any} eng an Engine from wasm_build/engine.js
 * @param {Uint8Array} gguf
 * @param {number[]} seq
 * @param {{chunk?: number, nCtx?: number}} [opts]
 * @returns {Float32Array[]}
 */
export function engineLogits(eng, gguf, seq, { chunk = seq.length, nCtx = 512 } = {}) {
  const model = eng.loadModel(gguf);
  try {
    const ctx = model.newContext({ nCtx, nBatch: chunk });
    try {
      const rows = [];
      for (let s = 0; s < seq.length; s += chunk) {
        const part = seq.slice(s, s + chunk);
        ctx.eval(part, { allLogits: true });
        for (let i = 0; i < part.length; i++) rows.push(ctx.logits(i));
      }
      return rows;
    } finally {
      ctx.free();
    }
  } finally {
    model.free();
  }
}

/**
 * The KV-cached path's logits at every position of `seq`: the first `prefill` tokens in one
 * all-logits eval, then one token at a time.
 * @param {any} model a Model from wasm_build/engine.js @param {number[]} seq
 * @param {{prefill?: number, nCtx?: number, nBatch?: number}} [opts]
 * @returns {Float32Array[]}
 */
export function cachedDecodeLogits(model, seq, { prefill = 10, nCtx = 128, nBatch = 16 } = {}) {
  const ctx = model.newContext({ nCtx, nBatch });
  try {
    const rows = [];
    ctx.eval(seq.slice(0, prefill), { allLogits: true });
    for (let p = 0; p < prefill; p++) rows.push(ctx.logits(p));
    for (let p = prefill; p < seq.length; p++) {
      ctx.eval([seq[p]]);
      rows.push(ctx.logits(-1));
    }
    return rows;
  } finally {
    ctx.free();
  }
}

/**
 * Quantized files hold other weights than the checkpoint, so each output type is held to its
 * quantization error, not float rounding: F16 <= 2e-3 with every argmax equal to the
 * reference's, Q8_0 <= 0.05 with >= 90%, the 2-6-bit types <= 0.3 with >= 75% (max |diff| / range).
 */
export const QUANT_BOUNDS = { f16: [2e-3, 1], q8_0: [0.05, 0.9], other: [0.3, 0.75] };

/**
 * Convert checkpoint `dir` to each of `types` (convertHF with the engine's quantizer), run `seq`
 * teacher-forced and hold every position to QUANT_BOUNDS against `ref` (the reference's rows back to back).
 * @param {import('node:test').TestContext} t @param {any} eng
 * @param {{dir: string, seq: number[], ref: Float32Array|Float64Array, types: string[], convertHF: Function, quiet?: object}} o
 */
export async function checkQuantizedTypes(t, eng, { dir, seq, ref, types, convertHF, quiet = {} }) {
  const nVocab = ref.length / seq.length;
  const quantizeRows = (ty, d, r, c) => eng.quantizeRows(ty, d, r, c);
  for (const type of types) {
    const rows = engineLogits(eng, await convertHF(dir, { type, quantizeRows, ...quiet }), seq);
    let worst = 0;
    let same = 0;
    rows.forEach((row, p) => {
      const r = ref.subarray(p * nVocab, (p + 1) * nVocab);
      worst = Math.max(worst, relMaxDiff(row, r));
      same += argmax(row) === argmax(r);
    });
    t.diagnostic(`${type}: max |diff| / range = ${worst.toExponential(2)}, argmax agreement ${same}/${seq.length}`);
    const [maxDiff, minAgree] = QUANT_BOUNDS[type] ?? QUANT_BOUNDS.other;
    assert.ok(worst <= maxDiff, `${type}: max |diff| / range ${worst} > ${maxDiff}`);
    assert.ok(same >= minAgree * seq.length, `${type}: argmax agreement ${same}/${seq.length}`);
  }
}

/**
 * safetensors by hand: [name, dtype, shape, Uint8Array data][], optional __metadata__
 * @param {[string, string, number[], Uint8Array][]} entries
 * @param {Record<string, string>} [metadata]
 * @returns {Buffer}
 */
export function safetensorsBytes(entries, metadata) {
  const header = metadata ? { __metadata__: metadata } : {};
  let off = 0;
  for (const [name, dtype, shape, data] of entries) {
    header[name] = { dtype, shape, data_offsets: [off, off + data.length] };
    off += data.length;
  }
  const h = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  return Buffer.concat([len, h, ...entries.map((e) => Buffer.from(e[3].buffer, e[3].byteOffset, e[3].length))]);
}

/**
 * A library node-llama-cpp ships prebuilt (llama.cpp's own build): 'llama' (libllama.v*.so),
 * 'ggml-base', 'ggml-cpu-x64', ...; null where this host has none.
 * @param {string} name
 * @returns {string|null}
 */
export function llamaCppLib(name) {
  const dir = path.join(ROOT, 'node_modules', '@node-llama-cpp', 'linux-x64', 'bins', 'linux-x64');
  if (!fs.existsSync(dir)) return null;
  const f = fs.readdirSync(dir).find((n) => n === `lib${name}.so` || new RegExp(`^lib${name}\\.v.*\\.so$`).test(n));
  return f ? path.join(dir, f) : null;
}

/**
 * tests/fixtures/NAME.c (a C program that dlopens llama.cpp's libraries) compiled to
 * build/fixtures/NAME, again when the source is newer.
 * @param {string} name
 * @returns {string} the program's path
 */
export function nativeFixture(name) {
  const src = path.join(ROOT, 'tests', 'fixtures', `${name}.c`);
  const bin = path.join(FIXTURES, name);
  if (!fs.existsSync(bin) || fs.statSync(bin).mtimeMs < fs.statSync(src).mtimeMs) {
    fs.mkdirSync(FIXTURES, { recursive: true });
    execFileSync('cc', ['-std=c99', '-O1', src, '-ldl', '-o', bin]);
  }
  return bin;
}
