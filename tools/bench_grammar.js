#!/usr/bin/env node
// bench_grammar.js — what constrained decoding costs per token, against a decode step.
//
// The grammar work of a step (the token mask over the whole vocabulary, the masked logits,
// advancing the parse, the completion-budget check) does not depend on the model's size, only
// on its vocabulary and the grammar. So it is measured on tiny models (1 block, width 16) that
// carry real vocabularies, as the time per token of a constrained run minus that of an
// unconstrained run of the same model, and set against the decode step of the
// MobileLLM-125M-shaped random model (bench.js's file). Vocabularies: LLaMA-2's 32,000
// SentencePiece pieces (the MobileLLM tokenizer; tests/fixtures/make_vocab_models.js) and
// Llama-3's 128,256 byte-level pieces (MobileLLM-R1's; llama.cpp's models/ggml-vocab-llama-bpe.gguf
// from the bundle inside node-llama-cpp, copied into a tiny model here).
//   node tools/bench_grammar.js [--md] [--reps N]     (--md: print the BENCHMARKS.md section)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Engine, Generator, Grammar } from '../wasm_build/engine.js';
import { jsonSchemaToGrammar } from '../worker/json_schema_grammar.js';
import { makeRandomModel } from './make_random_model.js';
import { makeVocabModels } from '../tests/fixtures/make_vocab_models.js';
import { GGUFWriter, GGUFValueType, GGMLType } from '../models/convert/gguf_writer.js';

const FIX = 'build/fixtures';
const MD = process.argv.includes('--md');
const REPS = Number(process.argv[process.argv.indexOf('--reps') + 1]) || 5;
const N = 64;
const log = (...a) => process.stderr.write(`[bench_grammar] ${a.join(' ')}\n`);

const GRAMMARS = {
  'JSON array of any values': jsonSchemaToGrammar({ type: 'array' }),
  'JSON object (schema)': jsonSchemaToGrammar({
    type: 'object', properties: { name: { type: 'string' }, age: { type: 'integer' }, tags: { type: 'array', items: { type: 'string' } } },
    required: ['name', 'age', 'tags'],
  }),
  'free text in a string (worst case)': 'root ::= "\\"" [^"\\\\]* "\\""',
};

// ---------------------------------------------------------------- models
/** Metadata of a GGUF file (tokenizer keys only): [key, type, value, elemType]. */
function ggufTokenizerKv(bytes) {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dec = new TextDecoder();
  let o = 8;
  const u64 = () => { const v = Number(dv.getBigUint64(o, true)); o += 8; return v; };
  const str = () => { const n = u64(); const s = dec.decode(bytes.subarray(o, o + n)); o += n; return s; };
  const scalar = (t) => {
    const r = [() => dv.getUint8(o), () => dv.getInt8(o), () => dv.getUint16(o, true), () => dv.getInt16(o, true),
      () => dv.getUint32(o, true), () => dv.getInt32(o, true), () => dv.getFloat32(o, true), () => dv.getUint8(o) !== 0][t];
    const size = [1, 1, 2, 2, 4, 4, 4, 1][t];
    if (t === 8) return str();
    if (t >= 10) { const v = dv.getBigUint64(o, true); o += 8; return v; }
    const v = r(); o += size; return v;
  };
  if (dec.decode(bytes.subarray(0, 4)) !== 'GGUF') throw new Error('not a GGUF file');
  u64(); // tensors
  const nKv = u64(), out = [];
  for (let i = 0; i < nKv; i++) {
    const key = str(), t = dv.getUint32(o, true);
    o += 4;
    if (t === 9) {
      const et = dv.getUint32(o, true);
      o += 4;
      const n = u64(), vals = [];
      for (let j = 0; j < n; j++) vals.push(scalar(et));
      out.push([key, t, vals, et]);
    } else {
      out.push([key, t, scalar(t)]);
    }
  }
  return out.filter(([k]) => k.startsWith('tokenizer.'));
}

