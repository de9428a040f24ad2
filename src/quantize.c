/* quantize.c — the public weight quantizer (mllm_quantize_rows): the converter's way to the
 * reference quantizers of quant_ref.c, with its arguments checked. */
#include "error.h"
#include "mobilellm.h"
#include "quant_ref.h"

#include "dtype.h"

/* The types mllm_quantize_rows writes: the quantized weight types (blocks, not activations). */
static int writes(int32_t type) {
    return type >= 0 && dtype_block_elems((uint32_t)type) > 1 && type != MLLM_DTYPE_Q8_1 && type != MLLM_DTYPE_Q8_K &&
           dtype_supported((uint32_t)type);
}

int32_t mllm_quantize_row_bytes(int32_t type, int32_t n_per_row) {
    if (!writes(type) || n_per_row <= 0) return 0;
    return (int32_t)dtype_row_bytes((uint32_t)type, n_per_row);
}

mllm_status mllm_quantize_rows(int32_t type, const float *src, int32_t n_rows, int32_t n_per_row, uint8_t *dst,
                               size_t dst_size, mllm_error *err) {
    int32_t row_bytes = mllm_quantize_row_bytes(type, n_per_row);
    if (row_bytes == 0) {
        if (writes(type))
            return mllm_fail(err, MLLM_ERR_ARG, "A row of %d values is not a multiple of the %lld-value block of type %s.",
                             (int)n_per_row, (long long)dtype_block_elems((uint32_t)type), dtype_name((uint32_t)type));
        return mllm_fail(err, MLLM_ERR_UNSUPPORTED, "The quantizer does not write type %s (id %d).",
                         mllm_dtype_name(type), (int)type);
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
