// lib/gguf_keys.js (the keys the JS writers use) against src/gguf_keys.h (the keys the engine
// reads): the same names and strings, both ways; and every key a converted or generated file
// carries is one of them.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { readGgufFileInfo } from 'node-llama-cpp';

import { GGUF_KEY, GGUF_ARCH, GGUF_ARCHITECTURE, archKey } from '../../lib/gguf_keys.js';
import { makeRandomModel } from '../../tools/make_random_model.js';
import { scratchDir } from '../ref/fixtures.js';

/** #define PREFIX_NAME "string" lines of the C header, as {NAME: string}. */
function cDefines(prefix) {
  const src = fs.readFileSync(new URL('../../src/gguf_keys.h', import.meta.url), 'utf8');
  return Object.fromEntries([...src.matchAll(new RegExp(`^#define ${prefix}_(\\w+) "([^"]*)"$`, 'gm'))].map((m) => [m[1], m[2]]));
}

test('the JS keys equal the C header\'s, name for name (whole keys and architecture suffixes)', () => {
  const whole = cDefines('GGUF_KEY'), arch = cDefines('GGUF_ARCH');
  assert.ok(Object.keys(whole).length >= 20 && Object.keys(arch).length >= 10, 'the header was read');
  assert.deepEqual({ ...GGUF_KEY }, whole);
  assert.deepEqual({ ...GGUF_ARCH }, arch);
  assert.deepEqual({ ...GGUF_ARCHITECTURE }, cDefines('GGUF_ARCHITECTURE'));
});

test('every metadata key of a generated model is a known key (read back by llama.cpp\'s reader)', async () => {
  const dir = scratchDir('gguf-keys-test');
  const file = `${dir}/shared.gguf`;
  fs.writeFileSync(file, makeRandomModel({ shape: 'tiny', type: 'q8_0', share: 2, nVocab: 300 }));
  try {
    const info = await readGgufFileInfo(file, { readTensorInfo: false });
    const flat = (o, p = '') => Object.entries(o).flatMap(([k, v]) => (v && typeof v === 'object' && !Array.isArray(v)
      && !ArrayBuffer.isView(v) ? flat(v, `${p}${k}.`) : [`${p}${k}`]));
    const known = new Set([...Object.values(GGUF_KEY), ...Object.values(GGUF_ARCH).map((s) => archKey('llama', s))]);
    const keys = flat(info.metadata);
    assert.ok(keys.includes(GGUF_KEY.SHARE_MODE) && keys.includes(archKey('llama', GGUF_ARCH.BLOCK_COUNT)), keys.join(' '));
    assert.deepEqual(keys.filter((k) => !known.has(k)), []);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
