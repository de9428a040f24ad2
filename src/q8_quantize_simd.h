/* q8_quantize_simd.h — one block of 32 floats quantized to int8 as ggml's Q8_0 and Q8_1 do
 * (d = amax / 127, q = roundf(x / d)) in SIMD128: the shared body of the Q8_0 activation
 * quantizer (kernels_simd128.c) and the Q8_1 one (quant_dot_simd128.c). */
#ifndef MLLM_Q8_QUANTIZE_SIMD_H
#define MLLM_Q8_QUANTIZE_SIMD_H

#include <stdint.h>
#include <string.h>
#include <wasm_simd128.h>

/* Quantize xb[0..31] into qs with scale *d; where want_sum, *sum = the sum of the quants.
 * Returns 0, writing nothing, for a block the reference must decide: an inf or a nan, or a
 * scale that underflows (a finite block with a normal scale, or all zeros, has
 * |x / d| <= 127.0001, so every q is in int8 range). */
static inline __attribute__((always_inline)) int q8_block_simd128(const float *xb, float *d, int8_t *qs,
                                                                  int want_sum, int32_t *sum) {
    const v128_t absmask = wasm_i32x4_splat(0x7fffffff), signbit = wasm_i32x4_splat((int32_t)0x80000000u);
    /* roundf(p) = trunc(p + copysign(0.49999997f, p)) for every |p| < 2^23 (checked over all
     * floats): 0.5 would carry p = 0.49999997 up to 1. */
    const v128_t below_half = wasm_i32x4_splat(0x3effffff);
    const v128_t magic = wasm_f32x4_splat(12582912.0f); /* 1.5 * 2^23: q + magic has q in its low bits */
    v128_t v[8], amax = wasm_i32x4_splat(0), q32[8], q16[4], s = wasm_i32x4_splat(0);
    float m, dd, id;
    uint32_t mbits;
    int j;
    for (j = 0; j < 8; j++) {
        v[j] = wasm_v128_load(xb + 4 * j);
        amax = wasm_i32x4_max(amax, wasm_v128_and(v[j], absmask));
    }
    amax = wasm_i32x4_max(amax, wasm_i32x4_shuffle(amax, amax, 2, 3, 0, 1));
    amax = wasm_i32x4_max(amax, wasm_i32x4_shuffle(amax, amax, 1, 0, 3, 2));
    mbits = (uint32_t)wasm_i32x4_extract_lane(amax, 0);
    memcpy(&m, &mbits, sizeof m);
    dd = m / 127.0f;
    if (mbits >= 0x7f800000u || (dd < 0x1p-126f && mbits != 0)) return 0;
    id = dd != 0.0f ? 1.0f / dd : 0.0f;
    for (j = 0; j < 8; j++) {
        v128_t p = wasm_f32x4_mul(v[j], wasm_f32x4_splat(id));
        v128_t q = wasm_f32x4_trunc(wasm_f32x4_add(p, wasm_v128_or(wasm_v128_and(p, signbit), below_half)));
        q32[j] = wasm_i32x4_sub(wasm_f32x4_add(q, magic), magic);
        if (want_sum) s = wasm_i32x4_add(s, q32[j]);
    }
    for (j = 0; j < 4; j++) q16[j] = wasm_i16x8_narrow_i32x4(q32[2 * j], q32[2 * j + 1]);
    wasm_v128_store(qs, wasm_i8x16_narrow_i16x8(q16[0], q16[1]));
    wasm_v128_store(qs + 16, wasm_i8x16_narrow_i16x8(q16[2], q16[3]));
    if (want_sum)
        *sum = wasm_i32x4_extract_lane(s, 0) + wasm_i32x4_extract_lane(s, 1) + wasm_i32x4_extract_lane(s, 2) +
               wasm_i32x4_extract_lane(s, 3);
    *d = dd;
    return 1;
}

#endif
