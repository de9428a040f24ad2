// A program using every entry of the package by its published name, compiled by tests/node/types.test.js
// with `tsc --strict` twice: Node settings (no DOM library) and browser settings.
import { MobileLLM, MobileLLMError, jsonSchemaToGrammar, OPTIONS, resolveModelFile } from 'mobilellm-wasm';
import type { ModelInfo, LoadOptions, Progress } from 'mobilellm-wasm';
import { Engine, Generator, simdSupported } from 'mobilellm-wasm/engine';
import { convertToFile, OUTPUT_TYPES } from 'mobilellm-wasm/convert';

export async function api(url: string): Promise<string> {
  const opts: LoadOptions = {
    threads: 2, nCtx: 256, signal: new AbortController().signal,
    onProgress: (p: Progress) => { if (p.phase === 'convert' && p.tensor) console.log(p.tensor, p.tensors); },
    locateFile: (name, defaultUrl) => (name.endsWith('.wasm') ? new URL(name, url).href : defaultUrl),
  };
  const llm = await MobileLLM.load(url, opts);
  const info: Readonly<ModelInfo> = llm.info;
  const repacked: number = info.repacked;
  const card: string = `${info.family} ${info.attention} ${info.slidingWindow} ${info.windowedLayers.length} ${info.ropeLayers.length} ${info.qkNorm} ${info.preTokenizer ?? ''} ${info.weightTypes.map((t) => `${t.type}:${t.tensors}:${t.params}:${t.bytes}`).join()}`;
  let text = '';
  for await (const { text: t, token } of llm.generate('Hello', { maxTokens: 8, temperature: 0 })) text += token === null ? '' : t;
  await llm.unload();
  const g: string = jsonSchemaToGrammar({ type: 'string' });
  return `${text}${card}${repacked}${g.length}${Object.keys(OPTIONS).length}`;
}

export async function engine(bytes: Uint8Array): Promise<number> {
  const eng = await Engine.create({ threads: 1, locateFile: { 'mobilellm.wasm': '/assets/engine.wasm' } });
  const model = eng.loadModel(bytes);
  const ctx = model.newContext({ nCtx: 64 });
  ctx.eval(model.tokenize('Hi'));
  const gen = new Generator(ctx, model.newSampler({ temperature: 0 }), { maxTokens: 4 });
  const step = gen.step();
  return step.token + (simdSupported() ? 1 : 0) + model.info.repacked;
}

export async function convert(dir: string): Promise<string[]> {
  if (!Object.hasOwn(OUTPUT_TYPES, 'q8_0')) return [];
  const { warnings } = await convertToFile(dir, 'out.gguf', { type: 'q8_0', onTensor: (i, n) => console.log(i, n) });
  const { path } = await resolveModelFile(dir);
  return [...warnings, path];
}

export function isApiError(e: unknown): string | null {
  return e instanceof MobileLLMError ? e.code : null;
}
