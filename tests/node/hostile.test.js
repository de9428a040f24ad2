// hostile.test.js — the JS side of issue 19 (hostile files and numbers): each finding of the
// hostile-input run, reproduced as described there, must now end in one coded sentence with
// nothing lost: config.json numbers checked before anything is sized by them (1), pickles that
// cannot go exponential (2), no heap copy past an allocation (3), strict numeric options (5, 9),
// zip CRC-32 and safetensors data ranges (6), errors without V8 internals (7) and control
// characters escaped on a terminal (8).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

import { checkpoints, scratchDir, ROOT } from '../ref/fixtures.js';
import { makeRandomModel } from '../../tools/make_random_model.js';
import { Engine, Generator, MobileLLMError } from '../../wasm_build/engine.js';
import { buildGGUF, memoryFiles, convertHF } from '../../models/convert/convert.js';
import { ConvertError } from '../../models/convert/errors.js';
import { CONFIG_LIMITS } from '../../models/convert/hf_config.js';
import { TorchBinFile } from '../../models/convert/pytorch_bin.js';
import { ZipReader } from '../../models/convert/zip.js';
import { SafetensorsFile, memorySource } from '../../models/convert/safetensors.js';
import { crc32, crc32Js } from '../../models/convert/crc32.js';
import { describeValue } from '../../models/convert/describe.js';
import { loadSource } from '../../worker/source.js';
import { MobileLLM, ArgumentError, OPTIONS, checkOption, parseOption } from '../../worker/index.js';
import { escapeControls } from '../../bin/terminal.js';
import { GGUFWriter, GGUFValueType } from '../../models/convert/gguf_writer.js';
import { GGMLType } from '../../lib/ggml_types.js';
import { writeStoredZip } from '../fuzz/zip_write.js';
import { pickle, OP, str, int, dupTuples } from '../fuzz/pickles.js';
import { V8_INTERNAL } from '../fuzz/oracle.js';

const CLI = path.join(ROOT, 'bin/mobilellm.js');
let work;
let ck;
/** @type {Record<string, Uint8Array>} the safetensors checkpoint's files */
let stFiles;
/** @type {Record<string, Uint8Array>} the pytorch_model.bin checkpoint's files */
let binFiles;

const quiet = { onWarning: () => {} };
const readDir = (d) => Object.fromEntries(fs.readdirSync(d).map((n) => [n, new Uint8Array(fs.readFileSync(path.join(d, n)))]));
const json = (o) => new TextEncoder().encode(JSON.stringify(o));
const config = (files) => JSON.parse(new TextDecoder().decode(files['config.json']));

before(() => {
  work = scratchDir('hostile');
  ck = checkpoints();
  stFiles = readDir(ck.dir('ls_tied_gqa'));
  binFiles = readDir(ck.dir('ls_tied_gqa_bin'));
});
after(() => fs.rmSync(work, { recursive: true, force: true }));

/** A rejection the user may see: a coded error, one sentence, no V8 internals, bounded length. */
function assertClean(e, codes, re) {
  assert.ok(e instanceof ConvertError || e instanceof MobileLLMError, `a coded error, got ${e?.name}: ${e?.message}`);
  assert.ok(codes.includes(e.code), `code ${e.code} is one of ${codes} (${e.message})`);
  assert.doesNotMatch(e.message, V8_INTERNAL, 'no V8-internal text');
  assert.ok(e.message.length < 400, `a short message, got ${e.message.length} characters`);
  if (re) assert.match(e.message, re);
  return true;
}

// ------------------------------------------------------------------ finding 1: config.json numbers

