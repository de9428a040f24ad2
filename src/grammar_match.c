/* grammar_match.c — a compiled grammar (grammar.h) run over a vocabulary of byte strings.
 *
 * State: a set of parse stacks, as in llama.cpp's llama-grammar.cpp. A stack lists, bottom to
 * top, positions in rule alternatives still to be read; its top is always a character element
 * (CHAR or CLASS), or the stack is empty (the text so far is a complete string). Reading a code
 * point pops every top that matches it and expands what is below (a rule reference becomes
 * one stack per alternative), deduplicating equal stacks. Plus a pending partial UTF-8
 * character: its first bytes keep only the stacks whose top can still match some character
 * with that prefix.
 *
 * Stacks are persistent linked nodes in one pool (a push shares the stack below), so an
 * expansion costs a few nodes and no copying. The committed state is kept flattened and
 * rebuilt in the pool at the start of each operation, so the pool is scratch space.
 *
 * The mask walks the vocabulary sorted by bytes: token i shares lcp[i] leading bytes with
 * token i-1, whose per-byte states are still on the level stack, so a shared prefix is read
 * once; and when a byte kills every stack, all following tokens with that prefix are skipped.
 *
 * Every buffer is sized in mllm_grammar_new_vocab; the per-token operations allocate nothing.
 */
#include "grammar.h"
#include "error.h"

#include <stdlib.h>
#include <string.h>

#define EMPTY (-1)           /* the empty stack: the text is a complete string */
#define CTX (-3)             /* a cache computation's stand-in for whatever is below the top */
#define CACHE_ENTRIES 64     /* masks kept per stack-top key (mllm_grammar_mask) */
#define KEY_DEPTH 4          /* stack entries, from the top, that key a cached mask */
#define POOL_NODES (1 << 18) /* stack nodes alive during one operation */
#define MAX_EXPAND 4096      /* nested expansions while reading one character */

typedef struct gnode {
    int32_t elem, parent, depth;
} gnode;

typedef struct pstate { /* a pending partial UTF-8 character */
    uint32_t val;
    int32_t rem, len; /* continuation bytes still to come; the character's full length */
} pstate;

typedef struct cstate { /* a committed state, flattened: stacks bottom to top */
    int32_t *elems;     /* MAX_STACKS * MAX_DEPTH */
    int32_t *off;       /* MAX_STACKS + 1 */
    int32_t n;          /* stacks */
    pstate part;
} cstate;

struct mllm_grammar {
    mllm_cgrammar g;
    int32_t n_vocab;
    char *pbytes;       /* the pieces, back to back */
    int32_t *poff;      /* n_vocab + 1 */
    uint8_t *is_eog;
    int32_t *order;     /* tokens with a non-empty piece, sorted by bytes */
    int32_t *lcp;       /* leading bytes order[i] shares with order[i-1] */
    int32_t n_order;
    int32_t max_piece;
    int32_t spellable;  /* every single byte is some token's piece */
    int32_t *ph;        /* piece hash table: token + 1, 0 empty */
    int32_t ph_cap;
    cstate st[2];       /* committed state (cur) and the one before the last accept */
    int32_t cur;
    gnode *pool;
    int32_t pool_n;
    int32_t limit;      /* set when an operation hit a limit: 1 depth, 2 stacks, 3 pool, 4 expansion */
    int32_t expand_depth;
    int32_t *lvl_set;   /* (max_piece + 1) * MAX_STACKS: stack sets per byte read */
    int32_t *lvl_n, *lvl_mark;
    pstate *lvl_part;
    uint8_t *allowed;   /* n_vocab */
    uint8_t *lvl_ctx;   /* per level: the context marker was reached at or before it */
    /* mask cache (see mllm_grammar_mask): per key (a stack's top KEY_DEPTH entries), the tokens
     * accepted whatever lies below (acc) and those whose fate depends on it (unc), as bitsets
     * of `words` words */
    int32_t words;
    int32_t *c_key;     /* CACHE_ENTRIES * (KEY_DEPTH + 1): entries top first, then the count
                           (negative: the whole stack, nothing below); count 0 = a free slot */
    uint32_t *c_acc, *c_unc;
    int32_t c_next;
    uint32_t *u_acc, *u_unc; /* one mask call's unions */
    uint32_t *class_cp; /* per class: the character completions write (a spellable one if any) */
    char *comp;         /* MAX_COMPLETION + 4: the shortest completion text */
    int32_t comp_len;
};

/* ---------------------------------------------------------------- stacks */

static int is_end(const mllm_gelem *e) { return e->type == MLLM_GE_END || e->type == MLLM_GE_ALT; }

static int32_t push_node(mllm_grammar *gr, int32_t elem, int32_t parent) {
    int32_t d = parent < 0 ? 1 : gr->pool[parent].depth + 1;
    gnode *n;
    if (d > MLLM_GRAMMAR_MAX_DEPTH) {
        gr->limit = 1;
        return -2;
    }
    if (gr->pool_n >= POOL_NODES) {
        gr->limit = 3;
        return -2;
    }
    n = &gr->pool[gr->pool_n];
    n->elem = elem;
    n->parent = parent;
    n->depth = d;
    return gr->pool_n++;
}

static int same_stack(const mllm_grammar *gr, int32_t a, int32_t b) {
    while (a != b) {
        if (a < 0 || b < 0 || gr->pool[a].elem != gr->pool[b].elem) return 0;
        a = gr->pool[a].parent;
        b = gr->pool[b].parent;
    }
    return 1;
}

static void add_stack(mllm_grammar *gr, int32_t *set, int32_t *n, int32_t s) {
    int32_t k;
    for (k = 0; k < *n; k++)
        if (same_stack(gr, set[k], s)) return;
    if (*n >= MLLM_GRAMMAR_MAX_STACKS) {
        gr->limit = 2;
        return;
    }
    set[(*n)++] = s;
}

static void expand_stack(mllm_grammar *gr, int32_t s, int32_t *set, int32_t *n);

