// bench_models.js — the model files the benchmarks measure, made on first use under
// build/fixtures/quant/ (never committed): MobileLLM-shaped random weights written by
// tools/make_random_model.js as F32 (125M, the files tools/bench_quant.js measures too) or F16
// (the larger shapes, half the disk), then quantized by llama.cpp itself (llama_model_quantize in
// node-llama-cpp's libllama, through tests/fixtures/llama_ref_quantize.c, no imatrix); and the
// unrolled form of a quantized layer-shared file, its blocks' bytes copied, not re-quantized.
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { llamaCppLib, nativeFixture } from '../tests/ref/fixtures.js';
import { ggmlType } from '../lib/ggml_types.js';
import { OUTPUT_TYPES } from '../models/convert/convert.js';
import { GGUF_KEY, GGUF_ARCH, archKey } from '../lib/gguf_keys.js';
import { blockFor } from './make_random_model.js';

export const QUANT_DIR = 'build/fixtures/quant';
const ENV = { ...process.env, NODE_PATH: '/usr/share/nodejs' };
const log = (...a) => process.stderr.write(`[bench_models] ${a.join(' ')}\n`);

/** The source precision of a shape's random weights: F32 for 125M (as bench_quant.js), F16 above. */
const sourceType = (shape) => (shape === '125m' ? 'f32' : 'f16');

/**
 * Path of `shape` (make_random_model.js SHAPES) at `type` (an OUTPUT_TYPES name), made if absent.
 * share/mode: a layer-shared file (its stored blocks quantized once).
 * @param {string} shape
 * @param {string} type
 * @param {{share?: number, mode?: string}} [o]
 * @returns {string}
 */
