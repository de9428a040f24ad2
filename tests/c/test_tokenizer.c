/* test_tokenizer.c — the tokenizers on small hand-made vocabularies, where every expected id
 * follows from the algorithm's definition (SentencePiece merges by piece score, ties to the
 * left; GPT-2 BPE merges by rank after its pre-tokenizer; byte fallback; dummy prefix; special
 * tokens), plus the Unicode tables, the GPT-2 byte map, the streaming detokenizer's UTF-8
 * holdback and the tokenizer's load errors. The corpus-wide comparison with llama.cpp,
 * SentencePiece and Hugging Face is tests/node/tokenizer.test.js. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "gguf_builder.h"
#include "model.h"
#include "mobilellm.h"
#include "tokenizer.h"
#include "unicode.h"

/* A model handle that only carries a tokenizer: the tokenizer API needs nothing else. */
typedef struct tok_model {
    struct mllm_model m;
} tok_model;

static void tm_close(tok_model *tm) {
    tokenizer_free(tm->m.tok);
    free(tm);
}

/* Parses the builder's file, builds the tokenizer and drops the file bytes (the tokenizer
 * must not keep pointers into them). Returns the status; *out only on success. */
static mllm_status open_vocab(gguf_builder *b, tok_model **out, mllm_error *err) {
    size_t size;
    uint8_t *bytes = gb_finish(b, &size);
    gguf_file f;
    mllm_status st;
    tok_model *tm = (tok_model *)calloc(1, sizeof *tm);
    *out = NULL;
    gb_free(b);
    st = gguf_parse(&f, bytes, size, err);
    if (st == MLLM_OK) st = tokenizer_new(&f, &tm->m.tok, err);
    gguf_free(&f);
    memset(bytes, 0xAB, size); /* poison: any view kept into the file would now read garbage */
    free(bytes);
    if (st != MLLM_OK) {
        free(tm);
        return st;
    }
    *out = tm;
    return MLLM_OK;
}

/* ------------------------------------------------------------------ vocabularies */

#define SPM_FIRST_NORMAL 259
enum { SPM_SPACE = 259, SPM_A, SPM_B, SPM_C, SPM_AB, SPM_BC, SPM_SPACE_A, SPM_ABC, SPM_AA, SPM_TOOL, SPM_N };

/* <unk> <s> </s>, the 256 byte pieces, then a few normal pieces whose scores make the merge
 * order differ from left-to-right and from id order, and a user-defined "<tool>". */
static gguf_builder *spm_builder(int add_space_prefix_key) {
    static const char *const normal[] = {"\xe2\x96\x81", "a", "b", "c", "ab", "bc", "\xe2\x96\x81" "a", "abc", "aa",
                                         "<tool>"};
    static const float normal_score[] = {-1, -2, -3, -4, -10, -5, -20, -30, -7, 0};
    const char *toks[SPM_N];
    char names[256][7];
    float scores[SPM_N];
    int32_t types[SPM_N];
    int i;
    gguf_builder *b = gb_new(32);
    toks[0] = "<unk>", toks[1] = "<s>", toks[2] = "</s>";
    types[0] = MLLM_TOKTYPE_UNKNOWN, types[1] = types[2] = MLLM_TOKTYPE_CONTROL;
    scores[0] = scores[1] = scores[2] = 0;
    for (i = 0; i < 256; i++) {
        snprintf(names[i], sizeof names[i], "<0x%02X>", i);
        toks[3 + i] = names[i];
        types[3 + i] = MLLM_TOKTYPE_BYTE;
        scores[3 + i] = 0;
    }
    for (i = 0; i < SPM_N - SPM_FIRST_NORMAL; i++) {
        toks[SPM_FIRST_NORMAL + i] = normal[i];
        scores[SPM_FIRST_NORMAL + i] = normal_score[i];
        types[SPM_FIRST_NORMAL + i] = MLLM_TOKTYPE_NORMAL;
    }
    types[SPM_TOOL] = MLLM_TOKTYPE_USER_DEFINED;
    gb_kv_str(b, "tokenizer.ggml.model", "llama");
    gb_kv_arr_str(b, "tokenizer.ggml.tokens", toks, SPM_N);
    gb_kv_arr_f32(b, "tokenizer.ggml.scores", scores, SPM_N);
    gb_kv_arr_i32(b, "tokenizer.ggml.token_type", types, SPM_N);
    gb_kv_u32(b, "tokenizer.ggml.bos_token_id", 1);
    gb_kv_u32(b, "tokenizer.ggml.eos_token_id", 2);
    if (add_space_prefix_key >= 0) gb_kv_bool(b, "tokenizer.ggml.add_space_prefix", add_space_prefix_key);
    return b;
}

