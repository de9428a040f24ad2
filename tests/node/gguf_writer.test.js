// gguf_writer.test.js — the JS GGUF writer read back by an independent reader (node-llama-cpp's
// GGUF parser), and quant.js's f16/bf16/Q8_0 encoders compared with numpy / torch and a Python
// transcription of ggml's quantize_row_q8_0_ref.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readGgufFileInfo } from 'node-llama-cpp';
import { GGUFWriter, GGUFValueType } from '../../models/convert/gguf_writer.js';
import { GGMLType } from '../../lib/ggml_types.js';
import {
  f32ToF16, f16ToF32, f32ToBF16, bf16ToF32, quantizeQ8_0, dequantizeQ8_0, tensorBytes,
} from '../../models/convert/quant.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const FIXTURES = join(ROOT, 'build', 'fixtures');
const PY = '/usr/bin/python3';

/** Deterministic xorshift32 in [0, 1). */
function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
}

function alignUp(x, a) { return Math.ceil(x / a) * a; }

/** Builds the file used by the read-back tests; returns writer and expectations. */
function buildSample(alignment) {
  const w = new GGUFWriter({ alignment });
  w.addString('general.architecture', 'llama');
  w.addString('general.name', 'tiny ✓ test');
  w.addU8('test.u8', 250);
  w.addI8('test.i8', -100);
  w.addU16('test.u16', 65000);
  w.addI16('test.i16', -32000);
  w.addU32('test.u32', 4000000000);
  w.addI32('test.i32', -2000000000);
  w.addU64('test.u64', 18000000000000000000n);
  w.addI64('test.i64', -9000000000000000000n);
  w.addF32('test.f32', 0.1);
  w.addF64('test.f64', Math.PI);
  w.addBool('test.bool_t', true);
  w.addBool('test.bool_f', false);
  w.addArray('test.arr_str', GGUFValueType.STRING, ['<unk>', '', '▁the', 'héllo']);
  w.addArray('test.arr_f32', GGUFValueType.FLOAT32, new Float32Array([0.5, -1.25, 1e-3]));
  w.addArray('test.arr_i32', GGUFValueType.INT32, new Int32Array([-2147483648, -1, 0, 2147483647]));
  w.addArray('test.arr_u32', GGUFValueType.UINT32, [0, 4294967295]);
  w.addArray('test.arr_u8', GGUFValueType.UINT8, new Uint8Array([1, 2, 255]));
  w.addArray('test.arr_bool', GGUFValueType.BOOL, [true, false, true]);
  w.addArray('test.arr_empty', GGUFValueType.INT32, []);
  w.addArray('test.arr_nested', GGUFValueType.ARRAY, [
    { type: GGUFValueType.INT32, values: [1, 2] },
    { type: GGUFValueType.STRING, values: ['x', 'yz'] },
  ]);

  const r = rng(7);
  const f32vals = Float32Array.from({ length: 8 * 3 }, () => r() * 2 - 1);
  const f16vals = Float32Array.from({ length: 64 * 2 }, () => r() * 8 - 4);
  const q8vals = Float32Array.from({ length: 32 * 5 }, () => r() * 20 - 10);
  const bf16vals = Float32Array.from({ length: 6 }, () => r() - 0.5);
  const tensors = [
    { name: 'a.f32', type: GGMLType.F32, ne: [8, 3], bytes: tensorBytes(GGMLType.F32, f32vals) },
    { name: 'b.f16', type: GGMLType.F16, ne: [64, 2], bytes: tensorBytes(GGMLType.F16, f16vals) },
    { name: 'c.q8_0', type: GGMLType.Q8_0, ne: [32, 5], bytes: tensorBytes(GGMLType.Q8_0, q8vals) },
    { name: 'd.bf16', type: GGMLType.BF16, ne: [6], bytes: tensorBytes(GGMLType.BF16, bf16vals) },
    { name: 'e.f32.4d', type: GGMLType.F32, ne: [2, 1, 3, 2], bytes: tensorBytes(GGMLType.F32, new Float32Array(12).fill(1.5)) },
  ];
  // bytes by hand: F32 4/elem, F16 2/elem, Q8_0 34 per 32, BF16 2/elem
  assert.deepEqual(tensors.map((t) => t.bytes.length), [96, 256, 170, 12, 48]);
  let off = 0;
  for (const t of tensors) {
    w.addTensor(t.name, t.type, t.ne, t.bytes);
    t.offset = off;
    off = alignUp(off + t.bytes.length, alignment);
  }
  return { w, tensors };
}

