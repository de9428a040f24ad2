/* kernels.h — the numeric kernels of the forward pass, as a contract.
 *
 * kernels_scalar.c is the portable reference: every kernel exists there as kern_X_scalar,
 * always compiled, so a faster implementation can be tested against it. The entry points
 * forward.c calls are the kern_X names below.
 *
 * Overridable kernels (the hot ones): kern_quantize_q8_0, kern_dot_f32, kern_axpy_f32,
 * kern_attention, kern_softmax, kern_swiglu. When MLLM_KERNELS_SIMD128 is
 * defined (automatically under __wasm_simd128__), kernels_scalar.c does NOT define those
 * entry points and kernels_simd128.c must, with exactly the contracts written here. All
 * other kern_X entry points always come from kernels_scalar.c. Matrix products are per weight
 * type: kern_matmul (kernels.c) runs the kernel the type table (dtype.c) lists for the
 * weights' type, the SIMD128 one where the build has it, else the scalar reference.
 *
 * Adding a weight type: its block struct and row-to-float (codec.h, or a file of its own),
 * a scalar reference matmul kern_matmul_<type>_scalar (and, for speed, SIMD128/relaxed ones)
 * taking the activation format its dot takes (MLLM_ACT_*; a new format also needs its
 * quantizer here and its buffer in forward.c), its row in dtype.c's table, and tests
 * holding the fast kernels bit-equal to the reference and the reference to ggml's.
 *
 * The SIMD128 kernels perform the same float operations in the same order as the scalar
 * references for every output (they gain speed by computing many outputs at once), so the
 * two builds give bit-identical results; tests/c/test_kernels_simd.c checks that.
 *
 * No kernel allocates; buffers never alias unless a comment says so. Sizes are element
 * counts. Q8_0 sizes (n_in of a Q8_0 matmul, quantized rows) are multiples of 32.
 */
#ifndef MLLM_KERNELS_H
#define MLLM_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"

#if defined(__wasm_simd128__) && !defined(MLLM_KERNELS_SIMD128) && !defined(MLLM_KERNELS_SCALAR_ONLY)
#define MLLM_KERNELS_SIMD128 1
#endif

/* ---------------------------------------------------------------- overridable */

/* y = Q8_0 blocks of x (n % 32 == 0), bit-identical to ggml's quantize_row_q8_0_ref
 * (codec.c's quantize_row_q8_0): d = amax/127 stored as fp16, q = roundf(x * (1/d)). */
void kern_quantize_q8_0(const float *x, block_q8_0 *y, int64_t n);

/* A weight matrix as the matmul kernels see it: n_rows rows of n_in elements of `type`
 * (an mllm_dtype; dtype_row_bytes each), in `layout`. */
