/* tiny_model.h — test fixture: tiny random llama/MobileLLM models written as GGUF bytes with
 * gguf_builder.h, plus the f32 "master" weights they were made from, so tests can run an
 * independent reference forward pass on exactly the same numbers.
 *
 *     tm_spec s = tm_default();          // n_embd 32, 4 heads, 2 kv heads, ffn 48, vocab 64, 3 blocks
 *     tm_weights *w = tm_weights_new(&s, 7);
 *     size_t size; uint8_t *gguf = tm_build(&s, w, &size);   // malloc'd
 *
 * Matrices are stored like GGUF: row r (one output) is contiguous over the n_in inputs,
 * ne = [n_in, n_out]. A matrix requested as Q8_0 whose rows are not whole 32-blocks is
 * written as F16 instead (mixed types, as llama.cpp's quantizer does). tm_round_to_types()
 * replaces the master weights with what the file actually holds (quantize + dequantize), so a
 * reference computed on them sees the same model.
 */
#ifndef MLLM_TINY_MODEL_H
#define MLLM_TINY_MODEL_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtype.h"
#include "gguf_builder.h"
#include "gguf_keys.h"
#include "quant_ref.h"

typedef struct tm_spec {
    const char *arch;      /* general.architecture ("llama"); NULL: key omitted */
    int n_embd, n_head, n_head_kv, n_ff, n_vocab, n_blocks, n_ctx;
    int repeat;            /* mobilellm.layer_share.repeat; 0: key omitted */
    const char *mode;      /* mobilellm.layer_share.mode; NULL: key omitted */
    int tied;              /* 1: no output.weight */
    uint32_t wtype;        /* block matrices and output.weight */
    uint32_t norm_type;
    uint32_t embd_type;
    float eps, theta;
    int unroll;            /* write blocks duplicated in schedule order, without share keys */
    int tok_vocab;         /* tokenizer entries (n_vocab when 0) */
    const char *omit;      /* a metadata key or tensor name not to write */
} tm_spec;

typedef struct tm_block {
    float *attn_norm, *wq, *wk, *wv, *wo, *ffn_norm, *w_gate, *w_up, *w_down;
} tm_block;

typedef struct tm_weights {
    int n_embd, n_q, n_kv, n_ff, n_vocab, n_blocks;
    float *tok_embd, *output_norm, *output;
    tm_block *blk;
} tm_weights;

static inline tm_spec tm_default(void) {
    tm_spec s;
    memset(&s, 0, sizeof s);
    s.arch = "llama";
    s.n_embd = 32; s.n_head = 4; s.n_head_kv = 2; s.n_ff = 48; s.n_vocab = 64; s.n_blocks = 3;
    s.n_ctx = 64;
    s.repeat = 1; s.mode = NULL; s.tied = 1;
    s.wtype = MLLM_DTYPE_F32; s.norm_type = MLLM_DTYPE_F32; s.embd_type = MLLM_DTYPE_F32;
    s.eps = 1e-5f; s.theta = 10000.0f;
    return s;
}

/* The test's own statement of the sharing schedule (kept apart from the engine's). */
static inline int tm_schedule(int l, int n_stored, int repeat, const char *mode) {
    if (mode && !strcmp(mode, "repeat_all")) return l % n_stored;
    if (mode && !strcmp(mode, "reverse")) {
        int pass = l / n_stored, j = l % n_stored;
        return pass % 2 ? n_stored - 1 - j : j;
    }
    return l / repeat;
}

static inline uint32_t tm_rand_u32_(uint32_t *st) {
    *st ^= *st << 13;
    *st ^= *st >> 17;
    *st ^= *st << 5;
    return *st;
}
static inline float *tm_rand_(uint32_t *st, size_t n, float center, float scale) {
    float *p = (float *)malloc(n * sizeof *p);
    size_t i;
    if (!p) abort();
    for (i = 0; i < n; i++) p[i] = center + scale * (float)((double)tm_rand_u32_(st) / 4294967296.0 * 2.0 - 1.0);
    return p;
}

