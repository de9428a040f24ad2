/* kernels_quant.h — the matmul kernels of the 4/5/6-bit weight types (kernels_quant.c), rows
 * in dtype.c's type table. Each is kern_matmul's contract (kernels.h) with tokens in the
 * activation format of its type: Q4_0, Q5_0, IQ4_NL take Q8_0; Q4_1, Q5_1 take Q8_1
 * (block_q8_1); Q2_K..Q6_K and IQ4_XS take Q8_K (block_q8_K). out[t][r] is quant_dot.h's
 * dot of row r with token t (ggml's generic vec_dot), whatever the kernel. */
#ifndef MLLM_KERNELS_QUANT_H
#define MLLM_KERNELS_QUANT_H

#include "kernels.h"

#define KERN_QUANT_MATMUL(name)                                                                            \
    void kern_matmul_##name(float *out, int64_t ldo, const kern_weights *w, int64_t n_in, int64_t n_rows, \
                            const float *x, const void *xq, int64_t n_tok, kern_hints hints)

KERN_QUANT_MATMUL(q4_0_scalar);
KERN_QUANT_MATMUL(q4_1_scalar);
KERN_QUANT_MATMUL(q5_0_scalar);
KERN_QUANT_MATMUL(q5_1_scalar);
KERN_QUANT_MATMUL(iq4_nl_scalar);
KERN_QUANT_MATMUL(q2_k_scalar);
KERN_QUANT_MATMUL(q3_k_scalar);
KERN_QUANT_MATMUL(q4_k_scalar);
KERN_QUANT_MATMUL(q5_k_scalar);
KERN_QUANT_MATMUL(q6_k_scalar);
KERN_QUANT_MATMUL(iq4_xs_scalar);
#ifdef MLLM_KERNELS_SIMD128
KERN_QUANT_MATMUL(q4_0_simd128);
KERN_QUANT_MATMUL(q4_1_simd128);
KERN_QUANT_MATMUL(q5_0_simd128);
KERN_QUANT_MATMUL(q5_1_simd128);
KERN_QUANT_MATMUL(iq4_nl_simd128);
KERN_QUANT_MATMUL(q2_k_simd128);
KERN_QUANT_MATMUL(q3_k_simd128);
KERN_QUANT_MATMUL(q4_k_simd128);
KERN_QUANT_MATMUL(q5_k_simd128);
KERN_QUANT_MATMUL(q6_k_simd128);
KERN_QUANT_MATMUL(iq4_xs_simd128);
#ifdef MLLM_RELAXED_IMPORT
/* The relaxed-SIMD module's kernels of Q4_0, Q4_1, Q5_0, Q5_1, Q2_K..Q6_K (w->type says
 * which; src/kernels_relaxed_quant.c): 1 when done, 0 without writing where the engine has no
 * relaxed SIMD or the call is not one they take (then the SIMD128 kernel runs). */
int kern_matmul_quant_relaxed(float *out, int64_t ldo, const kern_weights *w, int64_t n_in, int64_t n_rows,
                              const float *x, const void *xq, int64_t n_tok, kern_hints hints);
/* 1 where the relaxed module runs here and computes type's matmuls (tests). */
int kern_quant_relaxed_takes(uint32_t type);
#endif
#endif

/* 1 where kern_matmul runs Q4_0 and Q5_0 weights faster in their x4 layouts (kernels.h):
 * SIMD builds whose relaxed-SIMD module runs in this engine (dtype.c's repack_preferred). */
int kern_quant_x4_preferred(void);

/* Activations of one row x (n floats, a multiple of the format's block) in format act
 * (MLLM_ACT_Q8_0, _Q8_1, _Q8_K) at y; bit-identical to ggml's quantize_row_*_ref. */
void kern_quantize_act(int act, const float *x, void *y, int64_t n);
/* Bytes of one row of n activations in format act (0 for float or no format). */
size_t kern_act_row_bytes(int act, int64_t n);

#endif