/* Adds the stacks "position elem on top of parent" expands to. */
static void expand(mllm_grammar *gr, int32_t elem, int32_t parent, int32_t *set, int32_t *n) {
    const mllm_gelem *e = &gr->g.elems[elem];
    if (gr->limit) return;
    if (e->type == MLLM_GE_CHAR || e->type == MLLM_GE_CLASS) {
        int32_t s = push_node(gr, elem, parent);
        if (s >= 0) add_stack(gr, set, n, s);
        return;
    }
    if (++gr->expand_depth > MAX_EXPAND) {
        gr->limit = 4;
        return;
    }
    {
        /* a rule reference: the rest of this alternative goes under each alternative of the rule */
        int32_t cont = is_end(&gr->g.elems[elem + 1]) ? parent : push_node(gr, elem + 1, parent);
        int32_t a = gr->g.rule_off[e->value];
        if (cont == -2) return;
        for (;;) {
            if (is_end(&gr->g.elems[a])) expand_stack(gr, cont, set, n);
            else expand(gr, a, cont, set, n);
            while (!is_end(&gr->g.elems[a])) a++;
            if (gr->g.elems[a].type == MLLM_GE_END) break;
            a++;
        }
    }
    gr->expand_depth--;
}

/* Adds the stacks an unexpanded stack s (its top not yet read past) expands to. */
static void expand_stack(mllm_grammar *gr, int32_t s, int32_t *set, int32_t *n) {
    const mllm_gelem *e;
    if (s < 0) { /* EMPTY, or the context marker of a cache computation */
        add_stack(gr, set, n, s);
        return;
    }
    e = &gr->g.elems[gr->pool[s].elem];
    if (e->type == MLLM_GE_CHAR || e->type == MLLM_GE_CLASS) add_stack(gr, set, n, s);
    else expand(gr, gr->pool[s].elem, gr->pool[s].parent, set, n);
}

static int match_cp(const mllm_cgrammar *g, const mllm_gelem *e, uint32_t cp) {
    int32_t lo, hi;
    if (e->type == MLLM_GE_CHAR) return e->value == cp;
    lo = g->class_off[e->value];
    hi = g->class_off[e->value + 1] - 1;
    while (lo <= hi) { /* binary search over sorted disjoint ranges */
        int32_t mid = (lo + hi) / 2;
        if (cp < g->range_lo[mid]) hi = mid - 1;
        else if (cp > g->range_hi[mid]) lo = mid + 1;
        else return 1;
    }
    return 0;
}

/* Reads one complete code point: in[0..nin) -> out, returns the count. */
static int32_t advance_cp(mllm_grammar *gr, const int32_t *in, int32_t nin, uint32_t cp, int32_t *out) {
    int32_t k, n = 0;
    for (k = 0; k < nin; k++) {
        int32_t s = in[k], el;
        if (s < 0) continue;
        el = gr->pool[s].elem;
        if (!match_cp(&gr->g, &gr->g.elems[el], cp)) continue;
        gr->expand_depth = 0;
        if (is_end(&gr->g.elems[el + 1])) expand_stack(gr, gr->pool[s].parent, out, &n);
        else expand(gr, el + 1, gr->pool[s].parent, out, &n);
    }
    return n;
}

static const uint32_t min_cp_of_len[5] = {0, 0, 0x80, 0x800, 0x10000};

/* The code points a partial character can still become. */
static int partial_range(const pstate *p, uint32_t *lo, uint32_t *hi) {
    uint32_t l = p->val << (6 * p->rem), h = l | ((1u << (6 * p->rem)) - 1);
    if (l < min_cp_of_len[p->len]) l = min_cp_of_len[p->len];
    if (h > 0x10FFFF) h = 0x10FFFF;
    if (l > h || (l >= 0xD800 && h <= 0xDFFF)) return 0;
    *lo = l;
    *hi = h;
    return 1;
}

/* Reads one byte: stack set in[0..nin) with partial state *pin -> out / *pout. Returns the
 * number of stacks left (0: the byte is not allowed here). */
