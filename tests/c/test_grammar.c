/* test_grammar.c — the GBNF parser's errors, and the matcher against a brute-force acceptor:
 * for several grammars with an independent reference (a POSIX extended regex from libc, or a
 * hand-written membership function), every string up to a small length over a small alphabet
 * is read byte by byte and token by token; the matcher must keep a parse alive exactly when
 * the string can still be completed to a member, say "complete" exactly for members, and its
 * token mask must allow exactly the tokens whose bytes keep the string completable. The
 * shortest completion it forces must be accepted and no longer than the shortest one found
 * by enumeration. */
#include "check.h"
#include "grammar.h"
#include "tiny_model.h"

#include <regex.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- parser errors */

static void expect_error(const char *gbnf, const char *fragment) {
    mllm_cgrammar g;
    mllm_error err;
    mllm_status st = mllm_cgrammar_parse(&g, gbnf, (int32_t)strlen(gbnf), &err);
    CHECK_EQ_INT(st, MLLM_ERR_ARG);
    CHECK_CONTAINS(err.msg, fragment);
    /* one sentence: ends with a period and has no newline */
    CHECK(strlen(err.msg) > 0 && err.msg[strlen(err.msg) - 1] == '.' && !strchr(err.msg, '\n'));
}

static void test_parse_errors(void) {
    expect_error("", "no 'root' rule");
    expect_error("foo ::= \"a\"", "no 'root' rule");
    expect_error("root ::= foo", "rule 'foo' is used but never defined");
    expect_error("root ::= \"a\"\nroot ::= \"b\"", "line 2, column 1: rule 'root' is defined twice");
    expect_error("root = \"a\"", "expected '::='");
    expect_error("root ::= \"abc", "ends inside a string");
    expect_error("root ::= [a-", "ends inside a string or character class");
    expect_error("root ::= [z-a]", "ends before it starts");
    expect_error("root ::= \"\\q\"", "unknown escape");
    expect_error("root ::= \"\\x4\"", "hex digits");
    expect_error("root ::= \"\\U00110000\"", "beyond the last Unicode code point");
    expect_error("root ::= * \"a\"", "must follow an item");
    expect_error("root ::= \"a\"{3,2}", "n below m");
    expect_error("root ::= \"a\"{2000}", "above 1000");
    expect_error("root ::= \"a\"{2", "expected '}'");
    expect_error("root ::= (\"a\"", "expected ')'");
    expect_error("root ::= \"a\")", "unexpected ')'");
    expect_error("root ::= [^\\x00-\\U0010FFFF]", "matches no character");
    expect_error("root ::= root \"a\" | \"b\"", "rule 'root' is left-recursive");
    expect_error("root ::= x\nx ::= y? x \"a\" | \"b\"\ny ::= \"c\"", "left-recursive");
    expect_error("root ::= (\"\")* \"a\"", "left-recursive");
    expect_error("root ::= \"a\" root", "can never end");
    expect_error("root ::= \"\xff\"", "not valid UTF-8");
    expect_error("root ::= ((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((\"a\"))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))",
                 "nest more than 64");
    {
        /* too many elements: 300 repetitions of x{1000} */
        size_t n = 300 * 16 + 32, k;
        char *big = (char *)malloc(n);
        strcpy(big, "root ::= ");
        for (k = 0; k < 300; k++) strcat(big, "\"a\"{1000} ");
        expect_error(big, "more than");
        free(big);
    }
}

