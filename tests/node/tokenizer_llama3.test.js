// tokenizer_llama3.test.js — the Llama-3 (llama.cpp "llama-bpe", MobileLLM-R1's) and Llama-4
// ("llama4", GPT-4o's split; MobileLLM-Pro's) byte-level BPE pre-tokenizers, through the wasm
// build, on the real 128,256-piece Llama-3 vocabulary that ships inside llama.cpp's source
// (tests/fixtures/llama3_vocab.js), against independent references:
//   llama.cpp        llama_tokenize of node-llama-cpp's libllama (tests/fixtures/llama_ref_tokenize.c)
//                    on raw bytes, BOS and parse_special on and off; detokenize of node-llama-cpp
//   transformers     llama.cpp's ggml-vocab-llama-bpe.gguf.inp/.out (ids Hugging Face
//                    transformers gave for the original Llama-3 tokenizer)
//   @lenml           Hugging Face tokenizer.json semantics on the same vocabulary, split by
//                    Meta-Llama-3's and Llama-4's regexes
// Lines: tests/fixtures/corpus.json (prose, code, math, many scripts, invalid UTF-8), llama.cpp's
// test lines and seeded random byte strings.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

import { TokenizerLoader } from '@lenml/tokenizers';
import { getLlama } from 'node-llama-cpp';

import { Engine } from '../../wasm_build/engine.js';
import { GGUFValueType } from '../../models/convert/gguf_writer.js';
import { GGUF_KEY } from '../../lib/gguf_keys.js';
import { PRE_TOKENIZERS, ggufPreTokenizer } from '../../lib/pre_tokenizers.js';
import { bytesToUnicode, loadCorpus, tinyLlama } from '../fixtures/make_vocab_models.js';
import { llamaCppVocabTests, makeLlama3Fixtures } from '../fixtures/llama3_vocab.js';
import { randomLines } from '../fixtures/random_lines.js';
import { llamaCppLib, nativeFixture } from '../ref/fixtures.js';

const corpus = loadCorpus();
const enc = new TextEncoder();
const lenient = new TextDecoder('utf-8', { ignoreBOM: true });
const bytesOf = (e) => (e.hex !== undefined ? Uint8Array.from(Buffer.from(e.hex, 'hex')) : enc.encode(e.text));
const hex = (u8) => Buffer.from(u8).toString('hex');

const { paths, why } = makeLlama3Fixtures();
const skip = paths ? false : why;

/** Text lines: the corpus's plus llama.cpp's own test lines for this vocabulary. */
let texts = [];
let vocabTests = [];
let eng;
const ours = {};
let llama;
let ref3;
let refBin = null;

/** Extra random-line fragments: Llama-3 special texts, cased non-ASCII letters, marks, slashes. */
const EXTRA = ['<|begin_of_text|>', '<|eot_id|>', '<|start_header_id|>', 'É', 'Σ', 'ǅ', 'ß', 'ı', '\u0301', '\u093f',
  '/', '//', '12345', "'S", "'LL", 'HELLO', 'camelCase'];

before(async () => {
  if (skip) return;
  vocabTests = llamaCppVocabTests();
  texts = [...corpus.filter((e) => typeof e.text === 'string'),
    ...vocabTests.map((v, i) => ({ name: `llama.cpp test ${i}`, text: v.text }))];
  eng = await Engine.create();
  ours.l3 = eng.loadModel(readFileSync(paths.llama3Gguf));
  ours.l4 = eng.loadModel(readFileSync(paths.llama4Gguf));
  llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' });
  ref3 = await llama.loadModel({ modelPath: paths.llama3Gguf });
  const lib = llamaCppLib('llama');
  if (lib) refBin = { bin: nativeFixture('llama_ref_tokenize'), lib };
});

after(async () => {
  for (const m of Object.values(ours)) m.free();
  await ref3?.dispose();
  await llama?.dispose();
});

function tok(key, bytes, addBos, parseSpecial) {
  return Array.from(ours[key].tokenize(bytes, { addBos, parseSpecial }));
}

/** llama.cpp's llama_tokenize on raw byte strings. */
function llamaCppRaw(gguf, addSpecial, parseSpecial, inputs) {
  const input = inputs.map((b) => `${addSpecial ? 1 : 0} ${parseSpecial ? 1 : 0} ${hex(b)}`).join('\n') + '\n';
  const out = execFileSync(refBin.bin, [refBin.lib, gguf], { input, maxBuffer: 1 << 26 }).toString();
  return out.split('\n').slice(0, inputs.length).map((l) => (l === '' ? [] : l.split(' ').map(Number)));
}

