/* test_kernels.c — each scalar kernel against a straightforward double-precision
 * computation (or a hand formula) on small inputs. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "dtype.h"
#include "kernels.h"

#define RNG_SEED 12345u
#include "rng.h"
static void fill(float *x, int64_t n, float scale) {
    int64_t i;
    for (i = 0; i < n; i++) x[i] = frand() * scale;
}
static double ddot(const float *a, const float *b, int64_t n) {
    double s = 0;
    int64_t i;
    for (i = 0; i < n; i++) s += (double)a[i] * (double)b[i];
    return s;
}

static void test_quantize_q8_0_matches_hand_formula(void) {
    /* x = (i - 15.3) for i < 32: amax 15.7, d = 15.7/127, q = round(x / d). */
    float x[64];
    block_q8_0 y[2];
    int i;
    for (i = 0; i < 32; i++) x[i] = (float)i - 15.3f;
    for (i = 32; i < 64; i++) x[i] = 0.0f; /* an all-zero block: d = 0, q = 0 */
    kern_quantize_q8_0(x, y, 64);
    CHECK_NEAR(fp16_to_f32(y[0].d), 15.7 / 127.0, 15.7 / 127.0 * 1e-3);
    for (i = 0; i < 32; i++) {
        double q = floor(((double)i - 15.3) / (15.7 / 127.0) + 0.5);
        CHECK_EQ_INT(y[0].qs[i], (int)q);
    }
    CHECK_EQ_INT(y[0].qs[31], 127); /* the largest magnitude maps to +-127 */
    CHECK_EQ_INT(y[1].d, 0);
    for (i = 0; i < 32; i++) CHECK_EQ_INT(y[1].qs[i], 0);
}

static void test_dot_f32_matches_double(void) {
    float a[37], b[37];
    fill(a, 37, 1.0f);
    fill(b, 37, 1.0f);
    CHECK_NEAR(kern_dot_f32(a, b, 37), ddot(a, b, 37), 1e-5);
    CHECK_NEAR(kern_dot_f32(a, b, 5), ddot(a, b, 5), 1e-6);
    CHECK_NEAR(kern_dot_f32(a, b, 0), 0.0, 0.0);
}

static void test_axpy_adds_scaled_vector(void) {
    float y[9], x[9], y0[9];
    int i;
    fill(x, 9, 1.0f);
    fill(y, 9, 1.0f);
    memcpy(y0, y, sizeof y);
    kern_axpy_f32(y, -0.5f, x, 9);
    for (i = 0; i < 9; i++) CHECK_NEAR(y[i], (double)y0[i] - 0.5 * (double)x[i], 1e-6);
}

static const kern_hints no_hints = {0, 0};

/* Weights in a float type: out[t][r] against a double dot of the dequantized row. Rows of
 * 300 elements cross the 256-element conversion tile; ldo > n_rows leaves a gap untouched. */
static void check_float_matmul(uint32_t wtype) {
    enum { N_IN = 300, ROWS = 5, TOK = 3, LDO = 7 };
    float wf[ROWS * N_IN], wdeq[ROWS * N_IN], x[TOK * N_IN], out[TOK * LDO], one[LDO];
    uint8_t wraw[ROWS * N_IN * 4];
    const kern_weights kw = {wraw, wtype, KERN_LAYOUT_ROWS, 0};
    int r, t, i;
    fill(wf, ROWS * N_IN, 1.0f);
    fill(x, TOK * N_IN, 1.0f);
    for (i = 0; i < ROWS * N_IN; i++) {
        if (wtype == MLLM_DTYPE_F32) memcpy(wraw + 4 * i, &wf[i], 4);
        else {
            uint16_t h = wtype == MLLM_DTYPE_F16 ? f32_to_fp16(wf[i]) : f32_to_bf16(wf[i]);
            memcpy(wraw + 2 * i, &h, 2);
        }
    }
    dequantize_row(wtype, wraw, wdeq, ROWS * N_IN);
    for (i = 0; i < TOK * LDO; i++) out[i] = -777.0f;
    CHECK(kern_matmul(out, LDO, &kw, N_IN, ROWS, x, NULL, TOK, no_hints));
    for (t = 0; t < TOK; t++) {
        for (r = 0; r < ROWS; r++) CHECK_NEAR(out[t * LDO + r], ddot(wdeq + r * N_IN, x + t * N_IN, N_IN), 1e-4);
        for (r = ROWS; r < LDO; r++) CHECK_EQ_INT(out[t * LDO + r], -777);
    }
    /* A token's result does not depend on the batch it was computed in. */
    CHECK(kern_matmul(one, LDO, &kw, N_IN, ROWS, x + 2 * N_IN, NULL, 1, no_hints));
    for (r = 0; r < ROWS; r++) CHECK(one[r] == out[2 * LDO + r]);
}

