/* quant_x4.h — the interleaved layouts of Q4_0, Q5_0, Q4_1 and Q5_1 (kernels.h KERN_LAYOUT_Q4_0_X4,
 * KERN_LAYOUT_Q5_0_X4, _Q4_1_X4, _Q5_1_X4): the way back to the file's blocks for the kernels that read rows, and
 * the load-time scale scans that tell the relaxed x4 kernels their scales' form. The repacks
 * themselves are kernels.h's kern_q4_0_to_x4 / kern_q5_0_to_x4. */
#ifndef MLLM_QUANT_X4_H
#define MLLM_QUANT_X4_H

#include <stdint.h>

#include "kernels.h"

/* 1 for the x4 layouts of this file. */
int quant_x4_layout(uint32_t layout);

/* Bytes per block of four rows of layout (72, 88, 80, 96), 0 for others. */
int32_t quant_x4_block_bytes(uint32_t layout);

/* Row r's block b of an x4 matrix with nb blocks per row, back in the file's layout
 * (a block_q4_0, block_q5_0, block_q4_1 or block_q5_1, by layout; an IQ4_NL block is a block_q4_0's bytes) at out. */
void quant_x4_block(uint32_t layout, const void *w, int64_t nb, int64_t r, int64_t b, void *out);

/* Four rows from row r (r % 4 == 0) of an x4 matrix back in the file's layout at out. */
void quant_x4_rows4(uint32_t layout, const void *w, int64_t nb, int64_t r, void *out);

/* dtype.c's repacked_block of Q4_0, Q5_0, Q4_1, Q5_1 and IQ4_NL: row r's block i of their x4 matrix of nb
 * blocks a row, in the file's bytes at blk (quant_x4_block), for the embedding lookup of a
 * repacked tied head (kern_embed_weights). */
void q4_0_x4_block(const void *w, int64_t nb, int64_t r, int64_t i, void *blk);
void q5_0_x4_block(const void *w, int64_t nb, int64_t r, int64_t i, void *blk);
void q4_1_x4_block(const void *w, int64_t nb, int64_t r, int64_t i, void *blk);
void q5_1_x4_block(const void *w, int64_t nb, int64_t r, int64_t i, void *blk);
void iq4_nl_x4_block(const void *w, int64_t nb, int64_t r, int64_t i, void *blk);

/* dtype.c's scan_scales of Q4_0, Q5_0, Q4_1, Q5_1 and IQ4_NL: the first block whose scale (d, or
 * d or m) is inf or nan, or -1; *plain = 1 when none is subnormal (kern_weights.plain_scales). */
int64_t q4_0_scan_scales(const void *blocks, int64_t nb, int *plain);
int64_t q5_0_scan_scales(const void *blocks, int64_t nb, int *plain);
int64_t q4_1_scan_scales(const void *blocks, int64_t nb, int *plain);
int64_t q5_1_scan_scales(const void *blocks, int64_t nb, int *plain);
int64_t iq4_nl_scan_scales(const void *blocks, int64_t nb, int *plain);

#endif
