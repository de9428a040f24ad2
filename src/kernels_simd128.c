/* kernels_simd128.c — WebAssembly SIMD128 versions of the overridable kernels (contracts in
 * kernels.h), compiled in only under -msimd128.
 *
 * Each kernel performs exactly the float operations of its scalar reference, in the same
 * order for every output, so the SIMD build's results are bit-identical to the scalar
 * build's (tests/c/test_kernels_simd.c, run by tests/node/simd.test.js, checks that). The
 * speed comes from computing many outputs at once, not from reassociating sums:
 *  - Q8_0 x Q8_0: int8 widened to int16, i32x4.dot_i16x8 (exact int32). Decode reduces four
 *    rows' block sums with one transpose, skips widening the weights (the token is laid out
 *    even/odd instead, dot_block_split), and reads each matrix as 8 sequential streams the
 *    hardware prefetchers follow (wasm has no prefetch), 4 rows a step, with no v128
 *    constant in the loop (V8 13+ rebuilds one at every use). Prefill is a 4 rows x 8
 *    tokens tile on int16 pairs laid out once, one token per lane.
 *  - F32/F16/BF16 weights: the scalar 8-partial-sum dot is exactly two f32x4 accumulators.
 *  - Attention: four cached keys per step, finished by one transpose; position blocks keep
 *    the key/value rows in L1 for every query head of a GQA group. Softmax and SwiGLU use
 *    kern_exp's operations on four lanes.
 *  - KERN_LAYOUT_Q8_0_X4 weights come here only when a context turns relaxed SIMD off.
 * Relaxed SIMD's int8 dot has its own module (kernels_relaxed.c: clang 14 cannot emit it);
 * this file's kernels run where it is absent or inexact. fp16 scales are often subnormal:
 * nothing here turns them into subnormal floats (an x86 assist per block).
 * Figures, and what was measured without gain: PERF_NOTES.md, "SIMD128 kernels".
 */
#include "kernels.h"

#ifdef MLLM_KERNELS_SIMD128

#include <math.h>
#include <string.h>
#include <wasm_simd128.h>

#include "dtype.h"
#include "kernels_q8_simd.h"
#include "q8_quantize_simd.h"

/* ---------------------------------------------------------------- small helpers */

/* fp16 bits (low 16 bits of each u32 lane) -> f32, exactly, without ever feeding a
 * subnormal float to an arithmetic instruction (x86 takes a ~100-cycle assist for each;
 * small Q8_0 scales are often fp16 subnormals): normal halves only rebias the exponent in
 * integer arithmetic, subnormal halves are mantissa * 2^-24 from an int conversion, inf/nan
 * get the all-ones exponent. */
static inline v128_t f16x4_to_f32x4(v128_t h) {
    const v128_t em = wasm_v128_and(h, wasm_i32x4_splat(0x7fff));
    const v128_t e = wasm_v128_and(h, wasm_i32x4_splat(0x7c00));
    const v128_t o = wasm_i32x4_shl(em, 13);
    v128_t f = wasm_i32x4_add(o, wasm_i32x4_splat(0x38000000));
    v128_t sub = wasm_f32x4_mul(wasm_f32x4_convert_i32x4(em), wasm_f32x4_splat(0x1p-24f));
    f = wasm_v128_bitselect(sub, f, wasm_i32x4_eq(e, wasm_i32x4_splat(0)));
    f = wasm_v128_bitselect(wasm_v128_or(o, wasm_i32x4_splat(0x7f800000)), f,
                            wasm_i32x4_eq(e, wasm_i32x4_splat(0x7c00)));
    return wasm_v128_or(f, wasm_i32x4_shl(wasm_v128_and(h, wasm_i32x4_splat(0x8000)), 16));
}

/* Their values as f32x4. */
static inline v128_t scales4(const block_q8_0 *a, const block_q8_0 *b, const block_q8_0 *c, const block_q8_0 *d,
                             const f16_consts *k) {
    return f16hi_to_f32_finite(scale_bits4(a, b, c, d), k);
}

/* For blocks whose scales are all +0 or positive normal halves (kern_weights.plain_scales), in
 * the decode loop: each scale times 2^-112, in one immediate shift and no v128 constant
 * (see dot_block_split). Shifting the half right by 3 within its u32 lane puts its
 * exponent and mantissa at their f32 places without rebiasing, which reads as the value
 * times 2^-112: +0, or a normal f32 (>= 2^-126). The caller's token scale carries the 2^112
 * (exact: fp16 values are below 2^16), so the product has exactly the value of the
 * reference's weight scale x token scale, and rounds the same. */
static inline v128_t scales4_plain_2m112(const block_q8_0 *a, const block_q8_0 *b, const block_q8_0 *c,
                                         const block_q8_0 *d) {
    return wasm_u32x4_shr(scale_bits4(a, b, c, d), 3);
}

static inline float f16_to_f32_one(uint16_t h) {
    return wasm_f32x4_extract_lane(f16x4_to_f32x4(wasm_i32x4_splat(h)), 0);
}


/* The scalar dot's final combination of its 8 partial sums (acc[0..3] = lo, acc[4..7] = hi):
 * ((a0+a4) + (a1+a5)) + ((a2+a6) + (a3+a7)). */
static inline float combine8(v128_t lo, v128_t hi) {
    float s0 = wasm_f32x4_extract_lane(lo, 0) + wasm_f32x4_extract_lane(hi, 0);
    float s1 = wasm_f32x4_extract_lane(lo, 1) + wasm_f32x4_extract_lane(hi, 1);
    float s2 = wasm_f32x4_extract_lane(lo, 2) + wasm_f32x4_extract_lane(hi, 2);
    float s3 = wasm_f32x4_extract_lane(lo, 3) + wasm_f32x4_extract_lane(hi, 3);
    return (s0 + s1) + (s2 + s3);
}

/* ---------------------------------------------------------------- quantization */

/* Per block: |x| as int bits (for non-negative floats the bit patterns order like the
 * values, so i32x4.max is the float max: one instruction, where f32x4.max's NaN and -0
 * rules cost V8 eight), and a NaN or inf shows as a max at or above inf's bits. Then the
 * reference's roundf (half away from zero) exactly, in four ops, and the integral result to
 * int32 by adding 1.5 * 2^23 and reading the low bits (two ops, where i32x4.trunc_sat costs
 * seven). */
void kern_quantize_q8_0(const float *x, block_q8_0 *y, int64_t n) {
    const int64_t nb = n / MLLM_QK8_0;
    int64_t i;
    for (i = 0; i < nb; i++) {
        float d;
        if (q8_block_simd128(x + i * MLLM_QK8_0, &d, y[i].qs, 0, NULL)) y[i].d = f32_to_fp16(d);
        else quantize_row_q8_0(x + i * MLLM_QK8_0, y + i, MLLM_QK8_0);
    }
}

/* ---------------------------------------------------------------- f32 dot, axpy */

float kern_dot_f32(const float *a, const float *b, int64_t n) {
    v128_t lo = wasm_f32x4_splat(0.0f), hi = lo;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        lo = wasm_f32x4_add(lo, wasm_f32x4_mul(wasm_v128_load(a + i), wasm_v128_load(b + i)));
        hi = wasm_f32x4_add(hi, wasm_f32x4_mul(wasm_v128_load(a + i + 4), wasm_v128_load(b + i + 4)));
    }
    if (i < n) { /* the reference adds the tail into acc[0] one element at a time */
        float a0 = wasm_f32x4_extract_lane(lo, 0);
        for (; i < n; i++) a0 += a[i] * b[i];
        lo = wasm_f32x4_replace_lane(lo, 0, a0);
    }
    return combine8(lo, hi);
}

