/* kernels_relaxed.c — the Q8_0 matmuls (prefill tile, decode streams) on relaxed SIMD's
 * int8 dot product.
 *
 * i32x4.relaxed_dot_i8x16_i7x16_add_s does 16 multiply-adds in one instruction where
 * SIMD128 needs two (i32x4.dot_i16x8 + add) for 8, so the prefill tile and the decode
 * streams run faster where the engine lowers it to one VNNI instruction (vpdpbusd:
 * Chromium, Node 24+, on x86 with AVX-VNNI; PERF_NOTES.md). Its second operand is only defined for 0..127; above
 * that an engine may read it unsigned (VNNI), signed, or saturate pairs (pmaddubsw). This
 * kernel feeds it weights + 128 (0..255) and subtracts 128 * the token's block sum, which
 * is exact only when the engine reads it unsigned without saturation. mllm_relaxed_probe
 * tells, and the loader (wasm_build/relaxed_library.js) uses this kernel only then: the
 * results are the integers of the scalar reference, bit-identical.
 *
 * emcc 3.1.6's clang 14 cannot emit relaxed SIMD, so this file is built apart by clang 19
 * into a small module that imports the engine's memory (wasm_build/wasm.mk) and is called
 * from kernels_simd128.c through an import. It has no stack, data or globals of its own:
 * every buffer comes from the caller. Everywhere else this file compiles to nothing. */
#if defined(__wasm_relaxed_simd__)
#include <wasm_simd128.h>

#include "codec.h"
#include "kernels.h"
#include "kernels_q8_simd.h"

#define EXPORT(name) __attribute__((export_name(name)))

/* 1 if relaxed_dot(a, b, 0) reads b unsigned and sums without saturating, for a = -128
 * or 127 and b = 255 (the extremes this kernel feeds it); the caller passes the values
 * so that nothing can be folded at compile time. */
EXPORT("mllm_relaxed_probe") int32_t mllm_relaxed_probe(int32_t lo, int32_t hi, int32_t u) {
    const v128_t z = wasm_i32x4_splat(0), b = wasm_i8x16_splat((int8_t)u);
    const v128_t p = __builtin_wasm_relaxed_dot_i8x16_i7x16_add_s_i32x4(wasm_i8x16_splat((int8_t)lo), b, z);
    const v128_t q = __builtin_wasm_relaxed_dot_i8x16_i7x16_add_s_i32x4(wasm_i8x16_splat((int8_t)hi), b, z);
    return wasm_i32x4_extract_lane(p, 0) == 4 * lo * (u & 255) && wasm_i32x4_extract_lane(p, 3) == 4 * lo * (u & 255) &&
           wasm_i32x4_extract_lane(q, 0) == 4 * hi * (u & 255) && wasm_i32x4_extract_lane(q, 3) == 4 * hi * (u & 255);
}

/* A token block's correction: -128 x the sum of its quants (the kernels feed the weights
 * + 128, so each dot over-counts by 128 x that sum). */
static int32_t correction(const block_q8_0 *x) {
    int32_t j, sum = 0;
    for (j = 0; j < MLLM_QK8_0; j++) sum += x->qs[j];
    return -128 * sum;
}

/* Tile: 4 rows x 8 tokens. wu: the rows' quants + 128 as bytes, [block][row][32]; dw their
 * scales [block][row]. xt: the tokens' quants, [block][quad][token][4 bytes]; xc: per block
 * -128 * each token's quant sum (the correction, as the accumulators' start); dx the
 * scales, [block][token]. A row's 4 bytes, broadcast by the load, against 4 tokens' 4
 * bytes leaves each token's partial sum in its own lane. Floats as the reference orders
 * them: (float)sum * (weight scale * token scale), added block by block. */
