/* test_gguf.c — the GGUF reader: a hand-assembled file (independent of the builder), every
 * metadata value type read back, alignments 32/64, v2, typed getters, and one test per
 * error the reader reports (code and message text). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "dtype.h"
#include "error.h"
#include "gguf.h"
#include "gguf_builder.h"

/* ------------------------------------------------------------ helpers */

static void put32(uint8_t *p, size_t *n, uint32_t v) {
    int i;
    for (i = 0; i < 4; i++) p[(*n)++] = (uint8_t)(v >> (8 * i));
}
static void put64(uint8_t *p, size_t *n, uint64_t v) {
    int i;
    for (i = 0; i < 8; i++) p[(*n)++] = (uint8_t)(v >> (8 * i));
}
static void putstr(uint8_t *p, size_t *n, const char *s) {
    size_t l = strlen(s);
    put64(p, n, l);
    memcpy(p + *n, s, l);
    *n += l;
}

/* Parses and expects failure with `code` and a message containing `needle`; also checks the
 * file struct was left empty. */
static void expect_fail(const uint8_t *data, size_t size, int code, const char *needle) {
    gguf_file f;
    mllm_error err;
    mllm_status st = gguf_parse(&f, data, size, &err);
    CHECK_EQ_INT(st, code);
    CHECK_EQ_INT(err.code, code);
    CHECK_CONTAINS(err.msg, needle);
    CHECK(f.kv == NULL && f.tensors == NULL && f.n_kv == 0 && f.n_tensors == 0);
    gguf_free(&f);
}

/* Finishes the builder, expects failure, frees everything. */
static void expect_fail_b(gguf_builder *b, int code, const char *needle) {
    size_t n;
    uint8_t *d = gb_finish(b, &n);
    expect_fail(d, n, code, needle);
    free(d);
    gb_free(b);
}

static gguf_builder *one_tensor_builder(uint32_t type, uint32_t n_dims, const int64_t *ne, size_t nbytes) {
    gguf_builder *b = gb_new(32);
    uint8_t *zeros = (uint8_t *)calloc(1, nbytes ? nbytes : 1);
    gb_kv_str(b, "general.architecture", "llama");
    gb_tensor(b, "blk.0.attn_q.weight", type, n_dims, ne, zeros, nbytes);
    free(zeros);
    return b;
}

/* ------------------------------------------------------------ valid files */

/* A file assembled byte by byte from the GGUF spec, with its layout computed by hand:
 * header 24 + kv ("name" = "hi") 26 + tensor info ("w", 2 dims) 41 = 91 -> data at 96. */
static void test_parse_hand_assembled_file(void) {
    uint8_t buf[160];
    size_t n = 0;
    float vals[6] = {1, 2, 3, 4, 5, 6};
    gguf_file f;
    mllm_error err;
    const gguf_tensor *t;
    const gguf_kv *kv;
    memset(buf, 0, sizeof buf);
    memcpy(buf, "GGUF", 4);
    n = 4;
    put32(buf, &n, 3);
    put64(buf, &n, 1); /* tensors */
    put64(buf, &n, 1); /* kvs */
    putstr(buf, &n, "name");
    put32(buf, &n, 8);
    putstr(buf, &n, "hi");
    putstr(buf, &n, "w");
    put32(buf, &n, 2);
    put64(buf, &n, 2);
    put64(buf, &n, 3);
    put32(buf, &n, 0);
    put64(buf, &n, 0);
    CHECK_EQ_INT(n, 91);
    memcpy(buf + 96, vals, sizeof vals);
    n = 96 + sizeof vals;

    CHECK_EQ_INT(gguf_parse(&f, buf, n, &err), MLLM_OK);
    CHECK_EQ_INT(err.code, MLLM_OK);
    CHECK_EQ_INT(f.version, 3);
    CHECK_EQ_INT(f.n_kv, 1);
    CHECK_EQ_INT(f.n_tensors, 1);
    CHECK_EQ_INT(f.alignment, 32);
    CHECK_EQ_INT(f.data_offset, 96);
    kv = gguf_find_kv(&f, "name");
    CHECK(kv && kv->type == GGUF_VT_STRING && gguf_str_eq(kv->str, "hi"));
    CHECK(kv && kv->str.ptr == (const char *)buf + 48); /* zero-copy view: 24 + 8+4 + 4 + 8 */
    t = gguf_find_tensor(&f, "w");
    CHECK(t != NULL);
    if (t) {
        CHECK_EQ_INT(t->n_dims, 2);
        CHECK_EQ_INT(t->ne[0], 2);
        CHECK_EQ_INT(t->ne[1], 3);
        CHECK_EQ_INT(t->ne[2], 1);
        CHECK_EQ_INT(t->ne[3], 1);
        CHECK_EQ_INT(t->n_elems, 6);
        CHECK_EQ_INT(t->type, MLLM_DTYPE_F32);
        CHECK_EQ_INT(t->offset, 0);
        CHECK_EQ_INT(t->nbytes, 24);
        CHECK(t->data == buf + 96);
    }
    CHECK(gguf_find_tensor(&f, "x") == NULL);
    CHECK(gguf_find_kv(&f, "nam") == NULL);
    gguf_free(&f);

    /* the builder produces these bytes for the same content, plus zero padding of the data
     * section to the alignment (as llama.cpp's writer does) */
    {
        gguf_builder *b = gb_new(32);
        int64_t ne[2] = {2, 3};
        size_t bn;
        uint8_t *bd;
        gb_kv_str(b, "name", "hi");
        gb_tensor(b, "w", MLLM_DTYPE_F32, 2, ne, vals, sizeof vals);
        bd = gb_finish(b, &bn);
        CHECK_EQ_INT(bn, 128);
        CHECK(bn == 128 && memcmp(bd, buf, n) == 0);
        CHECK(bn == 128 && bd[120] == 0 && memcmp(bd + 120, bd + 121, 7) == 0);
        free(bd);
        gb_free(b);
    }
}