static inline tm_weights *tm_weights_new(const tm_spec *s, uint32_t seed) {
    tm_weights *w = (tm_weights *)calloc(1, sizeof *w);
    uint32_t st = seed * 2654435761u + 1u;
    int d = s->n_embd, hd = s->n_embd / s->n_head, i;
    if (!w) abort();
    w->n_embd = d; w->n_q = s->n_head * hd; w->n_kv = s->n_head_kv * hd; w->n_ff = s->n_ff;
    w->n_vocab = s->n_vocab; w->n_blocks = s->n_blocks;
    /* uniform(-a, a) has variance a^2/3: a = sqrt(3/n_in) keeps activations near unit scale */
#define TM_MAT(n_out, n_in) tm_rand_(&st, (size_t)(n_out) * (n_in), 0.0f, 1.6f / sqrtf((float)(n_in)))
    w->tok_embd = tm_rand_(&st, (size_t)s->n_vocab * d, 0.0f, 1.0f);
    w->output_norm = tm_rand_(&st, (size_t)d, 1.0f, 0.2f);
    w->output = TM_MAT(s->n_vocab, d);
    w->blk = (tm_block *)calloc((size_t)s->n_blocks, sizeof *w->blk);
    if (!w->blk) abort();
    for (i = 0; i < s->n_blocks; i++) {
        tm_block *b = &w->blk[i];
        b->attn_norm = tm_rand_(&st, (size_t)d, 1.0f, 0.2f);
        b->wq = TM_MAT(w->n_q, d);
        b->wk = TM_MAT(w->n_kv, d);
        b->wv = TM_MAT(w->n_kv, d);
        b->wo = TM_MAT(d, w->n_q);
        b->ffn_norm = tm_rand_(&st, (size_t)d, 1.0f, 0.2f);
        b->w_gate = TM_MAT(s->n_ff, d);
        b->w_up = TM_MAT(s->n_ff, d);
        b->w_down = TM_MAT(d, s->n_ff);
    }
#undef TM_MAT
    return w;
}

static inline void tm_weights_free(tm_weights *w) {
    int i;
    if (!w) return;
    for (i = 0; i < w->n_blocks; i++) {
        tm_block *b = &w->blk[i];
        free(b->attn_norm); free(b->wq); free(b->wk); free(b->wv); free(b->wo);
        free(b->ffn_norm); free(b->w_gate); free(b->w_up); free(b->w_down);
    }
    free(w->blk);
    free(w->tok_embd); free(w->output_norm); free(w->output);
    free(w);
}

/* The type a matrix with rows of n_in is actually written in (F16 where rows are not whole
 * blocks of a quantized type). */
static inline uint32_t tm_eff_type_(uint32_t type, int n_in) {
    return (dtype_block_elems(type) > 1 && n_in % dtype_block_elems(type) != 0) ? MLLM_DTYPE_F16 : type;
}

/* n_rows x n_in floats encoded in `type`; malloc'd, *nbytes set. */
static inline uint8_t *tm_encode_(const float *x, int n_rows, int n_in, uint32_t type, size_t *nbytes) {
    size_t n = (size_t)n_rows * n_in, i;
    uint8_t *out;
    int r;
    if (type == MLLM_DTYPE_Q8_0) {
        *nbytes = (size_t)n_rows * (n_in / 32) * sizeof(block_q8_0);
        out = (uint8_t *)malloc(*nbytes);
        if (!out) abort();
        for (r = 0; r < n_rows; r++)
            quantize_row_q8_0(x + (size_t)r * n_in, (block_q8_0 *)out + (size_t)r * (n_in / 32), n_in);
        return out;
    }
    if (dtype_block_elems(type) > 1) { /* the 4/5/6-bit types: the engine's reference quantizers */
        *nbytes = (size_t)n_rows * dtype_row_bytes(type, n_in);
        out = (uint8_t *)malloc(*nbytes);
        if (!out || quant_rows(type, x, out, n_rows, n_in) != *nbytes) abort();
        return out;
    }
    *nbytes = n * (type == MLLM_DTYPE_F32 ? 4 : 2);
    out = (uint8_t *)malloc(*nbytes);
    if (!out) abort();
    for (i = 0; i < n; i++) {
        if (type == MLLM_DTYPE_F32) memcpy(out + 4 * i, &x[i], 4);
        else {
            uint16_t h = type == MLLM_DTYPE_F16 ? f32_to_fp16(x[i]) : f32_to_bf16(x[i]);
            memcpy(out + 2 * i, &h, 2);
        }
    }
    return out;
}