for (const alignment of [32, 64]) {
  test(`writer output read back by node-llama-cpp (alignment ${alignment})`, async () => {
    mkdirSync(FIXTURES, { recursive: true });
    const path = join(FIXTURES, `gguf_writer_a${alignment}.gguf`);
    const { w, tensors } = buildSample(alignment);
    await w.writeFile(path);
    const file = readFileSync(path);
    assert.deepEqual(new Uint8Array(file), w.toBuffer(), 'writeFile and toBuffer give the same bytes');

    const info = await readGgufFileInfo(path, { readTensorInfo: true, sourceType: 'filesystem', logWarnings: false });
    assert.equal(info.version, 3);
    assert.equal(Number(info.tensorCount), tensors.length);
    const m = info.metadata;
    assert.equal(m.general.architecture, 'llama');
    assert.equal(m.general.name, 'tiny ✓ test');
    if (alignment !== 32) assert.equal(m.general.alignment, alignment);
    else assert.equal(m.general.alignment, undefined);
    const t = m.test;
    assert.equal(t.u8, 250);
    assert.equal(t.i8, -100);
    assert.equal(t.u16, 65000);
    assert.equal(t.i16, -32000);
    assert.equal(t.u32, 4000000000);
    assert.equal(t.i32, -2000000000);
    assert.equal(BigInt(t.u64), 18000000000000000000n);
    assert.equal(BigInt(t.i64), -9000000000000000000n);
    assert.equal(t.f32, Math.fround(0.1));
    assert.equal(t.f64, Math.PI);
    assert.equal(t.bool_t, true);
    assert.equal(t.bool_f, false);
    assert.deepEqual(t.arr_str, ['<unk>', '', '▁the', 'héllo']);
    assert.deepEqual(t.arr_f32, [0.5, -1.25, Math.fround(1e-3)]);
    assert.deepEqual(t.arr_i32, [-2147483648, -1, 0, 2147483647]);
    assert.deepEqual(t.arr_u32, [0, 4294967295]);
    assert.deepEqual(t.arr_u8, [1, 2, 255]);
    assert.deepEqual(t.arr_bool, [true, false, true]);
    assert.deepEqual(t.arr_empty, []);
    assert.deepEqual(t.arr_nested, [[1, 2], ['x', 'yz']]);

    assert.equal(info.tensorInfo.length, tensors.length);
    assert.equal(info.infoEndOffset % alignment, 0);
    for (let i = 0; i < tensors.length; i++) {
      const got = info.tensorInfo[i];
      const want = tensors[i];
      assert.equal(got.name, want.name);
      assert.deepEqual(got.dimensions.map(Number), want.ne);
      assert.equal(got.ggmlType, want.type);
      assert.equal(Number(got.offset), want.offset);
      assert.equal(Number(got.offset) % alignment, 0);
      const fo = Number(got.fileOffset);
      assert.equal(fo, info.infoEndOffset + want.offset);
      assert.deepEqual(new Uint8Array(file.subarray(fo, fo + want.bytes.length)), want.bytes, `data of ${want.name}`);
    }
    // the file ends padded to the alignment after the last tensor
    const last = tensors[tensors.length - 1];
    assert.equal(file.length, alignUp(info.infoEndOffset + last.offset + last.bytes.length, alignment));
  });
}

