#!/usr/bin/env node
// make_random_model.js — writes a random-weight llama/MobileLLM GGUF of a given shape, for
// benchmarks and tests that need a realistic size but no trained weights.
//   node tools/make_random_model.js --shape 125m --type q8_0 [--share 2 --mode immediate]
//        [--unroll] [--seed 1] -o build/fixtures/random-125m-q8_0.gguf
// --unroll writes the layer-shared schedule as plain unshared blocks (same weights, copied),
// the form llama.cpp can run and the baseline the shared model is compared with.
import { GGUFWriter, GGUFValueType } from '../models/convert/gguf_writer.js';
import { tensorBytes } from '../models/convert/quant.js';
import { needsQuantizer } from '../models/convert/convert.js';
import { addLlamaMeta } from '../models/convert/llama_meta.js';
import { GGMLType, OUTPUT_TYPES } from '../lib/ggml_types.js';
import { GGUF_KEY } from '../lib/gguf_keys.js';

export const SHAPES = {
  // layers, dim, ffn, heads, kv heads (DESIGN.md; vocab 32000, head_dim 64, ctx 2048)
  '125m': { nLayer: 30, nEmbd: 576, nFf: 1536, nHead: 9, nHeadKv: 3 },
  '350m': { nLayer: 32, nEmbd: 960, nFf: 2560, nHead: 15, nHeadKv: 5 },
  '600m': { nLayer: 40, nEmbd: 1152, nFf: 3072, nHead: 18, nHeadKv: 6 },
  '1b': { nLayer: 54, nEmbd: 1280, nFf: 3584, nHead: 20, nHeadKv: 5 },
  '1.5b': { nLayer: 54, nEmbd: 1600, nFf: 4352, nHead: 25, nHeadKv: 5 },
  // a 125M-like stack whose Q8_0 block (1.67 MB) halves to 0.84 MB: one thread's share of a
  // shared block fits a 1 MiB L2 (PERF_NOTES "Two threads on unequal cores")
  'l2half': { nLayer: 30, nEmbd: 384, nFf: 1024, nHead: 6, nHeadKv: 2 },
  tiny: { nLayer: 4, nEmbd: 128, nFf: 320, nHead: 4, nHeadKv: 2 },
  // 3 KV heads of 2 query heads: two threads' halves of the heads each cross a group (as 125M's 9 / 3 do)
  'tiny-gqa3': { nLayer: 2, nEmbd: 192, nFf: 256, nHead: 6, nHeadKv: 3 },
};

/** Deterministic normal(0, std) generator (xorshift32 + Box-Muller). */
function normals(seed) {
  let s = seed >>> 0 || 1;
  const u = () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return (s + 0.5) / 4294967296; };
  return (n, std) => {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i += 2) {
      const r = Math.sqrt(-2 * Math.log(u())) * std, t = 2 * Math.PI * u();
      out[i] = r * Math.cos(t);
      if (i + 1 < n) out[i + 1] = r * Math.sin(t);
    }
    return out;
  };
}

/**
 * Build the GGUF bytes (randomModelWriter(o).toBuffer()).
 * @param {{shape?: string, type?: string, share?: number, mode?: string, unroll?: boolean,
 *   seed?: number, nVocab?: number, nCtx?: number, specials?: string[], userTokens?: string[], chatTemplate?: string}} o
 *   specials: control tokens written as the last ids; userTokens: user-defined tokens from id 259;
 *   chatTemplate: tokenizer.chat_template
 * @returns {Uint8Array}
 */
export function makeRandomModel(o = {}) {
  return randomModelWriter(o).toBuffer();
}

/**
 * The GGUFWriter of makeRandomModel(o). Without unroll each matrix is drawn only when it is
 * written (in file order, the order the draws always had), so writeFile() streams a 1.5B-shaped
 * file to disk without holding it in memory.
 * @param {Parameters<typeof makeRandomModel>[0]} o
 * @returns {GGUFWriter}
 */