/* Replace x with the values `type` can hold (encode, then decode). */
static inline void tm_round_(float *x, int n_rows, int n_in, uint32_t type) {
    size_t nb;
    uint8_t *enc = tm_encode_(x, n_rows, n_in, type, &nb);
    dequantize_row(type, enc, x, (int64_t)n_rows * n_in);
    free(enc);
}

static inline void tm_round_to_types(const tm_spec *s, tm_weights *w) {
    int i, d = w->n_embd;
    tm_round_(w->tok_embd, w->n_vocab, d, s->embd_type);
    tm_round_(w->output_norm, 1, d, s->norm_type);
    tm_round_(w->output, w->n_vocab, d, tm_eff_type_(s->wtype, d));
    for (i = 0; i < w->n_blocks; i++) {
        tm_block *b = &w->blk[i];
        tm_round_(b->attn_norm, 1, d, s->norm_type);
        tm_round_(b->ffn_norm, 1, d, s->norm_type);
        tm_round_(b->wq, w->n_q, d, tm_eff_type_(s->wtype, d));
        tm_round_(b->wk, w->n_kv, d, tm_eff_type_(s->wtype, d));
        tm_round_(b->wv, w->n_kv, d, tm_eff_type_(s->wtype, d));
        tm_round_(b->wo, d, w->n_q, tm_eff_type_(s->wtype, w->n_q));
        tm_round_(b->w_gate, w->n_ff, d, tm_eff_type_(s->wtype, d));
        tm_round_(b->w_up, w->n_ff, d, tm_eff_type_(s->wtype, d));
        tm_round_(b->w_down, d, w->n_ff, tm_eff_type_(s->wtype, w->n_ff));
    }
}

static inline int tm_omitted_(const tm_spec *s, const char *name) { return s->omit && !strcmp(s->omit, name); }

/* A tensor of n_out rows of n_in (n_out 0: 1-D [n_in]). */
static inline void tm_tensor_(gguf_builder *b, const tm_spec *s, const char *name, const float *x, int n_out,
                              int n_in, uint32_t type) {
    int64_t ne[2];
    size_t nb;
    uint8_t *enc;
    if (tm_omitted_(s, name)) return;
    ne[0] = n_in;
    ne[1] = n_out;
    enc = tm_encode_(x, n_out ? n_out : 1, n_in, type, &nb);
    gb_tensor(b, name, type, n_out ? 2 : 1, ne, enc, nb);
    free(enc);
}

#define TM_KEY_(buf, suffix) (snprintf(buf, sizeof buf, "%s.%s", s->arch ? s->arch : "llama", suffix), buf)

