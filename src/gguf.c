/* gguf.c — GGUF v2/v3 reader over a memory buffer (see gguf.h).
 *
 * Safety model: every read goes through rd_take(), which checks the remaining length with
 * 64-bit arithmetic that cannot overflow; counts read from the file are compared against the
 * bytes left before anything is allocated for them (each kv needs >= 13 bytes, each tensor
 * info >= 32, each array element >= its minimum encoding), so a lying count is reported as
 * truncation instead of causing a huge allocation or a long loop. All work is linear in the
 * file size (nested arrays included, up to a fixed depth).
 */
#include "gguf.h"

#include <stdlib.h>
#include <string.h>

#include "dtype.h"
#include "error.h"
#include "gguf_keys.h"

#define GGUF_MAGIC 0x46554747u      /* "GGUF" read as a little-endian u32 */
#define GGUF_MAX_ARRAY_DEPTH 8      /* nested arrays deeper than this are refused */
#define GGUF_MIN_KV_BYTES 13u       /* key length (8) + type (4) + smallest value (1) */
#define GGUF_MIN_TENSOR_BYTES 32u   /* name length (8) + n_dims (4) + 1 dim (8) + type (4) + offset (8) */
#define GGUF_NAME_SHOWN 64          /* characters of a key/tensor name quoted in messages */

/* ------------------------------------------------------------ checked arithmetic */

static int add_u64(uint64_t a, uint64_t b, uint64_t *r) {
    if (a > UINT64_MAX - b) return 0;
    *r = a + b;
    return 1;
}

static int mul_u64(uint64_t a, uint64_t b, uint64_t *r) {
    if (a != 0 && b > UINT64_MAX / a) return 0;
    *r = a * b;
    return 1;
}

/* ------------------------------------------------------------ byte reader */

typedef struct rd {
    const uint8_t *p;
    uint64_t size;
    uint64_t pos; /* invariant: pos <= size */
} rd;

static uint64_t rd_left(const rd *r) { return r->size - r->pos; }

/* Advances by n and returns the start, or NULL (position unchanged) when n bytes are not left. */
static const uint8_t *rd_take(rd *r, uint64_t n) {
    const uint8_t *s;
    if (n > rd_left(r)) return NULL;
    s = r->p + r->pos;
    r->pos += n;
    return s;
}

static uint16_t le16(const uint8_t *b) { return (uint16_t)(b[0] | (b[1] << 8)); }
static uint32_t le32(const uint8_t *b) {
    return (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 24);
}
static uint64_t le64(const uint8_t *b) { return (uint64_t)le32(b) | ((uint64_t)le32(b + 4) << 32); }

static int rd_u32(rd *r, uint32_t *v) {
    const uint8_t *b = rd_take(r, 4);
    if (!b) return 0;
    *v = le32(b);
    return 1;
}

static int rd_u64(rd *r, uint64_t *v) {
    const uint8_t *b = rd_take(r, 8);
    if (!b) return 0;
    *v = le64(b);
    return 1;
}

static int rd_str(rd *r, gguf_str *s) {
    uint64_t len;
    const uint8_t *b;
    uint64_t save = r->pos;
    if (!rd_u64(r, &len) || !(b = rd_take(r, len))) {
        r->pos = save;
        return 0;
    }
    s->ptr = (const char *)b;
    s->len = len;
    return 1;
}

/* ------------------------------------------------------------ names for messages */

static const char *vtype_name(uint32_t t) {
    static const char *const names[] = {"UINT8", "INT8", "UINT16", "INT16", "UINT32", "INT32", "FLOAT32",
                                        "BOOL", "STRING", "ARRAY", "UINT64", "INT64", "FLOAT64"};
    return t < sizeof names / sizeof names[0] ? names[t] : "unknown";
}

/* Bytes of one scalar of type t; 0 for STRING, ARRAY and unknown types. */
static uint64_t vtype_size(uint32_t t) {
    switch (t) {
    case GGUF_VT_UINT8: case GGUF_VT_INT8: case GGUF_VT_BOOL: return 1;
    case GGUF_VT_UINT16: case GGUF_VT_INT16: return 2;
    case GGUF_VT_UINT32: case GGUF_VT_INT32: case GGUF_VT_FLOAT32: return 4;
    case GGUF_VT_UINT64: case GGUF_VT_INT64: case GGUF_VT_FLOAT64: return 8;
    default: return 0;
    }
}

