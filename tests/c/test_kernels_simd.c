/* test_kernels_simd.c — the kernels the SIMD work added or reshaped (kern_exp, kern_softmax,
 * kern_swiglu, kern_attention) against double-precision references, and — when built with
 * -msimd128 — every SIMD128 kernel against its scalar reference on the same inputs.
 *
 * `make test-c` runs the first part natively (a native build has no SIMD kernels);
 * tests/node/simd.test.js builds this file with emcc -msimd128 and runs all of it under
 * Node. The SIMD kernels perform the scalar kernels' float operations in the same order, so
 * those comparisons are bit for bit (stronger than the 1e-5 relative the issue asks); NaN
 * equals NaN. Inputs reach every code path: ragged row and token counts around the register
 * tiles, fp16 subnormal / inf / nan scales and weights, int8 -128, exact .5 rounding ties,
 * all-zero and non-finite quantization blocks. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "dtype.h"
#include "kernels.h"


#define RNG_SEED 2463534242u
#include "rng.h"


/* ---------------------------------------------------------------- references (always) */

static void test_exp_is_within_2e_7_of_double_and_clamps(void) {
    double worst = 0;
    int i;
    for (i = 0; i <= 200000; i++) {
        float x = -86.0f + 174.0f * (float)i / 200000.0f;
        double e = exp((double)x), rel = fabs((double)kern_exp(x) - e) / e;
        if (rel > worst) worst = rel;
    }
    CHECK(worst < 2e-7);
    CHECK(kern_exp(0.0f) == 1.0f);
    CHECK(kern_exp(-86.5f) == 0.0f && kern_exp(-INFINITY) == 0.0f);
    CHECK(kern_exp(100.0f) == kern_exp(88.0f) && kern_exp(INFINITY) == kern_exp(88.0f));
    CHECK(kern_exp(NAN) != kern_exp(NAN));
}

static void test_swiglu_is_silu_times_up(void) {
    float g[7] = {-100.0f, -3.0f, -0.5f, 0.0f, 0.25f, 2.0f, 100.0f}, u[7] = {1, 2, 3, -1, 0.5f, -2, 1}, o[7];
    int i;
    kern_swiglu(o, g, u, 7);
    for (i = 0; i < 7; i++) CHECK_NEAR(o[i], (double)g[i] / (1.0 + exp(-(double)g[i])) * u[i], 1e-6 * (1 + fabs(g[i])));
}

/* Grouped attention against a double-precision softmax(q k / sqrt(d)) v per head, for a
 * head size that takes the SIMD path (64) and one that does not (12). */
static void check_attention(int32_t head_dim) {
    enum { NQ = 3, NPOS = 37, LD = 200 };
    static float q[NQ * 64], k[NPOS * LD], v[NPOS * LD], out[NQ * 64], scores[NQ * NPOS];
    float scale = 1.0f / sqrtf((float)head_dim);
    int n_pos, h, j, d;
    double worst = 0;
    for (j = 0; j < NQ * 64; j++) q[j] = frand() * 2.0f;
    for (j = 0; j < NPOS * LD; j++) { k[j] = frand(); v[j] = frand(); }
    for (n_pos = 1; n_pos <= NPOS; n_pos += 3) {
        kern_attention(out, q, k + 5, v + 7, LD, head_dim, NQ, n_pos, scale, scores);
        for (h = 0; h < NQ; h++) {
            double s[NPOS], max = -1e300, sum = 0;
            for (j = 0; j < n_pos; j++) {
                double dot = 0;
                for (d = 0; d < head_dim; d++) dot += (double)q[h * head_dim + d] * k[5 + j * LD + d];
                s[j] = dot * scale;
                if (s[j] > max) max = s[j];
            }
            for (j = 0; j < n_pos; j++) sum += s[j] = exp(s[j] - max);
            for (d = 0; d < head_dim; d++) {
                double o = 0;
                for (j = 0; j < n_pos; j++) o += s[j] / sum * v[7 + j * LD + d];
                if (fabs(o - out[h * head_dim + d]) > worst) worst = fabs(o - out[h * head_dim + d]);
            }
        }
    }
    CHECK(worst < 2e-6);
}
static void test_attention_head_dim_64_matches_double(void) { check_attention(64); }
static void test_attention_head_dim_12_matches_double(void) { check_attention(12); }

