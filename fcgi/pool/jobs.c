/*
 * pool/jobs.c: the pool keeper's engine calls, on threads of their own (see pool/jobs.h).
 * One mutex guards every queue; the threads wait on one condition.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "pool/jobs.h"

#define ENGINE_CALL_MS 15000L
#define PING_MS 2000L

struct thread_arg {
	struct job_lanes *lanes;
	struct job_queue *q;
};

static pthread_mutex_t q_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t q_cv = PTHREAD_COND_INITIALIZER;
static struct job_queue results = STAILQ_HEAD_INITIALIZER(results);
static int wake_pipe[2] = { -1, -1 };

static struct job *q_pop(struct job_queue *q)
{
	struct job *j = STAILQ_FIRST(q);

	if (j)
		STAILQ_REMOVE_HEAD(q, link);
	return j;
}

int jobs_init(void)
{
	return pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK);
}

int jobs_wake_fd(void)
{
	return wake_pipe[0];
}

void job_free(struct job *j)
{
	if (j == NULL)
		return;
	free(j->list);
	free(j);
}

void job_post(struct job_lanes *l, struct job *j)
{
	struct job_queue *q;

	switch (j->kind) {
	case JOB_CREATE: q = &l->create_q; break;
	case JOB_REMOVE: q = &l->remove_q; break;
	case JOB_PING: q = &l->ping_q; break;
	default: q = &l->maint_q; break;
	}
	pthread_mutex_lock(&q_mu);
	STAILQ_INSERT_TAIL(q, j, link);
	pthread_cond_broadcast(&q_cv);
	pthread_mutex_unlock(&q_mu);
}

void jobs_clear_wake(void)
{
	char buf[256];

	while (read(wake_pipe[0], buf, sizeof(buf)) > 0)
		;
}

struct job *jobs_take_result(void)
{
	struct job *j;

	pthread_mutex_lock(&q_mu);
	j = q_pop(&results);
	pthread_mutex_unlock(&q_mu);
	return j;
}

static void run_job(CURL *h, struct job_lanes *l, struct job *j)
{
	struct docker_error err = { 0, "" };

	switch (j->kind) {
	case JOB_CREATE:
		if (docker_create(h, l->eng, l->specs[j->variant], j->id, ENGINE_CALL_MS, &err) < 0)
			break;
		if (docker_start(h, l->eng, j->id, ENGINE_CALL_MS, &err) < 0) {
			struct docker_error e2;

			docker_remove(h, l->eng, j->id, ENGINE_CALL_MS, &e2);
			break;
		}
		j->ok = 1;
		return;
	case JOB_REMOVE:
		j->ok = docker_remove(h, l->eng, j->id, ENGINE_CALL_MS, &err) == 0;
		break;
	case JOB_PING:
		/* The API version is only written here, before any other thread of this engine reads it. */
		j->ok = docker_ping(h, l->eng, PING_MS, &err) == 0;
		break;
	case JOB_LIST:
		j->ok = docker_list(h, l->eng, "cmdarena", &j->list, &j->n_list, ENGINE_CALL_MS, &err) == 0;
		break;
	}
	if (!j->ok)
		snprintf(j->error, sizeof(j->error), "%s", err.message);
}

/* Threads live as long as the process: the pool keeper exits with them blocked on a queue or in a
 * bounded engine call. */
static void *engine_thread(void *p)
{
	struct thread_arg *ta = p;
	CURL *h = curl_easy_init();

	for (;;) {
		struct job *j;

		pthread_mutex_lock(&q_mu);
		while (STAILQ_EMPTY(ta->q))
			pthread_cond_wait(&q_cv, &q_mu);
		j = q_pop(ta->q);
		pthread_mutex_unlock(&q_mu);
		if (h == NULL) {
			snprintf(j->error, sizeof(j->error), "out of memory for a curl handle");
			j->ok = 0;
		} else {
			run_job(h, ta->lanes, j);
		}
		pthread_mutex_lock(&q_mu);
		STAILQ_INSERT_TAIL(&results, j, link);
		pthread_mutex_unlock(&q_mu);
		if (write(wake_pipe[1], "", 1) < 0 && errno != EAGAIN)
			lwarn("pool: wake pipe: %s", strerror(errno));
	}
	return NULL;
}

int jobs_start(struct job_lanes *l, struct engine *eng, char *const *specs, int creators)
{
	int removers = creators, n = creators + removers + 2;

	l->eng = eng;
	l->specs = specs;
	STAILQ_INIT(&l->create_q);
	STAILQ_INIT(&l->remove_q);
	STAILQ_INIT(&l->maint_q);
	STAILQ_INIT(&l->ping_q);
	l->threads = calloc((size_t)n, sizeof(pthread_t));
	if (l->threads == NULL)
		return -1;
	for (int i = 0; i < n; i++) {
		struct thread_arg *ta = malloc(sizeof(*ta));

		if (ta == NULL)
			return -1;
		ta->lanes = l;
		ta->q = i < creators ? &l->create_q : i < n - 2 ? &l->remove_q : i == n - 2 ? &l->maint_q : &l->ping_q;
		if (pthread_create(&l->threads[i], NULL, engine_thread, ta) != 0) {
			free(ta);
			return -1;
		}
		l->n_threads++;
	}
	return 0;
}
