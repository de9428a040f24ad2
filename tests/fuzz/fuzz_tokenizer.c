/* fuzz_tokenizer.c — libFuzzer target: both tokenizer families on random vocabularies and
 * random text. The input describes a vocabulary (family, flags, pieces with types and
 * scores, merges, special ids) that is written as GGUF metadata and loaded with
 * tokenizer_new; the rest of the input is the text. Every id produced must be in range, the
 * streaming detokenizer must agree with the whole-sequence one, and where the round trip is
 * defined it must hold: detokenize(tokenize(text)) == text for valid UTF-8 text when every byte
 * has a byte token, all pieces are normal, special tokens are not parsed and no BOS is added
 * (its id may name any piece). SentencePiece: minus its dummy-prefix space, with the space
 * piece in the vocabulary and text without U+2581. GPT-2: a merge's result is always in the
 * vocabulary, and the pre-tokenizer is one without space clean-up (smollm, llama4).
 *
 * Input layout: flags, n_pieces, then per piece: len (low 4 bits) | type (high 3 bits),
 * score byte, len bytes; then n_merges and per merge two piece indices (GPT-2); then bos,
 * eos; the rest is the text. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf.h"
#include "gguf_builder.h"
#include "model.h"
#include "tokenizer.h"

#define FUZZ_ASSERT(c)                                                                   \
    do {                                                                                 \
        if (!(c)) {                                                                      \
            fprintf(stderr, "fuzz_tokenizer: invariant failed at line %d: %s\n", __LINE__, #c); \
            abort();                                                                     \
        }                                                                                \
    } while (0)

enum {
    F_GPT2 = 1 << 0,        /* GPT-2 byte-level BPE, else SentencePiece */
    F_BYTES = 1 << 1,       /* all 256 byte tokens present */
    F_SPACE_PREFIX = 1 << 2,/* tokenizer.ggml.add_space_prefix (SPM) */
    F_PRE_SHIFT = 3,        /* 2 bits: pre-tokenizer (GPT-2): smollm, gpt2, default, and 3: llama-bpe
                             * (even n_pieces) or llama4 (odd) */
    F_PARSE_SPECIAL = 1 << 5,
    F_ADD_BOS = 1 << 6,
    F_TYPED = 1 << 7        /* pieces carry the type the input gives, else all NORMAL */
};

typedef struct reader { const uint8_t *p; size_t n, pos; } reader;
static int rd_byte(reader *r) { return r->pos < r->n ? r->p[r->pos++] : 0; }

/* GPT-2's byte -> code point map (bytes.js / openai's bytes_to_unicode), written here
 * independently of the engine's table. */
static uint32_t gpt2_cpt(uint8_t b) {
    uint32_t n = 0, c;
    if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174) return b;
    for (c = 0; c < b; c++)
        if (!((c >= 33 && c <= 126) || (c >= 161 && c <= 172) || c >= 174)) n++;
    return 256 + n;
}

static size_t put_utf8(uint32_t c, char *o) {
    if (c < 0x80) { o[0] = (char)c; return 1; }
    if (c < 0x800) { o[0] = (char)(0xC0 | (c >> 6)); o[1] = (char)(0x80 | (c & 63)); return 2; }
    o[0] = (char)(0xE0 | (c >> 12)); o[1] = (char)(0x80 | ((c >> 6) & 63)); o[2] = (char)(0x80 | (c & 63));
    return 3;
}

/* Strict UTF-8 (no overlongs, surrogates or code points past U+10FFFF). */
static int valid_utf8(const uint8_t *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        size_t k, len;
        uint32_t cp;
        if (c < 0x80) { i++; continue; }
        if (c >= 0xC2 && c <= 0xDF) len = 2, cp = c & 0x1F;
        else if (c >= 0xE0 && c <= 0xEF) len = 3, cp = c & 0x0F;
        else if (c >= 0xF0 && c <= 0xF4) len = 4, cp = c & 0x07;
        else return 0;
        if (i + len > n) return 0;
        for (k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
            return 0;
        i += len;
    }
    return 1;
}

static int has_u2581(const uint8_t *s, size_t n) {
    size_t i;
    for (i = 0; i + 2 < n; i++)
        if (s[i] == 0xE2 && s[i + 1] == 0x96 && s[i + 2] == 0x81) return 1;
    return 0;
}

enum { MAX_PIECES = 512 + 256 + 3, PIECE_CAP = 64 };

typedef struct vocab {
    char text[MAX_PIECES][PIECE_CAP];
    const char *ptr[MAX_PIECES];
    int32_t type[MAX_PIECES];
    float score[MAX_PIECES];
    int n;
    char merge_text[256][2 * PIECE_CAP + 2];
    const char *merge_ptr[256];
    int n_merges;
} vocab;

