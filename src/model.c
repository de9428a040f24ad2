/* model.c — loading a model: GGUF parse, hyperparameters, weight views checked against
 * them, the layer-sharing schedule, and the tokenizer. Nothing is copied out of the GGUF
 * bytes; a failed load releases everything it made (the bytes stay the caller's). */
#include "model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtype.h"
#include "error.h"
#include "gguf_keys.h"
#include "kernels.h"
#include "quant_ref.h"
#include "tokenizer.h"
#include "weights_check.h"

/* mobilellm.layer_share.mode values, by MLLM_SHARE_* */
static const char *const share_mode_names[MLLM_SHARE_MODES] = {"immediate", "repeat_all", "reverse"};

const char *mllm_share_mode_name(int32_t mode) {
    return mode >= 0 && mode < MLLM_SHARE_MODES ? share_mode_names[mode] : "unknown";
}

int32_t model_layer_block(int32_t l, int32_t n_stored, int32_t repeat, int32_t mode) {
    switch (mode) {
    case MLLM_SHARE_REPEAT_ALL: return l % n_stored;
    case MLLM_SHARE_REVERSE: {
        int32_t p = l / n_stored, j = l % n_stored;
        return (p % 2 == 0) ? j : n_stored - 1 - j;
    }
    default: return l / repeat;
    }
}

void model_block_matrices(const mllm_block *b, const gguf_tensor *out[MODEL_BLOCK_MATRICES]) {
    out[0] = b->wq, out[1] = b->wk, out[2] = b->wv, out[3] = b->wo;
    out[4] = b->w_gate, out[5] = b->w_up, out[6] = b->w_down;
}

kern_weights model_kernel_weights(const mllm_model *m, const gguf_tensor *t) {
    const model_weight_form *f = &m->forms[t - m->gguf.tensors];
    kern_weights w;
    w.data = t->data;
    w.type = t->type;
    w.layout = f->layout;
    w.plain_scales = f->plain_scales;
    return w;
}

const struct mllm_tokenizer *model_tokenizer(const mllm_model *m) { return m ? m->tok : NULL; }

/* ---------------------------------------------------------------- hyperparameters */

/* "<arch>.<suffix>" into buf (arch names are short; checked by the caller). */
static const char *arch_key(char *buf, size_t cap, const char *arch, const char *suffix) {
    snprintf(buf, cap, "%s.%s", arch, suffix);
    return buf;
}

/* A positive integer hyperparameter that fits comfortably in int32 arithmetic. */
static mllm_status get_dim(const gguf_file *f, const char *key, int has_def, uint32_t def, int32_t *out,
                           mllm_error *err) {
    uint32_t v = 0;
    mllm_status st = has_def ? gguf_get_u32_opt(f, key, def, &v, err) : gguf_get_u32(f, key, &v, err);
    if (st != MLLM_OK) return st;
    if (v == 0 || v > (1u << 24))
        return mllm_fail(err, MLLM_ERR_FORMAT, "metadata key '%s' is %u, outside 1..%u", key, v, 1u << 24);
    *out = (int32_t)v;
    return MLLM_OK;
}

/* llama4 as llama.cpp's converter writes MobileLLM-R1: dense (expert_count 0 or 1, no MoE
 * layers), full attention (attention.sliding_window 0: without it llama.cpp reads Llama 4's
 * chunked attention), q/k norm. Hugging Face's no_rope_layers is all ones for R1 (1 = RoPE on
 * that layer), so every layer has RoPE unless mobilellm.rope.layers says otherwise. */
