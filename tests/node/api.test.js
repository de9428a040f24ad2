// The JS API (worker/index.js) in Node: every source form, streaming generation, busy / abort /
// context limits, the file-system cache with resumable downloads and corruption checks, the
// Hugging Face Hub path (served locally by tests/browser/server.js), and checkpoints written by
// PyTorch itself (safetensors and torch.save, fp16 / bf16 / fp32, with and without layer
// sharing) checked against the PyTorch reference forward pass (tests/ref/mobilellm_ref.py).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';

import {
  MobileLLM, MobileLLMError, AbortError, BusyError, ContextFullError, DownloadError, FormatError, UnsupportedError,
  QuotaError, StateError, ArgumentError, CacheError, resolveModelFile, convertSource,
} from '../../worker/index.js';
import { ensureSpace, EntryWriter } from '../../worker/cache_writer.js';
import { FsStore } from '../../worker/cache_fs.js';
import { MemoryStore } from '../../worker/cache_memory.js';
import { makeRandomModel } from '../../tools/make_random_model.js';
import { convertHF } from '../../models/convert/convert.js';
import { startServer } from '../browser/server.js';
import { checkpoints, referenceLogits, scratchDir, python, relMaxDiff, argmax } from '../ref/fixtures.js';

const TOL = 1e-5; // F32 engine vs float64 PyTorch: max |diff| per position as a fraction of its logit range
const GREEDY = { temperature: 0, repeatPenalty: 1, ignoreEos: true };

let work, tiny, tiny2, srv, ck, torchDir;

/** Extra torch.save checkpoints, written by PyTorch from the safetensors fixtures' weights. */
const TORCH_VARIANTS = String.raw`
import collections, io, json, os, pickle, shutil, sys, zipfile
import torch
sys.path.insert(0, 'tests/ref')
from mobilellm_ref import load_checkpoint
hf, out = sys.argv[1], sys.argv[2]

def dir_like(src, name, cfg_edit=None):
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    for f in ('config.json', 'tokenizer.model', 'tokenizer_config.json'):
        shutil.copy(os.path.join(hf, src, f), d)
    if cfg_edit:
        p = os.path.join(d, 'config.json')
        cfg = json.load(open(p)); cfg_edit(cfg); json.dump(cfg, open(p, 'w'))
    return d

# bf16, layer sharing, tied, plus an lm_head.weight sharing the embedding's storage (unused
# beside share_embedding), saved as transformers does: an OrderedDict with _metadata.
cfg, w = load_checkpoint(os.path.join(hf, 'ls_tied_gqa'))
sd = collections.OrderedDict((k, v.to(torch.bfloat16)) for k, v in w.items())
sd['lm_head.weight'] = sd['model.embed_tokens.weight']
sd._metadata = collections.OrderedDict({'': {'version': 1}})
torch.save(sd, os.path.join(dir_like('ls_tied_gqa', 'bin_bf16_ls'), 'pytorch_model.bin'))

# fp32, untied, no sharing, pickle protocol 4, with a transposed (column-major) view and a view
# at a storage offset: the reader must honour strides and offsets.
cfg, w = load_checkpoint(os.path.join(hf, 'untied_gqa'))
sd = {k: v.clone() for k, v in w.items()}
q = sd['model.layers.1.self_attn.q_proj.weight']
sd['model.layers.1.self_attn.q_proj.weight'] = q.t().contiguous().t()
up = sd['model.layers.0.mlp.up_proj.weight']
sd['model.layers.0.mlp.up_proj.weight'] = torch.cat([torch.zeros(3, up.shape[1]), up])[3:]
assert not sd['model.layers.1.self_attn.q_proj.weight'].is_contiguous()
assert sd['model.layers.0.mlp.up_proj.weight'].storage_offset() == 3 * up.shape[1]
torch.save(sd, os.path.join(dir_like('untied_gqa', 'bin_f32_views'), 'pytorch_model.bin'), pickle_protocol=4)

# The fp16 checkpoint re-zipped by Python's zipfile: no 64-byte alignment, ZIP64 local headers.
src = os.path.join(hf, 'ls_tied_gqa_bin', 'pytorch_model.bin')
d = dir_like('ls_tied_gqa', 'bin_rezipped')
with zipfile.ZipFile(src) as zin, zipfile.ZipFile(os.path.join(d, 'pytorch_model.bin'), 'w', zipfile.ZIP_STORED) as zout:
    zout.writestr('x', b'')  # shifts every record off its alignment
    for info in zin.infolist():
        with zout.open(info.filename, 'w', force_zip64=True) as f:
            f.write(zin.read(info.filename))

# A pickle that would run a command when unpickled by Python: must be refused, not run.
class Evil:
    def __reduce__(self):
        return (os.system, ('touch ' + os.path.join(out, 'PWNED'),))
d = dir_like('ls_tied_gqa', 'bin_evil')
with zipfile.ZipFile(os.path.join(d, 'pytorch_model.bin'), 'w', zipfile.ZIP_STORED) as z:
    z.writestr('archive/data.pkl', pickle.dumps({'model.embed_tokens.weight': Evil()}, protocol=2))
    z.writestr('archive/version', '3\n')
`;

before(async () => {
  work = scratchDir('api-test');
  tiny = path.join(work, 'tiny.gguf');
  tiny2 = path.join(work, 'tiny-seed4.gguf');
  fs.writeFileSync(tiny, makeRandomModel({ shape: 'tiny', type: 'q8_0', seed: 3, nCtx: 256 }));
  fs.writeFileSync(tiny2, makeRandomModel({ shape: 'tiny', type: 'q8_0', seed: 4, nCtx: 256 }));
  ck = checkpoints();
  torchDir = path.join(work, 'torch');
  python(['-c', TORCH_VARIANTS, path.dirname(ck.dir('ls_tied_gqa')), torchDir]);
  srv = await startServer();
});

