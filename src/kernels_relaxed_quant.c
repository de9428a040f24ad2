/* kernels_relaxed_quant.c — matmuls of the 2..6-bit types (Q4_0, Q4_1, Q5_0, Q5_1, Q2_K..Q6_K)
 * on relaxed SIMD's int8 dot, bit-identical to quant_dot.c's scalar references.
 *
 * The weights' levels are small unsigned integers (Q4 0..15, Q5 0..31, Q2_K 0..3, Q3_K 0..7, Q6_K 0..63)
 * and go in as the dot's second operand, the signed activation bytes as the first; offsets
 * (Q4_0's 8, Q5_0's 16, Q3_K's 4, Q6_K's 32) leave as offset x the activations' sum. These are the integers of the
 * scalar reference, so every float step can be its own, in its order.
 * No mllm_relaxed_probe gate: with the second operand in 0..127 the relaxed dots are defined
 * identically on every engine (pair sums stay under 2^15, so pmaddubsw does not saturate).
 *
 * The K types keep ggml's eight lanes (element % 8, quant_dot.c k_lanes): each 32 bytes of
 * weights (and the token's 32 activations, once per token) are permuted by four byte unpacks
 * so that each 4-byte lane holds elements k, k+8, k+16, k+24 of the 32: an i16x8 relaxed dot
 * then leaves each 16-element group's lane-k pair in its own int16, and one i32x4.dot_i16x8
 * with the groups' scales adds them into lane k.
 *
 * Built with kernels_relaxed.c into the relaxed module (wasm_build/wasm.mk): no stack, data or
 * globals; every buffer comes from the caller. Everywhere else this file compiles to nothing. */
#if defined(__wasm_relaxed_simd__)
#include <wasm_simd128.h>

#include "dtype.h"
#include "kernels_q8_simd.h"
#include "quant_blocks.h"
#include "quant_k_simd.h"

#define EXPORT(name) __attribute__((export_name(name)))
#define INLINE static inline __attribute__((always_inline))
#define DOT32(a, b, c) __builtin_wasm_relaxed_dot_i8x16_i7x16_add_s_i32x4((a), (b), (c))
#define DOT16(a, b) __builtin_wasm_relaxed_dot_i8x16_i7x16_s_i16x8((a), (b))

/* Loop constants as values (kernels_q8_simd.h opaque_splat: V8 rebuilds v128 constants at
 * each use in a loop). */
typedef struct qconsts {
    v128_t m4, m30, x10, sel, ones, lo16, em, sgn, bias, big, sub_lim, two_m24;
} qconsts;

INLINE qconsts qconsts_make(void) {
    qconsts k;
    k.m4 = opaque_splat(0x0f0f0f0f);
    k.m30 = opaque_splat(0x30303030);
    k.x10 = opaque_splat(0x10101010);
    k.sel = wasm_i64x2_splat((int64_t)0x8040201008040201ull); /* bit j % 8 of byte j */
    k.ones = opaque_splat(0x01010101);
    k.lo16 = opaque_splat(0xffff);
    k.em = opaque_splat(0x7fff);
    k.sgn = opaque_splat(0x8000);
    k.bias = opaque_splat(112 << 23);
    k.big = opaque_splat(0x7bff);
    k.sub_lim = opaque_splat(0x400);
    k.two_m24 = opaque_splat(0x33800000); /* 2^-24 */
    return k;
}

/* fp16 bits in the low 16 bits of each u32 lane (high bits zero) -> f32, exactly as codec.c's
 * fp16_to_f32 for every half (inf, nan, subnormals), without a subnormal float. */
INLINE v128_t halves_f32(v128_t h, const qconsts *k) {
    const v128_t em = wasm_v128_and(h, k->em), sign = wasm_i32x4_shl(wasm_v128_and(h, k->sgn), 16);
    v128_t normal = wasm_i32x4_add(wasm_i32x4_shl(em, 13), k->bias);
    const v128_t sub = wasm_f32x4_mul(wasm_f32x4_convert_i32x4(em), k->two_m24);
    normal = wasm_i32x4_add(normal, wasm_v128_and(wasm_i32x4_gt(em, k->big), k->bias)); /* inf, nan */
    return wasm_v128_or(wasm_v128_bitselect(sub, normal, wasm_i32x4_lt(em, k->sub_lim)), sign);
}

/* ---------------------------------------------------------------- blocks of 32 */

/* Block bytes, offset of qs, of qh (Q5), and the activation block's bytes, per type. */
#define BLK_BYTES(t) ((t) == MLLM_DTYPE_Q4_0 ? 18 : (t) == MLLM_DTYPE_Q4_1 ? 20 : (t) == MLLM_DTYPE_Q5_0 ? 22 : 24)
#define QS_OFF(t) ((t) == MLLM_DTYPE_Q4_0 ? 2 : (t) == MLLM_DTYPE_Q4_1 ? 4 : (t) == MLLM_DTYPE_Q5_0 ? 6 : 8)
#define QH_OFF(t) ((t) == MLLM_DTYPE_Q5_0 ? 2 : 4)
#define IS_Q5(t) ((t) == MLLM_DTYPE_Q5_0 || (t) == MLLM_DTYPE_Q5_1)
#define HAS_MIN(t) ((t) == MLLM_DTYPE_Q4_1 || (t) == MLLM_DTYPE_Q5_1)
#define ACT_BYTES(t) (HAS_MIN(t) ? (int32_t)sizeof(block_q8_1) : (int32_t)sizeof(block_q8_0))

/* A row's block's levels: lo = elements 0-15, hi = 16-31, unsigned (before any offset). */
INLINE void levels32(int type, const uint8_t *blk, v128_t *lo, v128_t *hi, const qconsts *k) {
    const v128_t q = wasm_v128_load(blk + QS_OFF(type));
    *lo = wasm_v128_and(q, k->m4);
    *hi = wasm_v128_and(wasm_u16x8_shr(q, 4), k->m4);
    if (IS_Q5(type)) { /* the fifth bit of element j is bit j of qh: 0x10 into byte j */
        const v128_t h = wasm_v128_load32_splat(blk + QH_OFF(type));
        const v128_t hl = wasm_i8x16_shuffle(h, h, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
        const v128_t hh = wasm_i8x16_shuffle(h, h, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
        *lo = wasm_v128_or(*lo, wasm_v128_and(wasm_i8x16_eq(wasm_v128_and(hl, k->sel), k->sel), k->x10));
        *hi = wasm_v128_or(*hi, wasm_v128_and(wasm_i8x16_eq(wasm_v128_and(hh, k->sel), k->sel), k->x10));
    }
}

/* A row's block against the token's two halves x0, x1 (elements 0-15, 16-31): its dot with
 * the unsigned levels as four lane sums, started at c. */
INLINE v128_t block32(int type, const uint8_t *blk, v128_t x0, v128_t x1, v128_t c, const qconsts *k) {
    v128_t lo, hi;
    levels32(type, blk, &lo, &hi, k);
    return DOT32(x1, hi, DOT32(x0, lo, c));
}

/* The four rows' fp16 at byte off of rows p0..p3's block, as f32x4 (row k in lane k). */
INLINE v128_t halves4(const uint8_t *p0, const uint8_t *p1, const uint8_t *p2, const uint8_t *p3, int off,
                      const qconsts *k) {
    v128_t h = wasm_v128_load16_lane(p0 + off, wasm_i32x4_splat(0), 0);
    h = wasm_v128_load16_lane(p1 + off, h, 2);
    h = wasm_v128_load16_lane(p2 + off, h, 4);
    return halves_f32(wasm_v128_load16_lane(p3 + off, h, 6), k);
}

/* The block's float step for four rows (sumi: their int32 sums after any offset; r0..r3 their
 * blocks), added to sumf in the scalar reference's order (row k in lane k). */
INLINE v128_t float32(int type, v128_t sumf, v128_t sumi, v128_t dw, v128_t mw, v128_t dy, v128_t sy) {
    const v128_t f = wasm_f32x4_convert_i32x4(sumi);
    switch (type) {
    case MLLM_DTYPE_Q4_0: /* sumi * dx * dy */
        return wasm_f32x4_add(sumf, wasm_f32x4_mul(wasm_f32x4_mul(f, dw), dy));
    case MLLM_DTYPE_Q5_0: /* (dx * dy) * sumi */
        return wasm_f32x4_add(sumf, wasm_f32x4_mul(wasm_f32x4_mul(dw, dy), f));
    default: /* Q4_1, Q5_1: (dx * dy) * sumi + m * s */
        return wasm_f32x4_add(sumf, wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_mul(dw, dy), f), wasm_f32x4_mul(mw, sy)));
    }
}

/* One group of four rows (r0..r3, byte pointers to their block) times the token's block. */
INLINE v128_t group32(int type, v128_t sumf, const uint8_t *r0, const uint8_t *r1, const uint8_t *r2,
                      const uint8_t *r3, v128_t x0, v128_t x1, v128_t c, v128_t dy, v128_t sy, const qconsts *k) {
    const v128_t sumi = hsum4_i32(block32(type, r0, x0, x1, c, k), block32(type, r1, x0, x1, c, k),
                                  block32(type, r2, x0, x1, c, k), block32(type, r3, x0, x1, c, k));
    return float32(type, sumf, sumi, halves4(r0, r1, r2, r3, 0, k),
                   HAS_MIN(type) ? halves4(r0, r1, r2, r3, 2, k) : sumf, dy, sy);
}

/* The token's block at x: its halves, scale (and Q8_1's s), and each row's lane start c. */
#define TOKEN_BLOCK(type, x)                                                                                   \
    const v128_t x0 = wasm_v128_load((x) + (HAS_MIN(type) ? 4 : 2)), x1 = wasm_v128_load((x) + (HAS_MIN(type) ? 20 : 18)); \
    const v128_t dy = halves_f32(wasm_v128_and(wasm_v128_load16_splat(x), k->lo16), k);                          \
    const v128_t sy = HAS_MIN(type) ? halves_f32(wasm_v128_and(wasm_v128_load16_splat((x) + 2), k->lo16), k) : dy; \
    v128_t c = wasm_i32x4_splat(0);                                                                            \
    if (offset) /* each row's lanes start at -offset x the activations' partial sums */                       \
        c = wasm_i32x4_sub(c, wasm_i32x4_shl(DOT32(x1, k->ones, DOT32(x0, k->ones, c)), offset))

/* The tokens' blocks for prefill32, once per call: per token and block three v128s (PRE
 * bytes): each row's lane start c, the scale dy and Q8_1's s, splatted. */
#define PRE 48
INLINE void prefill_tokens(int type, uint8_t *dst, const uint8_t *xq, int32_t nb, int32_t n_tok, const qconsts *k) {
    const int32_t as = ACT_BYTES(type);
    const int offset = type == MLLM_DTYPE_Q4_0 ? 3 : type == MLLM_DTYPE_Q5_0 ? 4 : 0;
    int32_t i;
    for (i = 0; i < n_tok * nb; i++, dst += PRE) {
        const uint8_t *x = xq + i * as;
        TOKEN_BLOCK(type, x);
        wasm_v128_store(dst, c);
        wasm_v128_store(dst + 16, dy);
        wasm_v128_store(dst + 32, sy);
    }
}

