/* threads.c — the fork-join pool of threads.h (pthreads; compiled out without threads). */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include "threads.h"

#include <stdint.h>
#include <stdlib.h>

#ifdef MLLM_THREADS
#include <pthread.h>
#include <time.h>
#ifdef __EMSCRIPTEN__
#include <emscripten.h>
#endif

#define POOL_MAX 16
/* How long a helper polls for the next job before it sleeps (then a job's post wakes it, a
 * futex wake: tens of microseconds). In a hold (mllm_pool_hold: a forward pass posts a job
 * every few tens of microseconds) up to SPIN_HELD_NS, which bounds the waste where the caller
 * has been descheduled; after a hold, or without one, SPIN_IDLE_NS: long enough to bridge a
 * host's work between two tokens, short enough that an idle engine burns no CPU. Time, not a
 * poll count: a poll's cost differs tenfold between builds and hosts. */
#define SPIN_HELD_NS 1000000
#define SPIN_IDLE_NS 200000
#define CLOCK_EVERY 256 /* polls between clock reads */
/* A hold in which the caller ran more than its share of at least a quarter of its (at least
 * 16) jobs found the helpers late: their cores are taken (a busy machine). There polling
 * helpers lose: one descheduled inside an item stalls the caller, and their polls spend the
 * process's share of the machine. So the next LEAN_HOLDS holds are lean: the helpers sleep
 * after SPIN_IDLE_NS as outside a hold, and each job wakes them. A full hold follows, and if
 * the helpers are late again the lean run doubles, up to LEAN_HOLDS_MAX. */
#define LATE_MIN_JOBS 16
#define LEAN_HOLDS 4
#define LEAN_HOLDS_MAX 64
#define HELPER_STACK (512 * 1024) /* the kernels' largest frame is ~210 KiB */

struct mllm_pool;
typedef struct pool_helper {
    struct mllm_pool *pool;
    int part;
} pool_helper;

struct mllm_pool {
    int n;              /* threads in all, the caller included */
    int started;        /* helper threads running */
    pthread_t tid[POOL_MAX];
    pool_helper helper[POOL_MAX];
    pthread_mutex_t mu; /* with cv: only for sleeping and waking */
    pthread_cond_t cv;
    mllm_pool_fn fn;    /* the current job: written before its ticket is published */
    void *arg;
    /* atomic: job generation << 32 | item count << 16 | next item. Taking an item is a
     * compare-and-swap of the whole word, so a helper that wakes late can never take an item
     * of another job, and the caller never waits for helpers that are not working on an item
     * (on a busy machine a helper may be descheduled for milliseconds). */
    uint64_t ticket;
    /* atomic: the first min(n, items) items of a job are "home" items, item t thread t's,
     * claimed by a compare-and-swap of home[t] from gen << 1 to gen << 1 | 1 (the caller
     * writes gen << 1 before publishing the job; any other value means taken, or not a home
     * item of this job). Each thread runs its own first, so the rows a thread reads in one
     * matmul it reads again in the next run of the same weights: a shared block's second
     * pass finds its half in this core's L2. A late thread's home item is taken by the
     * others once the counter's items are gone. */
    uint64_t home[POOL_MAX];
    int done;           /* atomic: items of the current job finished */
    int sleepers;       /* atomic: helpers asleep on cv (or about to be) */
    int hold;           /* atomic: a caller's run of jobs is in progress (mllm_pool_hold) */
    uint32_t hold_gen;  /* atomic: holds begun, so that a sleeper wakes at the next one */
    int stop;           /* atomic */
    /* the caller's alone (no atomics): this hold's jobs, those in which it ran more than its
     * share, whether this hold is lean, lean holds left, the next lean run's length */
    int hold_jobs, hold_late, lean, lean_left, lean_next;
};

/* A monotonic clock in nanoseconds, read every CLOCK_EVERY polls. */
static uint64_t now_ns(void) {
#ifdef __EMSCRIPTEN__
    return (uint64_t)(emscripten_get_now() * 1e6);
#else
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
#endif
}

/* One poll's pause where the processor has one (wasm has none). */
static void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static int home_items(const struct mllm_pool *p, int n_items) { return n_items < p->n ? n_items : p->n; }

