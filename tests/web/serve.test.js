// tools/serve.js (`npm run serve`): the headers that make the demo page cross-origin isolated
// (and their absence with --plain), byte ranges with ETag / If-Range for resumable downloads,
// the folder redirect, no file outside the served root, and an installed package's dependencies
// found in the app's node_modules.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';

import { startServe } from '../../tools/serve.js';

let root, outside, isolated, plain;
const data = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7) & 255);

before(async () => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'mobilellm-serve-'));
  root = path.join(base, 'root');
  outside = path.join(base, 'secret.txt');
  fs.mkdirSync(path.join(root, 'web'), { recursive: true });
  fs.writeFileSync(path.join(root, 'web/index.html'), '<!doctype html><title>t</title>');
  fs.writeFileSync(path.join(root, 'model.gguf'), data);
  fs.writeFileSync(path.join(root, 'engine.wasm'), Uint8Array.of(0, 97, 115, 109));
  fs.writeFileSync(outside, 'not to be served');
  isolated = await startServe({ root, port: 0 });
  plain = await startServe({ root, port: 0, isolate: false });
});

after(async () => {
  await isolated?.close();
  await plain?.close();
  fs.rmSync(path.dirname(root), { recursive: true, force: true });
});

test('by default every response carries COOP/COEP/CORP; --plain sends none of them', async () => {
  for (const p of ['/web/', '/model.gguf', '/missing']) {
    const r = await fetch(isolated.url + p);
    assert.equal(r.headers.get('cross-origin-opener-policy'), 'same-origin', p);
    assert.equal(r.headers.get('cross-origin-embedder-policy'), 'require-corp', p);
    assert.equal(r.headers.get('cross-origin-resource-policy'), 'same-origin', p);
    const q = await fetch(plain.url + p);
    for (const h of ['cross-origin-opener-policy', 'cross-origin-embedder-policy', 'cross-origin-resource-policy']) {
      assert.equal(q.headers.get(h), null, `${p} ${h}`);
    }
  }
});

test('content types: wasm as application/wasm (streaming compile needs it), a folder as its index.html', async () => {
  const w = await fetch(`${isolated.url}/engine.wasm`);
  assert.equal(w.headers.get('content-type'), 'application/wasm');
  const page = await fetch(`${isolated.url}/web/`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type'), /^text\/html/);
  assert.equal(await page.text(), '<!doctype html><title>t</title>');
  const bare = await fetch(`${isolated.url}/web`, { redirect: 'manual' });
  assert.equal(bare.status, 301);
  assert.equal(bare.headers.get('location'), '/web/');
  const top = await fetch(`${isolated.url}/`, { redirect: 'manual' });
  assert.equal(top.headers.get('location'), '/web/');
});

test('byte ranges: 206 with the exact slice, If-Range with a stale ETag gets the whole file, 416 past the end', async () => {
  const full = await fetch(`${isolated.url}/model.gguf`);
  const etag = full.headers.get('etag');
  assert.ok(etag);
  assert.deepEqual(new Uint8Array(await full.arrayBuffer()), data);

  const part = await fetch(`${isolated.url}/model.gguf`, { headers: { Range: 'bytes=600-', 'If-Range': etag } });
  assert.equal(part.status, 206);
  assert.equal(part.headers.get('content-range'), `bytes 600-999/${data.length}`);
  assert.deepEqual(new Uint8Array(await part.arrayBuffer()), data.subarray(600));

  const mid = await fetch(`${isolated.url}/model.gguf`, { headers: { Range: 'bytes=10-19' } });
  assert.deepEqual(new Uint8Array(await mid.arrayBuffer()), data.subarray(10, 20));

  const stale = await fetch(`${isolated.url}/model.gguf`, { headers: { Range: 'bytes=600-', 'If-Range': '"other"' } });
  assert.equal(stale.status, 200, 'a changed file is sent whole, never spliced');
  assert.equal((await stale.arrayBuffer()).byteLength, data.length);

  const past = await fetch(`${isolated.url}/model.gguf`, { headers: { Range: 'bytes=5000-' } });
  assert.equal(past.status, 416);

  const again = await fetch(`${isolated.url}/model.gguf`, { headers: { 'If-None-Match': etag } });
  assert.equal(again.status, 304);
});

test('nothing outside the served folder: a raw ../ path is refused', async () => {
  // fetch() would normalise ../ away, so send the request line by hand.
  const { port } = isolated;
  const reply = await new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.write(`GET /../${path.basename(outside)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    });
    let buf = '';
    s.on('data', (d) => { buf += d; });
    s.on('end', () => resolve(buf));
    s.on('error', reject);
  });
  assert.match(reply, /^HTTP\/1\.1 (403|404)/);
  assert.doesNotMatch(reply, /not to be served/);
  const enc = await fetch(`${isolated.url}/%2e%2e/${path.basename(outside)}`);
  assert.ok(enc.status === 403 || enc.status === 404);
  assert.doesNotMatch(await enc.text(), /not to be served/);
});

test('an installed package: /node_modules/… it lacks comes from the app\'s node_modules (the page\'s import map), nothing else from outside', async () => {
  // app/node_modules/mobilellm-wasm is served; its dependency sits in app/node_modules.
  const app = fs.mkdtempSync(path.join(os.tmpdir(), 'mobilellm-serve-app-'));
  const pkg = path.join(app, 'node_modules', 'mobilellm-wasm');
  fs.mkdirSync(path.join(pkg, 'web'), { recursive: true });
  fs.mkdirSync(path.join(app, 'node_modules', '@huggingface', 'jinja', 'dist'), { recursive: true });
  fs.writeFileSync(path.join(app, 'node_modules', '@huggingface', 'jinja', 'dist', 'index.js'), 'export const jinja = 1;\n');
  fs.writeFileSync(path.join(app, 'secret.txt'), 'not to be served');
  const srv = await startServe({ root: pkg, port: 0 });
  try {
    const r = await fetch(`${srv.url}/node_modules/@huggingface/jinja/dist/index.js`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.equal(await r.text(), 'export const jinja = 1;\n');
    assert.equal((await fetch(`${srv.url}/node_modules/@huggingface/missing.js`)).status, 404);
    assert.equal((await fetch(`${srv.url}/node_modules/%2e%2e/secret.txt`)).status, 404);
    assert.equal((await fetch(`${srv.url}/secret.txt`)).status, 404);
  } finally {
    await srv.close();
    fs.rmSync(app, { recursive: true, force: true });
  }
});