/* Several tokens (pre: their prefill_tokens), four consecutive rows (o: their outputs for
 * token 0): each block's levels and scales once for all the tokens, whose sums wait in out
 * between blocks. */
INLINE void prefill32(int type, float *o, int32_t ldo, const uint8_t *p, int32_t ps, int32_t nb, const uint8_t *xq,
                      const uint8_t *pre, int32_t n_tok, const qconsts *k) {
    const int32_t bs = BLK_BYTES(type), as = ACT_BYTES(type), qoff = HAS_MIN(type) ? 4 : 2;
    int32_t t, b;
    for (t = 0; t < n_tok; t++) wasm_v128_store(o + t * ldo, wasm_f32x4_splat(0.0f));
    for (b = 0; b < nb; b++) {
        const uint8_t *r0 = p + b * bs, *r1 = r0 + ps, *r2 = r1 + ps, *r3 = r2 + ps;
        const v128_t dw = halves4(r0, r1, r2, r3, 0, k), mw = HAS_MIN(type) ? halves4(r0, r1, r2, r3, 2, k) : dw;
        v128_t l0, h0, l1, h1, l2, h2, l3, h3;
        levels32(type, r0, &l0, &h0, k);
        levels32(type, r1, &l1, &h1, k);
        levels32(type, r2, &l2, &h2, k);
        levels32(type, r3, &l3, &h3, k);
        for (t = 0; t < n_tok; t++) {
            const uint8_t *x = xq + (t * nb + b) * as + qoff, *pt = pre + (t * nb + b) * PRE;
            const v128_t x0 = wasm_v128_load(x), x1 = wasm_v128_load(x + 16), c = wasm_v128_load(pt);
            float *ot = o + t * ldo;
            wasm_v128_store(ot, float32(type, wasm_v128_load(ot),
                                        hsum4_i32(DOT32(x1, h0, DOT32(x0, l0, c)), DOT32(x1, h1, DOT32(x0, l1, c)),
                                                  DOT32(x1, h2, DOT32(x0, l2, c)), DOT32(x1, h3, DOT32(x0, l3, c))),
                                        dw, mw, wasm_v128_load(pt + 16), wasm_v128_load(pt + 32)));
        }
    }
}

/* Store f's lanes at o[0], o[os], o[2 os], o[3 os] (the first nr). */
INLINE void store4(float *o, int32_t os, v128_t f, int nr) {
    o[0] = wasm_f32x4_extract_lane(f, 0);
    if (nr > 1) o[os] = wasm_f32x4_extract_lane(f, 1);
    if (nr > 2) o[2 * os] = wasm_f32x4_extract_lane(f, 2);
    if (nr > 3) o[3 * os] = wasm_f32x4_extract_lane(f, 3);
}

/* G (1 or 2) groups of four rows, row j of group g at p + (4 g + j) * ps (bytes), times n_tok
 * tokens; token t's output of that row at o + t * ldo + (4 g + j) * os (nr: how many of a
 * single group's rows are real; the others repeat its last). */
INLINE void rows32(int type, int G, float *o, int32_t os, int32_t ldo, const uint8_t *p, int32_t ps, int32_t nb,
                   const uint8_t *xq, int32_t n_tok, int nr, const qconsts *k) {
    const int32_t bs = BLK_BYTES(type), as = ACT_BYTES(type);
    const int offset = type == MLLM_DTYPE_Q4_0 ? 3 : type == MLLM_DTYPE_Q5_0 ? 4 : 0; /* log2 of 8, 16 */
    const uint8_t *p1 = p + (nr > 1 ? ps : 0), *p2 = p + (nr > 2 ? 2 : nr - 1) * ps, *p3 = p + (nr > 3 ? 3 : nr - 1) * ps;
    const uint8_t *p4 = p + 4 * ps, *p5 = p + 5 * ps, *p6 = p + 6 * ps, *p7 = p + 7 * ps;
    int32_t t, b;
    for (t = 0; t < n_tok; t++) {
        const uint8_t *x = xq + t * nb * as;
        v128_t s0 = wasm_f32x4_splat(0.0f), s1 = s0;
        for (b = 0; b < nb; b++, x += as) {
            const int32_t wo = b * bs;
            TOKEN_BLOCK(type, x);
            s0 = group32(type, s0, p + wo, p1 + wo, p2 + wo, p3 + wo, x0, x1, c, dy, sy, k);
            if (G > 1) s1 = group32(type, s1, p4 + wo, p5 + wo, p6 + wo, p7 + wo, x0, x1, c, dy, sy, k);
        }
        store4(o + t * ldo, os, s0, nr);
        if (G > 1) store4(o + t * ldo + 4 * os, os, s1, 4);
    }
}

/* Eight streams, as the Q8_0 decode (PERF_NOTES.md): the rows cut into 8 stretches, each pass
 * the next row of each (two groups of four); then the last n_rows % 8 in groups of four, the
 * last group's missing rows repeating its last. */
INLINE void matmul32(int type, float *out, int32_t ldo, const uint8_t *w, int32_t nb, int32_t n_rows,
                     const uint8_t *xq, int32_t n_tok, uint8_t *xbuf, int32_t xbytes) {
    const int32_t wrow = nb * BLK_BYTES(type), q = n_rows / 8, as = ACT_BYTES(type);
    const int32_t chunk = xbytes / (nb * PRE); /* tokens a prefill pass takes */
    const qconsts k = qconsts_make();
    int32_t i, r = 0, t0;
    if (n_tok > 1 && chunk > 1 && n_rows >= 4) { /* prefill: groups of four rows, then as decode for the last n_rows % 4 */
        for (t0 = 0; t0 < n_tok; t0 += chunk) {
            const int32_t nt = n_tok - t0 < chunk ? n_tok - t0 : chunk;
            const uint8_t *x = xq + t0 * nb * as;
            prefill_tokens(type, xbuf, x, nb, nt, &k);
            for (r = 0; r + 4 <= n_rows; r += 4) prefill32(type, out + t0 * ldo + r, ldo, w + r * wrow, wrow, nb, x, xbuf, nt, &k);
        }
    } else {
        for (i = 0, r = 8 * q; i < q; i++) rows32(type, 2, out + i, q, ldo, w + i * wrow, q * wrow, nb, xq, n_tok, 4, &k);
    }
    for (; r < n_rows; r += 4)
        rows32(type, 1, out + r, 1, ldo, w + r * wrow, wrow, nb, xq, n_tok, n_rows - r < 4 ? n_rows - r : 4, &k);
}

/* ---------------------------------------------------------------- K types (256-blocks) */

/* The permutation: 32 bytes (a: 0-15, b: 16-31) to lane order, *lo holding lanes k = 0..3 and
 * *hi k = 4..7, lane k = bytes k, k+8, k+16, k+24. */
