/* tokenizer_special.c — special tokens cut out of the text before tokenizing (llama.cpp's
 * tokenizer_st_partition). */
#include "tokenizer_impl.h"

#include <string.h>

static const char *find_bytes(const char *hay, size_t nh, const char *needle, size_t nn) {
    size_t i;
    if (nn == 0 || nn > nh) return NULL;
    for (i = 0; i + nn <= nh; i++) {
        const char *p = (const char *)memchr(hay + i, needle[0], nh - nn - i + 1);
        if (!p) return NULL;
        i = (size_t)(p - hay);
        if (memcmp(p, needle, nn) == 0) return p;
    }
    return NULL;
}

/* llama.cpp's tokenizer_st_partition: each special token in turn (longest first) is cut out
 * of every raw fragment. Returns the fragment count; a and b each hold 2 * len + 2. */
size_t tok_partition(const mllm_tokenizer *t, const char *text, size_t len, int parse_special, tok_frag *a,
                     tok_frag *b) {
    size_t n = 0, i;
    int32_t k;
    if (len == 0) return 0;
    a[n].token = -1, a[n].off = 0, a[n].len = (uint32_t)len, n++;
    for (k = 0; k < t->n_special; k++) {
        int32_t id = t->special[k];
        const char *tok = tok_piece_ptr(t, id);
        size_t tl = tok_piece_len(t, id), m = 0;
        if (!parse_special && (t->attr[id] & (ATTR_CONTROL | ATTR_UNKNOWN))) continue;
        for (i = 0; i < n; i++) {
            size_t off = a[i].off, end = a[i].off + a[i].len;
            const char *p;
            if (a[i].token >= 0) {
                b[m++] = a[i];
                continue;
            }
            while ((p = find_bytes(text + off, end - off, tok, tl)) != NULL) {
                size_t at = (size_t)(p - text);
                if (at > off) b[m].token = -1, b[m].off = (uint32_t)off, b[m].len = (uint32_t)(at - off), m++;
                b[m].token = id, b[m].off = (uint32_t)at, b[m].len = (uint32_t)tl, m++;
                off = at + tl;
            }
            if (end > off) b[m].token = -1, b[m].off = (uint32_t)off, b[m].len = (uint32_t)(end - off), m++;
        }
        memcpy(a, b, m * sizeof *b); /* keep the result in `a` */
        n = m;
    }
    return n;
}
