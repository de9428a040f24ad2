// Types of lib/pre_tokenizers.js.
export const LLAMA3_REGEX: string;
export const LLAMA4_REGEX: string;
export const PRE_TOKENIZERS: readonly string[];
export function ggufPreTokenizer(preTokenizer: unknown): string;
