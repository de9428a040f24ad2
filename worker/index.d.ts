// Types of the package entry (worker/index.js). They need no DOM library: Node programs
// compile them with @types/node alone (Blob, URL and AbortSignal are globals there).

export type ErrorCode = 'download' | 'format' | 'unsupported' | 'quota' | 'context_full' | 'aborted' | 'busy'
  | 'state' | 'argument' | 'nomem' | 'cache' | 'internal';

/** Every failure of the API: `code` is stable, `message` one sentence naming the cause. */
export class MobileLLMError extends Error {
  constructor(code: string, message: string);
  code: ErrorCode | string;
}
export class DownloadError extends MobileLLMError { code: 'download'; status?: number; url?: string }
export class FormatError extends MobileLLMError { code: 'format' }
export class UnsupportedError extends MobileLLMError { code: 'unsupported'; files?: string[] }
export class QuotaError extends MobileLLMError { code: 'quota'; /** the whole file's bytes, when known */ size?: number; needed?: number; free?: number }
export class ContextFullError extends MobileLLMError { code: 'context_full'; promptTokens: number; nCtx: number }
export class AbortError extends MobileLLMError { code: 'aborted' }
export class BusyError extends MobileLLMError { code: 'busy' }
export class StateError extends MobileLLMError { code: 'state' }
export class ArgumentError extends MobileLLMError { code: 'argument' }
export class NoMemoryError extends MobileLLMError { code: 'nomem'; needed?: number; limit?: number }
/** also: the entry a load was reading or writing was deleted (or replaced) by another tab or process meanwhile */
export class CacheError extends MobileLLMError { code: 'cache' }
export class InternalError extends MobileLLMError { code: 'internal' }

export interface Progress {
  /** download: bytes arriving; convert: a checkpoint becoming GGUF; load: bytes entering the wasm heap (checked); verify: a damaged cache entry was found */
  phase: 'download' | 'convert' | 'load' | 'verify';
  loaded: number;
  total: number | null;
  /** bytes per second (download) */
  rate?: number;
  /** download: this transfer resumed a stored partial copy with a Range request from this byte */
  resumedFrom?: number;
  /** the file being downloaded, for multi-file Hugging Face checkpoints */
  file?: string;
  /** convert (Node's convertSource of a directory): tensor `tensor` of `tensors`, named `name` */
  tensor?: number;
  tensors?: number;
  name?: string;
  /** download: another tab or process is downloading this entry; loaded / total are its progress (polled) */
  waiting?: boolean;
  corrupt?: boolean;
  message?: string;
}

/** A Hugging Face checkpoint handed over as files (e.g. from a directory picker). */
export interface CheckpointFileSet {
  files: Record<string, Blob | Uint8Array>;
  label?: string;
}

export type ModelSource =
  | string // URL, 'owner/name[@revision]' (Hugging Face), 'hf://owner/name', or in Node a path (GGUF file or checkpoint directory)
  | URL
  | ArrayBuffer // transferred to the worker (detached here) unless transfer: false
  | ArrayBufferView
  | Blob // File included: a GGUF
  | ArrayLike<Blob & { readonly name: string }> // a checkpoint's files: File[] or a FileList
  | { repo: string; revision?: string }
  | { cacheKey: string } // a complete entry of MobileLLM.cache.list(), loaded with no request; unknown or partial: a 'cache' error
  | CheckpointFileSet;

