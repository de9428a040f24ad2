/* test_quant_ggml.c — the engine's 4/5/6-bit quantizers, dequantizers and scalar dot products
 * (src/quant_ref.c, src/quant_dot.c) against ggml itself: the libggml-base.so and CPU backend
 * that node-llama-cpp ships (llama.cpp's own build), loaded with dlopen.
 *
 * Per type, on rows with edge scales (zero, subnormal, tiny, huge, fp16-overflowing, one
 * outlier, one sign, constant, exact ties, zero sub-blocks) and on random block bytes:
 *  - quantized bytes equal ggml_quantize_chunk(type, imatrix = NULL) (what llama-quantize
 *    writes without an importance matrix) and, except IQ4_NL, quantize_row_X_ref;
 *  - dequantized floats bit-equal dequantize_row_X;
 *  - the Q8_1 / Q8_K activation blocks equal quantize_row_q8_1_ref / quantize_row_q8_K_ref;
 *  - dot products bit-equal ggml_vec_dot_X_Y_generic from the baseline x64 CPU backend
 *    (ggml's portable C semantics, the ones the engine reproduces), and within a relative
 *    1e-5 of the AVX2 backend's vec_dot (its SIMD sums in another order) where the CPU has it.
 *
 * The libraries come from $MLLM_GGML_DIR or node_modules/@node-llama-cpp/linux-x64/bins/
 * linux-x64 (make deps); on a host without them (not x86-64 Linux) the test says so and
 * passes nothing.
 */
#define _POSIX_C_SOURCE 200809L
#include <dlfcn.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "codec.h"
#include "dtype.h"
#include "quant_dot.h"
#include "quant_ref.h"

typedef size_t (*chunk_fn)(int type, const float *src, void *dst, int64_t start, int64_t nrows, int64_t n_per_row,
                           const float *imatrix);
typedef void (*row_fn)(const void *x, void *y, int64_t k);
typedef void (*vec_dot_fn)(int n, float *s, size_t bs, const void *vx, size_t bx, const void *vy, size_t by,
                           int nrc);
typedef void (*init_fn)(void);

typedef struct wtype {
    uint32_t id;
    const char *ggml; /* ggml's lower-case name in its symbols */
    const char *act;  /* activation type's name */
    quant_dot_fn dot; /* the engine's */
    int act_format;   /* dtype.h's for the type */
} wtype;

static const wtype TYPES[] = {
    {MLLM_DTYPE_Q4_0, "q4_0", "q8_0", q4_0_dot_q8_0, MLLM_ACT_Q8_0},
    {MLLM_DTYPE_Q4_1, "q4_1", "q8_1", q4_1_dot_q8_1, MLLM_ACT_Q8_1},
    {MLLM_DTYPE_Q5_0, "q5_0", "q8_0", q5_0_dot_q8_0, MLLM_ACT_Q8_0},
    {MLLM_DTYPE_Q5_1, "q5_1", "q8_1", q5_1_dot_q8_1, MLLM_ACT_Q8_1},
    {MLLM_DTYPE_Q2_K, "q2_K", "q8_K", q2_k_dot_q8_k, MLLM_ACT_Q8_K},
    {MLLM_DTYPE_Q3_K, "q3_K", "q8_K", q3_k_dot_q8_k, MLLM_ACT_Q8_K},
    {MLLM_DTYPE_Q4_K, "q4_K", "q8_K", q4_k_dot_q8_k, MLLM_ACT_Q8_K},
    {MLLM_DTYPE_Q5_K, "q5_K", "q8_K", q5_k_dot_q8_k, MLLM_ACT_Q8_K},
    {MLLM_DTYPE_Q6_K, "q6_K", "q8_K", q6_k_dot_q8_k, MLLM_ACT_Q8_K},
    {MLLM_DTYPE_IQ4_NL, "iq4_nl", "q8_0", iq4_nl_dot_q8_0, MLLM_ACT_Q8_0},
    {MLLM_DTYPE_IQ4_XS, "iq4_xs", "q8_K", iq4_xs_dot_q8_k, MLLM_ACT_Q8_K},
};
#define N_TYPES (sizeof TYPES / sizeof TYPES[0])

#define ROW 512 /* two super-blocks, sixteen 32-blocks */
#define N_PATTERNS 19
#define MAXB (ROW / 32 * 36 + ROW / 256 * 292)

typedef struct ggml_lib {
    void *base, *cpu, *simd;
    chunk_fn chunk;
} ggml_lib;

