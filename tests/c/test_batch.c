/* test_batch.c — mllm_eval_batch: several sequences in one forward pass give, bit for bit,
 * the logits each sequence gets evaluated alone (mllm_eval: a context, then a continuation
 * after it, as shared-prefix scoring runs them; test_forward ties that path to an
 * independent reference): a context and its continuations (a tree), several documents in
 * one batch, continuations over a context already in the cache; and bad batches are
 * refused with nothing changed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "forward.h"
#include "tiny_model.h"
#include "mobilellm.h"

#define V 64

typedef struct seqdoc {
    int32_t ctx[9];
    int n_ctx;
    int32_t cont[3][6];
    int n_cont[3];
} seqdoc;

static const seqdoc docs[2] = {
    {{1, 17, 5, 63, 42, 8, 8}, 7, {{30, 2, 11, 59}, {40, 41, 9, 30, 2}, {3, 3, 7}}, {4, 5, 3}},
    {{1, 9, 22, 35, 48, 61, 2, 14, 27}, 9, {{5, 6}, {33, 44, 55, 12, 13, 14}, {60}}, {2, 6, 1}},
};

static mllm_model *load(const tm_spec *s, uint32_t seed, uint8_t **bytes) {
    tm_weights *w = tm_weights_new(s, seed);
    size_t size;
    mllm_model *m = NULL;
    mllm_error err;
    *bytes = tm_build(s, w, &size);
    if (mllm_model_load(*bytes, size, NULL, &m, &err) != MLLM_OK) fprintf(stderr, "  load: %s\n", err.msg);
    tm_weights_free(w);
    return m;
}

static mllm_context *new_ctx(const mllm_model *m, int n_ctx, int n_batch) {
    mllm_context_params p;
    mllm_context *c = NULL;
    mllm_error err;
    mllm_context_params_init(&p);
    p.n_ctx = n_ctx;
    p.n_batch = n_batch;
    if (mllm_context_new(m, &p, &c, &err) != MLLM_OK) fprintf(stderr, "  context: %s\n", err.msg);
    return c;
}

/* What sequential shared-prefix scoring computes for document d: the context's last row,
 * then each continuation's rows evaluated after the context (all logits), into
 * out[(1 + sum of earlier n_cont + k) * V]. */
static int alone(const mllm_model *m, const seqdoc *d, float *out) {
    mllm_context *c = new_ctx(m, 48, 8);
    mllm_error err;
    int j, k, row = 1;
    if (!c) return -1;
    CHECK_EQ_INT(mllm_eval(c, d->ctx, d->n_ctx, 0, &err), MLLM_OK);
    memcpy(out, mllm_logits(c, -1), sizeof(float) * V);
    for (j = 0; j < 3; j++) {
        CHECK_EQ_INT(mllm_kv_rewind(c, d->n_ctx, &err), MLLM_OK);
        CHECK_EQ_INT(mllm_eval(c, d->cont[j], d->n_cont[j], 1, &err), MLLM_OK);
        for (k = 0; k < d->n_cont[j]; k++, row++) memcpy(out + (size_t)row * V, mllm_logits(c, k), sizeof(float) * V);
    }
    mllm_context_free(c);
    return row;
}

/* Append document d to batch b from token *n (slot base + *n): its context unless
 * `cached` (then slots 0..n_ctx-1 of the cache hold it), then its continuations, each seeing
 * the context and itself, at positions n_ctx... Every token after the context's last wants
 * logits, as does the context's last. */
static void add_doc(mllm_batch_token *b, int *n, int base, const seqdoc *d, int cached) {
    const int ctx0 = cached ? 0 : base + *n;
    int i, j;
    if (!cached)
        for (i = 0; i < d->n_ctx; i++, (*n)++) {
            mllm_batch_token t = {d->ctx[i], i, ctx0, ctx0, ctx0, i == d->n_ctx - 1};
            b[*n] = t;
        }
    for (j = 0; j < 3; j++) {
        const int seg = base + *n;
        for (i = 0; i < d->n_cont[j]; i++, (*n)++) {
            mllm_batch_token t = {d->cont[j][i], d->n_ctx + i, ctx0, ctx0 + d->n_ctx, seg, 1};
            b[*n] = t;
        }
    }
}

