/* stop.c — stop-string set and the hold-back scan (see stop.h). */
#include "stop.h"
#include "error.h"

#include <stdlib.h>
#include <string.h>

void mllm_stops_init(mllm_stops *s) { memset(s, 0, sizeof *s); }

void mllm_stops_free(mllm_stops *s) {
    if (!s) return;
    free(s->bytes);
    free(s->off);
    free(s->len);
    mllm_stops_init(s);
}

mllm_status mllm_stops_add(mllm_stops *s, const char *text, int32_t len, mllm_error *err) {
    if (!s || !text)
        return mllm_fail(err, MLLM_ERR_ARG, "stop string: NULL argument.");
    if (len <= 0 || len > MLLM_STOP_MAX_LEN)
        return mllm_fail(err, MLLM_ERR_ARG, "stop string length %d is outside 1..%d bytes.", (int)len,
                         MLLM_STOP_MAX_LEN);
    if (s->n == s->cap_n) {
        int32_t cap = s->cap_n ? 2 * s->cap_n : 4;
        int32_t *off = (int32_t *)realloc(s->off, (size_t)cap * sizeof *off);
        int32_t *ln;
        if (!off) return mllm_fail(err, MLLM_ERR_NOMEM, "out of memory adding a stop string.");
        s->off = off;
        ln = (int32_t *)realloc(s->len, (size_t)cap * sizeof *ln);
        if (!ln) return mllm_fail(err, MLLM_ERR_NOMEM, "out of memory adding a stop string.");
        s->len = ln;
        s->cap_n = cap;
    }
    if (s->n_bytes + len > s->cap_bytes) {
        int32_t cap = s->cap_bytes ? s->cap_bytes : 64;
        char *b;
        while (cap < s->n_bytes + len) {
            if (cap > (1 << 28)) return mllm_fail(err, MLLM_ERR_ARG, "too many stop-string bytes.");
            cap *= 2;
        }
        b = (char *)realloc(s->bytes, (size_t)cap);
        if (!b) return mllm_fail(err, MLLM_ERR_NOMEM, "out of memory adding a stop string.");
        s->bytes = b;
        s->cap_bytes = cap;
    }
    memcpy(s->bytes + s->n_bytes, text, (size_t)len);
    s->off[s->n] = s->n_bytes;
    s->len[s->n] = len;
    s->n_bytes += len;
    s->n++;
    if (len > s->max_len) s->max_len = len;
    mllm_error_clear(err);
    return MLLM_OK;
}

int32_t mllm_stops_scan(const mllm_stops *s, const char *text, int32_t len, int32_t *found) {
    int32_t pos, i, from;
    *found = 0;
    if (!s || s->n == 0 || len <= 0) return len > 0 ? len : 0;

    /* A complete occurrence wins over any pending longer one: generation stops the moment a
     * stop string appears, so the earliest complete occurrence is where the text ends. */
    for (pos = 0; pos < len; pos++) {
        for (i = 0; i < s->n; i++) {
            int32_t l = s->len[i];
            if (l <= len - pos && memcmp(text + pos, s->bytes + s->off[i], (size_t)l) == 0) {
                *found = 1;
                return pos;
            }
        }
    }

    /* Longest suffix that a stop string starts with: only the last max_len - 1 bytes can be. */
    from = len - (s->max_len - 1);
    if (from < 0) from = 0;
    for (pos = from; pos < len; pos++) {
        int32_t tail = len - pos;
        for (i = 0; i < s->n; i++) {
            if (tail < s->len[i] && memcmp(text + pos, s->bytes + s->off[i], (size_t)tail) == 0)
                return pos;
        }
    }
    return len;
}