static uint8_t *build_all_types(uint32_t alignment, size_t *size, float *f32data, uint16_t *f16data,
                                uint16_t *bf16data, uint8_t *q8data) {
    gguf_builder *b = gb_new(alignment);
    static const char *const strs[] = {"<unk>", "", "h\xC3\xA9llo", "\xE2\x96\x81the"};
    float farr[3] = {0.5f, -1.25f, 3.0e38f};
    double darr[2] = {1e300, -2.5};
    int32_t iarr[4] = {-2147483647 - 1, -1, 0, 2147483647};
    uint32_t uarr[2] = {0, 4294967295u};
    int64_t larr[2] = {-9000000000000000000LL, 42};
    uint8_t barr[3] = {1, 0, 1};
    uint8_t u8arr[2] = {200, 7};
    int64_t ne2[2] = {64, 3}, ne1[1] = {64}, ne4[4] = {32, 2, 1, 2};
    uint8_t *out;
    gb_buf nested = {NULL, 0, 0};
    int i;

    gb_kv_u8(b, "t.u8", 250);
    gb_kv_i8(b, "t.i8", -100);
    gb_kv_u16(b, "t.u16", 65000);
    gb_kv_i16(b, "t.i16", -32000);
    gb_kv_u32(b, "t.u32", 4000000000u);
    gb_kv_i32(b, "t.i32", -2000000000);
    gb_kv_f32(b, "t.f32", 1e-5f);
    gb_kv_bool(b, "t.bool_true", 1);
    gb_kv_bool(b, "t.bool_false", 0);
    gb_kv_str(b, "t.str", "llama");
    gb_kv_strn(b, "t.str_nul", "a\0b", 3);
    gb_kv_u64(b, "t.u64", 18000000000000000000ULL);
    gb_kv_i64(b, "t.i64", -9000000000000000000LL);
    gb_kv_f64(b, "t.f64", 3.141592653589793);
    gb_kv_arr_str(b, "t.arr_str", strs, 4);
    gb_kv_arr_f32(b, "t.arr_f32", farr, 3);
    gb_kv_arr_f64(b, "t.arr_f64", darr, 2);
    gb_kv_arr_i32(b, "t.arr_i32", iarr, 4);
    gb_kv_arr_u32(b, "t.arr_u32", uarr, 2);
    gb_kv_arr_i64(b, "t.arr_i64", larr, 2);
    gb_kv_arr_u8(b, "t.arr_bool", GB_BOOL, barr, 3);
    gb_kv_arr_u8(b, "t.arr_u8", GB_U8, u8arr, 2);
    gb_kv_arr_i32(b, "t.arr_empty", NULL, 0);
    /* array of 2 arrays: [[1, 2], ["x", "yz"]] plus an empty inner array */
    gb_buf_u32(&nested, GB_ARR);
    gb_buf_u64(&nested, 3);
    gb_buf_u32(&nested, GB_I32); gb_buf_u64(&nested, 2); gb_buf_u32(&nested, 1); gb_buf_u32(&nested, 2);
    gb_buf_u32(&nested, GB_STR); gb_buf_u64(&nested, 2); gb_buf_str(&nested, "x"); gb_buf_str(&nested, "yz");
    gb_buf_u32(&nested, GB_F32); gb_buf_u64(&nested, 0);
    gb_kv_raw(b, "t.arr_nested", GB_ARR, nested.p, nested.len);
    gb_buf_free(&nested);
    gb_kv_str(b, "t.after_nested", "still here");

    for (i = 0; i < 64 * 3; i++) f32data[i] = (float)i * 0.25f - 7.0f;
    for (i = 0; i < 64; i++) f16data[i] = (uint16_t)(0x3C00 + i);
    for (i = 0; i < 128; i++) bf16data[i] = (uint16_t)(0x3F80 + i);
    for (i = 0; i < 4 * 34; i++) q8data[i] = (uint8_t)(i * 7 + 1);
    gb_tensor(b, "a.f32", MLLM_DTYPE_F32, 2, ne2, f32data, 64 * 3 * 4);
    gb_tensor(b, "b.f16", MLLM_DTYPE_F16, 1, ne1, f16data, 64 * 2);
    gb_tensor(b, "c.q8_0", MLLM_DTYPE_Q8_0, 4, ne4, q8data, 4 * 34);
    {
        int64_t neb[2] = {2, 64};
        gb_tensor(b, "d.bf16", MLLM_DTYPE_BF16, 2, neb, bf16data, 128 * 2);
    }
    out = gb_finish(b, size);
    gb_free(b);
    return out;
}

