/* kernels_quant.c — matmuls of the 4/5/6-bit weight types: each output is one dot product of
 * quant_dot.c (or its bit-identical SIMD128 version); the scalar goes row by row, the SIMD128
 * eight or four rows at once; every token against the rows while they are in cache. */
#include "kernels_quant.h"

#include "dtype.h"
#include "quant_blocks.h"
#include "quant_dot.h"
#include "quant_ref.h"
#include "quant_x4.h"

size_t kern_act_row_bytes(int act, int64_t n) {
    switch (act) {
    case MLLM_ACT_Q8_0: return dtype_row_bytes(MLLM_DTYPE_Q8_0, n);
    case MLLM_ACT_Q8_1: return dtype_row_bytes(MLLM_DTYPE_Q8_1, n);
    case MLLM_ACT_Q8_K: return dtype_row_bytes(MLLM_DTYPE_Q8_K, n);
    default: return 0;
    }
}

void kern_quantize_act(int act, const float *x, void *y, int64_t n) {
    switch (act) {
    case MLLM_ACT_Q8_0: kern_quantize_q8_0(x, (block_q8_0 *)y, n); break;
#ifdef MLLM_KERNELS_SIMD128
    case MLLM_ACT_Q8_1: q8_1_quantize_simd128(x, y, n); break;
#else
    case MLLM_ACT_Q8_1: q8_1_quantize(x, y, n); break;
#endif
    case MLLM_ACT_Q8_K: q8_k_quantize(x, y, n); break;
    default: break;
    }
}

/* Row r of x4 weights (quant_x4.h) against token a, block by block in the dot's own order:
 * a block's dot starts from 0 and the blocks add up as in the whole row's (the same sum). */
static float x4_dot(const kern_weights *w, int64_t nb, int64_t r, const uint8_t *a, size_t ablock, quant_dot_fn dot) {
    float sumf = 0.0f;
    int64_t b;
    for (b = 0; b < nb; b++) {
        uint8_t blk[32]; /* a block_q4_0 (or IQ4_NL's, the same bytes), block_q5_0, block_q4_1 or block_q5_1 */
        quant_x4_block(w->layout, w->data, nb, r, b, blk);
        sumf += dot(32, blk, a + (size_t)b * ablock);
    }
    return sumf;
}

static inline void matmul_dots(float *out, int64_t ldo, const kern_weights *w, int64_t n_in, int64_t n_rows,
                               const void *xq, int64_t n_tok, quant_dot_fn dot, int act) {
    const size_t wrow = dtype_row_bytes(w->type, n_in), arow = kern_act_row_bytes(act, n_in);
    const uint8_t *wr = (const uint8_t *)w->data, *a = (const uint8_t *)xq;
    int64_t r, t;
    if (quant_x4_layout(w->layout)) { /* Q4_0, Q5_0, Q4_1, Q5_1, IQ4_NL repacked (kernels.h): the same values */
        const int64_t nb = n_in / 32;
        for (r = 0; r < n_rows; r++)
            for (t = 0; t < n_tok; t++) out[t * ldo + r] = x4_dot(w, nb, r, a + (size_t)t * arow, arow / (size_t)nb, dot);
        return;
    }
    for (r = 0; r < n_rows; r++, wr += wrow) {
        for (t = 0; t < n_tok; t++) out[t * ldo + r] = dot(n_in, wr, a + (size_t)t * arow);
    }
}

#define DEFINE(name, dot, act)                                                                                 \
    KERN_QUANT_MATMUL(name) {                                                                                  \
        (void)x, (void)hints;                                                                                  \
        matmul_dots(out, ldo, w, n_in, n_rows, xq, n_tok, dot, act);                                           \
    }

