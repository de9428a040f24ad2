/* kernels_relaxed_x4quant.c — Q4_0, IQ4_NL, Q5_0, Q4_1 and Q5_1 matmuls on their x4 layouts
 * (kernels.h KERN_LAYOUT_Q4_0_X4, _Q5_0_X4, _Q4_1_X4, _Q5_1_X4) with relaxed SIMD's int8 dot,
 * bit-identical to quant_dot.c's scalar references.
 *
 * One 16-byte load of an x4 block holds four rows' bytes for four elements each; a mask (and
 * for Q5_0's upper quads a shift and an or) turns it into the levels of one quad of the four
 * rows, lane r = row r. The token's quad, broadcast by its load, is the dot's first operand,
 * so each row's sum stays in its own lane: no horizontal sums, and the four scales are one
 * load. Levels are 0..15 / 0..31 (second operand in 0..127: defined alike on every engine,
 * no probe), and the offsets 8 / 16 leave as the accumulators' start, -8 / -16 x the token's
 * block sum. IQ4_NL's nibbles go through one relaxed swizzle of its level table + 128 (1..241):
 * exact only where the engine reads the operand unsigned without saturation, so its calls carry
 * KERN_RELAXED_UNSIGNED and the loader makes them only where mllm_relaxed_probe passed; the
 * offset 128 leaves as -128 x the block sum, as kernels_relaxed.c's Q8_0 x4. The float steps are
 * the scalar reference's, in its order: Q4_0 sumi * dw * dy, Q5_0 and IQ4_NL (dw * dy) * sumi.
 * Q4_1 and Q5_1 take Q8_1 tokens (d, s = d x the block's quant sum): their levels are the same
 * as Q4_0's / Q5_0's with no offset (the accumulators start at 0), and the step is
 * (dw * dy) * sumi + mw * sy; the token's s takes the place of the start.
 *
 * Decode: kernels_relaxed.c's matvec_x4 structure, eight stretches of groups read side by
 * side, four a call. Prefill (4 tokens or more): each group's levels unpacked once for all the
 * call's tokens into scratch, then kernels_relaxed.c's 4-row x 8-token tile.
 *
 * Built into the relaxed module with kernels_relaxed.c (wasm_build/wasm.mk): no stack, data or
 * globals; every buffer comes from the caller. Everywhere else this file compiles to nothing. */
#if defined(__wasm_relaxed_simd__)
#include <wasm_simd128.h>

#include "codec.h"
#include "dtype.h"
#include "kernels.h"
#include "kernels_q8_simd.h"
#include "quant_blocks.h"

#define EXPORT(name) __attribute__((export_name(name)))
#define INLINE static inline __attribute__((always_inline))
#define NOINLINE static __attribute__((noinline))
#define DOT32(a, b, c) __builtin_wasm_relaxed_dot_i8x16_i7x16_add_s_i32x4((a), (b), (c))
#define Q4 MLLM_DTYPE_Q4_0
#define Q5 MLLM_DTYPE_Q5_0
#define IQ4 MLLM_DTYPE_IQ4_NL
#define Q41 MLLM_DTYPE_Q4_1
#define Q51 MLLM_DTYPE_Q5_1
/* Q4_1, Q5_1: d and m, Q8_1 tokens */
#define WITH_M(t) ((t) == Q41 || (t) == Q51)
#define BLOCK_BYTES(t)                                                                                         \
    ((t) == Q5 ? KERN_Q5_0_X4_BLOCK : (t) == Q41 ? KERN_Q4_1_X4_BLOCK : (t) == Q51 ? KERN_Q5_1_X4_BLOCK : KERN_Q4_0_X4_BLOCK)
/* bytes of the x4 block before its level vectors (the scales) */
#define HDR(t) (WITH_M(t) ? 16 : 8)
/* the token's blocks: bytes each, and where their quants start */
#define ABYTES(t) (WITH_M(t) ? (int32_t)sizeof(block_q8_1) : (int32_t)sizeof(block_q8_0))
#define AQS(t) (WITH_M(t) ? 4 : 2)
/* log2 of the offset the levels carry (8, 16, 128) */
#define OFFSET_SHIFT(t) ((t) == Q4 ? 3 : (t) == Q5 ? 4 : 7)

