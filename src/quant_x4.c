/* quant_x4.c — Q4_0 (and IQ4_NL, the same block), Q5_0, Q4_1 and Q5_1 into and out of their
 * interleaved layouts (kernels.h KERN_LAYOUT_Q4_0_X4, _Q5_0_X4, _Q4_1_X4, _Q5_1_X4): the load-time
 * repack, in place, and one block or four rows back, for the kernels that read the file's layout.
 * Q4_1 / Q5_1 are Q4_0 / Q5_0 with a second fp16 (m) after d: their x4 blocks carry the four
 * rows' m after the four d, then the same level vectors. */
#include "quant_x4.h"

#include <string.h>
#ifdef MLLM_KERNELS_SIMD128
#include <wasm_simd128.h>
#endif

#include "quant_blocks.h"

QUANT_STATIC_ASSERT(KERN_Q4_0_X4_BLOCK == 4 * sizeof(block_q4_0), q4_0_x4_block);
QUANT_STATIC_ASSERT(KERN_Q5_0_X4_BLOCK == 4 * sizeof(block_q5_0), q5_0_x4_block);
QUANT_STATIC_ASSERT(KERN_Q4_1_X4_BLOCK == 4 * sizeof(block_q4_1), q4_1_x4_block);
QUANT_STATIC_ASSERT(KERN_Q5_1_X4_BLOCK == 4 * sizeof(block_q5_1), q5_1_x4_block);
QUANT_STATIC_ASSERT(sizeof(block_iq4_nl) == sizeof(block_q4_0), iq4_nl_is_q4_0_shaped); /* d first, then qs */

int quant_x4_layout(uint32_t layout) {
    return layout == KERN_LAYOUT_Q4_0_X4 || layout == KERN_LAYOUT_Q5_0_X4 || layout == KERN_LAYOUT_Q4_1_X4 ||
           layout == KERN_LAYOUT_Q5_1_X4;
}

int32_t quant_x4_block_bytes(uint32_t layout) {
    switch (layout) {
    case KERN_LAYOUT_Q4_0_X4: return KERN_Q4_0_X4_BLOCK;
    case KERN_LAYOUT_Q5_0_X4: return KERN_Q5_0_X4_BLOCK;
    case KERN_LAYOUT_Q4_1_X4: return KERN_Q4_1_X4_BLOCK;
    case KERN_LAYOUT_Q5_1_X4: return KERN_Q5_1_X4_BLOCK;
    default: return 0;
    }
}

/* 1 for the layouts with fifth bits (Q5_0, Q5_1); the bytes before the level vectors (8 or 16). */
static int five_bit(uint32_t layout) { return layout == KERN_LAYOUT_Q5_0_X4 || layout == KERN_LAYOUT_Q5_1_X4; }
static size_t header(uint32_t layout) { return layout == KERN_LAYOUT_Q4_1_X4 || layout == KERN_LAYOUT_Q5_1_X4 ? 16 : 8; }

/* The file blocks' fields the packs read: qs, the last 16 bytes of every block here, and
 * qh, the 4 before them (Q5_0, Q5_1). */
#define QS(blk, bb) ((const uint8_t *)(blk) + (bb) - 16)
#define QH(blk, bb) ((const uint8_t *)(blk) + (bb) - 20)

#ifdef MLLM_KERNELS_SIMD128
/* A 4 x 4 transpose of 32-bit lanes: t[k] lane j = v[j] lane k. */
static void transpose4(v128_t v0, v128_t v1, v128_t v2, v128_t v3, v128_t *t) {
    const v128_t a0 = wasm_i32x4_shuffle(v0, v1, 0, 4, 1, 5), a1 = wasm_i32x4_shuffle(v0, v1, 2, 6, 3, 7);
    const v128_t a2 = wasm_i32x4_shuffle(v2, v3, 0, 4, 1, 5), a3 = wasm_i32x4_shuffle(v2, v3, 2, 6, 3, 7);
    t[0] = wasm_i64x2_shuffle(a0, a2, 0, 2);
    t[1] = wasm_i64x2_shuffle(a0, a2, 1, 3);
    t[2] = wasm_i64x2_shuffle(a1, a3, 0, 2);
    t[3] = wasm_i64x2_shuffle(a1, a3, 1, 3);
}

