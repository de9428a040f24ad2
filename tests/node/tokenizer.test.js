// tokenizer.test.js — the engine's tokenizers (through the wasm build) against independent
// references on every line of tests/fixtures/corpus.json:
//   llama.cpp       node-llama-cpp's model.tokenize()/detokenize() on valid UTF-8, and
//                   llama.cpp's llama_tokenize through tests/fixtures/llama_ref_tokenize.c for
//                   raw bytes (invalid UTF-8) and BOS handling
//   LLaMA-2 only    llama-tokenizer-js (HF merges) and python3-sentencepiece
//   BPE only        @lenml/tokenizers on the equivalent Hugging Face tokenizer.json
// plus detokenize round trips and the streaming detokenizer's UTF-8 guarantees.
// Fixtures come from tests/fixtures/make_vocab_models.js (real LLaMA-2 vocabulary; a BPE
// vocabulary trained on the corpus).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import llamaTokenizer from 'llama-tokenizer-js';
import { TokenizerLoader } from '@lenml/tokenizers';
import { getLlama } from 'node-llama-cpp';

import { Engine } from '../../wasm_build/engine.js';
import { loadCorpus, makeVocabModels } from '../fixtures/make_vocab_models.js';
import { randomLines } from '../fixtures/random_lines.js';
import { llamaCppLib, nativeFixture } from '../ref/fixtures.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PY = '/usr/bin/python3';

const corpus = loadCorpus();
const bytesOf = (e) => (e.hex !== undefined ? Uint8Array.from(Buffer.from(e.hex, 'hex')) : new TextEncoder().encode(e.text));
const isText = (e) => typeof e.text === 'string';
const hex = (u8) => Buffer.from(u8).toString('hex');
const fatal = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }); // keep a leading U+FEFF
const lenient = new TextDecoder('utf-8', { ignoreBOM: true });

/** @type {Record<string, string>} */
let paths;
/** @type {Engine} */
let eng;
/** engine models by fixture key */
const ours = {};
/** node-llama-cpp models by fixture key */
const ref = {};
let llama;
let llamaRefBin = null;
let llamaRefSkip = '';

const BPE_KEYS = ['smollmGguf', 'gpt2Gguf', 'defaultGguf'];
const ALL_KEYS = ['llamaGguf', ...BPE_KEYS];

before(async () => {
  paths = makeVocabModels();
  eng = await Engine.create();
  for (const k of ALL_KEYS) ours[k] = eng.loadModel(readFileSync(paths[k]));
  llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' });
  for (const k of ALL_KEYS) ref[k] = await llama.loadModel({ modelPath: paths[k] });

  const lib = llamaCppLib('llama');
  if (!lib) {
    llamaRefSkip = 'no libllama.so from @node-llama-cpp/linux-x64';
  } else {
    const bin = nativeFixture('llama_ref_tokenize');
    try {
      execFileSync(bin, [lib, paths.llamaGguf], { input: '0 0 61\n', stdio: ['pipe', 'pipe', 'pipe'] });
      llamaRefBin = { bin, lib };
    } catch (err) {
      llamaRefSkip = `llama_ref_tokenize cannot drive this libllama: ${String(err.stderr || err.message).trim()}`;
    }
  }
});

after(async () => {
  for (const m of Object.values(ours)) m.free();
  for (const m of Object.values(ref)) await m.dispose();
  await llama?.dispose();
});

// ------------------------------------------------------------------ helpers

/** Our ids for an entry. */
function tok(key, e, addBos, parseSpecial) {
  return Array.from(ours[key].tokenize(bytesOf(e), { addBos, parseSpecial }));
}

/** llama.cpp's llama_tokenize on raw byte strings (default: every corpus entry's bytes). */
function llamaCppRaw(key, addSpecial, parseSpecial, inputs = corpus.map(bytesOf)) {
  const input = inputs.map((b) => `${addSpecial ? 1 : 0} ${parseSpecial ? 1 : 0} ${hex(b)}`).join('\n') + '\n';
  const out = execFileSync(llamaRefBin.bin, [llamaRefBin.lib, paths[key]], { input, maxBuffer: 1 << 26 }).toString();
  return out.split('\n').slice(0, inputs.length).map((l) => (l === '' ? [] : l.split(' ').map(Number)));
}