/* Loop constants as values (kernels_q8_simd.h opaque_splat). */
typedef struct x4consts {
    v128_t m0f, m1f, m07, m18, iq4; /* iq4: IQ4_NL's levels + 128 by nibble */
    f16_consts f;
} x4consts;

INLINE x4consts x4consts_make(void) {
    x4consts k;
    k.m0f = opaque_splat(0x0f0f0f0f);
    k.m1f = opaque_splat(0x1f1f1f1f);
    k.m07 = opaque_splat(0x07070707);
    k.m18 = opaque_splat(0x18181818);
#define L(i) (int8_t)(((const int8_t[16])QUANT_IQ4NL_VALUES)[i] + 128)
    k.iq4 = wasm_i8x16_make(L(0), L(1), L(2), L(3), L(4), L(5), L(6), L(7), L(8), L(9), L(10), L(11), L(12), L(13),
                            L(14), L(15));
#undef L
    k.f = f16_consts_make();
    return k;
}

/* The levels of quads j (lo) and 4 + j (hi) of four rows, from x4 block blk (kernels.h). */
INLINE void levels(int type, const uint8_t *blk, int j, v128_t *lo, v128_t *hi, const x4consts *k) {
    const v128_t v = wasm_v128_load(blk + HDR(type) + 16 * j);
    if (type == Q4 || type == Q41) {
        *lo = wasm_v128_and(v, k->m0f);
        *hi = wasm_v128_and(wasm_u16x8_shr(v, 4), k->m0f);
    } else if (type == IQ4) {
        /* indices 0..15, where the relaxed swizzle is exact: one pshufb on x64, where i8x16.swizzle
         * adds a saturating add for its out-of-range rule */
        *lo = wasm_i8x16_relaxed_swizzle(k->iq4, wasm_v128_and(v, k->m0f));
        *hi = wasm_i8x16_relaxed_swizzle(k->iq4, wasm_v128_and(wasm_u16x8_shr(v, 4), k->m0f));
    } else { /* Q5_0, Q5_1: bits 3-4 of quad 4 + j's levels are bits 2j, 2j+1 of V4 */
        const v128_t v4 = wasm_v128_load(blk + HDR(type) + 64);
        const v128_t top = j == 0 ? wasm_i16x8_shl(v4, 3) : j == 1 ? wasm_i16x8_shl(v4, 1)
                         : j == 2 ? wasm_u16x8_shr(v4, 1) : wasm_u16x8_shr(v4, 3);
        *lo = wasm_v128_and(v, k->m1f);
        *hi = wasm_v128_or(wasm_v128_and(wasm_u16x8_shr(v, 5), k->m07), wasm_v128_and(top, k->m18));
    }
}

/* A block's four scales as f32 (row r in lane r). plain (no subnormal scale): the sign-
 * extending load and a shift put each half's sign, exponent and mantissa at their f32 places,
 * the value times 2^-112, and the mask clears the smeared sign bits; otherwise exactly. */
INLINE v128_t scales(const uint8_t *blk, int plain, const x4consts *k) {
    if (plain) return wasm_v128_and(wasm_i32x4_shl(wasm_i32x4_load16x4(blk), 13), k->f.sign_exp_mant);
    return f16hi_to_f32_finite(wasm_i32x4_shl(wasm_u32x4_load16x4(blk), 16), &k->f);
}

/* The block's float step, the scalar reference's order (dw, dy: the weights' four scales and
 * the token's, or with plain 2^-112 dw and 2^112 dy: the same products, see the entry point). */
INLINE v128_t step(int type, v128_t f, v128_t sumi, v128_t dw, v128_t dy) {
    if (type == Q4) return wasm_f32x4_add(f, wasm_f32x4_mul(wasm_f32x4_mul(wasm_f32x4_convert_i32x4(sumi), dw), dy));
    return wasm_f32x4_add(f, wasm_f32x4_mul(wasm_f32x4_mul(dw, dy), wasm_f32x4_convert_i32x4(sumi)));
}

/* Q4_1 and Q5_1's: f + ((dw * dy) * sumi + mw * sy) (mw, sy scaled as dw, dy: the same products). */
INLINE v128_t step_m(v128_t f, v128_t sumi, v128_t dw, v128_t dy, v128_t mw, v128_t sy) {
    return wasm_f32x4_add(f, wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_mul(dw, dy), wasm_f32x4_convert_i32x4(sumi)),
                                            wasm_f32x4_mul(mw, sy)));
}

/* ---------------------------------------------------------------- decode (one token) */

