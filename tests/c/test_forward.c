/* test_forward.c — the forward pass against an independent double-precision reference
 * (written here, no KV cache), incremental decode against one batched run, layer sharing
 * against the same weights unrolled, the context's eval/rewind/CONTEXT_FULL contract, and a
 * rewound context's logits against a fresh one's (multi-turn KV reuse). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "tiny_model.h"
#include "forward.h"
#include "model.h"
#include "mobilellm.h"

#define N_TOK 12
static const int32_t toks[N_TOK] = {1, 17, 5, 63, 42, 8, 8, 30, 2, 11, 59, 3};

/* ---------------------------------------------------------------- reference */

static void ref_matvec(double *y, const float *w, const double *x, int n_out, int n_in) {
    int r, i;
    for (r = 0; r < n_out; r++) {
        double s = 0;
        for (i = 0; i < n_in; i++) s += (double)w[(size_t)r * n_in + i] * x[i];
        y[r] = s;
    }
}

static void ref_rmsnorm(double *y, const double *x, const float *w, int n, double eps) {
    double ss = 0;
    int i;
    for (i = 0; i < n; i++) ss += x[i] * x[i];
    for (i = 0; i < n; i++) y[i] = x[i] / sqrt(ss / n + eps) * w[i];
}

/* GGUF llama RoPE: pairs (2i, 2i+1) of each head turn by pos * theta^(-2i/head_dim). */
static void ref_rope(double *v, int n_head, int hd, int pos, double base) {
    int h, i;
    for (h = 0; h < n_head; h++)
        for (i = 0; i < hd / 2; i++) {
            double a = pos * pow(base, -2.0 * i / hd), *p = v + h * hd + 2 * i, x0 = p[0], x1 = p[1];
            p[0] = x0 * cos(a) - x1 * sin(a);
            p[1] = x0 * sin(a) + x1 * cos(a);
        }
}

/* Logits of every position of toks[0..n-1], the whole sequence recomputed from scratch
 * layer by layer with a causal mask; effective layer l runs stored block
 * tm_schedule(l). out: n x n_vocab. */
static void ref_forward(const tm_spec *s, const tm_weights *w, const int32_t *tk, int n, double *out) {
    int d = s->n_embd, hd = d / s->n_head, nq = w->n_q, nkv = w->n_kv, ff = s->n_ff, V = s->n_vocab;
    int group = s->n_head / s->n_head_kv, L = s->n_blocks * (s->repeat ? s->repeat : 1), l, t, h, j, i;
    double *x = calloc((size_t)n * d, sizeof *x), *xn = calloc((size_t)d, sizeof *xn);
    double *q = calloc((size_t)n * nq, sizeof *q), *k = calloc((size_t)n * nkv, sizeof *k);
    double *v = calloc((size_t)n * nkv, sizeof *v), *att = calloc((size_t)nq, sizeof *att);
    double *tmp = calloc((size_t)(ff > d ? ff : d), sizeof *tmp), *g = calloc((size_t)ff, sizeof *g);
    double *u = calloc((size_t)ff, sizeof *u), *p = calloc((size_t)n, sizeof *p);
    const float *head = s->tied ? w->tok_embd : w->output;
    for (t = 0; t < n; t++)
        for (i = 0; i < d; i++) x[t * d + i] = w->tok_embd[(size_t)tk[t] * d + i];
    for (l = 0; l < L; l++) {
        const tm_block *b = &w->blk[tm_schedule(l, s->n_blocks, s->repeat ? s->repeat : 1, s->mode)];
        for (t = 0; t < n; t++) {
            ref_rmsnorm(xn, x + t * d, b->attn_norm, d, s->eps);
            ref_matvec(q + t * nq, b->wq, xn, nq, d);
            ref_matvec(k + t * nkv, b->wk, xn, nkv, d);
            ref_matvec(v + t * nkv, b->wv, xn, nkv, d);
            ref_rope(q + t * nq, s->n_head, hd, t, s->theta);
            ref_rope(k + t * nkv, s->n_head_kv, hd, t, s->theta);
        }
        for (t = n - 1; t >= 0; t--) { /* later rows first: x[t] is updated only after use */
            for (h = 0; h < s->n_head; h++) {
                const double *qh = q + t * nq + h * hd;
                int kvh = h / group;
                double mx = -1e300, sum = 0;
                for (j = 0; j <= t; j++) {
                    double dot = 0;
                    for (i = 0; i < hd; i++) dot += qh[i] * k[j * nkv + kvh * hd + i];
                    p[j] = dot / sqrt((double)hd);
                    if (p[j] > mx) mx = p[j];
                }
                for (j = 0; j <= t; j++) sum += p[j] = exp(p[j] - mx);
                for (i = 0; i < hd; i++) {
                    double a = 0;
                    for (j = 0; j <= t; j++) a += p[j] / sum * v[j * nkv + kvh * hd + i];
                    att[h * hd + i] = a;
                }
            }
            ref_matvec(tmp, b->wo, att, d, nq);
            for (i = 0; i < d; i++) x[t * d + i] += tmp[i];
        }
        for (t = 0; t < n; t++) {
            ref_rmsnorm(xn, x + t * d, b->ffn_norm, d, s->eps);
            ref_matvec(g, b->w_gate, xn, ff, d);
            ref_matvec(u, b->w_up, xn, ff, d);
            for (i = 0; i < ff; i++) g[i] = g[i] / (1.0 + exp(-g[i])) * u[i];
            ref_matvec(tmp, b->w_down, g, d, ff);
            for (i = 0; i < d; i++) x[t * d + i] += tmp[i];
        }
    }
    for (t = 0; t < n; t++) {
        ref_rmsnorm(xn, x + t * d, w->output_norm, d, s->eps);
        ref_matvec(out + (size_t)t * V, head, xn, V, d);
    }
    free(x); free(xn); free(q); free(k); free(v); free(att); free(tmp); free(g); free(u); free(p);
}

