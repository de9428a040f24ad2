/* gguf_walk.h — what the GGUF fuzz target and the deterministic damage test both check on one
 * input: a file that parses is walked completely (every key, string, array element, tensor byte
 * range and the typed getters) so ASan sees any view the validation let past the buffer; a file
 * that does not parse must say why with a coded error and leave nothing allocated. A failed
 * invariant prints its line and aborts (a crash for libFuzzer, a failure for the test). */
#ifndef MLLM_TEST_GGUF_WALK_H
#define MLLM_TEST_GGUF_WALK_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtype.h"
#include "gguf.h"

#define GGUF_WALK_ASSERT(c)                                                               \
    do {                                                                                  \
        if (!(c)) {                                                                       \
            fprintf(stderr, "gguf_walk: invariant failed at line %d: %s\n", __LINE__, #c); \
            abort();                                                                      \
        }                                                                                 \
    } while (0)

static int gguf_walk_in_buf(const void *p, uint64_t n, const uint8_t *base, size_t size) {
    const uint8_t *q = (const uint8_t *)p;
    return q >= base && q <= base + size && n <= (uint64_t)(base + size - q);
}

/* Touches everything a loader could read from a parsed file; returns a checksum so the reads
 * cannot be optimized away. */
static uint64_t gguf_walk(const gguf_file *f, const uint8_t *base, size_t size) {
    uint64_t sum = 0, i, j;
    mllm_error err;
    uint32_t u;
    float x;
    int bo;
    gguf_str s;
    const gguf_kv *kv;
    GGUF_WALK_ASSERT(f->alignment != 0 && (f->alignment & (f->alignment - 1)) == 0);
    GGUF_WALK_ASSERT(f->data_offset <= size || f->n_tensors == 0);
    for (i = 0; i < f->n_kv; i++) {
        const gguf_kv *k = &f->kv[i];
        GGUF_WALK_ASSERT(gguf_walk_in_buf(k->key.ptr, k->key.len, base, size));
        if (k->key.len) sum += (uint8_t)k->key.ptr[k->key.len - 1];
        if (k->type == GGUF_VT_STRING) {
            GGUF_WALK_ASSERT(gguf_walk_in_buf(k->str.ptr, k->str.len, base, size));
            if (k->str.len) sum += (uint8_t)k->str.ptr[k->str.len - 1];
        } else if (k->type == GGUF_VT_ARRAY) {
            if (k->arr_type == GGUF_VT_STRING) {
                gguf_str *v;
                GGUF_WALK_ASSERT(k->arr_len <= size / 8);
                v = (gguf_str *)malloc((size_t)(k->arr_len ? k->arr_len : 1) * sizeof *v);
                if (!v) abort();
                gguf_arr_strings(k, v);
                for (j = 0; j < k->arr_len; j++) {
                    GGUF_WALK_ASSERT(gguf_walk_in_buf(v[j].ptr, v[j].len, base, size));
                    if (v[j].len) sum += (uint8_t)v[j].ptr[v[j].len - 1];
                }
                free(v);
            } else if (k->arr_type != GGUF_VT_ARRAY) {
                for (j = 0; j < k->arr_len; j++) {
                    double d = gguf_arr_f64(k, j);
                    sum += (uint64_t)gguf_arr_i64(k, j) + (d == d ? 1u : 2u);
                }
            }
        }
    }
    for (i = 0; i < f->n_tensors; i++) {
        const gguf_tensor *t = &f->tensors[i];
        GGUF_WALK_ASSERT(t->data >= base + f->data_offset && gguf_walk_in_buf(t->data, t->nbytes, base, size));
        GGUF_WALK_ASSERT(t->offset % f->alignment == 0);
        GGUF_WALK_ASSERT(dtype_supported(t->type));
        GGUF_WALK_ASSERT((uint64_t)t->n_elems ==
                         (uint64_t)t->ne[0] * (uint64_t)t->ne[1] * (uint64_t)t->ne[2] * (uint64_t)t->ne[3]);
        if (t->nbytes) sum += t->data[0] + t->data[t->nbytes - 1];
        if (t->nbytes && t->ne[0] >= 32) {
            float row[32];
            dequantize_row(t->type, t->data, row, 32); /* first 32 values of row 0 */
            sum += row[0] == row[0];
        }
        /* data ranges of non-empty tensors never overlap */
        for (j = 0; j < i && j < 64; j++) {
            const gguf_tensor *o = &f->tensors[j];
            if (t->nbytes && o->nbytes)
                GGUF_WALK_ASSERT(t->data + t->nbytes <= o->data || o->data + o->nbytes <= t->data);
        }
    }
    /* the typed getters on the keys a loader asks for, whatever their (possibly damaged) types */
    sum += gguf_get_u32(f, "llama.block_count", &u, &err);
    sum += gguf_get_f32(f, "llama.rope.freq_base", &x, &err);
    sum += gguf_get_bool_opt(f, "tokenizer.ggml.add_bos_token", 0, &bo, &err);
    sum += gguf_get_str(f, "general.architecture", &s, &err);
    sum += gguf_get_arr(f, "tokenizer.ggml.scores", GGUF_VT_FLOAT32, &kv, &err);
    return sum;
}

/* Parses `size` bytes at `data` and checks the outcome; returns 1 when the file parsed.
 * `*sum` accumulates the walk's checksum. */
static int gguf_walk_parse(const uint8_t *data, size_t size, uint64_t *sum) {
    gguf_file f;
    mllm_error err;
    mllm_status st = gguf_parse(&f, data, size, &err);
    if (st == MLLM_OK) {
        *sum += gguf_walk(&f, data, size);
    } else {
        GGUF_WALK_ASSERT(err.code == (int32_t)st && err.msg[0] != '\0' && strlen(err.msg) < sizeof err.msg);
        GGUF_WALK_ASSERT(st == MLLM_ERR_FORMAT || st == MLLM_ERR_UNSUPPORTED || st == MLLM_ERR_NOMEM);
        GGUF_WALK_ASSERT(f.kv == NULL && f.tensors == NULL);
    }
    gguf_free(&f);
    return st == MLLM_OK;
}

#endif
