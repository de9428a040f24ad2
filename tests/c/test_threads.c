/* test_threads.c — the fork-join pool of src/threads.c, built with threads (the Makefile
 * compiles this test with -DMLLM_THREADS -pthread, natively and under ThreadSanitizer; the
 * library's other tests use the single-threaded build of the pool).
 *
 * Checks: every item of every job runs exactly once, on a thread index in range, across
 * thousands of back-to-back jobs of varying size (the generation in the ticket keeps a late
 * helper out of the next job), a thread stuck in an item costs only that item: the
 * others take the rest, and each thread runs its own home item (item t on thread t), which
 * is what keeps a shared block's rows in the same core's cache on its second run. */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "threads.h"

#ifndef MLLM_THREADS
#error "test_threads.c needs the threaded pool: build it with -DMLLM_THREADS -pthread"
#endif

enum { MAX_ITEMS = 700 };

typedef struct job {
    int runs[MAX_ITEMS];   /* atomic: times each item ran */
    int thread[MAX_ITEMS]; /* the thread that ran it */
    int bad_thread;        /* atomic: runs with a thread index out of range */
    int n_threads;
    int stall_thread;      /* this thread sleeps in its first item (-1: none) */
    int stalled;           /* atomic */
} job;

static void sleep_ms(int ms) {
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
}

static void run_item(void *arg, int item, int thread) {
    job *j = (job *)arg;
    if (thread < 0 || thread >= j->n_threads) __atomic_fetch_add(&j->bad_thread, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&j->runs[item], 1, __ATOMIC_RELAXED);
    __atomic_store_n(&j->thread[item], thread, __ATOMIC_RELAXED);
    if (thread == j->stall_thread && !__atomic_exchange_n(&j->stalled, 1, __ATOMIC_ACQ_REL)) sleep_ms(50);
}

static void test_every_item_runs_exactly_once_across_many_jobs(void) {
    static const int threads[] = {2, 3, 4};
    static job j;
    int k, rep, bad_runs = 0, bad_thread = 0, jobs = 0;
    for (k = 0; k < 3; k++) {
        mllm_pool *p = NULL;
        mllm_error err;
        CHECK_EQ_INT(mllm_pool_new(threads[k], &p, &err), MLLM_OK);
        CHECK(p != NULL);
        CHECK_EQ_INT(mllm_pool_size(p), threads[k]);
        for (rep = 0; rep < 3000; rep++) {
            int n = (rep * 37) % MAX_ITEMS, i;
            memset(&j, 0, sizeof j);
            j.n_threads = threads[k];
            j.stall_thread = -1;
            mllm_pool_run(p, run_item, &j, n);
            for (i = 0; i < n; i++) bad_runs += j.runs[i] != 1;
            for (i = n; i < MAX_ITEMS; i++) bad_runs += j.runs[i] != 0;
            bad_thread += j.bad_thread;
            jobs++;
        }
        mllm_pool_free(p);
    }
    CHECK_EQ_INT(jobs, 9000);
    CHECK_EQ_INT(bad_runs, 0);
    CHECK_EQ_INT(bad_thread, 0);
}

/* Two threads, 40 items. The helper sleeps 50 ms in the first item it takes, so the caller
 * runs every other item; the helper never runs a second one (it wakes to an empty job). */
static void test_a_stalled_thread_costs_only_its_current_item(void) {
    static job j;
    mllm_pool *p = NULL;
    mllm_error err;
    int rep, i, helper_runs_max = 0, all_ran = 1;
    CHECK_EQ_INT(mllm_pool_new(2, &p, &err), MLLM_OK);
    for (rep = 0; rep < 5; rep++) {
        int helper_runs = 0;
        memset(&j, 0, sizeof j);
        j.n_threads = 2;
        j.stall_thread = 1;
        mllm_pool_run(p, run_item, &j, 40);
        for (i = 0; i < 40; i++) {
            all_ran &= j.runs[i] == 1;
            helper_runs += j.thread[i] == 1;
        }
        if (helper_runs > helper_runs_max) helper_runs_max = helper_runs;
    }
    mllm_pool_free(p);
    CHECK(all_ran);
    CHECK(helper_runs_max <= 1);
}

