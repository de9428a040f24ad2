// Types of wasm_build/engine.js (`mobilellm-wasm/engine`): the synchronous binding over the C API,
// for use inside a worker or under Node. Pointers are byte offsets into the wasm heap.
import type { StructAbi } from './abi.js';

/** An engine failure: `code` is one of 'argument', 'nomem', 'format', 'unsupported', 'missing',
 * 'context_full', 'state' (and 'download' for an engine file that could not be had). */
export class MobileLLMError extends Error {
  constructor(code: string, message: string);
  code: string;
}

/** The most bytes one allocation can hold (wasm32). */
export const MAX_ALLOC: number;
/** Threads one engine may start. */
export const MAX_ENGINE_THREADS: number;
/** Whether this JS engine runs WebAssembly SIMD128. */
export function simdSupported(): boolean;

/** The engine files of dist/ by name: 'mobilellm.js', 'mobilellm.wasm', 'mobilellm-nosimd.js',
 * 'mobilellm-nosimd.wasm', 'mobilellm-threads.js', 'mobilellm-threads.wasm', 'mobilellm-threads.worker.cjs'. */
export type EngineFileName = 'mobilellm.js' | 'mobilellm.wasm' | 'mobilellm-nosimd.js' | 'mobilellm-nosimd.wasm'
  | 'mobilellm-threads.js' | 'mobilellm-threads.wasm' | 'mobilellm-threads.worker.cjs';
/** Where an engine file is: a function (name, defaultUrl) => address (undefined: the default), or a map. */
export type LocateFile = ((name: string, defaultUrl: string) => string | URL | undefined | null)
  | Partial<Record<EngineFileName | 'worker.js', string>>;

export interface EngineOptions {
  /** the module's wasm bytes (skips reading the .wasm file) */
  wasmBinary?: Uint8Array;
  /** a custom Emscripten module's URL (its .wasm beside it) instead of the choice below */
  moduleUrl?: string;
  /** force the SIMD (true) or scalar (false) build */
  simd?: boolean;
  /** the most threads a context may use (>1: the pthreads build, where SharedArrayBuffer is usable) */
  threads?: number;
  /** where the dist/ files are, when not beside this package */
  locateFile?: LocateFile;
  /** the pool's workers started elsewhere (a page's MessagePorts to them, threads - 1), used instead of workers of its own */
  threadPorts?: ReadonlyArray<{ postMessage(message: any, transfer?: any[]): void; close(): void; onmessage: any }>;
}

export interface EngineBuild {
  /** SIMD128 build (null: a custom module) */
  simd: boolean | null;
  threads: number;
  /** the JS glue's address */
  url: string;
  /** whether Q8_0 matmuls run on the relaxed-SIMD kernels */
  relaxed: boolean;
}

/** Model facts read from the C mllm_model_info plus the file's name and architecture. */
/** The model card's facts (the engine's info and the API's ModelInfo both carry them). */
export interface ModelCardInfo {
  /** general.basename, or null */
  basename: string | null;
  /** from general.architecture, general.basename and general.name (lib/model_family.js):
   * 'MobileLLM', 'MobileLLM-R1', 'MobileLLM-Pro' or 'other' */
  family: string;
  /** global: every layer sees the whole context; local: every layer a sliding window; local-global: some of each */
  attention: 'global' | 'local' | 'local-global';
  /** the window of the windowed layers, in positions (0: none) */
  slidingWindow: number;
  nWindowedLayers: number;
  /** effective layers that attend within the window */
  windowedLayers: number[];
  nRopeLayers: number;
  /** effective layers whose q and k are rotated (RoPE base ropeTheta) */
  ropeLayers: number[];
  /** the RoPE base of the windowed layers where it differs from ropeTheta (rope.freq_base_swa, MobileLLM-Pro), else null */
  ropeThetaWindowed: number | null;
  /** a weightless RMS norm of each q and k head after RoPE (Llama 4 / MobileLLM-R1) */
  qkNorm: boolean;
  /** tokenizer.ggml.pre: the pre-tokenizer's name (e.g. 'llama-bpe'), or null */
  preTokenizer: string | null;
  /** the weight-type mix: tensors, parameters and bytes per ggml type, the most bytes first */
  weightTypes: WeightTypeUsage[];
}

