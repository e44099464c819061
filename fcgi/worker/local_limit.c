/*
 * local_limit.c: token buckets in shared memory (see local_limit.h).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lib/client_addr.h"
#include "worker/local_limit.h"
#include "worker/shm_mutex.h"

#define PROBE 32
#define DEFAULT_SLOTS 8192

struct bucket {
	uint64_t hash;		/* 0: free */
	char key[CLIENT_ADDR_MAX];
	double tokens;
	long long ts_ms;	/* last update */
};

struct local_limits {
	struct shm_head h;	/* lock, map_len, n: the number of entries */
	struct bucket b[];
};

struct local_limits *local_limits;

struct local_limits *local_limits_new(size_t slots)
{
	return shm_table_new(sizeof(struct local_limits), slots, sizeof(struct bucket));
}

void local_limits_delete(struct local_limits *t)
{
	shm_table_delete(t ? &t->h : NULL);
}

int local_limits_init(void)
{
	local_limits = local_limits_new(DEFAULT_SLOTS);
	return local_limits ? 0 : -1;
}

/* The client's bucket, or the slot to make it in (free, else idle the longest). */
static struct bucket *find(struct local_limits *t, uint64_t h, const char *client, bool *fresh)
{
	struct bucket *victim = NULL;

	for (size_t i = 0; i < PROBE && i < t->h.n; i++) {
		struct bucket *b = &t->b[(h + i) % t->h.n];

		if (b->hash == h && strcmp(b->key, client) == 0) {
			*fresh = false;
			return b;
		}
		if (b->hash == 0) {
			if (victim == NULL || victim->hash != 0)
				victim = b;
		} else if (victim == NULL || (victim->hash != 0 && b->ts_ms < victim->ts_ms)) {
			victim = b;
		}
	}
	*fresh = true;
	return victim;
}

int local_limit_take(struct local_limits *t, const char *client, double rate, int burst, long long now_ms,
    int *retry_after_s)
{
	uint64_t h = shm_hash(client);
	struct bucket *b;
	bool fresh;
	int taken;

	if (t == NULL || rate <= 0)
		return 1;
	if (shm_mutex_lock(&t->h.lock) < 0)
		return 1;	/* cannot happen with a valid mutex: fail open, as without Redis before */
	b = find(t, h, client, &fresh);
	if (fresh) {
		b->hash = h;
		snprintf(b->key, sizeof(b->key), "%s", client);
		b->tokens = burst;
		b->ts_ms = now_ms;
	}
	if (now_ms > b->ts_ms) {
		b->tokens += (double)(now_ms - b->ts_ms) * rate / 1000.0;
		if (b->tokens > burst)
			b->tokens = burst;
		b->ts_ms = now_ms;
	}
	taken = b->tokens >= 1.0;
	if (taken) {
		b->tokens -= 1.0;
	} else {
		double wait = (1.0 - b->tokens) / rate;

		*retry_after_s = (int)wait + ((double)(int)wait < wait);
		if (*retry_after_s < 1)
			*retry_after_s = 1;
	}
	shm_mutex_unlock(&t->h.lock);
	return taken;
}

int local_limits_hold_lock(struct local_limits *t)
{
	return shm_mutex_lock(&t->h.lock);
}
