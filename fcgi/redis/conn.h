/*
 * conn.h: one connection to one Redis instance, with reconnects and back-off.
 *
 * Two instances may serve a worker: the verdict cache (cfg->redis, volatile, bounded by its
 * maxmemory) and the solutions (cfg->solutions_redis, persistent; the same instance when
 * that is not set). Each thread holds its own connections.
 *
 * Redis is an accelerator, never a dependency: when it is down every call fails fast (at
 * most one reconnect attempt per second) and the worker goes on executing without it. The
 * first worker to see an outage logs it, and the first to see its end.
 */
#ifndef CMDARENA_REDIS_CONN_H
#define CMDARENA_REDIS_CONN_H

#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "config/config.h"
#include "redis/scripts.h"

struct redis_conn {
	const struct config *cfg;
	const char *addr;	/* unix:/path or host:port (cfg->redis, or the solutions' instance) */
	int64_t *down_flag;	/* in the shared metrics: 1 during an outage of this instance */
	redisContext *ctx;
	long long retry_at;	/* monotonic ms: no reconnect before this */
	char script_sha[REDIS_SCRIPTS][41];	/* what SCRIPT LOAD answered; "" until then (scripts.c) */
};

/* What a read found: a value, nothing, or no answer (Redis unusable). */
enum redis_lookup { LOOKUP_ERROR = -1, LOOKUP_MISS = 0, LOOKUP_HIT = 1 };

/* The verdict cache's instance (cfg->redis). No connection until the first command. */
void redis_conn_init_cache(struct redis_conn *c, const struct config *cfg);
/* The persistent instance that keeps solutions (cfg->solutions_redis). */
void redis_conn_init_solutions(struct redis_conn *c, const struct config *cfg);
void redis_conn_close(struct redis_conn *c);

/*
 * Run a command with binary-safe arguments (argvlen NULL: every argument is a C string),
 * connecting again when needed. NULL when Redis is unusable or answered an error (logged,
 * counted), except NOSCRIPT, which is returned for scripts.c to load the script again.
 */
redisReply *redis_conn_command(struct redis_conn *c, int argc, const char **argv, const size_t *argvlen);

/* The same, dropping the reply. Returns 0, -1 when Redis is unusable. */
int redis_conn_do(struct redis_conn *c, int argc, const char **argv, const size_t *argvlen);

#endif
