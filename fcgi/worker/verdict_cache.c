/*
 * verdict_cache.c: Redis access for verdicts and locks (see verdict_cache.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "engine/attach.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/sha256.h"
#include "worker/metrics.h"
#include "worker/verdict_cache.h"

static const char unlock_script[] =
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

void vcache_init(struct verdict_cache *vc, const struct config *cfg)
{
	memset(vc, 0, sizeof(*vc));
	vc->cfg = cfg;
	vc->addr = cfg->redis;
	vc->down_flag = metrics ? &metrics->redis_down : NULL;
}

void vcache_init_solutions(struct verdict_cache *vc, const struct config *cfg)
{
	memset(vc, 0, sizeof(*vc));
	vc->cfg = cfg;
	vc->addr = cfg->solutions_redis;
	vc->down_flag = metrics ? &metrics->solutions_redis_down : NULL;
}

void vcache_close(struct verdict_cache *vc)
{
	if (vc->ctx)
		redisFree(vc->ctx);
	vc->ctx = NULL;
	free(vc->unlock_sha);
	vc->unlock_sha = NULL;
	free(vc->ratelimit_sha);
	vc->ratelimit_sha = NULL;
}

static void outage_begins(const struct verdict_cache *vc, const char *why)
{
	if (metrics_flag_swap(vc->down_flag, 0, 1))
		lwarn("redis is unusable (%s): answering without the cache until it returns", why);
}

static void outage_ends(const struct verdict_cache *vc)
{
	if (metrics && vc->down_flag && metrics_flag_swap(vc->down_flag, 1, 0))
		linfo("redis %s is back: caching again", vc->addr);
}

static void mark_failed(struct verdict_cache *vc, const char *why)
{
	if (metrics)
		metrics_add(&metrics->redis_errors, 1);
	if (metrics && vc->down_flag)
		outage_begins(vc, why);
	else
		lwarn("redis: %s", why);
	if (vc->ctx)
		redisFree(vc->ctx);
	vc->ctx = NULL;
	vc->retry_at = clock_ms() + 1000;
}

static int connect_redis(struct verdict_cache *vc)
{
	struct timeval tv = { vc->cfg->redis_timeout_ms / 1000, (vc->cfg->redis_timeout_ms % 1000) * 1000 };
	const char *addr = vc->addr;

	if (vc->ctx)
		return 0;
	if (clock_ms() < vc->retry_at)
		return -1;
	if (strncmp(addr, "unix:", 5) == 0) {
		vc->ctx = redisConnectUnixWithTimeout(addr + 5, tv);
	} else {
		char host[256];
		const char *colon = strrchr(addr, ':');
		int port = colon ? atoi(colon + 1) : 6379;

		snprintf(host, sizeof(host), "%.*s", colon ? (int)(colon - addr) : (int)strlen(addr), addr);
		vc->ctx = redisConnectWithTimeout(host, port, tv);
	}
	if (vc->ctx == NULL || vc->ctx->err) {
		char why[160];

		snprintf(why, sizeof(why), "connect to %s: %s", addr, vc->ctx ? vc->ctx->errstr : "out of memory");
		mark_failed(vc, why);
		return -1;
	}
	/* The connect timeout does not cover commands: set it for them too (FIELD-NOTES). */
	redisSetTimeout(vc->ctx, tv);
	outage_ends(vc);
	return 0;
}

/* Did a command fail because Redis closed the connection (it restarted), not by a timeout? */
static bool connection_went_away(const redisContext *ctx, int err)
{
	return ctx->err == REDIS_ERR_EOF || (ctx->err == REDIS_ERR_IO && (err == EPIPE || err == ECONNRESET));
}

redisReply *vcache_command(struct verdict_cache *vc, int argc, const char **argv, const size_t *argvlen)
{
	redisReply *r;

	for (int attempt = 0;; attempt++) {
		bool reused = vc->ctx != NULL;

		if (connect_redis(vc) < 0)
			return NULL;
		errno = 0;
		r = redisCommandArgv(vc->ctx, argc, argv, argvlen);
		if (r != NULL)
			break;
		/* A connection made before Redis restarted fails once: connect again before calling it an outage. */
		if (reused && attempt == 0 && connection_went_away(vc->ctx, errno)) {
			redisFree(vc->ctx);
			vc->ctx = NULL;
			continue;
		}
		{
			char why[160];

			snprintf(why, sizeof(why), "%s: %s", argv[0], vc->ctx->errstr);
			mark_failed(vc, why);
			return NULL;
		}
	}
	if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) != 0) {
		lwarn("redis %s: %s", argv[0], r->str);
		if (metrics)
			metrics_add(&metrics->redis_errors, 1);
		freeReplyObject(r);
		return NULL;
	}
	return r;
}

