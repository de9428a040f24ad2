/* detok.c — token ids back to text: each token's piece (SentencePiece "\u2581" as space,
 * <0xNN> as its byte, the GPT-2 byte map undone), whole sequences with llama.cpp's space
 * clean-up, and the streaming detokenizer that never emits half a UTF-8 character. */
#include "tokenizer_impl.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "unicode.h"

size_t tok_piece_write(const mllm_tokenizer *t, int32_t id, char *out, size_t cap) {
    const char *p = tok_piece_ptr(t, id);
    size_t n = tok_piece_len(t, id), w = 0, i = 0;
    uint16_t a = t->attr[id];
#define PUT(c)                                  \
    do {                                        \
        if (w < cap) out[w] = (char)(c);        \
        w++;                                    \
    } while (0)
    if (a & (ATTR_CONTROL | ATTR_UNKNOWN)) return 0;
    if (a & ATTR_USER_DEFINED) {
        for (i = 0; i < n; i++) PUT(p[i]);
        return w;
    }
    if (a & ATTR_NORMAL) {
        if (t->kind == MLLM_TOKENIZER_SPM) {
            while (i < n) { /* U+2581 -> ' ' */
                if (i + 3 <= n && memcmp(p + i, "\xe2\x96\x81", 3) == 0) {
                    PUT(' ');
                    i += 3;
                } else {
                    PUT(p[i]);
                    i++;
                }
            }
        } else {
            while (i < n) { /* undo the byte map; other code points pass through as UTF-8 */
                uint32_t c = unicode_decode_lenient((const unsigned char *)p, n, &i);
                int32_t b = unicode_cpt_to_byte(c);
                if (b >= 0) {
                    PUT(b);
                } else {
                    char u[4];
                    size_t ul = unicode_encode_utf8(c, u), q;
                    for (q = 0; q < ul; q++) PUT(u[q]);
                }
            }
        }
        return w;
    }
    if (a & ATTR_BYTE) { /* "<0xNN>" */
        unsigned v = 0;
        for (i = 3; i < 5 && i < n; i++) {
            char c = p[i];
            v = v * 16 + (unsigned)(c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                    : c >= 'a' && c <= 'f' ? c - 'a' + 10 : 0);
        }
        PUT(v);
        return w;
    }
#undef PUT
    return 0; /* unused / undefined types render as nothing */
}

int32_t tokenizer_piece(const mllm_tokenizer *t, int32_t token, char *out, int32_t cap) {
    if (!t || token < 0 || token >= t->n_vocab || cap < 0 || (cap > 0 && !out)) return -(int32_t)MLLM_ERR_ARG;
    return (int32_t)tok_piece_write(t, token, out, (size_t)cap);
}

int32_t tokenizer_text(const mllm_tokenizer *t, int32_t token, char *out, int32_t cap) {
    uint32_t n;
    if (!t || token < 0 || token >= t->n_vocab || cap < 0 || (cap > 0 && !out)) return -(int32_t)MLLM_ERR_ARG;
    n = tok_piece_len(t, token);
    if (n <= (uint32_t)cap && n) memcpy(out, tok_piece_ptr(t, token), n);
    return (int32_t)n;
}

/* llama.cpp's clean_up_tokenization_spaces passes (detokenize with clean_spaces). */
static size_t clean_spaces(char *text, size_t total) {
    size_t i, t1, t2, t3;
    t1 = total;
    total = total ? 1 : 0;
    for (i = 1; i < t1; i++) { /* " ?", " !", " .", " ," */
        char x = text[i];
        if (text[i - 1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',')) total--;
        text[total++] = x;
    }
    t2 = total;
    total = total ? 1 : 0;
    for (i = 1; i < t2; i++) { /* " ' " */
        char x = text[i];
        if (x == '\'' && i + 1 < t2 && text[i - 1] == ' ' && text[i + 1] == ' ') {
            total--;
            text[++i] = '\0';
        }
        text[total++] = x;
    }
    t3 = total;
    total = total ? 1 : 0;
    for (i = 1; i < t3; i++) { /* " 's", " 'm", " 're", " 've" */
        char x = text[i];
        if (text[i - 1] == ' ' && x == '\'' && i + 1 < t3) {
            char x1 = text[i + 1];
            if (x1 == 's' || x1 == 'm') total--;
            else if (i + 2 < t3 && ((x1 == 'r' && text[i + 2] == 'e') || (x1 == 'v' && text[i + 2] == 'e'))) total--;
        }
        text[total++] = x;
    }
    return total;
}

