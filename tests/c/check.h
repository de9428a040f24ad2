/* check.h — the tiny harness every C unit test uses. A test file defines test functions,
 * lists them in main() with RUN(fn), and ends with `return check_summary("name");`, which
 * prints "name: N passed, N failed" and returns the exit code. */
#ifndef MLLM_CHECK_H
#define MLLM_CHECK_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef struct check_state {
    int passed, failed, cur_failed;
    const char *cur;
} check_state;

static check_state check_g; /* test-binary state only; the engine itself has no globals */

#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (!(cond)) {                                                                \
            check_g.cur_failed++;                                                     \
            fprintf(stderr, "  FAIL %s:%d in %s: %s\n", __FILE__, __LINE__, check_g.cur, #cond); \
        }                                                                             \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                            \
    do {                                                                              \
        long long va_ = (long long)(a), vb_ = (long long)(b);                         \
        if (va_ != vb_) {                                                             \
            check_g.cur_failed++;                                                     \
            fprintf(stderr, "  FAIL %s:%d in %s: %s == %s (%lld vs %lld)\n", __FILE__, __LINE__, \
                    check_g.cur, #a, #b, va_, vb_);                                   \
        }                                                                             \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                         \
    do {                                                                              \
        double va_ = (double)(a), vb_ = (double)(b);                                  \
        if (!(fabs(va_ - vb_) <= (tol))) {                                            \
            check_g.cur_failed++;                                                     \
            fprintf(stderr, "  FAIL %s:%d in %s: |%s - %s| = %g > %g\n", __FILE__, __LINE__, \
                    check_g.cur, #a, #b, fabs(va_ - vb_), (double)(tol));             \
        }                                                                             \
    } while (0)

/* Substring check for error messages. */
#define CHECK_CONTAINS(hay, needle)                                                   \
    do {                                                                              \
        const char *h_ = (hay), *n_ = (needle);                                       \
        if (!h_ || !strstr(h_, n_)) {                                                 \
            check_g.cur_failed++;                                                     \
            fprintf(stderr, "  FAIL %s:%d in %s: \"%s\" does not contain \"%s\"\n", __FILE__, \
                    __LINE__, check_g.cur, h_ ? h_ : "(null)", n_);                   \
        }                                                                             \
    } while (0)

#define RUN(fn)                                                                       \
    do {                                                                              \
        check_g.cur = #fn;                                                            \
        check_g.cur_failed = 0;                                                       \
        fn();                                                                         \
        if (check_g.cur_failed) { check_g.failed++; fprintf(stderr, "not ok %s\n", #fn); } \
        else { check_g.passed++; }                                                    \
    } while (0)

/* Bitwise float equality, any NaN equal to any NaN (the kernels' bit-for-bit contract). */
static inline int same_float(float a, float b) {
    uint32_t ua, ub;
    if (a != a && b != b) return 1;
    memcpy(&ua, &a, 4);
    memcpy(&ub, &b, 4);
    return ua == ub;
}

static int check_summary(const char *suite) {
    printf("%s: %d passed, %d failed\n", suite, check_g.passed, check_g.failed);
    return check_g.failed ? 1 : 0;
}

#endif
