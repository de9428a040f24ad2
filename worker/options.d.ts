// Types of worker/options.js: the one table of numeric options and their strict parsing, and the
// table of boolean ones.

export const MAX_THREADS: number;
export const MAX_CTX: number;

export interface OptionSpec {
  /** the CLI flag */
  readonly cli: string;
  /** the demo page's name for it */
  readonly label: string;
  /** an integer (else any finite number) */
  readonly int: boolean;
  readonly min: number;
  readonly max: number;
  /** the value must be above min */
  readonly minExclusive?: boolean;
  /** what special values mean */
  readonly note?: string;
}

export type OptionName = 'maxTokens' | 'temperature' | 'topK' | 'topP' | 'minP' | 'repeatPenalty' | 'repeatLastN'
  | 'seed' | 'nCtx' | 'threads' | 'memoryLimit' | 'genTokens' | 'promptTokens' | 'ctxPos' | 'reps' | 'limit' | 'shots' | 'ctx'
  | 'stride' | 'maxGenTokens';

export const OPTIONS: Readonly<Record<OptionName, OptionSpec>>;
export const GENERATE_OPTIONS: readonly OptionName[];

export interface FlagSpec {
  /** the demo page's name for it */
  readonly label: string;
  /** its value when absent */
  readonly default: boolean;
  /** what the other value means */
  readonly note: string;
}
export type FlagName = 'cachePrompt';
/** The boolean options and their defaults. */
export const FLAGS: Readonly<Record<FlagName, FlagSpec>>;
export const GENERATE_FLAGS: readonly FlagName[];
/** A boolean given to the API: the value, its default when undefined, or an 'argument' error. */
export function checkFlag(name: FlagName, value: unknown): boolean;
/** checkFlag for each of `names` present in `opts`. */
export function checkFlags(opts: Record<string, unknown>, names: readonly string[]): void;
export const LOAD_OPTIONS: readonly OptionName[];

/** A number given to the API, checked against its range (an 'argument' error naming `shownAs` otherwise). */
export function checkOption(name: OptionName, value: unknown, shownAs?: string): number;
/** An option typed as text (CLI argument, form field): decimal only, then the same range. */
export function parseOption(name: OptionName, text: string, shownAs?: string): number;
/** checkOption for each of `names` present in `opts`. */
export function checkOptions(opts: Record<string, unknown>, names: readonly string[]): void;
/** `nCtx` checked against the model's context_length, or the model's (capped at fallbackCap) when absent. */
export function contextLength(nCtx: number | undefined, modelCtx: number, o?: { fallbackCap?: number; shownAs?: string }): number;

/** The converter's output types (lib/ggml_types.js OUTPUT_TYPES): 'f32', 'f16', 'q8_0', 'bf16'. */
export const DTYPES: readonly string[];
/** The `dtype` option lower-cased ('q8_0' when undefined), or an 'argument' error. */
export function checkDtype(v: unknown): string;
