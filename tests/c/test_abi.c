/* test_abi.c — the table of struct fields bindings read the public structs by
 * (mllm_abi_layout): it covers every byte of each struct in mobilellm.h exactly once, so a
 * field added, removed or moved without its row fails here; and the enumeration names
 * bindings show are the ones mobilellm.h documents. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mobilellm.h"

/* The structs of mobilellm.h and their sizes, written out here independently of the table. */
static const struct {
    const char *name;
    size_t size;
} structs[] = {
    {"mllm_error", sizeof(mllm_error)},
    {"mllm_model_params", sizeof(mllm_model_params)},
    {"mllm_model_info", sizeof(mllm_model_info)},
    {"mllm_layer_info", sizeof(mllm_layer_info)},
    {"mllm_type_usage", sizeof(mllm_type_usage)},
    {"mllm_context_params", sizeof(mllm_context_params)},
    {"mllm_batch_token", sizeof(mllm_batch_token)},
    {"mllm_sampler_params", sizeof(mllm_sampler_params)},
    {"mllm_generator_params", sizeof(mllm_generator_params)},
    {"mllm_step_result", sizeof(mllm_step_result)},
    {"mllm_abi_field", sizeof(mllm_abi_field)},
};

static int kind_size_ok(const char *kind, int32_t size) {
    if (!strcmp(kind, "i32") || !strcmp(kind, "u32") || !strcmp(kind, "f32")) return size > 0 && size % 4 == 0;
    if (!strcmp(kind, "i64")) return size > 0 && size % 8 == 0;
    if (!strcmp(kind, "ptr")) return size == (int32_t)sizeof(void *);
    return !strcmp(kind, "bytes") && size > 0;
}

/* Each struct has its own row and fields that tile it: sorted by offset, each starts where the
 * one before ends and the last ends at sizeof (the public structs have no padding). */
static void test_layout_covers_every_struct_exactly(void) {
    int32_t n = 0, i, j;
    const mllm_abi_field *f = mllm_abi_layout(&n);
    size_t s;
    CHECK(f != NULL && n > 0);
    for (s = 0; s < sizeof structs / sizeof structs[0]; s++) {
        int32_t end = 0, rows = 0, fields = 0;
        for (i = 0; i < n; i++) {
            if (strcmp(f[i].strct, structs[s].name)) continue;
            if (!f[i].name[0]) {
                rows++;
                CHECK(!strcmp(f[i].kind, "struct"));
                CHECK_EQ_INT(f[i].size, structs[s].size);
                continue;
            }
            fields++;
            CHECK(kind_size_ok(f[i].kind, f[i].size));
        }
        CHECK_EQ_INT(rows, 1);
        while (end < (int32_t)structs[s].size) { /* walk the fields in offset order */
            int32_t next = -1;
            for (j = 0; j < n; j++)
                if (!strcmp(f[j].strct, structs[s].name) && f[j].name[0] && f[j].offset == end) next = j;
            if (next < 0) {
                fprintf(stderr, "  %s: no field at offset %d\n", structs[s].name, (int)end);
                break;
            }
            end += f[next].size;
            fields--;
        }
        CHECK_EQ_INT(end, structs[s].size);
        CHECK_EQ_INT(fields, 0); /* no field left over (overlapping another) */
    }
    for (i = 0; i < n; i++) { /* and no struct the list above lacks */
        int known = 0;
        for (s = 0; s < sizeof structs / sizeof structs[0]; s++) known |= !strcmp(f[i].strct, structs[s].name);
        CHECK(known);
    }
}

/* A few rows against offsetof, spelled out: the table is what the compiler laid out. */
static void test_layout_rows_are_the_compilers_offsets(void) {
    int32_t n = 0, i, seen = 0;
    const mllm_abi_field *f = mllm_abi_layout(&n);
    for (i = 0; i < n; i++) {
        if (!strcmp(f[i].strct, "mllm_model_info") && !strcmp(f[i].name, "rope_theta")) {
            CHECK_EQ_INT(f[i].offset, offsetof(mllm_model_info, rope_theta));
            CHECK(!strcmp(f[i].kind, "f32"));
            seen++;
        }
        if (!strcmp(f[i].strct, "mllm_model_info") && !strcmp(f[i].name, "n_params")) {
            CHECK_EQ_INT(f[i].offset, offsetof(mllm_model_info, n_params));
            CHECK(!strcmp(f[i].kind, "i64"));
            seen++;
        }
        if (!strcmp(f[i].strct, "mllm_error") && !strcmp(f[i].name, "msg")) {
            CHECK_EQ_INT(f[i].offset, offsetof(mllm_error, msg));
            CHECK_EQ_INT(f[i].size, sizeof(((mllm_error *)0)->msg));
            seen++;
        }
    }
    CHECK_EQ_INT(seen, 3);
}

static void test_enumeration_names(void) {
    CHECK(!strcmp(mllm_status_name(MLLM_ERR_CONTEXT_FULL), "context_full"));
    CHECK(!strcmp(mllm_status_name((mllm_status)99), "unknown"));
    CHECK(!strcmp(mllm_stop_name(MLLM_STOP_NONE), "none"));
    CHECK(!strcmp(mllm_stop_name(MLLM_STOP_STRING), "stop"));
    CHECK(!strcmp(mllm_stop_name(MLLM_STOP_CONTEXT), "context_full"));
    CHECK(!strcmp(mllm_stop_name(5), "unknown") && !strcmp(mllm_stop_name(-1), "unknown"));
    CHECK(!strcmp(mllm_share_mode_name(0), "immediate") && !strcmp(mllm_share_mode_name(2), "reverse"));
    CHECK(!strcmp(mllm_share_mode_name(3), "unknown"));
    CHECK(!strcmp(mllm_tokenizer_name(0), "llama") && !strcmp(mllm_tokenizer_name(1), "gpt2"));
    CHECK(!strcmp(mllm_tokenizer_name(2), "unknown"));
    CHECK(!strcmp(mllm_dtype_name(8), "Q8_0") && !strcmp(mllm_dtype_name(30), "BF16"));
    CHECK(!strcmp(mllm_dtype_name(-1), "unknown") && !strcmp(mllm_dtype_name(4), "unknown"));
}

int main(void) {
    RUN(test_layout_covers_every_struct_exactly);
    RUN(test_layout_rows_are_the_compilers_offsets);
    RUN(test_enumeration_names);
    return check_summary("abi");
}
