/* make_seeds.c — writes the fuzzers' seed corpora (built at make time, never committed):
 *   DIR/model/   small complete models from tiny_model.h: every weight type, tied and untied,
 *                each layer-sharing mode (also the GGUF reader's seeds);
 *   DIR/tokenizer/ inputs in fuzz_tokenizer.c's layout: both families, with and without byte
 *                tokens, a few pieces and merges, and some text.
 * Usage: make_seeds DIR (the subdirectories must exist). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tiny_model.h"

static void write_file(const char *dir, const char *sub, const char *name, const void *p, size_t n) {
    char path[512];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s/%s", dir, sub, name);
    f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "make_seeds: cannot write %s\n", path);
        exit(1);
    }
}

static void model_seed(const char *dir, const char *name, tm_spec s) {
    tm_weights *w = tm_weights_new(&s, 11);
    size_t size;
    uint8_t *bytes = tm_build(&s, w, &size);
    write_file(dir, "model", name, bytes, size);
    free(bytes);
    tm_weights_free(w);
}

int main(int argc, char **argv) {
    const char *dir;
    tm_spec s;
    if (argc != 2) {
        fprintf(stderr, "usage: make_seeds DIR\n");
        return 2;
    }
    dir = argv[1];

    /* small shapes keep each input a few KB, so libFuzzer runs fast */
    s = tm_default();
    s.n_embd = 32; s.n_head = 2; s.n_head_kv = 1; s.n_ff = 32; s.n_vocab = 16; s.n_blocks = 1; s.n_ctx = 16;
    s.wtype = MLLM_DTYPE_Q8_0; s.embd_type = MLLM_DTYPE_Q8_0; s.norm_type = MLLM_DTYPE_F32;
    model_seed(dir, "q8_0_tied", s);
    s.tied = 0; s.embd_type = MLLM_DTYPE_F16; s.norm_type = MLLM_DTYPE_F16;
    model_seed(dir, "q8_0_untied_f16", s);
    s.tied = 1; s.wtype = MLLM_DTYPE_BF16; s.embd_type = MLLM_DTYPE_BF16; s.norm_type = MLLM_DTYPE_BF16;
    s.n_embd = 16; s.n_ff = 24; s.n_head = 2; s.n_head_kv = 2;
    model_seed(dir, "bf16", s);
    s.wtype = MLLM_DTYPE_F16; s.embd_type = MLLM_DTYPE_F32; s.norm_type = MLLM_DTYPE_F32;
    s.n_blocks = 2; s.repeat = 2; s.mode = "immediate";
    model_seed(dir, "f16_share_immediate", s);
    s.wtype = MLLM_DTYPE_F32; s.n_embd = 8; s.n_ff = 8; s.n_head = 2; s.n_head_kv = 1; s.mode = "reverse";
    model_seed(dir, "f32_share_reverse", s);
    s.mode = "repeat_all"; s.repeat = 3;
    model_seed(dir, "f32_share_repeat_all", s);

    {
        /* flags, n_pieces, pieces (len|type<<4, score, bytes), [merges], bos, eos, text */
        static const unsigned char spm[] = {0x06, 3, 0x12, 5, 'a', 'b', 0x11, 4, 'c', 0x13, 1, 0xE2, 0x96, 0x81,
                                            1, 2, 'a', 'b', 'c', ' ', 'h', 0xC3, 0xA9, '!'};
        static const unsigned char spm_typed[] = {0xA4, 2, 0x43, 0, '<', 't', '>', 0x31, 2, 'x',
                                                  1, 2, 'x', '<', 't', '>', 'y'};
        static const unsigned char gpt2[] = {0x03, 3, 0x01, 0, 'a', 0x01, 0, 'b', 0x02, 0, ' ', 'a',
                                             2, 0, 1, 2, 0, 0, 0, 'a', 'b', ' ', 'a', 'b', '\'', 's', ' ', '1', '2', '3'};
        static const unsigned char gpt2_default[] = {0x0B, 2, 0x02, 0, 'h', 'i', 0x01, 0, '.',
                                                     1, 0, 1, 0, 0, 'h', 'i', ' ', '.', ' ', 'h', 'i', '\n'};
        write_file(dir, "tokenizer", "spm", spm, sizeof spm);
        write_file(dir, "tokenizer", "spm_typed", spm_typed, sizeof spm_typed);
        write_file(dir, "tokenizer", "gpt2_smollm", gpt2, sizeof gpt2);
        write_file(dir, "tokenizer", "gpt2_default", gpt2_default, sizeof gpt2_default);
        {
            /* the same vocabularies with pre 3: llama4 (3 pieces, odd) and llama-bpe (2, even) */
            static const unsigned char text[] = {'A', 'b', 'C', '\'', 'S', ' ', 0xC3, 0x89, 'x', 0xCC, 0x81, ' ', '1', '2',
                                                 '3', '4', '/', '\n', '/', ' ', ' ', '!', '\r', '\n'};
            unsigned char l4[sizeof gpt2 + sizeof text], l3[sizeof gpt2_default + sizeof text];
            memcpy(l4, gpt2, sizeof gpt2);
            memcpy(l4 + sizeof gpt2, text, sizeof text);
            l4[0] = 0x1B;
            memcpy(l3, gpt2_default, sizeof gpt2_default);
            memcpy(l3 + sizeof gpt2_default, text, sizeof text);
            l3[0] = 0x1B;
            write_file(dir, "tokenizer", "gpt2_llama4", l4, sizeof l4);
            write_file(dir, "tokenizer", "gpt2_llama_bpe", l3, sizeof l3);
        }
    }
    return 0;
}