static int vtype_is_int(uint32_t t) {
    return t == GGUF_VT_UINT8 || t == GGUF_VT_INT8 || t == GGUF_VT_UINT16 || t == GGUF_VT_INT16 ||
           t == GGUF_VT_UINT32 || t == GGUF_VT_INT32 || t == GGUF_VT_UINT64 || t == GGUF_VT_INT64;
}

static int vtype_is_signed(uint32_t t) {
    return t == GGUF_VT_INT8 || t == GGUF_VT_INT16 || t == GGUF_VT_INT32 || t == GGUF_VT_INT64;
}

/* A printable, NUL-terminated, bounded copy of a file string: names in messages may hold
 * any bytes (a damaged file), and a NUL or control byte would garble the sentence. */
typedef struct shown { char s[GGUF_NAME_SHOWN + 4]; } shown;

static shown show(gguf_str str) {
    shown o;
    uint64_t i, n = str.len < GGUF_NAME_SHOWN ? str.len : GGUF_NAME_SHOWN;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)str.ptr[i];
        o.s[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    if (str.len > GGUF_NAME_SHOWN) { o.s[n] = '.'; o.s[n + 1] = '.'; o.s[n + 2] = '.'; n += 3; }
    o.s[n] = '\0';
    return o;
}

/* ------------------------------------------------------------ values */

typedef struct parse_ctx {
    rd r;
    mllm_error *err;
    uint64_t idx;      /* kv index, for messages */
    gguf_str key;
    int key_ok;        /* key was read (can be quoted) */
} parse_ctx;

static mllm_status kv_truncated(parse_ctx *c) {
    if (c->key_ok)
        return mllm_fail(c->err, MLLM_ERR_FORMAT,
                         "truncated GGUF file: metadata key %llu ('%s') runs past the end of the %llu-byte file",
                         (unsigned long long)c->idx, show(c->key).s, (unsigned long long)c->r.size);
    return mllm_fail(c->err, MLLM_ERR_FORMAT, "truncated GGUF file: metadata key %llu runs past the end of the %llu-byte file",
                     (unsigned long long)c->idx, (unsigned long long)c->r.size);
}

static mllm_status kv_bad_type(parse_ctx *c, uint32_t t) {
    return mllm_fail(c->err, MLLM_ERR_FORMAT, "metadata key %llu ('%s') has unknown value type %u",
                     (unsigned long long)c->idx, show(c->key).s, t);
}

/* Skips (validating) the elements of an array whose header (type, count) is already read. */
static mllm_status skip_array_body(parse_ctx *c, uint32_t et, uint64_t n, int depth) {
    uint64_t i, need;
    if (et == GGUF_VT_STRING) {
        /* each string is at least its 8-byte length: reject lying counts before looping */
        if (!mul_u64(n, 8, &need) || need > rd_left(&c->r)) return kv_truncated(c);
        for (i = 0; i < n; i++) {
            gguf_str s;
            if (!rd_str(&c->r, &s)) return kv_truncated(c);
        }
        return MLLM_OK;
    }
    if (et == GGUF_VT_ARRAY) {
        if (depth >= GGUF_MAX_ARRAY_DEPTH)
            return mllm_fail(c->err, MLLM_ERR_FORMAT, "metadata key %llu ('%s') nests arrays more than %d deep",
                             (unsigned long long)c->idx, show(c->key).s, GGUF_MAX_ARRAY_DEPTH);
        if (!mul_u64(n, 12, &need) || need > rd_left(&c->r)) return kv_truncated(c); /* type + count each */
        for (i = 0; i < n; i++) {
            uint32_t it;
            uint64_t in;
            mllm_status st;
            if (!rd_u32(&c->r, &it) || !rd_u64(&c->r, &in)) return kv_truncated(c);
            if ((st = skip_array_body(c, it, in, depth + 1)) != MLLM_OK) return st;
        }
        return MLLM_OK;
    }
    if (vtype_size(et) == 0) return kv_bad_type(c, et);
    if (!mul_u64(n, vtype_size(et), &need) || !rd_take(&c->r, need)) return kv_truncated(c);
    return MLLM_OK;
}

