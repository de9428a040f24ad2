/* test_model.c — loading: hyperparameters and info, zero-copy weight views, the sharing
 * schedule, and every loader error with its one-sentence message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "tiny_model.h"
#include "kernels.h"
#include "model.h"
#include "mobilellm.h"

/* Load the model `s` describes (weights from seed 1). Returns the status; the message in
 * *err. On success the model is returned through *out (with its bytes, owned by it). */
static mllm_status load_spec(const tm_spec *s, mllm_model **out, mllm_error *err) {
    tm_weights *w = tm_weights_new(s, 1);
    size_t size;
    uint8_t *bytes = tm_build(s, w, &size);
    mllm_model_params p;
    mllm_model *m = NULL;
    mllm_status st;
    tm_weights_free(w);
    mllm_model_params_init(&p);
    p.take_ownership = 1;
    st = mllm_model_load(bytes, size, &p, &m, err);
    if (st != MLLM_OK) free(bytes); /* a failed load leaves the bytes with the caller */
    if (out) *out = m;
    else mllm_model_free(m);
    return st;
}

/* Expect loading `s` to fail with `code` and a message containing `needle`. */
static void expect_fail(const tm_spec *s, mllm_status code, const char *needle) {
    mllm_error err;
    mllm_model *m = (mllm_model *)(uintptr_t)1;
    mllm_status st = load_spec(s, &m, &err);
    CHECK_EQ_INT(st, code);
    CHECK_EQ_INT(err.code, code);
    CHECK(m == NULL);
    CHECK_CONTAINS(err.msg, needle);
}

static void test_default_model_loads_with_expected_info(void) {
    tm_spec s = tm_default();
    mllm_model *m = NULL;
    mllm_error err;
    mllm_model_info info;
    int32_t len = -1;
    const char *name;
    int64_t per_block;
    s.repeat = 2;
    s.mode = "reverse";
    s.tied = 0;
    CHECK_EQ_INT(load_spec(&s, &m, &err), MLLM_OK);
    if (!m) return;
    mllm_model_get_info(m, &info);
    CHECK_EQ_INT(info.n_vocab, 64);
    CHECK_EQ_INT(info.n_embd, 32);
    CHECK_EQ_INT(info.n_ff, 48);
    CHECK_EQ_INT(info.n_head, 4);
    CHECK_EQ_INT(info.n_head_kv, 2);
    CHECK_EQ_INT(info.head_dim, 8);
    CHECK_EQ_INT(info.n_layer_stored, 3);
    CHECK_EQ_INT(info.n_layer_effective, 6);
    CHECK_EQ_INT(info.share_repeat, 2);
    CHECK_EQ_INT(info.share_mode, 2);
    CHECK_EQ_INT(info.n_ctx_train, 64);
    CHECK_EQ_INT(info.weight_type, MLLM_DTYPE_F32);
    CHECK_EQ_INT(info.tied_embeddings, 0);
    CHECK_EQ_INT(info.bos_id, 1);
    CHECK_EQ_INT(info.eos_id, 2);
    CHECK_EQ_INT(info.tokenizer_kind, 0);
    CHECK_NEAR(info.rope_theta, 10000.0, 0);
    CHECK_NEAR(info.rms_eps, 1e-5, 1e-12);
    /* stored parameters: shared blocks counted once */
    per_block = 32 + 32 * 32 + 2 * 32 * 16 + 32 * 32 + 32 + 3 * 32 * 48;
    CHECK_EQ_INT(info.n_params, 64 * 32 + 32 + 64 * 32 + 3 * per_block);
    CHECK_EQ_INT(info.weight_bytes, 4 * info.n_params);
    name = mllm_model_meta_str(m, "general.name", &len);
    CHECK(name && len == 15 && !memcmp(name, "tiny test model", 15));
    CHECK(mllm_model_meta_str(m, "llama.block_count", &len) == NULL); /* not a string */
    CHECK(mllm_model_meta_str(m, "no.such.key", &len) == NULL);
    mllm_model_free(m);
}

static void test_schedule_maps_effective_layers_to_stored_blocks(void) {
    static const int32_t want_imm[6] = {0, 0, 1, 1, 2, 2}, want_all[6] = {0, 1, 2, 0, 1, 2},
                         want_rev[6] = {0, 1, 2, 2, 1, 0}, want_rev3[9] = {0, 1, 2, 2, 1, 0, 0, 1, 2};
    int l;
    for (l = 0; l < 6; l++) {
        CHECK_EQ_INT(model_layer_block(l, 3, 2, MLLM_SHARE_IMMEDIATE), want_imm[l]);
        CHECK_EQ_INT(model_layer_block(l, 3, 2, MLLM_SHARE_REPEAT_ALL), want_all[l]);
        CHECK_EQ_INT(model_layer_block(l, 3, 2, MLLM_SHARE_REVERSE), want_rev[l]);
    }
    for (l = 0; l < 9; l++) CHECK_EQ_INT(model_layer_block(l, 3, 3, MLLM_SHARE_REVERSE), want_rev3[l]);
}

/* Weight views point into the loaded bytes (zero copy); shared layers share one block. */
static void test_weights_are_views_and_shared_blocks_are_not_copied(void) {
    tm_spec s = tm_default();
    tm_weights *w;
    uint8_t *bytes;
    size_t size;
    mllm_model *m = NULL;
    mllm_error err;
    int l, i;
    s.repeat = 2;
    s.mode = "immediate";
    w = tm_weights_new(&s, 3);
    bytes = tm_build(&s, w, &size);
    CHECK_EQ_INT(mllm_model_load(bytes, size, NULL, &m, &err), MLLM_OK);
    if (m) {
        const gguf_tensor *t = gguf_find_tensor(&m->gguf, "blk.1.attn_q.weight");
        CHECK_EQ_INT(m->hp.n_layer_eff, 6);
        for (l = 0; l < 6; l++) CHECK_EQ_INT(m->layer_block[l], l / 2);
        CHECK(m->blocks[1].wq == t);
        CHECK(t->data >= bytes && t->data + t->nbytes <= bytes + size);
        CHECK(memcmp(t->data, w->blk[1].wq, t->nbytes) == 0);
        CHECK(m->tied && m->output == m->tok_embd);
        CHECK(m->tok_embd->data >= bytes && m->tok_embd->data < bytes + size);
        for (i = 0; i < 3; i++) CHECK(m->blocks[i].w_down->data >= bytes && m->blocks[i].w_down->data < bytes + size);
        mllm_model_free(m);
    }
    free(bytes); /* not take_ownership: still ours */
    tm_weights_free(w);
}

