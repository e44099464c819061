/*
 * metrics.h: counters shared by the master, the workers and the pool keeper
 * through one anonymous shared mapping made before the first fork, rendered
 * as Prometheus text by GET /metrics. Updates are relaxed atomic adds.
 */
#ifndef CMDARENA_METRICS_H
#define CMDARENA_METRICS_H

#include <stdint.h>

#include "config/config.h"
#include "lib/strbuf.h"

enum endpoint { EP_R, EP_S, EP_METRICS, EP_OTHER, N_ENDPOINTS };

enum outcome {
	OUT_CORRECT, OUT_INCORRECT, OUT_SOLUTIONS, OUT_METRICS,
	OUT_BAD_REQUEST, OUT_NOT_FOUND, OUT_METHOD, OUT_STALE, OUT_TOO_LONG, OUT_RATE_LIMITED,
	OUT_UNAVAILABLE, OUT_TIMEOUT, OUT_INTERNAL, N_OUTCOMES
};

enum cache_layer { LAYER_NONE, LAYER_REDIS, LAYER_INFLIGHT, LAYER_EXECUTED, N_LAYERS };

#define EXEC_BUCKETS 12

struct engine_metrics {
	int64_t idle;		/* gauges */
	int64_t creating;
	int64_t claimed;
	int64_t healthy;
	uint64_t created;	/* counters */
	uint64_t create_failures;
	uint64_t removed;
	uint64_t reaped;
	uint64_t errors;
	uint64_t takes;
};

struct metrics {
	uint64_t requests[N_ENDPOINTS][N_OUTCOMES];
	uint64_t layer[N_LAYERS];
	uint64_t executions;
	uint64_t exec_bucket[EXEC_BUCKETS];	/* cumulative upper bounds in exec_bounds_ms */
	uint64_t exec_sum_us;
	uint64_t exec_count;
	uint64_t redis_errors;
	int64_t redis_down;	/* 1 during an outage: the first worker to see it logs it */
	int64_t solutions_redis_down;	/* the same for the solutions' instance */
	uint64_t rate_limited;
	uint64_t inflight_refused[2];	/* over client_executions_max, client_waits_max */
	uint64_t rate_limit_local;	/* charges decided by this node's buckets (Redis could not) */
	uint64_t pool_waits;	/* requests that found no idle container */
	uint64_t pool_timeouts;
	int64_t workers_alive;
	uint64_t workers_respawned;
	uint64_t reloads;
	int64_t keeper_beat_ms;	/* clock_ms() of the pool keeper's last loop (at least 1/s) */
	struct engine_metrics engine[CONFIG_MAX_ENGINES];
};

extern struct metrics *metrics;	/* NULL until metrics_init */

int metrics_init(void);
void metrics_add(uint64_t *counter, uint64_t n);
void metrics_gauge_add(int64_t *gauge, int64_t n);
void metrics_gauge_set(int64_t *gauge, int64_t v);
/* Atomically set a flag from old to new; returns 1 when this call changed it. */
int metrics_flag_swap(int64_t *flag, int64_t old, int64_t new_value);

void metrics_count_request(enum endpoint ep, enum outcome out);
void metrics_observe_execution(long long duration_us);

/* Prometheus text exposition of everything. */
int metrics_render(struct strbuf *sb, const struct config *c);

const char *outcome_name(enum outcome o);
const char *layer_name(enum cache_layer l);

#endif
