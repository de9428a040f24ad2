/* test_quant_simd.c — the dot products of the 4/5/6-bit types (src/quant_dot.c):
 *  - always: each equals the double-precision dot of the dequantized rows within 1e-5 of the
 *    sum of |products| (an independent check of block layouts and scales; for Q4_1/Q5_1 the
 *    min term takes Q8_1's stored fp16 sum, as ggml defines it);
 *  - built with -msimd128 (tests/node/quant_simd.test.js runs it under Node): every SIMD128
 *    dot (src/quant_dot_simd128.c), one row, four or eight at once, equals the scalar one bit for
 *    bit (NaN equals NaN), on
 *    random block bytes (any fp16 scale: subnormal, inf, nan; int8 -128 activations) and on
 *    blocks the quantizers wrote from rows with edge values;
 *  - built with the relaxed-SIMD module too (-DMLLM_RELAXED_IMPORT, tests/node/relaxed.test.js
 *    runs it under the Node LTS): every matmul the module takes (src/kernels_relaxed_quant.c)
 *    equals the scalar reference matmul bit for bit, for row counts that are and are not
 *    multiples of 4 and 8, one token and several, an output stride past the rows. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "codec.h"
#include "dtype.h"
#include "kernels_quant.h"
#include "quant_dot.h"
#include "quant_ref.h"

#define RNG_SEED 2463534242u
#include "rng.h"

/* type, its activation type, scalar dot, SIMD128 dot */
typedef struct dot_row {
    uint32_t type, act;
    quant_dot_fn scalar;
#ifdef __wasm_simd128__
    quant_dot_fn simd;
#define ROW_SIMD(f) , f
#else
#define ROW_SIMD(f)
#endif
} dot_row;
static const dot_row TYPES[] = {
    {MLLM_DTYPE_Q4_0, MLLM_DTYPE_Q8_0, q4_0_dot_q8_0 ROW_SIMD(q4_0_dot_q8_0_simd128)},
    {MLLM_DTYPE_Q4_1, MLLM_DTYPE_Q8_1, q4_1_dot_q8_1 ROW_SIMD(q4_1_dot_q8_1_simd128)},
    {MLLM_DTYPE_Q5_0, MLLM_DTYPE_Q8_0, q5_0_dot_q8_0 ROW_SIMD(q5_0_dot_q8_0_simd128)},
    {MLLM_DTYPE_Q5_1, MLLM_DTYPE_Q8_1, q5_1_dot_q8_1 ROW_SIMD(q5_1_dot_q8_1_simd128)},
    {MLLM_DTYPE_IQ4_NL, MLLM_DTYPE_Q8_0, iq4_nl_dot_q8_0 ROW_SIMD(iq4_nl_dot_q8_0_simd128)},
    {MLLM_DTYPE_Q2_K, MLLM_DTYPE_Q8_K, q2_k_dot_q8_k ROW_SIMD(q2_k_dot_q8_k_simd128)},
    {MLLM_DTYPE_Q3_K, MLLM_DTYPE_Q8_K, q3_k_dot_q8_k ROW_SIMD(q3_k_dot_q8_k_simd128)},
    {MLLM_DTYPE_Q4_K, MLLM_DTYPE_Q8_K, q4_k_dot_q8_k ROW_SIMD(q4_k_dot_q8_k_simd128)},
    {MLLM_DTYPE_Q5_K, MLLM_DTYPE_Q8_K, q5_k_dot_q8_k ROW_SIMD(q5_k_dot_q8_k_simd128)},
    {MLLM_DTYPE_Q6_K, MLLM_DTYPE_Q8_K, q6_k_dot_q8_k ROW_SIMD(q6_k_dot_q8_k_simd128)},
    {MLLM_DTYPE_IQ4_XS, MLLM_DTYPE_Q8_K, iq4_xs_dot_q8_k ROW_SIMD(iq4_xs_dot_q8_k_simd128)},
};
#define N_TYPES (sizeof TYPES / sizeof TYPES[0])
#define ROW 768 /* three super-blocks */

static uint8_t wbuf[ROW / 32 * 36 + 64], abuf[ROW / 256 * 292 + 64];
static float xw[ROW], xa[ROW], dw[ROW], da[ROW];

/* activations of the weight type's dot type quantized from x */
static void quantize_act(uint32_t at, const float *x, void *a) {
    if (at == MLLM_DTYPE_Q8_0) quantize_row_q8_0(x, a, ROW);
    else if (at == MLLM_DTYPE_Q8_1) q8_1_quantize(x, a, ROW);
    else q8_k_quantize(x, a, ROW);
}