export function randomModelWriter(o = {}) {
  const sh = SHAPES[o.shape ?? 'tiny'];
  if (!sh) throw new Error(`unknown shape '${o.shape}' (known: ${Object.keys(SHAPES).join(', ')})`);
  const known = Object.keys(OUTPUT_TYPES).filter((t) => !needsQuantizer(t));
  const out = known.includes(o.type ?? 'q8_0') ? OUTPUT_TYPES[o.type ?? 'q8_0'] : undefined;
  if (!out) {
    throw new Error(`unknown type '${o.type}' (known: ${known.join(', ')}; for the 4/5/6-bit types quantize an f32 file with llama.cpp, tests/fixtures/llama_ref_quantize.c)`);
  }
  const type = out.id;
  const share = o.share ?? 1, mode = o.mode ?? 'immediate', nVocab = o.nVocab ?? 32000;
  const { nLayer, nEmbd, nFf, nHead, nHeadKv } = sh;
  const headDim = nEmbd / nHead, kvDim = headDim * nHeadKv;
  const rand = normals(o.seed ?? 1);
  const w = new GGUFWriter({ alignment: 32 });
  const nOut = o.unroll ? nLayer * share : nLayer;
  addLlamaMeta(w, {
    name: `random-${o.shape ?? 'tiny'}${share > 1 ? `-share${share}-${mode}` : ''}${o.unroll ? '-unrolled' : ''}`,
    ftype: out.ftype, nCtx: o.nCtx ?? 2048, nEmbd, nLayer: nOut, nFf, nHead, nHeadKv, headDim, ropeTheta: 10000,
    rmsEps: 1e-5, nVocab, ...(share > 1 && !o.unroll ? { shareRepeat: share, shareMode: mode } : {}),
  });
  // A synthetic SentencePiece vocabulary: specials, the 256 byte tokens, then word pieces.
  const tokens = ['<unk>', '<s>', '</s>'], types = [2, 3, 3];
  for (let b = 0; b < 256; b++) { tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`); types.push(6); }
  for (let i = tokens.length; i < nVocab; i++) { tokens.push(`\u2581w${i}`); types.push(1); }
  // user-defined tokens (their text is always theirs) follow the byte tokens; control tokens
  // (e.g. a chat template's <|im_start|>, <|im_end|>) take the last ids
  (o.userTokens ?? []).forEach((t, k) => { tokens[259 + k] = t; types[259 + k] = 4; });
  const specials = o.specials ?? [];
  specials.forEach((t, k) => { tokens[nVocab - specials.length + k] = t; types[nVocab - specials.length + k] = 3; });
  if (o.chatTemplate !== undefined) w.addString(GGUF_KEY.TOKENIZER_CHAT_TEMPLATE, o.chatTemplate);
  w.addString(GGUF_KEY.TOKENIZER_MODEL, 'llama');
  w.addArray(GGUF_KEY.TOKENIZER_TOKENS, GGUFValueType.STRING, tokens);
  w.addArray(GGUF_KEY.TOKENIZER_SCORES, GGUFValueType.FLOAT32, Float32Array.from(tokens, (_, i) => (types[i] === 1 ? -i : 0)));
  w.addArray(GGUF_KEY.TOKENIZER_TOKEN_TYPE, GGUFValueType.INT32, Int32Array.from(types));
  w.addU32(GGUF_KEY.TOKENIZER_BOS_ID, 1);
  w.addU32(GGUF_KEY.TOKENIZER_EOS_ID, 2);
  w.addU32(GGUF_KEY.TOKENIZER_UNK_ID, 0);

  const norm = (name) => w.addTensor(name, GGMLType.F32, [nEmbd], tensorBytes(GGMLType.F32, new Float32Array(nEmbd).fill(1)));
  const embd = () => tensorBytes(type, rand(nEmbd * nVocab, 0.02));
  w.addTensor('token_embd.weight', type, [nEmbd, nVocab], o.unroll ? embd() : embd); // always the first draw
  norm('output_norm.weight');
  const std = 0.02, outStd = 0.02 / Math.sqrt(2 * nLayer * share);
  const shapes = { attn_q: [nEmbd, nEmbd, std], attn_k: [nEmbd, kvDim, std], attn_v: [nEmbd, kvDim, std],
    attn_output: [nEmbd, nEmbd, outStd], ffn_gate: [nEmbd, nFf, std], ffn_up: [nEmbd, nFf, std], ffn_down: [nFf, nEmbd, outStd] };
  const draw = (k) => tensorBytes(type, rand(shapes[k][0] * shapes[k][1], shapes[k][2]));
  // unrolled: every stored block drawn first (an unrolled layer repeats one); else drawn when written
  const blocks = o.unroll ? Array.from({ length: nLayer }, () => Object.fromEntries(Object.keys(shapes).map((k) => [k, draw(k)]))) : null;
  for (let l = 0; l < nOut; l++) {
    norm(`blk.${l}.attn_norm.weight`);
    norm(`blk.${l}.ffn_norm.weight`);
    for (const k of Object.keys(shapes)) {
      w.addTensor(`blk.${l}.${k}.weight`, type, shapes[k].slice(0, 2), blocks ? blocks[blockFor(l, nLayer, share, mode)][k] : () => draw(k));
    }
  }
  return w;
}

/** Stored block run at effective layer l. */
export function blockFor(l, nStored, repeat, mode) {
  if (mode === 'repeat_all') return l % nStored;
  if (mode === 'reverse') {
    const p = Math.floor(l / nStored), j = l % nStored;
    return p % 2 === 0 ? j : nStored - 1 - j;
  }
  return Math.floor(l / repeat);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2), o = {};
  let out;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '-o') out = args[++i];
    else if (a === '--unroll') o.unroll = true;
    else if (a === '--shape') o.shape = args[++i];
    else if (a === '--type') o.type = args[++i];
    else if (a === '--share') o.share = Number(args[++i]);
    else if (a === '--mode') o.mode = args[++i];
    else if (a === '--seed') o.seed = Number(args[++i]);
    else { console.error(`make_random_model: unknown option '${a}'`); process.exit(2); }
  }
  if (!out) { console.error('make_random_model: -o OUT.gguf is required'); process.exit(2); }
  const { mkdir } = await import('node:fs/promises');
  const { dirname } = await import('node:path');
  await mkdir(dirname(out), { recursive: true });
  await randomModelWriter(o).writeFile(out);
}
