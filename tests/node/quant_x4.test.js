// quant_x4.test.js — Q4_0, Q5_0, Q4_1, Q5_1 and IQ4_NL in their x4 layouts (src/kernels.h, src/quant_x4.c): the
// layout, the scalar, SIMD128 and relaxed-SIMD matmuls on it bit for bit the file layout's
// scalar matmul (tests/c/test_quant_x4.c, built once with the relaxed module linked in, run under
// the system Node, which has no relaxed SIMD, and under the Node LTS, where it runs). The
// whole-model check (repacked files on relaxed, 1 and 2 threads, against the file layout on
// SIMD128) is tests/node/relaxed.test.js's 4/5/6-bit test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { KERNEL_SOURCES } from '../../tools/kernel_sources.js';
import { nodeLts } from '../../tools/node_lts.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const OUT = `${ROOT}build/quant_x4_test`;

function run(node, args) {
  try {
    return execFileSync(node, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    return assert.fail(`${node} ${args.join(' ')} failed:\n${e.stdout}\n${e.stderr}`);
  }
}

test('x4 layouts of Q4_0, Q5_0, Q4_1, Q5_1 and IQ4_NL: scalar and SIMD128 matmuls (system Node) and relaxed ones (Node LTS) equal the file layout bit for bit', () => {
  mkdirSync(OUT, { recursive: true });
  const src = ['tests/c/test_quant_x4.c', ...KERNEL_SOURCES];
  execFileSync('emcc', ['-std=c99', '-O2', '-msimd128', '-DMLLM_RELAXED_IMPORT', '--js-library', 'build/relaxed/library.js',
    '-Isrc', '-Itests/c', ...src, '-s', 'ALLOW_MEMORY_GROWTH=1', '-s', 'ENVIRONMENT=node', '-s', 'SINGLE_FILE=1',
    '-s', 'EXPORTED_RUNTIME_METHODS=[]', '-o', `${OUT}/test_quant_x4.cjs`],
  { cwd: ROOT, env: { ...process.env, NODE_PATH: '/usr/share/nodejs' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const sys = run(process.execPath, [`${OUT}/test_quant_x4.cjs`]);
  assert.match(sys, /quant_x4: 6 passed, 0 failed/, sys);
  const lts = run(nodeLts(), [`${OUT}/test_quant_x4.cjs`]);
  assert.match(lts, /relaxed x4 outputs compared: \d{6,}/, lts);
  assert.match(lts, /quant_x4: 6 passed, 0 failed/, lts);
});
