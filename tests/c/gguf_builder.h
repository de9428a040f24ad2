/* gguf_builder.h — header-only, in-memory GGUF v3 writer for C tests.
 *
 * Tests build tiny model files with it instead of shipping binaries:
 *
 *     gguf_builder *b = gb_new(32);            // data alignment; != 32 also writes general.alignment
 *     gb_kv_str(b, "general.architecture", "llama");
 *     gb_kv_u32(b, "llama.block_count", 2);
 *     const char *toks[] = {"<unk>", "<s>"};  gb_kv_arr_str(b, "tokenizer.ggml.tokens", toks, 2);
 *     int64_t ne[2] = {64, 32};
 *     gb_tensor(b, "token_embd.weight", MLLM_DTYPE_F32, 2, ne, data, 64 * 32 * 4);
 *     size_t size; uint8_t *file = gb_finish(b, &size);   // malloc'd; caller frees
 *     gb_free(b);
 *
 * Raw hooks let error tests write things a correct writer never would: a wrong magic or
 * version, overridden kv/tensor counts, a layout alignment different from the declared one,
 * a chosen tensor offset, any tensor type id, up to GB_MAX_DIMS dims of any value, and
 * arbitrary value payloads (gb_kv_raw + gb_buf_*) for nested arrays or bogus types.
 *
 * Every function is `static inline` so a test may use any subset without unused-function
 * warnings. Allocation failure aborts the test (a builder is test scaffolding, not engine).
 * gb_finish leaves the builder usable (it can be changed and finished again).
 */
#ifndef MLLM_GGUF_BUILDER_H
#define MLLM_GGUF_BUILDER_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GB_MAX_DIMS 8 /* more than GGUF allows, so tests can write n_dims = 5..8 */

/* GGUF value type ids (same numbers as gguf.h's gguf_vtype; repeated so the builder does
 * not depend on the reader it tests). */
enum {
    GB_U8 = 0, GB_I8 = 1, GB_U16 = 2, GB_I16 = 3, GB_U32 = 4, GB_I32 = 5, GB_F32 = 6,
    GB_BOOL = 7, GB_STR = 8, GB_ARR = 9, GB_U64 = 10, GB_I64 = 11, GB_F64 = 12
};

/* A growable byte buffer; also the payload builder for gb_kv_raw. */
typedef struct gb_buf {
    uint8_t *p;
    size_t len, cap;
} gb_buf;

typedef struct gb_tensor_rec {
    char *name;
    uint32_t type;
    uint32_t n_dims;
    uint64_t ne[GB_MAX_DIMS];
    uint8_t *data;       /* copy of the caller's bytes (may be NULL when nbytes is 0) */
    size_t nbytes;
    int has_offset;      /* 1: write `offset` verbatim instead of the computed one */
    uint64_t offset;
} gb_tensor_rec;

typedef struct gguf_builder {
    uint32_t magic;        /* written little-endian; 0x46554747 is "GGUF" */
    uint32_t version;
    uint32_t alignment;    /* layout alignment of tensor data */
    gb_buf kv;             /* serialized key/value pairs */
    uint64_t n_kv;
    gb_tensor_rec *t;
    size_t n_t, cap_t;
    int override_n_kv, override_n_tensors;
    uint64_t n_kv_forced, n_tensors_forced;
    int no_tail_pad;       /* 1: do not pad the file after the last tensor's data */
} gguf_builder;

static inline void *gb_xrealloc_(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fprintf(stderr, "gguf_builder: out of memory (%zu bytes)\n", n);
        abort();
    }
    return q;
}

/* ------------------------------------------------------------ byte buffer */

