// quant_simd.test.js — the SIMD128 dot products of the 4/5/6-bit types equal the scalar ones bit
// for bit: tests/c/test_quant_simd.c, compiled with emcc -msimd128 and run here (natively,
// make test-c runs only its scalar part).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { KERNEL_SOURCES } from '../../tools/kernel_sources.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const OUT = `${ROOT}build/quant_simd`;

test('SIMD128 quantized dot products and the Q8_1 quantizer equal the scalar references bit for bit (tests/c/test_quant_simd.c)', () => {
  mkdirSync(OUT, { recursive: true });
  const src = ['tests/c/test_quant_simd.c', ...KERNEL_SOURCES];
  execFileSync('emcc', ['-std=c99', '-O2', '-msimd128', '-Isrc', '-Itests/c', ...src, '-s', 'ALLOW_MEMORY_GROWTH=1',
    '-s', 'ENVIRONMENT=node', '-s', 'SINGLE_FILE=1', '-o', `${OUT}/test_quant_simd.cjs`],
  { cwd: ROOT, env: { ...process.env, NODE_PATH: '/usr/share/nodejs' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out;
  try {
    out = execFileSync(process.execPath, [`${OUT}/test_quant_simd.cjs`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    assert.fail(`test_quant_simd failed:\n${e.stdout}\n${e.stderr}`);
  }
  assert.match(out, /quant_simd: 6 passed, 0 failed/);
});
