/* mobilellm.h — the public C API of the MobileLLM engine.
 *
 * This header is the ABI the WebAssembly module exports, so it is shaped for a JS caller:
 * opaque handles, plain params structs whose fields are all 4-byte numbers (JS writes them
 * through an Int32Array/Float32Array view), no FILE*, no required callbacks. Streaming is a
 * loop of small calls (mllm_generator_step).
 *
 * Every fallible call returns an mllm_status and, when `err` is not NULL, fills it with the
 * code and one clear sentence. Nothing here keeps global state; handles may be used from one
 * thread at a time each.
 *
 * Ownership: the model keeps zero-copy views into the GGUF bytes it was loaded from. Those
 * bytes must outlive the model, unless params.take_ownership is set, in which case the model
 * frees them (with free()) in mllm_model_free.
 */
#ifndef MOBILELLM_H
#define MOBILELLM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MLLM_ABI_VERSION 3 /* 3: mllm_eval_batch, mllm_layer_info, mllm_type_usage, model info window/qk-norm fields */

typedef enum mllm_status {
    MLLM_OK = 0,
    MLLM_ERR_ARG = 1,          /* a caller mistake: NULL handle, bad size, out-of-range id */
    MLLM_ERR_NOMEM = 2,        /* an allocation failed */
    MLLM_ERR_FORMAT = 3,       /* the file is not valid GGUF or is damaged (truncated, out of bounds) */
    MLLM_ERR_UNSUPPORTED = 4,  /* valid file, but something we do not run: version, tensor type, architecture */
    MLLM_ERR_MISSING = 5,      /* a required tensor or metadata key is absent */
    MLLM_ERR_CONTEXT_FULL = 6, /* evaluating would exceed the context length */
    MLLM_ERR_STATE = 7         /* a call out of order, e.g. sampling before any evaluation */
} mllm_status;

/* Caller-owned error record. msg is always NUL-terminated. */
typedef struct mllm_error {
    int32_t code;
    char msg[252];
} mllm_error;

typedef struct mllm_model mllm_model;
typedef struct mllm_context mllm_context;
typedef struct mllm_sampler mllm_sampler;
typedef struct mllm_generator mllm_generator;
typedef struct mllm_detok mllm_detok;
typedef struct mllm_grammar mllm_grammar;

/* ---------------------------------------------------------------- model */

typedef struct mllm_model_params {
    int32_t take_ownership; /* 1: the model frees `data` with free() when it is freed */
    /* 1 (default): with take_ownership, where this build's fastest kernels want it (the
     * relaxed-SIMD ones, in builds that carry them, on engines that run them), the Q8_0, Q4_0,
     * Q5_0, Q4_K, Q5_K and Q6_K weights of the layer blocks (and a K-type head, tied or not)
     * are rearranged in place at load, four rows interleaved (kernels.h KERN_LAYOUT_*_X4), so
     * `data` no longer holds the file's bytes. Results do not change. 0: the bytes are left as
     * they are. */
    int32_t repack;
    int32_t reserved[2];
} mllm_model_params;

void mllm_model_params_init(mllm_model_params *p);

mllm_status mllm_model_load(const uint8_t *data, size_t size, const mllm_model_params *params,
                            mllm_model **out, mllm_error *err);
void mllm_model_free(mllm_model *m);