void vcache_key(const struct config *cfg, const char *slug, int ver, const char *cmd, size_t len,
    char *key, size_t keylen)
{
	char hex[65];

	sha256_hex(cmd, len, hex);
	snprintf(key, keylen, "cmdarena:v:%s:%s:%d:%s", cfg->cache_salt, slug, ver, hex);
}

enum vc_result vcache_get(struct verdict_cache *vc, const char *key, char **value, size_t *len)
{
	const char *argv[] = { "GET", key };
	redisReply *r = vcache_command(vc, 2, argv, NULL);
	enum vc_result res = VC_MISS;

	if (r == NULL)
		return VC_ERROR;
	if (r->type == REDIS_REPLY_STRING) {
		*value = malloc(r->len + 1);
		if (*value == NULL) {
			res = VC_ERROR;
		} else {
			memcpy(*value, r->str, r->len);
			(*value)[r->len] = '\0';
			*len = r->len;
			res = VC_HIT;
		}
	}
	freeReplyObject(r);
	return res;
}

int vcache_set(struct verdict_cache *vc, const char *key, const char *value, size_t len, int ttl_s)
{
	char ttl[24];
	const char *argv[] = { "SET", key, value, "EX", ttl };
	size_t argvlen[] = { 3, strlen(key), len, 2, 0 };
	redisReply *r;

	snprintf(ttl, sizeof(ttl), "%d", ttl_s);
	argvlen[4] = strlen(ttl);
	r = vcache_command(vc, 5, argv, argvlen);
	if (r == NULL)
		return -1;
	freeReplyObject(r);
	return 0;
}

enum vc_result vcache_lock(struct verdict_cache *vc, const char *key, const char *token, int ttl_ms)
{
	char lockkey[512], ttl[24];
	const char *argv[] = { "SET", lockkey, token, "NX", "PX", ttl };
	redisReply *r;
	enum vc_result res;

	snprintf(lockkey, sizeof(lockkey), "%s:lock", key);
	snprintf(ttl, sizeof(ttl), "%d", ttl_ms);
	r = vcache_command(vc, 6, argv, NULL);
	if (r == NULL)
		return VC_ERROR;
	res = r->type == REDIS_REPLY_STATUS ? VC_HIT : VC_MISS;
	freeReplyObject(r);
	return res;
}

void vcache_unlock(struct verdict_cache *vc, const char *key, const char *token)
{
	char lockkey[512];
	redisReply *r;

	snprintf(lockkey, sizeof(lockkey), "%s:lock", key);
	if (vc->unlock_sha) {
		const char *argv[] = { "EVALSHA", vc->unlock_sha, "1", lockkey, token };

		r = vcache_command(vc, 5, argv, NULL);
		if (r && r->type != REDIS_REPLY_ERROR) {
			freeReplyObject(r);
			return;
		}
		if (r)
			freeReplyObject(r);	/* NOSCRIPT: Redis restarted; load it again */
	}
	{
		const char *argv[] = { "SCRIPT", "LOAD", unlock_script };

		r = vcache_command(vc, 3, argv, NULL);
		if (r == NULL)
			return;
		if (r->type == REDIS_REPLY_STRING) {
			free(vc->unlock_sha);
			vc->unlock_sha = strdup(r->str);
		}
		freeReplyObject(r);
	}
	if (vc->unlock_sha) {
		const char *argv[] = { "EVALSHA", vc->unlock_sha, "1", lockkey, token };

		r = vcache_command(vc, 5, argv, NULL);
		if (r)
			freeReplyObject(r);
	}
}

enum vc_result vcache_locked(struct verdict_cache *vc, const char *key, char *holder, size_t holder_len)
{
	char lockkey[512];
	const char *argv[] = { "GET", lockkey };
	redisReply *r;
	enum vc_result res = VC_MISS;

	snprintf(lockkey, sizeof(lockkey), "%s:lock", key);
	r = vcache_command(vc, 2, argv, NULL);
	if (r == NULL)
		return VC_ERROR;
	if (r->type == REDIS_REPLY_STRING) {
		res = VC_HIT;
		if (holder && holder_len)
			snprintf(holder, holder_len, "%.*s", (int)r->len, r->str);
	}
	freeReplyObject(r);
	return res;
}