static void fill_row(float *x, int kind) {
    int i;
    for (i = 0; i < ROW; i++) {
        switch (kind % 5) {
        case 0: x[i] = 0.05f * frand(); break;
        case 1: x[i] = (i / 32) % 3 ? 0.0f : frand(); break;           /* zero blocks */
        case 2: x[i] = i == 100 ? 9.0f : 0.01f * frand(); break;         /* outlier */
        case 3: x[i] = 0.8f + 0.2f * frand(); break;                     /* one sign: large sums */
        default: x[i] = 1e-6f * frand() * (float)(1 << (next_u32() % 16)); break;
        }
    }
}

static void test_scalar_dot_matches_dequantized_rows(void) {
    size_t t;
    int kind;
    for (t = 0; t < N_TYPES; t++) {
        uint32_t wt = TYPES[t].type, at = TYPES[t].act;
        quant_dot_fn dot = TYPES[t].scalar;
        for (kind = 0; kind < 10; kind++) {
            double ref = 0, mag = 0;
            int i;
            fill_row(xw, kind);
            fill_row(xa, kind + 3);
            CHECK(quant_rows(wt, xw, wbuf, 1, ROW) > 0);
            quantize_act(at, xa, abuf);
            dequantize_row(wt, wbuf, dw, ROW);
            dequantize_row(at, abuf, da, ROW);
            for (i = 0; i < ROW; i++) {
                ref += (double)dw[i] * da[i];
                mag += fabs((double)dw[i] * da[i]);
            }
            if (at == MLLM_DTYPE_Q8_1) {
                /* ggml's Q8_1 carries s = fp16(d * sum(q)): the min term uses that rounded sum */
                const block_q8_1 *a1 = (const block_q8_1 *)(const void *)abuf;
                int b;
                for (b = 0; b < ROW / 32; b++) {
                    /* Q4_1 and Q5_1 both start with fp16 d, fp16 m */
                    uint16_t mh;
                    double sum_a = 0;
                    memcpy(&mh, wbuf + (size_t)b * dtype_block_bytes(wt) + 2, 2);
                    for (i = 0; i < 32; i++) sum_a += da[b * 32 + i];
                    ref += (double)fp16_to_f32(mh) * ((double)fp16_to_f32(a1[b].s) - sum_a);
                }
            }
            CHECK_NEAR(dot(ROW, wbuf, abuf), ref, 1e-5 * mag + 1e-30);
        }
    }
}

#ifdef __wasm_simd128__
/* The SIMD128 Q8_1 quantizer (the activations of Q4_1, Q5_1) equals the reference byte for byte:
 * random blocks of every magnitude, ties of roundf, and the blocks it hands to the reference
 * (inf, nan, f32 subnormals, a scale that underflows). */
static void test_simd_q8_1_quantizer_equals_reference(void) {
    enum { N = 320 };
    static float x[N];
    static block_q8_1 a[N / 32], b[N / 32];
    int trial, i;
    for (trial = 0; trial < 200; trial++) {
        const float scale = ldexpf(1.0f, (int)(next_u32() % 60) - 30);
        for (i = 0; i < N; i++) x[i] = frand() * scale;
        x[32] = 127.0f;                                                /* block 1: d = 1 */
        for (i = 64; i < 96; i++) x[i] = 0.0f;                          /* block 2: all zero */
        if (trial % 2) {
            x[96] = INFINITY;                                          /* block 3: inf */
            x[128 + 5] = NAN;                                          /* block 4: nan */
        }
        for (i = 160; i < 192; i++) x[i] = (float)(i - 170) * 1e-41f;  /* block 5: f32 subnormals */
        /* block 6: d = 1, x*id one ulp either side of each tie k + 0.5 */
        for (i = 192; i < 224; i++) x[i] = nextafterf((float)((i % 16) - 8) + 0.5f, (i & 16) ? INFINITY : -INFINITY);
        x[192] = -127.0f;
        /* block 7: amax just above 127 * 2^-126; block 8: just below it (d subnormal) */
        for (i = 224; i < 288; i++) x[i] = frand() * 1.4e-36f;
        x[224] = 127.0f * 0x1p-126f * 1.0000001f;
        x[256] = -127.0f * 0x1p-126f * 0.9999999f;
        memset(a, 0x55, sizeof a);
        memset(b, 0xaa, sizeof b);
        q8_1_quantize_simd128(x, a, N);
        q8_1_quantize(x, b, N);
        CHECK(memcmp(a, b, sizeof a) == 0);
    }
}