/* llama.cpp's detokenize(remove_special = false, unparse_special = false), except that the
 * dummy-prefix space is stripped from the first token that renders anything (see tokenizer.h). */
int32_t tokenizer_decode(const mllm_tokenizer *t, const int32_t *tokens, int32_t n, int32_t strip_leading_space,
                         char *out, int32_t cap) {
    size_t total = 0, c;
    int32_t i;
    int strip;
    if (!t || n < 0 || (n > 0 && !tokens) || cap < 0 || (cap > 0 && !out)) return -(int32_t)MLLM_ERR_ARG;
    for (i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= t->n_vocab) return -(int32_t)MLLM_ERR_ARG;
    c = (size_t)cap;
    /* the dummy prefix's space leaves the first piece that has any bytes */
    strip = strip_leading_space && t->add_space_prefix;
    for (i = 0; i < n; i++) {
        size_t room = total < c ? c - total : 0;
        size_t k = tok_piece_write(t, tokens[i], room ? out + total : NULL, room);
        if (k == 0) continue;
        if (strip) {
            char first;
            strip = 0;
            tok_piece_write(t, tokens[i], &first, 1);
            if (first == ' ') {
                if (k <= room) memmove(out + total, out + total + 1, k - 1);
                k--;
            }
        }
        total += k;
        if (total > 0x7FFFFFFF) return -(int32_t)MLLM_ERR_ARG;
    }
    if (total > c) return (int32_t)total;
    if (t->clean_spaces) total = clean_spaces(out, total);
    return (int32_t)total;
}

/* ---------------------------------------------------------------- streaming */

struct mllm_detok {
    const mllm_tokenizer *t;
    int strip;
    unicode_utf8_stream us;
    char *piece; /* max_piece bytes */
    char *out;   /* 3 * (max_piece + 3) + 1 */
};

mllm_status tokenizer_detok_new(const mllm_tokenizer *t, int32_t strip_leading_space, mllm_detok **out,
                               mllm_error *err) {
    mllm_detok *d;
    if (!out) return mllm_fail(err, MLLM_ERR_ARG, "mllm_detok_new: out is NULL");
    *out = NULL;
    if (!t) return mllm_fail(err, MLLM_ERR_ARG, "mllm_detok_new: the model handle is NULL");
    d = (mllm_detok *)calloc(1, sizeof *d);
    if (d) {
        d->piece = (char *)malloc((size_t)t->max_piece + 1);
        d->out = (char *)malloc(3 * ((size_t)t->max_piece + 3) + 1);
    }
    if (!d || !d->piece || !d->out) {
        mllm_detok_free(d);
        return mllm_fail(err, MLLM_ERR_NOMEM, "mllm_detok_new: out of memory");
    }
    d->t = t;
    d->strip = strip_leading_space && t->add_space_prefix;
    unicode_utf8_stream_init(&d->us);
    d->out[0] = '\0';
    *out = d;
    return MLLM_OK;
}

int32_t mllm_detok_push(mllm_detok *d, int32_t token) {
    size_t k, off = 0, w;
    if (!d || token < 0 || token >= d->t->n_vocab) return -(int32_t)MLLM_ERR_ARG;
    k = tok_piece_write(d->t, token, d->piece, (size_t)d->t->max_piece);
    if (k && d->strip) {
        d->strip = 0;
        if (d->piece[0] == ' ') off = 1;
    }
    w = unicode_utf8_stream_feed(&d->us, (const unsigned char *)d->piece + off, k - off, d->out);
    d->out[w] = '\0';
    return (int32_t)w;
}

int32_t mllm_detok_flush(mllm_detok *d) {
    size_t w;
    if (!d) return -(int32_t)MLLM_ERR_ARG;
    w = unicode_utf8_stream_flush(&d->us, d->out);
    d->out[w] = '\0';
    return (int32_t)w;
}

const char *mllm_detok_text(const mllm_detok *d) { return d ? d->out : ""; }

void mllm_detok_free(mllm_detok *d) {
    if (!d) return;
    free(d->piece);
    free(d->out);
    free(d);
}
