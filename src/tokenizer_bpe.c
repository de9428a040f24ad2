/* tokenizer_bpe.c — GPT-2 byte-level BPE for one raw fragment (llm_tokenizer_bpe): code
 * points, the pre-tokenizer's splits, then each word byte-mapped and merged by rank. */
#include "tokenizer_impl.h"

#include "unicode.h"

static const struct {
    int n;
    unicode_split_kind kinds[4];
} pre_splits[] = {
    /* default: [\p{P}\$\+<=>\^~\|]+, gpt2, \p{N}+, [0-9][0-9][0-9] */
    {4, {UNICODE_SPLIT_PUNCT_RUNS, UNICODE_SPLIT_GPT2, UNICODE_SPLIT_NUMBER_RUNS, UNICODE_SPLIT_DIGIT_TRIPLES}},
    /* gpt-2 */
    {1, {UNICODE_SPLIT_GPT2, UNICODE_SPLIT_GPT2, UNICODE_SPLIT_GPT2, UNICODE_SPLIT_GPT2}},
    /* smollm and friends: \p{N}, gpt2 */
    {2, {UNICODE_SPLIT_EACH_NUMBER, UNICODE_SPLIT_GPT2, UNICODE_SPLIT_GPT2, UNICODE_SPLIT_GPT2}},
    /* llama3 (llama-bpe) */
    {1, {UNICODE_SPLIT_LLAMA3, UNICODE_SPLIT_LLAMA3, UNICODE_SPLIT_LLAMA3, UNICODE_SPLIT_LLAMA3}},
    /* gpt-4o / llama4 */
    {1, {UNICODE_SPLIT_GPT4O, UNICODE_SPLIT_GPT4O, UNICODE_SPLIT_GPT4O, UNICODE_SPLIT_GPT4O}},
};

/* One raw fragment through the GPT-2 path: code points (lenient), pre-token splits, then
 * each word re-encoded to UTF-8, byte-mapped, and merged. cpts/seg_a/seg_b hold len each. */
int tok_bpe_fragment(const mllm_tokenizer *t, tok_work *w, const char *text, size_t len, uint32_t *cpts,
                     uint32_t *seg_a, uint32_t *seg_b, tok_emitter *e) {
    size_t nc = 0, pos = 0, nseg, i, j, start, max_bytes = 0;
    int s;
    while (pos < len) cpts[nc++] = unicode_decode_lenient((const unsigned char *)text, len, &pos);
    seg_a[0] = (uint32_t)nc;
    nseg = 1;
    for (s = 0; s < pre_splits[t->pre].n; s++) {
        uint32_t *tmp;
        nseg = unicode_split(pre_splits[t->pre].kinds[s], cpts, seg_a, nseg, seg_b);
        tmp = seg_a, seg_a = seg_b, seg_b = tmp;
    }
    /* size the word buffers for the longest word: one symbol per UTF-8 byte */
    for (i = 0, start = 0; i < nseg; i++) {
        size_t bytes = 0;
        char tmp[4];
        for (j = start; j < start + seg_a[i]; j++) bytes += unicode_encode_utf8(cpts[j], tmp);
        if (bytes > max_bytes) max_bytes = bytes;
        start += seg_a[i];
    }
    if (!tok_work_reserve(w, max_bytes + 1, 2 * max_bytes + 8)) return 0;
    for (i = 0, start = 0; i < nseg; i++) {
        size_t wl = 0;
        for (j = start; j < start + seg_a[i]; j++) {
            char u[4];
            size_t ul = unicode_encode_utf8(cpts[j], u), q;
            for (q = 0; q < ul; q++) wl += unicode_encode_utf8(unicode_byte_to_cpt((uint8_t)u[q]), w->buf + wl);
        }
        if (t->ignore_merges) { /* llama.cpp: a word that is a piece skips the merges */
            int32_t id = tok_vocab_find(t, w->buf, wl);
            if (id >= 0) {
                tok_emit(e, id);
                start += seg_a[i];
                continue;
            }
        }
        tok_merge_and_emit(t, w, w->buf, wl, e);
        start += seg_a[i];
    }
    return 1;
}
