/*
 * scripts.c: the Lua scripts and their loader (see scripts.h for what each does).
 */
#include <stdio.h>
#include <string.h>

#include "redis/conn.h"
#include "redis/scripts.h"

static const char *const script_text[REDIS_SCRIPTS] = {
	[REDIS_SCRIPT_UNLOCK] =
	    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end",
	/* Redis's own clock, so every front node agrees. */
	[REDIS_SCRIPT_BUCKET] =
	    "local rate = tonumber(ARGV[1]) local burst = tonumber(ARGV[2])\n"
	    "local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000)\n"
	    "local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')\n"
	    "local tokens = tonumber(b[1]) or burst local ts = tonumber(b[2]) or now\n"
	    "tokens = math.min(burst, tokens + (now - ts) * rate / 1000)\n"
	    "if tokens < 1 then return {0, math.ceil((1 - tokens) / rate)} end\n"
	    "redis.call('HSET', KEYS[1], 'tokens', tostring(tokens - 1), 'ts', tostring(now))\n"
	    "redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)\n"
	    "return {1, 0}\n",
};

/* SCRIPT LOAD: keeps its SHA-1 in the connection. Returns 0, -1 when Redis is unusable. */
static int load(struct redis_conn *c, enum redis_script script)
{
	const char *argv[] = { "SCRIPT", "LOAD", script_text[script] };
	redisReply *r = redis_conn_command(c, 3, argv, NULL);
	int rc = -1;

	if (r == NULL)
		return -1;
	if (r->type == REDIS_REPLY_STRING && r->len < sizeof(c->script_sha[script])) {
		memcpy(c->script_sha[script], r->str, r->len + 1);
		rc = 0;
	}
	freeReplyObject(r);
	return rc;
}

/* The most keys and arguments a script takes. */
#define SCRIPT_ARGS_MAX 8

redisReply *redis_script_run(struct redis_conn *c, enum redis_script script, int nkeys, int argc,
    const char **argv)
{
	const char *args[3 + SCRIPT_ARGS_MAX];
	char keys[12];

	if (argc < 0 || argc > SCRIPT_ARGS_MAX)
		return NULL;
	snprintf(keys, sizeof(keys), "%d", nkeys);
	memcpy(args + 3, argv, (size_t)argc * sizeof(*argv));
	args[0] = "EVALSHA", args[2] = keys;
	for (int attempt = 0; attempt < 2; attempt++) {
		redisReply *r;

		if (c->script_sha[script][0] == '\0' && load(c, script) < 0)
			return NULL;
		args[1] = c->script_sha[script];
		r = redis_conn_command(c, 3 + argc, args, NULL);
		if (r == NULL || r->type != REDIS_REPLY_ERROR)
			return r;
		/* NOSCRIPT: Redis restarted and forgot it; load it again. */
		freeReplyObject(r);
		c->script_sha[script][0] = '\0';
	}
	return NULL;
}
