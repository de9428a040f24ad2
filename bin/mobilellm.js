#!/usr/bin/env node
// mobilellm — command-line interface over the wasm engine (see README "CLI").
// Errors print one sentence to stderr and exit non-zero.
import { readFile, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Engine, Generator, Grammar, MobileLLMError } from '../wasm_build/engine.js';
import { jsonSchemaToGrammar } from '../worker/json_schema_grammar.js';
import { runBench } from '../wasm_build/bench_procedure.js';
import { parseOption, contextLength } from '../worker/options.js';
import { parseRepoId } from '../lib/repo_id.js';
import { modelCard } from '../lib/model_card.js';
import { loadModelFile } from '../worker/file_load.js';
import { escapeControls, terminalWriter } from './terminal.js';
import { progressLine } from './progress.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DEFAULT_MODEL = `${ROOT}models/default.gguf`;

/** Each command's usage, for `mobilellm help COMMAND` and (all of them) --help. */
const HELP = {
  generate: `mobilellm generate [-m MODEL] [-n N] [--temp T] [--top-k K] [--top-p P] [--min-p P]
                   [--repeat-penalty R] [--seed S] [--stop STR]... [--ctx N] [--ignore-eos] [--raw]
                   [--json-schema FILE_OR_JSON | --grammar FILE] PROMPT
    -n N: tokens to generate (0: until end of text); --temp 0 is greedy; --seed makes sampling
    repeatable; --stop STR ends at STR (repeatable); --ctx N: context length; --ignore-eos keeps
    going past end of text; --raw writes control characters as they are on a terminal; with
    --json-schema or --grammar (GBNF) prints exactly the constrained value`,
  tokenize: `mobilellm tokenize [-m MODEL] [--no-bos] (TEXT | --file F)      -> JSON array of ids`,
  score: `mobilellm score    [-m MODEL] --tokens JSON_OR_FILE              -> [{"argmax", "logprob_next"}, ...]`,
  bench: `mobilellm bench    [-m MODEL] [-p PROMPT_TOKENS] [-n GEN_TOKENS] [--threads T] [--reps R] [--ctx-pos K]
                   [--no-simd] [--no-relaxed]                    -> JSON speeds`,
  convert: `mobilellm convert  HF_DIR|REPO_ID|URL -o OUT.gguf [--type q8_0|f16|f32|bf16|q4_0|q4_1|q5_0|q5_1|q2_k|
                   q3_k_s|q3_k_m|q3_k_l|q4_k_s|q4_k_m|q5_k_s|q5_k_m|q6_k|iq4_nl|iq4_xs] (4/5/6-bit types: HF_DIR only)`,
  info: `mobilellm info     [-m MODEL]                                    -> JSON hparams and the model card`,
  chat: `mobilellm chat     [-m MODEL] [--system TEXT] [-n N] [--temp T] [--top-p P] [--seed S] [--ctx N] [--raw]
    an interactive chat on the terminal: replies stream, the KV cache is kept between turns
    (only the new turn is evaluated); the model's chat template or a plain fallback; ends on
    EOF (Ctrl-D)`,
  eval: `mobilellm eval     [-m MODEL] (--task FILE.jsonl)... [--format F] [--limit N] [--shots K] [--no-bos]
                   [--perplexity FILE]... [--ctx N] [--stride S] [--threads T] [--max-gen-tokens N]
                   [--batch TOKENS] [--output LOG.jsonl]         -> JSON scores per file
    --batch: tokens per forward pass of several documents (default 512; 0: one document at a time)`,
  help: `mobilellm help [COMMAND]                                         this text, or one command's`,
};

const USAGE = `usage:
${Object.values(HELP).map((h) => `  ${h}`).join('\n')}
  mobilellm --version
Options for every command: --quiet (no progress line on stderr; it only shows on a terminal).
MODEL is a GGUF file, a Hugging Face checkpoint directory, a repo id or a URL; it defaults to the
bundled model. Numeric options take decimal values within their ranges (worker/options.js); generate
writes control characters of the text as visible escapes when stdout is a terminal, unless --raw.`;

/** The progress line on stderr (bin/progress.js); main() sets --quiet. */
let progress = progressLine(process.stderr);

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