static void decode_scalar(gguf_kv *kv, const uint8_t *b) {
    int64_t i = 0;
    uint64_t u = 0;
    switch (kv->type) {
    case GGUF_VT_UINT8: u = b[0]; i = (int64_t)u; break;
    case GGUF_VT_INT8: i = (int8_t)b[0]; u = (uint64_t)i; break;
    case GGUF_VT_BOOL: u = b[0] != 0; i = (int64_t)u; break;
    case GGUF_VT_UINT16: u = le16(b); i = (int64_t)u; break;
    case GGUF_VT_INT16: i = (int16_t)le16(b); u = (uint64_t)i; break;
    case GGUF_VT_UINT32: u = le32(b); i = (int64_t)u; break;
    case GGUF_VT_INT32: i = (int32_t)le32(b); u = (uint64_t)i; break;
    case GGUF_VT_UINT64: u = le64(b); i = (int64_t)u; break;
    case GGUF_VT_INT64: u = le64(b); i = (int64_t)u; break;
    case GGUF_VT_FLOAT32: {
        uint32_t w = le32(b);
        float f;
        memcpy(&f, &w, 4);
        kv->f = f;
        return;
    }
    case GGUF_VT_FLOAT64: {
        uint64_t w = le64(b);
        memcpy(&kv->f, &w, 8);
        return;
    }
    default: return;
    }
    kv->i = i;
    kv->u = u;
    kv->f = vtype_is_signed(kv->type) ? (double)i : (double)u;
}

static mllm_status parse_kv(parse_ctx *c, gguf_kv *kv) {
    uint32_t t;
    c->key_ok = 0;
    if (!rd_str(&c->r, &kv->key)) return kv_truncated(c);
    c->key = kv->key;
    c->key_ok = 1;
    if (!rd_u32(&c->r, &t)) return kv_truncated(c);
    kv->type = t;
    if (t == GGUF_VT_STRING) {
        kv->data = c->r.p + c->r.pos; /* the string's length prefix */
        if (!rd_str(&c->r, &kv->str)) return kv_truncated(c);
        return MLLM_OK;
    }
    if (t == GGUF_VT_ARRAY) {
        uint32_t et;
        uint64_t n;
        if (!rd_u32(&c->r, &et) || !rd_u64(&c->r, &n)) return kv_truncated(c);
        kv->arr_type = et;
        kv->arr_len = n;
        kv->data = c->r.p + c->r.pos;
        return skip_array_body(c, et, n, 1);
    }
    if (vtype_size(t) == 0) return kv_bad_type(c, t);
    kv->data = rd_take(&c->r, vtype_size(t));
    if (!kv->data) return kv_truncated(c);
    decode_scalar(kv, kv->data);
    return MLLM_OK;
}

/* ------------------------------------------------------------ duplicate detection */

typedef struct named { gguf_str s; uint64_t idx; } named;

static int named_cmp(const void *a, const void *b) {
    const named *x = (const named *)a, *y = (const named *)b;
    uint64_t n = x->s.len < y->s.len ? x->s.len : y->s.len;
    int d = n ? memcmp(x->s.ptr, y->s.ptr, (size_t)n) : 0;
    if (d) return d;
    if (x->s.len != y->s.len) return x->s.len < y->s.len ? -1 : 1;
    return x->idx < y->idx ? -1 : (x->idx > y->idx); /* stable: report the first pair */
}

/* Sorts the kv keys (tensors = 0) or tensor names (1) into *order, the indices by name, which
 * lookups then binary-search: a file with many entries cannot make the loader's dozens of
 * lookups quadratic. On a duplicate sets *a < *b to the two indices and returns 1 (*order
 * NULL). Returns -1 when memory runs out; *order stays NULL for fewer than two names. */
static int sort_names(const gguf_file *f, int tensors, uint64_t **order, uint64_t *a, uint64_t *b) {
    uint64_t n = tensors ? f->n_tensors : f->n_kv, i;
    named *v;
    int found = 0;
    *order = NULL;
    if (n < 2) return 0;
    v = (named *)calloc((size_t)n, sizeof *v); /* calloc checks n * size for overflow */
    if (!v) return -1;
    for (i = 0; i < n; i++) {
        v[i].s = tensors ? f->tensors[i].name : f->kv[i].key;
        v[i].idx = i;
    }
    qsort(v, (size_t)n, sizeof *v, named_cmp);
    for (i = 1; i < n && !found; i++) {
        if (v[i].s.len == v[i - 1].s.len && (v[i].s.len == 0 || !memcmp(v[i].s.ptr, v[i - 1].s.ptr, (size_t)v[i].s.len))) {
            *a = v[i - 1].idx;
            *b = v[i].idx;
            found = 1;
        }
    }
    if (!found) {
        *order = (uint64_t *)calloc((size_t)n, sizeof **order);
        if (*order)
            for (i = 0; i < n; i++) (*order)[i] = v[i].idx;
        else
            found = -1;
    }
    free(v);
    return found;
}