#ifdef MLLM_KERNELS_SIMD128

/* The weights' scales and layout and the call's hints that the loops below combine, as bits. */
enum { H_PLAIN = 1, H_RELAXED = 2, H_REUSE = 4, H_X4 = 8 };

/* kern_matmul (scalar 0) or kern_matmul_scalar (1) of n_rows Q8_0 rows w with options h. */
static void q8_matmul(int scalar, float *out, int64_t ldo, const void *w, unsigned h, int64_t n_in, int64_t n_rows,
                      const block_q8_0 *xq, int64_t n_tok) {
    const kern_weights kw = {w, MLLM_DTYPE_Q8_0, (h & H_X4) ? KERN_LAYOUT_Q8_0_X4 : KERN_LAYOUT_ROWS, (h & H_PLAIN) != 0};
    const kern_hints hints = {(h & H_RELAXED) != 0, (h & H_REUSE) != 0};
    CHECK(scalar ? kern_matmul_scalar(out, ldo, &kw, n_in, n_rows, NULL, xq, n_tok, hints)
                 : kern_matmul(out, ldo, &kw, n_in, n_rows, NULL, xq, n_tok, hints));
}

/* The same for rows of a float type. */
static void float_matmul(int scalar, float *out, int64_t ldo, const void *w, uint32_t type, int64_t n_in,
                         int64_t n_rows, const float *x, int64_t n_tok) {
    const kern_weights kw = {w, type, KERN_LAYOUT_ROWS, 0};
    const kern_hints hints = {0, 0};
    CHECK(scalar ? kern_matmul_scalar(out, ldo, &kw, n_in, n_rows, x, NULL, n_tok, hints)
                 : kern_matmul(out, ldo, &kw, n_in, n_rows, x, NULL, n_tok, hints));
}

/* ---------------------------------------------------------------- SIMD == scalar */

static int count_diff(const float *a, const float *b, int64_t n) {
    int64_t i;
    int bad = 0;
    for (i = 0; i < n; i++) bad += !same_float(a[i], b[i]);
    return bad;
}

/* Random Q8_0 rows: int8 in [-128, 127] (the file format allows -128), scales drawn from
 * normal, small (fp16-subnormal) and a few zero values. */
static void fill_q8(block_q8_0 *b, int64_t nblocks) {
    int64_t i;
    int j;
    for (i = 0; i < nblocks; i++) {
        uint32_t k = next_u32() % 16;
        if (k == 0) b[i].d = 0;
        else if (k < 5) b[i].d = (uint16_t)(next_u32() % 0x400 | (next_u32() & 0x8000)); /* subnormal */
        else b[i].d = f32_to_fp16(frand() * 0.05f);
        for (j = 0; j < 32; j++) b[i].qs[j] = (int8_t)(next_u32() & 0xff);
    }
}


static void test_quantize_matches_scalar_bit_for_bit(void) {
    enum { N = 32 * 64 };
    static float x[N];
    static block_q8_0 a[N / 32], b[N / 32];
    int i, rep;
    for (rep = 0; rep < 50; rep++) {
        float scale = powf(10.0f, (float)(rep % 12) - 6.0f);
        for (i = 0; i < N; i++) x[i] = frand() * scale;
        /* block 1: exact ties. amax 127 gives d = 1, id = 1, so x*id = x: k + 0.5 exactly */
        for (i = 32; i < 64; i++) x[i] = (float)((i % 20) - 10) + 0.5f;
        x[32] = 127.0f;
        for (i = 64; i < 96; i++) x[i] = 0.0f;                          /* block 2: all zero */
        x[96] = INFINITY;                                              /* block 3: inf */
        x[128 + 5] = NAN;                                              /* block 4: nan */
        x[160] = -INFINITY;                                            /* block 5: -inf */
        for (i = 192; i < 224; i++) x[i] = (float)(i - 200) * 1e-41f;  /* block 6: f32 subnormals */
        /* block 7: d = 1 again, x*id one ulp either side of each tie k + 0.5 */
        for (i = 224; i < 256; i++) x[i] = nextafterf((float)((i % 16) - 8) + 0.5f, (i & 16) ? INFINITY : -INFINITY);
        x[224] = -127.0f;
        /* block 8: amax just above 127 * 2^-126, the smallest whose d = amax / 127 is normal;
         * block 9: just below it (d subnormal) */
        for (i = 256; i < 320; i++) x[i] = frand() * 1.4e-36f;
        x[256] = 127.0f * 0x1p-126f * 1.0000001f;
        x[288] = -127.0f * 0x1p-126f * 0.9999999f;
        kern_quantize_q8_0(x, a, N);
        kern_quantize_q8_0_scalar(x, b, N);
        CHECK(memcmp(a, b, sizeof a) == 0);
    }
}