after(async () => {
  await srv?.close();
  fs.rmSync(work, { recursive: true, force: true });
});

/** A fresh cache directory per test, so tests do not see each other's entries. */
let cacheN = 0;
const freshCache = () => path.join(work, `cache-${++cacheN}`);

/** @returns {Promise<{text: string, tokens: number[]}>} */
async function collect(llm, prompt, opts) {
  let text = '';
  const tokens = [];
  for await (const e of llm.generate(prompt, opts)) {
    text += e.text;
    if (e.token !== null) tokens.push(e.token);
  }
  return { text, tokens };
}

function oneSentence(e) {
  assert.ok(e instanceof MobileLLMError, `${e?.name}: ${e?.message} is a MobileLLMError`);
  assert.equal(e.message.trim().split(/(?<=\.)\s+(?=[A-Z])/).length, 1, `one sentence: ${e.message}`);
  assert.match(e.message, /\.$/);
}

const sha = (b) => crypto.createHash('sha256').update(b).digest('hex');

// ------------------------------------------------------------------------------ sources

test('every source form (path, ArrayBuffer, view, Blob, URL, in process) loads the same model and greedy-generates the same tokens', async () => {
  const bytes = fs.readFileSync(tiny);
  srv.serveFile('/same/tiny.gguf', { path: tiny });
  const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length);
  const big = new Uint8Array(bytes.length + 16);
  big.set(bytes, 8);
  const view = big.subarray(8, 8 + bytes.length);
  const cacheDir = freshCache();
  const sources = [['path', tiny, {}], ['ArrayBuffer', ab, {}], ['typed-array view', view, {}], ['Blob', new Blob([bytes]), {}],
    ['URL', `${srv.url}/same/tiny.gguf`, {}], ['path, in process', tiny, { worker: false }]];
  let baseline = null;
  for (const [label, src, o] of sources) {
    const llm = await MobileLLM.load(src, { cacheDir, ...o });
    try {
      assert.equal(llm.info.nLayerStored, 4, label);
      assert.equal(llm.info.nVocab, 32000, label);
      assert.equal(llm.info.quant, 'Q8_0', label);
      assert.equal(llm.info.nCtx, 256, label);
      const { tokens } = await collect(llm, 'w300 w301 w302', { ...GREEDY, maxTokens: 12 });
      assert.equal(tokens.length, 12, label);
      if (baseline) assert.deepEqual(tokens, baseline, `${label} generates what the path source does`);
      else baseline = tokens;
    } finally {
      await llm.unload();
    }
  }
  assert.equal(ab.byteLength, 0, 'an ArrayBuffer source is transferred to the worker, not cloned');
  assert.equal(big.byteLength, bytes.length + 16, 'a partial view is copied, leaving the caller its buffer');
});

test('threads: 2 runs the pthreads build (info.threads 2, SIMD) and generates the same greedy tokens and bit-identical logits as 1', async () => {
  const runs = {};
  for (const threads of [1, 2]) {
    const llm = await MobileLLM.load(tiny, { cacheDir: freshCache(), threads });
    try {
      assert.equal(llm.info.threads, threads);
      assert.equal(llm.info.simd, true, 'Node runs the SIMD128 build');
      assert.deepEqual(llm.info.warnings, []);
      const { tokens } = await collect(llm, 'w300 w301 w302 w303 w304 w305', { ...GREEDY, maxTokens: 16 });
      const logits = await llm.logits([1, 700, 701, 702, 703, 704, 705, 706, 707]);
      runs[threads] = { tokens, logits };
    } finally {
      await llm.unload();
    }
  }
  assert.equal(runs[2].tokens.length, 16);
  assert.deepEqual(runs[2].tokens, runs[1].tokens);
  assert.equal(runs[2].logits.length, 9 * 32000);
  assert.ok(runs[2].logits.every((x, i) => Object.is(x, runs[1].logits[i])), 'logits bit-identical across thread counts');
  for (const bad of [0, 1.5, 17, '2']) {
    await assert.rejects(MobileLLM.load(tiny, { cacheDir: freshCache(), threads: bad }),
      (e) => e instanceof ArgumentError && /threads/.test(e.message) && (oneSentence(e), true), `threads ${bad}`);
  }
});

test('generate streams { text, token }: texts concatenate to the detokenized tokens; lastStats counts them; a seed reproduces', async () => {
  const llm = await MobileLLM.load(tiny, { cacheDir: freshCache() });
  try {
    assert.equal(llm.lastStats, null);
    const prompt = 'w300 w301';
    const a = await collect(llm, prompt, { maxTokens: 20, seed: 7, ignoreEos: true });
    assert.equal(a.tokens.length, 20);
    assert.equal(a.text, await llm.detokenize(a.tokens, { stripLeadingSpace: false }));
    const s = llm.lastStats;
    assert.equal(s.promptTokens, (await llm.tokenize(prompt)).length);
    assert.equal(s.generatedTokens, 20);
    assert.equal(s.stopReason, 'length');
    assert.equal(s.seed, 7);
    assert.ok(s.prefillTokPerS > 0 && s.decodeTokPerS > 0 && s.heapBytes > fs.statSync(tiny).size, JSON.stringify(s));
    const b = await collect(llm, prompt, { maxTokens: 20, seed: 7, ignoreEos: true });
    assert.deepEqual(b.tokens, a.tokens, 'same seed, same tokens');
    const c = await collect(llm, prompt, { maxTokens: 20, seed: 8, ignoreEos: true });
    assert.notDeepEqual(c.tokens, a.tokens, 'another seed, other tokens');
    // Stop strings end the text before them.
    const stopAt = a.text.split(' ').slice(0, 4).join(' ');
    const d = await collect(llm, prompt, { maxTokens: 20, seed: 7, ignoreEos: true, stop: a.text.slice(stopAt.length, stopAt.length + 3) });
    assert.equal(d.text, stopAt);
    assert.equal(llm.lastStats.stopReason, 'stop');
  } finally {
    await llm.unload();
  }
});

