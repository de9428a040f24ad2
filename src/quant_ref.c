/* quant_ref.c — ggml's reference quantizers and dequantizers (ggml/src/ggml-quants.c),
 * transcribed operation for operation: the same float expressions in the same order, the
 * same integer truncations, so every output byte and float equals ggml's (tests/c/
 * test_quant_ggml.c checks against libggml itself). No allocation; block-sized scratch on
 * the stack. */
#include "quant_ref.h"

#include <float.h>
#include <stddef.h>
#include <math.h>
#include <string.h>

#include "codec.h"
#include "dtype.h"

#define QMIN(a, b) ((a) < (b) ? (a) : (b)) /* ggml's MIN/MAX, NaN behaviour included */
#define QMAX(a, b) ((a) > (b) ? (a) : (b))
#define GROUP_MAX_EPS 1e-15f

static const int8_t iq4nl_values[16] = QUANT_IQ4NL_VALUES;

/* ggml's round-to-nearest bit trick, exact for |f| <= 2^22, deterministic bits beyond. */
static int nearest_int(float fval) {
    float val = fval + 12582912.f;
    int32_t i;
    memcpy(&i, &val, sizeof i);
    return (i & 0x007fffff) - 0x00400000;
}

/* float -> int32 as x86's cvttss2si, which ggml's builds use for (int8_t)f / (uint8_t)f:
 * truncation; NaN and out-of-range give INT32_MIN. C leaves those cases undefined, so the
 * engine spells the x86 result out (wasm's trapping conversion never sees them). */
static int32_t cvt_i32(float f) {
    if (!(f >= -2147483648.0f && f < 2147483648.0f)) return INT32_MIN;
    return (int32_t)f;
}

/* low byte of an int, as the narrowing conversions of the C code do on every target here */
static int8_t low_i8(int32_t v) { return (int8_t)(uint8_t)((uint32_t)v & 0xffu); }
static uint8_t low_u8(int32_t v) { return (uint8_t)((uint32_t)v & 0xffu); }

#define H2F(h) fp16_to_f32(h)
#define F2H(f) f32_to_fp16(f)

/* ------------------------------------------------------------------ legacy 32-blocks */

void q4_0_quantize(const float *x, void *vy, int64_t k) {
    block_q4_0 *y = vy;
    const int qk = QK4_0;
    const int64_t nb = k / qk;
    int64_t i;
    int j;
    for (i = 0; i < nb; i++) {
        float amax = 0.0f, max = 0.0f, d, id;
        for (j = 0; j < qk; j++) {
            const float v = x[i * qk + j];
            if (amax < fabsf(v)) {
                amax = fabsf(v);
                max = v;
            }
        }
        d = max / -8;
        id = d ? 1.0f / d : 0.0f;
        y[i].d = F2H(d);
        for (j = 0; j < qk / 2; ++j) {
            const float x0 = x[i * qk + 0 + j] * id;
            const float x1 = x[i * qk + qk / 2 + j] * id;
            const uint8_t xi0 = (uint8_t)QMIN(15, low_i8(cvt_i32(x0 + 8.5f)));
            const uint8_t xi1 = (uint8_t)QMIN(15, low_i8(cvt_i32(x1 + 8.5f)));
            y[i].qs[j] = (uint8_t)(xi0 | (xi1 << 4));
        }
    }
}

void q4_1_quantize(const float *x, void *vy, int64_t k) {
    block_q4_1 *y = vy;
    const int qk = QK4_1;
    const int64_t nb = k / qk;
    int64_t i;
    int j;
    for (i = 0; i < nb; i++) {
        float min = FLT_MAX, max = -FLT_MAX, d, id;
        for (j = 0; j < qk; j++) {
            const float v = x[i * qk + j];
            if (v < min) min = v;
            if (v > max) max = v;
        }
        d = (max - min) / ((1 << 4) - 1);
        id = d ? 1.0f / d : 0.0f;
        y[i].d = F2H(d);
        y[i].m = F2H(min);
        for (j = 0; j < qk / 2; ++j) {
            const float x0 = (x[i * qk + 0 + j] - min) * id;
            const float x1 = (x[i * qk + qk / 2 + j] - min) * id;
            const uint8_t xi0 = (uint8_t)QMIN(15, low_i8(cvt_i32(x0 + 0.5f)));
            const uint8_t xi1 = (uint8_t)QMIN(15, low_i8(cvt_i32(x1 + 0.5f)));
            y[i].qs[j] = (uint8_t)(xi0 | (xi1 << 4));
        }
    }
}

void q5_0_quantize(const float *x, void *vy, int64_t k) {
    block_q5_0 *y = vy;
    const int qk = QK5_0;
    const int64_t nb = k / qk;
    int64_t i;
    int j;
    for (i = 0; i < nb; i++) {
        float amax = 0.0f, max = 0.0f, d, id;
        uint32_t qh = 0;
        for (j = 0; j < qk; j++) {
            const float v = x[i * qk + j];
            if (amax < fabsf(v)) {
                amax = fabsf(v);
                max = v;
            }
        }
        d = max / -16;
        id = d ? 1.0f / d : 0.0f;
        y[i].d = F2H(d);
        for (j = 0; j < qk / 2; ++j) {
            const float x0 = x[i * qk + 0 + j] * id;
            const float x1 = x[i * qk + qk / 2 + j] * id;
            const uint8_t xi0 = (uint8_t)QMIN(31, low_i8(cvt_i32(x0 + 16.5f)));
            const uint8_t xi1 = (uint8_t)QMIN(31, low_i8(cvt_i32(x1 + 16.5f)));
            y[i].qs[j] = (uint8_t)((xi0 & 0x0F) | ((xi1 & 0x0F) << 4));
            qh |= ((xi0 & 0x10u) >> 4) << (j + 0);
            qh |= ((xi1 & 0x10u) >> 4) << (j + qk / 2);
        }
        memcpy(&y[i].qh, &qh, sizeof qh);
    }
}