static void test_dot_and_axpy_match_scalar_bit_for_bit(void) {
    float a[203], b[203], y1[203], y2[203];
    int n, i, bad_dot = 0, bad_axpy = 0;
    for (i = 0; i < 203; i++) { a[i] = frand(); b[i] = frand() * 3.0f; }
    for (n = 0; n <= 203; n++) {
        bad_dot += !same_float(kern_dot_f32(a, b, n), kern_dot_f32_scalar(a, b, n));
        for (i = 0; i < 203; i++) y1[i] = y2[i] = frand();
        kern_axpy_f32(y1, 0.37f, a, n);
        kern_axpy_f32_scalar(y2, 0.37f, a, n);
        bad_axpy += count_diff(y1, y2, 203);
    }
    CHECK_EQ_INT(bad_dot, 0);
    CHECK_EQ_INT(bad_axpy, 0);
}

/* Q8_0 matmul over shapes around the tiles (4-row decode tiles, 4-row x 8-token prefill
 * tiles, zero-padded octets, one to three leftover tokens, and for n_in 1536 two token
 * groups of the kernel's 40). */
static void test_matmul_q8_0_matches_scalar_and_batch_size(void) {
    static const int n_ins[] = {32, 96, 576, 1536};
    static const int rows_list[] = {1, 3, 4, 7, 8, 9, 17, 36, 64};
    static const int toks[] = {1, 2, 3, 4, 5, 8, 11, 13, 43, 45};
    int a, r, t, bad = 0, bad_batch = 0, cases = 0;
    for (a = 0; a < 4; a++)
        for (r = 0; r < 9; r++)
            for (t = 0; t < 10; t++) {
                int n_in = n_ins[a], rows = rows_list[r], n_tok = toks[t], ldo = rows + 3, nb = n_in / 32, i;
                block_q8_0 *w = (block_q8_0 *)malloc(sizeof(block_q8_0) * (size_t)(nb * rows));
                block_q8_0 *xq = (block_q8_0 *)malloc(sizeof(block_q8_0) * (size_t)(nb * n_tok));
                float *x = (float *)malloc(sizeof(float) * (size_t)(n_in * n_tok));
                float *o1 = (float *)malloc(sizeof(float) * (size_t)(ldo * n_tok));
                float *o2 = (float *)malloc(sizeof(float) * (size_t)(ldo * n_tok));
                float *one = (float *)malloc(sizeof(float) * (size_t)ldo);
                fill_q8(w, nb * rows);
                for (i = 0; i < n_in * n_tok; i++) x[i] = frand() * 4.0f;
                kern_quantize_q8_0_scalar(x, xq, n_in * n_tok);
                for (i = 0; i < ldo * n_tok; i++) o1[i] = o2[i] = -7.0f;
                q8_matmul(0, o1, ldo, w, 0, n_in, rows, xq, n_tok);
                q8_matmul(1, o2, ldo, w, 0, n_in, rows, xq, n_tok);
                bad += count_diff(o1, o2, ldo * n_tok); /* includes the untouched gap past rows */
                for (i = 0; i < n_tok; i++) { /* a token alone gives what it gave in the batch */
                    q8_matmul(0, one, ldo, w, 0, n_in, rows, xq + i * nb, 1);
                    bad_batch += count_diff(one, o1 + i * ldo, rows);
                }
                cases++;
                free(w); free(xq); free(x); free(o1); free(o2); free(one);
            }
    CHECK_EQ_INT(cases, 4 * 9 * 10);
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(bad_batch, 0);
}