static void test_parse_accepts_llama_cpp_syntax(void) {
    /* llama.cpp's own json.gbnf-style grammar, with comments, multi-line groups and escapes */
    const char *json =
        "# a JSON value\n"
        "root   ::= object\n"
        "value  ::= object | array | string | number | (\"true\" | \"false\" | \"null\") ws\n"
        "object ::=\n"
        "  \"{\" ws (\n"
        "            string \":\" ws value\n"
        "    (\",\" ws string \":\" ws value)*\n"
        "  )? \"}\" ws\n"
        "array  ::=\n"
        "  \"[\" ws (\n"
        "            value\n"
        "    (\",\" ws value)*\n"
        "  )? \"]\" ws\n"
        "string ::=\n"
        "  \"\\\"\" (\n"
        "    [^\"\\\\\\x7F\\x00-\\x1F] |\n"
        "    \"\\\\\" ([\"\\\\/bfnrt] | \"u\" [0-9a-fA-F]{4}) # escapes\n"
        "  )* \"\\\"\" ws\n"
        "number ::= (\"-\"? ([0-9] | [1-9] [0-9]{0,15})) (\".\" [0-9]+)? ([eE] [-+]? [0-9] [1-9]{0,15})? ws\n"
        "ws ::= | \" \" | \"\\n\" [ \\t]{0,20}\n";
    mllm_cgrammar g;
    mllm_error err;
    CHECK_EQ_INT(mllm_cgrammar_parse(&g, json, (int32_t)strlen(json), &err), MLLM_OK);
    CHECK_EQ_INT(g.rule_min[g.root], 2); /* "{}" */
    mllm_cgrammar_free(&g);
}

/* ---------------------------------------------------------------- brute force */

typedef int (*member_fn)(const char *s, int n, const void *ctx);

static int regex_member(const char *s, int n, const void *ctx) {
    char buf[64];
    memcpy(buf, s, (size_t)n);
    buf[n] = '\0';
    return regexec((const regex_t *)ctx, buf, 0, NULL, 0) == 0;
}

static int balanced_member(const char *s, int n, const void *ctx) {
    int i, d = 0;
    (void)ctx;
    for (i = 0; i < n; i++) {
        if (s[i] == '(') d++;
        else if (s[i] == ')') { if (--d < 0) return 0; }
        else return 0;
    }
    return d == 0;
}

static int utf8_member(const char *s, int n, const void *ctx) {
    static const char *const words[] = {"\xc3\xa9x", "\xc3\xaax", "\xc3\xabx", "\xc3\xbc"};
    int i;
    (void)ctx;
    for (i = 0; i < 4; i++)
        if ((int)strlen(words[i]) == n && memcmp(words[i], s, (size_t)n) == 0) return 1;
    return 0;
}

typedef struct bf_case {
    const char *name, *gbnf, *regex; /* regex NULL: member() */
    member_fn member;
    const char *alphabet;
    int L, K; /* strings up to L checked; completions up to K enumerated */
} bf_case;

/* Index of a string over an alphabet of size A: unique per string of any length <= maxlen. */
static long str_index(const char *s, int n, const char *alpha, int A) {
    long idx = 0;
    int i;
    for (i = 0; i < n; i++) idx = idx * (A + 1) + (long)(strchr(alpha, s[i]) - alpha) + 1;
    return idx;
}

/* shortest[idx]: length of the shortest completion within K (-1: none) */
static void enumerate(const bf_case *c, const void *ctx, int A, char *buf, int n, int maxlen, signed char *shortest) {
    int i, k;
    if (c->member(buf, n, ctx)) {
        /* every prefix buf[0..k) can complete with n - k more characters */
        for (k = 0; k <= n; k++) {
            long idx = str_index(buf, k, c->alphabet, A);
            if (shortest[idx] < 0 || shortest[idx] > n - k) shortest[idx] = (signed char)(n - k);
        }
    }
    if (n == maxlen) return;
    for (i = 0; i < A; i++) {
        buf[n] = c->alphabet[i];
        enumerate(c, ctx, A, buf, n + 1, maxlen, shortest);
    }
}

static int g_token_count;

