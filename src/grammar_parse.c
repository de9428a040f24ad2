/* grammar_parse.c — GBNF text -> mllm_cgrammar (grammar.h).
 *
 * The dialect is llama.cpp's: `name ::= alternatives` rules (one per line; newlines are allowed
 * after `::=`, after `|` and inside parentheses), alternatives `a | b`, sequences, groups
 * `( )`, string literals "...", char classes [a-z0-9_] and [^...], `.` (any character),
 * repetitions `*` `+` `?` `{m}` `{m,}` `{m,n}`, escapes \xHH \uHHHH \UHHHHHHHH \t \r \n \\ \"
 * \[ \] \- \^, and `#` comments. `root` is the start rule.
 *
 * Compilation: groups become helper rules; repetitions are rewritten as llama.cpp does
 * (x* -> R ::= x R | "", x{m,n} -> m copies then nested optionals); classes become sorted
 * disjoint code-point ranges (negated ones complemented). Then three whole-grammar checks:
 * every referenced rule is defined, no rule is left-recursive (reaching itself without reading
 * a character would make the matcher's expansion endless), and every rule can end (derives
 * some finite text); and the shortest text of each rule is recorded for completions.
 */
#include "grammar.h"
#include "error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INF_LEN (1 << 28) /* "no finite text" for the shortest-length tables */
#define MAX_CP 0x10FFFFu

typedef struct evec {
    mllm_gelem *v;
    int32_t n, cap;
} evec;

typedef struct parser {
    const char *s;
    int32_t len, pos;
    mllm_error *err;
    mllm_status st;
    /* rules: bodies, names (offset/length in s; -1 for helper rules), owner named rule */
    evec *body;
    int32_t *name_off, *name_len, *owner, *ref_pos;
    uint8_t *defined;
    int32_t n_rules, cap_rules;
    int32_t n_elems;    /* elements in all bodies */
    int32_t cur_named;  /* the named rule being parsed (owner of helper rules) */
    int32_t nesting;
    int32_t at_next_rule; /* a sequence ended because the next rule's `name ::=` follows */
    /* name hash table: rule index + 1, 0 = empty */
    int32_t *ht;
    int32_t ht_cap;
    /* classes */
    uint32_t *lo, *hi;
    int32_t n_ranges, cap_ranges;
    int32_t *class_off;
    int32_t n_classes, cap_classes;
} parser;

/* ---------------------------------------------------------------- errors */