test('writer: lazy tensor data and input validation', async () => {
  const w = new GGUFWriter();
  const bytes = tensorBytes(GGMLType.F32, new Float32Array([1, 2, 3, 4]));
  let calls = 0;
  w.addTensor('lazy', GGMLType.F32, [4], () => { calls++; return bytes; });
  const buf = w.toBuffer();
  assert.equal(calls, 1);
  mkdirSync(FIXTURES, { recursive: true });
  const path = join(FIXTURES, 'gguf_writer_lazy.gguf');
  await w.writeFile(path);
  assert.deepEqual(new Uint8Array(readFileSync(path)), buf);
  assert.throws(() => w.addTensor('lazy', GGMLType.F32, [4], bytes), /duplicate tensor name 'lazy'/);
  assert.throws(() => w.addTensor('short', GGMLType.F32, [5], bytes), /16 bytes given.*needs 20/);
  assert.throws(() => w.addTensor('q', GGMLType.Q8_0, [48], new Uint8Array(51)), /multiple of the block size 32/);
  assert.throws(() => w.addTensor('d5', GGMLType.F32, [1, 1, 1, 1, 1], new Uint8Array(4)), /1 to 4 dims/);
  w.addU32('k', 1);
  assert.throws(() => w.addU32('k', 2), /duplicate metadata key 'k'/);
  assert.throws(() => w.addU8('u8', 256), /not an integer in \[0, 255\]/);
  assert.throws(() => w.addI32('i32', 1.5), /not an integer/);
  assert.throws(() => new GGUFWriter({ alignment: 48 }), /power of two/);
});

// ------------------------------------------------------------------ quant.js vs numpy / torch / ggml

/** Inputs: pseudo-random values over many magnitudes plus hand-picked ties and edges. */
function quantInputs() {
  const r = rng(20240611);
  const vals = [];
  const edges = [
    0, -0, 1, -1, 0.5, 65504, 65519, 65520, 65536, 1e6, -1e6, 2 ** -14, 2 ** -24, 2 ** -25, 3 * 2 ** -25,
    5 * 2 ** -25, 2047 * 2 ** -25, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 2 - 2 ** -11, 2 ** -30, 1e-8, Infinity, -Infinity, NaN,
    1 + 2 ** -8, 1 + 3 * 2 ** -8, 3.4e38, -3.4e38, 1e-40, -1e-40, 0.1,
  ];
  vals.push(...edges);
  while (vals.length % 32) vals.push(0);
  // Q8_0 blocks with exact ties: amax 127 (d = 1) and amax 63.5 (d = 0.5)
  const tieBlock1 = [127, -127, 0.5, -0.5, 2.5, -2.5, 1.5, 126.5, -3.5];
  const tieBlock2 = [63.5, 0.25, -0.75, 1.25, -63.5];
  for (const blk of [tieBlock1, tieBlock2]) {
    for (let j = 0; j < 32; j++) vals.push(j < blk.length ? blk[j] : (j % 5) - 2);
  }
  for (let j = 0; j < 32; j++) vals.push(0); // all-zero block
  for (let i = 0; i < 32 * 60; i++) {
    const scale = 10 ** Math.floor(r() * 12 - 8); // 1e-8 .. 1e3
    vals.push((r() * 2 - 1) * scale);
  }
  return Float32Array.from(vals);
}

const PY_REF = String.raw`
import sys, math, struct
import numpy as np
data = sys.stdin.buffer.read()
x = np.frombuffer(data, dtype='<f4').copy()
out = {}
out['f16'] = x.astype(np.float16).view('<u2').tobytes().hex()
import torch
out['bf16'] = torch.from_numpy(x.copy()).to(torch.bfloat16).view(torch.int16).numpy().astype('<i2').view('<u2').tobytes().hex()
halves = np.arange(65536, dtype=np.uint32).astype('<u2').view(np.float16).astype(np.float32)
out['f16_to_f32'] = halves.view('<u4').tobytes().hex()
# ggml quantize_row_q8_0_ref, in float32 arithmetic, on the blocks of x that are all finite
q = bytearray()
blocks = x[: len(x) // 32 * 32].reshape(-1, 32)
fin = blocks[np.isfinite(blocks).all(axis=1)].reshape(-1)
for b in range(len(fin) // 32):
    blk = fin[b*32:(b+1)*32]
    amax = np.float32(0.0)
    for v in blk:
        av = np.float32(abs(v))
        amax = amax if amax > av else av          # MAX(amax, fabsf(v))
    d = np.float32(amax / np.float32(127.0))
    idv = np.float32(np.float32(1.0) / d) if d != 0 else np.float32(0.0)
    q += np.array([d], dtype=np.float32).astype(np.float16).view('<u2').tobytes()
    for v in blk:
        x0 = float(np.float32(v * idv))
        r = math.floor(abs(x0) + 0.5)            # roundf: half away from zero
        r = int(-r if x0 < 0 else r)
        q += struct.pack('<b', r)
out['q8_in'] = fin.astype('<f4').tobytes().hex()
out['q8'] = bytes(q).hex()
import json
print(json.dumps(out))
`;