static void test_simd_dots_equal_scalar_bit_for_bit(void) {
    size_t t;
    int trial, n_checked = 0;
    for (t = 0; t < N_TYPES; t++) {
        uint32_t wt = TYPES[t].type, at = TYPES[t].act;
        quant_dot_fn ref = TYPES[t].scalar, simd = TYPES[t].simd;
        size_t wb = (size_t)(ROW / dtype_block_elems(wt)) * dtype_block_bytes(wt);
        size_t ab = (size_t)(ROW / dtype_block_elems(at)) * dtype_block_bytes(at);
        CHECK(simd != NULL);
        if (!simd) continue;
        for (trial = 0; trial < 400; trial++) {
            size_t i;
            int n = trial % 3 == 0 ? (int)dtype_block_elems(wt) : ROW; /* one block, or three super-blocks */
            float r, s;
            if (trial < 200) { /* random bytes: every level, any scale, -128 activations */
                for (i = 0; i < wb; i++) wbuf[i] = (uint8_t)next_u32();
                for (i = 0; i < ab; i++) abuf[i] = (uint8_t)next_u32();
                if (at == MLLM_DTYPE_Q8_K && trial % 2) { /* finite activation scales too */
                    block_q8_K *k = (block_q8_K *)(void *)abuf;
                    for (i = 0; i < (size_t)ROW / QK_K; i++) k[i].d = frand();
                }
            } else {
                fill_row(xw, trial);
                fill_row(xa, trial / 7);
                quant_rows(wt, xw, wbuf, 1, ROW);
                quantize_act(at, xa, abuf);
            }
            r = ref(n, wbuf, abuf);
            s = simd(n, wbuf, abuf);
            if (!same_float(r, s)) {
                check_g.cur_failed++;
                fprintf(stderr, "  FAIL type %u trial %d n %d: simd %.9g vs scalar %.9g\n", (unsigned)wt, trial, n, s, r);
            }
            n_checked++;
        }
    }
    CHECK_EQ_INT(n_checked, (int)N_TYPES * 400);
}

/* The four-row dots of every type, and their eight-row dots (two groups of four far apart),
 * equal each row's scalar dot. */
static void test_simd_dot4_equals_scalar_per_row(void) {
    static const struct {
        uint32_t type, act;
        quant_dot_fn scalar;
        quant_dot4_fn dot4;
        quant_dot8_fn dot8;
    } T4[] = {
        {MLLM_DTYPE_Q4_0, MLLM_DTYPE_Q8_0, q4_0_dot_q8_0, q4_0_dot4_q8_0_simd128, q4_0_dot8_q8_0_simd128},
        {MLLM_DTYPE_Q4_1, MLLM_DTYPE_Q8_1, q4_1_dot_q8_1, q4_1_dot4_q8_1_simd128, q4_1_dot8_q8_1_simd128},
        {MLLM_DTYPE_Q5_0, MLLM_DTYPE_Q8_0, q5_0_dot_q8_0, q5_0_dot4_q8_0_simd128, q5_0_dot8_q8_0_simd128},
        {MLLM_DTYPE_Q5_1, MLLM_DTYPE_Q8_1, q5_1_dot_q8_1, q5_1_dot4_q8_1_simd128, q5_1_dot8_q8_1_simd128},
        {MLLM_DTYPE_IQ4_NL, MLLM_DTYPE_Q8_0, iq4_nl_dot_q8_0, iq4_nl_dot4_q8_0_simd128, iq4_nl_dot8_q8_0_simd128},
        {MLLM_DTYPE_Q2_K, MLLM_DTYPE_Q8_K, q2_k_dot_q8_k, q2_k_dot4_q8_k_simd128, q2_k_dot8_q8_k_simd128},
        {MLLM_DTYPE_Q3_K, MLLM_DTYPE_Q8_K, q3_k_dot_q8_k, q3_k_dot4_q8_k_simd128, q3_k_dot8_q8_k_simd128},
        {MLLM_DTYPE_Q4_K, MLLM_DTYPE_Q8_K, q4_k_dot_q8_k, q4_k_dot4_q8_k_simd128, q4_k_dot8_q8_k_simd128},
        {MLLM_DTYPE_Q5_K, MLLM_DTYPE_Q8_K, q5_k_dot_q8_k, q5_k_dot4_q8_k_simd128, q5_k_dot8_q8_k_simd128},
        {MLLM_DTYPE_Q6_K, MLLM_DTYPE_Q8_K, q6_k_dot_q8_k, q6_k_dot4_q8_k_simd128, q6_k_dot8_q8_k_simd128},
        {MLLM_DTYPE_IQ4_XS, MLLM_DTYPE_Q8_K, iq4_xs_dot_q8_k, iq4_xs_dot4_q8_k_simd128, iq4_xs_dot8_q8_k_simd128},
    };
    /* 12 rows: the eight-row dot reads rows 0-3 and 8-11 */
    static uint8_t w12[12 * (ROW / 32 * 36)];
    size_t t;
    int trial, n_checked = 0;
    for (t = 0; t < sizeof T4 / sizeof T4[0]; t++) {
        const int64_t be = dtype_block_elems(T4[t].type);
        const size_t wrow = (size_t)(ROW / be) * dtype_block_bytes(T4[t].type);
        const size_t ab = (size_t)(ROW / be) * dtype_block_bytes(T4[t].act);
        for (trial = 0; trial < 100; trial++) {
            float o[4], o8[8];
            const void *w2[2];
            size_t i;
            int k, n = trial % 4 == 0 ? (int)be : ROW;
            if (trial < 50) {
                for (i = 0; i < 12 * wrow; i++) w12[i] = (uint8_t)next_u32();
                for (i = 0; i < ab; i++) abuf[i] = (uint8_t)next_u32();
                if (T4[t].act == MLLM_DTYPE_Q8_K && trial % 2) { /* finite activation scales too */
                    block_q8_K *kb = (block_q8_K *)(void *)abuf;
                    for (i = 0; i < (size_t)ROW / QK_K; i++) kb[i].d = frand();
                }
            } else {
                for (k = 0; k < 12; k++) {
                    fill_row(xw, trial + k);
                    quant_rows(T4[t].type, xw, w12 + (size_t)k * wrow, 1, ROW);
                }
                fill_row(xa, trial);
                quantize_act(T4[t].act, xa, abuf);
            }
            T4[t].dot4(n, w12, wrow, abuf, o);
            w2[0] = w12;
            w2[1] = w12 + 8 * wrow;
            T4[t].dot8(n, w2, wrow, abuf, o8);
            for (k = 0; k < 12; k++) {
                float r = T4[t].scalar(n, w12 + (size_t)k * wrow, abuf);
                if (k < 4 && !same_float(r, o[k])) {
                    check_g.cur_failed++;
                    fprintf(stderr, "  FAIL dot4 type %u trial %d row %d: %.9g vs scalar %.9g\n", (unsigned)T4[t].type,
                            trial, k, o[k], r);
                }
                if ((k < 4 || k >= 8) && !same_float(r, o8[k < 4 ? k : k - 4])) {
                    check_g.cur_failed++;
                    fprintf(stderr, "  FAIL dot8 type %u trial %d row %d: %.9g vs scalar %.9g\n", (unsigned)T4[t].type,
                            trial, k, o8[k < 4 ? k : k - 4], r);
                }
                n_checked++;
            }
        }
    }
    CHECK_EQ_INT(n_checked, (int)(sizeof T4 / sizeof T4[0]) * 100 * 12);
}

