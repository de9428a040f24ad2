/* forward.c — the transformer forward pass over a chunk of tokens, and the context API.
 *
 * Readable top to bottom like llama2.c's forward(), but batched: every matrix is streamed
 * once per chunk of up to n_batch tokens (decode is the same code with n = 1). Per effective
 * layer: rmsnorm -> q, k, v -> RoPE (adjacent pairs; llama4 adds a per-head q/k norm; a
 * no-RoPE layer may scale q instead) -> K/V into the layer's cache slot (a ring for a windowed
 * layer) -> causal GQA (a windowed layer: the last n_swa positions)
 * attention -> output projection + residual -> rmsnorm -> SwiGLU FFN + residual. Layer
 * sharing is only an index: effective layer l runs stored block m->layer_block[l] and owns
 * cache slot l. Nothing here allocates after mllm_context_new.
 */
#include "forward.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "batch_pass.h"
#include "dtype.h"
#include "error.h"
#include "kernels.h"
#include "kernels_quant.h"
#include "threads.h"

const mllm_model *mllm_context_model(const mllm_context *c) { return c ? c->m : NULL; }

/* ---------------------------------------------------------------- forward pass */

/* The quantized activation formats (dtype_act: Q8_0, Q8_1, Q8_K) a matrix's dot takes, as a
 * bit mask; 0 for float activations. */
static uint32_t act_bit(const gguf_tensor *w) {
    int a = w ? dtype_act(w->type) : MLLM_ACT_NONE;
    return a == MLLM_ACT_NONE || a == MLLM_ACT_F32 ? 0u : 1u << a;
}

/* Where the step before weights w left their quantized activations: row row0 of c->act in
 * w's format (rows of `width` values); NULL for float activations. */
static const void *act_rows(const mllm_context *c, const gguf_tensor *w, int64_t width, int32_t row0) {
    int a = dtype_act(w->type);
    if (!(act_bit(w))) return NULL;
    return c->act[a] + (size_t)row0 * kern_act_row_bytes(a, width);
}

/* The per-token steps between matmuls, each followed by the quantization of its result row
 * into every activation format of `acts` (act_bit mask; row t into c->act[format] row t):
 * out = rmsnorm(in) * w; out = in as is; out = swiglu(in, in2). Rows are independent, so a prompt's rows are split across the
 * context's threads (a decode step's one row is not worth a job: a few microseconds). */
enum { ROWS_NORM, ROWS_COPY, ROWS_SWIGLU };
typedef struct rows_job {
    int op;
    float *out;
    const float *in, *in2;
    const gguf_tensor *w; /* ROWS_NORM's weight */
    float eps;
    int64_t width;        /* floats per row */
    uint32_t acts;        /* act_bit mask of the formats to quantize into */
    uint8_t *const *act;  /* c->act */
    int32_t count, per;
} rows_job;

static void rows_range(const rows_job *j, int32_t t0, int32_t t1) {
    int32_t t;
    for (t = t0; t < t1; t++) {
        const float *in = j->in + (size_t)t * j->width, *res = in;
        if (j->op != ROWS_COPY) {
            float *out = j->out + (size_t)t * j->width;
            if (j->op == ROWS_NORM) kern_rmsnorm(out, in, j->w->data, j->w->type, j->width, j->eps);
            else kern_swiglu(out, in, j->in2 + (size_t)t * j->width, j->width);
            res = out;
        }
        if (j->acts) {
            int a;
            for (a = MLLM_ACT_Q8_0; a <= MLLM_ACT_Q8_K; a++)
                if (j->acts & (1u << a))
                    kern_quantize_act(a, res, j->act[a] + (size_t)t * kern_act_row_bytes(a, j->width), j->width);
        }
    }
}

static void rows_item(void *arg, int item, int thread) {
    const rows_job *j = (const rows_job *)arg;
    int32_t t0 = j->per * item, t1 = t0 + j->per;
    (void)thread;
    rows_range(j, t0, t1 < j->count ? t1 : j->count);
}

/* Rows per thread below which the caller does them alone. */
#define ROWS_MIN_PER_THREAD 4

static void row_steps(mllm_context *c, int op, float *out, const float *in, const float *in2, const gguf_tensor *w,
                      int64_t width, int32_t count, uint32_t acts) {
    const int threads = mllm_pool_size(c->pool);
    rows_job j = {.op = op, .out = out, .in = in, .in2 = in2, .w = w, .eps = c->m->hp.rms_eps,
                  .width = width, .acts = acts, .act = c->act, .count = count, .per = (count + threads - 1) / threads};
    if (op == ROWS_COPY && !acts) return;
    if (threads < 2 || count < ROWS_MIN_PER_THREAD * threads) rows_range(&j, 0, count);
    else mllm_pool_run(c->pool, rows_item, &j, (count + j.per - 1) / j.per);
}

