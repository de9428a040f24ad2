/* tokenizer_vocab.c — the vocabulary's hash lookups: piece bytes -> id and merge pair -> rank
 * (open addressing over FNV-1a hashes, built by tokenizer_load.c). */
#include "tokenizer_impl.h"

#include <string.h>

uint32_t tok_fnv(uint32_t h, const char *s, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

/* Id of the piece with exactly these bytes, -1 when none (llama.cpp's text_to_token). */
int32_t tok_vocab_find(const mllm_tokenizer *t, const char *s, size_t n) {
    uint32_t i = tok_fnv(TOK_FNV_INIT, s, n) & t->map_mask;
    for (;; i = (i + 1) & t->map_mask) {
        int32_t id = t->map[i];
        if (id < 0) return -1;
        if (tok_piece_len(t, id) == n && memcmp(tok_piece_ptr(t, id), s, n) == 0) return id;
    }
}

/* Rank of merging (l, r), -1 when it is no merge (llama.cpp's find_bpe_rank). */
int32_t tok_merge_rank(const mllm_tokenizer *t, const char *l, size_t nl, const char *r, size_t nr) {
    uint32_t h = tok_fnv(tok_fnv(tok_fnv(TOK_FNV_INIT, l, nl), " ", 1), r, nr);
    uint32_t i = h & t->mmap_mask;
    for (;; i = (i + 1) & t->mmap_mask) {
        int32_t k = t->mmap[i];
        const char *m;
        if (k < 0) return -1;
        m = t->mtext + t->moff[k];
        if (t->msplit[k] == nl && t->moff[k + 1] - t->moff[k] == nl + 1 + nr && memcmp(m, l, nl) == 0 &&
            memcmp(m + nl + 1, r, nr) == 0)
            return k;
    }
}

uint32_t tok_table_size(uint32_t n) {
    uint32_t s = 16;
    while (s < 2 * n) s *= 2;
    return s;
}
