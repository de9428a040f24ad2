/* codec.h — ggml's number formats bit for bit: fp16 and bf16 values, the Q8_0 block and its
 * reference quantizer, and each supported type's row-to-float (the type table in dtype.c
 * points at these). */
#ifndef MLLM_CODEC_H
#define MLLM_CODEC_H

#include <stddef.h>
#include <stdint.h>

/* A compile-time check in C99: a negative array size when cond is false. */
#define MLLM_STATIC_ASSERT(cond, name) typedef char mllm_static_assert_##name[(cond) ? 1 : -1]

#define MLLM_QK8_0 32

/* ggml's block_q8_0: 32 int8 values sharing one fp16 scale, value = d * qs[i]. 34 bytes. */
typedef struct block_q8_0 {
    uint16_t d;
    int8_t qs[MLLM_QK8_0];
} block_q8_0;
MLLM_STATIC_ASSERT(sizeof(block_q8_0) == 2 + MLLM_QK8_0, block_q8_0_size);

float fp16_to_f32(uint16_t h);
uint16_t f32_to_fp16(float f); /* round to nearest even, like ggml/numpy */
float bf16_to_f32(uint16_t h);
uint16_t f32_to_bf16(float f); /* round to nearest even */

/* ggml's reference Q8_0 quantization: d = amax/127, q = round(x/d). n % 32 == 0. */
void quantize_row_q8_0(const float *x, block_q8_0 *y, int64_t n);

/* The scales of nb Q8_0 blocks: the index of the first inf or nan one, or -1 when all are
 * finite; *plain = 1 when every one is +0 or a positive normal half (quantizers write
 * amax / 127), which lets the SIMD decode convert them in one shift. */
int64_t q8_0_scan_scales(const void *blocks, int64_t nb, int *plain);

/* Rows to f32, n elements (a multiple of the type's block); src need not be aligned. */
void dequantize_row_f32(const void *src, float *dst, int64_t n);
void dequantize_row_f16(const void *src, float *dst, int64_t n);
void dequantize_row_bf16(const void *src, float *dst, int64_t n);
void dequantize_row_q8_0(const void *src, float *dst, int64_t n);

#endif