/** Raw bytes of our whole-sequence detokenization. */
function detokBytes(key, ids, strip) {
  return ours[key].detokenizeBytes(ids, { stripLeadingSpace: strip });
}

/** The streaming detokenizer's chunks (as byte arrays) for ids, flush included. */
function streamChunks(key, ids, strip) {
  const d = ours[key].newDetokenizer({ stripLeadingSpace: strip });
  try {
    return [...Array.from(ids, (id) => d.push(id)), d.flush()];
  } finally {
    d.free();
  }
}

/** Counts agreement; fails listing every disagreeing entry. */
function compareAll(t, what, entries, oursFn, refFn) {
  const bad = [];
  for (const e of entries) {
    const a = oursFn(e), b = refFn(e);
    if (JSON.stringify(a) !== JSON.stringify(b)) bad.push(`${e.name}: ours ${JSON.stringify(a)} ref ${JSON.stringify(b)}`);
  }
  t.diagnostic(`${what}: ${entries.length - bad.length}/${entries.length} lines match`);
  assert.deepEqual(bad, [], `${what}: ${bad.length} lines differ`);
}

// ------------------------------------------------------------------ LLaMA-2 SentencePiece

test('LLaMA-2 vocabulary: ids equal llama.cpp (node-llama-cpp) on every text line, with and without parse_special', (t) => {
  const texts = corpus.filter(isText);
  compareAll(t, 'spm plain', texts, (e) => tok('llamaGguf', e, false, false), (e) => ref.llamaGguf.tokenize(e.text, false));
  compareAll(t, 'spm special', texts, (e) => tok('llamaGguf', e, false, true), (e) => ref.llamaGguf.tokenize(e.text, true));
});

test('every vocabulary: ids equal llama.cpp llama_tokenize on raw bytes (invalid UTF-8 included), BOS on and off', (t) => {
  if (!llamaRefBin) return t.skip(llamaRefSkip);
  for (const key of ALL_KEYS) {
    for (const [addBos, ps] of [[false, false], [true, false], [false, true], [true, true]]) {
      const want = llamaCppRaw(key, addBos, ps);
      const idx = new Map(corpus.map((e, i) => [e, i]));
      compareAll(t, `${key} add_bos=${addBos} parse_special=${ps}`, corpus, (e) => tok(key, e, addBos, ps), (e) => want[idx.get(e)]);
    }
  }
});

test('every vocabulary: ids equal llama.cpp llama_tokenize on 600 seeded random byte strings', (t) => {
  if (!llamaRefBin) return t.skip(llamaRefSkip);
  const lines = randomLines(600, 20240601);
  for (const key of ALL_KEYS) {
    for (const [addBos, ps] of [[false, false], [true, true]]) {
      const want = llamaCppRaw(key, addBos, ps, lines);
      const bad = [];
      lines.forEach((b, i) => {
        const got = Array.from(ours[key].tokenize(b, { addBos, parseSpecial: ps }));
        if (JSON.stringify(got) !== JSON.stringify(want[i])) bad.push(`${hex(b)}: ours ${JSON.stringify(got)} ref ${JSON.stringify(want[i])}`);
      });
      t.diagnostic(`${key} add_bos=${addBos} parse_special=${ps}: ${lines.length - bad.length}/${lines.length} random lines match`);
      assert.deepEqual(bad.slice(0, 5), [], `${key}: ${bad.length} random lines differ`);
    }
  }
});

test('LLaMA-2 vocabulary: ids equal llama-tokenizer-js (the HF merges) with BOS', (t) => {
  // llama-tokenizer-js returns [] for "" even with BOS; llama.cpp and SentencePiece give [BOS].
  const texts = corpus.filter((e) => isText(e) && e.text !== '');
  compareAll(t, 'spm vs llama-tokenizer-js', texts, (e) => tok('llamaGguf', e, true, false), (e) => llamaTokenizer.encode(e.text, true, true));
});