enum {
    KERN_LAYOUT_ROWS = 0,    /* the file's: row after row */
    /* Q8_0 only, n_rows % 4 == 0 (kern_q8_0_to_x4): rows in groups of four, each group's
     * blocks one after another, KERN_Q8_0_X4_BLOCK bytes per block of four rows: their four
     * fp16 scales (row 0 first), then 128 bytes: for each quad j = 0..7 of the block's 32
     * quants, the four rows' quants 4j..4j+3 in row order, each stored + 128 (q ^ 0x80). One
     * 16-byte load then holds a quad of four rows in the relaxed dot's operand range, so the
     * dot leaves each row's partial sum in its own lane (kernels_relaxed.c). Same values. */
    KERN_LAYOUT_Q8_0_X4 = 1,
    /* Q4_0 and IQ4_NL (the same block: fp16 d, 16 nibble bytes; w->type says which levels the
     * nibbles index), n_rows % 4 == 0 (kern_q4_0_to_x4, kern_iq4_nl_to_x4): rows in groups of four, each group's
     * blocks one after another, KERN_Q4_0_X4_BLOCK bytes per block of four rows: their four
     * fp16 scales (row 0 first), then for each j = 0..3 sixteen bytes: rows 0..3's qs bytes
     * 4j..4j+3 in row order (ggml's bytes unchanged: low nibble element 4j+i, high nibble
     * element 16+4j+i). One 16-byte load and & 0x0f gives quad j of four rows (elements
     * 4j..4j+3), >> 4 & 0x0f quad 4+j (elements 16+4j..), each row in its own lane of the
     * relaxed dot (kernels_relaxed_x4quant.c). Same bytes as the file, rearranged. */
    KERN_LAYOUT_Q4_0_X4 = 2,
    /* Q5_0 only, n_rows % 4 == 0 (kern_q5_0_to_x4): as Q4_0_X4 with KERN_Q5_0_X4_BLOCK bytes
     * per block of four rows: four fp16 scales, then five 16-byte vectors V0..V4 whose byte
     * 4r+i belongs to row r: in Vj (j = 0..3) bits 0-4 are the 5-bit level of element 4j+i
     * and bits 5-7 the low three bits of the level of element 16+4j+i; in V4 bits 2j, 2j+1
     * are the top two bits of that level. So quad j is Vj & 0x1f (one op) and quad 4+j
     * (Vj >> 5 & 7) | (V4 shifted & 0x18). Same bytes as the file, rearranged. */
    KERN_LAYOUT_Q5_0_X4 = 3,
    /* Q4_K only, n_rows % 4 == 0 (kern_q4_k_to_x4): rows in groups of four, each group's
     * super-blocks one after another, KERN_Q4_K_X4_BLOCK bytes (the four rows' 4 x 144) each:
     *  - 0: the four rows' fp16 d, then 8: their fp16 dmin (row 0 first);
     *  - 16: their 6-bit scales and mins as four vectors of 16 bytes V0..V3: V0 = the scale
     *    pairs of sub-blocks (0, 1) then (2, 3), V1 of (4, 5) then (6, 7), each pair
     *    [row 0: s_j, s_j+1, row 1: ..., row 3: ...]; V2, V3 the mins likewise. Stored as
     *    V0 | V1 << 4 (low nibbles, 16 bytes), V2 | V3 << 4, then the top two bits of
     *    V0..V3 in bits 0-1, 2-3, 4-5, 6-7 of 16 bytes;
     *  - 64: for each sub-block pair jp = 0..3 and lane k = 0..7 (ggml's eight float lanes,
     *    element % 8), 16 bytes: byte 8 rr + 4 s + m holds element 32 (2 jp + s) + k + 8 m
     *    of row rr (low nibble) and of row rr + 2 (high nibble).
     * Each 16 bytes of levels then give two relaxed dots whose lanes are one row's sum of one
     * sub-block in one float lane, with no byte shuffles (kernels_relaxed_quant.c). Same
     * values: kern_q4_k_x4_block gives any row's super-block back. */
    KERN_LAYOUT_Q4_K_X4 = 4,
    /* Q6_K only, n_rows % 4 == 0 (kern_q6_k_to_x4): as Q4_K's, KERN_Q6_K_X4_BLOCK bytes (4 x 210)
     * a super-block of four rows:
     *  - 0: the int8 scales, for each sub-block pair jp = 0..7 eight bytes [row 0: s_2jp,
     *    s_2jp+1, row 1: ..., row 3: ...];
     *  - 64: for each jp and each four lanes k0 = 0, 4, 48 bytes: the 6-bit levels of the units
     *    (jp, k0 + u), u = 0..3, 16 a unit, byte p = 4 rr + 2 s + m holding row rr's element
     *    16 (2 jp + s) + k + 8 m: low nibbles of u = 0, 1 (low, high) in 16 bytes, of u = 2, 3
     *    in 16 more, then the top two bits of u = 0..3 in bits 0-1, 2-3, 4-5, 6-7 of 16 bytes;
     *  - 832: the four rows' fp16 d.
     * One relaxed i16 dot of a unit leaves each row's two sub-blocks' lane-k pair in int16s
     * ready for the scales (kernels_relaxed_quant.c). */
    KERN_LAYOUT_Q6_K_X4 = 5,
    /* Q5_K only (kern_q5_k_to_x4): Q4_K's x4 layout of the four rows' low four bits, scales,
     * mins, d and dmin (KERN_Q5_K_X4_BLOCK = 4 x 176 bytes a super-block), then at 576 their
     * fifth bits, 16 bytes for each four units u = 4c .. 4c + 3: bit 2 (u % 4) of byte p the
     * fifth bit of the low nibble's level in unit u's byte p, bit 2 (u % 4) + 1 the high's. */
    KERN_LAYOUT_Q5_K_X4 = 6,
    /* Q4_1 only, n_rows % 4 == 0 (kern_q4_1_to_x4): as Q4_0_X4 with KERN_Q4_1_X4_BLOCK bytes per
     * block of four rows: the four rows' fp16 d, then their fp16 m (row 0 first), then Q4_0_X4's
     * four vectors of nibbles. Same bytes as the file, rearranged. */
    KERN_LAYOUT_Q4_1_X4 = 7,
    /* Q5_1 only, n_rows % 4 == 0 (kern_q5_1_to_x4): as Q5_0_X4 with KERN_Q5_1_X4_BLOCK bytes per
     * block of four rows: the four rows' fp16 d, then their fp16 m, then Q5_0_X4's V0..V4. */
    KERN_LAYOUT_Q5_1_X4 = 8
};
#define KERN_Q8_0_X4_BLOCK 136
#define KERN_Q4_0_X4_BLOCK 72
#define KERN_Q5_0_X4_BLOCK 88
#define KERN_Q4_1_X4_BLOCK 80
#define KERN_Q5_1_X4_BLOCK 96
#define KERN_Q4_K_X4_BLOCK 576
#define KERN_Q6_K_X4_BLOCK 840
#define KERN_Q5_K_X4_BLOCK 704