static int32_t step_byte(mllm_grammar *gr, const int32_t *in, int32_t nin, const pstate *pin, uint8_t b, int32_t *out,
                         pstate *pout) {
    pstate p = *pin;
    uint32_t lo, hi;
    int32_t k, n = 0;
    if (p.rem == 0) {
        if (b < 0x80) {
            *pout = p;
            return advance_cp(gr, in, nin, b, out);
        }
        if (b >= 0xC2 && b <= 0xDF) { p.val = b & 0x1F; p.rem = 1; p.len = 2; }
        else if (b >= 0xE0 && b <= 0xEF) { p.val = b & 0x0F; p.rem = 2; p.len = 3; }
        else if (b >= 0xF0 && b <= 0xF4) { p.val = b & 0x07; p.rem = 3; p.len = 4; }
        else return 0;
    } else {
        if (b < 0x80 || b > 0xBF) return 0;
        p.val = (p.val << 6) | (b & 0x3Fu);
        p.rem--;
        if (p.rem == 0) {
            uint32_t cp = p.val;
            if (cp < min_cp_of_len[p.len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
            p.val = 0;
            p.len = 0;
            *pout = p;
            return advance_cp(gr, in, nin, cp, out);
        }
    }
    if (!partial_range(&p, &lo, &hi)) return 0;
    for (k = 0; k < nin; k++) {
        int32_t s = in[k];
        if (s >= 0 && mllm_gelem_min_cp(&gr->g, &gr->g.elems[gr->pool[s].elem], lo, hi) >= 0) out[n++] = s;
    }
    *pout = p;
    return n;
}

/* ---------------------------------------------------------------- committed state */

/* Rebuilds the committed stacks in the (emptied) pool; returns their count, tops in set. */
static int32_t rebuild(mllm_grammar *gr, int32_t *set) {
    const cstate *c = &gr->st[gr->cur];
    int32_t i, j, n = 0, prev = -1;
    gr->pool_n = 0;
    gr->limit = 0;
    for (i = 0; i < c->n; i++) {
        int32_t s = EMPTY, len = c->off[i + 1] - c->off[i], share = 0;
        const int32_t *e = c->elems + c->off[i];
        /* share the bottom this stack has in common with the previous one */
        if (prev >= 0) {
            const int32_t *pe = c->elems + c->off[prev];
            int32_t plen = c->off[prev + 1] - c->off[prev];
            while (share < len && share < plen && pe[share] == e[share]) share++;
        }
        j = 0;
        if (share > 0) { /* the previous stack's node at depth `share` */
            int32_t d = c->off[prev + 1] - c->off[prev];
            s = set[n - 1];
            while (d > share) {
                s = gr->pool[s].parent;
                d--;
            }
            j = share;
        }
        for (; j < len; j++) {
            s = push_node(gr, e[j], s);
            if (s < 0) return 0; /* gr->limit says why */
        }
        set[n++] = s;
        prev = i;
    }
    return n;
}

static void flatten(mllm_grammar *gr, cstate *c, const int32_t *set, int32_t n, const pstate *p) {
    int32_t i, k = 0;
    for (i = 0; i < n; i++) {
        int32_t s = set[i], d = s == EMPTY ? 0 : gr->pool[s].depth, j;
        c->off[i] = k;
        for (j = d - 1; j >= 0; j--) {
            c->elems[k + j] = gr->pool[s].elem;
            s = gr->pool[s].parent;
        }
        k += d;
    }
    c->off[n] = k;
    c->n = n;
    c->part = *p;
}

static mllm_status limit_error(mllm_grammar *gr, mllm_error *err) {
    switch (gr->limit) {
    case 1: return mllm_fail(err, MLLM_ERR_STATE, "the grammar's value nests deeper than %d levels, the most this engine follows.", MLLM_GRAMMAR_MAX_DEPTH);
    case 2: return mllm_fail(err, MLLM_ERR_STATE, "the grammar is too ambiguous here: more than %d ways to parse the text at once.", MLLM_GRAMMAR_MAX_STACKS);
    case 4: return mllm_fail(err, MLLM_ERR_STATE, "the grammar expands more than %d rules before reading a character.", MAX_EXPAND);
    default: return mllm_fail(err, MLLM_ERR_STATE, "the grammar's parse state outgrew its %d-node pool.", POOL_NODES);
    }
}

/* ---------------------------------------------------------------- lifetime */

static int cmp_pieces(const mllm_grammar *gr, int32_t a, int32_t b) {
    int32_t la = gr->poff[a + 1] - gr->poff[a], lb = gr->poff[b + 1] - gr->poff[b];
    int c = memcmp(gr->pbytes + gr->poff[a], gr->pbytes + gr->poff[b], (size_t)(la < lb ? la : lb));
    if (c) return c;
    return la < lb ? -1 : la > lb ? 1 : (a < b ? -1 : a > b);
}

/* Bottom-up merge sort of order[] by piece bytes (tmp: scratch of the same size). */
static void sort_order(mllm_grammar *gr, int32_t *tmp) {
    int32_t n = gr->n_order, w, i;
    int32_t *a = gr->order, *b = tmp;
    for (w = 1; w < n; w *= 2) {
        for (i = 0; i < n; i += 2 * w) {
            int32_t l = i, m = i + w < n ? i + w : n, r = i + 2 * w < n ? i + 2 * w : n, x = l, y = m, k = l;
            while (x < m && y < r) b[k++] = cmp_pieces(gr, a[x], a[y]) <= 0 ? a[x++] : a[y++];
            while (x < m) b[k++] = a[x++];
            while (y < r) b[k++] = a[y++];
        }
        { int32_t *t = a; a = b; b = t; }
    }
    if (a != gr->order) memcpy(gr->order, a, (size_t)n * sizeof *a);
}

static uint32_t fnv_step(uint32_t h, uint8_t b) { return (h ^ b) * 16777619u; }

void mllm_grammar_free(mllm_grammar *gr) {
    int i;
    if (!gr) return;
    mllm_cgrammar_free(&gr->g);
    free(gr->pbytes);
    free(gr->poff);
    free(gr->is_eog);
    free(gr->order);
    free(gr->lcp);
    free(gr->ph);
    for (i = 0; i < 2; i++) {
        free(gr->st[i].elems);
        free(gr->st[i].off);
    }
    free(gr->pool);
    free(gr->lvl_set);
    free(gr->lvl_n);
    free(gr->lvl_mark);
    free(gr->lvl_part);
    free(gr->allowed);
    free(gr->lvl_ctx);
    free(gr->c_key);
    free(gr->c_acc);
    free(gr->c_unc);
    free(gr->u_acc);
    free(gr->u_unc);
    free(gr->comp);
    free(gr->class_cp);
    free(gr);
}

void mllm_grammar_reset(mllm_grammar *gr) {
    int32_t n = 0, a;
    pstate p0 = {0, 0, 0};
    if (!gr) return;
    gr->pool_n = 0;
    gr->limit = 0;
    gr->expand_depth = 0;
    a = gr->g.rule_off[gr->g.root];
    for (;;) { /* the root rule's alternatives; limits were checked when it was made */
        if (is_end(&gr->g.elems[a])) add_stack(gr, gr->lvl_set, &n, EMPTY);
        else expand(gr, a, EMPTY, gr->lvl_set, &n);
        while (!is_end(&gr->g.elems[a])) a++;
        if (gr->g.elems[a].type == MLLM_GE_END) break;
        a++;
    }
    gr->cur = 0;
    flatten(gr, &gr->st[0], gr->lvl_set, n, &p0);
    gr->st[1].n = 0;
    gr->st[1].off[0] = 0;
}

/* The character each class is completed with: the smallest one that is a whole token's piece
 * (so completions stay spellable), else the class's smallest; then the shortest-text tables
 * are recomputed for those characters. */
static void pick_class_chars(mllm_grammar *gr) {
    const mllm_cgrammar *g = &gr->g;
    int32_t c, i;
    for (c = 0; c < g->n_classes; c++) gr->class_cp[c] = 0xFFFFFFFFu;
    for (i = 0; i < gr->n_order; i++) {
        int32_t tok = gr->order[i], len = gr->poff[tok + 1] - gr->poff[tok];
        const uint8_t *b = (const uint8_t *)gr->pbytes + gr->poff[tok];
        uint32_t cp;
        mllm_gelem e;
        if (len == 1 && b[0] < 0x80) cp = b[0];
        else if (len == 2 && b[0] >= 0xC2 && b[0] <= 0xDF && (b[1] & 0xC0) == 0x80) cp = ((b[0] & 0x1Fu) << 6) | (b[1] & 0x3Fu);
        else if (len == 3 && (b[0] & 0xF0) == 0xE0 && (b[1] & 0xC0) == 0x80 && (b[2] & 0xC0) == 0x80)
            cp = ((b[0] & 0x0Fu) << 12) | ((b[1] & 0x3Fu) << 6) | (b[2] & 0x3Fu);
        else continue;
        if (cp < min_cp_of_len[len] || (cp >= 0xD800 && cp <= 0xDFFF)) continue;
        e.type = MLLM_GE_CLASS;
        for (c = 0; c < g->n_classes; c++) {
            e.value = (uint32_t)c;
            if (cp < gr->class_cp[c] && match_cp(g, &e, cp)) gr->class_cp[c] = cp;
        }
    }
    for (c = 0; c < g->n_classes; c++)
        if (gr->class_cp[c] == 0xFFFFFFFFu) gr->class_cp[c] = g->range_lo[g->class_off[c]];
    mllm_cgrammar_shortest(&gr->g, gr->class_cp);
}

mllm_status mllm_grammar_new_vocab(const char *text, int32_t len, const char *bytes, const int32_t *off,
                                   const uint8_t *is_eog, int32_t n_vocab, mllm_grammar **out,
                                   mllm_error *err) {
    mllm_grammar *gr;
    mllm_status st;
    int32_t t, i, total, levels, *tmp;
    size_t cst = (size_t)MLLM_GRAMMAR_MAX_STACKS * MLLM_GRAMMAR_MAX_DEPTH;

    if (out) *out = NULL;
    if (!out || !off || (!bytes && n_vocab > 0) || n_vocab <= 0)
        return mllm_fail(err, MLLM_ERR_ARG, "mllm_grammar_new_vocab needs a vocabulary and an output pointer.");
    total = off[n_vocab];
    if (off[0] != 0 || total < 0) return mllm_fail(err, MLLM_ERR_ARG, "the vocabulary's piece offsets are not increasing from 0.");
    for (t = 0; t < n_vocab; t++)
        if (off[t + 1] < off[t]) return mllm_fail(err, MLLM_ERR_ARG, "the vocabulary's piece offsets are not increasing from 0.");
    gr = (mllm_grammar *)calloc(1, sizeof *gr);
    if (!gr) return mllm_fail(err, MLLM_ERR_NOMEM, "out of memory allocating the grammar.");
    st = mllm_cgrammar_parse(&gr->g, text, len, err);
    if (st != MLLM_OK) {
        free(gr);
        return st;
    }
    gr->n_vocab = n_vocab;
    for (t = 0; t < n_vocab; t++)
        if (off[t + 1] - off[t] > gr->max_piece) gr->max_piece = off[t + 1] - off[t];
    levels = gr->max_piece + 2;
    gr->pbytes = (char *)malloc((size_t)(total > 0 ? total : 1));
    gr->poff = (int32_t *)malloc((size_t)(n_vocab + 1) * sizeof *gr->poff);
    gr->is_eog = (uint8_t *)calloc((size_t)n_vocab, 1);
    gr->order = (int32_t *)malloc((size_t)n_vocab * sizeof *gr->order);
    gr->lcp = (int32_t *)malloc((size_t)n_vocab * sizeof *gr->lcp);
    tmp = (int32_t *)malloc((size_t)n_vocab * sizeof *tmp);
    gr->ph_cap = 1;
    while (gr->ph_cap < 2 * n_vocab) gr->ph_cap *= 2;
    gr->ph = (int32_t *)calloc((size_t)gr->ph_cap, sizeof *gr->ph);
    for (i = 0; i < 2; i++) {
        gr->st[i].elems = (int32_t *)malloc(cst * sizeof(int32_t));
        gr->st[i].off = (int32_t *)malloc((size_t)(MLLM_GRAMMAR_MAX_STACKS + 1) * sizeof(int32_t));
    }
    gr->pool = (gnode *)malloc((size_t)POOL_NODES * sizeof *gr->pool);
    gr->lvl_set = (int32_t *)malloc((size_t)levels * MLLM_GRAMMAR_MAX_STACKS * sizeof *gr->lvl_set);
    gr->lvl_n = (int32_t *)malloc((size_t)levels * sizeof *gr->lvl_n);
    gr->lvl_mark = (int32_t *)malloc((size_t)levels * sizeof *gr->lvl_mark);
    gr->lvl_part = (pstate *)malloc((size_t)levels * sizeof *gr->lvl_part);
    gr->allowed = (uint8_t *)malloc((size_t)n_vocab);
    gr->lvl_ctx = (uint8_t *)malloc((size_t)levels);
    gr->words = (n_vocab + 31) / 32;
    gr->c_key = (int32_t *)calloc(CACHE_ENTRIES * (KEY_DEPTH + 1), sizeof *gr->c_key);
    gr->c_acc = (uint32_t *)malloc((size_t)CACHE_ENTRIES * (size_t)gr->words * sizeof *gr->c_acc);
    gr->c_unc = (uint32_t *)malloc((size_t)CACHE_ENTRIES * (size_t)gr->words * sizeof *gr->c_unc);
    gr->u_acc = (uint32_t *)malloc((size_t)gr->words * sizeof *gr->u_acc);
    gr->u_unc = (uint32_t *)malloc((size_t)gr->words * sizeof *gr->u_unc);
    gr->comp = (char *)malloc(MLLM_GRAMMAR_MAX_COMPLETION + 8);
    gr->class_cp = (uint32_t *)malloc((size_t)(gr->g.n_classes + 1) * sizeof *gr->class_cp);
    if (!gr->pbytes || !gr->poff || !gr->is_eog || !gr->order || !gr->lcp || !tmp || !gr->ph || !gr->st[0].elems ||
        !gr->st[0].off || !gr->st[1].elems || !gr->st[1].off || !gr->pool || !gr->lvl_set || !gr->lvl_n ||
        !gr->lvl_mark || !gr->lvl_part || !gr->allowed || !gr->comp || !gr->class_cp || !gr->lvl_ctx || !gr->c_key || !gr->c_acc ||
        !gr->c_unc || !gr->u_acc || !gr->u_unc) {
        free(tmp);
        mllm_grammar_free(gr);
        return mllm_fail(err, MLLM_ERR_NOMEM, "out of memory allocating the grammar's matcher for %d tokens.", (int)n_vocab);
    }
    if (total > 0) memcpy(gr->pbytes, bytes, (size_t)total);
    memcpy(gr->poff, off, (size_t)(n_vocab + 1) * sizeof *off);
    if (is_eog) memcpy(gr->is_eog, is_eog, (size_t)n_vocab);
    for (t = 0; t < n_vocab; t++) {
        int32_t l = off[t + 1] - off[t];
        if (l > 0 && !gr->is_eog[t]) gr->order[gr->n_order++] = t;
    }
    sort_order(gr, tmp);
    free(tmp);
    for (i = 0; i < gr->n_order; i++) {
        int32_t k = 0;
        if (i > 0) {
            int32_t a = gr->order[i - 1], b = gr->order[i];
            int32_t la = off[a + 1] - off[a], lb = off[b + 1] - off[b];
            while (k < la && k < lb && bytes[off[a] + k] == bytes[off[b] + k]) k++;
        }
        gr->lcp[i] = k;
    }
    /* piece hash (first token wins), and whether every single byte is spellable */
    {
        uint8_t single[256];
        memset(single, 0, sizeof single);
        for (i = 0; i < gr->n_order; i++) {
            int32_t tok = gr->order[i], l = off[tok + 1] - off[tok], k;
            uint32_t h = 2166136261u;
            for (k = 0; k < l; k++) h = fnv_step(h, (uint8_t)bytes[off[tok] + k]);
            h &= (uint32_t)(gr->ph_cap - 1);
            while (gr->ph[h]) {
                int32_t o = gr->ph[h] - 1;
                if (off[o + 1] - off[o] == l && memcmp(bytes + off[o], bytes + off[tok], (size_t)l) == 0) break;
                h = (h + 1) & (uint32_t)(gr->ph_cap - 1);
            }
            if (!gr->ph[h]) gr->ph[h] = tok + 1;
            if (l == 1) single[(uint8_t)bytes[off[tok]]] = 1;
        }
        gr->spellable = 1;
        for (i = 0; i < 256; i++)
            if (!single[i]) gr->spellable = 0;
    }
    pick_class_chars(gr);
    if (gr->g.rule_min[gr->g.root] > MLLM_GRAMMAR_MAX_COMPLETION) {
        st = mllm_fail(err, MLLM_ERR_ARG, "the grammar's shortest text is %d bytes, more than the %d this engine can reserve.",
                       (int)gr->g.rule_min[gr->g.root], MLLM_GRAMMAR_MAX_COMPLETION);
        mllm_grammar_free(gr);
        return st;
    }
    mllm_grammar_reset(gr);
    if (gr->limit) {
        st = limit_error(gr, err);
        mllm_grammar_free(gr);
        return st;
    }
    *out = gr;
    mllm_error_clear(err);
    return MLLM_OK;
}

int32_t mllm_grammar_n_vocab(const mllm_grammar *gr) { return gr ? gr->n_vocab : 0; }
int32_t mllm_grammar_bytes_spellable(const mllm_grammar *gr) { return gr ? gr->spellable : 0; }
int32_t mllm_grammar_is_eog(const mllm_grammar *gr, int32_t t) { return t >= 0 && t < gr->n_vocab && gr->is_eog[t]; }

int32_t mllm_grammar_can_end(const mllm_grammar *gr) {
    const cstate *c = &gr->st[gr->cur];
    int32_t i, has_empty = 0;
    if (c->part.rem) return 0;
    for (i = 0; i < c->n; i++)
        if (c->off[i + 1] == c->off[i]) has_empty = 1;
    if (!has_empty) return 0;
    return c->n == 1 ? 2 : 1;
}

/* ---------------------------------------------------------------- mask */

/* The full walk: every token from the committed stacks (used when a partial character is
 * pending, or when the stacks have more distinct keys than the cache holds). */
static int32_t full_mask(mllm_grammar *gr, mllm_error *err) {
    const int32_t S = MLLM_GRAMMAR_MAX_STACKS;
    int32_t i, depth = 0;
    gr->lvl_n[0] = rebuild(gr, gr->lvl_set);
    if (gr->limit) return -(int32_t)limit_error(gr, err);
    gr->lvl_part[0] = gr->st[gr->cur].part;
    gr->lvl_mark[0] = gr->pool_n;
    for (i = 0; i < gr->n_order; i++) {
        int32_t tok = gr->order[i], len = gr->poff[tok + 1] - gr->poff[tok];
        const uint8_t *b = (const uint8_t *)gr->pbytes + gr->poff[tok];
        int32_t d = gr->lcp[i] < depth ? gr->lcp[i] : depth;
        gr->pool_n = gr->lvl_mark[d];
        while (d < len) {
            int32_t n = step_byte(gr, gr->lvl_set + (size_t)d * S, gr->lvl_n[d], &gr->lvl_part[d], b[d],
                                  gr->lvl_set + (size_t)(d + 1) * S, &gr->lvl_part[d + 1]);
            if (gr->limit) return -(int32_t)limit_error(gr, err);
            if (n == 0) break;
            d++;
            gr->lvl_n[d] = n;
            gr->lvl_mark[d] = gr->pool_n;
        }
        depth = d;
        if (d == len) {
            gr->allowed[tok] = 1;
        } else {
            /* byte d kills every stack: so it does for every following token sharing d+1 bytes */
            while (i + 1 < gr->n_order && gr->lcp[i + 1] > d) i++;
        }
    }
    return 0;
}

#define BIT_SET(w, t) ((w)[(t) >> 5] |= 1u << ((t) & 31))
#define BIT_GET(w, t) (((w)[(t) >> 5] >> ((t) & 31)) & 1u)

/* Fills cache slot `slot` for a key: key[0..|cnt|) are a stack's top entries, top first; cnt < 0
 * when they are the whole stack. The walk over every token starts from those entries on CTX
 * (or on nothing, for a whole stack). A token that stays alive is accepted in any context;
 * one that dies before the walk reached CTX is rejected in any context; one that dies after
 * reaching CTX depends on what is below. */
static mllm_status fill_entry(mllm_grammar *gr, const int32_t *key, int32_t cnt, int32_t slot, mllm_error *err) {
    const int32_t S = MLLM_GRAMMAR_MAX_STACKS;
    uint32_t *acc = gr->c_acc + (size_t)slot * gr->words, *unc = gr->c_unc + (size_t)slot * gr->words;
    int32_t *ck = gr->c_key + (size_t)slot * (KEY_DEPTH + 1);
    int32_t i, depth = 0, s0, n = cnt < 0 ? -cnt : cnt;
    pstate p0 = {0, 0, 0};
    ck[KEY_DEPTH] = 0;
    memset(acc, 0, (size_t)gr->words * sizeof *acc);
    memset(unc, 0, (size_t)gr->words * sizeof *unc);
    gr->pool_n = 0;
    gr->limit = 0;
    s0 = cnt < 0 ? EMPTY : CTX;
    for (i = n - 1; i >= 0; i--) {
        s0 = push_node(gr, key[i], s0);
        if (s0 < 0) return limit_error(gr, err);
    }
    gr->lvl_set[0] = s0;
    gr->lvl_n[0] = 1;
    gr->lvl_part[0] = p0;
    gr->lvl_mark[0] = gr->pool_n;
    gr->lvl_ctx[0] = 0;
    for (i = 0; i < gr->n_order; i++) {
        int32_t tok = gr->order[i], len = gr->poff[tok + 1] - gr->poff[tok];
        const uint8_t *b = (const uint8_t *)gr->pbytes + gr->poff[tok];
        int32_t d = gr->lcp[i] < depth ? gr->lcp[i] : depth;
        gr->pool_n = gr->lvl_mark[d];
        while (d < len) {
            int32_t *out = gr->lvl_set + (size_t)(d + 1) * S, k, ctx = 0;
            int32_t n = step_byte(gr, gr->lvl_set + (size_t)d * S, gr->lvl_n[d], &gr->lvl_part[d], b[d], out,
                                  &gr->lvl_part[d + 1]);
            if (gr->limit) return limit_error(gr, err);
            if (n == 0) break;
            for (k = 0; k < n; k++) ctx |= out[k] == CTX;
            d++;
            gr->lvl_n[d] = n;
            gr->lvl_mark[d] = gr->pool_n;
            gr->lvl_ctx[d] = (uint8_t)(gr->lvl_ctx[d - 1] | ctx);
        }
        depth = d;
        if (d == len) {
            BIT_SET(acc, tok);
        } else if (gr->lvl_ctx[d]) {
            BIT_SET(unc, tok);
            while (i + 1 < gr->n_order && gr->lcp[i + 1] > d) {
                i++;
                BIT_SET(unc, gr->order[i]);
            }
        } else {
            while (i + 1 < gr->n_order && gr->lcp[i + 1] > d) i++;
        }
    }
    memcpy(ck, key, (size_t)n * sizeof *key);
    ck[KEY_DEPTH] = cnt;
    return MLLM_OK;
}

/* The mask of the committed state. Without a pending partial character it is assembled from
 * the cache: the union of each stack top's context-free accepts, plus a walk from the real
 * stacks over only the tokens some top left undecided (few: e.g. inside a JSON string only
 * the tokens that close it and go on). The cache fills on first use of a position. */
int32_t mllm_grammar_mask(mllm_grammar *gr, const uint8_t **allowed, mllm_error *err) {
    const int32_t S = MLLM_GRAMMAR_MAX_STACKS;
    const cstate *c;
    int32_t i, t, n_allowed = 0, keys[CACHE_ENTRIES][KEY_DEPTH + 1], n_keys = 0, use_cache = 1;
    if (!gr || !allowed) return -(int32_t)mllm_fail(err, MLLM_ERR_ARG, "mllm_grammar_mask got a NULL argument.");
    *allowed = gr->allowed;
    memset(gr->allowed, 0, (size_t)gr->n_vocab);
    c = &gr->st[gr->cur];
    if (c->part.rem) use_cache = 0;
    for (i = 0; i < c->n && use_cache; i++) { /* the distinct keys of the stacks */
        int32_t len = c->off[i + 1] - c->off[i], n = len < KEY_DEPTH ? len : KEY_DEPTH, k, j, key[KEY_DEPTH + 1];
        if (len == 0) continue;
        for (j = 0; j < n; j++) key[j] = c->elems[c->off[i + 1] - 1 - j];
        key[KEY_DEPTH] = len <= KEY_DEPTH ? -n : n;
        for (k = 0; k < n_keys; k++)
            if (keys[k][KEY_DEPTH] == key[KEY_DEPTH] && memcmp(keys[k], key, (size_t)n * sizeof *key) == 0) break;
        if (k < n_keys) continue;
        if (n_keys == CACHE_ENTRIES) use_cache = 0;
        else memcpy(keys[n_keys++], key, sizeof key);
    }
    if (!use_cache) {
        int32_t r = full_mask(gr, err);
        if (r < 0) return r;
    } else {
        int32_t depth = 0, m = 0x7fffffff;
        memset(gr->u_acc, 0, (size_t)gr->words * sizeof *gr->u_acc);
        memset(gr->u_unc, 0, (size_t)gr->words * sizeof *gr->u_unc);
        for (i = 0; i < n_keys; i++) {
            int32_t k, slot = -1, cnt = keys[i][KEY_DEPTH], n = cnt < 0 ? -cnt : cnt;
            const uint32_t *a, *u;
            for (k = 0; k < CACHE_ENTRIES && slot < 0; k++) {
                const int32_t *ck = gr->c_key + (size_t)k * (KEY_DEPTH + 1);
                if (ck[KEY_DEPTH] == cnt && memcmp(ck, keys[i], (size_t)n * sizeof *ck) == 0) slot = k;
            }
            if (slot < 0) {
                mllm_status st;
                slot = gr->c_next;
                gr->c_next = (gr->c_next + 1) % CACHE_ENTRIES;
                st = fill_entry(gr, keys[i], cnt, slot, err);
                if (st != MLLM_OK) return -(int32_t)st;
            }
            a = gr->c_acc + (size_t)slot * gr->words;
            u = gr->c_unc + (size_t)slot * gr->words;
            for (k = 0; k < gr->words; k++) {
                gr->u_acc[k] |= a[k];
                gr->u_unc[k] |= u[k];
            }
        }
        /* the undecided tokens, walked from the real stacks in sorted order */
        gr->lvl_n[0] = rebuild(gr, gr->lvl_set);
        if (gr->limit) return -(int32_t)limit_error(gr, err);
        gr->lvl_part[0] = c->part;
        gr->lvl_mark[0] = gr->pool_n;
        for (i = 0; i < gr->n_order; i++) {
            int32_t tok = gr->order[i], len, d;
            const uint8_t *b;
            if (gr->lcp[i] < m) m = gr->lcp[i]; /* shared with the last token walked */
            if (BIT_GET(gr->u_acc, tok)) {
                gr->allowed[tok] = 1;
                continue;
            }
            if (!BIT_GET(gr->u_unc, tok)) continue;
            len = gr->poff[tok + 1] - gr->poff[tok];
            b = (const uint8_t *)gr->pbytes + gr->poff[tok];
            d = m < depth ? m : depth;
            m = 0x7fffffff;
            gr->pool_n = gr->lvl_mark[d];
            while (d < len) {
                int32_t n = step_byte(gr, gr->lvl_set + (size_t)d * S, gr->lvl_n[d], &gr->lvl_part[d], b[d],
                                      gr->lvl_set + (size_t)(d + 1) * S, &gr->lvl_part[d + 1]);
                if (gr->limit) return -(int32_t)limit_error(gr, err);
                if (n == 0) break;
                d++;
                gr->lvl_n[d] = n;
                gr->lvl_mark[d] = gr->pool_n;
            }
            depth = d;
            if (d == len) gr->allowed[tok] = 1;
        }
    }
    if (mllm_grammar_can_end(gr))
        for (t = 0; t < gr->n_vocab; t++)
            if (gr->is_eog[t]) gr->allowed[t] = 1;
    for (t = 0; t < gr->n_vocab; t++) n_allowed += gr->allowed[t];
    mllm_error_clear(err);
    return n_allowed;
}

/* ---------------------------------------------------------------- accept */

/* Reads n bytes from the committed state into st[1 - cur]; returns 1 (and swaps) when a parse
 * survives, 0 when not (state unchanged), negative on a limit. */
static int32_t read_bytes(mllm_grammar *gr, const uint8_t *b, int32_t n, mllm_error *err) {
    const int32_t S = MLLM_GRAMMAR_MAX_STACKS;
    int32_t *x = gr->lvl_set, *y = gr->lvl_set + S, nx, i;
    pstate px = gr->st[gr->cur].part, py;
    nx = rebuild(gr, x);
    if (gr->limit) return -(int32_t)limit_error(gr, err);
    for (i = 0; i < n; i++) {
        int32_t *t;
        int32_t ny = step_byte(gr, x, nx, &px, b[i], y, &py);
        if (gr->limit) return -(int32_t)limit_error(gr, err);
        if (ny == 0) return 0;
        t = x;
        x = y;
        y = t;
        nx = ny;
        px = py;
    }
    flatten(gr, &gr->st[1 - gr->cur], x, nx, &px);
    gr->cur = 1 - gr->cur;
    return 1;
}

int32_t mllm_grammar_accept_bytes(mllm_grammar *gr, const char *bytes, int32_t n, mllm_error *err) {
    if (!gr || (!bytes && n > 0) || n < 0) return -(int32_t)mllm_fail(err, MLLM_ERR_ARG, "mllm_grammar_accept_bytes got a bad argument.");
    return read_bytes(gr, (const uint8_t *)bytes, n, err);
}

mllm_status mllm_grammar_accept(mllm_grammar *gr, int32_t token, mllm_error *err) {
    int32_t r, len;
    if (!gr || token < 0 || token >= gr->n_vocab)
        return mllm_fail(err, MLLM_ERR_ARG, "mllm_grammar_accept got token %d outside the vocabulary.", (int)token);
    if (gr->is_eog[token]) {
        if (mllm_grammar_can_end(gr)) {
            mllm_error_clear(err);
            return MLLM_OK;
        }
        return mllm_fail(err, MLLM_ERR_ARG, "the grammar does not allow the text to end here.");
    }
    len = gr->poff[token + 1] - gr->poff[token];
    if (len == 0) return mllm_fail(err, MLLM_ERR_ARG, "token %d has no text, which the grammar never allows.", (int)token);
    r = read_bytes(gr, (const uint8_t *)gr->pbytes + gr->poff[token], len, err);
    if (r < 0) return (mllm_status)-r;
    if (r == 0) return mllm_fail(err, MLLM_ERR_ARG, "token %d does not continue the grammar here.", (int)token);
    mllm_error_clear(err);
    return MLLM_OK;
}

void mllm_grammar_undo(mllm_grammar *gr) {
    if (gr) gr->cur = 1 - gr->cur;
}

/* ---------------------------------------------------------------- completion */

static int put_utf8(char *o, uint32_t cp) {
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) { o[0] = (char)(0xC0 | (cp >> 6)); o[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12)); o[1] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18)); o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* The character a completion writes for a CHAR or CLASS element. */
static int32_t elem_cp(const mllm_grammar *gr, const mllm_gelem *e) {
    return e->type == MLLM_GE_CHAR ? (int32_t)e->value : (int32_t)gr->class_cp[e->value];
}

