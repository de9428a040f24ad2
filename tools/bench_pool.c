/* bench_pool.c — the thread pool of src/threads.c alone, on jobs shaped like a decode step's.
 *
 * A "token" posts J jobs of one item per thread, each item W us of arithmetic, with G us of
 * the caller's own work between jobs (the norms, RoPE and residual adds of forward.c) and T us
 * between tokens (sampling, the host's glue). Between mllm_pool_hold(1) and (0) around each
 * token, as forward_chunk does. Reports per job: the items the caller ran for a helper, the
 * helper's start latency (post -> its first item), and the job's wall time over W; per run:
 * wall per token against J * (W + G), and (natively) the process's CPU time while idle after
 * the last token, which must stay ~0.
 *
 *   native: make build/native/bench_pool && build/native/bench_pool [threads J W G T tokens]
 *   Node:   make build/bench_pool/bench_pool.js && node build/bench_pool/bench_pool.js [same]
 * Defaults: 2 threads, 301 jobs (the 60-layer decode step: 5 per layer, 1 head), W 15, G 3,
 * T 300 us, 40 tokens. Figures: PERF_NOTES.md, "The thread pool". */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "threads.h"

#ifdef __EMSCRIPTEN__
#include <emscripten.h>
#endif

#ifndef MLLM_THREADS
#error "bench_pool.c needs the threaded pool (-DMLLM_THREADS -pthread, or emcc -pthread)"
#endif

enum { MAX_THREADS = 16 };

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec * 1e-3;
}

static double cpu_us(void) {
#ifdef __EMSCRIPTEN__ /* every thread's: Node's worker_threads are threads of this process */
    return EM_ASM_DOUBLE({
        const u = process.cpuUsage();
        return u.user + u.system;
    });
#else
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec * 1e-3;
#endif
}

/* Arithmetic the compiler cannot drop: n rounds of an xorshift. */
static uint32_t work(uint32_t x, long n) {
    long i;
    for (i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
    }
    return x;
}

typedef struct job {
    long rounds;        /* work() rounds per item */
    double posted;      /* now_us() when the caller posted the job */
    double latency[MAX_THREADS]; /* each thread's first item start - posted (-1: none) */
    double caller_item_us;       /* the caller's last item's time */
    int ran[MAX_THREADS];        /* items run per thread */
    uint32_t sink[MAX_THREADS * 16];
} job;

static void item_fn(void *arg, int item, int thread) {
    job *j = (job *)arg;
    double t0 = now_us();
    if (j->latency[thread] < 0) j->latency[thread] = t0 - j->posted;
    j->ran[thread]++;
    j->sink[thread * 16] = work(j->sink[thread * 16] + (uint32_t)item + 1u, j->rounds);
    if (thread == 0) j->caller_item_us = now_us() - t0;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double p) {
    int i;
    if (n == 0) return -1;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    i = (int)(p * (n - 1) + 0.5);
    return v[i];
}

static void spin_us(double us) {
    double t0 = now_us();
    while (now_us() - t0 < us) {
    }
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 2, jobs = argc > 2 ? atoi(argv[2]) : 301;
    double W = argc > 3 ? atof(argv[3]) : 15, G = argc > 4 ? atof(argv[4]) : 3, T = argc > 5 ? atof(argv[5]) : 300;
    int tokens = argc > 6 ? atoi(argv[6]) : 40, tok, k, t, n_lat = 0, stolen = 0, items = 0;
    mllm_pool *p = NULL;
    mllm_error err;
    static job j;
    double *lat, *over, *item_us, t_start, t_end, c0, c1, rounds_per_us;
    int n_over = 0;
    if (threads < 2 || threads > MAX_THREADS || jobs < 1 || tokens < 1) {
        fprintf(stderr, "usage: bench_pool [threads 2..16] [jobs/token] [W us] [G us] [T us] [tokens]\n");
        return 2;
    }
    { /* calibrate the item's arithmetic: rounds per microsecond on this thread, the best of
       * three tries (the first may run before a wasm engine's optimizing tier) */
        int i;
        rounds_per_us = 0;
        for (i = 0; i < 3; i++) {
            double t0 = now_us();
            uint32_t s = work((uint32_t)i + 1u, 2000000);
            double r = 2000000.0 / (now_us() - t0);
            if (r > rounds_per_us) rounds_per_us = r;
            j.sink[0] += s;
        }
    }
    j.rounds = (long)(W * rounds_per_us);
    lat = (double *)malloc(sizeof(double) * (size_t)jobs * (size_t)tokens * (size_t)threads);
    over = (double *)malloc(sizeof(double) * (size_t)jobs * (size_t)tokens);
    item_us = (double *)malloc(sizeof(double) * (size_t)jobs * (size_t)tokens);
    if (!lat || !over || !item_us || mllm_pool_new(threads, &p, &err) != MLLM_OK) {
        fprintf(stderr, "setup failed\n");
        return 1;
    }
    t_start = now_us();
    c0 = cpu_us();
    for (tok = 0; tok < tokens; tok++) {
        mllm_pool_hold(p, 1);
        for (k = 0; k < jobs; k++) {
            double t0;
            for (t = 0; t < threads; t++) {
                j.latency[t] = -1;
                j.ran[t] = 0;
            }
            spin_us(G);
            t0 = j.posted = now_us();
            mllm_pool_run(p, item_fn, &j, threads);
            item_us[n_over] = j.caller_item_us;
            over[n_over++] = now_us() - t0;
            for (t = 1; t < threads; t++)
                if (j.latency[t] >= 0) lat[n_lat++] = j.latency[t];
            stolen += j.ran[0] - 1;
            items += threads;
        }
        mllm_pool_hold(p, 0);
        spin_us(T);
    }
    t_end = now_us();
    c1 = cpu_us();
    {
        double Wm = pct(item_us, n_over, 0.5), per_token = (t_end - t_start) / tokens - T, ideal = jobs * (Wm + G);
        double jw50 = pct(over, n_over, 0.5), jw90 = pct(over, n_over, 0.9);
        double l50 = pct(lat, n_lat, 0.5), l90 = pct(lat, n_lat, 0.9), l99 = pct(lat, n_lat, 0.99);
        double idle0, idle1, idle_cpu;
        spin_us(20000); /* past any spin after the last token */
        idle0 = cpu_us();
        {
            struct timespec ts = {0, 300000000L};
            nanosleep(&ts, NULL);
        }
        idle1 = cpu_us();
        idle_cpu = idle1 - idle0;
        printf("{\"threads\": %d, \"jobs_per_token\": %d, \"W_us\": %.1f, \"item_us_p50\": %.1f, \"G_us\": %.1f, \"T_us\": %.1f, \"tokens\": %d,\n"
               " \"items_run_by_caller_for_helpers\": %.4f, \"helper_start_us_p50\": %.2f, \"p90\": %.2f, \"p99\": %.2f,\n"
               " \"job_wall_us_p50\": %.2f, \"p90_\": %.2f, \"token_us\": %.0f, \"ideal_token_us\": %.0f, \"one_thread_token_us\": %.0f,\n"
               " \"cpu_over_wall\": %.2f, \"idle_cpu_ms_per_300ms\": %.2f}\n",
               threads, jobs, W, Wm, G, T, tokens, (double)stolen / items, l50, l90, l99, jw50, jw90, per_token, ideal,
               jobs * (threads * Wm + G), (c1 - c0) / (t_end - t_start), idle_cpu / 1000.0);
    }
    mllm_pool_free(p);
    free(lat);
    free(over);
    free(item_us);
    return 0;
}