static void test_mobilellm_architecture_and_f16_norms_are_accepted(void) {
    tm_spec s = tm_default();
    mllm_model *m = NULL;
    mllm_error err;
    s.arch = "mobilellm";
    s.norm_type = MLLM_DTYPE_F16;
    s.wtype = MLLM_DTYPE_Q8_0;
    CHECK_EQ_INT(load_spec(&s, &m, &err), MLLM_OK);
    if (m) {
        mllm_model_info info;
        mllm_model_get_info(m, &info);
        CHECK_EQ_INT(info.weight_type, MLLM_DTYPE_Q8_0);
        CHECK_EQ_INT(info.n_layer_effective, 3);
        CHECK_EQ_INT(info.share_mode, 0);
        mllm_model_free(m);
    }
}

static void test_architecture_errors(void) {
    tm_spec s = tm_default();
    s.arch = NULL;
    expect_fail(&s, MLLM_ERR_MISSING, "missing metadata key 'general.architecture'");
    s.arch = "gpt2";
    expect_fail(&s, MLLM_ERR_UNSUPPORTED, "architecture 'gpt2' is not llama-compatible");
    s.arch = "qwen2";
    expect_fail(&s, MLLM_ERR_UNSUPPORTED, "architecture 'qwen2' is not llama-compatible");
}

static void test_each_required_key_missing_is_named(void) {
    static const char *keys[] = {
        "llama.block_count", "llama.context_length", "llama.embedding_length", "llama.feed_forward_length",
        "llama.attention.head_count", "llama.attention.layer_norm_rms_epsilon",
    };
    size_t i;
    char want[128];
    for (i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        tm_spec s = tm_default();
        s.omit = keys[i];
        snprintf(want, sizeof want, "missing metadata key '%s'", keys[i]);
        expect_fail(&s, MLLM_ERR_MISSING, want);
    }
}

static void test_optional_keys_take_llama_defaults(void) {
    /* without head_count_kv (-> head_count, so the k/v shapes must then be [32, 32]) the
     * file's [32, 16] tensors are reported; without freq_base/rope dims it loads. */
    tm_spec s = tm_default();
    mllm_model *m = NULL;
    mllm_error err;
    s.omit = "llama.attention.head_count_kv";
    expect_fail(&s, MLLM_ERR_FORMAT, "tensor 'blk.0.attn_k.weight' has shape [32, 16, 1, 1], expected [32, 32]");
    s.omit = "llama.rope.freq_base";
    CHECK_EQ_INT(load_spec(&s, &m, &err), MLLM_OK);
    if (m) { CHECK_NEAR(m->hp.rope_theta, 10000.0, 0); mllm_model_free(m); }
    s.omit = "llama.rope.dimension_count";
    CHECK_EQ_INT(load_spec(&s, &m, &err), MLLM_OK);
    if (m) { CHECK_EQ_INT(m->hp.n_rot, 8); mllm_model_free(m); }
}

static void test_each_missing_tensor_is_named(void) {
    static const char *names[] = {"token_embd.weight", "output_norm.weight", "blk.0.attn_norm.weight",
                                  "blk.1.attn_q.weight", "blk.2.attn_k.weight", "blk.0.attn_v.weight",
                                  "blk.1.attn_output.weight", "blk.2.ffn_norm.weight", "blk.0.ffn_gate.weight",
                                  "blk.1.ffn_up.weight", "blk.2.ffn_down.weight"};
    size_t i;
    char want[128];
    for (i = 0; i < sizeof names / sizeof names[0]; i++) {
        tm_spec s = tm_default();
        s.omit = names[i];
        snprintf(want, sizeof want, "missing tensor '%s'", names[i]);
        expect_fail(&s, MLLM_ERR_MISSING, want);
    }
}

/* Write the default model with one tensor replaced by a wrongly shaped one. */
static void expect_shape_error(const char *name, int64_t ne0, int64_t ne1, int n_dims, uint32_t type,
                               mllm_status code, const char *needle) {
    tm_spec s = tm_default();
    tm_weights *w = tm_weights_new(&s, 1);
    gguf_builder *b = gb_new(32);
    int64_t ne[2];
    size_t size, nbytes = (size_t)(ne0 * ne1) * (type == MLLM_DTYPE_F32 ? 4 : type == MLLM_DTYPE_Q8_0 ? 1 : 2);
    uint8_t *bytes;
    mllm_model *m = NULL;
    mllm_error err;
    mllm_status st;
    if (type == MLLM_DTYPE_Q8_0) nbytes = (size_t)(ne0 * ne1 / 32) * sizeof(block_q8_0);
    s.omit = name;
    tm_write(b, &s, w);
    ne[0] = ne0;
    ne[1] = ne1;
    gb_tensor(b, name, type, (uint32_t)n_dims, ne, NULL, nbytes);
    bytes = gb_finish(b, &size);
    st = mllm_model_load(bytes, size, NULL, &m, &err);
    CHECK_EQ_INT(st, code);
    CHECK(m == NULL);
    CHECK_CONTAINS(err.msg, needle);
    mllm_model_free(m);
    free(bytes);
    gb_free(b);
    tm_weights_free(w);
}

static void test_tensor_shapes_are_checked_against_hparams(void) {
    expect_shape_error("blk.1.attn_k.weight", 32, 32, 2, MLLM_DTYPE_F32, MLLM_ERR_FORMAT,
                       "tensor 'blk.1.attn_k.weight' has shape [32, 32, 1, 1], expected [32, 16]");
    expect_shape_error("blk.2.ffn_down.weight", 32, 48, 2, MLLM_DTYPE_F32, MLLM_ERR_FORMAT,
                       "tensor 'blk.2.ffn_down.weight' has shape [32, 48, 1, 1], expected [48, 32]");
    expect_shape_error("blk.0.attn_norm.weight", 16, 1, 1, MLLM_DTYPE_F32, MLLM_ERR_FORMAT,
                       "tensor 'blk.0.attn_norm.weight' has shape [16, 1, 1, 1], expected [32]");
    expect_shape_error("output_norm.weight", 32, 2, 2, MLLM_DTYPE_F32, MLLM_ERR_FORMAT,
                       "tensor 'output_norm.weight' has shape [32, 2, 1, 1], expected [32]");
    /* token_embd defines the vocabulary; the declared vocab_size (64) must agree with it */
    expect_shape_error("token_embd.weight", 32, 60, 2, MLLM_DTYPE_F32, MLLM_ERR_FORMAT,
                       "llama.vocab_size is 64 but token_embd.weight has 60 rows");
    expect_shape_error("token_embd.weight", 16, 64, 2, MLLM_DTYPE_F32, MLLM_ERR_FORMAT,
                       "tensor 'token_embd.weight' has shape [16, 64, 1, 1], expected [32, 64]");
}