static tok_model *spm_open(int add_space_prefix_key) {
    tok_model *tm;
    mllm_error err;
    mllm_status st = open_vocab(spm_builder(add_space_prefix_key), &tm, &err);
    if (st != MLLM_OK) {
        fprintf(stderr, "spm vocabulary failed to load: %s\n", err.msg);
        exit(1);
    }
    return tm;
}

#define BYTE(b) (3 + (b))

/* GPT-2 style: <|endoftext|>, <|im_end|>, the 256 byte characters (id 2 + byte), merge results,
 * and "xyz", a piece no merge reaches. */
enum { G_EOT = 0, G_IMEND = 1, G_BYTES = 2, G_HE = 258, G_THE, G_SP_C, G_AT, G_SP_CAT, G_12, G_XYZ, G_N };
#define GB(b) (G_BYTES + (b))

static gguf_builder *gpt2_builder(const char *pre, int with_merges) {
    static const char *const merges[] = {"h e", "t he", "\xc4\xa0 c", "a t", "\xc4\xa0" "c at", "1 2"};
    static const char *const merged[] = {"he", "the", "\xc4\xa0" "c", "at", "\xc4\xa0" "cat", "12", "xyz"};
    const char *toks[G_N];
    char chars[256][4];
    int32_t types[G_N];
    int i;
    gguf_builder *b = gb_new(32);
    toks[G_EOT] = "<|endoftext|>";
    toks[G_IMEND] = "<|im_end|>";
    types[G_EOT] = MLLM_TOKTYPE_CONTROL;
    types[G_IMEND] = MLLM_TOKTYPE_NORMAL; /* llama.cpp forces it to control by its text */
    for (i = 0; i < 256; i++) {
        size_t n = unicode_encode_utf8(unicode_byte_to_cpt((uint8_t)i), chars[i]);
        chars[i][n] = '\0';
        toks[G_BYTES + i] = chars[i];
        types[G_BYTES + i] = MLLM_TOKTYPE_NORMAL;
    }
    for (i = 0; i < G_N - G_HE; i++) {
        toks[G_HE + i] = merged[i];
        types[G_HE + i] = MLLM_TOKTYPE_NORMAL;
    }
    gb_kv_str(b, "tokenizer.ggml.model", "gpt2");
    if (pre) gb_kv_str(b, "tokenizer.ggml.pre", pre);
    gb_kv_arr_str(b, "tokenizer.ggml.tokens", toks, G_N);
    gb_kv_arr_i32(b, "tokenizer.ggml.token_type", types, G_N);
    if (with_merges) gb_kv_arr_str(b, "tokenizer.ggml.merges", merges, sizeof merges / sizeof merges[0]);
    gb_kv_u32(b, "tokenizer.ggml.bos_token_id", G_EOT);
    gb_kv_u32(b, "tokenizer.ggml.eos_token_id", G_EOT);
    return b;
}

static tok_model *gpt2_open(const char *pre) {
    tok_model *tm;
    mllm_error err;
    if (open_vocab(gpt2_builder(pre, 1), &tm, &err) != MLLM_OK) {
        fprintf(stderr, "gpt2 vocabulary failed to load: %s\n", err.msg);
        exit(1);
    }
    return tm;
}

/* Tokenizes a C string; returns the count (ids in out, at most 64). */
static int tok(tok_model *tm, const char *s, int add_bos, int parse_special, int32_t *out) {
    mllm_error err;
    int n = mllm_tokenize(&tm->m, s, (int32_t)strlen(s), add_bos, parse_special, out, 64, &err);
    if (n < 0) fprintf(stderr, "  tokenize failed: %s\n", err.msg);
    return n;
}

#define CHECK_IDS(got, n, ...)                                                   \
    do {                                                                         \
        const int32_t want_[] = {__VA_ARGS__};                                   \
        int k_;                                                                  \
        CHECK_EQ_INT((n), (int)(sizeof want_ / sizeof want_[0]));                \
        for (k_ = 0; k_ < (n) && k_ < (int)(sizeof want_ / sizeof want_[0]); k_++) \
            CHECK_EQ_INT((got)[k_], want_[k_]);                                  \
    } while (0)

/* ------------------------------------------------------------------ SentencePiece */

static void test_spm_merges_by_score_not_position(void) {
    tok_model *tm = spm_open(-1);
    int32_t ids[64];
    /* "▁abc": bigram scores ▁a -20, ab -10, bc -5. bc merges first although ab is further
     * left; then ▁a (-20) beats abc (-30). */
    int n = tok(tm, "abc", 0, 0, ids);
    CHECK_IDS(ids, n, SPM_SPACE_A, SPM_BC);
    tm_close(tm);
}