/* A helper that wakes late must not run items of a job it did not see start: back-to-back
 * jobs with a different item function each, whose item counts would overlap. */
typedef struct tagged {
    int tag;
    int wrong; /* atomic */
    int seen[64];
} tagged;
static void run_tagged_a(void *arg, int item, int thread) {
    tagged *t = (tagged *)arg;
    (void)thread;
    if (t->tag != 1) __atomic_fetch_add(&t->wrong, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&t->seen[item], 1, __ATOMIC_RELAXED);
}
static void run_tagged_b(void *arg, int item, int thread) {
    tagged *t = (tagged *)arg;
    (void)thread;
    if (t->tag != 2) __atomic_fetch_add(&t->wrong, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&t->seen[item], 1, __ATOMIC_RELAXED);
}
static void test_jobs_never_mix_items(void) {
    static tagged a, b;
    mllm_pool *p = NULL;
    mllm_error err;
    int rep, i, bad = 0;
    CHECK_EQ_INT(mllm_pool_new(3, &p, &err), MLLM_OK);
    for (rep = 0; rep < 5000; rep++) {
        memset(&a, 0, sizeof a);
        memset(&b, 0, sizeof b);
        a.tag = 1;
        b.tag = 2;
        mllm_pool_run(p, run_tagged_a, &a, 2 + rep % 62);
        mllm_pool_run(p, run_tagged_b, &b, 2 + (rep * 7) % 62);
        bad += a.wrong + b.wrong;
        for (i = 0; i < 64; i++) {
            bad += a.seen[i] != (i < 2 + rep % 62);
            bad += b.seen[i] != (i < 2 + (rep * 7) % 62);
        }
    }
    mllm_pool_free(p);
    CHECK_EQ_INT(bad, 0);
}

/* Two items that each wait (up to 2 s) until the other has started, so they run at the same
 * time on different threads whoever is late; the pool must put item t on thread t. A pool
 * that hands items out first come, first served swaps them in about half of the jobs. */
typedef struct meet {
    int started[2]; /* atomic */
    int thread[2];
    int timed_out;  /* atomic */
} meet;
static void run_meet(void *arg, int item, int thread) {
    meet *m = (meet *)arg;
    struct timespec t0, t;
    m->thread[item] = thread;
    __atomic_store_n(&m->started[item], 1, __ATOMIC_RELEASE);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (!__atomic_load_n(&m->started[1 - item], __ATOMIC_ACQUIRE)) {
        clock_gettime(CLOCK_MONOTONIC, &t);
        if (t.tv_sec - t0.tv_sec >= 2) {
            __atomic_store_n(&m->timed_out, 1, __ATOMIC_RELAXED);
            return;
        }
    }
}
static void test_each_thread_runs_its_own_home_item(void) {
    static meet m;
    mllm_pool *p = NULL;
    mllm_error err;
    int rep, swapped = 0, timed_out = 0;
    CHECK_EQ_INT(mllm_pool_new(2, &p, &err), MLLM_OK);
    for (rep = 0; rep < 500; rep++) {
        memset(&m, 0, sizeof m);
        mllm_pool_run(p, run_meet, &m, 2);
        swapped += m.thread[0] != 0 || m.thread[1] != 1;
        timed_out += m.timed_out;
    }
    mllm_pool_free(p);
    CHECK_EQ_INT(timed_out, 0);
    CHECK_EQ_INT(swapped, 0);
}

int main(void) {
    RUN(test_every_item_runs_exactly_once_across_many_jobs);
    RUN(test_a_stalled_thread_costs_only_its_current_item);
    RUN(test_jobs_never_mix_items);
    RUN(test_each_thread_runs_its_own_home_item);
    return check_summary("threads");
}