static mllm_status llama4_hparams(const gguf_file *f, mllm_hparams *hp, mllm_error *err) {
    uint32_t experts = 0, moe_step = 0, window = 0;
    mllm_status st;
    if ((st = gguf_get_u32_opt(f, "llama4." GGUF_ARCH_EXPERT_COUNT, 0, &experts, err))) return st;
    if (experts > 1)
        return mllm_fail(err, MLLM_ERR_UNSUPPORTED,
                         "llama4 file has %u experts: mixture-of-experts layers are not supported (only the dense layout of MobileLLM-R1)",
                         experts);
    if ((st = gguf_get_u32_opt(f, "llama4." GGUF_ARCH_INTERLEAVE_MOE_LAYER_STEP, 0, &moe_step, err))) return st;
    if (moe_step != 0)
        return mllm_fail(err, MLLM_ERR_UNSUPPORTED,
                         "llama4 file has interleave_moe_layer_step %u: mixture-of-experts layers are not supported", moe_step);
    if (!gguf_find_kv(f, "llama4." GGUF_ARCH_SLIDING_WINDOW))
        return mllm_fail(err, MLLM_ERR_UNSUPPORTED,
                         "llama4 file has no attention.sliding_window 0, so it uses Llama 4's chunked attention, which is not supported");
    if ((st = gguf_get_u32(f, "llama4." GGUF_ARCH_SLIDING_WINDOW, &window, err))) return st;
    if (window != 0)
        return mllm_fail(err, MLLM_ERR_UNSUPPORTED,
                         "llama4 file has attention.sliding_window %u: Llama 4's chunked attention is not supported", window);
    hp->qk_norm = 1;
    return MLLM_OK;
}

