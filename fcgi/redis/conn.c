/*
 * conn.c: a connection to one Redis instance: connect, reconnect after a restart, back off
 * during an outage, run a command (see conn.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "lib/clock.h"
#include "lib/log.h"
#include "redis/conn.h"
#include "worker/metrics.h"

void redis_conn_init_cache(struct redis_conn *c, const struct config *cfg)
{
	memset(c, 0, sizeof(*c));
	c->cfg = cfg;
	c->addr = cfg->redis;
	c->down_flag = metrics ? &metrics->redis_down : NULL;
}

void redis_conn_init_solutions(struct redis_conn *c, const struct config *cfg)
{
	memset(c, 0, sizeof(*c));
	c->cfg = cfg;
	c->addr = cfg->solutions_redis;
	c->down_flag = metrics ? &metrics->solutions_redis_down : NULL;
}

void redis_conn_close(struct redis_conn *c)
{
	if (c->ctx)
		redisFree(c->ctx);
	c->ctx = NULL;
	memset(c->script_sha, 0, sizeof(c->script_sha));
}

static void outage_begins(const struct redis_conn *c, const char *why)
{
	if (metrics_flag_swap(c->down_flag, 0, 1))
		lwarn("redis is unusable (%s): answering without the cache until it returns", why);
}

static void outage_ends(const struct redis_conn *c)
{
	if (metrics && c->down_flag && metrics_flag_swap(c->down_flag, 1, 0))
		linfo("redis %s is back: caching again", c->addr);
}

static void mark_failed(struct redis_conn *c, const char *why)
{
	if (metrics)
		metrics_add(&metrics->redis_errors, 1);
	if (metrics && c->down_flag)
		outage_begins(c, why);
	else
		lwarn("redis: %s", why);
	if (c->ctx)
		redisFree(c->ctx);
	c->ctx = NULL;
	c->retry_at = clock_ms() + 1000;
}

static int connect_redis(struct redis_conn *c)
{
	struct timeval tv = { c->cfg->redis_timeout_ms / 1000, (c->cfg->redis_timeout_ms % 1000) * 1000 };
	const char *addr = c->addr;

	if (c->ctx)
		return 0;
	if (clock_ms() < c->retry_at)
		return -1;
	if (strncmp(addr, "unix:", 5) == 0) {
		c->ctx = redisConnectUnixWithTimeout(addr + 5, tv);
	} else {
		char host[256];
		const char *colon = strrchr(addr, ':');
		int port = colon ? atoi(colon + 1) : 6379;

		snprintf(host, sizeof(host), "%.*s", colon ? (int)(colon - addr) : (int)strlen(addr), addr);
		c->ctx = redisConnectWithTimeout(host, port, tv);
	}
	if (c->ctx == NULL || c->ctx->err) {
		char why[160];

		snprintf(why, sizeof(why), "connect to %s: %s", addr, c->ctx ? c->ctx->errstr : "out of memory");
		mark_failed(c, why);
		return -1;
	}
	/* The connect timeout does not cover commands: set it for them too (FIELD-NOTES). */
	redisSetTimeout(c->ctx, tv);
	outage_ends(c);
	return 0;
}

/* Did a command fail because Redis closed the connection (it restarted), not by a timeout? */
static bool connection_went_away(const redisContext *ctx, int err)
{
	return ctx->err == REDIS_ERR_EOF || (ctx->err == REDIS_ERR_IO && (err == EPIPE || err == ECONNRESET));
}

redisReply *redis_conn_command(struct redis_conn *c, int argc, const char **argv, const size_t *argvlen)
{
	redisReply *r;

	for (int attempt = 0;; attempt++) {
		bool reused = c->ctx != NULL;

		if (connect_redis(c) < 0)
			return NULL;
		errno = 0;
		r = redisCommandArgv(c->ctx, argc, argv, argvlen);
		if (r != NULL)
			break;
		/* A connection made before Redis restarted fails once: connect again before calling it an outage. */
		if (reused && attempt == 0 && connection_went_away(c->ctx, errno)) {
			redisFree(c->ctx);
			c->ctx = NULL;
			continue;
		}
		{
			char why[160];

			snprintf(why, sizeof(why), "%s: %s", argv[0], c->ctx->errstr);
			mark_failed(c, why);
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

int redis_conn_do(struct redis_conn *c, int argc, const char **argv, const size_t *argvlen)
{
	redisReply *r = redis_conn_command(c, argc, argv, argvlen);

	if (r == NULL)
		return -1;
	freeReplyObject(r);
	return 0;
}
