/* test_sampler.c — the token sampler against an independent, sort-everything reference.
 *
 * The reference (ref_dist) applies the documented pipeline the slow, obvious way in double:
 * penalty -> temperature -> full sort -> top-k -> softmax -> top-p -> min-p -> renormalize.
 * Cut thresholds are placed half-way between the reference's own cumulative sums, so float
 * rounding inside the sampler cannot move a boundary. */
#include "check.h"
#include "mobilellm.h"
#include "sampler.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* -------------------------------------------------------------- helpers */

static uint32_t lcg(uint32_t *s) {
    *s = *s * 1664525u + 1013904223u;
    return *s;
}

/* uniform in [lo, hi), reproducible test data */
static void fill_logits(float *x, int n, uint32_t seed, float lo, float hi) {
    int i;
    for (i = 0; i < n; i++) x[i] = lo + (hi - lo) * (float)(lcg(&seed) >> 8) / 16777216.0f;
}

static mllm_sampler_params plain(float temp) {
    mllm_sampler_params p;
    mllm_sampler_params_init(&p);
    p.temperature = temp;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    p.repeat_penalty = 1.0f;
    p.repeat_last_n = 64;
    p.seed = 1234;
    return p;
}

static mllm_sampler *make(int n_vocab, const mllm_sampler_params *p) {
    mllm_sampler *s = NULL;
    mllm_error err;
    mllm_status st = mllm_sampler_new(n_vocab, p, &s, &err);
    CHECK_EQ_INT(st, MLLM_OK);
    if (st != MLLM_OK) fprintf(stderr, "  sampler_new: %s\n", err.msg);
    return s;
}

static const double *g_sort_key; /* qsort has no context argument; test-only */
static int cmp_rank(const void *a, const void *b) {
    int ia = *(const int *)a, ib = *(const int *)b;
    if (g_sort_key[ia] > g_sort_key[ib]) return -1;
    if (g_sort_key[ia] < g_sort_key[ib]) return 1;
    return ia - ib;
}

/* Reference final distribution: out[i] = probability of token i (0 when excluded).
 * hist: accepted tokens, oldest first. */
static void ref_dist(const float *logits, int n, const int *hist, int nh, const mllm_sampler_params *p,
                     double *out) {
    double *l = (double *)malloc((size_t)n * sizeof *l);
    int *ord = (int *)malloc((size_t)n * sizeof *ord);
    char *done = (char *)calloc((size_t)n, 1);
    int i, m, start = nh > p->repeat_last_n ? nh - p->repeat_last_n : 0;
    double z = 0, cum, pmax;
    for (i = 0; i < n; i++) l[i] = logits[i];
    if (p->repeat_penalty != 1.0f) {
        for (i = start; i < nh; i++) {
            int t = hist[i];
            if (done[t]) continue;
            done[t] = 1;
            /* float ops, as a float logit is what the engine penalizes */
            l[t] = logits[t] > 0 ? (double)(logits[t] / p->repeat_penalty) : (double)(logits[t] * p->repeat_penalty);
        }
    }
    for (i = 0; i < n; i++) {
        out[i] = 0;
        ord[i] = i;
    }
    if (!(p->temperature > 0)) {
        int best = 0;
        for (i = 1; i < n; i++)
            if (l[i] > l[best]) best = i;
        out[best] = 1;
        goto done;
    }
    for (i = 0; i < n; i++) l[i] /= p->temperature;
    g_sort_key = l;
    qsort(ord, (size_t)n, sizeof *ord, cmp_rank);
    m = (p->top_k > 0 && p->top_k < n) ? p->top_k : n;
    for (i = 0; i < m; i++) z += exp(l[ord[i]] - l[ord[0]]);
    if (p->top_p < 1.0f) {
        cum = 0;
        for (i = 0; i < m; i++) {
            cum += exp(l[ord[i]] - l[ord[0]]) / z;
            if (cum >= p->top_p) break;
        }
        if (i < m) m = i + 1;
    }
    pmax = 1.0; /* unnormalized weight of the best */
    z = 0;
    for (i = 0; i < m; i++) {
        double w = exp(l[ord[i]] - l[ord[0]]);
        if (p->min_p > 0 && w < p->min_p * pmax) continue;
        out[ord[i]] = w;
        z += w;
    }
    for (i = 0; i < n; i++) out[i] /= z;
done:
    free(l);
    free(ord);
    free(done);
}

