#!/usr/bin/env node
// prune_lock.js — run after `npm install` changes package-lock.json. node-llama-cpp lists
// optional per-platform binaries that the reachable npm registry does not carry (404); npm
// install tolerates that, but `npm ci` then rejects the lock file as out of sync. Dropping the
// unresolvable optional entries keeps `npm ci` (what the Makefile runs) working.
import { readFileSync, writeFileSync } from 'node:fs';

const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'));
for (const [path, pkg] of Object.entries(lock.packages ?? {})) {
  for (const dep of Object.keys(pkg.optionalDependencies ?? {})) {
    if (!lock.packages[`node_modules/${dep}`] && !lock.packages[`${path}/node_modules/${dep}`]) {
      delete pkg.optionalDependencies[dep];
      console.log(`dropped unresolvable optional ${dep} from ${path || 'the root'}`);
    }
  }
}
writeFileSync('package-lock.json', JSON.stringify(lock, null, 2) + '\n');
