#!/usr/bin/env node
// mobilellm — command-line interface over the wasm engine (see README "CLI").
// Errors print one sentence to stderr and exit non-zero.
import { readFile, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Engine, Generator, MobileLLMError } from '../wasm_build/engine.js';
import { runBench } from '../wasm_build/bench.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DEFAULT_MODEL = `${ROOT}models/default.gguf`;

const USAGE = `usage:
  mobilellm generate [-m MODEL] [-n N] [--temp T] [--top-k K] [--top-p P] [--min-p P]
                     [--repeat-penalty R] [--seed S] [--stop STR]... [--ctx N] PROMPT
  mobilellm tokenize [-m MODEL] [--no-bos] (TEXT | --file F)
  mobilellm score    [-m MODEL] --tokens JSON_OR_FILE
  mobilellm bench    [-m MODEL] [-p PROMPT_TOKENS] [-n GEN_TOKENS] [--threads T] [--ctx-pos K] [--no-simd] [--no-relaxed]
  mobilellm convert  HF_DIR|REPO_ID|URL -o OUT.gguf [--type q8_0|f16|f32|bf16|q4_0|q4_1|q5_0|q5_1|q2_k|q3_k_s|q3_k_m|
                     q3_k_l|q4_k_s|q4_k_m|q5_k_s|q5_k_m|q6_k|iq4_nl|iq4_xs] (4/5/6-bit types: HF_DIR only)
  mobilellm info     [-m MODEL]
MODEL is a GGUF file, a Hugging Face checkpoint directory, a repo id or a URL; it defaults to the
bundled model.`;

class UsageError extends Error {}

/** Parse argv against a table of options: name -> 'bool' | 'value' | 'list'. */
function parseArgs(argv, spec) {
  const opts = {}, rest = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') { rest.push(...argv.slice(i + 1)); break; }
    if (a.startsWith('-') && a.length > 1 && !/^-\d/.test(a)) {
      const kind = spec[a];
      if (!kind) throw new UsageError(`unknown option '${a}'`);
      if (kind === 'bool') { opts[a] = true; continue; }
      if (i + 1 >= argv.length) throw new UsageError(`option '${a}' needs a value`);
      const v = argv[++i];
      if (kind === 'list') (opts[a] ??= []).push(v); else opts[a] = v;
    } else {
      rest.push(a);
    }
  }
  return { opts, rest };
}

function num(opts, name, def, { int = false, min = -Infinity } = {}) {
  if (opts[name] === undefined) return def;
  const v = Number(opts[name]);
  if (!Number.isFinite(v) || (int && !Number.isInteger(v)) || v < min)
    throw new UsageError(`option '${name}' expects ${int ? 'an integer' : 'a number'}${min > -Infinity ? ` >= ${min}` : ''}, got '${opts[name]}'`);
  return v;
}

const REPO_ID = /^[\w.-]+\/[\w.-]+(@[\w./-]+)?$/;

/**
 * Read MODEL: a GGUF file as is; a Hugging Face checkpoint directory, a URL or a repo id
 * through the package API's resolver (downloaded and converted to Q8_0 once, then cached).
 */
async function readModel(path) {
  path ??= DEFAULT_MODEL;
  const st = await stat(path).catch(() => null);
  if (st?.isFile()) return new Uint8Array(await readFile(path));
  if (st?.isDirectory() || /^https?:\/\//.test(path) || (!st && REPO_ID.test(path))) {
    const { resolveModelFile } = await import('../worker/index.js');
    return new Uint8Array(await readFile((await resolveModelFile(path)).path));
  }
  throw new UsageError(path === DEFAULT_MODEL
    ? `the bundled model ${path} is missing: run 'make model' or pass -m MODEL`
    : `cannot read model '${path}': no such file or directory`);
}

async function load(opts) {
  const eng = await Engine.create();
  const t0 = performance.now();
  const model = eng.loadModel(await readModel(opts['-m']));
  return { eng, model, loadMs: performance.now() - t0 };
}