static void check_all_types(uint32_t alignment) {
    static float f32data[64 * 3];
    static uint16_t f16data[64], bf16data[128];
    static uint8_t q8data[4 * 34];
    size_t size;
    uint8_t *d = build_all_types(alignment, &size, f32data, f16data, bf16data, q8data);
    gguf_file f;
    mllm_error err;
    const gguf_kv *kv;
    const gguf_tensor *t;
    uint64_t i;
    gguf_str sv[4];

    CHECK_EQ_INT(gguf_parse(&f, d, size, &err), MLLM_OK);
    if (err.code) fprintf(stderr, "  %s\n", err.msg);
    CHECK_EQ_INT(f.alignment, alignment);
    CHECK_EQ_INT(f.n_kv, 25 + (alignment != 32));
    CHECK_EQ_INT(f.n_tensors, 4);
    CHECK_EQ_INT(f.data_offset % alignment, 0);
    CHECK(f.data_offset < size);

#define KV(name, t_) ((kv = gguf_find_kv(&f, name)) != NULL && kv->type == (t_))
    CHECK(KV("t.u8", GGUF_VT_UINT8) && kv->u == 250 && kv->i == 250);
    CHECK(KV("t.i8", GGUF_VT_INT8) && kv->i == -100);
    CHECK(KV("t.u16", GGUF_VT_UINT16) && kv->u == 65000);
    CHECK(KV("t.i16", GGUF_VT_INT16) && kv->i == -32000);
    CHECK(KV("t.u32", GGUF_VT_UINT32) && kv->u == 4000000000u);
    CHECK(KV("t.i32", GGUF_VT_INT32) && kv->i == -2000000000);
    CHECK(KV("t.f32", GGUF_VT_FLOAT32) && kv->f == (double)1e-5f);
    CHECK(KV("t.bool_true", GGUF_VT_BOOL) && kv->i == 1);
    CHECK(KV("t.bool_false", GGUF_VT_BOOL) && kv->i == 0);
    CHECK(KV("t.str", GGUF_VT_STRING) && gguf_str_eq(kv->str, "llama"));
    CHECK(KV("t.str_nul", GGUF_VT_STRING) && kv->str.len == 3 && memcmp(kv->str.ptr, "a\0b", 3) == 0);
    CHECK(KV("t.u64", GGUF_VT_UINT64) && kv->u == 18000000000000000000ULL);
    CHECK(KV("t.i64", GGUF_VT_INT64) && kv->i == -9000000000000000000LL);
    CHECK(KV("t.f64", GGUF_VT_FLOAT64) && kv->f == 3.141592653589793);

    CHECK(KV("t.arr_str", GGUF_VT_ARRAY) && kv->arr_type == GGUF_VT_STRING && kv->arr_len == 4);
    if (kv && kv->arr_len == 4) {
        gguf_arr_strings(kv, sv);
        CHECK(gguf_str_eq(sv[0], "<unk>"));
        CHECK(gguf_str_eq(sv[1], "") && sv[1].len == 0);
        CHECK(gguf_str_eq(sv[2], "h\xC3\xA9llo"));
        CHECK(gguf_str_eq(sv[3], "\xE2\x96\x81the"));
    }
    CHECK(KV("t.arr_f32", GGUF_VT_ARRAY) && kv->arr_type == GGUF_VT_FLOAT32 && kv->arr_len == 3);
    if (kv) {
        CHECK(gguf_arr_f64(kv, 0) == 0.5 && gguf_arr_f64(kv, 1) == -1.25 && gguf_arr_f64(kv, 2) == (double)3.0e38f);
    }
    CHECK(KV("t.arr_f64", GGUF_VT_ARRAY) && kv->arr_type == GGUF_VT_FLOAT64 && kv->arr_len == 2);
    if (kv) CHECK(gguf_arr_f64(kv, 0) == 1e300 && gguf_arr_f64(kv, 1) == -2.5);
    CHECK(KV("t.arr_i32", GGUF_VT_ARRAY) && kv->arr_type == GGUF_VT_INT32 && kv->arr_len == 4);
    if (kv) {
        CHECK_EQ_INT(gguf_arr_i64(kv, 0), -2147483647LL - 1);
        CHECK_EQ_INT(gguf_arr_i64(kv, 1), -1);
        CHECK_EQ_INT(gguf_arr_i64(kv, 2), 0);
        CHECK_EQ_INT(gguf_arr_i64(kv, 3), 2147483647);
        CHECK(gguf_arr_f64(kv, 1) == -1.0);
    }
    CHECK(KV("t.arr_u32", GGUF_VT_ARRAY) && kv->arr_type == GGUF_VT_UINT32);
    if (kv) CHECK_EQ_INT(gguf_arr_i64(kv, 1), 4294967295LL);
    CHECK(KV("t.arr_i64", GGUF_VT_ARRAY) && kv->arr_type == GGUF_VT_INT64);
    if (kv) CHECK_EQ_INT(gguf_arr_i64(kv, 0), -9000000000000000000LL);
    CHECK(KV("t.arr_bool", GGUF_VT_ARRAY) && kv->arr_type == GGUF_VT_BOOL && kv->arr_len == 3);
    if (kv) CHECK(gguf_arr_i64(kv, 0) == 1 && gguf_arr_i64(kv, 1) == 0 && gguf_arr_i64(kv, 2) == 1);
    CHECK(KV("t.arr_u8", GGUF_VT_ARRAY) && kv->arr_type == GGUF_VT_UINT8);
    if (kv) CHECK(gguf_arr_i64(kv, 0) == 200 && gguf_arr_i64(kv, 1) == 7);
    CHECK(KV("t.arr_empty", GGUF_VT_ARRAY) && kv->arr_type == GGUF_VT_INT32 && kv->arr_len == 0);
    CHECK(KV("t.arr_nested", GGUF_VT_ARRAY) && kv->arr_type == GGUF_VT_ARRAY && kv->arr_len == 3);
    CHECK(KV("t.after_nested", GGUF_VT_STRING) && gguf_str_eq(kv->str, "still here"));
#undef KV

    t = gguf_find_tensor(&f, "a.f32");
    CHECK(t && t->type == MLLM_DTYPE_F32 && t->n_dims == 2 && t->ne[0] == 64 && t->ne[1] == 3 && t->ne[2] == 1);
    CHECK(t && t->n_elems == 192 && t->nbytes == 768 && t->offset == 0);
    CHECK(t && t->data == d + f.data_offset && memcmp(t->data, f32data, 768) == 0);
    t = gguf_find_tensor(&f, "b.f16");
    CHECK(t && t->type == MLLM_DTYPE_F16 && t->n_dims == 1 && t->ne[0] == 64 && t->ne[1] == 1 && t->nbytes == 128);
    /* offsets: 768 is a multiple of 32 and 64, so b follows a directly */
    CHECK(t && t->offset == 768 && memcmp(t->data, f16data, 128) == 0);
    t = gguf_find_tensor(&f, "c.q8_0");
    CHECK(t && t->type == MLLM_DTYPE_Q8_0 && t->n_dims == 4 && t->ne[0] == 32 && t->ne[1] == 2 && t->ne[2] == 1 &&
          t->ne[3] == 2 && t->n_elems == 128 && t->nbytes == 136);
    /* 768 + 128 = 896 = 28*32 = 14*64 */
    CHECK(t && t->offset == 896 && memcmp(t->data, q8data, 136) == 0);
    t = gguf_find_tensor(&f, "d.bf16");
    /* 896 + 136 = 1032 -> next multiple: 1056 (align 32) or 1088 (align 64) */
    CHECK(t && t->type == MLLM_DTYPE_BF16 && t->ne[0] == 2 && t->ne[1] == 64 && t->nbytes == 256);
    CHECK(t && t->offset == (alignment == 32 ? 1056u : 1088u) && memcmp(t->data, bf16data, 256) == 0);
    for (i = 0; i < f.n_tensors; i++) {
        CHECK_EQ_INT(f.tensors[i].offset % alignment, 0);
        CHECK(f.tensors[i].data == d + f.data_offset + f.tensors[i].offset);
    }
    gguf_free(&f);
    CHECK(f.kv == NULL && f.tensors == NULL);
    free(d);
}

