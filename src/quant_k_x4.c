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

/* The element e's level (4 or 5 bits) of a file block at b. */
static int level_of(const uint8_t *b, int q5, int e) {
    const int j = e / 32, l = e % 32;
    const uint8_t q = b[K45_QS(q5) + (j / 2) * 32 + l];
    return (j % 2 ? q >> 4 : q & 15) | (q5 ? (b[offsetof(block_q5_K, qh) + l] >> j & 1) << 4 : 0);
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
            uint8_t sc[4][8], mn[4][8], v[4][16];
            int r, jp, k, p, s;
            for (r = 0; r < 4; r++) {
                const uint8_t *b = rows + (size_t)(r * nsb + i) * bb;
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
            if (q5) memset(o + X5_H, 0, 128);
            for (jp = 0; jp < 4; jp++)
                for (k = 0; k < 8; k++)
                    for (p = 0; p < 16; p++) {
                        const int e = X4_ELEM(jp, k, p), rr = p / 8, u = 8 * jp + k;
                        const int a = level_of(rows + (size_t)(rr * nsb + i) * bb, q5, e);
                        const int c = level_of(rows + (size_t)((rr + 2) * nsb + i) * bb, q5, e);
                        o[X4_QS + 16 * u + p] = (uint8_t)((a & 15) | (c & 15) << 4);
                        if (q5) o[X5_H + 16 * (u / 4) + p] |= (uint8_t)((a >> 4) << (2 * (u % 4)) | (c >> 4) << (2 * (u % 4) + 1));
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

static int level6_of(const block_q6_K *b, int e) {
    int ql, qls, qh, qhs;
    q6_place(e, &ql, &qls, &qh, &qhs);
    return (b->ql[ql] >> qls & 15) | (b->qh[qh] >> qhs & 3) << 4;
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
            int r, jp, k, p, s;
            for (r = 0; r < 4; r++) memcpy(o + X6_D + 2 * r, &rows[r * nsb + i].d, 2);
            for (jp = 0; jp < 8; jp++)
                for (r = 0; r < 4; r++)
                    for (s = 0; s < 2; s++) o[8 * jp + 2 * r + s] = (uint8_t)rows[r * nsb + i].scales[2 * jp + s];
            for (jp = 0; jp < 8; jp++)
                for (k = 0; k < 8; k += 4) {
                    uint8_t *q = o + X6_QS + 48 * (2 * jp + k / 4);
                    for (p = 0; p < 16; p++) {
                        int u, lv[4];
                        for (u = 0; u < 4; u++) lv[u] = level6_of(&rows[(p / 4) * nsb + i], X6_ELEM(jp, k + u, p));
                        q[p] = (uint8_t)((lv[0] & 15) | (lv[1] & 15) << 4);
                        q[16 + p] = (uint8_t)((lv[2] & 15) | (lv[3] & 15) << 4);
                        q[32 + p] = (uint8_t)(lv[0] >> 4 | (lv[1] >> 4) << 2 | (lv[2] >> 4) << 4 | (lv[3] >> 4) << 6);
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