static inline __attribute__((always_inline)) void rows4_tok8_at(float *out, int32_t ldo, const uint8_t *wu,
                                                                 const float *dw, int32_t nb, const int8_t *xt,
                                                                 const int32_t *xc, const float *dx, int nr, int nt,
                                                                 const int32_t bstride, const int32_t qstride,
                                                                 const int32_t rstride) {
    v128_t f0 = wasm_f32x4_splat(0.0f), f1 = f0, f2 = f0, f3 = f0, f4 = f0, f5 = f0, f6 = f0, f7 = f0;
    int32_t b;
    int q;
    for (b = 0; b < nb; b++) {
        const uint8_t *w = wu + b * bstride;
        const int8_t *x = xt + b * 256;
        const v128_t c0 = wasm_v128_load(xc + 8 * b), c1 = wasm_v128_load(xc + 8 * b + 4);
        const v128_t dx0 = wasm_v128_load(dx + 8 * b), dx1 = wasm_v128_load(dx + 8 * b + 4);
        v128_t a0 = c0, a1 = c1, a2 = c0, a3 = c1, a4 = c0, a5 = c1, a6 = c0, a7 = c1, s;
#pragma clang loop unroll(disable)
        for (q = 0; q < 8; q++, w += qstride, x += 32) {
            const v128_t xa = wasm_v128_load(x), xb = wasm_v128_load(x + 16);
            v128_t ws = wasm_v128_load32_splat(w);
            a0 = __builtin_wasm_relaxed_dot_i8x16_i7x16_add_s_i32x4(xa, ws, a0);
            a1 = __builtin_wasm_relaxed_dot_i8x16_i7x16_add_s_i32x4(xb, ws, a1);
            ws = wasm_v128_load32_splat(w + rstride);
            a2 = __builtin_wasm_relaxed_dot_i8x16_i7x16_add_s_i32x4(xa, ws, a2);
            a3 = __builtin_wasm_relaxed_dot_i8x16_i7x16_add_s_i32x4(xb, ws, a3);
            ws = wasm_v128_load32_splat(w + 2 * rstride);
            a4 = __builtin_wasm_relaxed_dot_i8x16_i7x16_add_s_i32x4(xa, ws, a4);
            a5 = __builtin_wasm_relaxed_dot_i8x16_i7x16_add_s_i32x4(xb, ws, a5);
            ws = wasm_v128_load32_splat(w + 3 * rstride);
            a6 = __builtin_wasm_relaxed_dot_i8x16_i7x16_add_s_i32x4(xa, ws, a6);
            a7 = __builtin_wasm_relaxed_dot_i8x16_i7x16_add_s_i32x4(xb, ws, a7);
        }
        s = wasm_v128_load32_splat(dw + 4 * b);
        f0 = wasm_f32x4_add(f0, wasm_f32x4_mul(wasm_f32x4_convert_i32x4(a0), wasm_f32x4_mul(s, dx0)));
        f1 = wasm_f32x4_add(f1, wasm_f32x4_mul(wasm_f32x4_convert_i32x4(a1), wasm_f32x4_mul(s, dx1)));
        s = wasm_v128_load32_splat(dw + 4 * b + 1);
        f2 = wasm_f32x4_add(f2, wasm_f32x4_mul(wasm_f32x4_convert_i32x4(a2), wasm_f32x4_mul(s, dx0)));
        f3 = wasm_f32x4_add(f3, wasm_f32x4_mul(wasm_f32x4_convert_i32x4(a3), wasm_f32x4_mul(s, dx1)));
        s = wasm_v128_load32_splat(dw + 4 * b + 2);
        f4 = wasm_f32x4_add(f4, wasm_f32x4_mul(wasm_f32x4_convert_i32x4(a4), wasm_f32x4_mul(s, dx0)));
        f5 = wasm_f32x4_add(f5, wasm_f32x4_mul(wasm_f32x4_convert_i32x4(a5), wasm_f32x4_mul(s, dx1)));
        s = wasm_v128_load32_splat(dw + 4 * b + 3);
        f6 = wasm_f32x4_add(f6, wasm_f32x4_mul(wasm_f32x4_convert_i32x4(a6), wasm_f32x4_mul(s, dx0)));
        f7 = wasm_f32x4_add(f7, wasm_f32x4_mul(wasm_f32x4_convert_i32x4(a7), wasm_f32x4_mul(s, dx1)));
    }
    if (nr > 0) store_row(out, ldo, f0, f1, nt);
    if (nr > 1) store_row(out + 1, ldo, f2, f3, nt);
    if (nr > 2) store_row(out + 2, ldo, f4, f5, nt);
    if (nr > 3) store_row(out + 3, ldo, f6, f7, nt);
}
/* Four rows of the file's layout, copied out to [block][row][32] + 128 (the entry point). */
static void rows4_tok8(float *out, int32_t ldo, const uint8_t *wu, const float *dw, int32_t nb, const int8_t *xt,
                       const int32_t *xc, const float *dx, int nr, int nt) {
    rows4_tok8_at(out, ldo, wu, dw, nb, xt, xc, dx, nr, nt, 128, 4, 32);
}
/* Read in place from a KERN_LAYOUT_Q8_0_X4 group (kernels.h): block b's quad q of row r is at
 * 8 + b * 136 + 16 q + 4 r. */
