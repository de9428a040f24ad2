/* test_stop.c — stop-string hold-back scanning (src/stop.c).
 *
 * Direct cases pin the scan's two answers (cut at a complete stop string / hold back the
 * longest suffix that may still become one). Streaming cases feed text in chunks through the
 * scan the way the generator does and compare with a brute-force reference computed on the
 * whole text: at the first chunk end by which some stop string has fully appeared, the text
 * ends where the earliest such occurrence starts. */
#include "check.h"
#include "stop.h"

#include <stdlib.h>
#include <string.h>

static void add(mllm_stops *s, const char *t) {
    mllm_error err;
    CHECK_EQ_INT(mllm_stops_add(s, t, (int32_t)strlen(t), &err), MLLM_OK);
}

static int32_t scan(const mllm_stops *s, const char *t, int32_t *found) {
    return mllm_stops_scan(s, t, (int32_t)strlen(t), found);
}

/* Brute force over the whole text: returns the final text length, *stopped = 1 when a stop
 * string ended it. chunk_end[0..nc) are the cumulative chunk ends. */
static int ref_stream(const char *text, int len, const int *chunk_end, int nc, const char *const *stops,
                      int ns, int *stopped) {
    int c, q, i;
    for (c = 0; c < nc; c++) {
        int best = -1;
        for (q = 0; q < chunk_end[c]; q++) {
            for (i = 0; i < ns; i++) {
                int l = (int)strlen(stops[i]);
                if (q + l <= chunk_end[c] && memcmp(text + q, stops[i], (size_t)l) == 0) {
                    if (best < 0 || q < best) best = q;
                }
            }
        }
        if (best >= 0) {
            *stopped = 1;
            return best;
        }
    }
    *stopped = 0;
    return len;
}

/* The generator's loop: append a chunk to the window, scan, release, keep the held part.
 * Returns the released length (into out); checks the held part never exceeds max_len - 1. */
static int run_stream(const mllm_stops *s, const char *text, const int *chunk_end, int nc, char *out,
                      int *stopped) {
    char win[512];
    int wl = 0, ol = 0, c, start = 0;
    *stopped = 0;
    for (c = 0; c < nc; c++) {
        int32_t found, r;
        memcpy(win + wl, text + start, (size_t)(chunk_end[c] - start));
        wl += chunk_end[c] - start;
        start = chunk_end[c];
        r = mllm_stops_scan(s, win, wl, &found);
        CHECK(r >= 0 && r <= wl);
        memcpy(out + ol, win, (size_t)r);
        ol += r;
        if (found) {
            *stopped = 1;
            return ol;
        }
        memmove(win, win + r, (size_t)(wl - r));
        wl -= r;
        CHECK(wl <= (s->max_len > 0 ? s->max_len - 1 : 0));
    }
    memcpy(out + ol, win, (size_t)wl); /* end of stream: the held part is final */
    return ol + wl;
}

static void test_no_stop_strings(void) {
    mllm_stops s;
    int32_t found = 7;
    mllm_stops_init(&s);
    CHECK_EQ_INT(scan(&s, "anything at all", &found), 15);
    CHECK_EQ_INT(found, 0);
    CHECK_EQ_INT(mllm_stops_scan(&s, "", 0, &found), 0);
    mllm_stops_free(&s);
}

static void test_overlapping_prefixes(void) {
    mllm_stops s;
    int32_t found;
    mllm_stops_init(&s);
    add(&s, "abc");
    add(&s, "bcd");
    CHECK_EQ_INT(scan(&s, "ab", &found), 0); /* "ab" may become "abc": hold it all */
    CHECK_EQ_INT(found, 0);
    CHECK_EQ_INT(scan(&s, "xab", &found), 1);
    CHECK_EQ_INT(scan(&s, "xabx", &found), 4); /* "x" ends nothing: release all */
    CHECK_EQ_INT(scan(&s, "xbc", &found), 1);  /* "bc" may become "bcd" */
    CHECK_EQ_INT(found, 0);
    CHECK_EQ_INT(scan(&s, "zabcd", &found), 1); /* "abc" at 1 beats "bcd" at 2 */
    CHECK_EQ_INT(found, 1);
    CHECK_EQ_INT(scan(&s, "zzbcd", &found), 2);
    CHECK_EQ_INT(found, 1);
    CHECK_EQ_INT(scan(&s, "a", &found), 0);
    CHECK_EQ_INT(scan(&s, "c", &found), 1);
    mllm_stops_free(&s);
}

static void test_complete_beats_pending(void) {
    /* "bc" is complete although the longer "abcd" that starts earlier might still come */
    mllm_stops s;
    int32_t found;
    mllm_stops_init(&s);
    add(&s, "abcd");
    add(&s, "bc");
    CHECK_EQ_INT(scan(&s, "xabc", &found), 2);
    CHECK_EQ_INT(found, 1);
    CHECK_EQ_INT(scan(&s, "xabcd", &found), 1); /* both complete: the earlier start wins */
    CHECK_EQ_INT(found, 1);
    mllm_stops_free(&s);
}

static void test_stop_at_start(void) {
    mllm_stops s;
    int32_t found;
    mllm_stops_init(&s);
    add(&s, "END");
    CHECK_EQ_INT(scan(&s, "END of story", &found), 0);
    CHECK_EQ_INT(found, 1);
    CHECK_EQ_INT(scan(&s, "EN", &found), 0);
    CHECK_EQ_INT(found, 0);
    CHECK_EQ_INT(scan(&s, "ENDEND", &found), 0);
    CHECK_EQ_INT(found, 1);
    mllm_stops_free(&s);
}

