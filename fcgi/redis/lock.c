/*
 * lock.c: the in-flight lock and the wait for an identical run (see lock.h).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/log.h"
#include "redis/lock.h"
#include "redis/verdicts.h"

int redis_lock_prepare(struct redis_lock *lk, const struct config *cfg, const char *key, int thread,
    const char *req_id)
{
	lk->key = key;
	lk->node_id = cfg->node_id;
	lk->req_id = req_id;
	lk->ttl_ms = cfg->hard_deadline_ms + 1000;
	lk->give_up = clock_ms() + cfg->hard_deadline_ms + 2000;
	snprintf(lk->token, sizeof(lk->token), "%ld-%lld%04d@%s", (long)getpid(), clock_us(), thread, cfg->node_id);
	return redis_key_lock(lk->lock_key, key);
}

/* SET lock token NX PX ttl. LOOKUP_HIT: we hold it; LOOKUP_MISS: someone else does. */
static enum redis_lookup take(struct redis_conn *c, const struct redis_lock *lk)
{
	char ttl[24];
	const char *argv[] = { "SET", lk->lock_key, lk->token, "NX", "PX", ttl };
	redisReply *r;
	enum redis_lookup res;

	snprintf(ttl, sizeof(ttl), "%d", lk->ttl_ms);
	r = redis_conn_command(c, 6, argv, NULL);
	if (r == NULL)
		return LOOKUP_ERROR;
	res = r->type == REDIS_REPLY_STATUS ? LOOKUP_HIT : LOOKUP_MISS;
	freeReplyObject(r);
	return res;
}

/* Delete the lock only if it still holds token. */
static void drop(struct redis_conn *c, const struct redis_lock *lk, const char *token)
{
	const char *argv[] = { lk->lock_key, token };
	redisReply *r = redis_script_run(c, REDIS_SCRIPT_UNLOCK, 1, 2, argv);

	if (r)
		freeReplyObject(r);
}

void redis_lock_release(struct redis_conn *c, const struct redis_lock *lk)
{
	drop(c, lk, lk->token);
}

/* LOOKUP_HIT when the lock exists, with its holder's token copied to holder. */
static enum redis_lookup holder_of(struct redis_conn *c, const struct redis_lock *lk, char *holder, size_t len)
{
	const char *argv[] = { "GET", lk->lock_key };
	redisReply *r = redis_conn_command(c, 2, argv, NULL);
	enum redis_lookup res = LOOKUP_MISS;

	if (r == NULL)
		return LOOKUP_ERROR;
	if (r->type == REDIS_REPLY_STRING) {
		res = LOOKUP_HIT;
		snprintf(holder, len, "%.*s", (int)r->len, r->str);
	}
	freeReplyObject(r);
	return res;
}

/* A lock held by a process of this node that no longer exists (it crashed) is stale. */
static bool holder_died(const struct redis_lock *lk, const char *holder)
{
	const char *at = strchr(holder, '@');
	char *end;
	long pid = strtol(holder, &end, 10);

	if (pid <= 0 || *end != '-' || at == NULL || strcmp(at + 1, lk->node_id) != 0)
		return false;
	return kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

/*
 * Someone runs it now: poll for the stored verdict while their lock lives. true with the
 * verdict; false when the holder went (gave up, crashed) or Redis did, or at give_up.
 */
static bool wait_for_holder(struct redis_conn *c, const struct redis_lock *lk, char **verdict, size_t *len)
{
	char holder[REDIS_LOCK_TOKEN_MAX];

	/* From 10 ms up to 40: hundreds of waiters must not flood Redis. */
	for (int pause_ms = 10; clock_ms() < lk->give_up; pause_ms = pause_ms < 40 ? pause_ms + 5 : 40) {
		enum redis_lookup got;

		clock_sleep_ms(pause_ms);
		got = redis_verdict_get(c, lk->key, verdict, len);
		if (got == LOOKUP_HIT)
			return true;
		if (got == LOOKUP_ERROR || holder_of(c, lk, holder, sizeof(holder)) != LOOKUP_HIT)
			return false;	/* the holder gave up (error, crash) or Redis went: try ourselves */
		if (holder_died(lk, holder)) {
			/* Its lock would block everyone until it expires: drop it (if still that one). */
			lwarn("req=%s the worker holding this command's lock (%s) died: taking over", lk->req_id, holder);
			drop(c, lk, holder);
			return false;
		}
	}
	return false;
}

enum redis_lock_result redis_lock_acquire(struct redis_conn *c, struct redis_lock *lk,
    bool (*may_wait)(void *arg), void *arg, char **verdict, size_t *len)
{
	for (;;) {
		enum redis_lookup got = take(c, lk);

		if (got == LOOKUP_ERROR)
			return LOCK_UNAVAILABLE;
		if (got == LOOKUP_HIT) {
			/*
			 * The previous holder stores its verdict before it unlocks, so it may have
			 * finished between the caller's first look and our lock: look again, or it runs twice.
			 */
			if (redis_verdict_get(c, lk->key, verdict, len) != LOOKUP_HIT)
				return LOCK_HELD;
			redis_lock_release(c, lk);
			return LOCK_VERDICT;
		}
		if (!may_wait(arg))
			return LOCK_REFUSED;
		if (wait_for_holder(c, lk, verdict, len))
			return LOCK_VERDICT;
		if (clock_ms() >= lk->give_up)
			return LOCK_GAVE_UP;
	}
}