void q5_1_quantize(const float *x, void *vy, int64_t k) {
    block_q5_1 *y = vy;
    const int qk = QK5_1;
    const int64_t nb = k / qk;
    int64_t i;
    int j;
    for (i = 0; i < nb; i++) {
        float min = FLT_MAX, max = -FLT_MAX, d, id;
        uint32_t qh = 0;
        for (j = 0; j < qk; j++) {
            const float v = x[i * qk + j];
            if (v < min) min = v;
            if (v > max) max = v;
        }
        d = (max - min) / ((1 << 5) - 1);
        id = d ? 1.0f / d : 0.0f;
        y[i].d = F2H(d);
        y[i].m = F2H(min);
        for (j = 0; j < qk / 2; ++j) {
            const float x0 = (x[i * qk + 0 + j] - min) * id;
            const float x1 = (x[i * qk + qk / 2 + j] - min) * id;
            const uint8_t xi0 = low_u8(cvt_i32(x0 + 0.5f));
            const uint8_t xi1 = low_u8(cvt_i32(x1 + 0.5f));
            y[i].qs[j] = (uint8_t)((xi0 & 0x0F) | ((xi1 & 0x0F) << 4));
            qh |= ((xi0 & 0x10u) >> 4) << (j + 0);
            qh |= ((xi1 & 0x10u) >> 4) << (j + qk / 2);
        }
        memcpy(&y[i].qh, &qh, sizeof qh);
    }
}

void q8_1_quantize(const float *x, void *vy, int64_t k) {
    block_q8_1 *y = vy;
    const int64_t nb = k / QK8_1;
    int64_t i;
    int j;
    for (i = 0; i < nb; i++) {
        float amax = 0.0f, d, id;
        int sum = 0;
        for (j = 0; j < QK8_1; j++) {
            const float v = x[i * QK8_1 + j];
            amax = QMAX(amax, fabsf(v));
        }
        d = amax / ((1 << 7) - 1);
        id = d ? 1.0f / d : 0.0f;
        y[i].d = F2H(d);
        for (j = 0; j < QK8_1 / 2; ++j) {
            const float v0 = x[i * QK8_1 + j] * id;
            const float v1 = x[i * QK8_1 + QK8_1 / 2 + j] * id;
            y[i].qs[j] = low_i8(cvt_i32(roundf(v0)));
            y[i].qs[QK8_1 / 2 + j] = low_i8(cvt_i32(roundf(v1)));
            sum += y[i].qs[j];
            sum += y[i].qs[QK8_1 / 2 + j];
        }
        y[i].s = F2H(sum * d);
    }
}

void q4_0_dequantize(const void *vx, float *y, int64_t k) {
    const block_q4_0 *x = vx;
    const int qk = QK4_0;
    const int64_t nb = k / qk;
    int64_t i;
    int j;
    for (i = 0; i < nb; i++) {
        const float d = H2F(x[i].d);
        for (j = 0; j < qk / 2; ++j) {
            const int x0 = (x[i].qs[j] & 0x0F) - 8;
            const int x1 = (x[i].qs[j] >> 4) - 8;
            y[i * qk + j + 0] = x0 * d;
            y[i * qk + j + qk / 2] = x1 * d;
        }
    }
}

void q4_1_dequantize(const void *vx, float *y, int64_t k) {
    const block_q4_1 *x = vx;
    const int qk = QK4_1;
    const int64_t nb = k / qk;
    int64_t i;
    int j;
    for (i = 0; i < nb; i++) {
        const float d = H2F(x[i].d);
        const float m = H2F(x[i].m);
        for (j = 0; j < qk / 2; ++j) {
            const int x0 = (x[i].qs[j] & 0x0F);
            const int x1 = (x[i].qs[j] >> 4);
            y[i * qk + j + 0] = x0 * d + m;
            y[i * qk + j + qk / 2] = x1 * d + m;
        }
    }
}

void q5_0_dequantize(const void *vx, float *y, int64_t k) {
    const block_q5_0 *x = vx;
    const int qk = QK5_0;
    const int64_t nb = k / qk;
    int64_t i;
    int j;
    for (i = 0; i < nb; i++) {
        const float d = H2F(x[i].d);
        uint32_t qh;
        memcpy(&qh, x[i].qh, sizeof qh);
        for (j = 0; j < qk / 2; ++j) {
            const uint8_t xh_0 = (uint8_t)(((qh >> (j + 0)) << 4) & 0x10);
            const uint8_t xh_1 = (uint8_t)(((qh >> (j + 12))) & 0x10);
            const int32_t x0 = ((x[i].qs[j] & 0x0F) | xh_0) - 16;
            const int32_t x1 = ((x[i].qs[j] >> 4) | xh_1) - 16;
            y[i * qk + j + 0] = x0 * d;
            y[i * qk + j + qk / 2] = x1 * d;
        }
    }
}

void q5_1_dequantize(const void *vx, float *y, int64_t k) {
    const block_q5_1 *x = vx;
    const int qk = QK5_1;
    const int64_t nb = k / qk;
    int64_t i;
    int j;
    for (i = 0; i < nb; i++) {
        const float d = H2F(x[i].d);
        const float m = H2F(x[i].m);
        uint32_t qh;
        memcpy(&qh, x[i].qh, sizeof qh);
        for (j = 0; j < qk / 2; ++j) {
            const uint8_t xh_0 = (uint8_t)(((qh >> (j + 0)) << 4) & 0x10);
            const uint8_t xh_1 = (uint8_t)(((qh >> (j + 12))) & 0x10);
            const int x0 = (x[i].qs[j] & 0x0F) | xh_0;
            const int x1 = (x[i].qs[j] >> 4) | xh_1;
            y[i * qk + j + 0] = x0 * d + m;
            y[i * qk + j + qk / 2] = x1 * d + m;
        }
    }
}

/* (ggml has no dequantize_row_q8_1; its to_float of Q8_1 is NULL. This one is d * q.) */
void q8_1_dequantize(const void *vx, float *y, int64_t k) {
    const block_q8_1 *x = vx;
    const int64_t nb = k / QK8_1;
    int64_t i;
    int j;
    for (i = 0; i < nb; i++) {
        const float d = H2F(x[i].d);
        for (j = 0; j < QK8_1; ++j) y[i * QK8_1 + j] = x[i].qs[j] * d;
    }
}

/* ------------------------------------------------------------------ K-quant helpers */