static void test_norm_weights_must_be_float(void) {
    expect_shape_error("blk.1.ffn_norm.weight", 32, 1, 1, MLLM_DTYPE_Q8_0, MLLM_ERR_UNSUPPORTED,
                       "norm weight 'blk.1.ffn_norm.weight' has type Q8_0");
}

static void test_untied_output_shape_is_checked(void) {
    tm_spec s = tm_default();
    s.n_vocab = 64;
    s.tied = 0;
    s.omit = "output.weight"; /* omitting it just makes the model tied */
    {
        mllm_model *m = NULL;
        mllm_error err;
        CHECK_EQ_INT(load_spec(&s, &m, &err), MLLM_OK);
        if (m) { CHECK(m->tied); mllm_model_free(m); }
    }
    expect_shape_error("output.weight", 32, 63, 2, MLLM_DTYPE_F32, MLLM_ERR_FORMAT,
                       "tensor 'output.weight' has shape [32, 63, 1, 1], expected [32, 64]");
}

static void test_head_layout_errors(void) {
    tm_spec s = tm_default();
    s.n_head_kv = 3; /* 4 % 3 != 0 */
    expect_fail(&s, MLLM_ERR_FORMAT, "head_count 4 is not a multiple of head_count_kv 3");
    s = tm_default();
    s.n_embd = 40;
    s.n_head = 8; /* head_dim 5 */
    s.n_head_kv = 4;
    expect_fail(&s, MLLM_ERR_FORMAT, "head dimension 5 must be even");
}

static void test_vocab_must_match_tokenizer(void) {
    tm_spec s = tm_default();
    s.tok_vocab = 60;
    expect_fail(&s, MLLM_ERR_FORMAT, "the tokenizer has 60 tokens but token_embd.weight has 64 rows");
}

static void test_layer_share_keys_are_validated(void) {
    tm_spec s = tm_default();
    gguf_builder *b;
    tm_weights *w;
    uint8_t *bytes;
    size_t size;
    mllm_model *m = NULL;
    mllm_error err;

    s.repeat = 0; /* key omitted: default 1 */
    CHECK_EQ_INT(load_spec(&s, &m, &err), MLLM_OK);
    if (m) { CHECK_EQ_INT(m->hp.share_repeat, 1); CHECK_EQ_INT(m->hp.n_layer_eff, 3); mllm_model_free(m); }
    s.repeat = 17;
    expect_fail(&s, MLLM_ERR_FORMAT, "mobilellm.layer_share.repeat is 17; it must be between 1 and 16");
    s.repeat = 2;
    s.mode = "zigzag";
    expect_fail(&s, MLLM_ERR_UNSUPPORTED, "layer-sharing mode 'zigzag' is not supported");
    s.mode = "repeat_all";
    CHECK_EQ_INT(load_spec(&s, &m, &err), MLLM_OK);
    if (m) { CHECK_EQ_INT(m->hp.share_mode, MLLM_SHARE_REPEAT_ALL); CHECK_EQ_INT(m->layer_block[4], 1); mllm_model_free(m); }

    /* repeat = 0 written explicitly */
    s = tm_default();
    s.repeat = 0;
    w = tm_weights_new(&s, 1);
    b = gb_new(32);
    tm_write(b, &s, w);
    gb_kv_u32(b, "mobilellm.layer_share.repeat", 0);
    bytes = gb_finish(b, &size);
    CHECK_EQ_INT(mllm_model_load(bytes, size, NULL, &m, &err), MLLM_ERR_FORMAT);
    CHECK_CONTAINS(err.msg, "mobilellm.layer_share.repeat is 0; it must be between 1 and 16");
    free(bytes);
    gb_free(b);
    tm_weights_free(w);
}

/* Extra metadata for a llama4 / layer-pattern file: the keys named in `kv`, each written when
 * its value is >= 0 (u32), plus rope.layers from `rope` (n entries, bool; NULL: none). */
typedef struct extra_keys {
    int64_t window, experts, moe_step, temp_length;
    float temp_scale;
    const uint8_t *rope;
    int n_rope;
    uint32_t rope_type; /* GB_BOOL or GB_I32 */
    float rope_swa;     /* rope.freq_base_swa when != 0 */
    int qk_norm;        /* attention.qk_norm: 0 absent, 1 false, 2 true, 3 an f32 (a wrong type) */
    const uint8_t *swa; /* attention.sliding_window_pattern (n_rope entries, bool) when set */
} extra_keys;

static mllm_status load_with(const tm_spec *s, const extra_keys *x, mllm_model **out, mllm_error *err) {
    tm_weights *w = tm_weights_new(s, 1);
    gguf_builder *b = gb_new(32);
    mllm_model_params p;
    uint8_t *bytes;
    size_t size;
    mllm_status st;
    char key[96];
    tm_write(b, s, w);
#define AK(suffix) (snprintf(key, sizeof key, "%s.%s", s->arch, suffix), key)
    if (x->window >= 0) gb_kv_u32(b, AK(GGUF_ARCH_SLIDING_WINDOW), (uint32_t)x->window);
    if (x->experts >= 0) gb_kv_u32(b, AK(GGUF_ARCH_EXPERT_COUNT), (uint32_t)x->experts);
    if (x->moe_step >= 0) gb_kv_u32(b, AK(GGUF_ARCH_INTERLEAVE_MOE_LAYER_STEP), (uint32_t)x->moe_step);
    if (x->temp_scale != 0.0f) gb_kv_f32(b, AK(GGUF_ARCH_TEMPERATURE_SCALE), x->temp_scale);
    if (x->temp_length >= 0) gb_kv_u32(b, AK(GGUF_ARCH_TEMPERATURE_LENGTH), (uint32_t)x->temp_length);
    if (x->rope_swa != 0.0f) gb_kv_f32(b, AK(GGUF_ARCH_ROPE_FREQ_BASE_SWA), x->rope_swa);
    if (x->qk_norm == 1 || x->qk_norm == 2) gb_kv_bool(b, AK(GGUF_ARCH_QK_NORM), x->qk_norm == 2);
    if (x->qk_norm == 3) gb_kv_f32(b, AK(GGUF_ARCH_QK_NORM), 1.0f);
    if (x->swa) {
        int i;
        gb_kv_arr_head_(b, AK(GGUF_ARCH_SLIDING_WINDOW_PATTERN), GB_BOOL, (uint64_t)x->n_rope);
        for (i = 0; i < x->n_rope; i++) gb_buf_u8(&b->kv, x->swa[i]);
    }
#undef AK
    if (x->rope) {
        int i;
        gb_kv_arr_head_(b, GGUF_KEY_ROPE_LAYERS, x->rope_type, (uint64_t)x->n_rope);
        for (i = 0; i < x->n_rope; i++) {
            if (x->rope_type == GB_BOOL) gb_buf_u8(&b->kv, x->rope[i]);
            else gb_buf_u32(&b->kv, x->rope[i]);
        }
    }
    bytes = gb_finish(b, &size);
    gb_free(b);
    tm_weights_free(w);
    mllm_model_params_init(&p);
    p.take_ownership = 1;
    *out = NULL;
    st = mllm_model_load(bytes, size, &p, out, err);
    if (st != MLLM_OK) free(bytes);
    return st;
}

