#!/usr/bin/env node
// bench_family.js — `make bench`'s section on the MobileLLM family's newer shapes (issue 22):
// for each row of SHAPES and each weight type, a random-weight Hugging Face checkpoint of that
// shape (bf16 safetensors, the real 128k Llama-3 vocabulary) converted by the package's own
// converter; then load time, wasm heap, prefill and decode tok/s in Node and Chromium at 1 and 2
// threads, and decode after 0 / 2k / 8k cached positions (Node, 1 thread).
//   node tools/bench_family.js [--md] [--reps N] [--quick] [--only NAME] [--types q8_0,q4_k_m]
// --quick: 1 rep, no 8k row. Files are kept in build/fixtures/family/ (the checkpoint is deleted
// once converted); --md prints BENCHMARKS.md's section, otherwise one JSON line per measurement.
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, rmSync, statSync, writeFileSync, writeSync, copyFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { convertSource } from '../worker/index.js';
import { benchBrowser } from './bench_browser.js';
import { nodeLts } from './node_lts.js';
import { makeLlama3Fixtures } from '../tests/fixtures/llama3_vocab.js';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIR = path.join(ROOT, 'build/fixtures/family');

/**
 * The shapes measured, one row each (published config.json values; vocab 128256 = Llama 3's).
 * `hf` is the checkpoint's architecture, which CONFIGS turns into its config.json.
 */
export const SHAPES = [
  { name: 'r1-360m', label: 'MobileLLM-R1-360M', hf: 'Llama4ForCausalLM', nLayer: 15, nEmbd: 1024, nFf: 4096, nHead: 16, nHeadKv: 4, headDim: 64, nVocab: 128256, nCtx: 32768, ropeTheta: 500000 },
];

/** config.json of a row, by its Hugging Face architecture. */
const CONFIGS = {
  // MobileLLM-R1: dense Llama 4 text model, q/k norm, RoPE on every layer, tied embeddings
  Llama4ForCausalLM: (s) => ({
    architectures: ['Llama4ForCausalLM'], model_type: 'llama4_text', hidden_size: s.nEmbd, intermediate_size: s.nFf,
    intermediate_size_mlp: s.nFf, num_attention_heads: s.nHead, num_key_value_heads: s.nHeadKv, head_dim: s.headDim,
    num_hidden_layers: s.nLayer, vocab_size: s.nVocab, max_position_embeddings: s.nCtx, rms_norm_eps: 1e-5,
    rope_theta: s.ropeTheta, rope_scaling: null, hidden_act: 'silu', attention_bias: false, use_qk_norm: true,
    no_rope_layers: Array(s.nLayer).fill(1), layer_types: Array(s.nLayer).fill('full_attention'), attention_chunk_size: s.nCtx,
    attn_temperature_tuning: false, attn_scale: 0.1, floor_scale: 8192, num_local_experts: 1, num_experts_per_tok: 1,
    interleave_moe_layer_step: 0, moe_layers: [], tie_word_embeddings: true, bos_token_id: 128000, eos_token_id: [128001, 128009],
    pad_token_id: null, torch_dtype: 'bfloat16',
  }),
};

/** The checkpoint's tensors in Hugging Face names and shapes ([rows, cols]) with their init std. */
function hfTensors(s) {
  const q = s.nHead * s.headDim, kv = s.nHeadKv * s.headDim, ffn = s.hf === 'Llama4ForCausalLM' ? 'feed_forward' : 'mlp';
  const ts = [['model.embed_tokens.weight', [s.nVocab, s.nEmbd], 0.02]];
  for (let i = 0; i < s.nLayer; i++) {
    const p = `model.layers.${i}.`;
    ts.push([`${p}input_layernorm.weight`, [s.nEmbd], -1], [`${p}self_attn.q_proj.weight`, [q, s.nEmbd], 0.02],
      [`${p}self_attn.k_proj.weight`, [kv, s.nEmbd], 0.02], [`${p}self_attn.v_proj.weight`, [kv, s.nEmbd], 0.02],
      [`${p}self_attn.o_proj.weight`, [s.nEmbd, q], 0.02], [`${p}post_attention_layernorm.weight`, [s.nEmbd], -1],
      [`${p}${ffn}.gate_proj.weight`, [s.nFf, s.nEmbd], 0.02], [`${p}${ffn}.up_proj.weight`, [s.nFf, s.nEmbd], 0.02],
      [`${p}${ffn}.down_proj.weight`, [s.nEmbd, s.nFf], 0.02]);
  }
  ts.push(['model.norm.weight', [s.nEmbd], -1]);
  return ts;
}

/** Deterministic bf16 normals (xorshift32 + Box-Muller, the top 16 bits of each float); std < 0: 1 + N(0, 0.1). */
function bf16Filler(seed) {
  let x = seed >>> 0 || 1;
  const u = () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return (x + 0.5) / 4294967296; };
  const f = new Float32Array(1), b = new Uint32Array(f.buffer);
  return (out, std) => {
    for (let i = 0; i < out.length; i += 2) {
      const r = Math.sqrt(-2 * Math.log(u())), t = 2 * Math.PI * u();
      const sd = std < 0 ? 0.1 : std, c = std < 0 ? 1 : 0;
      f[0] = c + r * Math.cos(t) * sd; out[i] = b[0] >>> 16;
      if (i + 1 < out.length) { f[0] = c + r * Math.sin(t) * sd; out[i + 1] = b[0] >>> 16; }
    }
  };
}

