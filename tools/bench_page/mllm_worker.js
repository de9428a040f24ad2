// mllm_worker.js — runs `mobilellm bench`'s procedure inside a Web Worker (module worker).
// The model streams from the server straight into the wasm heap (one copy, as the package's
// loader does), so a 1.6 GB file needs no second whole-file buffer in the page.
import { Engine } from '../../wasm_build/engine.js';
import { runBench } from '../../wasm_build/bench_procedure.js';

self.onmessage = async (e) => {
  const { modelUrl, P = 128, N = 64, simd, threads = 1, relaxedSimd = true, repack = true } = e.data;
  try {
    const eng = await Engine.create(simd === undefined ? { threads } : { simd, threads });
    const t0 = performance.now();
    const res = await fetch(modelUrl);
    if (!res.ok) throw new Error(`${modelUrl}: HTTP ${res.status}`);
    const size = Number(res.headers.get('Content-Length'));
    const data = eng.alloc(size, 'the model');
    let at = 0;
    for (const reader = res.body.getReader(); ;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (at + value.length > size) throw new Error(`${modelUrl}: more bytes than its Content-Length`);
      eng.u8().set(value, data + at);
      at += value.length;
    }
    if (at !== size) throw new Error(`${modelUrl}: ${at} of ${size} bytes arrived`);
    const t1 = performance.now();
    const model = eng.loadModelAt(data, size, { repack });
    const t2 = performance.now();
    const speed = runBench(model, { promptTokens: P, genTokens: N, threads, relaxedSimd });
    const i = model.info;
    // the F32 KV cache of runBench's context (one slot per effective layer, K and V), sized as it sizes it
    const nCtx = Math.min(i.nCtxTrain || 2048, Math.max(P + N + 1, 256));
    self.postMessage({ ...speed,
      prompt_tokens: P, gen_tokens: N, file_mb: +(size / 1048576).toFixed(1), fetch_ms: +(t1 - t0).toFixed(1),
      load_ms: +(t2 - t1).toFixed(1), heap_mb: +(eng.heapBytes / 1048576).toFixed(1),
      kv_mb: +(i.nLayerEffective * nCtx * i.nHeadKv * i.headDim * 2 * 4 / 1048576).toFixed(2), n_ctx: nCtx,
      repacked: i.repacked, simd: eng.build.simd, relaxed: eng.build.relaxed && relaxedSimd, threads: eng.build.threads, build: eng.build.url.split('/').pop() });
  } catch (err) {
    self.postMessage({ error: String(err?.stack ?? err) });
  }
};