/* Every string up to L: byte-by-byte viability and completeness, the mask, the completion. */
static void check_strings(const bf_case *c, const void *ctx, mllm_grammar *gr, const char *alpha, int A,
                          const signed char *shortest, char *buf, int n, const char *vocab, const int32_t *voff,
                          int32_t nv) {
    mllm_error err;
    long idx = str_index(buf, n, alpha, A);
    int viable = shortest[idx] >= 0, i;
    int32_t r;
    mllm_grammar_reset(gr);
    r = mllm_grammar_accept_bytes(gr, buf, n, &err);
    if (r != viable) {
        fprintf(stderr, "  %s: '%.*s' viable: matcher %d, reference %d\n", c->name, n, buf, (int)r, viable);
        CHECK_EQ_INT(r, viable);
        return;
    }
    if (!viable) return;
    CHECK_EQ_INT(mllm_grammar_can_end(gr) != 0, c->member(buf, n, ctx));
    {
        /* the shortest completion: accepted, and no longer than enumeration's */
        int32_t toks[64], tl, k, comp_bytes = mllm_grammar_completion_bytes(gr);
        const char *text;
        k = mllm_grammar_completion_tokens(gr, toks, 64, &text, &tl);
        CHECK(k >= 0);
        CHECK_EQ_INT(tl, comp_bytes);
        CHECK(comp_bytes <= shortest[idx]);
        if (k >= 0) {
            char tmp[64];
            memcpy(tmp, text, (size_t)tl);
            CHECK_EQ_INT(mllm_grammar_accept_bytes(gr, tmp, tl, &err), 1);
            CHECK(mllm_grammar_can_end(gr) != 0);
            mllm_grammar_reset(gr);
            mllm_grammar_accept_bytes(gr, buf, n, &err);
            for (i = 0; i < k; i++) CHECK_EQ_INT(mllm_grammar_accept(gr, toks[i], &err), MLLM_OK);
            CHECK(mllm_grammar_can_end(gr) != 0);
            mllm_grammar_reset(gr);
            mllm_grammar_accept_bytes(gr, buf, n, &err);
        }
    }
    if (n + 3 <= c->L) { /* the mask: token t allowed iff buf + piece(t) is viable */
        const uint8_t *allowed;
        int32_t t, cnt = mllm_grammar_mask(gr, &allowed, &err), want_cnt = 0;
        CHECK(cnt >= 0);
        for (t = 0; t < nv; t++) {
            int want;
            if (t == nv - 1) {
                want = c->member(buf, n, ctx); /* the EOG token */
            } else {
                char tmp[16];
                int32_t pl = voff[t + 1] - voff[t];
                memcpy(tmp, buf, (size_t)n);
                memcpy(tmp + n, vocab + voff[t], (size_t)pl);
                want = shortest[str_index(tmp, n + pl, alpha, A)] >= 0;
            }
            want_cnt += want;
            if (allowed[t] != want) {
                fprintf(stderr, "  %s: after '%.*s' token %d mask %d, reference %d\n", c->name, n, buf, (int)t,
                        allowed[t], want);
                CHECK_EQ_INT(allowed[t], want);
            }
            g_token_count++;
        }
        CHECK_EQ_INT(cnt, want_cnt);
    }
    if (n == c->L) return;
    for (i = 0; i < A; i++) {
        buf[n] = alpha[i];
        check_strings(c, ctx, gr, alpha, A, shortest, buf, n + 1, vocab, voff, nv);
    }
}

static void run_case(const bf_case *c) {
    regex_t re;
    const void *ctx = NULL;
    int A = (int)strlen(c->alphabet), maxlen = c->L + c->K, i, j, k;
    long space = 1;
    signed char *shortest;
    char buf[64], vocab[4096];
    int32_t voff[1024], nv = 0, total = 0;
    uint8_t eog[1024];
    mllm_grammar *gr;
    mllm_error err;
    bf_case cc = *c;

    if (c->regex) {
        char pat[256];
        snprintf(pat, sizeof pat, "^(%s)$", c->regex);
        if (regcomp(&re, pat, REG_EXTENDED | REG_NOSUB) != 0) {
            CHECK(!"regex compiles");
            return;
        }
        ctx = &re;
        cc.member = regex_member;
    }
    for (i = 0; i < maxlen; i++) space = space * (A + 1);
    shortest = (signed char *)malloc((size_t)space * (A + 1));
    memset(shortest, -1, (size_t)space * (A + 1));
    enumerate(&cc, ctx, A, buf, 0, maxlen, shortest);

    /* vocabulary: every string of 1..3 alphabet characters, then one EOG token */
    voff[0] = 0;
    for (k = 1; k <= 3; k++) {
        long m = 1, x;
        for (i = 0; i < k; i++) m *= A;
        for (x = 0; x < m; x++) {
            long y = x;
            for (j = k - 1; j >= 0; j--) {
                vocab[total + j] = c->alphabet[y % A];
                y /= A;
            }
            total += k;
            eog[nv] = 0;
            voff[++nv] = total;
        }
    }
    eog[nv] = 1;
    voff[nv + 1] = total;
    nv++;
    CHECK_EQ_INT(mllm_grammar_new_vocab(c->gbnf, (int32_t)strlen(c->gbnf), vocab, voff, eog, nv, &gr, &err), MLLM_OK);
    if (!gr) {
        fprintf(stderr, "  %s: %s\n", c->name, err.msg);
    } else {
        check_strings(&cc, ctx, gr, c->alphabet, A, shortest, buf, 0, vocab, voff, nv);
        mllm_grammar_free(gr);
    }
    free(shortest);
    if (c->regex) regfree(&re);
}

