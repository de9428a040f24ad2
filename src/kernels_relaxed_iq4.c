/* kernels_relaxed_iq4.c — IQ4_XS matmuls on the file's layout with relaxed SIMD's int8 dot,
 * bit-identical to quant_dot.c's iq4_xs_dot_q8_k.
 *
 * Each 32-sub-block's nibbles go through one relaxed swizzle of IQ4's level table + 128 (1..241)
 * into the dot's second operand, the token's quants (Q8_K) the first; the offset leaves as
 * -128 x the sub-block's quant sum, added once per four rows. Operands above 127 are exact only
 * where the engine reads them unsigned without saturation, so the loader
 * (wasm_build/relaxed_library.js) calls this only where mllm_relaxed_probe passed, as the Q8_0
 * kernels. Four rows' sub-block sums are one transpose-add, their scales (ls - 32) and
 * d x d8 one vector each, and the float steps the reference's, in its order:
 * sumf += (d4d8 * (ls - 32)) * sumi, sub-block after sub-block.
 *
 * Eight rows a pass from two stretches of four (as the SIMD128 kernel's eight streams), each
 * token of the call against them while they are in cache; then groups of four, then single rows.
 * Built into the relaxed module (wasm_build/wasm.mk): no stack, data or globals; the token sums'
 * scratch comes from the caller. Everywhere else this file compiles to nothing. */
#if defined(__wasm_relaxed_simd__)
#include <wasm_simd128.h>

#include "dtype.h"
#include "kernels_q8_simd.h"
#include "quant_blocks.h"

#define EXPORT(name) __attribute__((export_name(name)))
#define INLINE static inline __attribute__((always_inline))
#define NOINLINE static __attribute__((noinline))
#define DOT32(a, b, c) __builtin_wasm_relaxed_dot_i8x16_i7x16_add_s_i32x4((a), (b), (c))
#define SUBS (QK_K / 32)

typedef struct iq4consts {
    v128_t m0f, tab; /* tab: IQ4's levels + 128 by nibble */
} iq4consts;

INLINE iq4consts iq4consts_make(void) {
    iq4consts k;
    k.m0f = opaque_splat(0x0f0f0f0f);
#define L(i) (int8_t)(((const int8_t[16])QUANT_IQ4NL_VALUES)[i] + 128)
    k.tab = wasm_i8x16_make(L(0), L(1), L(2), L(3), L(4), L(5), L(6), L(7), L(8), L(9), L(10), L(11), L(12), L(13),
                            L(14), L(15));
#undef L
    return k;
}

/* One row's sub-block: the four lanes of sum (level + 128) x quant (16 bytes of nibbles at q). */
INLINE v128_t sub_dot(const uint8_t *q, v128_t xlo, v128_t xhi, const iq4consts *k) {
    const v128_t v = wasm_v128_load(q);
    /* indices 0..15, where the relaxed swizzle is exact (one pshufb on x64; i8x16.swizzle adds a
     * saturating add for its out-of-range rule) */
    const v128_t lo = wasm_i8x16_relaxed_swizzle(k->tab, wasm_v128_and(v, k->m0f));
    const v128_t hi = wasm_i8x16_relaxed_swizzle(k->tab, wasm_v128_and(wasm_u16x8_shr(v, 4), k->m0f));
    return DOT32(xhi, hi, DOT32(xlo, lo, wasm_i32x4_splat(0)));
}

INLINE v128_t transpose_sum4(v128_t a, v128_t b, v128_t c, v128_t d) {
    const v128_t ab = wasm_i32x4_add(wasm_i32x4_shuffle(a, b, 0, 4, 1, 5), wasm_i32x4_shuffle(a, b, 2, 6, 3, 7));
    const v128_t cd = wasm_i32x4_add(wasm_i32x4_shuffle(c, d, 0, 4, 1, 5), wasm_i32x4_shuffle(c, d, 2, 6, 3, 7));
    return wasm_i32x4_add(wasm_i32x4_shuffle(ab, cd, 0, 1, 4, 5), wasm_i32x4_shuffle(ab, cd, 2, 3, 6, 7));
}

/* G (1 or 2) groups of four rows (group g's row k at w[g] + k rs) x one token (y, its per
 * sub-block corrections xc) into o[(4g + k) os]. */
