#!/usr/bin/env node
// bench_eval.js — shared-prefix scoring against scoring each context + choice from scratch, on
// HellaSwag-shaped documents (4 endings of 20 tokens after an 80-token context) and a
// MobileLLM-125M-shaped model. Prints one JSON line; tools/bench.js puts it in BENCHMARKS.md.
//   node tools/bench_eval.js [-m MODEL.gguf] [--docs N] [--reps R] [--threads T]
import { readFileSync } from 'node:fs';
import { Engine } from '../wasm_build/engine.js';
import { promptIds } from '../wasm_build/bench.js';
import { Scorer } from '../worker/eval/scorer.js';

const arg = (name, def) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : def;
};
const modelPath = arg('-m', 'build/fixtures/random-125m-q8_0.gguf');
const DOCS = Number(arg('--docs', 8)), REPS = Number(arg('--reps', 3)), THREADS = Number(arg('--threads', 1));
const CTX = 80, END = 20, CHOICES = 4;

const eng = await Engine.create({ threads: THREADS });
const model = eng.loadModel(new Uint8Array(readFileSync(modelPath)));
const ctx = model.newContext({ nCtx: 256, nBatch: 128, threads: THREADS });
const scorer = new Scorer(model, ctx, { nBatch: 128 });
const V = model.info.nVocab;
// Every document its own context (nothing carries over between documents), its own endings.
const docs = Array.from({ length: DOCS }, (_, d) => Array.from({ length: CHOICES }, (_, c) => ({
  ctx: Int32Array.from(promptIds(CTX, V, 1000 * d)), cont: Int32Array.from(promptIds(END, V, 1000 * d + 100 + 25 * c)),
})));

const time = (shared) => {
  const t = performance.now();
  for (const reqs of docs) scorer.loglikelihoods(reqs, { shared });
  return (performance.now() - t) / 1000;
};
time(true); // warm-up
let best = { shared: Infinity, scratch: Infinity };
for (let r = 0; r < REPS; r++) {
  best = { shared: Math.min(best.shared, time(true)), scratch: Math.min(best.scratch, time(false)) };
}
const tokens = { shared: DOCS * (CTX + CHOICES * END), scratch: DOCS * CHOICES * (CTX + END) };
process.stdout.write(JSON.stringify({
  model: modelPath, docs: DOCS, context_tokens: CTX, ending_tokens: END, choices: CHOICES, threads: eng.build.threads,
  shared_docs_s: +(DOCS / best.shared).toFixed(2), scratch_docs_s: +(DOCS / best.scratch).toFixed(2),
  speedup: +(best.scratch / best.shared).toFixed(2), token_ratio: +(tokens.scratch / tokens.shared).toFixed(2),
}) + '\n');
ctx.free();
model.free();
