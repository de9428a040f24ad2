/* error.c — one place that formats error sentences. */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>

mllm_status mllm_fail(mllm_error *err, mllm_status code, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = (int32_t)code;
    }
    return code;
}

void mllm_error_clear(mllm_error *err) {
    if (err) {
        err->code = MLLM_OK;
        err->msg[0] = '\0';
    }
}
