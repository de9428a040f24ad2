/* gguf_keys.h — the GGUF metadata keys the engine reads. One source: the JS side's copy
 * (lib/gguf_keys.js, used by the converter and the fixture writers) is held equal to this
 * file by tests/node/gguf_keys.test.js. Names: GGUF_KEY_* are whole keys, GGUF_ARCH_* follow
 * "<general.architecture>." (llama.cpp's LLM_KV_* spelling). */
#ifndef MLLM_GGUF_KEYS_H
#define MLLM_GGUF_KEYS_H

#define GGUF_KEY_GENERAL_ARCHITECTURE "general.architecture"
#define GGUF_KEY_GENERAL_NAME "general.name"
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

/* This project's layer sharing: the same prefix whatever the architecture. */
#define GGUF_KEY_SHARE_REPEAT "mobilellm.layer_share.repeat"
#define GGUF_KEY_SHARE_MODE "mobilellm.layer_share.mode"

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
