// pre_tokenizers.js — which tokenizer.ggml.pre a Hugging Face tokenizer.json's byte-level BPE
// pre_tokenizer is, for the split rules the engine implements (src/tokenizer_load.c's table
// holds the names; tests/node/tokenizer_llama3.test.js checks the engine loads each one).

/** The Split regex of Meta-Llama-3's tokenizer.json (MobileLLM-R1 ships the same). */
export const LLAMA3_REGEX = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/** The Split regex of Llama 4's tokenizer.json (GPT-4o's o200k pattern; MobileLLM-Pro). */
export const LLAMA4_REGEX = "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/** Every tokenizer.ggml.pre value ggufPreTokenizer gives. */
export const PRE_TOKENIZERS = Object.freeze(['gpt2', 'smollm', 'llama-bpe', 'llama4']);

/**
 * tokenizer.ggml.pre for a tokenizer.json pre_tokenizer (llama.cpp's names): Llama 3's and
 * Llama 4's Split regexes, SmolLM's individual digits before ByteLevel, else GPT-2's.
 * @param {unknown} preTokenizer tokenizer.json's "pre_tokenizer" value
 * @returns {string}
 */
export function ggufPreTokenizer(preTokenizer) {
  const json = JSON.stringify(preTokenizer ?? {});
  const has = (regex) => json.includes(JSON.stringify(regex).slice(1, -1));
  if (has(LLAMA3_REGEX)) return 'llama-bpe';
  if (has(LLAMA4_REGEX)) return 'llama4';
  if (/"Digits"/.test(json) && /"individual_digits":true/.test(json)) return 'smollm';
  return 'gpt2';
}