/* kern_hints.relaxed: a build that links src/kernels_relaxed.c (MLLM_RELAXED_IMPORT; the
 * browser and Node LTS tests run this file so) hands its matmuls to it where the engine's
 * relaxed dot is exact: prefills of 4 or more tokens to its tile, 1-3 tokens to its decode
 * streams (here with scales of every kind); elsewhere the flag changes nothing. Either way the
 * values are the scalar reference's: int8 over its whole range on both sides (-128
 * included), zero and subnormal scales on both sides, short last row sets and octets, two
 * token groups (100 tokens at n_in 1536), and the extreme sums (every quant -128 or 127). */
static void test_matmul_q8_0_relaxed_flag_gives_the_scalar_values(void) {
    static const int n_ins[] = {32, 96, 576, 1536};
    static const int rows_list[] = {1, 3, 4, 5, 9, 36};
    static const int toks[] = {1, 2, 3, 4, 5, 7, 8, 9, 16, 43, 100};
    int a, r, t, e, bad = 0, bad_extreme = 0, cases = 0;
    for (a = 0; a < 4; a++)
        for (r = 0; r < 6; r++)
            for (t = 0; t < 11; t++) {
                int n_in = n_ins[a], rows = rows_list[r], n_tok = toks[t], ldo = rows + 2, nb = n_in / 32;
                block_q8_0 *w = (block_q8_0 *)malloc(sizeof(block_q8_0) * (size_t)(nb * rows));
                block_q8_0 *xq = (block_q8_0 *)malloc(sizeof(block_q8_0) * (size_t)(nb * n_tok));
                float *o1 = (float *)malloc(sizeof(float) * (size_t)(ldo * n_tok));
                float *o2 = (float *)malloc(sizeof(float) * (size_t)(ldo * n_tok));
                int i, j;
                for (e = 0; e < 2; e++) {
                    fill_q8(w, nb * rows);
                    fill_q8(xq, nb * n_tok);
                    if (e) { /* extremes: -128 weights against -128 / 127 tokens, unit scales */
                        for (i = 0; i < nb * rows; i++) {
                            w[i].d = 0x3c00;
                            for (j = 0; j < 32; j++) w[i].qs[j] = -128;
                        }
                        for (i = 0; i < nb * n_tok; i++) {
                            xq[i].d = 0x3c00;
                            for (j = 0; j < 32; j++) xq[i].qs[j] = (int8_t)((i / nb) % 2 ? 127 : -128);
                        }
                    }
                    for (i = 0; i < ldo * n_tok; i++) o1[i] = o2[i] = -7.0f;
                    q8_matmul(0, o1, ldo, w, H_RELAXED, n_in, rows, xq, n_tok);
                    q8_matmul(1, o2, ldo, w, H_RELAXED, n_in, rows, xq, n_tok);
                    if (e) bad_extreme += count_diff(o1, o2, ldo * n_tok);
                    else bad += count_diff(o1, o2, ldo * n_tok); /* includes the untouched gap past rows */
                }
                cases++;
                free(w); free(xq); free(o1); free(o2);
            }
    CHECK_EQ_INT(cases, 4 * 6 * 11);
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(bad_extreme, 0);
}

/* kern_weights.plain_scales only changes how the SIMD kernels convert scales: with every
 * scale +0 or a positive normal half (the smallest and largest exponents), the hinted product
 * equals the unhinted one and the scalar reference, and the scalar kernel ignores the hint.
 * Token magnitudes cycle through ordinary, fp16-subnormal scales (products that underflow),
 * scales near fp16's largest, and scales that overflow to inf: the decode path carries the
 * token scale times 2^112. With kern_hints.relaxed too, decode (1 or 2 tokens) runs on
 * kernels_relaxed.c's streams where that kernel is live (built with its import). */
