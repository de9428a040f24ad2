// cli.test.js — the `mobilellm` command line end to end on the wasm build: each command's
// output against independent references (PyTorch logits, the converter's config), and every
// bad-input path ending in one clear sentence and a non-zero exit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { checkpoints, referenceLogits, scratchDir, ROOT } from '../ref/fixtures.js';
import { makeRandomModel } from '../../tools/make_random_model.js';
import { GGUFWriter, GGUFValueType } from '../../models/convert/gguf_writer.js';
import { GGMLType } from '../../lib/ggml_types.js';
import { Engine } from '../../wasm_build/engine.js';

const CLI = path.join(ROOT, 'bin/mobilellm.js');
const work = scratchDir('cli');
const cp = checkpoints();
const hfDir = cp.dir('ls_tied_gqa'); // layer-shared (repeat 2, immediate), tied head, GQA
const tiny = path.join(work, 'tiny.gguf');
fs.writeFileSync(tiny, makeRandomModel({ shape: 'tiny', type: 'q8_0', nCtx: 64, seed: 7 }));

function run(args, opts = {}) {
  const env = { ...process.env, MOBILELLM_CACHE_DIR: path.join(work, 'cache') };
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', env, ...opts });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** A failing command must print exactly one line, one sentence, on stderr. */
function assertOneSentence(r, pattern, code = 1) {
  assert.equal(r.code, code, `exit code; stderr: ${r.err}`);
  const lines = r.err.trim().split('\n');
  assert.equal(lines.length, 1, `one line of error, got:\n${r.err}`);
  assert.match(lines[0], /^mobilellm: [^\n]+\.$/);
  assert.match(lines[0], pattern);
}

test('convert writes a GGUF whose info reports the checkpoint shape and layer sharing', () => {
  const out = path.join(work, 'ls.gguf');
  const r = run(['convert', hfDir, '-o', out, '--type', 'f32']);
  assert.equal(r.code, 0, r.err);
  const info = JSON.parse(run(['info', '-m', out]).out);
  const cfg = JSON.parse(fs.readFileSync(path.join(hfDir, 'config.json'), 'utf8'));
  assert.equal(info.nEmbd, cfg.hidden_size);
  assert.equal(info.nLayerStored, cfg.num_hidden_layers);
  assert.equal(info.nLayerEffective, 2 * cfg.num_hidden_layers);
  assert.equal(info.shareRepeat, 2);
  assert.equal(info.shareMode, 'immediate');
  assert.equal(info.tiedEmbeddings, true);
  assert.equal(info.weightType, 'F32');
  assert.equal(info.nHeadKv, cfg.num_key_value_heads);
});

test('score: teacher-forced argmax and next-token log-probabilities equal the PyTorch reference', () => {
  const gguf = path.join(work, 'ls.gguf');
  if (!fs.existsSync(gguf)) assert.equal(run(['convert', hfDir, '-o', gguf, '--type', 'f32']).code, 0);
  const seq = cp.tokens.seq40;
  const r = run(['score', '-m', gguf, '--tokens', JSON.stringify(seq)]);
  assert.equal(r.code, 0, r.err);
  const got = JSON.parse(r.out);
  assert.equal(got.length, seq.length);
  const [ref] = referenceLogits([{ dir: hfDir, tokens: seq }]);
  const V = ref.length / seq.length;
  for (let i = 0; i < seq.length; i++) {
    const row = ref.subarray(i * V, (i + 1) * V);
    let best = 0;
    for (let k = 1; k < V; k++) if (row[k] > row[best]) best = k;
    assert.equal(got[i].argmax, best, `argmax at ${i}`);
    if (i + 1 < seq.length) {
      const max = row[best];
      let sum = 0;
      for (let k = 0; k < V; k++) sum += Math.exp(row[k] - max);
      const lp = row[seq[i + 1]] - max - Math.log(sum);
      assert.ok(Math.abs(got[i].logprob_next - lp) < 1e-4, `logprob at ${i}: ${got[i].logprob_next} vs ${lp}`);
    } else {
      assert.equal(got[i].logprob_next, null);
    }
  }
});

test('generate: greedy output is the argmax chain of score, from a GGUF and from an HF directory', async () => {
  const gguf = path.join(work, 'ls.gguf');
  if (!fs.existsSync(gguf)) assert.equal(run(['convert', hfDir, '-o', gguf, '--type', 'f32']).code, 0);
  const N = 6;
  const a = run(['generate', '-m', gguf, '--temp', '0', '--repeat-penalty', '1', '-n', String(N), 'Hello']);
  assert.equal(a.code, 0, a.err);
  // The same chain rebuilt one teacher-forced step at a time with `score`.
  const chain = JSON.parse(run(['tokenize', '-m', gguf, 'Hello']).out);
  const nPrompt = chain.length;
  for (let i = 0; i < N && chain[chain.length - 1] !== 2; i++) {
    const s = JSON.parse(run(['score', '-m', gguf, '--tokens', JSON.stringify(chain)]).out);
    chain.push(s[s.length - 1].argmax);
  }
  const gen = chain.slice(nPrompt).filter((t) => t !== 2);
  const eng = await Engine.create();
  const model = eng.loadModel(fs.readFileSync(gguf));
  assert.equal(a.out, 'Hello' + model.detokenize(gen) + '\n');
  model.free();
  // An HF checkpoint directory as -m is converted (to Q8_0) in memory and generates.
  const b = run(['generate', '-m', hfDir, '--temp', '0', '-n', '3', 'Hello']);
  assert.equal(b.code, 0, b.err);
  assert.ok(b.out.startsWith('Hello'));
});

test('generate with a seed is repeatable and streams the prompt first', () => {
  const args = ['generate', '-m', tiny, '-n', '12', '--seed', '42', '--temp', '1.0', 'hello'];
  const a = run(args), b = run(args), c = run([...args.slice(0, -2), '43', 'hello']);
  assert.equal(a.code, 0, a.err);
  assert.equal(a.out, b.out);
  assert.notEqual(a.out, c.out);
  assert.ok(a.out.startsWith('hello'));
});

test('tokenize prints a JSON id array with BOS, and without it under --no-bos', () => {
  const withBos = JSON.parse(run(['tokenize', '-m', tiny, 'hi there']).out);
  const noBos = JSON.parse(run(['tokenize', '-m', tiny, '--no-bos', 'hi there']).out);
  assert.equal(withBos[0], 1);
  assert.deepEqual(withBos.slice(1), noBos);
  // The synthetic vocabulary has no pieces for these letters: byte fallback <0xNN> = 3 + byte.
  // The synthetic vocabulary has no pieces for this text: byte fallback, <0xNN> = id 3 + NN,
  // of the dummy-prefixed text with spaces as U+2581.
  assert.deepEqual(noBos, [...Buffer.from('\u2581hi\u2581there')].map((b) => 3 + b));
});

test('bench prints prefill/decode speeds (best of --reps), the first prefill, load time and memory as JSON', () => {
  const r = run(['bench', '-m', tiny, '-p', '16', '-n', '4', '--reps', '2']);
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  for (const k of ['prefill_tok_s', 'decode_tok_s', 'first_prefill_tok_s', 'load_ms', 'peak_mem_mb', 'peak_rss_mb']) assert.ok(j[k] > 0, `${k} = ${j[k]}`);
  assert.equal(j.prompt_tokens, 16);
  assert.equal(j.gen_tokens, 4);
  assert.equal(j.reps, 2);
});

test('a prompt longer than the context is refused with its length and the limit', () => {
  const r = run(['generate', '-m', tiny, '--ctx', '8', 'a b c d e f g h i j k l m n o p']);
  assertOneSentence(r, /the prompt is \d+ tokens but the context holds 8/);
});

test('a truncated model file is a clear error, not a crash', () => {
  const bytes = fs.readFileSync(tiny);
  const cut = path.join(work, 'cut.gguf');
  fs.writeFileSync(cut, bytes.subarray(0, 5000));
  assertOneSentence(run(['info', '-m', cut]), /truncated|outside the file/);
});

test('a file that is not GGUF names its bad magic', () => {
  const p = path.join(work, 'not.gguf');
  fs.writeFileSync(p, 'hello, I am a text file and not a model\n');
  assertOneSentence(run(['info', '-m', p]), /not a GGUF file/);
});

/** A minimal GGUF with a chosen architecture and one tensor of a chosen type. */
function oddGGUF(arch, type, blockBytes) {
  const w = new GGUFWriter({ alignment: 32 });
  w.addString('general.architecture', arch);
  w.addArray('tokenizer.ggml.tokens', GGUFValueType.STRING, ['a', 'b']);
  w.addTensor('token_embd.weight', type, [256, 2], new Uint8Array(blockBytes * 2));
  return w.toBuffer();
}

test('a model of another architecture is refused as not llama-compatible', () => {
  const p = path.join(work, 'gpt2.gguf');
  fs.writeFileSync(p, oddGGUF('gpt2', GGMLType.F32, 256 * 4));
  assertOneSentence(run(['info', '-m', p]), /architecture 'gpt2' is not llama-compatible/);
});

test('an unsupported tensor type is named', () => {
  // IQ2_XXS (ggml type 16): a type without kernels here. The writer does not write it, so
  // write F32 and patch the type id in the tensor info.
  const buf = Buffer.from(oddGGUF('llama', GGMLType.F32, 256 * 4));
  const name = Buffer.from('token_embd.weight');
  const at = buf.indexOf(name) + name.length + 4 + 8 * 2; // n_dims u32, two u64 dims
  assert.equal(buf.readUInt32LE(at), 0);
  buf.writeUInt32LE(16, at);
  const p = path.join(work, 'iq2xxs.gguf');
  fs.writeFileSync(p, buf);
  assertOneSentence(run(['info', '-m', p]), /'token_embd\.weight' has unsupported type IQ2_XXS/);
});

test('usage mistakes exit 2 with one sentence', () => {
  assertOneSentence(run(['frobnicate']), /unknown command 'frobnicate'/, 2);
  assertOneSentence(run(['generate', '-m', tiny, '-n', 'many', 'x']), /option -n must be an integer from 0 to 2147483647, not 'many'/, 2);
  assertOneSentence(run(['info', '-m', path.join(work, 'nope.gguf')]), /cannot read model .*no such file/, 2);
  assertOneSentence(run(['score', '-m', tiny, '--tokens', '[1, 99999]']), /token id 99999 is outside the vocabulary/, 2);
  assertOneSentence(run(['convert', work, '-o', path.join(work, 'x.gguf')]), /has no config\.json/);
});