DEFINE(q4_0_scalar, q4_0_dot_q8_0, MLLM_ACT_Q8_0)
DEFINE(q4_1_scalar, q4_1_dot_q8_1, MLLM_ACT_Q8_1)
DEFINE(q5_0_scalar, q5_0_dot_q8_0, MLLM_ACT_Q8_0)
DEFINE(q5_1_scalar, q5_1_dot_q8_1, MLLM_ACT_Q8_1)
DEFINE(iq4_nl_scalar, iq4_nl_dot_q8_0, MLLM_ACT_Q8_0)
DEFINE(q2_k_scalar, q2_k_dot_q8_k, MLLM_ACT_Q8_K)
DEFINE(q3_k_scalar, q3_k_dot_q8_k, MLLM_ACT_Q8_K)
/* Q4_K, Q5_K and Q6_K take their x4 layouts too (kernels.h): each row's super-blocks back in the
 * file's bytes (the type's repacked_block), one at a time, through the same reference steps. */
static void matmul_k_x4(float *out, int64_t ldo, const kern_weights *w, int64_t n_in, int64_t n_rows, const void *xq,
                        int64_t n_tok) {
    const dtype_traits *tr = dtype_traits_of(w->type);
    const int64_t nsb = n_in / QK_K;
    const block_q8_K *a = (const block_q8_K *)xq;
    int64_t r, t, i;
    for (r = 0; r < n_rows; r++)
        for (t = 0; t < n_tok; t++) {
            float sums[8] = {0, 0, 0, 0, 0, 0, 0, 0}, sumf = 0; /* Q6_K leaves sumf 0 */
            for (i = 0; i < nsb; i++) {
                union {
                    block_q4_K q4;
                    block_q5_K q5;
                    block_q6_K q6;
                } b;
                tr->repacked_block(w->data, nsb, r, i, &b);
                if (w->type == MLLM_DTYPE_Q6_K) q6_k_acc_q8_k(&b, a + t * nsb + i, sums);
                else if (w->type == MLLM_DTYPE_Q5_K) q5_k_acc_q8_k(&b, a + t * nsb + i, sums, &sumf);
                else q4_k_acc_q8_k(&b, a + t * nsb + i, sums, &sumf);
            }
            out[t * ldo + r] = quant_k_finish(sums, sumf);
        }
}

/* A K type with an x4 layout (x4_layout): that layout through matmul_k_x4, the file's through matmul_dots. */
#define DEFINE_X4(name, dot, x4_layout)                                                                        \
    KERN_QUANT_MATMUL(name) {                                                                                  \
        (void)x, (void)hints;                                                                                  \
        if (w->layout == (x4_layout)) matmul_k_x4(out, ldo, w, n_in, n_rows, xq, n_tok);                       \
        else matmul_dots(out, ldo, w, n_in, n_rows, xq, n_tok, dot, MLLM_ACT_Q8_K);                            \
    }

DEFINE_X4(q4_k_scalar, q4_k_dot_q8_k, KERN_LAYOUT_Q4_K_X4)
DEFINE_X4(q5_k_scalar, q5_k_dot_q8_k, KERN_LAYOUT_Q5_K_X4)
DEFINE_X4(q6_k_scalar, q6_k_dot_q8_k, KERN_LAYOUT_Q6_K_X4)
DEFINE(iq4_xs_scalar, iq4_xs_dot_q8_k, MLLM_ACT_Q8_K)
#ifdef MLLM_KERNELS_SIMD128
/* Eight rows per pass, one from each of eight far-apart stretches of the rows (each block's
 * activations laid out once for the eight; eight streams, each a sequential read, as the Q8_0
 * decode reads them), then a group of four, the rest alone. */
/* x4 weights (Q4_0, Q5_0, Q4_1, Q5_1, IQ4_NL where relaxed SIMD is off): each group of four rows back in the
 * file's layout on the stack, then the four-row dot; rows wider than the buffer go through
 * the scalar reference. */
#define X4_ROWS4_CAP (4 * 8192 / 32 * 24) /* four Q5_1 rows of 8192 */
static void matmul_x4_dots4(float *out, int64_t ldo, const kern_weights *w, int64_t n_in, int64_t n_rows,
                            const void *xq, int64_t n_tok, quant_dot4_fn dot4, quant_dot_fn dot, int act) {
    uint8_t rows[X4_ROWS4_CAP] __attribute__((aligned(16)));
    const size_t wrow = dtype_row_bytes(w->type, n_in), arow = kern_act_row_bytes(act, n_in);
    const uint8_t *a = (const uint8_t *)xq;
    int64_t r, t, k;
    if (4 * wrow > sizeof rows || n_rows % 4) {
        matmul_dots(out, ldo, w, n_in, n_rows, xq, n_tok, dot, act);
        return;
    }
    for (r = 0; r < n_rows; r += 4) {
        quant_x4_rows4(w->layout, w->data, n_in / 32, r, rows);
        for (t = 0; t < n_tok; t++) {
            float o[4];
            dot4(n_in, rows, wrow, a + (size_t)t * arow, o);
            for (k = 0; k < 4; k++) out[t * ldo + r + k] = o[k];
        }
    }
}