static void expect_fail_with(const tm_spec *s, const extra_keys *x, mllm_status code, const char *needle) {
    mllm_model *m = NULL;
    mllm_error err;
    CHECK_EQ_INT(load_with(s, x, &m, &err), code);
    CHECK(m == NULL);
    CHECK_CONTAINS(err.msg, needle);
}

/* llama4 as llama.cpp's converter writes MobileLLM-R1 (expert_count 1, interleave_moe_layer_step 0,
 * attention.sliding_window 0) loads with q/k norm and RoPE on every layer; Llama 4's MoE and
 * chunked-attention forms are refused by name. */
static void test_llama4_dense_layout_loads_and_moe_or_chunked_is_refused(void) {
    tm_spec s = tm_default();
    extra_keys x = {.window = 0, .experts = 1, .moe_step = 0, .temp_length = -1};
    mllm_model *m = NULL;
    mllm_error err;
    int i;
    s.arch = "llama4";
    CHECK_EQ_INT(load_with(&s, &x, &m, &err), MLLM_OK);
    if (m) {
        CHECK_EQ_INT(m->hp.qk_norm, 1);
        for (i = 0; i < m->hp.n_layer_stored; i++) CHECK_EQ_INT(m->blocks[i].rope, 1);
        CHECK(m->hp.attn_temp_scale == 0.0f);
        mllm_model_free(m);
    }
    x.experts = -1; /* absent: dense */
    CHECK_EQ_INT(load_with(&s, &x, &m, &err), MLLM_OK);
    mllm_model_free(m);
    x.window = -1;
    expect_fail_with(&s, &x, MLLM_ERR_UNSUPPORTED, "llama4 file has no attention.sliding_window 0");
    x.window = 8192;
    expect_fail_with(&s, &x, MLLM_ERR_UNSUPPORTED, "attention.sliding_window 8192: Llama 4's chunked attention");
    x.window = 0;
    x.experts = 16;
    expect_fail_with(&s, &x, MLLM_ERR_UNSUPPORTED, "llama4 file has 16 experts");
    x.experts = 1;
    x.moe_step = 1;
    expect_fail_with(&s, &x, MLLM_ERR_UNSUPPORTED, "interleave_moe_layer_step 1");

    /* llama files keep plain attention */
    s.arch = "llama";
    x.moe_step = -1;
    CHECK_EQ_INT(load_with(&s, &x, &m, &err), MLLM_OK);
    if (m) { CHECK_EQ_INT(m->hp.qk_norm, 0); mllm_model_free(m); }
}

/* mobilellm-p1 (MobileLLM-Pro): the window on the blocks its pattern marks, the windowed blocks'
 * own RoPE base (rope.freq_base otherwise) and q/k norm only where attention.qk_norm says so;
 * other architectures ignore both keys. */
static void test_mobilellm_p1_keys(void) {
    tm_spec s = tm_default();
    const uint8_t swa[3] = {0, 1, 0};
    extra_keys x = {.window = 16, .experts = -1, .moe_step = -1, .temp_length = -1, .n_rope = 3, .swa = swa};
    mllm_model *m = NULL;
    mllm_error err;
    s.arch = GGUF_ARCHITECTURE_MOBILELLM_P1;
    CHECK_EQ_INT(load_with(&s, &x, &m, &err), MLLM_OK);
    if (m) {
        CHECK_EQ_INT(m->hp.n_swa, 16);
        CHECK_EQ_INT(m->blocks[0].swa, 0);
        CHECK_EQ_INT(m->blocks[1].swa, 1);
        CHECK_EQ_INT(m->blocks[2].swa, 0);
        CHECK(m->hp.rope_theta_swa == m->hp.rope_theta);
        CHECK_EQ_INT(m->hp.qk_norm, 0);
        mllm_model_free(m);
    }
    x.rope_swa = 100.0f;
    x.qk_norm = 2;
    CHECK_EQ_INT(load_with(&s, &x, &m, &err), MLLM_OK);
    if (m) {
        CHECK(m->hp.rope_theta_swa == 100.0f && m->hp.rope_theta == 10000.0f);
        CHECK_EQ_INT(m->hp.qk_norm, 1);
        mllm_model_free(m);
    }
    x.qk_norm = 1;
    CHECK_EQ_INT(load_with(&s, &x, &m, &err), MLLM_OK);
    if (m) { CHECK_EQ_INT(m->hp.qk_norm, 0); mllm_model_free(m); }
    x.qk_norm = 3;
    expect_fail_with(&s, &x, MLLM_ERR_FORMAT, "mobilellm-p1.attention.qk_norm' has type FLOAT32, expected a bool");
    x.qk_norm = 0;
    x.rope_swa = -1.0f;
    expect_fail_with(&s, &x, MLLM_ERR_FORMAT, "mobilellm-p1.rope.freq_base_swa' (-1) must be a finite value > 0");
    /* a llama file with the same keys: neither applies */
    s.arch = "llama";
    x.rope_swa = 100.0f;
    x.qk_norm = 2;
    CHECK_EQ_INT(load_with(&s, &x, &m, &err), MLLM_OK);
    if (m) {
        CHECK(m->hp.rope_theta_swa == m->hp.rope_theta);
        CHECK_EQ_INT(m->hp.qk_norm, 0);
        CHECK_EQ_INT(m->blocks[1].swa, 1);
        mllm_model_free(m);
    }
}