typedef struct kern_weights {
    const void *data;
    uint32_t type;
    uint32_t layout;       /* KERN_LAYOUT_* */
    /* Q8_0: 1 when every block scale is +0 or a positive normal fp16 (as quantizers write
     * them), which lets the SIMD decode convert the scales in one shift (model.c checks).
     * Q4_0, Q5_0, IQ4_NL (Q4_1, Q5_1: no d or m): 1 when no block scale is subnormal (either sign), which lets the relaxed
     * x4 kernels convert the scales in two ops (quant_x4.c's scans). */
    uint32_t plain_scales;
} kern_weights;

/* Per-call options that never change a value, only which kernel runs and how fast. */
typedef struct kern_hints {
    /* 1: Q8_0 matmuls may go to the relaxed-SIMD kernels (src/kernels_relaxed.c), in builds
     * that link them and where the engine computes their dot exactly. */
    uint32_t relaxed;
    /* 1: the same rows run again right after this call (a shared block's first pass): the
     * SIMD decode streams then read each chunk of rows a second time once it has left L1,
     * so that L2 keeps it (kernels_q8_simd.h). */
    uint32_t reuse;
} kern_hints;

/* Many-token matrix product, weights streamed once for all tokens:
 *   out[t*ldo + r] = dot(row r of w, token t)   for r < n_rows, t < n_tok.
 * Tokens come in the activation format of w's type (dtype.h dtype_act):
 *   MLLM_ACT_F32 (F32, F16, BF16): token t is x[t*n_in .. t*n_in + n_in-1]; xq is not read.
 *   MLLM_ACT_Q8_0 (Q8_0): token t is ((const block_q8_0 *)xq)[t*(n_in/32) ..], the
 *     kern_quantize_q8_0 of that row; x is not read. The value is ggml's
 *     vec_dot_q8_0_q8_0: sum over blocks b of (float)isum_b * (fp16(w_b.d) * fp16(x_b.d)),
 *     isum_b the exact int32 dot of the qs. The weights' block scales must be finite
 *     (model.c rejects a file with an inf or nan scale): the SIMD kernels convert them with
 *     a shortcut that is exact only for finite halves. Activation scales may be anything.
 * out may have a row stride ldo >= n_rows. The value of out[t][r] does not depend on n_tok,
 * on the other tokens, on w's layout or on the hints, so evaluating a sequence in one batch
 * or one token at a time gives bit-identical results.
 * Runs the type table's fastest kernel for w's type in this build (kernels.c); returns 1,
 * or 0 without writing where the type has no kernel (the loader refuses such tensors). */
