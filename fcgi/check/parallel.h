/*
 * parallel.h: cmdarena-check's thread pool. The self-test, the replay and the audit each run a
 * list of independent items (a command to judge, a challenge to attack) on a few threads, each
 * thread with its own curl handle to the engine.
 */
#ifndef CMDARENA_PARALLEL_H
#define CMDARENA_PARALLEL_H

#include <stddef.h>

#include <curl/curl.h>

/* Run item i with arg; h is the calling thread's curl handle, NULL when it could not be made. */
typedef void parallel_item_fn(CURL *h, size_t i, void *arg);
/* Told, one call at a time, that item i finished, done items so far (for a progress line). */
typedef void parallel_done_fn(size_t i, size_t done, void *arg);

/*
 * Run items 0..n on up to jobs threads, each taking the next item until none is left; done
 * (may be NULL) after each. When no thread starts, the items run on the calling thread.
 * Returns once every item has run.
 */
void parallel_run(size_t n, int jobs, parallel_item_fn *item, parallel_done_fn *done, void *arg);

#endif