/** A numeric option by its flag, parsed strictly against the options table, or `def` when absent. */
function num(opts, flag, option, def) {
  return opts[flag] === undefined ? def : parseOption(option, opts[flag], flag);
}

/**
 * The GGUF file MODEL names: a GGUF file as is; a Hugging Face checkpoint directory, a URL or a
 * repo id through the package API's resolver (downloaded and converted to Q8_0 once, then cached).
 */
async function modelPath(path) {
  path ??= DEFAULT_MODEL;
  const st = await stat(path).catch(() => null);
  if (st?.isFile()) return path;
  if (st?.isDirectory() || /^https?:\/\//.test(path) || (!st && parseRepoId(path))) {
    const { resolveModelFile } = await import('../worker/index.js');
    const r = await resolveModelFile(path, { onProgress: (p) => progress.update(p) });
    progress.done();
    return r.path;
  }
  throw new UsageError(path === DEFAULT_MODEL
    ? `the bundled model ${path} is missing: run 'make model' or pass -m MODEL`
    : `cannot read model '${path}': no such file or directory`);
}

/** Load MODEL into `eng`: the file streams straight into the wasm heap (worker/file_load.js), so
 * peak memory is about one copy of it. */
async function readModel(eng, path) {
  const model = await loadModelFile(eng, await modelPath(path), { onProgress: (p) => progress.update(p) });
  progress.done();
  return model;
}

async function load(opts) {
  const eng = await Engine.create();
  const t0 = performance.now();
  const model = await readModel(eng, opts['-m']);
  return { eng, model, loadMs: performance.now() - t0 };
}

async function cmdGenerate(argv) {
  const { opts, rest } = parseArgs(argv, { '-m': 'value', '-n': 'value', '--temp': 'value', '--top-k': 'value',
    '--top-p': 'value', '--min-p': 'value', '--repeat-penalty': 'value', '--seed': 'value', '--stop': 'list',
    '--ctx': 'value', '--ignore-eos': 'bool', '--raw': 'bool', '--json-schema': 'value', '--grammar': 'value' });
  if (rest.length !== 1) throw new UsageError('generate takes exactly one PROMPT argument (quote it)');
  // Every number is checked before the model is read.
  const n = num(opts, '-n', 'maxTokens', 128);
  const nCtx = num(opts, '--ctx', 'nCtx', undefined);
  // Sampling options left out take the engine's defaults (mllm_sampler_params_init).
  const sampling = {
    temperature: num(opts, '--temp', 'temperature', undefined), topK: num(opts, '--top-k', 'topK', undefined),
    topP: num(opts, '--top-p', 'topP', undefined), minP: num(opts, '--min-p', 'minP', undefined),
    repeatPenalty: num(opts, '--repeat-penalty', 'repeatPenalty', undefined),
    seed: num(opts, '--seed', 'seed', (Date.now() ^ (process.pid << 16)) >>> 0),
  };
  const gbnf = await constraintGrammar(opts);
  const write = terminalWriter(process.stdout, !!opts['--raw']);
  const { model } = await load(opts);
  const ctx = model.newContext({ nCtx: contextLength(nCtx, model.info.nCtxTrain, { shownAs: '--ctx' }) });
  const prompt = model.tokenize(rest[0], { addBos: model.info.addBos });
  if (prompt.length >= ctx.nCtx)
    throw new MobileLLMError('context_full', `the prompt is ${prompt.length} tokens but the context holds ${ctx.nCtx}`);
  const sampler = model.newSampler(sampling);
  for (const id of prompt) sampler.accept(id);
  ctx.eval(prompt);
  if (gbnf === undefined) write(rest[0]);
  const grammar = gbnf === undefined ? null : new Grammar(model, gbnf);
  const gen = new Generator(ctx, sampler, { maxTokens: n, ignoreEos: !!opts['--ignore-eos'], stop: opts['--stop'],
    ...(grammar ? { grammar } : {}) });
  for (;;) {
    const r = gen.step();
    if (r.text) write(r.text);
    if (r.stop === 'context_full' && !grammar) process.stderr.write(`\n(stopped: the context of ${ctx.nCtx} tokens is full)`);
    if (r.stop) break;
  }
  process.stdout.write('\n');
}