export function quantizedModel(shape, type, o = {}) {
  const tag = o.share > 1 ? `-share${o.share}-${o.mode ?? 'immediate'}` : '';
  const file = `${QUANT_DIR}/random-${shape}${tag}-${type}.gguf`;
  if (existsSync(file)) return file;
  mkdirSync(QUANT_DIR, { recursive: true });
  const src = `${QUANT_DIR}/random-${shape}${tag}-${sourceType(shape)}.gguf`;
  if (!existsSync(src)) {
    log(`making ${src}`);
    const share = o.share > 1 ? ['--share', String(o.share), '--mode', o.mode ?? 'immediate'] : [];
    execFileSync('node', ['tools/make_random_model.js', '--shape', shape, '--type', sourceType(shape), ...share, '-o', `${src}.part`],
      { env: ENV, stdio: 'inherit' });
    renameSync(`${src}.part`, src);
  }
  if (src === file) return file;
  const lib = llamaCppLib('llama');
  if (!lib) throw new Error('the benchmark files need libllama.so from @node-llama-cpp/linux-x64 (npm ci)');
  log(`quantizing ${file} with llama.cpp`);
  const r = spawnSync(nativeFixture('llama_ref_quantize'), [lib, src, `${file}.part`, String(OUTPUT_TYPES[type].ftype)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`llama_model_quantize ${type}: ${r.stderr}`);
  renameSync(`${file}.part`, file);
  return file;
}

/** Delete what quantizedModel(shape, ...) made for a shape (the files of the large shapes). @param {string} shape */
export function removeShape(shape) {
  for (const t of [sourceType(shape), ...Object.keys(OUTPUT_TYPES)]) rmSync(`${QUANT_DIR}/random-${shape}-${t}.gguf`, { force: true });
}

/**
 * The quantized layer-shared file `src` written with its blocks unrolled to plain layers (the
 * tensors' bytes copied in schedule order; the share keys dropped, block_count the effective
 * depth): the same weights, as llama.cpp and a model without sharing would run them.
 * @param {string} src
 * @param {string} dst
 */
export function unrollShared(src, dst) {
  if (existsSync(dst) && statSync(dst).mtimeMs >= statSync(src).mtimeMs) return dst;
  const u8 = readFileSync(src);
  const dv = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
  let o = 0;
  const u32 = () => { o += 4; return dv.getUint32(o - 4, true); };
  const u64 = () => { o += 8; return Number(dv.getBigUint64(o - 8, true)); };
  const str = () => { const n = u64(); o += n; return u8.subarray(o - n, o).toString(); };
  const SIZE = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
  const skip = (t) => { if (t === 8) str(); else if (SIZE[t]) o += SIZE[t]; else throw new Error(`${src}: GGUF value type ${t}`); };
  if (u32() !== 0x46554747 || u32() !== 3) throw new Error(`${src} is not a GGUF v3 file`);
  const nTensors = u64(), nKv = u64();
  const kvs = [];
  const val = {};
  for (let i = 0; i < nKv; i++) {
    const start = o, key = str(), t = u32(), vstart = o;
    if (t === 9) { const et = u32(), n = u64(); for (let j = 0; j < n; j++) skip(et); } else skip(t);
    if (t === 4) val[key] = dv.getUint32(vstart, true);
    if (t === 8) val[key] = u8.subarray(vstart + 8, o).toString();
    kvs.push({ key, type: t, bytes: u8.subarray(start, o) });
  }
  const arch = val[GGUF_KEY.GENERAL_ARCHITECTURE], blockKey = archKey(arch, GGUF_ARCH.BLOCK_COUNT);
  const nStored = val[blockKey], repeat = val[GGUF_KEY.SHARE_REPEAT] ?? 1, mode = val[GGUF_KEY.SHARE_MODE] ?? 'immediate';
  if (!(repeat > 1)) throw new Error(`${src} is not layer-shared`);
  const tensors = [];
  for (let i = 0; i < nTensors; i++) {
    const name = str(), nd = u32(), ne = Array.from({ length: nd }, u64), type = u32(), off = u64();
    tensors.push({ name, ne, type, off });
  }
  const align = val[GGUF_KEY.GENERAL_ALIGNMENT] ?? 32;
  const up = (x) => Math.ceil(x / align) * align;
  const dataStart = up(o);
  for (const t of tensors) {
    const g = ggmlType(t.type);
    if (!g) throw new Error(`${src}: tensor ${t.name} has ggml type ${t.type}, unknown here`);
    t.size = (t.ne[0] / g.blockElems) * g.blockBytes * t.ne.slice(1).reduce((a, b) => a * b, 1);
    if (dataStart + t.off + t.size > u8.length) throw new Error(`${src}: tensor ${t.name} runs past the end of the file`);
  }
  // the output: plain tensors as they are, then each effective layer's copy of its stored block
  const plain = tensors.filter((t) => !t.name.startsWith('blk.'));
  const layers = [];
  for (let l = 0; l < nStored * repeat; l++) {
    const b = blockFor(l, nStored, repeat, mode);
    for (const t of tensors) if (t.name.startsWith(`blk.${b}.`)) layers.push({ ...t, name: `blk.${l}.${t.name.slice(`blk.${b}.`.length)}` });
  }
  const outT = [...plain, ...layers];
  const parts = [];
  const w32 = (v) => { const b = Buffer.alloc(4); b.writeUInt32LE(v); parts.push(b); };
  const w64 = (v) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); parts.push(b); };
  const wstr = (s) => { const b = Buffer.from(s); w64(b.length); parts.push(b); };
  const keep = kvs.filter((k) => k.key !== GGUF_KEY.SHARE_REPEAT && k.key !== GGUF_KEY.SHARE_MODE);
  w32(0x46554747); w32(3); w64(outT.length); w64(keep.length);
  for (const k of keep) {
    if (k.key === blockKey) { wstr(k.key); w32(4); w32(nStored * repeat); } else parts.push(k.bytes);
  }
  let off = 0;
  for (const t of outT) {
    wstr(t.name); w32(t.ne.length); t.ne.forEach(w64); w32(t.type); w64(off);
    t.newOff = off;
    off = up(off + t.size);
  }
  let head = Buffer.concat(parts);
  head = Buffer.concat([head, Buffer.alloc(up(head.length) - head.length)]);
  const fd = openSync(`${dst}.part`, 'w');
  try {
    writeSync(fd, head);
    for (const t of outT) writeSync(fd, u8.subarray(dataStart + t.off, dataStart + t.off + t.size), 0, t.size, head.length + t.newOff);
    const last = outT.at(-1), end = head.length + last.newOff + last.size;
    writeSync(fd, Buffer.alloc(up(end) - end), 0, up(end) - end, end); // the last tensor's padding
  } finally {
    closeSync(fd);
  }
  renameSync(`${dst}.part`, dst);
  return dst;
}
