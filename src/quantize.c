/* quantize.c — the public weight quantizer (mllm_quantize_rows): the converter's way to the
 * reference quantizers of quant_ref.c, with its arguments checked. */
#include "error.h"
#include "mobilellm.h"
#include "quant_ref.h"

#include "dtype.h"

int32_t mllm_quantize_row_bytes(int32_t type, int32_t n_per_row) {
    int64_t be;
    if (type < 0 || type == QUANT_Q8_1 || type == QUANT_Q8_K) return 0; /* activation-only types */
    be = quant_block_elems((uint32_t)type);
    if (be == 0 || n_per_row <= 0 || n_per_row % be) return 0;
    return (int32_t)((n_per_row / be) * (int64_t)quant_block_bytes((uint32_t)type));
}

mllm_status mllm_quantize_rows(int32_t type, const float *src, int32_t n_rows, int32_t n_per_row, uint8_t *dst,
                               size_t dst_size, mllm_error *err) {
    int32_t row_bytes = mllm_quantize_row_bytes(type, n_per_row);
    if (row_bytes == 0) {
        if (type >= 0 && quant_block_elems((uint32_t)type) > 0 && type != QUANT_Q8_1 && type != QUANT_Q8_K)
            return mllm_fail(err, MLLM_ERR_ARG, "A row of %d values is not a multiple of the %lld-value block of type %s.",
                             (int)n_per_row, (long long)quant_block_elems((uint32_t)type), dtype_name((uint32_t)type));
        return mllm_fail(err, MLLM_ERR_UNSUPPORTED, "The quantizer does not write type %s (id %d).",
                         dtype_name((uint32_t)(type < 0 ? 9999 : type)), (int)type);
    }
    if (!src || !dst || n_rows < 0)
        return mllm_fail(err, MLLM_ERR_ARG, "mllm_quantize_rows needs a source, a destination and a row count >= 0.");
    if ((size_t)n_rows > dst_size / (size_t)row_bytes)
        return mllm_fail(err, MLLM_ERR_ARG, "%d rows of type %s need %.0f bytes, the destination holds %zu.", (int)n_rows,
                         dtype_name((uint32_t)type), (double)n_rows * row_bytes, dst_size);
    {
        /* ggml's quantizers have no defined result for them (llama-quantize then fails its
         * row validation); refuse them by position instead */
        int64_t i, n = (int64_t)n_rows * n_per_row;
        for (i = 0; i < n; i++) {
            if (!(src[i] - src[i] == 0.0f))
                return mllm_fail(err, MLLM_ERR_ARG, "Value %lld of row %lld is %s; weights must be finite to quantize.",
                                 (long long)(i % n_per_row), (long long)(i / n_per_row), src[i] != src[i] ? "NaN" : "infinite");
        }
    }
    quant_rows((uint32_t)type, src, dst, n_rows, n_per_row);
    mllm_error_clear(err);
    return MLLM_OK;
}