static void test_every_value_type_alignment_32(void) { check_all_types(32); }
static void test_every_value_type_alignment_64(void) { check_all_types(64); }

static void test_version_2_accepted(void) {
    gguf_builder *b = gb_new(32);
    size_t n;
    uint8_t *d;
    gguf_file f;
    mllm_error err;
    gb_set_version(b, 2);
    gb_kv_u32(b, "x", 7);
    d = gb_finish(b, &n);
    CHECK_EQ_INT(gguf_parse(&f, d, n, &err), MLLM_OK);
    CHECK_EQ_INT(f.version, 2);
    CHECK(gguf_find_kv(&f, "x") && gguf_find_kv(&f, "x")->u == 7);
    gguf_free(&f);
    free(d);
    gb_free(b);
}

static void test_no_tensors_no_kv(void) {
    gguf_builder *b = gb_new(32);
    size_t n;
    uint8_t *d = gb_finish(b, &n);
    gguf_file f;
    mllm_error err;
    CHECK_EQ_INT(n, 32); /* header + padding to the alignment */
    CHECK_EQ_INT(gguf_parse(&f, d, 24, &err), MLLM_OK);  /* the padding is optional without tensors */
    gguf_free(&f);
    CHECK_EQ_INT(gguf_parse(&f, d, n, &err), MLLM_OK);
    CHECK(f.n_kv == 0 && f.n_tensors == 0);
    gguf_free(&f);
    free(d);
    gb_free(b);
}

static void test_typed_getters(void) {
    gguf_builder *b = gb_new(32);
    size_t n;
    uint8_t *d;
    gguf_file f;
    mllm_error err;
    uint32_t u;
    float x;
    int bo;
    gguf_str s;
    const gguf_kv *kv;
    float farr[2] = {1, 2};
    gb_kv_u8(b, "g.u8", 9);
    gb_kv_i32(b, "g.i32", 123);
    gb_kv_i32(b, "g.neg", -1);
    gb_kv_u64(b, "g.big", 1ULL << 40);
    gb_kv_u64(b, "g.u64small", 4294967295ULL);
    gb_kv_f32(b, "g.f32", 0.25f);
    gb_kv_f64(b, "g.f64", 10000.0);
    gb_kv_bool(b, "g.bool", 1);
    gb_kv_str(b, "g.str", "gpt2");
    gb_kv_arr_f32(b, "g.arr", farr, 2);
    d = gb_finish(b, &n);
    CHECK_EQ_INT(gguf_parse(&f, d, n, &err), MLLM_OK);

    CHECK_EQ_INT(gguf_get_u32(&f, "g.u8", &u, &err), MLLM_OK); CHECK_EQ_INT(u, 9);
    CHECK_EQ_INT(gguf_get_u32(&f, "g.i32", &u, &err), MLLM_OK); CHECK_EQ_INT(u, 123);
    CHECK_EQ_INT(gguf_get_u32(&f, "g.u64small", &u, &err), MLLM_OK); CHECK_EQ_INT(u, 4294967295u);
    CHECK_EQ_INT(gguf_get_u32(&f, "g.neg", &u, &err), MLLM_ERR_FORMAT);
    CHECK_CONTAINS(err.msg, "'g.neg'");
    CHECK_CONTAINS(err.msg, "-1");
    CHECK_EQ_INT(gguf_get_u32(&f, "g.big", &u, &err), MLLM_ERR_FORMAT);
    CHECK_CONTAINS(err.msg, "1099511627776 does not fit");
    CHECK_EQ_INT(gguf_get_u32(&f, "g.str", &u, &err), MLLM_ERR_FORMAT);
    CHECK_CONTAINS(err.msg, "metadata key 'g.str' has type STRING, expected an integer");
    CHECK_EQ_INT(gguf_get_u32(&f, "g.f32", &u, &err), MLLM_ERR_FORMAT);
    CHECK_EQ_INT(gguf_get_u32(&f, "llama.block_count", &u, &err), MLLM_ERR_MISSING);
    CHECK_EQ_INT(err.code, MLLM_ERR_MISSING);
    CHECK_CONTAINS(err.msg, "missing metadata key 'llama.block_count'");
    u = 0;
    CHECK_EQ_INT(gguf_get_u32_opt(&f, "absent", 77, &u, &err), MLLM_OK); CHECK_EQ_INT(u, 77);
    CHECK_EQ_INT(gguf_get_u32_opt(&f, "g.i32", 77, &u, &err), MLLM_OK); CHECK_EQ_INT(u, 123);
    CHECK_EQ_INT(gguf_get_u32_opt(&f, "g.neg", 77, &u, &err), MLLM_ERR_FORMAT);

    CHECK_EQ_INT(gguf_get_f32(&f, "g.f32", &x, &err), MLLM_OK); CHECK(x == 0.25f);
    CHECK_EQ_INT(gguf_get_f32(&f, "g.f64", &x, &err), MLLM_OK); CHECK(x == 10000.0f);
    CHECK_EQ_INT(gguf_get_f32(&f, "g.i32", &x, &err), MLLM_OK); CHECK(x == 123.0f);
    CHECK_EQ_INT(gguf_get_f32(&f, "g.neg", &x, &err), MLLM_OK); CHECK(x == -1.0f);
    CHECK_EQ_INT(gguf_get_f32(&f, "g.str", &x, &err), MLLM_ERR_FORMAT);
    CHECK_CONTAINS(err.msg, "'g.str'");
    CHECK_EQ_INT(gguf_get_f32(&f, "nope", &x, &err), MLLM_ERR_MISSING);
    CHECK_EQ_INT(gguf_get_f32_opt(&f, "nope", 1e-5f, &x, &err), MLLM_OK); CHECK(x == 1e-5f);

    CHECK_EQ_INT(gguf_get_bool_opt(&f, "g.bool", 0, &bo, &err), MLLM_OK); CHECK_EQ_INT(bo, 1);
    CHECK_EQ_INT(gguf_get_bool_opt(&f, "nope", 1, &bo, &err), MLLM_OK); CHECK_EQ_INT(bo, 1);
    CHECK_EQ_INT(gguf_get_bool_opt(&f, "nope", 0, &bo, &err), MLLM_OK); CHECK_EQ_INT(bo, 0);
    CHECK_EQ_INT(gguf_get_bool_opt(&f, "g.str", 0, &bo, &err), MLLM_ERR_FORMAT);

    CHECK_EQ_INT(gguf_get_str(&f, "g.str", &s, &err), MLLM_OK); CHECK(gguf_str_eq(s, "gpt2"));
    CHECK_EQ_INT(gguf_get_str(&f, "g.u8", &s, &err), MLLM_ERR_FORMAT);
    CHECK_CONTAINS(err.msg, "metadata key 'g.u8' has type UINT8, expected a string");
    CHECK_EQ_INT(gguf_get_str(&f, "nope", &s, &err), MLLM_ERR_MISSING);

    CHECK_EQ_INT(gguf_get_arr(&f, "g.arr", GGUF_VT_FLOAT32, &kv, &err), MLLM_OK);
    CHECK(kv->arr_len == 2 && gguf_arr_f64(kv, 1) == 2.0);
    CHECK_EQ_INT(gguf_get_arr(&f, "g.arr", -1, &kv, &err), MLLM_OK);
    CHECK_EQ_INT(gguf_get_arr(&f, "g.arr", GGUF_VT_INT32, &kv, &err), MLLM_ERR_FORMAT);
    CHECK_CONTAINS(err.msg, "metadata key 'g.arr' is an array of FLOAT32, expected an array of INT32");
    CHECK_EQ_INT(gguf_get_arr(&f, "g.str", -1, &kv, &err), MLLM_ERR_FORMAT);
    CHECK_EQ_INT(gguf_get_arr(&f, "tokenizer.ggml.scores", GGUF_VT_FLOAT32, &kv, &err), MLLM_ERR_MISSING);
    CHECK_CONTAINS(err.msg, "missing metadata key 'tokenizer.ggml.scores'");
    gguf_free(&f);
    free(d);
    gb_free(b);
}

