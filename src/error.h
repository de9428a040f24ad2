/* error.h — filling the caller's mllm_error. Every module reports failures through this. */
#ifndef MLLM_ERROR_H
#define MLLM_ERROR_H

#include "mobilellm.h"

#if defined(__GNUC__)
#define MLLM_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define MLLM_PRINTF(a, b)
#endif

/* Sets err (if not NULL) to `code` and the formatted sentence; returns code so callers can
 * write `return mllm_fail(err, MLLM_ERR_FORMAT, "...", ...);`. */
mllm_status mllm_fail(mllm_error *err, mllm_status code, const char *fmt, ...) MLLM_PRINTF(3, 4);

/* Clears err to MLLM_OK with an empty message. */
void mllm_error_clear(mllm_error *err);

#endif