/* The SIMD128 matmul of every type (eight rows from eight stretches, then fours, then single
 * rows; the K types' several-token path: four rows against up to 8 tokens) equals the scalar
 * matmul bit for bit, for row counts that are and are not multiples of 4 and 8, token counts
 * below, at and above 8, into a strided output. */
static void test_simd_matmul_equals_scalar_for_any_row_count(void) {
    enum { MAX_ROWS = 41, N_TOK = 17, LDO = 48 };
    static const int ROWS[] = {1, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 23, 24, 31, 33, 40, 41};
    static const int TOKS[] = {1, 2, 3, 5, 8, 17};
    static uint8_t wm[MAX_ROWS * (ROW / 32 * 36)], am[N_TOK * (ROW / 256 * 292)];
    static float xr[ROW], o_simd[N_TOK * LDO], o_ref[N_TOK * LDO];
    size_t t, ri, ti;
    int n_checked = 0;
    for (t = 0; t < N_TYPES; t++) {
        const uint32_t wt = TYPES[t].type;
        const dtype_traits *tr = dtype_traits_of(wt);
        const size_t wrow = dtype_row_bytes(wt, ROW), arow = kern_act_row_bytes(tr->act, ROW);
        kern_weights kw;
        const kern_hints hints = {0, 0};
        int r, k, tok;
        CHECK(tr->matmul_simd128 != NULL);
        if (!tr->matmul_simd128) continue;
        for (r = 0; r < MAX_ROWS; r++) {
            fill_row(xr, r);
            quant_rows(wt, xr, wm + (size_t)r * wrow, 1, ROW);
        }
        for (tok = 0; tok < N_TOK; tok++) {
            fill_row(xr, tok + 1);
            kern_quantize_act(tr->act, xr, am + (size_t)tok * arow, ROW);
        }
        kw.data = wm;
        kw.type = wt;
        kw.layout = KERN_LAYOUT_ROWS;
        kw.plain_scales = 0;
        for (ri = 0; ri < sizeof ROWS / sizeof ROWS[0]; ri++) {
            for (ti = 0; ti < sizeof TOKS / sizeof TOKS[0]; ti++) {
                const int nr = ROWS[ri];
                tok = TOKS[ti];
                memset(o_simd, 0, sizeof o_simd);
                memset(o_ref, 0, sizeof o_ref);
                tr->matmul_simd128(o_simd, LDO, &kw, ROW, nr, NULL, am, tok, hints);
                tr->matmul_scalar(o_ref, LDO, &kw, ROW, nr, NULL, am, tok, hints);
                for (k = 0; k < N_TOK * LDO; k++) {
                    if (!same_float(o_simd[k], o_ref[k])) {
                        check_g.cur_failed++;
                        fprintf(stderr, "  FAIL matmul type %u rows %d tokens %d out %d: %.9g vs scalar %.9g\n",
                                (unsigned)wt, nr, tok, k, o_simd[k], o_ref[k]);
                    }
                }
                n_checked++;
            }
        }
    }
    CHECK_EQ_INT(n_checked, (int)N_TYPES * 17 * 6);
}
#ifdef MLLM_RELAXED_IMPORT
/* the module's entry point (kernels_relaxed_quant.c), called here with small scratch */
int32_t mllm_relaxed_quant(int32_t type, float *out, int32_t ldo, const void *w, int32_t n_in, int32_t n_rows,
                           const void *xq, int32_t n_tok, void *xbuf, int32_t xbytes);