static ggml_lib lib_g; /* test-binary state, like check_g */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rnd32(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}
static float urand(void) { return (float)(rnd32() >> 8) / 16777216.0f; } /* [0, 1) */
static float grand(void) { return urand() + urand() + urand() + urand() - 2.0f; }

/* Row pattern p of ROW floats. */
static void make_row(int p, float *x) {
    int i;
    for (i = 0; i < ROW; i++) {
        float g = grand();
        switch (p) {
        case 0: x[i] = 0.02f * g; break;                         /* weight-like */
        case 1: x[i] = 0.0f; break;                              /* all zero */
        case 2: x[i] = 1e-39f * g; break;                        /* subnormal */
        case 3: x[i] = 1e-20f * g; break;                        /* tiny normal */
        case 4: x[i] = 1e30f * g; break;                         /* huge (sums of squares overflow) */
        case 5: x[i] = 3e38f * (g > 0 ? urand() : -urand()); break; /* near FLT_MAX */
        case 6: x[i] = 1e6f * g; break;                          /* block scales overflow fp16 */
        case 7: x[i] = i == 77 ? 5.0f : 0.01f * g; break;        /* one outlier */
        case 8: x[i] = urand(); break;                           /* all positive */
        case 9: x[i] = -urand() - 0.5f; break;                   /* all negative */
        case 10: x[i] = 0.5f; break;                             /* constant */
        case 11: x[i] = (float)((int)(rnd32() % 16) - 8); break; /* exact integers, ties */
        case 12: x[i] = ((i / 32) % 2) ? 0.0f : g; break;        /* zero 32-blocks among others */
        case 13: x[i] = ((i / 16) % 3) ? 0.0f : 0.1f * g; break; /* zero 16-blocks */
        case 14: x[i] = (float)((int)(rnd32() % 64) - 32) * 0.125f + 0.0625f; break; /* halves */
        case 15: x[i] = g * (float)(1 << (rnd32() % 20)) * 1e-3f; break; /* mixed magnitudes */
        case 16: x[i] = 0.7f + 0.3f * urand(); break;            /* one sign, narrow: large int sums */
        case 17: x[i] = -0.9f - 0.1f * urand(); break;
        default: x[i] = (i % 2 ? 1.0f : -1.0f) * (0.8f + 0.2f * urand()); break; /* alternating */
        }
    }
}

static int bits_equal(const float *a, const float *b, int n, int *first) {
    int i;
    for (i = 0; i < n; i++) {
        uint32_t ua, ub;
        memcpy(&ua, &a[i], 4);
        memcpy(&ub, &b[i], 4);
        if (ua != ub) {
            *first = i;
            return 0;
        }
    }
    return 1;
}

static void *sym(void *lib, const char *fmt, const char *a, const char *b) {
    char name[96];
    snprintf(name, sizeof name, fmt, a, b);
    return dlsym(lib, name);
}

/* Random block bytes with every fp16 field finite (d, m, dmin, s) when finite_scales. */
static void random_blocks(uint32_t type, uint8_t *dst, size_t nbytes, int finite_scales) {
    size_t i, bb = dtype_block_bytes(type), b;
    for (i = 0; i < nbytes; i++) dst[i] = (uint8_t)rnd32();
    if (!finite_scales) return;
    for (b = 0; b + bb <= nbytes; b += bb) {
        size_t off[2] = {0, 0}, n_off = 0, j;
        switch (type) {
        case MLLM_DTYPE_Q4_0: case MLLM_DTYPE_Q5_0: case MLLM_DTYPE_IQ4_NL: case MLLM_DTYPE_IQ4_XS: off[0] = 0; n_off = 1; break;
        case MLLM_DTYPE_Q4_1: case MLLM_DTYPE_Q5_1: case MLLM_DTYPE_Q4_K: case MLLM_DTYPE_Q5_K: off[0] = 0; off[1] = 2; n_off = 2; break;
        case MLLM_DTYPE_Q2_K: off[0] = bb - 4; off[1] = bb - 2; n_off = 2; break;
        case MLLM_DTYPE_Q3_K: case MLLM_DTYPE_Q6_K: off[0] = bb - 2; n_off = 1; break;
        default: break;
        }
        for (j = 0; j < n_off; j++) dst[b + off[j] + 1] &= 0x7b; /* exponent below 31 */
    }
}

/* Many weight-like rows (heavy tails, random scales): where the quantizers' search steps
 * matter. */
