/* tokenizer_merge.c — the pair-merging loop SentencePiece and GPT-2 BPE share: symbols per
 * UTF-8 character, the best queued pair merged first (SPM: by the merged piece's score; BPE:
 * by the merge's rank), and the final symbols emitted as pieces or byte tokens. */
#include "tokenizer_impl.h"

#include <stdlib.h>

#include "unicode.h"

struct tok_sym {
    int32_t prev, next;
    uint32_t off, n; /* bytes text[off .. off+n); n == 0 once merged away */
};

struct tok_bigram {
    double key;      /* SPM: -score; BPE: rank. Smaller first, then smaller left. */
    int32_t left, right;
    uint32_t size;   /* bytes of left + right when queued; a mismatch later means stale */
};

static int bigram_before(const tok_bigram *a, const tok_bigram *b) {
    return a->key < b->key || (a->key == b->key && a->left < b->left);
}

static void heap_push(tok_bigram *h, size_t *n, tok_bigram v) {
    size_t i = (*n)++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!bigram_before(&v, &h[p])) break;
        h[i] = h[p];
        i = p;
    }
    h[i] = v;
}

static tok_bigram heap_pop(tok_bigram *h, size_t *n) {
    tok_bigram top = h[0], last = h[--(*n)];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && bigram_before(&h[c + 1], &h[c])) c++;
        if (!bigram_before(&h[c], &last)) break;
        h[i] = h[c];
        i = c;
    }
    if (*n) h[i] = last;
    return top;
}

int tok_work_reserve(tok_work *w, size_t n_syms, size_t n_buf) {
    if (n_syms > w->cap_syms) {
        tok_sym *s = (tok_sym *)realloc(w->syms, n_syms * sizeof *s);
        tok_bigram *h;
        if (!s) return 0;
        w->syms = s;
        h = (tok_bigram *)realloc(w->heap, 3 * n_syms * sizeof *h);
        if (!h) return 0;
        w->heap = h;
        w->cap_syms = n_syms;
    }
    if (n_buf > w->cap_buf) {
        char *b = (char *)realloc(w->buf, n_buf);
        if (!b) return 0;
        w->buf = b;
        w->cap_buf = n_buf;
    }
    return 1;
}

void tok_work_free(tok_work *w) {
    free(w->syms);
    free(w->heap);
    free(w->buf);
}

/* Symbols per UTF-8 character (lead-byte length, clipped at the end: llama.cpp's split). */
static size_t make_symbols(tok_sym *s, const char *text, size_t len) {
    size_t off = 0, n = 0;
    while (off < len) {
        size_t cl = unicode_len_utf8((unsigned char)text[off]);
        if (cl > len - off) cl = len - off;
        s[n].off = (uint32_t)off;
        s[n].n = (uint32_t)cl;
        s[n].prev = (int32_t)n - 1;
        off += cl;
        s[n].next = off == len ? -1 : (int32_t)n + 1;
        n++;
    }
    return n;
}

/* Queues merging symbols l and r when that is possible: SentencePiece keys it by the merged
 * piece's score (llm_tokenizer_spm_session::try_add_bigram), GPT-2 BPE by the merge's rank
 * (llm_tokenizer_bpe_session::add_new_bigram). */
static void try_bigram(const mllm_tokenizer *t, const char *text, tok_sym *s, tok_bigram *h, size_t *nh, int32_t l,
                       int32_t r) {
    tok_bigram b;
    if (l < 0 || r < 0) return;
    if (t->kind == MLLM_TOKENIZER_SPM) {
        int32_t id = tok_vocab_find(t, text + s[l].off, s[l].n + s[r].n);
        if (id < 0) return;
        b.key = -(double)t->score[id];
    } else {
        int32_t rank = tok_merge_rank(t, text + s[l].off, s[l].n, text + s[r].off, s[r].n);
        if (rank < 0) return;
        b.key = (double)rank;
    }
    b.left = l;
    b.right = r;
    b.size = s[l].n + s[r].n;
    heap_push(h, nh, b);
}

/* The merge loop both families share: symbols per UTF-8 character, best queued pair first,
 * stale pairs skipped (a symbol only grows, so a size mismatch means it changed), the right
 * symbol merged into the left. Then each final symbol is its piece, or — when it is none —
 * its bytes as byte tokens (SPM <0xNN>; GPT-2 the 1-byte pieces, dropped when absent). A
 * merged symbol always is a piece, so llama.cpp's rev_merge resegmentation never applies. */
void tok_merge_and_emit(const mllm_tokenizer *t, tok_work *w, const char *text, size_t len, tok_emitter *e) {
    tok_sym *s = w->syms;
    tok_bigram *h = w->heap;
    size_t n = make_symbols(s, text, len), nh = 0, i;
    for (i = 1; i < n; i++) try_bigram(t, text, s, h, &nh, (int32_t)i - 1, (int32_t)i);
    while (nh) {
        tok_bigram b = heap_pop(h, &nh);
        tok_sym *l = &s[b.left], *r = &s[b.right];
        if (l->n == 0 || r->n == 0 || l->n + r->n != b.size) continue;
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0) s[r->next].prev = b.left;
        try_bigram(t, text, s, h, &nh, l->prev, b.left);
        try_bigram(t, text, s, h, &nh, b.left, l->next);
    }
    for (i = 0; i < n; i++) { /* array order is chain order once merged symbols are skipped */
        int32_t id;
        if (s[i].n == 0) continue;
        id = tok_vocab_find(t, text + s[i].off, s[i].n);
        if (id >= 0) {
            tok_emit(e, id);
        } else {
            uint32_t j;
            for (j = 0; j < s[i].n; j++) {
                int32_t bt = t->byte_tok[(unsigned char)text[s[i].off + j]];
                if (bt >= 0) tok_emit(e, bt);
            }
        }
    }
}
