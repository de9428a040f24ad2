/* Deterministic test data: xorshift32, one stream per test file. Define RNG_SEED before including. */
#ifndef MLLM_TEST_RNG_H
#define MLLM_TEST_RNG_H
#include <stdint.h>

static uint32_t rng = RNG_SEED;
static uint32_t next_u32(void) {
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}
/* uniform in [-1, 1) */
static float frand(void) { return (float)((double)next_u32() / 4294967296.0 * 2.0 - 1.0); }

#endif
