/* fuzz_model.c — libFuzzer target: mllm_model_load on arbitrary bytes; a model that loads
 * is then used the way the CLI uses one: info, tokenize a prompt, a small context, an eval
 * of the prompt and a few greedy generation steps through the streaming generator, then
 * detokenize what came out. Every failure must be a coded error with a sentence; the only
 * run-time errors a loaded model may give are the documented ones. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mobilellm.h"

#define FUZZ_ASSERT(c)                                                               \
    do {                                                                             \
        if (!(c)) {                                                                  \
            fprintf(stderr, "fuzz_model: invariant failed at line %d: %s\n", __LINE__, #c); \
            abort();                                                                 \
        }                                                                            \
    } while (0)

static void check_error(mllm_status st, const mllm_error *err) {
    FUZZ_ASSERT(st != MLLM_OK);
    FUZZ_ASSERT(err->code == (int32_t)st && err->msg[0] != '\0' && strlen(err->msg) < sizeof err->msg);
}

static void run_model(mllm_model *m) {
    static const char prompt[] = "Hello world, a t1 t2 \xe2\x96\x81 <s>";
    mllm_model_info info;
    mllm_context_params cp;
    mllm_sampler_params sp;
    mllm_generator_params gp;
    mllm_context *ctx = NULL;
    mllm_sampler *smp = NULL;
    mllm_generator *gen = NULL;
    mllm_error err;
    mllm_status st;
    int32_t toks[64], n, i, out[8], n_out = 0;
    char text[256];

    mllm_model_get_info(m, &info);
    FUZZ_ASSERT(info.n_vocab > 0 && info.n_layer_effective >= info.n_layer_stored);
    n = mllm_tokenize(m, prompt, (int32_t)strlen(prompt), 1, 1, toks, 64, &err);
    FUZZ_ASSERT(n >= 0 && n <= 64);
    for (i = 0; i < n; i++) FUZZ_ASSERT(toks[i] >= 0 && toks[i] < info.n_vocab);
    if (n == 0) toks[n++] = 0;
    if (n > 6) n = 6;

    mllm_context_params_init(&cp);
    cp.n_ctx = 10;
    cp.n_batch = 4;
    st = mllm_context_new(m, &cp, &ctx, &err);
    if (st != MLLM_OK) {
        check_error(st, &err);
        FUZZ_ASSERT(st == MLLM_ERR_NOMEM);
        return;
    }
    st = mllm_eval(ctx, toks, n, 0, &err);
    FUZZ_ASSERT(st == MLLM_OK);
    mllm_sampler_params_init(&sp);
    sp.temperature = 0.0f;
    if (mllm_sampler_new(info.n_vocab, &sp, &smp, &err) != MLLM_OK) abort();
    memset(&gp, 0, sizeof gp);
    gp.max_tokens = 3;
    st = mllm_generator_new(ctx, smp, &gp, &gen, &err);
    if (st == MLLM_OK) {
        for (i = 0; i < 4; i++) {
            mllm_step_result r;
            st = mllm_generator_step(gen, &r, &err);
            if (st != MLLM_OK) {
                /* a non-finite logit (weights that overflow) is the one failure a step may have */
                check_error(st, &err);
                break;
            }
            /* NUL-terminated after text_len bytes (the text itself may hold NUL bytes) */
            FUZZ_ASSERT(r.text_len >= 0 && mllm_generator_text(gen)[r.text_len] == '\0');
            if (r.token >= 0) {
                FUZZ_ASSERT(r.token < info.n_vocab);
                if (n_out < 8) out[n_out++] = r.token;
            }
            if (r.stop != MLLM_STOP_NONE) break;
        }
        mllm_generator_free(gen);
    } else {
        check_error(st, &err);
    }
    n = mllm_detokenize(m, out, n_out, 1, text, (int32_t)sizeof text);
    FUZZ_ASSERT(n >= 0);
    mllm_sampler_free(smp);
    mllm_context_free(ctx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    mllm_model_params mp;
    mllm_model *m = NULL;
    mllm_error err;
    mllm_status st;
    mllm_model_params_init(&mp); /* the bytes stay libFuzzer's: no take_ownership */
    st = mllm_model_load(data, size, &mp, &m, &err);
    if (st != MLLM_OK) {
        check_error(st, &err);
        FUZZ_ASSERT(m == NULL);
        FUZZ_ASSERT(st != MLLM_ERR_ARG && st != MLLM_ERR_STATE && st != MLLM_ERR_CONTEXT_FULL);
        return 0;
    }
    run_model(m);
    mllm_model_free(m);
    return 0;
}