INLINE void groups_tok1(int G, float *o, int32_t os, const uint8_t *const *w, int32_t rs, int32_t nsb,
                        const block_q8_K *y, const int32_t *xc, const iq4consts *k) {
    v128_t f[2];
    int32_t i;
    int g, ib;
    f[0] = f[1] = wasm_f32x4_splat(0.0f);
    for (i = 0; i < nsb; i++) {
        const float dy = y[i].d;
#pragma clang loop unroll(full)
        for (g = 0; g < G; g++) {
            const uint8_t *b = w[g] + (size_t)i * sizeof(block_iq4_xs);
            const block_iq4_xs *x0 = (const block_iq4_xs *)(const void *)b, *x1 = (const block_iq4_xs *)(const void *)(b + rs);
            const block_iq4_xs *x2 = (const block_iq4_xs *)(const void *)(b + 2 * rs);
            const block_iq4_xs *x3 = (const block_iq4_xs *)(const void *)(b + 3 * rs);
            const v128_t d4d8 = wasm_f32x4_make(f16_bits_to_f32(x0->d) * dy, f16_bits_to_f32(x1->d) * dy,
                                                f16_bits_to_f32(x2->d) * dy, f16_bits_to_f32(x3->d) * dy);
            v128_t slv = wasm_v128_load32_zero(x0->scales_l), shv;
            slv = wasm_v128_load32_lane(x1->scales_l, slv, 1);
            slv = wasm_v128_load32_lane(x2->scales_l, slv, 2);
            slv = wasm_v128_load32_lane(x3->scales_l, slv, 3);
            shv = wasm_i32x4_make(x0->scales_h, x1->scales_h, x2->scales_h, x3->scales_h);
#pragma clang loop unroll(full)
            for (ib = 0; ib < SUBS; ib++) {
                const v128_t xlo = wasm_v128_load(y[i].qs + 32 * ib), xhi = wasm_v128_load(y[i].qs + 32 * ib + 16);
                const size_t qo = offsetof(block_iq4_xs, qs) + 16 * (size_t)ib;
                /* ls - 32: bits 4 ib.. of scales_l (little-endian u32) and 2 ib.. of scales_h */
                const v128_t ls = wasm_i32x4_sub(
                    wasm_v128_or(wasm_v128_and(wasm_u32x4_shr(slv, 4 * ib), wasm_i32x4_splat(0xf)),
                                 wasm_i32x4_shl(wasm_v128_and(wasm_u32x4_shr(shv, 2 * ib), wasm_i32x4_splat(3)), 4)),
                    wasm_i32x4_splat(32));
                v128_t sumi = transpose_sum4(sub_dot(b + qo, xlo, xhi, k), sub_dot(b + rs + qo, xlo, xhi, k),
                                             sub_dot(b + 2 * rs + qo, xlo, xhi, k), sub_dot(b + 3 * rs + qo, xlo, xhi, k));
                sumi = wasm_i32x4_add(sumi, wasm_v128_load32_splat(xc + i * SUBS + ib));
                f[g] = wasm_f32x4_add(f[g], wasm_f32x4_mul(wasm_f32x4_mul(d4d8, wasm_f32x4_convert_i32x4(ls)),
                                                           wasm_f32x4_convert_i32x4(sumi)));
            }
        }
    }
#pragma clang loop unroll(full)
    for (g = 0; g < G; g++) {
        o[4 * g * os] = wasm_f32x4_extract_lane(f[g], 0);
        o[(4 * g + 1) * os] = wasm_f32x4_extract_lane(f[g], 1);
        o[(4 * g + 2) * os] = wasm_f32x4_extract_lane(f[g], 2);
        o[(4 * g + 3) * os] = wasm_f32x4_extract_lane(f[g], 3);
    }
}

/* One row x one token: the reference's steps with scalar floats. */
INLINE float row_tok1(const uint8_t *w, int32_t nsb, const block_q8_K *y, const int32_t *xc, const iq4consts *k) {
    float sumf = 0.0f;
    int32_t i;
    int ib;
    for (i = 0; i < nsb; i++) {
        const block_iq4_xs *x = (const block_iq4_xs *)(const void *)(w + (size_t)i * sizeof(block_iq4_xs));
        const float d4d8 = f16_bits_to_f32(x->d) * y[i].d;
        for (ib = 0; ib < SUBS; ib++) {
            const int ls = (((x->scales_l[ib / 2] >> (4 * (ib & 1))) & 0xf) | (((x->scales_h >> (2 * ib)) & 3) << 4)) - 32;
            const v128_t s = sub_dot(x->qs + 16 * ib, wasm_v128_load(y[i].qs + 32 * ib), wasm_v128_load(y[i].qs + 32 * ib + 16), k);
            const int32_t sumi = wasm_i32x4_extract_lane(s, 0) + wasm_i32x4_extract_lane(s, 1) +
                                 wasm_i32x4_extract_lane(s, 2) + wasm_i32x4_extract_lane(s, 3) + xc[i * SUBS + ib];
            sumf += (d4d8 * (float)ls) * (float)sumi;
        }
    }
    return sumf;
}