/** The GBNF text of --json-schema (JSON text or a file of it) or --grammar (a file), if given. */
async function constraintGrammar(opts) {
  const schema = opts['--json-schema'], file = opts['--grammar'];
  if (schema !== undefined && file !== undefined) throw new UsageError('give --json-schema or --grammar, not both');
  const read = (f, what) => readFile(f, 'utf8').catch(() => { throw new UsageError(`cannot read the ${what} file '${f}'`); });
  if (file !== undefined) return read(file, 'grammar');
  if (schema === undefined) return undefined;
  const t = schema.trim();
  return jsonSchemaToGrammar(t.startsWith('{') || t === 'true' ? t : await read(schema, 'JSON schema'));
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
  const P = num(opts, '-p', 'promptTokens', 128), N = num(opts, '-n', 'genTokens', 64);
  const threads = num(opts, '--threads', 'threads', 1); // within the pool's limit before any worker starts
  const reps = num(opts, '--reps', 'reps', 1);
  // --ctx-pos K: K filler tokens go into the cache first (untimed), so the timed prefill and
  // decode run at positions K.. (attention cost grows with the position).
  const K = num(opts, '--ctx-pos', 'ctxPos', 0);
  const eng = await Engine.create({ threads, ...(opts['--no-simd'] ? { simd: false } : {}) });
  const t0 = performance.now();
  const model = await readModel(eng, opts['-m']);
  const loadMs = performance.now() - t0;
  if (K + P + N > Math.min(model.info.nCtxTrain || 2048, Math.max(K + P + N + 1, 256)))
    throw new UsageError(`--ctx-pos ${K} + -p ${P} + -n ${N} exceeds the model's context of ${model.info.nCtxTrain}`);
  const relaxedSimd = !opts['--no-relaxed'];
  const cpuClock = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
  // --reps R: R runs of the procedure on the loaded model; each rate is the best of them, but the
  // first prefill after load is only the first run's
  const runs = Array.from({ length: reps }, () => runBench(model, { promptTokens: P, genTokens: N, ctxPos: K, threads, relaxedSimd, cpuClock }));
  const speed = Object.fromEntries(Object.keys(runs[0]).map((k) => [k, Math.max(...runs.map((r) => r[k]))]));
  speed.first_prefill_tok_s = runs[0].first_prefill_tok_s;
  const res = {
    ...speed, reps, load_ms: +loadMs.toFixed(1), peak_mem_mb: +(eng.heapBytes / 1048576).toFixed(1),
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
  const { warnings } = await convertSource(rest[0], opts['-o'], { dtype: type, onProgress: (p) => progress.update(p) });
  progress.done();
  for (const w of warnings ?? []) process.stderr.write(`warning: ${w}\n`);
  process.stderr.write(`wrote ${opts['-o']}\n`);
}

async function cmdInfo(argv) {
  const { opts, rest } = parseArgs(argv, { '-m': 'value' });
  if (rest.length) throw new UsageError(`info takes no positional arguments (got '${rest[0]}')`);
  const { model } = await load(opts);
  // the facts, then the model card in words (lib/model_card.js); lists of numbers on one line
  const text = JSON.stringify({ ...model.info, card: modelCard(model.info) }, null, 2)
    .replace(/\[\s*(-?[\d.e+-]+(?:,\s*-?[\d.e+-]+)*)\s*\]/g, (_, nums) => `[${nums.split(/,\s*/).join(', ')}]`);
  process.stdout.write(text + '\n');
}

async function cmdEval(argv) {
  const { opts, rest } = parseArgs(argv, { '-m': 'value', '--task': 'list', '--perplexity': 'list', '--format': 'value',
    '--limit': 'value', '--shots': 'value', '--threads': 'value', '--output': 'value', '--ctx': 'value', '--stride': 'value',
    '--no-bos': 'bool', '--max-gen-tokens': 'value', '--batch': 'value' });
  if (rest.length) throw new UsageError(`eval takes no positional arguments (got '${rest[0]}'); name files with --task or --perplexity`);
  const files = [...(opts['--task'] ?? []).map((f) => ['task', f]), ...(opts['--perplexity'] ?? []).map((f) => ['perplexity', f])];
  if (!files.length) throw new UsageError('eval needs --task FILE.jsonl or --perplexity FILE');
  const o = {
    limit: num(opts, '--limit', 'limit', undefined), shots: num(opts, '--shots', 'shots', 0),
    threads: num(opts, '--threads', 'threads', 1), ctx: num(opts, '--ctx', 'ctx', undefined),
    stride: num(opts, '--stride', 'stride', undefined), maxGenTokens: num(opts, '--max-gen-tokens', 'maxGenTokens', undefined),
    batch: num(opts, '--batch', 'batch', undefined),
    ...(opts['--no-bos'] ? { bos: false } : {}), log: !!opts['--output'],
  };
  const { basename } = await import('node:path');
  const tasks = [];
  for (const [kind, f] of files) {
    const text = await readFile(f, 'utf8').catch(() => { throw new UsageError(`cannot read '${f}'`); });
    tasks.push(kind === 'task' ? { name: basename(f), text, format: opts['--format'] } : { name: basename(f), perplexity: text });
  }
  const eng = await Engine.create({ threads: o.threads });
  const model = await readModel(eng, opts['-m']);
  const { evaluate } = await import('../worker/eval/evaluate.js');
  let last = 0;
  const onProgress = ({ task, done, total }) => {
    if (!process.stderr.isTTY || (performance.now() - last < 500 && done < total)) return;
    last = performance.now();
    process.stderr.write(`\r${task}: ${done}/${total}${done === total ? '\n' : ''}`);
  };
  const { results, log } = await evaluate(model, tasks, { ...o, onProgress });
  if (log) {
    const { writeFile } = await import('node:fs/promises');
    await writeFile(opts['--output'], log.map((r) => JSON.stringify(r)).join('\n') + '\n');
  }
  process.stdout.write(JSON.stringify({ model: opts['-m'] ?? DEFAULT_MODEL, bos: o.bos ?? model.info.addBos, results }, null, 2) + '\n');
}

const COMMANDS = { generate: cmdGenerate, tokenize: cmdTokenize, score: cmdScore, bench: cmdBench,
  convert: cmdConvert, info: cmdInfo, eval: cmdEval,
  chat: (argv) => import('./chat.js').then((m) => m.cmdChat(argv, { parseArgs, num })) };

async function main(argv) {
  const quiet = argv.includes('--quiet');
  if (quiet) argv = argv.filter((a) => a !== '--quiet');
  progress = progressLine(process.stderr, { quiet });
  const [cmd, ...args] = argv;
  if (!cmd) { process.stderr.write(USAGE + '\n'); return 2; }
  if (cmd === '-h' || cmd === '--help') { process.stdout.write(USAGE + '\n'); return 0; }
  if (cmd === '-V' || cmd === '--version') {
    const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8'));
    process.stdout.write(`mobilellm ${pkg.version}\n`);
    return 0;
  }
  if (cmd === 'help') {
    if (!args.length) { process.stdout.write(USAGE + '\n'); return 0; }
    if (!Object.hasOwn(HELP, args[0])) throw new UsageError(`no help for '${args[0]}' (commands: ${Object.keys(HELP).join(', ')})`);
    process.stdout.write(`usage: ${HELP[args[0]]}\n`);
    return 0;
  }
  const fn = Object.hasOwn(COMMANDS, cmd) ? COMMANDS[cmd] : undefined;
  if (!fn) throw new UsageError(`unknown command '${cmd}' (expected one of: ${Object.keys(COMMANDS).join(', ')}; see mobilellm --help)`);
  if (args.includes('--help') || args.includes('-h')) { process.stdout.write(`usage: ${HELP[cmd] ?? cmd}\n`); return 0; }
  await fn(args);
  return 0;
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e) => {
  const msg = e instanceof UsageError || e instanceof MobileLLMError || e?.code ? e.message : String(e?.stack ?? e);
  const line = `mobilellm: ${msg.replace(/\.?$/, '.')}`;
  progress.done();
  process.stderr.write(`${process.stderr.isTTY ? escapeControls(line) : line}\n`); // messages may quote a file's bytes
  process.exitCode = e instanceof UsageError || e?.name === 'ArgumentError' ? 2 : 1; // a bad option is a usage mistake
});