/* Matmuls, split by rows across the context's threads (each output row is computed by
 * exactly one thread with the same kernel, so the thread count never changes a value). */
typedef struct matmul_job {
    float *out;
    int64_t ldo;
    const gguf_tensor *w;
    kern_weights kw; /* model_kernel_weights(w) */
    kern_hints hints;
    const float *x;
    const void *xq; /* act_rows: the tokens in the weights' activation format */
    int32_t n;
    int first, items; /* its tiles among the set's items */
} matmul_job;

/* Up to three matmuls of one layer that need only the same input (q, k, v; gate, up) go out
 * as one pool job, so the threads meet once where they met two or three times (a few
 * microseconds each, 60 layers per token). The job's items are the matrices' tiles of
 * tile_rows rows (32: whole 8-row kernel tiles, and groups of four rows as the x4 layouts
 * need), one matrix after the other. */
typedef struct matmul_set {
    matmul_job m[3];
    int count, n_items;
    int64_t tile_rows;
} matmul_set;

/* Items first .. first+count-1 of a set: each matrix's part of them as one kernel call. */
static void matmul_range(void *arg, int first, int count, int thread) {
    const matmul_set *s = (const matmul_set *)arg;
    int k;
    (void)thread;
    for (k = 0; k < s->count; k++) {
        const matmul_job *j = &s->m[k];
        int i0 = first > j->first ? first : j->first;
        int i1 = first + count < j->first + j->items ? first + count : j->first + j->items;
        int64_t rows = j->w->ne[1], r0 = (int64_t)(i0 - j->first) * s->tile_rows,
                r1 = (int64_t)(i1 - j->first) * s->tile_rows;
        if (r1 > rows) r1 = rows;
        if (i0 >= i1) continue;
        {
            kern_weights kw = j->kw; /* rows r0.. (whole groups of four in a repacked layout) */
            kw.data = (const uint8_t *)kw.data + (size_t)r0 * dtype_row_bytes(kw.type, j->w->ne[0]);
            kern_matmul(j->out + r0, j->ldo, &kw, j->w->ne[0], r1 - r0, j->x, j->xq, j->n, j->hints);
        }
    }
}

/* Add out[t][*] = W x[t] to the set: W has ne = [n_in, n_out]. reuse: reuse_hint's
 * (kern_hints.reuse). */
static void matmul_add(mllm_context *c, matmul_set *s, float *out, int64_t ldo, const gguf_tensor *w,
                       const float *x, const void *xq, int32_t n, uint32_t reuse) {
    matmul_job *j = &s->m[s->count++];
    j->out = out;
    j->ldo = ldo;
    j->w = w;
    j->kw = model_kernel_weights(c->m, w);
    j->hints.relaxed = c->relaxed;
    j->hints.reuse = reuse;
    j->x = x;
    j->xq = xq;
    j->n = n;
}

/* Run the set (without threads: one call per matrix). With threads, each thread takes a long
 * stretch of tiles from the front of its home range (mllm_pool_run_ranges): the decode kernel
 * reads its rows as 8 streams, which only pay when long, and the range follows the thread's
 * speed, so a thread reads about the same rows of a matrix each time: a shared block's second
 * run finds its part in that core's L2. A thread that comes late, or runs slower, finds its
 * range's tail taken by the others. Figures: PERF_NOTES.md, "Forward pass" and "Two threads on
 * unequal cores". */
static void matmul_run(mllm_context *c, matmul_set *s) {
    int64_t tiles = 0;
    int k;
    s->tile_rows = 32;
    for (k = 0; k < s->count; k++) tiles += (s->m[k].w->ne[1] + 31) / 32;
    while (tiles > 0xffff) { /* (the pool's item limit: a head of over 2M rows) */
        s->tile_rows *= 2;
        tiles = 0;
        for (k = 0; k < s->count; k++) tiles += (s->m[k].w->ne[1] + s->tile_rows - 1) / s->tile_rows;
    }
    s->n_items = 0;
    for (k = 0; k < s->count; k++) {
        s->m[k].first = s->n_items;
        s->m[k].items = (int)((s->m[k].w->ne[1] + s->tile_rows - 1) / s->tile_rows);
        s->n_items += s->m[k].items;
    }
    mllm_pool_run_ranges(c->pool, matmul_range, s, s->n_items);
}

