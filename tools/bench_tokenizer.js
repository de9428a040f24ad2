// bench_tokenizer.js — how long a large byte-level BPE vocabulary takes to load, and how fast
// it tokenizes, in the wasm engine under this Node (and natively when build/native/mllm is
// built). Vocabularies: the real Llama-3 one (128,256 pieces, 280,147 merges; MobileLLM-R1's)
// from tests/fixtures/llama3_vocab.js, and a Llama-4-sized one (202,048 pieces: the Llama-3
// vocabulary plus 73,792 pieces, each the merge of two earlier ones, so 353,939 merges), each
// in a tiny random model. Prints a markdown table; the figures go to PERF_NOTES.md by hand.
//
//   node tools/bench_tokenizer.js [REPS]          (make wasm first; make build/native/mllm for native)

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Engine } from '../wasm_build/engine.js';
import { GGUFValueType } from '../models/convert/gguf_writer.js';
import { GGUF_KEY } from '../lib/gguf_keys.js';
import { loadCorpus, tinyLlama } from '../tests/fixtures/make_vocab_models.js';
import { makeLlama3Fixtures, readGgufKv } from '../tests/fixtures/llama3_vocab.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const REPS = Number(process.argv[2] ?? 5);

const { paths, why } = makeLlama3Fixtures();
if (!paths) throw new Error(why);

/** The Llama-3 vocabulary grown to n pieces by deterministic extra merges of earlier pieces. */
function grownVocab(n) {
  const kv = readGgufKv(readFileSync(paths.vocabOnly));
  const tokens = kv.get(GGUF_KEY.TOKENIZER_TOKENS).slice(), types = kv.get(GGUF_KEY.TOKENIZER_TOKEN_TYPE).slice();
  const merges = kv.get(GGUF_KEY.TOKENIZER_MERGES).slice();
  const seen = new Set(tokens);
  let s = 12345;
  const rnd = (k) => { s = (Math.imul(s, 1103515245) + 12345) >>> 0; return s % k; };
  while (tokens.length < n) {
    const a = tokens[rnd(128000)], b = tokens[rnd(128000)];
    if (seen.has(a + b)) continue;
    seen.add(a + b);
    tokens.push(a + b);
    types.push(1);
    merges.push(`${a} ${b}`);
  }
  return { tokens, types, merges };
}

const big = join(ROOT, 'build', 'fixtures', 'llama4-sized-vocab.gguf');
if (!existsSync(big)) {
  const v = grownVocab(202048);
  writeFileSync(big, tinyLlama(v.tokens.length, (w) => {
    w.addString(GGUF_KEY.TOKENIZER_MODEL, 'gpt2');
    w.addString(GGUF_KEY.TOKENIZER_PRE, 'llama4');
    w.addArray(GGUF_KEY.TOKENIZER_TOKENS, GGUFValueType.STRING, v.tokens);
    w.addArray(GGUF_KEY.TOKENIZER_TOKEN_TYPE, GGUFValueType.INT32, v.types);
    w.addArray(GGUF_KEY.TOKENIZER_MERGES, GGUFValueType.STRING, v.merges);
  }, 'llama4-sized-vocab').toBuffer());
}

const text = new TextEncoder().encode(loadCorpus().filter((e) => typeof e.text === 'string').map((e) => e.text).join('\n').repeat(20));
/** CPU milliseconds (user + system) of this process since `from` (a process.cpuUsage()). */
const cpuMs = (from) => { const d = process.cpuUsage(from); return (d.user + d.system) / 1000; };

const eng = await Engine.create();
const rows = [];
for (const [name, file] of [['Llama-3 128,256 (llama-bpe)', paths.llama3Gguf], ['Llama-4-sized 202,048 (llama4)', big]]) {
  const bytes = readFileSync(file);
  let first = null, best = null, tok = null, nTok = 0;
  const min = (a, b) => (a === null || b[0] < a[0] ? b : a);
  for (let r = 0; r < REPS; r++) {
    const at = eng.put(bytes); // the copy into the heap is not timed
    let c = process.cpuUsage(), t = performance.now();
    const m = eng.loadModelAt(at, bytes.length);
    const load = [cpuMs(c), performance.now() - t];
    if (r === 0) first = load;
    best = min(best, load);
    c = process.cpuUsage(), t = performance.now();
    nTok = m.tokenize(text, { addBos: false }).length;
    tok = min(tok, [cpuMs(c), performance.now() - t]);
    m.free();
  }
  let native = '';
  const bin = join(ROOT, 'build', 'native', 'mllm');
  if (existsSync(bin) && existsSync('/usr/bin/time')) {
    let b = null;
    for (let r = 0; r < REPS; r++) {
      const res = spawnSync('/usr/bin/time', ['-f', '%U %S', bin, 'bench', '-m', file, '-p', '1', '-n', '1'], { encoding: 'utf8' });
      const [u, sy] = res.stderr.trim().split('\n').pop().split(' ').map(Number);
      b = min(b, [(u + sy) * 1000, JSON.parse(res.stdout).load_ms]);
    }
    native = `${b[0].toFixed(0)} / ${b[1].toFixed(0)}`;
  }
  const f = (x) => `${x[0].toFixed(0)} / ${x[1].toFixed(0)}`;
  rows.push(`| ${name} | ${(bytes.length / 2 ** 20).toFixed(1)} | ${f(first)} | ${f(best)} | ${native} | ${f(tok)} (${(text.length / 1024).toFixed(0)} KiB, ${nTok} tokens) |`);
}
console.log(`Node ${process.version}, best of ${REPS}; each cell CPU ms / wall ms`);
console.log('| vocabulary | file MiB | wasm load, first | wasm load, best | native process (whole bench run) / load | wasm tokenize |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
for (const r of rows) console.log(r);