export interface LoadOptions {
  onProgress?: (p: Progress) => void;
  signal?: AbortSignal;
  /** true (default): use and fill the cache; false: keep nothing; 'reload': ignore and replace cached copies */
  cache?: boolean | 'reload';
  /** ask the browser to keep this origin's storage (navigator.storage.persist()); the answer is info.persisted */
  persist?: boolean;
  /** Node: cache directory (default $MOBILELLM_CACHE_DIR, $XDG_CACHE_HOME/mobilellm-wasm or ~/.cache/mobilellm-wasm) */
  cacheDir?: string;
  /** weight type for converted checkpoints (default 'q8_0'): a llama.cpp file type, lower case —
   * 'f32', 'f16', 'bf16', 'q8_0', the 4/5/6-bit 'q4_0' ... 'q6_k', 'iq4_nl', 'iq4_xs' and the
   * K mixes 'q3_k_s' ... 'q5_k_m' (the list: DTYPES of worker/options.js) */
  dtype?: string;
  /** context length (default: the model's, at most 4096) */
  nCtx?: number;
  /** forward-pass threads (default 1, at most 16). More than 1 runs the pthreads build, which needs
   * SharedArrayBuffer (Node, or a cross-origin-isolated page: COOP same-origin + COEP require-corp);
   * elsewhere the model runs on one thread and info.warnings says why. Results are identical. */
  threads?: number;
  /** the most wasm memory (bytes) the model may grow the engine to (default: 1.5 GB on iPhone / iPad,
   * whose Safari kills pages above about that, else the 4 GiB wasm32 space). A model (or context) that
   * would pass it is refused with a NoMemoryError naming the sizes, before any memory grows. */
  memoryLimit?: number;
  /** Hugging Face Hub endpoint (default https://huggingface.co) */
  hfEndpoint?: string;
  /** token for gated / private repos */
  hfToken?: string;
  revision?: string;
  /** a GGUF file of the repo to load instead of choosing one / converting the checkpoint */
  file?: string;
  /** download retries after a dropped connection or a 5xx (default 4) */
  retries?: number;
  /** run the engine in a worker (default true); false runs it in this thread */
  worker?: boolean;
  /** transfer (detach) an ArrayBuffer source instead of copying it (default true) */
  transfer?: boolean;
  /** where the worker script ('worker.js') and the engine files of dist/ ('mobilellm.wasm', ...) are
   * when not beside the package's own modules: a function (name, defaultUrl) => absolute URL
   * (undefined: the default), or an object of name -> URL */
  locateFile?: LocateFile;
}

import type { LocateFile, ModelCardInfo, WeightTypeUsage } from '../wasm_build/engine.js';
export type { LocateFile, ModelCardInfo, WeightTypeUsage };

export interface GenerateOptions {
  /** default 256; 0: until end of text or a full context */
  maxTokens?: number;
  /** <= 0 is greedy. Sampling options left out take the engine's defaults (lib/sampler_defaults.js) */
  temperature?: number;
  topK?: number;
  topP?: number;
  minP?: number;
  repeatPenalty?: number;
  repeatLastN?: number;
  /** default: random */
  seed?: number;
  stop?: string | string[];
  ignoreEos?: boolean;
  addBos?: boolean;
  /** constrain the output to a GBNF grammar (llama.cpp's dialect); the text is then always one
   * complete string of it, even when maxTokens runs short (the completion is forced); not
   * combinable with stop */
  grammar?: string;
  /** constrain the output to JSON that validates against this JSON Schema (object or JSON text;
   * converted with jsonSchemaToGrammar) */
  jsonSchema?: object | boolean | string;
  signal?: AbortSignal;
  /** wait for a running generation to finish instead of failing with a 'busy' error */
  wait?: boolean;
  /** true (default): reuse the KV cache the last call left (its prompt and the tokens it
   * generated), evaluating only the tokens after the prefix this prompt shares with them; the
   * output is the same as without. false: evaluate the whole prompt. */
  cachePrompt?: boolean;
}

export interface GeneratedToken {
  /** newly final text (may be '' while UTF-8 bytes or a possible stop string are held back) */
  text: string;
  /** the sampled token id, or null for a final flush of held-back text */
  token: number | null;
}

/** The model's facts (the card's part is the engine's, ModelCardInfo) and this load's. */
export interface ModelInfo extends ModelCardInfo {
  name: string | null;
  architecture: string | null;
  nVocab: number; nEmbd: number; nFf: number; nHead: number; nHeadKv: number; headDim: number;
  /** blocks stored in the file */
  nLayerStored: number;
  /** blocks run per token (stored x shareRepeat) */
  nLayerEffective: number;
  shareRepeat: number;
  shareMode: 'immediate' | 'repeat_all' | 'reverse';
  nCtxTrain: number;
  /** the context of this session */
  nCtx: number;
  weightType: string;
  quant: string;
  tiedEmbeddings: boolean;
  tokenizer: 'llama' | 'gpt2';
  bosId: number; eosId: number; addBos: boolean;
  /** GGUF tokenizer.chat_template, or null (chat then uses the plain fallback: "User: …\nAssistant:") */
  chatTemplate: string | null;
  /** the BOS and EOS tokens' text as templates write them (bos_token, eos_token) */
  bosText: string | null; eosText: string | null;
  /** every end-of-generation id (EOS, <|eot_id|>, <|im_end|>, …): generation stops on each */
  eogIds: number[];
  ropeTheta: number; rmsEps: number;
  nParams: number; weightBytes: number;
  source: string;
  cacheKey: string | null;
  /** true when no byte was downloaded or converted for this load (also after waiting for another tab's download) */
  fromCache: boolean;
  /** whether the browser keeps this origin's storage under pressure (asked for with persist: true;
   * where the browser asks the user first, as Firefox does, the state when the load ended); null in Node or without a cache */
  persisted: boolean | null;
  fileBytes: number;
  warnings: string[];
  loadMs: number;
  /** wasm heap size after loading (the engine's peak memory so far) */
  heapBytes: number;
  /** whether the SIMD128 build runs (null: a custom module) */
  simd: boolean | null;
  /** whether Q8_0 matmuls run on the relaxed-SIMD int8 kernels (where the browser computes
   * its dot exactly, e.g. Chromium on x86 with AVX-VNNI; same results as without) */
  relaxedSimd: boolean;
  /** forward-pass threads actually used (1 where threads are unavailable) */
  threads: number;
  /** weight matrices interleaved at load for the relaxed-SIMD kernels (0 where they do not run) */
  repacked: number;
  /** the memoryLimit the model was checked against (bytes) */
  memoryLimit: number;
}