/* One matmul alone. */
static void matmul(mllm_context *c, float *out, int64_t ldo, const gguf_tensor *w, const float *x,
                   const void *xq, int32_t n, uint32_t reuse) {
    matmul_set s = {.count = 0};
    matmul_add(c, &s, out, ldo, w, x, xq, n, reuse);
    matmul_run(c, &s);
}

/* Bytes of a thread's share of a block, at most, for which layer l's matmuls get
 * kern_hints.reuse: 2 MiB, the L2 of an Intel Sapphire Rapids core, where it was measured. Over
 * it the second reads buy nothing and cost time; on a 1 MiB-L2 AMD Zen 5 core they did not pay
 * at any share (PERF_NOTES.md, "Layer sharing at Q4_K_M on two threads"). */
#define REUSE_MAX_SHARE_BYTES (2u << 20)

/* 1 (kern_hints.reuse) when the next layer runs layer l's block again (immediate sharing) and a
 * thread's share of it may stay in its core's L2; else 0. */
static uint32_t reuse_hint(const mllm_context *c, int32_t l) {
    const mllm_model *m = c->m;
    const gguf_tensor *ws[MODEL_BLOCK_MATRICES];
    uint64_t bytes = 0;
    int k;
    if (l + 1 >= m->hp.n_layer_eff || m->layer_block[l + 1] != m->layer_block[l]) return 0u;
    model_block_matrices(&m->blocks[m->layer_block[l]], ws);
    for (k = 0; k < MODEL_BLOCK_MATRICES; k++) bytes += ws[k]->nbytes;
    return bytes / (uint64_t)mllm_pool_size(c->pool) <= REUSE_MAX_SHARE_BYTES;
}

/* Causal grouped-query attention of the chunk's n tokens (positions pos0..pos0+n-1) over the
 * layer's cache, which already holds their keys and values. The query heads sharing a
 * key/value head go to the kernel together, so each cached key row is read once for all of
 * them; the (token, group) items are split across the context's threads, each with its own
 * scores scratch. A decode step on threads gives each thread a contiguous range of heads
 * instead (a ranged job, attention_heads_range, so the ranges follow the threads' speeds as
 * the matmuls' do): two threads share MobileLLM-125M's 9 heads 4:5 on equal cores, and each
 * reads the keys and values of two of its 3 groups, where (group, part) items would let a
 * thread read all three. Other chunks with fewer than two items per thread cut each group's
 * heads into `parts` items; a part re-reads its group's keys and values, mostly from cache.
 * The kernel computes each head alone, so the results do not change. */
typedef struct attn_job {
    mllm_context *c;
    const float *kc, *vc;
    int32_t rows, ring, window;       /* the layer's kv_rows, kv_ring; its window (0: all positions) */
    int32_t pos0, t0, n_items, parts; /* n_items: (token, group) pairs */
} attn_job;

/* Token t's query heads h0..h1-1, all of one group, through the kernel on `thread`'s
 * scores scratch. The keys are positions first..p, one run of rows (forward.h). */
static void attend(const attn_job *j, int32_t t, int32_t h0, int32_t h1, int thread) {
    mllm_context *c = j->c;
    const mllm_hparams *hp = &c->m->hp;
    const int32_t hd = hp->head_dim, group = hp->n_head / hp->n_head_kv, p = j->pos0 + t;
    const int32_t first = j->window > 0 && p + 1 > j->window ? p + 1 - j->window : 0;
    const int32_t row0 = j->ring ? first % j->ring : first;
    const size_t q_off = (size_t)t * c->q_dim + (size_t)h0 * hd;
    const size_t kv_off = ((size_t)(h0 / group) * (size_t)j->rows + (size_t)row0) * hd;
    kern_attention(c->att + q_off, c->q + q_off, j->kc + kv_off, j->vc + kv_off, hd, hd, h1 - h0, p + 1 - first,
                   1.0f / sqrtf((float)hd), c->scores + (size_t)thread * group * c->n_ctx);
}

static void attention_item(void *arg, int item, int thread) {
    const attn_job *j = (const attn_job *)arg;
    const mllm_hparams *hp = &j->c->m->hp;
    int32_t group = hp->n_head / hp->n_head_kv;
    int32_t part = item / j->n_items, tg = item % j->n_items; /* first parts (the larger) first */
    int32_t t = j->t0 + tg / hp->n_head_kv, g = tg % hp->n_head_kv;
    int32_t h0 = (part * group + j->parts - 1) / j->parts, h1 = ((part + 1) * group + j->parts - 1) / j->parts;
    attend(j, t, g * group + h0, g * group + h1, thread);
}

