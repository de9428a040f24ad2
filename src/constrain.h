/* constrain.h — the generator's grammar step: masked sampling, and the budget rule that
 * forces the shortest completion so a run never ends inside a value. */
#ifndef MLLM_CONSTRAIN_H
#define MLLM_CONSTRAIN_H

#include "mobilellm.h"

typedef struct mllm_constrain {
    mllm_grammar *gr;  /* borrowed */
    int32_t n_vocab;
    float *masked;     /* n_vocab: the logits with disallowed tokens at -inf */
    int32_t *plan;     /* MLLM_GRAMMAR_MAX_COMPLETION: the forced completion's tokens */
    int32_t plan_n, plan_pos;
    int32_t forcing;   /* 1 once the completion is being forced */
    int32_t started;   /* 1 after the first pick */
} mllm_constrain;

/* Sizes the buffers for gr (borrowed) and resets it. On failure c is left empty. */
mllm_status mllm_constrain_init(mllm_constrain *c, mllm_grammar *gr, mllm_error *err);
void mllm_constrain_free(mllm_constrain *c);

/* Chooses the next token and advances the grammar by it. `remaining`: tokens this run may
 * still emit, this one included. With ignore_eos, end-of-generation tokens are never chosen.
 * Allowed tokens are sampled from the masked logits; when the shortest completion needs all
 * of `remaining` (or the sampled token would leave too little), the completion is forced. */
mllm_status mllm_constrain_pick(mllm_constrain *c, mllm_sampler *s, const float *logits, int32_t remaining,
                                int32_t ignore_eos, int32_t *token, mllm_error *err);

/* 1 when the value is complete and the run should end (nothing may follow, or the forced
 * completion is done). */
int32_t mllm_constrain_done(const mllm_constrain *c);

#endif