async function cmdGenerate(argv) {
  const { opts, rest } = parseArgs(argv, { '-m': 'value', '-n': 'value', '--temp': 'value', '--top-k': 'value',
    '--top-p': 'value', '--min-p': 'value', '--repeat-penalty': 'value', '--seed': 'value', '--stop': 'list',
    '--ctx': 'value', '--ignore-eos': 'bool' });
  if (rest.length !== 1) throw new UsageError('generate takes exactly one PROMPT argument (quote it)');
  const n = num(opts, '-n', 128, { int: true, min: 1 });
  const { model } = await load(opts);
  const ctx = model.newContext({ nCtx: num(opts, '--ctx', 0, { int: true, min: 0 }) });
  const prompt = model.tokenize(rest[0], { addBos: model.info.addBos });
  if (prompt.length >= ctx.nCtx)
    throw new MobileLLMError('context_full', `the prompt is ${prompt.length} tokens but the context holds ${ctx.nCtx}`);
  const sampler = model.newSampler({
    temperature: num(opts, '--temp', 0.8), topK: num(opts, '--top-k', 40, { int: true }),
    topP: num(opts, '--top-p', 0.95), minP: num(opts, '--min-p', 0.05),
    repeatPenalty: num(opts, '--repeat-penalty', 1.1),
    seed: num(opts, '--seed', (Date.now() ^ (process.pid << 16)) >>> 0, { int: true, min: 0 }),
  });
  for (const id of prompt) sampler.accept(id);
  ctx.eval(prompt);
  process.stdout.write(rest[0]);
  const gen = new Generator(ctx, sampler, { maxTokens: n, ignoreEos: !!opts['--ignore-eos'], stop: opts['--stop'] });
  for (;;) {
    const r = gen.step();
    if (r.text) process.stdout.write(r.text);
    if (r.stop === 'context_full') process.stderr.write(`\n(stopped: the context of ${ctx.nCtx} tokens is full)`);
    if (r.stop) break;
  }
  process.stdout.write('\n');
}

async function cmdTokenize(argv) {
  const { opts, rest } = parseArgs(argv, { '-m': 'value', '--no-bos': 'bool', '--file': 'value' });
  let text;
  if (opts['--file'] !== undefined) {
    if (rest.length) throw new UsageError('give either TEXT or --file, not both');
    text = new Uint8Array(await readFile(opts['--file']).catch(() => { throw new UsageError(`cannot read '${opts['--file']}'`); }));
  } else {
    if (rest.length !== 1) throw new UsageError('tokenize takes exactly one TEXT argument (or --file F)');
    text = rest[0];
  }
  const { model } = await load(opts);
  const ids = model.tokenize(text, { addBos: opts['--no-bos'] ? false : model.info.addBos });
  process.stdout.write(JSON.stringify(Array.from(ids)) + '\n');
}

