/* mobilellm.c — the small, module-independent parts of the public API: defaults for the
 * params structs, status names, and the layout probe a JS binding checks at start-up. */
#include "mobilellm.h"

#include <string.h>

void mllm_model_params_init(mllm_model_params *p) {
    memset(p, 0, sizeof *p);
    p->repack = 1;
}

void mllm_context_params_init(mllm_context_params *p) {
    memset(p, 0, sizeof *p);
    p->n_threads = 1;
    p->relaxed_simd = 1;
}

const char *mllm_status_name(mllm_status s) {
    switch (s) {
    case MLLM_OK: return "ok";
    case MLLM_ERR_ARG: return "argument";
    case MLLM_ERR_NOMEM: return "nomem";
    case MLLM_ERR_FORMAT: return "format";
    case MLLM_ERR_UNSUPPORTED: return "unsupported";
    case MLLM_ERR_MISSING: return "missing";
    case MLLM_ERR_CONTEXT_FULL: return "context_full";
    case MLLM_ERR_STATE: return "state";
    }
    return "unknown";
}

int32_t mllm_abi_sizeof(int32_t which) {
    switch (which) {
    case 0: return (int32_t)sizeof(mllm_error);
    case 1: return (int32_t)sizeof(mllm_model_params);
    case 2: return (int32_t)sizeof(mllm_model_info);
    case 3: return (int32_t)sizeof(mllm_context_params);
    case 4: return (int32_t)sizeof(mllm_sampler_params);
    case 5: return (int32_t)sizeof(mllm_generator_params);
    case 6: return (int32_t)sizeof(mllm_step_result);
    }
    return -1;
}
