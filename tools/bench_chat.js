#!/usr/bin/env node
// bench_chat.js — time to first token of a chat's second turn with the KV cache reused
// (generate's cachePrompt, the default) against evaluating the whole conversation from scratch
// (cachePrompt: false), through the JS API (worker thread) on a MobileLLM-125M-shaped model.
// Turn 1: a HISTORY-token prompt, REPLY greedy tokens. Turn 2: turn 1's prompt and reply, then a
// USER-token message; timed from the generate() call to its first token, best of R runs of
// each (between runs turn 1 is replayed, from the cache, to restore what the cache holds after
// it). Prints one JSON line; tools/bench_report.js puts it in BENCHMARKS.md.
//   node tools/bench_chat.js [-m MODEL.gguf] [--history N] [--reps R] [--threads T]
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { MobileLLM } from '../worker/index.js';
import { promptIds } from '../wasm_build/bench_procedure.js';
import { makeRandomModel } from './make_random_model.js';

const arg = (name, def) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : def;
};
const modelPath = arg('-m', 'build/fixtures/random-125m-q8_0.gguf');
const HISTORY = Number(arg('--history', 1000)), REPS = Number(arg('--reps', 3)), THREADS = Number(arg('--threads', 1));
const REPLY = 16, USER = 24;
const GREEDY = { temperature: 0, ignoreEos: true };

if (!existsSync(modelPath)) {
  mkdirSync(path.dirname(modelPath), { recursive: true });
  writeFileSync(modelPath, makeRandomModel({ shape: '125m', type: 'q8_0' }));
}
const llm = await MobileLLM.load(modelPath, { cache: false, nCtx: 2048, threads: THREADS });
const V = llm.info.nVocab;
const turn1 = [1, ...promptIds(HISTORY - 1, V)];
const user = promptIds(USER, V, 5000);

/** ms from the generate() call to its first token, and the call's stats. */
async function firstToken(prompt, opts) {
  const t = performance.now();
  let ms = null;
  for await (const e of llm.generate(prompt, { ...GREEDY, maxTokens: 1, ...opts })) if (ms === null && e.token !== null) ms = performance.now() - t;
  return { ms, stats: llm.lastStats };
}

/** Turn 1: its reply's tokens; the cache then holds turn 1's prompt and reply (but its last token). */
async function turnOne(opts) {
  const reply = [];
  for await (const e of llm.generate(turn1, { ...GREEDY, maxTokens: REPLY, ...opts })) reply.push(e.token);
  return reply;
}

const reply = await turnOne({ cachePrompt: false });
const turn2 = [...turn1, ...reply, ...user];
let best = { reuse: Infinity, scratch: Infinity }, stats = null;
for (let r = 0; r < REPS; r++) {
  const reuse = await firstToken(turn2, {});
  const scratch = await firstToken(turn2, { cachePrompt: false });
  best = { reuse: Math.min(best.reuse, reuse.ms), scratch: Math.min(best.scratch, scratch.ms) };
  stats = reuse.stats;
  // back to the state after turn 1: turn 1 again, its prompt now a prefix of what the cache holds
  const again = await turnOne({});
  if (again.join() !== reply.join()) throw new Error('turn 1 replayed from the cache gave another reply');
}
await llm.unload();
process.stdout.write(JSON.stringify({
  model: modelPath, threads: THREADS, history_tokens: HISTORY, reply_tokens: REPLY, user_tokens: USER,
  turn2_prompt_tokens: turn2.length, reused_tokens: stats.reusedTokens, eval_tokens: stats.evalTokens,
  ttft_reuse_ms: +best.reuse.toFixed(1), ttft_scratch_ms: +best.scratch.toFixed(1),
  ratio: +(best.reuse / best.scratch).toFixed(3),
}) + '\n');