static void test_spm_equal_scores_merge_leftmost_first(void) {
    tok_model *tm = spm_open(-1);
    int32_t ids[64];
    /* "▁aaa": two "aa" bigrams of equal score; the left one wins, leaving [▁, aa, a]
     * (right-first would give ▁ + a + aa, then ▁a + aa). */
    int n = tok(tm, "aaa", 0, 0, ids);
    CHECK_IDS(ids, n, SPM_SPACE, SPM_AA, SPM_A);
    tm_close(tm);
}

static void test_spm_byte_fallback_for_unknown_characters(void) {
    tok_model *tm = spm_open(-1);
    int32_t ids[64];
    /* é (C3 A9) and 🦙 (F0 9F A6 99) are no pieces: their UTF-8 bytes become <0xNN> */
    int n = tok(tm, "a\xc3\xa9\xf0\x9f\xa6\x99", 0, 0, ids);
    CHECK_IDS(ids, n, SPM_SPACE_A, BYTE(0xC3), BYTE(0xA9), BYTE(0xF0), BYTE(0x9F), BYTE(0xA6), BYTE(0x99));
    /* an invalid lone continuation byte too */
    n = tok(tm, "b\x80", 0, 0, ids);
    CHECK_IDS(ids, n, SPM_SPACE, SPM_B, BYTE(0x80));
    tm_close(tm);
}

static void test_spm_dummy_prefix_and_spaces(void) {
    tok_model *tm = spm_open(-1), *np = spm_open(0);
    int32_t ids[64];
    int n = tok(tm, "a b", 1, 0, ids); /* BOS, "▁a▁b" */
    CHECK_IDS(ids, n, 1, SPM_SPACE_A, SPM_SPACE, SPM_B);
    n = tok(np, "a b", 1, 0, ids); /* add_space_prefix = false: "a▁b" */
    CHECK_IDS(ids, n, 1, SPM_A, SPM_SPACE, SPM_B);
    n = tok(tm, "", 1, 0, ids); /* empty text: just BOS */
    CHECK_IDS(ids, n, 1);
    n = tok(tm, "", 0, 0, ids);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_INT(tokenizer_add_bos(tm->m.tok), 1);
    CHECK_EQ_INT(tokenizer_kind(tm->m.tok), MLLM_TOKENIZER_SPM);
    CHECK_EQ_INT(tokenizer_n_vocab(tm->m.tok), SPM_N);
    tm_close(tm);
    tm_close(np);
}

static void test_spm_special_tokens_parsed_only_when_asked(void) {
    tok_model *tm = spm_open(-1);
    int32_t ids[64];
    /* parse_special: "<s>" is BOS, and the text after a special token gets the dummy space */
    int n = tok(tm, "<s>ab", 0, 1, ids);
    CHECK_IDS(ids, n, 1, SPM_SPACE, SPM_AB);
    /* without it "<s>" is plain text: bytes for < s > (no pieces) */
    n = tok(tm, "<s>", 0, 0, ids);
    CHECK_IDS(ids, n, SPM_SPACE, BYTE('<'), BYTE('s'), BYTE('>'));
    /* a user-defined token is split out either way (and is "special": a space follows it) */
    n = tok(tm, "a<tool>b", 0, 0, ids);
    CHECK_IDS(ids, n, SPM_SPACE_A, SPM_TOOL, SPM_SPACE, SPM_B);
    tm_close(tm);
}

static void test_tokenize_reports_size_when_buffer_small(void) {
    tok_model *tm = spm_open(-1);
    int32_t ids[8];
    mllm_error err;
    int n = mllm_tokenize(&tm->m, "a b c", 5, 1, 0, ids, 2, &err);
    CHECK_EQ_INT(n, 6); /* BOS ▁a ▁ b ▁ c */
    n = mllm_tokenize(&tm->m, "a b c", 5, 1, 0, ids, 8, &err);
    CHECK_IDS(ids, n, 1, SPM_SPACE_A, SPM_SPACE, SPM_B, SPM_SPACE, SPM_C);
    n = mllm_tokenize(&tm->m, NULL, 3, 1, 0, ids, 8, &err);
    CHECK(n < 0);
    CHECK_EQ_INT(err.code, MLLM_ERR_ARG);
    n = mllm_tokenize(NULL, "a", 1, 1, 0, ids, 8, &err);
    CHECK(n < 0);
    tm_close(tm);
}