static inline void matmul_dots8(float *out, int64_t ldo, const kern_weights *w, int64_t n_in, int64_t n_rows,
                                 const void *xq, int64_t n_tok, quant_dot8_fn dot8, quant_dot4_fn dot4,
                                 quant_dot_fn dot, int act) {
    const size_t wrow = dtype_row_bytes(w->type, n_in), arow = kern_act_row_bytes(act, n_in);
    const uint8_t *wd = (const uint8_t *)w->data, *a = (const uint8_t *)xq;
    const int64_t span = n_rows / 8;
    int64_t q, r, t, k;
    if (quant_x4_layout(w->layout)) {
        matmul_x4_dots4(out, ldo, w, n_in, n_rows, xq, n_tok, dot4, dot, act);
        return;
    }
    for (q = 0; q < span; q++) {
        const void *w2[2];
        w2[0] = wd + (size_t)q * wrow;
        w2[1] = wd + (size_t)(q + 4 * span) * wrow;
        for (t = 0; t < n_tok; t++) {
            float o[8];
            dot8(n_in, w2, (size_t)span * wrow, a + (size_t)t * arow, o);
            for (k = 0; k < 8; k++) out[t * ldo + q + k * span] = o[k];
        }
    }
    for (r = 8 * span; r + 4 <= n_rows; r += 4) {
        for (t = 0; t < n_tok; t++) {
            float o[4];
            dot4(n_in, wd + (size_t)r * wrow, wrow, a + (size_t)t * arow, o);
            for (k = 0; k < 4; k++) out[t * ldo + r + k] = o[k];
        }
    }
    for (; r < n_rows; r++)
        for (t = 0; t < n_tok; t++) out[t * ldo + r] = dot(n_in, wd + (size_t)r * wrow, a + (size_t)t * arow);
}

/* Four rows per pass from four stretches, the rest alone: Q5_1, whose eight-row pass holds
 * more than V8 keeps in registers and ran slower from memory (PERF_NOTES.md). */
static inline void matmul_dots4(float *out, int64_t ldo, const kern_weights *w, int64_t n_in, int64_t n_rows,
                                 const void *xq, int64_t n_tok, quant_dot4_fn dot4, quant_dot_fn dot, int act) {
    const size_t wrow = dtype_row_bytes(w->type, n_in), arow = kern_act_row_bytes(act, n_in);
    const uint8_t *wd = (const uint8_t *)w->data, *a = (const uint8_t *)xq;
    const int64_t span = n_rows / 4;
    int64_t q, r, t, k;
    if (quant_x4_layout(w->layout)) {
        matmul_x4_dots4(out, ldo, w, n_in, n_rows, xq, n_tok, dot4, dot, act);
        return;
    }
    for (q = 0; q < span; q++) {
        for (t = 0; t < n_tok; t++) {
            float o[4];
            dot4(n_in, wd + (size_t)q * wrow, (size_t)span * wrow, a + (size_t)t * arow, o);
            for (k = 0; k < 4; k++) out[t * ldo + q + k * span] = o[k];
        }
    }
    for (r = 4 * span; r < n_rows; r++)
        for (t = 0; t < n_tok; t++) out[t * ldo + r] = dot(n_in, wd + (size_t)r * wrow, a + (size_t)t * arow);
}

/* Q3_K..Q6_K: one token as above; several: QUANT_DOTN_ROWS neighbouring rows against up to
 * QUANT_DOTN_MAX_TOK tokens at a time, each super-block's weights unpacked once for them; the
 * remaining rows one by one. */
