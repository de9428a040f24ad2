// Multi-turn KV reuse (worker/prompt_cache.js, host.js's generate, option cachePrompt): a call
// evaluates only the prompt tokens after the prefix they share with what the last call left
// in the KV cache (its prompt and generated tokens), and its output is what evaluating the
// whole prompt from scratch gives. Engine level: the logits after a rewind and a partial eval
// equal a fresh context's bit for bit. API level: the token streams of cachePrompt true and
// false are the same (sampled at temperature 1 with one seed, so a logit that moved would
// show), lastStats counts reused and evaluated tokens, and anything that may leave the cache
// unknown (an abort mid-prompt, an error) drops it. Also the compiled-grammar cache.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import { MobileLLM, ArgumentError, AbortError } from '../../worker/index.js';
import { Engine, Generator } from '../../wasm_build/engine.js';
import { PromptCache, commonPrefix } from '../../worker/prompt_cache.js';
import { GrammarCache } from '../../worker/grammar_cache.js';
import { makeRandomModel } from '../../tools/make_random_model.js';
import { scratchDir } from '../ref/fixtures.js';

let work, tiny;
const SAMPLED = { temperature: 1, topK: 0, topP: 1, minP: 0, repeatPenalty: 1, ignoreEos: true };

before(() => {
  work = scratchDir('kv-reuse-test');
  tiny = path.join(work, 'tiny.gguf');
  fs.writeFileSync(tiny, makeRandomModel({ shape: 'tiny', type: 'q8_0', seed: 5, nCtx: 512 }));
});

after(() => fs.rmSync(work, { recursive: true, force: true }));

/** A prompt of token ids: BOS, then `n` ids in from .. from + 499 taken in a stride (no two neighbours equal). */
const ids = (n, from = 300) => [1, ...Array.from({ length: n }, (_, i) => from + ((i * 37) % 500))];

async function collect(llm, prompt, opts) {
  let text = '';
  const tokens = [];
  for await (const e of llm.generate(prompt, opts)) {
    text += e.text;
    if (e.token !== null) tokens.push(e.token);
  }
  return { text, tokens, stats: llm.lastStats };
}

/** The same call with cachePrompt: false: the reference every reusing call must equal. */
async function scratch(llm, prompt, opts) {
  const r = await collect(llm, prompt, { ...opts, cachePrompt: false });
  assert.equal(r.stats.reusedTokens, 0);
  assert.equal(r.stats.evalTokens, r.stats.promptTokens);
  return r;
}

// ------------------------------------------------------------------------------ engine level

test('engine: after a run, a rewind to the shared prefix and an eval of the rest give a fresh context\'s logits bit for bit', async () => {
  for (const [label, bytes] of [
    ['q8_0', makeRandomModel({ shape: 'tiny', type: 'q8_0', seed: 6, nVocab: 2000, nCtx: 256 })],
    ['f32, layer-shared x2', makeRandomModel({ shape: 'tiny', type: 'f32', seed: 7, nVocab: 2000, nCtx: 256, share: 2 })],
  ]) {
    const eng = await Engine.create({ simd: true });
    const model = eng.loadModel(bytes);
    const ctx = model.newContext({ nCtx: 256, nBatch: 64 });
    const cache = new PromptCache(ctx);
    const freshLogits = (prompt) => {
      const f = model.newContext({ nCtx: 256, nBatch: 64 });
      try { f.eval(prompt); return f.logits(); } finally { f.free(); }
    };
    /** One call as host.js runs it: begin, evaluate the rest, generate, commit. */
    const run = (prompt, maxTokens) => {
      const p = Int32Array.from(prompt);
      const reused = cache.begin(p, true);
      for (let s = reused; s < p.length; s += 64) ctx.eval(p.subarray(s, Math.min(p.length, s + 64)));
      const logits = ctx.logits();
      const sampler = model.newSampler({ temperature: 0.9, seed: 3 });
      const gen = new Generator(ctx, sampler, { maxTokens, ignoreEos: true });
      const out = [];
      for (;;) { const r = gen.step(); if (r.token >= 0) out.push(r.token); if (r.stop) break; }
      gen.free(); sampler.free();
      cache.commit(p, out);
      return { reused, logits, out };
    };
    const same = (a, b) => a.length === b.length && a.every((x, i) => Object.is(x, b[i]));
    const p1 = ids(100, 40);
    const t1 = run(p1, 12);
    assert.equal(t1.reused, 0, label);
    assert.ok(same(t1.logits, freshLogits(p1)), `${label}: turn 1`);
    assert.equal(ctx.nPast, p1.length + 11, `${label}: the token that ended the run is not evaluated`);
    // turn 2 re-sends turn 1 and its reply, then new tokens (longer than one 64-token slice)
    const p2 = [...p1, ...t1.out, ...ids(70, 900).slice(1)];
    const t2 = run(p2, 8);
    assert.equal(t2.reused, p1.length + 11, label);
    assert.ok(same(t2.logits, freshLogits(p2)), `${label}: turn 2`);
    // an edit in the middle: only the prefix before it is reused
    const p3 = p2.slice(0, 150);
    p3[60] = 1999;
    const t3 = run(p3, 4);
    assert.equal(t3.reused, 60, label);
    assert.ok(same(t3.logits, freshLogits(p3)), `${label}: edited at 60`);
    // the same prompt again: all but its last token is reused, which is evaluated for fresh logits
    const t4 = run(p3, 4);
    assert.equal(t4.reused, p3.length - 1, label);
    assert.ok(same(t4.logits, freshLogits(p3)), `${label}: repeated`);
    // a prefix of what is held: rewound to it
    const t5 = run(p3.slice(0, 30), 4);
    assert.equal(t5.reused, 29, label);
    assert.ok(same(t5.logits, freshLogits(p3.slice(0, 30))), `${label}: shorter`);
    // a context changed behind the cache's back (its length no longer matches) is not reused
    ctx.eval([5]);
    assert.equal(run(p3, 2).reused, 0, `${label}: a cache of unknown content`);
    ctx.free();
    model.free();
  }
});

