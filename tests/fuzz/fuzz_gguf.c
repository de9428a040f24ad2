/* fuzz_gguf.c — libFuzzer target: the GGUF reader (gguf_parse) on arbitrary bytes, checked by
 * tests/c/gguf_walk.h (a parsed file is walked completely under ASan; a refused one explains
 * itself and leaves nothing allocated). */
#include <stddef.h>
#include <stdint.h>

#include "gguf_walk.h"

static volatile uint64_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint64_t sum = 0;
    gguf_walk_parse(data, size, &sum);
    sink = sum;
    return 0;
}