static void test_widen_row_is_exact_for_every_half_and_bfloat(void) {
    static uint16_t all[65536];
    static float got[65536];
    uint32_t i, a, b;
    float ref;
    int bad_f16 = 0, bad_bf16 = 0;
    for (i = 0; i < 65536; i++) all[i] = (uint16_t)i;
    kern_widen_row(MLLM_DTYPE_F16, all, got, 65536);
    for (i = 0; i < 65536; i++) {
        ref = fp16_to_f32((uint16_t)i);
        memcpy(&a, &ref, 4);
        memcpy(&b, &got[i], 4);
        bad_f16 += a != b;
    }
    kern_widen_row(MLLM_DTYPE_BF16, all, got, 65536);
    for (i = 0; i < 65536; i++) {
        ref = bf16_to_f32((uint16_t)i);
        memcpy(&a, &ref, 4);
        memcpy(&b, &got[i], 4);
        bad_bf16 += a != b;
    }
    CHECK_EQ_INT(bad_f16, 0);
    CHECK_EQ_INT(bad_bf16, 0);
    /* spot values a reader can check by hand */
    all[0] = 0x3c00; all[1] = 0xc000; all[2] = 0x0001; all[3] = 0x7bff;
    kern_widen_row(MLLM_DTYPE_F16, all, got, 4);
    CHECK(got[0] == 1.0f && got[1] == -2.0f && got[2] == ldexpf(1.0f, -24) && got[3] == 65504.0f);
}

static void test_matmul_f32_matches_double(void) { check_float_matmul(MLLM_DTYPE_F32); }
static void test_matmul_f16_matches_double(void) { check_float_matmul(MLLM_DTYPE_F16); }
static void test_matmul_bf16_matches_double(void) { check_float_matmul(MLLM_DTYPE_BF16); }

/* ggml's ggml_vec_dot_q8_0_q8_0 (scalar), transcribed: the exact value the kernel owes. */
static float ggml_vec_dot_q8_0_q8_0_ref(const block_q8_0 *x, const block_q8_0 *y, int n) {
    int nb = n / 32, ib, j;
    float sumf = 0;
    for (ib = 0; ib < nb; ++ib) {
        int sumi = 0;
        for (j = 0; j < 32; j++) sumi += x[ib].qs[j] * y[ib].qs[j];
        sumf += sumi * (fp16_to_f32(x[ib].d) * fp16_to_f32(y[ib].d));
    }
    return sumf;
}