void kern_axpy_f32(float *y, float alpha, const float *x, int64_t n) {
    const v128_t va = wasm_f32x4_splat(alpha);
    int64_t i = 0;
    for (; i + 4 <= n; i += 4)
        wasm_v128_store(y + i, wasm_f32x4_add(wasm_v128_load(y + i), wasm_f32x4_mul(va, wasm_v128_load(x + i))));
    for (; i < n; i++) y[i] += alpha * x[i];
}

/* ---------------------------------------------------------------- exp, softmax, swiglu */

/* kern_exp on four lanes: the same operations, in the same order (see kernels_scalar.c). */
static inline v128_t exp4(v128_t x) {
    v128_t xc = wasm_v128_bitselect(wasm_f32x4_splat(88.0f), x, wasm_f32x4_gt(x, wasm_f32x4_splat(88.0f)));
    v128_t nf, r, z, p;
    xc = wasm_v128_bitselect(wasm_f32x4_splat(-86.0f), xc, wasm_f32x4_lt(xc, wasm_f32x4_splat(-86.0f)));
    nf = wasm_f32x4_nearest(wasm_f32x4_mul(xc, wasm_f32x4_splat(1.44269504088896341f)));
    r = wasm_f32x4_sub(xc, wasm_f32x4_mul(nf, wasm_f32x4_splat(0.693359375f)));
    r = wasm_f32x4_sub(r, wasm_f32x4_mul(nf, wasm_f32x4_splat(-2.12194440e-4f)));
    z = wasm_f32x4_mul(r, r);
    p = wasm_f32x4_splat(1.9875691500e-4f);
    p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.3981999507e-3f));
    p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(8.3334519073e-3f));
    p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(4.1665795894e-2f));
    p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.6666665459e-1f));
    p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(5.0000001201e-1f));
    p = wasm_f32x4_add(wasm_f32x4_mul(p, z), r);
    p = wasm_f32x4_add(p, wasm_f32x4_splat(1.0f));
    p = wasm_i32x4_add(p, wasm_i32x4_shl(wasm_i32x4_trunc_sat_f32x4(nf), 23)); /* nan: n = 0, as the scalar */
    return wasm_v128_andnot(p, wasm_f32x4_lt(x, wasm_f32x4_splat(-86.0f)));
}

void kern_softmax(float *x, int64_t n) {
    v128_t vmax = wasm_f32x4_splat(-INFINITY), lo = wasm_f32x4_splat(0.0f), hi = lo, vinv;
    float max, inv;
    int64_t i;
    /* pmax(a, b) = a < b ? b : a keeps a nan out exactly like the scalar `if (x > max)` */
    for (i = 0; i + 4 <= n; i += 4) vmax = wasm_f32x4_pmax(vmax, wasm_v128_load(x + i));
    max = wasm_f32x4_extract_lane(vmax, 0);
    if (wasm_f32x4_extract_lane(vmax, 1) > max) max = wasm_f32x4_extract_lane(vmax, 1);
    if (wasm_f32x4_extract_lane(vmax, 2) > max) max = wasm_f32x4_extract_lane(vmax, 2);
    if (wasm_f32x4_extract_lane(vmax, 3) > max) max = wasm_f32x4_extract_lane(vmax, 3);
    for (; i < n; i++)
        if (x[i] > max) max = x[i];
    vmax = wasm_f32x4_splat(max);
    for (i = 0; i + 8 <= n; i += 8) {
        v128_t e0 = exp4(wasm_f32x4_sub(wasm_v128_load(x + i), vmax));
        v128_t e1 = exp4(wasm_f32x4_sub(wasm_v128_load(x + i + 4), vmax));
        wasm_v128_store(x + i, e0);
        wasm_v128_store(x + i + 4, e1);
        lo = wasm_f32x4_add(lo, e0);
        hi = wasm_f32x4_add(hi, e1);
    }
    {
        float a0 = wasm_f32x4_extract_lane(lo, 0); /* the tail goes into acc[0], in order */
        for (; i < n; i++) {
            x[i] = kern_exp(x[i] - max);
            a0 += x[i];
        }
        inv = 1.0f / combine8(wasm_f32x4_replace_lane(lo, 0, a0), hi);
    }
    vinv = wasm_f32x4_splat(inv);
    for (i = 0; i + 4 <= n; i += 4) wasm_v128_store(x + i, wasm_f32x4_mul(wasm_v128_load(x + i), vinv));
    for (; i < n; i++) x[i] *= inv;
}

void kern_swiglu(float *out, const float *gate, const float *up, int64_t n) {
    const v128_t one = wasm_f32x4_splat(1.0f);
    int64_t i;
    for (i = 0; i + 4 <= n; i += 4) {
        v128_t g = wasm_v128_load(gate + i);
        v128_t d = wasm_f32x4_add(one, exp4(wasm_f32x4_neg(g)));
        wasm_v128_store(out + i, wasm_f32x4_mul(wasm_f32x4_div(g, d), wasm_v128_load(up + i)));
    }
    for (; i < n; i++) out[i] = gate[i] / (1.0f + kern_exp(-gate[i])) * up[i];
}

/* ---------------------------------------------------------------- attention */

/* Scores of query qh against 4 cached keys (k0 + i*ld): each dot keeps the scalar dot's 8
 * partial sums (lo, hi); one 4x4 transpose finishes the four dots in the scalar order. */
static inline v128_t dot4_keys(const float *qh, const float *k0, int64_t ld, int32_t head_dim) {
    const float *k1 = k0 + ld, *k2 = k1 + ld, *k3 = k2 + ld;
    v128_t lo0 = wasm_f32x4_splat(0.0f), hi0 = lo0, lo1 = lo0, hi1 = lo0, lo2 = lo0, hi2 = lo0, lo3 = lo0, hi3 = lo0;
    v128_t s0, s1, s2, s3, t0, t1, t2, t3;
    int32_t d;
    for (d = 0; d < head_dim; d += 8) {
        v128_t ql = wasm_v128_load(qh + d), qu = wasm_v128_load(qh + d + 4);
        lo0 = wasm_f32x4_add(lo0, wasm_f32x4_mul(ql, wasm_v128_load(k0 + d)));
        hi0 = wasm_f32x4_add(hi0, wasm_f32x4_mul(qu, wasm_v128_load(k0 + d + 4)));
        lo1 = wasm_f32x4_add(lo1, wasm_f32x4_mul(ql, wasm_v128_load(k1 + d)));
        hi1 = wasm_f32x4_add(hi1, wasm_f32x4_mul(qu, wasm_v128_load(k1 + d + 4)));
        lo2 = wasm_f32x4_add(lo2, wasm_f32x4_mul(ql, wasm_v128_load(k2 + d)));
        hi2 = wasm_f32x4_add(hi2, wasm_f32x4_mul(qu, wasm_v128_load(k2 + d + 4)));
        lo3 = wasm_f32x4_add(lo3, wasm_f32x4_mul(ql, wasm_v128_load(k3 + d)));
        hi3 = wasm_f32x4_add(hi3, wasm_f32x4_mul(qu, wasm_v128_load(k3 + d + 4)));
    }
    s0 = wasm_f32x4_add(lo0, hi0); /* lane i: acc[i] + acc[i+4] */
    s1 = wasm_f32x4_add(lo1, hi1);
    s2 = wasm_f32x4_add(lo2, hi2);
    s3 = wasm_f32x4_add(lo3, hi3);
    t0 = wasm_i32x4_shuffle(s0, s1, 0, 4, 1, 5);
    t1 = wasm_i32x4_shuffle(s0, s1, 2, 6, 3, 7);
    t2 = wasm_i32x4_shuffle(s2, s3, 0, 4, 1, 5);
    t3 = wasm_i32x4_shuffle(s2, s3, 2, 6, 3, 7);
    s0 = wasm_i32x4_shuffle(t0, t2, 0, 1, 4, 5); /* lane p: key p's (acc[0] + acc[4]) */
    s1 = wasm_i32x4_shuffle(t0, t2, 2, 3, 6, 7);
    s2 = wasm_i32x4_shuffle(t1, t3, 0, 1, 4, 5);
    s3 = wasm_i32x4_shuffle(t1, t3, 2, 3, 6, 7);
    return wasm_f32x4_add(wasm_f32x4_add(s0, s1), wasm_f32x4_add(s2, s3));
}