/* candidates() must give exactly the reference's support with its probabilities. */
static void check_candidates_match(mllm_sampler *s, const float *logits, int n, const double *ref,
                                   double ptol) {
    const int32_t *ids;
    const float *pr;
    int32_t m = mllm_sampler_candidates(s, logits, &ids, &pr);
    int i, support = 0;
    char *seen = (char *)calloc((size_t)n, 1);
    for (i = 0; i < n; i++) support += ref[i] > 0;
    CHECK_EQ_INT(m, support);
    for (i = 0; i < m; i++) {
        CHECK(ids[i] >= 0 && ids[i] < n);
        if (ids[i] < 0 || ids[i] >= n) break;
        CHECK(!seen[ids[i]]);
        seen[ids[i]] = 1;
        CHECK(ref[ids[i]] > 0);
        CHECK_NEAR(pr[i], ref[ids[i]], ptol);
    }
    free(seen);
}

/* Draw `draws` tokens; every one must be in the reference's support, and the empirical
 * frequencies must match it within `tol` (absolute). */
static void check_draws_match(mllm_sampler *s, const float *logits, int n, const double *ref, int draws,
                              double tol) {
    int *count = (int *)calloc((size_t)n, sizeof *count);
    int i, outside = 0;
    for (i = 0; i < draws; i++) {
        int32_t t = mllm_sampler_sample(s, logits);
        if (t < 0 || t >= n || ref[t] <= 0) outside++;
        else count[t]++;
    }
    CHECK_EQ_INT(outside, 0);
    for (i = 0; i < n; i++) CHECK_NEAR((double)count[i] / draws, ref[i], tol);
    free(count);
}

/* -------------------------------------------------------------- tests */

static void test_params_defaults(void) {
    mllm_sampler_params p;
    memset(&p, 0x5a, sizeof p);
    mllm_sampler_params_init(&p);
    CHECK_NEAR(p.temperature, 0.8, 1e-7);
    CHECK_EQ_INT(p.top_k, 40);
    CHECK_NEAR(p.top_p, 0.95, 1e-7);
    CHECK_NEAR(p.min_p, 0.05, 1e-7);
    CHECK_NEAR(p.repeat_penalty, 1.1, 1e-7);
    CHECK_EQ_INT(p.repeat_last_n, 64);
    CHECK_EQ_INT(p.seed, 0);
    CHECK_EQ_INT(p.reserved, 0);
}

static void test_new_rejects_bad_params(void) {
    mllm_sampler *s = (mllm_sampler *)1;
    mllm_sampler_params p = plain(1.0f);
    mllm_error err;
    CHECK_EQ_INT(mllm_sampler_new(0, &p, &s, &err), MLLM_ERR_ARG);
    CHECK(s == NULL);
    CHECK_CONTAINS(err.msg, "vocabulary size 0");
    p.repeat_penalty = 0.0f;
    CHECK_EQ_INT(mllm_sampler_new(10, &p, &s, &err), MLLM_ERR_ARG);
    CHECK_CONTAINS(err.msg, "repeat_penalty");
    p = plain(NAN);
    CHECK_EQ_INT(mllm_sampler_new(10, &p, &s, &err), MLLM_ERR_ARG);
    CHECK_CONTAINS(err.msg, "temperature");
    p = plain(1.0f);
    p.repeat_last_n = -1;
    CHECK_EQ_INT(mllm_sampler_new(10, &p, &s, &err), MLLM_ERR_ARG);
    CHECK_CONTAINS(err.msg, "repeat_last_n");
    CHECK_EQ_INT(mllm_sampler_new(10, &p, NULL, &err), MLLM_ERR_ARG);
    /* NULL params = defaults */
    CHECK_EQ_INT(mllm_sampler_new(10, NULL, &s, &err), MLLM_OK);
    CHECK(s != NULL);
    CHECK_EQ_INT(mllm_sampler_n_vocab(s), 10);
    mllm_sampler_free(s);
    mllm_sampler_free(NULL);
    CHECK_EQ_INT(mllm_sampler_sample(NULL, NULL), -1);
}