test('commonPrefix counts the leading equal ids', () => {
  assert.equal(commonPrefix([], [1]), 0);
  assert.equal(commonPrefix([1, 2, 3], [1, 2, 3]), 3);
  assert.equal(commonPrefix(Int32Array.of(1, 2, 3), [1, 2, 4, 5]), 2);
  assert.equal(commonPrefix([1, 2], [1, 2, 3]), 2);
  assert.equal(commonPrefix([7], [1]), 0);
});

// ------------------------------------------------------------------------------ API level

for (const threads of [1, 2]) test(`turn 2 evaluates only its new tokens and samples what a from-scratch evaluation of the whole conversation samples (${threads} thread${threads > 1 ? 's' : ''})`, async () => {
  const llm = await MobileLLM.load(tiny, { cache: false, threads });
  try {
    assert.equal(llm.info.threads, threads);
    const p1 = ids(90);
    const t1 = await collect(llm, p1, { ...SAMPLED, seed: 11, maxTokens: 10 });
    assert.deepEqual([t1.stats.promptTokens, t1.stats.reusedTokens, t1.stats.evalTokens], [p1.length, 0, p1.length]);
    const p2 = [...p1, ...t1.tokens, ...ids(40, 700).slice(1)];
    const t2 = await collect(llm, p2, { ...SAMPLED, seed: 12, maxTokens: 24 });
    // the last token of turn 1 ended it unevaluated (maxTokens): it is evaluated now
    assert.equal(t2.stats.reusedTokens, p1.length + 9);
    assert.equal(t2.stats.evalTokens, 41);
    assert.equal(t2.stats.promptTokens, p2.length);
    const ref = await scratch(llm, p2, { ...SAMPLED, seed: 12, maxTokens: 24 });
    assert.equal(t2.tokens.length, 24);
    assert.deepEqual(t2.tokens, ref.tokens);
    assert.equal(t2.text, ref.text);
    // greedy too
    const g = await collect(llm, p2, { temperature: 0, ignoreEos: true, maxTokens: 16 });
    assert.equal(g.stats.reusedTokens, p2.length - 1, 'cachePrompt: false left the cache for the next call');
    assert.deepEqual(g.tokens, (await scratch(llm, p2, { temperature: 0, ignoreEos: true, maxTokens: 16 })).tokens);
  } finally {
    await llm.unload();
  }
});