static void test_spm_pieces_and_detokenize(void) {
    tok_model *tm = spm_open(-1);
    char buf[64];
    int32_t seq[] = {1, SPM_SPACE_A, SPM_SPACE, SPM_B, BYTE(0xC3), BYTE(0xA9), 2};
    int n;
    CHECK_EQ_INT(mllm_token_to_piece(&tm->m, SPM_SPACE_A, buf, 64), 2);
    CHECK(memcmp(buf, " a", 2) == 0);
    CHECK_EQ_INT(mllm_token_to_piece(&tm->m, BYTE(0x0A), buf, 64), 1);
    CHECK_EQ_INT(buf[0], '\n');
    CHECK_EQ_INT(mllm_token_to_piece(&tm->m, 1, buf, 64), 0);      /* control: nothing */
    CHECK_EQ_INT(mllm_token_to_piece(&tm->m, 0, buf, 64), 0);      /* unknown: nothing */
    CHECK_EQ_INT(mllm_token_to_piece(&tm->m, SPM_TOOL, buf, 64), 6); /* user-defined: its text */
    CHECK_EQ_INT(mllm_token_to_piece(&tm->m, SPM_SPACE_A, buf, 1), 2); /* too small: size needed */
    CHECK(mllm_token_to_piece(&tm->m, SPM_N, buf, 64) < 0);
    CHECK(mllm_token_to_piece(&tm->m, -1, buf, 64) < 0);

    n = mllm_detokenize(&tm->m, seq, 7, 0, buf, 64);
    CHECK_EQ_INT(n, 6);
    CHECK(memcmp(buf, " a b\xc3\xa9", 6) == 0);
    n = mllm_detokenize(&tm->m, seq, 7, 1, buf, 64); /* the dummy prefix space goes, past BOS */
    CHECK_EQ_INT(n, 5);
    CHECK(memcmp(buf, "a b\xc3\xa9", 5) == 0);
    CHECK_EQ_INT(mllm_detokenize(&tm->m, seq, 7, 1, buf, 3), 5); /* size needed */
    CHECK(mllm_detokenize(&tm->m, seq, 7, 1, NULL, 0) == 5);
    seq[2] = 999;
    CHECK(mllm_detokenize(&tm->m, seq, 7, 1, buf, 64) < 0);
    tm_close(tm);
}

static void test_special_ids_and_eog(void) {
    tok_model *tm = spm_open(-1), *g = gpt2_open("smollm");
    CHECK_EQ_INT(mllm_token_bos(&tm->m), 1);
    CHECK_EQ_INT(mllm_token_eos(&tm->m), 2);
    CHECK(mllm_token_is_eog(&tm->m, 2));
    CHECK(!mllm_token_is_eog(&tm->m, 1));
    CHECK(!mllm_token_is_eog(&tm->m, SPM_A));
    CHECK_EQ_INT(mllm_token_bos(&g->m), G_EOT);
    CHECK(mllm_token_is_eog(&g->m, G_EOT));
    CHECK(mllm_token_is_eog(&g->m, G_IMEND)); /* by its text, as llama.cpp does */
    CHECK_EQ_INT(tokenizer_add_bos(g->m.tok), 0);
    CHECK_EQ_INT(tokenizer_kind(g->m.tok), MLLM_TOKENIZER_GPT2);
    tm_close(tm);
    tm_close(g);
}

/* ------------------------------------------------------------------ GPT-2 */

static void test_gpt2_byte_map(void) {
    int b, seen = 0;
    /* GPT-2's bytes_to_unicode: printable bytes are themselves; space is U+0120 'Ġ',
     * newline U+010A 'Ċ', soft hyphen 0xAD U+0143 'Ń', and the map is a bijection */
    CHECK_EQ_INT(unicode_byte_to_cpt('A'), 'A');
    CHECK_EQ_INT(unicode_byte_to_cpt(' '), 0x120);
    CHECK_EQ_INT(unicode_byte_to_cpt('\n'), 0x10A);
    CHECK_EQ_INT(unicode_byte_to_cpt(0xAD), 0x143);
    CHECK_EQ_INT(unicode_byte_to_cpt(0x00), 0x100);
    CHECK_EQ_INT(unicode_byte_to_cpt(0xE9), 0xE9);
    for (b = 0; b < 256; b++) seen += unicode_cpt_to_byte(unicode_byte_to_cpt((uint8_t)b)) == b;
    CHECK_EQ_INT(seen, 256);
    CHECK_EQ_INT(unicode_cpt_to_byte(0x20), -1);  /* a raw space is not a byte character */
    CHECK_EQ_INT(unicode_cpt_to_byte(0x144), -1); /* past the 68 remapped bytes */
}

static void test_gpt2_merges_by_rank(void) {
    tok_model *tm = gpt2_open("gpt-2");
    int32_t ids[64];
    /* words "the", " cat": t+h+e -> t+he -> the; Ġ+c+a+t -> Ġc (rank 2) before at (rank 3),
     * then Ġc+at -> Ġcat */
    int n = tok(tm, "the cat", 1, 0, ids); /* add_bos asked, but this vocabulary does not add it */
    CHECK_IDS(ids, n, G_THE, G_SP_CAT);
    /* no merge joins words: "thecat" is one word, t he c at (c+at has no merge) */
    n = tok(tm, "thecat", 0, 0, ids);
    CHECK_IDS(ids, n, G_THE, GB('c'), G_AT);
    tm_close(tm);
}

