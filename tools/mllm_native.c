/* mllm_native.c — the native developer build of the engine: the same sources as the wasm
 * module, for sanitizers, profilers and the native side of the benchmarks.
 *   mllm bench    -m MODEL [-p PROMPT_TOKENS] [-n GEN_TOKENS]  -> JSON like the CLI's bench
 *   mllm generate -m MODEL [-n N] [--seed S] [--temp T] PROMPT */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mobilellm.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint8_t *read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    uint8_t *buf = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long n = ftell(f);
        if (n >= 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) != NULL) {
            if (fread(buf, 1, (size_t)n, f) != (size_t)n) { free(buf); buf = NULL; }
            else *size = (size_t)n;
        }
    }
    fclose(f);
    return buf;
}

static int die(const char *what, const mllm_error *err) {
    fprintf(stderr, "mllm: %s%s%s\n", what, err ? ": " : "", err ? err->msg : "");
    return 1;
}

int main(int argc, char **argv) {
    const char *cmd = argc > 1 ? argv[1] : "", *model_path = "models/default.gguf", *prompt = NULL;
    int n_prompt = 128, n_gen = 64;
    mllm_sampler_params sp;
    mllm_sampler_params_init(&sp);
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-m") && v) { model_path = v; i++; }
        else if (!strcmp(a, "-p") && v) { n_prompt = atoi(v); i++; }
        else if (!strcmp(a, "-n") && v) { n_gen = atoi(v); i++; }
        else if (!strcmp(a, "--seed") && v) { sp.seed = (uint32_t)strtoul(v, NULL, 10); i++; }
        else if (!strcmp(a, "--temp") && v) { sp.temperature = (float)atof(v); i++; }
        else if (a[0] != '-') prompt = a;
        else { fprintf(stderr, "mllm: unknown option '%s'\n", a); return 2; }
    }
    if (strcmp(cmd, "bench") && strcmp(cmd, "generate")) {
        fprintf(stderr, "usage: mllm bench|generate -m MODEL [-p P] [-n N] [--seed S] [--temp T] [PROMPT]\n");
        return 2;
    }
    if (n_prompt < 1 || n_gen < 1) return die("-p and -n must be positive", NULL);

    mllm_error err;
    size_t size = 0;
    double t0 = now_s();
    uint8_t *data = read_file(model_path, &size);
    if (!data) { fprintf(stderr, "mllm: cannot read '%s'\n", model_path); return 1; }
    mllm_model_params mp;
    mllm_model_params_init(&mp);
    mp.take_ownership = 1;
    mllm_model *model = NULL;
    if (mllm_model_load(data, size, &mp, &model, &err)) { free(data); return die("load failed", &err); }
    double load_ms = (now_s() - t0) * 1e3;
    mllm_model_info info;
    mllm_model_get_info(model, &info);

    int rc = 0;
    mllm_context *ctx = NULL;
    mllm_sampler *smp = NULL;
    int32_t *toks = NULL;
    mllm_context_params cp;
    mllm_context_params_init(&cp);
    if (!strcmp(cmd, "bench")) {
        cp.n_ctx = n_prompt + n_gen + 1;
        cp.n_batch = n_prompt;
        sp.temperature = 0;
        toks = malloc(sizeof *toks * (size_t)n_prompt);
        if (!toks) { rc = die("out of memory", NULL); goto done; }
        for (int i = 0; i < n_prompt; i++) toks[i] = 100 + (int32_t)((i * 7919L) % (info.n_vocab > 100 ? info.n_vocab - 100 : 1));
        if (mllm_context_new(model, &cp, &ctx, &err) || mllm_sampler_new(info.n_vocab, &sp, &smp, &err)) { rc = die("setup failed", &err); goto done; }
        int warm = n_prompt < 8 ? n_prompt : 8;
        if (mllm_eval(ctx, toks, warm, 0, &err) || mllm_kv_rewind(ctx, 0, &err)) { rc = die("eval failed", &err); goto done; }
        double t = now_s();
        if (mllm_eval(ctx, toks, n_prompt, 0, &err)) { rc = die("eval failed", &err); goto done; }
        double prefill = now_s() - t;
        t = now_s();
        for (int i = 0; i < n_gen; i++) {
            int32_t tok = mllm_sampler_sample(smp, mllm_logits(ctx, -1));
            if (mllm_eval(ctx, &tok, 1, 0, &err)) { rc = die("eval failed", &err); goto done; }
        }
        double decode = now_s() - t;
        printf("{\"prefill_tok_s\": %.2f, \"decode_tok_s\": %.2f, \"load_ms\": %.1f, \"prompt_tokens\": %d, \"gen_tokens\": %d}\n",
               n_prompt / prefill, n_gen / decode, load_ms, n_prompt, n_gen);
    } else {
        if (!prompt) { rc = die("generate needs a PROMPT", NULL); goto done; }
        int len = (int)strlen(prompt);
        toks = malloc(sizeof *toks * (size_t)(len + 8));
        if (!toks) { rc = die("out of memory", NULL); goto done; }
        int n = mllm_tokenize(model, prompt, len, info.add_bos, 0, toks, len + 8, &err);
        if (n < 0) { rc = die("tokenize failed", &err); goto done; }
        mllm_generator *gen = NULL;
        mllm_generator_params gp = {n_gen, 0, {0, 0}};
        if (mllm_context_new(model, &cp, &ctx, &err) || mllm_sampler_new(info.n_vocab, &sp, &smp, &err) ||
            mllm_eval(ctx, toks, n, 0, &err) || mllm_generator_new(ctx, smp, &gp, &gen, &err)) {
            rc = die("setup failed", &err);
            goto done;
        }
        fputs(prompt, stdout);
        mllm_step_result r;
        do {
            if (mllm_generator_step(gen, &r, &err)) { rc = die("generation stopped", &err); break; }
            fwrite(mllm_generator_text(gen), 1, (size_t)r.text_len, stdout);
            fflush(stdout);
        } while (!r.stop);
        putchar('\n');
        mllm_generator_free(gen);
    }
done:
    free(toks);
    mllm_sampler_free(smp);
    mllm_context_free(ctx);
    mllm_model_free(model);
    return rc;
}