/* Positions are taken in blocks small enough that their key (then value) rows stay in L1
 * while every query head of the group uses them: each cached row comes from memory once.
 * The scores read the keys as four streams (four stretches of positions, one key of each
 * per step), which the hardware prefetchers follow better than one. The same pass touches
 * the value rows of the same positions (one load per cache line, kept alive through a
 * volatile sink), so they are in L2 when the value pass reads them in position order. */
#define ATT_BLOCK 64

void kern_attention(float *out, const float *q, const float *k, const float *v, int64_t ld, int32_t head_dim,
                    int32_t n_q, int32_t n_pos, float scale, float *scores) {
    const v128_t vscale = wasm_f32x4_splat(scale);
    const int32_t len = n_pos / 4; /* the scores' four stretches of keys */
    volatile v128_t sink_out;
    v128_t sink = wasm_i32x4_splat(0);
    int32_t h, j, j0, d;
    if (head_dim % 8 != 0) {
        kern_attention_scalar(out, q, k, v, ld, head_dim, n_q, n_pos, scale, scores);
        return;
    }
    for (j0 = 0; j0 < len; j0 += ATT_BLOCK / 4) {
        int32_t j1 = len - j0 < ATT_BLOCK / 4 ? len : j0 + ATT_BLOCK / 4;
        for (j = j0; j < j1; j++) { /* touch the value rows: four more streams */
            const float *v0 = v + (size_t)j * ld;
            for (d = 0; d < head_dim; d += 16)
                sink = wasm_v128_or(sink, wasm_v128_or(wasm_v128_or(wasm_v128_load(v0 + d), wasm_v128_load(v0 + (size_t)len * ld + d)),
                                                      wasm_v128_or(wasm_v128_load(v0 + (size_t)2 * len * ld + d),
                                                                   wasm_v128_load(v0 + (size_t)3 * len * ld + d))));
        }
        for (h = 0; h < n_q; h++) {
            const float *qh = q + (size_t)h * head_dim;
            float *s = scores + (size_t)h * n_pos;
            for (j = j0; j < j1; j++) {
                v128_t r = wasm_f32x4_mul(dot4_keys(qh, k + (size_t)j * ld, (int64_t)len * ld, head_dim), vscale);
                s[j] = wasm_f32x4_extract_lane(r, 0);
                s[j + len] = wasm_f32x4_extract_lane(r, 1);
                s[j + 2 * len] = wasm_f32x4_extract_lane(r, 2);
                s[j + 3 * len] = wasm_f32x4_extract_lane(r, 3);
            }
        }
    }
    for (h = 0; h < n_q; h++) { /* the last n_pos % 4 positions */
        const float *qh = q + (size_t)h * head_dim;
        float *s = scores + (size_t)h * n_pos;
        for (j = 4 * len; j < n_pos; j++) s[j] = kern_dot_f32(qh, k + (size_t)j * ld, head_dim) * scale;
    }
    sink_out = sink;
    (void)sink_out;
    for (h = 0; h < n_q; h++) kern_softmax(scores + (size_t)h * n_pos, n_pos);
    /* out_h = sum_j p_j v_j in position order, 32 dims at a time held in registers */
    for (j0 = 0; j0 < n_pos; j0 += ATT_BLOCK) {
        int32_t j1 = n_pos - j0 < ATT_BLOCK ? n_pos : j0 + ATT_BLOCK;
        for (h = 0; h < n_q; h++) {
            const float *s = scores + (size_t)h * n_pos;
            for (d = 0; d < head_dim; d += 32) {
                int nv = head_dim - d >= 32 ? 8 : (head_dim - d) / 4, i;
                float *o = out + (size_t)h * head_dim + d;
                v128_t acc[8];
                for (i = 0; i < 8; i++) acc[i] = j0 == 0 || i >= nv ? wasm_f32x4_splat(0.0f) : wasm_v128_load(o + 4 * i);
                if (nv == 8) {
                    for (j = j0; j < j1; j++) {
                        const float *vj = v + (size_t)j * ld + d;
                        v128_t p = wasm_f32x4_splat(s[j]);
                        for (i = 0; i < 8; i++) acc[i] = wasm_f32x4_add(acc[i], wasm_f32x4_mul(p, wasm_v128_load(vj + 4 * i)));
                    }
                } else {
                    for (j = j0; j < j1; j++) {
                        const float *vj = v + (size_t)j * ld + d;
                        v128_t p = wasm_f32x4_splat(s[j]);
                        for (i = 0; i < nv; i++) acc[i] = wasm_f32x4_add(acc[i], wasm_f32x4_mul(p, wasm_v128_load(vj + 4 * i)));
                    }
                }
                for (i = 0; i < nv; i++) wasm_v128_store(o + 4 * i, acc[i]);
            }
        }
    }
}

/* ---------------------------------------------------------------- float-type matmul */

/* Widen 8 elements of an F32/F16/BF16 row at element k into two f32x4. */
static inline void load8(uint32_t wtype, const uint8_t *row, int64_t k, v128_t *lo, v128_t *hi) {
    if (wtype == MLLM_DTYPE_F32) {
        *lo = wasm_v128_load(row + 4 * k);
        *hi = wasm_v128_load(row + 4 * k + 16);
    } else {
        v128_t h = wasm_v128_load(row + 2 * k);
        v128_t l32 = wasm_u32x4_extend_low_u16x8(h), h32 = wasm_u32x4_extend_high_u16x8(h);
        if (wtype == MLLM_DTYPE_F16) {
            *lo = f16x4_to_f32x4(l32);
            *hi = f16x4_to_f32x4(h32);
        } else {
            *lo = wasm_i32x4_shl(l32, 16);
            *hi = wasm_i32x4_shl(h32, 16);
        }
    }
}

static inline float load1(uint32_t wtype, const uint8_t *row, int64_t k) {
    uint16_t h;
    float f;
    if (wtype == MLLM_DTYPE_F32) {
        memcpy(&f, row + 4 * k, 4);
        return f;
    }
    memcpy(&h, row + 2 * k, 2);
    if (wtype == MLLM_DTYPE_F16) return f16_to_f32_one(h);
    return bf16_to_f32(h);
}

/* One row times up to 4 tokens over elements [k0, k0+len): the scalar reference's
 * kern_dot_f32 of that span for each token (8 partial sums, tail into the first). */
