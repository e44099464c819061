/*
 * ratelimit.c: the token bucket script (see ratelimit.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/attach.h"
#include "lib/clock.h"
#include "worker/local_limit.h"
#include "worker/metrics.h"
#include "worker/ratelimit.h"

/*
 * KEYS[1] the bucket; ARGV: tokens per second, burst. Redis's own clock, so
 * every front node agrees. Returns {1, 0} or {0, seconds to wait}.
 */
static const char bucket_script[] =
    "local rate = tonumber(ARGV[1]) local burst = tonumber(ARGV[2])\n"
    "local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000)\n"
    "local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')\n"
    "local tokens = tonumber(b[1]) or burst local ts = tonumber(b[2]) or now\n"
    "tokens = math.min(burst, tokens + (now - ts) * rate / 1000)\n"
    "if tokens < 1 then return {0, math.ceil((1 - tokens) / rate)} end\n"
    "redis.call('HSET', KEYS[1], 'tokens', tostring(tokens - 1), 'ts', tostring(now))\n"
    "redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)\n"
    "return {1, 0}\n";

int ratelimit_take(struct verdict_cache *vc, const char *client, int *retry_after_s)
{
	const struct config *c = vc->cfg;
	char key[160], rate[32], burst[16];
	redisReply *r = NULL;
	int result = -1;

	if (c->rate_limit_count <= 0)
		return 1;
	snprintf(key, sizeof(key), "cmdarena:rl:%s", client);
	snprintf(rate, sizeof(rate), "%.6f", (double)c->rate_limit_count / c->rate_limit_window_s);
	snprintf(burst, sizeof(burst), "%d", c->rate_limit_burst);
	for (int attempt = 0; attempt < 2 && r == NULL; attempt++) {
		if (vc->ratelimit_sha == NULL) {
			const char *argv[] = { "SCRIPT", "LOAD", bucket_script };
			redisReply *l = vcache_command(vc, 3, argv, NULL);

			if (l == NULL)
				return -1;
			if (l->type == REDIS_REPLY_STRING)
				vc->ratelimit_sha = strdup(l->str);
			freeReplyObject(l);
			if (vc->ratelimit_sha == NULL)
				return -1;
		}
		{
			const char *argv[] = { "EVALSHA", vc->ratelimit_sha, "1", key, rate, burst };

			r = vcache_command(vc, 6, argv, NULL);
		}
		if (r == NULL)
			return -1;
		if (r->type == REDIS_REPLY_ERROR) {
			/* NOSCRIPT: Redis restarted and forgot it; load it again. */
			freeReplyObject(r);
			r = NULL;
			free(vc->ratelimit_sha);
			vc->ratelimit_sha = NULL;
		}
	}
	if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 && r->element[0]->type == REDIS_REPLY_INTEGER) {
		result = r->element[0]->integer == 1;
		*retry_after_s = r->element[1]->type == REDIS_REPLY_INTEGER ? (int)r->element[1]->integer : 1;
		if (*retry_after_s < 1)
			*retry_after_s = 1;
	}
	if (r)
		freeReplyObject(r);
	return result;
}

int ratelimit_charge(struct verdict_cache *vc, const char *client, int *retry_after_s)
{
	const struct config *c = vc->cfg;
	int rc;

	if (c->rate_limit_count <= 0)
		return 1;
	rc = ratelimit_take(vc, client, retry_after_s);
	if (rc >= 0)
		return rc;
	if (metrics)
		metrics_add(&metrics->rate_limit_local, 1);
	return local_limit_take(local_limits, client, (double)c->rate_limit_count / c->rate_limit_window_s,
	    c->rate_limit_burst, clock_ms(), retry_after_s);
}
