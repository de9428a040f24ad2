/* stop.h — stop-string matching for streamed text, as a pure function over a byte window.
 *
 * The generator keeps a small window of text that is not final yet. mllm_stops_scan tells it
 * how much of that window is final: everything before the earliest complete stop string, or,
 * when none is complete, everything except the longest suffix that could still grow into a
 * stop string (a proper prefix of one). Matching is on raw bytes, so multi-byte UTF-8 stop
 * strings work, and so do stop strings spanning token boundaries (the window carries them).
 */
#ifndef MLLM_STOP_H
#define MLLM_STOP_H

#include "mobilellm.h"

/* Longest stop string accepted, in bytes (bounds the generator's held-back text). */
#define MLLM_STOP_MAX_LEN 4096

typedef struct mllm_stops {
    char *bytes;      /* every stop string back to back (copies) */
    int32_t *off;     /* start of string i in bytes */
    int32_t *len;     /* length of string i */
    int32_t n, cap_n;
    int32_t n_bytes, cap_bytes;
    int32_t max_len;  /* longest string, 0 when there are none */
} mllm_stops;

void mllm_stops_init(mllm_stops *s);
void mllm_stops_free(mllm_stops *s); /* leaves s empty and reusable */

/* Copy one stop string (1..MLLM_STOP_MAX_LEN bytes) into the set. */
mllm_status mllm_stops_add(mllm_stops *s, const char *text, int32_t len, mllm_error *err);

/* Decide how much of text[0..len) is final. Returns that byte count r:
 * - *found = 1: a stop string occurs; r is where the earliest occurrence starts (text from r
 *   on is to be dropped);
 * - *found = 0: no stop string occurs; text[r..len) is the longest suffix that is a proper
 *   prefix of some stop string (to hold back), so r = len when there are no stop strings. */
int32_t mllm_stops_scan(const mllm_stops *s, const char *text, int32_t len, int32_t *found);

#endif