static void float_row_span(float *dots, uint32_t wtype, const uint8_t *row, const float *x, int64_t n_in,
                           int nt, int64_t k0, int64_t len) {
    v128_t lo[4], hi[4];
    int64_t k = k0, end = k0 + len;
    int t;
    for (t = 0; t < 4; t++) lo[t] = hi[t] = wasm_f32x4_splat(0.0f);
    if (nt == 4) {
        for (; k + 8 <= end; k += 8) {
            v128_t wl, wh;
            load8(wtype, row, k, &wl, &wh);
            for (t = 0; t < 4; t++) {
                const float *xt = x + t * n_in + k;
                lo[t] = wasm_f32x4_add(lo[t], wasm_f32x4_mul(wl, wasm_v128_load(xt)));
                hi[t] = wasm_f32x4_add(hi[t], wasm_f32x4_mul(wh, wasm_v128_load(xt + 4)));
            }
        }
    } else {
        for (; k + 8 <= end; k += 8) {
            v128_t wl, wh;
            load8(wtype, row, k, &wl, &wh);
            for (t = 0; t < nt; t++) {
                const float *xt = x + t * n_in + k;
                lo[t] = wasm_f32x4_add(lo[t], wasm_f32x4_mul(wl, wasm_v128_load(xt)));
                hi[t] = wasm_f32x4_add(hi[t], wasm_f32x4_mul(wh, wasm_v128_load(xt + 4)));
            }
        }
    }
    for (t = 0; t < nt; t++) {
        float a0 = wasm_f32x4_extract_lane(lo[t], 0);
        int64_t kk;
        for (kk = k; kk < end; kk++) a0 += load1(wtype, row, kk) * x[t * n_in + kk];
        dots[t] = combine8(wasm_f32x4_replace_lane(lo[t], 0, a0), hi[t]);
    }
}

/* The scalar reference's tile length for half-precision rows (kernels_scalar.c KERN_TILE):
 * F16/BF16 dots are summed per 256-element tile, so this must match it. */
#define KERN_TILE 256

void kern_matmul_float_simd128(float *out, int64_t ldo, const kern_weights *kw, int64_t n_in, int64_t n_rows,
                               const float *x, const void *xq, int64_t n_tok, kern_hints hints) {
    const void *w = kw->data;
    const uint32_t wtype = kw->type;
    size_t row_bytes = (size_t)n_in * (wtype == MLLM_DTYPE_F32 ? 4 : 2);
    int64_t r, t0;
    for (r = 0; r < n_rows; r++) {
        const uint8_t *row = (const uint8_t *)w + (size_t)r * row_bytes;
        for (t0 = 0; t0 < n_tok; t0 += 4) {
            int nt = n_tok - t0 < 4 ? (int)(n_tok - t0) : 4, t;
            const float *xt = x + t0 * n_in;
            float dots[4];
            if (wtype == MLLM_DTYPE_F32) {
                float_row_span(dots, wtype, row, xt, n_in, nt, 0, n_in);
                for (t = 0; t < nt; t++) out[(t0 + t) * ldo + r] = dots[t];
            } else {
                float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
                int64_t k0;
                for (k0 = 0; k0 < n_in; k0 += KERN_TILE) {
                    int64_t len = n_in - k0 < KERN_TILE ? n_in - k0 : KERN_TILE;
                    float_row_span(dots, wtype, row, xt, n_in, nt, k0, len);
                    for (t = 0; t < nt; t++) acc[t] += dots[t];
                }
                for (t = 0; t < nt; t++) out[(t0 + t) * ldo + r] = acc[t];
            }
        }
    }
}

/* ---------------------------------------------------------------- Q8_0 matmul */

/* Activations are widened to int16 once per group of tokens (into a stack buffer, so the
 * kernel allocates nothing) and their block scales to f32, laid out [block][token] so four
 * tokens' scales are one v128 load. Groups are multiples of 8 tokens (the prefill tile). */
#define XW_CAP 65536 /* int16 elements of widened activations (128 KiB of stack) */
#define TG_MAX 64    /* most tokens per group */

/* Sequential streams a decode matmul reads at once (a multiple of 4; PERF_NOTES.md has the
 * figures for 1 to 24). */
#define MV_STREAMS 8

/* One block of one row against a decode token widened in split layout (xs: even elements
 * of qs[0..15], odd ones times 256, then the same for qs[16..31]): viewing 16 weight bytes
 * as eight int16 lanes, shl 8 leaves even byte * 256 and shr_s 8 the odd byte, so two
 * immediate shifts replace the four ops of widening, and the loop needs no mask constant
 * (V8 13's Turboshaft rebuilds a v128 constant at each use in a loop: three instructions,
 * two of them on the shuffle port). Lanes sum to 256 x the block's exact int32 dot
 * (|256 x dot| < 2^28). */
static inline v128_t dot_block_split(const block_q8_0 *w, const int16_t *xs) {
    v128_t a = wasm_v128_load(w->qs), c = wasm_v128_load(w->qs + 16);
    v128_t s = wasm_i32x4_dot_i16x8(wasm_i16x8_shl(a, 8), wasm_v128_load(xs));
    s = wasm_i32x4_add(s, wasm_i32x4_dot_i16x8(wasm_i16x8_shr(a, 8), wasm_v128_load(xs + 8)));
    s = wasm_i32x4_add(s, wasm_i32x4_dot_i16x8(wasm_i16x8_shl(c, 8), wasm_v128_load(xs + 16)));
    return wasm_i32x4_add(s, wasm_i32x4_dot_i16x8(wasm_i16x8_shr(c, 8), wasm_v128_load(xs + 24)));
}

/* Four rows x one token (decode), rows w, w + ws, w + 2 ws, w + 3 ws (ws in blocks) into
 * out[0], out[os], out[2 os], out[3 os]: the accumulator's lanes are the rows. plain: the
 * scales are all +0 or positive normal halves, and dx holds the token's scales times 2^112
 * (a constant, so each caller below gets its own loop). */
static inline __attribute__((always_inline)) void q8_rows4_tok1(float *out, int64_t os, const block_q8_0 *w0,
                                                                int64_t ws, int64_t nb, const int16_t *xw,
                                                                const float *dx, int64_t dx_stride, const int plain,
                                                                const f16_consts *k) {
    const block_q8_0 *w1 = w0 + ws, *w2 = w1 + ws, *w3 = w2 + ws;
    v128_t acc = wasm_f32x4_splat(0.0f);
    int64_t b;
    for (b = 0; b < nb; b++) {
        v128_t s0, s1, s2, s3, d;
        const int16_t *xb = xw + b * MLLM_QK8_0;
        s0 = dot_block_split(w0 + b, xb);
        s1 = dot_block_split(w1 + b, xb);
        s2 = dot_block_split(w2 + b, xb);
        s3 = dot_block_split(w3 + b, xb);
        d = plain ? scales4_plain_2m112(w0 + b, w1 + b, w2 + b, w3 + b) : scales4(w0 + b, w1 + b, w2 + b, w3 + b, k);
        d = wasm_f32x4_mul(d, wasm_f32x4_splat(dx[b * dx_stride]));
        acc = wasm_f32x4_add(acc, wasm_f32x4_mul(wasm_f32x4_convert_i32x4(wasm_i32x4_shr(hsum4_i32(s0, s1, s2, s3), 8)), d));
    }
    out[0] = wasm_f32x4_extract_lane(acc, 0);
    out[os] = wasm_f32x4_extract_lane(acc, 1);
    out[2 * os] = wasm_f32x4_extract_lane(acc, 2);
    out[3 * os] = wasm_f32x4_extract_lane(acc, 3);
}

