/* quant_dot.c — ggml's generic CPU dot products of the 4/5/6-bit types (ggml-cpu/quants.c
 * *_generic), transcribed: integer partial sums exactly as ggml groups them (they are exact,
 * so only the float steps' order matters, and that is kept). */
#include "quant_dot.h"

#include <stddef.h>
#include <string.h>

#include "codec.h"

static const int8_t iq4nl_values[16] = QUANT_IQ4NL_VALUES;

#define H2F(h) fp16_to_f32(h)

float q4_0_dot_q8_0(int64_t n, const void *w, const void *a) {
    const block_q4_0 *x = w;
    const block_q8_0 *y = a;
    const int64_t nb = n / QK4_0;
    float sumf = 0;
    int64_t ib;
    int j;
    for (ib = 0; ib < nb; ++ib) {
        int sumi0 = 0, sumi1 = 0, sumi;
        for (j = 0; j < QK4_0 / 2; ++j) {
            const int v0 = (x[ib].qs[j] & 0x0F) - 8;
            const int v1 = (x[ib].qs[j] >> 4) - 8;
            sumi0 += v0 * y[ib].qs[j];
            sumi1 += v1 * y[ib].qs[j + QK4_0 / 2];
        }
        sumi = sumi0 + sumi1;
        sumf += sumi * H2F(x[ib].d) * H2F(y[ib].d);
    }
    return sumf;
}

float q4_1_dot_q8_1(int64_t n, const void *w, const void *a) {
    const block_q4_1 *x = w;
    const block_q8_1 *y = a;
    const int64_t nb = n / QK4_1;
    float sumf = 0;
    int64_t ib;
    int j;
    for (ib = 0; ib < nb; ++ib) {
        int sumi0 = 0, sumi1 = 0, sumi;
        for (j = 0; j < QK4_1 / 2; ++j) {
            const int v0 = (x[ib].qs[j] & 0x0F);
            const int v1 = (x[ib].qs[j] >> 4);
            sumi0 += v0 * y[ib].qs[j];
            sumi1 += v1 * y[ib].qs[j + QK4_1 / 2];
        }
        sumi = sumi0 + sumi1;
        sumf += (H2F(x[ib].d) * H2F(y[ib].d)) * sumi + H2F(x[ib].m) * H2F(y[ib].s);
    }
    return sumf;
}

float q5_0_dot_q8_0(int64_t n, const void *w, const void *a) {
    const block_q5_0 *x = w;
    const block_q8_0 *y = a;
    const int64_t nb = n / QK5_0;
    float sumf = 0;
    int64_t ib;
    int j;
    for (ib = 0; ib < nb; ++ib) {
        uint32_t qh;
        int sumi0 = 0, sumi1 = 0, sumi;
        memcpy(&qh, x[ib].qh, sizeof qh);
        for (j = 0; j < QK5_0 / 2; ++j) {
            const uint8_t xh_0 = (uint8_t)(((qh & (1u << (j + 0))) >> (j + 0)) << 4);
            const uint8_t xh_1 = (uint8_t)((qh & (1u << (j + 16))) >> (j + 12));
            const int32_t x0 = (int8_t)(((x[ib].qs[j] & 0x0F) | xh_0) - 16);
            const int32_t x1 = (int8_t)(((x[ib].qs[j] >> 4) | xh_1) - 16);
            sumi0 += x0 * y[ib].qs[j];
            sumi1 += x1 * y[ib].qs[j + QK5_0 / 2];
        }
        sumi = sumi0 + sumi1;
        sumf += (H2F(x[ib].d) * H2F(y[ib].d)) * sumi;
    }
    return sumf;
}