/* mobilellm.rope.layers sets each stored block's RoPE on/off; temperature keys are read and checked. */
static void test_rope_layer_pattern_and_temperature_keys(void) {
    tm_spec s = tm_default();
    const uint8_t pattern[3] = {1, 0, 1}, bad[3] = {1, 2, 1};
    extra_keys x = {.window = -1, .experts = -1, .moe_step = -1, .temp_length = -1, .rope = pattern, .n_rope = 3,
                    .rope_type = GB_BOOL};
    mllm_model *m = NULL;
    mllm_error err;
    CHECK_EQ_INT(load_with(&s, &x, &m, &err), MLLM_OK);
    if (m) {
        CHECK_EQ_INT(m->blocks[0].rope, 1);
        CHECK_EQ_INT(m->blocks[1].rope, 0);
        CHECK_EQ_INT(m->blocks[2].rope, 1);
        mllm_model_free(m);
    }
    x.rope_type = GB_I32;
    x.temp_scale = 0.1f;
    x.temp_length = 8192;
    CHECK_EQ_INT(load_with(&s, &x, &m, &err), MLLM_OK);
    if (m) {
        CHECK_EQ_INT(m->blocks[1].rope, 0);
        CHECK(m->hp.attn_temp_scale == 0.1f);
        CHECK_EQ_INT(m->hp.attn_temp_length, 8192);
        mllm_model_free(m);
    }
    x.temp_length = -1;
    expect_fail_with(&s, &x, MLLM_ERR_MISSING, "llama.attention.temperature_length");
    x.temp_scale = 0.0f;
    x.n_rope = 2;
    expect_fail_with(&s, &x, MLLM_ERR_FORMAT, "mobilellm.rope.layers has 2 entries for 3 blocks");
    x.n_rope = 3;
    x.rope = bad;
    expect_fail_with(&s, &x, MLLM_ERR_FORMAT, "mobilellm.rope.layers entry 1 is 2, not 0 or 1");
}

static void test_damaged_file_and_bad_arguments(void) {
    tm_spec s = tm_default();
    tm_weights *w = tm_weights_new(&s, 1);
    size_t size;
    uint8_t *bytes = tm_build(&s, w, &size);
    mllm_model *m = NULL;
    mllm_error err;
    /* cut inside the tensor data: the GGUF reader reports it, the loader passes it on */
    CHECK_EQ_INT(mllm_model_load(bytes, size - 100, NULL, &m, &err), MLLM_ERR_FORMAT);
    CHECK(m == NULL);
    CHECK(err.msg[0] != '\0');
    CHECK_EQ_INT(mllm_model_load(NULL, size, NULL, &m, &err), MLLM_ERR_ARG);
    CHECK_EQ_INT(mllm_model_load(bytes, size, NULL, NULL, &err), MLLM_ERR_ARG);
    mllm_model_free(NULL); /* harmless */
    free(bytes);
    tm_weights_free(w);
}

/* Write fp16 `bits` as the scale of Q8_0 block `block` (-1: every block) of tensor `name`
 * in a built model file. */
static void poke_q8_scale(uint8_t *bytes, size_t size, const char *name, int64_t block, uint16_t bits) {
    gguf_file g;
    mllm_error err;
    const gguf_tensor *t;
    int64_t b, first, end;
    CHECK_EQ_INT(gguf_parse(&g, bytes, size, &err), MLLM_OK);
    t = gguf_find_tensor(&g, name);
    CHECK(t != NULL && t->type == MLLM_DTYPE_Q8_0);
    if (t) {
        first = block < 0 ? 0 : block;
        end = block < 0 ? t->n_elems / MLLM_QK8_0 : block + 1;
        for (b = first; b < end; b++) memcpy((uint8_t *)(uintptr_t)t->data + b * sizeof(block_q8_0), &bits, 2);
    }
    gguf_free(&g);
}

/* A Q8_0 scale of inf or nan (fp16 exponent all ones) would make every output nan: the
 * loader names the tensor and block instead. */
static void test_non_finite_q8_0_scale_is_a_damaged_file(void) {
    static const uint16_t bad[3] = {0x7c00, 0xfc00, 0x7e01}; /* inf, -inf, nan */
    int i;
    for (i = 0; i < 3; i++) {
        tm_spec s = tm_default();
        tm_weights *w;
        size_t size;
        uint8_t *bytes;
        mllm_error err;
        mllm_model *m = NULL;
        s.wtype = MLLM_DTYPE_Q8_0;
        w = tm_weights_new(&s, 1);
        bytes = tm_build(&s, w, &size);
        poke_q8_scale(bytes, size, "blk.1.ffn_up.weight", 5, bad[i]);
        CHECK_EQ_INT(mllm_model_load(bytes, size, NULL, &m, &err), MLLM_ERR_FORMAT);
        CHECK(m == NULL);
        CHECK_CONTAINS(err.msg, "tensor 'blk.1.ffn_up.weight' block 5 has a Q8_0 scale that is inf or nan");
        free(bytes);
        tm_weights_free(w);
    }
}

/* Write the raw element bits `bits` (4 bytes for F32, 2 for F16/BF16) at element `elem` of
 * tensor `name` in a built model file. */
static void poke_elem(uint8_t *bytes, size_t size, const char *name, int64_t elem, uint32_t bits) {
    gguf_file g;
    mllm_error err;
    const gguf_tensor *t;
    CHECK_EQ_INT(gguf_parse(&g, bytes, size, &err), MLLM_OK);
    t = gguf_find_tensor(&g, name);
    CHECK(t != NULL && elem < t->n_elems);
    if (t && elem < t->n_elems) {
        uint8_t *p = (uint8_t *)(uintptr_t)t->data;
        if (t->type == MLLM_DTYPE_F32) memcpy(p + 4 * elem, &bits, 4);
        else {
            uint16_t h = (uint16_t)bits;
            memcpy(p + 2 * elem, &h, 2);
        }
    }
    gguf_free(&g);
}

/* An inf or nan anywhere in an F32, F16 or BF16 weight (a norm, a matrix, the embedding,
 * the untied head; first, middle or last element) is refused naming the tensor and element;
 * the largest finite values are not. Bit patterns per IEEE 754 binary32/binary16 and bfloat16. */
