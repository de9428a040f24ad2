// node_builtin.js — the one door to Node's built-in modules. The specifier is built at run time
// and marked for bundlers to leave alone, so a browser bundle (Vite, webpack) never resolves a
// `node:` module; only code that runs under Node calls it.

/**
 * Import `node:NAME` (Node only).
 * @param {string} name e.g. 'fs', 'fs/promises', 'worker_threads'
 * @returns {Promise<any>}
 */
export function nodeBuiltin(name) {
  return import(/* webpackIgnore: true */ /* @vite-ignore */ `node:${name}`);
}