static void test_matcher_against_brute_force(void) {
    static const bf_case cases[] = {
        {"star-optional", "root ::= \"a\" [bc]* \"-\"?", "a[bc]*-?", NULL, "abc-", 6, 2},
        {"bounded-repeat", "root ::= (\"ab\" | \"c\"){1,3}", "(ab|c){1,3}", NULL, "abc", 6, 4},
        {"negated-class", "root ::= [^a-b]+ \"a\"", "[^ab]+a", NULL, "abc-", 5, 3},
        {"any-char", "root ::= \"a\" . \"b\" # a comment", "a.b", NULL, "abc", 5, 3},
        {"escapes", "root ::= \"\\x61\" [\\x62-\\u0063]{2,} \"\\-\"?", "a[b-c]{2,}-?", NULL, "abc-", 6, 3},
        {"list", "root ::= \"[\" ws (item (ws \",\" ws item)*)? ws \"]\"\nitem ::= [0-9]+\nws ::= \" \"?",
         "\\[ ?([0-9]+( ?, ?[0-9]+)*)? ?]", NULL, "[]1, ", 6, 3},
        {"recursion", "root ::= \"(\" root \")\" root | \"\"", NULL, balanced_member, "()", 7, 7},
        {"nested-groups", "root ::= ((\"a\" | \"b\")+ (\"-\" | \"\")){2}", "((a|b)+-?){2}", NULL, "ab-", 6, 3},
        {"utf8", "root ::= [\\u00e9-\\u00eb] \"x\" | \"\\u00fc\"", NULL, utf8_member, "\xc3\xa9\xab\xbcx", 4, 3},
    };
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(&cases[i]);
    fprintf(stderr, "  %d (state, token) pairs compared\n", g_token_count);
    CHECK(g_token_count > 5000); /* the mask was compared on many (state, token) pairs */
}

static void test_limits_are_errors(void) {
    /* nesting deeper than the stack limit is a coded error, not a crash */
    const char *gbnf = "root ::= \"(\" root \")\" | \"x\"";
    char vocab[3] = {'(', ')', 'x'};
    int32_t off[4] = {0, 1, 2, 3};
    mllm_grammar *gr;
    mllm_error err;
    char deep[MLLM_GRAMMAR_MAX_DEPTH + 8];
    int32_t r;
    memset(deep, '(', sizeof deep);
    CHECK_EQ_INT(mllm_grammar_new_vocab(gbnf, (int32_t)strlen(gbnf), vocab, off, NULL, 3, &gr, &err), MLLM_OK);
    r = mllm_grammar_accept_bytes(gr, deep, (int32_t)sizeof deep, &err);
    CHECK_EQ_INT(r, -(int32_t)MLLM_ERR_STATE);
    CHECK_CONTAINS(err.msg, "nests deeper than");
    /* the state is unchanged by the failed read */
    CHECK_EQ_INT(mllm_grammar_accept_bytes(gr, "x", 1, &err), 1);
    CHECK_EQ_INT(mllm_grammar_can_end(gr), 2);
    mllm_grammar_free(gr);
}

/* "t1", a digit, then 2..6 groups of "t" [3-5], checked by hand (independent of the matcher) */
static int tgroups_member(const char *s, int n) {
    int i = 3, groups = 0;
    if (n < 3 || s[0] != 't' || s[1] != '1' || s[2] < '0' || s[2] > '9') return 0;
    while (i < n) {
        if (s[i] != 't' || i + 1 >= n || s[i + 1] < '3' || s[i + 1] > '5') return 0;
        i += 2;
        groups++;
    }
    return groups >= 2 && groups <= 6;
}