static void test_non_finite_float_weights_are_a_damaged_file(void) {
    static const struct { uint32_t type, inf, ninf, nan, max; } k[3] = {
        {MLLM_DTYPE_F32, 0x7f800000u, 0xff800000u, 0x7fc00001u, 0x7f7fffffu},
        {MLLM_DTYPE_F16, 0x7c00u, 0xfc00u, 0x7e01u, 0x7bffu},
        {MLLM_DTYPE_BF16, 0x7f80u, 0xff80u, 0x7fc1u, 0x7f7fu}};
    static const struct { const char *name; int64_t elem; } where[5] = {
        {"blk.2.attn_norm.weight", 0}, {"blk.1.ffn_down.weight", 48 * 32 - 1}, {"token_embd.weight", 1000},
        {"output.weight", 64 * 32 - 1}, {"output_norm.weight", 31}};
    int i, j, v;
    for (i = 0; i < 3; i++) {
        for (j = 0; j < 5; j++) {
            tm_spec s = tm_default();
            tm_weights *w;
            size_t size;
            uint8_t *bytes;
            mllm_error err;
            mllm_model *m = NULL;
            char want[160];
            s.wtype = s.norm_type = s.embd_type = k[i].type;
            s.tied = 0;
            w = tm_weights_new(&s, 1);
            bytes = tm_build(&s, w, &size);
            for (v = 0; v < 4; v++) {
                uint32_t bits = v == 0 ? k[i].inf : v == 1 ? k[i].ninf : v == 2 ? k[i].nan : k[i].max;
                poke_elem(bytes, size, where[j].name, where[j].elem, bits);
                if (v == 3) {
                    CHECK_EQ_INT(mllm_model_load(bytes, size, NULL, &m, &err), MLLM_OK);
                    mllm_model_free(m);
                    m = NULL;
                    continue;
                }
                CHECK_EQ_INT(mllm_model_load(bytes, size, NULL, &m, &err), MLLM_ERR_FORMAT);
                CHECK(m == NULL);
                snprintf(want, sizeof want, "tensor '%s' holds an inf or nan value (element %lld of ", where[j].name,
                         (long long)where[j].elem);
                CHECK_CONTAINS(err.msg, want);
            }
            free(bytes);
            tm_weights_free(w);
        }
    }
}

/* Set the u32 value of metadata key `key` in a built file (the key is written once). */
static void poke_kv_u32(uint8_t *bytes, size_t size, const char *key, uint32_t v) {
    size_t n = strlen(key), i;
    for (i = 8; i + n + 8 <= size; i++) {
        uint64_t len;
        memcpy(&len, bytes + i - 8, 8);
        if (len == n && !memcmp(bytes + i, key, n)) {
            memcpy(bytes + i + n + 4, &v, 4); /* after the key: u32 type, then the value */
            return;
        }
    }
    CHECK(!"key not found");
}

/* Tensors the model would not use are refused, not ignored: blocks past block_count (a
 * block_count smaller than the stored blocks, which would silently run a shallower model)
 * and names the llama layout does not have. */
static void test_unused_tensors_are_refused(void) {
    tm_spec s = tm_default();
    tm_weights *w = tm_weights_new(&s, 1);
    size_t size;
    uint8_t *bytes = tm_build(&s, w, &size);
    mllm_model *m = NULL;
    mllm_error err;
    gguf_builder *b;
    float x[32] = {0};
    int64_t ne[1] = {32};

    poke_kv_u32(bytes, size, "llama.block_count", 2); /* 3 blocks stored */
    CHECK_EQ_INT(mllm_model_load(bytes, size, NULL, &m, &err), MLLM_ERR_FORMAT);
    CHECK(m == NULL);
    CHECK_CONTAINS(err.msg, "the file stores tensor 'blk.2.");
    CHECK_CONTAINS(err.msg, "but block_count is 2: 9 of its 29 tensors would go unused");
    poke_kv_u32(bytes, size, "llama.block_count", 3);
    CHECK_EQ_INT(mllm_model_load(bytes, size, NULL, &m, &err), MLLM_OK);
    mllm_model_free(m);
    m = NULL;
    free(bytes);

    b = gb_new(32);
    tm_write(b, &s, w);
    gb_tensor(b, "rope_freqs.weight", MLLM_DTYPE_F32, 1, ne, x, sizeof x);
    bytes = gb_finish(b, &size);
    gb_free(b);
    CHECK_EQ_INT(mllm_model_load(bytes, size, NULL, &m, &err), MLLM_ERR_UNSUPPORTED);
    CHECK(m == NULL);
    CHECK_CONTAINS(err.msg, "tensor 'rope_freqs.weight' is not one a llama model uses");
    free(bytes);

    /* a blk tensor with an unknown suffix inside the block range is unknown, not "past the count" */
    b = gb_new(32);
    tm_write(b, &s, w);
    gb_tensor(b, "blk.0.attn_q_norm.weight", MLLM_DTYPE_F32, 1, ne, x, sizeof x);
    bytes = gb_finish(b, &size);
    gb_free(b);
    CHECK_EQ_INT(mllm_model_load(bytes, size, NULL, &m, &err), MLLM_ERR_UNSUPPORTED);
    CHECK_CONTAINS(err.msg, "tensor 'blk.0.attn_q_norm.weight' is not one a llama model uses");
    free(bytes);
    tm_weights_free(w);
}

/* Greedy continuation of `prompt` for n tokens. */
static void greedy(const mllm_model *m, const int32_t *prompt, int n_prompt, int n, int32_t *out) {
    mllm_context *ctx = NULL;
    mllm_sampler *smp = NULL;
    mllm_sampler_params sp;
    mllm_error err;
    int32_t tok, i;
    CHECK_EQ_INT(mllm_context_new(m, NULL, &ctx, &err), MLLM_OK);
    mllm_sampler_params_init(&sp);
    sp.temperature = 0.0f;
    CHECK_EQ_INT(mllm_sampler_new(64, &sp, &smp, &err), MLLM_OK);
    if (!ctx || !smp) return;
    CHECK_EQ_INT(mllm_eval(ctx, prompt, n_prompt, 0, &err), MLLM_OK);
    for (i = 0; i < n; i++) {
        tok = mllm_sampler_sample(smp, mllm_logits(ctx, -1));
        out[i] = tok;
        CHECK_EQ_INT(mllm_eval(ctx, &tok, 1, 0, &err), MLLM_OK);
    }
    mllm_sampler_free(smp);
    mllm_context_free(ctx);
}