/* Binary search of `order` (indices of `n` names sorted as named_cmp sorts them) for the
 * name c; the index, or UINT64_MAX when absent. */
static uint64_t search_names(const gguf_file *f, int tensors, const uint64_t *order, uint64_t n, const char *c) {
    uint64_t lo = 0, hi = n, cl = strlen(c);
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2, idx = order[mid];
        gguf_str s = tensors ? f->tensors[idx].name : f->kv[idx].key;
        uint64_t m = s.len < cl ? s.len : cl;
        int d = m ? memcmp(s.ptr, c, (size_t)m) : 0;
        if (d == 0 && s.len != cl) d = s.len < cl ? -1 : 1;
        if (d == 0) return idx;
        if (d < 0) lo = mid + 1;
        else hi = mid;
    }
    return UINT64_MAX;
}

/* ------------------------------------------------------------ tensors */

static mllm_status tensor_truncated(const gguf_file *f, mllm_error *err, uint64_t i, const gguf_str *name) {
    if (name)
        return mllm_fail(err, MLLM_ERR_FORMAT, "truncated GGUF file: tensor info %llu ('%s') runs past the end of the %llu-byte file",
                         (unsigned long long)i, show(*name).s, (unsigned long long)f->size);
    return mllm_fail(err, MLLM_ERR_FORMAT, "truncated GGUF file: tensor info %llu runs past the end of the %llu-byte file",
                     (unsigned long long)i, (unsigned long long)f->size);
}

static mllm_status parse_tensor_info(gguf_file *f, rd *r, uint64_t i, mllm_error *err) {
    gguf_tensor *t = &f->tensors[i];
    uint32_t d, nd;
    uint64_t rows = 1, n_elems, row_bytes, nbytes, ne_raw[GGUF_MAX_DIMS];
    uint32_t type;
    int64_t be;
    shown nm;

    if (!rd_str(r, &t->name)) return tensor_truncated(f, err, i, NULL);
    nm = show(t->name);
    if (!rd_u32(r, &nd)) return tensor_truncated(f, err, i, &t->name);
    if (nd < 1 || nd > GGUF_MAX_DIMS)
        return mllm_fail(err, MLLM_ERR_FORMAT, "tensor '%s' has %u dimensions (GGUF allows 1 to %d)", nm.s, nd, GGUF_MAX_DIMS);
    for (d = 0; d < nd; d++)
        if (!rd_u64(r, &ne_raw[d])) return tensor_truncated(f, err, i, &t->name);
    if (!rd_u32(r, &type) || !rd_u64(r, &t->offset)) return tensor_truncated(f, err, i, &t->name);

    t->n_dims = nd;
    t->type = type;
    for (d = 0; d < GGUF_MAX_DIMS; d++) t->ne[d] = 1;
    for (d = 0; d < nd; d++) {
        if (ne_raw[d] > (uint64_t)INT64_MAX)
            return mllm_fail(err, MLLM_ERR_FORMAT, "tensor '%s' has a negative dimension ne[%u] = %lld", nm.s, d,
                             (long long)(int64_t)ne_raw[d]);
        t->ne[d] = (int64_t)ne_raw[d];
    }
    /* rows = ne[1]*ne[2]*ne[3]; the element count must fit int64 */
    for (d = 1; d < nd; d++)
        if (!mul_u64(rows, ne_raw[d], &rows)) return mllm_fail(err, MLLM_ERR_FORMAT, "tensor '%s' dimensions overflow", nm.s);
    if (!mul_u64(rows, ne_raw[0], &n_elems) || n_elems > (uint64_t)INT64_MAX)
        return mllm_fail(err, MLLM_ERR_FORMAT, "tensor '%s' dimensions overflow", nm.s);
    t->n_elems = (int64_t)n_elems;

    if (!dtype_supported(type)) {
        char names[96];
        dtype_supported_names(names, sizeof names);
        if (strcmp(dtype_name(type), "unknown") == 0)
            return mllm_fail(err, MLLM_ERR_UNSUPPORTED, "tensor '%s' has unknown type id %u (supported: %s)", nm.s, type,
                             names);
        return mllm_fail(err, MLLM_ERR_UNSUPPORTED, "tensor '%s' has unsupported type %s (supported: %s)", nm.s,
                         dtype_name(type), names);
    }
    be = dtype_block_elems(type);
    if (t->ne[0] % be != 0)
        return mllm_fail(err, MLLM_ERR_FORMAT, "tensor '%s' row length %lld is not a multiple of the %s block size %lld", nm.s,
                         (long long)t->ne[0], dtype_name(type), (long long)be);
    /* in u64, not dtype_row_bytes' size_t: a 32-bit size_t (wasm) would wrap */
    if (!mul_u64((uint64_t)(t->ne[0] / be), (uint64_t)dtype_block_bytes(type), &row_bytes) ||
        !mul_u64(row_bytes, rows, &nbytes))
        return mllm_fail(err, MLLM_ERR_FORMAT, "tensor '%s' dimensions overflow", nm.s);
    t->nbytes = nbytes;
    if (t->offset % f->alignment != 0)
        return mllm_fail(err, MLLM_ERR_FORMAT, "tensor '%s' offset %llu is not a multiple of the alignment %llu", nm.s,
                         (unsigned long long)t->offset, (unsigned long long)f->alignment);
    return MLLM_OK;
}