static void test_matmul_q8_0_plain_scales_hint_gives_the_same_values(void) {
    static const int n_ins[] = {32, 576, 1536};
    static const int rows_list[] = {1, 7, 8, 9, 36, 64};
    static const int toks[] = {1, 2, 5};
    static const float mags[] = {4.0f, 1e-5f, 8.0e6f, 1e9f};
    int a, r, t, bad = 0, cases = 0;
    for (a = 0; a < 3; a++)
        for (r = 0; r < 6; r++)
            for (t = 0; t < 3; t++) {
                int n_in = n_ins[a], rows = rows_list[r], n_tok = toks[t], nb = n_in / 32, i, j;
                block_q8_0 *w = (block_q8_0 *)malloc(sizeof(block_q8_0) * (size_t)(nb * rows));
                block_q8_0 *xq = (block_q8_0 *)malloc(sizeof(block_q8_0) * (size_t)(nb * n_tok));
                float *x = (float *)malloc(sizeof(float) * (size_t)(n_in * n_tok));
                float *o[5];
                for (i = 0; i < 5; i++) o[i] = (float *)malloc(sizeof(float) * (size_t)(rows * n_tok));
                for (i = 0; i < nb * rows; i++) {
                    uint32_t e = 1 + next_u32() % 30; /* biased exponent 1 (2^-14) .. 30 */
                    if (i % 7 == 1) e = 1;
                    if (i % 7 == 2) e = 30;
                    w[i].d = (uint16_t)(e << 10 | (next_u32() & 0x3ff));
                    if (i % 11 == 3) w[i].d = 0;
                    for (j = 0; j < 32; j++) w[i].qs[j] = (int8_t)(next_u32() & 0xff);
                }
                for (i = 0; i < n_in * n_tok; i++) x[i] = frand() * mags[(i / n_in + r + a) % 4];
                kern_quantize_q8_0_scalar(x, xq, n_in * n_tok);
                q8_matmul(0, o[0], rows, w, H_PLAIN, n_in, rows, xq, n_tok);
                q8_matmul(0, o[1], rows, w, 0, n_in, rows, xq, n_tok);
                q8_matmul(1, o[2], rows, w, 0, n_in, rows, xq, n_tok);
                q8_matmul(1, o[3], rows, w, H_PLAIN, n_in, rows, xq, n_tok);
                q8_matmul(0, o[4], rows, w, H_PLAIN | H_RELAXED, n_in, rows, xq, n_tok);
                bad += count_diff(o[0], o[2], rows * n_tok) + count_diff(o[1], o[2], rows * n_tok) +
                       count_diff(o[3], o[2], rows * n_tok) + count_diff(o[4], o[2], rows * n_tok);
                cases++;
                free(w); free(xq); free(x);
                for (i = 0; i < 5; i++) free(o[i]);
            }
    CHECK_EQ_INT(cases, 3 * 6 * 3);
    CHECK_EQ_INT(bad, 0);
}

/* kern_hints.reuse only adds reads: the decode streams run in chunks of about 64 KiB and
 * read each chunk again one chunk later (kernels_q8_simd.h). The values stay the scalar
 * reference's, for 1-3 tokens, with plain and any scales, on the SIMD128 and relaxed
 * streams, where the rows make many chunks and a short last one (n_in 32: 241 steps a
 * chunk; 576: 14; 1536: 6), one chunk, or no whole step at all, plus rows past the 8
 * streams; the scalar kernel ignores the hint. */