/** Compares ids line by line; fails listing every differing line. */
function compareAll(t, what, names, oursIds, refIds) {
  const bad = [];
  names.forEach((name, i) => {
    if (JSON.stringify(oursIds[i]) !== JSON.stringify(refIds[i])) {
      bad.push(`${name}: ours ${JSON.stringify(oursIds[i])} ref ${JSON.stringify(refIds[i])}`);
    }
  });
  t.diagnostic(`${what}: ${names.length - bad.length}/${names.length} lines match`);
  assert.deepEqual(bad, [], `${what}: ${bad.length} lines differ`);
}

function hfTokenizer(path) {
  return TokenizerLoader.fromPreTrained({
    tokenizerJSON: JSON.parse(readFileSync(path, 'utf8')),
    tokenizerConfig: { clean_up_tokenization_spaces: false },
  });
}

test('Llama-3 (llama-bpe): ids equal llama.cpp llama_tokenize on every corpus line (invalid UTF-8 included) and llama.cpp\'s test lines, BOS and parse_special on and off', { skip }, (t) => {
  if (!refBin) return t.skip('no libllama.so from @node-llama-cpp/linux-x64');
  const entries = [...corpus.map((e) => ({ name: e.name, bytes: bytesOf(e) })),
    ...vocabTests.map((v, i) => ({ name: `llama.cpp test ${i}`, bytes: enc.encode(v.text) }))];
  for (const [addBos, ps] of [[false, false], [true, false], [false, true], [true, true]]) {
    const want = llamaCppRaw(paths.llama3Gguf, addBos, ps, entries.map((e) => e.bytes));
    compareAll(t, `llama-bpe add_bos=${addBos} parse_special=${ps}`, entries.map((e) => e.name),
      entries.map((e) => tok('l3', e.bytes, addBos, ps)), want);
  }
  // llama-bpe adds BOS by default (llama.cpp), so add_bos=true starts with <|begin_of_text|>
  assert.equal(tok('l3', enc.encode('Hi'), true, false)[0], 128000);
});

test('Llama-3 (llama-bpe): ids equal llama.cpp llama_tokenize on 600 seeded random byte strings', { skip }, (t) => {
  if (!refBin) return t.skip('no libllama.so from @node-llama-cpp/linux-x64');
  const lines = randomLines(600, 20261204, EXTRA);
  for (const [addBos, ps] of [[false, false], [true, true]]) {
    const want = llamaCppRaw(paths.llama3Gguf, addBos, ps, lines);
    compareAll(t, `llama-bpe random add_bos=${addBos} parse_special=${ps}`, lines.map(hex),
      lines.map((b) => tok('l3', b, addBos, ps)), want);
  }
});

test('Llama-3 (llama-bpe): ids equal Hugging Face transformers\' ids for llama.cpp\'s test lines (ggml-vocab-llama-bpe.gguf.out)', { skip }, (t) => {
  compareAll(t, 'llama-bpe vs transformers', vocabTests.map((v, i) => `test ${i} ${JSON.stringify(v.text).slice(0, 40)}`),
    vocabTests.map((v) => tok('l3', enc.encode(v.text), false, false)), vocabTests.map((v) => v.ids));
});

test('Llama-3 (llama-bpe): ids equal Hugging Face tokenizer.json semantics (@lenml/tokenizers) on every text line', { skip }, (t) => {
  const hf = hfTokenizer(paths.llama3Json);
  compareAll(t, 'llama-bpe vs HF', texts.map((e) => e.name), texts.map((e) => tok('l3', enc.encode(e.text), false, true)),
    texts.map((e) => hf.encode(e.text, { add_special_tokens: false })));
});

test('Llama-4 (llama4): ids equal Hugging Face tokenizer.json semantics (@lenml/tokenizers) with Llama-4\'s split regex', { skip }, (t) => {
  const hf = hfTokenizer(paths.llama4Json);
  const dec = new TextDecoder('utf-8', { fatal: false });
  const random = randomLines(300, 404, EXTRA).map((b) => dec.decode(b)); // valid UTF-8 (U+FFFD for bad bytes)
  // JS RegExp's \s differs from Unicode White_Space (it adds U+FEFF and lacks U+0085): those
  // random lines are left out; the corpus lines holding them agree anyway.
  const rand = random.filter((s) => !/[\ufeff\u0085]/.test(s));
  const all = [...texts.map((e) => e.text), ...rand];
  const names = [...texts.map((e) => e.name), ...rand.map((s) => `random ${JSON.stringify(s)}`)];
  compareAll(t, 'llama4 vs HF', names, all.map((s) => tok('l4', enc.encode(s), false, true)),
    all.map((s) => hf.encode(s, { add_special_tokens: false })));
});