/* Shortest completion cost of stack s under partial state p (bytes); *cp_out: the character
 * its top reads. Returns a value above MAX_COMPLETION when it has none within the bound. */
static int32_t stack_cost(const mllm_grammar *gr, int32_t s, const pstate *p, int32_t *cp_out) {
    const mllm_cgrammar *g = &gr->g;
    int64_t cost;
    int32_t cp, el;
    uint32_t lo = 0, hi = 0x10FFFF;
    char tmp[4];
    if (s == EMPTY) return p->rem ? MLLM_GRAMMAR_MAX_COMPLETION + 1 : 0;
    el = gr->pool[s].elem;
    if (p->rem && !partial_range(p, &lo, &hi)) return MLLM_GRAMMAR_MAX_COMPLETION + 1;
    cp = p->rem ? mllm_gelem_min_cp(g, &g->elems[el], lo, hi) : elem_cp(gr, &g->elems[el]);
    if (cp < 0) return MLLM_GRAMMAR_MAX_COMPLETION + 1;
    *cp_out = cp;
    cost = p->rem ? p->rem : put_utf8(tmp, (uint32_t)cp);
    cost += g->rest_min[el + 1];
    for (s = gr->pool[s].parent; s != EMPTY && cost <= MLLM_GRAMMAR_MAX_COMPLETION; s = gr->pool[s].parent)
        cost += g->rest_min[gr->pool[s].elem];
    return cost > MLLM_GRAMMAR_MAX_COMPLETION ? MLLM_GRAMMAR_MAX_COMPLETION + 1 : (int32_t)cost;
}