INLINE void lanes32(v128_t a, v128_t b, v128_t *lo, v128_t *hi) {
    const v128_t t1 = wasm_i8x16_shuffle(a, b, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const v128_t t2 = wasm_i8x16_shuffle(a, b, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    *lo = wasm_i8x16_shuffle(t1, t2, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    *hi = wasm_i8x16_shuffle(t1, t2, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
}

/* A token's layout for the K kernels, per super-block (KSCR bytes): its 256 quants in lane
 * order by 32, then for each 32, -32 x its int16 pair sums in the same order (Q6_K's offset). */
#define KSCR 512

static void k_token(const block_q8_K *y, int32_t nsb, uint8_t *dst, const qconsts *k) {
    int32_t i, c;
    for (i = 0; i < nsb; i++, dst += KSCR) {
        for (c = 0; c < 8; c++) {
            v128_t lo, hi;
            lanes32(wasm_v128_load(y[i].qs + 32 * c), wasm_v128_load(y[i].qs + 32 * c + 16), &lo, &hi);
            wasm_v128_store(dst + 32 * c, lo);
            wasm_v128_store(dst + 32 * c + 16, hi);
            wasm_v128_store(dst + 256 + 32 * c, wasm_i16x8_mul(DOT16(lo, k->ones), wasm_i16x8_splat(-32)));
            wasm_v128_store(dst + 256 + 32 * c + 16, wasm_i16x8_mul(DOT16(hi, k->ones), wasm_i16x8_splat(-32)));
        }
    }
}

/* 32 elements' levels (lo, hi in lane order) x the token's 32 (xp) into the lane sums:
 * sc: int16 lanes alternating the first and the second 16's scale. cor: Q6_K's offset term
 * (int16, added before the scales) or NULL. */
INLINE void k32(v128_t lo, v128_t hi, const uint8_t *xp, const uint8_t *cor, v128_t sc, v128_t *acc_lo,
                v128_t *acc_hi) {
    v128_t p = DOT16(wasm_v128_load(xp), lo), q = DOT16(wasm_v128_load(xp + 16), hi);
    if (cor) {
        p = wasm_i16x8_add(p, wasm_v128_load(cor));
        q = wasm_i16x8_add(q, wasm_v128_load(cor + 16));
    }
    *acc_lo = wasm_i32x4_add(*acc_lo, wasm_i32x4_dot_i16x8(p, sc));
    *acc_hi = wasm_i32x4_add(*acc_hi, wasm_i32x4_dot_i16x8(q, sc));
}

/* int16 lanes alternating v's int16 lanes i and j */
#define PAIR16(v, i, j) wasm_i8x16_shuffle(v, v, 2 * (i), 2 * (i) + 1, 2 * (j), 2 * (j) + 1, 2 * (i), 2 * (i) + 1, \
                                           2 * (j), 2 * (j) + 1, 2 * (i), 2 * (i) + 1, 2 * (j), 2 * (j) + 1,     \
                                           2 * (i), 2 * (i) + 1, 2 * (j), 2 * (j) + 1)

/* Q4_K's (q5 0) or Q5_K's (q5 1) super-block of one row against the token's (xs: its KSCR
 * bytes; bsums: its 16-element sums): the eight lane sums and the mins' sum. */
INLINE void k45_block(int q5, const uint8_t *blk, const uint8_t *xs, const int16_t *bsums, v128_t *acc_lo,
                      v128_t *acc_hi, int32_t *summ, const qconsts *k) {
    const uint8_t *qs = blk + (q5 ? 48 : 16);
    /* the 6-bit scales and mins (quant_dot.h quant_k4_unpack), as int16 lanes */
    const v128_t u = wasm_v128_load(blk + 4); /* u0 u1 u2 (and qh/qs bytes, unused) */
    const v128_t lo6 = wasm_v128_and(u, opaque_splat(0x3f3f3f3f));
    const v128_t u2 = wasm_i32x4_shuffle(u, wasm_u32x4_shr(u, 4), 2, 6, 2, 6);
    const v128_t hi6 = wasm_v128_or(wasm_v128_and(u2, k->m4),
                                    wasm_i32x4_shl(wasm_v128_and(wasm_u32x4_shr(u, 6), opaque_splat(0x03030303)), 4));
    const v128_t sm = wasm_i32x4_shuffle(lo6, hi6, 0, 4, 1, 5); /* bytes: scales 0-7, mins 0-7 */
    const v128_t sc = wasm_u16x8_extend_low_u8x16(sm), mn = wasm_u16x8_extend_high_u8x16(sm);
    /* sum_j bsums[j] * mins[j / 2], exact in int32 for any bsums */
    v128_t m = wasm_i32x4_add(
        wasm_i32x4_dot_i16x8(wasm_v128_load(bsums), wasm_i8x16_shuffle(mn, mn, 0, 1, 0, 1, 2, 3, 2, 3, 4, 5, 4, 5, 6, 7, 6, 7)),
        wasm_i32x4_dot_i16x8(wasm_v128_load(bsums + 8),
                             wasm_i8x16_shuffle(mn, mn, 8, 9, 8, 9, 10, 11, 10, 11, 12, 13, 12, 13, 14, 15, 14, 15)));
    v128_t h0 = wasm_i32x4_splat(0), h1 = h0, a0 = h0, a1 = h0;
    m = wasm_i32x4_add(m, wasm_i32x4_shuffle(m, m, 2, 3, 0, 1));
    m = wasm_i32x4_add(m, wasm_i32x4_shuffle(m, m, 1, 0, 3, 2));
    *summ = wasm_i32x4_extract_lane(m, 0);
    if (q5) lanes32(wasm_v128_load(blk + 16), wasm_v128_load(blk + 32), &h0, &h1);
#define K45_PAIR(j)                                                                                            \
    do {                                                                                                       \
        v128_t l0, l1, e0, e1, o0, o1;                                                                         \
        lanes32(wasm_v128_load(qs + 32 * (j)), wasm_v128_load(qs + 32 * (j) + 16), &l0, &l1);                  \
        e0 = wasm_v128_and(l0, k->m4), e1 = wasm_v128_and(l1, k->m4);                                          \
        o0 = wasm_v128_and(wasm_u16x8_shr(l0, 4), k->m4), o1 = wasm_v128_and(wasm_u16x8_shr(l1, 4), k->m4);    \
        if (q5) { /* bit 2j (2j+1) of qh byte l: the fifth bit of the even (odd) sub-block's element l */  \
            e0 = wasm_v128_or(e0, wasm_v128_and(2 * (j) <= 4 ? wasm_i16x8_shl(h0, 4 - 2 * (j))               \
                                                               : wasm_u16x8_shr(h0, 2 * (j) - 4), k->x10));    \
            e1 = wasm_v128_or(e1, wasm_v128_and(2 * (j) <= 4 ? wasm_i16x8_shl(h1, 4 - 2 * (j))               \
                                                               : wasm_u16x8_shr(h1, 2 * (j) - 4), k->x10));    \
            o0 = wasm_v128_or(o0, wasm_v128_and(2 * (j) + 1 <= 4 ? wasm_i16x8_shl(h0, 3 - 2 * (j))           \
                                                                   : wasm_u16x8_shr(h0, 2 * (j) - 3), k->x10)); \
            o1 = wasm_v128_or(o1, wasm_v128_and(2 * (j) + 1 <= 4 ? wasm_i16x8_shl(h1, 3 - 2 * (j))           \
                                                                   : wasm_u16x8_shr(h1, 2 * (j) - 3), k->x10)); \
        }                                                                                                      \
        k32(e0, e1, xs + 64 * (j), NULL, PAIR16(sc, 2 * (j), 2 * (j)), &a0, &a1);                              \
        k32(o0, o1, xs + 64 * (j) + 32, NULL, PAIR16(sc, 2 * (j) + 1, 2 * (j) + 1), &a0, &a1);                 \
    } while (0)
    K45_PAIR(0);
    K45_PAIR(1);
    K45_PAIR(2);
    K45_PAIR(3);
#undef K45_PAIR
    *acc_lo = a0;
    *acc_hi = a1;
}

/* Q6_K's super-block of one row against the token's: the eight lane sums (offset included). */
INLINE void q6_block(const uint8_t *blk, const uint8_t *xs, v128_t *acc_lo, v128_t *acc_hi, const qconsts *k) {
    /* int8 scales as int16 lanes */
    const v128_t sc = wasm_i16x8_extend_low_i8x16(wasm_v128_load64_zero(blk + 192)),
                 sc2 = wasm_i16x8_extend_low_i8x16(wasm_v128_load64_zero(blk + 200));
    v128_t a0 = wasm_i32x4_splat(0), a1 = a0;
    int half;
    for (half = 0; half < 2; half++) {
        const uint8_t *ql = blk + 64 * half, *qh = blk + 128 + 32 * half, *x = xs + 128 * half;
        const v128_t s = half ? sc2 : sc;
        v128_t l10, l11, l20, l21, h0, h1;
        lanes32(wasm_v128_load(ql), wasm_v128_load(ql + 16), &l10, &l11);
        lanes32(wasm_v128_load(ql + 32), wasm_v128_load(ql + 48), &l20, &l21);
        lanes32(wasm_v128_load(qh), wasm_v128_load(qh + 16), &h0, &h1);
        /* part p: low 4 bits from ql (p 0, 2: ql[l]; 1, 3: ql[l + 32]; p >= 2 the high nibble),
         * bits 4-5 from (qh[l] >> 2p) & 3 */
        k32(wasm_v128_or(wasm_v128_and(l10, k->m4), wasm_v128_and(wasm_i16x8_shl(h0, 4), k->m30)),
            wasm_v128_or(wasm_v128_and(l11, k->m4), wasm_v128_and(wasm_i16x8_shl(h1, 4), k->m30)), x, x + 256,
            PAIR16(s, 0, 1), &a0, &a1);
        k32(wasm_v128_or(wasm_v128_and(l20, k->m4), wasm_v128_and(wasm_i16x8_shl(h0, 2), k->m30)),
            wasm_v128_or(wasm_v128_and(l21, k->m4), wasm_v128_and(wasm_i16x8_shl(h1, 2), k->m30)), x + 32,
            x + 256 + 32, PAIR16(s, 2, 3), &a0, &a1);
        k32(wasm_v128_or(wasm_v128_and(wasm_u16x8_shr(l10, 4), k->m4), wasm_v128_and(h0, k->m30)),
            wasm_v128_or(wasm_v128_and(wasm_u16x8_shr(l11, 4), k->m4), wasm_v128_and(h1, k->m30)), x + 64,
            x + 256 + 64, PAIR16(s, 4, 5), &a0, &a1);
        k32(wasm_v128_or(wasm_v128_and(wasm_u16x8_shr(l20, 4), k->m4), wasm_v128_and(wasm_u16x8_shr(h0, 2), k->m30)),
            wasm_v128_or(wasm_v128_and(wasm_u16x8_shr(l21, 4), k->m4), wasm_v128_and(wasm_u16x8_shr(h1, 2), k->m30)),
            x + 96, x + 256 + 96, PAIR16(s, 6, 7), &a0, &a1);
    }
    *acc_lo = a0;
    *acc_hi = a1;
}

/* Q3_K's super-block of one row against the token's: the eight lane sums (offset included).
 * Levels (q & 3) | hmask bit << 2, 0..7; the offset 4 is the token's -32 pair sums / 8. */
INLINE void q3_block(const uint8_t *blk, const uint8_t *xs, v128_t *acc_lo, v128_t *acc_hi, const qconsts *k) {
    const uint32_t kmask1 = 0x03030303, kmask2 = 0x0f0f0f0f;
    uint32_t a0, a1, a2;
    v128_t h0, h1, sc, sc2, acc0 = wasm_i32x4_splat(0), acc1 = acc0;
    const v128_t m3 = wasm_i8x16_splat(3), m4b = wasm_i8x16_splat(4);
    int half;
    (void)k;
    __builtin_memcpy(&a0, blk + 96, 4);
    __builtin_memcpy(&a1, blk + 100, 4);
    __builtin_memcpy(&a2, blk + 104, 4);
    { /* the 6-bit scales (quant_dot.c q3_k_dot_q8_k), as int16 minus 32 */
        const v128_t u = wasm_i32x4_make((int32_t)((a0 & kmask2) | (((a2 >> 0) & kmask1) << 4)),
                                         (int32_t)((a1 & kmask2) | (((a2 >> 2) & kmask1) << 4)),
                                         (int32_t)(((a0 >> 4) & kmask2) | (((a2 >> 4) & kmask1) << 4)),
                                         (int32_t)(((a1 >> 4) & kmask2) | (((a2 >> 6) & kmask1) << 4)));
        sc = wasm_i16x8_sub(wasm_i16x8_extend_low_i8x16(u), wasm_i16x8_splat(32));
        sc2 = wasm_i16x8_sub(wasm_i16x8_extend_high_i8x16(u), wasm_i16x8_splat(32));
    }
    lanes32(wasm_v128_load(blk), wasm_v128_load(blk + 16), &h0, &h1);
    for (half = 0; half < 2; half++) {
        const uint8_t *x = xs + 128 * half;
        const v128_t s = half ? sc2 : sc;
        v128_t q0, q1;
        lanes32(wasm_v128_load(blk + 32 + 32 * half), wasm_v128_load(blk + 48 + 32 * half), &q0, &q1);
#define Q3_PART(p)                                                                                             \
    do {                                                                                                       \
        const int b = 4 * half + (p); /* the hmask bit of this part, to bit 2 */                                 \
        const v128_t g0 = b >= 2 ? wasm_u16x8_shr(h0, b - 2) : wasm_i16x8_shl(h0, 2 - b);                      \
        const v128_t g1 = b >= 2 ? wasm_u16x8_shr(h1, b - 2) : wasm_i16x8_shl(h1, 2 - b);                      \
        const v128_t l0 = wasm_v128_or(wasm_v128_and(wasm_u16x8_shr(q0, 2 * (p)), m3), wasm_v128_and(g0, m4b)); \
        const v128_t l1 = wasm_v128_or(wasm_v128_and(wasm_u16x8_shr(q1, 2 * (p)), m3), wasm_v128_and(g1, m4b)); \
        v128_t pp = DOT16(wasm_v128_load(x + 32 * (p)), l0), qq = DOT16(wasm_v128_load(x + 32 * (p) + 16), l1);  \
        pp = wasm_i16x8_add(pp, wasm_i16x8_shr(wasm_v128_load(x + 256 + 32 * (p)), 3));                        \
        qq = wasm_i16x8_add(qq, wasm_i16x8_shr(wasm_v128_load(x + 256 + 32 * (p) + 16), 3));                   \
        acc0 = wasm_i32x4_add(acc0, wasm_i32x4_dot_i16x8(pp, PAIR16(s, 2 * (p), 2 * (p) + 1)));               \
        acc1 = wasm_i32x4_add(acc1, wasm_i32x4_dot_i16x8(qq, PAIR16(s, 2 * (p), 2 * (p) + 1)));               \
    } while (0)
        Q3_PART(0);
        Q3_PART(1);
        Q3_PART(2);
        Q3_PART(3);
#undef Q3_PART
    }
    *acc_lo = acc0;
    *acc_hi = acc1;
}

/* Q2_K's super-block of one row against the token (y, in its own order: Q2_K needs only
 * totals): dall * isum - dmin * summs as quant_dot.c forms it. Levels 0..3. */
INLINE float q2_block(const uint8_t *blk, const block_q8_K *y) {
    const v128_t m3 = wasm_i8x16_splat(3), s0 = wasm_v128_load(blk); /* scales: low nibble scale, high min */
    const v128_t sc = wasm_v128_and(s0, wasm_i8x16_splat(15)), mn = wasm_u8x16_shr(s0, 4);
    const v128_t sc_lo = wasm_u16x8_extend_low_u8x16(sc), sc_hi = wasm_u16x8_extend_high_u8x16(sc);
    v128_t acc = wasm_i32x4_add(wasm_i32x4_dot_i16x8(wasm_v128_load(y->bsums), wasm_u16x8_extend_low_u8x16(mn)),
                                wasm_i32x4_dot_i16x8(wasm_v128_load(y->bsums + 8), wasm_u16x8_extend_high_u8x16(mn)));
    v128_t is = wasm_i32x4_splat(0);
    uint16_t dh, dminh;
    int32_t summs, isum;
    int half;
    acc = wasm_i32x4_add(acc, wasm_i32x4_shuffle(acc, acc, 2, 3, 0, 1));
    acc = wasm_i32x4_add(acc, wasm_i32x4_shuffle(acc, acc, 1, 0, 3, 2));
    summs = wasm_i32x4_extract_lane(acc, 0);
    for (half = 0; half < 2; half++) {
        const v128_t q0 = wasm_v128_load(blk + 16 + 32 * half), q1 = wasm_v128_load(blk + 32 + 32 * half);
        const v128_t s = half ? sc_hi : sc_lo;
        const int8_t *x = y->qs + 128 * half;
#define Q2_PART(j)                                                                                             \
    do {                                                                                                       \
        const v128_t a = DOT16(wasm_v128_load(x + 32 * (j)), wasm_v128_and(wasm_u16x8_shr(q0, 2 * (j)), m3));   \
        const v128_t b = DOT16(wasm_v128_load(x + 32 * (j) + 16), wasm_v128_and(wasm_u16x8_shr(q1, 2 * (j)), m3)); \
        is = wasm_i32x4_add(is, wasm_i32x4_dot_i16x8(a, wasm_i16x8_shuffle(s, s, 2 * (j), 2 * (j), 2 * (j), 2 * (j), \
                                                                           2 * (j), 2 * (j), 2 * (j), 2 * (j)))); \
        is = wasm_i32x4_add(is, wasm_i32x4_dot_i16x8(b, wasm_i16x8_shuffle(s, s, 2 * (j) + 1, 2 * (j) + 1,     \
                                                                           2 * (j) + 1, 2 * (j) + 1, 2 * (j) + 1, \
                                                                           2 * (j) + 1, 2 * (j) + 1, 2 * (j) + 1))); \
    } while (0)
        Q2_PART(0);
        Q2_PART(1);
        Q2_PART(2);
        Q2_PART(3);
#undef Q2_PART
    }
    is = wasm_i32x4_add(is, wasm_i32x4_shuffle(is, is, 2, 3, 0, 1));
    is = wasm_i32x4_add(is, wasm_i32x4_shuffle(is, is, 1, 0, 3, 2));
    isum = wasm_i32x4_extract_lane(is, 0);
    __builtin_memcpy(&dh, blk + 80, 2);
    __builtin_memcpy(&dminh, blk + 82, 2);
    return y->d * f16_bits_to_f32(dh) * (float)isum - y->d * f16_bits_to_f32(dminh) * (float)summs;
}

/* One row of a K type against n_tok tokens laid out by k_token (xs, ys: the tokens' blocks
 * for their scales), out[t * ldo], in quant_dot.c's float order. */
INLINE void k_row(int type, float *out, int32_t ldo, const uint8_t *w, int32_t nsb, const uint8_t *xs,
                  const block_q8_K *ys, int32_t n_tok, const qconsts *k) {
    const int32_t bs = type == MLLM_DTYPE_Q2_K ? (int32_t)sizeof(block_q2_K)
                       : type == MLLM_DTYPE_Q3_K ? (int32_t)sizeof(block_q3_K)
                       : type == MLLM_DTYPE_Q6_K ? (int32_t)sizeof(block_q6_K)
                       : type == MLLM_DTYPE_Q5_K ? (int32_t)sizeof(block_q5_K)
                                                 : (int32_t)sizeof(block_q4_K);
    int32_t t, i;
    for (t = 0; t < n_tok; t++) {
        const uint8_t *x = xs + t * nsb * KSCR;
        const block_q8_K *y = ys + t * nsb;
        v128_t sums_lo = wasm_f32x4_splat(0.0f), sums_hi = sums_lo;
        float sumf = 0.0f;
        if (type == MLLM_DTYPE_Q2_K) { /* one float sum, no lanes */
            for (i = 0; i < nsb; i++) sumf += q2_block(w + i * bs, y + i);
            out[t * ldo] = sumf;
            continue;
        }
        for (i = 0; i < nsb; i++) {
            const uint8_t *blk = w + i * bs;
            v128_t a0, a1;
            float d;
            if (type == MLLM_DTYPE_Q6_K || type == MLLM_DTYPE_Q3_K) {
                uint16_t dh;
                if (type == MLLM_DTYPE_Q6_K) q6_block(blk, x + i * KSCR, &a0, &a1, k);
                else q3_block(blk, x + i * KSCR, &a0, &a1, k);
                __builtin_memcpy(&dh, blk + (type == MLLM_DTYPE_Q6_K ? 208 : 108), 2);
                d = f16_bits_to_f32(dh) * y[i].d;
            } else {
                uint16_t dh, dminh;
                int32_t summ;
                k45_block(type == MLLM_DTYPE_Q5_K, blk, x + i * KSCR, y[i].bsums, &a0, &a1, &summ, k);
                __builtin_memcpy(&dh, blk, 2);
                __builtin_memcpy(&dminh, blk + 2, 2);
                d = f16_bits_to_f32(dh) * y[i].d;
                sumf -= f16_bits_to_f32(dminh) * y[i].d * (float)summ;
            }
            k_float(d, a0, a1, &sums_lo, &sums_hi);
        }
        out[t * ldo] = k_final(sumf, sums_lo, sums_hi);
    }
}

/* The K types: the tokens laid out in chunks that fit xbuf, then row by row. */
INLINE void matmul_k(int type, float *out, int32_t ldo, const uint8_t *w, int32_t nsb, int32_t n_rows,
                     const block_q8_K *xq, int32_t n_tok, uint8_t *xbuf, int32_t chunk) {
    const int32_t wrow = nsb * (type == MLLM_DTYPE_Q2_K ? (int32_t)sizeof(block_q2_K)
                                : type == MLLM_DTYPE_Q3_K ? (int32_t)sizeof(block_q3_K)
                                : type == MLLM_DTYPE_Q6_K ? (int32_t)sizeof(block_q6_K)
                                : type == MLLM_DTYPE_Q5_K ? (int32_t)sizeof(block_q5_K)
                                                          : (int32_t)sizeof(block_q4_K));
    const qconsts k = qconsts_make();
    const int32_t q = n_rows / 8;
    int32_t t0, t, r, i, g;
    for (t0 = 0; t0 < n_tok; t0 += chunk) {
        const int32_t nt = n_tok - t0 < chunk ? n_tok - t0 : chunk;
        for (t = 0; t < nt; t++) k_token(xq + (t0 + t) * nsb, nsb, xbuf + t * nsb * KSCR, &k);
        /* eight streams: row i of each of 8 stretches in turn, then the last n_rows % 8 */
        for (i = 0; i < q; i++)
            for (g = 0; g < 8; g++)
                k_row(type, out + t0 * ldo + g * q + i, ldo, w + (g * q + i) * wrow, nsb, xbuf, xq + t0 * nsb, nt, &k);
        for (r = 8 * q; r < n_rows; r++)
            k_row(type, out + t0 * ldo + r, ldo, w + r * wrow, nsb, xbuf, xq + t0 * nsb, nt, &k);
    }
}

/* ---------------------------------------------------------------- Q4_K x4 layout */

#define NOINLINE_X4 static __attribute__((noinline))

/* A token's layout for the x4 kernel, per super-block (KX4SCR bytes): for each sub-block pair
 * jp and lane k, 16 bytes [elements k, k+8, k+16, k+24 of sub-block 2 jp, the same of 2 jp + 1]
 * twice (the levels' order in kernels.h KERN_LAYOUT_Q4_K_X4); then per jp two int16 vectors
 * of its 16-element sums: [bsums 4jp, 4jp+2] x 4 and [4jp+1, 4jp+3] x 4 (the mins' operand). */
#define KX4SCR 640
#define KX_LEVELS 1024 /* the x4 kernels' scratch for one super-block's unpacked levels (prefill) */

static void kx4_token(const block_q8_K *y, int32_t nsb, uint8_t *dst) {
    int32_t i, jp;
    for (i = 0; i < nsb; i++, dst += KX4SCR) {
        for (jp = 0; jp < 4; jp++) {
            const int8_t *q = y[i].qs + 64 * jp;
            const int16_t *bs = y[i].bsums + 4 * jp;
            uint8_t *d = dst + 128 * jp;
            v128_t a0, a1, b0, b1;
            lanes32(wasm_v128_load(q), wasm_v128_load(q + 16), &a0, &a1);
            lanes32(wasm_v128_load(q + 32), wasm_v128_load(q + 48), &b0, &b1);
            wasm_v128_store(d, wasm_i32x4_shuffle(a0, b0, 0, 4, 0, 4));
            wasm_v128_store(d + 16, wasm_i32x4_shuffle(a0, b0, 1, 5, 1, 5));
            wasm_v128_store(d + 32, wasm_i32x4_shuffle(a0, b0, 2, 6, 2, 6));
            wasm_v128_store(d + 48, wasm_i32x4_shuffle(a0, b0, 3, 7, 3, 7));
            wasm_v128_store(d + 64, wasm_i32x4_shuffle(a1, b1, 0, 4, 0, 4));
            wasm_v128_store(d + 80, wasm_i32x4_shuffle(a1, b1, 1, 5, 1, 5));
            wasm_v128_store(d + 96, wasm_i32x4_shuffle(a1, b1, 2, 6, 2, 6));
            wasm_v128_store(d + 112, wasm_i32x4_shuffle(a1, b1, 3, 7, 3, 7));
            wasm_v128_store(dst + 512 + 32 * jp, wasm_i16x8_make(bs[0], bs[2], bs[0], bs[2], bs[0], bs[2], bs[0], bs[2]));
            wasm_v128_store(dst + 528 + 32 * jp, wasm_i16x8_make(bs[1], bs[3], bs[1], bs[3], bs[1], bs[3], bs[1], bs[3]));
        }
    }
}

/* The four rows' scale (or min) pairs of sub-block pairs 2h, 2h + 1 as int16: V (16 bytes, kernels.h). */
#define KX4_V(lo_nib, hi2) wasm_v128_or(wasm_v128_and((lo_nib), k->m4), wasm_v128_and((hi2), k->m30))

/* One group of four rows (g: its first super-block) against n_tok tokens (xs: kx4_token's, y
 * their blocks): each super-block's scales once for all the tokens, whose eight lane sums and
 * sumf (f32x4 over the four rows, quant_dot.c's order) wait in st (144 bytes a token). Right for
 * any n_tok; used for one token (decode), q4k_x4_group_pre for several. */
/* Bit b of each byte of h to 0x10 (Q5_K x4's fifth bits). */
INLINE v128_t bit_x10(v128_t h, int b, const qconsts *k) {
    return wasm_v128_and(b <= 4 ? wasm_i16x8_shl(h, 4 - b) : wasm_u16x8_shr(h, b - 4), k->x10);
}

/* Unit u's two level vectors of a Q4_K (q5 0) or Q5_K x4 super-block b: rows 0, 1 and rows 2, 3. */
INLINE void kx4_levels(int q5, const uint8_t *b, int u, v128_t *lo, v128_t *hi, const qconsts *k) {
    const v128_t w = wasm_v128_load(b + 64 + 16 * u);
    *lo = wasm_v128_and(w, k->m4);
    *hi = wasm_v128_and(wasm_u16x8_shr(w, 4), k->m4);
    if (q5) {
        const v128_t h = wasm_v128_load(b + 576 + 16 * (u / 4));
        *lo = wasm_v128_or(*lo, bit_x10(h, 2 * (u % 4), k));
        *hi = wasm_v128_or(*hi, bit_x10(h, 2 * (u % 4) + 1, k));
    }
}

/* All 32 units' level vectors of super-block b into lv (1024 bytes), for several tokens. */
INLINE void kx4_levels_all(int q5, const uint8_t *b, uint8_t *lv, const qconsts *k) {
    int u;
    for (u = 0; u < 32; u++) {
        v128_t lo, hi;
        kx4_levels(q5, b, u, &lo, &hi, k);
        wasm_v128_store(lv + 32 * u, lo);
        wasm_v128_store(lv + 32 * u + 16, hi);
    }
}

INLINE void q4k_x4_group(int q5, float *o, int32_t ldo, const uint8_t *g, int32_t nsb, const uint8_t *xs,
                         const block_q8_K *y, int32_t n_tok, uint8_t *st, uint8_t *lv, const qconsts *k) {
    int32_t t, i, l;
    for (t = 0; t < n_tok; t++)
        for (l = 0; l < 9; l++) wasm_v128_store(st + 144 * t + 16 * l, wasm_f32x4_splat(0.0f));
    for (i = 0; i < nsb; i++) {
        const uint8_t *b = g + i * (q5 ? KERN_Q5_K_X4_BLOCK : KERN_Q4_K_X4_BLOCK);
        const v128_t l1 = wasm_v128_load(b + 16), l2 = wasm_v128_load(b + 32), h = wasm_v128_load(b + 48);
        const v128_t v0 = KX4_V(l1, wasm_i16x8_shl(h, 4)), v1 = KX4_V(wasm_u16x8_shr(l1, 4), wasm_i16x8_shl(h, 2));
        const v128_t v2 = KX4_V(l2, h), v3 = KX4_V(wasm_u16x8_shr(l2, 4), wasm_u16x8_shr(h, 2));
        const v128_t dd = wasm_v128_load(b);
        const v128_t dw = halves_f32(wasm_u32x4_extend_low_u16x8(dd), k), mw = halves_f32(wasm_u32x4_extend_high_u16x8(dd), k);
        const v128_t sc0 = wasm_u16x8_extend_low_u8x16(v0), sc1 = wasm_u16x8_extend_high_u8x16(v0);
        const v128_t sc2 = wasm_u16x8_extend_low_u8x16(v1), sc3 = wasm_u16x8_extend_high_u8x16(v1);
        const v128_t mn0 = wasm_u16x8_extend_low_u8x16(v2), mn1 = wasm_u16x8_extend_high_u8x16(v2);
        const v128_t mn2 = wasm_u16x8_extend_low_u8x16(v3), mn3 = wasm_u16x8_extend_high_u8x16(v3);
        /* several tokens (decode calls with one): each unit's two level vectors once, into lv. Kept
         * for the code clang makes of this function: without the branch decode ran 30% slower. */
        if (n_tok > 1) {
            kx4_levels_all(q5, b, lv, k);
        }
        for (t = 0; t < n_tok; t++) {
            const uint8_t *x = xs + (t * nsb + i) * KX4SCR;
            uint8_t *s = st + 144 * t;
            const v128_t yd = wasm_f32x4_splat(y[t * nsb + i].d);
            v128_t a0 = wasm_i32x4_splat(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, summ;
            /* four rows' sums of sub-blocks 2jp, 2jp+1 in lane kk, times their scales, into acc */
#define KX4_LANE(acc, jp, kk, sc)                                                                              \
    do {                                                                                                       \
        const int u_ = 8 * (jp) + (kk);                                                                        \
        const v128_t xa = wasm_v128_load(x + 16 * u_), z = wasm_i32x4_splat(0);                                \
        v128_t lo_, hi_;                                                                                       \
        if (n_tok > 1) {                                                                                       \
            lo_ = wasm_v128_load(lv + 32 * u_), hi_ = wasm_v128_load(lv + 32 * u_ + 16);                       \
        } else {                                                                                               \
            kx4_levels(q5, b, u_, &lo_, &hi_, k);                                                              \
        }                                                                                                      \
        acc = wasm_i32x4_add(acc, wasm_i32x4_dot_i16x8(wasm_i16x8_narrow_i32x4(DOT32(xa, lo_, z), DOT32(xa, hi_, z)), sc)); \
    } while (0)
#define KX4_PAIR(jp, sc)                                                                                       \
    do {                                                                                                       \
        KX4_LANE(a0, jp, 0, sc);                                                                               \
        KX4_LANE(a1, jp, 1, sc);                                                                               \
        KX4_LANE(a2, jp, 2, sc);                                                                               \
        KX4_LANE(a3, jp, 3, sc);                                                                               \
        KX4_LANE(a4, jp, 4, sc);                                                                               \
        KX4_LANE(a5, jp, 5, sc);                                                                               \
        KX4_LANE(a6, jp, 6, sc);                                                                               \
        KX4_LANE(a7, jp, 7, sc);                                                                               \
    } while (0)
            KX4_PAIR(0, sc0);
            KX4_PAIR(1, sc1);
            KX4_PAIR(2, sc2);
            KX4_PAIR(3, sc3);
#undef KX4_PAIR
#undef KX4_LANE
            /* the mins' sum: sum_j bsums[j] * mins[j / 2], exact in int32 for any bsums */
            summ = wasm_i32x4_add(wasm_i32x4_dot_i16x8(wasm_v128_load(x + 512), mn0), wasm_i32x4_dot_i16x8(wasm_v128_load(x + 528), mn0));
            summ = wasm_i32x4_add(summ, wasm_i32x4_add(wasm_i32x4_dot_i16x8(wasm_v128_load(x + 544), mn1),
                                                       wasm_i32x4_dot_i16x8(wasm_v128_load(x + 560), mn1)));
            summ = wasm_i32x4_add(summ, wasm_i32x4_add(wasm_i32x4_dot_i16x8(wasm_v128_load(x + 576), mn2),
                                                       wasm_i32x4_dot_i16x8(wasm_v128_load(x + 592), mn2)));
            summ = wasm_i32x4_add(summ, wasm_i32x4_add(wasm_i32x4_dot_i16x8(wasm_v128_load(x + 608), mn3),
                                                       wasm_i32x4_dot_i16x8(wasm_v128_load(x + 624), mn3)));
            { /* sums[l] += d * aux32[l]; sumf -= dmin * summ (d = fp16 d * y.d, per row) */
                const v128_t d = wasm_f32x4_mul(dw, yd), dmin = wasm_f32x4_mul(mw, yd);
#define KX4_F(l, a) wasm_v128_store(s + 16 * (l), wasm_f32x4_add(wasm_v128_load(s + 16 * (l)), wasm_f32x4_mul(d, wasm_f32x4_convert_i32x4(a))))
                KX4_F(0, a0);
                KX4_F(1, a1);
                KX4_F(2, a2);
                KX4_F(3, a3);
                KX4_F(4, a4);
                KX4_F(5, a5);
                KX4_F(6, a6);
                KX4_F(7, a7);
#undef KX4_F
                wasm_v128_store(s + 128, wasm_f32x4_sub(wasm_v128_load(s + 128), wasm_f32x4_mul(dmin, wasm_f32x4_convert_i32x4(summ))));
            }
        }
    }
    for (t = 0; t < n_tok; t++) { /* sumf + lanes 0..7, one at a time */
        const uint8_t *s = st + 144 * t;
        v128_t f = wasm_v128_load(s + 128);
        for (l = 0; l < 8; l++) f = wasm_f32x4_add(f, wasm_v128_load(s + 16 * l));
        wasm_v128_store(o + t * ldo, f);
    }
}

/* The mins' sum of a token (x: its kx4_token layout) for four rows: sum_j bsums[j] * mins[j / 2],
 * exact in int32 for any bsums. */
INLINE v128_t kx4_mins(const uint8_t *x, v128_t mn0, v128_t mn1, v128_t mn2, v128_t mn3) {
    v128_t summ = wasm_i32x4_add(wasm_i32x4_dot_i16x8(wasm_v128_load(x + 512), mn0), wasm_i32x4_dot_i16x8(wasm_v128_load(x + 528), mn0));
    summ = wasm_i32x4_add(summ, wasm_i32x4_add(wasm_i32x4_dot_i16x8(wasm_v128_load(x + 544), mn1),
                                               wasm_i32x4_dot_i16x8(wasm_v128_load(x + 560), mn1)));
    summ = wasm_i32x4_add(summ, wasm_i32x4_add(wasm_i32x4_dot_i16x8(wasm_v128_load(x + 576), mn2),
                                               wasm_i32x4_dot_i16x8(wasm_v128_load(x + 592), mn2)));
    return wasm_i32x4_add(summ, wasm_i32x4_add(wasm_i32x4_dot_i16x8(wasm_v128_load(x + 608), mn3),
                                               wasm_i32x4_dot_i16x8(wasm_v128_load(x + 624), mn3)));
}

/* q4k_x4_group for several tokens (prefill): each super-block's levels unpacked once into lv, then
 * token by token, lane by lane: each unit's two relaxed i16 dots (rows 0, 1 and rows 2, 3, on the
 * one activation load; int16 lanes one row's pair in one sub-block) times the scale pairs give
 * [r s0, r s1] int32 lanes per row pair; summed over the four jp, the row pairs' lanes added
 * pairwise are the four rows' aux32[kk] (integers, so any grouping is the reference's value).
 * About 15% faster than q4k_x4_group's two i32 dots and narrow for prefill, but slower for one
 * token (PERF_NOTES.md), hence two functions. */
INLINE void q4k_x4_group_pre(int q5, float *o, int32_t ldo, const uint8_t *g, int32_t nsb, const uint8_t *xs,
                             const block_q8_K *y, int32_t n_tok, uint8_t *st, uint8_t *lv, const qconsts *k) {
    int32_t t, i, l;
    for (t = 0; t < n_tok; t++)
        for (l = 0; l < 9; l++) wasm_v128_store(st + 144 * t + 16 * l, wasm_f32x4_splat(0.0f));
    for (i = 0; i < nsb; i++) {
        const uint8_t *b = g + i * (q5 ? KERN_Q5_K_X4_BLOCK : KERN_Q4_K_X4_BLOCK);
        const v128_t l1 = wasm_v128_load(b + 16), l2 = wasm_v128_load(b + 32), h = wasm_v128_load(b + 48);
        const v128_t v0 = KX4_V(l1, wasm_i16x8_shl(h, 4)), v1 = KX4_V(wasm_u16x8_shr(l1, 4), wasm_i16x8_shl(h, 2));
        const v128_t v2 = KX4_V(l2, h), v3 = KX4_V(wasm_u16x8_shr(l2, 4), wasm_u16x8_shr(h, 2));
        const v128_t dd = wasm_v128_load(b), z = wasm_i32x4_splat(0);
        const v128_t dw = halves_f32(wasm_u32x4_extend_low_u16x8(dd), k), mw = halves_f32(wasm_u32x4_extend_high_u16x8(dd), k);
        const v128_t sc0 = wasm_u16x8_extend_low_u8x16(v0), sc1 = wasm_u16x8_extend_high_u8x16(v0);
        const v128_t sc2 = wasm_u16x8_extend_low_u8x16(v1), sc3 = wasm_u16x8_extend_high_u8x16(v1);
        const v128_t mn0 = wasm_u16x8_extend_low_u8x16(v2), mn1 = wasm_u16x8_extend_high_u8x16(v2);
        const v128_t mn2 = wasm_u16x8_extend_low_u8x16(v3), mn3 = wasm_u16x8_extend_high_u8x16(v3);
        /* each row's two scales per int16 pair: rows 0, 1 [s0, s0, s1, s1] x 2 (sl), rows 2, 3 (sh) */
#define KX4_SL(sc) wasm_i8x16_shuffle(sc, sc, 0, 1, 0, 1, 2, 3, 2, 3, 4, 5, 4, 5, 6, 7, 6, 7)
#define KX4_SH(sc) wasm_i8x16_shuffle(sc, sc, 8, 9, 8, 9, 10, 11, 10, 11, 12, 13, 12, 13, 14, 15, 14, 15)
        const v128_t sl0 = KX4_SL(sc0), sl1 = KX4_SL(sc1), sl2 = KX4_SL(sc2), sl3 = KX4_SL(sc3);
        const v128_t sh0 = KX4_SH(sc0), sh1 = KX4_SH(sc1), sh2 = KX4_SH(sc2), sh3 = KX4_SH(sc3);
#undef KX4_SL
#undef KX4_SH
        kx4_levels_all(q5, b, lv, k);
        for (t = 0; t < n_tok; t++) {
            const uint8_t *x = xs + (t * nsb + i) * KX4SCR;
            uint8_t *s = st + 144 * t;
            const v128_t yd = wasm_f32x4_splat(y[t * nsb + i].d), d = wasm_f32x4_mul(dw, yd);
#define KX4_UNIT(jp, kk, scl, sch)                                                                             \
    do {                                                                                                       \
        const int u_ = 8 * (jp) + (kk);                                                                        \
        const v128_t xa = wasm_v128_load(x + 16 * u_);                                                         \
        al = wasm_i32x4_add(al, wasm_i32x4_dot_i16x8(DOT16(xa, wasm_v128_load(lv + 32 * u_)), scl));           \
        ah = wasm_i32x4_add(ah, wasm_i32x4_dot_i16x8(DOT16(xa, wasm_v128_load(lv + 32 * u_ + 16)), sch));      \
    } while (0)
#define KX4_K(kk) /* sums[kk] += d * aux32[kk] (d = fp16 d * y.d, per row) */                                  \
    do {                                                                                                       \
        v128_t al = z, ah = z, rows;                                                                           \
        KX4_UNIT(0, kk, sl0, sh0);                                                                             \
        KX4_UNIT(1, kk, sl1, sh1);                                                                             \
        KX4_UNIT(2, kk, sl2, sh2);                                                                             \
        KX4_UNIT(3, kk, sl3, sh3);                                                                             \
        rows = wasm_i32x4_add(wasm_i32x4_shuffle(al, ah, 0, 2, 4, 6), wasm_i32x4_shuffle(al, ah, 1, 3, 5, 7));  \
        wasm_v128_store(s + 16 * (kk), wasm_f32x4_add(wasm_v128_load(s + 16 * (kk)), wasm_f32x4_mul(d, wasm_f32x4_convert_i32x4(rows)))); \
    } while (0)
            KX4_K(0);
            KX4_K(1);
            KX4_K(2);
            KX4_K(3);
            KX4_K(4);
            KX4_K(5);
            KX4_K(6);
            KX4_K(7);
#undef KX4_K
#undef KX4_UNIT
            /* sumf -= dmin * summ (dmin = fp16 dmin * y.d, per row) */
            wasm_v128_store(s + 128, wasm_f32x4_sub(wasm_v128_load(s + 128), wasm_f32x4_mul(wasm_f32x4_mul(mw, yd),
                                                    wasm_f32x4_convert_i32x4(kx4_mins(x, mn0, mn1, mn2, mn3)))));
        }
    }
    for (t = 0; t < n_tok; t++) { /* sumf + lanes 0..7, one at a time */
        const uint8_t *s = st + 144 * t;
        v128_t f = wasm_v128_load(s + 128);
        for (l = 0; l < 8; l++) f = wasm_f32x4_add(f, wasm_v128_load(s + 16 * l));
        wasm_v128_store(o + t * ldo, f);
    }
}

/* Q4_K (q5 0) or Q5_K x4 weights (n_rows % 4 == 0): the tokens laid out in chunks that fit
 * xbuf, then group by group (pre 0: q4k_x4_group, for one token; pre 1: q4k_x4_group_pre). */
INLINE void mm_k45_x4(int q5, int pre, float *out, int32_t ldo, const uint8_t *w, int32_t nsb, int32_t n_rows,
                      const block_q8_K *xq, int32_t n_tok, uint8_t *xbuf, int32_t chunk) {
    const qconsts k = qconsts_make();
    const int32_t gb = nsb * (q5 ? KERN_Q5_K_X4_BLOCK : KERN_Q4_K_X4_BLOCK);
    int32_t t0, gi;
    for (t0 = 0; t0 < n_tok; t0 += chunk) {
        const int32_t nt = n_tok - t0 < chunk ? n_tok - t0 : chunk;
        uint8_t *st = xbuf + nt * nsb * KX4SCR;
        kx4_token(xq + t0 * nsb, nt * nsb, xbuf);
        for (gi = 0; gi < n_rows / 4; gi++) {
            float *o = out + t0 * ldo + 4 * gi;
            if (pre) q4k_x4_group_pre(q5, o, ldo, w + gi * gb, nsb, xbuf, xq + t0 * nsb, nt, st, st + 144 * nt, &k);
            else q4k_x4_group(q5, o, ldo, w + gi * gb, nsb, xbuf, xq + t0 * nsb, nt, st, st + 144 * nt, &k);
        }
    }
}

/* Decode and prefill in functions of their own (with both in one, decode ran 30% slower in the
 * engine: V8 compiles and tiers up each function as a whole). */
#define MMK45(name, q5, pre)                                                                                   \
    NOINLINE_X4 void name(float *out, int32_t ldo, const uint8_t *w, int32_t nsb, int32_t n_rows,              \
                          const block_q8_K *xq, int32_t n_tok, uint8_t *xbuf, int32_t chunk) {                 \
        mm_k45_x4(q5, pre, out, ldo, w, nsb, n_rows, xq, n_tok, xbuf, chunk);                                  \
    }
MMK45(mm_q4_k_x4, 0, 0)
MMK45(mm_q4_k_x4_pre, 0, 1)
MMK45(mm_q5_k_x4, 1, 0)
MMK45(mm_q5_k_x4_pre, 1, 1)
#undef MMK45

/* A token's layout for the Q6_K x4 kernel, per super-block (KX6SCR bytes): for each unit (jp,
 * k) 4 bytes [elements k, k+8 of sub-block 2 jp, the same of 2 jp + 1] (the levels' pair order,
 * kernels.h KERN_LAYOUT_Q6_K_X4), then for each unit two int16: -32 x each of those pairs' sums
 * (the levels' offset 32). */
#define KX6SCR 512

static void kx6_token(const block_q8_K *y, int32_t nsb, uint8_t *dst) {
    int32_t i, jp, kk, s;
    for (i = 0; i < nsb; i++, dst += KX6SCR)
        for (jp = 0; jp < 8; jp++)
            for (kk = 0; kk < 8; kk++) {
                uint8_t *d = dst + 4 * (8 * jp + kk);
                int16_t *c = (int16_t *)(void *)(dst + 256 + 4 * (8 * jp + kk));
                for (s = 0; s < 2; s++) {
                    const int8_t a = y[i].qs[16 * (2 * jp + s) + kk], b = y[i].qs[16 * (2 * jp + s) + kk + 8];
                    d[2 * s] = (uint8_t)a;
                    d[2 * s + 1] = (uint8_t)b;
                    c[s] = (int16_t)(-32 * (a + b));
                }
            }
}

/* The Q6_K x4 groups' state, eight lane sums a token (128 bytes at st + 128 t): zeroed, and
 * written out as 0 + lanes 0..7 in order. */
INLINE void kx6_state_zero(uint8_t *st, int32_t n_tok) {
    int32_t t, l;
    for (t = 0; t < n_tok; t++)
        for (l = 0; l < 8; l++) wasm_v128_store(st + 128 * t + 16 * l, wasm_f32x4_splat(0.0f));
}
INLINE void kx6_state_out(float *o, int32_t ldo, const uint8_t *st, int32_t n_tok) {
    int32_t t, l;
    for (t = 0; t < n_tok; t++) {
        v128_t f = wasm_f32x4_splat(0.0f);
        for (l = 0; l < 8; l++) f = wasm_f32x4_add(f, wasm_v128_load(st + 128 * t + 16 * l));
        wasm_v128_store(o + t * ldo, f);
    }
}

/* A Q6_K x4 super-block's four rows' d, as floats. */
INLINE v128_t kx6_rows_d(const uint8_t *b, const qconsts *k) {
    v128_t dw = wasm_v128_load16_lane(b + 832, wasm_i32x4_splat(0), 0);
    dw = wasm_v128_load16_lane(b + 834, dw, 2);
    dw = wasm_v128_load16_lane(b + 836, dw, 4);
    return halves_f32(wasm_v128_load16_lane(b + 838, dw, 6), k);
}

/* One group of four Q6_K rows, as q4k_x4_group (state: eight lane sums a token, 128 bytes),
 * the levels decoded in registers: decode (several tokens go to q6k_x4_group_pre, unless the
 * scratch holds no tile of them). Lanes go four at a time (four sums live, the scales loaded
 * per sub-block pair). */
INLINE void q6k_x4_group(float *o, int32_t ldo, const uint8_t *g, int32_t nsb, const uint8_t *xs,
                         const block_q8_K *y, int32_t n_tok, uint8_t *st, const qconsts *k) {
    int32_t t, i, q, jp;
    kx6_state_zero(st, n_tok);
    for (i = 0; i < nsb; i++) {
        const uint8_t *b = g + i * KERN_Q6_K_X4_BLOCK;
        const v128_t dw = kx6_rows_d(b, k);
        for (t = 0; t < n_tok; t++) {
            const uint8_t *x = xs + (t * nsb + i) * KX6SCR;
            uint8_t *s = st + 128 * t;
            const v128_t d = wasm_f32x4_mul(dw, wasm_f32x4_splat(y[t * nsb + i].d));
            for (q = 0; q < 2; q++) {
                v128_t a0 = wasm_i32x4_splat(0), a1 = a0, a2 = a0, a3 = a0;
                for (jp = 0; jp < 8; jp++) {
                    const v128_t sc = wasm_i16x8_load8x8(b + 8 * jp);
                    const uint8_t *xu = x + 4 * (8 * jp + 4 * q);
                    const uint8_t *qq = b + 64 + 48 * (2 * jp + q);
                    const v128_t n1 = wasm_v128_load(qq), n2 = wasm_v128_load(qq + 16), h = wasm_v128_load(qq + 32);
                    const v128_t l0 = KX4_V(n1, wasm_i16x8_shl(h, 4)), l1 = KX4_V(wasm_u16x8_shr(n1, 4), wasm_i16x8_shl(h, 2));
                    const v128_t l2 = KX4_V(n2, h), l3 = KX4_V(wasm_u16x8_shr(n2, 4), wasm_u16x8_shr(h, 2));
                    /* each unit: the pairs less 32 x their sums, times the scales */
#define KX6_UNIT(acc, u, lvl)                                                                                  \
    acc = wasm_i32x4_add(acc, wasm_i32x4_dot_i16x8(wasm_i16x8_add(DOT16(wasm_v128_load32_splat(xu + 4 * (u)), lvl), \
                                                                  wasm_v128_load32_splat(xu + 256 + 4 * (u))), sc))
                    KX6_UNIT(a0, 0, l0);
                    KX6_UNIT(a1, 1, l1);
                    KX6_UNIT(a2, 2, l2);
                    KX6_UNIT(a3, 3, l3);
#undef KX6_UNIT
                }
                /* sums[l] += d * aux32[l] (d = fp16 d * y.d, per row) */
#define KX6_F(l, a) wasm_v128_store(s + 16 * (l), wasm_f32x4_add(wasm_v128_load(s + 16 * (l)), wasm_f32x4_mul(d, wasm_f32x4_convert_i32x4(a))))
                KX6_F(4 * q, a0);
                KX6_F(4 * q + 1, a1);
                KX6_F(4 * q + 2, a2);
                KX6_F(4 * q + 3, a3);
#undef KX6_F
            }
        }
    }
    kx6_state_out(o, ldo, st, n_tok);
}

/* ---- Q6_K x4 prefill: the scales folded into the levels, as two 7-bit digits ----
 * For several tokens each super-block of four rows is unpacked once into digits of
 * u = scale x (level - 32) + 4096 (0..8192 for any int8 scale and 6-bit level): hi = u >> 7
 * (0..64) and lo = u & 127, both valid second operands of the relaxed dot. A lane's integer
 * aux32[l] (quant_dot.c k_lanes) is then 128 x (x . hi) + (x . lo) - 4096 x (the token's sum of
 * its lane-l elements), summed in any order (integers, so the reference's value): two
 * accumulating relaxed dots per 16 weight-tokens and no per-sub-block scale step. */

/* The prefill's token layout, per four tokens (a tile) and super-block (KX6P bytes): at
 * 16 (8 l + jp) + 4 t token t's elements 32 jp + l + 8 m, m = 0..3 (a unit of kx6_token); at
 * 1024 + 16 l + 4 t, as int32, -32 x its sum of the elements e % 8 == l (the hi digits' start:
 * 128 x -32 = -4096); at 1152 + 4 t its y.d. A tile's missing tokens are left unwritten. */
#define KX6P 1168
#define KX6_PRE_MIN 4 /* fewer tokens go as decode: the digits cost more than they save (PERF_NOTES.md) */
#define KX6_DIGITS 2048 /* one super-block of four rows' digits: [l][jp] hi 16 bytes, lo 16; then a tile's d (64) */

static void kx6p_token(const block_q8_K *y, int32_t nsb, int32_t n_tok, uint8_t *dst, const qconsts *k) {
    int32_t t, i, jp;
    for (t = 0; t < n_tok; t++)
        for (i = 0; i < nsb; i++) {
            const block_q8_K *yt = y + t * nsb + i;
            uint8_t *d = dst + ((t / 4) * nsb + i) * KX6P + 4 * (t % 4);
            v128_t s_lo = wasm_i32x4_splat(0), s_hi = s_lo;
            for (jp = 0; jp < 8; jp++) {
                v128_t lo, hi;
                lanes32(wasm_v128_load(yt->qs + 32 * jp), wasm_v128_load(yt->qs + 32 * jp + 16), &lo, &hi);
                wasm_v128_store32_lane(d + 16 * jp, lo, 0);
                wasm_v128_store32_lane(d + 16 * (8 + jp), lo, 1);
                wasm_v128_store32_lane(d + 16 * (16 + jp), lo, 2);
                wasm_v128_store32_lane(d + 16 * (24 + jp), lo, 3);
                wasm_v128_store32_lane(d + 16 * (32 + jp), hi, 0);
                wasm_v128_store32_lane(d + 16 * (40 + jp), hi, 1);
                wasm_v128_store32_lane(d + 16 * (48 + jp), hi, 2);
                wasm_v128_store32_lane(d + 16 * (56 + jp), hi, 3);
                s_lo = DOT32(lo, k->ones, s_lo);
                s_hi = DOT32(hi, k->ones, s_hi);
            }
            s_lo = wasm_i32x4_mul(s_lo, wasm_i32x4_splat(-32));
            s_hi = wasm_i32x4_mul(s_hi, wasm_i32x4_splat(-32));
            wasm_v128_store32_lane(d + 1024, s_lo, 0);
            wasm_v128_store32_lane(d + 1040, s_lo, 1);
            wasm_v128_store32_lane(d + 1056, s_lo, 2);
            wasm_v128_store32_lane(d + 1072, s_lo, 3);
            wasm_v128_store32_lane(d + 1088, s_hi, 0);
            wasm_v128_store32_lane(d + 1104, s_hi, 1);
            wasm_v128_store32_lane(d + 1120, s_hi, 2);
            wasm_v128_store32_lane(d + 1136, s_hi, 3);
            *(float *)(void *)(d + 1152) = yt->d;
        }
}

/* A Q6_K x4 super-block b's digits into dg (KX6_DIGITS bytes): unit (jp, l)'s 16 levels
 * (byte 4 r + 2 s + m: row r, sub-block 2 jp + s) to hi at dg + 32 (8 l + jp), lo 16 bytes on. */
INLINE void kx6_digits(const uint8_t *b, uint8_t *dg, const qconsts *k) {
    const v128_t m7 = wasm_i16x8_splat(127), c4096 = wasm_i16x8_splat(4096);
    int32_t jp, q;
    for (jp = 0; jp < 8; jp++) {
        /* per byte of a unit's rows 0, 1 (sl) and 2, 3 (sh): its row's scale of sub-block 2 jp + s, and 4096 - 32 x it */
        const v128_t sc = wasm_i16x8_load8x8(b + 8 * jp);
        const v128_t sl = wasm_i16x8_shuffle(sc, sc, 0, 0, 1, 1, 2, 2, 3, 3), sh = wasm_i16x8_shuffle(sc, sc, 4, 4, 5, 5, 6, 6, 7, 7);
        const v128_t cl = wasm_i16x8_sub(c4096, wasm_i16x8_shl(sl, 5)), ch = wasm_i16x8_sub(c4096, wasm_i16x8_shl(sh, 5));
        for (q = 0; q < 2; q++) {
            const uint8_t *qq = b + 64 + 48 * (2 * jp + q);
            const v128_t n1 = wasm_v128_load(qq), n2 = wasm_v128_load(qq + 16), h = wasm_v128_load(qq + 32);
            v128_t lv[4];
            int u;
            lv[0] = KX4_V(n1, wasm_i16x8_shl(h, 4));
            lv[1] = KX4_V(wasm_u16x8_shr(n1, 4), wasm_i16x8_shl(h, 2));
            lv[2] = KX4_V(n2, h);
            lv[3] = KX4_V(wasm_u16x8_shr(n2, 4), wasm_u16x8_shr(h, 2));
            for (u = 0; u < 4; u++) {
                const v128_t ul = wasm_i16x8_add(wasm_i16x8_mul(wasm_u16x8_extend_low_u8x16(lv[u]), sl), cl);
                const v128_t uh = wasm_i16x8_add(wasm_i16x8_mul(wasm_u16x8_extend_high_u8x16(lv[u]), sh), ch);
                uint8_t *d = dg + 32 * (8 * (4 * q + u) + jp);
                wasm_v128_store(d, wasm_u8x16_narrow_i16x8(wasm_u16x8_shr(ul, 7), wasm_u16x8_shr(uh, 7)));
                wasm_v128_store(d + 16, wasm_u8x16_narrow_i16x8(wasm_v128_and(ul, m7), wasm_v128_and(uh, m7)));
            }
        }
    }
}

/* T (1 or 4) tokens of a tile (x: the tile's layout of this super-block, plus 4 x its first
 * token's place; s: that token's eight lane sums, 128 bytes a token) against one super-block's
 * digits dg: sums[l] += d x aux32[l], d = the rows' fp16 d (dw) x y.d. */
INLINE void q6p_tile(int T, uint8_t *dg, const uint8_t *x, uint8_t *s, v128_t dw) {
    int32_t l, t;
    for (t = 0; t < T; t++) wasm_v128_store(dg + KX6_DIGITS + 16 * t, wasm_f32x4_mul(dw, wasm_v128_load32_splat(x + 1152 + 4 * t)));
#pragma clang loop unroll(disable)
    for (l = 0; l < 8; l++) {
        const uint8_t *xl = x + 128 * l, *dl = dg + 256 * l;
        v128_t ah[4], al[4];
        for (t = 0; t < T; t++) ah[t] = wasm_v128_load32_splat(x + 1024 + 16 * l + 4 * t), al[t] = wasm_i32x4_splat(0);
        const uint8_t *const de = dl + 256;
#pragma clang loop unroll(disable)
        for (; dl < de; dl += 32, xl += 16) {
            const v128_t hi = wasm_v128_load(dl), lo = wasm_v128_load(dl + 16);
            for (t = 0; t < T; t++) {
                const v128_t xs = wasm_v128_load32_splat(xl + 4 * t);
                ah[t] = DOT32(xs, hi, ah[t]);
                al[t] = DOT32(xs, lo, al[t]);
            }
        }
        for (t = 0; t < T; t++) {
            uint8_t *st = s + 128 * t + 16 * l;
            const v128_t a = wasm_i32x4_add(wasm_i32x4_shl(ah[t], 7), al[t]);
            const v128_t d = wasm_v128_load(dg + KX6_DIGITS + 16 * t);
            wasm_v128_store(st, wasm_f32x4_add(wasm_v128_load(st), wasm_f32x4_mul(d, wasm_f32x4_convert_i32x4(a))));
        }
    }
}

/* One group of four Q6_K rows against n_tok tokens (xs: kx6p_token's; st: eight lane sums a
 * token, 128 bytes; dg: KX6_DIGITS + 64 bytes): super-block by super-block, its digits once, then
 * the tokens four at a time (a last tile of fewer one by one). */
INLINE void q6k_x4_group_pre(float *o, int32_t ldo, const uint8_t *g, int32_t nsb, const uint8_t *xs, int32_t n_tok,
                             uint8_t *st, uint8_t *dg, const qconsts *k) {
    int32_t t, i;
    kx6_state_zero(st, n_tok);
    for (i = 0; i < nsb; i++) {
        const uint8_t *b = g + i * KERN_Q6_K_X4_BLOCK;
        const v128_t dw = kx6_rows_d(b, k);
        kx6_digits(b, dg, k);
        for (t = 0; t + 4 <= n_tok; t += 4) q6p_tile(4, dg, xs + ((t / 4) * nsb + i) * KX6P, st + 128 * t, dw);
        for (; t < n_tok; t++) q6p_tile(1, dg, xs + ((t / 4) * nsb + i) * KX6P + 4 * (t % 4), st + 128 * t, dw);
    }
    kx6_state_out(o, ldo, st, n_tok);
}

/* Q6_K x4 weights (n_rows % 4 == 0), as mm_k45_x4: decode (and prefill where the scratch holds
 * no tile of four tokens), and the prefill, in functions of their own as MMK45's. */
NOINLINE_X4 void mm_q6_k_x4(float *out, int32_t ldo, const uint8_t *w, int32_t nsb, int32_t n_rows,
                            const block_q8_K *xq, int32_t n_tok, uint8_t *xbuf, int32_t chunk) {
    const qconsts k = qconsts_make();
    int32_t t0, gi;
    for (t0 = 0; t0 < n_tok; t0 += chunk) {
        const int32_t nt = n_tok - t0 < chunk ? n_tok - t0 : chunk;
        uint8_t *st = xbuf + nt * nsb * KX6SCR;
        kx6_token(xq + t0 * nsb, nt * nsb, xbuf);
        for (gi = 0; gi < n_rows / 4; gi++)
            q6k_x4_group(out + t0 * ldo + 4 * gi, ldo, w + gi * nsb * KERN_Q6_K_X4_BLOCK, nsb, xbuf, xq + t0 * nsb, nt, st, &k);
    }
}
NOINLINE_X4 void mm_q6_k_x4_pre(float *out, int32_t ldo, const uint8_t *w, int32_t nsb, int32_t n_rows,
                                const block_q8_K *xq, int32_t n_tok, uint8_t *xbuf, int32_t chunk) {
    const qconsts k = qconsts_make();
    int32_t t0, gi;
    for (t0 = 0; t0 < n_tok; t0 += chunk) {
        const int32_t nt = n_tok - t0 < chunk ? n_tok - t0 : chunk;
        uint8_t *st = xbuf + (nt + 3) / 4 * nsb * KX6P;
        kx6p_token(xq + t0 * nsb, nsb, nt, xbuf, &k);
        for (gi = 0; gi < n_rows / 4; gi++)
            q6k_x4_group_pre(out + t0 * ldo + 4 * gi, ldo, w + gi * nsb * KERN_Q6_K_X4_BLOCK, nsb, xbuf, nt, st, st + 128 * nt, &k);
    }
}

/* ---------------------------------------------------------------- entry point */

/* One function per type and path, so that the engine compiles and tiers up each on its own
 * (one function holding every type stayed in the baseline tier through a Chromium prefill). */
#define NOINLINE static __attribute__((noinline))
#define MM32(name, T)                                                                                          \
    NOINLINE void name(float *out, int32_t ldo, const uint8_t *w, int32_t nb, int32_t n_rows, const uint8_t *xq, \
                       int32_t n_tok, uint8_t *xbuf, int32_t xbytes) {                                         \
        matmul32(T, out, ldo, w, nb, n_rows, xq, n_tok, xbuf, xbytes);                                         \
    }
MM32(mm_q4_0, MLLM_DTYPE_Q4_0)
MM32(mm_q4_1, MLLM_DTYPE_Q4_1)
MM32(mm_q5_0, MLLM_DTYPE_Q5_0)
MM32(mm_q5_1, MLLM_DTYPE_Q5_1)
#define MMK(name, T)                                                                                           \
    NOINLINE void name(float *out, int32_t ldo, const uint8_t *w, int32_t nsb, int32_t n_rows,                 \
                       const block_q8_K *xq, int32_t n_tok, uint8_t *xbuf, int32_t chunk) {                    \
        matmul_k(T, out, ldo, w, nsb, n_rows, xq, n_tok, xbuf, chunk);                                         \
    }
MMK(mm_q4_k, MLLM_DTYPE_Q4_K)
MMK(mm_q5_k, MLLM_DTYPE_Q5_K)
MMK(mm_q6_k, MLLM_DTYPE_Q6_K)
MMK(mm_q3_k, MLLM_DTYPE_Q3_K)
MMK(mm_q2_k, MLLM_DTYPE_Q2_K)

EXPORT("mllm_relaxed_quant")
int32_t mllm_relaxed_quant(int32_t type, float *out, int32_t ldo, const uint8_t *w, int32_t n_in, int32_t n_rows,
                           const uint8_t *xq, int32_t n_tok, uint8_t *xbuf, int32_t xbytes) {
    if (type == (MLLM_DTYPE_Q4_K | KERN_RELAXED_QUANT_X4) || type == (MLLM_DTYPE_Q5_K | KERN_RELAXED_QUANT_X4) ||
        type == (MLLM_DTYPE_Q6_K | KERN_RELAXED_QUANT_X4)) {
        /* kernels.h KERN_LAYOUT_Q4_K_X4, _Q5_K_X4, _Q6_K_X4 */
        const int q6 = type == (MLLM_DTYPE_Q6_K | KERN_RELAXED_QUANT_X4);
        const int32_t nsb = n_in / QK_K, per_tok = q6 ? nsb * KX6SCR + 128 : nsb * KX4SCR + 144;
        const int32_t chunk = nsb ? (xbytes - KX_LEVELS) / per_tok : 0;
        /* the Q6_K prefill from KX6_PRE_MIN tokens: tiles of four a pass (where one fits; else as decode) */
        const int64_t tiles = nsb ? ((int64_t)xbytes - (KX6_DIGITS + 64)) / ((int64_t)nsb * KX6P + 4 * 128) : 0;
        const int q6p = q6 && n_tok >= KX6_PRE_MIN && tiles >= 1;
        const block_q8_K *y = (const block_q8_K *)(const void *)xq;
        if (n_tok == 0) return 1;
        if (n_in <= 0 || n_in % QK_K || n_rows < 0 || n_rows % 4 || n_tok < 0 || ldo < n_rows || chunk < 1 ||
            ((uintptr_t)xbuf & 15))
            return 0;
        if (q6p) mm_q6_k_x4_pre(out, ldo, w, nsb, n_rows, y, n_tok, xbuf, (int32_t)(4 * tiles < n_tok ? 4 * tiles : n_tok));
        else if (q6) mm_q6_k_x4(out, ldo, w, nsb, n_rows, y, n_tok, xbuf, chunk);
        else if (type == (MLLM_DTYPE_Q5_K | KERN_RELAXED_QUANT_X4) && n_tok > 1)
            mm_q5_k_x4_pre(out, ldo, w, nsb, n_rows, y, n_tok, xbuf, chunk);
        else if (type == (MLLM_DTYPE_Q5_K | KERN_RELAXED_QUANT_X4)) mm_q5_k_x4(out, ldo, w, nsb, n_rows, y, n_tok, xbuf, chunk);
        else if (n_tok > 1) mm_q4_k_x4_pre(out, ldo, w, nsb, n_rows, y, n_tok, xbuf, chunk);
        else mm_q4_k_x4(out, ldo, w, nsb, n_rows, y, n_tok, xbuf, chunk);
        return 1;
    }
    const int k_type = type == MLLM_DTYPE_Q2_K || type == MLLM_DTYPE_Q3_K || type == MLLM_DTYPE_Q4_K || type == MLLM_DTYPE_Q5_K ||
                       type == MLLM_DTYPE_Q6_K;
    const int b32 = type == MLLM_DTYPE_Q4_0 || type == MLLM_DTYPE_Q4_1 || type == MLLM_DTYPE_Q5_0 ||
                    type == MLLM_DTYPE_Q5_1;
    if (!k_type && !b32) return 0;
    if (n_tok == 0) return 1;
    if (n_in <= 0 || n_rows < 0 || n_tok < 0 || ldo < n_rows) return 0;
    if (b32) {
        const int32_t nb = n_in / 32;
        if (n_in % 32 || ((uintptr_t)xbuf & 15)) return 0;
        if (type == MLLM_DTYPE_Q4_0) mm_q4_0(out, ldo, w, nb, n_rows, xq, n_tok, xbuf, xbytes);
        else if (type == MLLM_DTYPE_Q4_1) mm_q4_1(out, ldo, w, nb, n_rows, xq, n_tok, xbuf, xbytes);
        else if (type == MLLM_DTYPE_Q5_0) mm_q5_0(out, ldo, w, nb, n_rows, xq, n_tok, xbuf, xbytes);
        else mm_q5_1(out, ldo, w, nb, n_rows, xq, n_tok, xbuf, xbytes);
        return 1;
    }
    {
        const int32_t nsb = n_in / QK_K, chunk = nsb ? xbytes / (nsb * KSCR) : 0;
        const block_q8_K *y = (const block_q8_K *)(const void *)xq;
        if (n_in % QK_K || chunk < 1 || ((uintptr_t)xbuf & 15)) return 0;
        if (type == MLLM_DTYPE_Q4_K) mm_q4_k(out, ldo, w, nsb, n_rows, y, n_tok, xbuf, chunk);
        else if (type == MLLM_DTYPE_Q5_K) mm_q5_k(out, ldo, w, nsb, n_rows, y, n_tok, xbuf, chunk);
        else if (type == MLLM_DTYPE_Q3_K) mm_q3_k(out, ldo, w, nsb, n_rows, y, n_tok, xbuf, chunk);
        else if (type == MLLM_DTYPE_Q2_K) mm_q2_k(out, ldo, w, nsb, n_rows, y, n_tok, xbuf, chunk);
        else mm_q6_k(out, ldo, w, nsb, n_rows, y, n_tok, xbuf, chunk);
        return 1;
    }
}
#else
typedef int kernels_relaxed_quant_unused; /* ISO C wants a declaration in every translation unit */
#endif
