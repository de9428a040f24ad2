/* test_dtype.c — the type table against ggml's own (the libggml-base.so node-llama-cpp ships,
 * through dlopen), and fp16/bf16 conversion and Q8_0 quantization against independent
 * references: IEEE values worked out by hand, a double-precision nearest-value search for
 * fp16 rounding, the compiler's own _Float16 conversion where it exists, and hand-computed
 * Q8_0 blocks. */
#define _POSIX_C_SOURCE 200809L
#ifndef __EMSCRIPTEN__ /* (the wasm builds of the C tests cannot load a native library) */
#include <dlfcn.h>
#include <glob.h>
#endif
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "check.h"
#include "dtype.h"

static uint32_t bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float fbits(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* IEEE binary16 value of bit pattern h from its definition, in double. */
static double half_value(uint16_t h) {
    int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    double v;
    if (e == 31) return m ? NAN : (s ? -INFINITY : INFINITY);
    v = e == 0 ? ldexp((double)m, -24) : ldexp(1.0 + m / 1024.0, e - 15);
    return s ? -v : v;
}

/* Nearest binary16 to finite x by search over the ordered positive patterns, ties to the
 * even pattern; 0x7C00 stands for 2^16 as IEEE's overflow rule prescribes. */
static uint16_t half_nearest(float x) {
    double ax = fabs((double)x), lo_v, hi_v;
    uint16_t sign = signbit(x) ? 0x8000 : 0, lo = 0, hi = 0x7C00, r;
    while (hi - lo > 1) { /* invariant: v(lo) <= ax < v(hi) (v(0x7C00) = 65536) */
        uint16_t mid = (uint16_t)((lo + hi) / 2);
        if (half_value(mid) <= ax) lo = mid; else hi = mid;
    }
    if (ax >= 65536.0) return sign | 0x7C00;
    lo_v = half_value(lo);
    hi_v = hi == 0x7C00 ? 65536.0 : half_value(hi);
    if (ax - lo_v < hi_v - ax) r = lo;
    else if (ax - lo_v > hi_v - ax) r = hi;
    else r = (lo & 1) ? hi : lo;
    return sign | r;
}

static void test_fp16_known_values(void) {
    CHECK_EQ_INT(f32_to_fp16(1.0f), 0x3C00);
    CHECK_EQ_INT(f32_to_fp16(-2.0f), 0xC000);
    CHECK_EQ_INT(f32_to_fp16(0.0f), 0x0000);
    CHECK_EQ_INT(f32_to_fp16(-0.0f), 0x8000);
    CHECK_EQ_INT(f32_to_fp16(65504.0f), 0x7BFF);          /* largest finite */
    CHECK_EQ_INT(f32_to_fp16(65519.0f), 0x7BFF);          /* below the halfway point */
    CHECK_EQ_INT(f32_to_fp16(65520.0f), 0x7C00);          /* halfway to 2^16: ties to even = inf */
    CHECK_EQ_INT(f32_to_fp16(1e10f), 0x7C00);
    CHECK_EQ_INT(f32_to_fp16(-1e10f), 0xFC00);
    CHECK_EQ_INT(f32_to_fp16(INFINITY), 0x7C00);
    CHECK_EQ_INT(f32_to_fp16(-INFINITY), 0xFC00);
    CHECK_EQ_INT(f32_to_fp16(0.099975586f), 0x2E66);      /* 0.1's nearest half */
    CHECK_EQ_INT(f32_to_fp16(6.103515625e-05f), 0x0400);  /* 2^-14, smallest normal */
    CHECK_EQ_INT(f32_to_fp16(ldexpf(1.0f, -24)), 0x0001); /* smallest subnormal */
    CHECK_EQ_INT(f32_to_fp16(ldexpf(1023.0f, -24)), 0x03FF); /* largest subnormal */
    CHECK_EQ_INT(f32_to_fp16(ldexpf(1.0f, -30)), 0x0000);
}

static void test_fp16_rounding_ties(void) {
    /* 1 + 2^-11 is halfway between 0x3C00 and 0x3C01: even is 0x3C00 */
    CHECK_EQ_INT(f32_to_fp16(1.0f + ldexpf(1.0f, -11)), 0x3C00);
    /* 1 + 3*2^-11 is halfway between 0x3C01 and 0x3C02: even is 0x3C02 */
    CHECK_EQ_INT(f32_to_fp16(1.0f + 3 * ldexpf(1.0f, -11)), 0x3C02);
    /* just above a tie rounds up */
    CHECK_EQ_INT(f32_to_fp16(fbits(bits(1.0f + ldexpf(1.0f, -11)) + 1)), 0x3C01);
    /* 2 - 2^-11 is halfway between 0x3FFF (odd, 1.9990234) and 2.0: the even choice carries
     * the mantissa into the exponent */
    CHECK_EQ_INT(f32_to_fp16(2.0f - ldexpf(1.0f, -11)), 0x4000);
    CHECK_EQ_INT(f32_to_fp16(fbits(bits(2.0f - ldexpf(1.0f, -11)) - 1)), 0x3FFF);
    /* subnormal ties: 2^-25 halfway between 0 and 2^-24 -> 0; 3*2^-25 between 1 and 2 ulps -> 2 */
    CHECK_EQ_INT(f32_to_fp16(ldexpf(1.0f, -25)), 0x0000);
    CHECK_EQ_INT(f32_to_fp16(-ldexpf(1.0f, -25)), 0x8000);
    CHECK_EQ_INT(f32_to_fp16(3 * ldexpf(1.0f, -25)), 0x0002);
    CHECK_EQ_INT(f32_to_fp16(5 * ldexpf(1.0f, -25)), 0x0002);
    CHECK_EQ_INT(f32_to_fp16(fbits(bits(ldexpf(1.0f, -25)) + 1)), 0x0001);
    /* the largest subnormal + half an ulp rounds up into the smallest normal */
    CHECK_EQ_INT(f32_to_fp16(ldexpf(2047.0f, -25)), 0x0400);
}

static void test_fp16_nan(void) {
    uint16_t h = f32_to_fp16(NAN), hn = f32_to_fp16(-NAN);
    CHECK((h & 0x7C00) == 0x7C00 && (h & 0x03FF) != 0);
    CHECK((hn & 0x7C00) == 0x7C00 && (hn & 0x03FF) != 0);
    CHECK(isnan(fp16_to_f32(0x7E00)));
    CHECK(isnan(fp16_to_f32(0x7C01)));
    CHECK(isnan(fp16_to_f32(0xFFFF)));
    CHECK(isinf(fp16_to_f32(0x7C00)) && fp16_to_f32(0x7C00) > 0);
    CHECK(isinf(fp16_to_f32(0xFC00)) && fp16_to_f32(0xFC00) < 0);
}

/* Every half decodes to its IEEE value, and encoding that value gives the pattern back. */
static void test_fp16_all_patterns_round_trip(void) {
    uint32_t h;
    int bad_val = 0, bad_rt = 0;
    for (h = 0; h < 65536; h++) {
        float f = fp16_to_f32((uint16_t)h);
        double ref = half_value((uint16_t)h);
        if (isnan(ref)) {
            if (!isnan(f)) bad_val++;
            continue;
        }
        if ((double)f != ref || !signbit(f) != !signbit(ref)) bad_val++;
        if (f32_to_fp16(f) != h) bad_rt++;
    }
    CHECK_EQ_INT(bad_val, 0);
    CHECK_EQ_INT(bad_rt, 0);
}

/* f32 -> f16 over a dense stride of all float bit patterns against the nearest-value search
 * (and the compiler's _Float16 conversion when it has one). */
static void test_fp16_matches_reference_on_sampled_floats(void) {
    uint64_t u;
    int bad = 0, bad_cc = 0, n = 0;
    for (u = 0; u <= 0xFFFFFFFFu; u += 7919) {
        float x = fbits((uint32_t)u);
        uint16_t got;
        if (isnan(x)) continue;
        got = f32_to_fp16(x);
        if (got != half_nearest(x)) {
            if (bad < 5) fprintf(stderr, "  f32 0x%08X: got 0x%04X want 0x%04X\n", (unsigned)u, got, half_nearest(x));
            bad++;
        }
#ifdef __FLT16_MAX__
        {
            _Float16 hf = (_Float16)x;
            uint16_t hb;
            memcpy(&hb, &hf, 2);
            if (hb != got) bad_cc++;
        }
#endif
        n++;
    }
    CHECK(n > 500000);
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(bad_cc, 0);
}

static void test_bf16_conversion(void) {
    CHECK_EQ_INT(f32_to_bf16(1.0f), 0x3F80);
    CHECK_EQ_INT(f32_to_bf16(-2.0f), 0xC000);
    CHECK_EQ_INT(f32_to_bf16(fbits(0x3F808000u)), 0x3F80); /* tie, even stays */
    CHECK_EQ_INT(f32_to_bf16(fbits(0x3F818000u)), 0x3F82); /* tie, odd rounds up */
    CHECK_EQ_INT(f32_to_bf16(fbits(0x3F808001u)), 0x3F81); /* above tie */
    CHECK_EQ_INT(f32_to_bf16(fbits(0x3F807FFFu)), 0x3F80); /* below tie */
    CHECK_EQ_INT(f32_to_bf16(fbits(0x7F7FFFFFu)), 0x7F80); /* FLT_MAX rounds to inf */
    CHECK_EQ_INT(f32_to_bf16(INFINITY), 0x7F80);
    CHECK_EQ_INT(f32_to_bf16(-INFINITY), 0xFF80);
    CHECK_EQ_INT(f32_to_bf16(fbits(0x00008000u)), 0x0000); /* subnormal tie -> even 0 */
    CHECK_EQ_INT(f32_to_bf16(fbits(0x00018000u)), 0x0002); /* subnormal tie -> even 2 */
    CHECK_EQ_INT(f32_to_bf16(fbits(0x80010000u)), 0x8001); /* exact negative subnormal */
    {
        uint16_t h = f32_to_bf16(fbits(0x7F800001u)); /* signalling nan stays a nan */
        CHECK((h & 0x7F80) == 0x7F80 && (h & 0x7F) != 0);
    }
    CHECK(bf16_to_f32(0x3F80) == 1.0f);
    CHECK(bf16_to_f32(0xC049) == -3.140625f);
    CHECK(bits(bf16_to_f32(0x8000)) == 0x80000000u);
    CHECK(isnan(bf16_to_f32(0x7FC0)));
    {
        uint32_t h;
        int bad = 0;
        for (h = 0; h < 65536; h++) {
            float f = bf16_to_f32((uint16_t)h);
            if (bits(f) != h << 16) bad++;
            if (!isnan(f) && f32_to_bf16(f) != h) bad++;
        }
        CHECK_EQ_INT(bad, 0);
    }
}

static void test_dtype_table(void) {
    char names[128];
    CHECK(dtype_supported(MLLM_DTYPE_F32) && dtype_supported(MLLM_DTYPE_F16));
    CHECK(dtype_supported(MLLM_DTYPE_Q8_0) && dtype_supported(MLLM_DTYPE_BF16));
    CHECK(dtype_supported(MLLM_DTYPE_Q4_0) && dtype_supported(MLLM_DTYPE_Q4_K) && dtype_supported(MLLM_DTYPE_IQ4_XS));
    CHECK(!dtype_supported(MLLM_DTYPE_Q8_K) && !dtype_supported(MLLM_DTYPE_IQ2_XXS) && !dtype_supported(1000));
    CHECK(strcmp(dtype_supported_names(names, sizeof names),
                 "F32, F16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS, BF16") == 0);
    CHECK(strcmp(dtype_supported_names(names, 9), "F32, F16") == 0); /* cut to fit */
    CHECK(strcmp(dtype_name(0), "F32") == 0);
    CHECK(strcmp(dtype_name(8), "Q8_0") == 0);
    CHECK(strcmp(dtype_name(12), "Q4_K") == 0);
    CHECK(strcmp(dtype_name(14), "Q6_K") == 0);
    CHECK(strcmp(dtype_name(17), "IQ2_XS") == 0);
    CHECK(strcmp(dtype_name(30), "BF16") == 0);
    CHECK(strcmp(dtype_name(4), "unknown") == 0); /* retired Q4_2 */
    CHECK(strcmp(dtype_name(1000), "unknown") == 0);
    CHECK_EQ_INT(sizeof(block_q8_0), 34);
    CHECK_EQ_INT(dtype_block_elems(MLLM_DTYPE_Q8_0), 32);
    CHECK_EQ_INT(dtype_block_bytes(MLLM_DTYPE_Q8_0), 34);
    CHECK_EQ_INT(dtype_row_bytes(MLLM_DTYPE_Q8_0, 64), 68);
    CHECK_EQ_INT(dtype_row_bytes(MLLM_DTYPE_Q8_0, 33), 0);
    CHECK_EQ_INT(dtype_row_bytes(MLLM_DTYPE_F32, 5), 20);
    CHECK_EQ_INT(dtype_row_bytes(MLLM_DTYPE_F16, 5), 10);
    CHECK_EQ_INT(dtype_row_bytes(MLLM_DTYPE_BF16, 7), 14);
    CHECK_EQ_INT(dtype_row_bytes(MLLM_DTYPE_Q4_K, 256), 144);
    CHECK_EQ_INT(dtype_row_bytes(MLLM_DTYPE_Q4_K, 255), 0);
    CHECK_EQ_INT(dtype_row_bytes(4, 32), 0); /* retired */
    CHECK_EQ_INT(dtype_act(MLLM_DTYPE_Q8_0), MLLM_ACT_Q8_0);
    CHECK_EQ_INT(dtype_act(MLLM_DTYPE_BF16), MLLM_ACT_F32);
    CHECK_EQ_INT(dtype_act(MLLM_DTYPE_Q4_K), MLLM_ACT_Q8_K); /* ggml's vec_dot_type pairs */
    CHECK_EQ_INT(dtype_act(MLLM_DTYPE_Q5_1), MLLM_ACT_Q8_1);
    CHECK_EQ_INT(dtype_act(MLLM_DTYPE_IQ4_NL), MLLM_ACT_Q8_0);
    CHECK_EQ_INT(dtype_act(MLLM_DTYPE_Q8_K), MLLM_ACT_NONE); /* an activation format, not a weight type */
    CHECK_EQ_INT(dtype_act(MLLM_DTYPE_IQ2_XXS), MLLM_ACT_NONE); /* no kernel */
    CHECK(dtype_is_float(MLLM_DTYPE_F16) && !dtype_is_float(MLLM_DTYPE_Q8_0) && !dtype_is_float(MLLM_DTYPE_I32));
}

/* Every supported row is complete: a row-to-float and a scalar kernel. */
static void test_supported_rows_have_a_row_to_float_and_a_kernel(void) {
    uint32_t i;
    int n = 0;
    for (i = 0; i < MLLM_DTYPE_COUNT; i++) {
        const dtype_traits *t = dtype_traits_of(i);
        if (!dtype_supported(i)) continue;
        n++;
        CHECK(t->to_float != NULL && t->matmul_scalar != NULL && t->block_elems > 0 && t->block_bytes > 0);
        CHECK(t->repack == NULL || t->repack_preferred != NULL);
        /* a repacked head may be the token embedding: its rows must come back (model.c) */
        CHECK(t->repack == NULL || t->repacked_block != NULL);
    }
    CHECK_EQ_INT(n, 15);
}

/* The table's name, block elements and bytes for every ggml type id are ggml's own: the
 * libggml-base.so of node-llama-cpp (make deps installs it), through ggml_type_name,
 * ggml_blck_size and ggml_type_size; retired ids have block size 0 there and no row here. */
#ifndef __EMSCRIPTEN__
typedef const char *(*ggml_name_fn)(int);
typedef int64_t (*ggml_blck_fn)(int);
typedef size_t (*ggml_size_fn)(int);

static void test_table_matches_ggml_type_traits(void) {
    glob_t g;
    void *lib = NULL;
    ggml_name_fn name;
    ggml_blck_fn blck;
    ggml_size_fn size;
    uint32_t i;
    int found = glob("node_modules/@node-llama-cpp/*/bins/*/libggml-base.so", 0, NULL, &g) == 0 && g.gl_pathc > 0;
    if (found) lib = dlopen(g.gl_pathv[0], RTLD_NOW | RTLD_LOCAL);
    if (found) globfree(&g);
    if (!lib) {
        fprintf(stderr, "  libggml-base.so of node-llama-cpp not found or not loadable (run make deps)\n");
        CHECK(lib != NULL);
        return;
    }
    name = (ggml_name_fn)(uintptr_t)dlsym(lib, "ggml_type_name");
    blck = (ggml_blck_fn)(uintptr_t)dlsym(lib, "ggml_blck_size");
    size = (ggml_size_fn)(uintptr_t)dlsym(lib, "ggml_type_size");
    CHECK(name && blck && size);
    for (i = 0; name && blck && size && i < MLLM_DTYPE_COUNT; i++) {
        const dtype_traits *t = dtype_traits_of(i);
        if (blck((int)i) == 0) { /* retired in ggml */
            CHECK(t->name == NULL && t->block_elems == 0);
            continue;
        }
        if (!t->name || strcasecmp(t->name, name((int)i)) != 0)
            fprintf(stderr, "  type %u: %s here, %s in ggml\n", (unsigned)i, t->name ? t->name : "(none)",
                    name((int)i));
        CHECK(t->name && strcasecmp(t->name, name((int)i)) == 0);
        CHECK_EQ_INT(t->block_elems, blck((int)i));
        CHECK_EQ_INT(t->block_bytes, size((int)i));
    }
    dlclose(lib);
}
#endif

/* Blocks whose scale is a power of two so every product is exact and the expected ints
 * follow from C's roundf definition (half away from zero) by hand. */
static void test_q8_0_hand_computed_blocks(void) {
    float x[4 * 32];
    block_q8_0 y[4];
    int j;
    memset(x, 0, sizeof x);
    /* block 0: amax 127 -> d = 1 (fp16 0x3C00), id = 1, q = roundf(x) */
    x[0] = 127.0f; x[1] = -127.0f; x[2] = 0.5f; x[3] = -0.5f; x[4] = 2.5f; x[5] = -2.5f;
    x[6] = 126.49f; x[7] = 0.49f; x[8] = -1.51f; x[9] = 3.0f;
    /* block 1: amax 63.5 -> d = 0.5 (0x3800), id = 2 */
    x[32] = 63.5f; x[33] = 0.25f; x[34] = -0.75f; x[35] = -63.5f; x[36] = 1.2f;
    /* block 2: all zero -> d = 0, id = 0, all q = 0 */
    /* block 3: amax 1.0 -> d = 1/127 whose nearest half is 0x2008 (2^-7 * (1 + 8/1024)) */
    x[96] = 1.0f; x[97] = -1.0f; x[98] = 0.3f; x[99] = -0.1f;
    quantize_row_q8_0(x, y, 4 * 32);

    CHECK_EQ_INT(y[0].d, 0x3C00);
    CHECK_EQ_INT(y[0].qs[0], 127); CHECK_EQ_INT(y[0].qs[1], -127);
    CHECK_EQ_INT(y[0].qs[2], 1);   CHECK_EQ_INT(y[0].qs[3], -1);
    CHECK_EQ_INT(y[0].qs[4], 3);   CHECK_EQ_INT(y[0].qs[5], -3);
    CHECK_EQ_INT(y[0].qs[6], 126); CHECK_EQ_INT(y[0].qs[7], 0);
    CHECK_EQ_INT(y[0].qs[8], -2);  CHECK_EQ_INT(y[0].qs[9], 3);
    for (j = 10; j < 32; j++) CHECK_EQ_INT(y[0].qs[j], 0);

    CHECK_EQ_INT(y[1].d, 0x3800);
    CHECK_EQ_INT(y[1].qs[0], 127); CHECK_EQ_INT(y[1].qs[1], 1);
    CHECK_EQ_INT(y[1].qs[2], -2);  CHECK_EQ_INT(y[1].qs[3], -127);
    CHECK_EQ_INT(y[1].qs[4], 2);   /* 2.4 */

    CHECK_EQ_INT(y[2].d, 0);
    for (j = 0; j < 32; j++) CHECK_EQ_INT(y[2].qs[j], 0);

    CHECK_EQ_INT(y[3].d, 0x2008);
    CHECK_EQ_INT(y[3].qs[0], 127); CHECK_EQ_INT(y[3].qs[1], -127);
    CHECK_EQ_INT(y[3].qs[2], 38);  /* 0.3 * 127 = 38.1 */
    CHECK_EQ_INT(y[3].qs[3], -13); /* -12.7 */

    {
        float back[4 * 32];
        dequantize_row(MLLM_DTYPE_Q8_0, y, back, 4 * 32);
        CHECK(back[0] == 127.0f && back[2] == 1.0f && back[8] == -2.0f);
        CHECK(back[33] == 0.5f && back[34] == -1.0f);
        CHECK(back[64] == 0.0f);
        CHECK(back[98] == 38.0f * (float)half_value(0x2008));
    }
}

/* Error bound: every dequantized value is within half a step (plus fp16 scale error). */
static void test_q8_0_error_bound_random(void) {
    enum { N = 32 * 64 };
    static float x[N], back[N];
    static block_q8_0 y[N / 32];
    uint32_t s = 12345u;
    int i, bad = 0;
    for (i = 0; i < N; i++) {
        s ^= s << 13; s ^= s >> 17; s ^= s << 5;
        x[i] = ((float)(s >> 8) / 16777216.0f - 0.5f) * (float)(1 + (i / 32) % 7) * 3.0f;
    }
    quantize_row_q8_0(x, y, N);
    dequantize_row(MLLM_DTYPE_Q8_0, y, back, N);
    for (i = 0; i < N; i++) {
        float amax = 0;
        int j, b = i / 32;
        for (j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[b * 32 + j]));
        /* half a step of amax/127, plus the fp16 relative error 2^-11 on up to 127 steps */
        if (fabsf(x[i] - back[i]) > amax / 127.0f * 0.5f + amax * 0.0005f) bad++;
    }
    CHECK_EQ_INT(bad, 0);
}

