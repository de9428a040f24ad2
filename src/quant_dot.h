/* quant_dot.h — scalar reference dot products of the 4/5/6-bit weight types against their
 * activation types, with the semantics of ggml's generic CPU code (ggml/src/ggml-cpu/quants.c
 * ggml_vec_dot_X_Y_generic): the same exact integer sums and the same float operations in the
 * same order, so each result is bit-equal to ggml's.
 *
 * Activation type per weight type, as ggml's CPU backend pairs them (dtype.c's table says it):
 *   Q4_0, Q5_0, IQ4_NL x Q8_0;  Q4_1, Q5_1 x Q8_1;  Q2_K..Q6_K, IQ4_XS x Q8_K.
 * n is the row length, a multiple of the weight type's block; w and a hold n/block blocks.
 */
#ifndef MLLM_QUANT_DOT_H
#define MLLM_QUANT_DOT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "quant_blocks.h"

/* Q4_K/Q5_K's 12 bytes of packed 6-bit scales and mins, unpacked as ggml's dot does (its utmp
 * shuffle); shared by the scalar and SIMD128 dots. */
static inline void quant_k4_unpack(const uint8_t *packed, uint8_t *scales8, uint8_t *mins8) {
    const uint32_t kmask1 = 0x3f3f3f3f, kmask2 = 0x0f0f0f0f, kmask3 = 0x03030303;
    uint32_t utmp[4], uaux;
    memcpy(utmp, packed, 12);
    utmp[3] = ((utmp[2] >> 4) & kmask2) | (((utmp[1] >> 6) & kmask3) << 4);
    uaux = utmp[1] & kmask1;
    utmp[1] = (utmp[2] & kmask2) | (((utmp[0] >> 6) & kmask3) << 4);
    utmp[2] = uaux;
    utmp[0] &= kmask1;
    memcpy(scales8, &utmp[0], 8);
    memcpy(mins8, &utmp[2], 8);
}

typedef float (*quant_dot_fn)(int64_t n, const void *w, const void *a);

float q4_0_dot_q8_0(int64_t n, const void *w, const void *a);
float q4_1_dot_q8_1(int64_t n, const void *w, const void *a);
float q5_0_dot_q8_0(int64_t n, const void *w, const void *a);
float q5_1_dot_q8_1(int64_t n, const void *w, const void *a);
float iq4_nl_dot_q8_0(int64_t n, const void *w, const void *a);
float q2_k_dot_q8_k(int64_t n, const void *w, const void *a);
float q3_k_dot_q8_k(int64_t n, const void *w, const void *a);
float q4_k_dot_q8_k(int64_t n, const void *w, const void *a);
float q5_k_dot_q8_k(int64_t n, const void *w, const void *a);
float q6_k_dot_q8_k(int64_t n, const void *w, const void *a);
float iq4_xs_dot_q8_k(int64_t n, const void *w, const void *a);
/* q4_k_dot_q8_k one super-block at a time, for weights not laid out row by row (kernels.h
 * KERN_LAYOUT_Q4_K_X4): start with sums[0..7] = 0 and sumf = 0, add each super-block blk (the
 * file's bytes) against the token's block a in order, then quant_k_finish gives the dot, bit
 * for bit. */
void q4_k_acc_q8_k(const void *blk, const void *a, float *sums, float *sumf);
void q5_k_acc_q8_k(const void *blk, const void *a, float *sums, float *sumf);
/* The same for q6_k_dot_q8_k (no sumf term: finish with sumf = 0). */
void q6_k_acc_q8_k(const void *blk, const void *a, float *sums);
float quant_k_finish(const float *sums, float sumf);

#ifdef __wasm_simd128__
/* The same dot products in SIMD128 (quant_dot_simd128.c), bit-identical to the above. */
/* Q8_1 activations (block_q8_1), bit-identical to quant_ref.c's q8_1_quantize (n % 32 == 0). */
void q8_1_quantize_simd128(const float *x, void *y, int64_t n);
float q4_0_dot_q8_0_simd128(int64_t n, const void *w, const void *a);
float q4_1_dot_q8_1_simd128(int64_t n, const void *w, const void *a);
float q5_0_dot_q8_0_simd128(int64_t n, const void *w, const void *a);
float q5_1_dot_q8_1_simd128(int64_t n, const void *w, const void *a);
float iq4_nl_dot_q8_0_simd128(int64_t n, const void *w, const void *a);
float q2_k_dot_q8_k_simd128(int64_t n, const void *w, const void *a);
float q3_k_dot_q8_k_simd128(int64_t n, const void *w, const void *a);
float q4_k_dot_q8_k_simd128(int64_t n, const void *w, const void *a);
float q5_k_dot_q8_k_simd128(int64_t n, const void *w, const void *a);
float q6_k_dot_q8_k_simd128(int64_t n, const void *w, const void *a);
float iq4_xs_dot_q8_k_simd128(int64_t n, const void *w, const void *a);
/* The 32-block types' dots of four rows (w, w + row_bytes, ...; row_bytes: the distance
 * between them, any multiple of a row's size) with one token: out4[k] is the dot above of
 * row k, bit for bit. */