static void test_matmul_q8_0_is_ggml_vec_dot_and_within_quantization_bound(void) {
    enum { N_IN = 96, NB = N_IN / 32, ROWS = 4, TOK = 3 };
    float wf[ROWS * N_IN], x[TOK * N_IN], out[TOK * ROWS], one[ROWS];
    block_q8_0 wq[ROWS * NB], xq[TOK * NB];
    const kern_weights kw = {wq, MLLM_DTYPE_Q8_0, KERN_LAYOUT_ROWS, 0};
    int r, t, b, i;
    fill(wf, ROWS * N_IN, 2.0f);
    fill(x, TOK * N_IN, 3.0f);
    for (r = 0; r < ROWS; r++) quantize_row_q8_0(wf + r * N_IN, wq + r * NB, N_IN);
    for (t = 0; t < TOK; t++) kern_quantize_q8_0(x + t * N_IN, xq + t * NB, N_IN);
    CHECK(kern_matmul(out, ROWS, &kw, N_IN, ROWS, NULL, xq, TOK, no_hints));
    for (t = 0; t < TOK; t++) {
        for (r = 0; r < ROWS; r++) {
            const float *wr = wf + r * N_IN, *xt = x + t * N_IN;
            double exact = ddot(wr, xt, N_IN), bound = 0;
            /* Each quantized value is within 0.6*d of the original (half a step, plus the
             * fp16 rounding of d times at most 127 steps); a product's error is then bounded
             * by |w| ex + |x| ew + ew ex. */
            for (b = 0; b < NB; b++) {
                double dw = fp16_to_f32(wq[r * NB + b].d) * 0.6, dx = fp16_to_f32(xq[t * NB + b].d) * 0.6;
                for (i = b * 32; i < b * 32 + 32; i++) bound += fabs(wr[i]) * dx + fabs(xt[i]) * dw + dw * dx;
            }
            CHECK(out[t * ROWS + r] == ggml_vec_dot_q8_0_q8_0_ref(wq + r * NB, xq + t * NB, N_IN));
            CHECK_NEAR(out[t * ROWS + r], exact, bound);
            CHECK(fabs(out[t * ROWS + r] - exact) < 0.05 * fabs(exact) + 0.5); /* and the bound is not vacuous */
        }
    }
    CHECK(kern_matmul(one, ROWS, &kw, N_IN, ROWS, NULL, xq + NB, 1, no_hints));
    for (r = 0; r < ROWS; r++) CHECK(one[r] == out[1 * ROWS + r]);
}

static void test_rmsnorm_matches_double(void) {
    float x[10], w[10], out[10];
    uint16_t wh[10];
    double ss = 0, scale;
    int i;
    fill(x, 10, 2.0f);
    fill(w, 10, 1.0f);
    for (i = 0; i < 10; i++) ss += (double)x[i] * x[i];
    scale = 1.0 / sqrt(ss / 10.0 + 1e-5);
    kern_rmsnorm(out, x, w, MLLM_DTYPE_F32, 10, 1e-5f);
    for (i = 0; i < 10; i++) CHECK_NEAR(out[i], (double)x[i] * scale * w[i], 1e-6);
    for (i = 0; i < 10; i++) wh[i] = f32_to_fp16(w[i]);
    kern_rmsnorm(out, x, wh, MLLM_DTYPE_F16, 10, 1e-5f);
    for (i = 0; i < 10; i++) CHECK_NEAR(out[i], (double)x[i] * scale * fp16_to_f32(wh[i]), 1e-6);
    /* in place */
    memcpy(out, x, sizeof x);
    kern_rmsnorm(out, out, w, MLLM_DTYPE_F32, 10, 1e-5f);
    for (i = 0; i < 10; i++) CHECK_NEAR(out[i], (double)x[i] * scale * w[i], 1e-6);
}

/* Llama 4's weightless q/k norm: each head of 3 is scaled by its own 1/sqrt(mean(v^2) + eps). */
static void test_head_rmsnorm_normalizes_each_head_alone(void) {
    enum { NH = 3, HD = 8 };
    float x[NH * HD], x0[NH * HD];
    int h, i;
    fill(x, NH * HD, 3.0f);
    for (i = 0; i < HD; i++) x[HD + i] *= 100.0f; /* head 1 much larger: its scale alone changes */
    memcpy(x0, x, sizeof x);
    kern_head_rmsnorm(x, NH, HD, 1e-5f);
    for (h = 0; h < NH; h++) {
        double ss = 0;
        for (i = 0; i < HD; i++) ss += (double)x0[h * HD + i] * x0[h * HD + i];
        for (i = 0; i < HD; i++) CHECK_NEAR(x[h * HD + i], x0[h * HD + i] / sqrt(ss / HD + 1e-5), 1e-5);
    }
}