/* Claim home item i of job gen; nonzero when this thread got it. */
static int claim_home(struct mllm_pool *p, uint32_t gen, int i) {
    uint64_t want = (uint64_t)gen << 1;
    return __atomic_compare_exchange_n(&p->home[i], &want, want | 1u, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
}

static void run_one(struct mllm_pool *p, int item, int thread) {
    p->fn(p->arg, item, thread);
    __atomic_fetch_add(&p->done, 1, __ATOMIC_RELEASE);
}

/* Run items of job generation gen until none are left: this thread's home item, then the
 * counter's, then home items no one has claimed. Returns the number run. */
static int run_items(struct mllm_pool *p, uint32_t gen, int thread) {
    int ran = 0, i, n_home;
    uint64_t t;
    if (claim_home(p, gen, thread)) {
        run_one(p, thread, thread);
        ran++;
    }
    for (;;) {
        int item, n_items;
        t = __atomic_load_n(&p->ticket, __ATOMIC_ACQUIRE);
        item = (int)(t & 0xffffu);
        n_items = (int)((t >> 16) & 0xffffu);
        if ((uint32_t)(t >> 32) != gen) return ran;
        if (item >= n_items) break;
        if (!__atomic_compare_exchange_n(&p->ticket, &t, t + 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) continue;
        run_one(p, item, thread);
        ran++;
    }
    n_home = home_items(p, (int)((t >> 16) & 0xffffu));
    for (i = 0; i < n_home; i++)
        if (claim_home(p, gen, i)) {
            run_one(p, i, thread);
            ran++;
        }
    return ran;
}

/* Nonzero once a sleeper that saw job generation `seen` and hold generation `held` should
 * wake: a new job, a new hold, or a stop. */
static int wake_reason(struct mllm_pool *p, uint32_t seen, uint32_t held) {
    return (uint32_t)(__atomic_load_n(&p->ticket, __ATOMIC_SEQ_CST) >> 32) != seen ||
           __atomic_load_n(&p->hold_gen, __ATOMIC_SEQ_CST) != held || __atomic_load_n(&p->stop, __ATOMIC_SEQ_CST);
}

static void *helper_main(void *a) {
    pool_helper *h = (pool_helper *)a;
    struct mllm_pool *p = h->pool;
    uint32_t seen = 0;
    for (;;) {
        uint32_t g;
        unsigned polls = 0;
        uint64_t since = now_ns(); /* when this wait (or the hold's end) began */
        int was_held = __atomic_load_n(&p->hold, __ATOMIC_RELAXED);
        while ((g = (uint32_t)(__atomic_load_n(&p->ticket, __ATOMIC_ACQUIRE) >> 32)) == seen &&
               !__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE)) {
            int held;
            uint64_t t;
            uint32_t hold_gen;
            cpu_relax();
            if (++polls % CLOCK_EVERY) continue;
            held = __atomic_load_n(&p->hold, __ATOMIC_RELAXED);
            t = now_ns();
            if (was_held && !held) since = t; /* a hold ended: the idle spin starts now */
            was_held = held;
            if (t - since < (held ? SPIN_HELD_NS : SPIN_IDLE_NS)) continue;
            pthread_mutex_lock(&p->mu);
            __atomic_fetch_add(&p->sleepers, 1, __ATOMIC_SEQ_CST);
            hold_gen = __atomic_load_n(&p->hold_gen, __ATOMIC_SEQ_CST);
            if (held == __atomic_load_n(&p->hold, __ATOMIC_SEQ_CST)) /* (else a hold began or ended: poll on) */
                while (!wake_reason(p, seen, hold_gen)) pthread_cond_wait(&p->cv, &p->mu);
            __atomic_fetch_sub(&p->sleepers, 1, __ATOMIC_SEQ_CST);
            pthread_mutex_unlock(&p->mu);
            since = now_ns();
            was_held = __atomic_load_n(&p->hold, __ATOMIC_RELAXED);
        }
        if (__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE)) break;
        seen = g;
        run_items(p, g, h->part);
    }
    return NULL;
}

/* Wake the helpers that sleep (a helper about to sleep counts itself first, then rechecks its
 * reasons under the mutex, so it cannot miss a change made before this). */
static void wake_sleepers(struct mllm_pool *p) {
    if (__atomic_load_n(&p->sleepers, __ATOMIC_SEQ_CST) > 0) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
}

