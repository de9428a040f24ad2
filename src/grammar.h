/* grammar.h — GBNF grammars compiled for constrained decoding (internal; the public handle is
 * mllm_grammar in mobilellm.h).
 *
 * grammar_parse.c turns GBNF text (llama.cpp's dialect) into an mllm_cgrammar: flat rules of
 * elements, repetitions rewritten into helper rules, char classes as sorted code-point ranges.
 * grammar_match.c runs it over a vocabulary of byte strings: a set of parse stacks advanced
 * byte by byte (UTF-8 aware), a mask of the tokens that keep a parse alive, and the shortest
 * completion of the current state (so a generator can close a value before its budget ends).
 */
#ifndef MLLM_GRAMMAR_H
#define MLLM_GRAMMAR_H

#include "mobilellm.h"

/* Limits, checked before anything is allocated or looped over. */
#define MLLM_GRAMMAR_MAX_TEXT (1 << 20)        /* bytes of GBNF text */
#define MLLM_GRAMMAR_MAX_RULES 16384           /* rules, named plus generated */
#define MLLM_GRAMMAR_MAX_ELEMENTS (1 << 18)    /* compiled elements in all rules */
#define MLLM_GRAMMAR_MAX_REPEAT 1000           /* m and n in x{m,n} */
#define MLLM_GRAMMAR_MAX_NESTING 64            /* parentheses inside one another */
#define MLLM_GRAMMAR_MAX_DEPTH 512             /* entries in one parse stack (value nesting) */
#define MLLM_GRAMMAR_MAX_STACKS 256            /* parse stacks alive at once (ambiguity) */
#define MLLM_GRAMMAR_MAX_COMPLETION 4096       /* bytes of the text that closes a value */

enum {
    MLLM_GE_END = 0,   /* end of a rule's last alternative */
    MLLM_GE_ALT = 1,   /* end of an alternative, another follows */
    MLLM_GE_REF = 2,   /* value: rule index */
    MLLM_GE_CHAR = 3,  /* value: one code point */
    MLLM_GE_CLASS = 4  /* value: class index (sorted, disjoint code-point ranges) */
};

typedef struct mllm_gelem {
    int32_t type;
    uint32_t value;
} mllm_gelem;

/* A compiled grammar. Rule r's alternatives are elems[rule_off[r] ..], each ended by ALT, the
 * last by END. Class c's ranges are range_lo/hi[class_off[c] .. class_off[c+1]). */
typedef struct mllm_cgrammar {
    mllm_gelem *elems;
    int32_t n_elems;
    int32_t *rule_off;
    int32_t n_rules;
    int32_t root;
    uint32_t *range_lo, *range_hi;
    int32_t *class_off;
    int32_t n_classes, n_ranges;
    /* the shortest text (bytes) each rule and each alternative suffix derives, and the
     * alternative of each rule that derives it (filled by the parser, used for completions) */
    int32_t *rule_min;  /* per rule */
    int32_t *rest_min;  /* per element: from here to the end of its alternative */
    int32_t *rule_best; /* per rule: element index where its shortest alternative starts */
} mllm_cgrammar;

/* Parse and compile GBNF text. On failure returns the code (MLLM_ERR_ARG for a grammar
 * mistake, with its line and column) and leaves *g empty. */
mllm_status mllm_cgrammar_parse(mllm_cgrammar *g, const char *text, int32_t len, mllm_error *err);
void mllm_cgrammar_free(mllm_cgrammar *g);

/* Recomputes rule_min / rest_min / rule_best with class c written as code point class_cp[c]
 * (NULL: each class's smallest code point). */
void mllm_cgrammar_shortest(mllm_cgrammar *g, const uint32_t *class_cp);

/* Smallest code point that element e (a CHAR or CLASS) matches within [lo, hi]; -1 if none. */
int32_t mllm_gelem_min_cp(const mllm_cgrammar *g, const mllm_gelem *e, uint32_t lo, uint32_t hi);

/* -------------------------------------------------------------- matcher over a vocabulary */

/* Build a grammar handle over an explicit vocabulary: piece i is bytes[off[i] .. off[i+1]);
 * empty pieces are never allowed; is_eog[i] marks end-of-generation tokens (allowed only where
 * the grammar can end). All inputs are copied. mllm_grammar_new (mobilellm.h) calls this with
 * the model's pieces. */
mllm_status mllm_grammar_new_vocab(const char *text, int32_t len, const char *bytes, const int32_t *off,
                                   const uint8_t *is_eog, int32_t n_vocab, mllm_grammar **out,
                                   mllm_error *err);

/* Back to the start state (nothing generated yet). */
void mllm_grammar_reset(mllm_grammar *gr);

/* Compute the mask of the current state: allowed[t] = 1 when token t keeps the text a prefix
 * of some string of the grammar (EOG tokens: when the text is a complete string). Returns the
 * number of allowed tokens, or a negative mllm_status (err filled) when a limit is hit.
 * The array stays valid until the next call on gr. */
int32_t mllm_grammar_mask(mllm_grammar *gr, const uint8_t **allowed, mllm_error *err);

/* Whether the text so far is a complete string of the grammar (1) / also no longer
 * continuable (2: only the end remains) / neither (0). */
int32_t mllm_grammar_can_end(const mllm_grammar *gr);

/* Advance by token t (EOG tokens: only where the grammar can end; they change nothing).
 * MLLM_ERR_ARG when t is not allowed here; the state is then unchanged. */
mllm_status mllm_grammar_accept(mllm_grammar *gr, int32_t token, mllm_error *err);

/* Advance by raw bytes (tests and the brute-force checks). Returns 1 when the bytes keep a
 * parse alive (state advanced), 0 when they do not (state unchanged), negative on a limit. */
int32_t mllm_grammar_accept_bytes(mllm_grammar *gr, const char *bytes, int32_t n, mllm_error *err);

/* Back to the state before the last successful accept (one level). */
void mllm_grammar_undo(mllm_grammar *gr);

/* Length in bytes of the shortest text completing the current state (0 when it can end). */
int32_t mllm_grammar_completion_bytes(mllm_grammar *gr);

/* The shortest completion as tokens: writes up to `cap` ids (greedy longest pieces over the
 * completion text) and returns the count, or -1 when the vocabulary cannot spell it or it
 * needs more than cap tokens. The text itself is in *text / *text_len (valid until the next
 * call on gr). */
int32_t mllm_grammar_completion_tokens(mllm_grammar *gr, int32_t *tokens, int32_t cap, const char **text,
                                       int32_t *text_len);

/* Whether every single byte (0x00..0xFF) is a token's whole piece: then any completion of n
 * bytes takes at most n tokens. */
int32_t mllm_grammar_bytes_spellable(const mllm_grammar *gr);

int32_t mllm_grammar_n_vocab(const mllm_grammar *gr);
int32_t mllm_grammar_is_eog(const mllm_grammar *gr, int32_t token);

#endif