float q5_1_dot_q8_1(int64_t n, const void *w, const void *a) {
    const block_q5_1 *x = w;
    const block_q8_1 *y = a;
    const int64_t nb = n / QK5_1;
    float sumf = 0;
    int64_t ib;
    int j;
    for (ib = 0; ib < nb; ++ib) {
        uint32_t qh;
        int sumi0 = 0, sumi1 = 0, sumi;
        memcpy(&qh, x[ib].qh, sizeof qh);
        for (j = 0; j < QK5_1 / 2; ++j) {
            const uint8_t xh_0 = (uint8_t)(((qh >> (j + 0)) << 4) & 0x10);
            const uint8_t xh_1 = (uint8_t)(((qh >> (j + 12))) & 0x10);
            const int32_t x0 = (x[ib].qs[j] & 0xF) | xh_0;
            const int32_t x1 = (x[ib].qs[j] >> 4) | xh_1;
            sumi0 += x0 * y[ib].qs[j];
            sumi1 += x1 * y[ib].qs[j + QK5_1 / 2];
        }
        sumi = sumi0 + sumi1;
        sumf += (H2F(x[ib].d) * H2F(y[ib].d)) * sumi + H2F(x[ib].m) * H2F(y[ib].s);
    }
    return sumf;
}

float iq4_nl_dot_q8_0(int64_t n, const void *w, const void *a) {
    const block_iq4_nl *x = w;
    const block_q8_0 *y = a;
    const int64_t nb = n / QK4_NL;
    float sumf = 0;
    int64_t ib;
    int j;
    for (ib = 0; ib < nb; ++ib) {
        const float d = H2F(y[ib].d) * H2F(x[ib].d);
        int sumi1 = 0, sumi2 = 0;
        for (j = 0; j < QK4_NL / 2; ++j) {
            sumi1 += y[ib].qs[j + 0] * iq4nl_values[x[ib].qs[j] & 0xf];
            sumi2 += y[ib].qs[j + QK4_NL / 2] * iq4nl_values[x[ib].qs[j] >> 4];
        }
        sumf += d * (sumi1 + sumi2);
    }
    return sumf;
}

float q2_k_dot_q8_k(int64_t n, const void *w, const void *a) {
    const block_q2_K *x = w;
    const block_q8_K *y = a;
    const int64_t nb = n / QK_K;
    float sumf = 0;
    int64_t i;
    for (i = 0; i < nb; ++i) {
        const uint8_t *q2 = x[i].qs, *sc = x[i].scales;
        const int8_t *q8 = y[i].qs;
        int summs = 0, isum = 0, is = 0, d, j, k, l;
        float dall, dmin;
        for (j = 0; j < 16; ++j) summs += y[i].bsums[j] * (sc[j] >> 4);
        dall = y[i].d * H2F(x[i].d);
        dmin = y[i].d * H2F(x[i].dmin);
        for (k = 0; k < QK_K / 128; ++k) {
            int shift = 0;
            for (j = 0; j < 4; ++j) {
                int isuml = 0;
                d = sc[is++] & 0xF;
                for (l = 0; l < 16; ++l) isuml += q8[l] * ((q2[l] >> shift) & 3);
                isum += d * isuml;
                d = sc[is++] & 0xF;
                isuml = 0;
                for (l = 16; l < 32; ++l) isuml += q8[l] * ((q2[l] >> shift) & 3);
                isum += d * isuml;
                shift += 2;
                q8 += 32;
            }
            q2 += 32;
        }
        sumf += dall * isum - dmin * summs;
    }
    return sumf;
}

/* The eight-lane accumulation ggml's generic K dots share: a[] (256 signed levels) times q8,
 * in 16-element groups scaled by sc16[g] (int), summed per lane l = element % 8. */
static void k_lanes(const int8_t *a, const int8_t *q8, const int32_t *sc16, int32_t *aux32) {
    int16_t aux16[8];
    int g, h, l;
    memset(aux32, 0, 8 * sizeof(int32_t));
    for (g = 0; g < QK_K / 16; ++g) {
        for (h = 0; h < 2; ++h) {
            for (l = 0; l < 8; ++l) aux16[l] = (int16_t)(q8[l] * a[l]);
            for (l = 0; l < 8; ++l) aux32[l] += sc16[g] * aux16[l];
            q8 += 8;
            a += 8;
        }
    }
}