static void test_matmul_q8_0_reuse_hint_gives_the_same_values(void) {
    static const int n_ins[] = {32, 576, 1536};
    static const int rows_list[] = {5, 64, 236, 576, 4003};
    static const unsigned hints[] = {0, H_PLAIN, H_RELAXED,
                                     H_PLAIN | H_RELAXED};
    int a, r, t, h, i, j, bad = 0, cases = 0;
    for (a = 0; a < 3; a++)
        for (r = 0; r < 5; r++)
            for (t = 1; t <= 3; t += 2) {
                int n_in = n_ins[a], rows = rows_list[r], n_tok = t, nb = n_in / 32, any;
                block_q8_0 *w, *xq;
                float *ref, *o;
                if (rows == 4003 && n_in != 32) continue; /* 4003 rows only where a chunk is 241 steps */
                w = (block_q8_0 *)malloc(sizeof(block_q8_0) * (size_t)(nb * rows));
                xq = (block_q8_0 *)malloc(sizeof(block_q8_0) * (size_t)(nb * n_tok));
                ref = (float *)malloc(sizeof(float) * (size_t)(rows * n_tok));
                o = (float *)malloc(sizeof(float) * (size_t)(rows * n_tok));
                fill_q8(xq, nb * n_tok);
                for (any = 0; any < 2; any++) {
                    if (any) fill_q8(w, nb * rows); /* negative and subnormal scales too */
                    else
                        for (i = 0; i < nb * rows; i++) { /* plain: +0 or positive normal */
                            w[i].d = i % 13 == 5 ? 0 : (uint16_t)((1 + next_u32() % 30) << 10 | (next_u32() & 0x3ff));
                            for (j = 0; j < 32; j++) w[i].qs[j] = (int8_t)(next_u32() & 0xff);
                        }
                    q8_matmul(1, ref, rows, w, 0, n_in, rows, xq, n_tok);
                    for (h = 0; h < 4; h++) {
                        if (any && (hints[h] & H_PLAIN)) continue;
                        for (i = 0; i < rows * n_tok; i++) o[i] = -7.0f;
                        q8_matmul(0, o, rows, w, hints[h] | H_REUSE, n_in, rows, xq, n_tok);
                        bad += count_diff(o, ref, rows * n_tok);
                        cases++;
                    }
                    for (i = 0; i < rows * n_tok; i++) o[i] = -7.0f;
                    q8_matmul(1, o, rows, w, H_REUSE, n_in, rows, xq, n_tok);
                    bad += count_diff(o, ref, rows * n_tok);
                }
                free(w); free(xq); free(ref); free(o);
            }
    CHECK_EQ_INT(cases, (5 + 4 + 4) * 2 * 6);
    CHECK_EQ_INT(bad, 0);
}

/* KERN_LAYOUT_Q8_0_X4: rows repacked by kern_q8_0_to_x4 give the file layout's scalar values on
 * every path: the scalar reference, the SIMD128 kernel (its fallback), and with
 * kern_hints.relaxed the relaxed decode (1-3 tokens; 8 streams of pairs of groups, plus the
 * groups past them) and prefill tile (4+ tokens, a last partial octet), with plain and any
 * scales and the reuse hint. Extremes too: -128 weights (stored as 0) against -128 / 127
 * tokens. The repack keeps every byte: undoing it by hand gives the rows back. */
