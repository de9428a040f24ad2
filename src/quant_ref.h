/* quant_ref.h — reference quantizers and dequantizers of llama.cpp's 4/5/6-bit weight types
 * and of the Q8_1/Q8_K activation types, bit-exact with ggml (ggml/src/ggml-quants.c).
 *
 * Weight quantizers (X_quantize) write what llama-quantize writes without an importance
 * matrix: ggml_quantize_chunk(type, ..., imatrix = NULL). For every type here but IQ4_NL that
 * is ggml's quantize_row_X_ref; for IQ4_NL it is quantize_iq4_nl (7 scale trials), not
 * quantize_row_iq4_nl_ref (none, and it reads stale levels for an all-zero block).
 * k (elements) must be a multiple of the type's block (32, or QK_K = 256 for K/IQ4_XS/Q8_K).
 */
#ifndef MLLM_QUANT_REF_H
#define MLLM_QUANT_REF_H

#include <stddef.h>
#include <stdint.h>

#include "quant_blocks.h"

void q4_0_quantize(const float *x, void *y, int64_t k);
void q4_1_quantize(const float *x, void *y, int64_t k);
void q5_0_quantize(const float *x, void *y, int64_t k);
void q5_1_quantize(const float *x, void *y, int64_t k);
void q2_k_quantize(const float *x, void *y, int64_t k);
void q3_k_quantize(const float *x, void *y, int64_t k);
void q4_k_quantize(const float *x, void *y, int64_t k);
void q5_k_quantize(const float *x, void *y, int64_t k);
void q6_k_quantize(const float *x, void *y, int64_t k);
void iq4_nl_quantize(const float *x, void *y, int64_t k);
void iq4_xs_quantize(const float *x, void *y, int64_t k);

/* Activation quantizers (ggml's quantize_row_q8_1_ref / quantize_row_q8_K_ref). */
void q8_1_quantize(const float *x, void *y, int64_t k);
void q8_k_quantize(const float *x, void *y, int64_t k);

void q4_0_dequantize(const void *x, float *y, int64_t k);
void q4_1_dequantize(const void *x, float *y, int64_t k);
void q5_0_dequantize(const void *x, float *y, int64_t k);
void q5_1_dequantize(const void *x, float *y, int64_t k);
void q8_1_dequantize(const void *x, float *y, int64_t k); /* d * q (ggml has none) */
void q2_k_dequantize(const void *x, float *y, int64_t k);
void q3_k_dequantize(const void *x, float *y, int64_t k);
void q4_k_dequantize(const void *x, float *y, int64_t k);
void q5_k_dequantize(const void *x, float *y, int64_t k);
void q6_k_dequantize(const void *x, float *y, int64_t k);
void q8_k_dequantize(const void *x, float *y, int64_t k);
void iq4_nl_dequantize(const void *x, float *y, int64_t k);
void iq4_xs_dequantize(const void *x, float *y, int64_t k);

/* Weight quantization of n_rows rows of n_per_row floats into type (an mllm_dtype: Q8_0 or
 * a weight type above), rows back to back, as ggml_quantize_chunk without imatrix. Returns
 * the bytes written, 0 (nothing written) for another type or a row length not a multiple of
 * its block. */
size_t quant_rows(uint32_t type, const float *src, void *dst, int64_t n_rows, int64_t n_per_row);

/* The first of n_blocks blocks of `type` (a weight type above) whose fp16 scale (d, and m or
 * dmin where the type has one) is inf or nan, as ggml_validate_row_data checks; -1 if none.
 * Quantizers never write such scales: they make a damaged file. */
int64_t quant_first_bad_scale(uint32_t type, const void *data, int64_t n_blocks);

#endif
