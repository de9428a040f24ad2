/* kernels_scalar.c — portable reference kernels (see kernels.h for the contracts). */
#include "kernels.h"

#include <math.h>
#include <string.h>

#include "dtype.h"

/* ---------------------------------------------------------------- quantization, dots */

void kern_quantize_q8_0_scalar(const float *x, block_q8_0 *y, int64_t n) {
    /* codec.c holds the one definition of ggml's reference quantizer. */
    quantize_row_q8_0(x, y, n);
}

float kern_dot_f32_scalar(const float *a, const float *b, int64_t n) {
    /* Eight independent partial sums: shorter dependency chains, and the same grouping a
     * 2x4-lane SIMD version uses, so the two stay numerically close. */
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t i = 0;
    int j;
    for (; i + 8 <= n; i += 8)
        for (j = 0; j < 8; j++) acc[j] += a[i + j] * b[i + j];
    for (; i < n; i++) acc[0] += a[i] * b[i];
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

float kern_dot_q8_0_scalar(const block_q8_0 *a, const block_q8_0 *b, int64_t n) {
    int64_t nb = n / MLLM_QK8_0, ib;
    float sumf = 0.0f;
    for (ib = 0; ib < nb; ib++) {
        int32_t sumi = 0;
        int j;
        for (j = 0; j < MLLM_QK8_0; j++) sumi += (int32_t)a[ib].qs[j] * (int32_t)b[ib].qs[j];
        /* ggml's order: the two scales multiply first, then the integer sum. */
        sumf += (float)sumi * (fp16_to_f32(a[ib].d) * fp16_to_f32(b[ib].d));
    }
    return sumf;
}

void kern_axpy_f32_scalar(float *y, float alpha, const float *x, int64_t n) {
    int64_t i;
    for (i = 0; i < n; i++) y[i] += alpha * x[i];
}

/* Half-precision rows are widened a tile at a time into a stack buffer, and each tile is
 * reused for every token, so the conversion cost is paid once per row, not per token. */
#define KERN_TILE 256

static float bits_to_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* fp16 -> f32 without a call or a branch per element (decode streams every weight once
 * per token), and without feeding a subnormal float to arithmetic (x86 takes a slow assist
 * for each, and small weights are often fp16 subnormals): a normal half only needs its
 * exponent rebiased (+112) in integer arithmetic; a subnormal one is mantissa * 2^-24, an
 * int conversion and an exact multiply; inf/nan take the all-ones f32 exponent. The three
 * candidates are chosen with masks. Exact for all inputs (test_kernels checks every bit
 * pattern against dtype.c's fp16_to_f32). */
static float widen_f16_one(uint16_t h) {
    uint32_t em = (uint32_t)(h & 0x7fffu), o = em << 13, e = (uint32_t)(h & 0x7c00u), sub_bits;
    float sub = (float)(int32_t)em * 0x1p-24f; /* the value when e == 0 (em < 1024 then) */
    uint32_t is_sub = 0u - (uint32_t)(e == 0u), is_naninf = 0u - (uint32_t)(e == 0x7c00u); /* masks */
    uint32_t r = o + 0x38000000u;
    memcpy(&sub_bits, &sub, 4);
    r = (r & ~is_sub) | (sub_bits & is_sub);
    r = (r & ~is_naninf) | ((o | 0x7f800000u) & is_naninf);
    return bits_to_f32(r | (uint32_t)(h & 0x8000u) << 16);
}

static void widen_f16(const uint8_t *src, float *dst, int64_t n) {
    const uint16_t *h = (const uint16_t *)(const void *)src; /* GGUF rows are 2-byte aligned */
    int64_t i = 0;
    int j;
    /* fixed-size groups so compilers vectorize this at -O2 */
    for (; i + 16 <= n; i += 16)
        for (j = 0; j < 16; j++) dst[i + j] = widen_f16_one(h[i + j]);
    for (; i < n; i++) dst[i] = widen_f16_one(h[i]);
}

static void widen_bf16(const uint8_t *src, float *dst, int64_t n) {
    int64_t i;
    for (i = 0; i < n; i++) {
        uint16_t h;
        memcpy(&h, src + 2 * i, 2);
        dst[i] = bits_to_f32((uint32_t)h << 16);
    }
}

/* Widen n elements of a float-type row (F32 copied) — exposed for tests of the above. */
void kern_widen_row(uint32_t type, const void *src, float *dst, int64_t n) {
    if (type == MLLM_DTYPE_F16) widen_f16((const uint8_t *)src, dst, n);
    else if (type == MLLM_DTYPE_BF16) widen_bf16((const uint8_t *)src, dst, n);
    else memcpy(dst, src, sizeof(float) * (size_t)n);
}

/* ---------------------------------------------------------------- Q8_0 x4 layout */

void kern_q8_0_to_x4(void *w, int64_t n_in, int64_t n_rows, void *tmp) {
    const int64_t nb = n_in / MLLM_QK8_0;
    const size_t group = (size_t)(4 * nb) * sizeof(block_q8_0);
    uint8_t *g = (uint8_t *)w;
    int64_t r0, b;
    int r, j, i;
    for (r0 = 0; r0 + 4 <= n_rows; r0 += 4, g += group) {
        const block_q8_0 *rows = (const block_q8_0 *)tmp;
        memcpy(tmp, g, group);
        for (b = 0; b < nb; b++) {
            uint8_t *o = g + (size_t)b * KERN_Q8_0_X4_BLOCK;
            for (r = 0; r < 4; r++) memcpy(o + 2 * r, &rows[r * nb + b].d, 2);
            for (j = 0; j < 8; j++)
                for (r = 0; r < 4; r++)
                    for (i = 0; i < 4; i++)
                        o[8 + 16 * j + 4 * r + i] = (uint8_t)rows[r * nb + b].qs[4 * j + i] ^ 0x80u;
        }
    }
}

/* Row r's block b of an x4 matrix, back in the file's layout. */
static block_q8_0 x4_block(const uint8_t *w, int64_t nb, int64_t r, int64_t b) {
    const uint8_t *o = w + (size_t)((r / 4) * nb + b) * KERN_Q8_0_X4_BLOCK;
    block_q8_0 blk;
    int j, i;
    memcpy(&blk.d, o + 2 * (r % 4), 2);
    for (j = 0; j < 8; j++)
        for (i = 0; i < 4; i++) blk.qs[4 * j + i] = (int8_t)(o[8 + 16 * j + 4 * (r % 4) + i] ^ 0x80u);
    return blk;
}

void kern_q8_0_x4_block(const void *w, int64_t nb, int64_t r, int64_t i, void *blk) {
    const block_q8_0 b = x4_block((const uint8_t *)w, nb, r, i);
    memcpy(blk, &b, sizeof b);
}

void kern_matmul_f32_scalar(float *out, int64_t ldo, const kern_weights *w, int64_t n_in, int64_t n_rows,
                            const float *x, const void *xq, int64_t n_tok, kern_hints hints) {
    int64_t r, t;
    for (r = 0; r < n_rows; r++) {
        const float *wrow = (const float *)w->data + r * n_in;
        for (t = 0; t < n_tok; t++) out[t * ldo + r] = kern_dot_f32_scalar(wrow, x + t * n_in, n_in);
    }
}

void kern_matmul_half_scalar(float *out, int64_t ldo, const kern_weights *w, int64_t n_in, int64_t n_rows,
                             const float *x, const void *xq, int64_t n_tok, kern_hints hints) {
    int64_t r, t;
    for (r = 0; r < n_rows; r++) {
        const uint8_t *wrow = (const uint8_t *)w->data + (size_t)r * (size_t)n_in * 2;
        float tile[KERN_TILE];
        int64_t k0;
        for (t = 0; t < n_tok; t++) out[t * ldo + r] = 0.0f;
        for (k0 = 0; k0 < n_in; k0 += KERN_TILE) {
            int64_t len = n_in - k0 < KERN_TILE ? n_in - k0 : KERN_TILE;
            kern_widen_row(w->type, wrow + (size_t)k0 * 2, tile, len);
            for (t = 0; t < n_tok; t++) out[t * ldo + r] += kern_dot_f32_scalar(tile, x + t * n_in + k0, len);
        }
    }
}

void kern_matmul_q8_0_scalar(float *out, int64_t ldo, const kern_weights *w, int64_t n_in, int64_t n_rows,
                             const float *x, const void *xq, int64_t n_tok, kern_hints hints) {
    const int64_t nb = n_in / MLLM_QK8_0;
    const block_q8_0 *xb = (const block_q8_0 *)xq;
    int64_t r, t, b;
    for (r = 0; r < n_rows; r++) {
        const block_q8_0 *wrow = (const block_q8_0 *)w->data + r * nb;
        for (t = 0; t < n_tok; t++) {
            float sumf = 0.0f;
            if (w->layout != KERN_LAYOUT_Q8_0_X4) {
                out[t * ldo + r] = kern_dot_q8_0_scalar(wrow, xb + t * nb, n_in);
                continue;
            }
            for (b = 0; b < nb; b++) { /* kern_dot_q8_0_scalar block by block: the same sum */
                const block_q8_0 wb = x4_block((const uint8_t *)w->data, nb, r, b);
                sumf += kern_dot_q8_0_scalar(&wb, xb + t * nb + b, MLLM_QK8_0);
            }
            out[t * ldo + r] = sumf;
        }
    }
}

/* ---------------------------------------------------------------- exp, softmax, attention */

float kern_exp(float x) {
    float xc = x > 88.0f ? 88.0f : x, nf, r, z, p;
    int32_t n;
    uint32_t u;
    xc = xc < -86.0f ? -86.0f : xc; /* (nan passes both) */
    nf = rintf(xc * 1.44269504088896341f);
    n = nf == nf ? (int32_t)nf : 0;
    r = xc - nf * 0.693359375f;  /* ln 2 in two parts: the first exact times any n here */
    r = r - nf * -2.12194440e-4f;
    z = r * r;
    p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * z + r;
    p = p + 1.0f;
    memcpy(&u, &p, 4);
    u += (uint32_t)n << 23; /* p in [0.7, 1.5], n in [-124, 127]: stays normal */
    memcpy(&p, &u, 4);
    return x < -86.0f ? 0.0f : p;
}

void kern_softmax_scalar(float *x, int64_t n) {
    float max = -INFINITY, acc[8] = {0, 0, 0, 0, 0, 0, 0, 0}, sum, inv;
    int64_t i = 0;
    int j;
    for (i = 0; i < n; i++)
        if (x[i] > max) max = x[i];
    for (i = 0; i < n; i++) x[i] = kern_exp(x[i] - max);
    /* the sum grouped like kern_dot_f32 (8 partial sums), so SIMD can keep it exactly */
    for (i = 0; i + 8 <= n; i += 8)
        for (j = 0; j < 8; j++) acc[j] += x[i + j];
    for (; i < n; i++) acc[0] += x[i];
    sum = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    inv = 1.0f / sum;
    for (i = 0; i < n; i++) x[i] *= inv;
}

void kern_swiglu_scalar(float *out, const float *gate, const float *up, int64_t n) {
    int64_t i;
    for (i = 0; i < n; i++) {
        float g = gate[i];
        out[i] = g / (1.0f + kern_exp(-g)) * up[i];
    }
}

void kern_attention_scalar(float *out, const float *q, const float *k, const float *v, int64_t ld,
                           int32_t head_dim, int32_t n_q, int32_t n_pos, float scale, float *scores) {
    int32_t h, j;
    for (h = 0; h < n_q; h++) {
        const float *qh = q + (size_t)h * head_dim;
        float *oh = out + (size_t)h * head_dim, *s = scores + (size_t)h * n_pos;
        for (j = 0; j < n_pos; j++) s[j] = kern_dot_f32_scalar(qh, k + (size_t)j * ld, head_dim) * scale;
        kern_softmax_scalar(s, n_pos);
        memset(oh, 0, sizeof(float) * (size_t)head_dim);
        for (j = 0; j < n_pos; j++) kern_axpy_f32_scalar(oh, s[j], v + (size_t)j * ld, head_dim);
    }
}

#ifndef MLLM_KERNELS_SIMD128
int kern_q8_0_x4_preferred(void) { return 0; }
void kern_quantize_q8_0(const float *x, block_q8_0 *y, int64_t n) {
    kern_quantize_q8_0_scalar(x, y, n);
}
float kern_dot_f32(const float *a, const float *b, int64_t n) { return kern_dot_f32_scalar(a, b, n); }
void kern_axpy_f32(float *y, float alpha, const float *x, int64_t n) { kern_axpy_f32_scalar(y, alpha, x, n); }
void kern_attention(float *out, const float *q, const float *k, const float *v, int64_t ld, int32_t head_dim,
                    int32_t n_q, int32_t n_pos, float scale, float *scores) {
    kern_attention_scalar(out, q, k, v, ld, head_dim, n_q, n_pos, scale, scores);
}
void kern_softmax(float *x, int64_t n) { kern_softmax_scalar(x, n); }
void kern_swiglu(float *out, const float *gate, const float *up, int64_t n) { kern_swiglu_scalar(out, gate, up, n); }
#endif

/* ---------------------------------------------------------------- elementwise */

static float weight_at(const void *w, uint32_t wtype, int64_t i) {
    switch (wtype) {
    case MLLM_DTYPE_F16: return fp16_to_f32(((const uint16_t *)w)[i]);
    case MLLM_DTYPE_BF16: return bf16_to_f32(((const uint16_t *)w)[i]);
    default: return ((const float *)w)[i];
    }
}

void kern_rmsnorm(float *out, const float *x, const void *w, uint32_t wtype, int64_t n, float eps) {
    float ss = 0.0f, scale;
    int64_t i;
    for (i = 0; i < n; i++) ss += x[i] * x[i];
    scale = 1.0f / sqrtf(ss / (float)n + eps);
    if (wtype == MLLM_DTYPE_F32) {
        const float *wf = (const float *)w;
        for (i = 0; i < n; i++) out[i] = x[i] * scale * wf[i];
    } else {
        for (i = 0; i < n; i++) out[i] = x[i] * scale * weight_at(w, wtype, i);
    }
}

void kern_head_rmsnorm(float *x, int32_t n_head, int32_t head_dim, float eps) {
    int32_t h, i;
    for (h = 0; h < n_head; h++) {
        float *v = x + (size_t)h * head_dim, ss = 0.0f, scale;
        for (i = 0; i < head_dim; i++) ss += v[i] * v[i];
        scale = 1.0f / sqrtf(ss / (float)head_dim + eps);
        for (i = 0; i < head_dim; i++) v[i] *= scale;
    }
}

void kern_rope_table(float *cs, int32_t pos, int32_t n_rot, float base) {
    int32_t i;
    for (i = 0; i < n_rot / 2; i++) {
        double theta = (double)pos * pow((double)base, -2.0 * (double)i / (double)n_rot);
        cs[2 * i] = (float)cos(theta);
        cs[2 * i + 1] = (float)sin(theta);
    }
}

void kern_rope(float *x, int32_t n_head, int32_t head_dim, int32_t n_rot, const float *cs) {
    int32_t h, i;
    for (h = 0; h < n_head; h++) {
        float *v = x + (size_t)h * head_dim;
        for (i = 0; i < n_rot / 2; i++) {
            float c = cs[2 * i], s = cs[2 * i + 1];
            float x0 = v[2 * i], x1 = v[2 * i + 1];
            v[2 * i] = x0 * c - x1 * s;
            v[2 * i + 1] = x0 * s + x1 * c;
        }
    }
}