/* ------------------------------------------------------------ errors */

static void test_error_bad_magic(void) {
    gguf_builder *b = gb_new(32);
    gb_set_magic(b, 0x4C4C5547u); /* bytes "GULL" */
    expect_fail_b(b, MLLM_ERR_FORMAT, "not a GGUF file: bad magic 0x4C4C5547 (expected 'GGUF')");
    expect_fail((const uint8_t *)"GG", 2, MLLM_ERR_FORMAT, "not a GGUF file");
    expect_fail(NULL, 0, MLLM_ERR_FORMAT, "only 0 bytes");
}

static void test_error_unsupported_version(void) {
    gguf_builder *b = gb_new(32);
    gb_set_version(b, 4);
    expect_fail_b(b, MLLM_ERR_UNSUPPORTED, "unsupported GGUF version 4 (this reader handles 2 and 3)");
    b = gb_new(32);
    gb_set_version(b, 1);
    expect_fail_b(b, MLLM_ERR_UNSUPPORTED, "unsupported GGUF version 1");
    b = gb_new(32);
    gb_set_version(b, 0x03000000u);
    expect_fail_b(b, MLLM_ERR_UNSUPPORTED, "big-endian");
}

static void test_error_truncated_header(void) {
    gguf_builder *b = gb_new(32);
    size_t n;
    uint8_t *d = gb_finish(b, &n);
    expect_fail(d, 20, MLLM_ERR_FORMAT, "truncated GGUF file: the 24-byte header runs past the end of the 20-byte file");
    free(d);
    gb_free(b);
}

/* The message names the index and key of the entry that runs off the end, and the size. */
static void test_error_truncated_metadata_names_key(void) {
    gguf_builder *b = gb_new(32);
    const char *toks[300];
    char keyname[32], want[200];
    size_t n, cut;
    uint8_t *d;
    int i;
    for (i = 0; i < 12; i++) {
        snprintf(keyname, sizeof keyname, "k.%d", i);
        gb_kv_u32(b, keyname, (uint32_t)i);
    }
    for (i = 0; i < 300; i++) toks[i] = "token";
    gb_kv_arr_str(b, "tokenizer.ggml.tokens", toks, 300);
    d = gb_finish(b, &n);
    cut = n - 100; /* in the middle of the token strings */
    snprintf(want, sizeof want,
             "truncated GGUF file: metadata key 12 ('tokenizer.ggml.tokens') runs past the end of the %zu-byte file", cut);
    expect_fail(d, cut, MLLM_ERR_FORMAT, want);
    /* cut inside key 12's name: the index is still named */
    expect_fail(d, 24 + 10 * (8 + 3 + 4 + 4) + 2 * (8 + 4 + 4 + 4) + 10, MLLM_ERR_FORMAT, "truncated GGUF file: metadata key 12 runs past the end");
    free(d);
    gb_free(b);
}

/* Tensor infos: header 24 + kv general.architecture (8+20+4+8+5 = 45) = 69, then the info
 * 8+19 (name) + 4 + 2*8 (dims) + 4 (type) + 8 (offset) ends at 128; cut inside the offset. */