static float make_qx_quants(int n, int nmax, const float *x, int8_t *L, int rmse_type) {
    float max = 0, amax = 0, iscale, sumlx = 0, suml2 = 0, scale, best;
    int i, is, return_early = 0;
    for (i = 0; i < n; ++i) {
        float ax = fabsf(x[i]);
        if (ax > amax) {
            amax = ax;
            max = x[i];
        }
    }
    if (amax < GROUP_MAX_EPS) {
        for (i = 0; i < n; ++i) L[i] = 0;
        return 0.f;
    }
    iscale = -nmax / max;
    if (rmse_type == 0) {
        for (i = 0; i < n; ++i) {
            int l = nearest_int(iscale * x[i]);
            L[i] = low_i8(nmax + QMAX(-nmax, QMIN(nmax - 1, l)));
        }
        return 1 / iscale;
    }
    if (rmse_type < 0) {
        rmse_type = -rmse_type;
        return_early = 1;
    }
    for (i = 0; i < n; ++i) {
        int l = nearest_int(iscale * x[i]);
        float w;
        l = QMAX(-nmax, QMIN(nmax - 1, l));
        L[i] = low_i8(l + nmax);
        w = rmse_type == 1 ? x[i] * x[i] : rmse_type == 2 ? 1 : rmse_type == 3 ? fabsf(x[i]) : sqrtf(fabsf(x[i]));
        sumlx += w * x[i] * l;
        suml2 += w * l * l;
    }
    scale = suml2 ? sumlx / suml2 : 0.0f;
    if (return_early) return suml2 > 0 ? 0.5f * (scale + 1 / iscale) : 1 / iscale;
    best = scale * sumlx;
    for (is = -9; is <= 9; ++is) {
        if (is == 0) continue;
        iscale = -(nmax + 0.1f * is) / max;
        sumlx = suml2 = 0;
        for (i = 0; i < n; ++i) {
            int l = nearest_int(iscale * x[i]);
            float w;
            l = QMAX(-nmax, QMIN(nmax - 1, l));
            w = rmse_type == 1 ? x[i] * x[i] : rmse_type == 2 ? 1 : rmse_type == 3 ? fabsf(x[i]) : sqrtf(fabsf(x[i]));
            sumlx += w * x[i] * l;
            suml2 += w * l * l;
        }
        if (suml2 > 0 && sumlx * sumlx > best * suml2) {
            for (i = 0; i < n; ++i) {
                int l = nearest_int(iscale * x[i]);
                L[i] = low_i8(nmax + QMAX(-nmax, QMIN(nmax - 1, l)));
            }
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

static float make_q3_quants(int n, int nmax, const float *x, int8_t *L, int do_rmse) {
    float max = 0, amax = 0, iscale;
    int i;
    for (i = 0; i < n; ++i) {
        float ax = fabsf(x[i]);
        if (ax > amax) {
            amax = ax;
            max = x[i];
        }
    }
    if (amax < GROUP_MAX_EPS) {
        for (i = 0; i < n; ++i) L[i] = 0;
        return 0.f;
    }
    iscale = -nmax / max;
    if (do_rmse) {
        float sumlx = 0, suml2 = 0;
        int itry;
        for (i = 0; i < n; ++i) {
            int l = nearest_int(iscale * x[i]);
            float w;
            l = QMAX(-nmax, QMIN(nmax - 1, l));
            L[i] = low_i8(l);
            w = x[i] * x[i];
            sumlx += w * x[i] * l;
            suml2 += w * l * l;
        }
        for (itry = 0; itry < 5; ++itry) {
            int n_changed = 0;
            for (i = 0; i < n; ++i) {
                float w = x[i] * x[i];
                float slx = sumlx - w * x[i] * L[i];
                if (slx > 0) {
                    float sl2 = suml2 - w * L[i] * L[i];
                    int new_l = nearest_int(x[i] * sl2 / slx);
                    new_l = QMAX(-nmax, QMIN(nmax - 1, new_l));
                    if (new_l != L[i]) {
                        slx += w * x[i] * new_l;
                        sl2 += w * new_l * new_l;
                        if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
                            L[i] = low_i8(new_l);
                            sumlx = slx;
                            suml2 = sl2;
                            ++n_changed;
                        }
                    }
                }
            }
            if (!n_changed) break;
        }
        for (i = 0; i < n; ++i) L[i] = low_i8(L[i] + nmax);
        return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
    }
    for (i = 0; i < n; ++i) {
        int l = nearest_int(iscale * x[i]);
        l = QMAX(-nmax, QMIN(nmax - 1, l));
        L[i] = low_i8(l + nmax);
    }
    return 1 / iscale;
}

static float make_qkx2_quants(int n, int nmax, const float *x, const float *weights, uint8_t *L, float *the_min,
                              uint8_t *Laux, float rmin, float rdelta, int nstep, int use_mad) {
    float min = x[0], max = x[0], sum_w = weights[0], sum_x = sum_w * x[0], iscale, scale, best_error = 0;
    int i, is;
    for (i = 1; i < n; ++i) {
        float w;
        if (x[i] < min) min = x[i];
        if (x[i] > max) max = x[i];
        w = weights[i];
        sum_w += w;
        sum_x += w * x[i];
    }
    if (min > 0) min = 0;
    if (max == min) {
        for (i = 0; i < n; ++i) L[i] = 0;
        *the_min = -min;
        return 0.f;
    }
    iscale = nmax / (max - min);
    scale = 1 / iscale;
    for (i = 0; i < n; ++i) {
        int l = nearest_int(iscale * (x[i] - min));
        float diff, w;
        L[i] = low_u8(QMAX(0, QMIN(nmax, l)));
        diff = scale * L[i] + min - x[i];
        diff = use_mad ? fabsf(diff) : diff * diff;
        w = weights[i];
        best_error += w * diff;
    }
    if (nstep < 1) {
        *the_min = -min;
        return scale;
    }
    for (is = 0; is <= nstep; ++is) {
        float sum_l = 0, sum_l2 = 0, sum_xl = 0, D;
        iscale = (rmin + rdelta * is + nmax) / (max - min);
        for (i = 0; i < n; ++i) {
            int l = nearest_int(iscale * (x[i] - min));
            float w;
            l = QMAX(0, QMIN(nmax, l));
            Laux[i] = low_u8(l);
            w = weights[i];
            sum_l += w * l;
            sum_l2 += w * l * l;
            sum_xl += w * l * x[i];
        }
        D = sum_w * sum_l2 - sum_l * sum_l;
        if (D > 0) {
            float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
            float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
            float cur_error = 0;
            if (this_min > 0) {
                this_min = 0;
                this_scale = sum_xl / sum_l2;
            }
            for (i = 0; i < n; ++i) {
                float diff = this_scale * Laux[i] + this_min - x[i], w;
                diff = use_mad ? fabsf(diff) : diff * diff;
                w = weights[i];
                cur_error += w * diff;
            }
            if (cur_error < best_error) {
                for (i = 0; i < n; ++i) L[i] = Laux[i];
                best_error = cur_error;
                scale = this_scale;
                min = this_min;
            }
        }
    }
    *the_min = -min;
    return scale;
}

static void get_scale_min_k4(int j, const uint8_t *q, uint8_t *d, uint8_t *m) {
    if (j < 4) {
        *d = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *d = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4));
    }
}

