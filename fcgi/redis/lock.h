/*
 * lock.h: the in-flight lock, which makes identical concurrent misses run once (across
 * threads, workers and front nodes): the first takes the command's lock and runs it, the
 * others wait for the verdict it stores, and take over if it gives up or dies.
 *
 * The lock is SET NX PX with a token that names its holder: "<pid>-<microseconds><thread,
 * 4 digits>@<node_id>". A lock whose holder was a process of this node that no longer
 * exists (it crashed) is dropped at once rather than left to expire.
 */
#ifndef CMDARENA_REDIS_LOCK_H
#define CMDARENA_REDIS_LOCK_H

#include <stdbool.h>
#include <stddef.h>

#include "redis/conn.h"
#include "redis/keys.h"

#define REDIS_LOCK_TOKEN_MAX 192

struct redis_lock {
	const char *key;		/* the verdict's key (keys.h) */
	char lock_key[REDIS_KEY_MAX];
	char token[REDIS_LOCK_TOKEN_MAX];
	const char *node_id;		/* this node's (cfg->node_id) */
	const char *req_id;		/* for the log */
	int ttl_ms;			/* the lock's life: the hard deadline and a second */
	long long give_up;		/* monotonic ms: a waiter stops waiting then */
};

enum redis_lock_result {
	LOCK_HELD,		/* ours: run, store, then redis_lock_release */
	LOCK_UNAVAILABLE,	/* Redis did not answer: run without the cache */
	LOCK_VERDICT,		/* the identical run's verdict is in *verdict (malloc'd) */
	LOCK_GAVE_UP,		/* an identical run is still going at give_up */
	LOCK_REFUSED,		/* may_wait said no */
};

/* A lock for the verdict key (kept, not copied), taken by this thread. Returns 0, -1 when too long. */
int redis_lock_prepare(struct redis_lock *lk, const struct config *cfg, const char *key, int thread,
    const char *req_id);

/*
 * Take the lock, or wait for whoever holds it: poll for its verdict while its lock lives,
 * take over when it goes. Before each wait, may_wait(arg) is asked; false ends it with
 * LOCK_REFUSED (the caller has answered). *verdict and *len are set only for LOCK_VERDICT.
 */
enum redis_lock_result redis_lock_acquire(struct redis_conn *c, struct redis_lock *lk,
    bool (*may_wait)(void *arg), void *arg, char **verdict, size_t *len);

/* Delete the lock if it still holds our token. */
void redis_lock_release(struct redis_conn *c, const struct redis_lock *lk);

#endif
