/* tokenizer_encode.c — text to token ids: special tokens split out, each raw fragment through
 * its family's tokenizer, BOS/EOS as the vocabulary asks (llama.cpp's tokenize). */
#include "tokenizer_impl.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"

int32_t tokenizer_encode(const mllm_tokenizer *t, const char *text, int32_t len, int32_t add_bos,
                         int32_t parse_special, int32_t *out, int32_t cap, mllm_error *err) {
    tok_emitter e;
    tok_work w;
    tok_frag *fa = NULL, *fb = NULL;
    uint32_t *cpts = NULL;
    size_t nf, i, L;
    int ok = 1, prev_special = 1;

    if (!t) return -(int32_t)mllm_fail(err, MLLM_ERR_ARG, "mllm_tokenize: the model handle is NULL");
    if (len < 0 || (len > 0 && !text))
        return -(int32_t)mllm_fail(err, MLLM_ERR_ARG, "mllm_tokenize: text is NULL or its length %d is negative",
                                   (int)len);
    if (cap < 0 || (cap > 0 && !out))
        return -(int32_t)mllm_fail(err, MLLM_ERR_ARG, "mllm_tokenize: the output buffer is NULL or cap %d is negative",
                                   (int)cap);
    if (len > 0x3FFFFFFF)
        return -(int32_t)mllm_fail(err, MLLM_ERR_ARG, "mllm_tokenize: text of %d bytes is too long", (int)len);
    L = (size_t)len;
    e.out = out, e.cap = cap, e.n = 0;
    memset(&w, 0, sizeof w);

    fa = (tok_frag *)malloc((2 * L + 2) * sizeof *fa);
    fb = (tok_frag *)malloc((2 * L + 2) * sizeof *fb);
    if (t->kind == MLLM_TOKENIZER_SPM) {
        ok = fa && fb;
    } else {
        cpts = (uint32_t *)malloc((3 * L + 3) * sizeof *cpts); /* code points + two segment lists */
        ok = fa && fb && cpts;
    }
    if (!ok) goto nomem;

    nf = tok_partition(t, text, L, parse_special != 0, fa, fb);
    if (add_bos && t->add_bos) tok_emit(&e, t->bos);
    for (i = 0; i < nf; i++) {
        const char *p = text + fa[i].off;
        size_t n = fa[i].len;
        if (fa[i].token >= 0) {
            tok_emit(&e, fa[i].token);
            prev_special = 1;
            continue;
        }
        if (t->kind == MLLM_TOKENIZER_SPM) {
            if (!tok_spm_fragment(t, &w, p, n, prev_special, &e)) goto nomem;
        } else {
            if (!tok_bpe_fragment(t, &w, p, n, cpts, cpts + L + 1, cpts + 2 * L + 2, &e)) goto nomem;
        }
        prev_special = 0;
    }
    if (add_bos && t->add_eos) tok_emit(&e, t->eos);

    free(fa), free(fb), free(cpts), tok_work_free(&w);
    if (e.n > 0x7FFFFFFF)
        return -(int32_t)mllm_fail(err, MLLM_ERR_ARG, "mllm_tokenize: the text gives more than 2^31 tokens");
    return (int32_t)e.n;
nomem:
    free(fa), free(fb), free(cpts), tok_work_free(&w);
    return -(int32_t)mllm_fail(err, MLLM_ERR_NOMEM, "mllm_tokenize: out of memory for %d bytes of text", (int)len);
}