static void test_quantize_many(void) {
    enum { ROWS = 256 };
    static float x[ROWS * ROW];
    static uint8_t ours[MAXB * ROWS], theirs[MAXB * ROWS];
    size_t t;
    int i;
    for (i = 0; i < ROWS * ROW; i++) {
        float g = grand(), scale = (float)(1 + (i / ROW) % 13) * 0.01f;
        x[i] = (rnd32() % 64 == 0 ? 8.0f : 1.0f) * g * g * g * scale;
    }
    for (t = 0; t < N_TYPES; t++) {
        const wtype *ty = &TYPES[t];
        size_t bytes = (size_t)(ROW / dtype_block_elems(ty->id)) * dtype_block_bytes(ty->id) * ROWS;
        CHECK_EQ_INT(quant_rows(ty->id, x, ours, ROWS, ROW), bytes);
        CHECK_EQ_INT(lib_g.chunk((int)ty->id, x, theirs, 0, ROWS, ROW, NULL), bytes);
        if (memcmp(ours, theirs, bytes) != 0) {
            check_g.cur_failed++;
            fprintf(stderr, "  FAIL %s: %d weight-like rows differ from ggml_quantize_chunk\n", ty->ggml, ROWS);
        }
    }
}

static void test_quantize(void) {
    ggml_lib *g = &lib_g;
    static float x[ROW * N_PATTERNS];
    static uint8_t ours[MAXB * N_PATTERNS], theirs[MAXB * N_PATTERNS];
    size_t t;
    int p;
    for (p = 0; p < N_PATTERNS; p++) make_row(p, x + p * ROW);
    for (t = 0; t < N_TYPES; t++) {
        const wtype *ty = &TYPES[t];
        size_t bytes = (size_t)(ROW / dtype_block_elems(ty->id)) * dtype_block_bytes(ty->id), got;
        row_fn ref = (row_fn)sym(g->base, "quantize_row_%s_ref", ty->ggml, "");
        for (p = 0; p < N_PATTERNS; p++) {
            memset(ours, 0xAA, bytes);
            memset(theirs, 0x55, bytes);
            got = quant_rows(ty->id, x + p * ROW, ours, 1, ROW);
            CHECK_EQ_INT(got, bytes);
            CHECK_EQ_INT(g->chunk((int)ty->id, x + p * ROW, theirs, 0, 1, ROW, NULL), bytes);
            if (memcmp(ours, theirs, bytes) != 0) {
                check_g.cur_failed++;
                fprintf(stderr, "  FAIL %s pattern %d: bytes differ from ggml_quantize_chunk\n", ty->ggml, p);
            }
            if (ty->id != MLLM_DTYPE_IQ4_NL) {
                CHECK(ref != NULL);
                memset(theirs, 0x55, bytes);
                if (ref) ref(x + p * ROW, theirs, ROW);
                if (memcmp(ours, theirs, bytes) != 0) {
                    check_g.cur_failed++;
                    fprintf(stderr, "  FAIL %s pattern %d: bytes differ from quantize_row_%s_ref\n", ty->ggml, p,
                            ty->ggml);
                }
            }
        }
        /* many rows at once: the same bytes as row by row */
        memset(theirs, 0x55, bytes * N_PATTERNS);
        got = quant_rows(ty->id, x, ours, N_PATTERNS, ROW);
        CHECK_EQ_INT(got, bytes * N_PATTERNS);
        g->chunk((int)ty->id, x, theirs, 0, N_PATTERNS, ROW, NULL);
        CHECK(memcmp(ours, theirs, bytes * N_PATTERNS) == 0);
        /* a row that is not whole blocks is refused, nothing written */
        memset(ours, 0xAA, 8);
        CHECK_EQ_INT(quant_rows(ty->id, x, ours, 1, dtype_block_elems(ty->id) + 16), 0);
        CHECK_EQ_INT(ours[0], 0xAA);
    }
    CHECK_EQ_INT(quant_rows(MLLM_DTYPE_Q8_K, x, ours, 1, 256), 0); /* activation types are not weights */
    CHECK_EQ_INT(quant_rows(1 /* F16 */, x, ours, 1, 256), 0);
}