/* A decode matvec's first MV_STREAMS * q rows, q = n_rows / MV_STREAMS: the rows are cut
 * into MV_STREAMS equal stretches, and each step takes the next row of four of them. One
 * function per scale kind, reached through a pointer: inlined into matmul_q8_0's large body
 * (binaryen's -O3 inliner ignores noinline on a direct call) the loop spilled, as V8
 * allocates registers per function; a call per four rows was slower too. Steps i0..i1-1 of
 * the q (a call per chunk with kern_hints.reuse, kernels_q8_simd.h). k: f16_consts for
 * scales4 (any only). */
typedef void (*q8_streams_fn)(float *o, const block_q8_0 *wq, int64_t q, int64_t i0, int64_t i1, int64_t nb,
                              const int16_t *xt, const float *dx, int64_t dx_stride, const f16_consts *k);
static inline __attribute__((always_inline)) void q8_streams_tok1(float *o, const block_q8_0 *wq, int64_t q,
                                                                  int64_t i0, int64_t i1, int64_t nb,
                                                                  const int16_t *xt, const float *dx,
                                                                  int64_t dx_stride, const f16_consts *k,
                                                                  const int plain) {
    int64_t i, g;
    for (i = i0; i < i1; i++)
        for (g = 0; g < MV_STREAMS; g += 4)
            q8_rows4_tok1(o + g * q + i, q, wq + (g * q + i) * nb, q * nb, nb, xt, dx, dx_stride, plain, k);
}
static void q8_streams_tok1_plain(float *o, const block_q8_0 *wq, int64_t q, int64_t i0, int64_t i1, int64_t nb,
                                  const int16_t *xt, const float *dx, int64_t dx_stride, const f16_consts *k) {
    q8_streams_tok1(o, wq, q, i0, i1, nb, xt, dx, dx_stride, k, 1);
}
static void q8_streams_tok1_any(float *o, const block_q8_0 *wq, int64_t q, int64_t i0, int64_t i1, int64_t nb,
                                const int16_t *xt, const float *dx, int64_t dx_stride, const f16_consts *k) {
    q8_streams_tok1(o, wq, q, i0, i1, nb, xt, dx, dx_stride, k, 0);
}

/* One row x one token (leftover rows). */
static float q8_row1_tok1(const block_q8_0 *w, int64_t nb, const int16_t *xw, const float *dx, int64_t dx_stride) {
    float sumf = 0.0f;
    int64_t b;
    for (b = 0; b < nb; b++) {
        v128_t s;
        int32_t isum;
        s = dot_block_split(w + b, xw + b * MLLM_QK8_0);
        isum = wasm_i32x4_extract_lane(s, 0) + wasm_i32x4_extract_lane(s, 1) + wasm_i32x4_extract_lane(s, 2) +
               wasm_i32x4_extract_lane(s, 3);
        isum >>= 8; /* exact: a multiple of 256 */
        sumf += (float)isum * (f16_to_f32_one(w[b].d) * dx[b * dx_stride]);
    }
    return sumf;
}

/* One Q8_0 block of four rows (or tokens) a..d to "lane layout": for each of its 16 k
 * pairs (q[2k], q[2k+1]), the four rows' int16 pairs as one v128 (row i in lane i), the
 * pairs `step` bytes apart from o on. Widening, then 4x4 transposes of 32-bit lanes. */
static void lanes4(const block_q8_0 *a, const block_q8_0 *b, const block_q8_0 *c, const block_q8_0 *d, char *o,
                   int64_t step) {
    int h, j;
    for (h = 0; h < 2; h++) {
        const v128_t va = wasm_v128_load(a->qs + 16 * h), vb = wasm_v128_load(b->qs + 16 * h);
        const v128_t vc = wasm_v128_load(c->qs + 16 * h), vd = wasm_v128_load(d->qs + 16 * h);
        for (j = 0; j < 2; j++) {
            const v128_t ra = j ? wasm_i16x8_extend_high_i8x16(va) : wasm_i16x8_extend_low_i8x16(va);
            const v128_t rb = j ? wasm_i16x8_extend_high_i8x16(vb) : wasm_i16x8_extend_low_i8x16(vb);
            const v128_t rc = j ? wasm_i16x8_extend_high_i8x16(vc) : wasm_i16x8_extend_low_i8x16(vc);
            const v128_t rd = j ? wasm_i16x8_extend_high_i8x16(vd) : wasm_i16x8_extend_low_i8x16(vd);
            const v128_t ab0 = wasm_i32x4_shuffle(ra, rb, 0, 4, 1, 5), ab1 = wasm_i32x4_shuffle(ra, rb, 2, 6, 3, 7);
            const v128_t cd0 = wasm_i32x4_shuffle(rc, rd, 0, 4, 1, 5), cd1 = wasm_i32x4_shuffle(rc, rd, 2, 6, 3, 7);
            char *p = o + (8 * h + 4 * j) * step;
            wasm_v128_store(p, wasm_i64x2_shuffle(ab0, cd0, 0, 2));
            wasm_v128_store(p + step, wasm_i64x2_shuffle(ab0, cd0, 1, 3));
            wasm_v128_store(p + 2 * step, wasm_i64x2_shuffle(ab1, cd1, 0, 2));
            wasm_v128_store(p + 3 * step, wasm_i64x2_shuffle(ab1, cd1, 1, 3));
        }
    }
}

/* Prefill tile, 4 rows x 8 tokens. wl: the rows in lane layout ([block][k pair][row]), dw
 * their scales [block][row]; xl: the tokens in lane layout ([block][k pair][token]), dx
 * their scales [block][token], dx_stride floats per block. Each k pair is one weight pair
 * per row, broadcast by a load (no ALU work), against the 8 tokens' pairs: i32x4.dot_i16x8
 * then leaves each token's exact partial sum in its own lane, so there are no horizontal
 * sums and nothing to widen in the loop; the 16 accumulate ops per 64 multiply-adds are
 * all that is left on the vector ports. The k loop is not unrolled: V8 would issue the
 * loads of both iterations first and spill. Only rows < nr and tokens < nt are stored. */
