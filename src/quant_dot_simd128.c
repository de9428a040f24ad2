/* quant_dot_simd128.c — WebAssembly SIMD128 versions of quant_dot.c's dot products, compiled
 * in only under -msimd128, bit-identical to them (tests/c/test_quant_simd.c).
 *
 * The integer parts are exact, so they are summed in whatever grouping SIMD likes; every
 * float operation is the scalar reference's, in its order:
 *  - 32-blocks (Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL) and IQ4_XS's 32-sub-blocks: the block's int32
 *    dot by i32x4.dot_i16x8, summed across lanes, then the scalar's float step per block.
 *  - Q3_K..Q6_K: ggml's eight lanes (element % 8) are two i32x4 accumulators: each 16
 *    elements' int16 products are added lane-wise and multiplied by the group scale
 *    (extmul), and `sums[l] += d * aux32[l]` is two f32x4 multiply-adds.
 *  - Q2_K: its integer sums (one total per super-block) by dot_i16x8.
 * IQ4's non-linear levels are one i8x16.swizzle of the 16-entry table.
 * The four- and eight-row versions below (one token against several rows) lay each block's
 * activations out once for all the rows; the K types' dotn (eight rows against up to 16 tokens,
 * prefill) also unpacks each weight super-block once for all the tokens. The matmuls of
 * kernels_quant.c use them.
 */
#include "quant_dot.h"

#ifdef __wasm_simd128__

#include <stddef.h>
#include <string.h>
#include <wasm_simd128.h>

#include "codec.h"
#include "quant_k_simd.h"
#include "quant_ref.h"
#include "q8_quantize_simd.h"

#define H2F(h) fp16_to_f32(h)

static const int8_t iq4nl_values[16] = QUANT_IQ4NL_VALUES;

static int32_t hsum_i32(v128_t v) {
    return wasm_i32x4_extract_lane(v, 0) + wasm_i32x4_extract_lane(v, 1) + wasm_i32x4_extract_lane(v, 2) +
           wasm_i32x4_extract_lane(v, 3);
}

/* Q8_1 activations: q8_quantize_simd.h's block, then s = fp16(sum * d) as q8_1_quantize's. */
void q8_1_quantize_simd128(const float *x, void *vy, int64_t n) {
    block_q8_1 *y = (block_q8_1 *)vy;
    const int64_t nb = n / QK8_1;
    int64_t i;
    for (i = 0; i < nb; i++) {
        float d;
        int32_t sum;
        if (q8_block_simd128(x + i * QK8_1, &d, y[i].qs, 1, &sum)) {
            y[i].d = f32_to_fp16(d);
            y[i].s = f32_to_fp16((float)sum * d);
        } else
            q8_1_quantize(x + i * QK8_1, y + i, QK8_1);
    }
}

/* exact int32 dot of 16 int8 weights with 16 int8 activations, as four lane sums */
static v128_t dot16(v128_t w, v128_t a) {
    return wasm_i32x4_add(wasm_i32x4_dot_i16x8(wasm_i16x8_extend_low_i8x16(w), wasm_i16x8_extend_low_i8x16(a)),
                          wasm_i32x4_dot_i16x8(wasm_i16x8_extend_high_i8x16(w), wasm_i16x8_extend_high_i8x16(a)));
}