static void test_greedy_is_argmax(void) {
    enum { N = 5000 };
    static float x[N];
    mllm_sampler_params p = plain(0.0f);
    mllm_sampler *s = make(N, &p);
    int trial, i;
    for (trial = 0; trial < 20; trial++) {
        int best = 0;
        fill_logits(x, N, 77u + (uint32_t)trial, -10.0f, 10.0f);
        for (i = 1; i < N; i++)
            if (x[i] > x[best]) best = i;
        CHECK_EQ_INT(mllm_sampler_sample(s, x), best);
    }
    mllm_sampler_free(s);

    /* ties go to the lowest id; negative temperature is greedy too; top_k etc. ignored */
    {
        float t[6] = {1.0f, 3.0f, -2.0f, 3.0f, 2.9f, 3.0f};
        p = plain(-1.0f);
        p.top_k = 3;
        p.top_p = 0.5f;
        s = make(6, &p);
        CHECK_EQ_INT(mllm_sampler_sample(s, t), 1);
        mllm_sampler_free(s);
    }
}

static void test_temperature_frequencies(void) {
    /* 200000 draws: the standard error of a frequency is <= 0.0012, so 0.006 is > 5 sigma */
    static const float logits[8] = {1.0f, 2.0f, 0.5f, -1.0f, 1.5f, 0.0f, 2.2f, -0.3f};
    static const float temps[3] = {0.7f, 1.0f, 2.0f};
    double ref[8];
    int k, i;
    for (k = 0; k < 3; k++) {
        mllm_sampler_params p = plain(temps[k]);
        mllm_sampler *s = make(8, &p);
        /* independent reference: softmax(logits / T) directly */
        double z = 0;
        for (i = 0; i < 8; i++) z += exp((double)logits[i] / temps[k]);
        for (i = 0; i < 8; i++) ref[i] = exp((double)logits[i] / temps[k]) / z;
        check_candidates_match(s, logits, 8, ref, 1e-6);
        check_draws_match(s, logits, 8, ref, 200000, 0.006);
        mllm_sampler_free(s);
    }
}

static void test_top_k_set(void) {
    enum { N = 32000 };
    static float x[N];
    static double ref[N];
    static const int ks[4] = {1, 5, 40, 700};
    int k, i;
    fill_logits(x, N, 4242u, -8.0f, 8.0f);
    x[100] = x[200] = x[300] = 9.5f; /* ties at the top: lower ids rank first */
    for (k = 0; k < 4; k++) {
        mllm_sampler_params p = plain(1.3f);
        mllm_sampler *s;
        p.top_k = ks[k];
        s = make(N, &p);
        ref_dist(x, N, NULL, 0, &p, ref);
        {
            int support = 0;
            for (i = 0; i < N; i++) support += ref[i] > 0;
            CHECK_EQ_INT(support, ks[k]);
        }
        check_candidates_match(s, x, N, ref, 1e-6);
        {
            /* best first: sorted by logit, ties by id */
            const int32_t *ids;
            const float *pr;
            int32_t m = mllm_sampler_candidates(s, x, &ids, &pr);
            for (i = 1; i < m; i++)
                CHECK(x[ids[i - 1]] > x[ids[i]] || (x[ids[i - 1]] == x[ids[i]] && ids[i - 1] < ids[i]));
            CHECK_EQ_INT(ids[0], 100);
        }
        check_draws_match(s, x, N, ref, 200, 1.0); /* membership only */
        mllm_sampler_free(s);
    }
}

/* Threshold half-way between consecutive reference cumulative masses of the sorted,
 * softmaxed set, so the expected cut is unambiguous. */
