// bench_procedure.js — the timed procedure behind `mobilellm bench` and the browser benchmark page, so
// Node and Chromium measure exactly the same thing: a warm-up (the same P-token prefill and a few
// decode steps, so the JIT's tier-up of every kernel the run uses happens before the clock starts),
// K untimed filler positions, a P-token prefill in one eval, then N greedy one-token decode steps.

/** The deterministic benchmark prompt: ordinary token ids, the same in every engine. */
export function promptIds(P, nVocab = 32000, offset = 0) {
  return Array.from({ length: P }, (_, i) => 100 + (((offset + i) * 7919) % Math.max(1, nVocab - 100)));
}

/** Decode steps of the warm-up: enough for V8 to tier up the one-token kernels. */
const WARM_DECODE_STEPS = 4;

/**
 * @param {import('./engine.js').Model} model
 * cpuClock: seconds of CPU time the process has used (Node: process.cpuUsage), for the rates by
 * CPU time as well (prefill_cpu_tok_s, decode_cpu_tok_s), which other tenants' load on a shared
 * machine disturbs far less than the wall clock; with threads it counts every thread's time.
 * @param {{promptTokens: number, genTokens: number, ctxPos?: number, threads?: number, relaxedSimd?: boolean,
 *   cpuClock?: () => number}} o
 * first_prefill_tok_s: the warm-up's prefill, the first after load, JIT compiles included (what a
 * page's first prompt sees).
 * @returns {{prefill_tok_s: number, decode_tok_s: number, first_prefill_tok_s: number, prefill_cpu_tok_s?: number,
 *   decode_cpu_tok_s?: number}}
 */
export function runBench(model, { promptTokens: P, genTokens: N, ctxPos: K = 0, threads = 1, relaxedSimd = true, cpuClock }) {
  const nCtx = Math.min(model.info.nCtxTrain || 2048, Math.max(K + P + N + 1, 256));
  if (K + P + N > nCtx) throw new RangeError(`${K} cached + ${P} prompt + ${N} generated positions exceed the context of ${nCtx}`);
  const ctx = model.newContext({ nCtx, nBatch: Math.max(P, K ? 128 : 1), threads, relaxedSimd });
  const sampler = model.newSampler({ temperature: 0 });
  try {
    const prompt = Int32Array.from(promptIds(P, model.info.nVocab, K));
    let t = performance.now();
    ctx.eval(prompt); // warm-up: pages in the weights, tiers up the prefill and decode kernels
    const firstS = (performance.now() - t) / 1000;
    for (let i = 0; i < Math.min(N, WARM_DECODE_STEPS); i++) ctx.eval([sampler.sample(ctx)]);
    ctx.rewind(0);
    for (let s = 0; s < K; s += 128) ctx.eval(Int32Array.from(promptIds(Math.min(128, K - s), model.info.nVocab, s)));
    const c0 = cpuClock?.();
    t = performance.now();
    ctx.eval(prompt);
    const prefillS = (performance.now() - t) / 1000;
    const c1 = cpuClock?.();
    t = performance.now();
    for (let i = 0; i < N; i++) ctx.eval([sampler.sample(ctx)]);
    const decodeS = (performance.now() - t) / 1000;
    const c2 = cpuClock?.();
    const res = { prefill_tok_s: +(P / prefillS).toFixed(2), decode_tok_s: +(N / decodeS).toFixed(2),
      first_prefill_tok_s: +(P / firstS).toFixed(2) };
    if (!cpuClock) return res;
    return { ...res, prefill_cpu_tok_s: +(P / (c1 - c0)).toFixed(2), decode_cpu_tok_s: +(N / (c2 - c1)).toFixed(2) };
  } finally {
    sampler.free();
    ctx.free();
  }
}
