/* batch_pass.h — what a batch of several sequences (mllm_eval_batch) changes in the forward
 * pass: attention under the batch's visibility rule, and which rows get logits. forward.c
 * calls these; batch.c cuts the batch into pieces for them. */
#ifndef MLLM_BATCH_PASS_H
#define MLLM_BATCH_PASS_H

#include <stdint.h>

#include "forward.h"
#include "mobilellm.h"

/* Most tokens of a piece: a work item of batch_attention is one piece's tokens in one KV
 * group. */
#define BATCH_PIECE 16

/* Cut n batch tokens into pieces: runs of at most BATCH_PIECE consecutive tokens that see
 * the same slots besides their own (see_from, see_to, seg_from). pieces[k] is piece k's
 * first token, pieces[count] = n; returns the count (pieces holds n + 1 entries). */
int32_t batch_pieces(const mllm_batch_token *b, int32_t n, int32_t *pieces);

/* The batch's tokens (token t in slot slot0 + t) attend in effective layer l, each over its visible slots in
 * mllm_batch_token's order: slots see_from..see_to-1, then seg_from..its own. Where the two
 * runs are not adjacent, a piece's keys and values are first gathered into one run
 * (c->gather), so kern_attention sees the same keys in the same order as it does when the
 * sequence is evaluated alone (mllm_eval): the results are bit-identical. Uses c->pieces. */
void batch_attention(mllm_context *c, int32_t l, const mllm_batch_token *b, int32_t slot0);

/* Move the rows of c->x whose token wants logits to the end of the chunk, in order; returns
 * their count. */
int32_t batch_logit_rows(mllm_context *c, const mllm_batch_token *b, int32_t n);

#endif