static int32_t best_stack(mllm_grammar *gr, int32_t *set, int32_t n, int32_t *cost, int32_t *cp) {
    const pstate *p = &gr->st[gr->cur].part;
    int32_t k, best = -2, bc = MLLM_GRAMMAR_MAX_COMPLETION + 1;
    for (k = 0; k < n; k++) {
        int32_t c, x = 0;
        c = stack_cost(gr, set[k], p, &x);
        if (c < bc) {
            bc = c;
            best = set[k];
            *cp = x;
        }
    }
    *cost = bc;
    return best;
}

int32_t mllm_grammar_completion_bytes(mllm_grammar *gr) {
    int32_t n, cost, cp;
    n = rebuild(gr, gr->lvl_set);
    best_stack(gr, gr->lvl_set, n, &cost, &cp);
    return cost;
}

/* Appends the shortest text of elements from i to the end of their alternative. */
static void emit_rest(mllm_grammar *gr, int32_t i, int32_t depth) {
    const mllm_cgrammar *g = &gr->g;
    for (; !is_end(&g->elems[i]); i++) {
        const mllm_gelem *e = &g->elems[i];
        if (gr->comp_len > MLLM_GRAMMAR_MAX_COMPLETION) return;
        if (e->type == MLLM_GE_REF) {
            if (depth < MLLM_GRAMMAR_MAX_RULES) emit_rest(gr, g->rule_best[e->value], depth + 1);
        } else {
            gr->comp_len += put_utf8(gr->comp + gr->comp_len, (uint32_t)elem_cp(gr, e));
        }
    }
}

