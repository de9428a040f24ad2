import type { Model, Context, Generator } from '../../wasm_build/engine.js';

export function tokenLogprob(row: Float32Array, tok: number): { lp: number; greedy: boolean };
export class Scorer {
  constructor(model: Model, ctx: Context, o: { bos?: boolean; nBatch: number });
  readonly prefixToken: number;
  encode(text: string, bos?: boolean): Int32Array;
  encodePair(context: string, continuation: string): { ctx: Int32Array; cont: Int32Array };
  loglikelihoods(reqs: { ctx: Int32Array; cont: Int32Array }[], o?: { shared?: boolean }): { ll: number; greedy: boolean }[];
  documents(docs: { ctx: Int32Array; cont: Int32Array }[][], batch: number): { ll: number; greedy: boolean }[][];
  generate(ids: Int32Array, until: string[], maxTokens: number, G: typeof Generator): string;
  rolling(tokens: Int32Array, maxLen: number, stride: number): { ll: number; windows: number };
}