static void test_gpt2_pre_tokenizers_split_digits_differently(void) {
    tok_model *g = gpt2_open("gpt-2"), *s = gpt2_open("smollm");
    int32_t ids[64];
    int n = tok(g, "a12", 0, 0, ids); /* gpt-2: "a", "12" and the 1+2 merge applies */
    CHECK_IDS(ids, n, GB('a'), G_12);
    n = tok(s, "a12", 0, 0, ids); /* smollm: every digit alone */
    CHECK_IDS(ids, n, GB('a'), GB('1'), GB('2'));
    n = tok(g, "  x\n", 0, 0, ids); /* \s+(?!\S) keeps the last space for the word */
    CHECK_IDS(ids, n, GB(' '), GB(' '), GB('x'), GB('\n'));
    tm_close(g);
    tm_close(s);
}

static void test_llama3_whole_word_pieces_and_bos(void) {
    /* llama.cpp's llama-bpe: a pre-token that is a piece is taken whole (ignore_merges), and
     * BOS is added by default; gpt-2 merges "xyz" byte by byte and adds no BOS */
    tok_model *l3 = gpt2_open("llama-bpe"), *g = gpt2_open("gpt-2"), *l4 = gpt2_open("llama4");
    int32_t ids[64];
    int n = tok(l3, "xyz", 1, 0, ids);
    CHECK_IDS(ids, n, G_EOT, G_XYZ);
    n = tok(g, "xyz", 1, 0, ids);
    CHECK_IDS(ids, n, GB('x'), GB('y'), GB('z'));
    n = tok(l4, "xyz", 1, 0, ids); /* llama4 merges as usual and adds no BOS by default */
    CHECK_IDS(ids, n, GB('x'), GB('y'), GB('z'));
    /* llama3 splits digits in threes: "1212" is 121 | 2 -> 12 1 2 */
    n = tok(l3, "1212", 0, 0, ids);
    CHECK_IDS(ids, n, G_12, GB('1'), GB('2'));
    tm_close(l3);
    tm_close(g);
    tm_close(l4);
}

static void test_gpt2_special_and_detokenize(void) {
    tok_model *tm = gpt2_open("smollm");
    int32_t ids[64];
    char buf[64];
    int n = tok(tm, "the<|endoftext|>cat", 0, 1, ids);
    CHECK_IDS(ids, n, G_THE, G_EOT, GB('c'), G_AT);
    n = tok(tm, "<|im_end|>", 0, 1, ids); /* control by its text: parsed as one token */
    CHECK_IDS(ids, n, G_IMEND);
    n = mllm_token_to_piece(&tm->m, G_SP_CAT, buf, 64);
    CHECK_EQ_INT(n, 4);
    CHECK(memcmp(buf, " cat", 4) == 0);
    CHECK_EQ_INT(mllm_token_to_piece(&tm->m, GB(0xFF), buf, 64), 1);
    CHECK_EQ_INT((unsigned char)buf[0], 0xFF);
    {
        int32_t seq[] = {G_THE, G_EOT, G_SP_CAT};
        n = mllm_detokenize(&tm->m, seq, 3, 1, buf, 64); /* no dummy prefix: nothing stripped */
        CHECK_EQ_INT(n, 7);
        CHECK(memcmp(buf, "the cat", 7) == 0);
    }
    tm_close(tm);
}

/* ------------------------------------------------------------------ streaming detokenizer */

static void test_detok_holds_back_split_emoji(void) {
    tok_model *tm = spm_open(-1);
    mllm_detok *d;
    mllm_error err;
    CHECK_EQ_INT(mllm_detok_new(&tm->m, 1, &d, &err), MLLM_OK);
    CHECK_EQ_INT(mllm_detok_push(d, 1), 0);           /* BOS */
    CHECK_EQ_INT(mllm_detok_push(d, SPM_SPACE_A), 1); /* " a" minus the dummy-prefix space */
    CHECK(strcmp(mllm_detok_text(d), "a") == 0);
    CHECK_EQ_INT(mllm_detok_push(d, BYTE(0xF0)), 0);  /* 🦙 = F0 9F A6 99, held back */
    CHECK_EQ_INT(mllm_detok_push(d, BYTE(0x9F)), 0);
    CHECK_EQ_INT(mllm_detok_push(d, BYTE(0xA6)), 0);
    CHECK_EQ_INT(mllm_detok_push(d, BYTE(0x99)), 4);
    CHECK(strcmp(mllm_detok_text(d), "\xf0\x9f\xa6\x99") == 0);
    CHECK_EQ_INT(mllm_detok_push(d, SPM_SPACE), 1);   /* later spaces stay */
    CHECK_EQ_INT(mllm_detok_flush(d), 0);
    CHECK(mllm_detok_push(d, -3) < 0);
    mllm_detok_free(d);
    tm_close(tm);
}

