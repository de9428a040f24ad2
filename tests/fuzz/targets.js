// targets.js — the JS fuzz targets: each reads a mutated input with one of the package's
// readers, the way a hostile file reaches it, and must either succeed or reject with a clean
// coded sentence (oracle.js). Seeds come from the test checkpoints (tests/ref/make_checkpoint.py,
// built on first use) and a random GGUF (tools/make_random_model.js).
//
//   safetensors  model.safetensors (header JSON mutated structurally, or bytes) -> SafetensorsFile + reads
//   zip          pytorch_model.bin bytes (directory and headers mostly)          -> ZipReader + every entry
//   pickle       data.pkl bytes, rebuilt into the checkpoint's zip               -> TorchBinFile + reads
//   config       config.json / tokenizer_config.json mutated structurally          -> buildGGUF + its header
//   spm          tokenizer.model (protobuf) bytes                                -> parseSpmModel
//   gguf         a GGUF's header and metadata bytes                              -> Engine.loadModel + a token

import fs from 'node:fs';
import path from 'node:path';

import { checkpoints } from '../ref/fixtures.js';
import { makeRandomModel } from '../../tools/make_random_model.js';
import { Engine } from '../../wasm_build/engine.js';
import { buildGGUF, memoryFiles } from '../../models/convert/convert.js';
import { SafetensorsFile, memorySource } from '../../models/convert/safetensors.js';
import { ZipReader } from '../../models/convert/zip.js';
import { TorchBinFile } from '../../models/convert/pytorch_bin.js';
import { parseSpmModel } from '../../models/convert/spm_model.js';
import { writeStoredZip } from './zip_write.js';
import { mutateBytes, mutateJson, pick, below } from './mutate.js';

const dec = new TextDecoder();
const enc = new TextEncoder();

/**
 * @typedef {object} Target
 * @property {string} name
 * @property {(r: () => number) => Uint8Array} make   a mutated input
 * @property {(input: Uint8Array) => void|Promise<void>} run
 * @property {() => void} [reset]  after an unclean failure (e.g. a fresh engine)
 */

/** @param {string} dir */
const readDir = (dir) => Object.fromEntries(fs.readdirSync(dir).filter((n) => fs.statSync(path.join(dir, n)).isFile())
  .map((n) => [n, new Uint8Array(fs.readFileSync(path.join(dir, n)))]));

/** Split a safetensors file into its header object and data. @param {Uint8Array} b */
function splitSafetensors(b) {
  const n = Number(new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true));
  return { header: JSON.parse(dec.decode(b.subarray(8, 8 + n))), data: b.subarray(8 + n) };
}

/** @param {any} header @param {Uint8Array} data */
function joinSafetensors(header, data) {
  const h = enc.encode(JSON.stringify(header) ?? 'null');
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

/** Read at most `n` tensors of a reader (F32 conversion included). */
function readSome(t, n) {
  const names = t instanceof SafetensorsFile ? [...t.tensors.keys()] : t.names();
  for (const name of names.slice(0, n)) t.readF32(name);
}

/**
 * Build the targets (seeds are read once).
 * @returns {Promise<Target[]>}
 */
export async function makeTargets() {
  const ck = checkpoints();
  const dirs = ['ls_tied_gqa', 'untied_gqa', 'tied_mha_f16', 'ls_untied_mha_bf16'].map((n) => readDir(ck.dir(n)));
  const bin = readDir(ck.dir('ls_tied_gqa_bin'));
  const st = dirs.map((d) => splitSafetensors(d['model.safetensors']));
  const stBytes = dirs.map((d) => d['model.safetensors']);

  const zipBytes = bin['pytorch_model.bin'];
  const zip = new ZipReader(memorySource(zipBytes), 'seed');
  const zipEntries = zip.names().map((n) => [n, zip.read(n)]);
  const pklName = zip.names().find((n) => n.endsWith('/data.pkl'));
  const pkl = zip.read(pklName);
  // Bytes worth aiming at in the zip: local headers, the central directory and the end records.
  const zipFocus = [[0, 64], [Math.max(0, zipBytes.length - 4096), zipBytes.length]];
  for (const n of zip.names()) { const o = zip.entries.get(n).headerOffset; zipFocus.push([o, o + 96]); }

  const ggufSeeds = [makeRandomModel({ shape: 'tiny', type: 'q8_0', nCtx: 64, seed: 9, nVocab: 256 }),
    makeRandomModel({ shape: 'tiny', type: 'f16', nCtx: 64, seed: 10, nVocab: 300, share: 2, mode: 'reverse' })];
  let eng = await Engine.create();

  /** @type {Target[]} */
  return [
    {
      name: 'safetensors',
      make: (r) => {
        const i = below(r, st.length);
        if (r() < 0.6) return joinSafetensors(mutateJson(st[i].header, r), st[i].data);
        const hdrEnd = 8 + Number(new DataView(stBytes[i].buffer, stBytes[i].byteOffset, 8).getBigUint64(0, true));
        return mutateBytes(stBytes[i], r, { others: stBytes, focus: [[0, hdrEnd]] });
      },
      run: (b) => readSome(new SafetensorsFile(memorySource(b), 'model.safetensors'), 4),
    },
    {
      name: 'zip',
      make: (r) => mutateBytes(zipBytes, r, { focus: zipFocus }),
      run: (b) => {
        const z = new ZipReader(memorySource(b), 'pytorch_model.bin');
        for (const n of z.names()) z.verify(n);
      },
    },
    {
      name: 'pickle',
      make: (r) => writeStoredZip(zipEntries.map(([n, d]) => [n, n === pklName ? mutateBytes(pkl, r, { maxGrow: 1024 }) : d])),
      run: (b) => readSome(new TorchBinFile(memorySource(b), 'pytorch_model.bin'), 2),
    },
    {
      name: 'config',
      make: (r) => {
        const d = pick(r, [...dirs, bin]);
        const which = r() < 0.85 ? 'config.json' : 'tokenizer_config.json';
        const doc = JSON.parse(dec.decode(d[which]));
        const text = JSON.stringify(mutateJson(doc, r)) ?? 'null';
        // The input carries which files were used: [dir index][file flag] + the JSON text.
        return new Uint8Array([dirs.indexOf(d) + 1, which === 'config.json' ? 0 : 1, ...enc.encode(text)]);
      },
      run: (b) => {
        const d = b[0] === 0 ? bin : dirs[(b[0] - 1) % dirs.length];
        const files = memoryFiles({ ...d, [b[1] ? 'tokenizer_config.json' : 'config.json']: b.subarray(2) });
        const { writer } = buildGGUF(files, { onWarning: () => {} });
        writer.header();
      },
    },
    {
      name: 'spm',
      make: (r) => mutateBytes(dirs[0]['tokenizer.model'], r, { maxGrow: 256 }),
      run: (b) => { parseSpmModel(b); },
    },
    {
      name: 'gguf',
      make: (r) => {
        const s = pick(r, ggufSeeds);
        return mutateBytes(s, r, { focus: [[0, 8192]], others: ggufSeeds });
      },
      run: (b) => {
        const m = eng.loadModel(b);
        try {
          const ids = m.tokenize('hi there');
          const ctx = m.newContext({ nCtx: 16 });
          try { ctx.eval(ids.subarray(0, Math.min(ids.length, 8))); } finally { ctx.free(); }
        } finally {
          m.free();
        }
      },
      reset: async () => { eng = await Engine.create(); },
    },
  ];
}
