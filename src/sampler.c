/* sampler.c — picking the next token from logits.
 *
 * Pipeline (one pass per call, all in buffers allocated by mllm_sampler_new):
 *   repetition penalty -> temperature -> top-k -> softmax -> top-p -> min-p -> renormalize
 *   -> draw.
 * Defaults (mllm_sampler_params_init): temperature 0.8, top_k 40, top_p 0.95, min_p 0.05,
 * repeat_penalty 1.1, repeat_last_n 64, seed 0 (0 is an ordinary seed, not "random").
 *
 * Conventions:
 * - Ranking is total: higher (penalized, scaled) logit first, lower id first on ties, so
 *   greedy and every cut are deterministic.
 * - Repetition penalty (CTRL / llama.cpp): each distinct token in the window of the last
 *   repeat_last_n accepted tokens once: logit > 0 -> logit / penalty, else logit * penalty.
 *   Greedy (temperature <= 0) takes the argmax of the penalized logits.
 * - top-p keeps the smallest best-first prefix whose probability (normalized over the top-k
 *   set) reaches top_p; min-p then drops tokens with p < min_p * p_max.
 * - accept() ignores ids outside [0, n_vocab); reset() empties the window and reseeds. Greedy
 *   draws no random number; every other sample() draws exactly one.
 * - Same seed + same accepted history + same logits -> same token on every platform: the RNG
 *   is xoshiro128** (integer ops only), a draw is a 24-bit integer scaled to [0,1) exactly,
 *   exp is computed here with basic IEEE double ops (no libm expf, whose last bit differs
 *   between libcs), sums are in double, and FP contraction is off.
 */
#include "mobilellm.h"
#include "sampler.h"
#include "error.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF /* an fma here but not there would change draws across platforms */
#endif

/* A window longer than this is a caller mistake (it would exceed any context length). */
#define MLLM_SAMPLER_MAX_WINDOW (1 << 20)

struct mllm_sampler {
    int32_t n_vocab;
    mllm_sampler_params p;
    float *work;      /* n_vocab: penalized, temperature-scaled logits */
    int32_t *idx;     /* n_vocab: candidate ids (heap / selection space) */
    float *prob;      /* n_vocab: weights of the candidates, aligned with idx */
    int32_t *ring;    /* repeat_last_n accepted tokens */
    int32_t ring_len, ring_head;
    uint32_t rng[4];  /* xoshiro128** state */
    int32_t nan_id;   /* first NaN logit of the last sample/candidates call, -1 when none */
};

/* ---------------------------------------------------------------- RNG */

static uint32_t rotl32(uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }

static uint32_t rng_next(uint32_t s[4]) {
    uint32_t result = rotl32(s[1] * 5u, 7) * 9u;
    uint32_t t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl32(s[3], 11);
    return result;
}