export interface GenerationStats {
  /** tokens of the prompt */
  promptTokens: number;
  /** prompt tokens taken from the KV cache the last call left (cachePrompt) */
  reusedTokens: number;
  /** prompt tokens evaluated by this call: promptTokens - reusedTokens (at least 1) */
  evalTokens: number;
  generatedTokens: number;
  stopReason: 'eos' | 'stop' | 'length' | 'context_full' | 'aborted';
  seed: number;
  /** time to evaluate the evalTokens */
  prefillMs: number;
  decodeMs: number;
  /** evalTokens per second */
  prefillTokPerS: number;
  decodeTokPerS: number;
  heapBytes: number;
}

export interface CacheEntry {
  key: string;
  kind: 'gguf' | 'raw';
  source: string;
  size: number | null;
  storedBytes: number;
  complete: boolean;
  etag: string | null;
  createdAt: string;
  lastUsedAt: string;
  dtype?: string;
}

export interface CacheOptions { cacheDir?: string }

export type { TaskInput, TaskFormat, EvalOptions, EvalProgress, EvalReport, ChoiceResult, GenerateResult, PerplexityResult, EvalRecord } from './eval/evaluate.js';
import type { TaskInput, EvalOptions, EvalReport } from './eval/evaluate.js';
/** JSON-lines text, a File / Blob of it, or a task object (text or perplexity may be a Blob) */
export type EvalTask = string | Blob | TaskInput | { name?: string; text: Blob; format?: string } | { name?: string; perplexity: Blob };

// ---------------------------------------------------------------- chat (OpenAI's shapes)

export interface ChatToolCall {
  id: string;
  type: 'function';
  /** arguments: JSON text of an object */
  function: { name: string; arguments: string };
}

export type ChatMessage =
  | { role: 'system' | 'developer'; content: string | ChatTextPart[]; name?: string }
  | { role: 'user'; content: string | ChatTextPart[]; name?: string }
  | { role: 'assistant'; content: string | ChatTextPart[] | null; tool_calls?: ChatToolCall[]; name?: string }
  | { role: 'tool'; content: string | ChatTextPart[]; tool_call_id?: string };

export interface ChatTextPart { type: 'text'; text: string }

export interface ChatTool {
  type: 'function';
  /** parameters: a JSON Schema of an object, in what jsonSchemaToGrammar supports */
  function: { name: string; description?: string; parameters?: object };
}

export interface ChatCompletionParams {
  messages: ChatMessage[];
  /** echoed in the response (default: the model's name) */
  model?: string;
  stream?: boolean;
  /** accepted for compatibility: streams always end with a usage chunk */
  stream_options?: { include_usage?: boolean };
  /** default: until the model ends its turn or the context is full */
  max_tokens?: number;
  max_completion_tokens?: number;
  temperature?: number;
  top_p?: number;
  /** not OpenAI's (vLLM's and llama.cpp server's extension): the engine's top-k */
  top_k?: number;
  seed?: number;
  stop?: string | string[];
  response_format?: { type: 'text' } | { type: 'json_object' } | { type: 'json_schema'; json_schema: { name: string; schema?: object | boolean; strict?: boolean } };
  tools?: ChatTool[];
  /** default 'auto' with tools: the reply is a call when the model starts one (one call per reply) */
  tool_choice?: 'none' | 'auto' | 'required' | { type: 'function'; function: { name: string } };
  /** accepted for compatibility: a reply holds one call at most */
  parallel_tool_calls?: boolean;
  n?: 1;
  /** extra variables for the chat template (e.g. date_string, enable_thinking) */
  chat_template_kwargs?: Record<string, unknown>;
  signal?: AbortSignal;
  /** wait for a running generation instead of failing with a 'busy' error */
  wait?: boolean;
}