static void test_detok_invalid_bytes_become_replacement(void) {
    tok_model *tm = spm_open(-1);
    mllm_detok *d;
    mllm_error err;
    CHECK_EQ_INT(mllm_detok_new(&tm->m, 0, &d, &err), MLLM_OK);
    CHECK_EQ_INT(mllm_detok_push(d, BYTE(0xC3)), 0);   /* may start é */
    CHECK_EQ_INT(mllm_detok_push(d, BYTE('A')), 4);    /* it did not: U+FFFD, then A */
    CHECK(strcmp(mllm_detok_text(d), "\xef\xbf\xbd" "A") == 0);
    CHECK_EQ_INT(mllm_detok_push(d, BYTE(0xFF)), 3);   /* never valid: replaced at once */
    CHECK(strcmp(mllm_detok_text(d), "\xef\xbf\xbd") == 0);
    CHECK_EQ_INT(mllm_detok_push(d, BYTE(0xE0)), 0);
    CHECK_EQ_INT(mllm_detok_push(d, BYTE(0x80)), 6);   /* E0 80 is overlong: both bytes replaced */
    CHECK_EQ_INT(mllm_detok_push(d, BYTE(0xE2)), 0);   /* stream ends inside a character */
    CHECK_EQ_INT(mllm_detok_push(d, BYTE(0x82)), 0);
    CHECK_EQ_INT(mllm_detok_flush(d), 3);              /* one U+FFFD for the truncated sequence */
    CHECK(strcmp(mllm_detok_text(d), "\xef\xbf\xbd") == 0);
    mllm_detok_free(d);
    tm_close(tm);
}

/* ------------------------------------------------------------------ Unicode */

static void test_unicode_categories(void) {
    CHECK_EQ_INT(unicode_cpt_flags('a'), UCPT_LETTER | UCPT_LOWER);
    CHECK_EQ_INT(unicode_cpt_flags('Q'), UCPT_LETTER | UCPT_UPPER);
    CHECK_EQ_INT(unicode_cpt_flags(0xC9), UCPT_LETTER | UCPT_UPPER);  /* É (Lu) */
    CHECK_EQ_INT(unicode_cpt_flags(0x1C5), UCPT_LETTER | UCPT_UPPER); /* ǅ (Lt) */
    CHECK_EQ_INT(unicode_cpt_flags(0x3B1), UCPT_LETTER | UCPT_LOWER); /* α (Ll) */
    CHECK_EQ_INT(unicode_cpt_flags(0x2B0), UCPT_LETTER);              /* ʰ (Lm) */
    CHECK_EQ_INT(unicode_cpt_flags('7'), UCPT_NUMBER);
    CHECK_EQ_INT(unicode_cpt_flags(' '), UCPT_SEPARATOR | UCPT_WHITESPACE);
    CHECK_EQ_INT(unicode_cpt_flags('\n'), UCPT_CONTROL | UCPT_WHITESPACE);
    CHECK_EQ_INT(unicode_cpt_flags(0x1F), UCPT_CONTROL); /* unit separator: not \s */
    CHECK_EQ_INT(unicode_cpt_flags('!'), UCPT_PUNCTUATION);
    CHECK_EQ_INT(unicode_cpt_flags('$'), UCPT_SYMBOL);
    CHECK_EQ_INT(unicode_cpt_flags(0x85), UCPT_CONTROL | UCPT_WHITESPACE);   /* NEL */
    CHECK_EQ_INT(unicode_cpt_flags(0x3000), UCPT_SEPARATOR | UCPT_WHITESPACE); /* ideographic space */
    CHECK_EQ_INT(unicode_cpt_flags(0x200B), UCPT_CONTROL);  /* zero width space is Cf, not \s */
    CHECK_EQ_INT(unicode_cpt_flags(0xBD), UCPT_NUMBER);     /* ½ (No) */
    CHECK_EQ_INT(unicode_cpt_flags(0x661), UCPT_NUMBER);    /* Arabic-Indic one */
    CHECK_EQ_INT(unicode_cpt_flags(0x4E00), UCPT_LETTER);   /* CJK 一 */
    CHECK_EQ_INT(unicode_cpt_flags(0x301), UCPT_MARK);      /* combining acute */
    CHECK_EQ_INT(unicode_cpt_flags(0x1F999), UCPT_SYMBOL);  /* 🦙 */
    CHECK_EQ_INT(unicode_cpt_flags(0x378), UCPT_UNDEFINED); /* unassigned */
    CHECK_EQ_INT(unicode_cpt_flags(0xE000), UCPT_CONTROL);  /* private use */
    CHECK_EQ_INT(unicode_cpt_flags(0x10FFFF), UCPT_UNDEFINED);
    CHECK_EQ_INT(unicode_cpt_flags(0x110000), UCPT_UNDEFINED);
}

