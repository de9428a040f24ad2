// package.test.js — the package as npm users receive it: the files `npm pack` ships, what its
// `exports` reach, CommonJS require(), types compiled by tsc --strict for Node (no DOM library)
// and browser settings, file: URLs as Node model sources, and an engine file that cannot be had
// named with its address (never Emscripten's own abort text).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MobileLLM } from '../../worker/index.js';
import { Engine } from '../../wasm_build/engine.js';
import { ENGINE_FILES } from '../../wasm_build/engine_files.js';
import { startServer } from '../browser/server.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PKG = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));

test('npm pack ships what a user needs and no sources', () => {
  const [{ files }] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--silent'], { cwd: ROOT, encoding: 'utf8' }));
  const paths = new Set(files.map((f) => f.path));
  for (const f of ['LICENSE', 'README.md', 'package.json', 'models/default.gguf', 'worker/index.js', 'worker/index.cjs',
    'worker/index.d.ts', 'worker/worker.js', 'wasm_build/engine.js', 'wasm_build/engine.d.ts', 'models/convert/convert.js',
    'models/convert/convert.d.ts', 'bin/mobilellm.js', 'bin/progress.js', 'tools/serve.js', 'web/index.html',
    ...Object.keys(ENGINE_FILES).map((n) => `dist/${n}`)]) {
    assert.ok(paths.has(f), `the package ships ${f}`);
  }
  const unwanted = [...paths].filter((p) => /^(src|tests|build|node_modules|models\/train)\/|\.(c|h|log)$/.test(p));
  assert.deepEqual(unwanted, [], 'no C sources, tests or build outputs');
  // Every file exports and bin name is shipped.
  const targets = [PKG.bin.mobilellm, ...Object.values(PKG.exports).flatMap((e) => (typeof e === 'string' ? [e] : Object.values(e)))];
  for (const t of targets.filter((t) => !t.includes('*'))) assert.ok(paths.has(t.replace(/^\.\//, '')), `exports target ${t} is shipped`);
  assert.match(fs.readFileSync(path.join(ROOT, 'LICENSE'), 'utf8'), new RegExp(`^${PKG.license} License`));
});

test('exports reach the bundled model, dist/ files and the typed sub-entries by the package name', () => {
  const req = createRequire(path.join(ROOT, 'package.json'));
  assert.equal(req.resolve('mobilellm-wasm/models/default.gguf'), path.join(ROOT, 'models/default.gguf'));
  assert.equal(req.resolve('mobilellm-wasm/dist/mobilellm.wasm'), path.join(ROOT, 'dist/mobilellm.wasm'));
  assert.equal(import.meta.resolve('mobilellm-wasm/engine'), pathToFileURL(path.join(ROOT, 'wasm_build/engine.js')).href);
  assert.equal(import.meta.resolve('mobilellm-wasm/convert'), pathToFileURL(path.join(ROOT, 'models/convert/convert.js')).href);
});

test('require() gives the API where Node can require ES modules, else one sentence naming import()', () => {
  const code = "const m = require('mobilellm-wasm'); console.log(typeof m.MobileLLM.load, typeof m.jsonSchemaToGrammar)";
  const ok = spawnSync(process.execPath, ['-e', code], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(ok.stdout, 'function function\n');
  // A Node without require(esm): the flag turns it off where it exists.
  const old = spawnSync(process.execPath, ['--no-experimental-require-module', '-e', code], { cwd: ROOT, encoding: 'utf8' });
  assert.notEqual(old.status, 0);
  assert.match(old.stderr, /Error: mobilellm-wasm is an ES module that this Node cannot require\(\): load it with `await import\('mobilellm-wasm'\)`\./);
});

/** build/types/: a file importing every run-time export of each entry by the package name, so
 * tsc fails on any export its .d.ts lacks, and a tsconfig of `settings` over it and consumer.ts. */
async function typeCheckProject(settings) {
  const dir = path.join(ROOT, 'build/types');
  fs.mkdirSync(dir, { recursive: true });
  const lines = [];
  for (const [i, entry] of ['mobilellm-wasm', 'mobilellm-wasm/engine', 'mobilellm-wasm/convert'].entries()) {
    const names = Object.keys(await import(entry)).filter((n) => n !== 'default');
    assert.ok(names.length > 3, `${entry} exports`);
    lines.push(`import * as e${i} from '${entry}';`, `export const used${i} = [${names.map((n) => `e${i}.${n}`).join(', ')}];`);
  }
  fs.writeFileSync(path.join(dir, 'exports.ts'), lines.join('\n') + '\n');
  const config = path.join(dir, `tsconfig.${settings}.json`);
  fs.writeFileSync(config, JSON.stringify({ extends: `../../tests/types/tsconfig.${settings}.json`,
    files: ['../../tests/types/consumer.ts', 'exports.ts'] }));
  return config;
}

for (const settings of ['node', 'browser']) {
  test(`tsc --strict compiles a consumer of every entry and every export with ${settings} settings`, async () => {
    const tsc = path.join(ROOT, 'node_modules/typescript/bin/tsc');
    const r = spawnSync(process.execPath, [tsc, '-p', await typeCheckProject(settings)], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });
}

test('Node loads a file: URL, as a URL object or a string, as the local file it names', async () => {
  const url = pathToFileURL(path.join(ROOT, 'models/default.gguf'));
  for (const src of [url, url.href]) {
    const llm = await MobileLLM.load(src, { cache: false, worker: false });
    assert.equal(llm.info.source, path.join(ROOT, 'models/default.gguf'));
    await llm.unload();
  }
  await assert.rejects(MobileLLM.load('file://elsewhere/x.gguf', { cache: false, worker: false }),
    { code: 'argument', message: /^The file URL file:\/\/elsewhere\/x\.gguf does not name a local file/ });
});

test('an engine file that cannot be had is named with the address it was requested from', async () => {
  const missing = pathToFileURL(path.join(ROOT, 'build/no-such/mobilellm.wasm')).href;
  await assert.rejects(Engine.create({ simd: true, locateFile: { 'mobilellm.wasm': missing } }),
    { code: 'download', message: `The engine file mobilellm.wasm could not be read from ${missing} (ENOENT): run 'make wasm' or reinstall the package.` });
  // A server that answers every path with its index page (as dev servers do).
  const srv = await startServer({ root: path.join(ROOT, 'web') });
  try {
    const page = `${srv.url}/index.html`;
    await assert.rejects(Engine.create({ simd: true, locateFile: (name) => (name === 'mobilellm.wasm' ? page : undefined) }),
      (e) => e.code === 'download' && e.message.startsWith(`The engine file mobilellm.wasm requested from ${page} is not WebAssembly (it starts with '<!doctype html>`)
        && !/ASSERTIONS/.test(e.message));
    await assert.rejects(Engine.create({ simd: true, locateFile: { 'mobilellm.wasm': `${srv.url}/nothing.wasm` } }),
      { code: 'download', message: `The engine file mobilellm.wasm requested from ${srv.url}/nothing.wasm was answered with HTTP 404.` });
  } finally {
    await srv.close();
  }
});
