// run.js — runs the JS fuzz targets (targets.js) and checks every outcome against the oracle.
//
//   node tests/fuzz/run.js [--cases N] [--seed S] [--target NAME]... [--save DIR]
//
// Each target gets N mutated inputs (default 100000) from a seeded mutator, so a failure is
// reproducible from its target, seed and case number. An input that is rejected uncleanly (not
// a coded sentence, V8-internal text) or takes over a second is written to DIR (default
// build/fuzz-js/) and counted; the exit status is 1 when any were found. A summary line per
// target gives cases, cases per second and how many inputs were accepted vs rejected.
// A triaged failure goes to tests/fuzz/regressions/<target>/ (replayed by tests/node/fuzz_js.test.js).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { makeTargets } from './targets.js';
import { rng } from './mutate.js';
import { uncleanReason } from './oracle.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REGRESSIONS = path.join(HERE, 'regressions');
const SLOW_MS = 1000;

/**
 * Run one input: null when it was accepted or cleanly rejected, else why not.
 * @param {import('./targets.js').Target} t
 * @param {Uint8Array} input
 * @returns {Promise<{ok: boolean, rejected: boolean, why: string|null, ms: number}>}
 */
export async function runOne(t, input) {
  const t0 = performance.now();
  let why = null;
  let rejected = false;
  try {
    await t.run(input);
  } catch (e) {
    rejected = true;
    why = uncleanReason(e);
    if (why) await t.reset?.();
  }
  const ms = performance.now() - t0;
  if (!why && ms > SLOW_MS) why = `took ${ms.toFixed(0)} ms`;
  return { ok: !why, rejected, why, ms };
}

/**
 * @param {import('./targets.js').Target} t
 * @param {{cases: number, seed: number, save?: string|null, log?: (s: string) => void}} o
 */
export async function fuzzTarget(t, o) {
  const stats = { target: t.name, cases: 0, accepted: 0, rejected: 0, failures: /** @type {string[]} */ ([]), seconds: 0, slowestMs: 0 };
  const t0 = performance.now();
  for (let i = 0; i < o.cases; i++) {
    const r = rng((o.seed * 1000003 + i) >>> 0);
    let input;
    try {
      input = t.make(r);
    } catch (e) { // the harness's own fault (e.g. a mutation it cannot serialize): reported, not hidden
      stats.failures.push(`case ${i}: the mutator failed: ${e?.message ?? e}`);
      continue;
    }
    const res = await runOne(t, input);
    stats.cases++;
    stats.slowestMs = Math.max(stats.slowestMs, res.ms);
    if (res.rejected) stats.rejected++; else stats.accepted++;
    if (!res.ok) {
      stats.failures.push(`case ${i}: ${res.why}`);
      if (o.save) {
        fs.mkdirSync(path.join(o.save, t.name), { recursive: true });
        fs.writeFileSync(path.join(o.save, t.name, `seed${o.seed}-case${i}.bin`), input);
      }
      o.log?.(`${t.name} case ${i}: ${res.why}`);
    }
  }
  stats.seconds = (performance.now() - t0) / 1000;
  return stats;
}

/** Inputs saved under tests/fuzz/regressions/<target>/. @returns {[string, string, Uint8Array][]} target, file, bytes */
export function regressionInputs() {
  if (!fs.existsSync(REGRESSIONS)) return [];
  return fs.readdirSync(REGRESSIONS).flatMap((t) => fs.readdirSync(path.join(REGRESSIONS, t))
    .map((f) => [t, f, new Uint8Array(fs.readFileSync(path.join(REGRESSIONS, t, f)))]));
}

async function main(argv) {
  let cases = 100000, seed = 1, save = 'build/fuzz-js';
  const only = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--cases') cases = Number(argv[++i]);
    else if (a === '--seed') seed = Number(argv[++i]);
    else if (a === '--target') only.push(argv[++i]);
    else if (a === '--save') save = argv[++i];
    else throw new Error(`unknown argument ${a}`);
  }
  const targets = (await makeTargets()).filter((t) => !only.length || only.includes(t.name));
  let failed = 0;
  for (const t of targets) {
    const s = await fuzzTarget(t, { cases, seed, save, log: (l) => console.error(l) });
    failed += s.failures.length;
    console.log(`${s.target}: ${s.cases} cases in ${s.seconds.toFixed(1)} s (${(s.cases / s.seconds).toFixed(0)}/s), `
      + `${s.accepted} accepted, ${s.rejected} rejected, slowest ${s.slowestMs.toFixed(0)} ms, ${s.failures.length} failures`);
  }
  process.exitCode = failed ? 1 : 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main(process.argv.slice(2));