int kern_matmul(float *out, int64_t ldo, const kern_weights *w, int64_t n_in, int64_t n_rows, const float *x,
                const void *xq, int64_t n_tok, kern_hints hints);
/* The same through the type's scalar reference kernel. */
int kern_matmul_scalar(float *out, int64_t ldo, const kern_weights *w, int64_t n_in, int64_t n_rows,
                       const float *x, const void *xq, int64_t n_tok, kern_hints hints);

/* A type's matmul kernel (a row of the type table, dtype.h), kern_matmul's contract. */
typedef void (*kern_matmul_fn)(float *out, int64_t ldo, const kern_weights *w, int64_t n_in, int64_t n_rows,
                               const float *x, const void *xq, int64_t n_tok, kern_hints hints);
/* A kernel that may decline the call (the relaxed-SIMD module, absent or inexact on some
 * engines): 1 when done, 0 when it wrote nothing and the next kernel must run. */
typedef int (*kern_matmul_try_fn)(float *out, int64_t ldo, const kern_weights *w, int64_t n_in, int64_t n_rows,
                                  const float *x, const void *xq, int64_t n_tok, kern_hints hints);

/* The per-type matmul kernels the type table lists. */
void kern_matmul_f32_scalar(float *out, int64_t ldo, const kern_weights *w, int64_t n_in, int64_t n_rows,
                            const float *x, const void *xq, int64_t n_tok, kern_hints hints);
/* F16 and BF16 (w->type says which). */
void kern_matmul_half_scalar(float *out, int64_t ldo, const kern_weights *w, int64_t n_in, int64_t n_rows,
                             const float *x, const void *xq, int64_t n_tok, kern_hints hints);
void kern_matmul_q8_0_scalar(float *out, int64_t ldo, const kern_weights *w, int64_t n_in, int64_t n_rows,
                             const float *x, const void *xq, int64_t n_tok, kern_hints hints);
#ifdef MLLM_KERNELS_SIMD128
/* F32, F16 and BF16. */
void kern_matmul_float_simd128(float *out, int64_t ldo, const kern_weights *w, int64_t n_in, int64_t n_rows,
                               const float *x, const void *xq, int64_t n_tok, kern_hints hints);
void kern_matmul_q8_0_simd128(float *out, int64_t ldo, const kern_weights *w, int64_t n_in, int64_t n_rows,
                              const float *x, const void *xq, int64_t n_tok, kern_hints hints);
#ifdef MLLM_RELAXED_IMPORT
/* The relaxed-SIMD module's Q8_0 kernels (prefill tile for 4 tokens or more, decode streams
 * for fewer), reached through the engine's import mllm_relaxed_q8_0. */
int kern_matmul_q8_0_relaxed(float *out, int64_t ldo, const kern_weights *w, int64_t n_in, int64_t n_rows,
                             const float *x, const void *xq, int64_t n_tok, kern_hints hints);
#endif
#endif

/* The flags argument of the relaxed module's entry point mllm_relaxed_q8_0 (an import of
 * the SIMD builds; kernels_relaxed.c): the weights' layout and scales, and the reuse hint. */
#define KERN_RELAXED_PLAIN_SCALES 0x1
#define KERN_RELAXED_REUSE 0x2
#define KERN_RELAXED_X4 0x4
/* The call feeds the dot's second operand values above 127 (IQ4_NL's levels + 128 on the x4
 * layout): the loader runs it only where mllm_relaxed_probe passed, as the Q8_0 kernels. */
#define KERN_RELAXED_UNSIGNED 0x8
/* Or-ed into the type argument of the relaxed module's mllm_relaxed_quant: the weights are in
 * the type's x4 layout (Q4_K, Q5_K, Q6_K: KERN_LAYOUT_Q4_K_X4, _Q5_K_X4, _Q6_K_X4). */
#define KERN_RELAXED_QUANT_X4 0x100

/* Rearrange n_rows (a multiple of 4) Q8_0 rows of n_in elements from the file's layout to
 * KERN_LAYOUT_Q8_0_X4, in place; tmp: scratch of 4 rows (4 * n_in / 32 * 34 bytes). */