static void add_piece(vocab *v, const char *s, size_t len, int32_t type, float score) {
    if (v->n >= MAX_PIECES || len >= PIECE_CAP) return;
    memcpy(v->text[v->n], s, len);
    v->text[v->n][len] = '\0';
    v->ptr[v->n] = v->text[v->n];
    v->type[v->n] = type;
    v->score[v->n] = score;
    v->n++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static vocab v; /* large; the harness is single-threaded */
    reader r = {data, size, 0};
    int flags = rd_byte(&r), n_pieces = rd_byte(&r), i, gpt2 = flags & F_GPT2, pre = (flags >> F_PRE_SHIFT) & 3;
    int plain = !(flags & F_TYPED), first_random, llama4 = pre == 3 && (n_pieces & 1);
    int no_cleanup = pre == 0 || llama4; /* pre-tokenizers whose detokenize keeps every space */
    gguf_builder *b;
    uint8_t *bytes;
    size_t fsize;
    gguf_file f;
    mllm_error err;
    mllm_status st;
    struct mllm_model m;
    const uint8_t *text;
    int32_t text_len, n_tok, *toks, n_vocab;
    char *back;
    int32_t n_back;

    memset(&m, 0, sizeof m);
    v.n = 0;
    v.n_merges = 0;
    if (gpt2) {
        add_piece(&v, "<|endoftext|>", 13, MLLM_TOKTYPE_CONTROL, 0.0f);
    } else {
        add_piece(&v, "<unk>", 5, MLLM_TOKTYPE_UNKNOWN, 0.0f);
        add_piece(&v, "<s>", 3, MLLM_TOKTYPE_CONTROL, 0.0f);
        add_piece(&v, "</s>", 4, MLLM_TOKTYPE_CONTROL, 0.0f);
    }
    if (flags & F_BYTES) {
        for (i = 0; i < 256; i++) {
            char buf[8];
            if (gpt2) add_piece(&v, buf, put_utf8(gpt2_cpt((uint8_t)i), buf), MLLM_TOKTYPE_NORMAL, 0.0f);
            else {
                snprintf(buf, sizeof buf, "<0x%02X>", i);
                add_piece(&v, buf, 6, MLLM_TOKTYPE_BYTE, 0.0f);
            }
        }
        /* every real SentencePiece vocabulary has the space piece; without it a space would
         * come back as the bytes of U+2581 (byte tokens are not unescaped, in llama.cpp too) */
        if (!gpt2) add_piece(&v, "\xe2\x96\x81", 3, MLLM_TOKTYPE_NORMAL, -1.0f);
    }
    first_random = v.n;
    for (i = 0; i < n_pieces; i++) {
        int h = rd_byte(&r), len = h & 15, type = (h >> 4) & 7, k;
        float score = (float)(int8_t)rd_byte(&r);
        char buf[PIECE_CAP];
        size_t bl = 0;
        for (k = 0; k < len; k++) {
            int c = rd_byte(&r);
            if (gpt2) bl += put_utf8(gpt2_cpt((uint8_t)c), buf + bl); /* pieces in the byte-level alphabet */
            else buf[bl++] = (char)c;
        }
        add_piece(&v, buf, bl, plain ? MLLM_TOKTYPE_NORMAL : type, score);
    }
    if (gpt2) {
        int n_m = rd_byte(&r) % 64;
        for (i = 0; i < n_m && v.n > first_random; i++) {
            int a = first_random + rd_byte(&r) % (v.n - first_random);
            int c = first_random + rd_byte(&r) % (v.n - first_random);
            size_t la = strlen(v.text[a]), lc = strlen(v.text[c]);
            char *mt = v.merge_text[v.n_merges];
            if (la == 0 || lc == 0 || la + lc >= PIECE_CAP || v.n_merges >= 256) continue;
            memcpy(mt, v.text[a], la);
            mt[la] = ' ';
            memcpy(mt + la + 1, v.text[c], lc + 1);
            v.merge_ptr[v.n_merges++] = mt;
            {
                char joined[PIECE_CAP];
                memcpy(joined, v.text[a], la);
                memcpy(joined + la, v.text[c], lc);
                add_piece(&v, joined, la + lc, MLLM_TOKTYPE_NORMAL, 0.0f); /* a merge's result exists */
            }
        }
    }

    b = gb_new(32);
    gb_kv_str(b, "tokenizer.ggml.model", gpt2 ? "gpt2" : "llama");
    if (gpt2)
        gb_kv_str(b, "tokenizer.ggml.pre", pre == 0 ? "smollm" : pre == 1 ? "gpt-2" : pre == 2 ? "default" : llama4 ? "llama4" : "llama-bpe");
    gb_kv_arr_str(b, "tokenizer.ggml.tokens", v.ptr, (size_t)v.n);
    gb_kv_arr_f32(b, "tokenizer.ggml.scores", v.score, (size_t)v.n);
    gb_kv_arr_i32(b, "tokenizer.ggml.token_type", v.type, (size_t)v.n);
    if (gpt2) gb_kv_arr_str(b, "tokenizer.ggml.merges", v.merge_ptr, (size_t)v.n_merges);
    gb_kv_u32(b, "tokenizer.ggml.bos_token_id", (uint32_t)rd_byte(&r) * 3u);
    gb_kv_u32(b, "tokenizer.ggml.eos_token_id", (uint32_t)rd_byte(&r) * 3u);
    if (!gpt2) gb_kv_bool(b, "tokenizer.ggml.add_space_prefix", (flags & F_SPACE_PREFIX) != 0);
    bytes = gb_finish(b, &fsize);
    gb_free(b);
    st = gguf_parse(&f, bytes, fsize, &err);
    FUZZ_ASSERT(st == MLLM_OK);
    st = tokenizer_new(&f, &m.tok, &err);
    gguf_free(&f);
    free(bytes);
    if (st != MLLM_OK) {
        FUZZ_ASSERT(err.code == (int32_t)st && err.msg[0] != '\0');
        return 0;
    }
    n_vocab = tokenizer_n_vocab(m.tok);
    FUZZ_ASSERT(n_vocab == v.n);

    text = data + r.pos;
    text_len = (int32_t)(size - r.pos);
    n_tok = mllm_tokenize(&m, (const char *)text, text_len, (flags & F_ADD_BOS) != 0, (flags & F_PARSE_SPECIAL) != 0,
                          NULL, 0, &err);
    FUZZ_ASSERT(n_tok >= 0);
    toks = (int32_t *)malloc((size_t)(n_tok ? n_tok : 1) * sizeof *toks);
    if (!toks) abort();
    FUZZ_ASSERT(mllm_tokenize(&m, (const char *)text, text_len, (flags & F_ADD_BOS) != 0,
                              (flags & F_PARSE_SPECIAL) != 0, toks, n_tok, &err) == n_tok);
    for (i = 0; i < n_tok; i++) FUZZ_ASSERT(toks[i] >= 0 && toks[i] < n_vocab);

    {
        int strip = !gpt2 && (flags & F_SPACE_PREFIX);
        n_back = mllm_detokenize(&m, toks, n_tok, strip, NULL, 0);
        FUZZ_ASSERT(n_back >= 0);
        back = (char *)malloc((size_t)n_back + 1);
        if (!back) abort();
        {
            /* the size asked for first is before GPT-2's space clean-up, which can only shrink it */
            int32_t got = mllm_detokenize(&m, toks, n_tok, strip, back, n_back + 1);
            FUZZ_ASSERT(got >= 0 && got <= n_back);
            n_back = got;
        }

        if ((flags & F_BYTES) && plain && !(flags & (F_PARSE_SPECIAL | F_ADD_BOS)) && valid_utf8(text, (size_t)text_len) &&
            (gpt2 ? no_cleanup : !has_u2581(text, (size_t)text_len))) {
            if (n_back != text_len || memcmp(back, text, (size_t)text_len) != 0) {
                fprintf(stderr, "round trip: %d bytes in, %d bytes back; tokens:", (int)text_len, (int)n_back);
                for (i = 0; i < n_tok; i++) fprintf(stderr, " %d '%s'", (int)toks[i], v.text[toks[i]]);
                fprintf(stderr, "\n");
                abort();
            }
        }

        /* the streaming detokenizer gives the same bytes for valid UTF-8 output */
        if (valid_utf8((const uint8_t *)back, (size_t)n_back)) {
            mllm_detok *d;
            char *acc = (char *)malloc((size_t)n_back + 64);
            size_t acc_len = 0;
            int ok = 1;
            if (!acc) abort();
            FUZZ_ASSERT(mllm_detok_new(&m, strip, &d, &err) == MLLM_OK);
            for (i = 0; i <= n_tok; i++) {
                int32_t k = i < n_tok ? mllm_detok_push(d, toks[i]) : mllm_detok_flush(d);
                FUZZ_ASSERT(k >= 0);
                if (acc_len + (size_t)k > (size_t)n_back + 63) { ok = 0; break; }
                memcpy(acc + acc_len, mllm_detok_text(d), (size_t)k);
                acc_len += (size_t)k;
            }
            /* GPT-2's whole-sequence clean-up of spaces has no streaming form */
            if (!(gpt2 && !no_cleanup)) FUZZ_ASSERT(ok && acc_len == (size_t)n_back && memcmp(acc, back, acc_len) == 0);
            mllm_detok_free(d);
            free(acc);
        }
        free(back);
    }
    for (i = 0; i < n_vocab; i += 7) {
        char piece[8];
        FUZZ_ASSERT(mllm_token_to_piece(&m, i, piece, (int32_t)sizeof piece) >= 0);
    }
    free(toks);
    tokenizer_free(m.tok);
    return 0;
}