static void test_unicode_lenient_decode(void) {
    const unsigned char s[] = {0xE2, 0x82, 'x', 0xC3, 0xA9, 0xF4, 0x90, 0x80, 0x80, 0xC0, 0xAF};
    size_t pos = 0;
    /* E2 82 'x': the 3-byte sequence breaks at 'x' -> U+FFFD, one byte */
    CHECK_EQ_INT(unicode_decode_lenient(s, sizeof s, &pos), 0xFFFD);
    CHECK_EQ_INT(pos, 1);
    CHECK_EQ_INT(unicode_decode_lenient(s, sizeof s, &pos), 0xFFFD); /* stray 82 */
    CHECK_EQ_INT(unicode_decode_lenient(s, sizeof s, &pos), 'x');
    CHECK_EQ_INT(unicode_decode_lenient(s, sizeof s, &pos), 0xE9);
    CHECK_EQ_INT(pos, 5);
    CHECK_EQ_INT(unicode_decode_lenient(s, sizeof s, &pos), 0xFFFD); /* past U+10FFFF */
    CHECK_EQ_INT(pos, 6);
    pos = 9; /* C0 AF: overlong '/', decoded as llama.cpp does */
    CHECK_EQ_INT(unicode_decode_lenient(s, sizeof s, &pos), '/');
}

static void test_unicode_gpt2_split(void) {
    /* "Hi  there's 42!?" -> Hi | " " | " there" | 's | " 42" | !? (the GPT-2 regex) */
    const char *txt = "Hi  there's 42!?";
    uint32_t cpts[32], seg_in[1], seg[32];
    size_t n = 0, i, k;
    const uint32_t want[] = {2, 1, 6, 2, 3, 2};
    for (i = 0; txt[i]; i++) cpts[n++] = (unsigned char)txt[i];
    seg_in[0] = (uint32_t)n;
    k = unicode_split(UNICODE_SPLIT_GPT2, cpts, seg_in, 1, seg);
    CHECK_EQ_INT(k, 6);
    for (i = 0; i < k && i < 6; i++) CHECK_EQ_INT(seg[i], want[i]);
    /* [0-9]{3} on "12345": 123 | 45 */
    {
        uint32_t d[5] = {'1', '2', '3', '4', '5'}, in5[1] = {5};
        k = unicode_split(UNICODE_SPLIT_DIGIT_TRIPLES, d, in5, 1, seg);
        CHECK_EQ_INT(k, 2);
        CHECK_EQ_INT(seg[0], 3);
        CHECK_EQ_INT(seg[1], 2);
    }
}

/* Segment lengths (in code points) of one split over UTF-8 text. */
static size_t split_utf8(unicode_split_kind kind, const char *txt, uint32_t *seg) {
    uint32_t cpts[128], seg_in[1];
    size_t n = 0, pos = 0, len = strlen(txt);
    while (pos < len) cpts[n++] = unicode_decode_lenient((const unsigned char *)txt, len, &pos);
    seg_in[0] = (uint32_t)n;
    return unicode_split(kind, cpts, seg_in, 1, seg);
}

#define CHECK_SEGS(kind, txt, ...)                                             \
    do {                                                                       \
        const uint32_t want_[] = {__VA_ARGS__};                                \
        uint32_t seg_[128];                                                    \
        size_t k_ = split_utf8(kind, txt, seg_), i_;                           \
        CHECK_EQ_INT(k_, sizeof want_ / sizeof want_[0]);                      \
        for (i_ = 0; i_ < k_ && i_ < sizeof want_ / sizeof want_[0]; i_++)     \
            CHECK_EQ_INT(seg_[i_], want_[i_]);                                 \
    } while (0)

static void test_unicode_llama3_split(void) {
    /* The Llama-3 regex (JS RegExp with /u gives the same matches):
     * I | 'M | " here" | 's | " " | 123 | 45 | " ab" | "\n\n" | " " | " x" | " " | " !!\n" |
     * "/é" | " \r\n" | "\t" | "." */
    CHECK_SEGS(UNICODE_SPLIT_LLAMA3, "I'M here's 12345 ab\n\n  x  !!\n/\xc3\xa9 \r\n\t.", 1, 2, 5, 2, 1, 3, 2, 3,
               2, 1, 2, 1, 4, 2, 3, 1, 1);
}