export interface ChatUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  /** prompt tokens the context already held (when generate reports reuse) */
  prompt_tokens_details?: { cached_tokens: number };
}

export type ChatFinishReason = 'stop' | 'length' | 'tool_calls';

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: [{ index: 0; message: { role: 'assistant'; content: string | null; tool_calls?: ChatToolCall[] }; logprobs: null; finish_reason: ChatFinishReason }];
  usage: ChatUsage;
}

export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  /** empty in the last chunk, which carries usage */
  choices: [] | [{ index: 0; delta: { role?: 'assistant'; content?: string; tool_calls?: (ChatToolCall & { index: number })[] }; logprobs: null; finish_reason: ChatFinishReason | null }];
  usage?: ChatUsage;
}

export interface ChatApi {
  completions: {
    create(params: ChatCompletionParams & { stream: true }): Promise<AsyncIterable<ChatCompletionChunk>>;
    create(params: ChatCompletionParams & { stream?: false }): Promise<ChatCompletion>;
    create(params: ChatCompletionParams): Promise<ChatCompletion | AsyncIterable<ChatCompletionChunk>>;
  };
}

export class MobileLLM {
  private constructor();
  /** OpenAI's chat API, rendered with the model's chat template (worker/chat.js) */
  readonly chat: ChatApi;
  static load(source: ModelSource, options?: LoadOptions): Promise<MobileLLM>;
  readonly info: Readonly<ModelInfo>;
  readonly lastStats: GenerationStats | null;
  tokenize(text: string, opts?: { addBos?: boolean; parseSpecial?: boolean }): Promise<Int32Array>;
  detokenize(tokens: ArrayLike<number>, opts?: { stripLeadingSpace?: boolean }): Promise<string>;
  /** teacher-forced logits, n x info.nVocab row-major */
  logits(input: string | ArrayLike<number>, opts?: { addBos?: boolean; signal?: AbortSignal }): Promise<Float32Array>;
  generate(prompt: string | ArrayLike<number>, opts?: GenerateOptions): AsyncGenerator<GeneratedToken, void, void>;
  /** zero-shot scores as lm-evaluation-harness computes them, or perplexity; in a context of its own */
  evaluate(tasks: EvalTask | EvalTask[], opts?: Omit<EvalOptions, 'threads' | 'shared'>): Promise<EvalReport>;
  unload(): Promise<void>;
  static cache: {
    list(o?: CacheOptions): Promise<CacheEntry[]>;
    delete(key: string, o?: CacheOptions): Promise<boolean>;
    clear(o?: CacheOptions): Promise<number>;
    usage(o?: CacheOptions): Promise<{ usage: number; entries: number; quota: number | null; free: number | null; store: string }>;
    read(key: string, o?: CacheOptions): Promise<Uint8Array>;
    /** delete partial entries, then complete ones least recently used first, until at most `keep` bytes (default 0) remain; entries being written are skipped */
    evict(o?: CacheOptions & { keep?: number }): Promise<{ evicted: string[]; freedBytes: number; usage: number }>;
  };
}

/** Node: a GGUF file path for any source (downloaded / converted into the cache as needed). */
export function resolveModelFile(source: string, options?: Omit<LoadOptions, 'worker' | 'transfer' | 'nCtx' | 'threads'>):
  Promise<{ path: string; fromCache: boolean; cacheKey: string | null; warnings: string[] }>;

/** Node: convert a checkpoint directory or repo to a GGUF file. */
export function convertSource(source: string, outPath: string, options?: Omit<LoadOptions, 'worker' | 'transfer' | 'nCtx' | 'threads'>):
  Promise<{ warnings: string[] }>;

/** The GBNF grammar of the JSON values that validate against a JSON Schema (see
 * worker/json_schema_grammar.d.ts for what is supported). */
export { jsonSchemaToGrammar } from './json_schema_grammar.js';
/** The one table of numeric options (ranges shared by the API, the CLI and the demo page) and its
 * parsers, and the table of boolean options (FLAGS: defaults). */
export { OPTIONS, FLAGS, MAX_THREADS, checkOption, parseOption } from './options.js';