void kern_q8_0_to_x4(void *w, int64_t n_in, int64_t n_rows, void *tmp);
/* Row r's block i of a KERN_LAYOUT_Q8_0_X4 matrix of nb blocks a row, back in the file's
 * layout (a block_q8_0, 34 bytes) at blk: dtype.h repacked_block, the embedding's way in. */
void kern_q8_0_x4_block(const void *w, int64_t nb, int64_t r, int64_t i, void *blk);

/* The same for Q4_0 into KERN_LAYOUT_Q4_0_X4 and Q5_0 into KERN_LAYOUT_Q5_0_X4 (quant_x4.c);
 * tmp: scratch of 4 rows. */
void kern_q4_0_to_x4(void *w, int64_t n_in, int64_t n_rows, void *tmp);
void kern_q5_0_to_x4(void *w, int64_t n_in, int64_t n_rows, void *tmp);
/* Q4_1 into KERN_LAYOUT_Q4_1_X4 and Q5_1 into KERN_LAYOUT_Q5_1_X4 (quant_x4.c), the same way. */
void kern_q4_1_to_x4(void *w, int64_t n_in, int64_t n_rows, void *tmp);
void kern_q5_1_to_x4(void *w, int64_t n_in, int64_t n_rows, void *tmp);
/* IQ4_NL into KERN_LAYOUT_Q4_0_X4 (its block is Q4_0's; the same rearrangement). */
void kern_iq4_nl_to_x4(void *w, int64_t n_in, int64_t n_rows, void *tmp);

/* 1 where kern_matmul runs KERN_LAYOUT_Q8_0_X4 weights faster than the file's layout: SIMD
 * builds whose relaxed-SIMD kernels run in this engine. */
int kern_q8_0_x4_preferred(void);

/* Rearrange n_rows (a multiple of 4) Q4_K rows of n_in elements (a multiple of 256) to
 * KERN_LAYOUT_Q4_K_X4, in place (src/quant_k_x4.c); tmp: scratch of 4 rows (4 * n_in / 256 * 144
 * bytes). */
void kern_q4_k_to_x4(void *w, int64_t n_in, int64_t n_rows, void *tmp);
/* Row r's super-block i of a KERN_LAYOUT_Q4_K_X4 matrix of nsb super-blocks a row, back in
 * the file's bytes (a block_q4_K, 144 bytes, at blk). */
void kern_q4_k_x4_block(const void *w, int64_t nsb, int64_t r, int64_t i, void *blk);
/* The same for Q5_K and KERN_LAYOUT_Q5_K_X4 (block_q5_K, 176 bytes; tmp 4 * n_in / 256 * 176). */
void kern_q5_k_to_x4(void *w, int64_t n_in, int64_t n_rows, void *tmp);
void kern_q5_k_x4_block(const void *w, int64_t nsb, int64_t r, int64_t i, void *blk);
/* The same for Q6_K and KERN_LAYOUT_Q6_K_X4 (block_q6_K, 210 bytes; tmp 4 * n_in / 256 * 210). */
void kern_q6_k_to_x4(void *w, int64_t n_in, int64_t n_rows, void *tmp);
void kern_q6_k_x4_block(const void *w, int64_t nsb, int64_t r, int64_t i, void *blk);
/* 1 where kern_matmul runs the K types' x4 layouts faster than the file's: builds whose
 * relaxed-SIMD module runs in this engine (kernels_quant.c). */
int kern_k_x4_preferred(void);

/* sum_i a[i]*b[i] in float. */
float kern_dot_f32(const float *a, const float *b, int64_t n);

/* y[i] += alpha * x[i]. */
void kern_axpy_f32(float *y, float alpha, const float *x, int64_t n);

/* Attention of n_q query heads sharing one key/value head (a GQA group) over cache
 * positions 0..n_pos-1. k and v point at that head's first element in position 0; rows
 * (positions) are ld floats apart. Query head h is q + h*head_dim, its output out +
 * h*head_dim. For each head:
 *   s[j] = kern_dot_f32(q_h, k_j, head_dim) * scale;  p = kern_softmax(s);
 *   out_h = 0, then out_h += p[j] * v_j for j = 0, 1, ... (kern_axpy_f32 order).
 * scores is scratch for n_q * n_pos floats. */