export interface EngineModelInfo extends ModelCardInfo {
  name: string | null;
  architecture: string | null;
  nVocab: number; nEmbd: number; nFf: number; nHead: number; nHeadKv: number; headDim: number;
  nLayerStored: number; nLayerEffective: number; shareRepeat: number;
  shareMode: 'immediate' | 'repeat_all' | 'reverse';
  nCtxTrain: number; weightType: string; tiedEmbeddings: boolean; tokenizer: 'llama' | 'gpt2';
  bosId: number; eosId: number; addBos: boolean; ropeTheta: number; rmsEps: number;
  /** weight matrices in the interleaved relaxed-SIMD layout */
  repacked: number;
  [field: string]: unknown;
}

export interface WeightTypeUsage { type: string; tensors: number; params: number; bytes: number }

/** One effective layer as the forward pass runs it. */
export interface LayerInfo { block: number; rope: boolean; window: number; qkNorm: boolean; ropeTheta: number }

export class Engine {
  static create(opts?: EngineOptions): Promise<Engine>;
  private constructor(mod: any);
  readonly mod: any;
  readonly abi: StructAbi;
  build: EngineBuild;
  readonly heapBytes: number;
  enumName(fn: string, v: number): string;
  allocStruct(strct: string): number;
  u8(): Uint8Array;
  i32(): Int32Array;
  f32(): Float32Array;
  alloc(bytes: number, what?: string): number;
  free(p: number): void;
  put(bytes: Uint8Array): number;
  cstr(p: number, len?: number): string;
  check(status: number): void;
  /** rows of floats quantized to a ggml type with the engine's reference quantizers */
  quantizeRows(type: number, data: Float32Array, nRows: number, nPerRow: number): Uint8Array;
  /** load GGUF bytes (copied into the heap) */
  loadModel(bytes: Uint8Array, opts?: { repack?: boolean }): Model;
  /** load GGUF bytes already written at `data` (an alloc() of `size`); the model owns them */
  loadModelAt(data: number, size: number, opts?: { repack?: boolean }): Model;
}

export function modelInfo(eng: Engine, fields: Record<string, number>): EngineModelInfo;

export interface SamplerOptions {
  temperature?: number; topK?: number; topP?: number; minP?: number;
  repeatPenalty?: number; repeatLastN?: number; seed?: number;
}

export class Model {
  constructor(eng: Engine, ptr: number);
  readonly eng: Engine;
  ptr: number;
  readonly info: EngineModelInfo;
  readInfo(): EngineModelInfo;
  /** effective layer l (0 .. nLayerEffective-1) */
  layer(l: number): LayerInfo;
  typeUsage(): WeightTypeUsage[];
  metaString(key: string): string | null;
  tokenize(text: string | Uint8Array, opts?: { addBos?: boolean; parseSpecial?: boolean }): Int32Array;
  tokenToPiece(id: number): Uint8Array;
  detokenize(ids: ArrayLike<number>, opts?: { stripLeadingSpace?: boolean }): string;
  detokenizeBytes(ids: ArrayLike<number>, opts?: { stripLeadingSpace?: boolean }): Uint8Array;
  newDetokenizer(opts?: { stripLeadingSpace?: boolean }): Detokenizer;
  isEog(id: number): boolean;
  newContext(opts?: { nCtx?: number; nBatch?: number; threads?: number; relaxedSimd?: boolean }): Context;
  newSampler(opts?: SamplerOptions): Sampler;
  free(): void;
}

export class Detokenizer {
  constructor(model: Model, strip: boolean);
  push(id: number): Uint8Array;
  flush(): Uint8Array;
  free(): void;
}

export class Context {
  constructor(model: Model, ptr: number);
  readonly model: Model;
  readonly nPast: number;
  readonly nCtx: number;
  eval(ids: ArrayLike<number>, opts?: { allLogits?: boolean }): void;
  /** a view of token i's logits into the heap (valid until the next call into the engine) */
  logitsView(i?: number): Float32Array;
  logits(i?: number): Float32Array;
  rewind(n: number): void;
  /** several sequences in one forward pass (mllm_eval_batch); logitsView(k): the k-th marked token */
  evalBatch(b: { token: ArrayLike<number>; pos: ArrayLike<number>; seeFrom: ArrayLike<number>; seeTo: ArrayLike<number>;
    segFrom: ArrayLike<number>; logits: ArrayLike<number> }): void;
  free(): void;
}

export class Sampler {
  constructor(model: Model, opts: SamplerOptions);
  sample(ctx: Context): number;
  accept(id: number): void;
  reset(): void;
  free(): void;
}

export class Grammar {
  constructor(model: Model, text: string);
  free(): void;
}

export class Generator {
  constructor(ctx: Context, sampler: Sampler, opts?: { maxTokens?: number; ignoreEos?: boolean; stop?: string[]; grammar?: Grammar });
  step(): { token: number; text: string; stop: string | null; nGenerated: number };
  free(): void;
}