test('LLaMA-2 vocabulary: ids and decoding equal python3-sentencepiece on the same pieces and scores', (t) => {
  const texts = corpus.filter(isText);
  const script = `
import sys, json, sentencepiece as spm
sp = spm.SentencePieceProcessor(model_file=sys.argv[1])
texts = json.load(sys.stdin)
ids = [sp.encode(s) for s in texts]
print(json.dumps({"ids": ids, "dec": [sp.decode(i) for i in ids], "dec_bos": [sp.decode([1] + i) for i in ids]}))`;
  const sp = JSON.parse(execFileSync(PY, ['-c', script, paths.llamaSpm], { input: JSON.stringify(texts.map((e) => e.text)), maxBuffer: 1 << 26 }).toString());
  const at = new Map(texts.map((e, i) => [e, i]));
  compareAll(t, 'spm vs sentencepiece ids', texts, (e) => tok('llamaGguf', e, false, false), (e) => sp.ids[at.get(e)]);
  compareAll(t, 'spm vs sentencepiece decode', texts, (e) => lenient.decode(detokBytes('llamaGguf', sp.ids[at.get(e)], true)), (e) => sp.dec[at.get(e)]);
  compareAll(t, 'spm vs sentencepiece decode after BOS', texts, (e) => lenient.decode(detokBytes('llamaGguf', [1, ...sp.ids[at.get(e)]], true)), (e) => sp.dec_bos[at.get(e)]);
});

// ------------------------------------------------------------------ GPT-2 byte-level BPE

test('BPE vocabulary (pre smollm, gpt-2, default): ids equal llama.cpp (node-llama-cpp) on every text line', (t) => {
  const texts = corpus.filter(isText);
  for (const key of BPE_KEYS) {
    compareAll(t, `${key} plain`, texts, (e) => tok(key, e, false, false), (e) => ref[key].tokenize(e.text, false));
    compareAll(t, `${key} special`, texts, (e) => tok(key, e, false, true), (e) => ref[key].tokenize(e.text, true));
  }
});

test('BPE vocabulary (smollm): ids equal Hugging Face tokenizer.json semantics (@lenml/tokenizers)', (t) => {
  const hf = TokenizerLoader.fromPreTrained({
    tokenizerJSON: JSON.parse(readFileSync(paths.bpeJson, 'utf8')),
    tokenizerConfig: { clean_up_tokenization_spaces: false },
  });
  // HF always splits added tokens out of the text, as parse_special does. Lines marked
  // known.hf differ for a documented reason in the JS port (see the corpus entry).
  const texts = corpus.filter((e) => isText(e) && !e.known?.hf);
  compareAll(t, 'smollm vs HF encode', texts, (e) => tok('smollmGguf', e, false, true), (e) => hf.encode(e.text, { add_special_tokens: false }));
  const nonEmpty = texts.filter((e) => e.text !== ''); // the JS port refuses to decode []
  compareAll(t, 'smollm vs HF decode', nonEmpty, (e) => lenient.decode(detokBytes('smollmGguf', tok('smollmGguf', e, false, true), false)),
    (e) => hf.decode(tok('smollmGguf', e, false, true), { skip_special_tokens: true }));
});

// ------------------------------------------------------------------ detokenization

test('detokenize(tokenize(x)) gives back x for every valid UTF-8 line', (t) => {
  const texts = corpus.filter(isText);
  // SPM: BOS + dummy prefix, stripped again; special tokens not parsed so all text survives.
  // A literal U+2581 in the text cannot survive: SentencePiece spells spaces with it.
  const spmTexts = texts.filter((e) => !e.text.includes('\u2581'));
  compareAll(t, 'spm round trip', spmTexts, (e) => lenient.decode(detokBytes('llamaGguf', tok('llamaGguf', e, true, false), true)), (e) => e.text);
  // smollm does not clean up spaces, so its round trip is exact too (control tokens such as
  // <|endoftext|> render as nothing, so this runs without parse_special)
  compareAll(t, 'smollm round trip', texts, (e) => lenient.decode(detokBytes('smollmGguf', tok('smollmGguf', e, false, false), false)), (e) => e.text);
  // SPM keeps raw bytes through byte fallback: invalid lines come back byte for byte, except
  // where a truncated sequence's lead byte announces more bytes than follow and swallows the
  // escaped space ("▁") after it, which then comes back as the 3 bytes of ▁ (llama.cpp
  // splits symbols the same way; the ids are compared with llama.cpp above).
  const swallowsSpace = (b) => {
    for (let i = 0; i < b.length;) {
      const n = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4][b[i] >> 4];
      for (let j = 1; j < n && i + j < b.length; j++) if (b[i + j] === 0x20) return true;
      i += n;
    }
    return false;
  };
  const raw = corpus.filter((e) => !isText(e) && !swallowsSpace(bytesOf(e)));
  compareAll(t, 'spm raw bytes round trip', raw, (e) => hex(detokBytes('llamaGguf', tok('llamaGguf', e, true, false), true)), (e) => e.hex);
});