static void rows4_tok8_x4(float *out, int32_t ldo, const uint8_t *group, const float *dw, int32_t nb,
                          const int8_t *xt, const int32_t *xc, const float *dx, int nt) {
    rows4_tok8_at(out, ldo, group + 8, dw, nb, xt, xc, dx, 4, nt, KERN_Q8_0_X4_BLOCK, 16, 4);
}

/* ---------------------------------------------------------------- decode (one token) */

/* One block of one row against the token: the exact dot of the quants, over its lanes.
 * x0/x1: the token's 32 quants; c: its correction -128 * sum in lane 0; bias: 0x80 bytes. */
static inline v128_t block_dot(const block_q8_0 *w, v128_t x0, v128_t x1, v128_t c, v128_t bias) {
    v128_t s = __builtin_wasm_relaxed_dot_i8x16_i7x16_add_s_i32x4(x0, wasm_v128_xor(wasm_v128_load(w->qs), bias), c);
    return __builtin_wasm_relaxed_dot_i8x16_i7x16_add_s_i32x4(x1, wasm_v128_xor(wasm_v128_load(w->qs + 16), bias), s);
}

/* Four rows w0, w0 + ws, w0 + 2 ws, w0 + 3 ws (ws in blocks) x the token into out[0],
 * out[os], out[2 os], out[3 os], in kernels_simd128.c's float order. plain: the scales are
 * all +0 or positive normal halves (KERN_Q8_0_PLAIN_SCALES): shifting the half right by 3
 * in its u32 lane reads as its value times 2^-112, and dx holds the token's scales times
 * 2^112, so the product has the reference's value and rounding. Otherwise k converts them
 * (f16hi_to_f32_finite, kernels_q8_simd.h) and dx holds the token's scales. */
static inline __attribute__((always_inline)) void rows4_tok1(float *out, int32_t os, const block_q8_0 *w0,
                                                             int32_t ws, int32_t nb, const block_q8_0 *x,
                                                             const int32_t *xc, const float *dx, v128_t bias,
                                                             const int plain, const f16_consts *k) {
    const block_q8_0 *w1 = w0 + ws, *w2 = w1 + ws, *w3 = w2 + ws;
    v128_t acc = wasm_f32x4_splat(0.0f);
    int32_t b;
    for (b = 0; b < nb; b++) {
        const v128_t x0 = wasm_v128_load(x[b].qs), x1 = wasm_v128_load(x[b].qs + 16);
        const v128_t c = wasm_v128_load32_zero(xc + b);
        const v128_t s = hsum4_i32(block_dot(w0 + b, x0, x1, c, bias), block_dot(w1 + b, x0, x1, c, bias),
                               block_dot(w2 + b, x0, x1, c, bias), block_dot(w3 + b, x0, x1, c, bias));
        const v128_t g = scale_bits4(w0 + b, w1 + b, w2 + b, w3 + b);
        const v128_t d = wasm_f32x4_mul(plain ? wasm_u32x4_shr(g, 3) : f16hi_to_f32_finite(g, k),
                                        wasm_v128_load32_splat(dx + b));
        acc = wasm_f32x4_add(acc, wasm_f32x4_mul(wasm_f32x4_convert_i32x4(s), d));
    }
    out[0] = wasm_f32x4_extract_lane(acc, 0);
    out[os] = wasm_f32x4_extract_lane(acc, 1);
    out[2 * os] = wasm_f32x4_extract_lane(acc, 2);
    out[3 * os] = wasm_f32x4_extract_lane(acc, 3);
}

