/* quant_k_simd.h — the K types' closing float steps in ggml's order (quant_dot.c: eight lane
 * sums, sums[l] += d * aux32[l], then lanes 0..7 added to sumf in turn), shared by
 * quant_dot_simd128.c and kernels_relaxed_quant.c (static inline: the relaxed kernels are a
 * module of their own, with no functions of the engine to call). */
#ifndef MLLM_QUANT_K_SIMD_H
#define MLLM_QUANT_K_SIMD_H

#include <wasm_simd128.h>

/* sums[l] += d * aux32[l] on both halves */
static inline void k_float(float d, v128_t acc_lo, v128_t acc_hi, v128_t *sums_lo, v128_t *sums_hi) {
    const v128_t dv = wasm_f32x4_splat(d);
    *sums_lo = wasm_f32x4_add(*sums_lo, wasm_f32x4_mul(dv, wasm_f32x4_convert_i32x4(acc_lo)));
    *sums_hi = wasm_f32x4_add(*sums_hi, wasm_f32x4_mul(dv, wasm_f32x4_convert_i32x4(acc_hi)));
}

/* sumf + lanes 0..7, one at a time */
static inline float k_final(float sumf, v128_t sums_lo, v128_t sums_hi) {
    sumf += wasm_f32x4_extract_lane(sums_lo, 0);
    sumf += wasm_f32x4_extract_lane(sums_lo, 1);
    sumf += wasm_f32x4_extract_lane(sums_lo, 2);
    sumf += wasm_f32x4_extract_lane(sums_lo, 3);
    sumf += wasm_f32x4_extract_lane(sums_hi, 0);
    sumf += wasm_f32x4_extract_lane(sums_hi, 1);
    sumf += wasm_f32x4_extract_lane(sums_hi, 2);
    sumf += wasm_f32x4_extract_lane(sums_hi, 3);
    return sumf;
}

#endif
