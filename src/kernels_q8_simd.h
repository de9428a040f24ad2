/* kernels_q8_simd.h — SIMD128 helpers that the Q8_0 kernels of kernels_simd128.c and
 * kernels_relaxed.c share (static inline: the relaxed kernels are a module of their own,
 * built apart, and link nothing). */
#ifndef MLLM_KERNELS_Q8_SIMD_H
#define MLLM_KERNELS_Q8_SIMD_H

#include <wasm_simd128.h>

#include "dtype.h"

/* Finite fp16 bits in the HIGH 16 bits of each u32 lane -> f32, exactly, in integer ops
 * and one float subtraction: an arithmetic shift by 3 moves the half's exponent and
 * mantissa to their f32 places and smears the sign over bits 28..31, the mask keeps the
 * sign in bit 31 only, and adding 112 << 23 rebiases the exponent: the value of every
 * normal half. A subnormal half (exponent 0) is given exponent 1 instead, which reads as
 * +-(2^-14 + m * 2^-24), and loses +-2^-14 in the subtraction: a normal float all the way,
 * so no x86 assist. Inf/nan would come out finite: only Q8_0 weight scales go through
 * here, and the loader rejects non-finite ones.
 * Its constants travel as values (each kernel file builds them outside its decode loop):
 * V8 13+ rebuilds a v128 constant at each use in a loop, three instructions, two of them on
 * the shuffle port, where a value it keeps in a register or reloads from its spill slot. */
typedef struct f16_consts {
    v128_t sign_exp_mant, rebias, exp, exp1, sign, two_m14;
} f16_consts;

/* A v128 of the int32 v in every lane that the compiler cannot see through (so it stays a
 * value, never a v128 constant). */
static inline v128_t opaque_splat(int32_t v) {
    __asm__("" : "+r"(v));
    return wasm_i32x4_splat(v);
}
static inline f16_consts f16_consts_make(void) {
    f16_consts k;
    k.sign_exp_mant = opaque_splat((int32_t)0x8fffe000);
    k.rebias = opaque_splat(0x38000000);
    k.exp = opaque_splat(0x7c000000);
    k.exp1 = opaque_splat(0x00800000);
    k.sign = opaque_splat((int32_t)0x80000000);
    k.two_m14 = opaque_splat(0x38800000);
    return k;
}
static inline v128_t f16hi_to_f32_finite(v128_t g, const f16_consts *k) {
    const v128_t sub = wasm_i32x4_eq(wasm_v128_and(g, k->exp), wasm_i32x4_splat(0));
    const v128_t f = wasm_i32x4_add(wasm_i32x4_add(wasm_v128_and(wasm_i32x4_shr(g, 3), k->sign_exp_mant), k->rebias),
                                    wasm_v128_and(sub, k->exp1));
    return wasm_f32x4_sub(f, wasm_v128_and(sub, wasm_v128_or(wasm_v128_and(g, k->sign), k->two_m14))); /* +-2^-14 */
}

/* One row's outputs for the first nt (1..8) of 8 tokens, tokens 0-3 in lo, 4-7 in hi (the
 * prefill tiles'; no arrays: the relaxed module has no stack). */
static inline void store_row(float *out, int32_t ldo, v128_t lo, v128_t hi, int nt) {
    out[0] = wasm_f32x4_extract_lane(lo, 0);
    if (nt > 1) out[ldo] = wasm_f32x4_extract_lane(lo, 1);
    if (nt > 2) out[2 * ldo] = wasm_f32x4_extract_lane(lo, 2);
    if (nt > 3) out[3 * ldo] = wasm_f32x4_extract_lane(lo, 3);
    if (nt > 4) out[4 * ldo] = wasm_f32x4_extract_lane(hi, 0);
    if (nt > 5) out[5 * ldo] = wasm_f32x4_extract_lane(hi, 1);
    if (nt > 6) out[6 * ldo] = wasm_f32x4_extract_lane(hi, 2);
    if (nt > 7) out[7 * ldo] = wasm_f32x4_extract_lane(hi, 3);
}

/* One fp16 to f32, exactly for every half (subnormals, inf, nan) and without a table: for
 * the relaxed module, which links nothing (codec.c's conversion has data). */
static inline float f16_bits_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu, bits;
    float f;
    if (e == 0) { /* zero or subnormal: m * 2^-24, exact in float */
        f = (float)m * 5.9604644775390625e-8f;
        return sign ? -f : f;
    }
    bits = sign | ((e == 31 ? 255u : e + 112u) << 23) | (m << 13);
    __builtin_memcpy(&f, &bits, sizeof f);
    return f;
}

