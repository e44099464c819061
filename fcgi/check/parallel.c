/*
 * parallel.c: cmdarena-check's thread pool (parallel.h): each thread takes the next item under
 * one mutex, runs it with its own curl handle, and reports it done under the same mutex.
 */
#include <pthread.h>
#include <stdlib.h>

#include "check/parallel.h"

struct pool_run {
	size_t n, next, done;	/* next and done under mu */
	pthread_mutex_t mu;
	parallel_item_fn *item;
	parallel_done_fn *on_done;
	void *arg;
};

/* The next item to run, or n when none is left. */
static size_t take_next(struct pool_run *r)
{
	size_t i;

	pthread_mutex_lock(&r->mu);
	i = r->next < r->n ? r->next++ : r->n;
	pthread_mutex_unlock(&r->mu);
	return i;
}

static void *worker(void *arg)
{
	struct pool_run *r = arg;
	CURL *h = curl_easy_init();
	size_t i;

	while ((i = take_next(r)) < r->n) {
		r->item(h, i, r->arg);
		pthread_mutex_lock(&r->mu);
		r->done++;
		if (r->on_done)
			r->on_done(i, r->done, r->arg);
		pthread_mutex_unlock(&r->mu);
	}
	if (h)
		curl_easy_cleanup(h);
	return NULL;
}

void parallel_run(size_t n, int jobs, parallel_item_fn *item, parallel_done_fn *done, void *arg)
{
	struct pool_run r = { n, 0, 0, PTHREAD_MUTEX_INITIALIZER, item, done, arg };
	pthread_t *threads = jobs > 0 ? calloc((size_t)jobs, sizeof(*threads)) : NULL;
	int started = 0;

	for (int i = 0; threads && i < jobs; i++)
		if (pthread_create(&threads[started], NULL, worker, &r) == 0)
			started++;
	if (started == 0)
		worker(&r);
	for (int i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	pthread_mutex_destroy(&r.mu);
	free(threads);
}
