/* batch_pass.c — the steps of the forward pass that differ for a batch of several sequences
 * (batch_pass.h): attention under the batch's visibility rule, and its logit rows. */
#include "batch_pass.h"

#include <math.h>
#include <string.h>

#include "kernels.h"
#include "threads.h"

int32_t batch_pieces(const mllm_batch_token *b, int32_t n, int32_t *pieces) {
    int32_t t, count = 0;
    for (t = 0; t < n; t++)
        if (t == 0 || t - pieces[count - 1] == BATCH_PIECE || b[t].see_from != b[t - 1].see_from ||
            b[t].see_to != b[t - 1].see_to || b[t].seg_from != b[t - 1].seg_from)
            pieces[count++] = t;
    pieces[count] = n;
    return count;
}

typedef struct piece_job {
    mllm_context *c;
    const mllm_batch_token *b;
    const float *kc, *vc; /* the layer's cache slot */
    int32_t rows;         /* its rows per KV head */
    int32_t slot0;        /* the slot of the batch's token 0 */
} piece_job;

/* Piece item / n_head_kv, KV group item % n_head_kv: every query head of the group, for each
 * of the piece's tokens. */
static void piece_item(void *arg, int item, int thread) {
    const piece_job *j = (const piece_job *)arg;
    mllm_context *c = j->c;
    const mllm_hparams *hp = &c->m->hp;
    const int32_t hd = hp->head_dim, group = hp->n_head / hp->n_head_kv, g = item % hp->n_head_kv;
    const int32_t t0 = c->pieces[item / hp->n_head_kv], t1 = c->pieces[item / hp->n_head_kv + 1];
    const mllm_batch_token *b = &j->b[t0];
    const int32_t n_see = b->see_to - b->see_from;
    const float *k = j->kc + (size_t)g * (size_t)j->rows * hd, *v = j->vc + (size_t)g * (size_t)j->rows * hd;
    int32_t t;
    if (n_see > 0 && b->see_to != b->seg_from) { /* two runs: gather them into one */
        const size_t cap = (size_t)c->gather_rows * hd, own = (size_t)(j->slot0 + t1 - b->seg_from) * hd;
        float *gk = c->gather + (size_t)thread * 2 * cap, *gv = gk + cap;
        memcpy(gk, k + (size_t)b->see_from * hd, sizeof(float) * (size_t)n_see * hd);
        memcpy(gk + (size_t)n_see * hd, k + (size_t)b->seg_from * hd, sizeof(float) * own);
        memcpy(gv, v + (size_t)b->see_from * hd, sizeof(float) * (size_t)n_see * hd);
        memcpy(gv + (size_t)n_see * hd, v + (size_t)b->seg_from * hd, sizeof(float) * own);
        k = gk;
        v = gv;
    } else { /* one run in the cache, from see_from (or seg_from when nothing else is seen) */
        k += (size_t)(b->seg_from - n_see) * hd;
        v += (size_t)(b->seg_from - n_see) * hd;
    }
    for (t = t0; t < t1; t++) {
        const size_t q_off = (size_t)t * c->q_dim + (size_t)g * group * hd;
        const int32_t n_pos = n_see + j->slot0 + t - b->seg_from + 1;
        kern_attention(c->att + q_off, c->q + q_off, k, v, hd, hd, group, n_pos, 1.0f / sqrtf((float)hd),
                       c->scores + (size_t)thread * group * c->n_ctx);
    }
}

void batch_attention(mllm_context *c, int32_t l, const mllm_batch_token *b, int32_t slot0) {
    piece_job j;
    j.c = c;
    j.b = b;
    j.kc = c->k_cache + c->kv_off[l];
    j.vc = c->v_cache + c->kv_off[l];
    j.rows = c->kv_rows[l];
    j.slot0 = slot0;
    mllm_pool_run(c->pool, piece_item, &j, c->n_pieces * c->m->hp.n_head_kv);
}

int32_t batch_logit_rows(mllm_context *c, const mllm_batch_token *b, int32_t n) {
    const int64_t d = c->m->hp.n_embd;
    int32_t t, k = n;
    for (t = n - 1; t >= 0; t--)
        if (b[t].logits && --k != t) memcpy(c->x + (size_t)k * d, c->x + (size_t)t * d, sizeof(float) * (size_t)d);
    return n - k;
}
