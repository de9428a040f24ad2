/* tokenizer_spm.c — SentencePiece BPE for one raw fragment (llm_tokenizer_spm): spaces
 * escaped to U+2581 (with the dummy-prefix space at the start and after a special token),
 * then merged by piece score. */
#include "tokenizer_impl.h"

#include <string.h>

#include "unicode.h"

int tok_spm_fragment(const mllm_tokenizer *t, tok_work *w, const char *p, size_t n, int after_special,
                     tok_emitter *e) {
    /* llama_escape_whitespace on (" " if dummy prefix and after a special) + text */
    size_t wl = 0, j, nsym = 0;
    if (!tok_work_reserve(w, 0, 3 * n + 3)) return 0; /* every byte might be a "▁" */
    if (t->add_space_prefix && after_special) {
        memcpy(w->buf, "\xe2\x96\x81", 3);
        wl = 3;
    }
    for (j = 0; j < n; j++) {
        if (p[j] == ' ') {
            memcpy(w->buf + wl, "\xe2\x96\x81", 3);
            wl += 3;
        } else {
            w->buf[wl++] = p[j];
        }
    }
    for (j = 0; j < wl; j += unicode_len_utf8((unsigned char)w->buf[j])) nsym++;
    if (!tok_work_reserve(w, nsym + 1, 0)) return 0;
    tok_merge_and_emit(t, w, w->buf, wl, e);
    return 1;
}