/* One token's heads first .. first+count-1 (a ranged job's stretch): a call per group the
 * stretch meets. */
static void attention_heads_range(void *arg, int first, int count, int thread) {
    const attn_job *j = (const attn_job *)arg;
    const int32_t group = j->c->m->hp.n_head / j->c->m->hp.n_head_kv, h1 = first + count;
    int32_t h = first;
    while (h < h1) {
        const int32_t he = (h / group + 1) * group < h1 ? (h / group + 1) * group : h1;
        attend(j, j->t0, h, he, thread);
        h = he;
    }
}

/* Tokens t0..n-1 of the chunk attend, in effective layer l. */
static void attention(mllm_context *c, int32_t l, int32_t pos0, int32_t t0, int32_t n) {
    attn_job j;
    j.c = c;
    j.kc = c->k_cache + c->kv_off[l];
    j.vc = c->v_cache + c->kv_off[l];
    j.rows = c->kv_rows[l];
    j.ring = c->kv_ring[l];
    j.window = c->m->blocks[c->m->layer_block[l]].swa ? c->m->hp.n_swa : 0;
    j.pos0 = pos0;
    j.t0 = t0;
    if (n - t0 == 1 && mllm_pool_size(c->pool) > 1) {
        j.n_items = c->m->hp.n_head;
        j.parts = 1;
        mllm_pool_run_ranges(c->pool, attention_heads_range, &j, j.n_items);
        return;
    }
    j.n_items = (n - t0) * c->m->hp.n_head_kv;
    j.parts = 1;
    while (j.n_items * j.parts < 2 * mllm_pool_size(c->pool) && j.parts < c->m->hp.n_head / c->m->hp.n_head_kv)
        j.parts++;
    mllm_pool_run(c->pool, attention_item, &j, j.n_items * j.parts);
}

/* The factor of a no-RoPE layer's queries at position pos (Llama 4's attention temperature
 * tuning, computed in float as Hugging Face does): 1 + scale * log(1 + floor((pos+1) / length)). */
static float attn_temperature(const mllm_hparams *hp, int32_t pos) {
    return logf(floorf(((float)pos + 1.0f) / (float)hp->attn_temp_length) + 1.0f) * hp->attn_temp_scale + 1.0f;
}

/* Run n tokens at positions pos0.. through every layer (forward.h; a batch's tokens at their
 * own positions). Rows first_logit..n-1 get logits,
 * written to c->logits from row 0 (first_logit == n: no head at all). Like llama.cpp, the
 * last layer computes only the keys and values of rows before first_logit (the cache
 * needs them; nothing else does): 1/n_layer of a prompt's work, and the whole last layer
 * but k and v for chunks before a prompt's last. Every row is computed independently, so
 * the rows that are computed get exactly the values they get in a full pass. */
