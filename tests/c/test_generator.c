/* test_generator.c — streaming generation through the public API on a model whose output is
 * known by construction.
 *
 * The model is a "bigram table" written with gguf_builder.h: one-hot embeddings (n_embd =
 * n_vocab), attention and FFN output matrices all zero (each block adds nothing), and an
 * output matrix with W[next(t)][t] = 1 (and W[alt(t)][t] = 0.5). So the last hidden state is
 * e_t, RMSNorm makes it ~8 e_t, and the logits are ~8 for next(t), ~4 for alt(t), 0 elsewhere:
 * greedy decoding walks the table. The expected text is spelled out from the pieces the test
 * wrote, independently of the engine's tokenizer. */
#include "check.h"
#include "gguf_builder.h"
#include "gguf_keys.h"
#include "mobilellm.h"
#include "sampler.h"

#include <stdlib.h>
#include <string.h>

#define NV 64
#define SP "\xE2\x96\x81" /* U+2581, SentencePiece's space */

enum {
    T_UNK = 0, T_BOS = 1, T_EOS = 2, T_XE2 = 3, T_X82 = 4, T_XAC = 5,
    T_HELLO = 6, T_WORLD = 7, T_BANG = 8, T_PRICE = 9, T_5 = 10, T_AB = 11, T_C = 12, T_D = 13,
    T_END = 14, T_MORE = 15, T_LA = 16, T_DI = 17, T_FILL = 18
};

static const char *const k_pieces[T_FILL] = {
    "<unk>", "<s>", "</s>", "<0xE2>", "<0x82>", "<0xAC>",
    SP "Hello", SP "world", "!", SP "Price", SP "5", SP "ab", "c", "d",
    SP "end", SP "more", SP "la", SP "di"};

/* greedy successor table: Hello world ! </s> (more </s>)* ; Price 5 E2 82 AC ab c d end </s>;
 * la -> la (alternative di), di -> la */
static const int k_next[][3] = { /* token, next, alt (-1 none) */
    {T_HELLO, T_WORLD, -1}, {T_WORLD, T_BANG, -1}, {T_BANG, T_EOS, -1}, {T_EOS, T_MORE, -1},
    {T_MORE, T_EOS, -1}, {T_PRICE, T_5, -1}, {T_5, T_XE2, -1}, {T_XE2, T_X82, -1},
    {T_X82, T_XAC, -1}, {T_XAC, T_AB, -1}, {T_AB, T_C, -1}, {T_C, T_D, -1}, {T_D, T_END, -1},
    {T_END, T_EOS, -1}, {T_LA, T_LA, T_DI}, {T_DI, T_LA, -1}};

static uint8_t *g_file;
static size_t g_size;
static mllm_model *g_model;

/* overflow = 1: token "la" embeds as e_la + e_di and the output row of f18 holds +3e38 and
 * -3e38 at those two dims, so f18's logit after "la" is inf - inf = NaN (finite weights). */