/* A loaded model is untouched by any number of failed loads in the same process: its greedy
 * continuation is the same before and after 200 loads of damaged files (truncated, bad
 * magic, a lying tensor count, a nan weight, an overlapping tensor, an extra block), each of
 * which fails with a coded error, and after one more successful load freed again. */
static void test_loaded_model_survives_failed_loads(void) {
    tm_spec s = tm_default();
    tm_weights *w = tm_weights_new(&s, 5);
    size_t size, i;
    uint8_t *bytes = tm_build(&s, w, &size), *bad = (uint8_t *)malloc(size);
    mllm_model *m = NULL, *m2 = NULL;
    mllm_error err;
    const int32_t prompt[4] = {1, 17, 33, 9};
    int32_t before[24], after[24];
    int k;
    CHECK_EQ_INT(mllm_model_load(bytes, size, NULL, &m, &err), MLLM_OK);
    if (!m || !bad) return;
    greedy(m, prompt, 4, 24, before);
    for (k = 0; k < 200; k++) {
        size_t n = size;
        mllm_status st;
        memcpy(bad, bytes, size);
        switch (k % 6) {
        case 0: n = (size_t)k * 37 % size; break;
        case 1: bad[k % 4] ^= 0x20; break;
        case 2: { uint64_t big = 1ull << 40; memcpy(bad + 8, &big, 8); break; } /* n_tensors */
        case 3: poke_elem(bad, size, "blk.1.ffn_up.weight", k, 0x7fc00000u); break;
        case 4: { /* blk.0.attn_q's data offset = token_embd's (0) */
            gguf_file g;
            CHECK_EQ_INT(gguf_parse(&g, bad, size, &err), MLLM_OK);
            for (i = 0; i < g.n_tensors; i++)
                if (gguf_str_eq(g.tensors[i].name, "blk.0.attn_q.weight"))
                    memset((uint8_t *)(uintptr_t)g.tensors[i].name.ptr + g.tensors[i].name.len + 4 + 8 * 2 + 4, 0, 8);
            gguf_free(&g);
            break;
        }
        default: poke_kv_u32(bad, size, "llama.block_count", 1 + (uint32_t)(k % 2)); break;
        }
        m2 = (mllm_model *)(uintptr_t)1;
        st = mllm_model_load(bad, n, NULL, &m2, &err);
        CHECK(st != MLLM_OK && m2 == NULL && err.code == (int32_t)st && err.msg[0]);
        if (k % 6 == 4) CHECK_CONTAINS(err.msg, "share data bytes");
    }
    CHECK_EQ_INT(mllm_model_load(bytes, size, NULL, &m2, &err), MLLM_OK);
    mllm_model_free(m2);
    greedy(m, prompt, 4, 24, after);
    CHECK(memcmp(before, after, sizeof before) == 0);
    mllm_model_free(m);
    free(bad);
    free(bytes);
    tm_weights_free(w);
}

/* Likewise for the 4/5/6-bit types' fp16 scales (d, and m or dmin), as ggml validates rows:
 * the loader names the tensor, block and type; the same file with finite scales loads. */
static void test_non_finite_scale_of_a_4_bit_type_is_a_damaged_file(void) {
    static const struct {
        uint32_t type;
        size_t block_bytes, off; /* the scale poked: Q4_1's m, Q5_0's d */
        const char *msg;
    } cases[2] = {{MLLM_DTYPE_Q4_1, 20, 2, "tensor 'blk.2.attn_q.weight' block 1 has a Q4_1 scale that is inf or nan"},
                  {MLLM_DTYPE_Q5_0, 22, 0, "tensor 'blk.2.attn_q.weight' block 1 has a Q5_0 scale that is inf or nan"}};
    int i;
    for (i = 0; i < 2; i++) {
        tm_spec s = tm_default();
        tm_weights *w;
        size_t size;
        uint8_t *bytes;
        mllm_error err;
        mllm_model *m = NULL;
        gguf_file g;
        const gguf_tensor *t;
        const uint16_t nan_bits = 0x7e00;
        s.wtype = cases[i].type;
        w = tm_weights_new(&s, 1);
        bytes = tm_build(&s, w, &size);
        CHECK_EQ_INT(mllm_model_load(bytes, size, NULL, &m, &err), MLLM_OK); /* as written */
        mllm_model_free(m);
        m = NULL;
        CHECK_EQ_INT(gguf_parse(&g, bytes, size, &err), MLLM_OK);
        t = gguf_find_tensor(&g, "blk.2.attn_q.weight");
        CHECK(t != NULL && t->type == cases[i].type);
        if (t) memcpy((uint8_t *)(uintptr_t)t->data + cases[i].block_bytes + cases[i].off, &nan_bits, 2);
        gguf_free(&g);
        CHECK_EQ_INT(mllm_model_load(bytes, size, NULL, &m, &err), MLLM_ERR_FORMAT);
        CHECK(m == NULL);
        CHECK_CONTAINS(err.msg, cases[i].msg);
        free(bytes);
        tm_weights_free(w);
    }
}

/* The loader marks a Q8_0 matrix for the kernels' plain-scales shortcut only when every
 * block scale is +0 or a positive normal half (as quantizers write them): one subnormal,
 * negative or -0 scale anywhere unmarks it. */
static void test_q8_0_plain_scales_mark_needs_every_scale_plain(void) {
    static const char *names[5] = {"blk.0.ffn_gate.weight", "blk.1.ffn_up.weight", "blk.0.attn_q.weight",
                                   "blk.1.ffn_gate.weight", "blk.0.attn_k.weight"};
    static const uint16_t odd[5] = {0x3c00, 0x0001, 0x8000, 0x0000, 0xbc00}; /* 1.0, subnormal, -0, +0, -1.0 */
    tm_spec s = tm_default();
    tm_weights *w;
    size_t size;
    uint8_t *bytes;
    mllm_error err;
    mllm_model *m = NULL;
    int i;
    s.wtype = MLLM_DTYPE_Q8_0;
    w = tm_weights_new(&s, 3);
    bytes = tm_build(&s, w, &size);
    for (i = 0; i < 5; i++) { /* every scale 1.0, then one odd scale in block 3 */
        poke_q8_scale(bytes, size, names[i], -1, odd[0]);
        poke_q8_scale(bytes, size, names[i], 3, odd[i]);
    }
    CHECK_EQ_INT(mllm_model_load(bytes, size, NULL, &m, &err), MLLM_OK);
    if (m) {
        CHECK_EQ_INT(model_kernel_weights(m, m->blocks[0].w_gate).plain_scales, 1);
        CHECK_EQ_INT(model_kernel_weights(m, m->blocks[1].w_up).plain_scales, 0);
        CHECK_EQ_INT(model_kernel_weights(m, m->blocks[0].wq).plain_scales, 0);
        CHECK_EQ_INT(model_kernel_weights(m, m->blocks[1].w_gate).plain_scales, 1);
        CHECK_EQ_INT(model_kernel_weights(m, m->blocks[0].wk).plain_scales, 0);
        CHECK_EQ_INT(model_kernel_weights(m, m->blocks[0].attn_norm).plain_scales, 0); /* not Q8_0 */
    }
    mllm_model_free(m);
    free(bytes);
    tm_weights_free(w);
}