static mllm_status load_hparams(mllm_model *m, mllm_error *err) {
    const gguf_file *f = &m->gguf;
    mllm_hparams *hp = &m->hp;
    gguf_str arch_s;
    char arch[32], key[128];
    uint32_t head_dim = 0, v_len = 0, repeat = 1;
    mllm_status st;
    const gguf_kv *mode_kv;

    if ((st = gguf_get_str(f, GGUF_KEY_GENERAL_ARCHITECTURE, &arch_s, err)) != MLLM_OK) return st;
    if (!(gguf_str_eq(arch_s, "llama") || gguf_str_eq(arch_s, "mobilellm") || gguf_str_eq(arch_s, "llama4") ||
          gguf_str_eq(arch_s, GGUF_ARCHITECTURE_MOBILELLM_P1))) {
        int len = arch_s.len > 64 ? 64 : (int)arch_s.len;
        return mllm_fail(err, MLLM_ERR_UNSUPPORTED, "architecture '%.*s' is not llama-compatible", len, arch_s.ptr);
    }
    memcpy(arch, arch_s.ptr, (size_t)arch_s.len);
    arch[arch_s.len] = '\0';

#define K(suffix) arch_key(key, sizeof key, arch, suffix)
    if ((st = get_dim(f, K(GGUF_ARCH_BLOCK_COUNT), 0, 0, &hp->n_layer_stored, err))) return st;
    if ((st = get_dim(f, K(GGUF_ARCH_CONTEXT_LENGTH), 0, 0, &hp->n_ctx_train, err))) return st;
    if ((st = get_dim(f, K(GGUF_ARCH_EMBEDDING_LENGTH), 0, 0, &hp->n_embd, err))) return st;
    if ((st = get_dim(f, K(GGUF_ARCH_FEED_FORWARD_LENGTH), 0, 0, &hp->n_ff, err))) return st;
    if ((st = get_dim(f, K(GGUF_ARCH_HEAD_COUNT), 0, 0, &hp->n_head, err))) return st;
    if ((st = get_dim(f, K(GGUF_ARCH_HEAD_COUNT_KV), 1, (uint32_t)hp->n_head, &hp->n_head_kv, err))) return st;
    if ((st = gguf_get_f32(f, K(GGUF_ARCH_RMS_EPS), &hp->rms_eps, err))) return st;
    if ((st = gguf_get_f32_opt(f, K(GGUF_ARCH_ROPE_FREQ_BASE), 10000.0f, &hp->rope_theta, err))) return st;

    if (hp->n_embd % hp->n_head != 0 && !gguf_find_kv(f, K(GGUF_ARCH_KEY_LENGTH)))
        return mllm_fail(err, MLLM_ERR_FORMAT, "embedding_length %d is not a multiple of head_count %d",
                         hp->n_embd, hp->n_head);
    if ((st = gguf_get_u32_opt(f, K(GGUF_ARCH_KEY_LENGTH), (uint32_t)(hp->n_embd / hp->n_head), &head_dim, err)))
        return st;
    if ((st = gguf_get_u32_opt(f, K(GGUF_ARCH_VALUE_LENGTH), head_dim, &v_len, err))) return st;
    if (head_dim == 0 || head_dim > 4096 || head_dim % 2 != 0)
        return mllm_fail(err, MLLM_ERR_FORMAT, "head dimension %u must be even and between 2 and 4096", head_dim);
    if (v_len != head_dim)
        return mllm_fail(err, MLLM_ERR_UNSUPPORTED, "value head dimension %u differs from key head dimension %u",
                         v_len, head_dim);
    hp->head_dim = (int32_t)head_dim;
    if (hp->n_head_kv > hp->n_head || hp->n_head % hp->n_head_kv != 0)
        return mllm_fail(err, MLLM_ERR_FORMAT, "head_count %d is not a multiple of head_count_kv %d",
                         hp->n_head, hp->n_head_kv);
    if ((st = get_dim(f, K(GGUF_ARCH_ROPE_DIMENSION_COUNT), 1, head_dim, &hp->n_rot, err))) return st;
    if (hp->n_rot % 2 != 0 || hp->n_rot > hp->head_dim)
        return mllm_fail(err, MLLM_ERR_FORMAT, "rope.dimension_count %d must be even and at most the head dimension %d",
                         hp->n_rot, hp->head_dim);
    if (!(hp->rms_eps >= 0.0f) || !isfinite(hp->rms_eps))
        return mllm_fail(err, MLLM_ERR_FORMAT, "metadata key '%s' (%g) must be a finite value >= 0",
                         K(GGUF_ARCH_RMS_EPS), (double)hp->rms_eps);
    if (!(hp->rope_theta > 0.0f) || !isfinite(hp->rope_theta))
        return mllm_fail(err, MLLM_ERR_FORMAT, "metadata key '%s' (%g) must be a finite value > 0",
                         K(GGUF_ARCH_ROPE_FREQ_BASE), (double)hp->rope_theta);
    if (strcmp(arch, "llama4") == 0) {
        if ((st = llama4_hparams(f, hp, err)) != MLLM_OK) return st;
    } else {
        uint32_t w = 0;
        if ((st = gguf_get_u32_opt(f, K(GGUF_ARCH_SLIDING_WINDOW), 0, &w, err))) return st;
        if (w > (1u << 24))
            return mllm_fail(err, MLLM_ERR_FORMAT, "metadata key '%s' is %u, above %u", K(GGUF_ARCH_SLIDING_WINDOW), w,
                             1u << 24);
        hp->n_swa = (int32_t)w;
    }
    hp->rope_theta_swa = hp->rope_theta;
    if (strcmp(arch, GGUF_ARCHITECTURE_MOBILELLM_P1) == 0) {
        /* MobileLLM-Pro: a RoPE base of its own on the windowed blocks, and q/k norm by choice */
        int qk = 0;
        if ((st = gguf_get_f32_opt(f, K(GGUF_ARCH_ROPE_FREQ_BASE_SWA), hp->rope_theta, &hp->rope_theta_swa, err)))
            return st;
        if (!(hp->rope_theta_swa > 0.0f) || !isfinite(hp->rope_theta_swa))
            return mllm_fail(err, MLLM_ERR_FORMAT, "metadata key '%s' (%g) must be a finite value > 0",
                             K(GGUF_ARCH_ROPE_FREQ_BASE_SWA), (double)hp->rope_theta_swa);
        if ((st = gguf_get_bool_opt(f, K(GGUF_ARCH_QK_NORM), 0, &qk, err))) return st;
        hp->qk_norm = qk;
    }
    if ((st = gguf_get_f32_opt(f, K(GGUF_ARCH_TEMPERATURE_SCALE), 0.0f, &hp->attn_temp_scale, err))) return st;
    if (!isfinite(hp->attn_temp_scale) || fabsf(hp->attn_temp_scale) > 1e6f)
        return mllm_fail(err, MLLM_ERR_FORMAT, "metadata key '%s' (%g) must be a finite value of at most 1e6",
                         K(GGUF_ARCH_TEMPERATURE_SCALE), (double)hp->attn_temp_scale);
    if (hp->attn_temp_scale != 0.0f &&
        (st = get_dim(f, K(GGUF_ARCH_TEMPERATURE_LENGTH), 0, 0, &hp->attn_temp_length, err)))
        return st;
#undef K

    /* Layer sharing (this project's keys, the same prefix whatever the architecture). */
    if ((st = gguf_get_u32_opt(f, GGUF_KEY_SHARE_REPEAT, 1, &repeat, err))) return st;
    if (repeat < 1 || repeat > MLLM_MAX_SHARE_REPEAT)
        return mllm_fail(err, MLLM_ERR_FORMAT, GGUF_KEY_SHARE_REPEAT " is %u; it must be between 1 and %d",
                         repeat, MLLM_MAX_SHARE_REPEAT);
    hp->share_repeat = (int32_t)repeat;
    hp->share_mode = MLLM_SHARE_IMMEDIATE;
    mode_kv = gguf_find_kv(f, GGUF_KEY_SHARE_MODE);
    if (mode_kv) {
        gguf_str mode;
        if ((st = gguf_get_str(f, GGUF_KEY_SHARE_MODE, &mode, err))) return st;
        for (hp->share_mode = 0; hp->share_mode < MLLM_SHARE_MODES; hp->share_mode++)
            if (gguf_str_eq(mode, share_mode_names[hp->share_mode])) break;
        if (hp->share_mode == MLLM_SHARE_MODES) {
            int len = mode.len > 64 ? 64 : (int)mode.len;
            return mllm_fail(err, MLLM_ERR_UNSUPPORTED,
                             "layer-sharing mode '%.*s' is not supported (immediate, repeat_all or reverse)",
                             len, mode.ptr);
        }
    }
    if ((int64_t)hp->n_layer_stored * hp->share_repeat > 4096)
        return mllm_fail(err, MLLM_ERR_FORMAT, "%d blocks x %d repeats is more than 4096 layers",
                         hp->n_layer_stored, hp->share_repeat);
    hp->n_layer_eff = hp->n_layer_stored * hp->share_repeat;
    return MLLM_OK;
}

