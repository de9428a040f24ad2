/* weights_check.h — load-time checks of a model's tensors that the format alone cannot make:
 * every float weight is finite, and the file holds no tensor the model leaves unused. */
#ifndef MLLM_WEIGHTS_CHECK_H
#define MLLM_WEIGHTS_CHECK_H

#include <stdint.h>

#include "gguf.h"
#include "mobilellm.h"

struct mllm_model;

/* Index of the first inf or nan element of an F32, F16 or BF16 tensor; -1 when every element
 * is finite or the type is none of those (Q8_0 scales are checked where they are read). One
 * pass over the bytes, no allocation. */
int64_t weights_first_nonfinite(const gguf_tensor *t);

/* MLLM_ERR_FORMAT naming `name` and the element when weights_first_nonfinite finds one. */
mllm_status weights_check_finite(const gguf_tensor *t, const char *name, mllm_error *err);

/* After the weights are taken: a tensor in the file that the model does not use is refused,
 * the way llama.cpp refuses "wrong number of tensors" — a blk.N tensor at or past block_count
 * (a block_count smaller than the stored blocks) is MLLM_ERR_FORMAT, any other unknown tensor
 * MLLM_ERR_UNSUPPORTED, since running without it could silently compute something else. */
mllm_status weights_check_all_used(const struct mllm_model *m, mllm_error *err);

#endif