/* The model card's per-layer facts (mllm_model_get_layer, the mllm_model_info counts): a stored
 * block's RoPE flag and window follow it to every effective layer the schedule runs it on;
 * the type mix counts every tensor once. */
static void test_layer_info_follows_the_schedule_and_type_usage_counts_tensors(void) {
    tm_spec s = tm_default();
    const uint8_t pattern[3] = {1, 0, 1};
    extra_keys x = {.window = 8, .experts = -1, .moe_step = -1, .temp_length = -1, .rope = pattern, .n_rope = 3,
                    .rope_type = GB_BOOL};
    mllm_model *m = NULL;
    mllm_error err;
    mllm_model_info info;
    mllm_layer_info li;
    mllm_type_usage u[4];
    int32_t l;
    s.repeat = 2;
    s.mode = "reverse";
    CHECK_EQ_INT(load_with(&s, &x, &m, &err), MLLM_OK);
    if (!m) return;
    mllm_model_get_info(m, &info);
    CHECK_EQ_INT(info.n_swa, 8);
    CHECK_EQ_INT(info.n_swa_layers, 6); /* no pattern key: every layer is windowed */
    CHECK_EQ_INT(info.n_rope_layers, 4); /* block 1 runs twice without RoPE */
    CHECK_EQ_INT(info.qk_norm, 0);
    for (l = 0; l < 6; l++) {
        int32_t block = tm_schedule(l, 3, 2, "reverse"); /* A B C C B A */
        CHECK_EQ_INT(mllm_model_get_layer(m, l, &li, &err), MLLM_OK);
        CHECK_EQ_INT(li.block, block);
        CHECK_EQ_INT(li.rope, pattern[block]);
        CHECK_EQ_INT(li.window, 8);
        CHECK_EQ_INT(li.qk_norm, 0);
        CHECK(li.rope_theta == s.theta);
    }
    CHECK_EQ_INT(mllm_model_get_layer(m, 6, &li, &err), MLLM_ERR_ARG);
    CHECK_CONTAINS(err.msg, "layer 6 is outside 0..5");
    CHECK_EQ_INT(mllm_model_get_layer(m, -1, &li, &err), MLLM_ERR_ARG);
    CHECK_EQ_INT(mllm_model_get_layer(NULL, 0, &li, &err), MLLM_ERR_ARG);
    CHECK_EQ_INT(mllm_model_get_layer(m, 0, NULL, &err), MLLM_ERR_ARG);
    /* every tensor is F32: one entry, 3 blocks x 9 + token_embd + output_norm (tied head) */
    CHECK_EQ_INT(mllm_model_type_usage(m, NULL, 0), 1);
    CHECK_EQ_INT(mllm_model_type_usage(m, u, 4), 1);
    CHECK_EQ_INT(u[0].type, MLLM_DTYPE_F32);
    CHECK_EQ_INT(u[0].n_tensors, 3 * 9 + 2);
    CHECK(u[0].n_elems == info.n_params);
    CHECK(u[0].bytes == info.weight_bytes);
    CHECK_EQ_INT(mllm_model_type_usage(NULL, u, 4), 0);
    mllm_model_free(m);

    /* llama4 (R1): q/k norm on the layers with RoPE only; no window */
    s = tm_default();
    s.arch = "llama4";
    x.window = 0;
    x.experts = 1;
    CHECK_EQ_INT(load_with(&s, &x, &m, &err), MLLM_OK);
    if (!m) return;
    mllm_model_get_info(m, &info);
    CHECK_EQ_INT(info.qk_norm, 1);
    CHECK_EQ_INT(info.n_swa, 0);
    CHECK_EQ_INT(info.n_swa_layers, 0);
    CHECK_EQ_INT(mllm_model_get_layer(m, 0, &li, &err), MLLM_OK);
    CHECK_EQ_INT(li.qk_norm, 1);
    CHECK_EQ_INT(li.window, 0);
    CHECK_EQ_INT(mllm_model_get_layer(m, 1, &li, &err), MLLM_OK);
    CHECK_EQ_INT(li.rope, 0);
    CHECK_EQ_INT(li.qk_norm, 0);
    mllm_model_free(m);
}

int main(void) {
    RUN(test_default_model_loads_with_expected_info);
    RUN(test_schedule_maps_effective_layers_to_stored_blocks);
    RUN(test_weights_are_views_and_shared_blocks_are_not_copied);
    RUN(test_mobilellm_architecture_and_f16_norms_are_accepted);
    RUN(test_architecture_errors);
    RUN(test_each_required_key_missing_is_named);
    RUN(test_optional_keys_take_llama_defaults);
    RUN(test_each_missing_tensor_is_named);
    RUN(test_tensor_shapes_are_checked_against_hparams);
    RUN(test_norm_weights_must_be_float);
    RUN(test_q8_0_plain_scales_mark_needs_every_scale_plain);
    RUN(test_untied_output_shape_is_checked);
    RUN(test_head_layout_errors);
    RUN(test_vocab_must_match_tokenizer);
    RUN(test_layer_share_keys_are_validated);
    RUN(test_llama4_dense_layout_loads_and_moe_or_chunked_is_refused);
    RUN(test_mobilellm_p1_keys);
    RUN(test_rope_layer_pattern_and_temperature_keys);
    RUN(test_layer_info_follows_the_schedule_and_type_usage_counts_tensors);
    RUN(test_damaged_file_and_bad_arguments);
    RUN(test_non_finite_q8_0_scale_is_a_damaged_file);
    RUN(test_non_finite_float_weights_are_a_damaged_file);
    RUN(test_unused_tensors_are_refused);
    RUN(test_loaded_model_survives_failed_loads);
    RUN(test_non_finite_scale_of_a_4_bit_type_is_a_damaged_file);
    return check_summary("model");
}