/* G (4 or 1) groups of four rows at w + g ws (bytes) x the token (blocks at x) into o + g os
 * (4 floats each). xc: per block -offset x the token's quant sum (Q4_1, Q5_1: the token's s as
 * a float, times 2^112 when plain); dx: its scales (times 2^112 when plain). The groups share
 * the token's loads and are G streams read side by side. */
INLINE void groups_tok1(int type, int G, float *o, int32_t os, const uint8_t *w, int32_t ws, int32_t nb,
                        const uint8_t *x, const int32_t *xc, const float *dx, int plain, const x4consts *k) {
    const int32_t bb = BLOCK_BYTES(type);
    v128_t f0 = wasm_f32x4_splat(0.0f), f1 = f0, f2 = f0, f3 = f0;
    int32_t b;
    for (b = 0; b < nb; b++, w += bb) {
        const int8_t *xq = (const int8_t *)(x + b * ABYTES(type) + AQS(type));
        v128_t i0 = WITH_M(type) ? wasm_i32x4_splat(0) : wasm_v128_load32_splat(xc + b), i1 = i0, i2 = i0, i3 = i0, lo, hi, dy;
        v128_t h0 = wasm_i32x4_splat(0), h1 = h0, h2 = h0, h3 = h0; /* the upper quads: a second chain of dots */
        int j;
#pragma clang loop unroll(full)
        for (j = 0; j < 4; j++) {
            const v128_t xl = wasm_v128_load32_splat(xq + 4 * j), xh = wasm_v128_load32_splat(xq + 16 + 4 * j);
            levels(type, w, j, &lo, &hi, k);
            i0 = DOT32(xl, lo, i0), h0 = DOT32(xh, hi, h0);
            if (G > 1) {
                levels(type, w + ws, j, &lo, &hi, k);
                i1 = DOT32(xl, lo, i1), h1 = DOT32(xh, hi, h1);
                levels(type, w + 2 * ws, j, &lo, &hi, k);
                i2 = DOT32(xl, lo, i2), h2 = DOT32(xh, hi, h2);
                levels(type, w + 3 * ws, j, &lo, &hi, k);
                i3 = DOT32(xl, lo, i3), h3 = DOT32(xh, hi, h3);
            }
        }
        i0 = wasm_i32x4_add(i0, h0), i1 = wasm_i32x4_add(i1, h1), i2 = wasm_i32x4_add(i2, h2), i3 = wasm_i32x4_add(i3, h3);
        dy = wasm_v128_load32_splat(dx + b);
        if (WITH_M(type)) {
            const v128_t sy = wasm_v128_load32_splat(xc + b);
            f0 = step_m(f0, i0, scales(w, plain, k), dy, scales(w + 8, plain, k), sy);
            if (G > 1) {
                f1 = step_m(f1, i1, scales(w + ws, plain, k), dy, scales(w + ws + 8, plain, k), sy);
                f2 = step_m(f2, i2, scales(w + 2 * ws, plain, k), dy, scales(w + 2 * ws + 8, plain, k), sy);
                f3 = step_m(f3, i3, scales(w + 3 * ws, plain, k), dy, scales(w + 3 * ws + 8, plain, k), sy);
            }
        } else {
            f0 = step(type, f0, i0, scales(w, plain, k), dy);
            if (G > 1) {
                f1 = step(type, f1, i1, scales(w + ws, plain, k), dy);
                f2 = step(type, f2, i2, scales(w + 2 * ws, plain, k), dy);
                f3 = step(type, f3, i3, scales(w + 3 * ws, plain, k), dy);
            }
        }
    }
    wasm_v128_store(o, f0);
    if (G > 1) {
        wasm_v128_store(o + os, f1);
        wasm_v128_store(o + 2 * os, f2);
        wasm_v128_store(o + 3 * os, f3);
    }
}

/* A token's per-block start (-offset x its quant sum; Q4_1, Q5_1: its s, times unit, as a
 * float) and scale (times unit). */