test('config.json numbers beyond the documented caps or the tensors present are refused before anything is built', () => {
  const base = config(stFiles);
  const cases = [
    [{ num_hidden_layers: 100000000 }, 'unsupported', /num_hidden_layers' is 100000000, beyond the 1024/],
    [{ num_hidden_layers: 2 ** 31 }, 'unsupported', /num_hidden_layers/],
    [{ num_hidden_layers: 1000000 }, 'unsupported', /num_hidden_layers/],
    [{ vocab_size: 100000000 }, 'unsupported', /vocab_size' is 100000000/],
    [{ vocab_size: 2 ** 28 }, 'unsupported', /vocab_size/],
    [{ vocab_size: 2 ** 31 }, 'unsupported', /vocab_size/],
    [{ hidden_size: 2 ** 40, head_dim: 16 }, 'unsupported', /hidden_size/],
    [{ intermediate_size: 1e12 }, 'unsupported', /intermediate_size/],
    [{ num_attention_heads: 4096, num_key_value_heads: 2 }, 'unsupported', /num_attention_heads/],
    [{ max_position_embeddings: 2 ** 40 }, 'unsupported', /max_position_embeddings/],
    [{ layer_sharing: 1000 }, 'format', /repeat count from 1 to 16/],
    [{ rms_norm_eps: 1e300 }, 'format', /rms_norm_eps.*float32/],
    // within the caps, but not what the checkpoint holds: refused before the vocabulary or layer plan is sized
    [{ num_hidden_layers: 1000 }, 'format', /num_hidden_layers 1000, but the checkpoint holds 4 blocks/],
    [{ vocab_size: 2000000 }, 'format', /embed_tokens.weight' has shape \[400,64\], but config.json says vocab_size 2000000/],
    [{ num_hidden_layers: 1.5 }, 'format', /positive integer, not 1.5/],
    [{ vocab_size: '400' }, 'format', /positive integer, not '400'/],
  ];
  for (const [patch, code, re] of cases) {
    const files = memoryFiles({ ...stFiles, 'config.json': json({ ...base, ...patch }) });
    assert.throws(() => buildGGUF(files, quiet), (e) => assertClean(e, [code], re), JSON.stringify(patch));
  }
  assert.equal(CONFIG_LIMITS.shareRepeat, 16, 'the engine limit MLLM_MAX_SHARE_REPEAT (src/model.h)');
  // The unchanged checkpoint still converts.
  assert.ok(buildGGUF(memoryFiles(stFiles), quiet).writer.tensors.length > 0);
});

test('a hostile config.json through the CLI ends in one sentence inside a 256 MB V8 heap', () => {
  for (const patch of [{ num_hidden_layers: 100000000 }, { vocab_size: 2 ** 31 }, { num_hidden_layers: 1000000 }]) {
    const d = path.join(work, `cfg-${Object.values(patch)[0]}`);
    fs.mkdirSync(d, { recursive: true });
    for (const [n, b] of Object.entries(stFiles)) fs.writeFileSync(path.join(d, n), b);
    fs.writeFileSync(path.join(d, 'config.json'), JSON.stringify({ ...config(stFiles), ...patch }));
    const r = spawnSync(process.execPath, ['--max-old-space-size=256', CLI, 'convert', d, '-o', path.join(d, 'out.gguf')],
      { encoding: 'utf8', env: { ...process.env, MOBILELLM_CACHE_DIR: path.join(work, 'cache') } });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /^mobilellm: config\.json key '\w+' is \d+, beyond the \d+ the converter supports\.\n$/);
  }
});

test('a config.json too large to be one is refused by its size, not read', async () => {
  const d = path.join(work, 'cfg-huge');
  fs.mkdirSync(d, { recursive: true });
  for (const [n, b] of Object.entries(stFiles)) fs.writeFileSync(path.join(d, n), b);
  fs.truncateSync(path.join(d, 'config.json'), 3 * 2 ** 30); // sparse 3 GiB
  await assert.rejects(convertHF(d, quiet), (e) => assertClean(e, ['format'], /config\.json is 3221225472 bytes, more than the 268435456 a config\.json can need/));
});

// ------------------------------------------------------------------ finding 2: pickles

/** The fixture's pytorch_model.bin with data.pkl replaced (CRCs recomputed by zlib). */
function withPickle(pkl) {
  const src = memorySource(binFiles['pytorch_model.bin']);
  const zip = new ZipReader(src, 'fixture');
  const entries = zip.names().map((n) => [n, n.endsWith('/data.pkl') ? pkl : zip.read(n)]);
  return memorySource(writeStoredZip(entries));
}

test('pickles built to blow up (shared tuples, deep nesting, huge integers, long spreads) fail fast with a bounded sentence', () => {
  const proto = [OP.PROTO, 2];
  const cases = [
    // DUP; TUPLE2 nested 60 times: 2^60 leaves if anything walked them
    ['a shared-tuple persistent id', pickle(proto, str('x'), dupTuples(60), OP.BINPERSID, OP.STOP), /persistent id \[\[\[/],
    ['a shared-tuple module name', pickle(proto, str('x'), dupTuples(60), str('y'), OP.STACK_GLOBAL, OP.STOP), /names a Python object by \[/],
    ['a shared-tuple root', pickle(proto, str('x'), dupTuples(60), OP.STOP), /holds \[\[\[.*not a state dict/],
    ['100000 nested MARKs', pickle(proto, new Array(100000).fill(OP.MARK), OP.STOP), /opens more than 100 MARKs/],
    ['lists nested 200000 deep', pickle(proto, new Array(200000).fill([OP.EMPTY_LIST, OP.MARK]).flat(), OP.STOP), /MARKs|nests/],
    ['a 1 MB integer', pickle(proto, OP.LONG4, int(1 << 20).slice(1), new Uint8Array(1 << 20).fill(0x7f), OP.STOP), /integer of 1048576 bytes/],
    ['a non-string storage key', pickle(proto, OP.MARK, str('storage'), str('torch'), str('FloatStorage'), OP.STACK_GLOBAL,
      str('x'), dupTuples(40), str('cpu'), int(4), OP.TUPLE, OP.BINPERSID, OP.STOP), /names a storage record \[/],
    ['a global that is not whitelisted', pickle(proto, OP.GLOBAL, new TextEncoder().encode(`os\n${'system'.repeat(10000)}\n`), OP.STOP), /refers to the Python object 'os\.systemsystem/],
  ];
  for (const [label, pkl, re] of cases) {
    assert.throws(() => new TorchBinFile(withPickle(pkl), 'pytorch_model.bin'), (e) => assertClean(e, ['format', 'unsupported'], re), label);
  }
  // A list of 300,000 items appended at once (APPENDS) is data, not a call-stack overflow.
  const many = [];
  for (let i = 0; i < 300000; i++) many.push(OP.BININT1, i & 0xff);
  assert.throws(() => new TorchBinFile(withPickle(pickle(proto, OP.EMPTY_LIST, OP.MARK, many, OP.APPENDS, OP.STOP)), 'pytorch_model.bin'),
    (e) => assertClean(e, ['format'], /holds \[0, 1, 2, 3, 4, 5, … 300000 items\], not a state dict/));
});

test('describeValue visits a bounded part of any value and spells NaN, BigInt and cycles plainly', () => {
  let dag = ['leaf'];
  for (let i = 0; i < 64; i++) dag = Object.freeze([dag, dag]);
  assert.ok(describeValue(dag).length <= 80);
  const cyc = [];
  cyc.push(cyc);
  assert.match(describeValue(cyc), /^\[\[\[\[…\]\]\]\]$/);
  assert.equal(describeValue(NaN), 'NaN');
  assert.equal(describeValue([NaN, -Infinity, 2n ** 70n]), '[NaN, -Infinity, 1180591620717411303424n]');
  assert.equal(describeValue(Object.create(null)), '{}');
  assert.equal(describeValue(Symbol('s')), 'a symbol');
  assert.equal(describeValue('x'.repeat(1000)).length, 80);
});

// ------------------------------------------------------------------ finding 6 (converter part): integrity

test('zip CRC-32 (the plain-JS one checked against zlib) refuses a pytorch_model.bin whose record or data.pkl was altered', () => {
  for (const n of [0, 1, 7, 8, 9, 4095, 100003]) {
    const b = new Uint8Array(n).map((_, i) => (i * 2654435761) >>> 24);
    assert.equal(crc32Js(b), zlib.crc32(b), `${n} bytes`);
    assert.equal(crc32Js(b.subarray(3), crc32Js(b.subarray(0, 3))), zlib.crc32(b), `${n} bytes in two parts`);
    assert.equal(crc32(b.subarray(3), crc32(b.subarray(0, 3))), zlib.crc32(b), `${n} bytes in two parts (the runtime's)`);
  }
  const orig = binFiles['pytorch_model.bin'];
  const zip = new ZipReader(memorySource(orig), 'fixture');
  const rec = zip.names().find((n) => /\/data\/\d+$/.test(n));
  const recAt = zip.locate(rec).offset;
  const pkl = zip.names().find((n) => n.endsWith('data.pkl'));
  const pklAt = zip.locate(pkl).offset;

  // One flipped bit in a weight record: the conversion (which reads every tensor) refuses it.
  const flipped = orig.slice();
  flipped[recAt + 5] ^= 0x10;
  assert.throws(() => {
    const { writer } = buildGGUF(memoryFiles({ ...binFiles, 'pytorch_model.bin': flipped }), quiet);
    for (const t of writer.tensors) t.bytes();
  }, (e) => assertClean(e, ['format'], new RegExp(`entry '${rec.replace(/[./]/g, '\\$&')}' is damaged: its CRC-32 is 0x[0-9a-f]{8}, not the 0x[0-9a-f]{8}`)));
  // data.pkl is checked before it is unpickled.
  const badPkl = orig.slice();
  badPkl[pklAt + 40] ^= 0x01;
  assert.throws(() => new TorchBinFile(memorySource(badPkl), 'pytorch_model.bin'), (e) => assertClean(e, ['format'], /data\.pkl' is damaged: its CRC-32/));
  // The original converts.
  const { writer } = buildGGUF(memoryFiles(binFiles), quiet);
  for (const t of writer.tensors) t.bytes();
});

/** A safetensors file from a header object and a data section. */
function safetensors(header, data) {
  const h = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

test('safetensors with overlapping, out-of-file or malformed data_offsets are format errors naming the tensor', () => {
  const t = (begin) => ({ dtype: 'F32', shape: [2], data_offsets: [begin, begin + 8] });
  const cases = [
    ['every tensor at 0', { a: t(0), b: t(0) }, 16, /tensors 'a' and 'b' have overlapping data_offsets/],
    ['a partial overlap', { a: t(0), b: t(4) }, 16, /overlapping/],
    ['past the end', { a: t(0), b: t(12) }, 16, /'b' extends past the end of the file/],
    ['a huge shape', { a: { dtype: 'F32', shape: [2 ** 60, 2 ** 60], data_offsets: [0, 8] } }, 8, /malformed shape \[1152921504606847000, /],
    ['a bad dtype', { a: { dtype: 'constructor', shape: [2], data_offsets: [0, 8] } }, 8, /unknown dtype 'constructor'/],
    ['not an entry', { a: 5 }, 8, /malformed header entry 5/],
    ['null entry', { a: null }, 8, /malformed header entry null/],
    ['metadata that is not strings', { __metadata__: { k: [1] } }, 0, /__metadata__/],
  ];
  for (const [label, header, n, re] of cases) {
    assert.throws(() => new SafetensorsFile(memorySource(safetensors(header, new Uint8Array(n))), 'model.safetensors'),
      (e) => assertClean(e, ['format'], re), label);
  }
  // Back to back is fine.
  const ok = new SafetensorsFile(memorySource(safetensors({ a: t(0), b: t(8) }, new Uint8Array(16))), 'x');
  assert.deepEqual([...ok.tensors.keys()], ['a', 'b']);
});

// ------------------------------------------------------------------ finding 3: the heap

/** Greedy text of a model in a fresh context. @param {import('../../wasm_build/engine.js').Model} model */
function greedyText(model) {
  const ctx = model.newContext({ nCtx: 64 });
  const s = model.newSampler({ temperature: 0 });
  const g0 = model.tokenize('w1 w2 w3');
  for (const id of g0) s.accept(id);
  ctx.eval(g0);
  const g = new Generator(ctx, s, { maxTokens: 24, ignoreEos: true });
  let out = '';
  for (;;) {
    const r = g.step();
    out += r.text;
    if (r.stop) break;
  }
  g.free();
  s.free();
  ctx.free();
  return out;
}

test('a file over what wasm32 addresses is refused before any copy, and a loaded model keeps its text', async () => {
  const HUGE = 4365209024; // 4 GiB + 70 MB: wrapped to 70 MB by a 32-bit malloc before
  const eng = await Engine.create();
  const model = eng.loadModel(makeRandomModel({ shape: 'tiny', type: 'q8_0', nCtx: 64, seed: 21 }));
  const text = greedyText(model);
  assert.ok(text.length > 20, text);

  const sparse = path.join(work, 'huge.gguf');
  fs.writeFileSync(sparse, makeRandomModel({ shape: 'tiny', type: 'q8_0', nCtx: 64, seed: 22 }));
  fs.truncateSync(sparse, HUGE); // sparse: no disk blocks for the hole
  const lc = () => ({ signal: new AbortController().signal, onProgress: () => {}, warnings: [], store: null });
  const untouchable = { size: HUGE, slice() { throw new Error('the source was read before its size was checked'); } };
  const fakeStore = {
    getMeta: async () => ({ id: 'url:x', source: 'x', kind: 'gguf', complete: true, size: HUGE, chunkSize: 1 << 24 }),
    putMeta: async () => {},
    readChunkInto: () => { throw new Error('the entry was read before its size was checked'); },
  };
  const huge = [
    ['a sparse file', () => loadSource(eng, { type: 'path', path: sparse }, lc())],
    ['a Blob-like source', () => loadSource(eng, { type: 'blob', blob: /** @type {any} */ (untouchable), name: 'huge.gguf' }, lc())],
    ['a cache entry', () => loadSource(eng, { type: 'cache', key: 'url:x' }, { ...lc(), store: fakeStore })],
  ];
  for (const [label, load] of huge) {
    await assert.rejects(load(), (e) => assertClean(e, ['unsupported'], /4365209024 bytes is more than the 4 GiB the engine's wasm32 memory can address/), label);
  }
  for (const bad of [2 ** 32, 2 ** 53, -1, 1.5, NaN]) assert.throws(() => eng.alloc(bad), MobileLLMError, String(bad));
  // Failed loads of damaged files in between: none may disturb the loaded model.
  const good = makeRandomModel({ shape: 'tiny', type: 'q8_0', nCtx: 64, seed: 23 });
  for (const cut of [8, 100, good.length >> 1, good.length - 1]) {
    assert.throws(() => eng.loadModel(good.subarray(0, cut)), (e) => assertClean(e, ['format']), `cut at ${cut}`);
  }
  assert.equal(greedyText(model), text, 'the model generates the same text after every failed load');
  model.free();
});

// ------------------------------------------------------------------ findings 5 and 9: numeric options

test('numeric options are parsed strictly from one table: the CLI names the flag and the range, before any work', () => {
  const tiny = path.join(work, 'tiny.gguf');
  fs.writeFileSync(tiny, makeRandomModel({ shape: 'tiny', type: 'q8_0', nCtx: 64, seed: 7 }));
  const run = (args) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  const cases = [
    [['--ctx', '4294967296'], /--ctx must be an integer from 1 to 16777216, not '4294967296'/],
    [['--ctx', '4294967299'], /--ctx must be an integer from 1 to 16777216/],
    [['--ctx', '65'], /--ctx must be an integer from 1 to 64 \(this model's context_length\), not 65/],
    [['--ctx', '0'], /--ctx must be an integer from 1/],
    [['-n', '4294967297'], /-n must be an integer from 0 to 2147483647/],
    [['--seed', '4294967296'], /--seed must be an integer from 0 to 4294967295, not '4294967296'/],
    [['--seed', String(2 ** 53 + 1)], /--seed must be an integer from 0 to 4294967295/],
    [['--seed', '0x10'], /--seed/],
    [['--temp', '1e39'], /--temp must be a number from 0 to 100, not '1e39'/],
    [['--temp', '-1'], /--temp must be a number from 0 to 100/],
    [['--temp', 'NaN'], /--temp/],
    [['--top-p', '2'], /--top-p must be a number above 0 up to 1, not '2'/],
    [['--top-p', '0'], /--top-p/],
    [['--min-p', '5'], /--min-p must be a number from 0 to 1/],
    [['--top-k', '-5'], /--top-k must be an integer from 0 to 2147483647, not '-5'/],
    [['--top-k', '2.5'], /--top-k/],
    [['--repeat-penalty', '0'], /--repeat-penalty must be a number above 0 up to 100/],
  ];
  for (const [args, re] of cases) {
    const r = run(['generate', '-m', tiny, ...args, 'hi']);
    assert.equal(r.status, 2, `${args}: ${r.stderr}`);
    assert.match(r.stderr, /^mobilellm: The option [^\n]+\.\n$/, args.join(' '));
    assert.match(r.stderr, re, args.join(' '));
    assert.equal(r.stdout, '', 'nothing generated');
  }
  // finding 9: the thread count is checked before any worker starts
  const b = run(['bench', '-m', tiny, '--threads', '1000']);
  assert.equal(b.status, 2, b.stderr);
  assert.match(b.stderr, /--threads must be an integer from 1 to 16, not '1000'/);
  // Boundaries that are valid still run.
  const ok = run(['generate', '-m', tiny, '-n', '3', '--seed', '4294967295', '--top-p', '1', '--min-p', '0', '--temp', '0', '--ctx', '64', 'hi']);
  assert.equal(ok.status, 0, ok.stderr);
});

test('the API refuses the same values with an argument error naming the option, before a worker starts', async () => {
  const tiny = path.join(work, 'tiny-api.gguf');
  fs.writeFileSync(tiny, makeRandomModel({ shape: 'tiny', type: 'q8_0', nCtx: 64, seed: 8 }));
  const cacheDir = path.join(work, 'api-cache');
  const loadCases = [
    [{ nCtx: 'abc' }, /option nCtx must be an integer from 1 to 16777216, not 'abc'/],
    [{ nCtx: 4294967299 }, /nCtx/],
    [{ nCtx: NaN }, /nCtx must be an integer from 1 to 16777216, not NaN\./],
    [{ threads: 1000 }, /option threads must be an integer from 1 to 16, not 1000/],
    [{ threads: 2.5 }, /threads/],
  ];
  for (const [opts, re] of loadCases) {
    await assert.rejects(MobileLLM.load(tiny, { cacheDir, ...opts }), (e) => e instanceof ArgumentError && e.code === 'argument' && re.test(e.message), JSON.stringify(opts));
  }
  await assert.rejects(MobileLLM.load(tiny, { cacheDir, nCtx: 65 }), (e) => e.code === 'argument' && /nCtx must be an integer from 1 to 64 \(this model's context_length\)/.test(e.message));
  const llm = await MobileLLM.load(tiny, { cacheDir, nCtx: 64 });
  try {
    const genCases = [
      [{ maxTokens: 4294967297 }, /maxTokens must be an integer from 0 to 2147483647, not 4294967297/],
      [{ seed: 4294967296 }, /seed must be an integer from 0 to 4294967295/],
      [{ seed: 2 ** 53 + 2 }, /seed/],
      [{ temperature: 1e39 }, /temperature must be a number from 0 to 100, not 1e\+39/],
      [{ temperature: -1 }, /temperature/],
      [{ temperature: NaN }, /temperature must be a number from 0 to 100, not NaN\./],
      [{ topP: 2 }, /topP must be a number above 0 up to 1/],
      [{ minP: 5 }, /minP/],
      [{ topK: -5 }, /topK/],
      [{ topK: '40' }, /topK must be an integer from 0 to 2147483647, not '40'/],
      [{ repeatLastN: 2 ** 21 }, /repeatLastN/],
    ];
    for (const [opts, re] of genCases) {
      await assert.rejects(llm.generate('w1', opts).next(), (e) => e instanceof ArgumentError && re.test(e.message), JSON.stringify(opts));
    }
    for (const [bad, re] of [[null, /generate\(\) takes a string or an array of token ids, not null/], [42, /not number/], [{ length: 2 ** 40 }, /more than any context holds/]]) {
      await assert.rejects(llm.generate(/** @type {any} */ (bad)).next(), (e) => e instanceof ArgumentError && e.code === 'argument' && re.test(e.message), String(bad));
    }
    await assert.rejects(llm.logits(/** @type {any} */ (null)), (e) => e.code === 'argument');
    await assert.rejects(llm.generate('w1', /** @type {any} */ (null)).next(), (e) => e.code === 'argument');
    // the model still works
    let n = 0;
    for await (const _ of llm.generate('w1', { maxTokens: 3, temperature: 0, seed: 4294967295 })) n++;
    assert.ok(n >= 1);
  } finally {
    await llm.unload();
  }
});

test('the engine binding refuses thread counts beyond its pools, and numbers its int32 / uint32 / float32 struct fields would wrap or overflow', async () => {
  for (const threads of [1000, 0, 2.5]) {
    await assert.rejects(Engine.create({ threads }), (e) => e instanceof MobileLLMError && e.code === 'argument' && /threads must be an integer from 1 to 31/.test(e.message));
  }
  const eng = await Engine.create();
  const model = eng.loadModel(makeRandomModel({ shape: 'tiny', type: 'q8_0', nCtx: 64, seed: 24 }));
  for (const o of [{ seed: 2 ** 32 }, { seed: -1 }, { seed: 1.5 }, { topK: 2 ** 31 }, { repeatLastN: 2 ** 32 + 5 }, { temperature: 1e39 }, { topP: Infinity }, { minP: NaN }]) {
    assert.throws(() => model.newSampler(o), (e) => e instanceof MobileLLMError && e.code === 'argument', JSON.stringify(o));
  }
  for (const o of [{ nCtx: 4294967299 }, { nCtx: 2 ** 31 }, { nBatch: 1.5 }, { threads: 2 ** 32 }]) {
    assert.throws(() => model.newContext(o), (e) => e instanceof MobileLLMError && e.code === 'argument', JSON.stringify(o));
  }
  const ctx = model.newContext({ nCtx: 16 });
  const s = model.newSampler({ seed: 2 ** 32 - 1 });
  ctx.eval(model.tokenize('w1'));
  assert.throws(() => new Generator(ctx, s, { maxTokens: 4294967297 }), (e) => e.code === 'argument' && /maxTokens/.test(e.message));
  s.free();
  ctx.free();
  model.free();
});

test('checkOption and parseOption hold every option to its table range', () => {
  for (const [name, s] of Object.entries(OPTIONS)) {
    assert.equal(checkOption(name, s.max), s.max, `${name} max`);
    assert.throws(() => checkOption(name, s.int ? s.max + 1 : s.max * 1.0001 + 1e-9), ArgumentError, `${name} above max`);
    if (!s.minExclusive) assert.equal(checkOption(name, s.min), s.min, `${name} min`);
    assert.throws(() => checkOption(name, s.minExclusive ? s.min : s.min - 1), ArgumentError, `${name} below min`);
    for (const bad of [NaN, Infinity, '1', null, true, 1n]) assert.throws(() => checkOption(name, bad), ArgumentError, `${name} ${String(bad)}`);
    if (s.int) assert.throws(() => checkOption(name, s.min + 0.5), ArgumentError, `${name} fraction`);
    assert.equal(parseOption(name, String(s.max)), s.max);
    for (const bad of ['', ' ', '0x1', '1_0', 'Infinity', '1e400', '--1']) assert.throws(() => parseOption(name, bad), ArgumentError, `${name} '${bad}'`);
  }
  assert.throws(() => checkOption('temperature', NaN), /not NaN\./);
});

// ------------------------------------------------------------------ finding 8: terminal escapes

/** A tiny llama model whose normal pieces are all terminal control sequences. */
function escapeVocabModel() {
  const pieces = ['<unk>', '<s>', '</s>', '\x1b]0;pwned\x07', '\x1b[2J', 'A\x00B', '\x1b[31mred', '\u009b1m', '\r\x7f', '\x07bell', '\x1bc'];
  const n = pieces.length;
  const w = new GGUFWriter({ alignment: 32 });
  const nEmbd = 16, nFf = 32, nHead = 2;
  w.addString('general.architecture', 'llama');
  w.addString('general.name', 'escapes');
  w.addU32('llama.context_length', 64);
  w.addU32('llama.embedding_length', nEmbd);
  w.addU32('llama.feed_forward_length', nFf);
  w.addU32('llama.block_count', 1);
  w.addU32('llama.attention.head_count', nHead);
  w.addU32('llama.attention.head_count_kv', nHead);
  w.addU32('llama.rope.dimension_count', nEmbd / nHead);
  w.addF32('llama.attention.layer_norm_rms_epsilon', 1e-5);
  w.addString('tokenizer.ggml.model', 'llama');
  w.addArray('tokenizer.ggml.tokens', GGUFValueType.STRING, pieces);
  w.addArray('tokenizer.ggml.scores', GGUFValueType.FLOAT32, new Float32Array(n));
  w.addArray('tokenizer.ggml.token_type', GGUFValueType.INT32, Int32Array.from(pieces, (_, i) => (i === 0 ? 2 : i < 3 ? 3 : 1)));
  w.addU32('tokenizer.ggml.bos_token_id', 1);
  w.addU32('tokenizer.ggml.eos_token_id', 2);
  w.addU32('tokenizer.ggml.unknown_token_id', 0);
  let s = 99;
  const rnd = (k) => Float32Array.from({ length: k }, () => { s = (s * 1103515245 + 12345) >>> 0; return (s / 2 ** 32 - 0.5) * 0.5; });
  const ones = (k) => new Float32Array(k).fill(1);
  const bytes = (f) => new Uint8Array(f.buffer);
  w.addTensor('token_embd.weight', GGMLType.F32, [nEmbd, n], bytes(rnd(nEmbd * n)));
  w.addTensor('output_norm.weight', GGMLType.F32, [nEmbd], bytes(ones(nEmbd)));
  w.addTensor('blk.0.attn_norm.weight', GGMLType.F32, [nEmbd], bytes(ones(nEmbd)));
  for (const t of ['attn_q', 'attn_k', 'attn_v', 'attn_output']) w.addTensor(`blk.0.${t}.weight`, GGMLType.F32, [nEmbd, nEmbd], bytes(rnd(nEmbd * nEmbd)));
  w.addTensor('blk.0.ffn_norm.weight', GGMLType.F32, [nEmbd], bytes(ones(nEmbd)));
  w.addTensor('blk.0.ffn_gate.weight', GGMLType.F32, [nEmbd, nFf], bytes(rnd(nEmbd * nFf)));
  w.addTensor('blk.0.ffn_up.weight', GGMLType.F32, [nEmbd, nFf], bytes(rnd(nEmbd * nFf)));
  w.addTensor('blk.0.ffn_down.weight', GGMLType.F32, [nFf, nEmbd], bytes(rnd(nEmbd * nFf)));
  return w.toBuffer();
}

test('on a terminal the CLI writes control characters from model text as visible escapes; --raw and pipes keep the bytes', () => {
  assert.equal(escapeControls('a\x1b]0;t\x07b\n\tc\x00\x7f\u009b\r'), 'a\\x1b]0;t\\x07b\n\tc\\x00\\x7f\\u009b\\x0d');
  const model = path.join(work, 'escapes.gguf');
  fs.writeFileSync(model, escapeVocabModel());
  const args = ['generate', '-m', model, '-n', '40', '--temp', '1.5', '--seed', '5', '--ignore-eos', '--min-p', '0', 'x'];
  const viaPty = (extra) => {
    // script(1) from util-linux runs the command on a real pseudo-terminal (--quiet: no progress
    // line on the terminal's stderr, so what shows is the model's text alone).
    const cmd = [process.execPath, CLI, ...args, '--quiet', ...extra].map((a) => `'${a}'`).join(' ');
    const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'latin1' });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  };
  const pipe = spawnSync(process.execPath, [CLI, ...args], { encoding: 'latin1' });
  assert.equal(pipe.status, 0, pipe.stderr);
  assert.match(pipe.stdout, /\x1b/, 'the model does emit ESC (the pipe gets it raw)');

  const tty = viaPty([]);
  // Only the pty's own CR-LF line ends remain as control characters.
  // eslint-disable-next-line no-control-regex
  const controls = tty.replace(/\r\n/g, '\n').match(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/g);
  assert.equal(controls, null, `no raw control characters on the terminal: ${JSON.stringify(controls)}`);
  assert.match(tty, /\\x1b/, 'ESC shown as \\x1b');
  // The escaped terminal text is exactly the piped bytes escaped (same seed, same tokens).
  assert.equal(tty.replace(/\r\n/g, '\n'), escapeControls(Buffer.from(pipe.stdout, 'latin1').toString('utf8')));

  const raw = viaPty(['--raw']);
  assert.match(raw, /\x1b/, '--raw keeps ESC');
});
