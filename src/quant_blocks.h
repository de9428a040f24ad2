/* quant_blocks.h — ggml's block layouts of the 4/5/6-bit weight types and of the Q8_1 and
 * Q8_K activation types (ggml/src/ggml-common.h), byte for byte, so GGUF tensor data can be
 * read in place. fp16 fields are raw IEEE half bit patterns (codec.h converts them); the
 * type ids are dtype.h's. */
#ifndef MLLM_QUANT_BLOCKS_H
#define MLLM_QUANT_BLOCKS_H

#include <stdint.h>

/* C99 static assertion: a negative array size fails to compile. */
#define QUANT_STATIC_ASSERT(cond, name) typedef char quant_static_assert_##name[(cond) ? 1 : -1]

#define QK4_0 32
#define QK4_1 32
#define QK5_0 32
#define QK5_1 32
#define QK8_1 32
#define QK4_NL 32
#define QK_K 256 /* super-block of the K types, IQ4_XS and Q8_K */
#define K_SCALE_SIZE 12

/* value = d * (q - 8), q 4 bits; element j in the low nibble of qs[j], j+16 in the high one */
typedef struct block_q4_0 {
    uint16_t d;
    uint8_t qs[QK4_0 / 2];
} block_q4_0;

/* value = d * q + m */
typedef struct block_q4_1 {
    uint16_t d, m;
    uint8_t qs[QK4_1 / 2];
} block_q4_1;

/* value = d * (q - 16), q 5 bits: the fifth bit of element j is bit j of qh (little endian) */
typedef struct block_q5_0 {
    uint16_t d;
    uint8_t qh[4];
    uint8_t qs[QK5_0 / 2];
} block_q5_0;

/* value = d * q + m, q 5 bits */
typedef struct block_q5_1 {
    uint16_t d, m;
    uint8_t qh[4];
    uint8_t qs[QK5_1 / 2];
} block_q5_1;

/* activations for Q4_1/Q5_1: value = d * qs[i]; s = d * sum(qs) */
typedef struct block_q8_1 {
    uint16_t d, s;
    int8_t qs[QK8_1];
} block_q8_1;

/* 16 sub-blocks of 16: value = d * (scales & 15) * q - dmin * (scales >> 4), q 2 bits */
typedef struct block_q2_K {
    uint8_t scales[QK_K / 16];
    uint8_t qs[QK_K / 4];
    uint16_t d, dmin;
} block_q2_K;

/* 16 sub-blocks of 16: value = d * (scale6 - 32) * (q - 4), q = 2 low bits in qs + hmask bit */
typedef struct block_q3_K {
    uint8_t hmask[QK_K / 8];
    uint8_t qs[QK_K / 4];
    uint8_t scales[12];
    uint16_t d;
} block_q3_K;

/* 8 sub-blocks of 32: value = d * sc * q - dmin * m, 6-bit sc/m packed in scales */
typedef struct block_q4_K {
    uint16_t d, dmin;
    uint8_t scales[K_SCALE_SIZE];
    uint8_t qs[QK_K / 2];
} block_q4_K;

typedef struct block_q5_K {
    uint16_t d, dmin;
    uint8_t scales[K_SCALE_SIZE];
    uint8_t qh[QK_K / 8];
    uint8_t qs[QK_K / 2];
} block_q5_K;

/* 16 sub-blocks of 16: value = d * scales[i] * (q - 32), q 6 bits (4 in ql, 2 in qh) */
typedef struct block_q6_K {
    uint8_t ql[QK_K / 2];
    uint8_t qh[QK_K / 4];
    int8_t scales[QK_K / 16];
    uint16_t d;
} block_q6_K;

/* activations for the K types and IQ4_XS: value = d * qs[i], bsums: sums of 16 qs */
typedef struct block_q8_K {
    float d;
    int8_t qs[QK_K];
    int16_t bsums[QK_K / 16];
} block_q8_K;

/* value = d * kvalues_iq4nl[q] */
typedef struct block_iq4_nl {
    uint16_t d;
    uint8_t qs[QK4_NL / 2];
} block_iq4_nl;

/* 8 sub-blocks of 32, 6-bit scales (low 4 bits in scales_l, high 2 in scales_h) */
typedef struct block_iq4_xs {
    uint16_t d;
    uint16_t scales_h;
    uint8_t scales_l[QK_K / 64];
    uint8_t qs[QK_K / 2];
} block_iq4_xs;

QUANT_STATIC_ASSERT(sizeof(block_q4_0) == 2 + QK4_0 / 2, q4_0);
QUANT_STATIC_ASSERT(sizeof(block_q4_1) == 4 + QK4_1 / 2, q4_1);
QUANT_STATIC_ASSERT(sizeof(block_q5_0) == 2 + 4 + QK5_0 / 2, q5_0);
QUANT_STATIC_ASSERT(sizeof(block_q5_1) == 4 + 4 + QK5_1 / 2, q5_1);
QUANT_STATIC_ASSERT(sizeof(block_q8_1) == 4 + QK8_1, q8_1);
QUANT_STATIC_ASSERT(sizeof(block_q2_K) == 4 + QK_K / 16 + QK_K / 4, q2_K);
QUANT_STATIC_ASSERT(sizeof(block_q3_K) == 2 + QK_K / 4 + QK_K / 8 + 12, q3_K);
QUANT_STATIC_ASSERT(sizeof(block_q4_K) == 4 + K_SCALE_SIZE + QK_K / 2, q4_K);
QUANT_STATIC_ASSERT(sizeof(block_q5_K) == 4 + K_SCALE_SIZE + QK_K / 2 + QK_K / 8, q5_K);
QUANT_STATIC_ASSERT(sizeof(block_q6_K) == 2 + QK_K / 16 + 3 * QK_K / 4, q6_K);
QUANT_STATIC_ASSERT(sizeof(block_q8_K) == 4 + QK_K + QK_K / 16 * 2, q8_K);
QUANT_STATIC_ASSERT(sizeof(block_iq4_nl) == 2 + QK4_NL / 2, iq4_nl);
QUANT_STATIC_ASSERT(sizeof(block_iq4_xs) == 2 + 2 + QK_K / 64 + QK_K / 2, iq4_xs);

/* IQ4_NL/IQ4_XS's 16 non-linear levels (ggml-common.h kvalues_iq4nl) */
#define QUANT_IQ4NL_VALUES {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113}

#endif
