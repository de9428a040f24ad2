/* test_threads.c — the fork-join pool of src/threads.c, built with threads (the Makefile
 * compiles this test with -DMLLM_THREADS -pthread, natively and under ThreadSanitizer; the
 * library's other tests use the single-threaded build of the pool).
 *
 * Checks: every item of every job runs exactly once, on a thread index in range, across
 * thousands of back-to-back jobs of varying size (the generation in each range word keeps a
 * late helper out of the next job), item jobs and ranged jobs alike; a thread stuck in an
 * item costs only that item (a ranged job: the stretch it took), the others take the rest;
 * each thread runs its own home item (item t on thread t), which is what keeps a shared
 * block's rows in the same core's cache on its second run; a ranged job's home ranges follow
 * a thread that runs slower; no wake-up is lost when jobs and holds come just as a helper goes
 * to sleep; an idle pool sleeps (its process CPU time stays ~0); and a pool shuts down
 * whatever its helpers are doing. */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include <stdint.h>
#include <stdio.h>
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

static double cpu_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static void spin_us(long us) {
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do clock_gettime(CLOCK_MONOTONIC, &t);
    while ((t.tv_sec - t0.tv_sec) * 1000000L + (t.tv_nsec - t0.tv_nsec) / 1000 < us);
}

/* A ranged job (mllm_pool_run_ranges): fn gets contiguous stretches of items. */
enum { POOL_THREADS_MAX = 16 };
typedef struct ranged {
    int runs[MAX_ITEMS];   /* atomic: times each item ran */
    int thread[MAX_ITEMS]; /* the thread that ran it */
    int bad;               /* atomic: calls with a thread out of range or a stretch out of bounds */
    int n_threads, n_items;
    int first_count[POOL_THREADS_MAX]; /* the count of each thread's first call (0: none) */
    int slow_us;           /* thread 1 sleeps this long per item (0: not) */
    int stall_ms;          /* thread 1 sleeps this long in its first call (0: not) */
    int work_us;           /* thread 0 spins this long per item (0: not) */
} ranged;

static void run_range(void *arg, int first, int count, int thread) {
    ranged *r = (ranged *)arg;
    int i;
    if (thread < 0 || thread >= r->n_threads || first < 0 || count < 1 || first + count > r->n_items) {
        __atomic_fetch_add(&r->bad, 1, __ATOMIC_RELAXED);
        return;
    }
    if (!r->first_count[thread]) {
        r->first_count[thread] = count; /* (only this thread writes its slot) */
        if (thread == 1 && r->stall_ms) sleep_ms(r->stall_ms);
    }
    for (i = first; i < first + count; i++) {
        __atomic_fetch_add(&r->runs[i], 1, __ATOMIC_RELAXED);
        __atomic_store_n(&r->thread[i], thread, __ATOMIC_RELAXED);
        if (thread == 0 && r->work_us) spin_us(r->work_us);
        if (thread == 1 && r->slow_us) {
            struct timespec ts = {0, r->slow_us * 1000L};
            nanosleep(&ts, NULL);
        }
    }
}

static void ranged_reset(ranged *r, int n_threads, int n_items) {
    memset(r, 0, sizeof *r);
    r->n_threads = n_threads;
    r->n_items = n_items;
}

/* Thousands of back-to-back ranged jobs of varying size, mixed with item jobs on the same
 * pool: every item runs exactly once, in stretches within bounds, on a thread in range. */
static void test_every_item_of_a_ranged_job_runs_exactly_once(void) {
    static const int threads[] = {2, 3, 4};
    static ranged r;
    static job j;
    int k, rep, bad = 0, jobs = 0;
    for (k = 0; k < 3; k++) {
        mllm_pool *p = NULL;
        mllm_error err;
        CHECK_EQ_INT(mllm_pool_new(threads[k], &p, &err), MLLM_OK);
        for (rep = 0; rep < 3000; rep++) {
            int n = (rep * 53) % MAX_ITEMS, i;
            ranged_reset(&r, threads[k], n);
            mllm_pool_run_ranges(p, run_range, &r, n);
            for (i = 0; i < MAX_ITEMS; i++) bad += r.runs[i] != (i < n);
            bad += r.bad;
            if (rep % 3 == 0) { /* an item job between */
                memset(&j, 0, sizeof j);
                j.n_threads = threads[k];
                j.stall_thread = -1;
                mllm_pool_run(p, run_item, &j, n % 64);
                for (i = 0; i < MAX_ITEMS; i++) bad += j.runs[i] != (i < n % 64);
                bad += j.bad_thread;
            }
            jobs++;
        }
        mllm_pool_free(p);
    }
    ranged_reset(&r, 1, 5); /* no pool: one call with every item */
    mllm_pool_run_ranges(NULL, run_range, &r, 5);
    CHECK_EQ_INT(r.first_count[0], 5);
    CHECK_EQ_INT(jobs, 9000);
    CHECK_EQ_INT(bad, 0);
}