test('tokenize equals SentencePiece on the checkpoint\'s tokenizer.model; detokenize inverts it', async () => {
  // (No runs of spaces or newlines: this small model's normalizer rewrites them, which llama.cpp
  // — and so the engine — does not; the LLaMA-2 tokenizer MobileLLM uses keeps them.)
  const texts = ['Hello world', 'Kamonel sa quin 1234 derpo!', 'café naïve Zürich 日本語 😀', '"Quoted" (parens) & x=y;'];
  const ref = JSON.parse(python(['-c', `import json, sys, sentencepiece as spm
sp = spm.SentencePieceProcessor(model_file=sys.argv[1])
print(json.dumps([[1] + sp.encode(t) for t in json.loads(sys.argv[2])]))`, path.join(ck.dir('ls_tied_gqa'), 'tokenizer.model'), JSON.stringify(texts)]));
  const llm = await MobileLLM.load(ck.dir('ls_tied_gqa'), { cacheDir: freshCache(), dtype: 'f32' });
  try {
    for (const [i, t] of texts.entries()) {
      const ids = await llm.tokenize(t);
      assert.ok(ids instanceof Int32Array);
      assert.deepEqual(Array.from(ids), ref[i], t);
      assert.equal(await llm.detokenize(ids), t, t);
      assert.deepEqual(Array.from(await llm.tokenize(t, { addBos: false })), ref[i].slice(1));
    }
  } finally {
    await llm.unload();
  }
});

// ------------------------------------------------------------------------------ concurrency, abort, limits

test('one generation at a time: a second caller is refused as busy, or with wait: true runs after, never interleaved', async () => {
  const llm = await MobileLLM.load(tiny, { cacheDir: freshCache() });
  try {
    const fresh = (await collect(llm, 'w6', { ...GREEDY, maxTokens: 15 })).tokens;
    const itA = llm.generate('w5', { ...GREEDY, maxTokens: 30 })[Symbol.asyncIterator]();
    const order = [];
    assert.equal((await itA.next()).done, false);
    order.push('a');
    await assert.rejects(llm.generate('w6', GREEDY).next(), (e) => {
      assert.ok(e instanceof BusyError);
      assert.equal(e.code, 'busy');
      assert.match(e.message, /already running/);
      oneSentence(e);
      return true;
    });
    const cTokens = [];
    const runC = (async () => {
      for await (const e of llm.generate('w6', { ...GREEDY, maxTokens: 15, wait: true })) { order.push('c'); cTokens.push(e.token); }
    })();
    for (;;) {
      const r = await itA.next();
      if (r.done) break;
      order.push('a');
    }
    await runC;
    assert.equal(order.filter((x) => x === 'a').length, 30);
    assert.equal(order.lastIndexOf('a') < order.indexOf('c'), true, `no interleaving: ${order.join('')}`);
    assert.deepEqual(cTokens, fresh, 'the waiting generation is unaffected by the one before it');
  } finally {
    await llm.unload();
  }
});

test('an AbortSignal stops a generation within one token and leaves the model usable; breaking out of the loop does too', async () => {
  const llm = await MobileLLM.load(tiny, { cacheDir: freshCache() });
  try {
    const fresh = (await collect(llm, 'w9', { ...GREEDY, maxTokens: 10 })).tokens;
    const ctl = new AbortController();
    let n = 0;
    let afterAbort = 0;
    await assert.rejects((async () => {
      for await (const e of llm.generate('w9', { maxTokens: 500, ignoreEos: true, signal: ctl.signal })) {
        void e;
        n++;
        if (n === 5) ctl.abort(); else if (n > 5) afterAbort++;
      }
    })(), (e) => {
      assert.ok(e instanceof AbortError);
      assert.equal(e.code, 'aborted');
      return true;
    });
    assert.equal(afterAbort, 0, 'nothing is yielded after abort()');
    const worker = llm.lastStats.generatedTokens;
    assert.ok(worker >= 5 && worker <= 6, `the worker computed ${worker - 5} tokens after the abort`);
    assert.equal(llm.lastStats.stopReason, 'aborted');
    assert.deepEqual((await collect(llm, 'w9', { ...GREEDY, maxTokens: 10 })).tokens, fresh, 'usable after abort');
    // A signal aborted before the call fails at once.
    await assert.rejects(llm.generate('w9', { signal: AbortSignal.abort() }).next(), { code: 'aborted' });
    // Breaking out ends the generation; the next one is not refused as busy.
    for await (const e of llm.generate('w9', { maxTokens: 500, ignoreEos: true })) { void e; break; }
    assert.deepEqual((await collect(llm, 'w9', { ...GREEDY, maxTokens: 10 })).tokens, fresh);
  } finally {
    await llm.unload();
  }
});