/* Model facts, all 4-byte numbers, for the CLI `info` command and the JS API. */
typedef struct mllm_model_info {
    int32_t n_vocab;
    int32_t n_embd;
    int32_t n_ff;
    int32_t n_head;
    int32_t n_head_kv;
    int32_t head_dim;
    int32_t n_layer_stored;    /* blocks in the file */
    int32_t n_layer_effective; /* stored x repeat */
    int32_t share_repeat;
    int32_t share_mode;        /* 0 immediate, 1 repeat_all, 2 reverse */
    int32_t n_ctx_train;
    int32_t weight_type;       /* dominant matrix type: an mllm_dtype value (0 F32, 1 F16, 8 Q8_0, 30 BF16) */
    int32_t tied_embeddings;   /* 1 when output.weight is absent */
    int32_t tokenizer_kind;    /* 0 SentencePiece BPE (llama), 1 GPT-2 byte-level BPE */
    int32_t bos_id, eos_id;    /* -1 when absent */
    int32_t add_bos;
    float rope_theta;
    float rms_eps;
    int32_t n_repacked;        /* weight matrices in the interleaved layout (mllm_model_params.repack) */
    int32_t qk_norm;           /* 1: a weightless RMS norm of each q and k head after RoPE (llama4) */
    int32_t n_swa;             /* sliding window of the windowed layers, in positions; 0: none */
    int32_t n_swa_layers;      /* effective layers that attend within the window (the rest: the whole context) */
    int32_t n_rope_layers;     /* effective layers whose q and k are rotated */
    int64_t n_params;          /* parameters stored (shared blocks counted once) */
    int64_t weight_bytes;      /* bytes of tensor data */
} mllm_model_info;

void mllm_model_get_info(const mllm_model *m, mllm_model_info *out);

/* One effective layer as the forward pass runs it (the model card's per-layer pattern). */
typedef struct mllm_layer_info {
    int32_t block;    /* the stored block it runs (layer sharing runs a block several times) */
    int32_t rope;     /* 1: q and k are rotated */
    int32_t window;   /* attends to the last `window` positions; 0: to the whole context */
    int32_t qk_norm;  /* 1: q and k heads are RMS-normed after RoPE */
    float rope_theta; /* this layer's RoPE base (when rope is 1) */
} mllm_layer_info;

/* Layer `layer` (0 .. n_layer_effective-1) of the model; MLLM_ERR_ARG outside that range. */
mllm_status mllm_model_get_layer(const mllm_model *m, int32_t layer, mllm_layer_info *out, mllm_error *err);

/* The tensors of one ggml type in the model (the weight-type mix of a mixed file). */
typedef struct mllm_type_usage {
    int32_t type;      /* a ggml type id (mllm_dtype_name) */
    int32_t n_tensors;
    int64_t n_elems;
    int64_t bytes;
} mllm_type_usage;

/* Fills out[0 .. min(count, cap)-1] with one entry per tensor type the model holds, in
 * ascending type id, and returns count (the distinct types; 0 when m is NULL). */
int32_t mllm_model_type_usage(const mllm_model *m, mllm_type_usage *out, int32_t cap);

/* Metadata string (e.g. "general.name"); returns NULL when absent or not a string. The
 * pointer stays valid while the model lives; *len receives the byte length. */
const char *mllm_model_meta_str(const mllm_model *m, const char *key, int32_t *len);

/* ------------------------------------------------------------ tokenizer */

/* Tokenize `len` bytes of UTF-8 (invalid bytes go through byte fallback). add_bos works like
 * llama.cpp's add_special: BOS (and EOS) only where the model's add_bos_token / add_eos_token
 * allow it. Writes at most
 * `cap` ids. Returns the number of tokens; if that exceeds cap, nothing useful is in `out`
 * and the caller retries with a buffer of the returned size. Negative on error. */
int32_t mllm_tokenize(const mllm_model *m, const char *text, int32_t len, int32_t add_bos,
                      int32_t parse_special, int32_t *out, int32_t cap, mllm_error *err);

/* Raw bytes of one token's piece (SentencePiece '▁' as space, <0xNN> as the byte, GPT-2
 * byte-level mapping undone). Control tokens give 0 bytes. Returns the byte count, or the
 * size needed if > cap, negative on error. */
int32_t mllm_token_to_piece(const mllm_model *m, int32_t token, char *out, int32_t cap);

/* A token's vocabulary entry verbatim (control tokens included: "<s>", "<|im_end|>"), as chat
 * templates write bos_token / eos_token. Same return convention as mllm_token_to_piece. */