/** Write a random bf16 checkpoint of shape `s` into `dir` (config, tokenizer, safetensors). */
function writeCheckpoint(s, dir, tokenizerJson) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ _name_or_path: `random/${s.label}`, ...CONFIGS[s.hf](s) }));
  copyFileSync(tokenizerJson, path.join(dir, 'tokenizer.json'));
  writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify({ bos_token: '<|begin_of_text|>', eos_token: '<|eot_id|>', add_bos_token: true }));
  const ts = hfTensors(s), header = { __metadata__: { format: 'pt' } };
  let off = 0;
  for (const [name, shape] of ts) {
    const n = shape.reduce((a, b) => a * b, 1);
    header[name] = { dtype: 'BF16', shape, data_offsets: [off, off + 2 * n] };
    off += 2 * n;
  }
  let hj = Buffer.from(JSON.stringify(header));
  hj = Buffer.concat([hj, Buffer.alloc((8 - (hj.length % 8)) % 8, 0x20)]);
  const fd = openSync(path.join(dir, 'model.safetensors'), 'w');
  try {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(hj.length));
    writeSync(fd, len);
    writeSync(fd, hj);
    const fill = bf16Filler(12345), chunk = new Uint16Array(1 << 22);
    for (const [, shape, std] of ts) {
      for (let left = shape.reduce((a, b) => a * b, 1); left > 0; left -= chunk.length) {
        const part = chunk.subarray(0, Math.min(left, chunk.length));
        fill(part, std);
        writeSync(fd, new Uint8Array(part.buffer, 0, part.byteLength));
      }
    }
  } finally {
    closeSync(fd);
  }
}

/** The GGUF of shape `s` at weight type `type`, converted once and kept. */
async function modelFile(s, type, log) {
  const out = path.join(DIR, `random-${s.name}-${type}.gguf`);
  if (existsSync(out)) return out;
  const { paths, why } = makeLlama3Fixtures();
  if (!paths) throw new Error(`the Llama-3 vocabulary fixture is unavailable: ${why}`);
  const ck = path.join(DIR, `ckpt-${s.name}`);
  if (!existsSync(path.join(ck, 'model.safetensors'))) {
    log(`writing a random ${s.label}-shaped bf16 checkpoint to ${path.relative(ROOT, ck)}`);
    rmSync(ck, { recursive: true, force: true });
    writeCheckpoint(s, ck, paths.llama3Json);
  }
  log(`converting it to ${type} (${path.relative(ROOT, out)})`);
  await convertSource(ck, out, { dtype: type });
  return out;
}

const lastJson = (t) => JSON.parse(t.trim().split('\n').pop());
const loadAvg = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');

async function main() {
  const argv = process.argv.slice(2);
  const arg = (k, d) => { const i = argv.indexOf(k); return i >= 0 ? argv[i + 1] : d; };
  const QUICK = argv.includes('--quick'), MD = argv.includes('--md');
  const REPS = Number(arg('--reps', QUICK ? 1 : 3));
  const only = arg('--only', null), types = arg('--types', 'q8_0,q4_k_m').split(',');
  const P = 128, N = 64, positions = QUICK ? [0, 2048] : [0, 2048, 8192];
  const log = (...a) => process.stderr.write(`[bench_family] ${a.join(' ')}\n`);
  const node = path.relative(ROOT, nodeLts());
  const nodeVersion = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
  const cli = (file, extra) => [node, ['bin/mobilellm.js', 'bench', '-m', path.relative(ROOT, file), ...extra]];
  const run = ([cmd, args]) => lastJson(execFileSync(cmd, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26 }));
  const loadStart = loadAvg();
  mkdirSync(DIR, { recursive: true });

  const rows = [], posRows = [];
  for (const s of SHAPES.filter((x) => !only || x.name === only)) {
    const files = {};
    for (const t of types) files[t] = await modelFile(s, t, log);
    rmSync(path.join(DIR, `ckpt-${s.name}`), { recursive: true, force: true }); // 0.7 GB per 360M; the GGUFs stay
    // speed and memory, best of REPS, every (type, runtime, threads) once per rep, interleaved
    const best = new Map();
    const keep = (k, r) => {
      const b = best.get(k);
      if (!b) { best.set(k, r); return; }
      for (const f of ['prefill_tok_s', 'decode_tok_s']) b[f] = Math.max(b[f], r[f]);
      b.load_ms = Math.min(b.load_ms, r.load_ms);
    };
    for (let rep = 0; rep < REPS; rep++) {
      for (const t of types) {
        for (const threads of [1, 2]) {
          log(`rep ${rep + 1}/${REPS}: ${s.name} ${t} Node ${threads}t`);
          const r = run(cli(files[t], ['-p', String(P), '-n', String(N), '--threads', String(threads)]));
          keep(`${t}|node|${threads}`, { heap_mb: r.peak_mem_mb, ...r });
          log(`rep ${rep + 1}/${REPS}: ${s.name} ${t} Chromium ${threads}t`);
          const [b] = await benchBrowser({ model: path.relative(ROOT, files[t]), runs: ['mobilellm'], threads, P, N });
          if (b.result.error) throw new Error(`Chromium: ${b.result.error}`);
          keep(`${t}|chromium|${threads}`, b.result);
        }
      }
    }
    for (const t of types) {
      for (const runtime of ['node', 'chromium']) {
        for (const threads of [1, 2]) {
          const r = best.get(`${t}|${runtime}|${threads}`);
          const row = { shape: s.name, label: s.label, type: t, file_mb: +(statSync(files[t]).size / 1048576).toFixed(1), runtime,
            threads: r.threads ?? threads, load_ms: r.load_ms, heap_mb: r.heap_mb, prefill_tok_s: r.prefill_tok_s, decode_tok_s: r.decode_tok_s };
          rows.push(row);
          if (!MD) process.stdout.write(JSON.stringify(row) + '\n');
        }
      }
    }
    // decode after K cached positions: 16-token prompt, then 32 steps; one run each (an 8k fill takes minutes)
    for (const t of types) {
      const row = { shape: s.name, label: s.label, type: t, runtime: 'node', threads: 1, decode_tok_s: {}, heap_mb: {} };
      for (const K of positions) {
        log(`${s.name} ${t}: decode after ${K} positions`);
        const r = run(cli(files[t], ['-p', '16', '-n', '32', '--ctx-pos', String(K)]));
        row.decode_tok_s[K] = r.decode_tok_s;
        row.heap_mb[K] = r.peak_mem_mb;
      }
      posRows.push(row);
      if (!MD) process.stdout.write(JSON.stringify(row) + '\n');
    }
  }
  if (!MD) return;
  process.stdout.write(renderMd(rows, posRows, { P, N, REPS, QUICK, positions, nodeVersion, loadStart, loadEnd: loadAvg() }));
}