static void test_error_truncated_tensor_info_names_tensor(void) {
    int64_t ne[2] = {8, 2};
    gguf_builder *b = one_tensor_builder(MLLM_DTYPE_F32, 2, ne, 64);
    size_t n;
    uint8_t *d = gb_finish(b, &n);
    expect_fail(d, 124, MLLM_ERR_FORMAT,
                "truncated GGUF file: tensor info 0 ('blk.0.attn_q.weight') runs past the end of the 124-byte file");
    expect_fail(d, 128, MLLM_ERR_FORMAT, "tensor 'blk.0.attn_q.weight' data (offset 0, 64 bytes) lies outside the 128-byte file");
    expect_fail(d, 80, MLLM_ERR_FORMAT, "truncated GGUF file: tensor info 0 runs past the end of the 80-byte file");
    free(d);
    gb_free(b);
}

/* A count or an array length that the remaining bytes cannot hold fails before allocating
 * (under ASan a 2^60-element allocation would abort the test). */
static void test_error_huge_counts_do_not_allocate(void) {
    gguf_builder *b = gb_new(32);
    gb_buf p = {NULL, 0, 0};
    gb_kv_u32(b, "a", 1);
    gb_force_n_kv(b, 1ULL << 60);
    expect_fail_b(b, MLLM_ERR_FORMAT, "the header claims 1152921504606846976 metadata entries");
    b = gb_new(32);
    gb_force_n_tensors(b, UINT64_MAX);
    expect_fail_b(b, MLLM_ERR_FORMAT, "truncated GGUF file");

    b = gb_new(32);
    gb_buf_u32(&p, GB_F32);
    gb_buf_u64(&p, 1ULL << 60);
    gb_kv_raw(b, "big.array", GB_ARR, p.p, p.len);
    expect_fail_b(b, MLLM_ERR_FORMAT, "metadata key 0 ('big.array') runs past the end");
    gb_buf_free(&p);

    b = gb_new(32);
    gb_buf_u32(&p, GB_STR);
    gb_buf_u64(&p, (1ULL << 61) + 1); /* * 8 overflows 2^64 */
    gb_kv_raw(b, "big.strings", GB_ARR, p.p, p.len);
    expect_fail_b(b, MLLM_ERR_FORMAT, "('big.strings') runs past the end");
    gb_buf_free(&p);

    b = gb_new(32);
    gb_buf_u32(&p, GB_ARR);
    gb_buf_u64(&p, UINT64_MAX);
    gb_kv_raw(b, "big.nested", GB_ARR, p.p, p.len);
    expect_fail_b(b, MLLM_ERR_FORMAT, "('big.nested') runs past the end");
    gb_buf_free(&p);

    b = gb_new(32);
    gb_buf_u64(&p, UINT64_MAX); /* a string length */
    gb_kv_raw(b, "big.str", GB_STR, p.p, p.len);
    expect_fail_b(b, MLLM_ERR_FORMAT, "('big.str') runs past the end");
    gb_buf_free(&p);
}

static void test_error_tensor_data_outside_file(void) {
    int64_t ne[2] = {64, 4};
    gguf_builder *b = one_tensor_builder(MLLM_DTYPE_F32, 2, ne, 64 * 4 * 4);
    size_t n;
    uint8_t *d;
    char want[200];
    gb_tensor_set_offset(b, 0, 4096);
    d = gb_finish(b, &n);
    snprintf(want, sizeof want, "tensor 'blk.0.attn_q.weight' data (offset 4096, 1024 bytes) lies outside the %zu-byte file", n);
    expect_fail(d, n, MLLM_ERR_FORMAT, want);
    free(d);
    gb_free(b);

    /* the data is in place but the file is cut short by one byte */
    b = one_tensor_builder(MLLM_DTYPE_F32, 2, ne, 64 * 4 * 4);
    gb_set_no_tail_pad(b, 1);
    d = gb_finish(b, &n);
    expect_fail(d, n - 1, MLLM_ERR_FORMAT, "tensor 'blk.0.attn_q.weight' data (offset 0, 1024 bytes) lies outside");
    free(d);
    gb_free(b);

    /* offset + data_offset wrapping around 2^64 */
    b = one_tensor_builder(MLLM_DTYPE_F32, 2, ne, 64 * 4 * 4);
    gb_tensor_set_offset(b, 0, UINT64_MAX - 31);
    expect_fail_b(b, MLLM_ERR_FORMAT, "lies outside");
}

/* Two tensors pointing at the same bytes (or partly the same) are refused; ranges that only
 * touch, and empty tensors at any offset, are fine. */
static void test_error_overlapping_tensor_data(void) {
    int64_t ne[2] = {64, 4}, ne0[2] = {0, 4};
    gguf_builder *b = gb_new(32);
    gguf_file f;
    mllm_error err;
    size_t n;
    uint8_t *d;
    gb_tensor(b, "a", MLLM_DTYPE_F32, 2, ne, NULL, 1024);
    gb_tensor(b, "b", MLLM_DTYPE_F32, 2, ne, NULL, 1024);
    gb_tensor_set_offset(b, 1, 0); /* b's bytes are a's */
    expect_fail_b(b, MLLM_ERR_FORMAT, "tensors 'a' and 'b' share data bytes (overlapping ranges at offsets 0 and 0)");

    b = gb_new(32);
    gb_tensor(b, "a", MLLM_DTYPE_F32, 2, ne, NULL, 1024);
    gb_tensor(b, "b", MLLM_DTYPE_F32, 2, ne, NULL, 1024);
    gb_tensor(b, "c", MLLM_DTYPE_F32, 2, ne, NULL, 1024);
    gb_tensor_set_offset(b, 2, 2048 - 32); /* c starts 32 bytes before b ends */
    expect_fail_b(b, MLLM_ERR_FORMAT, "tensors 'b' and 'c' share data bytes (overlapping ranges at offsets 1024 and 2016)");

    /* adjacent ranges, and an empty tensor sitting at another's offset, parse */
    b = gb_new(32);
    gb_tensor(b, "a", MLLM_DTYPE_F32, 2, ne, NULL, 1024);
    gb_tensor(b, "b", MLLM_DTYPE_F32, 2, ne, NULL, 1024);
    gb_tensor(b, "empty", MLLM_DTYPE_F32, 2, ne0, NULL, 0);
    gb_tensor_set_offset(b, 2, 0);
    d = gb_finish(b, &n);
    CHECK_EQ_INT(gguf_parse(&f, d, n, &err), MLLM_OK);
    CHECK_EQ_INT(f.n_tensors, 3);
    CHECK_EQ_INT(f.tensors[1].offset, 1024);
    gguf_free(&f);
    free(d);
    gb_free(b);
}