typedef void (*quant_dot4_fn)(int64_t n, const void *w, size_t row_bytes, const void *a, float *out4);
void q4_0_dot4_q8_0_simd128(int64_t n, const void *w, size_t row_bytes, const void *a, float *out4);
void q4_1_dot4_q8_1_simd128(int64_t n, const void *w, size_t row_bytes, const void *a, float *out4);
void q5_0_dot4_q8_0_simd128(int64_t n, const void *w, size_t row_bytes, const void *a, float *out4);
void q5_1_dot4_q8_1_simd128(int64_t n, const void *w, size_t row_bytes, const void *a, float *out4);
void iq4_nl_dot4_q8_0_simd128(int64_t n, const void *w, size_t row_bytes, const void *a, float *out4);
/* Two such groups of four rows (w2[0], w2[1]: far apart, read as two streams), out8[4 * g + k]. */
typedef void (*quant_dot8_fn)(int64_t n, const void *const *w2, size_t row_bytes, const void *a, float *out8);
void q4_0_dot8_q8_0_simd128(int64_t n, const void *const *w2, size_t row_bytes, const void *a, float *out8);
void q4_1_dot8_q8_1_simd128(int64_t n, const void *const *w2, size_t row_bytes, const void *a, float *out8);
void q5_0_dot8_q8_0_simd128(int64_t n, const void *const *w2, size_t row_bytes, const void *a, float *out8);
void q5_1_dot8_q8_1_simd128(int64_t n, const void *const *w2, size_t row_bytes, const void *a, float *out8);
void iq4_nl_dot8_q8_0_simd128(int64_t n, const void *const *w2, size_t row_bytes, const void *a, float *out8);
/* The same four- and eight-row dots for the K types and IQ4_XS (against Q8_K). */
void q2_k_dot4_q8_k_simd128(int64_t n, const void *w, size_t row_bytes, const void *a, float *out4);
void q3_k_dot4_q8_k_simd128(int64_t n, const void *w, size_t row_bytes, const void *a, float *out4);
void q4_k_dot4_q8_k_simd128(int64_t n, const void *w, size_t row_bytes, const void *a, float *out4);
void q5_k_dot4_q8_k_simd128(int64_t n, const void *w, size_t row_bytes, const void *a, float *out4);
void q6_k_dot4_q8_k_simd128(int64_t n, const void *w, size_t row_bytes, const void *a, float *out4);
void iq4_xs_dot4_q8_k_simd128(int64_t n, const void *w, size_t row_bytes, const void *a, float *out4);
void q2_k_dot8_q8_k_simd128(int64_t n, const void *const *w2, size_t row_bytes, const void *a, float *out8);
void q3_k_dot8_q8_k_simd128(int64_t n, const void *const *w2, size_t row_bytes, const void *a, float *out8);
void q4_k_dot8_q8_k_simd128(int64_t n, const void *const *w2, size_t row_bytes, const void *a, float *out8);
void q5_k_dot8_q8_k_simd128(int64_t n, const void *const *w2, size_t row_bytes, const void *a, float *out8);
void q6_k_dot8_q8_k_simd128(int64_t n, const void *const *w2, size_t row_bytes, const void *a, float *out8);
void iq4_xs_dot8_q8_k_simd128(int64_t n, const void *const *w2, size_t row_bytes, const void *a, float *out8);
/* QUANT_DOTN_ROWS rows (w, w + row_bytes, ..) against n_tok <= QUANT_DOTN_MAX_TOK tokens' Q8_K
 * rows (a, a + a_bytes, ..): out[t * ldo + k] is row k's dot with token t, bit for bit the
 * one-row dot. */
enum { QUANT_DOTN_ROWS = 8, QUANT_DOTN_MAX_TOK = 16 };
typedef void (*quant_dotn_fn)(int64_t n, const void *w, size_t row_bytes, const void *a, size_t a_bytes, int n_tok,
                              float *out, int64_t ldo);
void q3_k_dotn_q8_k_simd128(int64_t n, const void *w, size_t row_bytes, const void *a, size_t a_bytes, int n_tok,
                            float *out, int64_t ldo);
void q4_k_dotn_q8_k_simd128(int64_t n, const void *w, size_t row_bytes, const void *a, size_t a_bytes, int n_tok,
                            float *out, int64_t ldo);
void q5_k_dotn_q8_k_simd128(int64_t n, const void *w, size_t row_bytes, const void *a, size_t a_bytes, int n_tok,
                            float *out, int64_t ldo);
void q6_k_dotn_q8_k_simd128(int64_t n, const void *w, size_t row_bytes, const void *a, size_t a_bytes, int n_tok,
                            float *out, int64_t ldo);
#endif

#endif