/* ------------------------------------------------------------ overlapping data */

typedef struct span { uint64_t start, end, idx; } span;

static int span_cmp(const void *a, const void *b) {
    const span *x = (const span *)a, *y = (const span *)b;
    if (x->start != y->start) return x->start < y->start ? -1 : 1;
    return x->idx < y->idx ? -1 : (x->idx > y->idx);
}

/* Two tensors whose data ranges overlap (one tensor's bytes read as another's) mean a damaged
 * or crafted file. Sorts the non-empty ranges by start and compares neighbours. Returns -1 out
 * of memory, 1 on an overlap (*a, *b the two tensors), 0 when all ranges are disjoint. */
static int find_overlap(const gguf_file *f, uint64_t *a, uint64_t *b) {
    uint64_t i, n = 0;
    int found = 0;
    span *v;
    if (f->n_tensors < 2) return 0;
    v = (span *)calloc((size_t)f->n_tensors, sizeof *v);
    if (!v) return -1;
    for (i = 0; i < f->n_tensors; i++) {
        const gguf_tensor *t = &f->tensors[i];
        if (t->nbytes == 0) continue;
        v[n].start = t->offset;
        v[n].end = t->offset + t->nbytes; /* no overflow: checked against the file size */
        v[n].idx = i;
        n++;
    }
    qsort(v, (size_t)n, sizeof *v, span_cmp);
    for (i = 1; i < n && !found; i++) {
        if (v[i].start < v[i - 1].end) {
            *a = v[i - 1].idx < v[i].idx ? v[i - 1].idx : v[i].idx;
            *b = v[i - 1].idx < v[i].idx ? v[i].idx : v[i - 1].idx;
            found = 1;
        }
    }
    free(v);
    return found;
}

/* ------------------------------------------------------------ parse */

static mllm_status parse_fail(gguf_file *f, mllm_status st) {
    gguf_free(f);
    return st;
}

