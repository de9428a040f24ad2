/* batch.c — mllm_eval_batch: several sequences in one forward pass (mobilellm.h). Checks
 * every token of the batch before anything changes, sizes the scratch the batch needs, and
 * runs forward_chunk with the batch's positions and visibility (batch_pass.h). */
#include <stdint.h>
#include <stdlib.h>

#include "batch_pass.h"
#include "error.h"
#include "forward.h"
#include "threads.h"

/* Grow c->gather to `rows` visible slots per thread, and make c->pieces. */
static mllm_status batch_scratch(mllm_context *c, int32_t rows, mllm_error *err) {
    if (!c->pieces) {
        c->pieces = (int32_t *)malloc(sizeof(int32_t) * ((size_t)c->n_batch + 1));
        if (!c->pieces) return mllm_fail(err, MLLM_ERR_NOMEM, "out of memory for a batch of %d tokens", (int)c->n_batch);
    }
    if (rows > c->gather_rows) {
        /* in 64 bits: it can pass a 32-bit size_t (wasm) */
        uint64_t bytes = sizeof(float) * 2 * (uint64_t)mllm_pool_size(c->pool) * (uint64_t)rows *
                         (uint64_t)c->m->hp.head_dim;
        float *grown = bytes <= (uint64_t)SIZE_MAX ? (float *)realloc(c->gather, (size_t)bytes) : NULL;
        if (!grown)
            return mllm_fail(err, MLLM_ERR_NOMEM, "out of memory for gathering the %d keys a batch token sees",
                             (int)rows);
        c->gather = grown;
        c->gather_rows = rows;
    }
    return MLLM_OK;
}

mllm_status mllm_eval_batch(mllm_context *c, const mllm_batch_token *b, int32_t n, mllm_error *err) {
    const mllm_hparams *hp;
    int32_t i, marked = 0, gather = 0;
    mllm_status st;

    mllm_error_clear(err);
    if (!c) return mllm_fail(err, MLLM_ERR_ARG, "mllm_eval_batch was given no context (context is NULL)");
    if (!b || n <= 0) return mllm_fail(err, MLLM_ERR_ARG, "mllm_eval_batch needs at least one token (got %d)", (int)n);
    hp = &c->m->hp;
    if (n > c->n_batch)
        return mllm_fail(err, MLLM_ERR_ARG, "a batch of %d tokens exceeds the batch size %d", (int)n, (int)c->n_batch);
    if (n > c->n_ctx - c->n_past)
        return mllm_fail(err, MLLM_ERR_CONTEXT_FULL, "a batch of %d tokens after %d would exceed the context length %d",
                         (int)n, (int)c->n_past, (int)c->n_ctx);
    for (i = 0; i < hp->n_layer_eff; i++)
        if (hp->n_swa > 0 && c->m->blocks[c->m->layer_block[i]].swa)
            return mllm_fail(err, MLLM_ERR_UNSUPPORTED,
                             "a batch of several sequences cannot run the sliding-window layers of this model (layer %d): evaluate each sequence with mllm_eval",
                             (int)i);
    for (i = 0; i < n; i++) {
        const mllm_batch_token *t = &b[i];
        const int32_t slot = c->n_past + i;
        if (t->token < 0 || t->token >= hp->n_vocab)
            return mllm_fail(err, MLLM_ERR_ARG, "batch token %d: id %d is outside the vocabulary 0..%d", (int)i,
                             (int)t->token, (int)hp->n_vocab - 1);
        if (t->pos < 0 || t->pos >= c->n_ctx)
            return mllm_fail(err, MLLM_ERR_ARG, "batch token %d: position %d is outside 0..%d", (int)i, (int)t->pos,
                             (int)c->n_ctx - 1);
        if (t->see_from < 0 || t->see_from > t->see_to || t->see_to > t->seg_from || t->seg_from > slot)
            return mllm_fail(err, MLLM_ERR_ARG,
                             "batch token %d in slot %d sees slots %d..%d and %d..itself: they must satisfy 0 <= see_from <= see_to <= seg_from <= its slot",
                             (int)i, (int)slot, (int)t->see_from, (int)t->see_to - 1, (int)t->seg_from);
        if (t->logits != 0 && t->logits != 1)
            return mllm_fail(err, MLLM_ERR_ARG, "batch token %d: logits must be 0 or 1 (got %d)", (int)i, (int)t->logits);
        marked += t->logits;
        if (t->see_to > t->see_from && t->see_to != t->seg_from && t->see_to - t->see_from + slot - t->seg_from + 1 > gather)
            gather = t->see_to - t->see_from + slot - t->seg_from + 1;
    }
    if ((st = forward_logit_rows(c, marked, err)) != MLLM_OK) return st;
    if ((st = batch_scratch(c, gather, err)) != MLLM_OK) return st;

    c->n_pieces = batch_pieces(b, n, c->pieces);
    c->logits_valid = 0;
    forward_chunk(c, NULL, n, c->n_past, 0, b);
    c->n_past += n;
    c->logits_n = marked;
    c->logits_all = 1;
    c->logits_valid = 1;
    return MLLM_OK;
}