test('a prompt longer than the context is refused with its length and the limit; filling the context is a normal stop', async () => {
  const llm = await MobileLLM.load(tiny, { cacheDir: freshCache(), nCtx: 16 });
  try {
    assert.equal(llm.info.nCtx, 16);
    const ids = new Array(20).fill(300);
    await assert.rejects(collect(llm, ids, GREEDY), (e) => {
      assert.ok(e instanceof ContextFullError);
      assert.equal(e.code, 'context_full');
      assert.equal(e.promptTokens, 20);
      assert.equal(e.nCtx, 16);
      assert.match(e.message, /20 tokens.*16/);
      oneSentence(e);
      return true;
    });
    const text = 'w300 '.repeat(30);
    const n = (await llm.tokenize(text)).length;
    await assert.rejects(collect(llm, text, GREEDY), (e) => e.code === 'context_full' && e.message.includes(String(n)));
    const r = await collect(llm, [1, 300, 301], { ...GREEDY, maxTokens: 100 });
    assert.equal(llm.lastStats.stopReason, 'context_full');
    assert.equal(r.tokens.length, 16 - 3 + 1, 'the last token is emitted though it no longer fits');
  } finally {
    await llm.unload();
  }
});

test('persist: Node has no storage persistence to ask for (info.persisted null); a non-boolean is an argument error before any worker', async () => {
  const llm = await MobileLLM.load(tiny, { cacheDir: freshCache(), persist: true });
  try {
    assert.equal(llm.info.persisted, null);
  } finally {
    await llm.unload();
  }
  await assert.rejects(MobileLLM.load(tiny, { persist: 'yes' }), (e) => e instanceof ArgumentError && /^The option persist must be true or false, not 'yes'\.$/.test(e.message));
});

test('after unload() every call fails with a state error', async () => {
  const llm = await MobileLLM.load(tiny, { cacheDir: freshCache() });
  await llm.unload();
  await llm.unload(); // idempotent
  for (const p of [llm.tokenize('x'), llm.detokenize([1]), llm.logits([1]), llm.generate('x').next()]) {
    await assert.rejects(p, (e) => e instanceof StateError && e.code === 'state');
  }
});

test('failures reject with coded Error subclasses and one sentence naming the cause', async () => {
  const cacheDir = freshCache();
  const cases = [
    ['a 404', () => MobileLLM.load(`${srv.url}/nope.gguf`, { cacheDir }), DownloadError, 'download', /404.*nope\.gguf/],
    ['no server', () => MobileLLM.load('http://127.0.0.1:1/x.gguf', { cacheDir, retries: 0 }), DownloadError, 'download', /127\.0\.0\.1:1/],
    ['not GGUF', () => MobileLLM.load(crypto.randomBytes(4096), { cacheDir }), FormatError, 'format', /GGUF|magic/i],
    ['a missing path', () => MobileLLM.load(path.join(work, 'missing.gguf'), { cacheDir }), ArgumentError, 'argument', /does not exist/],
    ['a bad dtype', () => MobileLLM.load(tiny, { cacheDir, dtype: 'q4_0' }), ArgumentError, 'argument', /q4_0/],
    ['a bad source', () => MobileLLM.load(42, { cacheDir }), ArgumentError, 'argument', /source/],
    ['a bad option', async () => {
      const llm = await MobileLLM.load(tiny, { cacheDir });
      try { return await llm.generate('w1', { temperature: NaN }).next(); } finally { await llm.unload(); }
    }, ArgumentError, 'argument', /temperature/],
    ['an unknown repo', () => MobileLLM.load('test/does-not-exist', { cacheDir, hfEndpoint: srv.url }), DownloadError, 'download', /does-not-exist.*404/],
  ];
  const flax = path.join(work, 'flax-only');
  fs.mkdirSync(flax, { recursive: true });
  fs.copyFileSync(path.join(ck.dir('ls_tied_gqa'), 'config.json'), path.join(flax, 'config.json'));
  fs.writeFileSync(path.join(flax, 'flax_model.msgpack'), 'x');
  srv.addRepo('test/flax-only', flax);
  cases.push(['an unknown repo layout', () => MobileLLM.load('test/flax-only', { cacheDir, hfEndpoint: srv.url }),
    UnsupportedError, 'unsupported', /no layout this loader reads.*flax_model\.msgpack/]);
  for (const [label, fn, Cls, code, re] of cases) {
    await assert.rejects(fn(), (e) => {
      assert.ok(e instanceof Cls, `${label}: ${e?.name} ${e?.message}`);
      assert.equal(e.code, code, label);
      assert.match(e.message, re, label);
      oneSentence(e);
      return true;
    });
  }
});

// ------------------------------------------------------------------------------ cache and downloads

test('a cached URL loads with no request at all; the cache lists, measures and deletes it', async () => {
  const cacheDir = freshCache();
  srv.serveFile('/c/tiny.gguf', { path: tiny });
  const url = `${srv.url}/c/tiny.gguf`;
  const first = await MobileLLM.load(url, { cacheDir });
  assert.equal(first.info.fromCache, false);
  const fresh = (await collect(first, 'w7', { ...GREEDY, maxTokens: 8 })).tokens;
  await first.unload();
  srv.clearLog();
  const second = await MobileLLM.load(url, { cacheDir });
  try {
    assert.equal(srv.log.length, 0, `requests on a cached load: ${JSON.stringify(srv.log)}`);
    assert.equal(second.info.fromCache, true);
    assert.deepEqual((await collect(second, 'w7', { ...GREEDY, maxTokens: 8 })).tokens, fresh);
  } finally {
    await second.unload();
  }
  const size = fs.statSync(tiny).size;
  const list = await MobileLLM.cache.list({ cacheDir });
  assert.equal(list.length, 1);
  assert.deepEqual([list[0].key, list[0].size, list[0].storedBytes, list[0].complete, list[0].kind], [`url:${url}`, size, size, true, 'gguf']);
  assert.match(list[0].etag, /^"[0-9a-f]+"$/);
  const u = await MobileLLM.cache.usage({ cacheDir });
  assert.equal(u.usage, size);
  assert.equal(u.entries, 1);
  assert.ok(u.free > 0 && u.quota >= u.free, JSON.stringify(u));
  assert.equal(sha(await MobileLLM.cache.read(`url:${url}`, { cacheDir })), sha(fs.readFileSync(tiny)));
  assert.equal(await MobileLLM.cache.delete(`url:${url}`, { cacheDir }), true);
  assert.equal(await MobileLLM.cache.delete(`url:${url}`, { cacheDir }), false);
  assert.deepEqual(await MobileLLM.cache.list({ cacheDir }), []);
  // cache: false keeps nothing on disk.
  const nc = freshCache();
  const off = await MobileLLM.load(url, { cacheDir: nc, cache: false });
  await off.unload();
  assert.deepEqual(await MobileLLM.cache.list({ cacheDir: nc }), []);
});