void forward_chunk(mllm_context *c, const int32_t *tokens, int32_t n, int32_t pos0, int32_t first_logit,
                   const mllm_batch_token *batch) {
    const mllm_model *m = c->m;
    const mllm_hparams *hp = &m->hp;
    const int64_t d = hp->n_embd, ff = hp->n_ff;
    const kern_weights embd = model_kernel_weights(m, m->tok_embd);
    int32_t t, l;

    mllm_pool_hold(c->pool, 1); /* the helpers wake now and poll between this pass's jobs */
    for (t = 0; t < n; t++) {
        const int32_t pos = batch ? batch[t].pos : pos0 + t;
        kern_embed_weights(c->x + t * d, &embd, batch ? batch[t].token : tokens[t], d);
        kern_rope_table(c->rope + (size_t)t * hp->n_rot, pos, hp->n_rot, hp->rope_theta);
        if (hp->rope_theta_swa != hp->rope_theta) /* the windowed blocks' own base, the second half */
            kern_rope_table(c->rope + ((size_t)c->n_batch + (size_t)t) * hp->n_rot, pos, hp->n_rot, hp->rope_theta_swa);
    }

    for (l = 0; l < hp->n_layer_eff; l++) {
        const mllm_block *b = &m->blocks[m->layer_block[l]];
        float *kc = c->k_cache + c->kv_off[l], *vc = c->v_cache + c->kv_off[l];
        const int32_t rows = c->kv_rows[l], ring = c->kv_ring[l];
        /* rows r0..n-1 go through the whole layer; before r0 only k and v */
        const int32_t r0 = l == hp->n_layer_eff - 1 ? first_logit : 0, nr = n - r0;
        const uint32_t reuse = reuse_hint(c, l);
        int32_t g;

        /* attention block */
        row_steps(c, ROWS_NORM, c->xn, c->x, NULL, b->attn_norm, d, n, act_bit(b->wq) | act_bit(b->wk) | act_bit(b->wv));
        {
            matmul_set s = {.count = 0};
            if (nr > 0)
                matmul_add(c, &s, c->q + (size_t)r0 * c->q_dim, c->q_dim, b->wq, c->xn + r0 * d,
                           act_rows(c, b->wq, d, r0), nr, reuse);
            matmul_add(c, &s, c->k_new, c->kv_dim, b->wk, c->xn, act_rows(c, b->wk, d, 0), n, reuse);
            matmul_add(c, &s, c->v_new, c->kv_dim, b->wv, c->xn, act_rows(c, b->wv, d, 0), n, reuse);
            matmul_run(c, &s);
        }
        for (t = 0; t < n; t++) {
            float *q = c->q + (size_t)t * c->q_dim, *k = c->k_new + (size_t)t * c->kv_dim;
            if (b->rope) { /* RoPE, then (llama4) each head's weightless q/k norm */
                const int second = b->swa && hp->rope_theta_swa != hp->rope_theta;
                const float *cs = c->rope + ((second ? (size_t)c->n_batch : 0) + (size_t)t) * hp->n_rot;
                if (t >= r0) kern_rope(q, hp->n_head, hp->head_dim, hp->n_rot, cs);
                kern_rope(k, hp->n_head_kv, hp->head_dim, hp->n_rot, cs);
                if (hp->qk_norm) {
                    if (t >= r0) kern_head_rmsnorm(q, hp->n_head, hp->head_dim, hp->rms_eps);
                    kern_head_rmsnorm(k, hp->n_head_kv, hp->head_dim, hp->rms_eps);
                }
            } else if (hp->attn_temp_scale != 0.0f && t >= r0) { /* a no-RoPE layer's temperature */
                const float f = attn_temperature(hp, batch ? batch[t].pos : pos0 + t);
                int32_t i;
                for (i = 0; i < c->q_dim; i++) q[i] *= f;
            }
            for (g = 0; g < hp->n_head_kv; g++) { /* into the head-major cache (a ring: both rows) */
                const int32_t row = ring ? (pos0 + t) % ring : pos0 + t;
                size_t at = ((size_t)g * (size_t)rows + (size_t)row) * hp->head_dim;
                size_t from = (size_t)t * c->kv_dim + (size_t)g * hp->head_dim;
                memcpy(kc + at, c->k_new + from, sizeof(float) * (size_t)hp->head_dim);
                memcpy(vc + at, c->v_new + from, sizeof(float) * (size_t)hp->head_dim);
                if (ring) {
                    at += (size_t)ring * hp->head_dim;
                    memcpy(kc + at, c->k_new + from, sizeof(float) * (size_t)hp->head_dim);
                    memcpy(vc + at, c->v_new + from, sizeof(float) * (size_t)hp->head_dim);
                }
            }
        }
        if (nr == 0) continue; /* the last layer of a chunk without logits: the cache is filled */
        if (batch) batch_attention(c, l, batch, pos0);
        else attention(c, l, pos0, r0, n);
        /* from here on the layer works on rows r0.. only, kept at their own row indices */
        {
            float *x = c->x + (size_t)r0 * d, *xn = c->xn + (size_t)r0 * d;
            float *gate = c->gate + (size_t)r0 * ff, *up = c->up + (size_t)r0 * ff;
            const float *att = c->att + (size_t)r0 * c->q_dim;
            row_steps(c, ROWS_COPY, NULL, att, NULL, NULL, c->q_dim, nr, act_bit(b->wo));
            matmul(c, xn, d, b->wo, att, act_rows(c, b->wo, c->q_dim, 0), nr, reuse);
            kern_axpy_f32(x, 1.0f, xn, nr * d);

            /* feed-forward block */
            row_steps(c, ROWS_NORM, xn, x, NULL, b->ffn_norm, d, nr, act_bit(b->w_gate) | act_bit(b->w_up));
            {
                matmul_set s = {.count = 0};
                matmul_add(c, &s, gate, ff, b->w_gate, xn, act_rows(c, b->w_gate, d, 0), nr, reuse);
                matmul_add(c, &s, up, ff, b->w_up, xn, act_rows(c, b->w_up, d, 0), nr, reuse);
                matmul_run(c, &s);
            }
            row_steps(c, ROWS_SWIGLU, gate, gate, up, NULL, ff, nr, act_bit(b->w_down));
            matmul(c, xn, d, b->w_down, gate, act_rows(c, b->w_down, ff, 0), nr, reuse);
            kern_axpy_f32(x, 1.0f, xn, nr * d);
        }
    }

    if (batch) first_logit = n - batch_logit_rows(c, batch, n); /* its marked rows, moved to the end */
    if (first_logit < n) {
        int32_t n_out = n - first_logit;
        row_steps(c, ROWS_NORM, c->xn, c->x + (size_t)first_logit * d, NULL, m->output_norm, d, n_out,
                  act_bit(m->output));
        matmul(c, c->logits, hp->n_vocab, m->output, c->xn, act_rows(c, m->output, d, 0), n_out, 0);
    }
    mllm_pool_hold(c->pool, 0);
}