/* Everything but s->omit: metadata, tokenizer, tensors. */
static inline void tm_write(gguf_builder *b, const tm_spec *s, const tm_weights *w) {
    char key[128], name[96];
    int d = s->n_embd, i, n_write = s->unroll ? s->n_blocks * (s->repeat ? s->repeat : 1) : s->n_blocks;
    int tv = s->tok_vocab ? s->tok_vocab : s->n_vocab;
    if (s->arch && !tm_omitted_(s, GGUF_KEY_GENERAL_ARCHITECTURE)) gb_kv_str(b, GGUF_KEY_GENERAL_ARCHITECTURE, s->arch);
    if (!tm_omitted_(s, GGUF_KEY_GENERAL_NAME)) gb_kv_str(b, GGUF_KEY_GENERAL_NAME, "tiny test model");
#define TM_U32(suffix, v) if (!tm_omitted_(s, TM_KEY_(key, suffix))) gb_kv_u32(b, key, (uint32_t)(v));
    TM_U32(GGUF_ARCH_BLOCK_COUNT, n_write)
    TM_U32(GGUF_ARCH_CONTEXT_LENGTH, s->n_ctx)
    TM_U32(GGUF_ARCH_EMBEDDING_LENGTH, d)
    TM_U32(GGUF_ARCH_FEED_FORWARD_LENGTH, s->n_ff)
    TM_U32(GGUF_ARCH_HEAD_COUNT, s->n_head)
    TM_U32(GGUF_ARCH_HEAD_COUNT_KV, s->n_head_kv)
    TM_U32(GGUF_ARCH_ROPE_DIMENSION_COUNT, d / s->n_head)
    TM_U32(GGUF_ARCH_VOCAB_SIZE, s->n_vocab)
#undef TM_U32
    if (!tm_omitted_(s, TM_KEY_(key, GGUF_ARCH_RMS_EPS))) gb_kv_f32(b, key, s->eps);
    if (!tm_omitted_(s, TM_KEY_(key, GGUF_ARCH_ROPE_FREQ_BASE))) gb_kv_f32(b, key, s->theta);
    if (!s->unroll) {
        if (s->repeat) gb_kv_u32(b, GGUF_KEY_SHARE_REPEAT, (uint32_t)s->repeat);
        if (s->mode) gb_kv_str(b, GGUF_KEY_SHARE_MODE, s->mode);
    }
    if (!tm_omitted_(s, GGUF_KEY_TOKENIZER_TOKENS)) {
        char **toks = (char **)malloc((size_t)tv * sizeof *toks);
        float *scores = (float *)malloc((size_t)tv * sizeof *scores);
        int32_t *types = (int32_t *)malloc((size_t)tv * sizeof *types);
        if (!toks || !scores || !types) abort();
        for (i = 0; i < tv; i++) {
            toks[i] = (char *)malloc(16);
            if (!toks[i]) abort();
            if (i == 0) strcpy(toks[i], "<unk>");
            else if (i == 1) strcpy(toks[i], "<s>");
            else if (i == 2) strcpy(toks[i], "</s>");
            else snprintf(toks[i], 16, "t%d", i);
            scores[i] = -(float)i;
            types[i] = i == 0 ? 2 : i < 3 ? 3 : 1;
        }
        gb_kv_str(b, GGUF_KEY_TOKENIZER_MODEL, "llama");
        gb_kv_arr_str(b, GGUF_KEY_TOKENIZER_TOKENS, (const char *const *)toks, (size_t)tv);
        gb_kv_arr_f32(b, GGUF_KEY_TOKENIZER_SCORES, scores, (size_t)tv);
        gb_kv_arr_i32(b, GGUF_KEY_TOKENIZER_TOKEN_TYPE, types, (size_t)tv);
        gb_kv_u32(b, GGUF_KEY_TOKENIZER_BOS_ID, 1);
        gb_kv_u32(b, GGUF_KEY_TOKENIZER_EOS_ID, 2);
        gb_kv_u32(b, GGUF_KEY_TOKENIZER_UNK_ID, 0);
        for (i = 0; i < tv; i++) free(toks[i]);
        free(toks); free(scores); free(types);
    }

    tm_tensor_(b, s, "token_embd.weight", w->tok_embd, s->n_vocab, d, s->embd_type);
    tm_tensor_(b, s, "output_norm.weight", w->output_norm, 0, d, s->norm_type);
    if (!s->tied) tm_tensor_(b, s, "output.weight", w->output, s->n_vocab, d, tm_eff_type_(s->wtype, d));
    for (i = 0; i < n_write; i++) {
        const tm_block *bl = &w->blk[s->unroll ? tm_schedule(i, s->n_blocks, s->repeat, s->mode) : i];
#define TM_T(suffix, x, n_out, n_in, type)                              \
        snprintf(name, sizeof name, "blk.%d.%s.weight", i, suffix);     \
        tm_tensor_(b, s, name, x, n_out, n_in, type);
        TM_T("attn_norm", bl->attn_norm, 0, d, s->norm_type)
        TM_T("attn_q", bl->wq, w->n_q, d, tm_eff_type_(s->wtype, d))
        TM_T("attn_k", bl->wk, w->n_kv, d, tm_eff_type_(s->wtype, d))
        TM_T("attn_v", bl->wv, w->n_kv, d, tm_eff_type_(s->wtype, d))
        TM_T("attn_output", bl->wo, d, w->n_q, tm_eff_type_(s->wtype, w->n_q))
        TM_T("ffn_norm", bl->ffn_norm, 0, d, s->norm_type)
        TM_T("ffn_gate", bl->w_gate, s->n_ff, d, tm_eff_type_(s->wtype, d))
        TM_T("ffn_up", bl->w_up, s->n_ff, d, tm_eff_type_(s->wtype, d))
        TM_T("ffn_down", bl->w_down, d, s->n_ff, tm_eff_type_(s->wtype, s->n_ff))
#undef TM_T
    }
}

static inline uint8_t *tm_build(const tm_spec *s, const tm_weights *w, size_t *size) {
    gguf_builder *b = gb_new(32);
    uint8_t *out;
    tm_write(b, s, w);
    out = gb_finish(b, size);
    gb_free(b);
    return out;
}

#endif
