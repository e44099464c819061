/*
 * inflight.h: per-client fairness on this node. Each client (its key: an
 * IPv4 address or an IPv6 /64) may have at most N executions and M waits
 * (requests waiting for an identical command another request runs) in flight
 * at once; past that its request is refused at once (429), so one client
 * cannot hold the workers the others need.
 *
 * One table in shared memory (made by the master before it forks), one record
 * per request in flight holding its client, its kind, its process and since
 * when. The count of a client is the number of its live records: nothing to
 * keep in step, and a record left by a process that died (SIGKILL, a crash)
 * stops counting as soon as its process is gone or it is older than any
 * request can live. A robust mutex guards it (shm_mutex.h).
 */
#ifndef CMDARENA_INFLIGHT_H
#define CMDARENA_INFLIGHT_H

#include <stddef.h>

enum inflight_kind { INFLIGHT_EXEC = 1, INFLIGHT_WAIT = 2 };

struct inflight_table;

extern struct inflight_table *inflight;	/* NULL until inflight_init */

struct inflight_table *inflight_new(size_t records);
void inflight_delete(struct inflight_table *t);
int inflight_init(size_t records);

/*
 * Admit one request of client as kind when the client has fewer than max of
 * that kind in flight (max <= 0: no limit). Records older than max_age_ms
 * no longer count. Returns the record's index (>= 0), -1 when over the limit,
 * -2 when the table is full (the caller admits: the table is sized for more
 * than the workers can hold).
 */
int inflight_enter(struct inflight_table *t, const char *client, enum inflight_kind kind, int max,
    long long now_ms, long long max_age_ms);
void inflight_leave(struct inflight_table *t, int index);

/* How many of kind client has in flight (for tests). */
int inflight_count(struct inflight_table *t, const char *client, enum inflight_kind kind, long long now_ms,
    long long max_age_ms);

#endif