static void test_unicode_gpt4o_split(void) {
    /* The Llama-4 / GPT-4o regex (JS RegExp with /u gives the same matches): HELLOworld |
     * " camel" | Case | " Àb" | Cd | Éf | " a" | "/b" | "//\n/" | " " | 123 | 45 | " x'S" |
     * " \u0301x" (a mark is in both letter classes) | " é" | "ǅa" (Lt is upper) | " straße" | É */
    CHECK_SEGS(UNICODE_SPLIT_GPT4O,
               "HELLOworld camelCase \xc3\x80" "bCd\xc3\x89" "f a/b//\n/ 12345 x'S \xcc\x81x \xc3\xa9\xc7\x85" "a stra\xc3\x9f" "e\xc3\x89",
               10, 6, 4, 3, 2, 2, 2, 2, 4, 1, 3, 2, 4, 3, 2, 2, 7, 1);
}

/* ------------------------------------------------------------------ load errors */

static void expect_load_fail(gguf_builder *b, mllm_status code, const char *needle) {
    tok_model *tm = NULL;
    mllm_error err;
    mllm_status st = open_vocab(b, &tm, &err);
    CHECK_EQ_INT(st, code);
    CHECK_EQ_INT(err.code, code);
    CHECK(tm == NULL);
    CHECK_CONTAINS(err.msg, needle);
    if (tm) tm_close(tm);
}

static void test_load_errors_name_the_culprit(void) {
    gguf_builder *b;
    const char *toks[] = {"a", "b"};
    const char *strs[] = {"x", "y"};
    /* no tokens array */
    b = gb_new(32);
    gb_kv_str(b, "tokenizer.ggml.model", "llama");
    expect_load_fail(b, MLLM_ERR_MISSING, "tokenizer.ggml.tokens");
    /* no model key */
    b = gb_new(32);
    gb_kv_arr_str(b, "tokenizer.ggml.tokens", toks, 2);
    expect_load_fail(b, MLLM_ERR_MISSING, "tokenizer.ggml.model");
    /* unknown tokenizer family */
    b = gb_new(32);
    gb_kv_str(b, "tokenizer.ggml.model", "bert");
    gb_kv_arr_str(b, "tokenizer.ggml.tokens", toks, 2);
    expect_load_fail(b, MLLM_ERR_UNSUPPORTED, "'bert'");
    /* gpt2 without merges */
    expect_load_fail(gpt2_builder("smollm", 0), MLLM_ERR_MISSING, "tokenizer.ggml.merges");
    /* an unknown pre-tokenizer */
    expect_load_fail(gpt2_builder("qwen2", 1), MLLM_ERR_UNSUPPORTED, "'qwen2'");
    /* tokens of the wrong type */
    b = gb_new(32);
    gb_kv_str(b, "tokenizer.ggml.model", "llama");
    {
        int32_t v[2] = {1, 2};
        gb_kv_arr_i32(b, "tokenizer.ggml.tokens", v, 2);
    }
    expect_load_fail(b, MLLM_ERR_FORMAT, "tokenizer.ggml.tokens");
    /* scores that are strings, and too few scores */
    b = gb_new(32);
    gb_kv_str(b, "tokenizer.ggml.model", "llama");
    gb_kv_arr_str(b, "tokenizer.ggml.tokens", toks, 2);
    gb_kv_arr_str(b, "tokenizer.ggml.scores", strs, 2);
    expect_load_fail(b, MLLM_ERR_FORMAT, "tokenizer.ggml.scores");
    b = gb_new(32);
    gb_kv_str(b, "tokenizer.ggml.model", "llama");
    gb_kv_arr_str(b, "tokenizer.ggml.tokens", toks, 2);
    {
        float s1[1] = {0};
        gb_kv_arr_f32(b, "tokenizer.ggml.scores", s1, 1);
    }
    expect_load_fail(b, MLLM_ERR_FORMAT, "tokenizer.ggml.scores");
}

int main(void) {
    RUN(test_spm_merges_by_score_not_position);
    RUN(test_spm_equal_scores_merge_leftmost_first);
    RUN(test_spm_byte_fallback_for_unknown_characters);
    RUN(test_spm_dummy_prefix_and_spaces);
    RUN(test_spm_special_tokens_parsed_only_when_asked);
    RUN(test_tokenize_reports_size_when_buffer_small);
    RUN(test_spm_pieces_and_detokenize);
    RUN(test_special_ids_and_eog);
    RUN(test_gpt2_byte_map);
    RUN(test_gpt2_merges_by_rank);
    RUN(test_gpt2_pre_tokenizers_split_digits_differently);
    RUN(test_llama3_whole_word_pieces_and_bos);
    RUN(test_gpt2_special_and_detokenize);
    RUN(test_detok_holds_back_split_emoji);
    RUN(test_detok_invalid_bytes_become_replacement);
    RUN(test_unicode_categories);
    RUN(test_unicode_lenient_decode);
    RUN(test_unicode_gpt2_split);
    RUN(test_unicode_llama3_split);
    RUN(test_unicode_gpt4o_split);
    RUN(test_load_errors_name_the_culprit);
    return check_summary("tokenizer");
}