static void test_top_p_set(void) {
    enum { N = 2000 };
    static float x[N];
    static double ref[N], base[N];
    static int ord[N];
    static double l[N];
    const int cuts[5] = {1, 2, 7, 60, 1500};
    int c, i, with_k;
    fill_logits(x, N, 99u, -4.0f, 4.0f);
    for (with_k = 0; with_k < 2; with_k++) {
        mllm_sampler_params p = plain(0.9f);
        double z = 0, cum = 0, prev = 0;
        int m;
        p.top_k = with_k ? 100 : 0;
        m = with_k ? 100 : N;
        for (i = 0; i < N; i++) {
            l[i] = (double)(x[i] / 0.9f);
            ord[i] = i;
        }
        g_sort_key = l;
        qsort(ord, N, sizeof *ord, cmp_rank);
        for (i = 0; i < m; i++) z += exp(l[ord[i]] - l[ord[0]]);
        for (i = 0; i < m; i++) base[i] = exp(l[ord[i]] - l[ord[0]]) / z;
        for (c = 0; c < 5; c++) {
            int want = cuts[c], support = 0;
            mllm_sampler *s;
            if (want > m) continue;
            cum = 0;
            for (i = 0; i < want; i++) cum += base[i];
            prev = cum - base[want - 1];
            p.top_p = (float)((prev + cum) / 2); /* strictly between the mass of want-1 and want tokens */
            s = make(N, &p);
            ref_dist(x, N, NULL, 0, &p, ref);
            for (i = 0; i < N; i++) support += ref[i] > 0;
            CHECK_EQ_INT(support, want);
            check_candidates_match(s, x, N, ref, 1e-6);
            check_draws_match(s, x, N, ref, 500, 1.0); /* membership only */
            mllm_sampler_free(s);
        }
    }
    /* top-p over the whole vocabulary together with min-p (the heap then holds only tokens
     * min-p would keep): same set as the reference, for a loose and a tight min-p */
    {
        const float mps[2] = {0.01f, 0.3f};
        int k;
        for (k = 0; k < 2; k++) {
            mllm_sampler_params p = plain(0.9f);
            mllm_sampler *s;
            int support = 0;
            p.top_p = 0.9f;
            p.min_p = mps[k];
            s = make(N, &p);
            ref_dist(x, N, NULL, 0, &p, ref);
            for (i = 0; i < N; i++) support += ref[i] > 0;
            CHECK(support > 1);
            check_candidates_match(s, x, N, ref, 1e-6);
            mllm_sampler_free(s);
        }
    }
    /* top_p <= 0 keeps the single best token */
    {
        mllm_sampler_params p = plain(1.0f);
        mllm_sampler *s;
        const int32_t *ids;
        const float *pr;
        p.top_p = 0.0f;
        s = make(N, &p);
        CHECK_EQ_INT(mllm_sampler_candidates(s, x, &ids, &pr), 1);
        CHECK_EQ_INT(ids[0], ord[0]);
        mllm_sampler_free(s);
    }
}

static void test_min_p_set(void) {
    /* weights relative to the best: exp(l - lmax); min_p between two of them */
    static const float x[6] = {0.0f, -1.0f, -3.0f, 0.5f, -0.2f, -5.0f};
    double ref[6];
    const float mps[3] = {0.3f, 0.02f, 0.9f};
    const int want[3] = {3, 5, 1}; /* rel. weights: .61 .22 .030 1 .50 .0041 */
    int k, i;
    for (k = 0; k < 3; k++) {
        mllm_sampler_params p = plain(1.0f);
        mllm_sampler *s;
        int support = 0;
        p.min_p = mps[k];
        s = make(6, &p);
        ref_dist(x, 6, NULL, 0, &p, ref);
        for (i = 0; i < 6; i++) support += ref[i] > 0;
        CHECK_EQ_INT(support, want[k]);
        /* independent of the reference: token kept iff exp(x - 0.5) >= min_p */
        for (i = 0; i < 6; i++) CHECK_EQ_INT(ref[i] > 0, exp((double)x[i] - 0.5) >= mps[k]);
        check_candidates_match(s, x, 6, ref, 1e-6);
        check_draws_match(s, x, 6, ref, 100000, 0.008); /* 5 sigma of 100000 draws */
        mllm_sampler_free(s);
    }
}

