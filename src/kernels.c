/* kernels.c — the type-dispatched kernels: kern_matmul runs the type table's kernel for the
 * weights (dtype.c), kern_embed its row-to-float. */
#include "kernels.h"

#include <stdint.h>

#include "dtype.h"

int kern_matmul(float *out, int64_t ldo, const kern_weights *w, int64_t n_in, int64_t n_rows, const float *x,
                const void *xq, int64_t n_tok, kern_hints hints) {
    const dtype_traits *t = dtype_traits_of(w->type);
    if (hints.relaxed && t->matmul_relaxed && t->matmul_relaxed(out, ldo, w, n_in, n_rows, x, xq, n_tok, hints))
        return 1;
    if (t->matmul_simd128) {
        t->matmul_simd128(out, ldo, w, n_in, n_rows, x, xq, n_tok, hints);
        return 1;
    }
    return kern_matmul_scalar(out, ldo, w, n_in, n_rows, x, xq, n_tok, hints);
}

int kern_matmul_scalar(float *out, int64_t ldo, const kern_weights *w, int64_t n_in, int64_t n_rows,
                       const float *x, const void *xq, int64_t n_tok, kern_hints hints) {
    const dtype_traits *t = dtype_traits_of(w->type);
    if (!t->matmul_scalar) return 0;
    t->matmul_scalar(out, ldo, w, n_in, n_rows, x, xq, n_tok, hints);
    return 1;
}

void kern_embed(float *out, const void *table, uint32_t type, int64_t row, int64_t n) {
    size_t row_bytes = dtype_row_bytes(type, n);
    dequantize_row(type, (const uint8_t *)table + (size_t)row * row_bytes, out, n);
}

void kern_embed_weights(float *out, const kern_weights *w, int64_t row, int64_t n) {
    const dtype_traits *t = dtype_traits_of(w->type);
    const int64_t be = t->block_elems, nb = be > 0 ? n / be : 0;
    uint8_t blk[256]; /* one block of any type with a repacked layout (Q6_K: 210 bytes) */
    int64_t i;
    if (w->layout == KERN_LAYOUT_ROWS || !t->repacked_block || (size_t)t->block_bytes > sizeof blk) {
        kern_embed(out, w->data, w->type, row, n);
        return;
    }
    for (i = 0; i < nb; i++) {
        t->repacked_block(w->data, nb, row, i, blk);
        dequantize_row(w->type, blk, out + i * be, be);
    }
}
