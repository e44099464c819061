/*
 * ratelimit.h: executions per client, limited with a token bucket kept in
 * Redis and updated by one atomic script (shared by every worker and front
 * node). When Redis cannot decide (down, slow, refusing writes), this node's
 * own bucket in shared memory does (local_limit.h).
 */
#ifndef CMDARENA_RATELIMIT_H
#define CMDARENA_RATELIMIT_H

#include "worker/verdict_cache.h"

/* 1: allowed, 0: over the limit (*retry_after_s set), -1: Redis unusable (allowed). */
int ratelimit_take(struct verdict_cache *vc, const char *client, int *retry_after_s);

/* Redis's bucket, else this node's: 1 allowed, 0 over the limit (*retry_after_s set). */
int ratelimit_charge(struct verdict_cache *vc, const char *client, int *retry_after_s);

#endif
