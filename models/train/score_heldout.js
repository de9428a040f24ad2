// score_heldout.js — the engine's held-out perplexity of a GGUF model on the windows written by
// evaluate.py (--windows): each window is scored teacher-forced from an empty context, exactly
// the tokens PyTorch scored, so the two perplexities are directly comparable.
//
//   node models/train/score_heldout.js models/default.gguf build/model/heldout_windows.json

import { readFile } from 'node:fs/promises';
import { Engine } from '../../wasm_build/engine.js';

const [modelPath, windowsPath] = process.argv.slice(2);
if (!modelPath || !windowsPath) {
  process.stderr.write('usage: node models/train/score_heldout.js MODEL.gguf WINDOWS.json\n');
  process.exit(2);
}
const windows = JSON.parse(await readFile(windowsPath, 'utf8'));
const eng = await Engine.create();
const model = eng.loadModel(new Uint8Array(await readFile(modelPath)));
const n = windows[0].length;
const ctx = model.newContext({ nCtx: n, nBatch: n });
let nll = 0, count = 0, agree = 0;
const t0 = performance.now();
for (const w of windows) {
  ctx.rewind(0);
  ctx.eval(w.slice(0, -1), { allLogits: true });
  for (let j = 0; j + 1 < w.length; j++) {
    const l = ctx.logitsView(j);
    let max = -Infinity, best = 0;
    for (let k = 0; k < l.length; k++) if (l[k] > max) { max = l[k]; best = k; }
    let sum = 0;
    for (let k = 0; k < l.length; k++) sum += Math.exp(l[k] - max);
    nll -= l[w[j + 1]] - max - Math.log(sum);
    if (best === w[j + 1]) agree++;
    count++;
  }
}
const loss = nll / count;
process.stdout.write(JSON.stringify({ model: modelPath, tokens: count, loss: +loss.toFixed(5),
  ppl: +Math.exp(loss).toFixed(4), top1: +(agree / count).toFixed(4),
  seconds: +((performance.now() - t0) / 1000).toFixed(1) }) + '\n');
ctx.free();
model.free();