// A random model samples pieces that re-tokenizing its text may split otherwise (here the reply's
// first token already): the cache is rewound to where the token lists part, whatever that is.
test('a chat as text: turn 2 re-sends turn 1\'s reply (ended by a stop string) and reuses exactly the prefix the token lists share', async () => {
  const llm = await MobileLLM.load(tiny, { cache: false });
  try {
    const probe = await collect(llm, 'User: w300 w301 w302\nBot:', { ...SAMPLED, seed: 21, maxTokens: 12 });
    const stop = probe.text.slice(probe.text.length - 6, probe.text.length - 3); // ends the reply mid-way
    const prompt1 = 'User: w300 w301 w302\nBot:';
    const t1 = await collect(llm, prompt1, { ...SAMPLED, seed: 21, maxTokens: 12, stop });
    assert.equal(t1.stats.stopReason, 'stop');
    const prompt2 = `${prompt1}${t1.text}\nUser: w410 w411 w412 w413\nBot:`;
    const held = [...await llm.tokenize(prompt1), ...t1.tokens.slice(0, -1)]; // the stop's last token was not evaluated
    const want = await llm.tokenize(prompt2);
    const t2 = await collect(llm, prompt2, { ...SAMPLED, seed: 22, maxTokens: 16 });
    assert.ok(t2.stats.reusedTokens >= (await llm.tokenize(prompt1)).length, JSON.stringify(t2.stats));
    assert.equal(t2.stats.reusedTokens, Math.min(commonPrefix(held, want), want.length - 1));
    assert.equal(t2.stats.evalTokens, want.length - t2.stats.reusedTokens);
    const ref = await scratch(llm, prompt2, { ...SAMPLED, seed: 22, maxTokens: 16 });
    assert.deepEqual(t2.tokens, ref.tokens);
  } finally {
    await llm.unload();
  }
});

test('a prompt edited in the middle rewinds to the common prefix and still equals from scratch; so does the same prompt again', async () => {
  const llm = await MobileLLM.load(tiny, { cache: false });
  try {
    const p = ids(200);
    await collect(llm, p, { ...SAMPLED, seed: 1, maxTokens: 4 });
    const edited = [...p];
    edited[77] = 4242;
    const e = await collect(llm, edited, { ...SAMPLED, seed: 2, maxTokens: 20 });
    assert.equal(e.stats.reusedTokens, 77);
    assert.equal(e.stats.evalTokens, edited.length - 77);
    assert.deepEqual(e.tokens, (await scratch(llm, edited, { ...SAMPLED, seed: 2, maxTokens: 20 })).tokens);
    const again = await collect(llm, edited, { ...SAMPLED, seed: 2, maxTokens: 20 });
    assert.equal(again.stats.reusedTokens, edited.length - 1);
    assert.equal(again.stats.evalTokens, 1, 'at least one token is evaluated');
    assert.deepEqual(again.tokens, e.tokens);
    const shorter = edited.slice(0, 50);
    const s = await collect(llm, shorter, { ...SAMPLED, seed: 3, maxTokens: 20 });
    assert.equal(s.stats.reusedTokens, 49);
    assert.deepEqual(s.tokens, (await scratch(llm, shorter, { ...SAMPLED, seed: 3, maxTokens: 20 })).tokens);
  } finally {
    await llm.unload();
  }
});

test('seed and sampling settings do not matter to reuse: the cache holds tokens, not samplers', async () => {
  const llm = await MobileLLM.load(tiny, { cache: false });
  try {
    const p1 = ids(60);
    const t1 = await collect(llm, p1, { temperature: 0.7, topK: 40, seed: 5, maxTokens: 8, ignoreEos: true });
    const p2 = [...p1, ...t1.tokens, 1500, 1501, 1502];
    const other = { temperature: 1.3, topK: 10, topP: 0.9, repeatPenalty: 1.2, seed: 99, maxTokens: 20, ignoreEos: true };
    const t2 = await collect(llm, p2, other);
    assert.equal(t2.stats.reusedTokens, p1.length + 7);
    assert.deepEqual(t2.tokens, (await scratch(llm, p2, other)).tokens);
  } finally {
    await llm.unload();
  }
});

test('an abort mid-prompt drops the cache: the next call evaluates its whole prompt and is correct', async () => {
  // In process (worker: false) the abort is handled at the first slice boundary of the prompt.
  const llm = await MobileLLM.load(tiny, { cache: false, worker: false });
  try {
    const p1 = ids(50);
    const t1 = await collect(llm, p1, { ...SAMPLED, seed: 1, maxTokens: 6 });
    const ctl = new AbortController();
    const long = [...p1, ...t1.tokens, ...ids(300, 800).slice(1)];
    const it = llm.generate(long, { ...SAMPLED, maxTokens: 5, signal: ctl.signal });
    const first = it.next();
    ctl.abort();
    await assert.rejects(first, (e) => e instanceof AbortError);
    assert.equal(llm.lastStats.promptTokens, p1.length, 'no stats from the aborted call');
    // the context now holds part of `long`; a prompt sharing p1 must not reuse any of it
    const p3 = [...p1, ...t1.tokens, ...ids(30, 1200).slice(1)];
    const t3 = await collect(llm, p3, { ...SAMPLED, seed: 4, maxTokens: 12 });
    assert.equal(t3.stats.reusedTokens, 0);
    assert.deepEqual(t3.tokens, (await scratch(llm, p3, { ...SAMPLED, seed: 4, maxTokens: 12 })).tokens);
  } finally {
    await llm.unload();
  }
});