static void test_dequantize_f16_bf16_rows(void) {
    /* little-endian bytes, deliberately at an odd address */
    uint8_t raw[1 + 8] = {0, 0x00, 0x3C, 0x00, 0xC0, 0x01, 0x00, 0xFF, 0x7B};
    uint8_t rawb[1 + 4] = {0, 0x80, 0x3F, 0x49, 0xC0};
    float out[4];
    dequantize_row(MLLM_DTYPE_F16, raw + 1, out, 4);
    CHECK(out[0] == 1.0f && out[1] == -2.0f && out[2] == ldexpf(1.0f, -24) && out[3] == 65504.0f);
    dequantize_row(MLLM_DTYPE_BF16, rawb + 1, out, 2);
    CHECK(out[0] == 1.0f && out[1] == -3.140625f);
}

int main(void) {
    RUN(test_fp16_known_values);
    RUN(test_fp16_rounding_ties);
    RUN(test_fp16_nan);
    RUN(test_fp16_all_patterns_round_trip);
    RUN(test_fp16_matches_reference_on_sampled_floats);
    RUN(test_bf16_conversion);
    RUN(test_dtype_table);
    RUN(test_supported_rows_have_a_row_to_float_and_a_kernel);
#ifndef __EMSCRIPTEN__
    RUN(test_table_matches_ggml_type_traits);
#endif
    RUN(test_q8_0_hand_computed_blocks);
    RUN(test_q8_0_error_bound_random);
    RUN(test_dequantize_f16_bf16_rows);
    return check_summary("test_dtype");
}
