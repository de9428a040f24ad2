/* gguf.h — GGUF v3 (v2 accepted) reader over a caller-owned memory buffer.
 *
 * Parsing validates everything up front (every length and offset against the buffer, with
 * overflow-safe arithmetic), so later lookups cannot read out of bounds. Strings and tensor
 * data are zero-copy views into the buffer; the only allocations are the kv and tensor
 * tables and their by-name orders, owned by gguf_file and released by gguf_free.
 */
#ifndef MLLM_GGUF_H
#define MLLM_GGUF_H

#include <stddef.h>
#include <stdint.h>

#include "mobilellm.h"

typedef enum gguf_vtype {
    GGUF_VT_UINT8 = 0, GGUF_VT_INT8 = 1, GGUF_VT_UINT16 = 2, GGUF_VT_INT16 = 3,
    GGUF_VT_UINT32 = 4, GGUF_VT_INT32 = 5, GGUF_VT_FLOAT32 = 6, GGUF_VT_BOOL = 7,
    GGUF_VT_STRING = 8, GGUF_VT_ARRAY = 9, GGUF_VT_UINT64 = 10, GGUF_VT_INT64 = 11,
    GGUF_VT_FLOAT64 = 12
} gguf_vtype;

#define GGUF_MAX_DIMS 4
#define GGUF_DEFAULT_ALIGNMENT 32

/* A view of UTF-8 bytes in the buffer; NOT NUL-terminated. */
typedef struct gguf_str {
    const char *ptr;
    uint64_t len;
} gguf_str;

typedef struct gguf_kv {
    gguf_str key;
    uint32_t type;        /* gguf_vtype */
    uint32_t arr_type;    /* element type when type == GGUF_VT_ARRAY */
    uint64_t arr_len;     /* element count when type == GGUF_VT_ARRAY */
    const uint8_t *data;  /* value bytes (array: first element) */
    /* decoded scalars: integers and bool in i (and u), floats in f */
    int64_t i;
    uint64_t u;
    double f;
    gguf_str str;         /* when type == GGUF_VT_STRING */
} gguf_kv;

typedef struct gguf_tensor {
    gguf_str name;
    uint32_t type;        /* ggml type id (mllm_dtype for the supported ones) */
    uint32_t n_dims;
    int64_t ne[GGUF_MAX_DIMS]; /* ne[0] is the contiguous (row) dimension; unused dims are 1 */
    int64_t n_elems;
    uint64_t offset;      /* from the start of the data section */
    uint64_t nbytes;
    const uint8_t *data;  /* view into the buffer */
} gguf_tensor;

typedef struct gguf_file {
    const uint8_t *base;
    size_t size;
    uint32_t version;
    uint64_t n_kv;
    gguf_kv *kv;
    uint64_t n_tensors;
    gguf_tensor *tensors;
    uint64_t alignment;
    uint64_t data_offset;
    uint64_t *kv_order;     /* kv indices sorted by key (NULL for fewer than 2): lookups are O(log n) */
    uint64_t *tensor_order; /* tensor indices sorted by name, likewise */
} gguf_file;

/* Parse and validate. On failure f is left empty (gguf_free is still safe) and err says,
 * in one sentence naming the culprit, what is wrong: bad magic, unsupported version,
 * truncated file (at which item), tensor data out of bounds (which tensor), tensors sharing
 * data bytes (which two), dimension
 * overflow, unsupported tensor type (which tensor, which type name). Tensor types the engine
 * cannot compute are reported here with MLLM_ERR_UNSUPPORTED. */
mllm_status gguf_parse(gguf_file *f, const uint8_t *data, size_t size, mllm_error *err);
void gguf_free(gguf_file *f);

const gguf_kv *gguf_find_kv(const gguf_file *f, const char *key);
const gguf_tensor *gguf_find_tensor(const gguf_file *f, const char *name);

/* 1 if s equals the NUL-terminated c string. */
int gguf_str_eq(gguf_str s, const char *c);

/* Typed getters. A missing key gives MLLM_ERR_MISSING ("missing metadata key 'KEY'"); a
 * wrong type or an out-of-range value MLLM_ERR_FORMAT naming the key. The *_opt forms
 * return MLLM_OK and leave *out = def when the key is absent. Integer getters accept any
 * integer type whose value fits; float getters accept float32/float64 and integers. */
mllm_status gguf_get_u32(const gguf_file *f, const char *key, uint32_t *out, mllm_error *err);
mllm_status gguf_get_u32_opt(const gguf_file *f, const char *key, uint32_t def, uint32_t *out, mllm_error *err);
mllm_status gguf_get_f32(const gguf_file *f, const char *key, float *out, mllm_error *err);
mllm_status gguf_get_f32_opt(const gguf_file *f, const char *key, float def, float *out, mllm_error *err);
mllm_status gguf_get_bool_opt(const gguf_file *f, const char *key, int def, int *out, mllm_error *err);
mllm_status gguf_get_str(const gguf_file *f, const char *key, gguf_str *out, mllm_error *err);
/* Array of `arr_type` (any type when arr_type < 0); missing → MLLM_ERR_MISSING. */
mllm_status gguf_get_arr(const gguf_file *f, const char *key, int arr_type, const gguf_kv **out, mllm_error *err);

/* Element access for arrays (index must be < arr_len; not re-checked in release builds). */
int64_t gguf_arr_i64(const gguf_kv *kv, uint64_t i);  /* integer/bool element types */
double gguf_arr_f64(const gguf_kv *kv, uint64_t i);   /* float or integer element types */
/* Fills out[0..arr_len-1] with views of a string array's elements (validated at parse). */
void gguf_arr_strings(const gguf_kv *kv, gguf_str *out);

#endif