static inline void matmul_k(float *out, int64_t ldo, const kern_weights *w, int64_t n_in, int64_t n_rows,
                            const void *xq, int64_t n_tok, quant_dotn_fn dotn, quant_dot8_fn dot8,
                            quant_dot4_fn dot4, quant_dot_fn dot) {
    const size_t wrow = dtype_row_bytes(w->type, n_in), arow = kern_act_row_bytes(MLLM_ACT_Q8_K, n_in);
    const uint8_t *wd = (const uint8_t *)w->data, *a = (const uint8_t *)xq;
    int64_t r, t;
    if (n_tok == 1) {
        matmul_dots8(out, ldo, w, n_in, n_rows, xq, n_tok, dot8, dot4, dot, MLLM_ACT_Q8_K);
        return;
    }
    for (r = 0; r + QUANT_DOTN_ROWS <= n_rows; r += QUANT_DOTN_ROWS) {
        for (t = 0; t < n_tok; t += QUANT_DOTN_MAX_TOK) {
            const int nt = (int)(n_tok - t < QUANT_DOTN_MAX_TOK ? n_tok - t : QUANT_DOTN_MAX_TOK);
            dotn(n_in, wd + (size_t)r * wrow, wrow, a + (size_t)t * arow, arow, nt, out + t * ldo + r, ldo);
        }
    }
    for (; r < n_rows; r++)
        for (t = 0; t < n_tok; t++) out[t * ldo + r] = dot(n_in, wd + (size_t)r * wrow, a + (size_t)t * arow);
}