/* ---------------------------------------------------------------- tensors */

/* Find `name`, check its shape is [ne0] (ne1 == 0) or [ne0, ne1], and its type: norm = 1
 * demands a float type (a norm weight is read element by element). */
static mllm_status get_tensor(mllm_model *m, const char *name, int64_t ne0, int64_t ne1, int norm,
                              int required, const gguf_tensor **out, mllm_error *err) {
    const gguf_tensor *t = gguf_find_tensor(&m->gguf, name);
    int64_t want1 = ne1 ? ne1 : 1;
    mllm_status st;
    *out = NULL;
    if (!t) return required ? mllm_fail(err, MLLM_ERR_MISSING, "missing tensor '%s'", name) : MLLM_OK;
    if (t->ne[0] != ne0 || t->ne[1] != want1 || t->ne[2] != 1 || t->ne[3] != 1) {
        if (ne1)
            return mllm_fail(err, MLLM_ERR_FORMAT,
                             "tensor '%s' has shape [%lld, %lld, %lld, %lld], expected [%lld, %lld]", name,
                             (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2], (long long)t->ne[3],
                             (long long)ne0, (long long)ne1);
        return mllm_fail(err, MLLM_ERR_FORMAT, "tensor '%s' has shape [%lld, %lld, %lld, %lld], expected [%lld]",
                         name, (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2],
                         (long long)t->ne[3], (long long)ne0);
    }
    if (!dtype_supported(t->type))
        return mllm_fail(err, MLLM_ERR_UNSUPPORTED, "tensor '%s' has type %s, which the engine cannot compute",
                         name, dtype_name(t->type));
    if (norm && !dtype_is_float(t->type))
        return mllm_fail(err, MLLM_ERR_UNSUPPORTED, "norm weight '%s' has type %s; norms must be F32, F16 or BF16",
                         name, dtype_name(t->type));
    if (dtype_row_bytes(t->type, t->ne[0]) == 0)
        return mllm_fail(err, MLLM_ERR_FORMAT, "tensor '%s' rows of %lld elements do not fill whole %s blocks",
                         name, (long long)t->ne[0], dtype_name(t->type));
    if (dtype_traits_of(t->type)->scan_scales) {
        /* An inf or nan block scale turns every output it touches into nan: a damaged file,
         * said now rather than as nan logits later. */
        int plain = 0;
        int64_t bad = dtype_traits_of(t->type)->scan_scales(t->data, t->n_elems / dtype_block_elems(t->type), &plain);
        if (bad >= 0)
            return mllm_fail(err, MLLM_ERR_FORMAT, "tensor '%s' block %lld has a %s scale that is inf or nan (a damaged file)",
                             name, (long long)bad, dtype_name(t->type));
        m->forms[t - m->gguf.tensors].plain_scales = (uint32_t)plain;
    } else if (dtype_block_elems(t->type) > 1) { /* the other block types' scales, likewise */
        int64_t bad = quant_first_bad_scale(t->type, t->data, t->n_elems / dtype_block_elems(t->type));
        if (bad >= 0)
            return mllm_fail(err, MLLM_ERR_FORMAT, "tensor '%s' block %lld has a %s scale that is inf or nan (a damaged file)",
                             name, (long long)bad, dtype_name(t->type));
    }
    /* float weights: an inf or nan is refused the same way (weights_check.h) */
    if ((st = weights_check_finite(t, name, err)) != MLLM_OK) return st;
    m->n_params += t->n_elems;
    m->weight_bytes += (int64_t)t->nbytes;
    *out = t;
    return MLLM_OK;
}