test('an abort between generated tokens keeps the cache (it holds what was evaluated); the next turn reuses it and is correct', async () => {
  const llm = await MobileLLM.load(tiny, { cache: false });
  try {
    const p1 = ids(40);
    const ctl = new AbortController();
    const got = [];
    await assert.rejects((async () => {
      for await (const e of llm.generate(p1, { ...SAMPLED, seed: 8, maxTokens: 100, signal: ctl.signal })) {
        got.push(e.token);
        if (got.length === 6) ctl.abort();
      }
    })(), (e) => e instanceof AbortError);
    const made = llm.lastStats.generatedTokens;
    assert.equal(llm.lastStats.stopReason, 'aborted');
    const p2 = [...p1, ...got, 1600, 1601];
    const t2 = await collect(llm, p2, { ...SAMPLED, seed: 9, maxTokens: 16 });
    // every token the worker made was evaluated (the run did not end on one); the consumer saw 6
    assert.equal(t2.stats.reusedTokens, p1.length + Math.min(6, made));
    assert.deepEqual(t2.tokens, (await scratch(llm, p2, { ...SAMPLED, seed: 9, maxTokens: 16 })).tokens);
  } finally {
    await llm.unload();
  }
});

test('an error drops the cache; cachePrompt must be a boolean', async () => {
  const llm = await MobileLLM.load(tiny, { cache: false });
  try {
    const p1 = ids(40);
    await collect(llm, p1, { ...SAMPLED, seed: 1, maxTokens: 4 });
    await assert.rejects(collect(llm, [...p1, 5], { grammar: 'root ::= [' }), { code: 'argument' });
    const t = await collect(llm, [...p1, 5], { ...SAMPLED, seed: 2, maxTokens: 8 });
    assert.equal(t.stats.reusedTokens, 0, 'nothing reused after a failed call');
    for (const bad of ['yes', 1, null]) {
      await assert.rejects(collect(llm, p1, { cachePrompt: bad }), (e) => {
        assert.ok(e instanceof ArgumentError);
        assert.match(e.message, /^The option cachePrompt must be true or false, not .*\.$/);
        return true;
      });
    }
  } finally {
    await llm.unload();
  }
});

// ------------------------------------------------------------------------------ grammars

test('compiled grammars are kept by text (least recently used dropped and freed) and a kept one constrains a rerun the same', async () => {
  const eng = await Engine.create({ simd: true });
  const model = eng.loadModel(makeRandomModel({ shape: 'tiny', type: 'q8_0', seed: 9, nVocab: 600, nCtx: 128 }));
  const cache = new GrammarCache(model, 2);
  const a = cache.get('root ::= "a"+');
  assert.equal(cache.get('root ::= "a"+'), a, 'the same text gives the same compiled grammar');
  const b = cache.get('root ::= "b"+');
  assert.equal(cache.get('root ::= "a"+'), a); // a is now the most recent
  cache.get('root ::= "c"+'); // drops b, the least recent
  assert.equal(b.ptr, 0, 'a dropped grammar is freed');
  assert.notEqual(a.ptr, 0);
  assert.throws(() => cache.get('root ::= ['), { code: 'argument' });
  assert.equal(cache.entries.size, 2, 'a grammar that does not compile is not kept and drops nothing');
  cache.free();
  assert.equal(a.ptr, 0);
  model.free();

  const llm = await MobileLLM.load(tiny, { cache: false });
  try {
    const schema = { type: 'object', properties: { n: { type: 'integer' }, s: { type: 'string' } }, required: ['n', 's'] };
    const opts = { jsonSchema: schema, temperature: 1, seed: 3, maxTokens: 40 };
    const one = await collect(llm, ids(10), opts);
    await collect(llm, ids(10, 900), { ...opts, seed: 4 });
    const two = await collect(llm, ids(10), opts);
    const v = JSON.parse(one.text);
    assert.equal(typeof v.n, 'number');
    assert.equal(typeof v.s, 'string');
    assert.equal(two.text, one.text, 'the kept grammar starts from its beginning again');
  } finally {
    await llm.unload();
  }
});