static void test_relaxed_matmuls_equal_scalar_bit_for_bit(void) {
    static const uint32_t T[] = {MLLM_DTYPE_Q4_0, MLLM_DTYPE_Q4_1, MLLM_DTYPE_Q5_0, MLLM_DTYPE_Q5_1,
                                 MLLM_DTYPE_Q2_K, MLLM_DTYPE_Q3_K, MLLM_DTYPE_Q4_K, MLLM_DTYPE_Q5_K, MLLM_DTYPE_Q6_K};
    static const int ROWS[] = {1, 3, 4, 5, 7, 8, 9, 12, 13, 16, 17, 21};
    enum { MAXR = 21, MAXT = 5, LDO = 23 };
    static uint8_t wm[MAXR * (ROW / 256 * 210)], am[MAXT * (ROW / 256 * 292)];
    static float got[MAXT * LDO], want[MAXT * LDO];
    size_t t, ri;
    int trial, n_takes = 0, n_checked = 0;
    for (t = 0; t < sizeof T / sizeof T[0]; t++) {
        const uint32_t wt = T[t], at = dtype_act(wt) == MLLM_ACT_Q8_0 ? MLLM_DTYPE_Q8_0
                                        : dtype_act(wt) == MLLM_ACT_Q8_1 ? MLLM_DTYPE_Q8_1 : MLLM_DTYPE_Q8_K;
        const kern_hints relaxed = {1, 0}, plain = {0, 0};
        n_takes += kern_quant_relaxed_takes(wt);
        for (trial = 0; trial < 24; trial++) {
            const int n = trial % 4 == 3 ? (int)dtype_block_elems(wt) : ROW, n_tok = 1 + trial % MAXT;
            const size_t wrow = dtype_row_bytes(wt, n), arow = dtype_row_bytes(at, n);
            const kern_weights w = {wm, wt, KERN_LAYOUT_ROWS, 0};
            size_t i;
            int r, k, tk;
            ri = (size_t)trial % (sizeof ROWS / sizeof ROWS[0]);
            if (trial % 2 == 0) { /* random bytes: every level, any scale (subnormal, inf, nan), -128 activations */
                for (i = 0; i < (size_t)ROWS[ri] * wrow; i++) wm[i] = (uint8_t)next_u32();
                for (i = 0; i < (size_t)n_tok * arow; i++) am[i] = (uint8_t)next_u32();
                if (at == MLLM_DTYPE_Q8_K && trial % 4) /* finite activation scales too */
                    for (i = 0; i < (size_t)n_tok * (size_t)(n / QK_K); i++)
                        ((block_q8_K *)(void *)am)[i].d = frand();
            } else { /* rows with edge values, quantized */
                for (r = 0; r < ROWS[ri]; r++) {
                    fill_row(xw, trial + r);
                    quant_rows(wt, xw, wm + (size_t)r * wrow, 1, n);
                }
                for (tk = 0; tk < n_tok; tk++) {
                    fill_row(xa, trial / 2 + tk);
                    kern_quantize_act(dtype_act(wt), xa, am + (size_t)tk * arow, n);
                }
            }
            for (i = 0; i < MAXT * LDO; i++) got[i] = want[i] = -7.0f;
            CHECK(kern_matmul_scalar(want, LDO, &w, n, ROWS[ri], NULL, am, n_tok, plain));
            if (trial % 3 == 1) {
                /* small scratch: 32-blocks: two tokens' prefill (the tokens in passes of two) or none
                 * (as decode); K types: one token's layout (the tokens one a pass) */
                static uint8_t small[2 * ROW / 32 * 48] __attribute__((aligned(16)));
                const int32_t bytes = dtype_block_elems(wt) == 256 ? n / 256 * 512 : trial % 2 ? 2 * n / 32 * 48 : 0;
                CHECK(mllm_relaxed_quant((int32_t)wt, got, LDO, wm, n, ROWS[ri], am, n_tok, small, bytes) == 1);
            } else {
                CHECK(kern_matmul_quant_relaxed(got, LDO, &w, n, ROWS[ri], NULL, am, n_tok, relaxed));
            }
            for (tk = 0; tk < n_tok; tk++)
                for (k = 0; k < LDO; k++) {
                    const float g = got[tk * LDO + k], e = want[tk * LDO + k];
                    if (!same_float(g, e)) {
                        check_g.cur_failed++;
                        fprintf(stderr, "  FAIL relaxed type %s trial %d rows %d n %d token %d row %d: %.9g vs scalar %.9g\n",
                                dtype_name(wt), trial, ROWS[ri], n, tk, k, g, e);
                    }
                    n_checked++;
                }
        }
    }
    printf("relaxed quant types taken: %d, outputs compared: %d\n", n_takes, n_checked);
}