static uint8_t *build_model_bytes(int overflow, size_t *size) {
    gguf_builder *b = gb_new(32);
    uint8_t *bytes;
    const char *toks[NV];
    char fill[NV][8];
    float scores[NV];
    int32_t types[NV];
    static float embd[NV * NV], out[NV * NV], ones[NV], zeros_dd[NV * NV], zeros_fd[32 * NV];
    int64_t ne_dd[2] = {NV, NV}, ne_d[1] = {NV}, ne_fd[2] = {NV, 32}, ne_df[2] = {32, NV};
    char name[64];
    int i;
    for (i = 0; i < NV; i++) {
        if (i < T_FILL) toks[i] = k_pieces[i];
        else {
            snprintf(fill[i], sizeof fill[i], "f%d", i);
            toks[i] = fill[i];
        }
        scores[i] = -(float)i;
        types[i] = i == T_UNK ? 2 : i <= T_EOS ? 3 : i <= T_XAC ? 6 : 1;
        ones[i] = 1.0f;
        embd[i * NV + i] = 1.0f; /* row i (n_embd contiguous) = e_i */
    }
    for (i = 0; i < (int)(sizeof k_next / sizeof k_next[0]); i++) {
        int t = k_next[i][0];
        out[k_next[i][1] * NV + t] = 1.0f; /* output row = next token, column = input dim t */
        if (k_next[i][2] >= 0) out[k_next[i][2] * NV + t] = 0.5f;
    }

    embd[T_LA * NV + T_DI] = overflow ? 1.0f : 0.0f;
    out[T_FILL * NV + T_LA] = overflow ? 3e38f : 0.0f;
    out[T_FILL * NV + T_DI] = overflow ? -3e38f : 0.0f;
    gb_kv_str(b, "general.architecture", "llama");
    gb_kv_u32(b, "llama.block_count", 1);
    gb_kv_u32(b, "llama.context_length", 64);
    gb_kv_u32(b, "llama.embedding_length", NV);
    gb_kv_u32(b, "llama.feed_forward_length", 32);
    gb_kv_u32(b, "llama.attention.head_count", 2);
    gb_kv_u32(b, "llama.attention.head_count_kv", 2);
    gb_kv_u32(b, "llama.rope.dimension_count", NV / 2);
    gb_kv_u32(b, "llama.vocab_size", NV);
    gb_kv_f32(b, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
    gb_kv_f32(b, "llama.rope.freq_base", 10000.0f);
    gb_kv_str(b, "tokenizer.ggml.model", "llama");
    gb_kv_arr_str(b, "tokenizer.ggml.tokens", toks, NV);
    gb_kv_arr_f32(b, "tokenizer.ggml.scores", scores, NV);
    gb_kv_arr_i32(b, "tokenizer.ggml.token_type", types, NV);
    gb_kv_u32(b, "tokenizer.ggml.bos_token_id", T_BOS);
    gb_kv_u32(b, "tokenizer.ggml.eos_token_id", T_EOS);
    gb_kv_u32(b, "tokenizer.ggml.unknown_token_id", T_UNK);
    gb_tensor(b, "token_embd.weight", 0, 2, ne_dd, embd, sizeof embd);
    gb_tensor(b, "output_norm.weight", 0, 1, ne_d, ones, sizeof ones);
    gb_tensor(b, "output.weight", 0, 2, ne_dd, out, sizeof out);
#define BLK(suffix, nd, ne, data, bytes) \
    snprintf(name, sizeof name, "blk.0.%s.weight", suffix); gb_tensor(b, name, 0, nd, ne, data, bytes);
    BLK("attn_norm", 1, ne_d, ones, sizeof ones)
    BLK("attn_q", 2, ne_dd, zeros_dd, sizeof zeros_dd)
    BLK("attn_k", 2, ne_dd, zeros_dd, sizeof zeros_dd)
    BLK("attn_v", 2, ne_dd, zeros_dd, sizeof zeros_dd)
    BLK("attn_output", 2, ne_dd, zeros_dd, sizeof zeros_dd)
    BLK("ffn_norm", 1, ne_d, ones, sizeof ones)
    BLK("ffn_gate", 2, ne_fd, zeros_fd, sizeof zeros_fd)
    BLK("ffn_up", 2, ne_fd, zeros_fd, sizeof zeros_fd)
    BLK("ffn_down", 2, ne_df, zeros_fd, sizeof zeros_fd)
#undef BLK
    bytes = gb_finish(b, size);
    gb_free(b);
    return bytes;
}

static void build_model(void) { g_file = build_model_bytes(0, &g_size); }

/* One generation run's outcome. */
typedef struct run_out {
    char text[512];
    int len;
    int tokens[64];
    int n_tokens;
    int steps;
    int last_stop;
    mllm_status last_status;
    int max_step_len; /* longest text of one step */
    int step_len[64];
} run_out;

typedef struct run_cfg {
    int prompt;
    int max_tokens, ignore_eos;
    const char *stops[4];
    int n_ctx;
    float penalty;
    int window;
} run_cfg;

/* Prompt, then step until a stop reason or an error; every step's text is appended. */
static void run(const run_cfg *cfg, run_out *o) {
    mllm_context_params cp;
    mllm_context *ctx = NULL;
    mllm_sampler_params sp;
    mllm_sampler *smp = NULL;
    mllm_generator_params gp;
    mllm_generator *g = NULL;
    mllm_error err;
    int32_t prompt = cfg->prompt;
    int i;
    memset(o, 0, sizeof *o);
    mllm_context_params_init(&cp);
    cp.n_ctx = cfg->n_ctx ? cfg->n_ctx : 64;
    cp.n_batch = 16;
    CHECK_EQ_INT(mllm_context_new(g_model, &cp, &ctx, &err), MLLM_OK);
    mllm_sampler_params_init(&sp);
    sp.temperature = 0.0f; /* greedy: the table decides */
    sp.repeat_penalty = cfg->penalty > 0 ? cfg->penalty : 1.0f;
    sp.repeat_last_n = cfg->window;
    CHECK_EQ_INT(mllm_sampler_new(NV, &sp, &smp, &err), MLLM_OK);
    memset(&gp, 0, sizeof gp);
    gp.max_tokens = cfg->max_tokens;
    gp.ignore_eos = cfg->ignore_eos;
    CHECK_EQ_INT(mllm_generator_new(ctx, smp, &gp, &g, &err), MLLM_OK);
    if (!g) goto done;
    for (i = 0; i < 4 && cfg->stops[i]; i++)
        CHECK_EQ_INT(mllm_generator_add_stop(g, cfg->stops[i], (int32_t)strlen(cfg->stops[i]), &err), MLLM_OK);
    CHECK_EQ_INT(mllm_eval(ctx, &prompt, 1, 0, &err), MLLM_OK);
    for (o->steps = 0; o->steps < 60; o->steps++) {
        mllm_step_result r;
        mllm_status st = mllm_generator_step(g, &r, &err);
        const char *t = mllm_generator_text(g);
        CHECK(r.text_len >= 0 && o->len + r.text_len < (int)sizeof o->text);
        CHECK_EQ_INT((int)strlen(t), r.text_len); /* NUL-terminated, no embedded NUL here */
        memcpy(o->text + o->len, t, (size_t)r.text_len);
        o->len += r.text_len;
        o->step_len[o->steps] = r.text_len;
        if (r.text_len > o->max_step_len) o->max_step_len = r.text_len;
        if (r.token >= 0) o->tokens[o->n_tokens++] = r.token;
        CHECK_EQ_INT(r.n_generated, o->n_tokens);
        o->last_stop = r.stop;
        o->last_status = st;
        if (st != MLLM_OK || r.stop != MLLM_STOP_NONE) {
            o->steps++;
            break;
        }
    }
    o->text[o->len] = 0;
done:
    mllm_generator_free(g);
    mllm_sampler_free(smp);
    mllm_context_free(ctx);
}

#define CHECK_TEXT(o, want)                                                     \
    do {                                                                        \
        CHECK_EQ_INT((o).len, (int)strlen(want));                               \
        if (strcmp((o).text, (want)) != 0) {                                    \
            check_g.cur_failed++;                                               \
            fprintf(stderr, "  FAIL %s:%d: text \"%s\", want \"%s\"\n", __FILE__, __LINE__, (o).text, (want)); \
        }                                                                       \
    } while (0)

static void test_model_loads(void) {
    mllm_model_params mp;
    mllm_error err;
    mllm_model_params_init(&mp);
    build_model();
    CHECK_EQ_INT(mllm_model_load(g_file, g_size, &mp, &g_model, &err), MLLM_OK);
    if (!g_model) {
        fprintf(stderr, "  load: %s\n", err.msg);
        exit(1);
    }
    CHECK(mllm_token_is_eog(g_model, T_EOS));
}

static void test_eos_ends_generation(void) {
    run_cfg c = {T_HELLO, 0, 0, {NULL}, 0, 0, 0};
    run_out o;
    run(&c, &o);
    CHECK_TEXT(o, " world!");
    CHECK_EQ_INT(o.last_stop, MLLM_STOP_EOS);
    CHECK_EQ_INT(o.last_status, MLLM_OK);
    CHECK_EQ_INT(o.n_tokens, 3);
    CHECK_EQ_INT(o.tokens[0], T_WORLD);
    CHECK_EQ_INT(o.tokens[1], T_BANG);
    CHECK_EQ_INT(o.tokens[2], T_EOS);
}

static void test_utf8_split_over_tokens(void) {
    /* "€" arrives as three byte tokens; no step may emit part of it */
    run_cfg c = {T_PRICE, 0, 0, {NULL}, 0, 0, 0};
    run_out o;
    run(&c, &o);
    CHECK_TEXT(o, " 5\xE2\x82\xAC abcd end");
    CHECK_EQ_INT(o.last_stop, MLLM_STOP_EOS);
    CHECK_EQ_INT(o.n_tokens, 9);
    CHECK_EQ_INT(o.step_len[1], 0);  /* <0xE2> */
    CHECK_EQ_INT(o.step_len[2], 0);  /* <0x82> */
    CHECK_EQ_INT(o.step_len[3], 3);  /* <0xAC> completes U+20AC */
}

static void test_stop_string_spanning_tokens(void) {
    run_cfg c = {T_PRICE, 0, 0, {"cd"}, 0, 0, 0};
    run_out o;
    run(&c, &o);
    CHECK_TEXT(o, " 5\xE2\x82\xAC ab");
    CHECK_EQ_INT(o.last_stop, MLLM_STOP_STRING);
    CHECK_EQ_INT(o.n_tokens, 7);     /* ... ab c d: stopped on d */
    CHECK_EQ_INT(o.step_len[4], 3);  /* " ab" is final at once */
    CHECK_EQ_INT(o.step_len[5], 0);  /* "c" held back: it may begin "cd" */
    CHECK_EQ_INT(o.step_len[6], 0);  /* "d" completes the stop string */
}

static void test_multibyte_stop_string(void) {
    run_cfg c = {T_PRICE, 0, 0, {"\xE2\x82\xAC a"}, 0, 0, 0};
    run_out o;
    run(&c, &o);
    CHECK_TEXT(o, " 5");
    CHECK_EQ_INT(o.last_stop, MLLM_STOP_STRING);
    CHECK_EQ_INT(o.n_tokens, 5);     /* the stop completes with " ab" */
    CHECK_EQ_INT(o.step_len[3], 0);  /* "€" held: it begins "€ a" */
}

static void test_overlapping_stop_strings(void) {
    /* " ab" may begin "abx"; "abc" rules that out but "bc" may begin "bcd" */
    run_cfg c = {T_PRICE, 0, 0, {"abx", "bcd"}, 0, 0, 0};
    run_out o;
    run(&c, &o);
    CHECK_TEXT(o, " 5\xE2\x82\xAC a");
    CHECK_EQ_INT(o.last_stop, MLLM_STOP_STRING);
    CHECK_EQ_INT(o.step_len[4], 1);  /* " ab": the space is final, "ab" held */
    CHECK_EQ_INT(o.step_len[5], 1);  /* "c": "a" released, "bc" held */
}

static void test_held_text_released_at_eos(void) {
    /* " end" could begin "end!", so it is held until EOS proves otherwise */
    run_cfg c = {T_PRICE, 0, 0, {"end!"}, 0, 0, 0};
    run_out o;
    run(&c, &o);
    CHECK_TEXT(o, " 5\xE2\x82\xAC abcd end");
    CHECK_EQ_INT(o.last_stop, MLLM_STOP_EOS);
    CHECK_EQ_INT(o.step_len[7], 1);  /* " end" -> " " now, "end" held */
    CHECK_EQ_INT(o.step_len[8], 3);  /* </s>: "end" released */
}

static void test_max_tokens(void) {
    run_cfg c = {T_PRICE, 4, 0, {NULL}, 0, 0, 0};
    run_out o;
    run(&c, &o);
    CHECK_TEXT(o, " 5\xE2\x82\xAC");
    CHECK_EQ_INT(o.last_stop, MLLM_STOP_LENGTH);
    CHECK_EQ_INT(o.n_tokens, 4);
    /* stopping inside a character: the incomplete byte comes out as U+FFFD */
    c.max_tokens = 2;
    run(&c, &o);
    CHECK_TEXT(o, " 5\xEF\xBF\xBD");
    CHECK_EQ_INT(o.last_stop, MLLM_STOP_LENGTH);
    /* stopping while text is held back for a stop string releases it */
    c.max_tokens = 1;
    c.stops[0] = "5\xE2\x82\xAC!";
    run(&c, &o);
    CHECK_TEXT(o, " 5");
    CHECK_EQ_INT(o.last_stop, MLLM_STOP_LENGTH);
}

static void test_ignore_eos(void) {
    run_cfg c = {T_HELLO, 6, 1, {NULL}, 0, 0, 0};
    run_out o;
    run(&c, &o);
    CHECK_TEXT(o, " world! more more"); /* </s> is sampled twice but adds no text */
    CHECK_EQ_INT(o.last_stop, MLLM_STOP_LENGTH);
    CHECK_EQ_INT(o.n_tokens, 6);
    CHECK_EQ_INT(o.tokens[2], T_EOS);
    CHECK_EQ_INT(o.tokens[4], T_EOS);
}

static void test_context_full(void) {
    /* n_ctx 8, one prompt token: 7 tokens are evaluated, the 8th is sampled from the last
     * logits and emitted, and evaluating it is refused */
    run_cfg c = {T_LA, 0, 0, {"la!"}, 8, 0, 0};
    run_out o;
    run(&c, &o);
    CHECK_TEXT(o, " la la la la la la la la");
    CHECK_EQ_INT(o.last_status, MLLM_OK);
    CHECK_EQ_INT(o.last_stop, MLLM_STOP_CONTEXT);
    CHECK_EQ_INT(o.n_tokens, 8);
    CHECK_EQ_INT(o.step_len[7], 3 + 2); /* " la" released with the held "la" of step 7 */
}

static void test_generator_feeds_repetition_window(void) {
    /* la -> la (logit ~8) or di (~4); penalty 2.5 on a 1-token window: 8/2.5 = 3.2 < 4, so la
     * alternates with di only if the generator accepts each sampled token */
    run_cfg c = {T_LA, 5, 0, {NULL}, 0, 2.5f, 1};
    run_out o;
    run(&c, &o);
    CHECK_TEXT(o, " la di la di la");
    c.penalty = 1.0f;
    run(&c, &o);
    CHECK_TEXT(o, " la la la la la");
}

static void test_errors_and_after_stop(void) {
    mllm_context_params cp;
    mllm_context *ctx = NULL;
    mllm_sampler *smp = NULL, *small = NULL;
    mllm_generator *g = NULL;
    mllm_generator_params gp;
    mllm_step_result r;
    mllm_error err;
    int32_t prompt = T_BANG;
    mllm_context_params_init(&cp);
    cp.n_ctx = 16;
    CHECK_EQ_INT(mllm_context_new(g_model, &cp, &ctx, &err), MLLM_OK);
    {
        mllm_sampler_params sp;
        mllm_sampler_params_init(&sp);
        sp.temperature = 0;
        CHECK_EQ_INT(mllm_sampler_new(NV, &sp, &smp, &err), MLLM_OK);
        CHECK_EQ_INT(mllm_sampler_new(NV - 1, &sp, &small, &err), MLLM_OK);
    }
    memset(&gp, 0, sizeof gp);
    CHECK_EQ_INT(mllm_generator_new(ctx, small, &gp, &g, &err), MLLM_ERR_ARG);
    CHECK_CONTAINS(err.msg, "63");
    CHECK(g == NULL);
    CHECK_EQ_INT(mllm_generator_new(NULL, smp, &gp, &g, &err), MLLM_ERR_ARG);
    CHECK_EQ_INT(mllm_generator_new(ctx, smp, NULL, &g, &err), MLLM_OK); /* NULL params: defaults */
    CHECK_EQ_INT(mllm_generator_add_stop(g, "x", 0, &err), MLLM_ERR_ARG);
    CHECK_EQ_INT(mllm_generator_add_stop(g, NULL, 1, &err), MLLM_ERR_ARG);
    /* no eval yet: nothing to sample from */
    CHECK_EQ_INT(mllm_generator_step(g, &r, &err), MLLM_ERR_STATE);
    CHECK_CONTAINS(err.msg, "logits");
    CHECK_EQ_INT(r.token, -1);
    CHECK_EQ_INT(mllm_generator_step(g, NULL, &err), MLLM_ERR_ARG);
    CHECK_EQ_INT(mllm_eval(ctx, &prompt, 1, 0, &err), MLLM_OK);
    CHECK_EQ_INT(mllm_generator_step(g, &r, &err), MLLM_OK); /* "!" -> </s> */
    CHECK_EQ_INT(r.token, T_EOS);
    CHECK_EQ_INT(r.stop, MLLM_STOP_EOS);
    CHECK_EQ_INT(r.n_generated, 1);
    /* after the stop: the same reason again, nothing sampled, nothing evaluated */
    CHECK_EQ_INT(mllm_generator_step(g, &r, &err), MLLM_OK);
    CHECK_EQ_INT(r.token, -1);
    CHECK_EQ_INT(r.stop, MLLM_STOP_EOS);
    CHECK_EQ_INT(r.text_len, 0);
    CHECK_EQ_INT(r.n_generated, 1);
    CHECK_EQ_INT(mllm_n_past(ctx), 1);
    mllm_generator_free(g);
    mllm_generator_free(NULL);
    mllm_sampler_free(smp);
    mllm_sampler_free(small);
    mllm_context_free(ctx);
}

/* Finite weights whose products overflow give a NaN logit: the step fails with a format
 * error naming the token, samples nothing, and every later step repeats the failure (the
 * sampler alone would have weighed the NaN as -inf and picked some other token). */
static void test_nan_logit_stops_generation(void) {
    size_t size;
    uint8_t *bytes = build_model_bytes(1, &size);
    mllm_model *m = NULL;
    mllm_context *ctx = NULL;
    mllm_sampler *smp = NULL;
    mllm_generator *g = NULL;
    mllm_context_params cp;
    mllm_sampler_params sp;
    mllm_step_result r;
    mllm_error err;
    int32_t prompt = T_LA, pass;
    CHECK_EQ_INT(mllm_model_load(bytes, size, NULL, &m, &err), MLLM_OK);
    for (pass = 0; pass < 2 && m; pass++) {
        mllm_context_params_init(&cp);
        cp.n_ctx = 16;
        CHECK_EQ_INT(mllm_context_new(m, &cp, &ctx, &err), MLLM_OK);
        mllm_sampler_params_init(&sp);
        sp.temperature = pass ? 0.8f : 0.0f;
        CHECK_EQ_INT(mllm_sampler_new(NV, &sp, &smp, &err), MLLM_OK);
        CHECK_EQ_INT(mllm_generator_new(ctx, smp, NULL, &g, &err), MLLM_OK);
        CHECK_EQ_INT(mllm_eval(ctx, &prompt, 1, 0, &err), MLLM_OK);
        CHECK(isnan(mllm_logits(ctx, -1)[T_FILL]));
        CHECK_EQ_INT(mllm_generator_step(g, &r, &err), MLLM_ERR_FORMAT);
        CHECK_EQ_INT(err.code, MLLM_ERR_FORMAT);
        CHECK_CONTAINS(err.msg, "NaN logit (token 18)");
        CHECK_EQ_INT(r.token, -1);
        CHECK_EQ_INT(r.stop, MLLM_STOP_NONE);
        CHECK_EQ_INT(r.n_generated, 0);
        CHECK_EQ_INT(mllm_generator_step(g, &r, &err), MLLM_ERR_FORMAT);
        CHECK_EQ_INT(r.token, -1);
        CHECK_EQ_INT(mllm_n_past(ctx), 1);
        /* the greedy sampler on its own still picks the best finite logit, la -> la, and
         * reports the NaN it passed over */
        if (!pass) {
            CHECK_EQ_INT(mllm_sampler_sample(smp, mllm_logits(ctx, -1)), T_LA);
            CHECK_EQ_INT(mllm_sampler_nan_logit(smp), T_FILL);
        }
        mllm_generator_free(g);
        mllm_sampler_free(smp);
        mllm_context_free(ctx);
    }
    mllm_model_free(m);
    free(bytes);
}

int main(void) {
    RUN(test_model_loads);
    RUN(test_eos_ends_generation);
    RUN(test_utf8_split_over_tokens);
    RUN(test_stop_string_spanning_tokens);
    RUN(test_multibyte_stop_string);
    RUN(test_overlapping_stop_strings);
    RUN(test_held_text_released_at_eos);
    RUN(test_max_tokens);
    RUN(test_ignore_eos);
    RUN(test_context_full);
    RUN(test_generator_feeds_repetition_window);
    RUN(test_errors_and_after_stop);
    RUN(test_nan_logit_stops_generation);
    mllm_model_free(g_model);
    free(g_file);
    return check_summary("generator");
}
