#!/usr/bin/env node
// bench_eval.js — multiple-choice scoring three ways on HellaSwag-shaped documents (4 endings of
// 20 tokens after an 80-token context) and a MobileLLM-125M-shaped model: each context + ending
// from scratch (the baseline), the shared prefix one document at a time (the context once, each
// ending after it, rewound between endings), and batched (several documents per forward pass,
// Context.evalBatch). Checks that the three give bit-identical log-likelihoods, then times them
// interleaved, best of R, in CPU seconds of this process (and wall seconds). Prints one JSON line,
// or with --md the BENCHMARKS.md section (tools/bench_report.js appends it).
//   node tools/bench_eval.js [-m MODEL.gguf] [--docs N] [--reps R] [--threads T] [--batch B] [--md]
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { Engine } from '../wasm_build/engine.js';
import { promptIds } from '../wasm_build/bench_procedure.js';
import { Scorer } from '../worker/eval/scorer.js';

const arg = (name, def) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : def;
};
const modelPath = arg('-m', 'build/fixtures/random-125m-q8_0.gguf');
const DOCS = Number(arg('--docs', 8)), REPS = Number(arg('--reps', 3)), THREADS = Number(arg('--threads', 1));
const BATCH = Number(arg('--batch', 512));
const CTX = 80, END = 20, CHOICES = 4;

const eng = await Engine.create({ threads: THREADS });
const model = eng.loadModel(new Uint8Array(readFileSync(modelPath)));
const ctx = model.newContext({ nCtx: 2048, nBatch: Math.max(128, BATCH), threads: THREADS });
const scorer = new Scorer(model, ctx, { nBatch: Math.max(128, BATCH) });
const V = model.info.nVocab;
// Every document its own context (nothing carries over between documents), its own endings.
const docs = Array.from({ length: DOCS }, (_, d) => Array.from({ length: CHOICES }, (_, c) => ({
  ctx: Int32Array.from(promptIds(CTX, V, 1000 * d)), cont: Int32Array.from(promptIds(END, V, 1000 * d + 100 + 25 * c)),
})));

const ways = {
  scratch: () => docs.map((reqs) => scorer.loglikelihoods(reqs, { shared: false })),
  shared: () => docs.map((reqs) => scorer.loglikelihoods(reqs)),
  batched: () => scorer.documents(docs, BATCH),
};
// The three must agree bit for bit before their times mean anything.
const lls = Object.fromEntries(Object.entries(ways).map(([k, f]) => [k, f().flat().map((r) => r.ll)]));
for (const k of ['shared', 'batched']) {
  const bad = lls[k].findIndex((x, i) => x !== lls.scratch[i]);
  if (bad >= 0) throw new Error(`${k} scoring differs from scratch at request ${bad}: ${lls[k][bad]} vs ${lls.scratch[bad]}`);
}
const best = Object.fromEntries(Object.keys(ways).map((k) => [k, { cpu: Infinity, wall: Infinity }]));
for (let r = 0; r < REPS; r++) {
  for (const [k, f] of Object.entries(ways)) {
    const c0 = process.cpuUsage(), t0 = performance.now();
    f();
    const c = process.cpuUsage(c0);
    best[k].cpu = Math.min(best[k].cpu, (c.user + c.system) / 1e6);
    best[k].wall = Math.min(best[k].wall, (performance.now() - t0) / 1000);
  }
}
// tokens evaluated per document: inputs only (a sequence's last token is a target, never an input)
const tokens = { scratch: CHOICES * (CTX + END - 1), shared: CTX + CHOICES * (END - 1), batched: CTX + CHOICES * (END - 1) };
const docsPerPass = Math.max(1, Math.floor(BATCH / tokens.batched));
// Matrix multiply-adds per document: every input token through the blocks, every scored row
// through the head (from scratch: CHOICES * END rows; shared: the context's last row once, then
// END - 1 per ending). Attention, the rest, is small at 100 positions.
const { nEmbd: d, nFf: ff, nHead, nHeadKv, headDim, nLayerEffective: L, nVocab } = model.info;
const perToken = L * (2 * d * nHead * headDim + 2 * d * nHeadKv * headDim + 3 * d * ff), perRow = d * nVocab;
const macs = {
  scratch: tokens.scratch * perToken + CHOICES * END * perRow,
  shared: tokens.shared * perToken + (1 + CHOICES * (END - 1)) * perRow,
};
macs.batched = macs.shared;
const row = {
  model: modelPath, docs: DOCS, context_tokens: CTX, ending_tokens: END, choices: CHOICES, threads: eng.build.threads,
  batch: BATCH, docs_per_pass: docsPerPass, loadavg: os.loadavg()[0],
  ...Object.fromEntries(Object.keys(ways).flatMap((k) => [[`${k}_tokens_per_doc`, tokens[k]],
    [`${k}_cpu_s`, +best[k].cpu.toFixed(3)], [`${k}_wall_s`, +best[k].wall.toFixed(3)]])),
  shared_speedup: +(best.scratch.cpu / best.shared.cpu).toFixed(2), batched_speedup: +(best.scratch.cpu / best.batched.cpu).toFixed(2),
  batched_over_shared: +(best.shared.cpu / best.batched.cpu).toFixed(2), token_ratio: +(tokens.scratch / tokens.shared).toFixed(2),
  mac_ratio: +(macs.scratch / macs.shared).toFixed(2),
  ...Object.fromEntries(Object.keys(ways).map((k) => [`${k}_gmac_s`, +(DOCS * macs[k] / best[k].cpu / 1e9).toFixed(2)])),
};
ctx.free();
model.free();

