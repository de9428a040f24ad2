/* dtype.h — the table of tensor types: for each ggml type id its name, block, row-to-float,
 * the activation format its dot product takes and its matmul kernels. Every question of the
 * form "is this Q8_0?" is asked of this table.
 *
 * Adding a weight type (kernels.h says what each piece must do): the block struct and
 * row-to-float, the kernels, the row in dtype.c's table (its facts are already there for
 * every ggml type: name, block elements, bytes), and tests. Nothing else asks for a type by
 * name: the loader accepts exactly the types that have a row-to-float and a scalar kernel,
 * and refuses the others naming tensor and type. */
#ifndef MLLM_DTYPE_H
#define MLLM_DTYPE_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "kernels.h"

/* Values are ggml's type ids (ggml.h enum ggml_type), so GGUF files carry them unchanged. */
typedef enum mllm_dtype {
    MLLM_DTYPE_F32 = 0,
    MLLM_DTYPE_F16 = 1,
    MLLM_DTYPE_Q4_0 = 2,
    MLLM_DTYPE_Q4_1 = 3,
    /* 4, 5: retired (Q4_2, Q4_3) */
    MLLM_DTYPE_Q5_0 = 6,
    MLLM_DTYPE_Q5_1 = 7,
    MLLM_DTYPE_Q8_0 = 8,
    MLLM_DTYPE_Q8_1 = 9,
    MLLM_DTYPE_Q2_K = 10,
    MLLM_DTYPE_Q3_K = 11,
    MLLM_DTYPE_Q4_K = 12,
    MLLM_DTYPE_Q5_K = 13,
    MLLM_DTYPE_Q6_K = 14,
    MLLM_DTYPE_Q8_K = 15,
    MLLM_DTYPE_IQ2_XXS = 16,
    MLLM_DTYPE_IQ2_XS = 17,
    MLLM_DTYPE_IQ3_XXS = 18,
    MLLM_DTYPE_IQ1_S = 19,
    MLLM_DTYPE_IQ4_NL = 20,
    MLLM_DTYPE_IQ3_S = 21,
    MLLM_DTYPE_IQ2_S = 22,
    MLLM_DTYPE_IQ4_XS = 23,
    MLLM_DTYPE_I8 = 24,
    MLLM_DTYPE_I16 = 25,
    MLLM_DTYPE_I32 = 26,
    MLLM_DTYPE_I64 = 27,
    MLLM_DTYPE_F64 = 28,
    MLLM_DTYPE_IQ1_M = 29,
    MLLM_DTYPE_BF16 = 30,
    /* 31-33: retired (Q4_0_4_4, Q4_0_4_8, Q4_0_8_8) */
    MLLM_DTYPE_TQ1_0 = 34,
    MLLM_DTYPE_TQ2_0 = 35,
    /* 36-38: retired (IQ4_NL_4_4, IQ4_NL_4_8, IQ4_NL_8_8) */
    MLLM_DTYPE_MXFP4 = 39,
    MLLM_DTYPE_NVFP4 = 40,
    MLLM_DTYPE_Q1_0 = 41,
    MLLM_DTYPE_Q2_0 = 42,
    MLLM_DTYPE_COUNT = 43
} mllm_dtype;

/* The activation format a type's dot product takes (ggml's vec_dot_type). */
typedef enum mllm_act {
    MLLM_ACT_NONE = 0, /* no dot product in this engine */
    MLLM_ACT_F32 = 1,  /* float rows */
    MLLM_ACT_Q8_0 = 2, /* kern_quantize_q8_0 blocks */
    MLLM_ACT_Q8_1 = 3, /* Q4_1, Q5_1: block_q8_1 (quant_ref.c q8_1_quantize) */
    MLLM_ACT_Q8_K = 4  /* the K types and IQ4_XS: block_q8_K (q8_k_quantize) */
} mllm_act;

typedef void (*dtype_to_float_fn)(const void *src, float *dst, int64_t n);
/* Check nb blocks' scales at load: the first unusable block or -1; *plain as kern_weights'. */
typedef int64_t (*dtype_scan_fn)(const void *blocks, int64_t nb, int *plain);
/* Rearrange n_rows rows in place into the type's repacked layout; tmp: scratch of 4 rows. */
typedef void (*dtype_repack_fn)(void *w, int64_t n_in, int64_t n_rows, void *tmp);
typedef void (*dtype_block_back_fn)(const void *w, int64_t nb, int64_t r, int64_t i, void *blk);

typedef struct dtype_traits {
    const char *name;              /* ggml's ("Q4_K"); NULL for a retired id */
    int32_t block_elems;           /* elements per block (1 for scalar types); 0: retired */
    int32_t block_bytes;           /* bytes per block */
    dtype_to_float_fn to_float;    /* NULL: the engine cannot read the type */
    int32_t act;                   /* mllm_act of its dot product */
    kern_matmul_fn matmul_scalar;  /* the reference; NULL: no kernel, refused at load */
    kern_matmul_fn matmul_simd128; /* NULL where this build has none (the scalar one runs) */
    kern_matmul_try_fn matmul_relaxed; /* tried first when kern_hints.relaxed; may decline */
    dtype_scan_fn scan_scales;     /* run on each tensor at load, or NULL */
    dtype_repack_fn repack;        /* into repack_layout, where repack_preferred; or NULL */
    uint32_t repack_layout;        /* the KERN_LAYOUT_* repack gives */
    int (*repack_preferred)(void); /* 1 where this build's kernels run the repacked layout faster */
    /* Row r's block i of a repacked matrix (nb blocks a row) back in the file's bytes, or NULL.
     * Where it is there, a matrix whose rows are also read one at a time (the token embedding,
     * the head when tied) may be repacked too: kern_embed_weights reads it through this. */
    dtype_block_back_fn repacked_block;
} dtype_traits;

/* The row of any id; ids past the table get an all-zero row (name NULL). */
const dtype_traits *dtype_traits_of(uint32_t type);

/* 1 for the types the engine computes with: a row-to-float, a scalar kernel and an activation
 * format forward.c produces (any but MLLM_ACT_NONE). */
int dtype_supported(uint32_t type);
/* ggml's name for any ggml type id ("Q4_K", "IQ2_XS", ...), "unknown" for retired ids and
 * past the table. */
const char *dtype_name(uint32_t type);
/* The supported types' names into buf, comma-separated in id order ("F32, F16, Q8_0, BF16"),
 * cut to fit cap bytes (NUL included); returns buf. */
const char *dtype_supported_names(char *buf, size_t cap);
/* Elements per block (1 for scalar types), 0 for unknown or retired ids. */
int64_t dtype_block_elems(uint32_t type);
/* Bytes per block (4, 2, 34, ...), 0 for unknown or retired ids. */
size_t dtype_block_bytes(uint32_t type);
/* Bytes of a row of n elements; 0 when n is not a multiple of the block or type unknown. */
size_t dtype_row_bytes(uint32_t type, int64_t n);
/* The activation format of the type's dot (MLLM_ACT_NONE for types the engine cannot run). */
int dtype_act(uint32_t type);
/* 1 for the float types (one element per block) the engine reads: F32, F16, BF16. */
int dtype_is_float(uint32_t type);

/* Any supported type to f32. n must be a multiple of the type's block. */
void dequantize_row(uint32_t type, const void *src, float *dst, int64_t n);

#endif
