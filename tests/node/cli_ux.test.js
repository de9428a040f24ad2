// cli_ux.test.js — the command line's manners: usage and exit codes, --help naming every option
// the parsers accept, --version, `help COMMAND`, and the progress line (bin/progress.js) that
// shows on a terminal (a pseudo-terminal from util-linux `script`) and never in a pipe or with --quiet.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { progressText, formatBytes, formatDuration } from '../../bin/progress.js';
import { startServer } from '../browser/server.js';
import { makeRandomModel } from '../../tools/make_random_model.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = path.join(ROOT, 'bin/mobilellm.js');
const SOURCE = fs.readFileSync(CLI, 'utf8');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mobilellm-cli-ux-'));
after(() => fs.rmSync(work, { recursive: true, force: true }));
const env = { ...process.env, MOBILELLM_CACHE_DIR: path.join(work, 'cache') };

function run(args) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', env });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** Run the CLI with stdout and stderr on a pseudo-terminal; resolves to everything it wrote.
 * (Asynchronous: the test's own server must keep answering meanwhile.) */
async function runOnTerminal(args) {
  const cmd = [process.execPath, CLI, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  const { stdout } = await promisify(execFile)('script', ['-qec', cmd, '/dev/null'], { cwd: ROOT, encoding: 'utf8', env, timeout: 120_000 });
  return stdout;
}

test('no arguments: the usage on stderr and exit 2', () => {
  const r = run([]);
  assert.equal(r.code, 2);
  assert.equal(r.out, '');
  assert.match(r.err, /^usage:\n {2}mobilellm generate/);
});

test('--help names every option each command parses, and --quiet and --version', () => {
  const r = run(['--help']);
  assert.equal(r.code, 0);
  // The option tables of the command parsers in bin/mobilellm.js: '-m': 'value', '--raw': 'bool', ...
  const options = new Set([...SOURCE.matchAll(/'(--?[a-z][a-z-]*)': '(?:bool|value|list)'/g)].map((m) => m[1]));
  assert.ok(options.size > 30 && options.has('--ignore-eos'), `found the parsers' options (${options.size})`);
  for (const o of [...options, '--quiet', '--version']) {
    assert.match(r.out, new RegExp(`(^|[\\s\\[(|])${o}([\\s\\])|]|$)`, 'm'), `--help lists ${o}`);
  }
});

test('--version prints package.json\'s version', () => {
  const { version } = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const r = run(['--version']);
  assert.equal(r.code, 0);
  assert.equal(r.out, `mobilellm ${version}\n`);
});

test('help COMMAND and COMMAND --help print that command\'s usage; an unknown one exits 2', () => {
  for (const cmd of ['generate', 'tokenize', 'score', 'bench', 'convert', 'info', 'eval']) {
    const a = run(['help', cmd]);
    assert.equal(a.code, 0);
    assert.match(a.out, new RegExp(`^usage: mobilellm ${cmd} `));
    assert.equal(run([cmd, '--help']).out, a.out);
  }
  const bad = run(['help', 'frobnicate']);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /^mobilellm: no help for 'frobnicate'/);
});

test('progress text: bytes, rate, time left, resume point; tensors of a conversion', () => {
  assert.equal(formatBytes(999), '999 B');
  assert.equal(formatBytes(1_500_000), '1.5 MB');
  assert.equal(formatDuration(125), '2m05s');
  assert.equal(progressText({ phase: 'download', loaded: 5e6, total: 2e7, rate: 1e6, resumedFrom: 2e6 }),
    'downloading: 5.0 MB of 20.0 MB (25%), 1.0 MB/s, 15s left, resumed from 2.0 MB');
  assert.equal(progressText({ phase: 'convert', tensor: 3, tensors: 9, name: 'blk.0.attn_q.weight' }),
    'converting: tensor 3 of 9 (blk.0.attn_q.weight)');
  assert.equal(progressText({ phase: 'load', loaded: 0, total: 4000 }), 'loading: 0 B of 4.0 kB (0%)');
});

test('a download shows one updating progress line on a terminal, none in a pipe or with --quiet', async () => {
  const file = path.join(work, 'tiny.gguf');
  fs.writeFileSync(file, makeRandomModel({ shape: 'tiny', type: 'q8_0', nCtx: 64, seed: 3 }));
  const srv = await startServer({ root: work });
  try {
    const url = `${srv.url}/tiny.gguf`;
    const tty = await runOnTerminal(['info', '-m', url]);
    assert.match(tty, /\r\x1b\[Kdownloading: [\d.]+ [kM]?B of [\d.]+ [kM]?B \(\d+%\)/);
    assert.match(tty, /\r\x1b\[Kloading: /);
    assert.match(tty, /"nVocab"/);
    fs.rmSync(path.join(work, 'cache'), { recursive: true, force: true });
    const quiet = await runOnTerminal(['info', '--quiet', '-m', url]);
    assert.doesNotMatch(quiet, /\r(?!\n)|\x1b|downloading|loading:/); // (the terminal ends lines with \r\n)
    fs.rmSync(path.join(work, 'cache'), { recursive: true, force: true });
    const piped = await new Promise((resolve) => {
      execFile(process.execPath, [CLI, 'info', '-m', url], { cwd: ROOT, encoding: 'utf8', env }, (err, out, errOut) => resolve({ code: err ? err.code : 0, err: errOut }));
    });
    assert.equal(piped.code, 0, piped.err);
    assert.equal(piped.err, '');
  } finally {
    await srv.close();
  }
});

test('convert on a terminal counts the tensors up to the number the GGUF header holds', async () => {
  const { checkpoints } = await import('../ref/fixtures.js');
  const dir = checkpoints().dir('ls_tied_gqa');
  const out = path.join(work, 'converted.gguf');
  const tty = await runOnTerminal(['convert', dir, '-o', out, '--type', 'q8_0']);
  const counts = [...tty.matchAll(/\r\x1b\[Kconverting: tensor (\d+) of (\d+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
  assert.ok(counts.length > 0, `progress shown:\n${JSON.stringify(tty)}`);
  // GGUF v3 header: magic, u32 version, u64 tensor count (the spec's layout).
  const nTensors = Number(fs.readFileSync(out).readBigUInt64LE(8));
  assert.deepEqual(counts.at(-1), [nTensors, nTensors]);
  assert.ok(counts.every(([i, n], k) => n === nTensors && (k === 0 || i > counts[k - 1][0])), 'counts rise tensor by tensor');
  assert.match(tty, new RegExp(`wrote ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
});