/* ---------------------------------------------------------------- context API */

/* count floats (or bytes when elem == 1), failing cleanly where size_t is 32 bits. */
static void *alloc_array(uint64_t count, size_t elem, int *failed) {
    void *p;
    if (*failed) return NULL;
    if (count == 0) count = 1;
    if (count > (uint64_t)SIZE_MAX / elem) { *failed = 1; return NULL; }
    p = malloc((size_t)count * elem);
    if (!p) *failed = 1;
    return p;
}

/* act_bit of every matrix of the model, ORed. */
static uint32_t model_acts(const mllm_model *m) {
    uint32_t acts = act_bit(m->output);
    int32_t i;
    for (i = 0; i < m->hp.n_layer_stored; i++) {
        const gguf_tensor *ws[MODEL_BLOCK_MATRICES];
        int k;
        model_block_matrices(&m->blocks[i], ws);
        for (k = 0; k < MODEL_BLOCK_MATRICES; k++) acts |= act_bit(ws[k]);
    }
    return acts;
}

mllm_status mllm_context_new(const mllm_model *m, const mllm_context_params *params, mllm_context **out,
                             mllm_error *err) {
    const mllm_hparams *hp;
    mllm_context *c;
    int32_t n_ctx, n_batch, n_threads;
    uint64_t nb, widest;
    uint32_t acts;
    int failed = 0, a;
    mllm_status st;

    mllm_error_clear(err);
    if (!out) return mllm_fail(err, MLLM_ERR_ARG, "mllm_context_new needs a place to store the context (out is NULL)");
    *out = NULL;
    if (!m) return mllm_fail(err, MLLM_ERR_ARG, "mllm_context_new was given no model (model is NULL)");
    hp = &m->hp;
    n_ctx = params ? params->n_ctx : 0;
    n_batch = params ? params->n_batch : 0;
    n_threads = params ? params->n_threads : 1;
    if (n_ctx < 0) return mllm_fail(err, MLLM_ERR_ARG, "n_ctx %d is negative", (int)n_ctx);
    if (n_batch < 0) return mllm_fail(err, MLLM_ERR_ARG, "n_batch %d is negative", (int)n_batch);
    if (n_threads < 0) return mllm_fail(err, MLLM_ERR_ARG, "n_threads %d is negative", (int)n_threads);
    if (n_ctx == 0) n_ctx = hp->n_ctx_train;
    if (n_batch == 0) n_batch = 256;
    if (n_batch > n_ctx) n_batch = n_ctx;

    c = (mllm_context *)calloc(1, sizeof *c);
    if (!c) return mllm_fail(err, MLLM_ERR_NOMEM, "out of memory for the context");
    c->m = m;
    c->n_ctx = n_ctx;
    c->n_batch = n_batch;
    c->relaxed = !params || params->relaxed_simd ? 1u : 0u;
    c->kv_dim = hp->n_head_kv * hp->head_dim;
    c->q_dim = hp->n_head * hp->head_dim;
    nb = (uint64_t)n_batch;
    c->kv_off = (size_t *)alloc_array((uint64_t)hp->n_layer_eff, sizeof(size_t), &failed);
    c->kv_rows = (int32_t *)alloc_array((uint64_t)hp->n_layer_eff, sizeof(int32_t), &failed);
    c->kv_ring = (int32_t *)alloc_array((uint64_t)hp->n_layer_eff, sizeof(int32_t), &failed);
    c->min_ring = 0;
    if (!failed) {
        uint64_t total = 0;
        int32_t l;
        for (l = 0; l < hp->n_layer_eff; l++) { /* forward.h: a ring where it is well under n_ctx */
            int64_t ring = (int64_t)hp->n_swa + n_batch - 1;
            int windowed = hp->n_swa > 0 && m->blocks[m->layer_block[l]].swa && 2 * ring < (int64_t)n_ctx;
            c->kv_ring[l] = windowed ? (int32_t)ring : 0;
            c->kv_rows[l] = windowed ? (int32_t)(2 * ring) : n_ctx;
            if (windowed && (c->min_ring == 0 || c->kv_ring[l] < c->min_ring)) c->min_ring = c->kv_ring[l];
            if (total > (uint64_t)SIZE_MAX / sizeof(float)) failed = 1;
            c->kv_off[l] = (size_t)total;
            total += (uint64_t)c->kv_rows[l] * (uint64_t)c->kv_dim;
        }
        c->k_cache = (float *)alloc_array(total, sizeof(float), &failed);
        c->v_cache = (float *)alloc_array(total, sizeof(float), &failed);
    }
    c->x = (float *)alloc_array(nb * (uint64_t)hp->n_embd, sizeof(float), &failed);
    c->xn = (float *)alloc_array(nb * (uint64_t)hp->n_embd, sizeof(float), &failed);
    c->q = (float *)alloc_array(nb * (uint64_t)c->q_dim, sizeof(float), &failed);
    c->k_new = (float *)alloc_array(nb * (uint64_t)c->kv_dim, sizeof(float), &failed);
    c->v_new = (float *)alloc_array(nb * (uint64_t)c->kv_dim, sizeof(float), &failed);
    c->att = (float *)alloc_array(nb * (uint64_t)c->q_dim, sizeof(float), &failed);
    c->gate = (float *)alloc_array(nb * (uint64_t)hp->n_ff, sizeof(float), &failed);
    c->up = (float *)alloc_array(nb * (uint64_t)hp->n_ff, sizeof(float), &failed);
    if ((st = mllm_pool_new(n_threads, &c->pool, err)) != MLLM_OK) {
        mllm_context_free(c);
        return st;
    }
    c->scores = (float *)alloc_array((uint64_t)mllm_pool_size(c->pool) * (uint64_t)(hp->n_head / hp->n_head_kv) *
                                         (uint64_t)n_ctx, sizeof(float), &failed);
    c->rope = (float *)alloc_array(2 * nb * (uint64_t)hp->n_rot, sizeof(float), &failed);
    c->logits = (float *)alloc_array((uint64_t)hp->n_vocab, sizeof(float), &failed);
    c->logits_rows = 1;
    acts = model_acts(m);
    widest = (uint64_t)hp->n_embd;
    if ((uint64_t)c->q_dim > widest) widest = (uint64_t)c->q_dim;
    if ((uint64_t)hp->n_ff > widest) widest = (uint64_t)hp->n_ff;
    widest = (widest + 255) / 256 * 256; /* whole blocks of every format */
    for (a = MLLM_ACT_Q8_0; a <= MLLM_ACT_Q8_K; a++)
        if (acts & (1u << a)) c->act[a] = (uint8_t *)alloc_array(nb * kern_act_row_bytes(a, (int64_t)widest), 1, &failed);
    if (failed) {
        mllm_context_free(c);
        return mllm_fail(err, MLLM_ERR_NOMEM,
                         "out of memory for a context of %d positions and batch %d (KV cache of %d layers)",
                         (int)n_ctx, (int)n_batch, (int)hp->n_layer_eff);
    }
    *out = c;
    return MLLM_OK;
}