/* ------------------------------------------------------------------ Q2_K */

void q2_k_quantize(const float *x, void *vy, int64_t k) {
    block_q2_K *y = vy;
    const int64_t nb = k / QK_K;
    uint8_t L[QK_K], Laux[16];
    float weights[16], mins[QK_K / 16], scales[QK_K / 16];
    const float q4scale = 15.f;
    int64_t i;
    int j, l, ii;
    for (i = 0; i < nb; i++) {
        float max_scale = 0, max_min = 0;
        for (j = 0; j < QK_K / 16; ++j) {
            float scale, min;
            for (l = 0; l < 16; ++l) weights[l] = fabsf(x[16 * j + l]);
            scales[j] = make_qkx2_quants(16, 3, x + 16 * j, weights, L + 16 * j, &mins[j], Laux, -0.5f, 0.1f, 15, 1);
            scale = scales[j];
            if (scale > max_scale) max_scale = scale;
            min = mins[j];
            if (min > max_min) max_min = min;
        }
        if (max_scale > 0) {
            float iscale = q4scale / max_scale;
            for (j = 0; j < QK_K / 16; ++j) y[i].scales[j] = low_u8(nearest_int(iscale * scales[j]));
            y[i].d = F2H(max_scale / q4scale);
        } else {
            for (j = 0; j < QK_K / 16; ++j) y[i].scales[j] = 0;
            y[i].d = F2H(0.f);
        }
        if (max_min > 0) {
            float iscale = q4scale / max_min;
            for (j = 0; j < QK_K / 16; ++j) {
                int lv = nearest_int(iscale * mins[j]);
                y[i].scales[j] = low_u8((int32_t)(y[i].scales[j] | ((uint32_t)lv << 4)));
            }
            y[i].dmin = F2H(max_min / q4scale);
        } else {
            y[i].dmin = F2H(0.f);
        }
        for (j = 0; j < QK_K / 16; ++j) {
            const float d = H2F(y[i].d) * (y[i].scales[j] & 0xF);
            float dm;
            if (!d) continue;
            dm = H2F(y[i].dmin) * (y[i].scales[j] >> 4);
            for (ii = 0; ii < 16; ++ii) {
                int lv = nearest_int((x[16 * j + ii] + dm) / d);
                lv = QMAX(0, QMIN(3, lv));
                L[16 * j + ii] = (uint8_t)lv;
            }
        }
        for (j = 0; j < QK_K; j += 128) {
            for (l = 0; l < 32; ++l) {
                y[i].qs[j / 4 + l] =
                    (uint8_t)(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) | (L[j + l + 96] << 6));
            }
        }
        x += QK_K;
    }
}

void q2_k_dequantize(const void *vx, float *y, int64_t k) {
    const block_q2_K *x = vx;
    const int64_t nb = k / QK_K;
    int64_t i;
    for (i = 0; i < nb; i++) {
        const float d = H2F(x[i].d);
        const float min = H2F(x[i].dmin);
        const uint8_t *q = x[i].qs;
        int is = 0, n, j, l;
        float dl, ml;
        for (n = 0; n < QK_K; n += 128) {
            int shift = 0;
            for (j = 0; j < 4; ++j) {
                uint8_t sc = x[i].scales[is++];
                dl = d * (sc & 0xF);
                ml = min * (sc >> 4);
                for (l = 0; l < 16; ++l) *y++ = dl * ((int8_t)((q[l] >> shift) & 3)) - ml;
                sc = x[i].scales[is++];
                dl = d * (sc & 0xF);
                ml = min * (sc >> 4);
                for (l = 0; l < 16; ++l) *y++ = dl * ((int8_t)((q[l + 16] >> shift) & 3)) - ml;
                shift += 2;
            }
            q += 32;
        }
    }
}

/* ------------------------------------------------------------------ Q3_K */

void q3_k_quantize(const float *x, void *vy, int64_t k) {
    block_q3_K *y = vy;
    const int64_t nb = k / QK_K;
    int8_t L[QK_K];
    float scales[QK_K / 16];
    int64_t i;
    int j, ii, m, l;
    for (i = 0; i < nb; i++) {
        float max_scale = 0, amax = 0;
        uint8_t hm;
        int8_t sc;
        for (j = 0; j < QK_K / 16; ++j) {
            float scale;
            scales[j] = make_q3_quants(16, 4, x + 16 * j, L + 16 * j, 1);
            scale = fabsf(scales[j]);
            if (scale > amax) {
                amax = scale;
                max_scale = scales[j];
            }
        }
        memset(y[i].scales, 0, 12);
        if (max_scale) {
            float iscale = -32.f / max_scale;
            for (j = 0; j < QK_K / 16; ++j) {
                int8_t lv = low_i8(nearest_int(iscale * scales[j]));
                lv = low_i8(QMAX(-32, QMIN(31, lv)) + 32);
                if (j < 8) {
                    y[i].scales[j] = (uint8_t)(lv & 0xF);
                } else {
                    y[i].scales[j - 8] = (uint8_t)(y[i].scales[j - 8] | ((lv & 0xF) << 4));
                }
                lv = (int8_t)(lv >> 4);
                y[i].scales[j % 4 + 8] = (uint8_t)(y[i].scales[j % 4 + 8] | (lv << (2 * (j / 4))));
            }
            y[i].d = F2H(1 / iscale);
        } else {
            y[i].d = F2H(0.f);
        }
        for (j = 0; j < QK_K / 16; ++j) {
            float d;
            sc = (int8_t)(j < 8 ? y[i].scales[j] & 0xF : y[i].scales[j - 8] >> 4);
            sc = low_i8((sc | (((y[i].scales[8 + j % 4] >> (2 * (j / 4))) & 3) << 4)) - 32);
            d = H2F(y[i].d) * sc;
            if (!d) continue;
            for (ii = 0; ii < 16; ++ii) {
                int lv = nearest_int(x[16 * j + ii] / d);
                lv = QMAX(-4, QMIN(3, lv));
                L[16 * j + ii] = low_i8(lv + 4);
            }
        }
        memset(y[i].hmask, 0, QK_K / 8);
        m = 0;
        hm = 1;
        for (j = 0; j < QK_K; ++j) {
            if (L[j] > 3) {
                y[i].hmask[m] |= hm;
                L[j] -= 4;
            }
            if (++m == QK_K / 8) {
                m = 0;
                hm = (uint8_t)(hm << 1);
            }
        }
        for (j = 0; j < QK_K; j += 128) {
            for (l = 0; l < 32; ++l) {
                y[i].qs[j / 4 + l] =
                    (uint8_t)(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) | (L[j + l + 96] << 6));
            }
        }
        x += QK_K;
    }
}