function runPython(input) {
  const res = spawnSync(PY, ['-c', PY_REF], { input: Buffer.from(input.buffer, input.byteOffset, input.byteLength), maxBuffer: 64 << 20 });
  assert.equal(res.status, 0, `python failed: ${res.stderr}`);
  return JSON.parse(res.stdout.toString());
}

const fromHex = (h) => new Uint8Array(Buffer.from(h, 'hex'));
const u16FromHex = (h) => { const b = fromHex(h); return new Uint16Array(b.buffer, b.byteOffset, b.length / 2); };

/**
 * Element-wise comparison of 16-bit encodings with a readable first difference. NaN inputs
 * only need to give some NaN (payloads differ between libraries: torch 1.13 gives 0xFFFF).
 */
function assertSameBits(got, want, x, nanMask, what) {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < got.length; i++) {
    const isNan = (v) => (v & nanMask) === nanMask && (v & ~nanMask & 0x7fff) !== 0;
    if (Number.isNaN(x[i])) {
      assert.ok(isNan(got[i]) && isNan(want[i]), `${what}: NaN input ${i} gave 0x${got[i].toString(16)} / 0x${want[i].toString(16)}`);
      continue;
    }
    if (got[i] !== want[i]) assert.fail(`${what}: input ${i} (${x[i]}) gives 0x${got[i].toString(16)}, reference 0x${want[i].toString(16)}`);
  }
}

test('quant.js f16/bf16/Q8_0 agree bit for bit with numpy, torch and a ggml transcription', () => {
  const x = quantInputs();
  const ref = runPython(x);

  assertSameBits(f32ToF16(x), u16FromHex(ref.f16), x, 0x7c00, 'f32ToF16 vs numpy float16');
  assertSameBits(f32ToBF16(x), u16FromHex(ref.bf16), x, 0x7f80, 'f32ToBF16 vs torch bfloat16');

  // every half pattern decodes like numpy (NaNs compared as NaNs)
  const want = new Float32Array(fromHex(ref.f16_to_f32).buffer);
  const got = f16ToF32(Uint16Array.from({ length: 65536 }, (_, i) => i));
  let bad = 0;
  for (let i = 0; i < 65536; i++) {
    if (Number.isNaN(want[i]) ? !Number.isNaN(got[i]) : !Object.is(got[i], want[i])) bad++;
  }
  assert.equal(bad, 0, 'f16ToF32 vs numpy');
  assert.deepEqual(bf16ToF32(new Uint16Array([0x3f80, 0xc049])), new Float32Array([1, -3.140625]));

  const qin = new Float32Array(fromHex(ref.q8_in).buffer);
  assert.equal(qin.length, x.length - 32, 'every block but the one holding inf/nan is quantized');
  const q = quantizeQ8_0(qin);
  assert.equal(q.length, qin.length / 32 * 34);
  const qref = fromHex(ref.q8);
  assert.equal(q.length, qref.length);
  for (let i = 0; i < q.length; i++) {
    if (q[i] !== qref[i]) assert.fail(`quantizeQ8_0 vs ggml reference: block ${Math.floor(i / 34)} byte ${i % 34}: ${q[i]} vs ${qref[i]}`);
  }

  // dequantized = d * q exactly
  const deq = dequantizeQ8_0(q);
  const qs = new Int8Array(q.buffer);
  for (const b of [0, 1, 2, 7]) {
    const d = f16ToF32(new Uint16Array([q[b * 34] | (q[b * 34 + 1] << 8)]))[0];
    for (let j = 0; j < 32; j++) assert.equal(deq[b * 32 + j], Math.fround(d * qs[b * 34 + 2 + j]));
  }
});

test('quantizeQ8_0 hand-computed ties: roundf rounds half away from zero', () => {
  const x = new Float32Array(32);
  x.set([127, -127, 0.5, -0.5, 2.5, -2.5, 126.49]);
  const q = quantizeQ8_0(x);
  assert.equal(q[0] | (q[1] << 8), 0x3c00); // d = 1.0
  assert.deepEqual(Array.from(new Int8Array(q.buffer, 2, 7)), [127, -127, 1, -1, 3, -3, 126]);
  assert.throws(() => quantizeQ8_0(new Float32Array(33)), /multiple of 32/);
});
