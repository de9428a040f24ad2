/* constrain.c — one constrained generation step (constrain.h).
 *
 * Budget rule: before each step the shortest completion of the current state is measured
 * (bytes first: when every single byte is a token, n bytes take at most n tokens; otherwise,
 * or when the bytes do not fit, its greedy tokenization is counted). If it needs every token
 * left, it is forced from here on. Otherwise a token is sampled from the masked logits, and
 * if the state after it would need more than the tokens then left, it is taken back and the
 * completion forced instead; so a complete value always fits.
 */
#include "constrain.h"
#include "grammar.h"
#include "sampler.h"
#include "error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

mllm_status mllm_constrain_init(mllm_constrain *c, mllm_grammar *gr, mllm_error *err) {
    memset(c, 0, sizeof *c);
    if (!gr) return mllm_fail(err, MLLM_ERR_ARG, "no grammar given.");
    c->n_vocab = mllm_grammar_n_vocab(gr);
    c->masked = (float *)malloc((size_t)c->n_vocab * sizeof *c->masked);
    c->plan = (int32_t *)malloc((size_t)MLLM_GRAMMAR_MAX_COMPLETION * sizeof *c->plan);
    if (!c->masked || !c->plan) {
        mllm_constrain_free(c);
        return mllm_fail(err, MLLM_ERR_NOMEM, "out of memory allocating the grammar's sampling buffers.");
    }
    c->gr = gr;
    mllm_grammar_reset(gr);
    return MLLM_OK;
}

void mllm_constrain_free(mllm_constrain *c) {
    if (!c) return;
    free(c->masked);
    free(c->plan);
    memset(c, 0, sizeof *c);
}

/* Whether the current state's completion fits in `budget` tokens (computing the plan). */
static int fits(mllm_constrain *c, int32_t budget, int32_t *n_tokens) {
    int32_t bytes = mllm_grammar_completion_bytes(c->gr), k;
    *n_tokens = -1;
    if (bytes > MLLM_GRAMMAR_MAX_COMPLETION) return 0;
    if (bytes <= budget && mllm_grammar_bytes_spellable(c->gr)) return 1;
    k = mllm_grammar_completion_tokens(c->gr, c->plan, MLLM_GRAMMAR_MAX_COMPLETION, NULL, NULL);
    *n_tokens = k;
    return k >= 0 && k <= budget;
}

static mllm_status start_forcing(mllm_constrain *c, int32_t remaining, mllm_error *err) {
    int32_t k = mllm_grammar_completion_tokens(c->gr, c->plan, MLLM_GRAMMAR_MAX_COMPLETION, NULL, NULL);
    if (k < 0)
        return mllm_fail(err, MLLM_ERR_STATE, "the vocabulary cannot spell the text that completes the grammar's value.");
    if (k > remaining)
        return mllm_fail(err, MLLM_ERR_ARG,
                         "the grammar's shortest value needs %d tokens but only %d may be generated; raise max_tokens or the context size.",
                         (int)k, (int)remaining);
    c->plan_n = k;
    c->plan_pos = 0;
    c->forcing = 1;
    return MLLM_OK;
}

mllm_status mllm_constrain_pick(mllm_constrain *c, mllm_sampler *s, const float *logits, int32_t remaining,
                                int32_t ignore_eos, int32_t *token, mllm_error *err) {
    const uint8_t *allowed;
    int32_t t, tok = -1, n, k;
    mllm_status st;

    c->started = 1;
    if (!c->forcing && !fits(c, remaining - 1 >= 0 ? remaining - 1 : 0, &k)) {
        /* this step must start the completion (it fits in `remaining` by the invariant) */
        st = start_forcing(c, remaining, err);
        if (st != MLLM_OK) return st;
    }
    if (!c->forcing) {
        n = mllm_grammar_mask(c->gr, &allowed, err);
        if (n < 0) return (mllm_status)-n;
        memcpy(c->masked, logits, (size_t)c->n_vocab * sizeof *c->masked);
        for (t = 0; t < c->n_vocab; t++) {
            int ok = allowed[t] && !(ignore_eos && mllm_grammar_is_eog(c->gr, t));
            if (!ok) c->masked[t] = -INFINITY;
        }
        tok = mllm_sampler_sample(s, c->masked);
        if (tok < 0 || tok >= c->n_vocab || c->masked[tok] == -INFINITY) {
            /* every allowed logit was NaN or -inf: take the first allowed token */
            tok = -1;
            for (t = 0; t < c->n_vocab && tok < 0; t++)
                if (allowed[t] && !(ignore_eos && mllm_grammar_is_eog(c->gr, t))) tok = t;
        }
        if (tok < 0) {
            st = start_forcing(c, remaining, err);
            if (st != MLLM_OK) return st;
        } else {
            st = mllm_grammar_accept(c->gr, tok, err);
            if (st != MLLM_OK) return st;
            if (!fits(c, remaining - 1, &k)) {
                mllm_grammar_undo(c->gr);
                st = start_forcing(c, remaining, err);
                if (st != MLLM_OK) return st;
            } else {
                *token = tok;
                return MLLM_OK;
            }
        }
    }
    if (c->plan_pos >= c->plan_n) return mllm_fail(err, MLLM_ERR_STATE, "the forced completion is already complete.");
    tok = c->plan[c->plan_pos++];
    st = mllm_grammar_accept(c->gr, tok, err);
    if (st != MLLM_OK) return st;
    *token = tok;
    return MLLM_OK;
}

int32_t mllm_constrain_done(const mllm_constrain *c) {
    if (c->forcing) return c->plan_pos >= c->plan_n;
    return mllm_grammar_can_end(c->gr) == 2;
}