/* A per-block flag array `key` (bool or integer, one 0 or 1 per stored block): *out the key,
 * NULL when absent. */
static mllm_status block_flags(const mllm_model *m, const char *key, const gguf_kv **out, mllm_error *err) {
    const gguf_kv *kv = gguf_find_kv(&m->gguf, key);
    uint64_t i;
    *out = NULL;
    if (!kv) return MLLM_OK;
    if (kv->type != GGUF_VT_ARRAY || kv->arr_type == GGUF_VT_STRING || kv->arr_type == GGUF_VT_ARRAY ||
        kv->arr_type == GGUF_VT_FLOAT32 || kv->arr_type == GGUF_VT_FLOAT64)
        return mllm_fail(err, MLLM_ERR_FORMAT, "%s must be an array of booleans or integers", key);
    if (kv->arr_len != (uint64_t)m->hp.n_layer_stored)
        return mllm_fail(err, MLLM_ERR_FORMAT, "%s has %llu entries for %d blocks", key,
                         (unsigned long long)kv->arr_len, (int)m->hp.n_layer_stored);
    for (i = 0; i < kv->arr_len; i++) {
        int64_t v = gguf_arr_i64(kv, i);
        if (v != 0 && v != 1)
            return mllm_fail(err, MLLM_ERR_FORMAT, "%s entry %d is %lld, not 0 or 1", key, (int)i, (long long)v);
    }
    *out = kv;
    return MLLM_OK;
}

/* Per stored block: RoPE (all, or as mobilellm.rope.layers lists them) and the sliding window
 * (every block when the file has a window, or as its sliding_window_pattern lists them). */
static mllm_status load_layer_pattern(mllm_model *m, const char *pattern_key, mllm_error *err) {
    const gguf_kv *rope, *swa = NULL;
    mllm_status st;
    int32_t i;
    if ((st = block_flags(m, GGUF_KEY_ROPE_LAYERS, &rope, err))) return st;
    if (m->hp.n_swa > 0 && (st = block_flags(m, pattern_key, &swa, err))) return st;
    for (i = 0; i < m->hp.n_layer_stored; i++) {
        m->blocks[i].rope = rope ? (int32_t)gguf_arr_i64(rope, (uint64_t)i) : 1;
        m->blocks[i].swa = m->hp.n_swa > 0 ? (swa ? (int32_t)gguf_arr_i64(swa, (uint64_t)i) : 1) : 0;
    }
    return MLLM_OK;
}