INLINE void token_blocks(int type, const uint8_t *x, int32_t nb, int32_t *xc, float *dx, float unit) {
    const int32_t shift = OFFSET_SHIFT(type);
    int32_t b, j;
    for (b = 0; b < nb; b++, x += ABYTES(type)) {
        uint16_t h;
        __builtin_memcpy(&h, x, 2);
        dx[b] = f16_bits_to_f32(h) * unit;
        if (WITH_M(type)) {
            float s;
            __builtin_memcpy(&h, x + 2, 2);
            s = f16_bits_to_f32(h) * unit;
            __builtin_memcpy(xc + b, &s, 4);
        } else {
            const int8_t *q = (const int8_t *)(x + AQS(type));
            int32_t sum = 0;
            for (j = 0; j < 32; j++) sum += q[j];
            xc[b] = -sum * (1 << shift);
        }
    }
}

/* One token on x4 weights: eight stretches of groups, four a call, then the last
 * n_groups % 8 one at a time. reuse (KERN_RELAXED_REUSE): the steps go in chunks, each
 * followed by a touch of the chunk before (kernels_q8_simd.h), as kernels_relaxed.c's. */
INLINE void matvec(int type, float *out, const uint8_t *w, int32_t nb, int32_t n_rows, const uint8_t *x,
                   int32_t *xc, float *dx, int plain, int reuse) {
    const int32_t n_groups = n_rows / 4, q = n_groups / 8, gbytes = nb * BLOCK_BYTES(type);
    const int32_t chunk = reuse ? (int32_t)reuse_chunk_steps_bytes(8 * (int64_t)gbytes) : q;
    const x4consts k = x4consts_make();
    int32_t i, i0, i1, s, g;
    token_blocks(type, x, nb, xc, dx, plain ? 0x1p112f : 1.0f);
    for (i0 = 0; i0 < q; i0 = i1) {
        i1 = q - i0 < chunk ? q : i0 + chunk;
        if (plain)
            for (i = i0; i < i1; i++)
                for (s = 0; s < 8; s += 4)
                    groups_tok1(type, 4, out + 4 * (s * q + i), 4 * q, w + (s * q + i) * gbytes, q * gbytes, nb, x, xc,
                                dx, 1, &k);
        else
            for (i = i0; i < i1; i++)
                for (s = 0; s < 8; s += 4)
                    groups_tok1(type, 4, out + 4 * (s * q + i), 4 * q, w + (s * q + i) * gbytes, q * gbytes, nb, x, xc,
                                dx, 0, &k);
        if (reuse) touch_after_chunk_bytes(w, q, gbytes, 8, i0, i1, chunk);
    }
    for (g = 8 * q; g < n_groups; g++) groups_tok1(type, 1, out + 4 * g, 0, w + g * gbytes, 0, nb, x, xc, dx, plain, &k);
}

/* ---------------------------------------------------------------- prefill (4 tokens or more) */

/* A group's levels for the tile: per block [quad][row][4 bytes] (128 bytes) at wl, its four
 * scales (exact f32) at dw + 4 b (Q4_1, Q5_1: then its four m at dw + 4 nb + 4 b). */
INLINE void unpack_group(int type, const uint8_t *g, int32_t nb, uint8_t *wl, float *dw, const x4consts *k) {
    const int32_t bb = BLOCK_BYTES(type);
    int32_t b;
    int j;
    for (b = 0; b < nb; b++, g += bb, wl += 128) {
        for (j = 0; j < 4; j++) {
            v128_t lo, hi;
            levels(type, g, j, &lo, &hi, k);
            wasm_v128_store(wl + 16 * j, lo);
            wasm_v128_store(wl + 64 + 16 * j, hi);
        }
        wasm_v128_store(dw + 4 * b, scales(g, 0, k));
        if (WITH_M(type)) wasm_v128_store(dw + 4 * nb + 4 * b, scales(g + 8, 0, k));
    }
}

/* Tile: 4 rows x 8 tokens, as kernels_relaxed.c's rows4_tok8_at. wl, dw: unpack_group's. xt:
 * the tokens' quants [block][quad][token][4 bytes]; xc: per block each token's start (Q4_1,
 * Q5_1: its s as a float); dx their scales [block][token]. A row's quad, broadcast by its load, against 4 tokens' leaves each
 * token's sum in its own lane. */
