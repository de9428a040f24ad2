/* dtype.h — tensor element types (ggml numbering), half/bfloat conversion, Q8_0 blocks. */
#ifndef MLLM_DTYPE_H
#define MLLM_DTYPE_H

#include <stddef.h>
#include <stdint.h>

/* Values are ggml's type ids, so GGUF files carry them unchanged. */
typedef enum mllm_dtype {
    MLLM_DTYPE_F32 = 0,
    MLLM_DTYPE_F16 = 1,
    MLLM_DTYPE_Q8_0 = 8,
    MLLM_DTYPE_BF16 = 30
} mllm_dtype;

#define MLLM_QK8_0 32

/* ggml's block_q8_0: 32 int8 values sharing one fp16 scale, value = d * qs[i]. 34 bytes. */
typedef struct block_q8_0 {
    uint16_t d;
    int8_t qs[MLLM_QK8_0];
} block_q8_0;

/* 1 for the types the engine computes with (F32, F16, BF16, Q8_0). */
int dtype_supported(uint32_t type);
/* ggml's name for any ggml type id ("Q4_K", "IQ2_XS", ...), "unknown" past the table. */
const char *dtype_name(uint32_t type);
/* Elements per block (1 for float types), 0 for unknown types. */
int64_t dtype_block_elems(uint32_t type);
/* Bytes per block (4, 2, 34, 2), 0 for unknown types. */
size_t dtype_block_bytes(uint32_t type);
/* Bytes of a row of n elements; 0 when n is not a multiple of the block or type unknown. */
size_t dtype_row_bytes(uint32_t type, int64_t n);

float fp16_to_f32(uint16_t h);
uint16_t f32_to_fp16(float f); /* round to nearest even, like ggml/numpy */
float bf16_to_f32(uint16_t h);
uint16_t f32_to_bf16(float f); /* round to nearest even */

/* ggml's reference Q8_0 quantization: d = amax/127, q = round(x/d). n % 32 == 0. */
void quantize_row_q8_0(const float *x, block_q8_0 *y, int64_t n);
/* Any supported type to f32. n must be a multiple of the type's block. */
void dequantize_row(uint32_t type, const void *src, float *dst, int64_t n);

#endif
