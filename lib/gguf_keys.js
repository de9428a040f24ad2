// gguf_keys.js — the GGUF metadata keys, for the JS that writes GGUF files (the converter, the
// fixture and benchmark model writers). A copy of src/gguf_keys.h, the engine's, held equal to it
// by tests/node/gguf_keys.test.js. GGUF_ARCH names follow "<general.architecture>." (archKey).

/** Whole keys. */
export const GGUF_KEY = Object.freeze({
  GENERAL_ARCHITECTURE: 'general.architecture',
  GENERAL_NAME: 'general.name',
  GENERAL_BASENAME: 'general.basename',
  GENERAL_ALIGNMENT: 'general.alignment',
  GENERAL_FILE_TYPE: 'general.file_type',
  SHARE_REPEAT: 'mobilellm.layer_share.repeat',
  SHARE_MODE: 'mobilellm.layer_share.mode',
  ROPE_LAYERS: 'mobilellm.rope.layers',
  TOKENIZER_MODEL: 'tokenizer.ggml.model',
  TOKENIZER_PRE: 'tokenizer.ggml.pre',
  TOKENIZER_TOKENS: 'tokenizer.ggml.tokens',
  TOKENIZER_SCORES: 'tokenizer.ggml.scores',
  TOKENIZER_TOKEN_TYPE: 'tokenizer.ggml.token_type',
  TOKENIZER_MERGES: 'tokenizer.ggml.merges',
  TOKENIZER_BOS_ID: 'tokenizer.ggml.bos_token_id',
  TOKENIZER_EOS_ID: 'tokenizer.ggml.eos_token_id',
  TOKENIZER_UNK_ID: 'tokenizer.ggml.unknown_token_id',
  TOKENIZER_PAD_ID: 'tokenizer.ggml.padding_token_id',
  TOKENIZER_EOT_ID: 'tokenizer.ggml.eot_token_id',
  TOKENIZER_EOM_ID: 'tokenizer.ggml.eom_token_id',
  TOKENIZER_ADD_BOS: 'tokenizer.ggml.add_bos_token',
  TOKENIZER_ADD_EOS: 'tokenizer.ggml.add_eos_token',
  TOKENIZER_ADD_SPACE_PREFIX: 'tokenizer.ggml.add_space_prefix',
  TOKENIZER_CHAT_TEMPLATE: 'tokenizer.chat_template',
});

/** Keys under the architecture's prefix: archKey('llama', GGUF_ARCH.BLOCK_COUNT). */
export const GGUF_ARCH = Object.freeze({
  CONTEXT_LENGTH: 'context_length',
  EMBEDDING_LENGTH: 'embedding_length',
  BLOCK_COUNT: 'block_count',
  FEED_FORWARD_LENGTH: 'feed_forward_length',
  HEAD_COUNT: 'attention.head_count',
  HEAD_COUNT_KV: 'attention.head_count_kv',
  KEY_LENGTH: 'attention.key_length',
  VALUE_LENGTH: 'attention.value_length',
  RMS_EPS: 'attention.layer_norm_rms_epsilon',
  ROPE_FREQ_BASE: 'rope.freq_base',
  ROPE_DIMENSION_COUNT: 'rope.dimension_count',
  VOCAB_SIZE: 'vocab_size',
  EXPERT_COUNT: 'expert_count',
  EXPERT_USED_COUNT: 'expert_used_count',
  EXPERT_FEED_FORWARD_LENGTH: 'expert_feed_forward_length',
  INTERLEAVE_MOE_LAYER_STEP: 'interleave_moe_layer_step',
  SLIDING_WINDOW: 'attention.sliding_window',
  SLIDING_WINDOW_PATTERN: 'attention.sliding_window_pattern',
  ROPE_FREQ_BASE_SWA: 'rope.freq_base_swa',
  QK_NORM: 'attention.qk_norm',
  TEMPERATURE_SCALE: 'attention.temperature_scale',
  TEMPERATURE_LENGTH: 'attention.temperature_length',
});

/** general.architecture values the engine reads beyond llama.cpp's own (GGUF_ARCHITECTURE_* in the header). */
export const GGUF_ARCHITECTURE = Object.freeze({
  MOBILELLM_P1: 'mobilellm-p1',
});

/** @param {string} arch general.architecture @param {string} suffix a GGUF_ARCH value @returns {string} */
export function archKey(arch, suffix) {
  return `${arch}.${suffix}`;
}