INLINE void rows4_tok8(int type, float *out, int32_t ldo, const uint8_t *wl, const float *dw, int32_t nb,
                       const int8_t *xt, const int32_t *xc, const float *dx, int nt) {
    v128_t f0 = wasm_f32x4_splat(0.0f), f1 = f0, f2 = f0, f3 = f0, f4 = f0, f5 = f0, f6 = f0, f7 = f0;
    int32_t b;
    int q;
    for (b = 0; b < nb; b++) {
        const uint8_t *w = wl + b * 128;
        const int8_t *x = xt + b * 256;
        const v128_t c0 = wasm_v128_load(xc + 8 * b), c1 = wasm_v128_load(xc + 8 * b + 4);
        const v128_t dx0 = wasm_v128_load(dx + 8 * b), dx1 = wasm_v128_load(dx + 8 * b + 4);
        const v128_t z0 = WITH_M(type) ? wasm_i32x4_splat(0) : c0, z1 = WITH_M(type) ? z0 : c1;
        v128_t a0 = z0, a1 = z1, a2 = z0, a3 = z1, a4 = z0, a5 = z1, a6 = z0, a7 = z1, s, m;
#pragma clang loop unroll(disable)
        for (q = 0; q < 8; q++, w += 16, x += 32) {
            const v128_t xa = wasm_v128_load(x), xb = wasm_v128_load(x + 16);
            v128_t ws = wasm_v128_load32_splat(w);
            a0 = DOT32(xa, ws, a0);
            a1 = DOT32(xb, ws, a1);
            ws = wasm_v128_load32_splat(w + 4);
            a2 = DOT32(xa, ws, a2);
            a3 = DOT32(xb, ws, a3);
            ws = wasm_v128_load32_splat(w + 8);
            a4 = DOT32(xa, ws, a4);
            a5 = DOT32(xb, ws, a5);
            ws = wasm_v128_load32_splat(w + 12);
            a6 = DOT32(xa, ws, a6);
            a7 = DOT32(xb, ws, a7);
        }
        if (WITH_M(type)) {
            const float *dm = dw + 4 * nb;
            s = wasm_v128_load32_splat(dw + 4 * b), m = wasm_v128_load32_splat(dm + 4 * b);
            f0 = step_m(f0, a0, s, dx0, m, c0);
            f1 = step_m(f1, a1, s, dx1, m, c1);
            s = wasm_v128_load32_splat(dw + 4 * b + 1), m = wasm_v128_load32_splat(dm + 4 * b + 1);
            f2 = step_m(f2, a2, s, dx0, m, c0);
            f3 = step_m(f3, a3, s, dx1, m, c1);
            s = wasm_v128_load32_splat(dw + 4 * b + 2), m = wasm_v128_load32_splat(dm + 4 * b + 2);
            f4 = step_m(f4, a4, s, dx0, m, c0);
            f5 = step_m(f5, a5, s, dx1, m, c1);
            s = wasm_v128_load32_splat(dw + 4 * b + 3), m = wasm_v128_load32_splat(dm + 4 * b + 3);
            f6 = step_m(f6, a6, s, dx0, m, c0);
            f7 = step_m(f7, a7, s, dx1, m, c1);
            continue;
        }
        s = wasm_v128_load32_splat(dw + 4 * b);
        f0 = step(type, f0, a0, s, dx0);
        f1 = step(type, f1, a1, s, dx1);
        s = wasm_v128_load32_splat(dw + 4 * b + 1);
        f2 = step(type, f2, a2, s, dx0);
        f3 = step(type, f3, a3, s, dx1);
        s = wasm_v128_load32_splat(dw + 4 * b + 2);
        f4 = step(type, f4, a4, s, dx0);
        f5 = step(type, f5, a5, s, dx1);
        s = wasm_v128_load32_splat(dw + 4 * b + 3);
        f6 = step(type, f6, a6, s, dx0);
        f7 = step(type, f7, a7, s, dx1);
    }
    store_row(out, ldo, f0, f1, nt);
    store_row(out + 1, ldo, f2, f3, nt);
    store_row(out + 2, ldo, f4, f5, nt);
    store_row(out + 3, ldo, f6, f7, nt);
}

/* Bytes of scratch per block: a group's levels and scales (Q4_1, Q5_1: and m); one octet of tokens. */
#define GROUP_BYTES(t) (WITH_M(t) ? 160 : 144)
#define OCTET_BYTES 320

/* n_tok tokens through the tile, octets at a time as the scratch allows (octets >= 1): the
 * tokens laid out, then each group unpacked once and run against every octet. */
