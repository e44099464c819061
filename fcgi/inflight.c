/*
 * inflight.c: requests in flight per client, in shared memory (see inflight.h).
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "client_addr.h"
#include "inflight.h"
#include "shm_mutex.h"

struct record {
	uint64_t hash;		/* 0: free */
	pid_t pid;
	int kind;
	long long since_ms;
	char key[CLIENT_ADDR_MAX];
};

struct inflight_table {
	pthread_mutex_t lock;
	size_t map_len;
	size_t n;
	struct record r[];
};

struct inflight_table *inflight;

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h ? h : 1;
}

struct inflight_table *inflight_new(size_t records)
{
	size_t len = sizeof(struct inflight_table) + records * sizeof(struct record);
	struct inflight_table *t;

	if (records == 0)
		return NULL;
	t = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (t == MAP_FAILED)
		return NULL;
	memset(t, 0, len);
	t->map_len = len;
	t->n = records;
	if (shm_mutex_init(&t->lock) < 0) {
		munmap(t, len);
		return NULL;
	}
	return t;
}

void inflight_delete(struct inflight_table *t)
{
	if (t) {
		pthread_mutex_destroy(&t->lock);
		munmap(t, t->map_len);
	}
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
	for (size_t i = 0; i < t->n; i++) {
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
	uint64_t h = fnv1a(client);
	int n, slot;

	if (t == NULL || shm_mutex_lock(&t->lock) < 0)
		return -2;
	n = count_locked(t, h, client, (int)kind, now_ms, max_age_ms, &slot);
	if (max > 0 && n >= max) {
		shm_mutex_unlock(&t->lock);
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
	shm_mutex_unlock(&t->lock);
	return slot >= 0 ? slot : -2;
}

void inflight_leave(struct inflight_table *t, int index)
{
	if (t == NULL || index < 0 || (size_t)index >= t->n || shm_mutex_lock(&t->lock) < 0)
		return;
	t->r[index].hash = 0;
	shm_mutex_unlock(&t->lock);
}

int inflight_count(struct inflight_table *t, const char *client, enum inflight_kind kind, long long now_ms,
    long long max_age_ms)
{
	int n, slot;

	if (t == NULL || shm_mutex_lock(&t->lock) < 0)
		return 0;
	n = count_locked(t, fnv1a(client), client, (int)kind, now_ms, max_age_ms, &slot);
	shm_mutex_unlock(&t->lock);
	return n;
}
