/* tokenizer.h — the vocabulary and tokenizers read from a GGUF's tokenizer.ggml.* keys.
 *
 * Two families, both reproducing llama.cpp's src/llama-vocab.cpp token for token:
 *   kind 0, tokenizer.ggml.model "llama": SentencePiece BPE (llm_tokenizer_spm): merges by
 *     piece score, byte fallback <0xNN>, dummy-prefix space, spaces as U+2581.
 *   kind 1, tokenizer.ggml.model "gpt2": GPT-2 byte-level BPE (llm_tokenizer_bpe): merge
 *     ranks, a pre-tokenizer chosen by tokenizer.ggml.pre ("default", "gpt-2"/"gpt2",
 *     "smollm", "llama-bpe" (Llama 3, MobileLLM-R1), "llama4" (Llama 4's GPT-4o split,
 *     MobileLLM-Pro), and the others llama.cpp maps to the same split rules).
 * Special tokens (control, user-defined, unknown) are split out of the text first, the way
 * llama.cpp's tokenizer_st_partition does; control and unknown ones only with parse_special.
 *
 * The tokenizer copies what it needs out of the GGUF (the pieces, scores, types and merges,
 * plus hash maps piece -> id and merge pair -> rank), so it does not depend on the file's
 * bytes after tokenizer_new. The public functions (mllm_tokenize, mllm_token_to_piece,
 * mllm_detokenize, mllm_detok_*, mllm_token_bos/eos/is_eog) are declared in mobilellm.h;
 * tokenizer_api.c implements them on the model's tokenizer with the functions below. The
 * files: tokenizer_load.c (tokenizer_new), tokenizer_vocab.c (lookups), tokenizer_special.c,
 * tokenizer_spm.c, tokenizer_bpe.c and tokenizer_merge.c (tokenizing), tokenizer_encode.c
 * (tokenizer_encode), detok.c (pieces and text back), tokenizer_impl.h (what they share).
 *
 * Detokenization is llama.cpp's token_to_piece (special = false: control and unknown tokens
 * render as nothing) and detokenize, including its space clean-up for the gpt-2/default
 * pre-tokenizers. One deliberate difference: strip_leading_space removes the dummy-prefix space
 * from the first token that renders anything, so a leading BOS does not stop it (llama.cpp
 * strips only from tokens[0]; SentencePiece and HF strip past BOS, as done here).
 *
 * Known differences from llama.cpp (all outside what real vocabularies exercise): code points
 * past U+10FFFF in the input become U+FFFD instead of aborting; a byte with no byte token
 * falls back to <unk> (or is dropped) instead of throwing; a GPT-2 piece holding a code point
 * outside the byte map renders as that code point's UTF-8 (llama.cpp writes "[UNK_BYTE_...]");
 * model-name based attribute hacks (phi-3, gpt-oss, gemma) are not applied; special tokens of
 * equal length are tried in id order (llama.cpp's order is unspecified); Unicode categories
 * come from Unicode 14 (Python's unicodedata), so code points assigned later count as
 * unassigned.
 *
 * "llama4" follows Hugging Face tokenizers (the regex on real Unicode categories), not
 * llama.cpp, which runs that regex through std::regex on text where every non-ASCII letter is
 * one byte: llama.cpp cannot tell non-ASCII upper from lower case there, and leaves combining
 * marks out of the letter classes, so lines with marks (Devanagari, Thai, decomposed accents)
 * or mixed-case non-ASCII words can tokenize differently in llama.cpp. Its case-insensitive
 * contractions match ASCII letters only (a regex engine with Unicode case folding would also
 * take "'ſ").
 */
#ifndef MLLM_TOKENIZER_H
#define MLLM_TOKENIZER_H

#include <stdint.h>

#include "gguf.h"
#include "mobilellm.h"

typedef struct mllm_tokenizer mllm_tokenizer;

/* GGUF tokenizer.ggml.token_type values (llama.h's llama_token_type). */
enum {
    MLLM_TOKTYPE_UNDEFINED = 0,
    MLLM_TOKTYPE_NORMAL = 1,
    MLLM_TOKTYPE_UNKNOWN = 2,
    MLLM_TOKTYPE_CONTROL = 3,
    MLLM_TOKTYPE_USER_DEFINED = 4,
    MLLM_TOKTYPE_UNUSED = 5,
    MLLM_TOKTYPE_BYTE = 6
};

/* tokenizer_kind values */
enum { MLLM_TOKENIZER_SPM = 0, MLLM_TOKENIZER_GPT2 = 1 };

/* Reads tokenizer.ggml.*. A missing tokens array is MLLM_ERR_MISSING naming the key; an
 * unknown tokenizer.ggml.model (or .pre) is MLLM_ERR_UNSUPPORTED naming it; a gpt2 vocabulary
 * without tokenizer.ggml.merges is MLLM_ERR_MISSING; wrongly typed or short arrays are
 * MLLM_ERR_FORMAT naming the key. */
mllm_status tokenizer_new(const gguf_file *f, mllm_tokenizer **out, mllm_error *err);
void tokenizer_free(mllm_tokenizer *t);

int32_t tokenizer_n_vocab(const mllm_tokenizer *t);
int32_t tokenizer_kind(const mllm_tokenizer *t);    /* 0 llama/SPM, 1 gpt2 */
int32_t tokenizer_add_bos(const mllm_tokenizer *t); /* 1 when tokenize(add_bos=1) prepends BOS */
int32_t tokenizer_bos(const mllm_tokenizer *t);     /* -1 when absent */
int32_t tokenizer_eos(const mllm_tokenizer *t);
int32_t tokenizer_is_eog(const mllm_tokenizer *t, int32_t token);

/* mllm_tokenize, mllm_token_to_piece, mllm_detokenize and mllm_detok_new of mobilellm.h, on a
 * tokenizer (same contracts). */
int32_t tokenizer_encode(const mllm_tokenizer *t, const char *text, int32_t len, int32_t add_bos,
                         int32_t parse_special, int32_t *out, int32_t cap, mllm_error *err);
int32_t tokenizer_piece(const mllm_tokenizer *t, int32_t token, char *out, int32_t cap);
int32_t tokenizer_decode(const mllm_tokenizer *t, const int32_t *tokens, int32_t n, int32_t strip_leading_space,
                         char *out, int32_t cap);
mllm_status tokenizer_detok_new(const mllm_tokenizer *t, int32_t strip_leading_space, mllm_detok **out,
                                mllm_error *err);

#endif
