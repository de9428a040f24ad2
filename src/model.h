/* model.h — a loaded model: the parsed GGUF, hyperparameters, zero-copy weight views, the
 * effective-layer schedule of layer sharing, and the tokenizer.
 *
 * The struct is visible to the engine's own modules (forward.c, the tokenizer API, tests);
 * the public API sees only the opaque mllm_model handle. Weight views point into the GGUF
 * buffer; a stored block used by several effective layers is one mllm_block, referenced by
 * index from layer_block[], never copied.
 */
#ifndef MLLM_MODEL_H
#define MLLM_MODEL_H

#include <stdint.h>

#include "gguf.h"
#include "kernels.h"
#include "mobilellm.h"

struct mllm_tokenizer;

/* Layer-sharing schedules (values of mllm_model_info.share_mode). */
enum { MLLM_SHARE_IMMEDIATE = 0, MLLM_SHARE_REPEAT_ALL = 1, MLLM_SHARE_REVERSE = 2, MLLM_SHARE_MODES = 3 };

#define MLLM_MAX_SHARE_REPEAT 16

typedef struct mllm_hparams {
    int32_t n_vocab;
    int32_t n_embd;
    int32_t n_ff;
    int32_t n_head;
    int32_t n_head_kv;
    int32_t head_dim;
    int32_t n_rot;          /* rotated dims per head (rope.dimension_count), even, <= head_dim */
    int32_t n_layer_stored;
    int32_t n_layer_eff;    /* n_layer_stored * share_repeat */
    int32_t share_repeat;
    int32_t share_mode;     /* MLLM_SHARE_* */
    int32_t n_ctx_train;
    float rope_theta;
    float rope_theta_swa;   /* RoPE base of the windowed blocks (rope.freq_base_swa; else rope_theta) */
    float rms_eps;
    int32_t qk_norm;        /* 1: weightless RMS norm (eps rms_eps) of each q and k head after RoPE,
                               on the layers with RoPE (llama4's use_qk_norm) */
    float attn_temp_scale;  /* layers without RoPE: q *= 1 + scale * log(1 + floor((pos+1) / length)); */
    int32_t attn_temp_length; /* 0 scale: none (Llama 4's attention temperature tuning) */
    int32_t n_swa;          /* sliding window of the windowed blocks, in positions; 0: none */
} mllm_hparams;

/* One stored transformer block. Matrices have ne = [in, out]; norms ne = [n_embd]. */
typedef struct mllm_block {
    int32_t rope;                 /* 1: q and k are rotated (and qk-normed); 0: a no-RoPE layer */
    int32_t swa;                  /* 1: attends to the last hp.n_swa positions only (windowed) */
    const gguf_tensor *attn_norm;
    const gguf_tensor *wq, *wk, *wv, *wo;
    const gguf_tensor *ffn_norm;
    const gguf_tensor *w_gate, *w_up, *w_down;
} mllm_block;

/* A block's matrices in the order a layer runs them: q, k, v, o, gate, up, down. */
enum { MODEL_BLOCK_MATRICES = 7 };
void model_block_matrices(const mllm_block *b, const gguf_tensor *out[MODEL_BLOCK_MATRICES]);

/* What the loader learned of a tensor's bytes, for the kernels (kernels.h kern_weights). */
typedef struct model_weight_form {
    uint32_t layout;       /* KERN_LAYOUT_*: KERN_LAYOUT_ROWS, or the type's repacked layout */
    uint32_t plain_scales; /* Q8_0: every block scale is +0 or a positive normal half */
} model_weight_form;

struct mllm_model {
    gguf_file gguf;               /* tensor views point into the loaded bytes */
    uint8_t *owned_data;          /* the loaded bytes when take_ownership, else NULL */
    mllm_hparams hp;
    const gguf_tensor *tok_embd;  /* ne = [n_embd, n_vocab] */
    const gguf_tensor *output_norm;
    const gguf_tensor *output;    /* == tok_embd when tied */
    int32_t tied;
    mllm_block *blocks;           /* n_layer_stored */
    int32_t *layer_block;         /* n_layer_eff: stored block run by each effective layer */
    struct mllm_tokenizer *tok;
    int64_t n_params;             /* elements of the tensors the model uses */
    int64_t weight_bytes;         /* bytes of those tensors */
    model_weight_form *forms;     /* per gguf tensor: its layout and scales (model_kernel_weights) */
};

/* The stored block effective layer `l` runs, for n_stored blocks run `repeat` times each
 * under `mode` (MLLM_SHARE_*): immediate l / repeat; repeat_all l % n_stored; reverse: pass
 * p = l / n_stored, j = l % n_stored, p even ? j : n_stored-1-j. */
int32_t model_layer_block(int32_t l, int32_t n_stored, int32_t repeat, int32_t mode);

const struct mllm_tokenizer *model_tokenizer(const mllm_model *m);

/* Tensor t of m as kern_matmul takes it: its bytes, type, layout and scales. */
kern_weights model_kernel_weights(const mllm_model *m, const gguf_tensor *t);

#endif