static void test_matmul_q8_0_x4_layout_gives_the_scalar_values(void) {
    static const int n_ins[] = {32, 576, 1536};
    static const int rows_list[] = {4, 8, 36, 64, 92, 576};
    static const int toks[] = {1, 3, 4, 9, 16};
    static const unsigned hints[] = {0, H_RELAXED, H_RELAXED | H_REUSE,
                                     H_PLAIN | H_RELAXED,
                                     H_PLAIN | H_RELAXED | H_REUSE};
    int a, r, t, h, e, i, j, bad = 0, bad_bytes = 0, cases = 0;
    for (a = 0; a < 3; a++)
        for (r = 0; r < 6; r++)
            for (t = 0; t < 5; t++)
                for (e = 0; e < 3; e++) { /* 0 plain scales, 1 any scales, 2 extremes */
                    int n_in = n_ins[a], rows = rows_list[r], n_tok = toks[t], nb = n_in / 32, ldo = rows + 3;
                    size_t wbytes = sizeof(block_q8_0) * (size_t)(nb * rows);
                    block_q8_0 *w = (block_q8_0 *)malloc(wbytes), *w4 = (block_q8_0 *)malloc(wbytes);
                    block_q8_0 *xq = (block_q8_0 *)malloc(sizeof(block_q8_0) * (size_t)(nb * n_tok));
                    block_q8_0 *tmp = (block_q8_0 *)malloc(sizeof(block_q8_0) * (size_t)(4 * nb));
                    float *ref = (float *)malloc(sizeof(float) * (size_t)(ldo * n_tok));
                    float *o = (float *)malloc(sizeof(float) * (size_t)(ldo * n_tok));
                    if (rows == 576 && n_in == 1536 && n_tok > 4) goto next; /* enough of the big ones */
                    fill_q8(w, nb * rows);
                    fill_q8(xq, nb * n_tok);
                    for (i = 0; i < nb * rows; i++) {
                        if (e == 0) w[i].d = i % 13 == 5 ? 0 : (uint16_t)((1 + next_u32() % 30) << 10 | (next_u32() & 0x3ff));
                        if (e == 2) {
                            w[i].d = 0x3c00;
                            for (j = 0; j < 32; j++) w[i].qs[j] = -128;
                        }
                    }
                    if (e == 2)
                        for (i = 0; i < nb * n_tok; i++) {
                            xq[i].d = 0x3c00;
                            for (j = 0; j < 32; j++) xq[i].qs[j] = (int8_t)((i / nb) % 2 ? 127 : -128);
                        }
                    memcpy(w4, w, wbytes);
                    kern_q8_0_to_x4(w4, n_in, rows, tmp);
                    { /* by hand: group g, block b, quad j, row k at (g * nb + b) * 136 + 8 + 16 j + 4 k */
                        const uint8_t *p = (const uint8_t *)w4;
                        for (i = 0; i < rows; i++) {
                            int b;
                            for (b = 0; b < nb; b++) {
                                const uint8_t *blk = p + (size_t)((i / 4) * nb + b) * KERN_Q8_0_X4_BLOCK;
                                uint16_t d;
                                memcpy(&d, blk + 2 * (i % 4), 2);
                                bad_bytes += d != w[i * nb + b].d;
                                for (j = 0; j < 32; j++)
                                    bad_bytes += (int8_t)(blk[8 + 16 * (j / 4) + 4 * (i % 4) + j % 4] ^ 0x80) !=
                                                 w[i * nb + b].qs[j];
                            }
                        }
                    }
                    for (i = 0; i < ldo * n_tok; i++) ref[i] = -7.0f;
                    q8_matmul(1, ref, ldo, w, 0, n_in, rows, xq, n_tok);
                    for (h = -1; h < 5; h++) {
                        if (e != 0 && h >= 0 && (hints[h] & H_PLAIN)) continue;
                        for (i = 0; i < ldo * n_tok; i++) o[i] = -7.0f;
                        if (h < 0) q8_matmul(1, o, ldo, w4, H_X4, n_in, rows, xq, n_tok);
                        else q8_matmul(0, o, ldo, w4, H_X4 | hints[h], n_in, rows, xq, n_tok);
                        bad += count_diff(o, ref, ldo * n_tok); /* includes the untouched gap past rows */
                        cases++;
                    }
                next:
                    free(w); free(w4); free(xq); free(tmp); free(ref); free(o);
                }
    CHECK_EQ_INT(cases, (3 * 6 * 5 - 2) * (6 + 4 + 4));
    CHECK_EQ_INT(bad_bytes, 0);
    CHECK_EQ_INT(bad, 0);
}

/* Float-type weights. F16 rows hold every one of the 65536 half bit patterns (subnormals,
 * infinities, nans included) once across the matrix, so any widening error shows. */
static void check_float_type(uint32_t wtype) {
    static const int n_ins[] = {8, 13, 64, 256, 300, 576};
    static const int toks[] = {1, 3, 4, 5, 9};
    int a, t, bad = 0, bad_batch = 0;
    uint16_t pattern = 0;
    for (a = 0; a < 6; a++)
        for (t = 0; t < 5; t++) {
            int n_in = n_ins[a], n_tok = toks[t], rows = 65536 / n_in + 1, ldo = rows + 1, i;
            size_t esz = wtype == MLLM_DTYPE_F32 ? 4 : 2;
            uint8_t *w = (uint8_t *)malloc(esz * (size_t)(n_in * rows));
            float *x = (float *)malloc(sizeof(float) * (size_t)(n_in * n_tok));
            float *o1 = (float *)malloc(sizeof(float) * (size_t)(ldo * n_tok));
            float *o2 = (float *)malloc(sizeof(float) * (size_t)(ldo * n_tok));
            float *one = (float *)malloc(sizeof(float) * (size_t)ldo);
            for (i = 0; i < n_in * rows; i++) {
                if (wtype == MLLM_DTYPE_F32) {
                    float f = frand();
                    memcpy(w + 4 * i, &f, 4);
                } else {
                    memcpy(w + 2 * i, &pattern, 2);
                    pattern++;
                }
            }
            for (i = 0; i < n_in * n_tok; i++) x[i] = frand();
            for (i = 0; i < ldo * n_tok; i++) o1[i] = o2[i] = -7.0f;
            float_matmul(0, o1, ldo, w, wtype, n_in, rows, x, n_tok);
            float_matmul(1, o2, ldo, w, wtype, n_in, rows, x, n_tok);
            bad += count_diff(o1, o2, ldo * n_tok);
            for (i = 0; i < n_tok; i++) {
                float_matmul(0, one, ldo, w, wtype, n_in, rows, x + i * n_in, 1);
                bad_batch += count_diff(one, o1 + i * ldo, rows);
            }
            free(w); free(x); free(o1); free(o2); free(one);
        }
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(bad_batch, 0);
}
static void test_matmul_f32_matches_scalar(void) { check_float_type(MLLM_DTYPE_F32); }
static void test_matmul_f16_matches_scalar_for_every_half(void) { check_float_type(MLLM_DTYPE_F16); }
static void test_matmul_bf16_matches_scalar_for_every_bfloat(void) { check_float_type(MLLM_DTYPE_BF16); }


