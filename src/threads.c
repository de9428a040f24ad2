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
/* A hold in which the caller took items of a helper that had not begun its range, in at least a
 * quarter of its (at least 16) jobs, found the helpers late: their cores are taken (a busy
 * machine). There polling helpers lose: one descheduled inside an item stalls the caller, and
 * their polls spend the process's share of the machine. So the next LEAN_HOLDS holds are lean:
 * the helpers sleep after SPIN_IDLE_NS as outside a hold, and each job wakes them. A full hold
 * follows, and if the helpers are late again the lean run doubles, up to LEAN_HOLDS_MAX. */
#define LATE_MIN_JOBS 16
#define LEAN_HOLDS 4
#define LEAN_HOLDS_MAX 64
#define HELPER_STACK (512 * 1024) /* the kernels' largest frame is ~210 KiB */
/* A ranged job of at least SHARE_MIN_ITEMS items a thread splits its items by the threads'
 * shares, which follow their speeds (unequal cores: a phone's big and little ones, this
 * host's two vCPUs). After each such job in which every helper came and a thread took from
 * the tail of a range its owner had begun (the threads did not finish together), each share
 * moves 1/SHARE_RATE of the way to the part of the items that thread ran; a job without such
 * a take ran balanced, and its ranges, rounded to whole items, say nothing new. A stable
 * speed ratio gives a stable split, the same rows per thread pass after pass. A share keeps
 * at least SHARE_FLOOR / n of the items (in units of 1/65536), so a thread slowed for a while
 * by other work gets its part back by taking from the others. */
#define SHARE_MIN_ITEMS 4
#define SHARE_RATE 8
#define SHARE_FLOOR 16384

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
    mllm_pool_fn fn;    /* the current job (fn or fn_range): written before its ticket is published */
    mllm_pool_range_fn fn_range;
    void *arg;
    /* atomic: job generation << 32 | item count. A helper runs a job when the generation
     * changes. */
    uint64_t ticket;
    /* atomic: thread t's home range of the current job, gen << 32 | front << 16 | back. The
     * owner takes items from the front, a thread whose own range is empty takes from the
     * back: each take is a compare-and-swap of the whole word, so a helper that wakes late
     * can never take an item of another job, and the caller never waits for a helper that is
     * not working on an item (on a busy machine a helper may be descheduled for
     * milliseconds). Each thread starts on its own range, so the rows it reads in one matmul
     * it reads again in the next run of the same weights: a shared block's second pass finds
     * its part in this core's L2. */
    uint64_t range[POOL_MAX];
    int start[POOL_MAX]; /* atomic: where thread t's range of the current job begins */
    int ran[POOL_MAX];  /* atomic: items thread t ran in the current job */
    /* the caller's alone: thread t's share of a ranged job's items, in units of 1/65536 of the
     * total (mllm_pool_run_ranges follows the threads' measured speeds with it) */
    uint32_t share[POOL_MAX];
    int done;           /* atomic: items of the current job finished */
    int stole;          /* atomic: a thread took items of a range whose owner had begun it */
    int sleepers;       /* atomic: helpers asleep on cv (or about to be) */
    int hold;           /* atomic: a caller's run of jobs is in progress (mllm_pool_hold) */
    uint32_t hold_gen;  /* atomic: holds begun, so that a sleeper wakes at the next one */
    int stop;           /* atomic */
    /* the caller's alone (no atomics): this hold's jobs, those in which a helper was late,
     * whether this hold is lean, lean holds left, the next lean run's length */
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

/* Take items of job gen from thread v's range: from the front when v is this thread (the
 * owner), else from the back. A ranged job's owner takes seven eighths of what is left
 * (rounded up: long kernel calls, with a tail left for a faster thread), a thief half of it,
 * or all of it where the owner has not begun (a late helper then finds nothing to start and
 * be descheduled in); an item job's either one item. Sets *first and returns the count, 0
 * when the range is empty or belongs to another job; *untouched = 1 where a thief found the
 * owner not yet begun. */