/* One row (the last n_rows % 8), the scalar reference's order; dx_unit undoes matvec's 2^112. */
static float row1_tok1(const block_q8_0 *w, int32_t nb, const block_q8_0 *x, const int32_t *xc, const float *dx,
                       float dx_unit, v128_t bias) {
    float sumf = 0.0f;
    int32_t b;
    for (b = 0; b < nb; b++) {
        const v128_t s = block_dot(w + b, wasm_v128_load(x[b].qs), wasm_v128_load(x[b].qs + 16),
                                   wasm_v128_load32_zero(xc + b), bias);
        const int32_t isum = wasm_i32x4_extract_lane(s, 0) + wasm_i32x4_extract_lane(s, 1) +
                             wasm_i32x4_extract_lane(s, 2) + wasm_i32x4_extract_lane(s, 3);
        sumf += (float)isum * (f16_bits_to_f32(w[b].d) * (dx[b] * dx_unit));
    }
    return sumf;
}

/* A decode token's per-block corrections and scales (times unit) for the streams below. */
static void decode_token(const block_q8_0 *x, int32_t nb, int32_t *xc, float *dx, float unit) {
    int32_t b;
    for (b = 0; b < nb; b++) {
        xc[b] = correction(x + b);
        dx[b] = f16_bits_to_f32(x[b].d) * unit;
    }
}

/* Decode, token by token: kernels_simd128.c's 8 streams (the rows cut into 8 stretches,
 * each step the next row of four of them), so that the hardware prefetchers follow. reuse:
 * KERN_RELAXED_REUSE, the steps go in chunks (kernels_q8_simd.h). */
static void matvec(float *out, const block_q8_0 *w, int32_t nb, int32_t n_rows, const block_q8_0 *x, int32_t *xc,
                   float *dx, int plain, int reuse) {
    const v128_t bias = opaque_splat((int32_t)0x80808080); /* a value, not a constant (kernels_q8_simd.h) */
    const float unit = plain ? 0x1p112f : 1.0f;
    const int32_t q = n_rows / 8, chunk = reuse ? (int32_t)reuse_chunk_steps(nb, 8) : q;
    f16_consts k;
    int32_t i, i0, i1, g, r;
    decode_token(x, nb, xc, dx, unit);
    if (!plain) k = f16_consts_make();
    for (i0 = 0; i0 < q; i0 = i1) {
        i1 = q - i0 < chunk ? q : i0 + chunk;
        if (plain)
            for (i = i0; i < i1; i++)
                for (g = 0; g < 8; g += 4)
                    rows4_tok1(out + g * q + i, q, w + (g * q + i) * nb, q * nb, nb, x, xc, dx, bias, 1, NULL);
        else
            for (i = i0; i < i1; i++)
                for (g = 0; g < 8; g += 4)
                    rows4_tok1(out + g * q + i, q, w + (g * q + i) * nb, q * nb, nb, x, xc, dx, bias, 0, &k);
        if (reuse) touch_after_chunk(w, q, nb, 8, i0, i1, chunk);
    }
    for (r = 8 * q; r < n_rows; r++) out[r] = row1_tok1(w + r * nb, nb, x, xc, dx, 1.0f / unit, bias);
}

/* ---------------------------------------------------------------- decode, x4 layout */

/* Four groups of four rows (KERN_LAYOUT_Q8_0_X4), at w, w + ws, w + 2 ws, w + 3 ws (ws in
 * bytes), x the token into o[0..3], o[os..], o[2 os..], o[3 os..]. One 16-byte load holds
 * quad j of a group's four rows, already + 128: one relaxed dot against the token's quad,
 * broadcast by its load, adds each row's partial sum to its own lane, so a block of four
 * rows is 8 dots with no bias, no horizontal sums and no scale gathers (the four scales are
 * one load). The four groups share the token's loads, and are four streams read side by
 * side (as matvec's rows4_tok1: two were slower from memory).
 * Accumulators start at the block's correction; floats in the reference's order. */
