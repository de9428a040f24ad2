// mllm_worker.js — runs `mobilellm bench`'s procedure inside a Web Worker (module worker).
import { Engine } from '../../wasm_build/engine.js';
import { promptIds } from './ids.js';

self.onmessage = async (e) => {
  const { modelUrl, P = 128, N = 64, simd, threads = 1 } = e.data;
  try {
    const eng = await Engine.create(simd === undefined ? { threads } : { simd, threads });
    const bytes = new Uint8Array(await (await fetch(modelUrl)).arrayBuffer());
    const t0 = performance.now();
    const model = eng.loadModel(bytes);
    const loadMs = performance.now() - t0;
    const ctx = model.newContext({ nCtx: Math.max(256, P + N + 1), nBatch: P, threads });
    const prompt = Int32Array.from(promptIds(P, model.info.nVocab));
    ctx.eval(prompt.subarray(0, Math.min(8, P))); // warm-up
    ctx.rewind(0);
    let t = performance.now();
    ctx.eval(prompt);
    const prefillS = (performance.now() - t) / 1000;
    const sampler = model.newSampler({ temperature: 0 });
    t = performance.now();
    for (let i = 0; i < N; i++) ctx.eval([sampler.sample(ctx)]);
    const decodeS = (performance.now() - t) / 1000;
    self.postMessage({ prefill_tok_s: +(P / prefillS).toFixed(2), decode_tok_s: +(N / decodeS).toFixed(2),
      prompt_tokens: P, gen_tokens: N, load_ms: +loadMs.toFixed(1), heap_mb: +(eng.heapBytes / 1048576).toFixed(1),
      simd: eng.build.simd, threads: eng.build.threads, build: eng.build.url.split('/').pop() });
  } catch (err) {
    self.postMessage({ error: String(err?.stack ?? err) });
  }
};
