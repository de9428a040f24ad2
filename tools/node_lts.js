// node_lts.js — the current Node LTS binary that the Makefile unpacks from the npm registry
// (build/node-<version>/bin/node; make exports its path as MLLM_NODE_LTS). The tests and
// make bench run the engine under it as well as under the system Node: the relaxed-SIMD
// prefill kernel is live in Node 24+ only.
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** @returns {string} path of the Node LTS binary; throws, saying how to get it, if absent. */
export function nodeLts() {
  if (process.env.MLLM_NODE_LTS && existsSync(process.env.MLLM_NODE_LTS)) return process.env.MLLM_NODE_LTS;
  const found = (existsSync(`${ROOT}build`) ? readdirSync(`${ROOT}build`) : [])
    .map((d) => /^node-(\d+)\.(\d+)\.(\d+)$/.exec(d))
    .filter((m) => m && existsSync(`${ROOT}build/${m[0]}/bin/node`))
    .sort((a, b) => b[1] - a[1] || b[2] - a[2] || b[3] - a[3]);
  if (!found.length) throw new Error("no Node LTS binary under build/: run 'make deps' (it unpacks npm's node-linux-<arch>)");
  return `${ROOT}build/${found[0][0]}/bin/node`;
}