/* The 16 six-bit Q3_K scales (biased by 32) unpacked from their 12 bytes, as ggml does. */
static void q3_k_unpack_scales(const uint8_t *packed, int8_t *scales) {
    const uint32_t kmask1 = 0x03030303, kmask2 = 0x0f0f0f0f;
    uint32_t aux[4], tmp;
    memcpy(aux, packed, 12);
    tmp = aux[2];
    aux[2] = ((aux[0] >> 4) & kmask2) | (((tmp >> 4) & kmask1) << 4);
    aux[3] = ((aux[1] >> 4) & kmask2) | (((tmp >> 6) & kmask1) << 4);
    aux[0] = (aux[0] & kmask2) | (((tmp >> 0) & kmask1) << 4);
    aux[1] = (aux[1] & kmask2) | (((tmp >> 2) & kmask1) << 4);
    memcpy(scales, aux, 16);
}

void q3_k_dequantize(const void *vx, float *y, int64_t k) {
    const block_q3_K *x = vx;
    const int64_t nb = k / QK_K;
    int8_t scales[16];
    int64_t i;
    for (i = 0; i < nb; i++) {
        const float d_all = H2F(x[i].d);
        const uint8_t *q = x[i].qs;
        const uint8_t *hm = x[i].hmask;
        uint8_t m = 1;
        int is = 0, n, j, l;
        float dl;
        q3_k_unpack_scales(x[i].scales, scales);
        for (n = 0; n < QK_K; n += 128) {
            int shift = 0;
            for (j = 0; j < 4; ++j) {
                dl = d_all * (scales[is++] - 32);
                for (l = 0; l < 16; ++l) *y++ = dl * ((int8_t)((q[l + 0] >> shift) & 3) - ((hm[l + 0] & m) ? 0 : 4));
                dl = d_all * (scales[is++] - 32);
                for (l = 0; l < 16; ++l) *y++ = dl * ((int8_t)((q[l + 16] >> shift) & 3) - ((hm[l + 16] & m) ? 0 : 4));
                shift += 2;
                m = (uint8_t)(m << 1);
            }
            q += 32;
        }
    }
}

/* ------------------------------------------------------------------ Q4_K, Q5_K */

/* The shared first half of Q4_K/Q5_K quantization: per-32 scales and mins by make_qkx2_quants,
 * packed to 6 bits, then the levels L (0..nmax) recomputed against the packed scales. */
static void k4_scales_and_levels(const float *x, uint16_t *dd, uint16_t *dmin, uint8_t *packed, uint8_t *L, int nmax,
                                 float rmin, int nstep) {
    float mins[QK_K / 32], scales[QK_K / 32], weights[32];
    uint8_t Laux[32], sc, m;
    float max_scale = 0, max_min = 0, inv_scale, inv_min;
    int j, l, ii;
    for (j = 0; j < QK_K / 32; ++j) {
        float sum_x2 = 0, av_x, scale, min;
        for (l = 0; l < 32; ++l) sum_x2 += x[32 * j + l] * x[32 * j + l];
        av_x = sqrtf(sum_x2 / 32);
        for (l = 0; l < 32; ++l) weights[l] = av_x + fabsf(x[32 * j + l]);
        scales[j] = make_qkx2_quants(32, nmax, x + 32 * j, weights, L + 32 * j, &mins[j], Laux, rmin, 0.1f, nstep, 0);
        scale = scales[j];
        if (scale > max_scale) max_scale = scale;
        min = mins[j];
        if (min > max_min) max_min = min;
    }
    inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
    inv_min = max_min > 0 ? 63.f / max_min : 0.f;
    for (j = 0; j < QK_K / 32; ++j) {
        uint8_t ls = low_u8(nearest_int(inv_scale * scales[j]));
        uint8_t lm = low_u8(nearest_int(inv_min * mins[j]));
        ls = QMIN(63, ls);
        lm = QMIN(63, lm);
        if (j < 4) {
            packed[j] = ls;
            packed[j + 4] = lm;
        } else {
            packed[j + 4] = (uint8_t)((ls & 0xF) | ((lm & 0xF) << 4));
            packed[j - 4] = (uint8_t)(packed[j - 4] | ((ls >> 4) << 6));
            packed[j - 0] = (uint8_t)(packed[j - 0] | ((lm >> 4) << 6));
        }
    }
    *dd = F2H(max_scale / 63.f);
    *dmin = F2H(max_min / 63.f);
    for (j = 0; j < QK_K / 32; ++j) {
        float d, dm;
        get_scale_min_k4(j, packed, &sc, &m);
        d = H2F(*dd) * sc;
        if (!d) continue;
        dm = H2F(*dmin) * m;
        for (ii = 0; ii < 32; ++ii) {
            int lv = nearest_int((x[32 * j + ii] + dm) / d);
            lv = QMAX(0, QMIN(nmax, lv));
            L[32 * j + ii] = (uint8_t)lv;
        }
    }
}

void q4_k_quantize(const float *x, void *vy, int64_t k) {
    block_q4_K *y = vy;
    const int64_t nb = k / QK_K;
    uint8_t L[QK_K];
    int64_t i;
    int j, l;
    for (i = 0; i < nb; i++) {
        uint8_t *q = y[i].qs;
        k4_scales_and_levels(x, &y[i].d, &y[i].dmin, y[i].scales, L, 15, -1.f, 20);
        for (j = 0; j < QK_K; j += 64) {
            for (l = 0; l < 32; ++l) q[l] = (uint8_t)(L[j + l] | (L[j + l + 32] << 4));
            q += 32;
        }
        x += QK_K;
    }
}

