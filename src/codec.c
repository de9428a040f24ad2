/* codec.c — fp16/bf16 conversion, Q8_0 quantization, rows to float.
 *
 * Conversions work on bit patterns (no reliance on the compiler's _Float16 or on the
 * current FP rounding mode), so native and wasm builds produce identical bytes, and the JS
 * converter (models/convert/quant.js) mirrors them bit for bit.
 */
#include "codec.h"

#include <math.h>
#include <string.h>

/* ------------------------------------------------------------------ fp16 */

static uint32_t f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float bits_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

float fp16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t man = h & 0x3ffu;
    if (exp == 0x1f) return bits_f32(sign | 0x7f800000u | (man << 13)); /* inf / nan (payload kept) */
    if (exp == 0) {
        /* zero or subnormal: man * 2^-24, exact in f32 */
        float v = (float)man * (1.0f / 16777216.0f);
        return sign ? -v : v;
    }
    return bits_f32(sign | ((exp + 112u) << 23) | (man << 13));
}

uint16_t f32_to_fp16(float f) {
    uint32_t x = f32_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t ax = x & 0x7fffffffu;
    uint32_t r, rem;
    if (ax > 0x7f800000u) return sign | 0x7e00u;      /* nan: canonical quiet nan, as ggml */
    if (ax >= 0x477ff000u) return sign | 0x7c00u;     /* >= 65520 rounds to inf (ties to even) */
    if (ax < 0x38800000u) {                           /* below 2^-14: fp16 subnormal or zero */
        uint32_t e = ax >> 23, m, shift, half;
        if (ax <= 0x33000000u) return sign;           /* <= 2^-25: rounds to 0 (tie -> even 0) */
        m = (ax & 0x7fffffu) | 0x800000u;             /* value = m * 2^(e-150) */
        shift = 126u - e;                             /* result = round(m * 2^(e-126)) */
        r = m >> shift;
        rem = m & ((1u << shift) - 1u);
        half = 1u << (shift - 1u);
        if (rem > half || (rem == half && (r & 1u))) r++;
        return (uint16_t)(sign | r);                  /* r == 0x400 is the smallest normal: right */
    }
    r = (ax >> 13) - (112u << 10);                    /* rebias exponent 127 -> 15 */
    rem = ax & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (r & 1u))) r++; /* a carry into the exponent is right */
    return (uint16_t)(sign | r);
}

float bf16_to_f32(uint16_t h) { return bits_f32((uint32_t)h << 16); }

uint16_t f32_to_bf16(float f) {
    uint32_t x = f32_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40u); /* keep nan quiet */
    /* subnormals are rounded, not flushed (as torch does) */
    return (uint16_t)((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

/* ------------------------------------------------------------------ Q8_0 */

void quantize_row_q8_0(const float *x, block_q8_0 *y, int64_t n) {
    int64_t nb = n / MLLM_QK8_0, i;
    int j;
    for (i = 0; i < nb; i++) {
        const float *xb = x + i * MLLM_QK8_0;
        float amax = 0.0f, d, id;
        for (j = 0; j < MLLM_QK8_0; j++) {
            float v = fabsf(xb[j]);
            amax = amax > v ? amax : v; /* exactly ggml's MAX(amax, v), nan behaviour included */
        }
        d = amax / 127.0f;
        id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = f32_to_fp16(d);
        for (j = 0; j < MLLM_QK8_0; j++) {
            float q = roundf(xb[j] * id);
            /* finite inputs always give |q| <= 127; non-finite ones (where ggml's cast is
             * undefined) give 0 so the result is defined and matches quant.js */
            y[i].qs[j] = (int8_t)(q == q && q >= -128.0f && q <= 127.0f ? q : 0.0f);
        }
    }
}

void dequantize_row_f32(const void *src, float *dst, int64_t n) { memcpy(dst, src, (size_t)n * sizeof(float)); }

void dequantize_row_f16(const void *src, float *dst, int64_t n) {
    const uint8_t *s = (const uint8_t *)src; /* bytes: GGUF data need not be 2-aligned */
    int64_t i;
    for (i = 0; i < n; i++) dst[i] = fp16_to_f32((uint16_t)(s[2 * i] | (s[2 * i + 1] << 8)));
}

void dequantize_row_bf16(const void *src, float *dst, int64_t n) {
    const uint8_t *s = (const uint8_t *)src;
    int64_t i;
    for (i = 0; i < n; i++) dst[i] = bf16_to_f32((uint16_t)(s[2 * i] | (s[2 * i + 1] << 8)));
}

void dequantize_row_q8_0(const void *src, float *dst, int64_t n) {
    const uint8_t *s = (const uint8_t *)src;
    int64_t nb = n / MLLM_QK8_0, b;
    int j;
    for (b = 0; b < nb; b++) {
        const uint8_t *blk = s + b * (int64_t)sizeof(block_q8_0);
        float d = fp16_to_f32((uint16_t)(blk[0] | (blk[1] << 8)));
        for (j = 0; j < MLLM_QK8_0; j++) dst[b * MLLM_QK8_0 + j] = d * (float)(int8_t)blk[2 + j];
    }
}

int64_t q8_0_scan_scales(const void *blocks, int64_t nb, int *plain) {
    const block_q8_0 *blk = (const block_q8_0 *)blocks;
    int64_t b;
    *plain = 1;
    for (b = 0; b < nb; b++) {
        uint16_t e = blk[b].d & 0x7c00; /* fp16 exponent */
        if (e == 0x7c00) return b;
        if ((blk[b].d & 0x8000) || (e == 0 && blk[b].d != 0)) *plain = 0; /* negative, -0 or subnormal */
    }
    return -1;
}