static void test_combined_pipeline(void) {
    enum { N = 400 };
    static float x[N];
    static double ref[N];
    mllm_sampler_params p = plain(0.8f);
    mllm_sampler *s;
    int hist[40], i, support = 0;
    uint32_t seed = 5;
    fill_logits(x, N, 31337u, -3.0f, 3.0f);
    for (i = 0; i < 12; i++) x[i * 7] = 4.0f - 0.1f * (float)i; /* a clear head */
    p.top_k = 10;
    p.top_p = 0.8f;
    p.min_p = 0.2f;
    p.repeat_penalty = 1.3f;
    p.repeat_last_n = 16;
    s = make(N, &p);
    for (i = 0; i < 40; i++) {
        hist[i] = (int)(lcg(&seed) % 90u); /* hits some of the head tokens 0,7,..,77 */
        mllm_sampler_accept(s, hist[i]);
    }
    ref_dist(x, N, hist, 40, &p, ref);
    for (i = 0; i < N; i++) support += ref[i] > 0;
    CHECK(support >= 2 && support <= 10);
    check_candidates_match(s, x, N, ref, 1e-5);
    /* 60000 draws: standard error <= 0.0021, so 0.011 is > 5 sigma */
    check_draws_match(s, x, N, ref, 60000, 0.011);
    mllm_sampler_free(s);
}

static void test_repetition_penalty_math(void) {
    /* exact penalized values through the distribution: T = 1, no cuts */
    float x[5] = {2.0f, -1.0f, 0.5f, 0.0f, 3.0f};
    float pen[5] = {1.0f, -2.0f, 0.5f, 0.0f, 3.0f}; /* tokens 0,1,3 penalized by 2: 2/2, -1*2, 0*2 */
    double ref[5], z = 0;
    mllm_sampler_params p = plain(1.0f);
    mllm_sampler *s;
    int i;
    p.repeat_penalty = 2.0f;
    s = make(5, &p);
    mllm_sampler_accept(s, 0);
    mllm_sampler_accept(s, 1);
    mllm_sampler_accept(s, 0); /* a repeat in the window is penalized once, not twice */
    mllm_sampler_accept(s, 3);
    mllm_sampler_accept(s, -1);  /* invalid ids are ignored */
    mllm_sampler_accept(s, 999);
    for (i = 0; i < 5; i++) z += exp((double)pen[i]);
    for (i = 0; i < 5; i++) ref[i] = exp((double)pen[i]) / z;
    check_candidates_match(s, x, 5, ref, 1e-6);
    mllm_sampler_free(s);

    /* greedy decisions right at the boundary: 2.0/1.1 = 1.818 < 1.9 but 2.0/1.05 = 1.905 > 1.9 */
    {
        float y[3] = {2.0f, 1.9f, -5.0f};
        p = plain(0.0f);
        p.repeat_penalty = 1.1f;
        s = make(3, &p);
        CHECK_EQ_INT(mllm_sampler_sample(s, y), 0);
        mllm_sampler_accept(s, 0);
        CHECK_EQ_INT(mllm_sampler_sample(s, y), 1);
        mllm_sampler_free(s);
        p.repeat_penalty = 1.05f;
        s = make(3, &p);
        mllm_sampler_accept(s, 0);
        CHECK_EQ_INT(mllm_sampler_sample(s, y), 0);
        mllm_sampler_free(s);
    }
    /* negative logits are multiplied: -1.0 * 1.1 = -1.1 < -1.05 */
    {
        float y[2] = {-1.0f, -1.05f};
        p = plain(0.0f);
        p.repeat_penalty = 1.1f;
        s = make(2, &p);
        CHECK_EQ_INT(mllm_sampler_sample(s, y), 0);
        mllm_sampler_accept(s, 0);
        CHECK_EQ_INT(mllm_sampler_sample(s, y), 1);
        mllm_sampler_free(s);
    }
    /* each distinct token once: three copies of token 0 give 2.0/1.1 = 1.818 > 1.7, not 1.50 */
    {
        float y[2] = {2.0f, 1.7f};
        p = plain(0.0f);
        p.repeat_penalty = 1.1f;
        s = make(2, &p);
        mllm_sampler_accept(s, 0);
        mllm_sampler_accept(s, 0);
        mllm_sampler_accept(s, 0);
        CHECK_EQ_INT(mllm_sampler_sample(s, y), 0);
        mllm_sampler_free(s);
    }
    /* the window: after repeat_last_n newer tokens, token 0 is no longer penalized */
    {
        float y[4] = {2.0f, 1.9f, -9.0f, -9.0f};
        p = plain(0.0f);
        p.repeat_penalty = 1.1f;
        p.repeat_last_n = 2;
        s = make(4, &p);
        mllm_sampler_accept(s, 0);
        mllm_sampler_accept(s, 2);
        CHECK_EQ_INT(mllm_sampler_sample(s, y), 1); /* 0 still in the window */
        mllm_sampler_accept(s, 3);
        CHECK_EQ_INT(mllm_sampler_sample(s, y), 0); /* window is {2, 3} */
        mllm_sampler_free(s);
        /* repeat_last_n = 0: no window at all */
        p.repeat_last_n = 0;
        s = make(4, &p);
        mllm_sampler_accept(s, 0);
        CHECK_EQ_INT(mllm_sampler_sample(s, y), 0);
        mllm_sampler_free(s);
    }
}