/* F32, Q8_0 and a layer-shared Q8_0 model. */
static mllm_model *model_of(int ty, uint8_t **bytes) {
    tm_spec s = tm_default();
    s.n_ff = 64;
    s.wtype = ty == 0 ? MLLM_DTYPE_F32 : MLLM_DTYPE_Q8_0;
    if (ty == 2) { s.repeat = 2; s.mode = "immediate"; }
    return load(&s, 41 + (uint32_t)ty, bytes);
}

static void test_contexts_and_continuations_in_one_batch_equal_each_alone(void) {
    int ty, d, bad = 0, rows = 0;
    for (ty = 0; ty < 3; ty++) {
        uint8_t *bytes;
        mllm_model *m = model_of(ty, &bytes);
        float ref[2][16 * V];
        int nref[2], n = 0, r, k;
        mllm_batch_token b[48];
        mllm_context *c;
        mllm_error err;
        if (!m) { CHECK(0); free(bytes); continue; }
        for (d = 0; d < 2; d++) nref[d] = alone(m, &docs[d], ref[d]);
        /* both documents, each a tree, in one batch; after a cache already holding 3 slots */
        c = new_ctx(m, 48, 48);
        CHECK_EQ_INT(mllm_eval(c, docs[1].ctx, 3, 0, &err), MLLM_OK);
        for (d = 0; d < 2; d++) add_doc(b, &n, 3, &docs[d], 0);
        CHECK_EQ_INT(n, 7 + 12 + 9 + 9);
        CHECK_EQ_INT(mllm_eval_batch(c, b, n, &err), MLLM_OK);
        CHECK_EQ_INT(mllm_n_past(c), 3 + n);
        for (d = 0, k = 0; d < 2; d++)
            for (r = 0; r < nref[d]; r++, k++, rows++)
                bad += !mllm_logits(c, k) || memcmp(mllm_logits(c, k), ref[d] + (size_t)r * V, sizeof(float) * V) != 0;
        CHECK(mllm_logits(c, k) == NULL);
        mllm_context_free(c);

        /* a context in the cache (mllm_eval), its continuations in one batch after it */
        for (d = 0; d < 2; d++) {
            c = new_ctx(m, 48, 16);
            n = 0;
            CHECK_EQ_INT(mllm_eval(c, docs[d].ctx, docs[d].n_ctx, 0, &err), MLLM_OK);
            add_doc(b, &n, docs[d].n_ctx, &docs[d], 1);
            CHECK_EQ_INT(mllm_eval_batch(c, b, n, &err), MLLM_OK);
            for (r = 1; r < nref[d]; r++, rows++)
                bad += !mllm_logits(c, r - 1) || memcmp(mllm_logits(c, r - 1), ref[d] + (size_t)r * V, sizeof(float) * V) != 0;
            mllm_context_free(c);
        }
        mllm_model_free(m);
        free(bytes);
    }
    CHECK_EQ_INT(rows, 3 * (13 + 10 + 12 + 9));
    CHECK_EQ_INT(bad, 0);
}

