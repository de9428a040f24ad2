/* grammar_vocab.c — mllm_grammar_new: a grammar matcher over a model's vocabulary (each
 * token's raw piece bytes, as mllm_token_to_piece gives them, and its end-of-generation flag). */
#include "grammar.h"
#include "error.h"

#include <stdlib.h>

mllm_status mllm_grammar_new(const mllm_model *m, const char *text, int32_t len, mllm_grammar **out,
                             mllm_error *err) {
    mllm_model_info info;
    int32_t t, total = 0, *off = NULL;
    char *bytes = NULL;
    uint8_t *eog = NULL;
    mllm_status st;

    if (out) *out = NULL;
    if (!m || !out || (!text && len > 0) || len < 0)
        return mllm_fail(err, MLLM_ERR_ARG, "mllm_grammar_new needs a model, the grammar text and an output pointer.");
    if (len > MLLM_GRAMMAR_MAX_TEXT)
        return mllm_fail(err, MLLM_ERR_ARG, "the grammar is %d bytes, more than the %d this engine accepts.", (int)len,
                         MLLM_GRAMMAR_MAX_TEXT);
    mllm_model_get_info(m, &info);
    off = (int32_t *)malloc((size_t)(info.n_vocab + 1) * sizeof *off);
    eog = (uint8_t *)malloc((size_t)info.n_vocab);
    if (!off || !eog) {
        st = mllm_fail(err, MLLM_ERR_NOMEM, "out of memory reading the vocabulary for the grammar.");
        goto done;
    }
    for (t = 0; t < info.n_vocab; t++) { /* sizes first, then one buffer */
        int32_t n = mllm_token_to_piece(m, t, NULL, 0);
        off[t] = total;
        total += n > 0 ? n : 0;
        eog[t] = (uint8_t)(mllm_token_is_eog(m, t) != 0);
    }
    off[info.n_vocab] = total;
    bytes = (char *)malloc((size_t)(total > 0 ? total : 1));
    if (!bytes) {
        st = mllm_fail(err, MLLM_ERR_NOMEM, "out of memory reading the vocabulary for the grammar.");
        goto done;
    }
    for (t = 0; t < info.n_vocab; t++) {
        int32_t n = off[t + 1] - off[t];
        if (n > 0) mllm_token_to_piece(m, t, bytes + off[t], n);
    }
    st = mllm_grammar_new_vocab(text ? text : "", len, bytes, off, eog, info.n_vocab, out, err);
done:
    free(off);
    free(eog);
    free(bytes);
    return st;
}
