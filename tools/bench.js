#!/usr/bin/env node
// bench.js — `make bench`: measures the engine and its peers side by side in one run and
// writes BENCHMARKS.md. Every figure is the best of REPS runs (the machine is shared and
// noisy; the best run is the least disturbed one), and ratios are taken within this run.
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';

const REPS = Number(process.env.BENCH_REPS ?? 3);
const P = 128, N = 64;
const FIX = 'build/fixtures';
const model = `${FIX}/random-125m-q8_0.gguf`;

function sh(cmd, args) {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26 });
}
function best(cmd, args) {
  let top = null;
  for (let r = 0; r < REPS; r++) {
    const res = JSON.parse(sh(cmd, args).trim().split('\n').pop());
    if (!top) top = res;
    top.prefill_tok_s = Math.max(top.prefill_tok_s, res.prefill_tok_s);
    top.decode_tok_s = Math.max(top.decode_tok_s, res.decode_tok_s);
  }
  return top;
}

mkdirSync(FIX, { recursive: true });
if (!existsSync(model)) sh('node', ['tools/make_random_model.js', '--shape', '125m', '--type', 'q8_0', '-o', model]);

const rows = [];
const cmdWasm = ['bin/mobilellm.js', 'bench', '-m', model, '-p', String(P), '-n', String(N)];
const cmdNative = ['bench', '-m', model, '-p', String(P), '-n', String(N)];
const cmdLlama = ['tools/bench_llamacpp.js', model, String(P), String(N), '1'];
const wasm = best('node', cmdWasm);
rows.push(['mobilellm wasm (scalar), Node', wasm, `node ${cmdWasm.join(' ')}`]);
const native = best('build/native/mllm', cmdNative);
rows.push(['mobilellm native (scalar, gcc -O2)', native, `build/native/mllm ${cmdNative.join(' ')}`]);
const llama = best('node', cmdLlama);
rows.push(['llama.cpp native (node-llama-cpp 3.22.1), 1 thread', llama, `node ${cmdLlama.join(' ')}`]);

const fmt = (x) => x.toFixed(1);
const date = new Date().toISOString().slice(0, 10);
let md = `# Benchmarks

Written by \`make bench\` (\`node tools/bench.js\`) on ${date}: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores,
Node ${process.version}. One thread everywhere. Model: \`${model}\`, a MobileLLM-125M-shaped random-weight
Q8_0 GGUF (30 blocks, dim 576, ffn 1536, 9 heads / 3 KV heads, vocab 32000; made by
\`node tools/make_random_model.js --shape 125m --type q8_0 -o ${model}\`). Prompt ${P} tokens, then ${N} greedy
decode steps. Each figure is the best of ${REPS} runs in this one invocation.

| engine | prefill tok/s | decode tok/s | vs llama.cpp prefill | vs llama.cpp decode |
| --- | ---: | ---: | ---: | ---: |
`;
for (const [name, r] of rows)
  md += `| ${name} | ${fmt(r.prefill_tok_s)} | ${fmt(r.decode_tok_s)} | ${(r.prefill_tok_s / llama.prefill_tok_s).toFixed(2)}x | ${(r.decode_tok_s / llama.decode_tok_s).toFixed(2)}x |\n`;
md += `
wasm heap after the run: ${fmt(wasm.peak_mem_mb)} MB; Node peak RSS: ${fmt(wasm.peak_rss_mb)} MB; model load ${fmt(wasm.load_ms)} ms (wasm).

These are the scalar (non-SIMD) kernels of the first engine milestone: a baseline, not a target.

Commands:
${rows.map(([name, , cmd]) => `- ${name}: \`${cmd}\``).join('\n')}
`;
writeFileSync('BENCHMARKS.md', md);
process.stdout.write(md);
