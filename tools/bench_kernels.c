/* bench_kernels.c — where the time goes: each hot kernel alone on MobileLLM-125M shapes,
 * reported as GB/s of weights (or KV cache) streamed and GOP/s computed (a multiply-add
 * counts as 2 ops). Built by tools/bench.js twice with emcc (-msimd128 and without) and run
 * under Node; prints one JSON object. Best of several repetitions (a shared machine).
 *
 * Rows: a plain SIMD read loop over 4 MiB and 256 MiB (the memory ceiling); Q8_0 decode
 * matvec on an L2-resident 1536x576 matrix and streaming a whole 30-layer model; the same
 * 30 layers with each block run twice back to back (the `immediate` sharing schedule) and
 * 60 distinct blocks (the same depth unrolled); the prefill tile kernel (128 tokens); the
 * attention kernel at positions 512 and 2000 (30 layers of F32 KV cache). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <emscripten.h>

#include "dtype.h"
#include "kernels.h"
#ifdef __wasm_simd128__
#include <wasm_simd128.h>
#endif

static uint32_t rng = 1;
static float frand(void) {
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return (float)rng / 4294967296.0f * 2.0f - 1.0f;
}

/* These matrices as the engine hands them to the kernels: their scales are positive normal
 * halves, as model.c finds in quantized files (kern_weights.plain_scales). */
static void q8_matmul(float *out, const block_q8_0 *w, int n_in, int rows, const block_q8_0 *xq, int n_tok) {
    const kern_weights kw = {w, MLLM_DTYPE_Q8_0, KERN_LAYOUT_ROWS, 1};
    const kern_hints hints = {0, 0};
    kern_matmul(out, rows, &kw, n_in, rows, NULL, xq, n_tok, hints);
}

static block_q8_0 *q8_matrix(int n_in, int rows) {
    size_t nb = (size_t)n_in / 32 * (size_t)rows, i;
    block_q8_0 *w = (block_q8_0 *)malloc(sizeof(block_q8_0) * nb);
    int j;
    for (i = 0; i < nb; i++) {
        w[i].d = f32_to_fp16(0.001f + 0.01f * (frand() + 1.0f));
        for (j = 0; j < 32; j++) w[i].qs[j] = (int8_t)(frand() * 127.0f);
    }
    return w;
}

/* The seven matrices of a 125M block, in forward order: q, k, v, o, gate, up, down. */
static const int SHAPES[7][2] = {{576, 576}, {576, 192}, {576, 192}, {576, 576}, {576, 1536}, {576, 1536}, {1536, 576}};