int32_t mllm_token_text(const mllm_model *m, int32_t token, char *out, int32_t cap);

/* Whole-sequence detokenization. With `strip_leading_space`, the space a SentencePiece dummy
 * prefix put before the first text-producing token is removed (a leading BOS does not block
 * it, as in SentencePiece and HF; llama.cpp only looks at the very first token). Same return
 * convention as mllm_token_to_piece. */
int32_t mllm_detokenize(const mllm_model *m, const int32_t *tokens, int32_t n,
                        int32_t strip_leading_space, char *out, int32_t cap);

/* Streaming detokenizer: never emits half a UTF-8 character. */
mllm_status mllm_detok_new(const mllm_model *m, int32_t strip_leading_space, mllm_detok **out,
                           mllm_error *err);
/* Feed one token; returns the number of complete-text bytes now available via
 * mllm_detok_text (valid until the next call). */
int32_t mllm_detok_push(mllm_detok *d, int32_t token);
/* End of stream: pending incomplete bytes come out as U+FFFD. */
int32_t mllm_detok_flush(mllm_detok *d);
const char *mllm_detok_text(const mllm_detok *d);
void mllm_detok_free(mllm_detok *d);

int32_t mllm_token_bos(const mllm_model *m);
int32_t mllm_token_eos(const mllm_model *m);
int32_t mllm_token_is_eog(const mllm_model *m, int32_t token);

/* -------------------------------------------------------------- context */

typedef struct mllm_context_params {
    int32_t n_ctx;    /* 0: the model's training context */
    int32_t n_batch;  /* most tokens per forward chunk, and per all-logits eval; 0: 256 */
    int32_t n_threads;/* threads for the forward pass (1 = none); only the threaded wasm build runs
                         more, the other builds compute the same results with 1 */
    int32_t relaxed_simd; /* 1 (default): Q8_0 matmuls may use the relaxed-SIMD int8 dot where the
                             build has it and the wasm engine computes it exactly; 0: never.
                             The results are bit-identical either way. */
} mllm_context_params;

void mllm_context_params_init(mllm_context_params *p);

mllm_status mllm_context_new(const mllm_model *m, const mllm_context_params *params,
                             mllm_context **out, mllm_error *err);
void mllm_context_free(mllm_context *c);

/* Evaluate `n` tokens at positions n_past .. n_past+n-1, appending them to the KV cache.
 * all_logits = 0: logits of the last token only (any n; processed in chunks of n_batch).
 * all_logits = 1: logits of every token (n <= n_batch). A batch that would pass n_ctx is
 * refused with MLLM_ERR_CONTEXT_FULL and changes nothing. */
mllm_status mllm_eval(mllm_context *c, const int32_t *tokens, int32_t n, int32_t all_logits,
                      mllm_error *err);

/* Logits (n_vocab floats) of token i of the last eval (i = -1: its last token). NULL if
 * that row was not computed. Valid until the next eval. */
const float *mllm_logits(const mllm_context *c, int32_t i);

int32_t mllm_n_past(const mllm_context *c);
int32_t mllm_n_ctx(const mllm_context *c);
/* Forget positions >= n_keep (0 clears). Logits become invalid. */
mllm_status mllm_kv_rewind(mllm_context *c, int32_t n_keep, mllm_error *err);

/* ------------------------------------------------------- several sequences in one batch */

/* One token of an mllm_eval_batch. Token i of the batch goes into KV slot n_past + i, is
 * rotated for position `pos`, and attends to slots see_from .. see_to - 1 and then to slots
 * seg_from .. n_past + i (its own sequence up to itself), in that order. E.g. a context at
 * slots 0..P-1 (positions 0.., each seeing seg_from = 0 up to itself), then each of its
 * continuations seeing 0..P-1 and its own slots, at positions P..: the context is evaluated
 * once and every continuation gets exactly the logits it gets evaluated after it alone. */