test('detokenize equals llama.cpp detokenize (node-llama-cpp) for every vocabulary', (t) => {
  // llama.cpp strips the dummy-prefix space from the first token (none here is BOS) and,
  // for the gpt-2/default pre-tokenizers, cleans up spaces before punctuation.
  const texts = corpus.filter(isText);
  for (const key of ALL_KEYS) {
    compareAll(t, `${key} detokenize`, texts, (e) => lenient.decode(detokBytes(key, tok(key, e, false, false), true)),
      (e) => ref[key].detokenize(tok(key, e, false, false), false));
  }
});

test('streaming detokenizer: every chunk is valid UTF-8 and the chunks add up to the whole decode', (t) => {
  // The gpt-2/default fixtures share smollm's vocabulary; only their whole-sequence
  // detokenize differs (llama.cpp's space clean-up), which a stream cannot apply.
  let checked = 0;
  const inputs = [...corpus.map((e) => ({ name: e.name, bytes: bytesOf(e) })),
    ...randomLines(200, 7).map((b) => ({ name: `random ${hex(b)}`, bytes: b }))];
  for (const key of ['llamaGguf', 'smollmGguf']) {
    for (const { name, bytes } of inputs) {
      for (const strip of [false, true]) {
        const ids = Array.from(ours[key].tokenize(bytes, { addBos: true, parseSpecial: true }));
        const chunks = streamChunks(key, ids, strip);
        for (const c of chunks) assert.doesNotThrow(() => fatal.decode(c), `${key} ${name}: chunk ${hex(c)} is not valid UTF-8`);
        const joined = hex(Buffer.concat(chunks.map((c) => Buffer.from(c))));
        // what TextDecoder makes of the whole byte sequence, invalid bytes included
        const whole = hex(new TextEncoder().encode(lenient.decode(detokBytes(key, ids, strip))));
        assert.equal(joined, whole, `${key} ${name} strip=${strip}`);
        checked++;
      }
    }
  }
  t.diagnostic(`${checked} streams checked`);
});

test('token pieces: control tokens are empty, bytes are single bytes, pieces concatenate to the decode', () => {
  const m = ours.llamaGguf;
  assert.equal(m.tokenToPiece(1).length, 0); // <s>
  assert.equal(m.tokenToPiece(2).length, 0); // </s>
  assert.deepEqual(Array.from(m.tokenToPiece(3 + 0x0a)), [0x0a]); // <0x0A>
  assert.equal(new TextDecoder().decode(m.tokenToPiece(15043)), ' Hello'); // ▁Hello
  assert.throws(() => m.tokenToPiece(32000));
  for (const key of ['llamaGguf', 'smollmGguf']) {
    for (const e of corpus) {
      const ids = tok(key, e, true, true);
      const cat = hex(Buffer.concat(ids.map((id) => Buffer.from(ours[key].tokenToPiece(id)))));
      assert.equal(cat, hex(detokBytes(key, ids, false)), `${key} ${e.name}`);
    }
  }
  assert.equal(ours.llamaGguf.isEog(2), true);
  assert.equal(ours.llamaGguf.isEog(1), false);
  assert.equal(ours.smollmGguf.isEog(0), true);
  assert.equal(ours.smollmGguf.isEog(2), true); // <|im_end|>, by its text as in llama.cpp
});

test('src/unicode_data.c is exactly what tools/gen_unicode_data.py derives from unicodedata', () => {
  const generated = execFileSync(PY, [join(ROOT, 'tools', 'gen_unicode_data.py')], { maxBuffer: 1 << 24 }).toString();
  assert.equal(generated, readFileSync(join(ROOT, 'src', 'unicode_data.c'), 'utf8'));
});
