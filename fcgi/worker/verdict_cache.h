/*
 * verdict_cache.h: verdicts in Redis, and the in-flight lock that makes
 * identical concurrent misses run once (across workers and front nodes).
 *
 * Redis is an accelerator, never a dependency: when it is down every call
 * fails fast (at most one reconnect attempt per second) and the worker goes
 * on executing without the cache. The first worker to see an outage logs it.
 */
#ifndef CMDARENA_VERDICT_CACHE_H
#define CMDARENA_VERDICT_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "config/config.h"

struct verdict_cache {
	const struct config *cfg;
	const char *addr;	/* unix:/path or host:port (cfg->redis, or the solutions' instance) */
	int64_t *down_flag;	/* in the shared metrics: 1 during an outage of this instance */
	redisContext *ctx;
	long long retry_at;	/* monotonic ms: no reconnect before this */
	char *unlock_sha;	/* EVALSHA of the compare-and-delete script */
	char *ratelimit_sha;	/* EVALSHA of the token bucket script (ratelimit.c) */
};

enum vc_result { VC_ERROR = -1, VC_MISS = 0, VC_HIT = 1 };

/* The verdict cache's Redis (cfg->redis). */
void vcache_init(struct verdict_cache *vc, const struct config *cfg);
/* The persistent instance that keeps solutions (cfg->solutions_redis). */
void vcache_init_solutions(struct verdict_cache *vc, const struct config *cfg);
void vcache_close(struct verdict_cache *vc);

/* The Redis key of a verdict: salt, slug, version and the SHA-256 of the command. */
void vcache_key(const struct config *cfg, const char *slug, int ver, const char *cmd, size_t len,
    char *key, size_t keylen);

/* GET: VC_HIT with *value malloc'd, VC_MISS, or VC_ERROR (Redis unusable). */
enum vc_result vcache_get(struct verdict_cache *vc, const char *key, char **value, size_t *len);
int vcache_set(struct verdict_cache *vc, const char *key, const char *value, size_t len, int ttl_s);

/* SET lock:key token NX PX ttl. VC_HIT: we hold it; VC_MISS: someone else does. */
enum vc_result vcache_lock(struct verdict_cache *vc, const char *key, const char *token, int ttl_ms);
/* Delete the lock only if it still holds our token. */
void vcache_unlock(struct verdict_cache *vc, const char *key, const char *token);
/* VC_HIT when the lock exists, with its holder's token copied to holder (when not NULL). */
enum vc_result vcache_locked(struct verdict_cache *vc, const char *key, char *holder, size_t holder_len);

/* Run a command with binary-safe args, handling reconnects; NULL when Redis is unusable. */
redisReply *vcache_command(struct verdict_cache *vc, int argc, const char **argv, const size_t *argvlen);

#endif