test('load({ cacheKey }) loads a complete entry with no request; an unknown, partial or raw key is a cache error', async () => {
  const cacheDir = freshCache();
  srv.serveFile('/key/tiny.gguf', { path: tiny });
  const url = `${srv.url}/key/tiny.gguf`;
  const first = await MobileLLM.load(url, { cacheDir });
  const fresh = (await collect(first, 'w9', { ...GREEDY, maxTokens: 8 })).tokens;
  await first.unload();
  const [entry] = await MobileLLM.cache.list({ cacheDir });
  srv.clearLog();
  const llm = await MobileLLM.load({ cacheKey: entry.key }, { cacheDir });
  try {
    assert.deepEqual(srv.log, [], 'no request for a load by cache key');
    assert.deepEqual([llm.info.fromCache, llm.info.cacheKey, llm.info.source, llm.info.fileBytes], [true, `url:${url}`, url, fs.statSync(tiny).size]);
    assert.deepEqual((await collect(llm, 'w9', { ...GREEDY, maxTokens: 8 })).tokens, fresh);
  } finally {
    await llm.unload();
  }
  // A partial entry (an interrupted download) and a raw checkpoint download are not models.
  const store = new FsStore(cacheDir);
  const part = await EntryWriter.create(store, { id: 'url:http://example.invalid/part.gguf', kind: 'gguf', source: 'part.gguf', size: 1000, etag: '"x"' });
  await part.append(new Uint8Array(300));
  await part.checkpoint();
  const raw = await EntryWriter.create(store, { id: 'raw:http://example.invalid/model.safetensors', kind: 'raw', source: 'model.safetensors', size: 10 });
  await raw.append(new Uint8Array(10));
  await raw.finish();
  const cases = [['unknown', 'url:http://example.invalid/none.gguf', /no entry 'url:http:\/\/example\.invalid\/none\.gguf'/],
    ['partial', 'url:http://example.invalid/part.gguf', /incomplete \(300 of 1000 bytes\)/], ['raw', 'raw:http://example.invalid/model.safetensors', /not a model/]];
  for (const [label, key, re] of cases) {
    await assert.rejects(MobileLLM.load({ cacheKey: key }, { cacheDir }), (e) => {
      assert.ok(e instanceof CacheError, `${label}: ${e?.name} ${e?.message}`);
      assert.equal(e.code, 'cache');
      assert.match(e.message, re, label);
      oneSentence(e);
      return true;
    });
  }
  await assert.rejects(MobileLLM.load({ cacheKey: '' }, { cacheDir }), ArgumentError);
  await assert.rejects(MobileLLM.load({ cacheKey: entry.key }, { cacheDir, cache: false }), ArgumentError);
  // A damaged entry is never loaded: a cache error, and the entry is gone (its URL refetches it).
  const data = store.dataPath(entry.key);
  const b = fs.readFileSync(data);
  b[Math.floor(b.length / 2)] ^= 1;
  fs.writeFileSync(data, b);
  await assert.rejects(MobileLLM.load({ cacheKey: entry.key }, { cacheDir }), (e) => e instanceof CacheError && /damaged.*deleted/.test(e.message) && (oneSentence(e), true));
  assert.equal((await MobileLLM.cache.list({ cacheDir })).some((x) => x.key === entry.key), false);
  assert.deepEqual(srv.requests('/key/'), [], 'no request in any of these cases');
});