static inline __attribute__((always_inline)) void groups4_tok1(float *o, int32_t os, const uint8_t *w, int32_t ws,
                                                               int32_t nb, const block_q8_0 *x, const int32_t *xc,
                                                               const float *dx, const int plain, const f16_consts *k) {
    v128_t f0 = wasm_f32x4_splat(0.0f), f1 = f0, f2 = f0, f3 = f0;
    int32_t b;
    for (b = 0; b < nb; b++, w += KERN_Q8_0_X4_BLOCK) {
        const int8_t *xq = x[b].qs;
        /* two chains of four dots per group (even and odd quads): exact i32 sums, half the latency */
        v128_t i0 = wasm_v128_load32_splat(xc + b), i1 = i0, i2 = i0, i3 = i0, xs, g0, g1, g2, g3, dxs;
        v128_t h0 = wasm_i32x4_splat(0), h1 = h0, h2 = h0, h3 = h0;
        int j;
#pragma clang loop unroll(full)
        for (j = 0; j < 8; j += 2) {
            xs = wasm_v128_load32_splat(xq + 4 * j);
            i0 = __builtin_wasm_relaxed_dot_i8x16_i7x16_add_s_i32x4(xs, wasm_v128_load(w + 8 + 16 * j), i0);
            i1 = __builtin_wasm_relaxed_dot_i8x16_i7x16_add_s_i32x4(xs, wasm_v128_load(w + ws + 8 + 16 * j), i1);
            i2 = __builtin_wasm_relaxed_dot_i8x16_i7x16_add_s_i32x4(xs, wasm_v128_load(w + 2 * ws + 8 + 16 * j), i2);
            i3 = __builtin_wasm_relaxed_dot_i8x16_i7x16_add_s_i32x4(xs, wasm_v128_load(w + 3 * ws + 8 + 16 * j), i3);
            xs = wasm_v128_load32_splat(xq + 4 * j + 4);
            h0 = __builtin_wasm_relaxed_dot_i8x16_i7x16_add_s_i32x4(xs, wasm_v128_load(w + 24 + 16 * j), h0);
            h1 = __builtin_wasm_relaxed_dot_i8x16_i7x16_add_s_i32x4(xs, wasm_v128_load(w + ws + 24 + 16 * j), h1);
            h2 = __builtin_wasm_relaxed_dot_i8x16_i7x16_add_s_i32x4(xs, wasm_v128_load(w + 2 * ws + 24 + 16 * j), h2);
            h3 = __builtin_wasm_relaxed_dot_i8x16_i7x16_add_s_i32x4(xs, wasm_v128_load(w + 3 * ws + 24 + 16 * j), h3);
        }
        i0 = wasm_i32x4_add(i0, h0), i1 = wasm_i32x4_add(i1, h1), i2 = wasm_i32x4_add(i2, h2), i3 = wasm_i32x4_add(i3, h3);
        /* the four scales, zero-extended to u32 lanes; plain: shifted to f32 bits times 2^-112 */
        g0 = wasm_u32x4_load16x4(w);
        g1 = wasm_u32x4_load16x4(w + ws);
        g2 = wasm_u32x4_load16x4(w + 2 * ws);
        g3 = wasm_u32x4_load16x4(w + 3 * ws);
        if (plain) {
            g0 = wasm_i32x4_shl(g0, 13), g1 = wasm_i32x4_shl(g1, 13), g2 = wasm_i32x4_shl(g2, 13), g3 = wasm_i32x4_shl(g3, 13);
        } else {
            g0 = f16hi_to_f32_finite(wasm_i32x4_shl(g0, 16), k), g1 = f16hi_to_f32_finite(wasm_i32x4_shl(g1, 16), k);
            g2 = f16hi_to_f32_finite(wasm_i32x4_shl(g2, 16), k), g3 = f16hi_to_f32_finite(wasm_i32x4_shl(g3, 16), k);
        }
        dxs = wasm_v128_load32_splat(dx + b);
        f0 = wasm_f32x4_add(f0, wasm_f32x4_mul(wasm_f32x4_convert_i32x4(i0), wasm_f32x4_mul(g0, dxs)));
        f1 = wasm_f32x4_add(f1, wasm_f32x4_mul(wasm_f32x4_convert_i32x4(i1), wasm_f32x4_mul(g1, dxs)));
        f2 = wasm_f32x4_add(f2, wasm_f32x4_mul(wasm_f32x4_convert_i32x4(i2), wasm_f32x4_mul(g2, dxs)));
        f3 = wasm_f32x4_add(f3, wasm_f32x4_mul(wasm_f32x4_convert_i32x4(i3), wasm_f32x4_mul(g3, dxs)));
    }
    wasm_v128_store(o, f0);
    wasm_v128_store(o + os, f1);
    wasm_v128_store(o + 2 * os, f2);
    wasm_v128_store(o + 3 * os, f3);
}