static mllm_status load_weights(mllm_model *m, mllm_error *err) {
    mllm_hparams *hp = &m->hp;
    const gguf_tensor *emb = gguf_find_tensor(&m->gguf, "token_embd.weight");
    int64_t d = hp->n_embd, q_dim = (int64_t)hp->n_head * hp->head_dim, kv_dim = (int64_t)hp->n_head_kv * hp->head_dim;
    char key[96], name[96];
    uint32_t vocab_kv = 0;
    mllm_status st;
    int32_t i;

    if (!emb) return mllm_fail(err, MLLM_ERR_MISSING, "missing tensor 'token_embd.weight'");
    m->forms = (model_weight_form *)calloc((size_t)m->gguf.n_tensors, sizeof *m->forms);
    if (!m->forms) return mllm_fail(err, MLLM_ERR_NOMEM, "out of memory for the tensor table");
    if (emb->ne[1] < 1 || emb->ne[1] > INT32_MAX / 2)
        return mllm_fail(err, MLLM_ERR_FORMAT, "tensor 'token_embd.weight' has %lld rows, not a usable vocabulary size",
                         (long long)emb->ne[1]);
    hp->n_vocab = (int32_t)emb->ne[1];
    if ((st = get_tensor(m, "token_embd.weight", d, hp->n_vocab, 0, 1, &m->tok_embd, err))) return st;
    {
        gguf_str arch;
        if (gguf_get_str(&m->gguf, GGUF_KEY_GENERAL_ARCHITECTURE, &arch, NULL) == MLLM_OK) {
            snprintf(key, sizeof key, "%.*s." GGUF_ARCH_VOCAB_SIZE, (int)arch.len, arch.ptr);
            if ((st = gguf_get_u32_opt(&m->gguf, key, (uint32_t)hp->n_vocab, &vocab_kv, err))) return st;
            if (vocab_kv != (uint32_t)hp->n_vocab)
                return mllm_fail(err, MLLM_ERR_FORMAT, "%s is %u but token_embd.weight has %d rows", key, vocab_kv,
                                 hp->n_vocab);
        }
    }
    if ((st = get_tensor(m, "output_norm.weight", d, 0, 1, 1, &m->output_norm, err))) return st;
    if ((st = get_tensor(m, "output.weight", d, hp->n_vocab, 0, 0, &m->output, err))) return st;
    m->tied = m->output == NULL;
    if (m->tied) m->output = m->tok_embd;

    m->blocks = (mllm_block *)calloc((size_t)hp->n_layer_stored, sizeof *m->blocks);
    m->layer_block = (int32_t *)calloc((size_t)hp->n_layer_eff, sizeof *m->layer_block);
    if (!m->blocks || !m->layer_block) return mllm_fail(err, MLLM_ERR_NOMEM, "out of memory for the layer tables");

    for (i = 0; i < hp->n_layer_stored; i++) {
        mllm_block *b = &m->blocks[i];
#define T(field, suffix, ne0, ne1, norm)                                                     \
        snprintf(name, sizeof name, "blk.%d.%s.weight", (int)i, suffix);                   \
        if ((st = get_tensor(m, name, ne0, ne1, norm, 1, &b->field, err)) != MLLM_OK) return st;
        T(attn_norm, "attn_norm", d, 0, 1)
        T(wq, "attn_q", d, q_dim, 0)
        T(wk, "attn_k", d, kv_dim, 0)
        T(wv, "attn_v", d, kv_dim, 0)
        T(wo, "attn_output", q_dim, d, 0)
        T(ffn_norm, "ffn_norm", d, 0, 1)
        T(w_gate, "ffn_gate", d, hp->n_ff, 0)
        T(w_up, "ffn_up", d, hp->n_ff, 0)
        T(w_down, "ffn_down", hp->n_ff, d, 0)
#undef T
    }
    {
        gguf_str arch;
        if ((st = gguf_get_str(&m->gguf, GGUF_KEY_GENERAL_ARCHITECTURE, &arch, err))) return st;
        snprintf(key, sizeof key, "%.*s." GGUF_ARCH_SLIDING_WINDOW_PATTERN, (int)arch.len, arch.ptr);
        if ((st = load_layer_pattern(m, key, err)) != MLLM_OK) return st;
    }
    for (i = 0; i < hp->n_layer_eff; i++)
        m->layer_block[i] = model_layer_block(i, hp->n_layer_stored, hp->share_repeat, hp->share_mode);
    return MLLM_OK;
}

/* The layer blocks' matrices into their type's repacked layout, in place, where this build's
 * kernels prefer it (mllm_model_params.repack; dtype.c's repack rows: Q8_0, Q4_0, Q5_0, Q4_1, Q5_1, IQ4_NL,
 * Q4_K, Q5_K, Q6_K). The head too where its type can read a repacked row back (dtype.h
 * repacked_block; every one of those types): it may be the token embedding, read a row at a
 * time. A row count that is not whole groups of four (a vocabulary of 32001) keeps the file's
 * layout, as does out of memory for the 4-row scratch; both work too. */
