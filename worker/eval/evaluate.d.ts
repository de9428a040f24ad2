import type { Model } from '../../wasm_build/engine.js';

/** A task file (JSON lines in a dataset layout, or generic {context, choices, gold}) or a text to
 * measure perplexity on (plain text, or JSON lines of {"text"}, one document each). */
export type TaskInput =
  | { name?: string; text: string; format?: TaskFormat }
  | { name?: string; perplexity: string };

export type TaskFormat = 'hellaswag' | 'winogrande' | 'piqa' | 'siqa' | 'openbookqa' | 'race' | 'boolq'
  | 'triviaqa' | 'arc' | 'generic';

export interface EvalProgress { task: string; done: number; total: number }

export interface EvalOptions {
  /** the first N documents of each task */
  limit?: number;
  /** solved examples before each context: the K documents after it in the file (default 0) */
  shots?: number;
  /** prepend BOS to every encoding (default: the model's add_bos, as the harness's tokenizer does) */
  bos?: boolean;
  /** the evaluation context's length (default: the model's, at most 2048) */
  nCtx?: number;
  threads?: number;
  /** perplexity: tokens per window (default nCtx) */
  ctx?: number;
  /** perplexity: new tokens scored per window (default ctx: the harness's disjoint windows) */
  stride?: number;
  /** TriviaQA answer length limit (default 256, the harness's max_gen_toks) */
  maxGenTokens?: number;
  /** false: score every context + choice from an empty cache (for comparisons; same numbers) */
  shared?: boolean;
  /** multiple choice: tokens per forward pass of several documents (each document's shared
   * prefix once, every choice seeing it; default 512, fewer where a batch's logits would pass
   * 64 MiB); 0: one document at a time. The same numbers either way. */
  batch?: number;
  /** also return one record per document */
  log?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: EvalProgress) => void;
}

/** What the harness reports for a multiple-choice task (n documents; stderr: mean_stderr). */
export interface ChoiceResult {
  format: TaskFormat; n: number; seconds: number; shots?: number;
  acc: number; acc_stderr: number | null;
  /** log-likelihood / length of the choice in characters */
  acc_norm: number; acc_norm_stderr: number | null;
  /** log-likelihood / length of the choice in UTF-8 bytes */
  acc_bytes: number; acc_bytes_stderr: number | null;
}

export interface GenerateResult { format: 'triviaqa'; n: number; seconds: number; exact_match: number; exact_match_stderr: number | null }

export interface PerplexityResult {
  documents: number; tokens: number; bytes: number; words: number; windows: number; ctx: number; stride: number;
  loglikelihood: number; token_perplexity: number; byte_perplexity: number; bits_per_byte: number; word_perplexity: number;
  seconds: number;
}

export type EvalRecord =
  | { task: string; line: number; gold: number; lls: number[]; greedy: boolean[]; tokens: number[]; pred: number; pred_norm: number; acc: number; acc_norm: number }
  | { task: string; line: number; output: string; answers: string[]; exact_match: number };

export interface EvalReport {
  results: Record<string, ChoiceResult | GenerateResult | PerplexityResult>;
  log?: EvalRecord[];
}

export function evaluate(model: Model, tasks: TaskInput[], opts?: EvalOptions): Promise<EvalReport>;
/** The documents of a perplexity file: JSON lines of {"text"}, or the whole text. */
export function perplexityDocs(text: string): string[];
