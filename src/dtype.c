/* dtype.c — the table of tensor types (see dtype.h): ggml's facts for every type id, and
 * for the types this engine computes with, their row-to-float and kernels. */
#include "dtype.h"

#include <stdio.h>
#include <string.h>

#include "kernels_quant.h"
#include "mobilellm.h"
#include "quant_ref.h"
#include "quant_x4.h"

/* The build's SIMD128 and relaxed kernels, where it has them. */
#ifdef MLLM_KERNELS_SIMD128
#define SIMD128(f) f
#else
#define SIMD128(f) NULL
#endif
#if defined(MLLM_KERNELS_SIMD128) && defined(MLLM_RELAXED_IMPORT)
#define RELAXED(f) f
#else
#define RELAXED(f) NULL
#endif

/* Block elements and bytes are ggml's (ggml.c type_traits; tests/c/test_dtype.c checks them
 * against the libggml that node-llama-cpp ships). */
#define FACTS(id, nm, be, bb) [id] = {.name = nm, .block_elems = be, .block_bytes = bb}
/* The 4/5/6-bit weight types (quant_blocks.h, quant_ref.c, kernels_quant.c), with relaxed-SIMD
 * kernels (kernels_relaxed_quant.c) */
#define QUANT_R(id, nm, be, blk, lc, ac)                                                                  \
    [id] = {.name = nm, .block_elems = be, .block_bytes = sizeof(blk), .to_float = lc##_dequantize,       \
            .act = ac, .matmul_scalar = kern_matmul_##lc##_scalar,                                         \
            .matmul_simd128 = SIMD128(kern_matmul_##lc##_simd128), .matmul_relaxed = RELAXED(kern_matmul_quant_relaxed)}
/* ... and an x4 layout the relaxed kernels prefer (quant_x4.c, kernels_relaxed_x4quant.c) */
#define QUANT_X4(id, nm, be, blk, lc, ac, lay, pref)                                                             \
    [id] = {.name = nm, .block_elems = be, .block_bytes = sizeof(blk), .to_float = lc##_dequantize,       \
            .act = ac, .matmul_scalar = kern_matmul_##lc##_scalar,                                         \
            .matmul_simd128 = SIMD128(kern_matmul_##lc##_simd128), .matmul_relaxed = RELAXED(kern_matmul_quant_relaxed), \
            .scan_scales = lc##_scan_scales, .repack = kern_##lc##_to_x4,                                  \
            .repack_layout = lay, .repack_preferred = pref, .repacked_block = lc##_x4_block}
static const dtype_traits table[MLLM_DTYPE_COUNT] = {
    [MLLM_DTYPE_F32] = {.name = "F32", .block_elems = 1, .block_bytes = 4, .to_float = dequantize_row_f32,
                        .act = MLLM_ACT_F32, .matmul_scalar = kern_matmul_f32_scalar,
                        .matmul_simd128 = SIMD128(kern_matmul_float_simd128)},
    [MLLM_DTYPE_F16] = {.name = "F16", .block_elems = 1, .block_bytes = 2, .to_float = dequantize_row_f16,
                        .act = MLLM_ACT_F32, .matmul_scalar = kern_matmul_half_scalar,
                        .matmul_simd128 = SIMD128(kern_matmul_float_simd128)},
    QUANT_X4(MLLM_DTYPE_Q4_0, "Q4_0", QK4_0, block_q4_0, q4_0, MLLM_ACT_Q8_0, KERN_LAYOUT_Q4_0_X4, kern_quant_x4_preferred),
    QUANT_X4(MLLM_DTYPE_Q4_1, "Q4_1", QK4_1, block_q4_1, q4_1, MLLM_ACT_Q8_1, KERN_LAYOUT_Q4_1_X4, kern_quant_x4_preferred),
    QUANT_X4(MLLM_DTYPE_Q5_0, "Q5_0", QK5_0, block_q5_0, q5_0, MLLM_ACT_Q8_0, KERN_LAYOUT_Q5_0_X4, kern_quant_x4_preferred),
    QUANT_X4(MLLM_DTYPE_Q5_1, "Q5_1", QK5_1, block_q5_1, q5_1, MLLM_ACT_Q8_1, KERN_LAYOUT_Q5_1_X4, kern_quant_x4_preferred),
    [MLLM_DTYPE_Q8_0] = {.name = "Q8_0", .block_elems = MLLM_QK8_0, .block_bytes = sizeof(block_q8_0),
                         .to_float = dequantize_row_q8_0, .act = MLLM_ACT_Q8_0,
                         .matmul_scalar = kern_matmul_q8_0_scalar,
                         .matmul_simd128 = SIMD128(kern_matmul_q8_0_simd128),
                         .matmul_relaxed = RELAXED(kern_matmul_q8_0_relaxed), .scan_scales = q8_0_scan_scales,
                         .repack = kern_q8_0_to_x4,
                         .repack_layout = KERN_LAYOUT_Q8_0_X4, .repack_preferred = kern_q8_0_x4_preferred,
                         .repacked_block = kern_q8_0_x4_block},
    /* the activation formats: readable (tests), never weights */
    [MLLM_DTYPE_Q8_1] = {.name = "Q8_1", .block_elems = QK8_1, .block_bytes = sizeof(block_q8_1),
                         .to_float = q8_1_dequantize},
    QUANT_R(MLLM_DTYPE_Q2_K, "Q2_K", QK_K, block_q2_K, q2_k, MLLM_ACT_Q8_K),
    QUANT_R(MLLM_DTYPE_Q3_K, "Q3_K", QK_K, block_q3_K, q3_k, MLLM_ACT_Q8_K),
    [MLLM_DTYPE_Q4_K] = {.name = "Q4_K", .block_elems = QK_K, .block_bytes = sizeof(block_q4_K),
                         .to_float = q4_k_dequantize, .act = MLLM_ACT_Q8_K, .matmul_scalar = kern_matmul_q4_k_scalar,
                         .matmul_simd128 = SIMD128(kern_matmul_q4_k_simd128),
                         .matmul_relaxed = RELAXED(kern_matmul_quant_relaxed), .repack = kern_q4_k_to_x4,
                         .repack_layout = KERN_LAYOUT_Q4_K_X4, .repack_preferred = kern_k_x4_preferred,
                         .repacked_block = kern_q4_k_x4_block},
    [MLLM_DTYPE_Q5_K] = {.name = "Q5_K", .block_elems = QK_K, .block_bytes = sizeof(block_q5_K),
                         .to_float = q5_k_dequantize, .act = MLLM_ACT_Q8_K, .matmul_scalar = kern_matmul_q5_k_scalar,
                         .matmul_simd128 = SIMD128(kern_matmul_q5_k_simd128),
                         .matmul_relaxed = RELAXED(kern_matmul_quant_relaxed), .repack = kern_q5_k_to_x4,
                         .repack_layout = KERN_LAYOUT_Q5_K_X4, .repack_preferred = kern_k_x4_preferred,
                         .repacked_block = kern_q5_k_x4_block},
    [MLLM_DTYPE_Q6_K] = {.name = "Q6_K", .block_elems = QK_K, .block_bytes = sizeof(block_q6_K),
                         .to_float = q6_k_dequantize, .act = MLLM_ACT_Q8_K, .matmul_scalar = kern_matmul_q6_k_scalar,
                         .matmul_simd128 = SIMD128(kern_matmul_q6_k_simd128),
                         .matmul_relaxed = RELAXED(kern_matmul_quant_relaxed), .repack = kern_q6_k_to_x4,
                         .repack_layout = KERN_LAYOUT_Q6_K_X4, .repack_preferred = kern_k_x4_preferred,
                         .repacked_block = kern_q6_k_x4_block},
    [MLLM_DTYPE_Q8_K] = {.name = "Q8_K", .block_elems = QK_K, .block_bytes = sizeof(block_q8_K),
                         .to_float = q8_k_dequantize},
    FACTS(MLLM_DTYPE_IQ2_XXS, "IQ2_XXS", 256, 66),
    FACTS(MLLM_DTYPE_IQ2_XS, "IQ2_XS", 256, 74),
    FACTS(MLLM_DTYPE_IQ3_XXS, "IQ3_XXS", 256, 98),
    FACTS(MLLM_DTYPE_IQ1_S, "IQ1_S", 256, 50),
    QUANT_X4(MLLM_DTYPE_IQ4_NL, "IQ4_NL", QK4_NL, block_iq4_nl, iq4_nl, MLLM_ACT_Q8_0, KERN_LAYOUT_Q4_0_X4,
             kern_iq4_nl_x4_preferred),
    FACTS(MLLM_DTYPE_IQ3_S, "IQ3_S", 256, 110),
    FACTS(MLLM_DTYPE_IQ2_S, "IQ2_S", 256, 82),
    QUANT_R(MLLM_DTYPE_IQ4_XS, "IQ4_XS", QK_K, block_iq4_xs, iq4_xs, MLLM_ACT_Q8_K),
    FACTS(MLLM_DTYPE_I8, "I8", 1, 1),
    FACTS(MLLM_DTYPE_I16, "I16", 1, 2),
    FACTS(MLLM_DTYPE_I32, "I32", 1, 4),
    FACTS(MLLM_DTYPE_I64, "I64", 1, 8),
    FACTS(MLLM_DTYPE_F64, "F64", 1, 8),
    FACTS(MLLM_DTYPE_IQ1_M, "IQ1_M", 256, 56),
    [MLLM_DTYPE_BF16] = {.name = "BF16", .block_elems = 1, .block_bytes = 2, .to_float = dequantize_row_bf16,
                         .act = MLLM_ACT_F32, .matmul_scalar = kern_matmul_half_scalar,
                         .matmul_simd128 = SIMD128(kern_matmul_float_simd128)},
    FACTS(MLLM_DTYPE_TQ1_0, "TQ1_0", 256, 54),
    FACTS(MLLM_DTYPE_TQ2_0, "TQ2_0", 256, 66),
    FACTS(MLLM_DTYPE_MXFP4, "MXFP4", 32, 17),
    FACTS(MLLM_DTYPE_NVFP4, "NVFP4", 64, 36),
    FACTS(MLLM_DTYPE_Q1_0, "Q1_0", 128, 18),
    FACTS(MLLM_DTYPE_Q2_0, "Q2_0", 64, 18),
};
#undef FACTS
#undef QUANT_R
#undef QUANT_X4

static const dtype_traits no_type = {NULL, 0, 0, NULL, 0, NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL};

const dtype_traits *dtype_traits_of(uint32_t type) { return type < MLLM_DTYPE_COUNT ? &table[type] : &no_type; }

int dtype_supported(uint32_t type) {
    const dtype_traits *t = dtype_traits_of(type);
    return t->to_float && t->matmul_scalar && t->act != MLLM_ACT_NONE;
}

const char *dtype_name(uint32_t type) {
    const char *n = dtype_traits_of(type)->name;
    return n ? n : "unknown";
}

const char *mllm_dtype_name(int32_t type) { return type < 0 ? "unknown" : dtype_name((uint32_t)type); }

const char *dtype_supported_names(char *buf, size_t cap) {
    size_t len = 0;
    uint32_t i;
    if (cap == 0) return buf;
    buf[0] = '\0';
    for (i = 0; i < MLLM_DTYPE_COUNT; i++) {
        int w;
        if (!dtype_supported(i)) continue;
        w = snprintf(buf + len, cap - len, "%s%s", len ? ", " : "", table[i].name);
        if (w < 0 || (size_t)w >= cap - len) break;
        len += (size_t)w;
    }
    return buf;
}

int64_t dtype_block_elems(uint32_t type) { return dtype_traits_of(type)->block_elems; }

size_t dtype_block_bytes(uint32_t type) { return (size_t)dtype_traits_of(type)->block_bytes; }

size_t dtype_row_bytes(uint32_t type, int64_t n) {
    int64_t be = dtype_block_elems(type);
    if (be <= 0 || n < 0 || n % be != 0) return 0;
    return (size_t)(n / be) * dtype_block_bytes(type);
}

int dtype_act(uint32_t type) { return dtype_supported(type) ? dtype_traits_of(type)->act : MLLM_ACT_NONE; }

int dtype_is_float(uint32_t type) { return dtype_supported(type) && dtype_block_elems(type) == 1; }

void dequantize_row(uint32_t type, const void *src, float *dst, int64_t n) {
    const dtype_traits *t = dtype_traits_of(type);
    if (t->to_float) t->to_float(src, dst, n);
}