/* ---------------------------------------------------------------- engine helpers */

typedef struct built {
    uint8_t *bytes;
    size_t size;
    mllm_model *m;
} built;

static built build_model(const tm_spec *s, const tm_weights *w) {
    built b;
    mllm_error err;
    b.bytes = tm_build(s, w, &b.size);
    b.m = NULL;
    if (mllm_model_load(b.bytes, b.size, NULL, &b.m, &err) != MLLM_OK) fprintf(stderr, "  load: %s\n", err.msg);
    return b;
}

static void free_built(built *b) {
    mllm_model_free(b->m);
    free(b->bytes);
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

/* All-logits run of toks into out (n x V floats); 0 on success. */
static int run_all(const mllm_model *m, int n, float *out) {
    mllm_context *c = new_ctx(m, 32, 16);
    mllm_error err;
    int i, V = m->hp.n_vocab;
    if (!c) return -1;
    if (mllm_eval(c, toks, n, 1, &err) != MLLM_OK) { fprintf(stderr, "  eval: %s\n", err.msg); mllm_context_free(c); return -1; }
    for (i = 0; i < n; i++) memcpy(out + (size_t)i * V, mllm_logits(c, i), sizeof(float) * (size_t)V);
    mllm_context_free(c);
    return 0;
}

/* Largest |a - ref| over a row, divided by the row's logit range. */
static double rel_err_row(const float *a, const double *ref, int V) {
    double lo = ref[0], hi = ref[0], e = 0;
    int i;
    for (i = 0; i < V; i++) {
        if (ref[i] < lo) lo = ref[i];
        if (ref[i] > hi) hi = ref[i];
        if (fabs(a[i] - ref[i]) > e) e = fabs(a[i] - ref[i]);
    }
    return e / (hi - lo);
}

static double max_rel_err(const float *a, const double *ref, int n, int V) {
    double worst = 0;
    int t;
    for (t = 0; t < n; t++) {
        double e = rel_err_row(a + (size_t)t * V, ref + (size_t)t * V, V);
        if (!(e <= worst)) worst = e; /* NaN propagates as a failure */
    }
    return worst;
}

/* ---------------------------------------------------------------- tests */

/* (b) F32 engine vs the double reference: repeat 1 and 2, each mode, tied and untied. */
static void test_matches_double_reference_for_each_sharing_mode(void) {
    static const char *modes[3] = {"immediate", "repeat_all", "reverse"};
    int rep, mi, tied;
    for (rep = 1; rep <= 2; rep++)
        for (mi = 0; mi < 3; mi++)
            for (tied = 0; tied <= 1; tied++) {
                tm_spec s = tm_default();
                tm_weights *w;
                built b;
                float out[N_TOK * 64];
                double ref[N_TOK * 64], e;
                s.repeat = rep;
                s.mode = modes[mi];
                s.tied = tied;
                w = tm_weights_new(&s, 11 + (uint32_t)(rep * 10 + mi * 2 + tied));
                b = build_model(&s, w);
                CHECK(b.m != NULL);
                if (b.m && run_all(b.m, N_TOK, out) == 0) {
                    ref_forward(&s, w, toks, N_TOK, ref);
                    e = max_rel_err(out, ref, N_TOK, 64);
                    if (!(e <= 1e-5)) fprintf(stderr, "  repeat %d mode %s tied %d: rel err %g\n", rep, modes[mi], tied, e);
                    CHECK(e <= 1e-5);
                } else CHECK(0);
                free_built(&b);
                tm_weights_free(w);
            }
}

/* (a) prefill k tokens (chunked, last logits only), then one token at a time, against the
 * logits of one all-logits run. */
static void test_incremental_decode_equals_batched_run(void) {
    tm_spec s = tm_default();
    tm_weights *w;
    built b;
    float all[N_TOK * 64];
    mllm_context *c;
    mllm_error err;
    int k = 6, t, i;
    s.repeat = 2;
    s.mode = "reverse";
    s.tied = 0;
    w = tm_weights_new(&s, 5);
    b = build_model(&s, w);
    if (!b.m || run_all(b.m, N_TOK, all) != 0) { CHECK(0); free_built(&b); tm_weights_free(w); return; }
    c = new_ctx(b.m, 32, 4); /* k = 6 runs as chunks of 4 + 2 */
    CHECK_EQ_INT(mllm_eval(c, toks, k, 0, &err), MLLM_OK);
    CHECK_EQ_INT(mllm_n_past(c), k);
    CHECK(mllm_logits(c, 0) == NULL); /* only the last row was computed */
    for (t = k - 1; t < N_TOK; t++) {
        const float *lg = mllm_logits(c, -1);
        double scale = 0, e = 0;
        CHECK(lg != NULL);
        if (!lg) break;
        for (i = 0; i < 64; i++) {
            if (fabs(all[t * 64 + i]) > scale) scale = fabs(all[t * 64 + i]);
            if (fabs(lg[i] - all[t * 64 + i]) > e) e = fabs(lg[i] - all[t * 64 + i]);
        }
        CHECK(e <= 1e-5 * scale);
        if (t + 1 < N_TOK) CHECK_EQ_INT(mllm_eval(c, toks + t + 1, 1, 0, &err), MLLM_OK);
    }
    CHECK_EQ_INT(mllm_n_past(c), N_TOK);
    mllm_context_free(c);
    free_built(&b);
    tm_weights_free(w);
}

/* An eval that wants only its last row's logits skips most of the last layer for the other
 * rows (and all of it but k and v in chunks before the last): the logits of every prefix,
 * evaluated in one chunk or in chunks of 5 (4 + 1 for k = 5, 5 + 5 + 2 for k = 12), equal
 * the all-logits run's row bit for bit, with F32 and with Q8_0 weights. */
static void test_last_row_logits_equal_the_all_logits_row(void) {
    static const uint32_t types[2] = {MLLM_DTYPE_F32, MLLM_DTYPE_Q8_0};
    int ty, k, nb, bad = 0, runs = 0;
    for (ty = 0; ty < 2; ty++) {
        tm_spec s = tm_default();
        tm_weights *w;
        built b;
        float all[N_TOK * 64];
        s.repeat = 2;
        s.mode = "immediate";
        s.tied = 0;
        s.n_ff = 64;
        s.wtype = types[ty];
        w = tm_weights_new(&s, 9);
        b = build_model(&s, w);
        if (!b.m || run_all(b.m, N_TOK, all) != 0) { CHECK(0); free_built(&b); tm_weights_free(w); continue; }
        for (k = 1; k <= N_TOK; k++)
            for (nb = 0; nb < 2; nb++) {
                mllm_context *c = new_ctx(b.m, 32, nb ? 5 : 16);
                mllm_error err;
                const float *lg;
                if (!c) { CHECK(0); continue; }
                CHECK_EQ_INT(mllm_eval(c, toks, k, 0, &err), MLLM_OK);
                lg = mllm_logits(c, -1);
                bad += !lg || memcmp(lg, all + (size_t)(k - 1) * 64, sizeof(float) * 64) != 0;
                runs++;
                mllm_context_free(c);
            }
        free_built(&b);
        tm_weights_free(w);
    }
    CHECK_EQ_INT(runs, 2 * N_TOK * 2);
    CHECK_EQ_INT(bad, 0);
}

/* (c) + (d) a shared model equals the same weights written unrolled, bit for bit, and its
 * effective layers use the stored tensors in place. */
static void test_shared_model_equals_unrolled_and_shares_tensors(void) {
    static const char *modes[3] = {"immediate", "repeat_all", "reverse"};
    int mi, rep;
    for (rep = 2; rep <= 3; rep++)
        for (mi = 0; mi < 3; mi++) {
            tm_spec s = tm_default(), su;
            tm_weights *w;
            built bs, bu;
            float a[N_TOK * 64], u[N_TOK * 64];
            int l, j;
            s.repeat = rep;
            s.mode = modes[mi];
            su = s;
            su.unroll = 1;
            w = tm_weights_new(&s, 21 + (uint32_t)mi);
            bs = build_model(&s, w);
            bu = build_model(&su, w);
            CHECK(bs.m && bu.m);
            if (bs.m && bu.m) {
                CHECK_EQ_INT(bs.m->hp.n_layer_stored, 3);
                CHECK_EQ_INT(bu.m->hp.n_layer_stored, 3 * rep);
                CHECK_EQ_INT(bs.m->hp.n_layer_eff, bu.m->hp.n_layer_eff);
                CHECK(bu.size > bs.size);
                CHECK(run_all(bs.m, N_TOK, a) == 0 && run_all(bu.m, N_TOK, u) == 0);
                CHECK(memcmp(a, u, sizeof a) == 0);
                /* every effective layer's weights are the stored tensor's bytes in the file */
                for (l = 0; l < bs.m->hp.n_layer_eff; l++) {
                    const mllm_block *blk = &bs.m->blocks[bs.m->layer_block[l]];
                    char name[64];
                    snprintf(name, sizeof name, "blk.%d.ffn_up.weight", tm_schedule(l, 3, rep, s.mode));
                    CHECK(blk->w_up == gguf_find_tensor(&bs.m->gguf, name));
                    CHECK(blk->w_up->data >= bs.bytes && blk->w_up->data + blk->w_up->nbytes <= bs.bytes + bs.size);
                    for (j = 0; j < l; j++)
                        if (bs.m->layer_block[j] == bs.m->layer_block[l])
                            CHECK(bs.m->blocks[bs.m->layer_block[j]].wq->data == blk->wq->data);
                }
            }
            free_built(&bs);
            free_built(&bu);
            tm_weights_free(w);
        }
}

/* (e) CONTEXT_FULL changes nothing; rewind forgets positions; argument errors. */
static void test_context_full_and_rewind(void) {
    tm_spec s = tm_default();
    tm_weights *w = tm_weights_new(&s, 9);
    built b = build_model(&s, w);
    mllm_context *c;
    mllm_error err;
    float before[64], all[N_TOK * 64];
    const float *lg;
    int32_t bad[2] = {3, 64};
    int i;
    if (!b.m) { CHECK(0); tm_weights_free(w); return; }
    CHECK(run_all(b.m, 8, all) == 0);
    c = new_ctx(b.m, 8, 4);
    CHECK_EQ_INT(mllm_n_ctx(c), 8);
    CHECK(mllm_logits(c, -1) == NULL); /* nothing evaluated yet */
    CHECK_EQ_INT(mllm_eval(c, toks, 6, 0, &err), MLLM_OK);
    memcpy(before, mllm_logits(c, -1), sizeof before);

    CHECK_EQ_INT(mllm_eval(c, toks + 6, 3, 0, &err), MLLM_ERR_CONTEXT_FULL);
    CHECK_CONTAINS(err.msg, "exceed the context length 8");
    CHECK_EQ_INT(mllm_n_past(c), 6);
    lg = mllm_logits(c, -1);
    CHECK(lg && memcmp(lg, before, sizeof before) == 0);

    CHECK_EQ_INT(mllm_eval(c, bad, 2, 0, &err), MLLM_ERR_ARG); /* id 64 is outside 0..63 */
    CHECK_CONTAINS(err.msg, "token 64 at index 1");
    CHECK_EQ_INT(mllm_n_past(c), 6);
    CHECK_EQ_INT(mllm_eval(c, toks, 0, 0, &err), MLLM_ERR_ARG);
    CHECK_EQ_INT(mllm_eval(c, toks + 6, 2, 1, &err), MLLM_OK); /* exactly fills the context */
    CHECK_EQ_INT(mllm_n_past(c), 8);
    CHECK_EQ_INT(mllm_eval(c, toks, 1, 0, &err), MLLM_ERR_CONTEXT_FULL);

    CHECK_EQ_INT(mllm_kv_rewind(c, 9, &err), MLLM_ERR_ARG);
    CHECK_EQ_INT(mllm_kv_rewind(c, -1, &err), MLLM_ERR_ARG);
    CHECK_EQ_INT(mllm_kv_rewind(c, 5, &err), MLLM_OK);
    CHECK_EQ_INT(mllm_n_past(c), 5);
    CHECK(mllm_logits(c, -1) == NULL); /* logits are invalid after forgetting */
    /* re-evaluating positions 5..7 after a rewind gives what one clean run gives */
    CHECK_EQ_INT(mllm_eval(c, toks + 5, 3, 1, &err), MLLM_OK);
    for (i = 0; i < 3; i++) {
        int j;
        lg = mllm_logits(c, i);
        CHECK(lg != NULL);
        for (j = 0; lg && j < 64; j++) CHECK_NEAR(lg[j], all[(5 + i) * 64 + j], 1e-5 * (1 + fabs(all[(5 + i) * 64 + j])));
    }
    CHECK(mllm_logits(c, 3) == NULL);
    CHECK(mllm_logits(c, -2) == NULL);

    /* all-logits needs n <= n_batch */
    CHECK_EQ_INT(mllm_kv_rewind(c, 0, &err), MLLM_OK);
    CHECK_EQ_INT(mllm_eval(c, toks, 5, 1, &err), MLLM_ERR_ARG);
    CHECK_EQ_INT(mllm_n_past(c), 0);
    mllm_context_free(c);
    free_built(&b);
    tm_weights_free(w);
}

/* Multi-turn KV reuse (worker/prompt_cache.js): a context that held one sequence (prompt, then
 * tokens fed one at a time as a generator does), rewound to the prefix it shares with a second
 * sequence, then given the second one's remaining tokens, yields the logits a fresh context
 * computes for the whole second sequence — bit for bit, with F32, Q8_0 and a layer-shared
 * model, for every rewind point, whether the suffix runs as one eval or one token at a time,
 * and with stale rows (past the rewind point) still in the cache. */
static void test_rewind_then_eval_equals_fresh_eval_bit_for_bit(void) {
    static const uint32_t types[3] = {MLLM_DTYPE_F32, MLLM_DTYPE_Q8_0, MLLM_DTYPE_Q8_0};
    static const int32_t held[10] = {1, 17, 5, 63, 42, 8, 8, 30, 2, 11}; /* turn 1: 6 prompt + 4 generated */
    static const int32_t next[N_TOK] = {1, 17, 5, 63, 40, 41, 9, 30, 2, 11, 59, 3}; /* diverges at 4 */
    int ty, keep, split, bad = 0, runs = 0;
    for (ty = 0; ty < 3; ty++) {
        tm_spec s = tm_default();
        tm_weights *w;
        built b;
        float fresh[N_TOK * 64];
        mllm_context *f;
        mllm_error err;
        s.n_ff = 64;
        s.wtype = types[ty];
        if (ty == 2) { s.repeat = 2; s.mode = "immediate"; }
        w = tm_weights_new(&s, 31 + (uint32_t)ty);
        b = build_model(&s, w);
        if (!b.m) { CHECK(0); tm_weights_free(w); continue; }
        /* fresh: each prefix of `next` evaluated alone in a new context (last-row logits) */
        for (keep = 1; keep <= N_TOK; keep++) {
            f = new_ctx(b.m, 32, 8);
            CHECK(f && mllm_eval(f, next, keep, 0, &err) == MLLM_OK);
            if (f && mllm_logits(f, -1)) memcpy(fresh + (size_t)(keep - 1) * 64, mllm_logits(f, -1), sizeof(float) * 64);
            mllm_context_free(f);
        }
        for (keep = 0; keep <= 4; keep++)         /* 4: the common prefix; fewer: a deeper rewind */
            for (split = 0; split < 2; split++) { /* the suffix as one eval, or token by token */
                mllm_context *c = new_ctx(b.m, 32, 8);
                int i, t;
                if (!c) { CHECK(0); continue; }
                CHECK_EQ_INT(mllm_eval(c, held, 6, 0, &err), MLLM_OK);
                for (i = 6; i < 10; i++) CHECK_EQ_INT(mllm_eval(c, held + i, 1, 0, &err), MLLM_OK);
                CHECK_EQ_INT(mllm_kv_rewind(c, keep, &err), MLLM_OK);
                if (!split) {
                    CHECK_EQ_INT(mllm_eval(c, next + keep, N_TOK - keep, 0, &err), MLLM_OK);
                    bad += !mllm_logits(c, -1) || memcmp(mllm_logits(c, -1), fresh + (N_TOK - 1) * 64, sizeof(float) * 64) != 0;
                    runs++;
                } else
                    for (t = keep; t < N_TOK; t++) {
                        CHECK_EQ_INT(mllm_eval(c, next + t, 1, 0, &err), MLLM_OK);
                        bad += !mllm_logits(c, -1) || memcmp(mllm_logits(c, -1), fresh + (size_t)t * 64, sizeof(float) * 64) != 0;
                        runs++;
                    }
                CHECK_EQ_INT(mllm_n_past(c), N_TOK);
                mllm_context_free(c);
            }
        free_built(&b);
        tm_weights_free(w);
    }
    CHECK_EQ_INT(runs, 3 * (5 + (12 + 11 + 10 + 9 + 8)));
    CHECK_EQ_INT(bad, 0);
}

static void test_context_params(void) {
    tm_spec s = tm_default();
    tm_weights *w = tm_weights_new(&s, 2);
    built b = build_model(&s, w);
    mllm_context *c = NULL;
    mllm_context_params p;
    mllm_error err;
    if (!b.m) { CHECK(0); tm_weights_free(w); return; }
    CHECK_EQ_INT(mllm_context_new(b.m, NULL, &c, &err), MLLM_OK); /* defaults */
    CHECK_EQ_INT(mllm_n_ctx(c), 64);                                /* the training context */
    CHECK_EQ_INT(c->n_batch, 64);                                  /* 256 clamped to n_ctx */
    CHECK(mllm_context_model(c) == b.m);
    mllm_context_free(c);
    mllm_context_params_init(&p);
    p.n_ctx = 10;
    p.n_batch = 3;
    CHECK_EQ_INT(mllm_context_new(b.m, &p, &c, &err), MLLM_OK);
    CHECK_EQ_INT(c->n_batch, 3);
    CHECK(c->act[MLLM_ACT_Q8_0] == NULL && c->act[MLLM_ACT_Q8_1] == NULL && c->act[MLLM_ACT_Q8_K] == NULL);
    /* (no quantized matrix, no quantized-activation buffer) */
    mllm_context_free(c);
    p.n_ctx = -1;
    CHECK_EQ_INT(mllm_context_new(b.m, &p, &c, &err), MLLM_ERR_ARG);
    CHECK(c == NULL);
    CHECK_EQ_INT(mllm_eval(NULL, toks, 1, 0, &err), MLLM_ERR_ARG);
    free_built(&b);
    tm_weights_free(w);
}

/* (f) lower-precision weights: the engine computes exactly the model the file holds (the
 * reference runs on the dequantized weights), and stays close to the F32 model. */
static void check_typed(uint32_t wtype, uint32_t norm_type, uint32_t embd_type, int n_ff, double tol_exact,
                        double tol_f32) {
    tm_spec s = tm_default(), s32;
    tm_weights *w, *wr;
    built b, b32;
    float out[N_TOK * 64], out32[N_TOK * 64];
    double ref[N_TOK * 64], ref32[N_TOK * 64], e_exact, e_f32;
    s.repeat = 2;
    s.mode = "immediate";
    s.tied = 0;
    s.n_ff = n_ff;
    s32 = s;
    s.wtype = wtype;
    s.norm_type = norm_type;
    s.embd_type = embd_type;
    w = tm_weights_new(&s, 33);
    wr = tm_weights_new(&s, 33);
    tm_round_to_types(&s, wr);
    b = build_model(&s, w);
    b32 = build_model(&s32, w);
    CHECK(b.m && b32.m);
    if (b.m && b32.m && run_all(b.m, N_TOK, out) == 0 && run_all(b32.m, N_TOK, out32) == 0) {
        ref_forward(&s, wr, toks, N_TOK, ref);
        ref_forward(&s32, w, toks, N_TOK, ref32);
        e_exact = max_rel_err(out, ref, N_TOK, 64);
        e_f32 = max_rel_err(out, ref32, N_TOK, 64);
        fprintf(stderr, "  type %s/%s/%s ff %d: vs its own weights %.3g, vs f32 %.3g\n", dtype_name(wtype),
                dtype_name(norm_type), dtype_name(embd_type), n_ff, e_exact, e_f32);
        CHECK(e_exact <= tol_exact);
        CHECK(e_f32 <= tol_f32);
        CHECK(e_f32 > 0); /* the types really differ */
    } else CHECK(0);
    free_built(&b);
    free_built(&b32);
    tm_weights_free(w);
    tm_weights_free(wr);
}

static void test_f16_and_bf16_weights_compute_their_model(void) {
    check_typed(MLLM_DTYPE_F16, MLLM_DTYPE_F16, MLLM_DTYPE_F16, 48, 1e-5, 1e-2);
    check_typed(MLLM_DTYPE_BF16, MLLM_DTYPE_BF16, MLLM_DTYPE_BF16, 48, 1e-5, 5e-2);
}

static void test_q8_0_weights_stay_close(void) {
    /* ffn 48 keeps ffn_down in F16 (rows not whole blocks): mixed types; ffn 64 is all Q8_0.
     * The only differences from the dequantized-weight reference come from quantizing the
     * activations to 8 bits (W8A8). */
    check_typed(MLLM_DTYPE_Q8_0, MLLM_DTYPE_F32, MLLM_DTYPE_Q8_0, 48, 3e-2, 5e-2);
    check_typed(MLLM_DTYPE_Q8_0, MLLM_DTYPE_F32, MLLM_DTYPE_F32, 64, 3e-2, 5e-2);
}

int main(void) {
    RUN(test_matches_double_reference_for_each_sharing_mode);
    RUN(test_incremental_decode_equals_batched_run);
    RUN(test_last_row_logits_equal_the_all_logits_row);
    RUN(test_shared_model_equals_unrolled_and_shares_tensors);
    RUN(test_context_full_and_rewind);
    RUN(test_rewind_then_eval_equals_fresh_eval_bit_for_bit);
    RUN(test_context_params);
    RUN(test_f16_and_bf16_weights_compute_their_model);
    RUN(test_q8_0_weights_stay_close);
    return check_summary("forward");
}