/* Two threads, 64 items, a fresh pool (even ranges of 32). The helper sleeps 50 ms in its
 * first call, which takes seven eighths of its range or less: the caller runs its own 32
 * items (28 in its first call), then takes the rest of the helper's range from the back, and
 * the job completes with every item run once. */
static void test_a_stalled_thread_costs_only_the_stretch_it_took(void) {
    static ranged r;
    int rep, i, all_ran = 1, helper_runs_max = 0, caller_first_min = 64;
    for (rep = 0; rep < 5; rep++) {
        mllm_pool *p = NULL;
        mllm_error err;
        int helper_runs = 0;
        CHECK_EQ_INT(mllm_pool_new(2, &p, &err), MLLM_OK);
        ranged_reset(&r, 2, 64);
        r.stall_ms = 50;
        mllm_pool_run_ranges(p, run_range, &r, 64);
        for (i = 0; i < 64; i++) {
            all_ran &= r.runs[i] == 1;
            helper_runs += r.thread[i] == 1;
        }
        if (helper_runs > helper_runs_max) helper_runs_max = helper_runs;
        if (r.first_count[0] < caller_first_min) caller_first_min = r.first_count[0];
        mllm_pool_free(p);
    }
    CHECK(all_ran);
    CHECK(helper_runs_max <= 28);
    CHECK_EQ_INT(caller_first_min, 28); /* seven eighths of its even range, from the front */
}

/* Two threads, 64 items a job, the helper at least 5 times slower per item (it sleeps 100
 * us, the caller spins 20): every job completes with each item run once, and the ranges
 * follow the speeds: after 60 jobs the caller's home range is most of the items (its first
 * take, seven eighths of its range, is at least 35: a range of 40 or more against an even
 * 32), and the helper runs at most three eighths of them. A pool that keeps even ranges
 * fails the first check, one whose threads never take from another's range the second. */
static void test_the_ranges_follow_a_slow_thread(void) {
    static ranged r;
    mllm_pool *p = NULL;
    mllm_error err;
    int rep, i, all_ran = 1, wide = 0, helper_items = 0;
    CHECK_EQ_INT(mllm_pool_new(2, &p, &err), MLLM_OK);
    for (rep = 0; rep < 80; rep++) {
        ranged_reset(&r, 2, 64);
        r.slow_us = 100;
        r.work_us = 20;
        mllm_pool_run_ranges(p, run_range, &r, 64);
        for (i = 0; i < 64; i++) all_ran &= r.runs[i] == 1;
        if (rep >= 60) {
            wide += r.first_count[0] >= 35; /* a home range of at least 40 of the 64 */
            for (i = 0; i < 64; i++) helper_items += r.thread[i] == 1;
        }
    }
    mllm_pool_free(p);
    CHECK(all_ran);
    CHECK(wide >= 15);
    if (wide < 15) fprintf(stderr, "  the caller's range was wide in %d of 20 jobs\n", wide);
    CHECK(helper_items <= 20 * 24); /* at most three eighths of the items (even ranges: half) */
}

/* After a run of jobs in a hold, and after a job without one, the helpers sleep: the
 * process's CPU time over the next 300 ms stays near 0 (a polling helper takes a core, or
 * the share of one that a busy machine leaves it). */
