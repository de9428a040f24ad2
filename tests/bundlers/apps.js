// apps.js — builds the bundler tests' consumer app (app/) from the packed package: `npm pack` of
// this repository, unpacked into the app's node_modules (no registry, no network), then built
// with Vite or webpack from this repository's pinned dev dependencies and no configuration of
// the package's own (Vite: none at all; webpack: its defaults, entry src/index.js).

import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const APP = path.join(REPO, 'tests/bundlers/app');

/** `npm pack` into `dir`; returns the tarball's path. @param {string} dir */
export function packPackage(dir) {
  const out = execFileSync('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: REPO, encoding: 'utf8' });
  return path.join(dir, out.trim().split('\n').pop());
}

/**
 * A copy of app/ with the tarball unpacked as node_modules/mobilellm-wasm and its runtime
 * dependencies beside it, as `npm install` would place them (copied from this repository's
 * node_modules, which holds the versions package-lock.json pins). @returns {string}
 */
export function makeApp(dir, tarball) {
  fs.cpSync(APP, dir, { recursive: true });
  const pkg = path.join(dir, 'node_modules/mobilellm-wasm');
  fs.mkdirSync(pkg, { recursive: true });
  execFileSync('tar', ['-xzf', tarball, '-C', pkg, '--strip-components=1']);
  const seen = new Set();
  const install = (manifest) => {
    for (const name of Object.keys(JSON.parse(fs.readFileSync(manifest, 'utf8')).dependencies ?? {})) {
      if (seen.has(name)) continue;
      seen.add(name);
      const from = path.join(REPO, 'node_modules', name);
      fs.cpSync(from, path.join(dir, 'node_modules', name), { recursive: true });
      install(path.join(from, 'package.json'));
    }
  };
  install(path.join(pkg, 'package.json'));
  return dir;
}

/** `vite build` of the app with no config file; returns the output folder. */
export async function viteBuild(appDir) {
  const { build } = await import('vite');
  const outDir = path.join(appDir, 'dist-vite');
  await build({ root: appDir, configFile: false, logLevel: 'error', build: { outDir, emptyOutDir: true } });
  return outDir;
}

/** A `vite` dev server for the app (headers: e.g. COOP/COEP); returns {url, close}. */
export async function viteDev(appDir, headers = {}) {
  const { createServer } = await import('vite');
  const server = await createServer({ root: appDir, configFile: false, logLevel: 'error',
    server: { host: '127.0.0.1', port: 0, headers }, cacheDir: path.join(appDir, '.vite') });
  await server.listen();
  const addr = server.httpServer.address();
  return { url: `http://127.0.0.1:${addr.port}`, server, close: () => server.close() };
}

/** webpack 5 with its default configuration (production mode; only the output folder named); returns the output folder. */
export async function webpackBuild(appDir) {
  const { default: webpack } = await import('webpack');
  const outDir = path.join(appDir, 'dist');
  const stats = await new Promise((resolve, reject) => {
    webpack({ context: appDir, mode: 'production', output: { path: outDir } }, (err, s) => (err ? reject(err) : resolve(s)));
  });
  // Any error or warning but the size advice (the wasm files are larger than its 244 KiB hint).
  const { errors, warnings } = stats.toJson({ all: false, errors: true, warnings: true });
  const problems = [...errors, ...warnings.filter((w) => !/size limit|limit the size/i.test(w.message))];
  if (problems.length) throw new Error(`webpack: ${problems.map((p) => p.message).join('\n')}`);
  fs.copyFileSync(path.join(appDir, 'webpack.html'), path.join(outDir, 'index.html'));
  return outDir;
}
