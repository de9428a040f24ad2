/* mobilellm.c — the small, module-independent parts of the public API: defaults for the
 * params structs, status names, and the table of struct fields a JS binding reads and
 * writes them by. */
#include "mobilellm.h"

#include <stddef.h>
#include <string.h>

void mllm_model_params_init(mllm_model_params *p) {
    memset(p, 0, sizeof *p);
    p->repack = 1;
}

void mllm_context_params_init(mllm_context_params *p) {
    memset(p, 0, sizeof *p);
    p->n_threads = 1;
    p->relaxed_simd = 1;
}

const char *mllm_status_name(mllm_status s) {
    switch (s) {
    case MLLM_OK: return "ok";
    case MLLM_ERR_ARG: return "argument";
    case MLLM_ERR_NOMEM: return "nomem";
    case MLLM_ERR_FORMAT: return "format";
    case MLLM_ERR_UNSUPPORTED: return "unsupported";
    case MLLM_ERR_MISSING: return "missing";
    case MLLM_ERR_CONTEXT_FULL: return "context_full";
    case MLLM_ERR_STATE: return "state";
    }
    return "unknown";
}

/* Every field of every public struct: adding a field means adding its row here (test_model
 * checks that the rows of each struct cover it exactly). */
#define STRUCT(s) {#s, "", 0, (int32_t)sizeof(s), "struct"}
#define FIELD(s, f, kind) {#s, #f, (int32_t)offsetof(s, f), (int32_t)sizeof(((s *)0)->f), kind}
static const mllm_abi_field abi_layout[] = {
    STRUCT(mllm_error),
    FIELD(mllm_error, code, "i32"),
    FIELD(mllm_error, msg, "bytes"),
    STRUCT(mllm_model_params),
    FIELD(mllm_model_params, take_ownership, "i32"),
    FIELD(mllm_model_params, repack, "i32"),
    FIELD(mllm_model_params, reserved, "i32"),
    STRUCT(mllm_model_info),
    FIELD(mllm_model_info, n_vocab, "i32"),
    FIELD(mllm_model_info, n_embd, "i32"),
    FIELD(mllm_model_info, n_ff, "i32"),
    FIELD(mllm_model_info, n_head, "i32"),
    FIELD(mllm_model_info, n_head_kv, "i32"),
    FIELD(mllm_model_info, head_dim, "i32"),
    FIELD(mllm_model_info, n_layer_stored, "i32"),
    FIELD(mllm_model_info, n_layer_effective, "i32"),
    FIELD(mllm_model_info, share_repeat, "i32"),
    FIELD(mllm_model_info, share_mode, "i32"),
    FIELD(mllm_model_info, n_ctx_train, "i32"),
    FIELD(mllm_model_info, weight_type, "i32"),
    FIELD(mllm_model_info, tied_embeddings, "i32"),
    FIELD(mllm_model_info, tokenizer_kind, "i32"),
    FIELD(mllm_model_info, bos_id, "i32"),
    FIELD(mllm_model_info, eos_id, "i32"),
    FIELD(mllm_model_info, add_bos, "i32"),
    FIELD(mllm_model_info, rope_theta, "f32"),
    FIELD(mllm_model_info, rms_eps, "f32"),
    FIELD(mllm_model_info, n_repacked, "i32"),
    FIELD(mllm_model_info, qk_norm, "i32"),
    FIELD(mllm_model_info, n_swa, "i32"),
    FIELD(mllm_model_info, n_swa_layers, "i32"),
    FIELD(mllm_model_info, n_rope_layers, "i32"),
    FIELD(mllm_model_info, n_params, "i64"),
    FIELD(mllm_model_info, weight_bytes, "i64"),
    STRUCT(mllm_layer_info),
    FIELD(mllm_layer_info, block, "i32"),
    FIELD(mllm_layer_info, rope, "i32"),
    FIELD(mllm_layer_info, window, "i32"),
    FIELD(mllm_layer_info, qk_norm, "i32"),
    FIELD(mllm_layer_info, rope_theta, "f32"),
    STRUCT(mllm_type_usage),
    FIELD(mllm_type_usage, type, "i32"),
    FIELD(mllm_type_usage, n_tensors, "i32"),
    FIELD(mllm_type_usage, n_elems, "i64"),
    FIELD(mllm_type_usage, bytes, "i64"),
    STRUCT(mllm_context_params),
    FIELD(mllm_context_params, n_ctx, "i32"),
    FIELD(mllm_context_params, n_batch, "i32"),
    FIELD(mllm_context_params, n_threads, "i32"),
    FIELD(mllm_context_params, relaxed_simd, "i32"),
    STRUCT(mllm_batch_token),
    FIELD(mllm_batch_token, token, "i32"),
    FIELD(mllm_batch_token, pos, "i32"),
    FIELD(mllm_batch_token, see_from, "i32"),
    FIELD(mllm_batch_token, see_to, "i32"),
    FIELD(mllm_batch_token, seg_from, "i32"),
    FIELD(mllm_batch_token, logits, "i32"),
    STRUCT(mllm_sampler_params),
    FIELD(mllm_sampler_params, temperature, "f32"),
    FIELD(mllm_sampler_params, top_k, "i32"),
    FIELD(mllm_sampler_params, top_p, "f32"),
    FIELD(mllm_sampler_params, min_p, "f32"),
    FIELD(mllm_sampler_params, repeat_penalty, "f32"),
    FIELD(mllm_sampler_params, repeat_last_n, "i32"),
    FIELD(mllm_sampler_params, seed, "u32"),
    FIELD(mllm_sampler_params, reserved, "i32"),
    STRUCT(mllm_generator_params),
    FIELD(mllm_generator_params, max_tokens, "i32"),
    FIELD(mllm_generator_params, ignore_eos, "i32"),
    FIELD(mllm_generator_params, reserved, "i32"),
    STRUCT(mllm_step_result),
    FIELD(mllm_step_result, token, "i32"),
    FIELD(mllm_step_result, stop, "i32"),
    FIELD(mllm_step_result, text_len, "i32"),
    FIELD(mllm_step_result, n_generated, "i32"),
    STRUCT(mllm_abi_field),
    FIELD(mllm_abi_field, strct, "ptr"),
    FIELD(mllm_abi_field, name, "ptr"),
    FIELD(mllm_abi_field, offset, "i32"),
    FIELD(mllm_abi_field, size, "i32"),
    FIELD(mllm_abi_field, kind, "ptr"),
};
#undef STRUCT
#undef FIELD

const mllm_abi_field *mllm_abi_layout(int32_t *count) {
    if (count) *count = (int32_t)(sizeof abi_layout / sizeof abi_layout[0]);
    return abi_layout;
}