static void test_dequantize(void) {
    ggml_lib *g = &lib_g;
    static float x[ROW], ya[ROW], yb[ROW];
    static uint8_t q[MAXB];
    size_t t;
    int p, first = -1, trial;
    for (t = 0; t < N_TYPES; t++) {
        const wtype *ty = &TYPES[t];
        row_fn deq = (row_fn)sym(g->base, "dequantize_row_%s", ty->ggml, "");
        size_t bytes = (size_t)(ROW / dtype_block_elems(ty->id)) * dtype_block_bytes(ty->id);
        CHECK(deq != NULL);
        if (!deq) continue;
        for (p = 0; p < N_PATTERNS + 40; p++) {
            if (p < N_PATTERNS) {
                make_row(p, x);
                g->chunk((int)ty->id, x, q, 0, 1, ROW, NULL);
            } else {
                random_blocks(ty->id, q, bytes, p < N_PATTERNS + 30);
            }
            dequantize_row(ty->id, q, ya, ROW);
            deq(q, yb, ROW);
            if (!bits_equal(ya, yb, ROW, &first)) {
                check_g.cur_failed++;
                fprintf(stderr, "  FAIL %s case %d: element %d %g vs ggml %g\n", ty->ggml, p, first, ya[first],
                        yb[first]);
            }
        }
    }
    for (trial = 0; trial < 1; trial++) { /* Q8_K to float */
        row_fn deq = (row_fn)dlsym(g->base, "dequantize_row_q8_K");
        make_row(0, x);
        q8_k_quantize(x, (block_q8_K *)(void *)q, ROW);
        CHECK(deq != NULL);
        if (deq) {
            deq(q, yb, ROW);
            q8_k_dequantize((block_q8_K *)(void *)q, ya, ROW);
            CHECK(bits_equal(ya, yb, ROW, &first));
        }
    }
}

static void test_activations(void) {
    ggml_lib *g = &lib_g;
    static float x[ROW];
    static block_q8_1 a1[ROW / 32], b1[ROW / 32];
    static block_q8_K ak[ROW / 256], bk[ROW / 256];
    row_fn r1 = (row_fn)dlsym(g->base, "quantize_row_q8_1_ref");
    row_fn rk = (row_fn)dlsym(g->base, "quantize_row_q8_K_ref");
    int p;
    CHECK(r1 != NULL && rk != NULL);
    if (!r1 || !rk) return;
    for (p = 0; p < N_PATTERNS; p++) {
        make_row(p, x);
        memset(a1, 0xAA, sizeof a1);
        memset(b1, 0x55, sizeof b1);
        q8_1_quantize(x, a1, ROW);
        r1(x, b1, ROW);
        if (memcmp(a1, b1, sizeof a1) != 0) {
            check_g.cur_failed++;
            fprintf(stderr, "  FAIL q8_1 pattern %d differs\n", p);
        }
        memset(ak, 0xAA, sizeof ak);
        memset(bk, 0, sizeof bk); /* ggml leaves an all-zero block's bsums untouched; ours zeroes them */
        q8_k_quantize(x, ak, ROW);
        rk(x, bk, ROW);
        if (memcmp(ak, bk, sizeof ak) != 0) {
            check_g.cur_failed++;
            fprintf(stderr, "  FAIL q8_K pattern %d differs\n", p);
        }
    }
}

/* The activation row a of type act (q8_0/q8_1/q8_K) quantized from x by the engine. */
static void quantize_act(const char *act, const float *x, void *a) {
    if (!strcmp(act, "q8_0")) quantize_row_q8_0(x, a, ROW);
    else if (!strcmp(act, "q8_1")) q8_1_quantize(x, a, ROW);
    else q8_k_quantize(x, a, ROW);
}

static int cpu_has_avx2_fma(void) {
#if defined(__x86_64__) && defined(__GNUC__)
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
#else
    return 0;
#endif
}