mllm_status gguf_parse(gguf_file *f, const uint8_t *data, size_t size, mllm_error *err) {
    rd r;
    uint32_t magic, version;
    uint64_t n_tensors, n_kv, i, need_kv, need_t, need, a, b;
    parse_ctx c;
    const gguf_kv *al;
    mllm_status st;
    int dup;

    memset(f, 0, sizeof *f);
    mllm_error_clear(err);
    if (!data && size) return mllm_fail(err, MLLM_ERR_ARG, "gguf_parse: data is NULL but size is %llu", (unsigned long long)size);
    r.p = data;
    r.size = size;
    r.pos = 0;

    if (!rd_u32(&r, &magic))
        return mllm_fail(err, MLLM_ERR_FORMAT, "not a GGUF file: it is only %llu bytes long (too short for the 'GGUF' magic)",
                         (unsigned long long)size);
    if (magic != GGUF_MAGIC)
        return mllm_fail(err, MLLM_ERR_FORMAT, "not a GGUF file: bad magic 0x%08X (expected 'GGUF')", magic);
    if (!rd_u32(&r, &version) || !rd_u64(&r, &n_tensors) || !rd_u64(&r, &n_kv))
        return mllm_fail(err, MLLM_ERR_FORMAT, "truncated GGUF file: the 24-byte header runs past the end of the %llu-byte file",
                         (unsigned long long)size);
    if (version != 2 && version != 3) {
        uint32_t sw = (version >> 24) | ((version >> 8) & 0xff00u) | ((version << 8) & 0xff0000u) | (version << 24);
        return mllm_fail(err, MLLM_ERR_UNSUPPORTED, "unsupported GGUF version %u (this reader handles 2 and 3)%s", version,
                         (sw == 2 || sw == 3) ? "; the file looks big-endian" : "");
    }

    /* counts must be backed by bytes before anything is allocated for them */
    if (!mul_u64(n_kv, GGUF_MIN_KV_BYTES, &need_kv) || !mul_u64(n_tensors, GGUF_MIN_TENSOR_BYTES, &need_t) ||
        !add_u64(need_kv, need_t, &need) || need > rd_left(&r))
        return mllm_fail(err, MLLM_ERR_FORMAT,
                         "truncated GGUF file: the header claims %llu metadata entries and %llu tensors, more than the %llu-byte file can hold",
                         (unsigned long long)n_kv, (unsigned long long)n_tensors, (unsigned long long)size);

    f->base = data;
    f->size = size;
    f->version = version;
    if (n_kv) {
        f->kv = (gguf_kv *)calloc((size_t)n_kv, sizeof *f->kv);
        if (!f->kv) return parse_fail(f, mllm_fail(err, MLLM_ERR_NOMEM, "out of memory for %llu GGUF metadata entries", (unsigned long long)n_kv));
    }
    if (n_tensors) {
        f->tensors = (gguf_tensor *)calloc((size_t)n_tensors, sizeof *f->tensors);
        if (!f->tensors) return parse_fail(f, mllm_fail(err, MLLM_ERR_NOMEM, "out of memory for %llu GGUF tensor infos", (unsigned long long)n_tensors));
    }

    memset(&c, 0, sizeof c);
    c.err = err;
    for (i = 0; i < n_kv; i++) {
        c.r = r;
        c.idx = i;
        if ((st = parse_kv(&c, &f->kv[i])) != MLLM_OK) return parse_fail(f, st);
        r = c.r;
        f->n_kv = i + 1;
    }
    dup = sort_names(f, 0, &f->kv_order, &a, &b);
    if (dup < 0) return parse_fail(f, mllm_fail(err, MLLM_ERR_NOMEM, "out of memory checking GGUF metadata keys"));
    if (dup)
        return parse_fail(f, mllm_fail(err, MLLM_ERR_FORMAT, "duplicate metadata key '%s' (entries %llu and %llu)",
                                       show(f->kv[a].key).s, (unsigned long long)a, (unsigned long long)b));

    f->alignment = GGUF_DEFAULT_ALIGNMENT;
    al = gguf_find_kv(f, GGUF_KEY_GENERAL_ALIGNMENT);
    if (al) {
        if (!vtype_is_int(al->type))
            return parse_fail(f, mllm_fail(err, MLLM_ERR_FORMAT, "general.alignment has type %s, expected an unsigned integer",
                                           vtype_name(al->type)));
        /* the GGUF spec asks for a multiple of 8; block structs read in place need at least that */
        if (al->i < 8 || (al->u & (al->u - 1)) != 0)
            return parse_fail(f, mllm_fail(err, MLLM_ERR_FORMAT, "general.alignment %lld is not a power of two of at least 8",
                                           (long long)al->i));
        f->alignment = al->u;
    }

    for (i = 0; i < n_tensors; i++) {
        if ((st = parse_tensor_info(f, &r, i, err)) != MLLM_OK) return parse_fail(f, st);
        f->n_tensors = i + 1;
    }
    dup = sort_names(f, 1, &f->tensor_order, &a, &b);
    if (dup < 0) return parse_fail(f, mllm_fail(err, MLLM_ERR_NOMEM, "out of memory checking GGUF tensor names"));
    if (dup)
        return parse_fail(f, mllm_fail(err, MLLM_ERR_FORMAT, "duplicate tensor name '%s' (tensors %llu and %llu)",
                                       show(f->tensors[a].name).s, (unsigned long long)a, (unsigned long long)b));

    /* data section starts at the next multiple of the alignment */
    if (!add_u64(r.pos, f->alignment - 1, &need))
        return parse_fail(f, mllm_fail(err, MLLM_ERR_FORMAT, "general.alignment %llu is too large", (unsigned long long)f->alignment));
    f->data_offset = need - need % f->alignment;

    for (i = 0; i < f->n_tensors; i++) {
        gguf_tensor *t = &f->tensors[i];
        uint64_t start, end;
        /* even an empty tensor must point inside the file, so its view is a valid pointer */
        if (!add_u64(f->data_offset, t->offset, &start) || !add_u64(start, t->nbytes, &end) || end > size)
            return parse_fail(f, mllm_fail(err, MLLM_ERR_FORMAT,
                                           "tensor '%s' data (offset %llu, %llu bytes) lies outside the %llu-byte file (data section at %llu)",
                                           show(t->name).s, (unsigned long long)t->offset, (unsigned long long)t->nbytes,
                                           (unsigned long long)size, (unsigned long long)f->data_offset));
        t->data = data + start;
    }
    dup = find_overlap(f, &a, &b);
    if (dup < 0) return parse_fail(f, mllm_fail(err, MLLM_ERR_NOMEM, "out of memory checking GGUF tensor data ranges"));
    if (dup)
        return parse_fail(f, mllm_fail(err, MLLM_ERR_FORMAT,
                                       "tensors '%s' and '%s' share data bytes (overlapping ranges at offsets %llu and %llu)",
                                       show(f->tensors[a].name).s, show(f->tensors[b].name).s,
                                       (unsigned long long)f->tensors[a].offset, (unsigned long long)f->tensors[b].offset));
    return MLLM_OK;
}

