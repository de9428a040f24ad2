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

/* Run fn on items 0 .. n_items-1 and return when all are done. Thread t first runs item t
 * (its home item, for t < n_items: the caller is thread 0), then the threads take the rest
 * one at a time from a shared counter, then any home item whose thread has not come: a
 * descheduled thread on a busy machine delays only its current item. Between jobs the
 * helpers poll for the next one; outside a hold they sleep after a fraction of a millisecond.
 * p may be NULL: the caller runs every item. Not reentrant. */
void mllm_pool_run(mllm_pool *p, mllm_pool_fn fn, void *arg, int n_items);

/* on = 1: the caller is about to post a run of jobs (a forward pass: hundreds per token, tens
 * of microseconds apart), so sleeping helpers wake now and poll between its jobs (for at most
 * a millisecond each wait) until on = 0, then a fraction of a millisecond more, then sleep:
 * an idle pool costs no CPU. Where a hold finds the helpers late (a busy machine), the next
 * holds leave them sleeping between jobs instead (threads.c). Every hold must be ended. p may
 * be NULL. */
void mllm_pool_hold(mllm_pool *p, int on);

#endif
