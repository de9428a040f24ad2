/* test_quant_x4.c — Q4_0, IQ4_NL, Q5_0, Q4_1 and Q5_1 in their interleaved layouts (kernels.h
 * KERN_LAYOUT_Q4_0_X4, _Q5_0_X4, _Q4_1_X4, _Q5_1_X4; src/quant_x4.c):
 *  - always: every element read from the repacked bytes by the layout's description in
 *    kernels.h equals the file's dequantized value (ggml's), the repack keeps every byte (the
 *    blocks come back), and the scalar matmul on x4 weights equals the scalar matmul on the
 *    file's bit for bit, whole matrices and stretches of groups (as threads split them);
 *  - built with -msimd128 (tests/node/quant_x4.test.js): the SIMD128 matmul on x4 weights too;
 *  - with the relaxed-SIMD module (-DMLLM_RELAXED_IMPORT, run under the Node LTS): the relaxed
 *    x4 kernels (src/kernels_relaxed_x4quant.c; IQ4_NL's where mllm_relaxed_probe passes), decode and prefill, with and without the plain
 *    scales flag, large and small scratch, 1-17 tokens, 4-100 rows, edge scales (zero, subnormal,
 *    65504, negative) and random bytes: bit for bit the file layout's scalar matmul. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "codec.h"
#include "dtype.h"
#include "kernels_quant.h"
#include "quant_blocks.h"
#include "quant_ref.h"
#include "quant_x4.h"

#define RNG_SEED 88172645u
#include "rng.h"

enum { MAX_IN = 768, MAX_ROWS = 100, MAX_TOK = 17, LDO = 103 };
enum { N_TYPES = 5 };
/* IQ4_NL last: the relaxed sweep leaves it out where the probe fails */
static const uint32_t TYPES[N_TYPES] = {MLLM_DTYPE_Q4_0, MLLM_DTYPE_Q5_0, MLLM_DTYPE_Q4_1, MLLM_DTYPE_Q5_1, MLLM_DTYPE_IQ4_NL};
static const uint32_t LAYOUTS[N_TYPES] = {KERN_LAYOUT_Q4_0_X4, KERN_LAYOUT_Q5_0_X4, KERN_LAYOUT_Q4_1_X4, KERN_LAYOUT_Q5_1_X4,
                                          KERN_LAYOUT_Q4_0_X4};