float q3_k_dot_q8_k(int64_t n, const void *w, const void *act) {
    const block_q3_K *x = w;
    const block_q8_K *y = act;
    const int64_t nb = n / QK_K;
    const uint32_t kmask1 = 0x03030303, kmask2 = 0x0f0f0f0f;
    int8_t aux8[QK_K], scales[16];
    int32_t aux32[8], sc16[16];
    uint32_t auxs[4], tmp;
    float sums[8], sumf = 0;
    int64_t i;
    int j, l;
    memset(sums, 0, sizeof sums);
    for (i = 0; i < nb; ++i) {
        const uint8_t *q3 = x[i].qs, *hm = x[i].hmask;
        int8_t *a = aux8;
        uint8_t m = 1;
        float d;
        for (j = 0; j < QK_K; j += 128) {
            int shift;
            for (shift = 0; shift < 8; shift += 2) {
                for (l = 0; l < 32; ++l) a[l] = (int8_t)((q3[l] >> shift) & 3);
                for (l = 0; l < 32; ++l) a[l] = (int8_t)(a[l] - (hm[l] & m ? 0 : 4));
                a += 32;
                m = (uint8_t)(m << 1);
            }
            q3 += 32;
        }
        memcpy(auxs, x[i].scales, 12);
        tmp = auxs[2];
        auxs[2] = ((auxs[0] >> 4) & kmask2) | (((tmp >> 4) & kmask1) << 4);
        auxs[3] = ((auxs[1] >> 4) & kmask2) | (((tmp >> 6) & kmask1) << 4);
        auxs[0] = (auxs[0] & kmask2) | (((tmp >> 0) & kmask1) << 4);
        auxs[1] = (auxs[1] & kmask2) | (((tmp >> 2) & kmask1) << 4);
        memcpy(scales, auxs, 16);
        for (j = 0; j < 16; ++j) sc16[j] = scales[j] - 32;
        k_lanes(aux8, y[i].qs, sc16, aux32);
        d = H2F(x[i].d) * y[i].d;
        for (l = 0; l < 8; ++l) sums[l] += d * aux32[l];
    }
    for (l = 0; l < 8; ++l) sumf += sums[l];
    return sumf;
}

/* One super-block of Q4_K (off_qh < 0) or Q5_K into the eight lane sums and sumf, as ggml's
 * loop body (the rows' dots and the Q4_K x4 layout's scalar path share it). */
static void k45_block(const uint8_t *blk, size_t off_scales, size_t off_qs, long off_qh, const block_q8_K *y,
                      float *sums, float *sumf) {
    const uint8_t *q4 = blk + off_qs, *hm = off_qh >= 0 ? blk + off_qh : NULL;
    int8_t aux8[QK_K];
    int32_t aux32[8], sc16[16];
    uint8_t scales8[8], mins8[8];
    uint16_t dh, dminh;
    int8_t *a = aux8;
    uint8_t m = 1;
    int sumi = 0, j, l;
    float d, dmin;
    for (j = 0; j < QK_K / 64; ++j) {
        for (l = 0; l < 32; ++l) a[l] = (int8_t)(q4[l] & 0xF);
        if (hm) for (l = 0; l < 32; ++l) a[l] = (int8_t)(a[l] + (hm[l] & m ? 16 : 0));
        a += 32;
        m = (uint8_t)(m << 1);
        for (l = 0; l < 32; ++l) a[l] = (int8_t)(q4[l] >> 4);
        if (hm) for (l = 0; l < 32; ++l) a[l] = (int8_t)(a[l] + (hm[l] & m ? 16 : 0));
        a += 32;
        m = (uint8_t)(m << 1);
        q4 += 32;
    }
    quant_k4_unpack(blk + off_scales, scales8, mins8);
    for (j = 0; j < QK_K / 16; ++j) sumi += y->bsums[j] * mins8[j / 2];
    for (j = 0; j < 16; ++j) sc16[j] = scales8[j / 2];
    k_lanes(aux8, y->qs, sc16, aux32);
    memcpy(&dh, blk, 2);
    memcpy(&dminh, blk + 2, 2);
    d = H2F(dh) * y->d;
    for (l = 0; l < 8; ++l) sums[l] += d * aux32[l];
    dmin = H2F(dminh) * y->d;
    *sumf -= dmin * sumi;
}

static float k45_dot(int64_t n, const uint8_t *base, size_t stride, size_t off_scales, size_t off_qs, long off_qh,
                     const block_q8_K *y) {
    const int64_t nb = n / QK_K;
    float sums[8], sumf = 0;
    int64_t i;
    memset(sums, 0, sizeof sums);
    for (i = 0; i < nb; ++i) k45_block(base + (size_t)i * stride, off_scales, off_qs, off_qh, y + i, sums, &sumf);
    return quant_k_finish(sums, sumf);
}