test('a download cut at ~50% resumes with a Range request from the stored bytes and the result is byte-identical', async () => {
  const cacheDir = freshCache();
  const size = fs.statSync(tiny).size;
  srv.serveFile('/cut/tiny.gguf', { path: tiny, cutAt: Math.floor(size / 2) });
  srv.clearLog();
  const progress = [];
  const llm = await MobileLLM.load(`${srv.url}/cut/tiny.gguf`, { cacheDir, onProgress: (p) => progress.push(p) });
  await llm.unload();
  const reqs = srv.requests('/cut/');
  assert.equal(reqs.length, 2, JSON.stringify(reqs));
  assert.deepEqual([reqs[0].status, reqs[0].range, reqs[0].cut], [200, null, true]);
  // It resumes where the bytes that reached the client end (what was still in flight when the
  // connection broke is lost), validated by the ETag, and fetches only the rest.
  assert.equal(reqs[1].status, 206);
  const start = Number(/^bytes=(\d+)-$/.exec(reqs[1].range)?.[1]);
  assert.ok(start > 0 && start <= reqs[0].bytes, `resumed at ${start} after ${reqs[0].bytes} bytes were sent`);
  assert.match(reqs[1].ifRange ?? '', /^"/);
  assert.equal(reqs[1].bytes, size - start);
  assert.equal(sha(await MobileLLM.cache.read(`url:${srv.url}/cut/tiny.gguf`, { cacheDir })), sha(fs.readFileSync(tiny)));
  // Progress: download then load, loaded never past total, the load ends at total.
  const dl = progress.filter((p) => p.phase === 'download');
  const ld = progress.filter((p) => p.phase === 'load');
  assert.ok(dl.length >= 2 && ld.length >= 1);
  assert.ok(progress.indexOf(dl.at(-1)) < progress.indexOf(ld[0]), 'download before load');
  for (const p of dl) assert.ok(p.loaded <= p.total && p.total === size && p.rate >= 0, JSON.stringify(p));
  assert.deepEqual([ld.at(-1).loaded, ld.at(-1).total], [size, size]);
  // Events of the resumed transfer say where it resumed; those of the first transfer do not.
  const resumed = dl.filter((p) => 'resumedFrom' in p);
  assert.ok(resumed.length >= 1 && resumed.length < dl.length, JSON.stringify(dl));
  for (const p of resumed) assert.ok(p.resumedFrom === start && p.loaded >= start, JSON.stringify(p));
  assert.ok(dl.indexOf(resumed[0]) > 0 && dl.slice(dl.indexOf(resumed[0])).every((p) => p.resumedFrom === start), 'resumed events come last');
});

test('an aborted download keeps its bytes; the next load resumes with Range + If-Range; a changed file restarts instead', async () => {
  const cacheDir = freshCache();
  const size = fs.statSync(tiny).size;
  srv.serveFile('/slow/tiny.gguf', { path: tiny, throttle: 48 * 1024 });
  const url = `${srv.url}/slow/tiny.gguf`;
  const abortAt = async (fraction) => {
    const ctl = new AbortController();
    await assert.rejects(MobileLLM.load(url, {
      cacheDir, signal: ctl.signal,
      onProgress: (p) => { if (p.phase === 'download' && p.loaded > fraction * size) ctl.abort(); },
    }), (e) => e instanceof AbortError && e.code === 'aborted');
    const [entry] = await MobileLLM.cache.list({ cacheDir });
    assert.equal(entry.complete, false);
    assert.ok(entry.storedBytes > fraction * size && entry.storedBytes < size, JSON.stringify(entry));
    return entry.storedBytes;
  };
  const stored = await abortAt(0.3);
  srv.setFile('/slow/tiny.gguf', { throttle: undefined });
  srv.clearLog();
  const seen = [];
  const llm = await MobileLLM.load(url, { cacheDir, onProgress: (p) => { if (p.phase === 'download') seen.push(p); } });
  await llm.unload();
  assert.ok(seen.length >= 1 && seen.every((p) => p.resumedFrom === stored), `resumedFrom ${stored} on every download event: ${JSON.stringify(seen)}`);
  const [r] = srv.requests('/slow/');
  assert.equal(srv.requests('/slow/').length, 1);
  assert.deepEqual([r.status, r.range, r.bytes], [206, `bytes=${stored}-`, size - stored]);
  assert.match(r.ifRange, /^"[0-9a-f]+"$/);
  assert.equal(sha(await MobileLLM.cache.read(`url:${url}`, { cacheDir })), sha(fs.readFileSync(tiny)));

  // The file changes on the server while a partial copy is stored: If-Range no longer matches,
  // the server answers 200, and the entry restarts rather than splicing two files.
  await MobileLLM.cache.clear({ cacheDir });
  srv.setFile('/slow/tiny.gguf', { throttle: 48 * 1024 });
  await abortAt(0.2);
  srv.setFile('/slow/tiny.gguf', { throttle: undefined, path: tiny2 });
  srv.clearLog();
  const llm2 = await MobileLLM.load(url, { cacheDir });
  await llm2.unload();
  const reqs = srv.requests('/slow/');
  assert.equal(reqs.length, 1);
  assert.match(reqs[0].range, /^bytes=\d+-$/);
  assert.equal(reqs[0].status, 200);
  assert.equal(sha(await MobileLLM.cache.read(`url:${url}`, { cacheDir })), sha(fs.readFileSync(tiny2)));
});

test('a corrupted or truncated cache entry is detected, never loaded, and refetched', async () => {
  const cacheDir = freshCache();
  srv.serveFile('/bad/tiny.gguf', { path: tiny });
  const url = `${srv.url}/bad/tiny.gguf`;
  const first = await MobileLLM.load(url, { cacheDir });
  const fresh = (await collect(first, 'w11', { ...GREEDY, maxTokens: 8 })).tokens;
  await first.unload();
  const store = new FsStore(cacheDir);
  await store.mods();
  const data = store.dataPath(`url:${url}`);
  for (const damage of ['flip', 'truncate']) {
    const b = fs.readFileSync(data);
    if (damage === 'flip') b[Math.floor(b.length * 0.6)] ^= 0x40;
    fs.writeFileSync(data, damage === 'flip' ? b : b.subarray(0, b.length - 1000));
    srv.clearLog();
    const llm = await MobileLLM.load(url, { cacheDir });
    try {
      assert.deepEqual(srv.requests('/bad/').map((r) => [r.status, r.range]), [[200, null]], `${damage}: refetched whole`);
      assert.equal(llm.info.fromCache, false);
      assert.match(llm.info.warnings.join(' '), /damaged/);
      assert.deepEqual((await collect(llm, 'w11', { ...GREEDY, maxTokens: 8 })).tokens, fresh);
    } finally {
      await llm.unload();
    }
    assert.equal(sha(fs.readFileSync(data)), sha(fs.readFileSync(tiny)), `${damage}: repaired on disk`);
  }
});

test('storage limits reject with a quota error saying how much is needed and how much is free', async () => {
  const tight = Object.assign(new MemoryStore(), { estimate: async () => ({ quota: 10_000, free: 1_500 }) });
  await assert.rejects(ensureSpace(tight, 5_000_000, 'model.gguf'), (e) => {
    assert.ok(e instanceof QuotaError);
    assert.equal(e.code, 'quota');
    assert.deepEqual([e.needed, e.free], [5_000_000, 1_500]);
    assert.match(e.message, /model\.gguf needs 5\.0 MB of storage but only 1\.5 kB is free/);
    oneSentence(e);
    return true;
  });
  // A write that fails because the disk is full (ENOSPC) becomes the same error.
  const full = new MemoryStore();
  full.estimate = async () => ({ quota: 1e9, free: 1024 });
  full.putChunk = async () => { throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }); };
  const w = await EntryWriter.create(full, { id: 'x', kind: 'gguf', source: 'x.gguf', size: 10 << 20 });
  await assert.rejects(w.append(new Uint8Array(5 << 20)), (e) => {
    assert.ok(e instanceof QuotaError);
    assert.equal(e.needed, 10 << 20);
    assert.equal(e.free, 1024);
    assert.equal(e.size, 10 << 20, 'the whole model\'s size');
    assert.match(e.message, /^Storing x\.gguf \(10\.5 MB\) in the cache failed for lack of space: 0 bytes of it is stored, it needs 10\.5 MB more and the storage has 1\.0 kB free; no other cache entry is left to delete\.$/);
    return true;
  });
  // The download path checks the announced size before writing anything.
  srv.serveFile('/quota/tiny.gguf', { path: tiny });
  const { download } = await import('../../worker/download.js');
  await assert.rejects(download(tight, `${srv.url}/quota/tiny.gguf`, { id: 'q', kind: 'gguf', source: 'tiny.gguf' }), { code: 'quota' });
  assert.equal(await tight.getMeta('q'), null);
});