/* splitmix64 expands the 32-bit seed into a well-mixed, never all-zero state. */
static void rng_seed(uint32_t s[4], uint32_t seed) {
    uint64_t x = seed;
    int i;
    for (i = 0; i < 2; i++) {
        uint64_t z = (x += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        s[2 * i] = (uint32_t)z;
        s[2 * i + 1] = (uint32_t)(z >> 32);
    }
    if (!(s[0] | s[1] | s[2] | s[3])) s[0] = 1;
}

/* Uniform in [0, 1): 24 random bits times 2^-24, exact in float and double. */
static double rng_uniform(uint32_t s[4]) {
    return (double)(rng_next(s) >> 8) * (1.0 / 16777216.0);
}

/* ---------------------------------------------------------------- exp */

/* e^x for x <= 0 with basic IEEE double ops and integer bit assembly only, so every platform
 * (glibc, musl/emscripten) gets the same bits; relative error < 1e-8, below float precision.
 * x = k ln2 + r, |r| <= ln2/2: e^x = 2^k * poly(r), with 2^k built from its exponent bits. */
static float det_exp_neg(float xf) {
    double x = xf, r, p, two_k;
    int32_t k;
    uint64_t bits;
    if (!(x > -104.0)) return 0.0f; /* e^-104 is below float's smallest subnormal; also -inf */
    k = (int32_t)(x * 1.4426950408889634 - 0.5); /* truncation toward 0 = round to nearest here */
    r = x - (double)k * 0.6931471805599453;
    p = 1.0 + r * (1.0 + r * (1.0 / 2 + r * (1.0 / 6 + r * (1.0 / 24 + r * (1.0 / 120 +
        r * (1.0 / 720 + r * (1.0 / 5040 + r * (1.0 / 40320))))))));
    bits = (uint64_t)(k + 1023) << 52; /* k >= -151: a normal double */
    memcpy(&two_k, &bits, sizeof two_k);
    return (float)(p * two_k);
}

/* ---------------------------------------------------------------- ranking */

/* 1 when token a ranks ahead of b: higher logit, or equal logit and lower id. */
static int ahead(const float *w, int32_t a, int32_t b) {
    return w[a] > w[b] || (w[a] == w[b] && a < b);
}

/* Binary-heap sift-down over ids. worst_top = 0: the best-ranked id is at the root (used to
 * pop tokens best-first); worst_top = 1: the worst is at the root (a bounded top-k set). */
static void sift_down(int32_t *h, int32_t n, int32_t i, const float *w, int worst_top) {
    for (;;) {
        int32_t l = 2 * i + 1, r = l + 1, top = i, t;
        if (l >= n) break;
        if (worst_top ? ahead(w, h[top], h[l]) : ahead(w, h[l], h[top])) top = l;
        if (r < n && (worst_top ? ahead(w, h[top], h[r]) : ahead(w, h[r], h[top]))) top = r;
        if (top == i) break;
        t = h[i];
        h[i] = h[top];
        h[top] = t;
        i = top;
    }
}

static void heapify(int32_t *h, int32_t n, const float *w, int worst_top) {
    int32_t i;
    for (i = n / 2 - 1; i >= 0; i--) sift_down(h, n, i, w, worst_top);
}

/* The k best ids into idx[0..k), sorted best first, in O(n log k): a worst-on-top heap of
 * the k best so far, so most tokens cost one comparison with the root. */
static void select_top_k(const float *w, int32_t n, int32_t k, int32_t *idx) {
    int32_t i, m;
    for (i = 0; i < k; i++) idx[i] = i;
    heapify(idx, k, w, 1);
    for (i = k; i < n; i++) {
        if (ahead(w, i, idx[0])) {
            idx[0] = i;
            sift_down(idx, k, 0, w, 1);
        }
    }
    /* heap sort: moving the current worst to the end leaves the best at idx[0] */
    for (m = k; m > 1; m--) {
        int32_t t = idx[0];
        idx[0] = idx[m - 1];
        idx[m - 1] = t;
        sift_down(idx, m - 1, 0, w, 1);
    }
}

/* ---------------------------------------------------------------- API */

void mllm_sampler_params_init(mllm_sampler_params *p) {
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->temperature = 0.8f;
    p->top_k = 40;
    p->top_p = 0.95f;
    p->min_p = 0.05f;
    p->repeat_penalty = 1.1f;
    p->repeat_last_n = 64;
    p->seed = 0;
}

mllm_status mllm_sampler_new(int32_t n_vocab, const mllm_sampler_params *params,
                             mllm_sampler **out, mllm_error *err) {
    mllm_sampler *s;
    mllm_sampler_params p;
    size_t n;

    if (out) *out = NULL;
    if (!out) return mllm_fail(err, MLLM_ERR_ARG, "mllm_sampler_new needs a non-NULL output pointer.");
    if (n_vocab <= 0)
        return mllm_fail(err, MLLM_ERR_ARG, "sampler vocabulary size %d is not positive.", (int)n_vocab);
    if (params) p = *params;
    else mllm_sampler_params_init(&p);
    if (isnan(p.temperature))
        return mllm_fail(err, MLLM_ERR_ARG, "sampler temperature is NaN.");
    if (isnan(p.top_p))
        return mllm_fail(err, MLLM_ERR_ARG, "sampler top_p is NaN.");
    if (isnan(p.min_p))
        return mllm_fail(err, MLLM_ERR_ARG, "sampler min_p is NaN.");
    if (!(p.repeat_penalty > 0.0f) || isinf(p.repeat_penalty))
        return mllm_fail(err, MLLM_ERR_ARG, "sampler repeat_penalty %g must be a positive finite number (1 is off).",
                         (double)p.repeat_penalty);
    if (p.repeat_last_n < 0 || p.repeat_last_n > MLLM_SAMPLER_MAX_WINDOW)
        return mllm_fail(err, MLLM_ERR_ARG, "sampler repeat_last_n %d is outside 0..%d.",
                         (int)p.repeat_last_n, MLLM_SAMPLER_MAX_WINDOW);

    s = (mllm_sampler *)calloc(1, sizeof *s);
    if (!s) return mllm_fail(err, MLLM_ERR_NOMEM, "out of memory allocating the sampler.");
    n = (size_t)n_vocab;
    s->n_vocab = n_vocab;
    s->p = p;
    s->nan_id = -1;
    s->work = (float *)malloc(n * sizeof *s->work);
    s->idx = (int32_t *)malloc(n * sizeof *s->idx);
    s->prob = (float *)malloc(n * sizeof *s->prob);
    s->ring = (int32_t *)malloc((size_t)(p.repeat_last_n > 0 ? p.repeat_last_n : 1) * sizeof *s->ring);
    if (!s->work || !s->idx || !s->prob || !s->ring) {
        mllm_sampler_free(s);
        return mllm_fail(err, MLLM_ERR_NOMEM, "out of memory allocating sampler buffers for %d tokens.",
                         (int)n_vocab);
    }
    mllm_sampler_reset(s);
    *out = s;
    mllm_error_clear(err);
    return MLLM_OK;
}

void mllm_sampler_free(mllm_sampler *s) {
    if (!s) return;
    free(s->work);
    free(s->idx);
    free(s->prob);
    free(s->ring);
    free(s);
}

void mllm_sampler_reset(mllm_sampler *s) {
    if (!s) return;
    s->ring_len = 0;
    s->ring_head = 0;
    rng_seed(s->rng, s->p.seed);
}

void mllm_sampler_accept(mllm_sampler *s, int32_t token) {
    int32_t cap;
    if (!s || token < 0 || token >= s->n_vocab) return; /* nothing to penalize for an invalid id */
    cap = s->p.repeat_last_n;
    if (cap <= 0) return;
    s->ring[s->ring_head] = token;
    s->ring_head = (s->ring_head + 1) % cap;
    if (s->ring_len < cap) s->ring_len++;
}

int32_t mllm_sampler_n_vocab(const mllm_sampler *s) { return s ? s->n_vocab : 0; }

int32_t mllm_sampler_nan_logit(const mllm_sampler *s) { return s ? s->nan_id : -1; }

/* work = penalized logits scaled by 1/temperature (no scaling for greedy), with NaN mapped to
 * -inf and +inf to FLT_MAX so the softmax never sees inf - inf. Returns the argmax (lowest id
 * on ties; 0 when everything is -inf). */
static int32_t prepare(mllm_sampler *s, const float *logits) {
    const int32_t n = s->n_vocab;
    const int scale = s->p.temperature > 0.0f;
    const float t = s->p.temperature;
    float *w = s->work;
    float m = -INFINITY;
    int32_t i, best = 0;
    s->nan_id = -1;
    if (scale) {
        for (i = 0; i < n; i++) w[i] = logits[i] / t;
    } else {
        memcpy(w, logits, (size_t)n * sizeof *w);
    }
    if (s->p.repeat_penalty != 1.0f) {
        const float pen = s->p.repeat_penalty;
        for (i = 0; i < s->ring_len; i++) {
            int32_t tok = s->ring[i];
            /* recomputed from the caller's logit, so a token seen twice is penalized once */
            float l = logits[tok];
            l = l > 0.0f ? l / pen : l * pen; /* penalty first, then temperature */
            w[tok] = scale ? l / t : l;
        }
    }
    for (i = 0; i < n; i++) {
        float v = w[i];
        if (!(v <= FLT_MAX)) { /* NaN or +inf: rare, so the branch is nearly free */
            if (v != v && s->nan_id < 0) s->nan_id = i;
            v = v != v ? -INFINITY : FLT_MAX;
            w[i] = v;
        }
        if (v > m) { /* strict: the lowest id wins ties */
            m = v;
            best = i;
        }
    }
    return best;
}

/* Stages after `prepare`: fills s->idx / s->prob with the surviving candidates and their
 * unnormalized weights exp(l - l_max) (the best has weight exactly 1); returns their count
 * and, in *total_out, their total weight. */
static int32_t filter(mllm_sampler *s, int32_t best, double *total_out) {
    const int32_t n = s->n_vocab;
    float *w = s->work;
    int32_t *idx = s->idx;
    float *prob = s->prob;
    const int32_t k = (s->p.top_k > 0 && s->p.top_k < n) ? s->p.top_k : n;
    const int use_top_p = s->p.top_p < 1.0f;
    const float wmax = w[best];
    int32_t m, i, j;
    double total = 0.0;

    if (wmax == -INFINITY) { /* every logit -inf (or NaN): nothing to weigh */
        idx[0] = best;
        prob[0] = 1.0f;
        *total_out = 1.0;
        return 1;
    }

    if (k < n) {
        /* top-k: partial selection, sorted best first */
        double z = 0.0, cum = 0.0;
        select_top_k(w, n, k, idx);
        for (i = 0; i < k; i++) {
            prob[i] = det_exp_neg(w[idx[i]] - wmax);
            z += prob[i];
        }
        m = k;
        if (use_top_p) {
            const double target = (double)s->p.top_p * z;
            for (i = 0; i < k; i++) {
                cum += prob[i];
                if (cum >= target) break;
            }
            m = i < k ? i + 1 : k;
        }
    } else if (use_top_p) {
        /* top-p over the whole vocabulary. Only tokens that can end up in the result go into
         * a best-on-top heap, popped just as far as the nucleus reaches:
         * - a token with weight < (1 - top_p) z / n cannot be in the nucleus: all such tokens
         *   together weigh < (1 - top_p) z and rank after every other token, so the others
         *   already reach top_p z;
         * - a token with weight < min_p is removed by min-p anyway, and it ranks after every
         *   token min-p keeps, so leaving it out cannot change which of those survive.
         * A peaked distribution thus costs O(n), a flat one O(n log n). */
        double z = 0.0, cum = 0.0, target;
        float thr;
        int32_t c = 0, hn;
        for (i = 0; i < n; i++) {
            prob[i] = det_exp_neg(w[i] - wmax); /* indexed by id for now */
            z += prob[i];
        }
        target = (double)s->p.top_p * z;
        thr = (float)((1.0 - (double)s->p.top_p) * z / (double)n);
        if (s->p.min_p > thr) thr = s->p.min_p;
        if (thr > 1.0f) thr = 1.0f; /* the best (weight 1) always stays */
        for (i = 0; i < n; i++)
            if (prob[i] >= thr) idx[c++] = i;
        heapify(idx, c, w, 0);
        m = 0;
        hn = c;
        /* popped ids collect at the end of idx[0..c), best at idx[c-1] */
        while (hn > 0) {
            int32_t top = idx[0];
            idx[0] = idx[hn - 1];
            idx[hn - 1] = top;
            hn--;
            sift_down(idx, hn, 0, w, 0);
            m++;
            cum += prob[top];
            if (cum >= target) break;
        }
        /* best first into idx[0..m); weights by position via work (no longer needed) */
        for (j = 0; j < m; j++) w[j] = prob[idx[c - 1 - j]];
        for (i = c - m, j = c - 1; i < j; i++, j--) {
            int32_t ti = idx[i];
            idx[i] = idx[j];
            idx[j] = ti;
        }
        memmove(idx, idx + (c - m), (size_t)m * sizeof *idx);
        memcpy(prob, w, (size_t)m * sizeof *prob);
    } else {
        /* no ordering needed: every token, in id order */
        for (i = 0; i < n; i++) {
            idx[i] = i;
            prob[i] = det_exp_neg(w[i] - wmax);
        }
        m = n;
    }

    /* min-p: p / p_max is the weight itself, since the best survivor has weight 1 */
    if (s->p.min_p > 0.0f) {
        const float mp = s->p.min_p;
        for (i = 0, j = 0; i < m; i++) {
            if (prob[i] >= mp || prob[i] >= 1.0f) { /* the best (weight exactly 1) always stays */
                idx[j] = idx[i];
                prob[j] = prob[i];
                j++;
            }
        }
        m = j;
    }
    for (i = 0; i < m; i++) total += prob[i];
    *total_out = total;
    return m;
}

int32_t mllm_sampler_candidates(mllm_sampler *s, const float *logits, const int32_t **ids,
                                const float **probs) {
    int32_t m, i, best;
    double total;
    if (!s || !logits || !ids || !probs) return -1;
    best = prepare(s, logits);
    if (!(s->p.temperature > 0.0f)) {
        s->idx[0] = best;
        s->prob[0] = 1.0f;
        m = 1;
    } else {
        m = filter(s, best, &total);
        for (i = 0; i < m; i++) s->prob[i] = (float)(s->prob[i] / total);
    }
    *ids = s->idx;
    *probs = s->prob;
    return m;
}

int32_t mllm_sampler_sample(mllm_sampler *s, const float *logits) {
    int32_t m, i, last, best;
    double total, target, cum;
    if (!s || !logits) return -1;
    best = prepare(s, logits);
    if (!(s->p.temperature > 0.0f)) return best;
    m = filter(s, best, &total);
    if (!(total > 0.0) || isinf(total)) return s->idx[0]; /* cannot happen with finite work; be safe */
    target = rng_uniform(s->rng) * total;
    cum = 0.0;
    last = 0;
    for (i = 0; i < m; i++) {
        if (s->prob[i] > 0.0f) last = i;
        cum += s->prob[i];
        if (target < cum) return s->idx[i];
    }
    return s->idx[last]; /* rounding left target at the very top: the last live candidate */
}