static void repack_one(mllm_model *m, const gguf_tensor *t, void *tmp) {
    const dtype_traits *tr = dtype_traits_of(t->type);
    model_weight_form *f = &m->forms[t - m->gguf.tensors];
    if (!tr->repack || !tr->repack_preferred() || t->ne[1] % 4 != 0 || f->layout != KERN_LAYOUT_ROWS) return;
    tr->repack((void *)(uintptr_t)t->data, t->ne[0], t->ne[1], tmp);
    f->layout = tr->repack_layout;
}

static void repack_blocks(mllm_model *m) {
    size_t max_bytes = 0;
    void *tmp;
    int32_t i, j;
    const gguf_tensor *ts[MODEL_BLOCK_MATRICES];
    const int head = dtype_traits_of(m->output->type)->repacked_block != NULL;
    for (i = 0; i < m->hp.n_layer_stored; i++) {
        model_block_matrices(&m->blocks[i], ts);
        for (j = 0; j < MODEL_BLOCK_MATRICES; j++)
            if (dtype_traits_of(ts[j]->type)->repack && 4 * dtype_row_bytes(ts[j]->type, ts[j]->ne[0]) > max_bytes)
                max_bytes = 4 * dtype_row_bytes(ts[j]->type, ts[j]->ne[0]);
    }
    if (head && 4 * dtype_row_bytes(m->output->type, m->output->ne[0]) > max_bytes)
        max_bytes = 4 * dtype_row_bytes(m->output->type, m->output->ne[0]);
    if (max_bytes == 0) return;
    tmp = malloc(max_bytes);
    if (!tmp) return;
    for (i = 0; i < m->hp.n_layer_stored; i++) {
        model_block_matrices(&m->blocks[i], ts);
        for (j = 0; j < MODEL_BLOCK_MATRICES; j++) repack_one(m, ts[j], tmp);
    }
    if (head) repack_one(m, m->output, tmp);
    free(tmp);
}

/* ---------------------------------------------------------------- public */

/* tokenizer_new through a pointer the optimizers cannot see through: inlined (binaryen inlines a
 * one-caller function), its loops over the vocabulary made V8 tier up the whole 23 KB loader, a
 * compile still running when the first prompt is evaluated (PERF_NOTES.md, issue 20, q4p). */
typedef mllm_status (*tokenizer_new_fn)(const gguf_file *, mllm_tokenizer **, mllm_error *);
static tokenizer_new_fn tokenizer_new_opaque(void) {
    tokenizer_new_fn f = tokenizer_new;
    __asm__("" : "+r"(f));
    return f;
}

mllm_status mllm_model_load(const uint8_t *data, size_t size, const mllm_model_params *params,
                            mllm_model **out, mllm_error *err) {
    mllm_model *m;
    mllm_status st;

    mllm_error_clear(err);
    if (!out) return mllm_fail(err, MLLM_ERR_ARG, "mllm_model_load needs a place to store the model (out is NULL)");
    *out = NULL;
    if (!data) return mllm_fail(err, MLLM_ERR_ARG, "mllm_model_load was given no data (data is NULL)");
    m = (mllm_model *)calloc(1, sizeof *m);
    if (!m) return mllm_fail(err, MLLM_ERR_NOMEM, "out of memory for the model");

    st = gguf_parse(&m->gguf, data, size, err);
    if (st == MLLM_OK) st = load_hparams(m, err);
    if (st == MLLM_OK) st = load_weights(m, err);
    if (st == MLLM_OK) st = weights_check_all_used(m, err);
    if (st == MLLM_OK) st = tokenizer_new_opaque()(&m->gguf, &m->tok, err);
    if (st == MLLM_OK && tokenizer_n_vocab(m->tok) != m->hp.n_vocab)
        st = mllm_fail(err, MLLM_ERR_FORMAT, "the tokenizer has %d tokens but token_embd.weight has %d rows",
                       (int)tokenizer_n_vocab(m->tok), (int)m->hp.n_vocab);
    if (st != MLLM_OK) {
        /* The bytes stay the caller's on failure, even with take_ownership. */
        mllm_model_free(m);
        return st;
    }
    if (params && params->take_ownership) {
        m->owned_data = (uint8_t *)data;
        if (params->repack) repack_blocks(m);
    }
    *out = m;
    return MLLM_OK;
}

void mllm_model_free(mllm_model *m) {
    if (!m) return;
    if (m->tok) tokenizer_free(m->tok);
    free(m->blocks);
    free(m->layer_block);
    free(m->forms);
    gguf_free(&m->gguf);
    free(m->owned_data);
    free(m);
}