/* byte lane j (0..15) = 0x10 where bit (base + j) of qh is set, else 0 */
static v128_t fifth_bits(uint32_t qh, int base) {
    const v128_t sel = wasm_i8x16_make(1, 2, 4, 8, 16, 32, 64, (int8_t)128, 1, 2, 4, 8, 16, 32, 64, (int8_t)128);
    const v128_t h = wasm_i16x8_splat((int16_t)(qh >> base)); /* bytes h0 h1 h0 h1 ... */
    const v128_t b = wasm_i8x16_shuffle(h, h, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
    return wasm_v128_and(wasm_i8x16_ne(wasm_v128_and(b, sel), wasm_i8x16_splat(0)), wasm_i8x16_splat(0x10));
}

/* The block's 32 weights (4 or 5 bits, before any offset) as two 16-lane int8 vectors. */
static void nibbles(const uint8_t *qs, v128_t *lo, v128_t *hi) {
    v128_t q = wasm_v128_load(qs);
    *lo = wasm_v128_and(q, wasm_i8x16_splat(0x0F));
    *hi = wasm_u8x16_shr(q, 4);
}

float q4_0_dot_q8_0_simd128(int64_t n, const void *w, const void *a) {
    const block_q4_0 *x = w;
    const block_q8_0 *y = a;
    const int64_t nb = n / QK4_0;
    float sumf = 0;
    int64_t ib;
    for (ib = 0; ib < nb; ++ib) {
        v128_t lo, hi;
        int sumi;
        nibbles(x[ib].qs, &lo, &hi);
        lo = wasm_i8x16_sub(lo, wasm_i8x16_splat(8));
        hi = wasm_i8x16_sub(hi, wasm_i8x16_splat(8));
        sumi = hsum_i32(wasm_i32x4_add(dot16(lo, wasm_v128_load(y[ib].qs)), dot16(hi, wasm_v128_load(y[ib].qs + 16))));
        sumf += sumi * H2F(x[ib].d) * H2F(y[ib].d);
    }
    return sumf;
}

float q4_1_dot_q8_1_simd128(int64_t n, const void *w, const void *a) {
    const block_q4_1 *x = w;
    const block_q8_1 *y = a;
    const int64_t nb = n / QK4_1;
    float sumf = 0;
    int64_t ib;
    for (ib = 0; ib < nb; ++ib) {
        v128_t lo, hi;
        int sumi;
        nibbles(x[ib].qs, &lo, &hi);
        sumi = hsum_i32(wasm_i32x4_add(dot16(lo, wasm_v128_load(y[ib].qs)), dot16(hi, wasm_v128_load(y[ib].qs + 16))));
        sumf += (H2F(x[ib].d) * H2F(y[ib].d)) * sumi + H2F(x[ib].m) * H2F(y[ib].s);
    }
    return sumf;
}

float q5_0_dot_q8_0_simd128(int64_t n, const void *w, const void *a) {
    const block_q5_0 *x = w;
    const block_q8_0 *y = a;
    const int64_t nb = n / QK5_0;
    float sumf = 0;
    int64_t ib;
    for (ib = 0; ib < nb; ++ib) {
        v128_t lo, hi;
        uint32_t qh;
        int sumi;
        memcpy(&qh, x[ib].qh, sizeof qh);
        nibbles(x[ib].qs, &lo, &hi);
        lo = wasm_i8x16_sub(wasm_v128_or(lo, fifth_bits(qh, 0)), wasm_i8x16_splat(16));
        hi = wasm_i8x16_sub(wasm_v128_or(hi, fifth_bits(qh, 16)), wasm_i8x16_splat(16));
        sumi = hsum_i32(wasm_i32x4_add(dot16(lo, wasm_v128_load(y[ib].qs)), dot16(hi, wasm_v128_load(y[ib].qs + 16))));
        sumf += (H2F(x[ib].d) * H2F(y[ib].d)) * sumi;
    }
    return sumf;
}

float q5_1_dot_q8_1_simd128(int64_t n, const void *w, const void *a) {
    const block_q5_1 *x = w;
    const block_q8_1 *y = a;
    const int64_t nb = n / QK5_1;
    float sumf = 0;
    int64_t ib;
    for (ib = 0; ib < nb; ++ib) {
        v128_t lo, hi;
        uint32_t qh;
        int sumi;
        memcpy(&qh, x[ib].qh, sizeof qh);
        nibbles(x[ib].qs, &lo, &hi);
        lo = wasm_v128_or(lo, fifth_bits(qh, 0));
        hi = wasm_v128_or(hi, fifth_bits(qh, 16));
        sumi = hsum_i32(wasm_i32x4_add(dot16(lo, wasm_v128_load(y[ib].qs)), dot16(hi, wasm_v128_load(y[ib].qs + 16))));
        sumf += (H2F(x[ib].d) * H2F(y[ib].d)) * sumi + H2F(x[ib].m) * H2F(y[ib].s);
    }
    return sumf;
}

float iq4_nl_dot_q8_0_simd128(int64_t n, const void *w, const void *a) {
    const block_iq4_nl *x = w;
    const block_q8_0 *y = a;
    const int64_t nb = n / QK4_NL;
    const v128_t table = wasm_v128_load(iq4nl_values);
    float sumf = 0;
    int64_t ib;
    for (ib = 0; ib < nb; ++ib) {
        const float d = H2F(y[ib].d) * H2F(x[ib].d);
        v128_t lo, hi;
        int sumi;
        nibbles(x[ib].qs, &lo, &hi);
        lo = wasm_i8x16_swizzle(table, lo);
        hi = wasm_i8x16_swizzle(table, hi);
        sumi = hsum_i32(wasm_i32x4_add(dot16(lo, wasm_v128_load(y[ib].qs)), dot16(hi, wasm_v128_load(y[ib].qs + 16))));
        sumf += d * sumi;
    }
    return sumf;
}

float iq4_xs_dot_q8_k_simd128(int64_t n, const void *w, const void *act) {
    const block_iq4_xs *x = w;
    const block_q8_K *y = act;
    const int64_t nb = n / QK_K;
    const v128_t table = wasm_v128_load(iq4nl_values);
    float sumf = 0;
    int64_t ibl;
    int ib;
    for (ibl = 0; ibl < nb; ++ibl) {
        const float d4d8 = H2F(x[ibl].d) * y[ibl].d;
        uint16_t h = x[ibl].scales_h;
        const uint8_t *qs = x[ibl].qs;
        const int8_t *q8 = y[ibl].qs;
        for (ib = 0; ib < QK_K / 32; ib += 2) {
            const uint8_t ls1 = (uint8_t)((x[ibl].scales_l[ib / 2] & 0xf) | ((h << 4) & 0x30));
            const uint8_t ls2 = (uint8_t)((x[ibl].scales_l[ib / 2] >> 4) | ((h << 2) & 0x30));
            const float d1 = d4d8 * (ls1 - 32);
            const float d2 = d4d8 * (ls2 - 32);
            v128_t lo, hi;
            h = (uint16_t)(h >> 4);
            nibbles(qs, &lo, &hi);
            sumf += d1 * hsum_i32(wasm_i32x4_add(dot16(wasm_i8x16_swizzle(table, lo), wasm_v128_load(q8)),
                                                 dot16(wasm_i8x16_swizzle(table, hi), wasm_v128_load(q8 + 16))));
            nibbles(qs + 16, &lo, &hi);
            sumf += d2 * hsum_i32(wasm_i32x4_add(dot16(wasm_i8x16_swizzle(table, lo), wasm_v128_load(q8 + 32)),
                                                 dot16(wasm_i8x16_swizzle(table, hi), wasm_v128_load(q8 + 48))));
            qs += 32;
            q8 += 64;
        }
    }
    return sumf;
}

float q2_k_dot_q8_k_simd128(int64_t n, const void *w, const void *a) {
    const block_q2_K *x = w;
    const block_q8_K *y = a;
    const int64_t nb = n / QK_K;
    float sumf = 0;
    int64_t i;
    for (i = 0; i < nb; ++i) {
        const uint8_t *q2 = x[i].qs, *sc = x[i].scales;
        const int8_t *q8 = y[i].qs;
        v128_t acc = wasm_i32x4_splat(0);
        int summs = 0, is = 0, j, k, shift;
        float dall, dmin;
        for (j = 0; j < 16; ++j) summs += y[i].bsums[j] * (sc[j] >> 4);
        dall = y[i].d * H2F(x[i].d);
        dmin = y[i].d * H2F(x[i].dmin);
        for (k = 0; k < QK_K / 128; ++k) {
            const v128_t v0 = wasm_v128_load(q2), v1 = wasm_v128_load(q2 + 16);
            for (shift = 0; shift < 8; shift += 2) {
                v128_t a0 = wasm_v128_and(wasm_u8x16_shr(v0, shift), wasm_i8x16_splat(3));
                v128_t a1 = wasm_v128_and(wasm_u8x16_shr(v1, shift), wasm_i8x16_splat(3));
                acc = wasm_i32x4_add(acc, wasm_i32x4_mul(dot16(a0, wasm_v128_load(q8)), wasm_i32x4_splat(sc[is] & 0xF)));
                acc = wasm_i32x4_add(acc, wasm_i32x4_mul(dot16(a1, wasm_v128_load(q8 + 16)), wasm_i32x4_splat(sc[is + 1] & 0xF)));
                is += 2;
                q8 += 32;
            }
            q2 += 32;
        }
        sumf += dall * hsum_i32(acc) - dmin * summs;
    }
    return sumf;
}

/* ggml's eight-lane accumulation (quant_dot.c k_lanes) on 16 int8 levels of one 16-element
 * group with scale sc: acc_lo/acc_hi are the lanes element % 8 = 0..3 and 4..7. */
static void k_group(v128_t levels, const int8_t *q8, int32_t sc, v128_t *acc_lo, v128_t *acc_hi) {
    const v128_t q = wasm_v128_load(q8);
    const v128_t p = wasm_i16x8_add(wasm_i16x8_mul(wasm_i16x8_extend_low_i8x16(levels), wasm_i16x8_extend_low_i8x16(q)),
                                    wasm_i16x8_mul(wasm_i16x8_extend_high_i8x16(levels), wasm_i16x8_extend_high_i8x16(q)));
    const v128_t s = wasm_i16x8_splat((int16_t)sc);
    *acc_lo = wasm_i32x4_add(*acc_lo, wasm_i32x4_extmul_low_i16x8(p, s));
    *acc_hi = wasm_i32x4_add(*acc_hi, wasm_i32x4_extmul_high_i16x8(p, s));
}

float q3_k_dot_q8_k_simd128(int64_t n, const void *w, const void *act) {
    const block_q3_K *x = w;
    const block_q8_K *y = act;
    const int64_t nb = n / QK_K;
    const uint32_t kmask1 = 0x03030303, kmask2 = 0x0f0f0f0f;
    v128_t sums_lo = wasm_f32x4_splat(0), sums_hi = wasm_f32x4_splat(0);
    int64_t i;
    for (i = 0; i < nb; ++i) {
        const uint8_t *q3 = x[i].qs;
        const int8_t *q8 = y[i].qs;
        const v128_t hm0 = wasm_v128_load(x[i].hmask), hm1 = wasm_v128_load(x[i].hmask + 16);
        v128_t acc_lo = wasm_i32x4_splat(0), acc_hi = wasm_i32x4_splat(0);
        uint32_t auxs[4], tmp;
        int8_t scales[16];
        int g = 0, j, shift, bit = 0;
        memcpy(auxs, x[i].scales, 12);
        tmp = auxs[2];
        auxs[2] = ((auxs[0] >> 4) & kmask2) | (((tmp >> 4) & kmask1) << 4);
        auxs[3] = ((auxs[1] >> 4) & kmask2) | (((tmp >> 6) & kmask1) << 4);
        auxs[0] = (auxs[0] & kmask2) | (((tmp >> 0) & kmask1) << 4);
        auxs[1] = (auxs[1] & kmask2) | (((tmp >> 2) & kmask1) << 4);
        memcpy(scales, auxs, 16);
        for (j = 0; j < QK_K; j += 128) {
            const v128_t v0 = wasm_v128_load(q3), v1 = wasm_v128_load(q3 + 16);
            for (shift = 0; shift < 8; shift += 2, bit++) {
                const v128_t m = wasm_i8x16_splat((int8_t)(1 << bit));
                const v128_t four = wasm_i8x16_splat(4);
                /* level = ((q >> shift) & 3) - (hmask bit ? 0 : 4) */
                v128_t a0 = wasm_v128_and(wasm_u8x16_shr(v0, shift), wasm_i8x16_splat(3));
                v128_t a1 = wasm_v128_and(wasm_u8x16_shr(v1, shift), wasm_i8x16_splat(3));
                a0 = wasm_i8x16_sub(a0, wasm_v128_andnot(four, wasm_i8x16_ne(wasm_v128_and(hm0, m), wasm_i8x16_splat(0))));
                a1 = wasm_i8x16_sub(a1, wasm_v128_andnot(four, wasm_i8x16_ne(wasm_v128_and(hm1, m), wasm_i8x16_splat(0))));
                k_group(a0, q8, scales[g] - 32, &acc_lo, &acc_hi);
                k_group(a1, q8 + 16, scales[g + 1] - 32, &acc_lo, &acc_hi);
                g += 2;
                q8 += 32;
            }
            q3 += 32;
        }
        k_float(H2F(x[i].d) * y[i].d, acc_lo, acc_hi, &sums_lo, &sums_hi);
    }
    return k_final(0.0f, sums_lo, sums_hi);
}

/* Q4_K (qh NULL) and Q5_K. */
static float k45_dot(int64_t nb, const uint8_t *dm, size_t stride, const uint8_t *scales, const uint8_t *qs,
                     const uint8_t *qh, const block_q8_K *y) {
    v128_t sums_lo = wasm_f32x4_splat(0), sums_hi = wasm_f32x4_splat(0);
    float sumf = 0;
    int64_t i;
    for (i = 0; i < nb; ++i) {
        const size_t o = (size_t)i * stride;
        const uint8_t *q4 = qs + o;
        const int8_t *q8 = y[i].qs;
        v128_t acc_lo = wasm_i32x4_splat(0), acc_hi = wasm_i32x4_splat(0), h0 = wasm_i8x16_splat(0), h1 = h0;
        uint8_t scales8[8], mins8[8];
        uint16_t dh, dminh;
        int sumi = 0, j, bit = 0;
        quant_k4_unpack(scales + o, scales8, mins8);
        for (j = 0; j < QK_K / 16; ++j) sumi += y[i].bsums[j] * mins8[j / 2];
        if (qh) {
            h0 = wasm_v128_load(qh + o);
            h1 = wasm_v128_load(qh + o + 16);
        }
        for (j = 0; j < QK_K / 64; ++j) {
            const v128_t v0 = wasm_v128_load(q4), v1 = wasm_v128_load(q4 + 16);
            int half;
            for (half = 0; half < 2; half++, bit++) {
                v128_t a0 = half ? wasm_u8x16_shr(v0, 4) : wasm_v128_and(v0, wasm_i8x16_splat(0x0F));
                v128_t a1 = half ? wasm_u8x16_shr(v1, 4) : wasm_v128_and(v1, wasm_i8x16_splat(0x0F));
                if (qh) {
                    const v128_t m = wasm_i8x16_splat((int8_t)(1 << bit)), sixteen = wasm_i8x16_splat(16);
                    a0 = wasm_i8x16_add(a0, wasm_v128_and(sixteen, wasm_i8x16_ne(wasm_v128_and(h0, m), wasm_i8x16_splat(0))));
                    a1 = wasm_i8x16_add(a1, wasm_v128_and(sixteen, wasm_i8x16_ne(wasm_v128_and(h1, m), wasm_i8x16_splat(0))));
                }
                k_group(a0, q8, scales8[bit], &acc_lo, &acc_hi);
                k_group(a1, q8 + 16, scales8[bit], &acc_lo, &acc_hi);
                q8 += 32;
            }
            q4 += 32;
        }
        memcpy(&dh, dm + o, 2);
        memcpy(&dminh, dm + o + 2, 2);
        k_float(H2F(dh) * y[i].d, acc_lo, acc_hi, &sums_lo, &sums_hi);
        sumf -= H2F(dminh) * y[i].d * sumi;
    }
    return k_final(sumf, sums_lo, sums_hi);
}

float q4_k_dot_q8_k_simd128(int64_t n, const void *w, const void *a) {
    const block_q4_K *x = w;
    return k45_dot(n / QK_K, (const uint8_t *)x, sizeof(block_q4_K), x->scales, x->qs, NULL, a);
}

float q5_k_dot_q8_k_simd128(int64_t n, const void *w, const void *a) {
    const block_q5_K *x = w;
    return k45_dot(n / QK_K, (const uint8_t *)x, sizeof(block_q5_K), x->scales, x->qs, x->qh, a);
}

float q6_k_dot_q8_k_simd128(int64_t n, const void *w, const void *act) {
    const block_q6_K *x = w;
    const block_q8_K *y = act;
    const int64_t nb = n / QK_K;
    v128_t sums_lo = wasm_f32x4_splat(0), sums_hi = wasm_f32x4_splat(0);
    int64_t i;
    for (i = 0; i < nb; ++i) {
        const uint8_t *ql = x[i].ql, *qh = x[i].qh;
        const int8_t *q8 = y[i].qs;
        v128_t acc_lo = wasm_i32x4_splat(0), acc_hi = wasm_i32x4_splat(0);
        int j, part, g = 0;
        for (j = 0; j < QK_K; j += 128) {
            /* a[l + 32*part]: part 0: ql[l] & 15, 1: ql[l+32] & 15, 2: ql[l] >> 4, 3: ql[l+32] >> 4;
             * high bits (qh[l] >> 2*part) & 3; minus 32 */
            for (part = 0; part < 4; part++) {
                int h;
                for (h = 0; h < 2; h++) {
                    const v128_t l4 = wasm_v128_load(ql + (part & 1) * 32 + 16 * h);
                    const v128_t lo4 = part < 2 ? wasm_v128_and(l4, wasm_i8x16_splat(0x0F)) : wasm_u8x16_shr(l4, 4);
                    const v128_t hi2 = wasm_v128_and(wasm_u8x16_shr(wasm_v128_load(qh + 16 * h), 2 * part), wasm_i8x16_splat(3));
                    const v128_t lev = wasm_i8x16_sub(wasm_v128_or(lo4, wasm_i8x16_shl(hi2, 4)), wasm_i8x16_splat(32));
                    k_group(lev, q8, x[i].scales[g], &acc_lo, &acc_hi);
                    g++;
                    q8 += 16;
                }
            }
            ql += 64;
            qh += 32;
        }
        k_float(H2F(x[i].d) * y[i].d, acc_lo, acc_hi, &sums_lo, &sums_hi);
    }
    return k_final(0.0f, sums_lo, sums_hi);
}

/* ---------------------------------------------------------------- four rows at once (32-blocks)
 * The same dots for rows w, w + row_bytes, w + 2 row_bytes, w + 3 row_bytes against one token:
 * each block's four int32 sums leave one transpose as one i32x4 (row k in lane k), and the
 * scalar's float step per block runs once for the four rows in f32x4 lanes, each lane doing
 * exactly that row's operations.
 * No widening of weights: the block's activations are split once, for the four rows, into
 * int16 lanes of even and odd elements (x0: 0,2..14; x1: 1,3..15; x2: 16,18..30; x3: 17..31),
 * and 16 bytes of packed nibbles, seen as int16 lanes, give those four orders by a shift and a
 * mask each (Q5: the nibbles and fifth bits as bytes first). Q4_0/Q5_0's offsets (8, 16) leave
 * the loop as offset * (sum of the activations).
 * The rows' fp16 scales convert four at a time (halves_f32x4). */

static v128_t transpose_sum4(v128_t a, v128_t b, v128_t c, v128_t d) {
    const v128_t ab = wasm_i32x4_add(wasm_i32x4_shuffle(a, b, 0, 4, 1, 5), wasm_i32x4_shuffle(a, b, 2, 6, 3, 7));
    const v128_t cd = wasm_i32x4_add(wasm_i32x4_shuffle(c, d, 0, 4, 1, 5), wasm_i32x4_shuffle(c, d, 2, 6, 3, 7));
    return wasm_i32x4_add(wasm_i32x4_shuffle(ab, cd, 0, 1, 4, 5), wasm_i32x4_shuffle(ab, cd, 2, 3, 6, 7));
}

/* Four fp16 halves (the low 16 bits of each i32 lane) to f32, exactly as codec.c's
 * fp16_to_f32 (inf and nan too), without forming a subnormal float (an x86 assist each): a
 * subnormal half is its integer mantissa times 2^-24. */
static v128_t halves_f32x4(v128_t h) {
    const v128_t em = wasm_v128_and(h, wasm_i32x4_splat(0x7fff));
    const v128_t sign = wasm_i32x4_shl(wasm_v128_and(h, wasm_i32x4_splat(0x8000)), 16);
    const v128_t bias = wasm_i32x4_splat(112 << 23);
    v128_t normal = wasm_i32x4_add(wasm_i32x4_shl(em, 13), bias);
    v128_t sub;
    normal = wasm_i32x4_add(normal, wasm_v128_and(wasm_i32x4_gt(em, wasm_i32x4_splat(0x7bff)), bias)); /* inf, nan */
    sub = wasm_f32x4_mul(wasm_f32x4_convert_i32x4(em), wasm_f32x4_splat(0x1p-24f));
    return wasm_v128_or(wasm_v128_bitselect(sub, normal, wasm_i32x4_lt(em, wasm_i32x4_splat(0x400))), sign);
}

/* The four rows' fp16 field at p, p + stride, ... as f32x4. */
static v128_t halves4(const uint8_t *p, size_t stride) {
    uint16_t h0, h1, h2, h3;
    memcpy(&h0, p, 2);
    memcpy(&h1, p + stride, 2);
    memcpy(&h2, p + 2 * stride, 2);
    memcpy(&h3, p + 3 * stride, 2);
    return halves_f32x4(wasm_i32x4_make(h0, h1, h2, h3));
}

enum { L_Q4_0, L_Q4_1, L_Q5_0, L_Q5_1, L_IQ4_NL };

/* int16 lanes of 16 int8 values: even ones (*ev) and odd ones (*od) */
static void split_i8(v128_t v, v128_t *ev, v128_t *od) {
    *ev = wasm_i16x8_shr(wasm_i16x8_shl(v, 8), 8);
    *od = wasm_i16x8_shr(v, 8);
}

/* One row's block: its exact int32 dot with the split activations, as four lane sums (before
 * any offset). */
static inline __attribute__((always_inline)) v128_t row_block(int kind, const uint8_t *blk, const v128_t *x,
                                                               v128_t table) {
    const size_t qs_off = kind == L_Q4_0 || kind == L_IQ4_NL ? 2 : kind == L_Q4_1 ? 4 : kind == L_Q5_0 ? 6 : 8;
    const v128_t q = wasm_v128_load(blk + qs_off);
    v128_t e0, e1, e2, e3;
    if (kind == L_IQ4_NL) {
        split_i8(wasm_i8x16_swizzle(table, wasm_v128_and(q, wasm_i8x16_splat(0x0F))), &e0, &e1);
        split_i8(wasm_i8x16_swizzle(table, wasm_u8x16_shr(q, 4)), &e2, &e3);
    } else if (kind == L_Q5_0 || kind == L_Q5_1) {
        /* levels as bytes in element order (nibble | 0x10 where bit j of qh is set), then split */
        const v128_t sel = wasm_i8x16_make(1, 2, 4, 8, 16, 32, 64, (int8_t)128, 1, 2, 4, 8, 16, 32, 64, (int8_t)128);
        const v128_t m = wasm_i16x8_splat(0x00FF);
        uint32_t qh;
        v128_t h, lo, hi;
        memcpy(&qh, blk + (kind == L_Q5_0 ? 2 : 4), 4);
        h = wasm_i32x4_splat((int32_t)qh);
        lo = wasm_i8x16_shuffle(h, h, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
        hi = wasm_i8x16_shuffle(h, h, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
        lo = wasm_v128_and(wasm_i8x16_eq(wasm_v128_and(lo, sel), sel), wasm_i8x16_splat(0x10));
        hi = wasm_v128_and(wasm_i8x16_eq(wasm_v128_and(hi, sel), sel), wasm_i8x16_splat(0x10));
        lo = wasm_v128_or(lo, wasm_v128_and(q, wasm_i8x16_splat(0x0F)));
        hi = wasm_v128_or(hi, wasm_u8x16_shr(q, 4));
        e0 = wasm_v128_and(lo, m);
        e1 = wasm_u16x8_shr(lo, 8);
        e2 = wasm_v128_and(hi, m);
        e3 = wasm_u16x8_shr(hi, 8);
    } else {
        const v128_t m = wasm_i16x8_splat(0x000F);
        e0 = wasm_v128_and(q, m);
        e1 = wasm_v128_and(wasm_u16x8_shr(q, 8), m);
        e2 = wasm_v128_and(wasm_u16x8_shr(q, 4), m);
        e3 = wasm_u16x8_shr(q, 12);
    }
    return wasm_i32x4_add(wasm_i32x4_add(wasm_i32x4_dot_i16x8(e0, x[0]), wasm_i32x4_dot_i16x8(e1, x[1])),
                          wasm_i32x4_add(wasm_i32x4_dot_i16x8(e2, x[2]), wasm_i32x4_dot_i16x8(e3, x[3])));
}

/* The block's float step for the four rows of one group (sumi: their int32 sums after any
 * offset), in the scalar reference's order, added to *sumf. dy: the activation scale splatted. */
static inline __attribute__((always_inline)) v128_t block_float(int kind, v128_t sumf, v128_t sumi,
                                                                 const uint8_t *wb, size_t row_bytes, v128_t dy,
                                                                 v128_t s) {
    const v128_t f = wasm_f32x4_convert_i32x4(sumi);
    switch (kind) {
    case L_Q4_0: /* sumi * dx * dy */
        return wasm_f32x4_add(sumf, wasm_f32x4_mul(wasm_f32x4_mul(f, halves4(wb, row_bytes)), dy));
    case L_Q5_0: /* (dx * dy) * sumi */
        return wasm_f32x4_add(sumf, wasm_f32x4_mul(wasm_f32x4_mul(halves4(wb, row_bytes), dy), f));
    case L_IQ4_NL: /* (dy * dx) * sumi */
        return wasm_f32x4_add(sumf, wasm_f32x4_mul(wasm_f32x4_mul(dy, halves4(wb, row_bytes)), f));
    default: /* Q4_1, Q5_1: (dx * dy) * sumi + m * s */
        return wasm_f32x4_add(sumf, wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_mul(halves4(wb, row_bytes), dy), f),
                                                   wasm_f32x4_mul(halves4(wb + 2, row_bytes), s)));
    }
}

/* Groups of four rows at w[0..n_groups-1] (n_groups 1 or 2: two far-apart groups read as
 * two streams, sharing each block's activation split and scales), out[4 * g + k]. */
static inline __attribute__((always_inline)) void dotg(int kind, size_t blk_bytes, int64_t n, const uint8_t *const *w,
                                                        int n_groups, size_t row_bytes, const uint8_t *a,
                                                        size_t act_bytes, float *out) {
    const int64_t nb = n / 32;
    const v128_t table = wasm_v128_load(iq4nl_values);
    const size_t act_qs = act_bytes == sizeof(block_q8_1) ? 4 : 2;
    const int offset = kind == L_Q4_0 ? 8 : kind == L_Q5_0 ? 16 : 0;
    v128_t sumf[2];
    int64_t ib;
    int g;
    for (g = 0; g < n_groups; g++) sumf[g] = wasm_f32x4_splat(0.0f);
    for (ib = 0; ib < nb; ++ib) {
        const uint8_t *ab = a + (size_t)ib * act_bytes;
        const size_t wo = (size_t)ib * blk_bytes;
        v128_t x[4], off = wasm_i32x4_splat(0), dy, s = dy = wasm_f32x4_splat(0.0f);
        uint16_t h;
        split_i8(wasm_v128_load(ab + act_qs), &x[0], &x[1]);
        split_i8(wasm_v128_load(ab + act_qs + 16), &x[2], &x[3]);
        if (offset) { /* offset * sum(activations), in every lane */
            const v128_t s16 = wasm_i16x8_add(wasm_i16x8_add(x[0], x[1]), wasm_i16x8_add(x[2], x[3]));
            off = wasm_i32x4_dot_i16x8(s16, wasm_i16x8_splat((int16_t)offset));
            off = wasm_i32x4_add(off, wasm_i32x4_shuffle(off, off, 2, 3, 0, 1));
            off = wasm_i32x4_add(off, wasm_i32x4_shuffle(off, off, 1, 0, 3, 2));
        }
        memcpy(&h, ab, 2);
        dy = halves_f32x4(wasm_i32x4_splat(h));
        if (act_qs == 4) {
            memcpy(&h, ab + 2, 2);
            s = halves_f32x4(wasm_i32x4_splat(h));
        }
        for (g = 0; g < n_groups; g++) {
            const uint8_t *wb = w[g] + wo;
            const v128_t sumi = transpose_sum4(row_block(kind, wb, x, table), row_block(kind, wb + row_bytes, x, table),
                                               row_block(kind, wb + 2 * row_bytes, x, table),
                                               row_block(kind, wb + 3 * row_bytes, x, table));
            sumf[g] = block_float(kind, sumf[g], wasm_i32x4_sub(sumi, off), wb, row_bytes, dy, s);
        }
    }
    for (g = 0; g < n_groups; g++) wasm_v128_store(out + 4 * g, sumf[g]);
}

static inline __attribute__((always_inline)) void dot4(int kind, size_t blk_bytes, int64_t n, const uint8_t *w,
                                                        size_t row_bytes, const uint8_t *a, size_t act_bytes,
                                                        float *out4) {
    dotg(kind, blk_bytes, n, &w, 1, row_bytes, a, act_bytes, out4);
}

static inline __attribute__((always_inline)) void dot8(int kind, size_t blk_bytes, int64_t n,
                                                        const uint8_t *const *w2, size_t row_bytes, const uint8_t *a,
                                                        size_t act_bytes, float *out8) {
    dotg(kind, blk_bytes, n, w2, 2, row_bytes, a, act_bytes, out8);
}

void q4_0_dot4_q8_0_simd128(int64_t n, const void *w, size_t row_bytes, const void *a, float *out4) {
    dot4(L_Q4_0, sizeof(block_q4_0), n, w, row_bytes, a, sizeof(block_q8_0), out4);
}
void q4_1_dot4_q8_1_simd128(int64_t n, const void *w, size_t row_bytes, const void *a, float *out4) {
    dot4(L_Q4_1, sizeof(block_q4_1), n, w, row_bytes, a, sizeof(block_q8_1), out4);
}
void q5_0_dot4_q8_0_simd128(int64_t n, const void *w, size_t row_bytes, const void *a, float *out4) {
    dot4(L_Q5_0, sizeof(block_q5_0), n, w, row_bytes, a, sizeof(block_q8_0), out4);
}
void q5_1_dot4_q8_1_simd128(int64_t n, const void *w, size_t row_bytes, const void *a, float *out4) {
    dot4(L_Q5_1, sizeof(block_q5_1), n, w, row_bytes, a, sizeof(block_q8_1), out4);
}
void iq4_nl_dot4_q8_0_simd128(int64_t n, const void *w, size_t row_bytes, const void *a, float *out4) {
    dot4(L_IQ4_NL, sizeof(block_iq4_nl), n, w, row_bytes, a, sizeof(block_q8_0), out4);
}

void q4_0_dot8_q8_0_simd128(int64_t n, const void *const *w2, size_t row_bytes, const void *a, float *out8) {
    dot8(L_Q4_0, sizeof(block_q4_0), n, (const uint8_t *const *)w2, row_bytes, a, sizeof(block_q8_0), out8);
}
void q4_1_dot8_q8_1_simd128(int64_t n, const void *const *w2, size_t row_bytes, const void *a, float *out8) {
    dot8(L_Q4_1, sizeof(block_q4_1), n, (const uint8_t *const *)w2, row_bytes, a, sizeof(block_q8_1), out8);
}
void q5_0_dot8_q8_0_simd128(int64_t n, const void *const *w2, size_t row_bytes, const void *a, float *out8) {
    dot8(L_Q5_0, sizeof(block_q5_0), n, (const uint8_t *const *)w2, row_bytes, a, sizeof(block_q8_0), out8);
}
void q5_1_dot8_q8_1_simd128(int64_t n, const void *const *w2, size_t row_bytes, const void *a, float *out8) {
    dot8(L_Q5_1, sizeof(block_q5_1), n, (const uint8_t *const *)w2, row_bytes, a, sizeof(block_q8_1), out8);
}
void iq4_nl_dot8_q8_0_simd128(int64_t n, const void *const *w2, size_t row_bytes, const void *a, float *out8) {
    dot8(L_IQ4_NL, sizeof(block_iq4_nl), n, (const uint8_t *const *)w2, row_bytes, a, sizeof(block_q8_0), out8);
}

/* ---------------------------------------------------------------- four rows at once (K types)
 * The K types' dots for groups of four rows against one token, each row's result bit for bit
 * its one-row dot. Each super-block's activations are laid out once for all rows; per row the
 * scales are decoded once per super-block and the weights are not widened beyond int16.
 * Q3_K..Q6_K keep ggml's eight lanes (element % 8): a 16-element group's levels, byte-shuffled
 * to element order 0,8,1,9,..,7,15 and widened, pair in i32x4.dot_i16x8 elements k and k+8
 * (the same lane), times the group scale (int16, exact); so acc_lo holds lanes 0..3, acc_hi
 * 4..7, and the activations are shuffled and widened the same way once (kx below).
 * Q2_K and IQ4_XS sum over whole groups, so their lanes need no order; their float steps
 * (per super-block, per sub-block) run in f32x4 lanes of four rows, as the 32-blocks' do. */

static inline v128_t kshuf(v128_t v) { return wasm_i8x16_shuffle(v, v, 0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15); }

/* The super-block's 256 activations in the order above, int16: kx[2g], kx[2g + 1]: group g's
 * lanes 0..3 and 4..7 pairs. */
static inline void kx_stage(const int8_t *q8, v128_t *kx) {
    int g;
    for (g = 0; g < QK_K / 16; g++) {
        const v128_t w = kshuf(wasm_v128_load(q8 + 16 * g));
        kx[2 * g] = wasm_i16x8_extend_low_i8x16(w);
        kx[2 * g + 1] = wasm_i16x8_extend_high_i8x16(w);
    }
}

/* One group: 16 levels (int8, already in kshuf order) times scale s (int16 splat) with its
 * activations kx[0..1], into lanes 0..3 / 4..7. */
static inline __attribute__((always_inline)) void kgroup(v128_t lev, v128_t s, const v128_t *kx, v128_t *lo,
                                                          v128_t *hi) {
    *lo = wasm_i32x4_add(*lo, wasm_i32x4_dot_i16x8(wasm_i16x8_mul(wasm_i16x8_extend_low_i8x16(lev), s), kx[0]));
    *hi = wasm_i32x4_add(*hi, wasm_i32x4_dot_i16x8(wasm_i16x8_mul(wasm_i16x8_extend_high_i8x16(lev), s), kx[1]));
}

/* The same for levels already int16 (lo: lanes 0..3 pairs, hi: 4..7). */
static inline __attribute__((always_inline)) void kgroup16(v128_t l16, v128_t h16, v128_t s, const v128_t *kx,
                                                            v128_t *lo, v128_t *hi) {
    *lo = wasm_i32x4_add(*lo, wasm_i32x4_dot_i16x8(wasm_i16x8_mul(l16, s), kx[0]));
    *hi = wasm_i32x4_add(*hi, wasm_i32x4_dot_i16x8(wasm_i16x8_mul(h16, s), kx[1]));
}

/* bit b of each byte of h moved to bit `to` (others cleared), bytewise through int16 shifts */
static inline __attribute__((always_inline)) v128_t bit_to(v128_t h, int b, int to) {
    const v128_t m = wasm_i8x16_splat((int8_t)(1 << to));
    if (b == to) return wasm_v128_and(h, m);
    return wasm_v128_and(b < to ? wasm_i16x8_shl(h, to - b) : wasm_u16x8_shr(h, b - to), m);
}

enum { K_Q3, K_Q4, K_Q5, K_Q6 };

/* One row's super-block integer sums in ggml's lanes (*lo: 0..3, *hi: 4..7), and for Q4_K/Q5_K
 * its eight mins (bytes 0..7 of *mins). blk: the row's block. With st (not NULL) it sums
 * nothing: st[2g], st[2g + 1] get group g's levels times its scale, int16 in kx's order. */
static inline __attribute__((always_inline)) void k_row(int kind, const uint8_t *blk, const v128_t *kx,
                                                         v128_t *lo_out, v128_t *hi_out, v128_t *mins, v128_t *st) {
    v128_t lo = wasm_i32x4_splat(0), hi = lo;
#define KG(lev, s, g)                                                                                           \
    do {                                                                                                        \
        if (st) {                                                                                               \
            st[2 * (g)] = wasm_i16x8_mul(wasm_i16x8_extend_low_i8x16(lev), s);                                  \
            st[2 * (g) + 1] = wasm_i16x8_mul(wasm_i16x8_extend_high_i8x16(lev), s);                             \
        } else                                                                                                  \
            kgroup(lev, s, kx + 2 * (g), &lo, &hi);                                                             \
    } while (0)
#define KG16(l16, h16, s, g)                                                                                    \
    do {                                                                                                        \
        if (st) {                                                                                               \
            st[2 * (g)] = wasm_i16x8_mul(l16, s);                                                               \
            st[2 * (g) + 1] = wasm_i16x8_mul(h16, s);                                                           \
        } else                                                                                                  \
            kgroup16(l16, h16, s, kx + 2 * (g), &lo, &hi);                                                      \
    } while (0)
    const v128_t m0f = wasm_i8x16_splat(0x0F);
    if (kind == K_Q4 || kind == K_Q5) {
        const size_t qs_off = kind == K_Q4 ? offsetof(block_q4_K, qs) : offsetof(block_q5_K, qs);
        const uint8_t *q4 = blk + qs_off;
        uint8_t scales8[8], mins8[8];
        v128_t hq[2] = {wasm_i8x16_splat(0), wasm_i8x16_splat(0)};
        int j, h;
        quant_k4_unpack(blk + 4, scales8, mins8);
        *mins = wasm_v128_load64_zero(mins8);
        if (kind == K_Q5) {
            hq[0] = kshuf(wasm_v128_load(blk + offsetof(block_q5_K, qh)));
            hq[1] = kshuf(wasm_v128_load(blk + offsetof(block_q5_K, qh) + 16));
        }
        _Pragma("clang loop unroll(full)") for (j = 0; j < QK_K / 64; j++) {
            const v128_t sa = wasm_i16x8_splat(scales8[2 * j]), sb = wasm_i16x8_splat(scales8[2 * j + 1]);
            _Pragma("clang loop unroll(full)") for (h = 0; h < 2; h++) {
                const v128_t v = kshuf(wasm_v128_load(q4 + 32 * j + 16 * h));
                if (kind == K_Q4) {
                    const v128_t wl = wasm_u16x8_extend_low_u8x16(v), wh = wasm_u16x8_extend_high_u8x16(v);
                    const v128_t m = wasm_i16x8_splat(0x0F);
                    KG16(wasm_v128_and(wl, m), wasm_v128_and(wh, m), sa, 4 * j + h);
                    KG16(wasm_u16x8_shr(wl, 4), wasm_u16x8_shr(wh, 4), sb, 4 * j + 2 + h);
                } else {
                    const v128_t a = wasm_v128_or(wasm_v128_and(v, m0f), bit_to(hq[h], 2 * j, 4));
                    const v128_t b = wasm_v128_or(wasm_v128_and(wasm_u16x8_shr(v, 4), m0f), bit_to(hq[h], 2 * j + 1, 4));
                    KG(a, sa, 4 * j + h);
                    KG(b, sb, 4 * j + 2 + h);
                }
            }
        }
    } else if (kind == K_Q6) {
        const block_q6_K *x = (const block_q6_K *)(const void *)blk;
        const v128_t m30 = wasm_i8x16_splat(0x30), k32 = wasm_i8x16_splat(32);
        const v128_t sc = wasm_v128_load(x->scales);
        const v128_t sc_lo = wasm_i16x8_extend_low_i8x16(sc), sc_hi = wasm_i16x8_extend_high_i8x16(sc);
        int half, h;
        _Pragma("clang loop unroll(full)") for (half = 0; half < 2; half++) {
            const uint8_t *ql = x->ql + 64 * half, *qh = x->qh + 32 * half;
            _Pragma("clang loop unroll(full)") for (h = 0; h < 2; h++) {
                const v128_t l0 = kshuf(wasm_v128_load(ql + 16 * h)), l1 = kshuf(wasm_v128_load(ql + 32 + 16 * h));
                const v128_t hv = kshuf(wasm_v128_load(qh + 16 * h));
                /* parts 0..3: elements 32 * part + 16 * h + l of this half, group 8 * half + 2 * part + h */
                const v128_t a0 = wasm_v128_or(wasm_v128_and(l0, m0f), wasm_v128_and(wasm_i16x8_shl(hv, 4), m30));
                const v128_t a1 = wasm_v128_or(wasm_v128_and(l1, m0f), wasm_v128_and(wasm_i16x8_shl(hv, 2), m30));
                const v128_t a2 = wasm_v128_or(wasm_v128_and(wasm_u16x8_shr(l0, 4), m0f), wasm_v128_and(hv, m30));
                const v128_t a3 =
                    wasm_v128_or(wasm_v128_and(wasm_u16x8_shr(l1, 4), m0f), wasm_v128_and(wasm_u16x8_shr(hv, 2), m30));
                const int g = 8 * half + h;
                const v128_t s_half = half ? sc_hi : sc_lo;
#define Q6_SPLAT(k) wasm_i16x8_shuffle(s_half, s_half, k, k, k, k, k, k, k, k)
                KG(wasm_i8x16_sub(a0, k32), h ? Q6_SPLAT(1) : Q6_SPLAT(0), g);
                KG(wasm_i8x16_sub(a1, k32), h ? Q6_SPLAT(3) : Q6_SPLAT(2), g + 2);
                KG(wasm_i8x16_sub(a2, k32), h ? Q6_SPLAT(5) : Q6_SPLAT(4), g + 4);
                KG(wasm_i8x16_sub(a3, k32), h ? Q6_SPLAT(7) : Q6_SPLAT(6), g + 6);
#undef Q6_SPLAT
            }
        }
    } else { /* K_Q3 */
        const block_q3_K *x = (const block_q3_K *)(const void *)blk;
        const uint32_t kmask1 = 0x03030303, kmask2 = 0x0f0f0f0f;
        const v128_t m3 = wasm_i8x16_splat(3), k4 = wasm_i8x16_splat(4);
        uint32_t auxs[4], tmp;
        int8_t scales[16];
        v128_t hm[2];
        int j, s, h;
        memcpy(auxs, x->scales, 12);
        tmp = auxs[2];
        auxs[2] = ((auxs[0] >> 4) & kmask2) | (((tmp >> 4) & kmask1) << 4);
        auxs[3] = ((auxs[1] >> 4) & kmask2) | (((tmp >> 6) & kmask1) << 4);
        auxs[0] = (auxs[0] & kmask2) | (((tmp >> 0) & kmask1) << 4);
        auxs[1] = (auxs[1] & kmask2) | (((tmp >> 2) & kmask1) << 4);
        memcpy(scales, auxs, 16);
        hm[0] = kshuf(wasm_v128_load(x->hmask));
        hm[1] = kshuf(wasm_v128_load(x->hmask + 16));
        _Pragma("clang loop unroll(full)") for (j = 0; j < 2; j++) {
            _Pragma("clang loop unroll(full)") for (h = 0; h < 2; h++) {
                const v128_t v = kshuf(wasm_v128_load(x->qs + 32 * j + 16 * h));
                _Pragma("clang loop unroll(full)") for (s = 0; s < 4; s++) {
                    /* level = ((q >> 2s) & 3) | (hmask bit << 2), minus 4: element 128 j + 32 s + 16 h + l */
                    const v128_t q = s ? wasm_v128_and(wasm_u16x8_shr(v, 2 * s), m3) : wasm_v128_and(v, m3);
                    const v128_t lev = wasm_i8x16_sub(wasm_v128_or(q, bit_to(hm[h], 4 * j + s, 2)), k4);
                    const int g = 8 * j + 2 * s + h;
                    KG(lev, wasm_i16x8_splat((int16_t)(scales[g] - 32)), g);
                }
            }
        }
    }
#undef KG
#undef KG16
    *lo_out = lo;
    *hi_out = hi;
}

/* Q4_K/Q5_K: the sum of bsums[j] * mins[j / 2] (b0, b1: bsums 0..7, 8..15; mins: bytes 0..7),
 * as four int32 lanes, mins widened to int16 pairs. */
static inline v128_t k_minsum(v128_t b0, v128_t b1, v128_t mins) {
    const v128_t z = wasm_i8x16_splat(0);
    return wasm_i32x4_add(
        wasm_i32x4_dot_i16x8(b0, wasm_i8x16_shuffle(mins, z, 0, 16, 0, 16, 1, 16, 1, 16, 2, 16, 2, 16, 3, 16, 3, 16)),
        wasm_i32x4_dot_i16x8(b1, wasm_i8x16_shuffle(mins, z, 4, 16, 4, 16, 5, 16, 5, 16, 6, 16, 6, 16, 7, 16, 7, 16)));
}

/* Groups of four rows at w[0..n_groups-1] (as dotg), Q3_K..Q6_K. */
static inline __attribute__((always_inline)) void k_dotg(int kind, size_t blk_bytes, int64_t n,
                                                          const uint8_t *const *w, int n_groups, size_t row_bytes,
                                                          const block_q8_K *y, float *out) {
    const int64_t nb = n / QK_K;
    const int nr = 4 * n_groups;
    v128_t sums_lo[8], sums_hi[8], sumf[2];
    v128_t kx[2 * QK_K / 16];
    int64_t i;
    int g, k;
    for (k = 0; k < nr; k++) sums_lo[k] = sums_hi[k] = wasm_f32x4_splat(0.0f);
    for (g = 0; g < n_groups; g++) sumf[g] = wasm_f32x4_splat(0.0f);
    for (i = 0; i < nb; ++i) {
        const v128_t yd = wasm_f32x4_splat(y[i].d);
        const v128_t b0 = wasm_v128_load(y[i].bsums), b1 = wasm_v128_load(y[i].bsums + 8);
        kx_stage(y[i].qs, kx);
        for (g = 0; g < n_groups; g++) {
            const uint8_t *wb = w[g] + (size_t)i * blk_bytes;
            const size_t d_off = kind == K_Q3 ? offsetof(block_q3_K, d) : kind == K_Q6 ? offsetof(block_q6_K, d) : 0;
            float d4[4];
            v128_t md[4];
            wasm_v128_store(d4, wasm_f32x4_mul(halves4(wb + d_off, row_bytes), yd));
            for (k = 0; k < 4; k++) {
                v128_t lo, hi, mins = wasm_i16x8_splat(0);
                v128_t dv;
                const int r = 4 * g + k;
                k_row(kind, wb + (size_t)k * row_bytes, kx, &lo, &hi, &mins, NULL);
                if (kind == K_Q4 || kind == K_Q5) md[k] = k_minsum(b0, b1, mins);
                dv = wasm_f32x4_splat(d4[k]);
                sums_lo[r] = wasm_f32x4_add(sums_lo[r], wasm_f32x4_mul(dv, wasm_f32x4_convert_i32x4(lo)));
                sums_hi[r] = wasm_f32x4_add(sums_hi[r], wasm_f32x4_mul(dv, wasm_f32x4_convert_i32x4(hi)));
            }
            if (kind == K_Q4 || kind == K_Q5) { /* sumf -= (dmin * d8) * sumi */
                const v128_t sumi = transpose_sum4(md[0], md[1], md[2], md[3]);
                sumf[g] = wasm_f32x4_sub(sumf[g], wasm_f32x4_mul(wasm_f32x4_mul(halves4(wb + 2, row_bytes), yd),
                                                                 wasm_f32x4_convert_i32x4(sumi)));
            }
        }
    }
    for (g = 0; g < n_groups; g++) {
        float s4[4];
        wasm_v128_store(s4, sumf[g]);
        for (k = 0; k < 4; k++) out[4 * g + k] = k_final(s4[k], sums_lo[4 * g + k], sums_hi[4 * g + k]);
    }
}

/* ---------------------------------------------------------------- QUANT_DOTN_ROWS rows, several tokens (K types)
 * Prefill: the rows' super-block is unpacked once (levels times group scale, int16, in kx's
 * order) for up to QUANT_DOTN_MAX_TOK tokens, each of which then costs one int16 dot per group.
 * Every float step is k_dotg's for that token, so each output is bit for bit its one-row dot. */
static inline __attribute__((always_inline)) void k_dotn(int kind, size_t blk_bytes, int64_t n, const uint8_t *w,
                                                          size_t row_bytes, const uint8_t *a, size_t a_bytes,
                                                          int n_tok, float *out, int64_t ldo) {
    const int64_t nb = n / QK_K;
    const size_t d_off = kind == K_Q3 ? offsetof(block_q3_K, d) : kind == K_Q6 ? offsetof(block_q6_K, d) : 0;
    v128_t lev[QUANT_DOTN_ROWS][2 * QK_K / 16], mins[QUANT_DOTN_ROWS], kx[2 * QK_K / 16];
    v128_t sums_lo[QUANT_DOTN_MAX_TOK][QUANT_DOTN_ROWS], sums_hi[QUANT_DOTN_MAX_TOK][QUANT_DOTN_ROWS];
    v128_t sumf[QUANT_DOTN_MAX_TOK][QUANT_DOTN_ROWS / 4];
    int64_t i;
    int t, k, g, q;
    for (t = 0; t < n_tok; t++) {
        for (k = 0; k < QUANT_DOTN_ROWS; k++) sums_lo[t][k] = sums_hi[t][k] = wasm_f32x4_splat(0.0f);
        for (k = 0; k < QUANT_DOTN_ROWS / 4; k++) sumf[t][k] = wasm_f32x4_splat(0.0f);
    }
    for (i = 0; i < nb; ++i) {
        const uint8_t *wb = w + (size_t)i * blk_bytes;
        v128_t dw[QUANT_DOTN_ROWS / 4], dminw[QUANT_DOTN_ROWS / 4];
        for (q = 0; q < QUANT_DOTN_ROWS / 4; q++) {
            dw[q] = halves4(wb + 4 * q * row_bytes + d_off, row_bytes);
            dminw[q] = kind == K_Q4 || kind == K_Q5 ? halves4(wb + 4 * q * row_bytes + 2, row_bytes) : wasm_f32x4_splat(0.0f);
        }
        for (k = 0; k < QUANT_DOTN_ROWS; k++) {
            v128_t lo, hi;
            mins[k] = wasm_i16x8_splat(0);
            k_row(kind, wb + (size_t)k * row_bytes, NULL, &lo, &hi, &mins[k], lev[k]);
        }
        for (t = 0; t < n_tok; t++) {
            const block_q8_K *y = (const block_q8_K *)(const void *)(a + (size_t)t * a_bytes) + i;
            const v128_t yd = wasm_f32x4_splat(y->d);
            float d4[QUANT_DOTN_ROWS];
            v128_t md[QUANT_DOTN_ROWS];
            kx_stage(y->qs, kx);
            for (q = 0; q < QUANT_DOTN_ROWS / 4; q++) wasm_v128_store(d4 + 4 * q, wasm_f32x4_mul(dw[q], yd));
            for (q = 0; q < QUANT_DOTN_ROWS / 4; q++) { /* four rows share each kx load */
                v128_t lo[4], hi[4];
                for (k = 0; k < 4; k++) lo[k] = hi[k] = wasm_i32x4_splat(0);
                for (g = 0; g < QK_K / 16; g++) {
                    const v128_t x0 = kx[2 * g], x1 = kx[2 * g + 1];
                    _Pragma("clang loop unroll(full)") for (k = 0; k < 4; k++) {
                        lo[k] = wasm_i32x4_add(lo[k], wasm_i32x4_dot_i16x8(lev[4 * q + k][2 * g], x0));
                        hi[k] = wasm_i32x4_add(hi[k], wasm_i32x4_dot_i16x8(lev[4 * q + k][2 * g + 1], x1));
                    }
                }
                for (k = 0; k < 4; k++) {
                    const int r = 4 * q + k;
                    const v128_t dv = wasm_f32x4_splat(d4[r]);
                    if (kind == K_Q4 || kind == K_Q5)
                        md[r] = k_minsum(wasm_v128_load(y->bsums), wasm_v128_load(y->bsums + 8), mins[r]);
                    sums_lo[t][r] = wasm_f32x4_add(sums_lo[t][r], wasm_f32x4_mul(dv, wasm_f32x4_convert_i32x4(lo[k])));
                    sums_hi[t][r] = wasm_f32x4_add(sums_hi[t][r], wasm_f32x4_mul(dv, wasm_f32x4_convert_i32x4(hi[k])));
                }
            }
            if (kind == K_Q4 || kind == K_Q5) /* sumf -= (dmin * d8) * sumi */
                for (q = 0; q < QUANT_DOTN_ROWS / 4; q++) {
                    const v128_t sumi = transpose_sum4(md[4 * q], md[4 * q + 1], md[4 * q + 2], md[4 * q + 3]);
                    sumf[t][q] = wasm_f32x4_sub(sumf[t][q], wasm_f32x4_mul(wasm_f32x4_mul(dminw[q], yd), wasm_f32x4_convert_i32x4(sumi)));
                }
        }
    }
    for (t = 0; t < n_tok; t++) {
        float s4[QUANT_DOTN_ROWS];
        for (q = 0; q < QUANT_DOTN_ROWS / 4; q++) wasm_v128_store(s4 + 4 * q, sumf[t][q]);
        for (k = 0; k < QUANT_DOTN_ROWS; k++) out[t * ldo + k] = k_final(s4[k], sums_lo[t][k], sums_hi[t][k]);
    }
}

/* Q2_K: one integer total per super-block and row (lanes in any order), then
 * sumf += dall * isum - dmin * summs in f32x4 lanes of four rows. */
static inline __attribute__((always_inline)) void q2k_dotg(int64_t n, const uint8_t *const *w, int n_groups,
                                                            size_t row_bytes, const block_q8_K *y, float *out) {
    const int64_t nb = n / QK_K;
    v128_t sumf[2], kx[2 * QK_K / 16];
    int64_t i;
    int g, k;
    for (g = 0; g < n_groups; g++) sumf[g] = wasm_f32x4_splat(0.0f);
    for (i = 0; i < nb; ++i) {
        const v128_t yd = wasm_f32x4_splat(y[i].d);
        const v128_t b0 = wasm_v128_load(y[i].bsums), b1 = wasm_v128_load(y[i].bsums + 8);
        kx_stage(y[i].qs, kx);
        for (g = 0; g < n_groups; g++) {
            const uint8_t *wb = w[g] + (size_t)i * sizeof(block_q2_K);
            v128_t isum[4], summs[4];
            for (k = 0; k < 4; k++) {
                const block_q2_K *x = (const block_q2_K *)(const void *)(wb + (size_t)k * row_bytes);
                const v128_t sc = wasm_v128_load(x->scales), m3 = wasm_i8x16_splat(3);
                const v128_t sl = wasm_v128_and(sc, wasm_i8x16_splat(0x0F)), mn = wasm_u8x16_shr(sc, 4);
                const v128_t sl_lo = wasm_u16x8_extend_low_u8x16(sl), sl_hi = wasm_u16x8_extend_high_u8x16(sl);
                v128_t lo = wasm_i32x4_splat(0), hi = lo;
                int j, s, h;
                summs[k] = wasm_i32x4_add(wasm_i32x4_dot_i16x8(wasm_u16x8_extend_low_u8x16(mn), b0),
                                          wasm_i32x4_dot_i16x8(wasm_u16x8_extend_high_u8x16(mn), b1));
                _Pragma("clang loop unroll(full)") for (j = 0; j < 2; j++) {
                    const v128_t sh = j ? sl_hi : sl_lo;
                    _Pragma("clang loop unroll(full)") for (h = 0; h < 2; h++) {
                        const v128_t v = kshuf(wasm_v128_load(x->qs + 32 * j + 16 * h));
#define Q2_SPLAT(t) wasm_i16x8_shuffle(sh, sh, t, t, t, t, t, t, t, t)
                        /* element 128 j + 32 s + 16 h + l: (q >> 2s) & 3, group 8 j + 2 s + h */
                        _Pragma("clang loop unroll(full)") for (s = 0; s < 4; s++) {
                            const v128_t q = s ? wasm_v128_and(wasm_u16x8_shr(v, 2 * s), m3) : wasm_v128_and(v, m3);
                            const v128_t sv = s == 0 ? (h ? Q2_SPLAT(1) : Q2_SPLAT(0))
                                              : s == 1 ? (h ? Q2_SPLAT(3) : Q2_SPLAT(2))
                                              : s == 2 ? (h ? Q2_SPLAT(5) : Q2_SPLAT(4))
                                                       : (h ? Q2_SPLAT(7) : Q2_SPLAT(6));
                            kgroup(q, sv, kx + 2 * (8 * j + 2 * s + h), &lo, &hi);
                        }
#undef Q2_SPLAT
                    }
                }
                isum[k] = wasm_i32x4_add(lo, hi);
            }
            {
                const v128_t dall = wasm_f32x4_mul(yd, halves4(wb + offsetof(block_q2_K, d), row_bytes));
                const v128_t dmin = wasm_f32x4_mul(yd, halves4(wb + offsetof(block_q2_K, dmin), row_bytes));
                const v128_t is = wasm_f32x4_convert_i32x4(transpose_sum4(isum[0], isum[1], isum[2], isum[3]));
                const v128_t ms = wasm_f32x4_convert_i32x4(transpose_sum4(summs[0], summs[1], summs[2], summs[3]));
                sumf[g] = wasm_f32x4_add(sumf[g], wasm_f32x4_sub(wasm_f32x4_mul(dall, is), wasm_f32x4_mul(dmin, ms)));
            }
        }
    }
    for (g = 0; g < n_groups; g++) wasm_v128_store(out + 4 * g, sumf[g]);
}

/* IQ4_XS: each 32-sub-block's four row sums (row_block of IQ4_NL: the same nibble layout) and
 * sumf += (d4d8 * (ls - 32)) * sumi in f32x4 lanes of four rows. */
static inline __attribute__((always_inline)) void iq4xs_dotg(int64_t n, const uint8_t *const *w, int n_groups,
                                                              size_t row_bytes, const block_q8_K *y, float *out) {
    const int64_t nb = n / QK_K;
    const v128_t table = wasm_v128_load(iq4nl_values);
    v128_t sumf[2], x[QK_K / 32][4];
    int64_t i;
    int g, k, ib;
    for (g = 0; g < n_groups; g++) sumf[g] = wasm_f32x4_splat(0.0f);
    for (i = 0; i < nb; ++i) {
        const v128_t yd = wasm_f32x4_splat(y[i].d);
        for (ib = 0; ib < QK_K / 32; ib++) {
            split_i8(wasm_v128_load(y[i].qs + 32 * ib), &x[ib][0], &x[ib][1]);
            split_i8(wasm_v128_load(y[i].qs + 32 * ib + 16), &x[ib][2], &x[ib][3]);
        }
        for (g = 0; g < n_groups; g++) {
            const uint8_t *wb = w[g] + (size_t)i * sizeof(block_iq4_xs);
            const v128_t d4d8 = wasm_f32x4_mul(halves4(wb, row_bytes), yd);
            int32_t ls[4][QK_K / 32];
            for (k = 0; k < 4; k++) {
                const block_iq4_xs *xb = (const block_iq4_xs *)(const void *)(wb + (size_t)k * row_bytes);
                for (ib = 0; ib < QK_K / 32; ib++)
                    ls[k][ib] = (((xb->scales_l[ib / 2] >> (4 * (ib & 1))) & 0xf) | (((xb->scales_h >> (2 * ib)) & 3) << 4)) - 32;
            }
            for (ib = 0; ib < QK_K / 32; ib++) {
                const uint8_t *qb = wb + offsetof(block_iq4_xs, qs) + 16 * ib - 2; /* row_block reads qs at +2 */
                const v128_t sumi = transpose_sum4(row_block(L_IQ4_NL, qb, x[ib], table),
                                                   row_block(L_IQ4_NL, qb + row_bytes, x[ib], table),
                                                   row_block(L_IQ4_NL, qb + 2 * row_bytes, x[ib], table),
                                                   row_block(L_IQ4_NL, qb + 3 * row_bytes, x[ib], table));
                const v128_t d1 = wasm_f32x4_mul(d4d8, wasm_f32x4_convert_i32x4(wasm_i32x4_make(ls[0][ib], ls[1][ib], ls[2][ib], ls[3][ib])));
                sumf[g] = wasm_f32x4_add(sumf[g], wasm_f32x4_mul(d1, wasm_f32x4_convert_i32x4(sumi)));
            }
        }
    }
    for (g = 0; g < n_groups; g++) wasm_v128_store(out + 4 * g, sumf[g]);
}

#define K_ENTRY(lc, kind, blk)                                                                                  \
    void lc##_dot4_q8_k_simd128(int64_t n, const void *w, size_t row_bytes, const void *a, float *out4) {       \
        const uint8_t *w1 = w;                                                                                 \
        k_dotg(kind, sizeof(blk), n, &w1, 1, row_bytes, a, out4);                                              \
    }                                                                                                          \
    void lc##_dot8_q8_k_simd128(int64_t n, const void *const *w2, size_t row_bytes, const void *a, float *out8) { \
        k_dotg(kind, sizeof(blk), n, (const uint8_t *const *)w2, 2, row_bytes, a, out8);                        \
    }                                                                                                          \
    void lc##_dotn_q8_k_simd128(int64_t n, const void *w, size_t row_bytes, const void *a, size_t a_bytes,     \
                                int n_tok, float *out, int64_t ldo) {                                          \
        k_dotn(kind, sizeof(blk), n, w, row_bytes, a, a_bytes, n_tok, out, ldo);                               \
    }
