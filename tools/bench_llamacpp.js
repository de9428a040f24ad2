// bench_llamacpp.js — llama.cpp (node-llama-cpp's prebuilt CPU binary) on a GGUF: prefill and
// decode tok/s with the same prompt construction and token counts as `mobilellm bench`.
//   node tools/bench_llamacpp.js MODEL PROMPT_TOKENS GEN_TOKENS THREADS  -> JSON
import { getLlama } from 'node-llama-cpp';
import { promptIds } from '../wasm_build/bench_procedure.js';

const [path, P = '128', N = '64', T = '1'] = process.argv.slice(2);
const nP = Number(P), nN = Number(N), threads = Number(T);
const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' });
const t0 = performance.now();
const model = await llama.loadModel({ modelPath: path, gpuLayers: 0, useMmap: true });
const loadMs = performance.now() - t0;
const ctx = await model.createContext({ contextSize: Math.max(256, nP + nN + 8), batchSize: nP, threads, sequences: 1 });
// The vocabulary size from the GGUF metadata (node-llama-cpp's fileInsights has none): a
// guessed 32000 sent a 4096-token model ids it does not have ("Eval has failed").
const md = model.fileInfo.metadata;
const nVocab = md[md.general?.architecture]?.vocab_size ?? md.tokenizer?.ggml?.tokens?.length;
if (!(nVocab > 0)) throw new Error(`cannot tell the vocabulary size of ${path} from its metadata`);
const prompt = promptIds(nP, nVocab);

let seq = ctx.getSequence();
await seq.evaluateWithoutGeneratingNewTokens(prompt); // warm-up, as runBench's: the timed prompt once
await seq.clearHistory();
// CPU time of the whole process (llama.cpp's threads included), as `mobilellm bench` reports it
const cpuS = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
const c0 = cpuS();
let t = performance.now();
await seq.evaluateWithoutGeneratingNewTokens(prompt);
const prefillS = (performance.now() - t) / 1000;
const c1 = cpuS();
// Decode: greedy, one token per step, N steps.
t = performance.now();
let n = 0;
const it = seq.evaluate([prompt[nP - 1]], { temperature: 0 })[Symbol.asyncIterator]();
// The first yielded token needs one eval of the re-fed last prompt token; count N decode evals.
while (n < nN) {
  const r = await it.next();
  if (r.done) break;
  n++;
}
const decodeS = (performance.now() - t) / 1000;
const c2 = cpuS();
await it.return?.();
console.log(JSON.stringify({ prefill_tok_s: +(nP / prefillS).toFixed(2), decode_tok_s: +(n / decodeS).toFixed(2),
  prefill_cpu_tok_s: +(nP / (c1 - c0)).toFixed(2), decode_cpu_tok_s: +(n / (c2 - c1)).toFixed(2), load_ms: +loadMs.toFixed(1), prompt_tokens: nP, gen_tokens: n, threads }));
await ctx.dispose();
await model.dispose();
