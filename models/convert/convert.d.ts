// Types of models/convert/convert.js (`mobilellm-wasm/convert`): Hugging Face checkpoint -> GGUF in plain JS.

/** Output types: llama.cpp's file types (f32, f16, bf16, q8_0, q4_0, ..., q4_k_m, iq4_xs), each with
 * its general.file_type and base tensor type. */
export const OUTPUT_TYPES: Readonly<Record<string, { ftype: number; base: number }>>;

/** Whether converting to file type `typeName` (an OUTPUT_TYPES key) needs ConvertOptions.quantizeRows (the engine's C quantizers). */
export function needsQuantizer(typeName: string): boolean;

/** tokenizer_config.json's chat_template: a string, or the `default` entry of transformers' named list; null when there is none. */
export function chatTemplate(v: unknown): string | null;

export interface ConvertOptions {
  /** an OUTPUT_TYPES key (default 'f16') */
  type?: string;
  /** called as tensor i of n is converted */
  onTensor?: (i: number, n: number, name: string) => void;
  /** the quantizer of the 4/5/6-bit types (the engine's Engine.quantizeRows); plain JS does f32, f16, bf16, q8_0 */
  quantizeRows?: (type: number, data: Float32Array, nRows: number, nPerRow: number) => Uint8Array;
  /** general.name (default: config _name_or_path or the directory name) */
  name?: string;
  /** override mobilellm.layer_share.repeat from config.json */
  shareRepeat?: number;
  /** override mobilellm.layer_share.mode */
  shareMode?: 'immediate' | 'repeat_all' | 'reverse';
  /** write every effective layer as its own block (weights copied, repeat 1) */
  unroll?: boolean;
  /** default console.warn */
  onWarning?: (msg: string) => void;
}

/** Random access to a large file. */
export interface ByteSource {
  size: number;
  read(offset: number, length: number): Uint8Array;
}

/** The files of a checkpoint, however they were obtained. */
export interface CheckpointFiles {
  label: string;
  has(name: string): boolean;
  read(name: string): Uint8Array;
  source(name: string): ByteSource;
  close?(): void;
}

/** The GGUF being written: tensor data stays lazy until written. */
export interface GGUFWriterLike {
  toBuffer(): Uint8Array;
  writeFile(path: string): Promise<void>;
}

/** HF [out, in] rows of q or k in half-split RoPE order -> GGUF adjacent-pair order (llama.cpp's permute). */
export function permuteQK(w: Float32Array, rows: number, cols: number, nHead: number): Float32Array;
/** The GGUF writer for a checkpoint, and the warnings of the conversion. */
export function buildGGUF(files: CheckpointFiles, opts?: ConvertOptions): { writer: GGUFWriterLike; warnings: string[] };
/** A checkpoint given as bytes in memory, by file name. */
export function memoryFiles(map: Record<string, Uint8Array>, label?: string): CheckpointFiles;
/** Node: a checkpoint directory. */
export function dirFiles(dir: string): Promise<CheckpointFiles>;
/** Node: convert a checkpoint directory to GGUF bytes in memory. */
export function convertHF(dir: string, opts?: ConvertOptions): Promise<Uint8Array>;
/** Node: convert a checkpoint directory to a GGUF file (it appears under its name only when complete). */
export function convertToFile(dir: string, outPath: string, opts?: ConvertOptions): Promise<{ warnings: string[] }>;