static void q8_rows4_tok8(float *out, int64_t ldo, const int32_t *wl, const float *dw, int64_t nb, const int32_t *xl,
                          const float *dx, int64_t dx_stride, int nr, int nt) {
    v128_t f0 = wasm_f32x4_splat(0.0f), f1 = f0, f2 = f0, f3 = f0, f4 = f0, f5 = f0, f6 = f0, f7 = f0;
    float v[8][4];
    int64_t b;
    int kp, r, t;
    for (b = 0; b < nb; b++) {
        v128_t a0 = wasm_i32x4_splat(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, s;
        const int32_t *w = wl + b * 64, *x = xl + b * 128;
        const float *d = dw + 4 * b;
        v128_t dx0, dx1;
#pragma clang loop unroll(disable)
        for (kp = 0; kp < 16; kp++, w += 4, x += 8) {
            const v128_t xa = wasm_v128_load(x), xb = wasm_v128_load(x + 4);
            v128_t ws = wasm_v128_load32_splat(w);
            a0 = wasm_i32x4_add(a0, wasm_i32x4_dot_i16x8(ws, xa));
            a1 = wasm_i32x4_add(a1, wasm_i32x4_dot_i16x8(ws, xb));
            ws = wasm_v128_load32_splat(w + 1);
            a2 = wasm_i32x4_add(a2, wasm_i32x4_dot_i16x8(ws, xa));
            a3 = wasm_i32x4_add(a3, wasm_i32x4_dot_i16x8(ws, xb));
            ws = wasm_v128_load32_splat(w + 2);
            a4 = wasm_i32x4_add(a4, wasm_i32x4_dot_i16x8(ws, xa));
            a5 = wasm_i32x4_add(a5, wasm_i32x4_dot_i16x8(ws, xb));
            ws = wasm_v128_load32_splat(w + 3);
            a6 = wasm_i32x4_add(a6, wasm_i32x4_dot_i16x8(ws, xa));
            a7 = wasm_i32x4_add(a7, wasm_i32x4_dot_i16x8(ws, xb));
        }
        /* the reference's order: (float)sum * (weight scale * token scale), then add */
        dx0 = wasm_v128_load(dx + b * dx_stride);
        dx1 = wasm_v128_load(dx + b * dx_stride + 4);
        s = wasm_v128_load32_splat(d);
        f0 = wasm_f32x4_add(f0, wasm_f32x4_mul(wasm_f32x4_convert_i32x4(a0), wasm_f32x4_mul(s, dx0)));
        f1 = wasm_f32x4_add(f1, wasm_f32x4_mul(wasm_f32x4_convert_i32x4(a1), wasm_f32x4_mul(s, dx1)));
        s = wasm_v128_load32_splat(d + 1);
        f2 = wasm_f32x4_add(f2, wasm_f32x4_mul(wasm_f32x4_convert_i32x4(a2), wasm_f32x4_mul(s, dx0)));
        f3 = wasm_f32x4_add(f3, wasm_f32x4_mul(wasm_f32x4_convert_i32x4(a3), wasm_f32x4_mul(s, dx1)));
        s = wasm_v128_load32_splat(d + 2);
        f4 = wasm_f32x4_add(f4, wasm_f32x4_mul(wasm_f32x4_convert_i32x4(a4), wasm_f32x4_mul(s, dx0)));
        f5 = wasm_f32x4_add(f5, wasm_f32x4_mul(wasm_f32x4_convert_i32x4(a5), wasm_f32x4_mul(s, dx1)));
        s = wasm_v128_load32_splat(d + 3);
        f6 = wasm_f32x4_add(f6, wasm_f32x4_mul(wasm_f32x4_convert_i32x4(a6), wasm_f32x4_mul(s, dx0)));
        f7 = wasm_f32x4_add(f7, wasm_f32x4_mul(wasm_f32x4_convert_i32x4(a7), wasm_f32x4_mul(s, dx1)));
    }
    wasm_v128_store(v[0], f0), wasm_v128_store(v[1], f1), wasm_v128_store(v[2], f2), wasm_v128_store(v[3], f3);
    wasm_v128_store(v[4], f4), wasm_v128_store(v[5], f5), wasm_v128_store(v[6], f6), wasm_v128_store(v[7], f7);
    for (r = 0; r < nr; r++)
        for (t = 0; t < nt; t++) out[t * ldo + r] = v[2 * r + t / 4][t % 4];
}

/* ---- KERN_LAYOUT_Q8_0_X4 weights (kernels.h), where the relaxed kernels do not take the call */

/* Group block `blk` (four rows' block b) back to four Q8_0 blocks. */
static void x4_unpack(const uint8_t *blk, block_q8_0 *o) {
    const v128_t bias = wasm_i8x16_splat((int8_t)0x80);
    int r, j;
    for (r = 0; r < 4; r++) memcpy(&o[r].d, blk + 2 * r, 2);
    for (j = 0; j < 8; j++) {
        const v128_t q = wasm_v128_xor(wasm_v128_load(blk + 8 + 16 * j), bias);
        for (r = 0; r < 4; r++) memcpy(o[r].qs + 4 * j, (const char *)&q + 4 * r, 4);
    }
}

/* A decode token for x4_groups4_tok1: per block, each quad j widened to int16 twice over
 * (x[4j..4j+3], x[4j..4j+3]), so one i32x4.dot_i16x8 against four widened weight bytes
 * of two rows leaves two partial sums per row; and -128 x the block's quant sum. */
static void x4_token(const block_q8_0 *x, int64_t nb, int16_t *xq, int32_t *xc) {
    int64_t b;
    int j, i;
    for (b = 0; b < nb; b++) {
        int32_t sum = 0;
        for (j = 0; j < 8; j++)
            for (i = 0; i < 8; i++) xq[(b * 8 + j) * 8 + i] = x[b].qs[4 * j + i % 4];
        for (j = 0; j < MLLM_QK8_0; j++) sum += x[b].qs[j];
        xc[b] = -128 * sum;
    }
}

/* Four x4 groups, at w + g ws bytes (g < 4), x the token into o + g os (4 floats each).
 * The weights are zero-extended (they are stored + 128, so 0..255) and the correction
 * takes the 128 back out; pair sums are added at the block's end. Four streams side by
 * side, as q8_rows4_tok1's (two were much slower from memory). dx as q8_rows4_tok1's. */
static inline __attribute__((always_inline)) void x4_groups4_tok1(float *o, int64_t os, const uint8_t *w, int64_t ws,
                                                                  int64_t nb, const int16_t *xq, const int32_t *xc,
                                                                  const float *dx, const int plain,
                                                                  const f16_consts *k) {
    v128_t f[4];
    int64_t b;
    int g;
    for (g = 0; g < 4; g++) f[g] = wasm_f32x4_splat(0.0f);
    for (b = 0; b < nb; b++, w += KERN_Q8_0_X4_BLOCK) {
        v128_t l[4], h[4], c = wasm_v128_load32_splat(xc + b), d = wasm_v128_load32_splat(dx + b);
        int j;
        for (g = 0; g < 4; g++) l[g] = h[g] = wasm_i32x4_splat(0);
        for (j = 0; j < 8; j++) {
            const v128_t xv = wasm_v128_load(xq + (b * 8 + j) * 8);
            for (g = 0; g < 4; g++) {
                const v128_t v = wasm_v128_load(w + g * ws + 8 + 16 * j);
                l[g] = wasm_i32x4_add(l[g], wasm_i32x4_dot_i16x8(wasm_u16x8_extend_low_u8x16(v), xv));
                h[g] = wasm_i32x4_add(h[g], wasm_i32x4_dot_i16x8(wasm_u16x8_extend_high_u8x16(v), xv));
            }
        }
        for (g = 0; g < 4; g++) {
            v128_t sc = wasm_u32x4_load16x4(w + g * ws);
            const v128_t sum = wasm_i32x4_add(
                wasm_i32x4_add(wasm_i32x4_shuffle(l[g], h[g], 0, 2, 4, 6), wasm_i32x4_shuffle(l[g], h[g], 1, 3, 5, 7)), c);
            sc = plain ? wasm_i32x4_shl(sc, 13) : f16hi_to_f32_finite(wasm_i32x4_shl(sc, 16), k);
            f[g] = wasm_f32x4_add(f[g], wasm_f32x4_mul(wasm_f32x4_convert_i32x4(sum), wasm_f32x4_mul(sc, d)));
        }
    }
    for (g = 0; g < 4; g++) wasm_v128_store(o + g * os, f[g]);
}
typedef void (*x4_quad_fn)(float *o, int64_t os, const uint8_t *w, int64_t ws, int64_t nb, const int16_t *xq,
                           const int32_t *xc, const float *dx, const f16_consts *k);
static void x4_quad_plain(float *o, int64_t os, const uint8_t *w, int64_t ws, int64_t nb, const int16_t *xq,
                          const int32_t *xc, const float *dx, const f16_consts *k) {
    x4_groups4_tok1(o, os, w, ws, nb, xq, xc, dx, 1, k);
}
static void x4_quad_any(float *o, int64_t os, const uint8_t *w, int64_t ws, int64_t nb, const int16_t *xq,
                        const int32_t *xc, const float *dx, const f16_consts *k) {
    x4_groups4_tok1(o, os, w, ws, nb, xq, xc, dx, 0, k);
}

/* One token's decode on x4 weights: MV_STREAMS stretches of groups, two a call. dx: the
 * token's scales (times 2^112 when plain: q8_rows4_tok1's trick). */
static void x4_matvec(float *out, const uint8_t *w, int64_t nb, int64_t n_rows, const int16_t *xq, const int32_t *xc,
                      const float *dx, int plain, int reuse) {
    const int64_t n_groups = n_rows / 4, q = n_groups / MV_STREAMS, gbytes = nb * KERN_Q8_0_X4_BLOCK;
    const int64_t chunk = reuse ? reuse_chunk_steps(4 * nb, MV_STREAMS) : q;
    const f16_consts k = f16_consts_make();
    const x4_quad_fn quad = plain ? x4_quad_plain : x4_quad_any; /* a call apiece: q8_streams_fn says why */
    int64_t i, i0, i1, s, g;
    for (i0 = 0; i0 < q; i0 = i1) {
        i1 = q - i0 < chunk ? q : i0 + chunk;
        for (i = i0; i < i1; i++)
            for (s = 0; s < MV_STREAMS; s += 4)
                quad(out + 4 * (s * q + i), 4 * q, w + (s * q + i) * gbytes, q * gbytes, nb, xq, xc, dx, &k);
        if (reuse) touch_after_chunk((const block_q8_0 *)(const void *)w, q, 4 * nb, MV_STREAMS, i0, i1, chunk);
    }
    for (g = MV_STREAMS * q; g < n_groups; g++) /* the last groups, each as four of itself */
        quad(out + 4 * g, 0, w + g * gbytes, 0, nb, xq, xc, dx, &k);
}

/* The x4 pieces matmul_q8_0 calls, kept out of its body: inlined there they slow its
 * file-layout prefill, as V8 allocates registers per function (binaryen inlines a direct
 * call whatever it is told, so the calls go through a pointer the compiler cannot see). */
typedef void (*x4_lanes_fn)(const uint8_t *blk, int32_t *wl, float *dw, const f16_consts *k);
static void x4_lanes_block(const uint8_t *blk, int32_t *wl, float *dw, const f16_consts *k) {
    block_q8_0 u[4];
    x4_unpack(blk, u);
    lanes4(u, u + 1, u + 2, u + 3, (char *)wl, 16);
    wasm_v128_store(dw, scales4(u, u + 1, u + 2, u + 3, k));
}
static x4_lanes_fn x4_lanes_fn_opaque(void) {
    x4_lanes_fn f = x4_lanes_block;
    __asm__("" : "+r"(f));
    return f;
}
typedef void (*x4_decode_fn)(float *o, const uint8_t *w, int64_t nb, int64_t n_rows, const block_q8_0 *x,
                             int16_t *xbuf, int32_t *cbuf, const float *dx, int plain, int reuse);
static void x4_decode(float *o, const uint8_t *w, int64_t nb, int64_t n_rows, const block_q8_0 *x, int16_t *xbuf,
                      int32_t *cbuf, const float *dx, int plain, int reuse) {
    x4_token(x, nb, xbuf, cbuf);
    x4_matvec(o, w, nb, n_rows, xbuf, cbuf, dx, plain, reuse);
}
static x4_decode_fn x4_decode_fn_opaque(void) {
    x4_decode_fn f = x4_decode;
    __asm__("" : "+r"(f));
    return f;
}

#ifdef MLLM_RELAXED_IMPORT
/* src/kernels_relaxed.c's prefill and decode (a module of its own: see there), supplied to
 * this one by wasm_build/relaxed_library.js. It returns 0 without writing where the
 * engine's relaxed dot is not exact or absent, and the SIMD128 kernels below do the work. */
int32_t mllm_relaxed_q8_0(float *out, int32_t ldo, const block_q8_0 *w, int32_t n_in, int32_t n_rows,
                          const block_q8_0 *xq, int32_t n_tok, void *xbuf, int32_t xbytes, void *wbuf, int32_t wbytes,
                          int32_t flags);
#endif

int kern_q8_0_x4_preferred(void) {
#ifdef MLLM_RELAXED_IMPORT
    /* a call with no tokens: 1 where the relaxed module runs here, without touching out */
    int32_t buf[4] __attribute__((aligned(16))) = {0, 0, 0, 0};
    return mllm_relaxed_q8_0(NULL, 0, NULL, MLLM_QK8_0, 0, NULL, 0, buf, (int32_t)sizeof buf, buf,
                             (int32_t)sizeof buf, KERN_RELAXED_X4) == 1;
#else
    return 0;
#endif
}

#ifdef MLLM_RELAXED_IMPORT
int kern_matmul_q8_0_relaxed(float *out, int64_t ldo, const kern_weights *w, int64_t n_in, int64_t n_rows,
                             const float *x, const void *xq, int64_t n_tok, kern_hints hints) {
    /* the scratch matmul_q8_0 would use (the module has no memory of its own) */
    int16_t xw[XW_CAP] __attribute__((aligned(16)));
    int32_t wl[4 * XW_CAP / 8 / 2] __attribute__((aligned(16)));
    const int32_t flags = (w->plain_scales ? KERN_RELAXED_PLAIN_SCALES : 0) | (hints.reuse ? KERN_RELAXED_REUSE : 0) |
                          (w->layout == KERN_LAYOUT_Q8_0_X4 ? KERN_RELAXED_X4 : 0);
    if (n_in > INT32_MAX || n_rows > INT32_MAX || n_tok > INT32_MAX || ldo > INT32_MAX) return 0;
    return mllm_relaxed_q8_0(out, (int32_t)ldo, (const block_q8_0 *)w->data, (int32_t)n_in, (int32_t)n_rows,
                             (const block_q8_0 *)xq, (int32_t)n_tok, xw, (int32_t)sizeof xw, wl, (int32_t)sizeof wl,
                             flags) != 0;
}
#endif

static void matmul_q8_0(float *out, int64_t ldo, const void *w, int64_t n_in, int64_t n_rows,
                        const block_q8_0 *xq, int64_t n_tok, int plain, int reuse, int x4) {
    const int64_t nb = n_in / MLLM_QK8_0;
    int16_t xw[XW_CAP] __attribute__((aligned(16))); /* the group's tokens: lane layout, then split layout */
    float dx[XW_CAP / MLLM_QK8_0];  /* their scales, [block][token] */
    int32_t wl[4 * XW_CAP / 8 / 2] __attribute__((aligned(16))); /* four rows in lane layout (n_in <= XW_CAP / 8) */
    float dw[4 * XW_CAP / 8 / MLLM_QK8_0];
    const block_q8_0 *wq = (const block_q8_0 *)w;
    f16_consts k = f16_consts_make();
    int64_t tg = XW_CAP / n_in, g0;
    if (tg > TG_MAX) tg = TG_MAX;
    if (tg >= 8) tg &= ~(int64_t)7;
    if (tg < 1) tg = 1; /* rows wider than the buffer: see below */

    if (n_in > XW_CAP || (x4 && (n_rows % 4 || 2 * n_in > XW_CAP))) { /* too wide to widen on the stack (not a model shape) */
        int64_t r, t;
        if (x4) {
            const kern_weights kw = {w, MLLM_DTYPE_Q8_0, KERN_LAYOUT_Q8_0_X4, 0};
            const kern_hints none = {0, 0};
            kern_matmul_q8_0_scalar(out, ldo, &kw, n_in, n_rows, NULL, xq, n_tok, none);
            return;
        }
        for (t = 0; t < n_tok; t++)
            for (r = 0; r < n_rows; r++) out[t * ldo + r] = kern_dot_q8_0_scalar(wq + r * nb, xq + t * nb, n_in);
        return;
    }

    for (g0 = 0; g0 < n_tok; g0 += tg) {
        const int64_t ng = n_tok - g0 < tg ? n_tok - g0 : tg;
        /* nl tokens go through the tile in lane layout, padded with zeros to nl8; one to
         * three leftovers (and every token of a decode) stream the matrix one at a time */
        const int64_t nl = tg < 8 ? 0 : (ng % 8 == 0 || ng % 8 >= 4) ? ng : ng & ~(int64_t)7;
        const int64_t nl8 = (nl + 7) & ~(int64_t)7, ds = nl8 > ng ? nl8 : ng;
        int32_t *xl = (int32_t *)xw;
        int16_t *xs = xw + nl8 * n_in;
        int64_t t, b, r;
        for (t = 0; t < ng; t++) {
            const block_q8_0 *xb = xq + (g0 + t) * nb;
            for (b = 0; b < nb; b++) dx[b * ds + t] = f16_to_f32_one(xb[b].d);
        }
        for (t = 0; t < nl8; t += 4) { /* [octet][block][k pair][8 tokens] */
            char *o = (char *)(xl + (t / 8) * 128 * nb) + (t & 4 ? 16 : 0);
            if (t >= nl) {             /* padding: zero pairs, zero scales */
                for (b = 0; b < nb * 16; b++) memset(o + b * 32, 0, 16);
                for (b = 0; b < nb; b++) memset(dx + b * ds + t, 0, sizeof(float) * 4);
                continue;
            }
            {
                const block_q8_0 *x0 = xq + (g0 + t) * nb;
                const int64_t n4 = nl - t < 4 ? nl - t : 4;
                const block_q8_0 *x1 = x0 + (n4 > 1 ? nb : 0), *x2 = x0 + (n4 > 2 ? 2 * nb : 0), *x3 = x0 + (n4 > 3 ? 3 * nb : 0);
                for (b = 0; b < nb; b++) lanes4(x0 + b, x1 + b, x2 + b, x3 + b, o + b * 16 * 32, 32);
                for (b = 0; b < nb; b++) /* lanes past nl repeat a token: give them zero scales */
                    memset(dx + b * ds + t + n4, 0, sizeof(float) * (size_t)(4 - n4));
            }
        }
        for (t = nl; t < ng && !x4; t++) { /* dot_block_split's layout (x4 makes its own below) */
            const block_q8_0 *xb = xq + (g0 + t) * nb;
            int16_t *dst = xs + (t - nl) * n_in;
            for (b = 0; b < nb; b++) {
                v128_t a = wasm_v128_load(xb[b].qs), c = wasm_v128_load(xb[b].qs + 16);
                wasm_v128_store(dst + b * 32, wasm_i16x8_shr(wasm_i16x8_shl(a, 8), 8));
                wasm_v128_store(dst + b * 32 + 8, wasm_v128_and(a, wasm_i16x8_splat((int16_t)0xff00)));
                wasm_v128_store(dst + b * 32 + 16, wasm_i16x8_shr(wasm_i16x8_shl(c, 8), 8));
                wasm_v128_store(dst + b * 32 + 24, wasm_v128_and(c, wasm_i16x8_splat((int16_t)0xff00)));
            }
        }
        if (nl > 0)
            for (r = 0; r < n_rows; r += 4) {
                const int nr = n_rows - r < 4 ? (int)(n_rows - r) : 4;
                const block_q8_0 *w0 = wq + r * nb, *w1 = w0 + (nr > 1 ? nb : 0), *w2 = w0 + (nr > 2 ? 2 * nb : 0),
                                 *w3 = w0 + (nr > 3 ? 3 * nb : 0);
                int64_t o;
                for (b = 0; b < nb; b++) { /* widened once, used for every octet of the group */
                    if (x4) {
                        x4_lanes_fn_opaque()((const uint8_t *)w + (r / 4 * nb + b) * KERN_Q8_0_X4_BLOCK, wl + b * 64,
                                             dw + 4 * b, &k);
                        continue;
                    }
                    lanes4(w0 + b, w1 + b, w2 + b, w3 + b, (char *)(wl + b * 64), 16);
                    wasm_v128_store(dw + 4 * b, scales4(w0 + b, w1 + b, w2 + b, w3 + b, &k));
                }
                for (o = 0; o < nl8 / 8; o++)
                    q8_rows4_tok8(out + (g0 + 8 * o) * ldo + r, ldo, wl, dw, nb, xl + o * 128 * nb, dx + 8 * o, ds,
                                  nr, nl - 8 * o < 8 ? (int)(nl - 8 * o) : 8);
            }
        for (t = nl; t < ng; t++) { /* leftover tokens (decode: the only one) */
            float *o = out + (g0 + t) * ldo;
            const int16_t *xt = xs + (t - nl) * n_in;
            const int64_t q = n_rows / MV_STREAMS, chunk = reuse ? reuse_chunk_steps(nb, MV_STREAMS) : q;
            const q8_streams_fn streams = plain ? q8_streams_tok1_plain : q8_streams_tok1_any;
            float dx112[XW_CAP / MLLM_QK8_0]; /* plain: the token's scales x 2^112 (scales4_plain_2m112) */
            int64_t i0, i1;
            if (plain && (q > 0 || x4))
                for (b = 0; b < nb; b++) dx112[b] = dx[b * ds + t] * 0x1p112f;
            if (x4) { /* the tile is done with xw and wl: they take this token's x4 layout */
                if (!plain)
                    for (b = 0; b < nb; b++) dx112[b] = dx[b * ds + t];
                x4_decode_fn_opaque()(o, (const uint8_t *)w, nb, n_rows, xq + (g0 + t) * nb, xw, wl, dx112, plain, reuse);
                continue;
            }
            for (i0 = 0; i0 < q; i0 = i1) {
                i1 = q - i0 < chunk ? q : i0 + chunk;
                streams(o, wq, q, i0, i1, nb, xt, plain ? dx112 : dx + t, plain ? 1 : ds, &k);
                if (reuse) touch_after_chunk(wq, q, nb, MV_STREAMS, i0, i1, chunk);
            }
            for (r = MV_STREAMS * q; r < n_rows; r++) o[r] = q8_row1_tok1(wq + r * nb, nb, xt, dx + t, ds);
        }
    }
}

/* ---------------------------------------------------------------- entry point */

void kern_matmul_q8_0_simd128(float *out, int64_t ldo, const kern_weights *w, int64_t n_in, int64_t n_rows,
                              const float *x, const void *xq, int64_t n_tok, kern_hints hints) {
    matmul_q8_0(out, ldo, w->data, n_in, n_rows, (const block_q8_0 *)xq, n_tok, w->plain_scales != 0,
                hints.reuse != 0, w->layout == KERN_LAYOUT_Q8_0_X4);
}

#else
typedef int kernels_simd128_unused; /* ISO C wants a declaration in every translation unit */
#endif