static void test_rope_rotates_adjacent_pairs_by_hand_formula(void) {
    /* 2 heads of head_dim 10, n_rot 8: pairs (0,1),(2,3),(4,5),(6,7) rotate, 8 and 9 stay. */
    enum { HD = 10, NROT = 8 };
    float x[2 * HD], x0[2 * HD], cs[NROT];
    int pos = 7, h, i;
    fill(x, 2 * HD, 1.0f);
    memcpy(x0, x, sizeof x);
    kern_rope_table(cs, pos, NROT, 10000.0f);
    kern_rope(x, 2, HD, NROT, cs);
    for (h = 0; h < 2; h++) {
        const float *a = x0 + h * HD;
        for (i = 0; i < NROT / 2; i++) {
            double theta = pos * pow(10000.0, -2.0 * i / NROT);
            CHECK_NEAR(x[h * HD + 2 * i], a[2 * i] * cos(theta) - a[2 * i + 1] * sin(theta), 1e-6);
            CHECK_NEAR(x[h * HD + 2 * i + 1], a[2 * i] * sin(theta) + a[2 * i + 1] * cos(theta), 1e-6);
        }
        CHECK(x[h * HD + 8] == a[8] && x[h * HD + 9] == a[9]);
    }
    /* position 0 is the identity */
    kern_rope_table(cs, 0, NROT, 10000.0f);
    memcpy(x, x0, sizeof x);
    kern_rope(x, 2, HD, NROT, cs);
    for (i = 0; i < 2 * HD; i++) CHECK_NEAR(x[i], x0[i], 0);
}

static void test_softmax_matches_double_and_survives_large_inputs(void) {
    float x[5] = {1000.0f, 1001.0f, 999.0f, -5.0f, 1001.0f};
    double e[5], s = 0;
    int i;
    for (i = 0; i < 5; i++) s += e[i] = exp((double)x[i] - 1001.0);
    kern_softmax(x, 5);
    for (i = 0; i < 5; i++) CHECK_NEAR(x[i], e[i] / s, 1e-6);
}

static void test_swiglu_matches_double(void) {
    float g[6] = {-3.0f, -0.5f, 0.0f, 0.25f, 2.0f, 8.0f}, u[6] = {1.0f, 2.0f, 3.0f, -1.0f, 0.5f, -2.0f}, o[6];
    int i;
    kern_swiglu(o, g, u, 6);
    for (i = 0; i < 6; i++) CHECK_NEAR(o[i], (double)g[i] / (1.0 + exp(-(double)g[i])) * u[i], 1e-6);
}

static void test_embed_reads_row_of_each_type(void) {
    enum { N = 64, ROWS = 3 };
    float t[ROWS * N], out[N];
    uint16_t h[ROWS * N], bf[ROWS * N];
    block_q8_0 q[ROWS * N / 32];
    int i;
    fill(t, ROWS * N, 1.0f);
    for (i = 0; i < ROWS * N; i++) { h[i] = f32_to_fp16(t[i]); bf[i] = f32_to_bf16(t[i]); }
    for (i = 0; i < ROWS; i++) quantize_row_q8_0(t + i * N, q + i * (N / 32), N);
    kern_embed(out, t, MLLM_DTYPE_F32, 2, N);
    for (i = 0; i < N; i++) CHECK(out[i] == t[2 * N + i]);
    kern_embed(out, h, MLLM_DTYPE_F16, 1, N);
    for (i = 0; i < N; i++) CHECK(out[i] == fp16_to_f32(h[N + i]));
    kern_embed(out, bf, MLLM_DTYPE_BF16, 2, N);
    for (i = 0; i < N; i++) CHECK(out[i] == bf16_to_f32(bf[2 * N + i]));
    kern_embed(out, q, MLLM_DTYPE_Q8_0, 1, N);
    for (i = 0; i < N; i++) CHECK(out[i] == fp16_to_f32(q[2 + i / 32].d) * q[2 + i / 32].qs[i % 32]);
}

/* A tied Q8_0 head repacked at load (KERN_LAYOUT_Q8_0_X4) is also the token embedding: every
 * row read through kern_embed_weights is d * q by hand from the file's blocks, and the type's
 * repacked_block gives each block back byte for byte. Edge scales: zero, subnormal, 65504,
 * negative; quants -128 and 127. */