if (!process.argv.includes('--md')) {
  process.stdout.write(JSON.stringify(row) + '\n');
} else {
  const line = (name, k, how) => `| ${name} | ${row[`${k}_tokens_per_doc`]} | ${(macs[k] / 1e9).toFixed(1)} | ${row[`${k}_cpu_s`].toFixed(2)} | ${row[`${k}_wall_s`].toFixed(2)} | ${(DOCS / row[`${k}_cpu_s`]).toFixed(2)} | ${row[`${k}_gmac_s`].toFixed(1)} | ${(row.scratch_cpu_s / row[`${k}_cpu_s`]).toFixed(2)}x | ${how} |`;
  process.stdout.write(`
## Evaluation: multiple-choice scoring (\`node tools/bench_eval.js -m ${modelPath} --docs ${DOCS} --reps ${REPS} --batch ${BATCH}\`, Node ${process.version}, ${row.threads} thread)

HellaSwag-shaped documents on \`${modelPath}\`: ${CHOICES} endings of ${END} tokens after a ${CTX}-token context, ${DOCS} documents,
every one with its own context. The three ways give bit-identical log-likelihoods (checked before timing). Best of ${REPS}
interleaved runs, CPU seconds of the process (load average ${row.loadavg.toFixed(2)} at the end of the run).

| scoring | tokens evaluated per document | G multiply-adds per document | CPU s | wall s | documents/s (CPU) | G multiply-adds/s (CPU) | vs from scratch | how |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |
${line('from scratch', 'scratch', 'each context + ending evaluated alone (the baseline)')}
${line('shared prefix, one document at a time', 'shared', 'the context once, each ending after it, the cache rewound between endings')}
${line(`batched, ${BATCH} tokens per pass`, 'batched', `${docsPerPass} documents per forward pass (mllm_eval_batch), each context once, every ending seeing it`)}

Issue 23 asks >= 3x over from scratch: ${row.batched_speedup >= 3 ? 'met' : 'MISSED'} (batched ${row.batched_speedup}x; the shared prefix one document at a time ${row.shared_speedup}x,
which batching speeds up ${row.batched_over_shared}x). Sharing the context removes ${row.token_ratio}x of the tokens (${tokens.scratch} inputs against ${tokens.shared})
but not the scored rows' head products (${CHOICES * END} against ${1 + CHOICES * (END - 1)} rows of ${nVocab} x ${d}), so the matrix work falls by ${row.mac_ratio}x
(${(macs.scratch / 1e9).toFixed(1)} against ${(macs.shared / 1e9).toFixed(1)} G multiply-adds per document). The rest can only come from the rate the work runs at. One
document at a time, the endings go through in passes of ${END - 1} tokens, each streaming all the weights again:
${row.shared_gmac_s} G multiply-adds/s against ${row.scratch_gmac_s} from scratch (passes of ${CTX - 1} and ${END} tokens). Batching puts ${docsPerPass} documents
(${docsPerPass * tokens.batched} tokens) in a pass and runs at ${row.batched_gmac_s}. 3x would need ${(3 / row.mac_ratio).toFixed(2)}x the from-scratch rate,
${(3 / row.mac_ratio * row.scratch_gmac_s).toFixed(1)} G/s in this run: near what the int8 prefill tile does alone on one block's cached weights (the
kernels table's "prefill matmul" GOP/s, halved), with nothing else counted (attention, norms, quantizing activations,
the log-softmax of every scored row in JS). A faster int8 dot (relaxed SIMD, threads) speeds both paths alike.
`);
}
