// relaxed_embed.js — writes the emcc library that carries the relaxed-SIMD module into the SIMD
// builds (wasm.mk): relaxed_library.js with the module embedded once, as base64, and
// sharedMemoryImport (wasm_shared_memory.js) pasted in for the threads build's copy. Fails
// unless that copy equals wasm-ld's own --shared-memory link of the same objects, byte for byte.
//   node wasm_build/relaxed_embed.js TEMPLATE PLAIN.wasm SHARED.wasm MAX_PAGES OUT.js
import { readFileSync, writeFileSync } from 'node:fs';
import { sharedMemoryImport } from './wasm_shared_memory.js';

const [template, plainPath, sharedPath, maxPages, out] = process.argv.slice(2);
const plain = new Uint8Array(readFileSync(plainPath));
const derived = sharedMemoryImport(plain, Number(maxPages));
if (Buffer.compare(Buffer.from(derived), readFileSync(sharedPath)) !== 0) {
  console.error(`relaxed_embed: ${sharedPath} is not ${plainPath} with a shared memory import; the threads build cannot derive it`);
  process.exit(1);
}
writeFileSync(out, readFileSync(template, 'utf8')
  .replace('@RELAXED_WASM@', () => Buffer.from(plain).toString('base64'))
  .replace('@SHARED_MEMORY_IMPORT@', () => sharedMemoryImport.toString())
  .replace('@MAX_PAGES@', () => String(Number(maxPages))));