void kern_attention(float *out, const float *q, const float *k, const float *v, int64_t ld, int32_t head_dim,
                    int32_t n_q, int32_t n_pos, float scale, float *scores);

/* In place: x = e / sum with e[i] = kern_exp(x[i] - max) (max ignores nans), the sum kept
 * as 8 partial sums combined like kern_dot_f32's; x *= 1/sum. */
void kern_softmax(float *x, int64_t n);

/* out[i] = gate[i] / (1 + kern_exp(-gate[i])) * up[i]. out may equal gate or up. */
void kern_swiglu(float *out, const float *gate, const float *up, int64_t n);

/* ---------------------------------------------------------------- always scalar */

/* out = x / sqrt(mean(x^2) + eps) * w; sum of squares in float; w of type wtype (F32, F16
 * or BF16, n elements). out may equal x. */
void kern_rmsnorm(float *out, const float *x, const void *w, uint32_t wtype, int64_t n, float eps);

/* Each of n_head vectors of head_dim floats (contiguous) in place: v / sqrt(mean(v^2) + eps),
 * no weight (Llama 4's per-head q/k norm); sum of squares in float. */
void kern_head_rmsnorm(float *x, int32_t n_head, int32_t head_dim, float eps);

/* cs[2i] = cos(pos * base^(-2i/n_rot)), cs[2i+1] = sin(...), i < n_rot/2, computed in
 * double: one table per token position, shared by every layer and head. */
void kern_rope_table(float *cs, int32_t pos, int32_t n_rot, float base);

/* Rotate adjacent pairs (2i, 2i+1), i < n_rot/2, of each of n_head vectors of head_dim
 * floats (contiguous, head after head) by the angles of table cs:
 *   x0' = x0*cos - x1*sin,  x1' = x0*sin + x1*cos.  Dims >= n_rot are left alone. */
void kern_rope(float *x, int32_t n_head, int32_t head_dim, int32_t n_rot, const float *cs);

/* out = row `row` of a table with rows of n elements of type type (any supported type). */
void kern_embed(float *out, const void *table, uint32_t type, int64_t row, int64_t n);
/* The same for a table in any layout (w->layout: the file's, or one its type's table row can
 * read back a block at a time, dtype.h repacked_block); the same values. */
void kern_embed_weights(float *out, const kern_weights *w, int64_t row, int64_t n);

/* ---------------------------------------------------------------- scalar references */

void kern_quantize_q8_0_scalar(const float *x, block_q8_0 *y, int64_t n);
float kern_dot_f32_scalar(const float *a, const float *b, int64_t n);
void kern_axpy_f32_scalar(float *y, float alpha, const float *x, int64_t n);
/* n elements of an F32/F16/BF16 row to f32, exactly (F16 without a call per element). */
void kern_widen_row(uint32_t type, const void *src, float *dst, int64_t n);
/* One Q8_0 row dot (ggml_vec_dot_q8_0_q8_0), n % 32 == 0. */
float kern_dot_q8_0_scalar(const block_q8_0 *a, const block_q8_0 *b, int64_t n);
void kern_attention_scalar(float *out, const float *q, const float *k, const float *v, int64_t ld,
                           int32_t head_dim, int32_t n_q, int32_t n_pos, float scale, float *scores);
void kern_softmax_scalar(float *x, int64_t n);
void kern_swiglu_scalar(float *out, const float *gate, const float *up, int64_t n);

/* e^x in float from basic IEEE operations only (no libm, whose last bit varies), so the
 * scalar and SIMD kernels compute it identically: Cephes' expf (range reduction by
 * n = rint(x log2 e), a degree-5 polynomial, 2^n added to the exponent bits); relative
 * error < 2e-7. x < -86 gives 0 (no subnormal results), x > 88 is taken as 88, nan stays
 * nan. */
float kern_exp(float x);

#endif