void gguf_free(gguf_file *f) {
    if (!f) return;
    free(f->kv);
    free(f->tensors);
    free(f->kv_order);
    free(f->tensor_order);
    memset(f, 0, sizeof *f);
}

/* ------------------------------------------------------------ lookup */

int gguf_str_eq(gguf_str s, const char *c) {
    size_t n = strlen(c);
    return s.len == (uint64_t)n && (n == 0 || memcmp(s.ptr, c, n) == 0);
}

const gguf_kv *gguf_find_kv(const gguf_file *f, const char *key) {
    uint64_t i;
    if (f->kv_order) {
        i = search_names(f, 0, f->kv_order, f->n_kv, key);
        return i == UINT64_MAX ? NULL : &f->kv[i];
    }
    for (i = 0; i < f->n_kv; i++) /* at most one entry, or a partly parsed file */
        if (gguf_str_eq(f->kv[i].key, key)) return &f->kv[i];
    return NULL;
}

const gguf_tensor *gguf_find_tensor(const gguf_file *f, const char *name) {
    uint64_t i;
    if (f->tensor_order) {
        i = search_names(f, 1, f->tensor_order, f->n_tensors, name);
        return i == UINT64_MAX ? NULL : &f->tensors[i];
    }
    for (i = 0; i < f->n_tensors; i++)
        if (gguf_str_eq(f->tensors[i].name, name)) return &f->tensors[i];
    return NULL;
}

/* ------------------------------------------------------------ typed getters */

static mllm_status missing(mllm_error *err, const char *key) {
    return mllm_fail(err, MLLM_ERR_MISSING, "missing metadata key '%s'", key);
}

mllm_status gguf_get_u32(const gguf_file *f, const char *key, uint32_t *out, mllm_error *err) {
    const gguf_kv *kv = gguf_find_kv(f, key);
    if (!kv) return missing(err, key);
    if (!vtype_is_int(kv->type))
        return mllm_fail(err, MLLM_ERR_FORMAT, "metadata key '%s' has type %s, expected an integer", key, vtype_name(kv->type));
    if (vtype_is_signed(kv->type) ? (kv->i < 0 || kv->i > (int64_t)UINT32_MAX) : kv->u > UINT32_MAX) {
        if (vtype_is_signed(kv->type))
            return mllm_fail(err, MLLM_ERR_FORMAT, "metadata key '%s' value %lld does not fit in a uint32", key, (long long)kv->i);
        return mllm_fail(err, MLLM_ERR_FORMAT, "metadata key '%s' value %llu does not fit in a uint32", key, (unsigned long long)kv->u);
    }
    *out = (uint32_t)kv->u;
    return MLLM_OK;
}