static void test_embed_reads_every_row_of_a_q8_0_x4_head(void) {
    enum { N = 576, NB = N / 32, ROWS = 44 };
    static const uint16_t scales[] = {0x0000, 0x0001, 0x03ff, 0x7bff, 0xfbff, 0x8000, 0xbc00, 0x2e66};
    static block_q8_0 file[ROWS * NB], x4[ROWS * NB], tmp[4 * NB];
    const dtype_traits *tr = dtype_traits_of(MLLM_DTYPE_Q8_0);
    const kern_weights w = {x4, MLLM_DTYPE_Q8_0, KERN_LAYOUT_Q8_0_X4, 0};
    float out[N];
    int r, b, j, bad = 0, bad_blocks = 0;
    for (r = 0; r < ROWS * NB; r++) {
        file[r].d = r % 3 ? scales[r % 8] : f32_to_fp16(frand());
        for (j = 0; j < 32; j++) file[r].qs[j] = (int8_t)(r % 5 == 1 ? (j % 2 ? 127 : -128) : (int)(frand() * 128.0f));
    }
    memcpy(x4, file, sizeof file);
    kern_q8_0_to_x4(x4, N, ROWS, tmp);
    CHECK(tr->repacked_block != NULL && tr->repack_layout == KERN_LAYOUT_Q8_0_X4);
    if (!tr->repacked_block) return;
    for (r = 0; r < ROWS; r++) {
        kern_embed_weights(out, &w, r, N);
        for (j = 0; j < N; j++) {
            const block_q8_0 *blk = &file[r * NB + j / 32];
            bad += !(out[j] == fp16_to_f32(blk->d) * (float)blk->qs[j % 32]);
        }
        for (b = 0; b < NB; b++) {
            block_q8_0 got;
            memset(&got, 0x55, sizeof got);
            tr->repacked_block(x4, NB, r, b, &got);
            bad_blocks += memcmp(&got, &file[r * NB + b], sizeof got) != 0;
        }
    }
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(bad_blocks, 0);
}

/* A type without a kernel (IQ2_XXS) is never run through another type's path: kern_matmul
 * declines it and leaves out as it was. */
static void test_matmul_declines_a_type_without_kernel(void) {
    uint8_t w[66 * 2] = {0};
    float x[256] = {0}, out[2] = {-5.0f, -5.0f};
    const kern_weights kw = {w, MLLM_DTYPE_IQ2_XXS, KERN_LAYOUT_ROWS, 0};
    CHECK_EQ_INT(kern_matmul(out, 2, &kw, 256, 2, x, NULL, 1, no_hints), 0);
    CHECK_EQ_INT(kern_matmul_scalar(out, 2, &kw, 256, 2, x, NULL, 1, no_hints), 0);
    CHECK(out[0] == -5.0f && out[1] == -5.0f);
}

int main(void) {
    RUN(test_matmul_declines_a_type_without_kernel);
    RUN(test_quantize_q8_0_matches_hand_formula);
    RUN(test_dot_f32_matches_double);
    RUN(test_axpy_adds_scaled_vector);
    RUN(test_head_rmsnorm_normalizes_each_head_alone);
    RUN(test_widen_row_is_exact_for_every_half_and_bfloat);
    RUN(test_matmul_f32_matches_double);
    RUN(test_matmul_f16_matches_double);
    RUN(test_matmul_bf16_matches_double);
    RUN(test_matmul_q8_0_is_ggml_vec_dot_and_within_quantization_bound);
    RUN(test_rmsnorm_matches_double);
    RUN(test_rope_rotates_adjacent_pairs_by_hand_formula);
    RUN(test_softmax_matches_double_and_survives_large_inputs);
    RUN(test_swiglu_matches_double);
    RUN(test_embed_reads_row_of_each_type);
    RUN(test_embed_reads_every_row_of_a_q8_0_x4_head);
    return check_summary("kernels");
}
