// MobileLLM.cache.evict({ keep }) on a real cache directory: partial entries go first, then
// complete ones least recently used first, down to `keep` bytes; an entry whose writer lock is
// held (a download in progress) is never evicted; usage() then counts what the files hold.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { MobileLLM, ArgumentError } from '../../worker/index.js';
import { FsStore } from '../../worker/cache_fs.js';
import { EntryWriter } from '../../worker/cache_writer.js';

/** A complete (or, with `partial`, half-written) entry of `n` bytes last used at `lastUsed`. */
async function entry(store, id, n, lastUsed, partial = false) {
  const w = await EntryWriter.create(store, { id, kind: 'gguf', source: id, size: n, etag: '"e"' });
  await w.append(new Uint8Array(partial ? n >> 1 : n).fill(7));
  if (partial) await w.checkpoint();
  else await w.finish();
  const meta = await store.getMeta(id);
  await store.putMeta({ ...meta, lastUsed });
}

test('evict({ keep }) removes partial entries first, then the least recently used, never a locked one, until at most keep bytes remain', async () => {
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mobilellm-evict-'));
  try {
    const store = new FsStore(cacheDir);
    await entry(store, 'old', 3000, 1000);
    await entry(store, 'new', 2000, 3000);
    await entry(store, 'mid', 1000, 2000);
    await entry(store, 'part', 4000, 5000, true); // 2000 bytes stored
    await entry(store, 'busy', 500, 0, true); // 250 bytes stored, its download running
    const release = await store.lock('busy');
    try {
      assert.deepEqual((await MobileLLM.cache.usage({ cacheDir })).usage, 3000 + 2000 + 1000 + 2000 + 250);
      // 8250 bytes: the partial goes first (6250 left), then 'old' (3250), then 'mid' (2250 <= 3000).
      assert.deepEqual(await MobileLLM.cache.evict({ keep: 3000, cacheDir }), { evicted: ['part', 'old', 'mid'], freedBytes: 6000, usage: 2250 });
      assert.deepEqual((await MobileLLM.cache.list({ cacheDir })).map((e) => [e.key, e.storedBytes]), [['busy', 250], ['new', 2000]]);
      assert.deepEqual(await MobileLLM.cache.evict({ cacheDir }), { evicted: ['new'], freedBytes: 2000, usage: 250 });
    } finally {
      await release();
    }
    assert.deepEqual(await MobileLLM.cache.evict({ cacheDir }), { evicted: ['busy'], freedBytes: 250, usage: 0 });
    assert.deepEqual(fs.readdirSync(path.join(cacheDir, 'entries')), []);
    for (const bad of [-1, NaN, '10', Infinity]) await assert.rejects(MobileLLM.cache.evict({ keep: bad, cacheDir }), ArgumentError, String(bad));
  } finally {
    fs.rmSync(cacheDir, { recursive: true, force: true });
  }
});

test('list() and usage() count the bytes the data file really holds, not what a meta record claims', async () => {
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mobilellm-real-'));
  try {
    const store = new FsStore(cacheDir);
    await entry(store, 'm', 5000, 1000);
    await store.mods();
    fs.truncateSync(store.dataPath('m'), 1200); // the file lost its tail behind the meta's back
    const [e] = await MobileLLM.cache.list({ cacheDir });
    assert.deepEqual([e.storedBytes, e.complete], [1200, false]);
    assert.equal((await MobileLLM.cache.usage({ cacheDir })).usage, 1200);
  } finally {
    fs.rmSync(cacheDir, { recursive: true, force: true });
  }
});
