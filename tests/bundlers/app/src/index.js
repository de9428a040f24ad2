// The consumer app the bundler tests build (Vite, webpack) or serve as is: it imports the
// package by name, loads the model the test server offers at /model.gguf and generates greedily.
// The page's query says how: ?threads=N&n=TOKENS&prompt=TEXT[&model=URL][&wasmDir=URL]. The outcome
// lands in window.result.
import { MobileLLM } from 'mobilellm-wasm';

async function run() {
  const q = new URLSearchParams(location.search);
  const model = q.get('model') ?? new URL('/model.gguf', location.href).href;
  // ?wasmDir=URL: the .wasm files are served from there (the locateFile option).
  const wasmDir = q.get('wasmDir');
  const locateFile = wasmDir ? (name) => (name.endsWith('.wasm') ? `${wasmDir}/${name}` : undefined) : undefined;
  const llm = await MobileLLM.load(model, { cache: false, threads: Number(q.get('threads') ?? 1), locateFile });
  let text = '';
  for await (const e of llm.generate(q.get('prompt') ?? 'In the beginning', { maxTokens: Number(q.get('n') ?? 16), temperature: 0 })) text += e.text;
  const { threads, simd, warnings } = llm.info;
  await llm.unload();
  return { text, threads, simd, warnings };
}

run().then((r) => { window.result = r; }, (e) => { window.result = { error: `${e?.name}: ${e?.message}` }; });