// ------------------------------------------------------------------------------ Hugging Face checkpoints

/** Per-position comparison against reference rows. */
function compareLogits(ours, ref, nVocab, label) {
  const n = ref.length / nVocab;
  assert.equal(ours.length, ref.length, label);
  let worst = 0;
  for (let p = 0; p < n; p++) {
    const d = relMaxDiff(ours.subarray(p * nVocab, (p + 1) * nVocab), ref.subarray(p * nVocab, (p + 1) * nVocab));
    assert.ok(d <= TOL, `${label} position ${p}: max |diff| / range = ${d}`);
    worst = Math.max(worst, d);
  }
  return worst;
}

test('Hugging Face repos (safetensors; layer-shared and not) load converted and match the PyTorch logits; a cached repo makes no request', async (t) => {
  const seq = ck.tokens.seq40;
  const cases = [['test/ls-tied-gqa', 'ls_tied_gqa', 8], ['test/untied-gqa', 'untied_gqa', 4], ['test/ls-untied-bf16', 'ls_untied_mha_bf16', 6]];
  const refs = referenceLogits(cases.map(([, name]) => ({ dir: ck.dir(name), tokens: seq })));
  const cacheDir = freshCache();
  for (const [i, [repo, name, effective]] of cases.entries()) {
    // The first repo's weights are cut mid-way at the CDN the Hub redirects to.
    const weights = fs.statSync(path.join(ck.dir(name), 'model.safetensors')).size;
    srv.addRepo(repo, ck.dir(name), i === 0 ? { cdn: { cutAt: Math.floor(weights / 2) } } : {});
    srv.clearLog();
    const phases = new Set();
    const llm = await MobileLLM.load(repo, { cacheDir, hfEndpoint: srv.url, dtype: 'f32', onProgress: (p) => phases.add(p.phase) });
    try {
      assert.ok(phases.has('download') && phases.has('convert') && phases.has('load'), `${name}: ${[...phases]}`);
      assert.equal(llm.info.nLayerEffective, effective, name);
      assert.equal(llm.info.nLayerStored, name === 'untied_gqa' ? 4 : effective / 2, name);
      assert.equal(llm.info.shareMode, 'immediate');
      assert.equal(llm.info.quant, 'F32');
      assert.ok(srv.log.some((r) => r.path.startsWith('/cdn/') && r.status === 200), 'weights came through the LFS-style redirect');
      if (i === 0) {
        const cdn = srv.requests('/cdn/');
        assert.deepEqual(cdn.map((r) => r.status), [200, 206], 'the cut download resumed through the redirect');
        assert.match(cdn[1].range, /^bytes=[1-9]\d*-$/);
        assert.equal(srv.requests(`/${repo}/resolve/main/model.safetensors`).length, 2, 'each attempt asks the Hub, then follows its redirect');
      }
      const worst = compareLogits(await llm.logits(seq), refs[i], llm.info.nVocab, name);
      t.diagnostic(`${name}: max |diff| / range = ${worst.toExponential(2)}`);
    } finally {
      await llm.unload();
    }
  }
  assert.ok((await MobileLLM.cache.list({ cacheDir })).every((e) => e.kind === 'gguf' && e.dtype === 'f32'), 'raw downloads are dropped once converted');
  srv.clearLog();
  const again = await MobileLLM.load('test/ls-tied-gqa', { cacheDir, hfEndpoint: srv.url, dtype: 'f32' });
  assert.equal(srv.log.length, 0);
  assert.equal(again.info.fromCache, true);
  await again.unload();
});