static void test_utf8_stops(void) {
    mllm_stops s;
    int32_t found;
    mllm_stops_init(&s);
    add(&s, "\xC3\xA9");         /* é */
    add(&s, "\xE2\x86\x92 end"); /* → end */
    CHECK_EQ_INT(scan(&s, "caf\xC3", &found), 3); /* a lone lead byte is held */
    CHECK_EQ_INT(found, 0);
    CHECK_EQ_INT(scan(&s, "caf\xC3\xA9!", &found), 3);
    CHECK_EQ_INT(found, 1);
    CHECK_EQ_INT(scan(&s, "caf\xC3\xA8", &found), 5); /* è is not é: all final */
    CHECK_EQ_INT(found, 0);
    CHECK_EQ_INT(scan(&s, "x \xE2\x86\x92 en", &found), 2);
    CHECK_EQ_INT(found, 0);
    CHECK_EQ_INT(scan(&s, "x \xE2\x86\x92 end", &found), 2);
    CHECK_EQ_INT(found, 1);
    mllm_stops_free(&s);
}

static void test_add_errors_and_growth(void) {
    mllm_stops s;
    mllm_error err;
    char big[MLLM_STOP_MAX_LEN + 1];
    char name[24];
    int i;
    int32_t found;
    mllm_stops_init(&s);
    CHECK_EQ_INT(mllm_stops_add(&s, "x", 0, &err), MLLM_ERR_ARG);
    CHECK_CONTAINS(err.msg, "length 0");
    CHECK_EQ_INT(mllm_stops_add(&s, NULL, 3, &err), MLLM_ERR_ARG);
    memset(big, 'q', sizeof big);
    CHECK_EQ_INT(mllm_stops_add(&s, big, MLLM_STOP_MAX_LEN + 1, &err), MLLM_ERR_ARG);
    CHECK_EQ_INT(mllm_stops_add(&s, big, MLLM_STOP_MAX_LEN, &err), MLLM_OK);
    CHECK_EQ_INT(s.max_len, MLLM_STOP_MAX_LEN);
    for (i = 0; i < 100; i++) {
        snprintf(name, sizeof name, "<stop%d>", i);
        add(&s, name);
    }
    CHECK_EQ_INT(s.n, 101);
    CHECK_EQ_INT(scan(&s, "hello <stop57> world", &found), 6);
    CHECK_EQ_INT(found, 1);
    CHECK_EQ_INT(scan(&s, "hello <stop9", &found), 6);
    CHECK_EQ_INT(found, 0);
    CHECK_EQ_INT(scan(&s, "qqqq", &found), 0); /* a prefix of the 4096-byte stop */
    mllm_stops_free(&s);
    CHECK_EQ_INT(s.n, 0);
}

/* Random texts over a 3-letter alphabet, random stop sets and random chunkings. */
static void test_streaming_matches_reference(void) {
    uint32_t seed = 2024;
    int trial, mismatches = 0, stopped_runs = 0;
    for (trial = 0; trial < 3000; trial++) {
        char text[80], out[160];
        char stopbuf[4][6];
        const char *stops[4];
        int chunk_end[80], nc = 0, len, ns, i, pos, rlen, glen, rstop, gstop;
        mllm_stops s;
        seed = seed * 1664525u + 1013904223u;
        len = 1 + (int)((seed >> 8) % 60u);
        for (i = 0; i < len; i++) {
            seed = seed * 1664525u + 1013904223u;
            text[i] = (char)('a' + (seed >> 8) % 3u);
        }
        text[len] = 0;
        seed = seed * 1664525u + 1013904223u;
        ns = (int)((seed >> 8) % 4u); /* 0..3 stop strings */
        mllm_stops_init(&s);
        for (i = 0; i < ns; i++) {
            int l, j;
            seed = seed * 1664525u + 1013904223u;
            l = 1 + (int)((seed >> 8) % 5u);
            for (j = 0; j < l; j++) {
                seed = seed * 1664525u + 1013904223u;
                stopbuf[i][j] = (char)('a' + (seed >> 8) % 3u);
            }
            stopbuf[i][l] = 0;
            stops[i] = stopbuf[i];
            add(&s, stops[i]);
        }
        for (pos = 0; pos < len;) {
            seed = seed * 1664525u + 1013904223u;
            pos += 1 + (int)((seed >> 8) % 4u);
            if (pos > len) pos = len;
            chunk_end[nc++] = pos;
        }
        rlen = ref_stream(text, len, chunk_end, nc, stops, ns, &rstop);
        glen = run_stream(&s, text, chunk_end, nc, out, &gstop);
        if (rlen != glen || rstop != gstop || memcmp(out, text, (size_t)glen) != 0) {
            if (mismatches++ < 5)
                fprintf(stderr, "  text %s: ref %d/%d got %d/%d\n", text, rlen, rstop, glen, gstop);
        }
        stopped_runs += rstop;
        mllm_stops_free(&s);
    }
    CHECK_EQ_INT(mismatches, 0);
    CHECK(stopped_runs > 1000); /* the random cases do exercise stopping */
}

int main(void) {
    RUN(test_no_stop_strings);
    RUN(test_overlapping_prefixes);
    RUN(test_complete_beats_pending);
    RUN(test_stop_at_start);
    RUN(test_utf8_stops);
    RUN(test_add_errors_and_growth);
    RUN(test_streaming_matches_reference);
    return check_summary("stop");
}