#define DEFINEK(name, lc)                                                                                      \
    KERN_QUANT_MATMUL(name) {                                                                                  \
        (void)x, (void)hints;                                                                                  \
        matmul_k(out, ldo, w, n_in, n_rows, xq, n_tok, lc##_dotn_q8_k_simd128, lc##_dot8_q8_k_simd128,         \
                 lc##_dot4_q8_k_simd128, lc##_dot_q8_k_simd128);                                               \
    }

#define DEFINE4(name, dot8, dot4, dot, act)                                                                    \
    KERN_QUANT_MATMUL(name) {                                                                                  \
        (void)x, (void)hints;                                                                                  \
        matmul_dots8(out, ldo, w, n_in, n_rows, xq, n_tok, dot8, dot4, dot, act);                             \
    }

DEFINE4(q4_0_simd128, q4_0_dot8_q8_0_simd128, q4_0_dot4_q8_0_simd128, q4_0_dot_q8_0_simd128, MLLM_ACT_Q8_0)
DEFINE4(q4_1_simd128, q4_1_dot8_q8_1_simd128, q4_1_dot4_q8_1_simd128, q4_1_dot_q8_1_simd128, MLLM_ACT_Q8_1)
DEFINE4(q5_0_simd128, q5_0_dot8_q8_0_simd128, q5_0_dot4_q8_0_simd128, q5_0_dot_q8_0_simd128, MLLM_ACT_Q8_0)
KERN_QUANT_MATMUL(q5_1_simd128) {
    (void)x, (void)hints;
    matmul_dots4(out, ldo, w, n_in, n_rows, xq, n_tok, q5_1_dot4_q8_1_simd128, q5_1_dot_q8_1_simd128, MLLM_ACT_Q8_1);
}
DEFINE4(iq4_nl_simd128, iq4_nl_dot8_q8_0_simd128, iq4_nl_dot4_q8_0_simd128, iq4_nl_dot_q8_0_simd128, MLLM_ACT_Q8_0)
DEFINE4(q2_k_simd128, q2_k_dot8_q8_k_simd128, q2_k_dot4_q8_k_simd128, q2_k_dot_q8_k_simd128, MLLM_ACT_Q8_K)
DEFINEK(q3_k_simd128, q3_k)
/* The same with an x4 layout (x4_layout), met here only where a context turned relaxed SIMD off. */
#define DEFINEK_X4(name, lc, x4_layout)                                                                        \
    KERN_QUANT_MATMUL(name) {                                                                                  \
        (void)x, (void)hints;                                                                                  \
        if (w->layout == (x4_layout)) matmul_k_x4(out, ldo, w, n_in, n_rows, xq, n_tok);                       \
        else                                                                                                   \
            matmul_k(out, ldo, w, n_in, n_rows, xq, n_tok, lc##_dotn_q8_k_simd128, lc##_dot8_q8_k_simd128,     \
                     lc##_dot4_q8_k_simd128, lc##_dot_q8_k_simd128);                                           \
    }
DEFINEK_X4(q4_k_simd128, q4_k, KERN_LAYOUT_Q4_K_X4)
DEFINEK_X4(q5_k_simd128, q5_k, KERN_LAYOUT_Q5_K_X4)
DEFINEK_X4(q6_k_simd128, q6_k, KERN_LAYOUT_Q6_K_X4)
DEFINE4(iq4_xs_simd128, iq4_xs_dot8_q8_k_simd128, iq4_xs_dot4_q8_k_simd128, iq4_xs_dot_q8_k_simd128, MLLM_ACT_Q8_K)

#ifdef MLLM_RELAXED_IMPORT
/* src/kernels_relaxed_quant.c (the relaxed module, supplied by wasm_build/relaxed_library.js):
 * 0 without writing where the engine has no relaxed SIMD, or for a call it does not take. */
int32_t mllm_relaxed_quant(int32_t type, float *out, int32_t ldo, const void *w, int32_t n_in, int32_t n_rows,
                           const void *xq, int32_t n_tok, void *xbuf, int32_t xbytes);

/* src/kernels_relaxed_x4quant.c: Q4_0, Q5_0, Q4_1, Q5_1, IQ4_NL in their x4 layouts (kernels.h); flags:
 * KERN_RELAXED_PLAIN_SCALES, KERN_RELAXED_REUSE. 0 without writing where the engine has no relaxed SIMD or for a
 * call it does not take; n_tok 0: 1 where it runs, without touching out. */
int32_t mllm_relaxed_x4quant(int32_t type, float *out, int32_t ldo, const void *w, int32_t n_in, int32_t n_rows,
                             const void *xq, int32_t n_tok, void *xbuf, int32_t xbytes, int32_t flags);

/* src/kernels_relaxed_iq4.c: IQ4_XS on the file's layout; 0 without writing where the engine's
 * relaxed dot is absent or not exact for operands above 127 (mllm_relaxed_probe), or for a call
 * it does not take; n_tok 0: 1 where it runs. */
int32_t mllm_relaxed_iq4_xs(float *out, int32_t ldo, const void *w, int32_t n_in, int32_t n_rows, const void *xq,
                            int32_t n_tok, void *xbuf, int32_t xbytes);

/* The K types' token layout: 512 bytes per 256 inputs (kernels_relaxed_quant.c KSCR), so two
 * tokens of 16384 inputs; wider rows are declined. */
#define RELAXED_QUANT_SCRATCH 65536
/* The x4 prefill's: 320 bytes per octet of tokens and block of 32, so 64 tokens a pass at 1536
 * inputs where 65536 gave 24 (each pass unpacks every group of rows again; PERF_NOTES.md). The
 * K types' x4 prefill takes the same: 68 tokens a pass of a 1536-input Q6_K matrix where 65536 gave 32. */
#define RELAXED_X4QUANT_SCRATCH 131072

/* Q4_0, Q5_0, Q4_1, Q5_1, IQ4_NL repacked: src/kernels_relaxed_x4quant.c (its own frame: 128 KiB above the caller's 64). */
static __attribute__((noinline)) int x4quant_relaxed(float *out, int64_t ldo, const kern_weights *w, int64_t n_in,
                                                     int64_t n_rows, const void *xq, int64_t n_tok, kern_hints hints) {
    uint8_t buf[RELAXED_X4QUANT_SCRATCH] __attribute__((aligned(16)));
    return mllm_relaxed_x4quant((int32_t)w->type, out, (int32_t)ldo, w->data, (int32_t)n_in, (int32_t)n_rows, xq,
                                (int32_t)n_tok, buf, (int32_t)sizeof buf,
                                (w->plain_scales ? KERN_RELAXED_PLAIN_SCALES : 0) | (hints.reuse ? KERN_RELAXED_REUSE : 0) |
                                    (w->type == MLLM_DTYPE_IQ4_NL ? KERN_RELAXED_UNSIGNED : 0)) == 1;
}

/* Q4_K, Q5_K, Q6_K repacked: src/kernels_relaxed_quant.c, in a frame of its own as x4quant_relaxed's. */
static __attribute__((noinline)) int kx4_relaxed(float *out, int64_t ldo, const kern_weights *w, int64_t n_in, int64_t n_rows,
                                                 const void *xq, int64_t n_tok) {
    uint8_t buf[RELAXED_X4QUANT_SCRATCH] __attribute__((aligned(16)));
    return mllm_relaxed_quant((int32_t)w->type | KERN_RELAXED_QUANT_X4, out, (int32_t)ldo, w->data, (int32_t)n_in,
                              (int32_t)n_rows, xq, (int32_t)n_tok, buf, (int32_t)sizeof buf) == 1;
}

int kern_matmul_quant_relaxed(float *out, int64_t ldo, const kern_weights *w, int64_t n_in, int64_t n_rows,
                              const float *x, const void *xq, int64_t n_tok, kern_hints hints) {
    uint8_t buf[RELAXED_QUANT_SCRATCH] __attribute__((aligned(16)));
    const int x4 = w->layout == KERN_LAYOUT_Q4_K_X4 || w->layout == KERN_LAYOUT_Q5_K_X4 || w->layout == KERN_LAYOUT_Q6_K_X4;
    (void)x, (void)hints;
    if (n_in > INT32_MAX || n_rows > INT32_MAX || n_tok > INT32_MAX || ldo > INT32_MAX || n_tok < 1) return 0;
    if (quant_x4_layout(w->layout)) return x4quant_relaxed(out, ldo, w, n_in, n_rows, xq, n_tok, hints);
    if (x4) return kx4_relaxed(out, ldo, w, n_in, n_rows, xq, n_tok);
    if (w->layout != KERN_LAYOUT_ROWS || w->type == MLLM_DTYPE_IQ4_NL) return 0; /* IQ4_NL's rows: SIMD128 */
    if (w->type == MLLM_DTYPE_IQ4_XS) /* src/kernels_relaxed_iq4.c */
        return mllm_relaxed_iq4_xs(out, (int32_t)ldo, w->data, (int32_t)n_in, (int32_t)n_rows, xq, (int32_t)n_tok, buf,
                                   (int32_t)sizeof buf) == 1;
    /* the file's layout: src/kernels_relaxed_quant.c */
    return mllm_relaxed_quant((int32_t)w->type, out, (int32_t)ldo, w->data, (int32_t)n_in, (int32_t)n_rows, xq,
                              (int32_t)n_tok, buf, (int32_t)sizeof buf) == 1;
}

int kern_quant_relaxed_takes(uint32_t type) {
    uint8_t buf[16] __attribute__((aligned(16)));
    return mllm_relaxed_quant((int32_t)type, NULL, 0, NULL, 0, 0, NULL, 0, buf, 0) == 1;
}
#endif
#endif

int kern_quant_x4_preferred(void) {
#if defined(MLLM_KERNELS_SIMD128) && defined(MLLM_RELAXED_IMPORT)
    uint8_t buf[16] __attribute__((aligned(16)));
    return mllm_relaxed_x4quant(MLLM_DTYPE_Q4_0, NULL, 0, NULL, 32, 0, NULL, 0, buf, 0, 0) == 1;
#else
    return 0;
#endif
}

int kern_iq4_nl_x4_preferred(void) {
#if defined(MLLM_KERNELS_SIMD128) && defined(MLLM_RELAXED_IMPORT)
    uint8_t buf[16] __attribute__((aligned(16)));
    return mllm_relaxed_x4quant(MLLM_DTYPE_IQ4_NL, NULL, 0, NULL, 32, 0, NULL, 0, buf, 0, KERN_RELAXED_UNSIGNED) == 1;
#else
    return 0;
#endif
}

int kern_k_x4_preferred(void) {
#if defined(MLLM_KERNELS_SIMD128) && defined(MLLM_RELAXED_IMPORT)
    return kern_quant_relaxed_takes(MLLM_DTYPE_Q4_K | KERN_RELAXED_QUANT_X4);
#else
    return 0;
#endif
}