test('torch.save checkpoints (fp16, bf16, fp32; views, shared storage, protocol 4, re-zipped) match the PyTorch logits', async (t) => {
  const seq = ck.tokens.seq40;
  const dirs = [['fp16, layer sharing', ck.dir('ls_tied_gqa_bin'), 8], ['bf16, layer sharing, unused tied lm_head', path.join(torchDir, 'bin_bf16_ls'), 8],
    ['fp32, views, protocol 4', path.join(torchDir, 'bin_f32_views'), 4], ['re-zipped fp16', path.join(torchDir, 'bin_rezipped'), 8]];
  const refs = referenceLogits(dirs.map(([, dir], i) => ({ dir: i === 3 ? ck.dir('ls_tied_gqa_bin') : dir, tokens: seq })));
  const cacheDir = freshCache();
  for (const [i, [label, dir, effective]] of dirs.entries()) {
    const llm = await MobileLLM.load(dir, { cacheDir, dtype: 'f32' });
    try {
      assert.equal(llm.info.nLayerEffective, effective, label);
      const worst = compareLogits(await llm.logits(seq), refs[i], llm.info.nVocab, label);
      t.diagnostic(`${label}: max |diff| / range = ${worst.toExponential(2)}`);
    } finally {
      await llm.unload();
    }
  }
  // Through the hub too: pytorch_model.bin is the one file every MobileLLM size ships. And as a
  // set of files (Blobs by name, as a browser directory picker gives them).
  srv.addRepo('test/bin-fp16', ck.dir('ls_tied_gqa_bin'));
  const dir = ck.dir('ls_tied_gqa_bin');
  const files = Object.fromEntries(fs.readdirSync(dir).filter((n) => !n.startsWith('.'))
    .map((n) => [n, new Blob([fs.readFileSync(path.join(dir, n))])]));
  for (const [label, src] of [['hub pytorch_model.bin', 'test/bin-fp16'], ['file set', { files }]]) {
    const llm = await MobileLLM.load(src, { cacheDir, hfEndpoint: srv.url, dtype: 'f32' });
    try {
      compareLogits(await llm.logits(seq), refs[0], llm.info.nVocab, label);
    } finally {
      await llm.unload();
    }
  }
});

test('a pickle that would run code is refused with an unsupported error, and nothing runs', async () => {
  await assert.rejects(MobileLLM.load(path.join(torchDir, 'bin_evil'), { cacheDir: freshCache() }), (e) => {
    assert.ok(e instanceof UnsupportedError, `${e.name}: ${e.message}`);
    assert.match(e.message, /refers to the Python object 'posix\.system'/);
    oneSentence(e);
    return true;
  });
  assert.equal(fs.existsSync(path.join(torchDir, 'PWNED')), false);
});

test('Q8_0 by default: the cached conversion is byte-identical to the converter\'s, and greedy decoding follows the reference argmax', async () => {
  const cacheDir = freshCache();
  srv.addRepo('test/bin-q8', ck.dir('ls_tied_gqa_bin'));
  const llm = await MobileLLM.load('test/bin-q8', { cacheDir, hfEndpoint: srv.url });
  try {
    assert.equal(llm.info.quant, 'Q8_0');
    assert.equal(llm.info.bosId, 1);
    assert.equal(llm.info.eosId, 2);
    const bytes = await MobileLLM.cache.read(llm.info.cacheKey, { cacheDir });
    const expected = await convertHF(ck.dir('ls_tied_gqa_bin'), { type: 'q8_0', onWarning: () => {} });
    assert.equal(sha(bytes), sha(expected));
  } finally {
    await llm.unload();
  }
  // Greedy generation (F32) against the reference: each generated token is the argmax of the
  // reference logits after the prompt and the tokens before it (near-ties skipped).
  const f32 = await MobileLLM.load(ck.dir('ls_tied_gqa'), { cacheDir, dtype: 'f32' });
  try {
    const prompt = ck.tokens.seq40.slice(0, 8);
    const { tokens } = await collect(f32, prompt, { ...GREEDY, maxTokens: 16 });
    assert.equal(tokens.length, 16);
    const [ref] = referenceLogits([{ dir: ck.dir('ls_tied_gqa'), tokens: [...prompt, ...tokens.slice(0, -1)] }]);
    const nVocab = f32.info.nVocab;
    let checked = 0;
    tokens.forEach((tok, j) => {
      const row = ref.subarray((prompt.length - 1 + j) * nVocab, (prompt.length + j) * nVocab);
      const sorted = Float32Array.from(row).sort().reverse();
      if (sorted[0] - sorted[1] < 1e-4 * (sorted[0] - sorted.at(-1))) return;
      assert.equal(tok, argmax(row), `generated token ${j}`);
      checked++;
    });
    assert.ok(checked >= 12, `${checked} of 16 positions were decisive`);
  } finally {
    await f32.unload();
  }
});

test('Node helpers for the CLI: resolveModelFile gives a verified GGUF path for any source; convertSource writes a file', async () => {
  const cacheDir = freshCache();
  srv.addRepo('test/resolve', ck.dir('untied_gqa'));
  const a = await resolveModelFile('test/resolve', { cacheDir, hfEndpoint: srv.url, dtype: 'f32' });
  assert.equal(a.fromCache, false);
  assert.equal(sha(fs.readFileSync(a.path)), sha(await convertHF(ck.dir('untied_gqa'), { type: 'f32', onWarning: () => {} })));
  srv.clearLog();
  const b = await resolveModelFile('test/resolve', { cacheDir, hfEndpoint: srv.url, dtype: 'f32' });
  assert.deepEqual([b.path, b.fromCache, srv.log.length], [a.path, true, 0]);
  assert.equal((await resolveModelFile(tiny, { cacheDir })).path, tiny);
  const dirPath = await resolveModelFile(ck.dir('ls_tied_gqa_bin'), { cacheDir });
  assert.equal(sha(fs.readFileSync(dirPath.path)), sha(await convertHF(ck.dir('ls_tied_gqa_bin'), { type: 'q8_0', onWarning: () => {} })));
  const out = path.join(work, 'converted-f16.gguf');
  await convertSource(path.join(torchDir, 'bin_bf16_ls'), out, { dtype: 'f16' });
  const llm = await MobileLLM.load(out, { cacheDir });
  try {
    assert.equal(llm.info.quant, 'F16');
    assert.equal(llm.info.nLayerEffective, 8);
  } finally {
    await llm.unload();
  }
});
