/* gguf_keys.h — the GGUF metadata keys the engine reads. One source: the JS side's copy
 * (lib/gguf_keys.js, used by the converter and the fixture writers) is held equal to this
 * file by tests/node/gguf_keys.test.js. Names: GGUF_KEY_* are whole keys, GGUF_ARCH_* follow
 * "<general.architecture>." (llama.cpp's LLM_KV_* spelling). */
#ifndef MLLM_GGUF_KEYS_H
#define MLLM_GGUF_KEYS_H

#define GGUF_KEY_GENERAL_ARCHITECTURE "general.architecture"
#define GGUF_KEY_GENERAL_NAME "general.name"
#define GGUF_KEY_GENERAL_BASENAME "general.basename"
#define GGUF_KEY_GENERAL_ALIGNMENT "general.alignment"
#define GGUF_KEY_GENERAL_FILE_TYPE "general.file_type"

#define GGUF_ARCH_CONTEXT_LENGTH "context_length"
#define GGUF_ARCH_EMBEDDING_LENGTH "embedding_length"
#define GGUF_ARCH_BLOCK_COUNT "block_count"
#define GGUF_ARCH_FEED_FORWARD_LENGTH "feed_forward_length"
#define GGUF_ARCH_HEAD_COUNT "attention.head_count"
#define GGUF_ARCH_HEAD_COUNT_KV "attention.head_count_kv"
#define GGUF_ARCH_KEY_LENGTH "attention.key_length"
#define GGUF_ARCH_VALUE_LENGTH "attention.value_length"
#define GGUF_ARCH_RMS_EPS "attention.layer_norm_rms_epsilon"
#define GGUF_ARCH_ROPE_FREQ_BASE "rope.freq_base"
#define GGUF_ARCH_ROPE_DIMENSION_COUNT "rope.dimension_count"
#define GGUF_ARCH_VOCAB_SIZE "vocab_size"
/* llama4 (MobileLLM-R1): written by llama.cpp's converter; the engine runs the dense,
 * full-attention form (expert_count <= 1, interleave_moe_layer_step 0, sliding_window 0). */
#define GGUF_ARCH_EXPERT_COUNT "expert_count"
#define GGUF_ARCH_EXPERT_USED_COUNT "expert_used_count"
#define GGUF_ARCH_EXPERT_FEED_FORWARD_LENGTH "expert_feed_forward_length"
#define GGUF_ARCH_INTERLEAVE_MOE_LAYER_STEP "interleave_moe_layer_step"
#define GGUF_ARCH_SLIDING_WINDOW "attention.sliding_window"
/* Sliding-window attention (llama and mobilellm files): the window in positions (a query sees
 * itself and the window - 1 before it) and, per stored block, whether it is windowed (bool
 * array; absent: every block). llama.cpp's names. */
#define GGUF_ARCH_SLIDING_WINDOW_PATTERN "attention.sliding_window_pattern"
/* RoPE base of the windowed blocks where it differs from rope.freq_base (llama.cpp's name, as
 * gemma3 writes it); absent: rope.freq_base on every block. */
#define GGUF_ARCH_ROPE_FREQ_BASE_SWA "rope.freq_base_swa"
/* 1: the weightless per-head RMS norm of q and k after RoPE (llama4's use_qk_norm), for the
 * architectures where it is a choice (mobilellm-p1); llama4 always has it. Bool, absent: 0. */
#define GGUF_ARCH_QK_NORM "attention.qk_norm"
/* Attention temperature of layers without RoPE (Llama 4's temperature tuning): q is scaled by
 * 1 + scale * log(1 + floor((pos + 1) / length)). llama.cpp's names. */
#define GGUF_ARCH_TEMPERATURE_SCALE "attention.temperature_scale"
#define GGUF_ARCH_TEMPERATURE_LENGTH "attention.temperature_length"

/* MobileLLM-Pro (Hugging Face MobileLLMP1ForCausalLM): the llama keys plus the window, its
 * per-block pattern and the keys above; llama.cpp has no architecture for it (models/README.md). */
#define GGUF_ARCHITECTURE_MOBILELLM_P1 "mobilellm-p1"

/* This project's layer sharing: the same prefix whatever the architecture. */
#define GGUF_KEY_SHARE_REPEAT "mobilellm.layer_share.repeat"
#define GGUF_KEY_SHARE_MODE "mobilellm.layer_share.mode"
/* Per stored block, 1 = RoPE, 0 = no RoPE (Hugging Face Llama 4's `no_rope_layers` list, whose
 * 1 means "use RoPE"); absent: RoPE on every layer. Bool or integer array of block_count. */
#define GGUF_KEY_ROPE_LAYERS "mobilellm.rope.layers"

#define GGUF_KEY_TOKENIZER_MODEL "tokenizer.ggml.model"
#define GGUF_KEY_TOKENIZER_PRE "tokenizer.ggml.pre"
#define GGUF_KEY_TOKENIZER_TOKENS "tokenizer.ggml.tokens"
#define GGUF_KEY_TOKENIZER_SCORES "tokenizer.ggml.scores"
#define GGUF_KEY_TOKENIZER_TOKEN_TYPE "tokenizer.ggml.token_type"
#define GGUF_KEY_TOKENIZER_MERGES "tokenizer.ggml.merges"
#define GGUF_KEY_TOKENIZER_BOS_ID "tokenizer.ggml.bos_token_id"
#define GGUF_KEY_TOKENIZER_EOS_ID "tokenizer.ggml.eos_token_id"
#define GGUF_KEY_TOKENIZER_UNK_ID "tokenizer.ggml.unknown_token_id"
#define GGUF_KEY_TOKENIZER_PAD_ID "tokenizer.ggml.padding_token_id"
#define GGUF_KEY_TOKENIZER_EOT_ID "tokenizer.ggml.eot_token_id"
#define GGUF_KEY_TOKENIZER_EOM_ID "tokenizer.ggml.eom_token_id"
#define GGUF_KEY_TOKENIZER_ADD_BOS "tokenizer.ggml.add_bos_token"
#define GGUF_KEY_TOKENIZER_ADD_EOS "tokenizer.ggml.add_eos_token"
#define GGUF_KEY_TOKENIZER_ADD_SPACE_PREFIX "tokenizer.ggml.add_space_prefix"
#define GGUF_KEY_TOKENIZER_CHAT_TEMPLATE "tokenizer.chat_template"

#endif