static void test_an_idle_pool_sleeps_and_burns_no_cpu(void) {
    static const int threads[] = {2, 4};
    static job j;
    int k, rep;
    for (k = 0; k < 2; k++) {
        int hold;
        mllm_pool *p = NULL;
        mllm_error err;
        CHECK_EQ_INT(mllm_pool_new(threads[k], &p, &err), MLLM_OK);
        for (hold = 1; hold >= 0; hold--) {
            double idle;
            mllm_pool_hold(p, hold);
            for (rep = 0; rep < 200; rep++) {
                memset(&j, 0, sizeof j);
                j.n_threads = threads[k];
                j.stall_thread = -1;
                mllm_pool_run(p, run_item, &j, 2 * threads[k]);
            }
            mllm_pool_hold(p, 0);
            sleep_ms(20); /* past the helpers' last polls */
            idle = cpu_ms();
            sleep_ms(300);
            idle = cpu_ms() - idle;
            CHECK(idle < 30.0);
            if (idle >= 30.0) fprintf(stderr, "  %d threads, hold %d: %.1f ms of CPU in 300 ms idle\n", threads[k], hold, idle);
        }
        mllm_pool_free(p);
    }
}

/* A job or a hold that comes just as a helper gives up polling and goes to sleep must still
 * reach it: two-item jobs whose items wait (up to 2 s) for each other, so the caller alone
 * cannot finish one, posted after idle gaps around the helper's polling limits, with and
 * without holds (and with holds that begin during the gap). A lost wake-up times out. */
static void test_no_wakeup_is_lost_around_the_helpers_sleep(void) {
    static const long gaps_us[] = {0, 20, 150, 190, 200, 210, 260, 400, 990, 1010, 1300};
    static meet m;
    mllm_pool *p = NULL;
    mllm_error err;
    int rep, timed_out = 0, swapped = 0;
    CHECK_EQ_INT(mllm_pool_new(2, &p, &err), MLLM_OK);
    for (rep = 0; rep < 660; rep++) {
        long gap = gaps_us[rep % 11];
        int mode = (rep / 11) % 3; /* 0: no hold; 1: a hold over the gap and the job; 2: a hold begun mid-gap */
        if (mode == 1) mllm_pool_hold(p, 1);
        spin_us(mode == 2 ? gap / 2 : gap);
        if (mode == 2) {
            mllm_pool_hold(p, 1);
            spin_us(gap / 2);
        }
        memset(&m, 0, sizeof m);
        mllm_pool_run(p, run_meet, &m, 2);
        if (mode) mllm_pool_hold(p, 0);
        timed_out += m.timed_out;
        swapped += m.thread[0] != 0 || m.thread[1] != 1;
    }
    mllm_pool_free(p);
    CHECK_EQ_INT(timed_out, 0);
    CHECK_EQ_INT(swapped, 0);
}

/* mllm_pool_free returns, and every helper is joined, whether they sleep, poll in a hold that
 * was never ended, or have just started. */
static void test_a_pool_shuts_down_whatever_its_helpers_do(void) {
    static job j;
    int rep, n = 0;
    for (rep = 0; rep < 30; rep++) {
        mllm_pool *p = NULL;
        mllm_error err;
        CHECK_EQ_INT(mllm_pool_new(2 + rep % 3, &p, &err), MLLM_OK);
        memset(&j, 0, sizeof j);
        j.n_threads = 2 + rep % 3;
        j.stall_thread = -1;
        if (rep % 3 != 0) mllm_pool_run(p, run_item, &j, 8);
        if (rep % 3 == 1) sleep_ms(5); /* asleep */
        if (rep % 3 == 2) mllm_pool_hold(p, 1); /* polling, never released */
        mllm_pool_free(p);
        n++;
    }
    CHECK_EQ_INT(n, 30);
    mllm_pool_hold(NULL, 1); /* no pool: nothing to do */
}

int main(void) {
    RUN(test_every_item_runs_exactly_once_across_many_jobs);
    RUN(test_a_stalled_thread_costs_only_its_current_item);
    RUN(test_jobs_never_mix_items);
    RUN(test_each_thread_runs_its_own_home_item);
    RUN(test_every_item_of_a_ranged_job_runs_exactly_once);
    RUN(test_a_stalled_thread_costs_only_the_stretch_it_took);
    RUN(test_the_ranges_follow_a_slow_thread);
    RUN(test_an_idle_pool_sleeps_and_burns_no_cpu);
    RUN(test_no_wakeup_is_lost_around_the_helpers_sleep);
    RUN(test_a_pool_shuts_down_whatever_its_helpers_do);
    return check_summary("threads");
}