/* The fp16 scale bits of four Q8_0 weight blocks (d is the first field of a block_q8_0),
 * each in the high half of its u32 lane. */
static inline v128_t scale_bits4(const block_q8_0 *a, const block_q8_0 *b, const block_q8_0 *c,
                                 const block_q8_0 *d) {
    v128_t h = wasm_v128_load16_lane(&a->d, wasm_i32x4_splat(0), 1);
    h = wasm_v128_load16_lane(&b->d, h, 3);
    h = wasm_v128_load16_lane(&c->d, h, 5);
    return wasm_v128_load16_lane(&d->d, h, 7);
}

/* Lane i of the result = sum of the four lanes of the i-th argument (a transpose, then
 * adds): one reduction serves four outputs. Integer, so exact in any order. */
static inline v128_t hsum4_i32(v128_t a, v128_t b, v128_t c, v128_t d) {
    v128_t ab = wasm_i32x4_add(wasm_i32x4_shuffle(a, b, 0, 4, 1, 5), wasm_i32x4_shuffle(a, b, 2, 6, 3, 7));
    v128_t cd = wasm_i32x4_add(wasm_i32x4_shuffle(c, d, 0, 4, 1, 5), wasm_i32x4_shuffle(c, d, 2, 6, 3, 7));
    return wasm_i32x4_add(wasm_i32x4_shuffle(ab, cd, 0, 1, 4, 5), wasm_i32x4_shuffle(ab, cd, 2, 3, 6, 7));
}

/* kern_hints.reuse (kernels.h): weights that run again right after this decode (a shared
 * block's first pass) are read a second time while still in L2, so that L2 keeps them: an
 * L2 that keeps lines that were hit over lines read once would otherwise evict them for the
 * previous block's. The decode streams run in chunks of REUSE_LAG_BYTES, and after each
 * chunk one byte of every 64 of the chunk before is read (lines that have left L1 by then,
 * so each read reaches L2). Where the block cannot stay in L2 the reads are pure cost, so
 * forward.c asks for them only where it may (reuse_hint). Figures: PERF_NOTES.md. */
#define REUSE_LAG_BYTES 65536

/* Steps per chunk: a step reads step_bytes (one row of each stretch). */
static inline int64_t reuse_chunk_steps_bytes(int64_t step_bytes) {
    return (REUSE_LAG_BYTES + step_bytes - 1) / step_bytes;
}

/* Steps per chunk: a step reads one row, nb blocks, of each of `streams` stretches. */
static inline int64_t reuse_chunk_steps(int64_t nb, int64_t streams) {
    return reuse_chunk_steps_bytes(streams * nb * (int64_t)sizeof(block_q8_0));
}

/* One load of each 64-byte line of steps i0..i1-1: rows g * q + i0 .. g * q + i1 - 1 of
 * row_bytes each from w, for each stretch g < streams. */
static inline void touch_steps_bytes(const uint8_t *w, int64_t q, int64_t row_bytes, int64_t streams, int64_t i0,
                                     int64_t i1) {
    const int64_t len = (i1 - i0) * row_bytes;
    uint32_t acc = 0;
    int64_t g, k;
    if (len <= 0) return;
    for (g = 0; g < streams; g++) {
        const uint8_t *p = w + (g * q + i0) * row_bytes;
        for (k = 0; k < len; k += 64) acc += p[k];
        acc += p[len - 1];
    }
    __asm__ volatile("" : : "r"(acc)); /* the loads are the point: keep them */
}

/* After decode steps i0..i1-1 (a chunk of reuse_chunk_steps): touch the chunk before, and
 * the last chunk once it is done. */
static inline void touch_after_chunk_bytes(const uint8_t *w, int64_t q, int64_t row_bytes, int64_t streams, int64_t i0,
                                           int64_t i1, int64_t chunk) {
    if (i0 > 0) touch_steps_bytes(w, q, row_bytes, streams, i0 - chunk, i0);
    if (i1 == q) touch_steps_bytes(w, q, row_bytes, streams, i0, i1);
}

/* The same for rows of nb Q8_0 blocks. */
static inline void touch_after_chunk(const block_q8_0 *w, int64_t q, int64_t nb, int64_t streams, int64_t i0,
                                     int64_t i1, int64_t chunk) {
    touch_after_chunk_bytes((const uint8_t *)w, q, nb * (int64_t)sizeof(block_q8_0), streams, i0, i1, chunk);
}

#endif