static void test_dots(void) {
    ggml_lib *g = &lib_g;
    static float xw[ROW], xa[ROW];
    static uint8_t w[MAXB], a[MAXB];
    size_t t;
    int pw, pa, n_simd = 0;
    for (t = 0; t < N_TYPES; t++) {
        const wtype *ty = &TYPES[t];
        vec_dot_fn gen = (vec_dot_fn)sym(g->cpu, "ggml_vec_dot_%s_%s_generic", ty->ggml, ty->act);
        vec_dot_fn simd = g->simd ? (vec_dot_fn)sym(g->simd, "ggml_vec_dot_%s_%s", ty->ggml, ty->act) : NULL;
        quant_dot_fn ours = ty->dot;
        size_t bytes = (size_t)(ROW / dtype_block_elems(ty->id)) * dtype_block_bytes(ty->id);
        CHECK(gen != NULL && ours != NULL);
        CHECK_EQ_INT(dtype_act(ty->id), ty->act_format); /* the table pairs them as ggml does */
        if (!gen || !ours) continue;
        for (pw = 0; pw < N_PATTERNS + 8; pw++) {
            if (pw < N_PATTERNS) {
                make_row(pw, xw);
                quant_rows(ty->id, xw, w, 1, ROW);
            } else {
                random_blocks(ty->id, w, bytes, 1);
            }
            for (pa = 0; pa < N_PATTERNS; pa++) {
                float s_ours, s_gen = 0.0f;
                uint32_t u1, u2;
                make_row(pa, xa);
                quantize_act(ty->act, xa, a);
                s_ours = ours(ROW, w, a);
                gen(ROW, &s_gen, 0, w, 0, a, 0, 1);
                memcpy(&u1, &s_ours, 4);
                memcpy(&u2, &s_gen, 4);
                if (u1 != u2) {
                    check_g.cur_failed++;
                    fprintf(stderr, "  FAIL %s x %s w%d a%d: %.9g vs generic %.9g\n", ty->ggml, ty->act, pw, pa,
                            s_ours, s_gen);
                }
                if (simd && pw == 0 && (pa == 0 || pa == 7 || pa == 8)) {
                    /* tolerance: 1e-5 of the sum of |products| of the dequantized rows */
                    static float dw[ROW], da[ROW];
                    double mag = 0;
                    float s_simd = 0.0f;
                    int i;
                    dequantize_row(ty->id, w, dw, ROW);
                    dequantize_row(!strcmp(ty->act, "q8_0") ? MLLM_DTYPE_Q8_0 : !strcmp(ty->act, "q8_1") ? MLLM_DTYPE_Q8_1 : MLLM_DTYPE_Q8_K, a, da, ROW);
                    for (i = 0; i < ROW; i++) mag += fabs((double)dw[i] * da[i]);
                    simd(ROW, &s_simd, 0, w, 0, a, 0, 1);
                    CHECK_NEAR(s_ours, s_simd, 1e-5 * mag);
                    n_simd++;
                }
            }
        }
    }
    if (g->simd) CHECK(n_simd == (int)N_TYPES * 3);
}

int main(void) {
    const char *dir = getenv("MLLM_GGML_DIR");
    char path[1024];
    ggml_lib *gp = &lib_g;
    init_fn cpu_init;
    if (!dir) dir = "node_modules/@node-llama-cpp/linux-x64/bins/linux-x64";
    memset(gp, 0, sizeof *gp);
    snprintf(path, sizeof path, "%s/libggml-base.so", dir);
    gp->base = dlopen(path, RTLD_NOW | RTLD_LOCAL);
#if !(defined(__x86_64__) && defined(__linux__))
    if (!gp->base) {
        printf("quant_ggml: skipped, node-llama-cpp ships no ggml for this host (%s)\n", dlerror());
        return 0;
    }
#endif
    if (!gp->base) {
        fprintf(stderr, "quant_ggml: cannot load %s (%s): run make deps\n", path, dlerror());
        return 1;
    }
    snprintf(path, sizeof path, "%s/libggml-cpu-x64.so", dir);
    gp->cpu = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!gp->cpu) {
        fprintf(stderr, "quant_ggml: cannot load %s (%s)\n", path, dlerror());
        return 1;
    }
    if (cpu_has_avx2_fma()) {
        snprintf(path, sizeof path, "%s/libggml-cpu-haswell.so", dir);
        gp->simd = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    }
    gp->chunk = (chunk_fn)dlsym(gp->base, "ggml_quantize_chunk");
    cpu_init = (init_fn)dlsym(gp->cpu, "ggml_cpu_init"); /* fills the CPU backend's fp16 table */
    if (!gp->chunk || !cpu_init) {
        fprintf(stderr, "quant_ggml: ggml_quantize_chunk or ggml_cpu_init missing\n");
        return 1;
    }
    cpu_init();
    if (gp->simd) {
        init_fn simd_init = (init_fn)dlsym(gp->simd, "ggml_cpu_init");
        if (simd_init) simd_init();
    }
    RUN(test_quantize);
    RUN(test_quantize_many);
    RUN(test_dequantize);
    RUN(test_activations);
    RUN(test_dots);
    return check_summary("quant_ggml");
}
