// cpuprof_sum.js — sums a `node --cpu-prof` profile's self time per function and per kind of
// work (weight matmuls, attention, norms, ...) over the samples under one JS function (default
// runBench: the bench's timed prefill + decode, not the load). For a build with names kept:
// `make wasm PROFILE=1` (wasm_build/wasm.mk). PERF_NOTES.md, "Where a decode token's time goes".
//   node tools/cpuprof_sum.js FILE.cpuprofile [--root FN] [--per N (ms per N, e.g. tokens)] [--top K]
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i < 0 ? dflt : args[i + 1]; };
const file = args[0], root = opt('--root', 'runBench'), per = Number(opt('--per', 1)), top = Number(opt('--top', 25));
if (!file || !(per > 0)) { console.error('usage: node tools/cpuprof_sum.js FILE.cpuprofile [--root FN] [--per N] [--top K]'); process.exit(2); }

// Kinds of work by function name (first match wins; a frame's caller decides __memcpy's kind).
const KINDS = [
  ['weights: Q8_0 (relaxed)', /^mllm_relaxed_q8_0$/],
  ['weights: 4/5/6-bit', /^(dec_q\d|mm_q\d_k|mm_q\d|dot_q\d|kx4_|k45_)/],
  ['act quantization', /quantize_act|^quantize_q8/],
  ['attention', /^(kern_attention|attend|attention_item|attention_heads_item|kern_softmax)$/],
  ['KV cache copy', /^__memcpy < forward_chunk$/],
  ['norms + swiglu (rows_range)', /^(rows_range|kern_rmsnorm|kern_swiglu|kern_exp)/],
  ['RoPE', /^kern_rope/],
  ['residual add', /^kern_axpy_f32/],
  ['sampler', /sampler|< mllm_sampler_sample$/],
  ['JS <-> wasm hops, relaxed glue', /^(js-to-wasm|wasm-to-js|_mllm_relaxed|mllmRelaxed|Module\.mllmRelaxed)/],
];

const p = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of p.nodes) for (const c of n.children || []) parent.set(c, n.id);
const name = (id) => (byId.get(id)?.callFrame.functionName || '(anonymous)').split(':')[0];
const underRoot = new Map();
const isUnder = (id) => {
  if (!underRoot.has(id)) { let x = id; while (x != null && name(x) !== root) x = parent.get(x); underRoot.set(id, x != null); }
  return underRoot.get(id);
};
const self = new Map(), kinds = new Map();
let total = 0;
p.samples.forEach((id, i) => {
  if (!isUnder(id)) return;
  const us = p.timeDeltas[i] || 0, fn = name(id), key = fn === '__memcpy' || fn === 'memset' ? `${fn} < ${name(parent.get(id))}` : fn;
  const kind = (KINDS.find(([, re]) => re.test(key)) || ['other'])[0];
  self.set(key, (self.get(key) || 0) + us);
  kinds.set(kind, (kinds.get(kind) || 0) + us);
  total += us;
});
const row = (v, label) => `${(v / 1000 / per).toFixed(3).padStart(8)} ms ${((100 * v) / total).toFixed(1).padStart(5)}%  ${label}`;
console.log(`under ${root}: ${(total / 1000 / per).toFixed(3)} ms${per === 1 ? '' : ` per ${per}`}`);
console.log('-- by kind');
for (const [k, v] of [...kinds].sort((a, b) => b[1] - a[1])) console.log(row(v, k));
console.log(`-- top ${top} functions (self)`);
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(row(v, k));
