// fuzz_js.test.js — the JS readers under hostile input: a short seeded pass of every fuzz target
// (tests/fuzz/; `make fuzz-js` runs 100,000 cases each), every saved regression input, and a
// systematic walk of the message paths a corrupt checkpoint or GGUF can reach (each JSON key
// given each wrong type, pickles and zips cut at every point, GGUF headers through the API):
// every rejection must be a MobileLLMError with a known code and one sentence free of V8's own
// exception text ("Cannot convert object to primitive value", "t.startsWith is not a function", ...).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import { checkpoints, scratchDir } from '../ref/fixtures.js';
import { makeTargets } from '../fuzz/targets.js';
import { fuzzTarget, regressionInputs, runOne } from '../fuzz/run.js';
import { V8_INTERNAL } from '../fuzz/oracle.js';
import { buildGGUF, memoryFiles } from '../../models/convert/convert.js';
import { ZipReader } from '../../models/convert/zip.js';
import { memorySource } from '../../models/convert/safetensors.js';
import { TorchBinFile } from '../../models/convert/pytorch_bin.js';
import { toApiError } from '../../worker/errors.js';
import { MobileLLM, MobileLLMError } from '../../worker/index.js';
import { makeRandomModel } from '../../tools/make_random_model.js';
import { writeStoredZip } from '../fuzz/zip_write.js';

/** @type {import('../fuzz/targets.js').Target[]} */
let targets;
let ck;
const API_CODES = new Set(['format', 'unsupported', 'argument', 'nomem', 'context_full']);
const enc = new TextEncoder();
const dec = new TextDecoder();

before(async () => {
  ck = checkpoints();
  targets = await makeTargets();
});

/** The error as the API reports it must be coded, known, and free of V8 internals. */
function assertApiClean(e, label) {
  const a = toApiError(e);
  assert.ok(a instanceof MobileLLMError, label);
  assert.ok(API_CODES.has(a.code), `${label}: code ${a.code}: ${a.message}`);
  assert.doesNotMatch(a.message, V8_INTERNAL, label);
  assert.ok(a.message.length < 600, `${label}: ${a.message.length} characters`);
}

test('a short seeded pass of every JS fuzz target finds nothing unclean', async () => {
  for (const t of targets) {
    const s = await fuzzTarget(t, { cases: 300, seed: 20261204 });
    assert.deepEqual(s.failures, [], t.name);
    assert.ok(s.accepted > 0 && s.rejected > 0, `${t.name}: the mutator reaches both outcomes (${s.accepted} accepted, ${s.rejected} rejected)`);
  }
});

test('every saved regression input is handled cleanly', async () => {
  const byName = new Map(targets.map((t) => [t.name, t]));
  for (const [target, file, bytes] of regressionInputs()) {
    const t = byName.get(target);
    assert.ok(t, `regressions/${target} names a target`);
    const r = await runOne(t, bytes);
    assert.equal(r.why, null, `${target}/${file}`);
  }
});

/** Values of the wrong type or size for any JSON field. */
const WRONG = [null, true, '1', '', -1, 0, 1.5, 2 ** 31, 2 ** 53 + 2, 1e308, [], [1, 2], {}, { a: 1 }, [[[[[[[[]]]]]]]], 'x'.repeat(5000)];

const readDir = (d) => Object.fromEntries(fs.readdirSync(d).map((n) => [n, new Uint8Array(fs.readFileSync(path.join(d, n)))]));
const quiet = { onWarning: () => {} };
/** Convert; every tensor's bytes too, as a real conversion does. */
function convertAll(files) {
  const { writer } = buildGGUF(memoryFiles(files), quiet);
  writer.header();
  for (const t of writer.tensors) t.bytes();
}
function expectCleanOrOk(fn, label) {
  try { fn(); } catch (e) { assertApiClean(e, label); }
}