mllm_status gguf_get_u32_opt(const gguf_file *f, const char *key, uint32_t def, uint32_t *out, mllm_error *err) {
    if (!gguf_find_kv(f, key)) {
        *out = def;
        return MLLM_OK;
    }
    return gguf_get_u32(f, key, out, err);
}

mllm_status gguf_get_f32(const gguf_file *f, const char *key, float *out, mllm_error *err) {
    const gguf_kv *kv = gguf_find_kv(f, key);
    if (!kv) return missing(err, key);
    if (kv->type != GGUF_VT_FLOAT32 && kv->type != GGUF_VT_FLOAT64 && !vtype_is_int(kv->type))
        return mllm_fail(err, MLLM_ERR_FORMAT, "metadata key '%s' has type %s, expected a number", key, vtype_name(kv->type));
    *out = (float)kv->f;
    return MLLM_OK;
}

mllm_status gguf_get_f32_opt(const gguf_file *f, const char *key, float def, float *out, mllm_error *err) {
    if (!gguf_find_kv(f, key)) {
        *out = def;
        return MLLM_OK;
    }
    return gguf_get_f32(f, key, out, err);
}

mllm_status gguf_get_bool_opt(const gguf_file *f, const char *key, int def, int *out, mllm_error *err) {
    const gguf_kv *kv = gguf_find_kv(f, key);
    if (!kv) {
        *out = def;
        return MLLM_OK;
    }
    if (kv->type != GGUF_VT_BOOL && !vtype_is_int(kv->type))
        return mllm_fail(err, MLLM_ERR_FORMAT, "metadata key '%s' has type %s, expected a bool", key, vtype_name(kv->type));
    *out = kv->u != 0;
    return MLLM_OK;
}

mllm_status gguf_get_str(const gguf_file *f, const char *key, gguf_str *out, mllm_error *err) {
    const gguf_kv *kv = gguf_find_kv(f, key);
    if (!kv) return missing(err, key);
    if (kv->type != GGUF_VT_STRING)
        return mllm_fail(err, MLLM_ERR_FORMAT, "metadata key '%s' has type %s, expected a string", key, vtype_name(kv->type));
    *out = kv->str;
    return MLLM_OK;
}

mllm_status gguf_get_arr(const gguf_file *f, const char *key, int arr_type, const gguf_kv **out, mllm_error *err) {
    const gguf_kv *kv = gguf_find_kv(f, key);
    if (!kv) return missing(err, key);
    if (kv->type != GGUF_VT_ARRAY)
        return mllm_fail(err, MLLM_ERR_FORMAT, "metadata key '%s' has type %s, expected an array", key, vtype_name(kv->type));
    if (arr_type >= 0 && kv->arr_type != (uint32_t)arr_type)
        return mllm_fail(err, MLLM_ERR_FORMAT, "metadata key '%s' is an array of %s, expected an array of %s", key,
                         vtype_name(kv->arr_type), vtype_name((uint32_t)arr_type));
    *out = kv;
    return MLLM_OK;
}

/* ------------------------------------------------------------ array elements */

int64_t gguf_arr_i64(const gguf_kv *kv, uint64_t i) {
    gguf_kv tmp;
    uint64_t sz = vtype_size(kv->arr_type);
    if (!sz || kv->arr_type == GGUF_VT_FLOAT32 || kv->arr_type == GGUF_VT_FLOAT64) return 0;
    memset(&tmp, 0, sizeof tmp);
    tmp.type = kv->arr_type;
    decode_scalar(&tmp, kv->data + i * sz);
    return tmp.i;
}

double gguf_arr_f64(const gguf_kv *kv, uint64_t i) {
    gguf_kv tmp;
    uint64_t sz = vtype_size(kv->arr_type);
    if (!sz) return 0.0;
    memset(&tmp, 0, sizeof tmp);
    tmp.type = kv->arr_type;
    decode_scalar(&tmp, kv->data + i * sz);
    return tmp.f;
}

void gguf_arr_strings(const gguf_kv *kv, gguf_str *out) {
    const uint8_t *p = kv->data;
    uint64_t i;
    if (kv->arr_type != GGUF_VT_STRING) return;
    for (i = 0; i < kv->arr_len; i++) {
        uint64_t len = le64(p);
        out[i].ptr = (const char *)(p + 8);
        out[i].len = len;
        p += 8 + len;
    }
}
