/*
 * verdicts.c: get and set a verdict in the cache's Redis (see verdicts.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis/verdicts.h"

enum redis_lookup redis_verdict_get(struct redis_conn *c, const char *key, char **value, size_t *len)
{
	const char *argv[] = { "GET", key };
	redisReply *r = redis_conn_command(c, 2, argv, NULL);
	enum redis_lookup res = LOOKUP_MISS;

	if (r == NULL)
		return LOOKUP_ERROR;
	if (r->type == REDIS_REPLY_STRING) {
		*value = malloc(r->len + 1);
		if (*value == NULL) {
			res = LOOKUP_ERROR;
		} else {
			memcpy(*value, r->str, r->len);
			(*value)[r->len] = '\0';
			*len = r->len;
			res = LOOKUP_HIT;
		}
	}
	freeReplyObject(r);
	return res;
}

int redis_verdict_set(struct redis_conn *c, const char *key, const char *value, size_t len, int ttl_s)
{
	char ttl[24];
	const char *argv[] = { "SET", key, value, "EX", ttl };
	size_t argvlen[] = { 3, strlen(key), len, 2, 0 };

	snprintf(ttl, sizeof(ttl), "%d", ttl_s);
	argvlen[4] = strlen(ttl);
	return redis_conn_do(c, 5, argv, argvlen);
}