static void test_softmax_swiglu_attention_match_scalar_bit_for_bit(void) {
    enum { N = 301, LD = 200, NPOS = 70 };
    static float a[N], b[N], g[N], u[N], o1[N], o2[N];
    static float q[4 * 64], k[NPOS * LD], v[NPOS * LD], s1[4 * NPOS], s2[4 * NPOS], att1[4 * 64], att2[4 * 64];
    int n, i, bad_sm = 0, bad_sw = 0, bad_att = 0, hd, nq;
    for (n = 0; n <= N; n += (n < 40 ? 1 : 37)) {
        for (i = 0; i < N; i++) { a[i] = b[i] = frand() * 30.0f; g[i] = frand() * 20.0f; u[i] = frand(); }
        if (n > 3) { a[2] = b[2] = -INFINITY; a[1] = b[1] = 1e30f; }
        kern_softmax(a, n);
        kern_softmax_scalar(b, n);
        bad_sm += count_diff(a, b, n);
        kern_swiglu(o1, g, u, n);
        kern_swiglu_scalar(o2, g, u, n);
        bad_sw += count_diff(o1, o2, n);
    }
    for (i = 0; i < 4 * 64; i++) q[i] = frand() * 3.0f;
    for (i = 0; i < NPOS * LD; i++) { k[i] = frand(); v[i] = frand(); }
    /* 1..4 query heads per call: forward.c hands a group's heads to the kernel whole or in
     * parts (decode on several threads), and each head's result must not depend on which */
    for (nq = 1; nq <= 4; nq++)
        for (hd = 8; hd <= 64; hd += 4)
            for (n = 1; n <= NPOS; n += 7) {
                kern_attention(att1, q, k + 3, v + 1, LD, hd, nq, n, 0.125f, s1);
                kern_attention_scalar(att2, q, k + 3, v + 1, LD, hd, nq, n, 0.125f, s2);
                bad_att += count_diff(att1, att2, nq * hd);
            }
    CHECK_EQ_INT(bad_sm, 0);
    CHECK_EQ_INT(bad_sw, 0);
    CHECK_EQ_INT(bad_att, 0);
}
#endif

int main(void) {
    RUN(test_exp_is_within_2e_7_of_double_and_clamps);
    RUN(test_swiglu_is_silu_times_up);
    RUN(test_attention_head_dim_64_matches_double);
    RUN(test_attention_head_dim_12_matches_double);
#ifdef MLLM_KERNELS_SIMD128
    RUN(test_quantize_matches_scalar_bit_for_bit);
    RUN(test_dot_and_axpy_match_scalar_bit_for_bit);
    RUN(test_matmul_q8_0_matches_scalar_and_batch_size);
    RUN(test_matmul_q8_0_plain_scales_hint_gives_the_same_values);
    RUN(test_matmul_q8_0_relaxed_flag_gives_the_scalar_values);
    RUN(test_matmul_q8_0_reuse_hint_gives_the_same_values);
    RUN(test_matmul_q8_0_x4_layout_gives_the_scalar_values);
    RUN(test_matmul_f32_matches_scalar);
    RUN(test_matmul_f16_matches_scalar_for_every_half);
    RUN(test_matmul_bf16_matches_scalar_for_every_bfloat);
    RUN(test_softmax_swiglu_attention_match_scalar_bit_for_bit);
#endif
    return check_summary("kernels_simd");
}