test('Llama-4 (llama4): ids equal llama.cpp except on lines where llama.cpp\'s approximation of the regex differs (combining marks, non-ASCII letter case)', { skip }, (t) => {
  if (!refBin) return t.skip('no libllama.so from @node-llama-cpp/linux-x64');
  // llama.cpp runs Llama-4's regex through std::regex on text where every non-ASCII letter is
  // one byte: it cannot tell upper from lower case there, and its adapted regex leaves \p{M}
  // out of the letter classes. Lines without such characters must match exactly.
  const approx = /[\p{M}]|[^\x00-\x7f](?<=\p{Lu}|\p{Lt}|\p{Ll})/u;
  const entries = [...texts.map((e) => ({ name: e.name, bytes: enc.encode(e.text), text: e.text })),
    ...corpus.filter((e) => e.hex !== undefined).map((e) => ({ name: e.name, bytes: bytesOf(e), text: lenient.decode(bytesOf(e)) }))];
  const want = llamaCppRaw(paths.llama4Gguf, false, true, entries.map((e) => e.bytes));
  const got = entries.map((e) => tok('l4', e.bytes, false, true));
  const exact = entries.filter((e, i) => !approx.test(e.text) || JSON.stringify(got[i]) === JSON.stringify(want[i]));
  const idx = new Map(entries.map((e, i) => [e, i]));
  compareAll(t, 'llama4 vs llama.cpp', exact.map((e) => e.name), exact.map((e) => got[idx.get(e)]), exact.map((e) => want[idx.get(e)]));
  t.diagnostic(`${entries.length - exact.length} lines with marks or cased non-ASCII letters differ from llama.cpp`);
  assert.ok(exact.length >= entries.length - 10, 'only a few lines hold such characters');
});

test('Llama-3 (llama-bpe): detokenize equals llama.cpp detokenize, and gives the text back', { skip }, (t) => {
  const names = texts.map((e) => e.name);
  const ids = texts.map((e) => tok('l3', enc.encode(e.text), false, false));
  compareAll(t, 'llama-bpe detokenize', names, ids.map((x) => lenient.decode(ours.l3.detokenizeBytes(x, { stripLeadingSpace: true }))),
    ids.map((x) => ref3.detokenize(x, false)));
  // byte-level BPE keeps every byte: without llama.cpp's space clean-up (the streaming
  // detokenizer applies none) the pieces concatenate to the text
  compareAll(t, 'llama-bpe pieces round trip', names,
    ids.map((x) => lenient.decode(Buffer.concat(x.map((id) => Buffer.from(ours.l3.tokenToPiece(id)))))), texts.map((e) => e.text));
});

test('Llama-3 vocabulary: end-of-generation ids equal llama.cpp\'s for every special token', { skip }, () => {
  const specials = [];
  for (let id = 128000; id < 128256; id++) specials.push(id);
  const eog = (f) => specials.filter(f);
  assert.deepEqual(eog((id) => ours.l3.isEog(id)), eog((id) => ref3.isEogToken(id)));
  assert.ok(ours.l3.isEog(128009)); // <|eot_id|>, by its text as in llama.cpp
  assert.deepEqual(tok('l3', enc.encode('<|eot_id|>x'), false, true), [128009, 87]);
});

test('lib/pre_tokenizers.js: every tokenizer.ggml.pre it writes loads in the engine, and it names the Llama-3 and Llama-4 tokenizer.json splits', { skip }, () => {
  const b2u = bytesToUnicode();
  const gguf = (pre) => tinyLlama(256, (w) => {
    w.addString(GGUF_KEY.TOKENIZER_MODEL, 'gpt2');
    w.addString(GGUF_KEY.TOKENIZER_PRE, pre);
    w.addArray(GGUF_KEY.TOKENIZER_TOKENS, GGUFValueType.STRING, Array.from({ length: 256 }, (_, i) => b2u[i]));
    w.addArray(GGUF_KEY.TOKENIZER_MERGES, GGUFValueType.STRING, []);
  }, `pre-${pre}`).toBuffer();
  for (const pre of PRE_TOKENIZERS) {
    const m = eng.loadModel(gguf(pre));
    assert.deepEqual(Array.from(m.tokenize(enc.encode('ab'), { addBos: false })), [0x61, 0x62], pre);
    m.free();
  }
  assert.throws(() => eng.loadModel(gguf('qwen2')), /unsupported pre-tokenizer 'qwen2'/);
  assert.equal(ggufPreTokenizer(JSON.parse(readFileSync(paths.llama3Json, 'utf8')).pre_tokenizer), 'llama-bpe');
  assert.equal(ggufPreTokenizer(JSON.parse(readFileSync(paths.llama4Json, 'utf8')).pre_tokenizer), 'llama4');
});