void q4_k_acc_q8_k(const void *blk, const void *a, float *sums, float *sumf) {
    k45_block(blk, offsetof(block_q4_K, scales), offsetof(block_q4_K, qs), -1, a, sums, sumf);
}

void q5_k_acc_q8_k(const void *blk, const void *a, float *sums, float *sumf) {
    k45_block(blk, offsetof(block_q5_K, scales), offsetof(block_q5_K, qs), (long)offsetof(block_q5_K, qh), a, sums, sumf);
}

float quant_k_finish(const float *sums, float sumf) {
    int l;
    for (l = 0; l < 8; ++l) sumf += sums[l];
    return sumf;
}

float q4_k_dot_q8_k(int64_t n, const void *w, const void *a) {
    return k45_dot(n, w, sizeof(block_q4_K), offsetof(block_q4_K, scales), offsetof(block_q4_K, qs), -1, a);
}

float q5_k_dot_q8_k(int64_t n, const void *w, const void *a) {
    return k45_dot(n, w, sizeof(block_q5_K), offsetof(block_q5_K, scales), offsetof(block_q5_K, qs),
                   (long)offsetof(block_q5_K, qh), a);
}

/* One super-block of Q6_K into the eight lane sums, as ggml's loop body. */
static void q6_block(const block_q6_K *x, const block_q8_K *y, float *sums) {
    const uint8_t *q4 = x->ql, *qh = x->qh;
    int8_t aux8[QK_K];
    int32_t aux32[8], sc16[16];
    int8_t *a = aux8;
    float d;
    int j, l;
    for (j = 0; j < QK_K; j += 128) {
        for (l = 0; l < 32; ++l) {
            a[l + 0] = (int8_t)((int8_t)((q4[l + 0] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32);
            a[l + 32] = (int8_t)((int8_t)((q4[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
            a[l + 64] = (int8_t)((int8_t)((q4[l + 0] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
            a[l + 96] = (int8_t)((int8_t)((q4[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
        }
        a += 128;
        q4 += 64;
        qh += 32;
    }
    for (j = 0; j < 16; ++j) sc16[j] = x->scales[j];
    k_lanes(aux8, y->qs, sc16, aux32);
    d = H2F(x->d) * y->d;
    for (l = 0; l < 8; ++l) sums[l] += d * aux32[l];
}

float q6_k_dot_q8_k(int64_t n, const void *w, const void *act) {
    const block_q6_K *x = w;
    const block_q8_K *y = act;
    const int64_t nb = n / QK_K;
    float sums[8];
    int64_t i;
    memset(sums, 0, sizeof sums);
    for (i = 0; i < nb; ++i) q6_block(x + i, y + i, sums);
    return quant_k_finish(sums, 0);
}

void q6_k_acc_q8_k(const void *blk, const void *a, float *sums) { q6_block(blk, a, sums); }

float iq4_xs_dot_q8_k(int64_t n, const void *w, const void *act) {
    const block_iq4_xs *x = w;
    const block_q8_K *y = act;
    const int64_t nb = n / QK_K;
    float sumf = 0;
    int64_t ibl;
    int ib, j;
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
            int sumi1 = 0, sumi2 = 0;
            h = (uint16_t)(h >> 4);
            for (j = 0; j < 16; ++j) {
                sumi1 += q8[j + 0] * iq4nl_values[qs[j] & 0xf];
                sumi2 += q8[j + 16] * iq4nl_values[qs[j] >> 4];
            }
            sumf += d1 * (sumi1 + sumi2);
            qs += 16;
            q8 += 32;
            sumi1 = sumi2 = 0;
            for (j = 0; j < 16; ++j) {
                sumi1 += q8[j + 0] * iq4nl_values[qs[j] & 0xf];
                sumi2 += q8[j + 16] * iq4nl_values[qs[j] >> 4];
            }
            sumf += d2 * (sumi1 + sumi2);
            qs += 16;
            q8 += 32;
        }
    }
    return sumf;
}