/* The generator under a grammar on a random tiny model (pieces "t3".."t63"), at high
 * temperature: every run ends on a complete string, within max_tokens or the context, and a
 * budget below the shortest string is an error. */
static void test_generator_with_grammar(void) {
    const char *gbnf = "root ::= \"t1\" [0-9] (\"t\" [3-5]){2,6}";
    tm_spec sp = tm_default();
    tm_weights *w = tm_weights_new(&sp, 5);
    size_t size;
    uint8_t *file = tm_build(&sp, w, &size);
    mllm_model *m = NULL;
    mllm_grammar *gr = NULL;
    mllm_error err;
    int seed, max, runs = 0;
    CHECK_EQ_INT(mllm_model_load(file, size, NULL, &m, &err), MLLM_OK);
    CHECK_EQ_INT(mllm_grammar_new(m, gbnf, (int32_t)strlen(gbnf), &gr, &err), MLLM_OK);
    for (seed = 1; seed <= 12 && m && gr; seed++) {
        for (max = 0; max <= 12; max++) {
            mllm_context *ctx = NULL;
            mllm_sampler *smp = NULL;
            mllm_generator *g = NULL;
            mllm_sampler_params sprm;
            mllm_generator_params gp;
            mllm_step_result r;
            mllm_status st = MLLM_OK;
            int32_t prompt[64], np = max == 0 ? 58 : 3, k; /* max 0: only the context limits the run */
            char text[512];
            int tl = 0;
            mllm_sampler_params_init(&sprm);
            sprm.temperature = 3.0f;
            sprm.top_k = 0;
            sprm.top_p = 1.0f;
            sprm.min_p = 0.0f;
            sprm.seed = (uint32_t)seed;
            memset(&gp, 0, sizeof gp);
            gp.max_tokens = max;
            for (k = 0; k < np; k++) prompt[k] = 3 + (k * 7 + seed) % 60;
            CHECK_EQ_INT(mllm_context_new(m, NULL, &ctx, &err), MLLM_OK);
            CHECK_EQ_INT(mllm_sampler_new(64, &sprm, &smp, &err), MLLM_OK);
            CHECK_EQ_INT(mllm_eval(ctx, prompt, np, 0, &err), MLLM_OK);
            CHECK_EQ_INT(mllm_generator_new(ctx, smp, &gp, &g, &err), MLLM_OK);
            CHECK_EQ_INT(mllm_generator_set_grammar(g, gr, &err), MLLM_OK);
            do {
                st = mllm_generator_step(g, &r, &err);
                if (st != MLLM_OK) break;
                if (r.text_len > 0 && tl + r.text_len < (int)sizeof text) {
                    memcpy(text + tl, mllm_generator_text(g), (size_t)r.text_len);
                    tl += r.text_len;
                }
            } while (r.stop == MLLM_STOP_NONE);
            if (max > 0 && max < 3) { /* the shortest string "t10t3t3" takes 3 tokens here */
                CHECK_EQ_INT(st, MLLM_ERR_ARG);
                CHECK_CONTAINS(err.msg, "shortest value needs 3 tokens");
            } else {
                CHECK_EQ_INT(st, MLLM_OK);
                if (!tgroups_member(text, tl)) fprintf(stderr, "  seed %d max %d: '%.*s'\n", seed, max, tl, text);
                CHECK(tgroups_member(text, tl));
                CHECK(max == 0 || r.n_generated <= max);
                runs++;
            }
            mllm_generator_free(g);
            mllm_sampler_free(smp);
            mllm_context_free(ctx);
        }
    }
    CHECK(runs >= 100);
    mllm_grammar_free(gr);
    mllm_model_free(m);
    free(file);
    tm_weights_free(w);
}

int main(void) {
    RUN(test_parse_errors);
    RUN(test_parse_accepts_llama_cpp_syntax);
    RUN(test_matcher_against_brute_force);
    RUN(test_limits_are_errors);
    RUN(test_generator_with_grammar);
    return check_summary("test_grammar");
}
