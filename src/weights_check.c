/* weights_check.c — finite-value scan of float weights and the unused-tensor check (see
 * weights_check.h). */
#include "weights_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtype.h"
#include "error.h"
#include "model.h"

/* Elements per chunk: the scan ORs a flag over a chunk without branching (so it vectorizes),
 * and finds the exact element only in a chunk that has one. */
#define SCAN_CHUNK 4096

/* 1 when element i of the tensor's bytes is inf or nan: an all-ones exponent. Loads through
 * memcpy: GGUF data need not be aligned to the element size. */
static int bad_f32(const uint8_t *p, int64_t i) {
    uint32_t w;
    memcpy(&w, p + 4 * i, 4);
    return (w & 0x7f800000u) == 0x7f800000u;
}
static int bad_f16(const uint8_t *p, int64_t i) {
    uint16_t h;
    memcpy(&h, p + 2 * i, 2);
    return (h & 0x7c00u) == 0x7c00u;
}
static int bad_bf16(const uint8_t *p, int64_t i) {
    uint16_t h;
    memcpy(&h, p + 2 * i, 2);
    return (h & 0x7f80u) == 0x7f80u;
}

int64_t weights_first_nonfinite(const gguf_tensor *t) {
    int (*bad)(const uint8_t *, int64_t);
    const uint8_t *p = t->data;
    int64_t n = t->n_elems, c, i;
    switch (t->type) {
    case MLLM_DTYPE_F32: bad = bad_f32; break;
    case MLLM_DTYPE_F16: bad = bad_f16; break;
    case MLLM_DTYPE_BF16: bad = bad_bf16; break;
    default: return -1;
    }
    for (c = 0; c < n; c += SCAN_CHUNK) {
        int64_t end = n - c < SCAN_CHUNK ? n : c + SCAN_CHUNK;
        int any = 0;
        /* the three loops are spelled out so each inlines its test and vectorizes */
        if (t->type == MLLM_DTYPE_F32)
            for (i = c; i < end; i++) any |= bad_f32(p, i);
        else if (t->type == MLLM_DTYPE_F16)
            for (i = c; i < end; i++) any |= bad_f16(p, i);
        else
            for (i = c; i < end; i++) any |= bad_bf16(p, i);
        if (any)
            for (i = c; i < end; i++)
                if (bad(p, i)) return i;
    }
    return -1;
}

mllm_status weights_check_finite(const gguf_tensor *t, const char *name, mllm_error *err) {
    int64_t i = weights_first_nonfinite(t);
    if (i < 0) return MLLM_OK;
    return mllm_fail(err, MLLM_ERR_FORMAT,
                     "tensor '%s' holds an inf or nan value (element %lld of %lld, row %lld): a damaged file",
                     name, (long long)i, (long long)t->n_elems, (long long)(t->ne[0] ? i / t->ne[0] : 0));
}

/* "blk.N." with N a decimal number: N, else -1. */
static int64_t block_index(gguf_str s) {
    uint64_t i = 4, v = 0;
    if (s.len < 6 || memcmp(s.ptr, "blk.", 4) != 0) return -1;
    while (i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9' && v < ((uint64_t)1 << 40))
        v = v * 10 + (uint64_t)(s.ptr[i++] - '0');
    if (i == 4 || i >= s.len || s.ptr[i] != '.') return -1;
    return (int64_t)v;
}

/* A file's tensor name for a message: at most 64 bytes, control bytes as '?'. */
static void printable(gguf_str s, char out[72]) {
    uint64_t i, n = s.len > 64 ? 64 : s.len;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        out[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    strcpy(out + n, s.len > 64 ? "..." : "");
}

mllm_status weights_check_all_used(const struct mllm_model *m, mllm_error *err) {
    const gguf_file *f = &m->gguf;
    const gguf_tensor *ts[MODEL_BLOCK_MATRICES];
    uint64_t n = f->n_tensors, i, used = 0;
    uint8_t *mark;
    int32_t b;
    int j;
    mllm_status st = MLLM_OK;

    if (n == 0) return MLLM_OK;
    mark = (uint8_t *)calloc((size_t)n, 1);
    if (!mark) return mllm_fail(err, MLLM_ERR_NOMEM, "out of memory checking the file's tensor list");
#define MARK(t) do { if (t) mark[(t) - f->tensors] = 1; } while (0)
    MARK(m->tok_embd);
    MARK(m->output_norm);
    MARK(m->output);
    for (b = 0; b < m->hp.n_layer_stored; b++) {
        MARK(m->blocks[b].attn_norm);
        MARK(m->blocks[b].ffn_norm);
        model_block_matrices(&m->blocks[b], ts);
        for (j = 0; j < MODEL_BLOCK_MATRICES; j++) MARK(ts[j]);
    }
#undef MARK
    for (i = 0; i < n; i++) used += mark[i];
    for (i = 0; i < n && used < n; i++) {
        int64_t blk;
        char name[72];
        if (mark[i]) continue;
        printable(f->tensors[i].name, name);
        blk = block_index(f->tensors[i].name);
        if (blk >= m->hp.n_layer_stored)
            st = mllm_fail(err, MLLM_ERR_FORMAT,
                           "the file stores tensor '%s' but block_count is %d: %llu of its %llu tensors would go unused",
                           name, (int)m->hp.n_layer_stored, (unsigned long long)(n - used),
                           (unsigned long long)n);
        else
            st = mllm_fail(err, MLLM_ERR_UNSUPPORTED,
                           "tensor '%s' is not one a llama model uses (token_embd, output_norm, output, blk.N.*); "
                           "ignoring it could change the results",
                           name);
        break;
    }
    free(mark);
    return st;
}