/** A 1-block width-16 F32 llama model carrying a given vocabulary. */
function tinyWithVocab(kv, nVocab) {
  const nEmbd = 16, nFF = 32, nHead = 2, hd = nEmbd / nHead;
  let s = 99;
  const rnd = (n) => { const a = new Float32Array(n); for (let i = 0; i < n; i++) { s = (s * 1103515245 + 12345) >>> 0; a[i] = (s / 2 ** 32 - 0.5) * 0.2; } return new Uint8Array(a.buffer); };
  const ones = (n) => new Uint8Array(new Float32Array(n).fill(1).buffer);
  const w = new GGUFWriter({ alignment: 32 });
  w.addString('general.architecture', 'llama');
  w.addString('general.name', 'tiny-llama3-vocab');
  for (const [k, v] of [['context_length', 512], ['embedding_length', nEmbd], ['feed_forward_length', nFF], ['block_count', 1],
    ['attention.head_count', nHead], ['attention.head_count_kv', nHead], ['rope.dimension_count', hd], ['vocab_size', nVocab]]) {
    w.addValue(`llama.${k}`, GGUFValueType.UINT32, v);
  }
  w.addValue('llama.rope.freq_base', GGUFValueType.FLOAT32, 500000);
  w.addValue('llama.attention.layer_norm_rms_epsilon', GGUFValueType.FLOAT32, 1e-5);
  for (const [k, t, v, et] of kv) {
    // the engine has no llama-bpe pre-tokenizer yet; the mask depends on the pieces only
    if (k === 'tokenizer.ggml.pre') { w.addString(k, 'gpt-2'); continue; }
    if (t === 9) w.addArray(k, et, et === 5 ? Int32Array.from(v) : et === 6 ? Float32Array.from(v) : v);
    else w.addValue(k, t, v);
  }
  w.addTensor('token_embd.weight', GGMLType.F32, [nEmbd, nVocab], rnd(nEmbd * nVocab));
  w.addTensor('output_norm.weight', GGMLType.F32, [nEmbd], ones(nEmbd));
  w.addTensor('blk.0.attn_norm.weight', GGMLType.F32, [nEmbd], ones(nEmbd));
  for (const m of ['q', 'k', 'v', 'output']) w.addTensor(`blk.0.attn_${m}.weight`, GGMLType.F32, [nEmbd, nEmbd], rnd(nEmbd * nEmbd));
  w.addTensor('blk.0.ffn_norm.weight', GGMLType.F32, [nEmbd], ones(nEmbd));
  w.addTensor('blk.0.ffn_gate.weight', GGMLType.F32, [nEmbd, nFF], rnd(nEmbd * nFF));
  w.addTensor('blk.0.ffn_up.weight', GGMLType.F32, [nEmbd, nFF], rnd(nEmbd * nFF));
  w.addTensor('blk.0.ffn_down.weight', GGMLType.F32, [nFF, nEmbd], rnd(nEmbd * nFF));
  return w.toBuffer();
}