/* Decode on x4 weights: matvec's 8 streams, each a stretch of groups, four a call. */
static void matvec_x4(float *out, const uint8_t *w, int32_t nb, int32_t n_rows, const block_q8_0 *x, int32_t *xc,
                      float *dx, int plain, int reuse) {
    const int32_t n_groups = n_rows / 4, q = n_groups / 8, gbytes = nb * KERN_Q8_0_X4_BLOCK;
    const int32_t chunk = reuse ? (int32_t)reuse_chunk_steps(4 * nb, 8) : q;
    const float unit = plain ? 0x1p112f : 1.0f;
    f16_consts k;
    int32_t i, i0, i1, s, g;
    decode_token(x, nb, xc, dx, unit);
    if (!plain) k = f16_consts_make();
    for (i0 = 0; i0 < q; i0 = i1) {
        i1 = q - i0 < chunk ? q : i0 + chunk;
        if (plain)
            for (i = i0; i < i1; i++)
                for (s = 0; s < 8; s += 4)
                    groups4_tok1(out + 4 * (s * q + i), 4 * q, w + (s * q + i) * gbytes, q * gbytes, nb, x, xc, dx, 1,
                                 NULL);
        else
            for (i = i0; i < i1; i++)
                for (s = 0; s < 8; s += 4)
                    groups4_tok1(out + 4 * (s * q + i), 4 * q, w + (s * q + i) * gbytes, q * gbytes, nb, x, xc, dx, 0,
                                 &k);
        /* a group is 4 * nb blocks' bytes, so the touches see each as one "row" */
        if (reuse) touch_after_chunk((const block_q8_0 *)(const void *)w, q, 4 * nb, 8, i0, i1, chunk);
    }
    for (g = 8 * q; g < n_groups; g++) /* the last n_groups % 8, each as four of itself */
        if (plain) groups4_tok1(out + 4 * g, 0, w + g * gbytes, 0, nb, x, xc, dx, 1, NULL);
        else groups4_tok1(out + 4 * g, 0, w + g * gbytes, 0, nb, x, xc, dx, 0, &k);
}

/* ---------------------------------------------------------------- entry point */

/* out[t * ldo + r] = row r of w (n_rows x n_in, Q8_0) . token t of xq (n_tok x n_in, Q8_0),
 * for n_tok >= 1. Four tokens or more go through the prefill tile (a last partial octet is
 * padded with zeros); fewer, one at a time through the decode streams (flags: whether w
 * has KERN_RELAXED_PLAIN_SCALES; KERN_RELAXED_REUSE).
 * xbuf/wbuf: the caller's scratch for the tokens' and four rows' layouts. Returns 0
 * (nothing written) if it does not take the call; 1 when done. */