int32_t mllm_grammar_completion_tokens(mllm_grammar *gr, int32_t *tokens, int32_t cap, const char **text,
                                       int32_t *text_len) {
    int32_t n, cost, cp = 0, s, pos = 0, k = 0;
    const pstate *p;
    n = rebuild(gr, gr->lvl_set);
    s = best_stack(gr, gr->lvl_set, n, &cost, &cp);
    gr->comp_len = 0;
    if (text) *text = gr->comp;
    if (text_len) *text_len = 0;
    if (s == -2 || cost > MLLM_GRAMMAR_MAX_COMPLETION) return -1;
    p = &gr->st[gr->cur].part;
    if (s != EMPTY) {
        char tmp[4];
        int32_t l = put_utf8(tmp, (uint32_t)cp), el = gr->pool[s].elem;
        /* a pending partial character: only its missing bytes */
        memcpy(gr->comp, tmp + (p->rem ? l - p->rem : 0), (size_t)(p->rem ? p->rem : l));
        gr->comp_len = p->rem ? p->rem : l;
        emit_rest(gr, el + 1, 0);
        for (s = gr->pool[s].parent; s != EMPTY; s = gr->pool[s].parent) emit_rest(gr, gr->pool[s].elem, 0);
    }
    if (gr->comp_len > MLLM_GRAMMAR_MAX_COMPLETION) return -1;
    if (text_len) *text_len = gr->comp_len;
    /* greedy longest pieces */
    while (pos < gr->comp_len) {
        uint32_t hs[64];
        int32_t maxl = gr->comp_len - pos, l, found = -1;
        if (maxl > gr->max_piece) maxl = gr->max_piece;
        if (maxl > 64) maxl = 64;
        {
            uint32_t h = 2166136261u;
            for (l = 0; l < maxl; l++) hs[l] = h = fnv_step(h, (uint8_t)gr->comp[pos + l]);
        }
        for (l = maxl; l >= 1 && found < 0; l--) {
            uint32_t h = hs[l - 1] & (uint32_t)(gr->ph_cap - 1);
            while (gr->ph[h]) {
                int32_t o = gr->ph[h] - 1;
                if (gr->poff[o + 1] - gr->poff[o] == l && memcmp(gr->pbytes + gr->poff[o], gr->comp + pos, (size_t)l) == 0) {
                    found = o;
                    break;
                }
                h = (h + 1) & (uint32_t)(gr->ph_cap - 1);
            }
            if (found >= 0) pos += l;
        }
        if (found < 0 || k >= cap) return -1;
        tokens[k++] = found;
    }
    return k;
}
