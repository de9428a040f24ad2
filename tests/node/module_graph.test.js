// The JS modules' import graph (static imports, re-exports and import() of relative paths):
// dependency arrows point one way, and lib/ — the facts every layer shares — imports nothing.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DIRS = ['bin', 'lib', 'worker', 'wasm_build', 'models/convert', 'web', 'tools', 'tests'];
const SPEC = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s*)['"](\.{1,2}\/[^'"]+)['"]/gm;

/** Every .js file under DIRS (repo-relative), and the relative modules each one imports. */
function graph() {
  const files = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(path.join(ROOT, d), { withFileTypes: true })) {
      const rel = path.posix.join(d, e.name);
      if (e.isDirectory() && e.name !== 'node_modules') walk(rel);
      else if (e.isFile() && /\.m?js$/.test(e.name)) files.push(rel);
    }
  };
  for (const d of DIRS) walk(d);
  const edges = new Map();
  for (const f of files) {
    const src = fs.readFileSync(path.join(ROOT, f), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
    const deps = [...src.matchAll(SPEC)].map((m) => path.posix.normalize(path.posix.join(path.posix.dirname(f), m[1])));
    edges.set(f, deps.filter((d) => d.endsWith('.js') && fs.existsSync(path.join(ROOT, d))));
  }
  return edges;
}

test('no JS module reaches back to one that imports it (the import graph has no cycle)', () => {
  const edges = graph();
  assert.ok(edges.get('worker/index.js')?.includes('worker/mobilellm.js'), 'the graph was read');
  const state = new Map(); // 1 on the current path, 2 done
  const cycles = [];
  const visit = (f, trail) => {
    if (state.get(f) === 2) return;
    if (state.get(f) === 1) { cycles.push([...trail.slice(trail.indexOf(f)), f].join(' -> ')); return; }
    state.set(f, 1);
    for (const d of edges.get(f) ?? []) visit(d, [...trail, f]);
    state.set(f, 2);
  };
  for (const f of edges.keys()) visit(f, []);
  assert.deepEqual(cycles, []);
});

test('lib/ modules import nothing, so every layer may import them', () => {
  const edges = graph();
  const lib = [...edges].filter(([f]) => f.startsWith('lib/'));
  assert.ok(lib.length >= 5, 'lib/ was read');
  for (const [f, deps] of lib) {
    assert.deepEqual(deps, [], f);
    // Node's built-ins are no part of the project: lib/node_builtin.js is their one door.
    const src = fs.readFileSync(path.join(ROOT, f), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
    assert.doesNotMatch(src, /^\s*import\b|\bimport\s*\((?!\s*`node:\$\{name\}`\))/m, `${f} imports nothing`);
  }
});