async function cmdScore(argv) {
  const { opts, rest } = parseArgs(argv, { '-m': 'value', '--tokens': 'value' });
  if (rest.length || opts['--tokens'] === undefined) throw new UsageError('score needs --tokens JSON_OR_FILE');
  let src = opts['--tokens'];
  if (!src.trim().startsWith('[')) src = await readFile(src, 'utf8').catch(() => { throw new UsageError(`cannot read '${opts['--tokens']}'`); });
  let ids;
  try { ids = JSON.parse(src); } catch { throw new UsageError('--tokens is not a JSON array of token ids'); }
  if (!Array.isArray(ids) || ids.length === 0 || !ids.every(Number.isInteger))
    throw new UsageError('--tokens must be a non-empty JSON array of integer token ids');
  const { model } = await load(opts);
  const bad = ids.find((t) => t < 0 || t >= model.info.nVocab);
  if (bad !== undefined) throw new UsageError(`token id ${bad} is outside the vocabulary of ${model.info.nVocab}`);
  const ctx = model.newContext({ nCtx: ids.length });
  const out = [];
  const batch = 256;
  for (let s = 0; s < ids.length; s += batch) {
    const chunk = ids.slice(s, s + batch);
    ctx.eval(chunk, { allLogits: true });
    for (let j = 0; j < chunk.length; j++) {
      const l = ctx.logitsView(j);
      let best = 0, max = -Infinity;
      for (let k = 0; k < l.length; k++) if (l[k] > max) { max = l[k]; best = k; }
      const next = ids[s + j + 1];
      let logprob = null;
      if (next !== undefined) {
        let sum = 0;
        for (let k = 0; k < l.length; k++) sum += Math.exp(l[k] - max);
        logprob = l[next] - max - Math.log(sum);
      }
      out.push({ argmax: best, logprob_next: logprob });
    }
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

async function cmdBench(argv) {
  const { opts, rest } = parseArgs(argv, { '-m': 'value', '-p': 'value', '-n': 'value', '--threads': 'value',
    '--reps': 'value', '--ctx-pos': 'value', '--no-simd': 'bool', '--no-relaxed': 'bool' });
  if (rest.length) throw new UsageError(`bench takes no positional arguments (got '${rest[0]}')`);
  const P = num(opts, '-p', 128, { int: true, min: 1 }), N = num(opts, '-n', 64, { int: true, min: 1 });
  const threads = num(opts, '--threads', 1, { int: true, min: 1 });
  // --ctx-pos K: K filler tokens go into the cache first (untimed), so the timed prefill and
  // decode run at positions K.. (attention cost grows with the position).
  const K = num(opts, '--ctx-pos', 0, { int: true, min: 0 });
  const eng = await Engine.create({ threads, ...(opts['--no-simd'] ? { simd: false } : {}) });
  const t0 = performance.now();
  const model = eng.loadModel(await readModel(opts['-m']));
  const loadMs = performance.now() - t0;
  if (K + P + N > Math.min(model.info.nCtxTrain || 2048, Math.max(K + P + N + 1, 256)))
    throw new UsageError(`--ctx-pos ${K} + -p ${P} + -n ${N} exceeds the model's context of ${model.info.nCtxTrain}`);
  const relaxedSimd = !opts['--no-relaxed'];
  const speed = runBench(model, { promptTokens: P, genTokens: N, ctxPos: K, threads, relaxedSimd });
  const res = {
    ...speed, load_ms: +loadMs.toFixed(1), peak_mem_mb: +(eng.heapBytes / 1048576).toFixed(1),
    peak_rss_mb: +(process.resourceUsage().maxRSS / 1024).toFixed(1), prompt_tokens: P, gen_tokens: N, threads,
    ctx_pos: K, simd: eng.build.simd, relaxed: eng.build.relaxed && relaxedSimd, build: eng.build.url.split('/').pop(),
  };
  process.stdout.write(JSON.stringify(res) + '\n');
}

async function cmdConvert(argv) {
  const { opts, rest } = parseArgs(argv, { '-o': 'value', '--type': 'value' });
  if (rest.length !== 1 || !opts['-o']) throw new UsageError('convert needs HF_DIR (or a repo id or URL) and -o OUT.gguf');
  const type = (opts['--type'] ?? 'q8_0').toLowerCase();
  const { OUTPUT_TYPES } = await import('../models/convert/convert.js');
  if (!Object.hasOwn(OUTPUT_TYPES, type)) throw new UsageError(`--type must be one of ${Object.keys(OUTPUT_TYPES).join(', ')}, not '${opts['--type']}'`);
  const { convertSource } = await import('../worker/index.js');
  const { warnings } = await convertSource(rest[0], opts['-o'], { dtype: type });
  for (const w of warnings ?? []) process.stderr.write(`warning: ${w}\n`);
  process.stderr.write(`wrote ${opts['-o']}\n`);
}

async function cmdInfo(argv) {
  const { opts, rest } = parseArgs(argv, { '-m': 'value' });
  if (rest.length) throw new UsageError(`info takes no positional arguments (got '${rest[0]}')`);
  const { model } = await load(opts);
  process.stdout.write(JSON.stringify(model.info, null, 2) + '\n');
}

const COMMANDS = { generate: cmdGenerate, tokenize: cmdTokenize, score: cmdScore, bench: cmdBench,
  convert: cmdConvert, info: cmdInfo };

async function main(argv) {
  const [cmd, ...args] = argv;
  if (!cmd || cmd === '-h' || cmd === '--help' || cmd === 'help') { process.stdout.write(USAGE + '\n'); return 0; }
  const fn = COMMANDS[cmd];
  if (!fn) throw new UsageError(`unknown command '${cmd}' (expected one of: ${Object.keys(COMMANDS).join(', ')})`);
  await fn(args);
  return 0;
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e) => {
  const msg = e instanceof UsageError || e instanceof MobileLLMError || e?.code ? e.message : String(e?.stack ?? e);
  process.stderr.write(`mobilellm: ${msg.replace(/\.?$/, '.')}\n`);
  process.exitCode = e instanceof UsageError ? 2 : 1;
});
