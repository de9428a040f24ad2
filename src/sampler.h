/* sampler.h — internal helpers around the public sampler (src/mobilellm.h), for the generator
 * and for tests that check the candidate set exactly rather than through draws. */
#ifndef MLLM_SAMPLER_H
#define MLLM_SAMPLER_H

#include "mobilellm.h"

/* The vocabulary size the sampler was created for. */
int32_t mllm_sampler_n_vocab(const mllm_sampler *s);

/* The first token whose logit was NaN in the last mllm_sampler_sample/candidates call (which
 * weighed it as -inf), -1 when none was: the generator stops on it rather than sample from a
 * broken forward pass. */
int32_t mllm_sampler_nan_logit(const mllm_sampler *s);

/* Runs every stage of mllm_sampler_sample except the draw (no RNG use, no state change):
 * penalties -> temperature -> top-k -> softmax -> top-p -> min-p -> renormalize. Points *ids
 * and *probs at the sampler's own buffers (valid until its next sample/candidates call),
 * holding the surviving tokens and their renormalized probabilities, best first whenever
 * top-k or top-p is on, in id order otherwise. Greedy gives the single argmax with 1.0.
 * Returns the count (>= 1), or -1 for a NULL argument. */
int32_t mllm_sampler_candidates(mllm_sampler *s, const float *logits, const int32_t **ids,
                                const float **probs);

/* implemented in forward.c: the model a context was created from (the generator needs its
 * tokenizer and end-of-generation ids). */
const mllm_model *mllm_context_model(const mllm_context *c);

#endif