/* Lookups by name (binary search over the parse-time order) find every key and tensor of a
 * file written in scrambled order, including names that are prefixes of others, and nothing
 * that is absent. */
static void test_lookup_by_name_in_large_tables(void) {
    enum { N = 700 };
    gguf_builder *b = gb_new(32);
    gguf_file f;
    mllm_error err;
    size_t n;
    uint8_t *d;
    char name[32];
    int64_t ne[1] = {1};
    float x = 0.0f;
    int i, k;
    for (i = 0; i < N; i++) {
        k = (i * 337) % N; /* a permutation of 0..N-1 */
        snprintf(name, sizeof name, k % 3 ? "key.%d" : "key.%d.x", k % 3 ? k : k - 1); /* key.2, key.2.x */
        gb_kv_u32(b, name, (uint32_t)k);
        snprintf(name, sizeof name, k % 2 ? "t%d" : "t%d.w", k % 2 ? k : k + 1); /* t1, t1.w */
        gb_tensor(b, name, MLLM_DTYPE_F32, 1, ne, &x, 4);
    }
    d = gb_finish(b, &n);
    gb_free(b);
    CHECK_EQ_INT(gguf_parse(&f, d, n, &err), MLLM_OK);
    for (k = 0; k < N; k++) {
        const gguf_kv *kv;
        const gguf_tensor *t;
        snprintf(name, sizeof name, k % 3 ? "key.%d" : "key.%d.x", k % 3 ? k : k - 1); /* key.2, key.2.x */
        kv = gguf_find_kv(&f, name);
        CHECK(kv != NULL && kv->u == (uint64_t)k && gguf_str_eq(kv->key, name));
        snprintf(name, sizeof name, k % 2 ? "t%d" : "t%d.w", k % 2 ? k : k + 1); /* t1, t1.w */
        t = gguf_find_tensor(&f, name);
        CHECK(t != NULL && gguf_str_eq(t->name, name));
    }
    CHECK(gguf_find_kv(&f, "key.") == NULL);
    CHECK(gguf_find_kv(&f, "key.2.") == NULL);
    CHECK(gguf_find_kv(&f, "key.3") == NULL);
    CHECK(gguf_find_kv(&f, "") == NULL);
    CHECK(gguf_find_tensor(&f, "t") == NULL);
    CHECK(gguf_find_tensor(&f, "t999") == NULL);
    CHECK(gguf_find_tensor(&f, "zzz") == NULL);
    gguf_free(&f);
    free(d);
}

static void test_error_dimension_overflow(void) {
    int64_t ne[4] = {1LL << 32, 1LL << 32, 1, 1};
    gguf_builder *b = one_tensor_builder(MLLM_DTYPE_F32, 2, ne, 0);
    expect_fail_b(b, MLLM_ERR_FORMAT, "tensor 'blk.0.attn_q.weight' dimensions overflow");
    {
        int64_t ne2[4] = {1LL << 40, 1LL << 40, 1LL << 40, 1};
        b = one_tensor_builder(MLLM_DTYPE_F32, 3, ne2, 0);
        expect_fail_b(b, MLLM_ERR_FORMAT, "dimensions overflow");
    }
    {
        /* element count fits int64 but the byte count does not */
        int64_t ne3[2] = {1LL << 31, 1LL << 31};
        b = one_tensor_builder(MLLM_DTYPE_F32, 2, ne3, 0);
        expect_fail_b(b, MLLM_ERR_FORMAT, "dimensions overflow");
    }
    {
        int64_t ne4[2] = {-64, 2};
        b = one_tensor_builder(MLLM_DTYPE_F32, 2, ne4, 0);
        expect_fail_b(b, MLLM_ERR_FORMAT, "tensor 'blk.0.attn_q.weight' has a negative dimension ne[0] = -64");
    }
}

static void test_error_unsupported_tensor_type(void) {
    int64_t ne[2] = {256, 2};
    gguf_builder *b = gb_new(32);
    gb_tensor(b, "blk.0.ffn_up.weight", 16 /* IQ2_XXS */, 2, ne, NULL, 132);
    expect_fail_b(b, MLLM_ERR_UNSUPPORTED,
                  "tensor 'blk.0.ffn_up.weight' has unsupported type IQ2_XXS (supported: F32, F16, Q4_0, Q4_1, Q5_0, "
                  "Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS, BF16)");
    b = gb_new(32);
    gb_tensor(b, "w", 999, 2, ne, NULL, 16);
    expect_fail_b(b, MLLM_ERR_UNSUPPORTED, "tensor 'w' has unknown type id 999");
}

static void test_error_bad_n_dims(void) {
    int64_t ne[5] = {32, 1, 1, 1, 1};
    gguf_builder *b = one_tensor_builder(MLLM_DTYPE_F32, 5, ne, 128);
    expect_fail_b(b, MLLM_ERR_FORMAT, "tensor 'blk.0.attn_q.weight' has 5 dimensions (GGUF allows 1 to 4)");
    b = one_tensor_builder(MLLM_DTYPE_F32, 0, ne, 4);
    expect_fail_b(b, MLLM_ERR_FORMAT, "has 0 dimensions");
}

static void test_error_row_not_multiple_of_block(void) {
    int64_t ne[2] = {48, 2};
    gguf_builder *b = one_tensor_builder(MLLM_DTYPE_Q8_0, 2, ne, 102);
    expect_fail_b(b, MLLM_ERR_FORMAT, "tensor 'blk.0.attn_q.weight' row length 48 is not a multiple of the Q8_0 block size 32");
}

static void test_error_misaligned_offset(void) {
    int64_t ne[1] = {8};
    gguf_builder *b = one_tensor_builder(MLLM_DTYPE_F32, 1, ne, 32);
    gb_tensor_set_offset(b, 0, 4);
    expect_fail_b(b, MLLM_ERR_FORMAT, "tensor 'blk.0.attn_q.weight' offset 4 is not a multiple of the alignment 32");
}

