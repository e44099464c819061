/*
 * ratelimit.h: executions per client, limited with a token bucket kept in Redis and updated
 * by one atomic script (scripts.h), shared by every worker and front node. When Redis cannot
 * decide (down, slow, refusing writes), the worker asks this node's own bucket instead
 * (worker/local_limit.h).
 */
#ifndef CMDARENA_REDIS_RATELIMIT_H
#define CMDARENA_REDIS_RATELIMIT_H

#include "redis/conn.h"

/*
 * Take a token from client's bucket (rate_limit_count per rate_limit_window_s, up to
 * rate_limit_burst). 1: allowed; 0: over the limit, *retry_after_s set (at least 1);
 * -1: Redis unusable, nothing decided.
 */
int redis_bucket_take(struct redis_conn *c, const char *client, int *retry_after_s);

#endif