/* ggml's kvalues_iq4nl (ggml-common.h), written out here as the independent reference */
static const int IQ4NL_LEVELS[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

static uint8_t file_w[MAX_ROWS * (MAX_IN / 32) * 24], x4_w[MAX_ROWS * (MAX_IN / 32) * 24], tmp[4 * (MAX_IN / 32) * 24];
static uint8_t acts[MAX_TOK * (MAX_IN / 32) * sizeof(block_q8_1)] __attribute__((aligned(16))); /* Q8_0 or Q8_1 */
static float xr[MAX_IN], deq[MAX_IN], want[MAX_TOK * LDO], got[MAX_TOK * LDO];


/* Row values with edge scales: kind picks zero blocks, subnormal, huge, one-signed (negative
 * and positive scales), tiny and plain random rows. */
static void fill_row(float *x, int n, int kind) {
    int i;
    for (i = 0; i < n; i++) {
        switch (kind % 7) {
        case 0: x[i] = frand(); break;
        case 1: x[i] = (i / 32) % 3 ? 0.0f : frand(); break;                  /* zero blocks: scale 0 */
        case 2: x[i] = 1e-4f * frand(); break;                                /* subnormal fp16 scales */
        case 3: x[i] = (i / 32) % 2 ? 60000.0f * frand() : 0.02f * frand(); break; /* huge and small */
        case 4: x[i] = 0.5f + 0.5f * (float)(next_u32() % 100) / 100.0f; break; /* positive: negative scales */
        case 5: x[i] = -0.5f - 0.5f * (float)(next_u32() % 100) / 100.0f; break; /* negative: positive scales */
        default: x[i] = 1e-6f * frand() * (float)(1 << (next_u32() % 20)); break;
        }
    }
}

/* 1 for the types whose blocks carry m after d (Q4_1, Q5_1). */
static int with_m(uint32_t type) { return type == MLLM_DTYPE_Q4_1 || type == MLLM_DTYPE_Q5_1; }

/* n_rows rows of n_in into file_w (edge values quantized, or random bytes with finite scales),
 * copied to x4_w and repacked there. */
static void make_rows(uint32_t type, int n_in, int n_rows, int seed, int random_bytes) {
    const size_t wrow = dtype_row_bytes(type, n_in), bb = dtype_block_bytes(type);
    size_t i;
    int r;
    if (random_bytes) {
        for (i = 0; i < (size_t)n_rows * wrow; i++) file_w[i] = (uint8_t)next_u32();
        for (i = 0; i < (size_t)n_rows * wrow; i += bb) /* finite scales (the loader refuses others) */
            if ((file_w[i + 1] & 0x7c) == 0x7c) file_w[i + 1] ^= 0x40;
        if (with_m(type)) /* and m */
            for (i = 2; i < (size_t)n_rows * wrow; i += bb)
                if ((file_w[i + 1] & 0x7c) == 0x7c) file_w[i + 1] ^= 0x40;
    } else {
        for (r = 0; r < n_rows; r++) {
            fill_row(xr, n_in, seed + r);
            CHECK(quant_rows(type, xr, file_w + (size_t)r * wrow, 1, n_in) > 0);
        }
    }
    memcpy(x4_w, file_w, (size_t)n_rows * wrow);
    if (type == MLLM_DTYPE_Q4_0) kern_q4_0_to_x4(x4_w, n_in, n_rows, tmp);
    else if (type == MLLM_DTYPE_IQ4_NL) kern_iq4_nl_to_x4(x4_w, n_in, n_rows, tmp);
    else if (type == MLLM_DTYPE_Q5_0) kern_q5_0_to_x4(x4_w, n_in, n_rows, tmp);
    else if (type == MLLM_DTYPE_Q4_1) kern_q4_1_to_x4(x4_w, n_in, n_rows, tmp);
    else kern_q5_1_to_x4(x4_w, n_in, n_rows, tmp);
}

/* n_tok tokens of n_in in the type's activation format (Q8_0; Q8_1 for Q4_1, Q5_1). */
static void make_tokens(uint32_t type, int n_in, int n_tok, int seed) {
    const int act = dtype_act(type);
    int t;
    for (t = 0; t < n_tok; t++) {
        fill_row(xr, n_in, seed + t);
        if (seed % 3 == 0) xr[t % n_in] = -1000.0f; /* -127 quants */
        kern_quantize_act(act, xr, acts + (size_t)t * kern_act_row_bytes(act, n_in), n_in);
    }
}

/* Element e of row r from the x4 bytes, as kernels.h describes the layout: (level - offset) * d,
 * IQ4_NL's table[nibble] * d, Q4_1 / Q5_1 level * d + m (ggml's dequantize_row_q4_1's order). */
static float x4_element(uint32_t type, uint32_t layout, const uint8_t *w, int nb, int r, int e) {
    const uint8_t *blk = w + ((size_t)(r / 4) * (size_t)nb + (size_t)(e / 32)) * (size_t)quant_x4_block_bytes(layout);
    const int k = e % 32, hi = k >= 16, j = (k % 16) / 4, i = k % 4, h = with_m(type) ? 16 : 8;
    const uint8_t v = blk[h + 16 * j + 4 * (r % 4) + i];
    uint16_t d, m;
    int level;
    memcpy(&d, blk + 2 * (r % 4), 2);
    memcpy(&m, blk + 8 + 2 * (r % 4), 2);
    if (layout == KERN_LAYOUT_Q4_0_X4 || layout == KERN_LAYOUT_Q4_1_X4) {
        level = hi ? v >> 4 : v & 15;
        if (with_m(type)) return (float)level * fp16_to_f32(d) + fp16_to_f32(m);
        return fp16_to_f32(d) * (float)(type == MLLM_DTYPE_IQ4_NL ? IQ4NL_LEVELS[level] : level - 8);
    }
    level = hi ? (v >> 5) | ((blk[h + 64 + 4 * (r % 4) + i] >> (2 * j)) & 3) << 3 : v & 31;
    if (with_m(type)) return (float)level * fp16_to_f32(d) + fp16_to_f32(m);
    return fp16_to_f32(d) * (float)(level - 16);
}

static void test_x4_bytes_hold_the_file_values_as_documented(void) {
    size_t ti;
    int trial, n_checked = 0;
    for (ti = 0; ti < N_TYPES; ti++) {
        const uint32_t type = TYPES[ti], layout = LAYOUTS[ti];
        const size_t wrow = dtype_row_bytes(type, MAX_IN), bb = dtype_block_bytes(type);
        for (trial = 0; trial < 8; trial++) {
            const int n_rows = 4 * (1 + trial % 3), nb = MAX_IN / 32;
            int r, e, b;
            make_rows(type, MAX_IN, n_rows, 11 * trial, trial % 2);
            for (r = 0; r < n_rows; r++) {
                dequantize_row(type, file_w + (size_t)r * wrow, deq, MAX_IN);
                for (e = 0; e < MAX_IN; e++) {
                    if (!same_float(x4_element(type, layout, x4_w, nb, r, e), deq[e])) {
                        check_g.cur_failed++;
                        fprintf(stderr, "  FAIL %s trial %d row %d element %d: %g vs file %g\n", dtype_name(type), trial, r, e,
                                x4_element(type, layout, x4_w, nb, r, e), deq[e]);
                    }
                    n_checked++;
                }
                for (b = 0; b < nb; b++) { /* and each block comes back byte for byte */
                    uint8_t blk[32];
                    quant_x4_block(layout, x4_w, nb, r, b, blk);
                    CHECK(memcmp(blk, file_w + (size_t)r * wrow + (size_t)b * bb, bb) == 0);
                }
            }
        }
    }
    CHECK_EQ_INT(n_checked, N_TYPES * (4 + 8 + 12 + 4 + 8 + 12 + 4 + 8) * MAX_IN);
}

static void test_scale_scan_finds_subnormals_and_nonfinite(void) {
    block_q4_0 b4[3];
    block_q5_0 b5[2];
    int plain = -1;
    memset(b4, 0, sizeof b4);
    memset(b5, 0, sizeof b5);
    b4[0].d = 0xbc00; /* -1 */
    b4[1].d = 0x8000; /* -0 */
    b4[2].d = 0x7bff; /* 65504 */
    CHECK_EQ_INT(q4_0_scan_scales(b4, 3, &plain), -1);
    CHECK_EQ_INT(plain, 1);
    b4[1].d = 0x8001; /* a negative subnormal */
    CHECK_EQ_INT(q4_0_scan_scales(b4, 3, &plain), -1);
    CHECK_EQ_INT(plain, 0);
    b4[2].d = 0x7e00; /* nan */
    CHECK_EQ_INT(q4_0_scan_scales(b4, 3, &plain), 2);
    b5[0].d = 0x0001;
    b5[1].d = 0x3c00;
    CHECK_EQ_INT(q5_0_scan_scales(b5, 2, &plain), -1);
    CHECK_EQ_INT(plain, 0);
    b5[1].d = 0xfc00; /* -inf */
    CHECK_EQ_INT(q5_0_scan_scales(b5, 2, &plain), 1);
    { /* IQ4_NL's scan: the same rules at its block's stride */
        block_iq4_nl bi[3];
        memset(bi, 0, sizeof bi);
        bi[0].d = 0x3c00;
        bi[1].d = 0x0200; /* subnormal */
        bi[2].d = 0xfbff; /* -65504 */
        CHECK_EQ_INT(iq4_nl_scan_scales(bi, 3, &plain), -1);
        CHECK_EQ_INT(plain, 0);
        bi[1].d = 0x8000;
        CHECK_EQ_INT(iq4_nl_scan_scales(bi, 3, &plain), -1);
        CHECK_EQ_INT(plain, 1);
        bi[2].d = 0x7c00; /* inf */
        CHECK_EQ_INT(iq4_nl_scan_scales(bi, 3, &plain), 2);
    }
    { /* Q4_1 and Q5_1: d and m both, each block's */
        block_q4_1 c4[3];
        block_q5_1 c5[2];
        memset(c4, 0, sizeof c4);
        memset(c5, 0, sizeof c5);
        c4[0].d = 0x3c00, c4[0].m = 0xbc00;
        c4[1].d = 0x7bff, c4[1].m = 0xfbff;
        CHECK_EQ_INT(q4_1_scan_scales(c4, 3, &plain), -1);
        CHECK_EQ_INT(plain, 1);
        c4[1].m = 0x8001; /* a negative subnormal m */
        CHECK_EQ_INT(q4_1_scan_scales(c4, 3, &plain), -1);
        CHECK_EQ_INT(plain, 0);
        c4[2].m = 0x7e00; /* nan m */
        CHECK_EQ_INT(q4_1_scan_scales(c4, 3, &plain), 2);
        c5[0].d = 0x3c00, c5[0].m = 0x0200; /* subnormal m */
        CHECK_EQ_INT(q5_1_scan_scales(c5, 2, &plain), -1);
        CHECK_EQ_INT(plain, 0);
        c5[0].m = 0;
        CHECK_EQ_INT(q5_1_scan_scales(c5, 2, &plain), -1);
        CHECK_EQ_INT(plain, 1);
        c5[1].m = 0xfc00; /* -inf m */
        CHECK_EQ_INT(q5_1_scan_scales(c5, 2, &plain), 1);
        c5[1].m = 0, c5[1].d = 0x7c00; /* inf d */
        CHECK_EQ_INT(q5_1_scan_scales(c5, 2, &plain), 1);
    }
}

/* A tied head repacked at load is also the token embedding: every row read back through the
 * type's table row (dtype.h repacked_block, which kern_embed_weights uses) equals the file
 * row's dequantized values (ggml's), and each block comes back byte for byte; edge scales
 * (zero, subnormal, 65504, negative) and random bytes, 4..100 rows. */
static void test_embedding_rows_of_an_x4_head_equal_the_file_rows(void) {
    static const int ROWS[] = {4, 12, 36, 100};
    size_t ti;
    int trial, n_checked = 0;
    for (ti = 0; ti < N_TYPES; ti++) {
        const uint32_t type = TYPES[ti];
        const dtype_traits *tr = dtype_traits_of(type);
        const size_t wrow = dtype_row_bytes(type, MAX_IN), bb = dtype_block_bytes(type);
        CHECK(tr->repacked_block != NULL && tr->repack_layout == LAYOUTS[ti]);
        if (!tr->repacked_block) continue;
        for (trial = 0; trial < 8; trial++) {
            const int n_rows = ROWS[trial % 4], nb = MAX_IN / 32;
            const kern_weights x4 = {x4_w, type, LAYOUTS[ti], 0};
            int r, e, b;
            make_rows(type, MAX_IN, n_rows, 7 * trial + 3, trial >= 4);
            for (r = 0; r < n_rows; r++) {
                float row[MAX_IN];
                dequantize_row(type, file_w + (size_t)r * wrow, deq, MAX_IN);
                kern_embed_weights(row, &x4, r, MAX_IN);
                for (e = 0; e < MAX_IN; e++, n_checked++)
                    if (!same_float(row[e], deq[e])) {
                        check_g.cur_failed++;
                        fprintf(stderr, "  FAIL %s embedding trial %d row %d element %d: %g vs file %g\n", dtype_name(type),
                                trial, r, e, row[e], deq[e]);
                        break;
                    }
                for (b = 0; b < nb; b++) {
                    uint8_t blk[32];
                    tr->repacked_block(x4_w, nb, r, b, blk);
                    CHECK(memcmp(blk, file_w + (size_t)r * wrow + (size_t)b * bb, bb) == 0);
                }
            }
        }
    }
    CHECK_EQ_INT(n_checked, N_TYPES * 2 * (4 + 12 + 36 + 100) * MAX_IN);
}

/* A matmul kernel on x4 weights (rows g0*4.. of the matrix, as a thread's stretch) against the
 * file layout's scalar matmul. Returns the outputs compared. */
typedef int (*matmul_under_test)(float *out, int64_t ldo, const kern_weights *w, int64_t n_in, int64_t n_rows,
                                 const void *xq, int64_t n_tok, int variant);

static int compare(const char *what, uint32_t type, uint32_t layout, int n_in, int n_rows, int n_tok, int g0,
                   int plain, matmul_under_test fn, int variant) {
    const size_t wrow = dtype_row_bytes(type, n_in);
    const kern_weights file = {file_w + (size_t)(4 * g0) * wrow, type, KERN_LAYOUT_ROWS, 0};
    const kern_weights x4 = {x4_w + (size_t)(4 * g0) * wrow, type, layout, (uint32_t)plain};
    const kern_hints none = {0, 0};
    const int rows = n_rows - 4 * g0;
    int t, k, n = 0;
    for (k = 0; k < MAX_TOK * LDO; k++) want[k] = got[k] = -7.0f;
    CHECK(kern_matmul_scalar(want, LDO, &file, n_in, rows, NULL, acts, n_tok, none));
    CHECK(fn(got, LDO, &x4, n_in, rows, acts, n_tok, variant));
    for (t = 0; t < n_tok; t++)
        for (k = 0; k < LDO; k++, n++)
            if (!same_float(got[t * LDO + k], want[t * LDO + k])) {
                check_g.cur_failed++;
                fprintf(stderr, "  FAIL %s %s (variant %d, plain %d) n_in %d rows %d from %d tokens %d: out[%d][%d] %.9g vs %.9g\n",
                        what, dtype_name(type), variant, plain, n_in, rows, 4 * g0, n_tok, t, k, got[t * LDO + k],
                        want[t * LDO + k]);
            }
    return n;
}

/* Every row count, token count and stretch the kernels split on; variants per kernel. */
static int sweep(const char *what, matmul_under_test fn, int n_variants, int random_trials, int n_types) {
    static const int ROWS[] = {4, 8, 12, 28, 32, 36, 44, 64, 100};
    static const int TOKS[] = {1, 2, 3, 4, 5, 8, 9, 16, 17};
    static const int INS[] = {MAX_IN, 32, 96};
    size_t ti, ri;
    int n = 0, trial = 0;
    for (ti = 0; ti < (size_t)n_types; ti++)
        for (ri = 0; ri < sizeof ROWS / sizeof ROWS[0]; ri++, trial++) {
            const int n_rows = ROWS[ri], n_in = INS[ri % 3], random = (int)ri < random_trials;
            int plain = 0, v, k;
            make_rows(TYPES[ti], n_in, n_rows, 5 * trial, random);
            CHECK_EQ_INT(dtype_traits_of(TYPES[ti])->scan_scales(file_w, (int64_t)n_rows * n_in / 32, &plain), -1);
            for (k = 0; k < (int)(sizeof TOKS / sizeof TOKS[0]); k++) {
                make_tokens(TYPES[ti], n_in, TOKS[k], trial + k);
                for (v = 0; v < n_variants; v++) {
                    n += compare(what, TYPES[ti], LAYOUTS[ti], n_in, n_rows, TOKS[k], 0, 0, fn, v);
                    if (plain) n += compare(what, TYPES[ti], LAYOUTS[ti], n_in, n_rows, TOKS[k], 0, 1, fn, v);
                    if (n_rows > 8) /* a stretch starting past the first groups */
                        n += compare(what, TYPES[ti], LAYOUTS[ti], n_in, n_rows, TOKS[k], 1 + k % 2, plain, fn, v);
                }
            }
        }
    return n;
}

static int scalar_x4(float *out, int64_t ldo, const kern_weights *w, int64_t n_in, int64_t n_rows, const void *xq,
                     int64_t n_tok, int variant) {
    const kern_hints none = {0, 0};
    (void)variant;
    return kern_matmul_scalar(out, ldo, w, n_in, n_rows, NULL, xq, n_tok, none);
}

static void test_scalar_matmul_on_x4_equals_file_layout(void) {
    int n = sweep("scalar", scalar_x4, 1, 3, N_TYPES);
    CHECK(n > 100000);
}

#ifdef __wasm_simd128__
static int simd128_x4(float *out, int64_t ldo, const kern_weights *w, int64_t n_in, int64_t n_rows, const void *xq,
                      int64_t n_tok, int variant) {
    const kern_hints none = {0, 0};
    (void)variant;
    dtype_traits_of(w->type)->matmul_simd128(out, ldo, w, n_in, n_rows, NULL, xq, n_tok, none);
    return 1;
}

static void test_simd128_matmul_on_x4_equals_file_layout(void) {
    int n = sweep("simd128", simd128_x4, 1, 3, N_TYPES);
    CHECK(n > 100000);
}

#ifdef MLLM_RELAXED_IMPORT
int32_t mllm_relaxed_x4quant(int32_t type, float *out, int32_t ldo, const void *w, int32_t n_in, int32_t n_rows,
                             const void *xq, int32_t n_tok, void *xbuf, int32_t xbytes, int32_t flags);

/* variant 0: the engine's entry (kern_matmul_quant_relaxed); 1: scratch for one octet of
 * tokens (prefill in passes of 8); 2: scratch too small for the tile (decode, token by token),
 * with the reuse hint's touches. */
static int relaxed_x4(float *out, int64_t ldo, const kern_weights *w, int64_t n_in, int64_t n_rows, const void *xq,
                      int64_t n_tok, int variant) {
    static uint8_t small[(MAX_IN / 32) * (160 + 320)] __attribute__((aligned(16)));
    const kern_hints relaxed = {1, 0};
    const int32_t group = with_m(w->type) ? 160 : 144; /* a group's levels, scales (and m) per block */
    const int32_t nb = (int32_t)n_in / 32, bytes = variant == 1 ? nb * (group + 320) : nb * 8;
    if (variant == 0) return kern_matmul_quant_relaxed(out, ldo, w, n_in, n_rows, NULL, xq, n_tok, relaxed);
    return mllm_relaxed_x4quant((int32_t)w->type, out, (int32_t)ldo, w->data, (int32_t)n_in, (int32_t)n_rows, xq,
                                (int32_t)n_tok, small, bytes,
                                (w->plain_scales ? KERN_RELAXED_PLAIN_SCALES : 0) | (variant == 2 ? KERN_RELAXED_REUSE : 0) |
                                    (w->type == MLLM_DTYPE_IQ4_NL ? KERN_RELAXED_UNSIGNED : 0)) == 1;
}

static void test_relaxed_x4_matmuls_equal_file_layout_scalar(void) {
    int n;
    if (!kern_quant_x4_preferred()) { /* no relaxed SIMD in this engine (Node 20) */
        printf("relaxed x4: not in this engine\n");
        return;
    }
    /* IQ4_NL (the last type) only where the probe passes (an engine reading the dot's operand unsigned) */
    n = sweep("relaxed", relaxed_x4, 3, 3, kern_iq4_nl_x4_preferred() ? N_TYPES : N_TYPES - 1);
    CHECK(n > 300000);
    printf("relaxed x4 outputs compared: %d (IQ4_NL %s)\n", n, kern_iq4_nl_x4_preferred() ? "included" : "not in this engine");
}
#endif
#endif

int main(void) {
    RUN(test_x4_bytes_hold_the_file_values_as_documented);
    RUN(test_scale_scan_finds_subnormals_and_nonfinite);
    RUN(test_embedding_rows_of_an_x4_head_equal_the_file_rows);
    RUN(test_scalar_matmul_on_x4_equals_file_layout);
#ifdef __wasm_simd128__
    RUN(test_simd128_matmul_on_x4_equals_file_layout);
#ifdef MLLM_RELAXED_IMPORT
    RUN(test_relaxed_x4_matmuls_equal_file_layout_scalar);
#endif
#endif
    return check_summary("quant_x4");
}