static void test_error_bad_alignment(void) {
    gguf_builder *b = gb_new(32);
    gb_kv_u32(b, "general.alignment", 48);
    expect_fail_b(b, MLLM_ERR_FORMAT, "general.alignment 48 is not a power of two of at least 8");
    /* 1, 2 and 4 are powers of two, but the spec asks for a multiple of 8 (and an odd data
     * offset would misalign the quantized blocks read in place) */
    b = gb_new(32);
    gb_kv_u32(b, "general.alignment", 4);
    expect_fail_b(b, MLLM_ERR_FORMAT, "general.alignment 4 is not a power of two of at least 8");
    b = gb_new(32);
    gb_kv_u32(b, "general.alignment", 0);
    expect_fail_b(b, MLLM_ERR_FORMAT, "general.alignment 0 is not a power of two of at least 8");
    b = gb_new(32);
    gb_kv_str(b, "general.alignment", "32");
    expect_fail_b(b, MLLM_ERR_FORMAT, "general.alignment has type STRING");
    /* declared 64 but laid out at 32: a tensor at offset 32 is misaligned for 64 */
    {
        int64_t ne[1] = {8};
        b = gb_new(64);
        gb_set_layout_alignment(b, 32);
        gb_tensor(b, "a", MLLM_DTYPE_F32, 1, ne, NULL, 32);
        gb_tensor(b, "b", MLLM_DTYPE_F32, 1, ne, NULL, 32);
        expect_fail_b(b, MLLM_ERR_FORMAT, "tensor 'b' offset 32 is not a multiple of the alignment 64");
    }
}

static void test_error_duplicates(void) {
    int64_t ne[1] = {8};
    gguf_builder *b = gb_new(32);
    gb_kv_u32(b, "a", 1);
    gb_kv_u32(b, "llama.block_count", 1);
    gb_kv_u32(b, "b", 1);
    gb_kv_str(b, "llama.block_count", "x");
    expect_fail_b(b, MLLM_ERR_FORMAT, "duplicate metadata key 'llama.block_count' (entries 1 and 3)");
    b = gb_new(32);
    gb_tensor(b, "output.weight", MLLM_DTYPE_F32, 1, ne, NULL, 32);
    gb_tensor(b, "x", MLLM_DTYPE_F32, 1, ne, NULL, 32);
    gb_tensor(b, "output.weight", MLLM_DTYPE_F32, 1, ne, NULL, 32);
    expect_fail_b(b, MLLM_ERR_FORMAT, "duplicate tensor name 'output.weight' (tensors 0 and 2)");
}

static void test_error_unknown_value_type(void) {
    gguf_builder *b = gb_new(32);
    uint8_t payload[8] = {0};
    gb_kv_u32(b, "ok", 1);
    gb_kv_raw(b, "weird", 13, payload, 8);
    expect_fail_b(b, MLLM_ERR_FORMAT, "metadata key 1 ('weird') has unknown value type 13");
    b = gb_new(32);
    {
        gb_buf p = {NULL, 0, 0};
        gb_buf_u32(&p, 77);
        gb_buf_u64(&p, 1);
        gb_buf_u32(&p, 0);
        gb_kv_raw(b, "weird.arr", GB_ARR, p.p, p.len);
        gb_buf_free(&p);
    }
    expect_fail_b(b, MLLM_ERR_FORMAT, "('weird.arr') has unknown value type 77");
}

static void test_error_nested_arrays_too_deep(void) {
    gguf_builder *b = gb_new(32);
    gb_buf p = {NULL, 0, 0};
    int i;
    for (i = 0; i < 20; i++) {
        gb_buf_u32(&p, GB_ARR);
        gb_buf_u64(&p, 1);
    }
    gb_buf_u32(&p, GB_U8);
    gb_buf_u64(&p, 0);
    gb_kv_raw(b, "deep", GB_ARR, p.p, p.len);
    gb_buf_free(&p);
    expect_fail_b(b, MLLM_ERR_FORMAT, "metadata key 0 ('deep') nests arrays more than");
}

static void test_error_message_sanitizes_names(void) {
    int64_t ne[1] = {8};
    gguf_builder *b = gb_new(32);
    gb_tensor(b, "bad\nname\x01", 16, 1, ne, NULL, 32);
    expect_fail_b(b, MLLM_ERR_UNSUPPORTED, "tensor 'bad?name?' has unsupported type IQ2_XXS");
}

static void test_error_null_data(void) {
    gguf_file f;
    mllm_error err;
    CHECK_EQ_INT(gguf_parse(&f, NULL, 100, &err), MLLM_ERR_ARG);
    CHECK_CONTAINS(err.msg, "NULL");
    gguf_free(&f);
}

int main(void) {
    RUN(test_parse_hand_assembled_file);
    RUN(test_every_value_type_alignment_32);
    RUN(test_every_value_type_alignment_64);
    RUN(test_version_2_accepted);
    RUN(test_no_tensors_no_kv);
    RUN(test_typed_getters);
    RUN(test_error_bad_magic);
    RUN(test_error_unsupported_version);
    RUN(test_error_truncated_header);
    RUN(test_error_truncated_metadata_names_key);
    RUN(test_error_truncated_tensor_info_names_tensor);
    RUN(test_error_huge_counts_do_not_allocate);
    RUN(test_error_tensor_data_outside_file);
    RUN(test_lookup_by_name_in_large_tables);
    RUN(test_error_overlapping_tensor_data);
    RUN(test_error_dimension_overflow);
    RUN(test_error_unsupported_tensor_type);
    RUN(test_error_bad_n_dims);
    RUN(test_error_row_not_multiple_of_block);
    RUN(test_error_misaligned_offset);
    RUN(test_error_bad_alignment);
    RUN(test_error_duplicates);
    RUN(test_error_unknown_value_type);
    RUN(test_error_nested_arrays_too_deep);
    RUN(test_error_message_sanitizes_names);
    RUN(test_error_null_data);
    return check_summary("test_gguf");
}
