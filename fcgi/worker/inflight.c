/*
 * inflight.c: requests in flight per client, in shared memory (see inflight.h).
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/client_addr.h"
#include "worker/inflight.h"
#include "worker/shm_mutex.h"

struct record {
	uint64_t hash;		/* 0: free */
	pid_t pid;
	int kind;
	long long since_ms;
	char key[CLIENT_ADDR_MAX];
};

struct inflight_table {
	struct shm_head h;	/* lock, map_len, n: the number of entries */
	struct record r[];
};

struct inflight_table *inflight;

struct inflight_table *inflight_new(size_t records)
{
	return shm_table_new(sizeof(struct inflight_table), records, sizeof(struct record));
}

void inflight_delete(struct inflight_table *t)
{
	shm_table_delete(t ? &t->h : NULL);
}

int inflight_init(size_t records)
{
	inflight = inflight_new(records);
	return inflight ? 0 : -1;
}

/* Does this record still stand for a request? Frees it when not. */
static bool live(struct record *rec, long long now_ms, long long max_age_ms)
{
	if (rec->hash == 0)
		return false;
	if (now_ms - rec->since_ms > max_age_ms || (kill(rec->pid, 0) < 0 && errno == ESRCH)) {
		rec->hash = 0;
		return false;
	}
	return true;
}

static int count_locked(struct inflight_table *t, uint64_t h, const char *client, int kind, long long now_ms,
    long long max_age_ms, int *free_slot)
{
	int n = 0;

	*free_slot = -1;
	for (size_t i = 0; i < t->h.n; i++) {
		struct record *rec = &t->r[i];

		if (rec->hash == h && strcmp(rec->key, client) == 0) {
			if (live(rec, now_ms, max_age_ms) && rec->kind == kind)
				n++;
		} else if (rec->hash != 0 && now_ms - rec->since_ms > max_age_ms) {
			rec->hash = 0;
		}
		if (rec->hash == 0 && *free_slot < 0)
			*free_slot = (int)i;
	}
	return n;
}

int inflight_enter(struct inflight_table *t, const char *client, enum inflight_kind kind, int max,
    long long now_ms, long long max_age_ms)
{
	uint64_t h = shm_hash(client);
	int n, slot;

	if (t == NULL || shm_mutex_lock(&t->h.lock) < 0)
		return -2;
	n = count_locked(t, h, client, (int)kind, now_ms, max_age_ms, &slot);
	if (max > 0 && n >= max) {
		shm_mutex_unlock(&t->h.lock);
		return -1;
	}
	if (slot >= 0) {
		struct record *rec = &t->r[slot];

		rec->hash = h;
		rec->pid = getpid();
		rec->kind = (int)kind;
		rec->since_ms = now_ms;
		snprintf(rec->key, sizeof(rec->key), "%s", client);
	}
	shm_mutex_unlock(&t->h.lock);
	return slot >= 0 ? slot : -2;
}

void inflight_leave(struct inflight_table *t, int index)
{
	if (t == NULL || index < 0 || (size_t)index >= t->h.n || shm_mutex_lock(&t->h.lock) < 0)
		return;
	t->r[index].hash = 0;
	shm_mutex_unlock(&t->h.lock);
}

int inflight_count(struct inflight_table *t, const char *client, enum inflight_kind kind, long long now_ms,
    long long max_age_ms)
{
	int n, slot;

	if (t == NULL || shm_mutex_lock(&t->h.lock) < 0)
		return 0;
	n = count_locked(t, shm_hash(client), client, (int)kind, now_ms, max_age_ms, &slot);
	shm_mutex_unlock(&t->h.lock);
	return n;
}
