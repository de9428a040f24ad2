// mllm_worker.js — runs `mobilellm bench`'s procedure inside a Web Worker (module worker).
import { Engine } from '../../wasm_build/engine.js';
import { runBench } from '../../wasm_build/bench_procedure.js';

self.onmessage = async (e) => {
  const { modelUrl, P = 128, N = 64, simd, threads = 1, relaxedSimd = true } = e.data;
  try {
    const eng = await Engine.create(simd === undefined ? { threads } : { simd, threads });
    const bytes = new Uint8Array(await (await fetch(modelUrl)).arrayBuffer());
    const t0 = performance.now();
    const model = eng.loadModel(bytes);
    const loadMs = performance.now() - t0;
    const speed = runBench(model, { promptTokens: P, genTokens: N, threads, relaxedSimd });
    self.postMessage({ ...speed,
      prompt_tokens: P, gen_tokens: N, load_ms: +loadMs.toFixed(1), heap_mb: +(eng.heapBytes / 1048576).toFixed(1),
      simd: eng.build.simd, relaxed: eng.build.relaxed && relaxedSimd, threads: eng.build.threads, build: eng.build.url.split('/').pop() });
  } catch (err) {
    self.postMessage({ error: String(err?.stack ?? err) });
  }
};