EXPORT("mllm_relaxed_q8_0")
int32_t mllm_relaxed_q8_0(float *out, int32_t ldo, const block_q8_0 *w, int32_t n_in, int32_t n_rows,
                          const block_q8_0 *xq, int32_t n_tok, void *xbuf, int32_t xbytes, void *wbuf, int32_t wbytes,
                          int32_t flags) {
    const int32_t nb = n_in / MLLM_QK8_0, per_octet = nb * (256 + 32 + 32);
    int32_t octets = per_octet ? xbytes / per_octet : 0, g0;
    uint8_t *wu = (uint8_t *)wbuf;
    float *dw = (float *)(wu + nb * 128);
    const int x4 = (flags & KERN_RELAXED_X4) != 0;
    if (n_in % MLLM_QK8_0 || nb < 1 || ((uintptr_t)xbuf & 15) || ((uintptr_t)wbuf & 15) || (x4 && n_rows % 4)) return 0;
    if (n_tok < 4) {
        int32_t t;
        if (xbytes < nb * 8) return 0;
        for (t = 0; t < n_tok; t++) {
            float *o = out + (int64_t)t * ldo;
            const block_q8_0 *x = xq + (int64_t)t * nb;
            const int plain = (flags & KERN_RELAXED_PLAIN_SCALES) != 0, reuse = (flags & KERN_RELAXED_REUSE) != 0;
            if (x4) matvec_x4(o, (const uint8_t *)w, nb, n_rows, x, (int32_t *)xbuf, (float *)xbuf + nb, plain, reuse);
            else matvec(o, w, nb, n_rows, x, (int32_t *)xbuf, (float *)xbuf + nb, plain, reuse);
        }
        return 1;
    }
    if (octets < 1 || wbytes < nb * (128 + 16)) return 0;
    if (octets > (n_tok + 7) / 8) octets = (n_tok + 7) / 8;
    for (g0 = 0; g0 < n_tok; g0 += 8 * octets) {
        const int32_t ng = n_tok - g0 < 8 * octets ? n_tok - g0 : 8 * octets, no = (ng + 7) / 8;
        int8_t *xt = (int8_t *)xbuf;                      /* [octet][block][quad][token][4] */
        int32_t *xc = (int32_t *)(xt + no * nb * 256);    /* [octet][block][token] */
        float *dx = (float *)(xc + no * nb * 8);          /* [octet][block][token] */
        int32_t o, b, t, r;
        const f16_consts k4 = f16_consts_make();
        for (o = 0; o < no; o++)
            for (t = 0; t < 8; t++) {
                const int32_t tok = 8 * o + t;
                const block_q8_0 *xb = xq + (int64_t)(g0 + tok) * nb;
                for (b = 0; b < nb; b++) {
                    int8_t *dst = xt + ((int64_t)o * nb + b) * 256 + 4 * t;
                    int32_t *c = xc + ((int64_t)o * nb + b) * 8 + t;
                    float *d = dx + ((int64_t)o * nb + b) * 8 + t;
                    int q;
                    if (tok >= ng) { /* padding: zero quants, zero scale */
                        for (q = 0; q < 8; q++) __builtin_memset(dst + 32 * q, 0, 4);
                        *c = 0;
                        *d = 0.0f;
                        continue;
                    }
                    for (q = 0; q < 8; q++) __builtin_memcpy(dst + 32 * q, xb[b].qs + 4 * q, 4);
                    *c = correction(xb + b);
                    *d = f16_bits_to_f32(xb[b].d);
                }
            }
        if (x4)
            for (r = 0; r < n_rows; r += 4) {
                const uint8_t *group = (const uint8_t *)w + (int64_t)(r / 4) * nb * KERN_Q8_0_X4_BLOCK;
                for (b = 0; b < nb; b++) /* the four scales of a block are one load */
                    wasm_v128_store(dw + 4 * b, f16hi_to_f32_finite(wasm_i32x4_shl(wasm_u32x4_load16x4(group + b * KERN_Q8_0_X4_BLOCK), 16), &k4));
                for (o = 0; o < no; o++)
                    rows4_tok8_x4(out + (int64_t)(g0 + 8 * o) * ldo + r, ldo, group, dw, nb, xt + (int64_t)o * nb * 256,
                                  xc + (int64_t)o * nb * 8, dx + (int64_t)o * nb * 8, ng - 8 * o < 8 ? ng - 8 * o : 8);
            }
        else
        for (r = 0; r < n_rows; r += 4) {
            const int nr = n_rows - r < 4 ? n_rows - r : 4;
            int k;
            for (k = 0; k < 4; k++) { /* a short last set repeats its last row */
                const block_q8_0 *row = w + (int64_t)(r + (k < nr ? k : nr - 1)) * nb;
                const v128_t bias = wasm_i8x16_splat((int8_t)0x80);
                for (b = 0; b < nb; b++) {
                    wasm_v128_store(wu + b * 128 + 32 * k, wasm_v128_xor(wasm_v128_load(row[b].qs), bias));
                    wasm_v128_store(wu + b * 128 + 32 * k + 16, wasm_v128_xor(wasm_v128_load(row[b].qs + 16), bias));
                    dw[4 * b + k] = f16_bits_to_f32(row[b].d);
                }
            }
            for (o = 0; o < no; o++)
                rows4_tok8(out + (int64_t)(g0 + 8 * o) * ldo + r, ldo, wu, dw, nb, xt + (int64_t)o * nb * 256,
                           xc + (int64_t)o * nb * 8, dx + (int64_t)o * nb * 8, nr, ng - 8 * o < 8 ? ng - 8 * o : 8);
        }
    }
    return 1;
}
#else
typedef int kernels_relaxed_unused; /* ISO C wants a declaration in every translation unit */
#endif