mllm_status mllm_pool_new(int n_threads, mllm_pool **out, mllm_error *err) {
    struct mllm_pool *p;
    pthread_attr_t attr;
    int i;
    *out = NULL;
    if (n_threads <= 1) return MLLM_OK;
    if (n_threads > POOL_MAX)
        return mllm_fail(err, MLLM_ERR_ARG, "n_threads %d is more than the %d threads a pool can have", n_threads,
                         POOL_MAX);
    p = (struct mllm_pool *)calloc(1, sizeof *p);
    if (!p) return mllm_fail(err, MLLM_ERR_NOMEM, "out of memory for a pool of %d threads", n_threads);
    p->n = n_threads;
    p->lean_next = LEAN_HOLDS;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, HELPER_STACK);
    for (i = 1; i < n_threads; i++) {
        p->helper[i].pool = p;
        p->helper[i].part = i;
        if (pthread_create(&p->tid[i], &attr, helper_main, &p->helper[i]) != 0) {
            pthread_attr_destroy(&attr);
            mllm_pool_free(p);
            return mllm_fail(err, MLLM_ERR_NOMEM, "could not start thread %d of %d (no worker available)", i + 1,
                             n_threads);
        }
        p->started = i;
    }
    pthread_attr_destroy(&attr);
    *out = p;
    return MLLM_OK;
}

void mllm_pool_free(mllm_pool *p) {
    int i;
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    __atomic_store_n(&p->stop, 1, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (i = 1; i <= p->started; i++) pthread_join(p->tid[i], NULL);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

int mllm_pool_size(const mllm_pool *p) { return p ? p->n : 1; }

void mllm_pool_hold(mllm_pool *p, int on) {
    if (!p) return;
    if (on) {
        p->hold_jobs = p->hold_late = 0;
        p->lean = p->lean_left > 0;
        if (p->lean) {
            p->lean_left--;
            return; /* the helpers keep their idle polling limit */
        }
    } else {
        if (p->lean) {
            p->lean = 0;
            return;
        }
        if (p->hold_jobs >= LATE_MIN_JOBS && 4 * p->hold_late >= p->hold_jobs) {
            p->lean_left = p->lean_next;
            p->lean_next = p->lean_next * 2 < LEAN_HOLDS_MAX ? p->lean_next * 2 : LEAN_HOLDS_MAX;
        } else if (p->hold_jobs >= LATE_MIN_JOBS)
            p->lean_next = LEAN_HOLDS;
    }
    if (on) __atomic_fetch_add(&p->hold_gen, 1u, __ATOMIC_SEQ_CST);
    __atomic_store_n(&p->hold, on ? 1 : 0, __ATOMIC_SEQ_CST);
    if (on) wake_sleepers(p);
}

void mllm_pool_run(mllm_pool *p, mllm_pool_fn fn, void *arg, int n_items) {
    uint32_t gen;
    int i, n_home, ran;
    if (!p || n_items <= 1 || n_items > 0xffff) { /* (no job here has 65536 items) */
        for (i = 0; i < n_items; i++) fn(arg, i, 0);
        return;
    }
    p->fn = fn;
    p->arg = arg;
    __atomic_store_n(&p->done, 0, __ATOMIC_RELAXED);
    gen = (uint32_t)(__atomic_load_n(&p->ticket, __ATOMIC_RELAXED) >> 32) + 1u;
    n_home = home_items(p, n_items);
    for (i = 0; i < n_home; i++) __atomic_store_n(&p->home[i], (uint64_t)gen << 1, __ATOMIC_RELAXED);
    /* publish (the counter starts after the home items) */
    __atomic_store_n(&p->ticket, (uint64_t)gen << 32 | (uint64_t)n_items << 16 | (uint64_t)n_home, __ATOMIC_SEQ_CST);
    wake_sleepers(p);
    ran = run_items(p, gen, 0);
    p->hold_jobs++;
    p->hold_late += ran > (n_items + p->n - 1) / p->n;
    while (__atomic_load_n(&p->done, __ATOMIC_ACQUIRE) != n_items) {
    }
}

#else /* no threads in this build */

struct mllm_pool {
    int unused;
};

mllm_status mllm_pool_new(int n_threads, mllm_pool **out, mllm_error *err) {
    (void)n_threads;
    (void)err;
    *out = NULL;
    return MLLM_OK;
}
void mllm_pool_free(mllm_pool *p) { (void)p; }
int mllm_pool_size(const mllm_pool *p) {
    (void)p;
    return 1;
}
void mllm_pool_hold(mllm_pool *p, int on) {
    (void)p;
    (void)on;
}
void mllm_pool_run(mllm_pool *p, mllm_pool_fn fn, void *arg, int n_items) {
    int i;
    (void)p;
    for (i = 0; i < n_items; i++) fn(arg, i, 0);
}
#endif
