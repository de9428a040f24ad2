// load_memory.test.js — what loading a model costs in memory: the wasm heap holds the file and
// the KV cache with little besides (issue 20's heap <= 1.1x (file + KV) for the MobileLLM
// shapes), and a Node load reads the file straight into the heap, with no whole-file buffer
// beside it (worker/file_load.js, used by the CLI and the API's path sources); its failures
// keep their coded errors and give the heap allocation back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { scratchDir, ROOT } from '../ref/fixtures.js';
import { makeRandomModel, randomModelWriter } from '../../tools/make_random_model.js';
import { Engine } from '../../wasm_build/engine.js';
import { loadModelFile } from '../../worker/file_load.js';

const MiB = 1 << 20;
const work = scratchDir('load_memory');
const tiny = makeRandomModel({ shape: 'tiny', type: 'q8_0', seed: 21, nCtx: 16384 });
const tinyPath = path.join(work, 'tiny.gguf');
fs.writeFileSync(tinyPath, tiny);

/** The F32 K and V caches of nCtx positions (as the engine sizes them, one slot per effective layer). */
const kvBytes = (i, nCtx) => 2 * 4 * i.nLayerEffective * nCtx * i.nHeadKv * i.headDim;

test('the heap holds a model and its KV cache with under 7 MiB besides (32000-token vocabulary)', async () => {
  // The cache (32 MiB) takes the heap past its initial 32 MiB, so the memory grows: what it
  // grows by beyond what the engine asked for counts. Besides file and cache: the C stack
  // (1 MiB), the tokenizer's tables, the batch's scratch, the logits and the growth slack:
  // 4.5 MiB here, 10.4 when memory grew up to 8 MB past each request.
  const eng = await Engine.create();
  const model = eng.loadModel(tiny);
  const ctx = model.newContext({ nCtx: 16384 });
  const kv = kvBytes(model.info, 16384);
  assert.equal(kv, 32 * MiB);
  const extra = eng.heapBytes - tiny.length - kv;
  assert.ok(extra >= 0 && extra < 7 * MiB, `heap ${eng.heapBytes} = file ${tiny.length} + KV ${kv} + ${(extra / MiB).toFixed(2)} MiB`);
  ctx.free();
  model.free();
});

test('the CLI loads a model with its peak RSS near one copy of the file, not two', () => {
  // 134 MiB of F32 weights (the embedding of a 256000-token vocabulary). Reading the whole file
  // into a buffer and then copying it into the heap peaks near 2-3x its size.
  const big = path.join(work, 'big.gguf');
  return randomModelWriter({ shape: 'tiny', type: 'f32', nVocab: 256000, seed: 3 }).writeFile(big).then(() => {
    const rss = (file) => {
      const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/mobilellm.js'), 'bench', '-m', file, '-p', '1', '-n', '1', '--quiet'],
        { cwd: ROOT, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout).peak_rss_mb * MiB;
    };
    const [small, large] = [rss(tinyPath), rss(big)];
    const grew = fs.statSync(big).size - tiny.length;
    fs.rmSync(big);
    assert.ok(large - small < 1.4 * grew,
      `peak RSS ${(small / MiB).toFixed(1)} -> ${(large / MiB).toFixed(1)} MiB for ${(grew / MiB).toFixed(1)} MiB more file: ${((large - small) / grew).toFixed(2)}x`);
  });
});

test('a failed file load keeps its coded error and frees its heap allocation', async () => {
  const eng = await Engine.create();
  const fails = [
    // a file shorter than the size it was opened with (it shrank while being read)
    [() => loadModelFile(eng, tinyPath, { size: tiny.length + 20 * MiB }), 'format', /ended early while being read/],
    // a GGUF cut short: the engine's own format error
    [() => { const cut = path.join(work, 'cut.gguf'); fs.writeFileSync(cut, tiny.subarray(0, tiny.length - 1000)); return loadModelFile(eng, cut); },
      'format', /lies outside the \d+-byte file/],
    // a path that opens but cannot be read as a file
    [() => loadModelFile(eng, work), 'argument', /cannot be read \(EISDIR\)/],
    [() => loadModelFile(eng, path.join(work, 'nope.gguf')), 'argument', /cannot be read \(ENOENT\)/],
    // aborted before the first read
    [() => loadModelFile(eng, tinyPath, { signal: AbortSignal.abort() }), 'aborted', /was aborted/],
  ];
  let heap = 0;
  for (let round = 0; round < 3; round++) {
    for (const [load, code, msg] of fails) {
      await assert.rejects(load(), (e) => {
        assert.equal(e.code, code, String(e));
        assert.match(e.message, msg);
        assert.doesNotMatch(e.message, /\n/); // one sentence
        return true;
      });
    }
    // 20 MiB asked for each round: a leak would grow the heap every round
    if (round === 0) heap = eng.heapBytes;
    else assert.equal(eng.heapBytes, heap, `round ${round}: the heap grew`);
  }
  const model = await loadModelFile(eng, tinyPath); // and the engine still loads the file
  assert.equal(model.info.nVocab, 32000);
  model.free();
});