void q4_k_dequantize(const void *vx, float *y, int64_t k) {
    const block_q4_K *x = vx;
    const int64_t nb = k / QK_K;
    int64_t i;
    for (i = 0; i < nb; i++) {
        const uint8_t *q = x[i].qs;
        const float d = H2F(x[i].d);
        const float min = H2F(x[i].dmin);
        int is = 0, j, l;
        uint8_t sc, m;
        for (j = 0; j < QK_K; j += 64) {
            float d1, m1, d2, m2;
            get_scale_min_k4(is + 0, x[i].scales, &sc, &m);
            d1 = d * sc;
            m1 = min * m;
            get_scale_min_k4(is + 1, x[i].scales, &sc, &m);
            d2 = d * sc;
            m2 = min * m;
            for (l = 0; l < 32; ++l) *y++ = d1 * (q[l] & 0xF) - m1;
            for (l = 0; l < 32; ++l) *y++ = d2 * (q[l] >> 4) - m2;
            q += 32;
            is += 2;
        }
    }
}

void q5_k_quantize(const float *x, void *vy, int64_t k) {
    block_q5_K *y = vy;
    const int64_t nb = k / QK_K;
    uint8_t L[QK_K];
    int64_t i;
    int n, j;
    for (i = 0; i < nb; i++) {
        uint8_t *qh = y[i].qh, *ql = y[i].qs;
        uint8_t m1 = 1, m2 = 2;
        k4_scales_and_levels(x, &y[i].d, &y[i].dmin, y[i].scales, L, 31, -0.5f, 15);
        memset(qh, 0, QK_K / 8);
        for (n = 0; n < QK_K; n += 64) {
            for (j = 0; j < 32; ++j) {
                int l1 = L[n + j], l2 = L[n + j + 32];
                if (l1 > 15) {
                    l1 -= 16;
                    qh[j] |= m1;
                }
                if (l2 > 15) {
                    l2 -= 16;
                    qh[j] |= m2;
                }
                ql[j] = (uint8_t)(l1 | (l2 << 4));
            }
            m1 = (uint8_t)(m1 << 2);
            m2 = (uint8_t)(m2 << 2);
            ql += 32;
        }
        x += QK_K;
    }
}