static double now(void) { return emscripten_get_now(); }
static void row(const char *name, double ms, double bytes, double ops, int first) {
    printf("%s\"%s\": {\"ms\": %.3f, \"GB_s\": %.2f, \"GOP_s\": %.2f}", first ? "" : ",\n", name, ms, bytes / ms / 1e6,
           ops / ms / 1e6);
}

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 5, r, l, j, p;
    static block_q8_0 *blocks[60][7];
    block_q8_0 *head = q8_matrix(576, 32000);
    float *x = (float *)malloc(sizeof(float) * 1536 * 128), *out = (float *)malloc(sizeof(float) * 32000 * 128);
    block_q8_0 *xq = (block_q8_0 *)malloc(sizeof(block_q8_0) * 48 * 128);
    double best, t, block_bytes = 0, block_ops = 0;
    for (l = 0; l < 60; l++)
        for (j = 0; j < 7; j++) blocks[l][j] = q8_matrix(SHAPES[j][0], SHAPES[j][1]);
    for (j = 0; j < 7; j++) {
        block_bytes += (double)SHAPES[j][0] / 32 * 34 * SHAPES[j][1];
        block_ops += 2.0 * SHAPES[j][0] * SHAPES[j][1];
    }
    for (j = 0; j < 1536 * 128; j++) x[j] = frand();
    kern_quantize_q8_0(x, xq, 1536 * 128);
    printf("{\"simd\": %d,\n", (int)(
#ifdef __wasm_simd128__
                                       1
#else
                                       0
#endif
                                       ));

    /* memory ceiling: a read loop, 16 loads per iteration */
    {
        static const size_t sizes[2] = {4u << 20, 256u << 20};
        int s;
        for (s = 0; s < 2; s++) {
            uint8_t *buf = (uint8_t *)malloc(sizes[s]);
            size_t i;
            uint32_t acc = 0;
            for (i = 0; i < sizes[s]; i += 4096) buf[i] = (uint8_t)i;
            best = 1e30;
            for (r = 0; r < reps; r++) {
                t = now();
#ifdef __wasm_simd128__
                {
                    v128_t a0 = wasm_i32x4_splat(0), a1 = a0, a2 = a0, a3 = a0;
                    for (i = 0; i < sizes[s]; i += 256) {
                        int u;
                        for (u = 0; u < 256; u += 64) {
                            a0 = wasm_i32x4_add(a0, wasm_v128_load(buf + i + u));
                            a1 = wasm_i32x4_add(a1, wasm_v128_load(buf + i + u + 16));
                            a2 = wasm_i32x4_add(a2, wasm_v128_load(buf + i + u + 32));
                            a3 = wasm_i32x4_add(a3, wasm_v128_load(buf + i + u + 48));
                        }
                    }
                    acc += (uint32_t)wasm_i32x4_extract_lane(wasm_i32x4_add(wasm_i32x4_add(a0, a1), wasm_i32x4_add(a2, a3)), 0);
                }
#else
                {
                    const uint32_t *w32 = (const uint32_t *)(const void *)buf;
                    for (i = 0; i < sizes[s] / 4; i += 4) acc += w32[i] + w32[i + 1] + w32[i + 2] + w32[i + 3];
                }
#endif
                t = now() - t;
                if (t < best) best = t;
            }
            row(s == 0 ? "read_4MiB" : "read_256MiB", best, (double)sizes[s], 0, s == 0);
            if (acc == 12345) printf(" ");
            free(buf);
        }
    }

    /* decode matvec, L2-resident (gate: 1536 x 576 in, 0.94 MB), repeated */
    best = 1e30;
    for (r = 0; r < reps * 20; r++) {
        t = now();
        q8_matmul(out, blocks[0][4], 576, 1536, xq, 1);
        t = now() - t;
        if (t < best) best = t;
    }
    row("matvec_q8_0_in_cache", best, 576.0 / 32 * 34 * 1536, 2.0 * 576 * 1536, 0);

    /* decode: 30 blocks + head streamed once (the 125M model), 2x30 immediate, 60 unrolled */
    for (p = 0; p < 3; p++) {
        int n_blocks = p == 2 ? 60 : 30, passes = p == 1 ? 2 : 1, k;
        best = 1e30;
        for (r = 0; r < reps; r++) {
            t = now();
            for (l = 0; l < n_blocks; l++)
                for (k = 0; k < passes; k++)
                    for (j = 0; j < 7; j++)
                        q8_matmul(out, blocks[l][j], SHAPES[j][0], SHAPES[j][1], xq, 1);
            q8_matmul(out, head, 576, 32000, xq, 1);
            t = now() - t;
            if (t < best) best = t;
        }
        row(p == 0 ? "decode_matvecs_30_blocks" : p == 1 ? "decode_matvecs_2x30_immediate" : "decode_matvecs_60_unrolled",
            best, n_blocks * passes * block_bytes + 576.0 / 32 * 34 * 32000,
            n_blocks * passes * block_ops + 2.0 * 576 * 32000, 0);
    }

    /* prefill: 128 tokens through one block's matrices (compute bound) */
    best = 1e30;
    for (r = 0; r < (reps + 1) / 2; r++) {
        t = now();
        for (j = 0; j < 7; j++)
            q8_matmul(out, blocks[1][j], SHAPES[j][0], SHAPES[j][1], xq, 128);
        t = now() - t;
        if (t < best) best = t;
    }
    row("prefill_matmul_128_tokens", best, block_bytes, 128 * block_ops, 0);

    /* attention: 30 layers x 3 KV heads x 3 query heads, head_dim 64, at a position; the
     * engine's head-major cache ([layer][kv head][position][64]) */
    {
        const int ld = 192, n_ctx = 2048; /* ld: floats per position, all heads */
        float *kc = (float *)malloc(sizeof(float) * (size_t)30 * n_ctx * ld);
        float *vc = (float *)malloc(sizeof(float) * (size_t)30 * n_ctx * ld);
        float q[576], att[576], scores[3 * 2048];
        size_t i;
        int pi;
        static const int positions[2] = {512, 2000};
        for (i = 0; i < (size_t)30 * n_ctx * ld; i++) {
            kc[i] = frand();
            vc[i] = frand();
        }
        for (i = 0; i < 576; i++) q[i] = frand();
        for (pi = 0; pi < 2; pi++) {
            int n_pos = positions[pi], g;
            best = 1e30;
            for (r = 0; r < reps; r++) {
                t = now();
                for (l = 0; l < 30; l++)
                    for (g = 0; g < 3; g++)
                        kern_attention(att + g * 192, q + g * 192, kc + ((size_t)l * 3 + g) * n_ctx * 64,
                                       vc + ((size_t)l * 3 + g) * n_ctx * 64, 64, 64, 3, n_pos, 0.125f, scores);
                t = now() - t;
                if (t < best) best = t;
            }
            row(pi == 0 ? "attention_30_layers_pos_512" : "attention_30_layers_pos_2000", best,
                2.0 * 30 * n_pos * ld * 4, 30.0 * 9 * n_pos * 64 * 4, 0);
        }
    }
    printf("\n}\n");
    return 0;
}