void mllm_context_free(mllm_context *c) {
    int i;
    if (!c) return;
    mllm_pool_free(c->pool);
    free(c->k_cache);
    free(c->v_cache);
    free(c->kv_off);
    free(c->kv_rows);
    free(c->kv_ring);
    free(c->x);
    free(c->xn);
    free(c->q);
    free(c->k_new);
    free(c->v_new);
    free(c->att);
    free(c->gate);
    free(c->up);
    free(c->scores);
    free(c->rope);
    free(c->gather);
    free(c->pieces);
    for (i = 0; i <= MLLM_ACT_Q8_K; i++) free(c->act[i]);
    free(c->logits);
    free(c);
}

mllm_status forward_logit_rows(mllm_context *c, int32_t n, mllm_error *err) {
    if (n > c->logits_rows) { /* once per context: to n_batch rows */
        /* in 64 bits: n_batch * n_vocab floats can pass a 32-bit size_t (wasm) */
        uint64_t bytes = sizeof(float) * (uint64_t)c->n_batch * (uint64_t)c->m->hp.n_vocab;
        float *grown = bytes <= (uint64_t)SIZE_MAX ? (float *)realloc(c->logits, (size_t)bytes) : NULL;
        if (!grown)
            return mllm_fail(err, MLLM_ERR_NOMEM, "out of memory for the logits of %d tokens (an all-logits eval)",
                             (int)c->n_batch);
        c->logits = grown;
        c->logits_rows = c->n_batch;
    }
    return MLLM_OK;
}