INLINE void prefill(int type, float *out, int32_t ldo, const uint8_t *w, int32_t nb, int32_t n_rows,
                    const uint8_t *xq, int32_t n_tok, uint8_t *xbuf, int32_t octets) {
    const int32_t gbytes = nb * BLOCK_BYTES(type), shift = OFFSET_SHIFT(type);
    const x4consts k = x4consts_make();
    uint8_t *wl = xbuf;
    float *dw = (float *)(xbuf + nb * 128);
    int8_t *xt = (int8_t *)(xbuf + nb * GROUP_BYTES(type));         /* [octet][block][quad][token][4] */
    int32_t *xc = (int32_t *)(xt + octets * nb * 256);         /* [octet][block][token] */
    float *dx = (float *)(xc + octets * nb * 8);               /* [octet][block][token] */
    int32_t g0, o, t, b, r, q;
    for (g0 = 0; g0 < n_tok; g0 += 8 * octets) {
        const int32_t ng = n_tok - g0 < 8 * octets ? n_tok - g0 : 8 * octets, no = (ng + 7) / 8;
        for (o = 0; o < no; o++)
            for (t = 0; t < 8; t++) {
                const int32_t tok = 8 * o + t;
                const uint8_t *xb = xq + (g0 + tok) * nb * ABYTES(type);
                for (b = 0; b < nb; b++) {
                    int8_t *dst = xt + (o * nb + b) * 256 + 4 * t;
                    const int32_t i = (o * nb + b) * 8 + t;
                    int32_t sum = 0;
                    if (tok >= ng) { /* padding: zero quants, start and scale */
                        for (q = 0; q < 8; q++) __builtin_memset(dst + 32 * q, 0, 4);
                        xc[i] = 0;
                        dx[i] = 0.0f;
                        continue;
                    }
                    const uint8_t *blk = xb + b * ABYTES(type);
                    const int8_t *qs = (const int8_t *)(blk + AQS(type));
                    uint16_t h;
                    for (q = 0; q < 8; q++) __builtin_memcpy(dst + 32 * q, qs + 4 * q, 4);
                    __builtin_memcpy(&h, blk, 2);
                    dx[i] = f16_bits_to_f32(h);
                    if (WITH_M(type)) { /* the token's s, as a float, in place of the start */
                        float sf;
                        __builtin_memcpy(&h, blk + 2, 2);
                        sf = f16_bits_to_f32(h);
                        __builtin_memcpy(xc + i, &sf, 4);
                        continue;
                    }
                    for (q = 0; q < 32; q++) sum += qs[q];
                    xc[i] = -sum * (1 << shift);
                }
            }
        for (r = 0; r < n_rows; r += 4) {
            unpack_group(type, w + (r / 4) * gbytes, nb, wl, dw, &k);
            for (o = 0; o < no; o++)
                rows4_tok8(type, out + (g0 + 8 * o) * ldo + r, ldo, wl, dw, nb, xt + o * nb * 256, xc + o * nb * 8,
                           dx + o * nb * 8, ng - 8 * o < 8 ? ng - 8 * o : 8);
        }
    }
}

/* ---------------------------------------------------------------- entry point */

/* One function per type and path, so that the engine compiles and tiers up each on its own. */
#define PATHS(T, dec, pre)                                                                                     \
    NOINLINE void dec(float *out, int32_t ldo, const uint8_t *w, int32_t nb, int32_t n_rows, const uint8_t *xq, \
                      int32_t n_tok, uint8_t *xbuf, int plain, int reuse) {                                   \
        int32_t t;                                                                                             \
        for (t = 0; t < n_tok; t++)                                                                            \
            matvec(T, out + t * ldo, w, nb, n_rows, xq + t * nb * ABYTES(T), (int32_t *)xbuf, (float *)xbuf + nb, \
                   plain, reuse);                                                                              \
    }                                                                                                          \
    NOINLINE void pre(float *out, int32_t ldo, const uint8_t *w, int32_t nb, int32_t n_rows, const uint8_t *xq, \
                      int32_t n_tok, uint8_t *xbuf, int32_t octets) {                                         \
        prefill(T, out, ldo, w, nb, n_rows, xq, n_tok, xbuf, octets);                                          \
    }
PATHS(MLLM_DTYPE_Q4_0, dec_q4_0, pre_q4_0)
PATHS(MLLM_DTYPE_Q5_0, dec_q5_0, pre_q5_0)
PATHS(MLLM_DTYPE_IQ4_NL, dec_iq4_nl, pre_iq4_nl)
PATHS(MLLM_DTYPE_Q4_1, dec_q4_1, pre_q4_1)
PATHS(MLLM_DTYPE_Q5_1, dec_q5_1, pre_q5_1)