K_ENTRY(q3_k, K_Q3, block_q3_K)
K_ENTRY(q4_k, K_Q4, block_q4_K)
K_ENTRY(q5_k, K_Q5, block_q5_K)
K_ENTRY(q6_k, K_Q6, block_q6_K)
#undef K_ENTRY

void q2_k_dot4_q8_k_simd128(int64_t n, const void *w, size_t row_bytes, const void *a, float *out4) {
    const uint8_t *w1 = w;
    q2k_dotg(n, &w1, 1, row_bytes, a, out4);
}
void q2_k_dot8_q8_k_simd128(int64_t n, const void *const *w2, size_t row_bytes, const void *a, float *out8) {
    q2k_dotg(n, (const uint8_t *const *)w2, 2, row_bytes, a, out8);
}
void iq4_xs_dot4_q8_k_simd128(int64_t n, const void *w, size_t row_bytes, const void *a, float *out4) {
    const uint8_t *w1 = w;
    iq4xs_dotg(n, &w1, 1, row_bytes, a, out4);
}
void iq4_xs_dot8_q8_k_simd128(int64_t n, const void *const *w2, size_t row_bytes, const void *a, float *out8) {
    iq4xs_dotg(n, (const uint8_t *const *)w2, 2, row_bytes, a, out8);
}

#endif
