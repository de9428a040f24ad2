/* quant_k_x4.c — Q4_K, Q5_K and Q6_K weights to and from their x4 layouts (KERN_LAYOUT_*_X4)
 * (kernels.h says the layouts): four rows' super-blocks interleaved so that the relaxed kernels
 * need no byte shuffles and decode the four rows' scales at once. Same byte count, every bit of
 * the file's blocks kept. */
#include <stddef.h>
#include <string.h>

#include "kernels.h"
#include "quant_blocks.h"
#include "quant_dot.h"

/* Byte p (0..15) of the 16 levels-bytes of sub-block pair jp, lane k: row rr % 2's element */
#define X4_ELEM(jp, k, p) (32 * (2 * (jp) + ((p) / 4) % 2) + (k) + 8 * ((p) % 4))
#define X4_QS 64

/* Q4_K (q5 0) and Q5_K (q5 1) share a block's start (d, dmin, scales) and their x4 layout
 * but for Q5_K's fifth bits (kernels.h). */
#define K45_BYTES(q5) ((q5) ? sizeof(block_q5_K) : sizeof(block_q4_K))
#define K45_QS(q5) ((q5) ? offsetof(block_q5_K, qs) : offsetof(block_q4_K, qs))
#define X5_H 576

/* The four bytes at b, b[0] lowest. */
static uint32_t le32(const uint8_t *b) {
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/* Bit j of the four bytes at b, at bits 0, 2, 4, 6. */
static uint32_t bits4(const uint8_t *b, int j) {
    const uint32_t x = le32(b) >> j & 0x01010101u;
    return (x | x >> 6 | x >> 12 | x >> 18) & 0x55u;
}

static void k45_to_x4(int q5, void *w, int64_t n_in, int64_t n_rows, void *tmp) {
    const int64_t nsb = n_in / QK_K;
    const size_t bb = K45_BYTES(q5), group = (size_t)(4 * nsb) * bb, xb = 4 * bb;
    uint8_t *g = (uint8_t *)w;
    int64_t r0, i;
    for (r0 = 0; r0 + 4 <= n_rows; r0 += 4, g += group) {
        const uint8_t *rows = (const uint8_t *)tmp;
        memcpy(tmp, g, group);
        for (i = 0; i < nsb; i++) {
            uint8_t *o = g + (size_t)i * xb;
            const uint8_t *f[4]; /* the four rows' file blocks */
            uint8_t sc[4][8], mn[4][8], v[4][16];
            int r, jp, k, p, s, rr, m;
            for (r = 0; r < 4; r++) {
                const uint8_t *b = f[r] = rows + (size_t)(r * nsb + i) * bb;
                memcpy(o + 2 * r, b, 2);
                memcpy(o + 8 + 2 * r, b + 2, 2);
                quant_k4_unpack(b + 4, sc[r], mn[r]);
            }
            for (jp = 0; jp < 4; jp++)
                for (r = 0; r < 4; r++)
                    for (s = 0; s < 2; s++) {
                        v[jp / 2][8 * (jp % 2) + 2 * r + s] = sc[r][2 * jp + s];
                        v[2 + jp / 2][8 * (jp % 2) + 2 * r + s] = mn[r][2 * jp + s];
                    }
            for (p = 0; p < 16; p++) {
                o[16 + p] = (uint8_t)((v[0][p] & 15) | (v[1][p] & 15) << 4);
                o[32 + p] = (uint8_t)((v[2][p] & 15) | (v[3][p] & 15) << 4);
                o[48 + p] = (uint8_t)(v[0][p] >> 4 | (v[1][p] >> 4) << 2 | (v[2][p] >> 4) << 4 | (v[3][p] >> 4) << 6);
            }
            /* unit u = 8 jp + k, byte 8 rr + 4 s + m (X4_ELEM): element 32 (2 jp + s) + k + 8 m of rows rr
             * (low nibble) and rr + 2 (high), the nibble s of file byte 32 jp + k + 8 m; Q5_K's fifth
             * bits (bit 2 jp + s of qh byte k + 8 m) at 2 (u % 4) and 2 (u % 4) + 1 of plane u / 4's byte */
            for (jp = 0; jp < 4; jp++)
                for (k = 0; k < 8; k++) {
                    uint8_t *q = o + X4_QS + 16 * (8 * jp + k);
                    for (rr = 0; rr < 2; rr++) {
                        const uint8_t *qa = f[rr] + K45_QS(q5) + 32 * jp + k, *qc = f[rr + 2] + K45_QS(q5) + 32 * jp + k;
                        for (m = 0; m < 4; m++) {
                            const int a = qa[8 * m], c = qc[8 * m];
                            q[8 * rr + m] = (uint8_t)((a & 15) | c << 4);
                            q[8 * rr + 4 + m] = (uint8_t)((a >> 4) | (c & 0xf0));
                        }
                    }
                }
            if (q5) /* plane P: units 4 P .. 4 P + 3 (jp = P / 2, k = 4 (P % 2) + c), row rr's bit at 2 c, row rr + 2's at 2 c + 1 */
                for (p = 0; p < 8; p++)
                    for (rr = 0; rr < 2; rr++)
                        for (s = 0; s < 2; s++)
                            for (m = 0; m < 4; m++) {
                                const int j = 2 * (p / 2) + s, at = offsetof(block_q5_K, qh) + 4 * (p % 2) + 8 * m;
                                const uint32_t a = bits4(f[rr] + at, j), c = bits4(f[rr + 2] + at, j);
                                o[X5_H + 16 * p + 8 * rr + 4 * s + m] = (uint8_t)(a | c << 1);
                            }
        }
    }
}

void kern_q4_k_to_x4(void *w, int64_t n_in, int64_t n_rows, void *tmp) { k45_to_x4(0, w, n_in, n_rows, tmp); }
void kern_q5_k_to_x4(void *w, int64_t n_in, int64_t n_rows, void *tmp) { k45_to_x4(1, w, n_in, n_rows, tmp); }

static void k45_x4_block(int q5, const void *w, int64_t nsb, int64_t r, int64_t i, void *blk) {
    const size_t bb = K45_BYTES(q5);
    const uint8_t *o = (const uint8_t *)w + (size_t)((r / 4) * nsb + i) * 4 * bb;
    const int rr = (int)(r % 4);
    uint8_t b[sizeof(block_q5_K)], *scales = b + 4, *qs = b + K45_QS(q5), *qh = b + offsetof(block_q5_K, qh);
    uint8_t v[4][16];
    int p, j, e;
    memset(b, 0, sizeof b);
    memcpy(b, o + 2 * rr, 2);
    memcpy(b + 2, o + 8 + 2 * rr, 2);
    for (p = 0; p < 16; p++) {
        const uint8_t h = o[48 + p];
        v[0][p] = (uint8_t)((o[16 + p] & 15) | (h & 3) << 4);
        v[1][p] = (uint8_t)((o[16 + p] >> 4) | (h >> 2 & 3) << 4);
        v[2][p] = (uint8_t)((o[32 + p] & 15) | (h >> 4 & 3) << 4);
        v[3][p] = (uint8_t)((o[32 + p] >> 4) | (h >> 6) << 4);
    }
    /* ggml's packing (quantize_row_q4_K_ref), the inverse of quant_k4_unpack */
    for (j = 0; j < 8; j++) {
        const int at = 8 * ((j / 2) % 2) + 2 * rr + j % 2;
        const uint8_t ls = v[j / 4][at], lm = v[2 + j / 4][at];
        if (j < 4) {
            scales[j] = ls;
            scales[j + 4] = lm;
        } else {
            scales[j + 4] = (uint8_t)((ls & 15) | (lm & 15) << 4);
            scales[j - 4] |= (uint8_t)((ls >> 4) << 6);
            scales[j] |= (uint8_t)((lm >> 4) << 6);
        }
    }
    for (e = 0; e < QK_K; e++) {
        const int jj = e / 32, l = e % 32, jp = jj / 2, k = l % 8, p2 = 8 * (rr % 2) + 4 * (jj % 2) + l / 8;
        const int u = 8 * jp + k, hi = rr >= 2;
        const uint8_t q = o[X4_QS + 16 * u + p2];
        const int lv = hi ? q >> 4 : q & 15;
        qs[jp * 32 + l] |= (uint8_t)(lv << (4 * (jj % 2)));
        if (q5) qh[l] |= (uint8_t)((o[X5_H + 16 * (u / 4) + p2] >> (2 * (u % 4) + hi) & 1) << jj);
    }
    memcpy(blk, b, bb);
}

void kern_q4_k_x4_block(const void *w, int64_t nsb, int64_t r, int64_t i, void *blk) { k45_x4_block(0, w, nsb, r, i, blk); }
void kern_q5_k_x4_block(const void *w, int64_t nsb, int64_t r, int64_t i, void *blk) { k45_x4_block(1, w, nsb, r, i, blk); }

/* ---------------------------------------------------------------- Q6_K */

/* Byte p (0..15) of unit (jp, k): row p / 4's element 16 (2 jp + (p / 2) % 2) + k + 8 (p % 2) */
#define X6_ELEM(jp, k, p) (16 * (2 * (jp) + ((p) / 2) % 2) + (k) + 8 * ((p) % 2))
#define X6_QS 64
#define X6_D 832

/* Where element e's 6 bits sit in ggml's block: ql byte, its nibble shift, qh byte and shift. */
static void q6_place(int e, int *ql, int *qls, int *qh, int *qhs) {
    const int h = e / 128, part = (e % 128) / 32, l = e % 32;
    *ql = 64 * h + l + (part % 2 ? 32 : 0);
    *qls = part / 2 ? 4 : 0;
    *qh = 32 * h + l;
    *qhs = 2 * part;
}

void kern_q6_k_to_x4(void *w, int64_t n_in, int64_t n_rows, void *tmp) {
    const int64_t nsb = n_in / QK_K;
    const size_t group = (size_t)(4 * nsb) * sizeof(block_q6_K);
    uint8_t *g = (uint8_t *)w;
    int64_t r0, i;
    for (r0 = 0; r0 + 4 <= n_rows; r0 += 4, g += group) {
        const block_q6_K *rows = (const block_q6_K *)tmp;
        memcpy(tmp, g, group);
        for (i = 0; i < nsb; i++) {
            uint8_t *o = g + (size_t)i * KERN_Q6_K_X4_BLOCK;
            int r, jp, k, s, m;
            for (r = 0; r < 4; r++) memcpy(o + X6_D + 2 * r, &rows[r * nsb + i].d, 2);
            for (jp = 0; jp < 8; jp++)
                for (r = 0; r < 4; r++)
                    for (s = 0; s < 2; s++) o[8 * jp + 2 * r + s] = (uint8_t)rows[r * nsb + i].scales[2 * jp + s];
            /* pair jp's elements 32 jp + l (l = 16 s + 8 m + k + u, byte p = 4 r + 2 s + m of units k + u):
             * one quarter of 128 (q6_place), so ql and qh bytes at fixed offsets and shifts plus l */
            for (r = 0; r < 4; r++) {
                const block_q6_K *b = &rows[r * nsb + i];
                for (jp = 0; jp < 8; jp++) {
                    const int qls = 4 * ((jp % 4) / 2), qhs = 2 * (jp % 4);
                    const uint8_t *ql = b->ql + 64 * (jp / 4) + 32 * (jp % 2), *qh = b->qh + 32 * (jp / 4);
                    for (k = 0; k < 8; k += 4)
                        for (s = 0; s < 2; s++)
                            for (m = 0; m < 2; m++) {
                                const int l = 16 * s + 8 * m + k, p = 4 * r + 2 * s + m;
                                const uint32_t lo = le32(ql + l) >> qls & 0x0f0f0f0fu, hi = le32(qh + l) >> qhs & 0x03030303u;
                                uint8_t *q = o + X6_QS + 48 * (2 * jp + k / 4) + p;
                                q[0] = (uint8_t)(lo | lo >> 4);
                                q[16] = (uint8_t)(lo >> 16 | lo >> 20);
                                q[32] = (uint8_t)(hi | hi >> 6 | hi >> 12 | hi >> 18);
                            }
                }
            }
        }
    }
}

void kern_q6_k_x4_block(const void *w, int64_t nsb, int64_t r, int64_t i, void *blk) {
    const uint8_t *o = (const uint8_t *)w + (size_t)((r / 4) * nsb + i) * KERN_Q6_K_X4_BLOCK;
    const int rr = (int)(r % 4);
    block_q6_K b;
    int j, e;
    memcpy(&b.d, o + X6_D + 2 * rr, 2);
    for (j = 0; j < 16; j++) b.scales[j] = (int8_t)o[8 * (j / 2) + 2 * rr + j % 2];
    memset(b.ql, 0, sizeof b.ql);
    memset(b.qh, 0, sizeof b.qh);
    for (e = 0; e < QK_K; e++) {
        const int jj = e / 16, jp = jj / 2, k = e % 8, m = (e % 16) / 8, u = k % 4;
        const int p = 4 * rr + 2 * (jj % 2) + m;
        const uint8_t *q = o + X6_QS + 48 * (2 * jp + k / 4);
        const int lo = (u < 2 ? q[p] : q[16 + p]) >> (4 * (u % 2)) & 15, hi = q[32 + p] >> (2 * u) & 3;
        int ql, qls, qh, qhs;
        q6_place(e, &ql, &qls, &qh, &qhs);
        b.ql[ql] |= (uint8_t)(lo << qls);
        b.qh[qh] |= (uint8_t)(hi << qhs);
    }
    memcpy(blk, &b, sizeof b);
}