static void test_determinism_and_seeds(void) {
    enum { N = 64, D = 2000 };
    static float x[N];
    static int32_t a[D], b[D], c[D];
    mllm_sampler_params p = plain(1.0f);
    mllm_sampler *s1, *s2, *s3;
    int i, diff = 0, distinct = 0;
    char seen[N] = {0};
    fill_logits(x, N, 7u, -1.0f, 1.0f); /* flat: every draw carries information */
    p.repeat_penalty = 1.2f;
    p.top_k = 50;
    p.seed = 42;
    s1 = make(N, &p);
    s2 = make(N, &p);
    p.seed = 43;
    s3 = make(N, &p);
    for (i = 0; i < D; i++) {
        a[i] = mllm_sampler_sample(s1, x);
        b[i] = mllm_sampler_sample(s2, x);
        c[i] = mllm_sampler_sample(s3, x);
        mllm_sampler_accept(s1, a[i]);
        mllm_sampler_accept(s2, b[i]);
        mllm_sampler_accept(s3, c[i]);
    }
    CHECK(memcmp(a, b, sizeof a) == 0);
    for (i = 0; i < D; i++) {
        diff += a[i] != c[i];
        if (!seen[a[i]]) distinct++;
        seen[a[i]] = 1;
    }
    CHECK(diff > D / 2); /* independent streams over ~50 tokens agree ~2% of the time */
    CHECK(distinct > 30);

    /* reset: the window is empty and the RNG starts over, so s1 replays s2's first draws */
    mllm_sampler_reset(s1);
    mllm_sampler_free(s2);
    p.seed = 42;
    s2 = make(N, &p);
    for (i = 0; i < 200; i++) {
        int32_t t1 = mllm_sampler_sample(s1, x), t2 = mllm_sampler_sample(s2, x);
        CHECK_EQ_INT(t1, t2);
        CHECK_EQ_INT(t1, a[i]);
        mllm_sampler_accept(s1, t1);
        mllm_sampler_accept(s2, t2);
    }
    /* candidates() consumes no randomness */
    {
        const int32_t *ids;
        const float *pr;
        int32_t t1, t2;
        mllm_sampler_candidates(s1, x, &ids, &pr);
        t1 = mllm_sampler_sample(s1, x);
        t2 = mllm_sampler_sample(s2, x);
        CHECK_EQ_INT(t1, t2);
    }
    mllm_sampler_free(s1);
    mllm_sampler_free(s2);
    mllm_sampler_free(s3);
}

static void test_non_finite_logits(void) {
    float x[4] = {NAN, 1.0f, INFINITY, 2.0f};
    float y[3] = {-INFINITY, -INFINITY, -INFINITY};
    mllm_sampler_params p = plain(1.0f);
    mllm_sampler *s = make(4, &p);
    int i;
    for (i = 0; i < 50; i++) CHECK_EQ_INT(mllm_sampler_sample(s, x), 2); /* +inf dominates, NaN never */
    mllm_sampler_free(s);
    p.top_k = 2;
    p.top_p = 0.5f;
    s = make(3, &p);
    CHECK_EQ_INT(mllm_sampler_sample(s, y), 0); /* nothing to weigh: the first in rank order */
    mllm_sampler_free(s);
}

int main(void) {
    RUN(test_params_defaults);
    RUN(test_new_rejects_bad_params);
    RUN(test_greedy_is_argmax);
    RUN(test_temperature_frequencies);
    RUN(test_top_k_set);
    RUN(test_top_p_set);
    RUN(test_min_p_set);
    RUN(test_combined_pipeline);
    RUN(test_repetition_penalty_math);
    RUN(test_determinism_and_seeds);
    RUN(test_non_finite_logits);
    return check_summary("sampler");
}
