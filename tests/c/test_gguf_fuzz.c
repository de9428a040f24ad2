/* test_gguf_fuzz.c — the GGUF reader on damaged input: every truncation of a realistic small
 * model file, then thousands of deterministic bit flips and field overwrites. Each input
 * is parsed from its own exactly-sized heap copy so ASan catches any read past the end;
 * successful parses are walked completely by gguf_walk.h (shared with the libFuzzer target
 * tests/fuzz/fuzz_gguf.c) to prove the validation covers what the accessors touch. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "dtype.h"
#include "error.h"
#include "gguf.h"
#include "gguf_builder.h"
#include "gguf_walk.h"

static uint32_t xorshift32(uint32_t *s) {
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

/* A miniature llama-style model: the metadata a loader reads, a small SentencePiece-like
 * vocabulary, one nested array, and F32/F16/BF16/Q8_0 tensors. */
static uint8_t *build_model(size_t *size) {
    gguf_builder *b = gb_new(32);
    enum { NV = 96, NE = 32, NF = 64 };
    static const char *toks[NV];
    static char tokbuf[NV][12];
    float scores[NV], emb[NE * NV / 4], norm[NE];
    int32_t types[NV];
    uint16_t f16[NE * NF];
    uint8_t q8[(NE / 32) * 34 * NF], bf[NE * 2 * 4];
    const char *merges[3] = {"\xE2\x96\x81 t", "h e", "t he"};
    int64_t ne_emb[2] = {NE, NV / 4}, ne_norm[1] = {NE}, ne_ff[2] = {NE, NF}, ne_q8[2] = {NE, NF}, ne_bf[2] = {NE, 4};
    gb_buf nested = {NULL, 0, 0};
    uint8_t *out;
    int i;

    gb_kv_str(b, "general.architecture", "llama");
    gb_kv_str(b, "general.name", "fuzz-model");
    gb_kv_u32(b, "llama.block_count", 1);
    gb_kv_u32(b, "llama.context_length", 128);
    gb_kv_u32(b, "llama.embedding_length", NE);
    gb_kv_u32(b, "llama.feed_forward_length", NF);
    gb_kv_u32(b, "llama.attention.head_count", 4);
    gb_kv_u32(b, "llama.attention.head_count_kv", 2);
    gb_kv_f32(b, "llama.rope.freq_base", 10000.0f);
    gb_kv_f32(b, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
    gb_kv_u32(b, "mobilellm.layer_share.repeat", 2);
    gb_kv_str(b, "mobilellm.layer_share.mode", "immediate");
    gb_kv_str(b, "tokenizer.ggml.model", "llama");
    for (i = 0; i < NV; i++) {
        snprintf(tokbuf[i], sizeof tokbuf[i], i < 3 ? "<%d>" : "\xE2\x96\x81t%d", i);
        toks[i] = tokbuf[i];
        scores[i] = -(float)i;
        types[i] = i < 3 ? 3 : 1;
    }
    gb_kv_arr_str(b, "tokenizer.ggml.tokens", toks, NV);
    gb_kv_arr_f32(b, "tokenizer.ggml.scores", scores, NV);
    gb_kv_arr_i32(b, "tokenizer.ggml.token_type", types, NV);
    gb_kv_arr_str(b, "tokenizer.ggml.merges", merges, 3);
    gb_kv_u32(b, "tokenizer.ggml.bos_token_id", 1);
    gb_kv_u32(b, "tokenizer.ggml.eos_token_id", 2);
    gb_kv_bool(b, "tokenizer.ggml.add_bos_token", 1);
    gb_kv_u64(b, "test.u64", 1ULL << 40);
    gb_kv_f64(b, "test.f64", 0.5);
    gb_buf_u32(&nested, GB_ARR);
    gb_buf_u64(&nested, 2);
    gb_buf_u32(&nested, GB_I32); gb_buf_u64(&nested, 2); gb_buf_u32(&nested, 7); gb_buf_u32(&nested, 8);
    gb_buf_u32(&nested, GB_STR); gb_buf_u64(&nested, 1); gb_buf_str(&nested, "nested");
    gb_kv_raw(b, "test.nested", GB_ARR, nested.p, nested.len);
    gb_buf_free(&nested);

    for (i = 0; i < NE * NV / 4; i++) emb[i] = (float)(i % 17) * 0.1f;
    for (i = 0; i < NE; i++) norm[i] = 1.0f;
    for (i = 0; i < NE * NF; i++) f16[i] = (uint16_t)(0x3000 + (i % 512));
    for (i = 0; i < (int)sizeof q8; i++) q8[i] = (uint8_t)(i * 31);
    for (i = 0; i < (int)sizeof bf; i++) bf[i] = (uint8_t)(i * 7);
    gb_tensor(b, "token_embd.weight", MLLM_DTYPE_F32, 2, ne_emb, emb, sizeof emb);
    gb_tensor(b, "output_norm.weight", MLLM_DTYPE_F32, 1, ne_norm, norm, sizeof norm);
    gb_tensor(b, "blk.0.ffn_up.weight", MLLM_DTYPE_F16, 2, ne_ff, f16, sizeof f16);
    gb_tensor(b, "blk.0.ffn_down.weight", MLLM_DTYPE_Q8_0, 2, ne_q8, q8, sizeof q8);
    gb_tensor(b, "blk.0.attn_q.weight", MLLM_DTYPE_BF16, 2, ne_bf, bf, sizeof bf);
    out = gb_finish(b, size);
    gb_free(b);
    return out;
}

/* Parses `n` bytes from an exactly-sized heap copy (so ASan catches any read past the end)
 * and checks the outcome with gguf_walk.h. Returns 1 when it parsed. */
static int parse_copy(const uint8_t *src, size_t n, uint64_t *sum) {
    uint8_t *copy = (uint8_t *)malloc(n ? n : 1);
    int ok;
    if (!copy) return 0;
    if (n) memcpy(copy, src, n);
    ok = gguf_walk_parse(copy, n, sum);
    free(copy);
    return ok;
}

static void test_fuzz_model_parses(void) {
    size_t n;
    uint8_t *d = build_model(&n);
    gguf_file f;
    mllm_error err;
    uint32_t u = 0;
    CHECK_EQ_INT(gguf_parse(&f, d, n, &err), MLLM_OK);
    CHECK_EQ_INT(f.n_tensors, 5);
    CHECK_EQ_INT(f.n_kv, 23);
    CHECK_EQ_INT(gguf_get_u32(&f, "llama.embedding_length", &u, &err), MLLM_OK);
    CHECK_EQ_INT(u, 32);
    gguf_free(&f);
    free(d);
}

/* Every prefix of the file: all shorter than the last tensor's end must fail cleanly. */
static void test_fuzz_every_truncation(void) {
    size_t n, len, min_ok = (size_t)-1;
    uint8_t *d = build_model(&n);
    uint64_t sum = 0;
    int n_ok = 0;
    for (len = 0; len <= n; len++) {
        if (parse_copy(d, len, &sum)) {
            n_ok++;
            if (len < min_ok) min_ok = len;
        }
    }
    /* only the lengths from the end of the last tensor's data (before tail padding) parse */
    {
        gguf_file f;
        mllm_error err;
        uint64_t end = 0, i;
        CHECK_EQ_INT(gguf_parse(&f, d, n, &err), MLLM_OK);
        for (i = 0; i < f.n_tensors; i++) {
            uint64_t e = f.data_offset + f.tensors[i].offset + f.tensors[i].nbytes;
            if (e > end) end = e;
        }
        CHECK_EQ_INT(min_ok, end);
        CHECK_EQ_INT(n_ok, n - end + 1);
        gguf_free(&f);
    }
    CHECK(sum != 0);
    free(d);
}

/* Bit flips, byte overwrites and 4/8-byte field overwrites with boundary values, mostly in
 * the header/metadata region where they change how the rest is read. */
enum { N_MUT = 20000 };

static void test_fuzz_mutations(void) {
    static const uint64_t specials[] = {0, 1, 2, 3, 4, 31, 32, 33, 0x7f, 0x80, 0xff, 0xffff,
                                        0x7fffffffu, 0x80000000u, 0xffffffffu, 1ULL << 32, 1ULL << 60,
                                        (1ULL << 63) - 1, 1ULL << 63, UINT64_MAX, UINT64_MAX - 31};
    size_t n, header_end;
    uint8_t *d = build_model(&n);
    uint8_t *m = (uint8_t *)malloc(n);
    uint32_t seed = 0x9E3779B9u;
    uint64_t sum = 0;
    int iter, n_ok = 0;
    gguf_file f;
    mllm_error err;
    CHECK_EQ_INT(gguf_parse(&f, d, n, &err), MLLM_OK);
    header_end = (size_t)f.data_offset;
    gguf_free(&f);

    for (iter = 0; iter < N_MUT; iter++) {
        int k, n_mut = 1 + (int)(xorshift32(&seed) % 3);
        memcpy(m, d, n);
        for (k = 0; k < n_mut; k++) {
            uint32_t r = xorshift32(&seed);
            size_t pos = (r % 10 < 9) ? xorshift32(&seed) % header_end : xorshift32(&seed) % n;
            switch (r % 4) {
            case 0: /* flip one bit */
                m[pos] ^= (uint8_t)(1u << (xorshift32(&seed) % 8));
                break;
            case 1: /* random byte */
                m[pos] = (uint8_t)xorshift32(&seed);
                break;
            case 2: { /* 4-byte field: a type id, a dim count, a u32 value */
                uint64_t v = specials[xorshift32(&seed) % (sizeof specials / sizeof specials[0])];
                int b;
                if (pos + 4 > n) pos = n - 4;
                for (b = 0; b < 4; b++) m[pos + b] = (uint8_t)(v >> (8 * b));
                break;
            }
            default: { /* 8-byte field: a count, a length, a dimension, an offset */
                uint64_t v = specials[xorshift32(&seed) % (sizeof specials / sizeof specials[0])];
                int b;
                if (pos + 8 > n) pos = n - 8;
                for (b = 0; b < 8; b++) m[pos + b] = (uint8_t)(v >> (8 * b));
                break;
            }
            }
        }
        n_ok += parse_copy(m, n, &sum);
        /* and the same damage with a random truncation */
        if (iter % 8 == 0) parse_copy(m, xorshift32(&seed) % (n + 1), &sum);
    }
    /* sanity on the mix: some damage is harmless (names, values, data), most is caught */
    CHECK(n_ok > 100);
    CHECK(n_ok < N_MUT - N_MUT / 10);
    printf("  mutations: %d of %d still parse\n", n_ok, N_MUT);
    free(m);
    free(d);
}

int main(void) {
    RUN(test_fuzz_model_parses);
    RUN(test_fuzz_every_truncation);
    RUN(test_fuzz_mutations);
    return check_summary("test_gguf_fuzz");
}