static void where(const parser *p, int32_t pos, int *line, int *col) {
    int32_t i;
    *line = 1;
    *col = 1;
    for (i = 0; i < pos && i < p->len; i++) {
        if (p->s[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

/* Records the first error (with its line and column); later ones are ignored. */
static int fail_at(parser *p, int32_t pos, const char *what) {
    int line, col;
    if (p->st != MLLM_OK) return 0;
    where(p, pos, &line, &col);
    p->st = mllm_fail(p->err, MLLM_ERR_ARG, "grammar line %d, column %d: %s.", line, col, what);
    return 0;
}

static int fail_nomem(parser *p) {
    if (p->st == MLLM_OK) p->st = mllm_fail(p->err, MLLM_ERR_NOMEM, "out of memory compiling the grammar.");
    return 0;
}

/* A rule's name for messages ("rule 'x'"; helper rules by the named rule they came from). */
static void rule_label(const parser *p, int32_t r, char *buf, size_t cap) {
    int32_t n = p->name_off[r] >= 0 ? r : p->owner[r];
    int32_t l;
    if (n < 0 || p->name_off[n] < 0) {
        snprintf(buf, cap, "a helper rule");
        return;
    }
    l = p->name_len[n] > 60 ? 60 : p->name_len[n];
    snprintf(buf, cap, "%s'%.*s'", n == r ? "" : "a group or repetition in ", (int)l, p->s + p->name_off[n]);
}

/* ---------------------------------------------------------------- storage */

static int evec_push(parser *p, evec *e, int32_t type, uint32_t value) {
    if (p->n_elems >= MLLM_GRAMMAR_MAX_ELEMENTS)
        return fail_at(p, p->pos, "the grammar compiles to more than " "262144" " elements, more than this engine accepts");
    if (e->n == e->cap) {
        int32_t nc = e->cap ? e->cap * 2 : 8;
        mllm_gelem *nv = (mllm_gelem *)realloc(e->v, (size_t)nc * sizeof *nv);
        if (!nv) return fail_nomem(p);
        e->v = nv;
        e->cap = nc;
    }
    e->v[e->n].type = type;
    e->v[e->n].value = value;
    e->n++;
    p->n_elems++;
    return 1;
}

static uint32_t hash_name(const char *s, int32_t n) {
    uint32_t h = 2166136261u;
    int32_t i;
    for (i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

/* A new rule (name_off < 0: a helper rule). Returns its index or -1. */
static int32_t new_rule(parser *p, int32_t name_off, int32_t name_len) {
    int32_t r;
    if (p->n_rules >= MLLM_GRAMMAR_MAX_RULES) {
        fail_at(p, p->pos, "the grammar needs more than 16384 rules (repetitions count as rules), more than this engine accepts");
        return -1;
    }
    if (p->n_rules == p->cap_rules) {
        int32_t nc = p->cap_rules ? p->cap_rules * 2 : 32;
        evec *b = (evec *)realloc(p->body, (size_t)nc * sizeof *b);
        int32_t *no, *nl, *ow, *rp;
        uint8_t *d;
        if (b) p->body = b;
        no = (int32_t *)realloc(p->name_off, (size_t)nc * sizeof *no);
        if (no) p->name_off = no;
        nl = (int32_t *)realloc(p->name_len, (size_t)nc * sizeof *nl);
        if (nl) p->name_len = nl;
        ow = (int32_t *)realloc(p->owner, (size_t)nc * sizeof *ow);
        if (ow) p->owner = ow;
        rp = (int32_t *)realloc(p->ref_pos, (size_t)nc * sizeof *rp);
        if (rp) p->ref_pos = rp;
        d = (uint8_t *)realloc(p->defined, (size_t)nc);
        if (d) p->defined = d;
        if (!b || !no || !nl || !ow || !rp || !d) {
            fail_nomem(p);
            return -1;
        }
        p->cap_rules = nc;
    }
    r = p->n_rules++;
    memset(&p->body[r], 0, sizeof p->body[r]);
    p->name_off[r] = name_off;
    p->name_len[r] = name_len;
    p->owner[r] = p->cur_named;
    p->ref_pos[r] = -1;
    p->defined[r] = name_off < 0; /* helper rules are defined where they are made */
    return r;
}

/* The rule named s[off..off+n), created on first mention. -1 on failure. */
static int32_t symbol(parser *p, int32_t off, int32_t n) {
    uint32_t h;
    int32_t i, r;
    if (p->ht_cap < 2 * (p->n_rules + 1)) { /* grow: rehash the named rules */
        int32_t nc = p->ht_cap ? p->ht_cap * 2 : 64, k;
        int32_t *nt;
        while (nc < 2 * (p->n_rules + 1)) nc *= 2;
        nt = (int32_t *)calloc((size_t)nc, sizeof *nt);
        if (!nt) {
            fail_nomem(p);
            return -1;
        }
        for (k = 0; k < p->n_rules; k++) {
            if (p->name_off[k] < 0) continue;
            h = hash_name(p->s + p->name_off[k], p->name_len[k]) & (uint32_t)(nc - 1);
            while (nt[h]) h = (h + 1) & (uint32_t)(nc - 1);
            nt[h] = k + 1;
        }
        free(p->ht);
        p->ht = nt;
        p->ht_cap = nc;
    }
    h = hash_name(p->s + off, n) & (uint32_t)(p->ht_cap - 1);
    while ((i = p->ht[h]) != 0) {
        r = i - 1;
        if (p->name_len[r] == n && memcmp(p->s + p->name_off[r], p->s + off, (size_t)n) == 0) return r;
        h = (h + 1) & (uint32_t)(p->ht_cap - 1);
    }
    r = new_rule(p, off, n);
    if (r < 0) return -1;
    p->ht[h] = r + 1;
    return r;
}

static int add_range(parser *p, uint32_t lo, uint32_t hi) {
    if (p->n_ranges == p->cap_ranges) {
        int32_t nc = p->cap_ranges ? p->cap_ranges * 2 : 32;
        uint32_t *a = (uint32_t *)realloc(p->lo, (size_t)nc * sizeof *a), *b;
        if (a) p->lo = a;
        b = (uint32_t *)realloc(p->hi, (size_t)nc * sizeof *b);
        if (b) p->hi = b;
        if (!a || !b) return fail_nomem(p);
        p->cap_ranges = nc;
    }
    p->lo[p->n_ranges] = lo;
    p->hi[p->n_ranges] = hi;
    p->n_ranges++;
    return 1;
}

/* Sorts and merges the ranges from `start` on into a new class (complemented when negated).
 * Returns the class index, or -1 (an empty class is a grammar error: it matches nothing). */
static int32_t finish_class(parser *p, int32_t start, int negated, int32_t pos) {
    int32_t n = p->n_ranges - start, i, j, m = 0;
    uint32_t *lo = p->lo + start, *hi = p->hi + start;
    for (i = 1; i < n; i++) { /* insertion sort: classes are short */
        uint32_t a = lo[i], b = hi[i];
        for (j = i - 1; j >= 0 && lo[j] > a; j--) {
            lo[j + 1] = lo[j];
            hi[j + 1] = hi[j];
        }
        lo[j + 1] = a;
        hi[j + 1] = b;
    }
    for (i = 0; i < n; i++) {
        if (m > 0 && lo[i] <= hi[m - 1] + 1) {
            if (hi[i] > hi[m - 1]) hi[m - 1] = hi[i];
        } else {
            lo[m] = lo[i];
            hi[m] = hi[i];
            m++;
        }
    }
    p->n_ranges = start + m;
    if (negated) {
        /* complement within 0..MAX_CP, written after the class then moved down */
        uint32_t next = 0;
        int32_t base = p->n_ranges, k;
        for (i = 0; i < m; i++) {
            if (p->lo[start + i] > next && !add_range(p, next, p->lo[start + i] - 1)) return -1;
            next = p->hi[start + i] + 1;
        }
        if (next <= MAX_CP && !add_range(p, next, MAX_CP)) return -1;
        k = p->n_ranges - base;
        memmove(p->lo + start, p->lo + base, (size_t)k * sizeof *p->lo);
        memmove(p->hi + start, p->hi + base, (size_t)k * sizeof *p->hi);
        p->n_ranges = start + k;
    }
    if (p->n_ranges == start) {
        fail_at(p, pos, "this character class matches no character");
        return -1;
    }
    if (p->n_classes + 1 >= p->cap_classes) {
        int32_t nc = p->cap_classes ? p->cap_classes * 2 : 16;
        int32_t *co = (int32_t *)realloc(p->class_off, (size_t)nc * sizeof *co);
        if (!co) {
            fail_nomem(p);
            return -1;
        }
        p->class_off = co;
        p->cap_classes = nc;
        if (p->n_classes == 0) p->class_off[0] = 0;
    }
    p->class_off[p->n_classes + 1] = p->n_ranges;
    return p->n_classes++;
}

/* ---------------------------------------------------------------- lexing */

static int at(const parser *p, int32_t k) { return p->pos + k < p->len ? (uint8_t)p->s[p->pos + k] : -1; }

static int is_word(int c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* Skips blanks and comments; newlines too when newline_ok. */
static void skip_space(parser *p, int newline_ok) {
    for (;;) {
        int c = at(p, 0);
        if (c == ' ' || c == '\t') {
            p->pos++;
        } else if (c == '#') {
            while (p->pos < p->len && p->s[p->pos] != '\n' && p->s[p->pos] != '\r') p->pos++;
        } else if (newline_ok && (c == '\n' || c == '\r')) {
            p->pos++;
        } else {
            return;
        }
    }
}

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* One character of a literal or class (an escape or a UTF-8 sequence) -> code point, or -1. */
static int32_t parse_char(parser *p) {
    int32_t start = p->pos;
    int c = at(p, 0);
    if (c < 0) return fail_at(p, start, "the grammar ends inside a string or character class"), -1;
    if (c == '\\') {
        int e = at(p, 1), nd = 0, i;
        uint32_t v = 0;
        p->pos += 2;
        switch (e) {
        case 'x': nd = 2; break;
        case 'u': nd = 4; break;
        case 'U': nd = 8; break;
        case 't': return '\t';
        case 'r': return '\r';
        case 'n': return '\n';
        case '\\': case '"': case '[': case ']': case '-': case '^': case '\'': case '/': case '.': return e;
        default:
            fail_at(p, start, "unknown escape sequence (use \\x, \\u, \\U, \\t, \\r, \\n, \\\\, \\\", \\[, \\], \\-, \\^)");
            return -1;
        }
        for (i = 0; i < nd; i++) {
            int h = hexval(at(p, 0));
            if (h < 0) {
                fail_at(p, start, "an escape \\x, \\u or \\U needs 2, 4 or 8 hex digits");
                return -1;
            }
            v = v * 16 + (uint32_t)h;
            p->pos++;
        }
        if (v > MAX_CP) {
            fail_at(p, start, "this escape is beyond the last Unicode code point U+10FFFF");
            return -1;
        }
        return (int32_t)v;
    }
    if (c < 0x80) {
        p->pos++;
        return c;
    } else {
        int n = c >= 0xF0 && c <= 0xF4 ? 3 : c >= 0xE0 && c <= 0xEF ? 2 : c >= 0xC2 && c <= 0xDF ? 1 : -1, i;
        uint32_t v = (uint32_t)c & (n == 3 ? 0x07u : n == 2 ? 0x0Fu : 0x1Fu);
        static const uint32_t min_cp[4] = {0, 0x80, 0x800, 0x10000};
        if (n < 0) return fail_at(p, start, "the grammar text is not valid UTF-8"), -1;
        for (i = 1; i <= n; i++) {
            int b = at(p, i);
            if (b < 0x80 || b > 0xBF) return fail_at(p, start, "the grammar text is not valid UTF-8"), -1;
            v = (v << 6) | ((uint32_t)b & 0x3F);
        }
        if (v < min_cp[n] || v > MAX_CP || (v >= 0xD800 && v <= 0xDFFF))
            return fail_at(p, start, "the grammar text is not valid UTF-8"), -1;
        p->pos += n + 1;
        return (int32_t)v;
    }
}

/* ---------------------------------------------------------------- syntax */

static int parse_alternatives(parser *p, evec *out, int nested);

/* Replaces out[last..) (one item) by its repetition {m,n} (n < 0: unbounded). */
static int repeat_item(parser *p, evec *out, int32_t last, int32_t m, int32_t n) {
    mllm_gelem item;
    int32_t i, k;
    if (out->n - last > 1) { /* a multi-character literal: make it a rule of its own */
        int32_t r = new_rule(p, -1, 0);
        if (r < 0) return 0;
        for (i = last; i < out->n; i++)
            if (!evec_push(p, &p->body[r], out->v[i].type, out->v[i].value)) return 0;
        if (!evec_push(p, &p->body[r], MLLM_GE_END, 0)) return 0;
        p->n_elems -= out->n - last;
        out->n = last;
        if (!evec_push(p, out, MLLM_GE_REF, (uint32_t)r)) return 0;
    }
    item = out->v[last];
    p->n_elems -= 1;
    out->n = last;
    for (i = 0; i < m; i++)
        if (!evec_push(p, out, item.type, item.value)) return 0;
    if (n < 0) { /* R ::= item R | "" */
        int32_t r = new_rule(p, -1, 0);
        if (r < 0) return 0;
        if (!evec_push(p, &p->body[r], item.type, item.value) || !evec_push(p, &p->body[r], MLLM_GE_REF, (uint32_t)r) ||
            !evec_push(p, &p->body[r], MLLM_GE_ALT, 0) || !evec_push(p, &p->body[r], MLLM_GE_END, 0))
            return 0;
        return evec_push(p, out, MLLM_GE_REF, (uint32_t)r);
    }
    if (n > m) { /* R1 ::= item | "" ; Rk ::= item R(k-1) | "" */
        int32_t prev = -1;
        for (k = 0; k < n - m; k++) {
            int32_t r = new_rule(p, -1, 0);
            if (r < 0) return 0;
            if (!evec_push(p, &p->body[r], item.type, item.value)) return 0;
            if (prev >= 0 && !evec_push(p, &p->body[r], MLLM_GE_REF, (uint32_t)prev)) return 0;
            if (!evec_push(p, &p->body[r], MLLM_GE_ALT, 0) || !evec_push(p, &p->body[r], MLLM_GE_END, 0)) return 0;
            prev = r;
        }
        return evec_push(p, out, MLLM_GE_REF, (uint32_t)prev);
    }
    return 1;
}

static int32_t parse_count(parser *p) {
    int32_t v = 0, start = p->pos;
    if (at(p, 0) < '0' || at(p, 0) > '9') return fail_at(p, start, "expected a number in a {m,n} repetition"), -1;
    while (at(p, 0) >= '0' && at(p, 0) <= '9') {
        v = v * 10 + (at(p, 0) - '0');
        if (v > MLLM_GRAMMAR_MAX_REPEAT)
            return fail_at(p, start, "a {m,n} repetition count is above 1000, more than this engine accepts"), -1;
        p->pos++;
    }
    return v;
}

static int parse_sequence(parser *p, evec *out, int nested) {
    int32_t last = -1; /* where the latest item starts in out */
    while (p->st == MLLM_OK) {
        int c = at(p, 0);
        int32_t start = p->pos;
        if (c == '"') {
            p->pos++;
            last = out->n;
            while (at(p, 0) != '"') {
                int32_t cp = parse_char(p);
                if (cp < 0 || !evec_push(p, out, MLLM_GE_CHAR, (uint32_t)cp)) return 0;
            }
            p->pos++;
            if (out->n == last) last = -1; /* "" is empty: nothing to repeat */
        } else if (c == '[') {
            int negated;
            int32_t rstart = p->n_ranges, cls;
            p->pos++;
            negated = at(p, 0) == '^';
            if (negated) p->pos++;
            while (at(p, 0) != ']') {
                int32_t lo = parse_char(p), hi;
                if (lo < 0) return 0;
                hi = lo;
                if (at(p, 0) == '-' && at(p, 1) != ']' && at(p, 1) >= 0) {
                    p->pos++;
                    hi = parse_char(p);
                    if (hi < 0) return 0;
                    if (hi < lo) return fail_at(p, start, "a character range ends before it starts");
                }
                if (!add_range(p, (uint32_t)lo, (uint32_t)hi)) return 0;
            }
            p->pos++;
            cls = finish_class(p, rstart, negated, start);
            if (cls < 0) return 0;
            last = out->n;
            if (!evec_push(p, out, MLLM_GE_CLASS, (uint32_t)cls)) return 0;
        } else if (c == '.') {
            int32_t rstart = p->n_ranges, cls;
            p->pos++;
            if (!add_range(p, 0, MAX_CP)) return 0;
            cls = finish_class(p, rstart, 0, start);
            if (cls < 0) return 0;
            last = out->n;
            if (!evec_push(p, out, MLLM_GE_CLASS, (uint32_t)cls)) return 0;
        } else if (c >= 0 && is_word(c)) {
            int32_t r;
            while (is_word(at(p, 0))) p->pos++;
            /* a name followed by ::= starts the next rule: the sequence ends here */
            {
                int32_t save = p->pos;
                skip_space(p, 0);
                if (at(p, 0) == ':' && at(p, 1) == ':' && at(p, 2) == '=') {
                    p->pos = start;
                    p->at_next_rule = 1;
                    return 1;
                }
                p->pos = save;
            }
            r = symbol(p, start, p->pos - start);
            if (r < 0) return 0;
            if (p->ref_pos[r] < 0) p->ref_pos[r] = start;
            last = out->n;
            if (!evec_push(p, out, MLLM_GE_REF, (uint32_t)r)) return 0;
        } else if (c == '(') {
            evec sub = {0, 0, 0};
            int32_t r;
            if (++p->nesting > MLLM_GRAMMAR_MAX_NESTING)
                return fail_at(p, start, "parentheses nest more than 64 deep, more than this engine accepts");
            p->pos++;
            skip_space(p, 1);
            r = new_rule(p, -1, 0);
            if (r < 0) return 0;
            if (!parse_alternatives(p, &sub, 1)) {
                free(sub.v);
                return 0;
            }
            p->body[r] = sub;
            skip_space(p, 1);
            if (at(p, 0) != ')') return fail_at(p, p->pos, "expected ')' to close the group opened earlier");
            p->pos++;
            p->nesting--;
            last = out->n;
            if (!evec_push(p, out, MLLM_GE_REF, (uint32_t)r)) return 0;
        } else if (c == '*' || c == '+' || c == '?' || c == '{') {
            int32_t m, n;
            if (last < 0) return fail_at(p, start, "a repetition operator must follow an item");
            p->pos++;
            if (c == '*') {
                m = 0;
                n = -1;
            } else if (c == '+') {
                m = 1;
                n = -1;
            } else if (c == '?') {
                m = 0;
                n = 1;
            } else {
                skip_space(p, 0);
                m = parse_count(p);
                if (m < 0) return 0;
                skip_space(p, 0);
                n = m;
                if (at(p, 0) == ',') {
                    p->pos++;
                    skip_space(p, 0);
                    if (at(p, 0) == '}') {
                        n = -1;
                    } else {
                        n = parse_count(p);
                        if (n < 0) return 0;
                        if (n < m) return fail_at(p, start, "a {m,n} repetition has n below m");
                    }
                    skip_space(p, 0);
                }
                if (at(p, 0) != '}') return fail_at(p, p->pos, "expected '}' to close the {m,n} repetition");
                p->pos++;
            }
            if (!repeat_item(p, out, last, m, n)) return 0;
            last = -1; /* x** would repeat the helper; llama.cpp refuses it too */
        } else {
            return 1;
        }
        skip_space(p, nested);
    }
    return 0;
}

static int parse_alternatives(parser *p, evec *out, int nested) {
    if (!parse_sequence(p, out, nested)) return 0;
    while (at(p, 0) == '|') {
        p->pos++;
        if (!evec_push(p, out, MLLM_GE_ALT, 0)) return 0;
        skip_space(p, 1);
        if (!parse_sequence(p, out, nested)) return 0;
    }
    return evec_push(p, out, MLLM_GE_END, 0);
}

static int parse_rule(parser *p) {
    int32_t start = p->pos, r;
    evec body = {0, 0, 0};
    char what[160];
    while (is_word(at(p, 0))) p->pos++;
    if (p->pos == start) return fail_at(p, start, "expected a rule name");
    r = symbol(p, start, p->pos - start);
    if (r < 0) return 0;
    if (p->defined[r]) {
        snprintf(what, sizeof what, "rule '%.*s' is defined twice", (int)(p->pos - start > 60 ? 60 : p->pos - start),
                 p->s + start);
        return fail_at(p, start, what);
    }
    p->cur_named = r;
    skip_space(p, 0);
    if (!(at(p, 0) == ':' && at(p, 1) == ':' && at(p, 2) == '='))
        return fail_at(p, p->pos, "expected '::=' after the rule name");
    p->pos += 3;
    skip_space(p, 1);
    if (!parse_alternatives(p, &body, 0)) {
        free(body.v);
        return 0;
    }
    p->body[r] = body;
    p->defined[r] = 1;
    skip_space(p, 0);
    if (p->at_next_rule) {
        p->at_next_rule = 0;
        return 1;
    }
    if (p->pos < p->len && at(p, 0) != '\n' && at(p, 0) != '\r') {
        int c = at(p, 0);
        if (c == ')') return fail_at(p, p->pos, "unexpected ')' with no group open");
        return fail_at(p, p->pos, "unexpected character; expected an item, '|' or the end of the line");
    }
    return 1;
}

/* ---------------------------------------------------------------- whole-grammar checks */

static int utf8_len(uint32_t cp) { return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4; }

/* (grammar.h) Shortest bytes of each rule (fixpoint) and of each alternative suffix; rule_best records
 * the alternative that first reached the minimum, which makes the chosen derivations acyclic. */
void mllm_cgrammar_shortest(mllm_cgrammar *g, const uint32_t *class_cp) {
    int32_t r, changed = 1;
    for (r = 0; r < g->n_rules; r++) {
        g->rule_min[r] = INF_LEN;
        g->rule_best[r] = g->rule_off[r];
    }
    while (changed) {
        changed = 0;
        for (r = g->n_rules - 1; r >= 0; r--) {
            int32_t i = g->rule_off[r], alt = i, sum = 0;
            for (;; i++) {
                const mllm_gelem *e = &g->elems[i];
                if (e->type == MLLM_GE_END || e->type == MLLM_GE_ALT) {
                    if (sum < g->rule_min[r]) {
                        g->rule_min[r] = sum;
                        g->rule_best[r] = alt;
                        changed = 1;
                    }
                    if (e->type == MLLM_GE_END) break;
                    alt = i + 1;
                    sum = 0;
                    continue;
                }
                if (e->type == MLLM_GE_CHAR) sum += utf8_len(e->value);
                else if (e->type == MLLM_GE_CLASS) sum += utf8_len(class_cp ? class_cp[e->value] : g->range_lo[g->class_off[e->value]]);
                else sum += g->rule_min[e->value];
                if (sum > INF_LEN) sum = INF_LEN;
            }
        }
    }
    for (r = 0; r < g->n_rules; r++) { /* suffix sums, walking each alternative backwards */
        int32_t i, end = g->rule_off[r];
        while (g->elems[end].type != MLLM_GE_END) end++;
        {
            int32_t sum = 0;
            for (i = end; i >= g->rule_off[r]; i--) {
                const mllm_gelem *e = &g->elems[i];
                if (e->type == MLLM_GE_END || e->type == MLLM_GE_ALT) sum = 0;
                else if (e->type == MLLM_GE_CHAR) sum += utf8_len(e->value);
                else if (e->type == MLLM_GE_CLASS) sum += utf8_len(class_cp ? class_cp[e->value] : g->range_lo[g->class_off[e->value]]);
                else sum += g->rule_min[e->value];
                if (sum > INF_LEN) sum = INF_LEN;
                g->rest_min[i] = sum;
            }
        }
    }
}

/* Left recursion: an edge a -> b when b can be reached in a without reading a character
 * (b is referenced after only nullable items). A cycle makes stack expansion endless. */
static int32_t find_left_recursion(const mllm_cgrammar *g, int32_t *state, int32_t *stk, int32_t *it, int32_t *lead) {
    int32_t s, sp;
    for (s = 0; s < g->n_rules; s++) state[s] = 0; /* 0 new, 1 on the path, 2 done */
    for (s = 0; s < g->n_rules; s++) {
        if (state[s]) continue;
        sp = 0;
        stk[0] = s;
        it[0] = g->rule_off[s];
        lead[0] = 1;
        state[s] = 1;
        while (sp >= 0) {
            int32_t r = stk[sp], i = it[sp], ld = lead[sp], next = -1;
            /* the next reference of r read before any character (ld: still in the nullable prefix) */
            while (g->elems[i].type != MLLM_GE_END) {
                const mllm_gelem *e = &g->elems[i++];
                if (e->type == MLLM_GE_ALT) {
                    ld = 1;
                } else if (ld && e->type == MLLM_GE_REF) {
                    next = (int32_t)e->value;
                    ld = g->rule_min[next] == 0;
                    break;
                } else {
                    ld = 0;
                }
            }
            if (next < 0) {
                state[r] = 2;
                sp--;
                continue;
            }
            it[sp] = i;
            lead[sp] = ld;
            if (state[next] == 1) return next;
            if (state[next] == 0) {
                state[next] = 1;
                sp++;
                stk[sp] = next;
                it[sp] = g->rule_off[next];
                lead[sp] = 1;
            }
        }
    }
    return -1;
}

/* ---------------------------------------------------------------- entry */

void mllm_cgrammar_free(mllm_cgrammar *g) {
    if (!g) return;
    free(g->elems);
    free(g->rule_off);
    free(g->range_lo);
    free(g->range_hi);
    free(g->class_off);
    free(g->rule_min);
    free(g->rest_min);
    free(g->rule_best);
    memset(g, 0, sizeof *g);
}

static void parser_free(parser *p) {
    int32_t r;
    for (r = 0; r < p->n_rules; r++) free(p->body[r].v);
    free(p->body);
    free(p->name_off);
    free(p->name_len);
    free(p->owner);
    free(p->ref_pos);
    free(p->defined);
    free(p->ht);
    free(p->lo);
    free(p->hi);
    free(p->class_off);
}

mllm_status mllm_cgrammar_parse(mllm_cgrammar *g, const char *text, int32_t len, mllm_error *err) {
    parser p;
    int32_t r, root = -1, k;
    char label[160], msg[240];

    if (!g) return mllm_fail(err, MLLM_ERR_ARG, "mllm_cgrammar_parse got a NULL grammar.");
    memset(g, 0, sizeof *g);
    if (!text || len < 0) return mllm_fail(err, MLLM_ERR_ARG, "the grammar text is missing.");
    if (len > MLLM_GRAMMAR_MAX_TEXT)
        return mllm_fail(err, MLLM_ERR_ARG, "the grammar is %d bytes, more than the %d this engine accepts.", (int)len,
                         MLLM_GRAMMAR_MAX_TEXT);
    memset(&p, 0, sizeof p);
    p.s = text;
    p.len = len;
    p.err = err;
    p.cur_named = -1;

    skip_space(&p, 1);
    while (p.st == MLLM_OK && p.pos < p.len) {
        if (!parse_rule(&p)) break;
        skip_space(&p, 1);
    }
    if (p.st == MLLM_OK) {
        for (r = 0; r < p.n_rules; r++) {
            if (p.name_off[r] >= 0 && p.name_len[r] == 4 && memcmp(p.s + p.name_off[r], "root", 4) == 0) root = r;
            if (!p.defined[r]) {
                snprintf(msg, sizeof msg, "rule '%.*s' is used but never defined", (int)(p.name_len[r] > 60 ? 60 : p.name_len[r]),
                         p.s + p.name_off[r]);
                fail_at(&p, p.ref_pos[r], msg);
                break;
            }
        }
        if (p.st == MLLM_OK && (root < 0 || !p.defined[root]))
            p.st = mllm_fail(err, MLLM_ERR_ARG, "the grammar has no 'root' rule to start from.");
    }
    if (p.st != MLLM_OK) {
        parser_free(&p);
        return p.st;
    }

    /* flatten */
    g->n_rules = p.n_rules;
    g->n_elems = p.n_elems;
    g->root = root;
    g->elems = (mllm_gelem *)malloc((size_t)(p.n_elems > 0 ? p.n_elems : 1) * sizeof *g->elems);
    g->rule_off = (int32_t *)malloc((size_t)p.n_rules * sizeof *g->rule_off);
    g->rule_min = (int32_t *)malloc((size_t)p.n_rules * sizeof *g->rule_min);
    g->rule_best = (int32_t *)malloc((size_t)p.n_rules * sizeof *g->rule_best);
    g->rest_min = (int32_t *)malloc((size_t)(p.n_elems > 0 ? p.n_elems : 1) * sizeof *g->rest_min);
    g->n_ranges = p.n_ranges;
    g->n_classes = p.n_classes;
    g->range_lo = (uint32_t *)malloc((size_t)(p.n_ranges + 1) * sizeof *g->range_lo);
    g->range_hi = (uint32_t *)malloc((size_t)(p.n_ranges + 1) * sizeof *g->range_hi);
    g->class_off = (int32_t *)malloc((size_t)(p.n_classes + 1) * sizeof *g->class_off);
    if (!g->elems || !g->rule_off || !g->rule_min || !g->rule_best || !g->rest_min || !g->range_lo || !g->range_hi ||
        !g->class_off) {
        parser_free(&p);
        mllm_cgrammar_free(g);
        return mllm_fail(err, MLLM_ERR_NOMEM, "out of memory compiling the grammar.");
    }
    k = 0;
    for (r = 0; r < p.n_rules; r++) {
        g->rule_off[r] = k;
        memcpy(g->elems + k, p.body[r].v, (size_t)p.body[r].n * sizeof *g->elems);
        k += p.body[r].n;
    }
    if (p.n_ranges) {
        memcpy(g->range_lo, p.lo, (size_t)p.n_ranges * sizeof *p.lo);
        memcpy(g->range_hi, p.hi, (size_t)p.n_ranges * sizeof *p.hi);
    }
    g->class_off[0] = 0;
    if (p.n_classes) memcpy(g->class_off, p.class_off, (size_t)(p.n_classes + 1) * sizeof *g->class_off);

    mllm_cgrammar_shortest(g, NULL);
    for (r = 0; r < g->n_rules; r++) {
        if (g->rule_min[r] >= INF_LEN) {
            rule_label(&p, r, label, sizeof label);
            mllm_fail(err, MLLM_ERR_ARG, "grammar rule %s can never end: every alternative needs itself again.", label);
            parser_free(&p);
            mllm_cgrammar_free(g);
            return MLLM_ERR_ARG;
        }
    }
    {
        int32_t *tmp = (int32_t *)malloc((size_t)g->n_rules * 4 * sizeof *tmp), bad;
        if (!tmp) {
            parser_free(&p);
            mllm_cgrammar_free(g);
            return mllm_fail(err, MLLM_ERR_NOMEM, "out of memory compiling the grammar.");
        }
        bad = find_left_recursion(g, tmp, tmp + g->n_rules, tmp + 2 * g->n_rules, tmp + 3 * g->n_rules);
        free(tmp);
        if (bad >= 0) {
            rule_label(&p, bad, label, sizeof label);
            mllm_fail(err, MLLM_ERR_ARG,
                      "grammar rule %s is left-recursive (it can reach itself without reading a character), which this engine refuses.",
                      label);
            parser_free(&p);
            mllm_cgrammar_free(g);
            return MLLM_ERR_ARG;
        }
    }
    if (g->rule_min[root] > MLLM_GRAMMAR_MAX_COMPLETION) {
        mllm_fail(err, MLLM_ERR_ARG, "the grammar's shortest text is %d bytes, more than the %d this engine can reserve.",
                  (int)g->rule_min[root], MLLM_GRAMMAR_MAX_COMPLETION);
        parser_free(&p);
        mllm_cgrammar_free(g);
        return MLLM_ERR_ARG;
    }
    parser_free(&p);
    mllm_error_clear(err);
    return MLLM_OK;
}

int32_t mllm_gelem_min_cp(const mllm_cgrammar *g, const mllm_gelem *e, uint32_t lo, uint32_t hi) {
    int32_t i;
    if (e->type == MLLM_GE_CHAR) return e->value >= lo && e->value <= hi ? (int32_t)e->value : -1;
    if (e->type != MLLM_GE_CLASS) return -1;
    for (i = g->class_off[e->value]; i < g->class_off[e->value + 1]; i++) {
        if (g->range_hi[i] < lo) continue;
        if (g->range_lo[i] > hi) return -1;
        return (int32_t)(g->range_lo[i] > lo ? g->range_lo[i] : lo);
    }
    return -1;
}
