/*
 * verdicts.h: verdicts in the cache's Redis: a reply body under its key (keys.h), with a TTL.
 */
#ifndef CMDARENA_REDIS_VERDICTS_H
#define CMDARENA_REDIS_VERDICTS_H

#include <stddef.h>

#include "redis/conn.h"

/* GET: LOOKUP_HIT with *value malloc'd (NUL-terminated, *len bytes), LOOKUP_MISS, or LOOKUP_ERROR. */
enum redis_lookup redis_verdict_get(struct redis_conn *c, const char *key, char **value, size_t *len);

/* SET key value EX ttl_s. Returns 0, -1 when Redis is unusable. */
int redis_verdict_set(struct redis_conn *c, const char *key, const char *value, size_t len, int ttl_s);

#endif
