/* tokenizer_api.c — the public tokenizer functions of mobilellm.h, on the model's tokenizer. */
#include "mobilellm.h"

#include "model.h"
#include "tokenizer.h"

int32_t mllm_tokenize(const mllm_model *m, const char *text, int32_t len, int32_t add_bos, int32_t parse_special,
                      int32_t *out, int32_t cap, mllm_error *err) {
    return tokenizer_encode(model_tokenizer(m), text, len, add_bos, parse_special, out, cap, err);
}

int32_t mllm_token_to_piece(const mllm_model *m, int32_t token, char *out, int32_t cap) {
    return tokenizer_piece(model_tokenizer(m), token, out, cap);
}

int32_t mllm_token_text(const mllm_model *m, int32_t token, char *out, int32_t cap) {
    return tokenizer_text(model_tokenizer(m), token, out, cap);
}

int32_t mllm_detokenize(const mllm_model *m, const int32_t *tokens, int32_t n, int32_t strip_leading_space,
                        char *out, int32_t cap) {
    return tokenizer_decode(model_tokenizer(m), tokens, n, strip_leading_space, out, cap);
}

mllm_status mllm_detok_new(const mllm_model *m, int32_t strip_leading_space, mllm_detok **out, mllm_error *err) {
    return tokenizer_detok_new(model_tokenizer(m), strip_leading_space, out, err);
}

int32_t mllm_token_bos(const mllm_model *m) { return tokenizer_bos(model_tokenizer(m)); }

int32_t mllm_token_eos(const mllm_model *m) { return tokenizer_eos(model_tokenizer(m)); }

int32_t mllm_token_is_eog(const mllm_model *m, int32_t token) { return tokenizer_is_eog(model_tokenizer(m), token); }