/* src/kernels_relaxed_iq4.c's entry point, called here with small scratch */
int32_t mllm_relaxed_iq4_xs(float *out, int32_t ldo, const void *w, int32_t n_in, int32_t n_rows, const void *xq,
                            int32_t n_tok, void *xbuf, int32_t xbytes);

/* IQ4_XS's relaxed matmul (operands up to 241: only where mllm_relaxed_probe passes, i.e. the
 * engine reads them unsigned) against the scalar reference bit for bit: 1-100 rows (the eight-row
 * passes, groups of four and single rows), 1-17 tokens, edge-value rows, random bytes (every
 * level and scale, inf and nan included, -128 activations), the engine's entry and the module's
 * with scratch for one token at a time. */
static void test_relaxed_iq4_xs_equals_scalar_bit_for_bit(void) {
    static const int ROWS[] = {1, 3, 4, 7, 8, 9, 12, 15, 16, 17, 21, 36, 64, 100};
    static const int TOKS[] = {1, 2, 3, 5, 8, 17};
    enum { MAXR = 100, MAXT = 17, LDO = 103 };
    static uint8_t wm[MAXR * (ROW / 256 * 136)], am[MAXT * (ROW / 256 * 292)];
    static float got[MAXT * LDO], want[MAXT * LDO];
    static uint8_t small[ROW / 256 * 32] __attribute__((aligned(16)));
    const uint32_t wt = MLLM_DTYPE_IQ4_XS;
    const kern_hints relaxed = {1, 0}, plain = {0, 0};
    size_t ri, ki;
    int n_checked = 0, trial = 0;
    if (mllm_relaxed_iq4_xs(NULL, 0, NULL, 0, 0, NULL, 0, NULL, 0) != 1) {
        printf("relaxed iq4_xs: not in this engine\n");
        return;
    }
    for (ri = 0; ri < sizeof ROWS / sizeof ROWS[0]; ri++)
        for (ki = 0; ki < sizeof TOKS / sizeof TOKS[0]; ki++, trial++) {
            const int n = trial % 4 == 3 ? QK_K : ROW, n_tok = TOKS[ki], rows = ROWS[ri];
            const size_t wrow = dtype_row_bytes(wt, n), arow = dtype_row_bytes(MLLM_DTYPE_Q8_K, n);
            const kern_weights w = {wm, wt, KERN_LAYOUT_ROWS, 0};
            size_t i;
            int r, k, tk;
            if (trial % 3 == 0) { /* random bytes */
                for (i = 0; i < (size_t)rows * wrow; i++) wm[i] = (uint8_t)next_u32();
                for (i = 0; i < (size_t)n_tok * arow; i++) am[i] = (uint8_t)next_u32();
                for (i = 0; i < (size_t)n_tok * (size_t)(n / QK_K); i++) ((block_q8_K *)(void *)am)[i].d = frand();
            } else { /* rows with edge values (zero blocks, outliers, one sign, tiny), quantized */
                for (r = 0; r < rows; r++) {
                    fill_row(xw, trial + r);
                    quant_rows(wt, xw, wm + (size_t)r * wrow, 1, n);
                }
                for (tk = 0; tk < n_tok; tk++) {
                    fill_row(xa, trial / 2 + tk);
                    kern_quantize_act(MLLM_ACT_Q8_K, xa, am + (size_t)tk * arow, n);
                }
            }
            for (i = 0; i < MAXT * LDO; i++) got[i] = want[i] = -7.0f;
            CHECK(kern_matmul_scalar(want, LDO, &w, n, rows, NULL, am, n_tok, plain));
            if (trial % 2) CHECK(mllm_relaxed_iq4_xs(got, LDO, wm, n, rows, am, n_tok, small, n / 256 * 32) == 1);
            else CHECK(kern_matmul_quant_relaxed(got, LDO, &w, n, rows, NULL, am, n_tok, relaxed));
            for (tk = 0; tk < MAXT; tk++)
                for (k = 0; k < LDO; k++) {
                    const float g = got[tk * LDO + k], e = want[tk * LDO + k];
                    if (!same_float(g, e)) {
                        check_g.cur_failed++;
                        fprintf(stderr, "  FAIL relaxed IQ4_XS trial %d rows %d n %d token %d row %d: %.9g vs scalar %.9g\n",
                                trial, rows, n, tk, k, g, e);
                    }
                    n_checked++;
                }
        }
    printf("relaxed iq4_xs outputs compared: %d\n", n_checked);
}
#endif
#endif