/* out[t * ldo + r] = row r of w (n_rows x n_in, Q4_0, Q5_0, Q4_1, Q5_1 or IQ4_NL by type, in its
 * x4 layout) . token t of xq (Q8_0; Q8_1 for Q4_1, Q5_1), ggml's vec_dot value. The weights' scales must be finite (the loader
 * refuses others); flags: KERN_RELAXED_REUSE (kern_hints.reuse), KERN_RELAXED_UNSIGNED (IQ4_NL
 * is taken only with it), KERN_RELAXED_PLAIN_SCALES
 * when no scale is subnormal, which lets the
 * decode take them times 2^-112 and the token's scales times 2^112: every product of a
 * nonzero sum and such a scale is a normal float, so each rounding is the reference's. xbuf:
 * the caller's scratch (16-aligned). Returns 1 when done; 0 without writing for a call it
 * does not take; n_tok 0: 1 (it runs here) without touching out. */
EXPORT("mllm_relaxed_x4quant")
int32_t mllm_relaxed_x4quant(int32_t type, float *out, int32_t ldo, const uint8_t *w, int32_t n_in, int32_t n_rows,
                             const void *xq, int32_t n_tok, uint8_t *xbuf, int32_t xbytes, int32_t flags) {
    const int32_t nb = n_in / 32;
    const int plain = (flags & KERN_RELAXED_PLAIN_SCALES) != 0, reuse = (flags & KERN_RELAXED_REUSE) != 0;
    int32_t octets;
    const uint8_t *x = (const uint8_t *)xq;
    if (type != MLLM_DTYPE_Q4_0 && type != MLLM_DTYPE_Q5_0 && type != MLLM_DTYPE_Q4_1 && type != MLLM_DTYPE_Q5_1 &&
        (type != MLLM_DTYPE_IQ4_NL || !(flags & KERN_RELAXED_UNSIGNED))) /* IQ4_NL: only as the probe allows */
        return 0;
    if (n_tok == 0) return 1;
    if (n_in % 32 || nb < 1 || n_rows < 0 || n_rows % 4 || n_tok < 0 || ldo < n_rows || ((uintptr_t)xbuf & 15) ||
        xbytes / 8 < nb)
        return 0;
    octets = (xbytes - nb * GROUP_BYTES(type)) / (nb * OCTET_BYTES);
    if (n_tok >= 4 && xbytes > nb * GROUP_BYTES(type) && octets >= 1) {
        if (octets > (n_tok + 7) / 8) octets = (n_tok + 7) / 8;
        if (type == MLLM_DTYPE_Q4_0) pre_q4_0(out, ldo, w, nb, n_rows, x, n_tok, xbuf, octets);
        else if (type == MLLM_DTYPE_Q5_0) pre_q5_0(out, ldo, w, nb, n_rows, x, n_tok, xbuf, octets);
        else if (type == MLLM_DTYPE_Q4_1) pre_q4_1(out, ldo, w, nb, n_rows, x, n_tok, xbuf, octets);
        else if (type == MLLM_DTYPE_Q5_1) pre_q5_1(out, ldo, w, nb, n_rows, x, n_tok, xbuf, octets);
        else pre_iq4_nl(out, ldo, w, nb, n_rows, x, n_tok, xbuf, octets);
    } else if (type == MLLM_DTYPE_Q4_0) {
        dec_q4_0(out, ldo, w, nb, n_rows, x, n_tok, xbuf, plain, reuse);
    } else if (type == MLLM_DTYPE_Q5_0) {
        dec_q5_0(out, ldo, w, nb, n_rows, x, n_tok, xbuf, plain, reuse);
    } else if (type == MLLM_DTYPE_Q4_1) {
        dec_q4_1(out, ldo, w, nb, n_rows, x, n_tok, xbuf, plain, reuse);
    } else if (type == MLLM_DTYPE_Q5_1) {
        dec_q5_1(out, ldo, w, nb, n_rows, x, n_tok, xbuf, plain, reuse);
    } else {
        dec_iq4_nl(out, ldo, w, nb, n_rows, x, n_tok, xbuf, plain, reuse);
    }
    return 1;
}
#else
typedef int kernels_relaxed_x4quant_unused; /* ISO C wants a declaration in every translation unit */
#endif