/* n_tok tokens' corrections (-128 x each sub-block's quant sum) into xc[t][nsb * SUBS]. */
INLINE void token_sums(const block_q8_K *y, int32_t nsb, int32_t n_tok, int32_t *xc) {
    int32_t t, i, j;
    for (t = 0; t < n_tok; t++)
        for (i = 0; i < nsb * SUBS; i++) {
            const int8_t *q = y[(size_t)t * nsb + i / SUBS].qs + 32 * (i % SUBS);
            int32_t s = 0;
            for (j = 0; j < 32; j++) s += q[j];
            xc[t * nsb * SUBS + i] = -128 * s;
        }
}

NOINLINE void matmul(float *out, int32_t ldo, const uint8_t *w, int32_t nsb, int32_t n_rows, const block_q8_K *xq,
                     int32_t n_tok, int32_t *xc, int32_t chunk) {
    const int32_t rs = nsb * (int32_t)sizeof(block_iq4_xs), span = n_rows / 8, ts = nsb * SUBS;
    const iq4consts k = iq4consts_make();
    int32_t t0, nt, q, r, t;
    for (t0 = 0; t0 < n_tok; t0 += chunk) {
        const block_q8_K *y = xq + (size_t)t0 * nsb;
        nt = n_tok - t0 < chunk ? n_tok - t0 : chunk;
        token_sums(y, nsb, nt, xc);
        for (q = 0; q < span; q++) {
            const uint8_t *w2[2];
            w2[0] = w + (size_t)q * rs;
            w2[1] = w + (size_t)(q + 4 * span) * rs;
            for (t = 0; t < nt; t++)
                groups_tok1(2, out + (size_t)(t0 + t) * ldo + q, span, w2, span * rs, nsb, y + (size_t)t * nsb, xc + t * ts, &k);
        }
        for (r = 8 * span; r + 4 <= n_rows; r += 4) {
            const uint8_t *w1 = w + (size_t)r * rs;
            for (t = 0; t < nt; t++)
                groups_tok1(1, out + (size_t)(t0 + t) * ldo + r, 1, &w1, rs, nsb, y + (size_t)t * nsb, xc + t * ts, &k);
        }
        for (; r < n_rows; r++)
            for (t = 0; t < nt; t++)
                out[(size_t)(t0 + t) * ldo + r] = row_tok1(w + (size_t)r * rs, nsb, y + (size_t)t * nsb, xc + t * ts, &k);
    }
}

/* out[t * ldo + r] = row r of w (n_rows x n_in IQ4_XS, the file's layout) . token t of xq
 * (Q8_K), ggml's vec_dot value, any block scales. xbuf (16-aligned, xbytes): scratch for the
 * tokens' sub-block sums, 32 bytes per 256 inputs per token (at least one token's). Returns 1
 * when done; 0 without writing for a call it does not take; n_tok 0: 1 without touching out.
 * Exact only where mllm_relaxed_probe passes: the caller checks. */
EXPORT("mllm_relaxed_iq4_xs")
int32_t mllm_relaxed_iq4_xs(float *out, int32_t ldo, const uint8_t *w, int32_t n_in, int32_t n_rows,
                            const block_q8_K *xq, int32_t n_tok, uint8_t *xbuf, int32_t xbytes) {
    const int32_t nsb = n_in / QK_K;
    int32_t chunk;
    if (n_tok == 0) return 1;
    if (n_in % QK_K || nsb < 1 || n_rows < 0 || n_tok < 0 || ldo < n_rows || ((uintptr_t)xbuf & 15)) return 0;
    chunk = xbytes / (nsb * SUBS * 4);
    if (chunk < 1) return 0;
    matmul(out, ldo, w, nsb, n_rows, xq, n_tok, (int32_t *)(void *)xbuf, chunk);
    return 1;
}
#else
typedef int kernels_relaxed_iq4_unused; /* ISO C wants a declaration in every translation unit */
#endif
