/* tokenizer_impl.h — the tokenizer's insides, shared by its files only: the vocabulary struct
 * and the steps of tokenizing (tokenizer_load.c builds the struct; tokenizer_vocab.c looks
 * pieces and merges up; tokenizer_special.c splits special tokens out; tokenizer_spm.c and
 * tokenizer_bpe.c tokenize a fragment through tokenizer_merge.c's loop; tokenizer_encode.c
 * drives them; detok.c renders pieces back to text). */
#ifndef MLLM_TOKENIZER_IMPL_H
#define MLLM_TOKENIZER_IMPL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tokenizer.h"

/* Token attributes: llama.cpp's llama_token_attr bits. */
enum {
    ATTR_UNKNOWN = 1 << 0,
    ATTR_UNUSED = 1 << 1,
    ATTR_NORMAL = 1 << 2,
    ATTR_CONTROL = 1 << 3,
    ATTR_USER_DEFINED = 1 << 4,
    ATTR_BYTE = 1 << 5
};

/* BPE pre-tokenizers: which splits run, in order (llama.cpp's llm_tokenizer_bpe regex_exprs). */
enum { PRE_DEFAULT = 0, PRE_GPT2 = 1, PRE_SMOLLM = 2, PRE_LLAMA3 = 3, PRE_GPT4O = 4 };

struct mllm_tokenizer {
    int32_t kind;             /* MLLM_TOKENIZER_SPM | MLLM_TOKENIZER_GPT2 */
    int32_t pre;              /* PRE_* (gpt2 only) */
    int32_t ignore_merges;    /* a pre-token that is a whole piece is that piece, unmerged (llama3) */
    int32_t n_vocab;
    int32_t bos, eos, unk;    /* -1 when absent */
    int32_t add_bos, add_eos, add_space_prefix, clean_spaces;

    char *text;               /* every piece's bytes, back to back */
    uint32_t *off;            /* piece i is text[off[i] .. off[i+1]) */
    float *score;
    uint16_t *attr;
    uint32_t max_piece;       /* longest decoded piece (mllm_token_to_piece) in bytes */

    int32_t *map;             /* open addressing piece -> id, -1 empty */
    uint32_t map_mask;

    int32_t n_merges;
    char *mtext;              /* every merge string "left right", back to back */
    uint32_t *moff;           /* merge i is mtext[moff[i] .. moff[i+1]) */
    uint32_t *msplit;         /* length of the left part */
    int32_t *mmap;            /* open addressing merge -> rank, -1 empty */
    uint32_t mmap_mask;

    int32_t byte_tok[256];    /* SPM: <0xNN> (or the byte itself) per byte; GPT-2: the 1-byte piece */
    int32_t *special;         /* control/user-defined/unknown ids, longest text first */
    int32_t n_special;
    int32_t *eog;             /* end-of-generation ids */
    int32_t n_eog;
};

static inline uint32_t tok_piece_len(const mllm_tokenizer *t, int32_t id) { return t->off[id + 1] - t->off[id]; }
static inline const char *tok_piece_ptr(const mllm_tokenizer *t, int32_t id) { return t->text + t->off[id]; }
static inline int tok_str_is(const char *s, size_t n, const char *c) { return strlen(c) == n && memcmp(s, c, n) == 0; }

/* ---- tokenizer_vocab.c: lookups */
#define TOK_FNV_INIT 2166136261u
uint32_t tok_fnv(uint32_t h, const char *s, size_t n);
/* Open-addressing table size for n entries: a power of two >= 2n (at least 16). */
uint32_t tok_table_size(uint32_t n);
/* Id of the piece with exactly these bytes, -1 when none (llama.cpp's text_to_token). */
int32_t tok_vocab_find(const mllm_tokenizer *t, const char *s, size_t n);
/* Rank of merging (l, r), -1 when it is no merge (llama.cpp's find_bpe_rank). */
int32_t tok_merge_rank(const mllm_tokenizer *t, const char *l, size_t nl, const char *r, size_t nr);

/* ---- tokenizer_merge.c: the merge loop and its memory */
typedef struct tok_sym tok_sym;
typedef struct tok_bigram tok_bigram;

/* Output ids: written while they fit, always counted. */
typedef struct tok_emitter {
    int32_t *out;
    int32_t cap;
    int64_t n;
} tok_emitter;

static inline void tok_emit(tok_emitter *e, int32_t id) {
    if (e->n < e->cap) e->out[e->n] = id;
    e->n++;
}

/* Work memory of one tokenize call, sized from its input. */
typedef struct tok_work {
    tok_sym *syms;
    tok_bigram *heap;
    size_t cap_syms;   /* heap holds 3 * cap_syms: n - 1 initial bigrams + 2 per merge */
    char *buf;         /* SPM escaped text / GPT-2 byte-encoded word */
    size_t cap_buf;
} tok_work;

/* Room for n_syms symbols and n_buf bytes; 0 when out of memory. */
int tok_work_reserve(tok_work *w, size_t n_syms, size_t n_buf);
void tok_work_free(tok_work *w);
/* text (len bytes, w->syms room for a symbol per byte) merged and emitted. */
void tok_merge_and_emit(const mllm_tokenizer *t, tok_work *w, const char *text, size_t len, tok_emitter *e);

/* ---- tokenizer_special.c */
typedef struct tok_frag {
    int32_t token; /* -1: raw text text[off .. off+len) */
    uint32_t off, len;
} tok_frag;
/* The fragments of text once special tokens are cut out; a and b each hold 2 * len + 2. */
size_t tok_partition(const mllm_tokenizer *t, const char *text, size_t len, int parse_special, tok_frag *a,
                     tok_frag *b);

/* ---- tokenizer_spm.c, tokenizer_bpe.c: one raw fragment each; 0 when out of memory */
int tok_spm_fragment(const mllm_tokenizer *t, tok_work *w, const char *text, size_t len, int after_special,
                     tok_emitter *e);
/* cpts, seg_a and seg_b hold len entries each. */
int tok_bpe_fragment(const mllm_tokenizer *t, tok_work *w, const char *text, size_t len, uint32_t *cpts,
                     uint32_t *seg_a, uint32_t *seg_b, tok_emitter *e);

/* ---- detok.c */
/* Raw bytes of token id (llama.cpp's token_to_piece, special = false), written while they fit
 * in cap; returns the full length. */
size_t tok_piece_write(const mllm_tokenizer *t, int32_t id, char *out, size_t cap);

#endif