static inline void gb_buf_bytes(gb_buf *b, const void *src, size_t n) {
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n) cap *= 2;
        b->p = (uint8_t *)gb_xrealloc_(b->p, cap);
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->len, src, n);
    b->len += n;
}
static inline void gb_buf_u8(gb_buf *b, uint8_t v) { gb_buf_bytes(b, &v, 1); }
static inline void gb_buf_u16(gb_buf *b, uint16_t v) {
    uint8_t x[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    gb_buf_bytes(b, x, 2);
}
static inline void gb_buf_u32(gb_buf *b, uint32_t v) {
    uint8_t x[4];
    int i;
    for (i = 0; i < 4; i++) x[i] = (uint8_t)(v >> (8 * i));
    gb_buf_bytes(b, x, 4);
}
static inline void gb_buf_u64(gb_buf *b, uint64_t v) {
    uint8_t x[8];
    int i;
    for (i = 0; i < 8; i++) x[i] = (uint8_t)(v >> (8 * i));
    gb_buf_bytes(b, x, 8);
}
static inline void gb_buf_f32(gb_buf *b, float v) {
    uint32_t u;
    memcpy(&u, &v, 4);
    gb_buf_u32(b, u);
}
static inline void gb_buf_f64(gb_buf *b, double v) {
    uint64_t u;
    memcpy(&u, &v, 8);
    gb_buf_u64(b, u);
}
/* GGUF string: u64 length, then the bytes (no NUL). */
static inline void gb_buf_strn(gb_buf *b, const char *s, size_t n) {
    gb_buf_u64(b, (uint64_t)n);
    gb_buf_bytes(b, s, n);
}
static inline void gb_buf_str(gb_buf *b, const char *s) { gb_buf_strn(b, s, strlen(s)); }
static inline void gb_buf_free(gb_buf *b) {
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

/* ------------------------------------------------------------ builder */

static inline void gb_kv_u32(gguf_builder *b, const char *key, uint32_t v);

/* alignment 0 means the GGUF default (32). Any other value than 32 is also declared in a
 * general.alignment (u32) entry written first. */
static inline gguf_builder *gb_new(uint32_t alignment) {
    gguf_builder *b = (gguf_builder *)gb_xrealloc_(NULL, sizeof *b);
    memset(b, 0, sizeof *b);
    b->magic = 0x46554747u;
    b->version = 3;
    b->alignment = alignment ? alignment : 32;
    if (b->alignment != 32) gb_kv_u32(b, "general.alignment", b->alignment);
    return b;
}

static inline void gb_free(gguf_builder *b) {
    size_t i;
    if (!b) return;
    for (i = 0; i < b->n_t; i++) {
        free(b->t[i].name);
        free(b->t[i].data);
    }
    free(b->t);
    gb_buf_free(&b->kv);
    free(b);
}

/* ---- raw hooks for error tests */
static inline void gb_set_magic(gguf_builder *b, uint32_t magic) { b->magic = magic; }
static inline void gb_set_version(gguf_builder *b, uint32_t version) { b->version = version; }
/* Lay data out at this alignment without declaring it (or after declaring another). */
static inline void gb_set_layout_alignment(gguf_builder *b, uint32_t a) { b->alignment = a; }
/* Write these counts in the header instead of the real ones. */
static inline void gb_force_n_kv(gguf_builder *b, uint64_t n) { b->override_n_kv = 1; b->n_kv_forced = n; }
static inline void gb_force_n_tensors(gguf_builder *b, uint64_t n) { b->override_n_tensors = 1; b->n_tensors_forced = n; }
/* Write `offset` (relative to the data section) for tensor `idx` (gb_tensor's return). */
static inline void gb_tensor_set_offset(gguf_builder *b, size_t idx, uint64_t offset) {
    b->t[idx].has_offset = 1;
    b->t[idx].offset = offset;
}
static inline void gb_set_no_tail_pad(gguf_builder *b, int on) { b->no_tail_pad = on; }

/* A key with type `type` and value bytes `payload` written verbatim (build them with gb_buf_*).
 * Use for nested arrays, bogus type ids, lying lengths. */
static inline void gb_kv_raw(gguf_builder *b, const char *key, uint32_t type, const void *payload, size_t n) {
    gb_buf_str(&b->kv, key);
    gb_buf_u32(&b->kv, type);
    gb_buf_bytes(&b->kv, payload, n);
    b->n_kv++;
}

/* ---- typed scalars */
static inline void gb_kv_head_(gguf_builder *b, const char *key, uint32_t type) {
    gb_buf_str(&b->kv, key);
    gb_buf_u32(&b->kv, type);
    b->n_kv++;
}
static inline void gb_kv_u8(gguf_builder *b, const char *key, uint8_t v) { gb_kv_head_(b, key, GB_U8); gb_buf_u8(&b->kv, v); }
static inline void gb_kv_i8(gguf_builder *b, const char *key, int8_t v) { gb_kv_head_(b, key, GB_I8); gb_buf_u8(&b->kv, (uint8_t)v); }
static inline void gb_kv_u16(gguf_builder *b, const char *key, uint16_t v) { gb_kv_head_(b, key, GB_U16); gb_buf_u16(&b->kv, v); }
static inline void gb_kv_i16(gguf_builder *b, const char *key, int16_t v) { gb_kv_head_(b, key, GB_I16); gb_buf_u16(&b->kv, (uint16_t)v); }
static inline void gb_kv_u32(gguf_builder *b, const char *key, uint32_t v) { gb_kv_head_(b, key, GB_U32); gb_buf_u32(&b->kv, v); }
static inline void gb_kv_i32(gguf_builder *b, const char *key, int32_t v) { gb_kv_head_(b, key, GB_I32); gb_buf_u32(&b->kv, (uint32_t)v); }
static inline void gb_kv_f32(gguf_builder *b, const char *key, float v) { gb_kv_head_(b, key, GB_F32); gb_buf_f32(&b->kv, v); }
static inline void gb_kv_bool(gguf_builder *b, const char *key, int v) { gb_kv_head_(b, key, GB_BOOL); gb_buf_u8(&b->kv, (uint8_t)(v != 0)); }
static inline void gb_kv_u64(gguf_builder *b, const char *key, uint64_t v) { gb_kv_head_(b, key, GB_U64); gb_buf_u64(&b->kv, v); }
static inline void gb_kv_i64(gguf_builder *b, const char *key, int64_t v) { gb_kv_head_(b, key, GB_I64); gb_buf_u64(&b->kv, (uint64_t)v); }
static inline void gb_kv_f64(gguf_builder *b, const char *key, double v) { gb_kv_head_(b, key, GB_F64); gb_buf_f64(&b->kv, v); }
static inline void gb_kv_str(gguf_builder *b, const char *key, const char *s) { gb_kv_head_(b, key, GB_STR); gb_buf_str(&b->kv, s); }
/* String with explicit length (may contain NUL or invalid UTF-8 bytes). */
static inline void gb_kv_strn(gguf_builder *b, const char *key, const char *s, size_t n) { gb_kv_head_(b, key, GB_STR); gb_buf_strn(&b->kv, s, n); }

/* ---- arrays: u32 element type, u64 count, elements */
static inline void gb_kv_arr_head_(gguf_builder *b, const char *key, uint32_t elem_type, uint64_t n) {
    gb_kv_head_(b, key, GB_ARR);
    gb_buf_u32(&b->kv, elem_type);
    gb_buf_u64(&b->kv, n);
}
static inline void gb_kv_arr_str(gguf_builder *b, const char *key, const char *const *v, size_t n) {
    size_t i;
    gb_kv_arr_head_(b, key, GB_STR, n);
    for (i = 0; i < n; i++) gb_buf_str(&b->kv, v[i]);
}
static inline void gb_kv_arr_f32(gguf_builder *b, const char *key, const float *v, size_t n) {
    size_t i;
    gb_kv_arr_head_(b, key, GB_F32, n);
    for (i = 0; i < n; i++) gb_buf_f32(&b->kv, v[i]);
}
static inline void gb_kv_arr_f64(gguf_builder *b, const char *key, const double *v, size_t n) {
    size_t i;
    gb_kv_arr_head_(b, key, GB_F64, n);
    for (i = 0; i < n; i++) gb_buf_f64(&b->kv, v[i]);
}
static inline void gb_kv_arr_i32(gguf_builder *b, const char *key, const int32_t *v, size_t n) {
    size_t i;
    gb_kv_arr_head_(b, key, GB_I32, n);
    for (i = 0; i < n; i++) gb_buf_u32(&b->kv, (uint32_t)v[i]);
}
static inline void gb_kv_arr_u32(gguf_builder *b, const char *key, const uint32_t *v, size_t n) {
    size_t i;
    gb_kv_arr_head_(b, key, GB_U32, n);
    for (i = 0; i < n; i++) gb_buf_u32(&b->kv, v[i]);
}
static inline void gb_kv_arr_i64(gguf_builder *b, const char *key, const int64_t *v, size_t n) {
    size_t i;
    gb_kv_arr_head_(b, key, GB_I64, n);
    for (i = 0; i < n; i++) gb_buf_u64(&b->kv, (uint64_t)v[i]);
}
/* u8/i8/bool elements (one byte each). */
static inline void gb_kv_arr_u8(gguf_builder *b, const char *key, uint32_t elem_type, const uint8_t *v, size_t n) {
    gb_kv_arr_head_(b, key, elem_type, n);
    gb_buf_bytes(&b->kv, v, n);
}
/* Any element type with caller-serialized element bytes (little-endian). */
static inline void gb_kv_arr_raw(gguf_builder *b, const char *key, uint32_t elem_type, uint64_t n,
                                 const void *elems, size_t nbytes) {
    gb_kv_arr_head_(b, key, elem_type, n);
    gb_buf_bytes(&b->kv, elems, nbytes);
}

/* ---- tensors. `ne` has n_dims entries (n_dims <= GB_MAX_DIMS), ne[0] contiguous. The data
 * is copied; offsets are assigned at gb_finish in call order, each aligned. Returns the
 * tensor's index (for gb_tensor_set_offset). */
static inline size_t gb_tensor(gguf_builder *b, const char *name, uint32_t type, uint32_t n_dims,
                               const int64_t *ne, const void *data, size_t nbytes) {
    gb_tensor_rec *r;
    uint32_t i;
    size_t nl = strlen(name);
    if (n_dims > GB_MAX_DIMS) {
        fprintf(stderr, "gguf_builder: n_dims %u > %d\n", n_dims, GB_MAX_DIMS);
        abort();
    }
    if (b->n_t == b->cap_t) {
        b->cap_t = b->cap_t ? 2 * b->cap_t : 16;
        b->t = (gb_tensor_rec *)gb_xrealloc_(b->t, b->cap_t * sizeof *b->t);
    }
    r = &b->t[b->n_t];
    memset(r, 0, sizeof *r);
    r->name = (char *)gb_xrealloc_(NULL, nl + 1);
    memcpy(r->name, name, nl + 1);
    r->type = type;
    r->n_dims = n_dims;
    for (i = 0; i < n_dims; i++) r->ne[i] = (uint64_t)ne[i];
    r->nbytes = nbytes;
    if (nbytes) {
        r->data = (uint8_t *)gb_xrealloc_(NULL, nbytes);
        if (data) memcpy(r->data, data, nbytes);
        else memset(r->data, 0, nbytes);
    }
    return b->n_t++;
}

static inline size_t gb_align_up_(size_t x, size_t a) { return a ? (x + a - 1) / a * a : x; }

/* The whole file as malloc'd bytes (*size set); the caller frees it. */
static inline uint8_t *gb_finish(gguf_builder *b, size_t *size) {
    gb_buf out = {NULL, 0, 0};
    size_t i, data_start, pos;
    uint64_t *offs = (uint64_t *)gb_xrealloc_(NULL, (b->n_t ? b->n_t : 1) * sizeof *offs);
    static const uint8_t zeros[64] = {0};

    /* data offsets in call order, each at the next aligned position */
    pos = 0;
    for (i = 0; i < b->n_t; i++) {
        pos = gb_align_up_(pos, b->alignment);
        offs[i] = pos;
        pos += b->t[i].nbytes;
    }

    gb_buf_u32(&out, b->magic);
    gb_buf_u32(&out, b->version);
    gb_buf_u64(&out, b->override_n_tensors ? b->n_tensors_forced : (uint64_t)b->n_t);
    gb_buf_u64(&out, b->override_n_kv ? b->n_kv_forced : b->n_kv);
    gb_buf_bytes(&out, b->kv.p, b->kv.len);
    for (i = 0; i < b->n_t; i++) {
        const gb_tensor_rec *r = &b->t[i];
        uint32_t d;
        gb_buf_str(&out, r->name);
        gb_buf_u32(&out, r->n_dims);
        for (d = 0; d < r->n_dims; d++) gb_buf_u64(&out, r->ne[d]);
        gb_buf_u32(&out, r->type);
        gb_buf_u64(&out, r->has_offset ? r->offset : offs[i]);
    }
    data_start = gb_align_up_(out.len, b->alignment);
    while (out.len < data_start) gb_buf_u8(&out, 0);
    for (i = 0; i < b->n_t; i++) {
        size_t want = data_start + (size_t)offs[i];
        while (out.len < want) {
            size_t k = want - out.len;
            gb_buf_bytes(&out, zeros, k < sizeof zeros ? k : sizeof zeros);
        }
        gb_buf_bytes(&out, b->t[i].data, b->t[i].nbytes);
    }
    if (b->n_t && !b->no_tail_pad) {
        size_t want = gb_align_up_(out.len, b->alignment);
        while (out.len < want) gb_buf_u8(&out, 0);
    }
    free(offs);
    *size = out.len;
    return out.p ? out.p : (uint8_t *)gb_xrealloc_(NULL, 1);
}

#endif