function llama3Model() {
  const out = `${FIX}/tiny-llama3-vocab.gguf`;
  if (existsSync(out)) return out;
  const git = 'build/llama.cpp.git';
  if (!existsSync(git)) {
    log('cloning llama.cpp from the node-llama-cpp bundle (for its Llama-3 vocabulary file)');
    execFileSync('git', ['clone', '-q', '--bare', 'node_modules/node-llama-cpp/llama/gitRelease.bundle', git]);
  }
  const bytes = execFileSync('git', ['--git-dir', git, 'show', 'HEAD:models/ggml-vocab-llama-bpe.gguf'], { maxBuffer: 1 << 28 });
  const kv = ggufTokenizerKv(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  const nVocab = kv.find(([k]) => k === 'tokenizer.ggml.tokens')[2].length;
  writeFileSync(out, tinyWithVocab(kv, nVocab));
  return out;
}

// ---------------------------------------------------------------- timing
/** One run of N steps; returns ms per generated token (null: it ended too soon to measure). */
function run(model, grammar, seed) {
  const ctx = model.newContext({ nCtx: 512 });
  const sampler = model.newSampler({ temperature: 1, topK: 0, topP: 1, minP: 0, repeatPenalty: 1, seed });
  ctx.eval(model.tokenize('The answer:'));
  const gen = new Generator(ctx, sampler, { maxTokens: N, ignoreEos: !grammar, ...(grammar ? { grammar } : {}) });
  let n = 0;
  const t0 = performance.now();
  for (;;) {
    const s = gen.step();
    if (s.token >= 0) n++;
    if (s.stop) break;
  }
  const ms = (performance.now() - t0) / n;
  gen.free();
  sampler.free();
  ctx.free();
  return n >= 16 ? ms : null;
}

/** {cold, warm, plain, compileMs}: ms per token of the first run of a fresh grammar (its mask
 * cache filling as positions are first reached), the best of REPS later runs (other seeds, cache
 * kept), and the best of REPS unconstrained runs interleaved with those (the machine is shared:
 * interleaving and best-of keep load changes out of the difference). */
function msPerToken(model, gbnf) {
  const t0 = performance.now();
  const grammar = gbnf ? new Grammar(model, gbnf) : null;
  const compileMs = performance.now() - t0;
  const cold = grammar ? run(model, grammar, 1) : null;
  let warm = Infinity, plain = Infinity;
  for (let r = 0; r < REPS; r++) {
    plain = Math.min(plain, run(model, null, 2 + r) ?? Infinity);
    if (grammar) warm = Math.min(warm, run(model, grammar, 2 + r) ?? Infinity);
  }
  grammar?.free();
  return { cold, warm, plain, compileMs };
}

mkdirSync(FIX, { recursive: true });
const base = `${FIX}/random-125m-q8_0.gguf`;
if (!existsSync(base)) {
  log(`making ${base}`);
  writeFileSync(base, makeRandomModel({ shape: '125m', type: 'q8_0' }));
}
const vocab = makeVocabModels(`${FIX}/vocab`);
const eng = await Engine.create();
const load = (p) => eng.loadModel(new Uint8Array(readFileSync(p)));

const m125 = load(base);
const decodeMs = msPerToken(m125, null).plain;
m125.free();

const rows = [];
for (const [vname, file] of [['LLaMA-2 SentencePiece, 32,000', vocab.llamaGguf], ['Llama-3 byte-level BPE, 128,256', llama3Model()]]) {
  const m = load(file);
  for (const [gname, gbnf] of Object.entries(GRAMMARS)) {
    const t = msPerToken(m, gbnf);
    const warm = t.warm - t.plain, cold = (t.cold ?? NaN) - t.plain;
    rows.push({ vocab: vname, grammar: gname, warm_ms: +warm.toFixed(3), of_decode: +(warm / decodeMs).toFixed(3),
      cold_ms: +cold.toFixed(3), compile_ms: +t.compileMs.toFixed(1) });
  }
  m.free();
}
const result = { decode_ms_125m: +decodeMs.toFixed(2), rows };
if (!MD) {
  process.stdout.write(JSON.stringify(result) + '\n');
} else {
  const pct = (x) => `${(x * 100).toFixed(1)}%`;
  let md = `
## Constrained decoding (\`node tools/bench_grammar.js\`, SIMD build, Node ${process.version}, 1 thread)

Grammar work per token (mask over the whole vocabulary, masked logits, parse advance, completion budget), as
a constrained run's time per token minus an unconstrained run's on the same tiny model with a real vocabulary
(${N} steps at temperature 1), against the ${result.decode_ms_125m} ms decode step of \`${base}\` (32,000 vocabulary).
Warm: best of ${REPS} runs once the grammar's mask cache holds the positions reached (the steady state of a
long generation); cold: the first run of a fresh grammar, whose positions each cost one walk of the whole
vocabulary on first use; compile: \`new Grammar(model, gbnf)\` (parse, and index the vocabulary). Target: warm <= 10% at 32k.

| vocabulary | grammar | warm ms / token | of a 125M decode step | cold ms / token (first run) | compile ms |
| --- | --- | ---: | ---: | ---: | ---: |
`;
  const f3 = (x) => (Number.isFinite(x) ? x.toFixed(3) : 'run too short');
  for (const r of rows) md += `| ${r.vocab} | ${r.grammar} | ${f3(r.warm_ms)} | ${pct(r.of_decode)} | ${f3(r.cold_ms)} | ${r.compile_ms.toFixed(1)} |\n`;
  process.stdout.write(md);
}