/** BENCHMARKS.md's section from the measurements. */
export function renderMd(rows, posRows, { P, N, REPS, QUICK, positions, nodeVersion, loadStart, loadEnd }) {

  const f1 = (x) => (typeof x === 'number' ? x.toFixed(1) : '-');
  const cmd = `node tools/bench_family.js --md --reps ${REPS}${QUICK ? ' --quick' : ''}`;
  let md = `
## MobileLLM family shapes: MobileLLM-R1 (\`${cmd}\`)

Random-weight checkpoints of each shape (${SHAPES.map((s) => `${s.label}: ${s.nLayer} layers, dim ${s.nEmbd}, ffn ${s.nFf}, ${s.nHead} heads / ${s.nHeadKv} KV heads, vocab ${s.nVocab}, context ${s.nCtx}`).join('; ')}),
written as bf16 safetensors with Llama 3's 128,256-entry vocabulary and converted by the package's converter (\`convertSource\`,
the 4-bit types with the engine's quantizer, bytes equal to llama-quantize's). Node ${nodeVersion} runs \`mobilellm bench\`; Chromium
runs the same procedure on the bench page (\`tools/bench_browser.js\`). Prompt ${P} tokens in one eval, then ${N} greedy decode steps;
speeds are the best of ${REPS} interleaved runs, load time the least. Heap: the wasm heap after the run (file + KV cache of
max(${P + N + 1}, 256) positions + scratch). Load average ${loadStart} at the start, ${loadEnd} at the end (1, 5, 15 min; 2 cores shared by other jobs).

| model | type | file MiB | runtime | threads | load ms | heap MiB | prefill tok/s | decode tok/s |
| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |
`;
  for (const r of rows) {
    md += `| ${r.label} | ${r.type.toUpperCase()} | ${f1(r.file_mb)} | ${r.runtime === 'node' ? `Node ${nodeVersion}` : 'Chromium'} | ${r.threads} | ${f1(r.load_ms)} | ${f1(r.heap_mb)} | ${f1(r.prefill_tok_s)} | ${f1(r.decode_tok_s)} |\n`;
  }
  md += `
Decode after K cached positions (Node ${nodeVersion}, 1 thread, one run each: a 16-token prompt after K positions, then 32 steps;
\`node bin/mobilellm.js bench -m FILE -p 16 -n 32 --ctx-pos K\`):

| model | type | ${positions.map((K) => `decode tok/s at ${K}`).join(' | ')} | ${positions.map((K) => `heap MiB at ${K}`).join(' | ')} |
| --- | --- | ${positions.map(() => '---:').join(' | ')} | ${positions.map(() => '---:').join(' | ')} |
`;
  for (const r of posRows) {
    md += `| ${r.label} | ${r.type.toUpperCase()} | ${positions.map((K) => f1(r.decode_tok_s[K])).join(' | ')} | ${positions.map((K) => f1(r.heap_mb[K])).join(' | ')} |\n`;
  }
  return md;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  main().catch((e) => { process.stderr.write(`bench_family: ${e.stack ?? e}\n`); process.exit(1); });
}
