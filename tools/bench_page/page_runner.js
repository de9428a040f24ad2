// page_runner.js — in-page side of tools/bench_browser.js. window.bench(engine, opts) runs one
// benchmark in a Web Worker and resolves to {prefill_tok_s, decode_tok_s, ...}:
//   engine 'mobilellm': this project's wasm engine (mllm_worker.js), same procedure as
//     `mobilellm bench`: warm-up, P prompt tokens in one eval, then N greedy decode steps.
//   engine 'wllama': llama.cpp compiled to wasm (npm @wllama/wllama), same token ids, its
//     own llama.cpp timings (prompt_per_second, predicted_per_second).

async function benchMobileLLM(opts) {
  const w = new Worker(new URL('./mllm_worker.js', import.meta.url), { type: 'module' });
  try {
    return await new Promise((resolve, reject) => {
      w.onmessage = (e) => (e.data.error ? reject(new Error(e.data.error)) : resolve(e.data));
      w.onerror = (e) => reject(new Error(e.message || 'worker error'));
      w.postMessage(opts);
    });
  } finally {
    w.terminate();
  }
}

async function benchWllama({ modelUrl, P = 128, N = 64, threads = 1 }) {
  // wllama 3's build is memory64 wasm with JSPI (WebAssembly.promising); WebKitGTK 2.50 has neither.
  if (typeof WebAssembly.promising !== 'function') {
    throw new Error('wllama 3 needs WebAssembly JSPI (WebAssembly.promising) and memory64, which this browser lacks');
  }
  const { Wllama } = await import('/node_modules/@wllama/wllama/esm/index.js');
  const wllama = new Wllama({ default: '/node_modules/@wllama/wllama/esm/wasm/wllama.wasm' },
    { suppressNativeLog: true, allowOffline: true });
  const blob = await (await fetch(modelUrl)).blob();
  const t0 = performance.now();
  await wllama.loadModel([blob], { n_ctx: 512, n_batch: 512, n_threads: threads, n_gpu_layers: 0, no_kv_offload: true, seed: 1 });
  const loadMs = performance.now() - t0;
  const run = (prompt, n) => wllama.createCompletion({ prompt, max_tokens: n, temperature: 0, ignore_eos: true,
    cache_prompt: false });
  // llama-server's completion takes text: a string of single-byte-token characters, sized so
  // that its prompt is P tokens (checked below against llama.cpp's own count).
  const text = (n, seed) => Array.from({ length: n }, (_, i) => 'abcdefghijklmnopqrstuvwxyz'[(i * 7 + seed) % 26]).join('');
  await run(text(P, 3), 4); // warm-up, as runBench's: a prompt of the timed length and a few decode steps
  let r = await run(text(P, 0), N);
  const extra = (r.timings?.prompt_n ?? P) - P; // BOS and the space-prefix bytes
  if (extra !== 0) r = await run(text(P - extra, 0), N);
  const t = r.timings ?? {};
  const res = { prefill_tok_s: +t.prompt_per_second?.toFixed(2), decode_tok_s: +t.predicted_per_second?.toFixed(2),
    prompt_tokens: t.prompt_n, gen_tokens: t.predicted_n, load_ms: +loadMs.toFixed(1), threads: wllama.getNumThreads(),
    multithread: wllama.isMultithread(), webgpu: wllama.isSupportWebGPU?.() ?? null, version: Wllama.getLibllamaVersion?.() };
  await wllama.exit();
  return res;
}

window.bench = async (engine, opts) => {
  if (engine === 'mobilellm') return benchMobileLLM(opts);
  if (engine === 'wllama') return benchWllama(opts);
  throw new Error(`unknown engine ${engine}`);
};
window.crossOriginIsolatedNow = () => globalThis.crossOriginIsolated === true;
window.benchReady = true;