typedef struct mllm_batch_token {
    int32_t token;
    int32_t pos;      /* 0 <= pos < n_ctx */
    int32_t see_from; /* 0 <= see_from <= see_to <= seg_from <= n_past + i */
    int32_t see_to;
    int32_t seg_from;
    int32_t logits;   /* 1: compute its logits; mllm_logits(c, k) is the k-th such token's */
} mllm_batch_token;

/* Evaluate n <= n_batch tokens of several sequences in one forward pass (one stream of the
 * weights for all). Afterwards n_past counts the batch's slots, but mllm_eval refuses to
 * append to them (MLLM_ERR_STATE) until the cache is rewound to the single sequence before
 * them. Models with sliding-window layers are refused (MLLM_ERR_UNSUPPORTED). A bad token
 * changes nothing. */
mllm_status mllm_eval_batch(mllm_context *c, const mllm_batch_token *batch, int32_t n, mllm_error *err);

/* -------------------------------------------------------------- sampler */

typedef struct mllm_sampler_params {
    float temperature;     /* <= 0: greedy */
    int32_t top_k;         /* <= 0: off */
    float top_p;           /* >= 1: off */
    float min_p;           /* <= 0: off */
    float repeat_penalty;  /* 1: off */
    int32_t repeat_last_n; /* window of recent tokens the penalty looks at */
    uint32_t seed;
    int32_t reserved;
} mllm_sampler_params;

void mllm_sampler_params_init(mllm_sampler_params *p);

mllm_status mllm_sampler_new(int32_t n_vocab, const mllm_sampler_params *params,
                             mllm_sampler **out, mllm_error *err);
void mllm_sampler_free(mllm_sampler *s);
/* Pick a token from logits (not modified). Deterministic for a given seed and history. */
int32_t mllm_sampler_sample(mllm_sampler *s, const float *logits);
/* Record a token in the repetition window (prompt tokens too). */
void mllm_sampler_accept(mllm_sampler *s, int32_t token);
void mllm_sampler_reset(mllm_sampler *s);

/* ------------------------------------------------------------ generator */

/* Streaming text generation over a context: sample, detokenize (UTF-8 safe), match stop
 * strings (text that might begin a stop string is held back until it is decided), and feed
 * the token back. The context must already hold the prompt's logits (mllm_eval). */

typedef enum mllm_stop_reason {
    MLLM_STOP_NONE = 0,   /* keep going */
    MLLM_STOP_EOS = 1,    /* an end-of-generation token was sampled */
    MLLM_STOP_STRING = 2, /* a stop string appeared; it is not part of the text */
    MLLM_STOP_LENGTH = 3, /* max_tokens reached */
    MLLM_STOP_CONTEXT = 4 /* the context is full: the last token was emitted but not evaluated */
} mllm_stop_reason;

typedef struct mllm_generator_params {
    int32_t max_tokens;   /* <= 0: until EOS or context end */
    int32_t ignore_eos;
    int32_t reserved[2];
} mllm_generator_params;

typedef struct mllm_step_result {
    int32_t token;       /* the sampled token, -1 when none was sampled this step */
    int32_t stop;        /* an mllm_stop_reason */
    int32_t text_len;    /* bytes of newly final text, read with mllm_generator_text */
    int32_t n_generated;
} mllm_step_result;

mllm_status mllm_generator_new(mllm_context *c, mllm_sampler *s, const mllm_generator_params *p,
                               mllm_generator **out, mllm_error *err);
/* Add a stop string (UTF-8 bytes; copied). */
mllm_status mllm_generator_add_stop(mllm_generator *g, const char *text, int32_t len,
                                    mllm_error *err);
/* One token. Running out of context is a normal end (stop = MLLM_STOP_CONTEXT, status OK);
 * after any stop, further steps sample nothing and repeat the stop reason. */
mllm_status mllm_generator_step(mllm_generator *g, mllm_step_result *r, mllm_error *err);
const char *mllm_generator_text(const mllm_generator *g);
void mllm_generator_free(mllm_generator *g);