mllm_status mllm_eval(mllm_context *c, const int32_t *tokens, int32_t n, int32_t all_logits, mllm_error *err) {
    int32_t i, off;
    mllm_error_clear(err);
    if (!c) return mllm_fail(err, MLLM_ERR_ARG, "mllm_eval was given no context (context is NULL)");
    if (!tokens || n <= 0) return mllm_fail(err, MLLM_ERR_ARG, "mllm_eval needs at least one token (got %d)", (int)n);
    if (all_logits && n > c->n_batch)
        return mllm_fail(err, MLLM_ERR_ARG, "an all-logits eval of %d tokens exceeds the batch size %d", (int)n,
                         (int)c->n_batch);
    if (c->n_past != c->n_seq)
        return mllm_fail(err, MLLM_ERR_STATE,
                         "the cache holds a batch of several sequences after position %d: rewind to it before evaluating one sequence",
                         (int)c->n_seq);
    if (n > c->n_ctx - c->n_past)
        return mllm_fail(err, MLLM_ERR_CONTEXT_FULL,
                         "evaluating %d tokens after %d would exceed the context length %d", (int)n,
                         (int)c->n_past, (int)c->n_ctx);
    for (i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= c->m->hp.n_vocab)
            return mllm_fail(err, MLLM_ERR_ARG, "token %d at index %d is outside the vocabulary 0..%d",
                             (int)tokens[i], (int)i, (int)c->m->hp.n_vocab - 1);

    if (all_logits) {
        mllm_status st = forward_logit_rows(c, n, err); /* before any state changes */
        if (st != MLLM_OK) return st;
    }
    c->logits_valid = 0;
    for (off = 0; off < n; off += c->n_batch) {
        int32_t cn = n - off < c->n_batch ? n - off : c->n_batch;
        int32_t first = cn; /* no logits for chunks before the last */
        if (all_logits) first = 0;
        else if (off + cn == n) first = cn - 1;
        forward_chunk(c, tokens + off, cn, c->n_past, first, NULL);
        c->n_past += cn;
    }
    c->n_seq = c->n_past;
    c->logits_n = n;
    c->logits_all = all_logits ? 1 : 0;
    c->logits_valid = 1;
    return MLLM_OK;
}

const float *mllm_logits(const mllm_context *c, int32_t i) {
    if (!c || !c->logits_valid) return NULL;
    if (i == -1) i = c->logits_n - 1;
    if (i < 0 || i >= c->logits_n) return NULL;
    if (c->logits_all) return c->logits + (size_t)i * c->m->hp.n_vocab;
    return i == c->logits_n - 1 ? c->logits : NULL;
}

int32_t mllm_n_past(const mllm_context *c) { return c ? c->n_past : 0; }

int32_t mllm_n_ctx(const mllm_context *c) { return c ? c->n_ctx : 0; }

mllm_status mllm_kv_rewind(mllm_context *c, int32_t n_keep, mllm_error *err) {
    mllm_error_clear(err);
    if (!c) return mllm_fail(err, MLLM_ERR_ARG, "mllm_kv_rewind was given no context (context is NULL)");
    if (n_keep < 0 || n_keep > c->n_past)
        return mllm_fail(err, MLLM_ERR_ARG, "cannot keep %d positions: the cache holds %d", (int)n_keep,
                         (int)c->n_past);
    if (c->min_ring > 0 && n_keep > 0) {
        /* the next token's window, positions max(0, n_keep - n_swa + 1)..n_keep - 1, must not
         * have been overwritten in the ring by a position R later */
        int32_t first = n_keep - c->m->hp.n_swa + 1 > 0 ? n_keep - c->m->hp.n_swa + 1 : 0;
        if ((int64_t)first + c->min_ring <= (int64_t)c->n_past - 1)
            return mllm_fail(err, MLLM_ERR_ARG,
                             "cannot go back from %d to %d positions: the sliding-window layers no longer hold the window before it (a batch, %d, or all can be dropped)",
                             (int)c->n_past, (int)n_keep, (int)c->n_batch);
    }
    if (n_keep < c->n_past) {
        /* Stale K/V rows past n_keep are simply overwritten by later evals. */
        c->n_past = n_keep;
        if (c->n_seq > n_keep) c->n_seq = n_keep;
        c->logits_valid = 0;
    }
    return MLLM_OK;
}
