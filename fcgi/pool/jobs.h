/*
 * pool/jobs.h: the pool keeper's engine calls, on threads of their own.
 *
 * Engine calls block for up to seconds, so the pool keeper's main thread never
 * makes one: it posts a job (create + start, remove, ping, list) to one of an
 * engine's lanes, and threads of that engine run it. A finished job goes to one
 * result queue and writes a byte to a pipe, so the main thread's poll() wakes
 * (jobs_wake_fd) and takes the results (jobs_take_result).
 *
 * Each engine has creators (as many as pool_create_parallel), as many removers,
 * one thread for lists and one for pings: a slow list never delays a health
 * check, and one slow DELETE never holds up the others.
 */
#ifndef CMDARENA_POOL_JOBS_H
#define CMDARENA_POOL_JOBS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/queue.h>

#include "engine/docker.h"

enum job_kind { JOB_CREATE, JOB_REMOVE, JOB_PING, JOB_LIST };

struct job {
	enum job_kind kind;
	int engine;		/* the engine's index, for the caller */
	int variant;		/* JOB_CREATE: which container spec */
	char id[DOCKER_ID_MAX + 1];	/* JOB_REMOVE: the container; JOB_CREATE: the one made */
	bool reaped;		/* JOB_REMOVE of an orphan */
	long long posted;	/* when it was queued (monotonic ms) */
	/* results */
	int ok;
	char error[256];
	struct container_info *list;	/* JOB_LIST */
	size_t n_list;
	STAILQ_ENTRY(job) link;
};

STAILQ_HEAD(job_queue, job);

/* One engine's queues and the threads that serve them. */
struct job_lanes {
	struct engine *eng;		/* JOB_PING writes its API version, before any other use */
	char *const *specs;		/* container spec JSON by variant */
	struct job_queue create_q, remove_q, maint_q, ping_q;
	pthread_t *threads;
	int n_threads;
};

/* Make the wake pipe: once, before any jobs_start. 0, or -1 with errno set. */
int jobs_init(void);

/* The fd to poll for finished jobs. */
int jobs_wake_fd(void);

/* Start an engine's threads (creators of them for creations). 0, or -1 out of memory or threads. */
int jobs_start(struct job_lanes *l, struct engine *eng, char *const *specs, int creators);

/* Queue a job (calloc'd, pool/state.c's post_job) on the lane of its kind; the lane owns it. */
void job_post(struct job_lanes *l, struct job *j);

/* Empty the wake pipe; then take the finished jobs one by one until NULL. */
void jobs_clear_wake(void);
struct job *jobs_take_result(void);

void job_free(struct job *j);

#endif