void q5_k_dequantize(const void *vx, float *y, int64_t k) {
    const block_q5_K *x = vx;
    const int64_t nb = k / QK_K;
    int64_t i;
    for (i = 0; i < nb; i++) {
        const uint8_t *ql = x[i].qs, *qh = x[i].qh;
        const float d = H2F(x[i].d);
        const float min = H2F(x[i].dmin);
        int is = 0, j, l;
        uint8_t sc, m, u1 = 1, u2 = 2;
        for (j = 0; j < QK_K; j += 64) {
            float d1, m1, d2, m2;
            get_scale_min_k4(is + 0, x[i].scales, &sc, &m);
            d1 = d * sc;
            m1 = min * m;
            get_scale_min_k4(is + 1, x[i].scales, &sc, &m);
            d2 = d * sc;
            m2 = min * m;
            for (l = 0; l < 32; ++l) *y++ = d1 * ((ql[l] & 0xF) + (qh[l] & u1 ? 16 : 0)) - m1;
            for (l = 0; l < 32; ++l) *y++ = d2 * ((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
            ql += 32;
            is += 2;
            u1 = (uint8_t)(u1 << 2);
            u2 = (uint8_t)(u2 << 2);
        }
    }
}

/* ------------------------------------------------------------------ Q6_K */

void q6_k_quantize(const float *x, void *vy, int64_t k) {
    block_q6_K *y = vy;
    const int64_t nb = k / QK_K;
    int8_t L[QK_K];
    float scales[QK_K / 16];
    int64_t i;
    int ib, j, ii, l;
    for (i = 0; i < nb; i++) {
        float max_scale = 0, max_abs_scale = 0, iscale;
        uint8_t *ql, *qh;
        for (ib = 0; ib < QK_K / 16; ++ib) {
            const float scale = make_qx_quants(16, 32, x + 16 * ib, L + 16 * ib, 1);
            const float abs_scale = fabsf(scale);
            scales[ib] = scale;
            if (abs_scale > max_abs_scale) {
                max_abs_scale = abs_scale;
                max_scale = scale;
            }
        }
        if (max_abs_scale < GROUP_MAX_EPS) {
            memset(&y[i], 0, sizeof(block_q6_K));
            y[i].d = F2H(0.f);
            x += QK_K;
            continue;
        }
        iscale = -128.f / max_scale;
        y[i].d = F2H(1 / iscale);
        for (ib = 0; ib < QK_K / 16; ++ib) y[i].scales[ib] = low_i8(QMIN(127, nearest_int(iscale * scales[ib])));
        for (j = 0; j < QK_K / 16; ++j) {
            float d = H2F(y[i].d) * y[i].scales[j];
            if (!d) continue;
            for (ii = 0; ii < 16; ++ii) {
                int lv = nearest_int(x[16 * j + ii] / d);
                lv = QMAX(-32, QMIN(31, lv));
                L[16 * j + ii] = low_i8(lv + 32);
            }
        }
        ql = y[i].ql;
        qh = y[i].qh;
        for (j = 0; j < QK_K; j += 128) {
            for (l = 0; l < 32; ++l) {
                const uint8_t q1 = L[j + l + 0] & 0xF;
                const uint8_t q2 = L[j + l + 32] & 0xF;
                const uint8_t q3 = L[j + l + 64] & 0xF;
                const uint8_t q4 = L[j + l + 96] & 0xF;
                ql[l + 0] = (uint8_t)(q1 | (q3 << 4));
                ql[l + 32] = (uint8_t)(q2 | (q4 << 4));
                qh[l] = (uint8_t)((L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) | ((L[j + l + 64] >> 4) << 4) |
                                  ((L[j + l + 96] >> 4) << 6));
            }
            ql += 64;
            qh += 32;
        }
        x += QK_K;
    }
}

void q6_k_dequantize(const void *vx, float *y, int64_t k) {
    const block_q6_K *x = vx;
    const int64_t nb = k / QK_K;
    int64_t i;
    for (i = 0; i < nb; i++) {
        const float d = H2F(x[i].d);
        const uint8_t *ql = x[i].ql, *qh = x[i].qh;
        const int8_t *sc = x[i].scales;
        int n, l;
        for (n = 0; n < QK_K; n += 128) {
            for (l = 0; l < 32; ++l) {
                int is = l / 16;
                const int8_t q1 = (int8_t)((int8_t)((ql[l + 0] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32);
                const int8_t q2 = (int8_t)((int8_t)((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
                const int8_t q3 = (int8_t)((int8_t)((ql[l + 0] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
                const int8_t q4 = (int8_t)((int8_t)((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
                y[l + 0] = d * sc[is + 0] * q1;
                y[l + 32] = d * sc[is + 2] * q2;
                y[l + 64] = d * sc[is + 4] * q3;
                y[l + 96] = d * sc[is + 6] * q4;
            }
            y += 128;
            ql += 64;
            qh += 32;
            sc += 8;
        }
    }
}

/* ------------------------------------------------------------------ Q8_K */

void q8_k_quantize(const float *x, void *vy, int64_t k) {
    block_q8_K *y = vy;
    const int64_t nb = k / QK_K;
    int64_t i;
    int j, ii;
    for (i = 0; i < nb; i++) {
        float max = 0, amax = 0, iscale;
        for (j = 0; j < QK_K; ++j) {
            float ax = fabsf(x[j]);
            if (ax > amax) {
                amax = ax;
                max = x[j];
            }
        }
        if (!amax) {
            y[i].d = 0;
            memset(y[i].qs, 0, QK_K);
            /* (ggml leaves bsums as they were; zero them so the block is defined: its d is 0) */
            memset(y[i].bsums, 0, sizeof y[i].bsums);
            x += QK_K;
            continue;
        }
        iscale = -127.f / max;
        for (j = 0; j < QK_K; ++j) {
            int v = nearest_int(iscale * x[j]);
            y[i].qs[j] = low_i8(QMIN(127, v));
        }
        for (j = 0; j < QK_K / 16; ++j) {
            int sum = 0;
            for (ii = 0; ii < 16; ++ii) sum += y[i].qs[j * 16 + ii];
            y[i].bsums[j] = (int16_t)sum;
        }
        y[i].d = 1 / iscale;
        x += QK_K;
    }
}

void q8_k_dequantize(const void *vx, float *y, int64_t k) {
    const block_q8_K *x = vx;
    const int64_t nb = k / QK_K;
    int64_t i;
    int j;
    for (i = 0; i < nb; i++) {
        for (j = 0; j < QK_K; ++j) *y++ = x[i].d * x[i].qs[j];
    }
}

/* ------------------------------------------------------------------ IQ4_NL, IQ4_XS */

static int best_index_int8(int n, const int8_t *val, float x) {
    int ml = 0, mu = n - 1;
    if (x <= val[0]) return 0;
    if (x >= val[n - 1]) return n - 1;
    while (mu - ml > 1) {
        int mav = (ml + mu) / 2;
        if (x < val[mav]) mu = mav;
        else ml = mav;
    }
    return x - val[mu - 1] < val[mu] - x ? mu - 1 : mu;
}

/* ggml's quantize_row_iq4_nl_impl without quant weights, ntry = 7 (what ggml_quantize_chunk
 * passes for both types). super_block_size is 32 (IQ4_NL) or QK_K (IQ4_XS); block_size 32.
 * L must hold super_block_size levels; scales_h/scales_l are unused for IQ4_NL. */
static void iq4_impl(int super_block_size, const float *x, uint16_t *dh, uint8_t *q4, uint16_t *scales_h,
                     uint8_t *scales_l, float *scales, uint8_t *L) {
    const int block_size = 32, ntry = 7;
    const int8_t *values = iq4nl_values;
    float max_scale = 0, amax_scale = 0, weight[32];
    int ib, j, i, itry;
    memset(q4, 0, (size_t)super_block_size / 2);
    dh[0] = F2H(0.f);
    for (ib = 0; ib < super_block_size / block_size; ++ib) {
        const float *xb = x + ib * block_size;
        uint8_t *Lb = L + ib * block_size;
        float amax = 0, max = 0, d, id, sumqx = 0, sumq2 = 0, best, abs_d;
        for (j = 0; j < block_size; ++j) weight[j] = xb[j] * xb[j];
        for (j = 0; j < block_size; ++j) {
            float ax = fabsf(xb[j]);
            if (ax > amax) {
                amax = ax;
                max = xb[j];
            }
        }
        if (amax < GROUP_MAX_EPS) {
            scales[ib] = 0;
            continue;
        }
        d = ntry > 0 ? -max / values[0] : max / values[0];
        id = 1 / d;
        for (j = 0; j < block_size; ++j) {
            float al = id * xb[j], q, w;
            int l = best_index_int8(16, values, al);
            Lb[j] = (uint8_t)l;
            q = values[l];
            w = weight[j];
            sumqx += w * q * xb[j];
            sumq2 += w * q * q;
        }
        d = sumq2 > 0 ? sumqx / sumq2 : 0.f;
        best = d * sumqx;
        for (itry = -ntry; itry <= ntry; ++itry) {
            id = (itry + values[0]) / max;
            sumqx = sumq2 = 0;
            for (j = 0; j < block_size; ++j) {
                float al = id * xb[j], q, w;
                int l = best_index_int8(16, values, al);
                q = values[l];
                w = weight[j];
                sumqx += w * q * xb[j];
                sumq2 += w * q * q;
            }
            if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
                d = sumqx / sumq2;
                best = d * sumqx;
            }
        }
        scales[ib] = d;
        abs_d = fabsf(d);
        if (abs_d > amax_scale) {
            amax_scale = abs_d;
            max_scale = d;
        }
    }
    if (super_block_size / block_size > 1) {
        int nb = super_block_size / block_size;
        float d = -max_scale / 32, id;
        memset(scales_h, 0, (size_t)((nb + 7) / 8) * sizeof(uint16_t));
        dh[0] = F2H(d);
        id = d ? 1 / d : 0.f;
        for (ib = 0; ib < nb; ++ib) {
            int l = nearest_int(id * scales[ib]);
            float dl, idl;
            uint8_t *Lb = L + ib * block_size, l_l, l_h;
            const float *xb = x + ib * block_size;
            l = QMAX(-32, QMIN(31, l));
            dl = d * l;
            idl = dl ? 1 / dl : 0.f;
            for (j = 0; j < block_size; ++j) Lb[j] = (uint8_t)best_index_int8(16, values, idl * xb[j]);
            l += 32;
            l_l = (uint8_t)(l & 0xf);
            l_h = (uint8_t)(l >> 4);
            if (ib % 2 == 0) scales_l[ib / 2] = l_l;
            else scales_l[ib / 2] = (uint8_t)(scales_l[ib / 2] | (l_l << 4));
            scales_h[ib / 8] = (uint16_t)(scales_h[ib / 8] | (l_h << 2 * (ib % 8)));
        }
    } else {
        float id;
        dh[0] = F2H(scales[0]);
        id = scales[0] ? 1 / scales[0] : 0;
        for (j = 0; j < super_block_size; ++j) L[j] = (uint8_t)best_index_int8(16, values, id * x[j]);
    }
    for (i = 0; i < super_block_size / 32; ++i) {
        for (j = 0; j < 16; ++j) q4[16 * i + j] = (uint8_t)(L[32 * i + j] | (L[32 * i + 16 + j] << 4));
    }
}

void iq4_nl_quantize(const float *x, void *vy, int64_t k) {
    block_iq4_nl *y = vy;
    const int64_t nb = k / QK4_NL;
    uint8_t L[QK4_NL];
    float scale;
    int64_t i;
    for (i = 0; i < nb; i++) iq4_impl(QK4_NL, x + QK4_NL * i, &y[i].d, y[i].qs, NULL, NULL, &scale, L);
}

void iq4_xs_quantize(const float *x, void *vy, int64_t k) {
    block_iq4_xs *y = vy;
    const int64_t nb = k / QK_K;
    uint8_t L[QK_K];
    float scales[QK_K / 32];
    int64_t i;
    for (i = 0; i < nb; i++) {
        iq4_impl(QK_K, x + QK_K * i, &y[i].d, y[i].qs, &y[i].scales_h, y[i].scales_l, scales, L);
    }
}

void iq4_nl_dequantize(const void *vx, float *y, int64_t k) {
    const block_iq4_nl *x = vx;
    const int64_t nb = k / QK4_NL;
    int64_t i;
    int j;
    for (i = 0; i < nb; i++) {
        const uint8_t *qs = x[i].qs;
        const float d = H2F(x[i].d);
        for (j = 0; j < QK4_NL / 2; ++j) {
            y[j + 0] = d * iq4nl_values[qs[j] & 0xf];
            y[j + QK4_NL / 2] = d * iq4nl_values[qs[j] >> 4];
        }
        y += QK4_NL;
    }
}

void iq4_xs_dequantize(const void *vx, float *y, int64_t k) {
    const block_iq4_xs *x = vx;
    const int64_t nb = k / QK_K;
    int64_t i;
    int ib, j;
    for (i = 0; i < nb; i++) {
        const uint8_t *qs = x[i].qs;
        const float d = H2F(x[i].d);
        for (ib = 0; ib < QK_K / 32; ++ib) {
            const int ls = ((x[i].scales_l[ib / 2] >> 4 * (ib % 2)) & 0xf) | (((x[i].scales_h >> 2 * ib) & 3) << 4);
            const float dl = d * (ls - 32);
            for (j = 0; j < 16; ++j) {
                y[j + 0] = dl * iq4nl_values[qs[j] & 0xf];
                y[j + 16] = dl * iq4nl_values[qs[j] >> 4];
            }
            y += 32;
            qs += 16;
        }
    }
}

/* ------------------------------------------------------------------ by type id */

size_t quant_rows(uint32_t type, const float *src, void *dst, int64_t n_rows, int64_t n_per_row) {
    int64_t be = dtype_block_elems(type), n;
    if (be <= 1 || type == MLLM_DTYPE_Q8_1 || type == MLLM_DTYPE_Q8_K || n_rows < 0 || n_per_row <= 0 || n_per_row % be)
        return 0;
    n = n_rows * n_per_row; /* rows are whole blocks, so quantizing them as one row is the same */
    switch (type) {
    case MLLM_DTYPE_Q4_0: q4_0_quantize(src, dst, n); break;
    case MLLM_DTYPE_Q4_1: q4_1_quantize(src, dst, n); break;
    case MLLM_DTYPE_Q5_0: q5_0_quantize(src, dst, n); break;
    case MLLM_DTYPE_Q5_1: q5_1_quantize(src, dst, n); break;
    case MLLM_DTYPE_Q8_0: quantize_row_q8_0(src, dst, n); break;
    case MLLM_DTYPE_Q2_K: q2_k_quantize(src, dst, n); break;
    case MLLM_DTYPE_Q3_K: q3_k_quantize(src, dst, n); break;
    case MLLM_DTYPE_Q4_K: q4_k_quantize(src, dst, n); break;
    case MLLM_DTYPE_Q5_K: q5_k_quantize(src, dst, n); break;
    case MLLM_DTYPE_Q6_K: q6_k_quantize(src, dst, n); break;
    case MLLM_DTYPE_IQ4_NL: iq4_nl_quantize(src, dst, n); break;
    case MLLM_DTYPE_IQ4_XS: iq4_xs_quantize(src, dst, n); break;
    default: return 0;
    }
    return (size_t)(n / be) * dtype_block_bytes(type);
}

int64_t quant_first_bad_scale(uint32_t type, const void *data, int64_t n_blocks) {
    size_t off[2], n_off = 1, bb = dtype_block_bytes(type), j;
    const uint8_t *p = (const uint8_t *)data;
    int64_t b;
    switch (type) {
    case MLLM_DTYPE_Q4_0: off[0] = offsetof(block_q4_0, d); break;
    case MLLM_DTYPE_Q5_0: off[0] = offsetof(block_q5_0, d); break;
    case MLLM_DTYPE_IQ4_NL: off[0] = offsetof(block_iq4_nl, d); break;
    case MLLM_DTYPE_IQ4_XS: off[0] = offsetof(block_iq4_xs, d); break;
    case MLLM_DTYPE_Q3_K: off[0] = offsetof(block_q3_K, d); break;
    case MLLM_DTYPE_Q6_K: off[0] = offsetof(block_q6_K, d); break;
    case MLLM_DTYPE_Q4_1: off[0] = offsetof(block_q4_1, d), off[1] = offsetof(block_q4_1, m), n_off = 2; break;
    case MLLM_DTYPE_Q5_1: off[0] = offsetof(block_q5_1, d), off[1] = offsetof(block_q5_1, m), n_off = 2; break;
    case MLLM_DTYPE_Q2_K: off[0] = offsetof(block_q2_K, d), off[1] = offsetof(block_q2_K, dmin), n_off = 2; break;
    case MLLM_DTYPE_Q4_K: off[0] = offsetof(block_q4_K, d), off[1] = offsetof(block_q4_K, dmin), n_off = 2; break;
    case MLLM_DTYPE_Q5_K: off[0] = offsetof(block_q5_K, d), off[1] = offsetof(block_q5_K, dmin), n_off = 2; break;
    default: return -1;
    }
    for (b = 0; b < n_blocks; b++, p += bb) {
        for (j = 0; j < n_off; j++) {
            uint16_t h;
            memcpy(&h, p + off[j], 2);
            if ((h & 0x7c00) == 0x7c00) return b; /* exponent all ones: inf or nan */
        }
    }
    return -1;
}