void mllm_model_get_info(const mllm_model *m, mllm_model_info *o) {
    const mllm_hparams *hp;
    if (!o) return;
    memset(o, 0, sizeof *o);
    if (!m) return;
    hp = &m->hp;
    o->n_vocab = hp->n_vocab;
    o->n_embd = hp->n_embd;
    o->n_ff = hp->n_ff;
    o->n_head = hp->n_head;
    o->n_head_kv = hp->n_head_kv;
    o->head_dim = hp->head_dim;
    o->n_layer_stored = hp->n_layer_stored;
    o->n_layer_effective = hp->n_layer_eff;
    o->share_repeat = hp->share_repeat;
    o->share_mode = hp->share_mode;
    o->n_ctx_train = hp->n_ctx_train;
    o->weight_type = (int32_t)m->blocks[0].wq->type;
    o->tied_embeddings = m->tied;
    o->tokenizer_kind = tokenizer_kind(m->tok);
    o->bos_id = mllm_token_bos(m);
    o->eos_id = mllm_token_eos(m);
    o->add_bos = tokenizer_add_bos(m->tok);
    o->rope_theta = hp->rope_theta;
    o->rms_eps = hp->rms_eps;
    {
        int64_t i;
        for (i = 0; i < (int64_t)m->gguf.n_tensors; i++) o->n_repacked += m->forms[i].layout != KERN_LAYOUT_ROWS;
    }
    o->qk_norm = hp->qk_norm;
    o->n_swa = hp->n_swa;
    {
        int32_t l;
        for (l = 0; l < hp->n_layer_eff; l++) {
            const mllm_block *b = &m->blocks[m->layer_block[l]];
            o->n_swa_layers += b->swa;
            o->n_rope_layers += b->rope;
        }
    }
    o->n_params = m->n_params;
    o->weight_bytes = m->weight_bytes;
}

mllm_status mllm_model_get_layer(const mllm_model *m, int32_t layer, mllm_layer_info *out, mllm_error *err) {
    const mllm_block *b;
    mllm_error_clear(err);
    if (!m || !out) return mllm_fail(err, MLLM_ERR_ARG, "mllm_model_get_layer needs a model and a place for the answer");
    if (layer < 0 || layer >= m->hp.n_layer_eff)
        return mllm_fail(err, MLLM_ERR_ARG, "layer %d is outside 0..%d", (int)layer, (int)m->hp.n_layer_eff - 1);
    b = &m->blocks[m->layer_block[layer]];
    memset(out, 0, sizeof *out);
    out->block = m->layer_block[layer];
    out->rope = b->rope;
    out->window = b->swa ? m->hp.n_swa : 0;
    out->qk_norm = m->hp.qk_norm && b->rope; /* llama4 norms q and k on the layers with RoPE only */
    out->rope_theta = b->swa ? m->hp.rope_theta_swa : m->hp.rope_theta; /* a windowed block's own base (Pro) */
    return MLLM_OK;
}

int32_t mllm_model_type_usage(const mllm_model *m, mllm_type_usage *out, int32_t cap) {
    int32_t type, n = 0;
    if (!m) return 0;
    for (type = 0; type < MLLM_DTYPE_COUNT; type++) { /* ascending id; a model has a few hundred tensors at most per type */
        mllm_type_usage u;
        uint64_t i;
        memset(&u, 0, sizeof u);
        u.type = type;
        for (i = 0; i < m->gguf.n_tensors; i++) {
            const gguf_tensor *t = &m->gguf.tensors[i];
            if ((int32_t)t->type != type) continue;
            u.n_tensors++;
            u.n_elems += t->n_elems;
            u.bytes += (int64_t)t->nbytes;
        }
        if (!u.n_tensors) continue;
        if (out && n < cap) out[n] = u;
        n++;
    }
    return n;
}

const char *mllm_model_meta_str(const mllm_model *m, const char *key, int32_t *len) {
    const gguf_kv *kv;
    if (len) *len = 0;
    if (!m || !key) return NULL;
    kv = gguf_find_kv(&m->gguf, key);
    if (!kv || kv->type != GGUF_VT_STRING || kv->str.len > INT32_MAX) return NULL;
    if (len) *len = (int32_t)kv->str.len;
    return kv->str.ptr;
}
