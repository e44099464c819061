/*
 * pool/state.h: the pool keeper's decisions, a state machine without I/O.
 *
 * struct pool holds everything the keeper knows: per engine its health,
 * back-off and creation tokens; the idle and claimed containers; the workers
 * waiting for one; the removals in flight. Each event is one call (a worker's
 * message, a worker gone, an engine job's result, a timer tick, stop) with the
 * time passed in; it changes the state and appends what to do to p->out: the
 * messages to send and the engine jobs to post. The caller (pool/keeper.c's loop, or
 * a unit test) takes them with pool_next_out. Nothing here reads a clock,
 * touches a socket or talks to an engine.
 *
 * Workers are named by a slot number the caller chooses (its connection's
 * index); engines by their index in the configuration.
 */
#ifndef CMDARENA_POOL_STATE_H
#define CMDARENA_POOL_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/queue.h>
#include <time.h>

#include "config/config.h"
#include "engine/docker.h"
#include "pool/jobs.h"
#include "pool/proto.h"

/*
 * A used container exits by itself right after its verdict and AutoRemove deletes it; a DELETE
 * racing that exit makes the engine kill and remove it twice over. So the forced removal waits
 * this long and is normally a cheap 404; a container still there (a hung runner) is killed then.
 */
#define RELEASE_GRACE_MS 2000
/* Creation failures in a row after which an engine no longer counts as able to create. */
#define POOL_FAILING_AFTER 3

enum engine_health { HEALTH_UNKNOWN, HEALTH_UP, HEALTH_DOWN };

struct pool_engine {
	const struct engine *eng;	/* for its url and API version in messages */
	enum engine_health health;
	bool suspect;			/* a container of it failed: none handed out until a ping answers */
	long long suspect_since;	/* ...a ping queued after this */
	int creating[POOL_VARIANTS];
	int create_failures;		/* consecutive */
	long long create_retry_at;	/* back-off after failures */
	char last_error[256];
	double tokens;			/* creation rate limit */
	long long tokens_at;
	long long next_ping, next_list;
	bool ping_pending, list_pending;
};

struct pool_container {
	char id[DOCKER_ID_MAX + 1];
	int engine;
	int variant;
	bool claimed;
	bool released;		/* used and handed back: removed at since + RELEASE_GRACE_MS */
	int client;		/* claimer's slot when claimed */
	long long since;	/* idle since, or claimed since (monotonic ms) */
	TAILQ_ENTRY(pool_container) link;
};

struct pool_waiter {
	int client;
	unsigned long seq;
	int variant;
	long long deadline;
	TAILQ_ENTRY(pool_waiter) link;
};

struct pool_removing {
	char id[DOCKER_ID_MAX + 1];
	LIST_ENTRY(pool_removing) link;
};

/* One thing for the caller to do. */
struct pool_out {
	enum pool_out_kind { POOL_OUT_SEND, POOL_OUT_JOB } kind;
	int client;			/* SEND: to this worker's slot */
	struct pool_msg msg;		/* SEND */
	struct job *job;		/* JOB: post it on the lanes of engine job->engine */
	STAILQ_ENTRY(pool_out) link;
};

/* Whether a process of this pid is alive (another keeper of this node); replaceable in tests. */
typedef bool pool_pid_alive_fn(long pid);

struct pool {
	const struct config *cfg;
	struct pool_engine *engines;
	size_t n_engines;
	TAILQ_HEAD(pool_containers_head, pool_container) containers;	/* idle and claimed, newest first */
	TAILQ_HEAD(, pool_waiter) waiters;		/* oldest first */
	LIST_HEAD(, pool_removing) removing;		/* removals posted, not yet done */
	bool stopping;			/* draining: no new takes, wait for claimed containers */
	long long drain_until;
	long self_pid;			/* containers labelled with it are ours */
	pool_pid_alive_fn *pid_alive;
	STAILQ_HEAD(, pool_out) out;	/* what to do, oldest first */
};

/*
 * Set up for c->n_engines engines (engs: their clients, read only for messages).
 * Returns 0, or -1 out of memory.
 */
int pool_init(struct pool *p, const struct config *c, const struct engine *engs, long self_pid,
    pool_pid_alive_fn *pid_alive, long long now);
void pool_free(struct pool *p);

/* The next thing to do, or NULL. The caller frees it (and its job unless posted: job_free). */
struct pool_out *pool_next_out(struct pool *p);

/* A worker's packet (len bytes, any content). */
void pool_on_message(struct pool *p, int client, const char *buf, size_t len, long long now);
/* The decoded messages: T, and D or F. */
void pool_take(struct pool *p, int client, unsigned long seq, int variant, long long now);
void pool_release(struct pool *p, int engine, const char *id, bool failed, long long now);
/* A worker's connection closed: forget its requests, remove what it holds. */
void pool_worker_gone(struct pool *p, int client, long long now);
/* An engine job finished (wall: the wall clock, to age the containers an engine lists). */
void pool_on_job(struct pool *p, const struct job *j, long long now, time_t wall);
/* Timers: pings, lists, recycling, refilling, serving and expiring the waiters. */
void pool_tick(struct pool *p, long long now);
/* How long the caller may sleep before the next tick (ms). */
int pool_next_timeout(const struct pool *p, long long now);

/* Stop (SIGTERM): remove the idle, turn the waiters away, drain the claimed ones. */
void pool_stop(struct pool *p, long long now);
/* Stopping and every claimed container back, or the drain's time is over. */
bool pool_drained(const struct pool *p, long long now);
/* At the end: remove every container held. */
void pool_remove_all(struct pool *p, long long now);
/* Removals or creations still in flight. */
bool pool_busy(const struct pool *p);

int pool_count_claimed(const struct pool *p, int engine);	/* engine -1: all */
int pool_count_idle(const struct pool *p, int engine, int variant);
/* Set the gauges of the shared metrics (when there are any). */
void pool_publish_gauges(const struct pool *p);

#endif