#ifdef MLLM_RELAXED_IMPORT
int32_t mllm_relaxed_quant(int32_t type, float *out, int32_t ldo, const void *w, int32_t n_in, int32_t n_rows,
                           const void *xq, int32_t n_tok, void *xbuf, int32_t xbytes);
#endif

/* The K types' x4 layouts (KERN_LAYOUT_Q4_K_X4, _Q5_K_X4, _Q6_K_X4; src/quant_k_x4.c): every
 * row's super-block comes back byte for byte (and its values through kern_embed_weights), and every matmul this build has (scalar,
 * SIMD128, relaxed with full and small scratch, which it must not write past) gives on the repacked weights bit for bit the
 * scalar reference's output on the file's layout, for 4-24 rows, 1-17 tokens, random bytes
 * (any fp16 d and dmin: zero, subnormal, inf, nan; every scale, min and level; any bsums) and
 * quantized rows with edge values. */
static void test_k_x4_layouts_equal_file_layout(void) {
    enum { MAXR = 24, MAXT = 17, LDO = 26 };
    static const int ROWS[] = {4, 8, 12, 16, 20, 24};
    static const struct {
        uint32_t type, layout;
        void (*block)(const void *, int64_t, int64_t, int64_t, void *);
        int32_t tok_bytes, state_bytes; /* the relaxed kernel's scratch per super-block and per token (and 1024 a call) */
        int32_t tile_bytes; /* Q6_K's prefill: per super-block and tile of four tokens (and 512 a tile, 2112 a call) */
    } K[] = {{MLLM_DTYPE_Q4_K, KERN_LAYOUT_Q4_K_X4, kern_q4_k_x4_block, 640, 144, 0},
             {MLLM_DTYPE_Q5_K, KERN_LAYOUT_Q5_K_X4, kern_q5_k_x4_block, 640, 144, 0},
             {MLLM_DTYPE_Q6_K, KERN_LAYOUT_Q6_K_X4, kern_q6_k_x4_block, 512, 128, 1168}};
    static uint8_t wm[MAXR * (ROW / 256 * 210)], wx[MAXR * (ROW / 256 * 210)], tmp[4 * (ROW / 256 * 210)];
    static uint8_t am[MAXT * (ROW / 256 * 292)];
    static float want[MAXT * LDO], got[MAXT * LDO];
    size_t ty;
    for (ty = 0; ty < sizeof K / sizeof K[0]; ty++) {
        const uint32_t wt = K[ty].type;
        const dtype_traits *tr = dtype_traits_of(wt);
        const size_t bb = dtype_block_bytes(wt);
        int trial, n_blocks = 0, n_bad_blocks = 0, n_checked = 0, n_bad = 0, n_paths = 0;
        CHECK(tr->repack != NULL && tr->repack_layout == K[ty].layout);
        for (trial = 0; trial < 36; trial++) {
            /* nr: every row count meets one token (decode: trial % 6 == 0) and several */
            const int n = trial % 3 == 2 ? QK_K : ROW, nsb = n / QK_K, nr = ROWS[(trial + trial / 6) % 6];
            const int n_tok = trial % 4 == 3 ? MAXT : 1 + trial % 6;
            const size_t wrow = dtype_row_bytes(wt, n), arow = dtype_row_bytes(MLLM_DTYPE_Q8_K, n);
            const kern_weights wr = {wm, wt, KERN_LAYOUT_ROWS, 0}, w4 = {wx, wt, K[ty].layout, 0};
            const kern_hints plain = {0, 0};
            size_t i;
            int r, b, path;
            if (trial % 2 == 0) {
                for (i = 0; i < (size_t)nr * wrow; i++) wm[i] = (uint8_t)next_u32();
                for (i = 0; i < (size_t)n_tok * arow; i++) am[i] = (uint8_t)next_u32();
                if (trial % 4 == 2)
                    for (i = 0; i < (size_t)n_tok * (size_t)nsb; i++) ((block_q8_K *)(void *)am)[i].d = frand();
            } else {
                for (r = 0; r < nr; r++) {
                    fill_row(xw, trial + r);
                    quant_rows(wt, xw, wm + (size_t)r * wrow, 1, n);
                }
                for (r = 0; r < n_tok; r++) {
                    fill_row(xa, trial / 2 + r);
                    kern_quantize_act(MLLM_ACT_Q8_K, xa, am + (size_t)r * arow, n);
                }
            }
            memcpy(wx, wm, (size_t)nr * wrow);
            tr->repack(wx, n, nr, tmp);
            for (r = 0; r < nr; r++) {
                static float e_x4[ROW], e_file[ROW];
                for (b = 0; b < nsb; b++) {
                    uint8_t blk[210];
                    K[ty].block(wx, nsb, r, b, blk);
                    n_bad_blocks += memcmp(blk, wm + (size_t)r * wrow + (size_t)b * bb, bb) != 0;
                    n_blocks++;
                }
                /* the row as an embedding lookup reads it (kern_embed_weights) */
                kern_embed_weights(e_x4, &w4, r, n);
                dequantize_row(wt, wm + (size_t)r * wrow, e_file, n);
                for (b = 0; b < n; b++) n_bad_blocks += !same_float(e_x4[b], e_file[b]);
            }
            for (i = 0; i < MAXT * LDO; i++) want[i] = -7.0f;
            CHECK(kern_matmul_scalar(want, LDO, &wr, n, nr, NULL, am, n_tok, plain));
            for (path = 0; path < 5; path++) {
                for (i = 0; i < MAXT * LDO; i++) got[i] = -7.0f;
                if (path == 0) {
                    tr->matmul_scalar(got, LDO, &w4, n, nr, NULL, am, n_tok, plain);
                } else if (path == 1) {
#ifdef MLLM_KERNELS_SIMD128
                    tr->matmul_simd128(got, LDO, &w4, n, nr, NULL, am, n_tok, plain);
#else
                    continue;
#endif
                } else {
#ifdef MLLM_RELAXED_IMPORT
                    if (path == 2) {
                        const kern_hints relaxed = {1, 0};
                        CHECK(kern_matmul_quant_relaxed(got, LDO, &w4, n, nr, NULL, am, n_tok, relaxed));
                    } else { /* scratch for one token a pass, or three (Q6_K's prefill: one tile of four, or two) */
                        enum { GUARD = 256 }; /* bytes past the scratch given, which the kernel must leave alone */
                        static uint8_t small[2 * (ROW / 256 * 1168 + 512) + 2112 + GUARD] /* > 3 * (ROW / 256 * 640 + 144) + 1024 */
                            __attribute__((aligned(16)));
                        const int32_t one = (path == 3 ? 1 : 3) * (nsb * K[ty].tok_bytes + K[ty].state_bytes) + 1024;
                        const int32_t tiles = K[ty].tile_bytes ? (path == 3 ? 1 : 2) * (nsb * K[ty].tile_bytes + 512) + 2112 : 0;
                        const int32_t bytes = n_tok > 1 && tiles > one ? tiles : one;
                        int g, n_bad_guard = 0;
                        memset(small + bytes, 0xa5, GUARD);
                        CHECK(mllm_relaxed_quant((int32_t)(wt | KERN_RELAXED_QUANT_X4), got, LDO, wx, n, nr, am, n_tok,
                                                 small, bytes) == 1);
                        for (g = 0; g < GUARD; g++) n_bad_guard += small[bytes + g] != 0xa5;
                        CHECK_EQ_INT(n_bad_guard, 0);
                    }
#else
                    continue;
#endif
                }
                n_paths++;
                for (i = 0; i < MAXT * LDO; i++) {
                    if (!same_float(got[i], want[i])) {
                        if (n_bad++ < 10)
                            fprintf(stderr, "  FAIL %s x4 path %d trial %d rows %d n %d out %d: %.9g vs scalar %.9g\n",
                                    dtype_name(wt), path, trial, nr, n, (int)i, got[i], want[i]);
                    }
                    n_checked++;
                }
            }
        }
        CHECK_EQ_INT(n_bad_blocks, 0);
        CHECK_EQ_INT(n_bad, 0);
        CHECK(n_blocks > 0 && n_checked > 0);
        printf("%s x4: %d blocks back, %d paths, %d outputs compared\n", dtype_name(wt), n_blocks, n_paths, n_checked);
    }
}

int main(void) {
    RUN(test_scalar_dot_matches_dequantized_rows);
    RUN(test_k_x4_layouts_equal_file_layout);
#ifdef __wasm_simd128__
    RUN(test_simd_q8_1_quantizer_equals_reference);
    RUN(test_simd_dots_equal_scalar_bit_for_bit);
    RUN(test_simd_dot4_equals_scalar_per_row);
    RUN(test_simd_matmul_equals_scalar_for_any_row_count);
#endif
#ifdef MLLM_RELAXED_IMPORT
    RUN(test_relaxed_matmuls_equal_scalar_bit_for_bit);
    RUN(test_relaxed_iq4_xs_equals_scalar_bit_for_bit);
#endif
    return check_summary("quant_simd");
}
