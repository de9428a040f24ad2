/* threads.h — a small fork-join pool: the calling thread plus n-1 helper threads run the
 * n parts of one job and return together. The forward pass uses it to split matmul rows and
 * attention groups; every output is still computed by exactly one thread with the same
 * code, so results do not depend on the thread count.
 *
 * Compiled in when the build has threads (Emscripten -pthread defines
 * __EMSCRIPTEN_PTHREADS__; a native build may define MLLM_THREADS and link -pthread).
 * Otherwise mllm_pool_new returns no pool and callers run everything themselves. */
#ifndef MLLM_THREADS_H
#define MLLM_THREADS_H

#include "error.h"

#if defined(__EMSCRIPTEN_PTHREADS__) && !defined(MLLM_THREADS)
#define MLLM_THREADS 1
#endif

typedef struct mllm_pool mllm_pool;

/* One work item of a job: fn(arg, item, thread), thread in 0 .. mllm_pool_size()-1 (for
 * per-thread scratch). */
typedef void (*mllm_pool_fn)(void *arg, int item, int thread);

/* Start a pool of n_threads threads in all (the caller counts as one). n_threads <= 1, or a
 * build without threads, gives *out = NULL and MLLM_OK: run single-threaded. */
mllm_status mllm_pool_new(int n_threads, mllm_pool **out, mllm_error *err);
void mllm_pool_free(mllm_pool *p);

/* Threads in the pool (1 for NULL). */
int mllm_pool_size(const mllm_pool *p);

/* Run fn on items 0 .. n_items-1 and return when all are done. Each thread has a home range
 * of the items (thread t's is the t-th of n even stretches; with fewer items than threads,
 * item t): it runs its own from the front, one item at a time, then takes items one at a
 * time from the back of the others' ranges (the caller is thread 0). A descheduled thread on
 * a busy machine delays only its current item; a faster core runs more items. Between jobs
 * the helpers poll for the next one; outside a hold they sleep after a fraction of a
 * millisecond. p may be NULL: the caller runs every item. Not reentrant. */
void mllm_pool_run(mllm_pool *p, mllm_pool_fn fn, void *arg, int n_items);

/* A ranged job's work: items first .. first+count-1, a contiguous stretch, on thread `thread`. */
typedef void (*mllm_pool_range_fn)(void *arg, int first, int count, int thread);

/* mllm_pool_run for items that run best in long contiguous stretches (matmul rows: the decode
 * kernels' streams, the reuse of a shared block's rows in a core's L2). The owner takes seven
 * eighths of what is left of its range, a thread whose range is empty half of what is left of
 * another's (all of it where the owner has not begun), so a descheduled thread delays at most
 * the stretch it took. The home ranges follow the threads' measured speeds (per pool: the
 * part of the items each thread ran in the previous jobs), so on unequal cores each thread
 * keeps about the same stretch of rows pass after pass and the faster core runs more. p NULL,
 * or one item: fn(arg, 0, n_items, 0). */
void mllm_pool_run_ranges(mllm_pool *p, mllm_pool_range_fn fn, void *arg, int n_items);

/* on = 1: the caller is about to post a run of jobs (a forward pass: hundreds per token, tens
 * of microseconds apart), so sleeping helpers wake now and poll between its jobs (for at most
 * a millisecond each wait) until on = 0, then a fraction of a millisecond more, then sleep:
 * an idle pool costs no CPU. Where a hold finds the helpers late (a busy machine), the next
 * holds leave them sleeping between jobs instead (threads.c). Every hold must be ended. p may
 * be NULL. */
void mllm_pool_hold(mllm_pool *p, int on);

#endif