static void test_bad_batches_are_refused_and_change_nothing(void) {
    uint8_t *bytes;
    mllm_model *m = model_of(1, &bytes);
    mllm_context *c = m ? new_ctx(m, 24, 8) : NULL;
    mllm_batch_token b[8], ok = {5, 3, 0, 3, 3, 1};
    mllm_error err;
    int i;
    if (!c) { CHECK(0); mllm_model_free(m); free(bytes); return; }
    CHECK_EQ_INT(mllm_eval(c, docs[0].ctx, 3, 0, &err), MLLM_OK);
    for (i = 0; i < 8; i++) b[i] = ok;
    b[0].seg_from = 3;
    CHECK_EQ_INT(mllm_eval_batch(c, b, 9, &err), MLLM_ERR_ARG);     /* past n_batch */
    CHECK_EQ_INT(mllm_eval_batch(c, b, 0, &err), MLLM_ERR_ARG);
    CHECK_EQ_INT(mllm_eval_batch(c, NULL, 1, &err), MLLM_ERR_ARG);
    CHECK_EQ_INT(mllm_eval_batch(NULL, b, 1, &err), MLLM_ERR_ARG);
    b[1].token = V;
    CHECK_EQ_INT(mllm_eval_batch(c, b, 2, &err), MLLM_ERR_ARG);
    CHECK(strstr(err.msg, "batch token 1") != NULL);
    b[1] = ok;
    b[1].pos = 24;
    CHECK_EQ_INT(mllm_eval_batch(c, b, 2, &err), MLLM_ERR_ARG);
    b[1] = ok;
    b[1].seg_from = 5; /* its own slot is 4 */
    CHECK_EQ_INT(mllm_eval_batch(c, b, 2, &err), MLLM_ERR_ARG);
    CHECK(strstr(err.msg, "slot 4") != NULL);
    b[1] = ok;
    b[1].see_to = 4; /* past seg_from 3 */
    CHECK_EQ_INT(mllm_eval_batch(c, b, 2, &err), MLLM_ERR_ARG);
    b[1] = ok;
    b[1].see_from = -1;
    CHECK_EQ_INT(mllm_eval_batch(c, b, 2, &err), MLLM_ERR_ARG);
    b[1] = ok;
    b[1].logits = 2;
    CHECK_EQ_INT(mllm_eval_batch(c, b, 2, &err), MLLM_ERR_ARG);
    b[1] = ok;
    CHECK_EQ_INT(mllm_n_past(c), 3);
    CHECK(mllm_logits(c, -1) != NULL); /* the last eval's logits are still there */

    /* the batch lands; then mllm_eval waits for a rewind to the one sequence */
    CHECK_EQ_INT(mllm_eval_batch(c, b, 8, &err), MLLM_OK);
    CHECK_EQ_INT(mllm_n_past(c), 11);
    CHECK_EQ_INT(mllm_eval(c, docs[0].ctx, 1, 0, &err), MLLM_ERR_STATE);
    CHECK_EQ_INT(mllm_eval_batch(c, b, 8, &err), MLLM_OK); /* batches may follow batches */
    CHECK_EQ_INT(mllm_eval_batch(c, b, 6, &err), MLLM_ERR_CONTEXT_FULL);
    CHECK_EQ_INT(mllm_n_past(c), 19);
    CHECK_EQ_INT(mllm_kv_rewind(c, 4, &err), MLLM_OK);
    CHECK_EQ_INT(mllm_eval(c, docs[0].ctx, 1, 0, &err), MLLM_ERR_STATE);
    CHECK_EQ_INT(mllm_kv_rewind(c, 3, &err), MLLM_OK);
    CHECK_EQ_INT(mllm_eval(c, docs[0].ctx + 3, 1, 0, &err), MLLM_OK);
    mllm_context_free(c);
    mllm_model_free(m);
    free(bytes);
}

static void test_sliding_window_models_are_refused(void) {
    tm_spec s = tm_default();
    tm_weights *w = tm_weights_new(&s, 3);
    gguf_builder *gb = gb_new(32);
    mllm_model *m = NULL;
    mllm_context *c;
    mllm_batch_token b = {1, 0, 0, 0, 0, 1};
    mllm_error err;
    uint8_t *bytes;
    size_t size;
    tm_write(gb, &s, w);
    gb_kv_u32(gb, "llama." GGUF_ARCH_SLIDING_WINDOW, 16);
    bytes = gb_finish(gb, &size);
    CHECK_EQ_INT(mllm_model_load(bytes, size, NULL, &m, &err), MLLM_OK);
    c = m ? new_ctx(m, 64, 8) : NULL;
    if (c) {
        CHECK_EQ_INT(mllm_eval_batch(c, &b, 1, &err), MLLM_ERR_UNSUPPORTED);
        CHECK(strstr(err.msg, "sliding-window") != NULL);
        CHECK_EQ_INT(mllm_n_past(c), 0);
        mllm_context_free(c);
    }
    mllm_model_free(m);
    free(bytes);
    gb_free(gb);
    tm_weights_free(w);
}

int main(void) {
    RUN(test_contexts_and_continuations_in_one_batch_equal_each_alone);
    RUN(test_bad_batches_are_refused_and_change_nothing);
    RUN(test_sliding_window_models_are_refused);
    return check_summary("batch");
}