/* ------------------------------------------------------- constrained decoding */

/* A GBNF grammar (llama.cpp's dialect: rules, alternatives, groups, literals, char classes,
 * repetitions * + ? {m,n}, comments; `root` starts) compiled into a matcher over the model's
 * vocabulary. Limits (src/grammar.h) are checked while compiling; a mistake is MLLM_ERR_ARG
 * with the line and column. Left-recursive rules and rules that can never end are refused.
 * The handle keeps its own copy of the pieces: it does not borrow the model. */
mllm_status mllm_grammar_new(const mllm_model *m, const char *text, int32_t len, mllm_grammar **out,
                             mllm_error *err);
void mllm_grammar_free(mllm_grammar *gr);

/* Constrain a generator (before its first step; the generator borrows gr, which must outlive
 * it, and resets it). Each step samples only tokens that keep the text a prefix of the
 * grammar's language (end-of-generation only where a value is complete), and the run always
 * ends on a complete value: once the tokens left (max_tokens, context) reach what the
 * shortest completion needs, that completion is forced. A value that can go no further ends
 * the run with MLLM_STOP_EOS. Stop strings and a grammar exclude each other (MLLM_ERR_ARG). */
mllm_status mllm_generator_set_grammar(mllm_generator *g, mllm_grammar *gr, mllm_error *err);

/* ------------------------------------------------------------------ quantizer (the converter's) */

/* n_rows rows of n_per_row floats at src quantized to ggml type `type` (Q4_0 2, Q4_1 3,
 * Q5_0 6, Q5_1 7, Q8_0 8, Q2_K..Q6_K 10..14, IQ4_NL 20, IQ4_XS 23) into dst, rows back to
 * back: the bytes llama.cpp's llama-quantize writes without an importance matrix.
 * dst_size must be at least n_rows * mllm_quantize_row_bytes(type, n_per_row); every value
 * must be finite (MLLM_ERR_ARG names the first that is not). */
mllm_status mllm_quantize_rows(int32_t type, const float *src, int32_t n_rows, int32_t n_per_row, uint8_t *dst,
                               size_t dst_size, mllm_error *err);
/* Bytes of one quantized row; 0 for a type mllm_quantize_rows does not write or a row that
 * is not whole blocks. */
int32_t mllm_quantize_row_bytes(int32_t type, int32_t n_per_row);

/* ------------------------------------------------------------------ misc */

/* Names of the engine's enumerations, for bindings (one source: a JS binding shows these).
 * Each returns "unknown" for a value outside its enumeration. */
const char *mllm_status_name(mllm_status s);  /* "ok", "argument", "nomem", ... */
const char *mllm_stop_name(int32_t stop);      /* mllm_stop_reason: "none", "eos", "stop", "length", "context_full" */
const char *mllm_share_mode_name(int32_t mode); /* mllm_model_info.share_mode: "immediate", "repeat_all", "reverse" */
const char *mllm_tokenizer_name(int32_t kind); /* mllm_model_info.tokenizer_kind: "llama", "gpt2" */
const char *mllm_dtype_name(int32_t type);     /* a ggml type id: "F32", "Q8_0", "Q4_K", ... */

/* One field of a public struct, as this build lays it out, so a binding reads and writes
 * every field by name at the offset the compiler gave it (wasm_build/abi.js). The entry whose
 * name is "" stands for the struct itself (size = its sizeof). kind: "i32", "u32", "f32",
 * "i64" (arrays of those have a size that is a multiple), "ptr", "bytes", or "struct". */
typedef struct mllm_abi_field {
    const char *strct; /* "mllm_model_info" */
    const char *name;  /* "n_vocab" */
    int32_t offset;
    int32_t size;
    const char *kind;
} mllm_abi_field;

/* The fields of every struct in this header; *count receives the number of entries. */
const mllm_abi_field *mllm_abi_layout(int32_t *count);

#ifdef __cplusplus
}
#endif
#endif
