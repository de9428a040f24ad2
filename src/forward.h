/* forward.h — an evaluation context: the KV cache (one slot per effective layer), every
 * scratch buffer the forward pass needs (allocated once, sized for n_batch tokens), and the
 * logits of the last evaluation. The public functions (mllm_context_new, mllm_eval, ...) are
 * declared in mobilellm.h; this header shows the struct to the engine's other modules. */
#ifndef MLLM_FORWARD_H
#define MLLM_FORWARD_H

#include <stdint.h>

#include "dtype.h"
#include "mobilellm.h"
#include "model.h"
#include "threads.h"

struct mllm_context {
    const mllm_model *m;
    int32_t n_ctx;
    int32_t n_batch;
    int32_t n_past;
    int32_t n_seq;         /* slots 0..n_seq-1 hold one sequence at positions 0..; mllm_eval appends only
                              there, and past it lie the slots of a batch (mllm_eval_batch) */
    int32_t kv_dim;        /* n_head_kv * head_dim */
    int32_t q_dim;         /* n_head * head_dim */

    /* KV cache, F32: layer l's keys are k_cache[kv_off[l] ..], head-major
     * ([n_head_kv][kv_rows[l]][head_dim]): attention reads each head's keys as one sequential
     * stream (position-major rows interleave the heads, and each head's pass skipped the
     * others' lines); likewise v_cache. */
    float *k_cache;
    float *v_cache;
    /* Per effective layer: where its slot starts (floats into k_cache / v_cache), its rows per
     * kv head, and its ring period. A windowed layer (sliding-window attention) whose window
     * plus a batch is well under n_ctx keeps a ring of R = n_swa + n_batch - 1 positions,
     * position p in rows p % R and p % R + R, so every window is one contiguous run of rows
     * (kern_attention reads keys in one run) and memory follows the window, not the context.
     * Other layers: R = 0, position p in row p of n_ctx rows. */
    size_t *kv_off;
    int32_t *kv_rows;
    int32_t *kv_ring;
    int32_t min_ring;      /* the smallest kv_ring (0: none): mllm_kv_rewind keeps what it still holds */

    /* Scratch for one chunk of up to n_batch tokens, token-major rows. */
    float *x;              /* [n_batch][n_embd] residual stream */
    float *xn;             /* [n_batch][n_embd] normed input, projection output */
    float *q;              /* [n_batch][q_dim] */
    float *k_new, *v_new;  /* [n_batch][kv_dim] the chunk's keys and values, on their way to the cache */
    float *att;            /* [n_batch][q_dim] attention output */
    float *gate;           /* [n_batch][n_ff] */
    float *up;             /* [n_batch][n_ff] */
    float *scores;         /* [threads][n_head/n_head_kv][n_ctx] one GQA group's attention weights, per thread */
    mllm_pool *pool;       /* the helper threads (n_threads - 1 of them); NULL: single-threaded */
    uint32_t relaxed;      /* kern_hints.relaxed for every matmul (mllm_context_params.relaxed_simd) */
    float *rope;           /* [2][n_batch][n_rot] cos/sin per position: rope_theta's, then (where
                              it differs) the windowed blocks' rope_theta_swa's */
    uint8_t *act[MLLM_ACT_Q8_K + 1]; /* by activation format (dtype.h mllm_act): [n_batch] rows of
                              max(n_embd, q_dim, n_ff) quantized activations (kern_quantize_act);
                              NULL for the float formats and any format no matrix's dot takes */

    /* mllm_eval_batch's scratch (batch.c), grown there on first use, freed with the context */
    float *gather;         /* [threads][2][gather_rows][head_dim] one KV group's visible keys, then values */
    int32_t gather_rows;
    int32_t *pieces;       /* [n_batch + 1] the batch's pieces (batch_attention.h): first tokens, then n */
    int32_t n_pieces;

    float *logits;         /* [logits_rows][n_vocab] */
    int32_t logits_rows;   /* 1 until the first all-logits eval of several tokens grows it to
                              n_batch: most contexts never need n_batch rows of n_vocab floats */
    int32_t logits_n;      /* tokens in the last eval */
    int32_t logits_all;    /* 1: row i holds token i; 0: row 0 holds the last token */
    int32_t logits_valid;
};

/* Run n tokens through every layer (forward.c). batch NULL: tokens at positions and slots
 * pos0.., one sequence, logits for rows first_logit.. (n: none). batch (mllm_eval_batch,
 * tokens NULL, first_logit 0): its tokens, positions and visibility, in slots pos0..; logits
 * for the tokens it marks. Either way the logits go to c->logits from row 0. */
void forward_chunk(mllm_context *c, const int32_t *tokens, int32_t n, int32_t pos0, int32_t first_logit,
                   const mllm_batch_token *batch);

/* Make c->logits hold n rows (n <= n_batch); MLLM_ERR_NOMEM leaves the context as it was. */
mllm_status forward_logit_rows(mllm_context *c, int32_t n, mllm_error *err);

/* The model a context evaluates (the generator needs its tokenizer; also declared in
 * sampler.h). */
const mllm_model *mllm_context_model(const mllm_context *c);

#endif