/* The level vectors of one block of four rows (r0..r3 in the file's layout, bb bytes a block)
 * at v: each row's 16 qs bytes are four 4-byte quads, and vector j holds quad j of the four
 * rows, so the block is one transpose (no byte loop). */
static void pack4(const uint8_t *const *rows, size_t bb, uint8_t *v) {
    v128_t t[4];
    int r;
    transpose4(wasm_v128_load(QS(rows[0], bb)), wasm_v128_load(QS(rows[1], bb)), wasm_v128_load(QS(rows[2], bb)),
               wasm_v128_load(QS(rows[3], bb)), t);
    for (r = 0; r < 4; r++) wasm_v128_store(v + 16 * r, t[r]);
}

/* Five-bit levels: per row the levels of elements 0..15 (L) and 16..31 (H), the fifth bits
 * spread from qh by a swizzle, a bit mask and a compare; then byte k of row r's part of Vj is
 * L[k] | (H[k] & 7) << 5 and of V4 (H[k] >> 3 & 3) << 2 (k / 4), both transposed as pack4's. */
static void pack5(const uint8_t *const *rows, size_t bb, uint8_t *v) {
    const v128_t m0f = wasm_i8x16_splat(0x0f), m10 = wasm_i8x16_splat(0x10), m07 = wasm_i8x16_splat(7);
    const v128_t m03 = wasm_i8x16_splat(3);
    const v128_t bits = wasm_i8x16_make(1, 2, 4, 8, 16, 32, 64, (int8_t)128, 1, 2, 4, 8, 16, 32, 64, (int8_t)128);
    const v128_t idx_lo = wasm_i8x16_make(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
    const v128_t idx_hi = wasm_i8x16_make(2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    v128_t p[4], t[4], w[4], u[4];
    int r;
    for (r = 0; r < 4; r++) {
        const v128_t qh = wasm_v128_load32_splat(QH(rows[r], bb)), qs = wasm_v128_load(QS(rows[r], bb));
        const v128_t f_lo = wasm_v128_and(wasm_i8x16_eq(wasm_v128_and(wasm_i8x16_swizzle(qh, idx_lo), bits), bits), m10);
        const v128_t f_hi = wasm_v128_and(wasm_i8x16_eq(wasm_v128_and(wasm_i8x16_swizzle(qh, idx_hi), bits), bits), m10);
        const v128_t lo = wasm_v128_or(wasm_v128_and(qs, m0f), f_lo);
        const v128_t hi = wasm_v128_or(wasm_v128_and(wasm_u16x8_shr(qs, 4), m0f), f_hi);
        p[r] = wasm_v128_or(lo, wasm_i16x8_shl(wasm_v128_and(hi, m07), 5));
        t[r] = wasm_v128_and(wasm_u16x8_shr(hi, 3), m03);
    }
    transpose4(p[0], p[1], p[2], p[3], w);
    transpose4(t[0], t[1], t[2], t[3], u);
    for (r = 0; r < 4; r++) wasm_v128_store(v + 16 * r, w[r]);
    wasm_v128_store(v + 64, wasm_v128_or(wasm_v128_or(u[0], wasm_i32x4_shl(u[1], 2)),
                                         wasm_v128_or(wasm_i32x4_shl(u[2], 4), wasm_i32x4_shl(u[3], 6))));
}
#else
/* The level vectors of one block of four rows (r0..r3 in the file's layout) at v. */
static void pack4(const uint8_t *const *rows, size_t bb, uint8_t *v) {
    int r, j;
    for (j = 0; j < 4; j++)
        for (r = 0; r < 4; r++) memcpy(v + 16 * j + 4 * r, QS(rows[r], bb) + 4 * j, 4);
}

static void pack5(const uint8_t *const *rows, size_t bb, uint8_t *v) {
    int r, j, i;
    memset(v + 64, 0, 16);
    for (r = 0; r < 4; r++) {
        const uint8_t *qs = QS(rows[r], bb);
        uint32_t qh;
        memcpy(&qh, QH(rows[r], bb), 4);
        for (j = 0; j < 4; j++)
            for (i = 0; i < 4; i++) {
                const int e = 4 * j + i;
                const unsigned lo = (qs[e] & 15u) | ((qh >> e) & 1u) << 4;
                const unsigned hi = (unsigned)(qs[e] >> 4) | ((qh >> (16 + e)) & 1u) << 4;
                v[16 * j + 4 * r + i] = (uint8_t)(lo | (hi & 7u) << 5);
                v[64 + 4 * r + i] |= (uint8_t)((hi >> 3) << (2 * j));
            }
    }
}
#endif

/* The file layout's n_rows rows (n_rows % 4 == 0) of nb blocks to x4, a group of four at a
 * time through tmp (4 rows). */
static void to_x4(uint32_t layout, void *w, int64_t n_in, int64_t n_rows, void *tmp) {
    const int64_t nb = n_in / 32;
    const size_t bb = (size_t)quant_x4_block_bytes(layout) / 4, group = (size_t)(4 * nb) * bb, hdr = header(layout);
    uint8_t *g = (uint8_t *)w;
    int64_t r0, b;
    int r;
    for (r0 = 0; r0 + 4 <= n_rows; r0 += 4, g += group) {
        memcpy(tmp, g, group);
        for (b = 0; b < nb; b++) {
            const uint8_t *rows[4];
            uint8_t *o = g + (size_t)b * 4 * bb;
            for (r = 0; r < 4; r++) {
                rows[r] = (const uint8_t *)tmp + ((size_t)r * (size_t)nb + (size_t)b) * bb;
                memcpy(o + 2 * r, rows[r], 2);                      /* d */
                if (hdr == 16) memcpy(o + 8 + 2 * r, rows[r] + 2, 2); /* m */
            }
            if (five_bit(layout)) pack5(rows, bb, o + hdr);
            else pack4(rows, bb, o + hdr);
        }
    }
}

void kern_q4_0_to_x4(void *w, int64_t n_in, int64_t n_rows, void *tmp) { to_x4(KERN_LAYOUT_Q4_0_X4, w, n_in, n_rows, tmp); }

void kern_q5_0_to_x4(void *w, int64_t n_in, int64_t n_rows, void *tmp) { to_x4(KERN_LAYOUT_Q5_0_X4, w, n_in, n_rows, tmp); }

void kern_q4_1_to_x4(void *w, int64_t n_in, int64_t n_rows, void *tmp) { to_x4(KERN_LAYOUT_Q4_1_X4, w, n_in, n_rows, tmp); }

void kern_q5_1_to_x4(void *w, int64_t n_in, int64_t n_rows, void *tmp) { to_x4(KERN_LAYOUT_Q5_1_X4, w, n_in, n_rows, tmp); }

void kern_iq4_nl_to_x4(void *w, int64_t n_in, int64_t n_rows, void *tmp) { to_x4(KERN_LAYOUT_Q4_0_X4, w, n_in, n_rows, tmp); }

void quant_x4_block(uint32_t layout, const void *w, int64_t nb, int64_t r, int64_t b, void *out) {
    const size_t bytes = (size_t)quant_x4_block_bytes(layout), bb = bytes / 4, hdr = header(layout);
    const uint8_t *o = (const uint8_t *)w + (size_t)((r / 4) * nb + b) * bytes, *v = o + hdr + 4 * (r % 4);
    uint8_t *x = (uint8_t *)out, *qs = x + bb - 16;
    int j, i;
    memcpy(x, o + 2 * (r % 4), 2);
    if (hdr == 16) memcpy(x + 2, o + 8 + 2 * (r % 4), 2);
    if (!five_bit(layout)) {
        for (j = 0; j < 4; j++)
            for (i = 0; i < 4; i++) qs[4 * j + i] = v[16 * j + i];
    } else {
        uint32_t qh = 0;
        for (j = 0; j < 4; j++)
            for (i = 0; i < 4; i++) {
                const unsigned lo = v[16 * j + i] & 31u, hi = (unsigned)(v[16 * j + i] >> 5) | ((v[64 + i] >> (2 * j)) & 3u) << 3;
                qs[4 * j + i] = (uint8_t)((lo & 15u) | (hi & 15u) << 4);
                qh |= (uint32_t)(lo >> 4) << (4 * j + i) | (uint32_t)(hi >> 4) << (16 + 4 * j + i);
            }
        memcpy(qs - 4, &qh, 4);
    }
}

#ifdef MLLM_KERNELS_SIMD128
/* Four vectors whose lane k holds row k's 4 bytes j (vector j) to row k's 16 bytes at o[k]. */
static void transpose_store(v128_t v0, v128_t v1, v128_t v2, v128_t v3, uint8_t *const *o) {
    v128_t t[4];
    int k;
    transpose4(v0, v1, v2, v3, t);
    for (k = 0; k < 4; k++) wasm_v128_store(o[k], t[k]);
}
#endif

void quant_x4_rows4(uint32_t layout, const void *w, int64_t nb, int64_t r, void *out) {
    const size_t bb = (size_t)quant_x4_block_bytes(layout) / 4;
    int64_t k, b;
#ifdef MLLM_KERNELS_SIMD128
    /* the SIMD128 matmul's way back (relaxed SIMD turned off): vector moves, not bytes */
    const size_t hdr = header(layout);
    const uint8_t *g = (const uint8_t *)w + (size_t)(r / 4) * (size_t)nb * 4 * bb;
    for (b = 0; b < nb; b++, g += 4 * bb) {
        const uint8_t *v0 = g + hdr;
        uint8_t *o[4];
        for (k = 0; k < 4; k++) {
            o[k] = (uint8_t *)out + ((size_t)k * (size_t)nb + (size_t)b) * bb;
            memcpy(o[k], g + 2 * k, 2);
            if (hdr == 16) memcpy(o[k] + 2, g + 8 + 2 * k, 2);
            o[k] += bb - 16; /* qs, the last 16 bytes of every block */
        }
        if (!five_bit(layout)) {
            transpose_store(wasm_v128_load(v0), wasm_v128_load(v0 + 16), wasm_v128_load(v0 + 32), wasm_v128_load(v0 + 48), o);
        } else { /* levels as kernels.h says, to ggml's nibbles and fifth bits */
            const v128_t m0f = wasm_i8x16_splat(0x0f), m1f = wasm_i8x16_splat(0x1f), m07 = wasm_i8x16_splat(7);
            const v128_t m18 = wasm_i8x16_splat(0x18), v4 = wasm_v128_load(v0 + 64);
            v128_t q[4];
            uint32_t qh[4] = {0, 0, 0, 0};
            int j;
            for (j = 0; j < 4; j++) {
                const v128_t v = wasm_v128_load(v0 + 16 * j);
                const v128_t top = j == 0 ? wasm_i16x8_shl(v4, 3) : j == 1 ? wasm_i16x8_shl(v4, 1)
                                 : j == 2 ? wasm_u16x8_shr(v4, 1) : wasm_u16x8_shr(v4, 3);
                const v128_t lo = wasm_v128_and(v, m1f);
                const v128_t hi = wasm_v128_or(wasm_v128_and(wasm_u16x8_shr(v, 5), m07), wasm_v128_and(top, m18));
                const uint32_t bl = (uint32_t)wasm_i8x16_bitmask(wasm_i16x8_shl(lo, 3)); /* bit 4 to the sign */
                const uint32_t bh = (uint32_t)wasm_i8x16_bitmask(wasm_i16x8_shl(hi, 3));
                q[j] = wasm_v128_or(wasm_v128_and(lo, m0f), wasm_i16x8_shl(wasm_v128_and(hi, m0f), 4));
                for (k = 0; k < 4; k++) qh[k] |= ((bl >> (4 * k)) & 15u) << (4 * j) | ((bh >> (4 * k)) & 15u) << (16 + 4 * j);
            }
            transpose_store(q[0], q[1], q[2], q[3], o);
            for (k = 0; k < 4; k++) memcpy(o[k] - 4, &qh[k], 4);
        }
    }
#else
    for (k = 0; k < 4; k++)
        for (b = 0; b < nb; b++) quant_x4_block(layout, w, nb, r + k, b, (uint8_t *)out + ((size_t)k * (size_t)nb + (size_t)b) * bb);
#endif
}

/* The fp16 scales at the start of each block (n of them: d, or d and m) at stride bb: first
 * block with one inf/nan or -1; *plain: none subnormal. */
static int64_t scan(const uint8_t *p, size_t bb, int64_t nb, int n, int *plain) {
    int64_t b;
    int i;
    *plain = 1;
    for (b = 0; b < nb; b++, p += bb)
        for (i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, p + 2 * i, 2);
            if ((h & 0x7c00) == 0x7c00) return b;
            if ((h & 0x7c00) == 0 && (h & 0x3ff) != 0) *plain = 0;
        }
    return -1;
}

int64_t q4_0_scan_scales(const void *blocks, int64_t nb, int *plain) {
    return scan((const uint8_t *)blocks, sizeof(block_q4_0), nb, 1, plain);
}

int64_t q5_0_scan_scales(const void *blocks, int64_t nb, int *plain) {
    return scan((const uint8_t *)blocks, sizeof(block_q5_0), nb, 1, plain);
}

int64_t q4_1_scan_scales(const void *blocks, int64_t nb, int *plain) {
    return scan((const uint8_t *)blocks, sizeof(block_q4_1), nb, 2, plain);
}

int64_t q5_1_scan_scales(const void *blocks, int64_t nb, int *plain) {
    return scan((const uint8_t *)blocks, sizeof(block_q5_1), nb, 2, plain);
}

int64_t iq4_nl_scan_scales(const void *blocks, int64_t nb, int *plain) {
    return scan((const uint8_t *)blocks, sizeof(block_iq4_nl), nb, 1, plain);
}

/* ---------------------------------------------------------------- dtype.h repacked_block */

void q4_0_x4_block(const void *w, int64_t nb, int64_t r, int64_t i, void *blk) {
    quant_x4_block(KERN_LAYOUT_Q4_0_X4, w, nb, r, i, blk);
}

void q5_0_x4_block(const void *w, int64_t nb, int64_t r, int64_t i, void *blk) {
    quant_x4_block(KERN_LAYOUT_Q5_0_X4, w, nb, r, i, blk);
}

void q4_1_x4_block(const void *w, int64_t nb, int64_t r, int64_t i, void *blk) {
    quant_x4_block(KERN_LAYOUT_Q4_1_X4, w, nb, r, i, blk);
}

void q5_1_x4_block(const void *w, int64_t nb, int64_t r, int64_t i, void *blk) {
    quant_x4_block(KERN_LAYOUT_Q5_1_X4, w, nb, r, i, blk);
}

void iq4_nl_x4_block(const void *w, int64_t nb, int64_t r, int64_t i, void *blk) {
    quant_x4_block(KERN_LAYOUT_Q4_0_X4, w, nb, r, i, blk);
}