static int take(struct mllm_pool *p, uint32_t gen, int ranged, int v, int owner, int *first, int *untouched) {
    uint64_t w = __atomic_load_n(&p->range[v], __ATOMIC_ACQUIRE);
    for (;;) {
        int front = (int)((w >> 16) & 0xffffu), back = (int)(w & 0xffffu), begun, n;
        if ((uint32_t)(w >> 32) != gen || front >= back) return 0;
        begun = front != __atomic_load_n(&p->start[v], __ATOMIC_RELAXED); /* (stale only where the CAS fails) */
        n = !ranged ? 1 : owner ? back - front - (back - front) / 8 : begun ? (back - front + 1) / 2 : back - front;
        if (__atomic_compare_exchange_n(&p->range[v], &w, owner ? w + ((uint64_t)n << 16) : w - (uint64_t)n, 0,
                                        __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
            *first = owner ? front : back - n;
            *untouched = !owner && !begun;
            return n;
        }
    }
}

static void run_chunk(struct mllm_pool *p, int first, int count, int thread) {
    int i;
    if (p->fn_range) p->fn_range(p->arg, first, count, thread);
    else
        for (i = first; i < first + count; i++) p->fn(p->arg, i, thread);
    __atomic_fetch_add(&p->ran[thread], count, __ATOMIC_RELAXED);
    __atomic_fetch_add(&p->done, count, __ATOMIC_RELEASE);
}

/* Run items of job generation gen until none are left: this thread's own range from the
 * front, then the others' from the back. Returns 1 when it took items of a thread that had
 * not begun its range (a helper late: its core is taken, or it sleeps). */
static int run_items(struct mllm_pool *p, uint32_t gen, int ranged, int thread) {
    int first, count, k, untouched = 0, late = 0;
    while ((count = take(p, gen, ranged, thread, 1, &first, &untouched)) > 0) run_chunk(p, first, count, thread);
    for (k = 1; k < p->n;) {
        int v = (thread + k) % p->n;
        if ((count = take(p, gen, ranged, v, 0, &first, &untouched)) > 0) {
            late |= untouched;
            if (!untouched) __atomic_store_n(&p->stole, 1, __ATOMIC_RELAXED);
            run_chunk(p, first, count, thread);
        } else k++;
    }
    return late;
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
        uint64_t tk;
        unsigned polls = 0;
        uint64_t since = now_ns(); /* when this wait (or the hold's end) began */
        int was_held = __atomic_load_n(&p->hold, __ATOMIC_RELAXED);
        while ((g = (uint32_t)((tk = __atomic_load_n(&p->ticket, __ATOMIC_ACQUIRE)) >> 32)) == seen &&
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
        run_items(p, g, (int)((tk >> 16) & 1u), h->part);
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
    for (i = 0; i < n_threads; i++) p->share[i] = 65536u / (uint32_t)n_threads;
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

/* Post a job (fn or fn_range) and run it with the helpers: thread t's home range is items
 * bounds[t] .. bounds[t+1]-1; returns when all are done. */
static void run_job(struct mllm_pool *p, mllm_pool_fn fn, mllm_pool_range_fn fn_range, void *arg, int n_items) {
    int bounds[POOL_MAX + 1], i, late = 0;
    const int ranged = fn_range != NULL;
    uint32_t gen;
    if (ranged && n_items >= SHARE_MIN_ITEMS * p->n) { /* ranges follow the threads' speeds */
        uint64_t total = 0, cum = 0;
        for (i = 0; i < p->n; i++) total += p->share[i];
        for (i = 0; i < p->n; i++) {
            bounds[i] = (int)(cum * (uint64_t)n_items / total);
            cum += p->share[i];
        }
    } else /* even ranges; with fewer items than threads, item t is thread t's */
        for (i = 0; i < p->n; i++) bounds[i] = n_items < p->n ? (i < n_items ? i : n_items) : i * n_items / p->n;
    bounds[p->n] = n_items;
    p->fn = fn;
    p->fn_range = fn_range;
    p->arg = arg;
    __atomic_store_n(&p->done, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&p->stole, 0, __ATOMIC_RELAXED);
    gen = (uint32_t)(__atomic_load_n(&p->ticket, __ATOMIC_RELAXED) >> 32) + 1u;
    for (i = 0; i < p->n; i++) {
        __atomic_store_n(&p->start[i], bounds[i], __ATOMIC_RELAXED);
        __atomic_store_n(&p->ran[i], 0, __ATOMIC_RELAXED);
        __atomic_store_n(&p->range[i], (uint64_t)gen << 32 | (uint64_t)bounds[i] << 16 | (uint64_t)bounds[i + 1],
                         __ATOMIC_RELAXED);
    }
    __atomic_store_n(&p->ticket, (uint64_t)gen << 32 | (uint64_t)ranged << 16 | (uint64_t)n_items, __ATOMIC_SEQ_CST);
    wake_sleepers(p);
    late = run_items(p, gen, ranged, 0);
    while (__atomic_load_n(&p->done, __ATOMIC_ACQUIRE) != n_items) {
    }
    p->hold_jobs++;
    p->hold_late += late;
    if (ranged && n_items >= SHARE_MIN_ITEMS * p->n && !late && __atomic_load_n(&p->stole, __ATOMIC_RELAXED))
        for (i = 0; i < p->n; i++) { /* each share moves 1/SHARE_RATE of the way to what the thread ran */
            int64_t ran = (int64_t)__atomic_load_n(&p->ran[i], __ATOMIC_RELAXED) * 65536 / n_items;
            int64_t s = (int64_t)p->share[i] + (ran - (int64_t)p->share[i]) / SHARE_RATE;
            p->share[i] = (uint32_t)(s < SHARE_FLOOR / p->n ? SHARE_FLOOR / p->n : s);
        }
}

void mllm_pool_run(mllm_pool *p, mllm_pool_fn fn, void *arg, int n_items) {
    int i;
    if (!p || n_items <= 1 || n_items > 0xffff) { /* (no job here has 65536 items) */
        for (i = 0; i < n_items; i++) fn(arg, i, 0);
        return;
    }
    run_job(p, fn, NULL, arg, n_items);
}

void mllm_pool_run_ranges(mllm_pool *p, mllm_pool_range_fn fn, void *arg, int n_items) {
    if (!p || n_items <= 1 || n_items > 0xffff) {
        if (n_items > 0) fn(arg, 0, n_items, 0);
        return;
    }
    run_job(p, NULL, fn, arg, n_items);
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
void mllm_pool_run_ranges(mllm_pool *p, mllm_pool_range_fn fn, void *arg, int n_items) {
    (void)p;
    if (n_items > 0) fn(arg, 0, n_items, 0);
}
#endif
