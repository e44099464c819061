/*
 * local_limit.h: the per-client token bucket of this node, in shared memory
 * (one mapping made by the master before it forks, like the metrics), used
 * when Redis cannot decide: down, timing out, or refusing writes (OOM). The
 * same rate and burst as Redis's buckets, but counted per node: with K front
 * nodes a client may get up to K times the rate while Redis is away. When
 * Redis answers again its buckets decide again.
 *
 * The table has a fixed number of slots (open addressing on a hash of the
 * client key); a full neighbourhood reuses the slot that has been idle the
 * longest, so memory never grows and a flood of keys only forgets buckets
 * that were refilling anyway.
 */
#ifndef CMDARENA_LOCAL_LIMIT_H
#define CMDARENA_LOCAL_LIMIT_H

#include <stddef.h>

struct local_limits;

extern struct local_limits *local_limits;	/* NULL until local_limits_init */

/* A table of slots buckets in a new MAP_SHARED mapping; NULL on failure. */
struct local_limits *local_limits_new(size_t slots);
void local_limits_delete(struct local_limits *t);
/* The master's table for its children. Returns 0 or -1. */
int local_limits_init(void);

/*
 * Take one token from client's bucket (rate tokens per second, at most burst)
 * at now_ms (a monotonic clock). 1: taken; 0: empty, *retry_after_s set.
 */
int local_limit_take(struct local_limits *t, const char *client, double rate, int burst, long long now_ms,
    int *retry_after_s);

/* For the unit test: take the table's lock and keep it (as a worker killed inside would). */
int local_limits_hold_lock(struct local_limits *t);

#endif