test('each key of config.json, tokenizer_config.json and the safetensors header given each wrong type', () => {
  const files = readDir(ck.dir('ls_tied_gqa'));
  const cfg = JSON.parse(dec.decode(files['config.json']));
  for (const k of Object.keys(cfg)) {
    for (const v of WRONG) {
      expectCleanOrOk(() => convertAll({ ...files, 'config.json': enc.encode(JSON.stringify({ ...cfg, [k]: v })) }), `config.json ${k}=${JSON.stringify(v).slice(0, 30)}`);
    }
  }
  for (const v of WRONG) expectCleanOrOk(() => convertAll({ ...files, 'config.json': enc.encode(JSON.stringify(v)) }), `config.json = ${JSON.stringify(v).slice(0, 30)}`);
  const tc = JSON.parse(dec.decode(files['tokenizer_config.json']));
  for (const k of [...Object.keys(tc), 'added_tokens_decoder']) {
    for (const v of WRONG) {
      expectCleanOrOk(() => convertAll({ ...files, 'tokenizer_config.json': enc.encode(JSON.stringify({ ...tc, [k]: v })) }), `tokenizer_config ${k}`);
    }
  }
  // safetensors header: every field of one entry, the entry itself, __metadata__, the root
  const st = files['model.safetensors'];
  const n = Number(new DataView(st.buffer, st.byteOffset, 8).getBigUint64(0, true));
  const header = JSON.parse(dec.decode(st.subarray(8, 8 + n)));
  const data = st.subarray(8 + n);
  const rebuild = (h) => {
    const hb = enc.encode(JSON.stringify(h));
    const out = new Uint8Array(8 + hb.length + data.length);
    new DataView(out.buffer).setBigUint64(0, BigInt(hb.length), true);
    out.set(hb, 8);
    out.set(data, 8 + hb.length);
    return out;
  };
  const name = Object.keys(header).find((k) => k !== '__metadata__');
  for (const v of WRONG) {
    for (const field of ['dtype', 'shape', 'data_offsets']) {
      expectCleanOrOk(() => convertAll({ ...files, 'model.safetensors': rebuild({ ...header, [name]: { ...header[name], [field]: v } }) }), `safetensors ${field}`);
    }
    expectCleanOrOk(() => convertAll({ ...files, 'model.safetensors': rebuild({ ...header, [name]: v }) }), 'safetensors entry');
    expectCleanOrOk(() => convertAll({ ...files, 'model.safetensors': rebuild({ ...header, __metadata__: v }) }), 'safetensors __metadata__');
    expectCleanOrOk(() => convertAll({ ...files, 'model.safetensors': rebuild(v) }), 'safetensors root');
  }
  // sharded: an index with a wrong weight_map, or shard names that leave the directory
  const { 'model.safetensors': _, ...rest } = files;
  for (const wm of [null, [], 5, { a: null }, { a: '../config.json' }, { a: '/etc/passwd' }, { a: 7 }]) {
    expectCleanOrOk(() => convertAll({ ...rest, 'model.safetensors.index.json': enc.encode(JSON.stringify({ weight_map: wm })) }), `weight_map ${JSON.stringify(wm)}`);
  }
});

test('a GPT-2 tokenizer.json with each part of the wrong type', () => {
  const { 'tokenizer.model': _, ...files } = readDir(ck.dir('ls_tied_gqa'));
  const vocab = Object.fromEntries(Array.from({ length: 400 }, (_, i) => [`t${i}`, i]));
  const good = { model: { type: 'BPE', vocab, merges: ['t 1'] }, added_tokens: [{ id: 0, content: '<|endoftext|>', special: true }] };
  const variants = [];
  for (const v of WRONG) {
    variants.push({ ...good, added_tokens: v }, { ...good, added_tokens: [{ id: 1, content: v }] }, { ...good, model: v },
      { ...good, model: { ...good.model, merges: [v] } }, { ...good, model: { ...good.model, vocab: v } }, { ...good, pre_tokenizer: v });
  }
  for (const tj of variants) expectCleanOrOk(() => convertAll({ ...files, 'tokenizer.json': enc.encode(JSON.stringify(tj)) }), `tokenizer.json ${JSON.stringify(tj).slice(0, 60)}`);
});

test('pytorch_model.bin cut at every 97th byte, and its data.pkl cut at every byte', () => {
  const files = readDir(ck.dir('ls_tied_gqa_bin'));
  const bin = files['pytorch_model.bin'];
  for (let cut = 0; cut < bin.length; cut += 97) {
    expectCleanOrOk(() => convertAll({ ...files, 'pytorch_model.bin': bin.subarray(0, cut) }), `cut at ${cut}`);
  }
  const zip = new ZipReader(memorySource(bin), 'seed');
  const pklName = zip.names().find((x) => x.endsWith('data.pkl'));
  const entries = zip.names().map((x) => [x, zip.read(x)]);
  const pkl = zip.read(pklName);
  for (let cut = 0; cut < pkl.length; cut++) {
    const z = writeStoredZip(entries.map(([x, d]) => [x, x === pklName ? pkl.subarray(0, cut) : d]));
    expectCleanOrOk(() => new TorchBinFile(memorySource(z), 'pytorch_model.bin'), `data.pkl cut at ${cut}`);
  }
});

test('damaged GGUFs through the public API (in-process host) reject with coded sentences', async () => {
  const good = makeRandomModel({ shape: 'tiny', type: 'q8_0', nCtx: 64, seed: 31, nVocab: 256 });
  const cacheDir = scratchDir('fuzz-js-api');
  const inputs = [];
  for (const cut of [0, 3, 4, 8, 16, 24, 40, 100, 1000, good.length >> 2, good.length - 1]) inputs.push([`cut at ${cut}`, good.slice(0, cut)]);
  for (const [at, v] of [[4, 0xff], [8, 0xff], [16, 0xff], [23, 0x7f], [24, 0x40], [30, 0xff], [200, 0x00], [600, 0xff]]) {
    const b = good.slice();
    b[at] = v;
    inputs.push([`byte ${at} = ${v}`, b]);
  }
  let rejected = 0;
  for (const [label, bytes] of inputs) {
    try {
      const llm = await MobileLLM.load(bytes, { worker: false, cacheDir });
      await llm.unload();
    } catch (e) {
      rejected++;
      assert.ok(e instanceof MobileLLMError, label);
      assert.ok(API_CODES.has(e.code), `${label}: ${e.code}: ${e.message}`);
      assert.doesNotMatch(e.message, V8_INTERNAL, label);
    }
  }
  assert.ok(rejected >= inputs.length - 4, `most damaged files are refused (${rejected} of ${inputs.length})`);
  fs.rmSync(cacheDir, { recursive: true, force: true });
});
