/*
 * metrics.c: shared counters and their Prometheus rendering (see metrics.h).
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "worker/metrics.h"

struct metrics *metrics;

static const char *const endpoint_names[N_ENDPOINTS] = { "r", "s", "metrics", "other" };
static const char *const outcome_names[N_OUTCOMES] = {
	"correct", "incorrect", "solutions", "metrics",
	"bad_request", "not_found", "method_not_allowed", "stale_version", "too_long", "rate_limited",
	"unavailable", "timeout", "internal",
};
static const char *const layer_names[N_LAYERS] = { "none", "redis", "inflight", "executed" };
static const long exec_bounds_ms[EXEC_BUCKETS] = { 5, 10, 20, 30, 50, 100, 200, 500, 1000, 2000, 5000, 10000 };

int metrics_init(void)
{
	void *p = mmap(NULL, sizeof(struct metrics), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return -1;
	memset(p, 0, sizeof(struct metrics));
	metrics = p;
	return 0;
}

void metrics_add(uint64_t *counter, uint64_t n)
{
	if (metrics)
		__atomic_fetch_add(counter, n, __ATOMIC_RELAXED);
}

void metrics_gauge_add(int64_t *gauge, int64_t n)
{
	if (metrics)
		__atomic_fetch_add(gauge, n, __ATOMIC_RELAXED);
}

void metrics_gauge_set(int64_t *gauge, int64_t v)
{
	if (metrics)
		__atomic_store_n(gauge, v, __ATOMIC_RELAXED);
}

int metrics_flag_swap(int64_t *flag, int64_t old, int64_t new_value)
{
	if (metrics == NULL)
		return 1;
	return __atomic_compare_exchange_n(flag, &old, new_value, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

void metrics_count_request(enum endpoint ep, enum outcome out)
{
	if (metrics)
		metrics_add(&metrics->requests[ep][out], 1);
}

void metrics_observe_execution(long long duration_us)
{
	if (metrics == NULL)
		return;
	metrics_add(&metrics->executions, 1);
	metrics_add(&metrics->exec_count, 1);
	metrics_add(&metrics->exec_sum_us, (uint64_t)(duration_us > 0 ? duration_us : 0));
	for (int i = 0; i < EXEC_BUCKETS; i++)
		if (duration_us <= exec_bounds_ms[i] * 1000LL)
			metrics_add(&metrics->exec_bucket[i], 1);
}

const char *outcome_name(enum outcome o)
{
	return outcome_names[o];
}

const char *layer_name(enum cache_layer l)
{
	return layer_names[l];
}

static uint64_t rd(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static int64_t rdg(const int64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

#define HELP(sb, name, type, help) sb_addf(sb, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type)

int metrics_render(struct strbuf *sb, const struct config *c)
{
	const struct metrics *m = metrics;

	if (m == NULL)
		return -1;
	HELP(sb, "cmdarena_requests_total", "counter", "Requests answered by the workers, by endpoint and outcome.");
	for (int e = 0; e < N_ENDPOINTS; e++)
		for (int o = 0; o < N_OUTCOMES; o++)
			if (rd(&m->requests[e][o]))
				sb_addf(sb, "cmdarena_requests_total{endpoint=\"%s\",outcome=\"%s\"} %llu\n",
				    endpoint_names[e], outcome_names[o], (unsigned long long)rd(&m->requests[e][o]));
	HELP(sb, "cmdarena_verdicts_total", "counter",
	    "Verdicts by the layer that produced them behind nginx (redis hit, waited for an identical run, executed).");
	for (int l = 1; l < N_LAYERS; l++)
		sb_addf(sb, "cmdarena_verdicts_total{layer=\"%s\"} %llu\n", layer_names[l], (unsigned long long)rd(&m->layer[l]));
	HELP(sb, "cmdarena_executions_total", "counter", "Commands run in a sandbox container.");
	sb_addf(sb, "cmdarena_executions_total %llu\n", (unsigned long long)rd(&m->executions));
	HELP(sb, "cmdarena_execution_seconds", "histogram", "Time from taking a container to holding its verdict.");
	for (int i = 0; i < EXEC_BUCKETS; i++)
		sb_addf(sb, "cmdarena_execution_seconds_bucket{le=\"%g\"} %llu\n", exec_bounds_ms[i] / 1000.0,
		    (unsigned long long)rd(&m->exec_bucket[i]));
	sb_addf(sb, "cmdarena_execution_seconds_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)rd(&m->exec_count));
	sb_addf(sb, "cmdarena_execution_seconds_sum %.6f\n", rd(&m->exec_sum_us) / 1e6);
	sb_addf(sb, "cmdarena_execution_seconds_count %llu\n", (unsigned long long)rd(&m->exec_count));
	HELP(sb, "cmdarena_redis_errors_total", "counter", "Redis commands that failed (the request went on without the cache).");
	sb_addf(sb, "cmdarena_redis_errors_total %llu\n", (unsigned long long)rd(&m->redis_errors));
	HELP(sb, "cmdarena_redis_up", "gauge", "0 while the workers see Redis down.");
	sb_addf(sb, "cmdarena_redis_up %d\n", rdg(&m->redis_down) ? 0 : 1);
	HELP(sb, "cmdarena_solutions_redis_up", "gauge", "0 while the workers see the solutions' Redis down.");
	sb_addf(sb, "cmdarena_solutions_redis_up %d\n", rdg(&m->solutions_redis_down) ? 0 : 1);
	HELP(sb, "cmdarena_rate_limited_total", "counter", "Executions refused by the per-client rate limit.");
	sb_addf(sb, "cmdarena_rate_limited_total %llu\n", (unsigned long long)rd(&m->rate_limited));
	HELP(sb, "cmdarena_client_inflight_refused_total", "counter",
	    "Requests refused because their client had too many executions or waits in flight.");
	sb_addf(sb, "cmdarena_client_inflight_refused_total{kind=\"execution\"} %llu\n", (unsigned long long)rd(&m->inflight_refused[0]));
	sb_addf(sb, "cmdarena_client_inflight_refused_total{kind=\"wait\"} %llu\n", (unsigned long long)rd(&m->inflight_refused[1]));
	HELP(sb, "cmdarena_rate_limit_local_total", "counter", "Rate-limit charges decided by this node's own buckets (Redis could not).");
	sb_addf(sb, "cmdarena_rate_limit_local_total %llu\n", (unsigned long long)rd(&m->rate_limit_local));
	HELP(sb, "cmdarena_pool_waits_total", "counter", "Requests that found no idle container and waited for one.");
	sb_addf(sb, "cmdarena_pool_waits_total %llu\n", (unsigned long long)rd(&m->pool_waits));
	HELP(sb, "cmdarena_pool_wait_timeouts_total", "counter", "Requests that waited for a container in vain.");
	sb_addf(sb, "cmdarena_pool_wait_timeouts_total %llu\n", (unsigned long long)rd(&m->pool_timeouts));
	HELP(sb, "cmdarena_workers_alive", "gauge", "FastCGI workers running.");
	sb_addf(sb, "cmdarena_workers_alive %lld\n", (long long)rdg(&m->workers_alive));
	HELP(sb, "cmdarena_workers_respawned_total", "counter", "Workers the master replaced after they died.");
	sb_addf(sb, "cmdarena_workers_respawned_total %llu\n", (unsigned long long)rd(&m->workers_respawned));
	HELP(sb, "cmdarena_reloads_total", "counter", "SIGHUP reloads done.");
	sb_addf(sb, "cmdarena_reloads_total %llu\n", (unsigned long long)rd(&m->reloads));

#define ENGINE_SERIES(name, type, help, field, fmt, cast) \
	do { \
		HELP(sb, name, type, help); \
		for (size_t i = 0; i < c->n_engines; i++) \
			sb_addf(sb, name "{engine=\"%zu\"} " fmt "\n", i, (cast)m->engine[i].field); \
	} while (0)
	ENGINE_SERIES("cmdarena_engine_up", "gauge", "1 when the engine answers /_ping.", healthy, "%lld", long long);
	ENGINE_SERIES("cmdarena_pool_idle", "gauge", "Started containers waiting for a request.", idle, "%lld", long long);
	ENGINE_SERIES("cmdarena_pool_creating", "gauge", "Containers being created and started.", creating, "%lld", long long);
	ENGINE_SERIES("cmdarena_pool_claimed", "gauge", "Containers handed to a request and not yet released.", claimed, "%lld", long long);
	ENGINE_SERIES("cmdarena_pool_refills_total", "counter", "Containers created and started for the pool.", created, "%llu", unsigned long long);
	ENGINE_SERIES("cmdarena_pool_takes_total", "counter", "Containers handed to requests.", takes, "%llu", unsigned long long);
	ENGINE_SERIES("cmdarena_pool_create_failures_total", "counter", "Failed creations or starts.", create_failures, "%llu", unsigned long long);
	ENGINE_SERIES("cmdarena_containers_removed_total", "counter", "Containers removed after use or when idle too long.", removed, "%llu", unsigned long long);
	ENGINE_SERIES("cmdarena_containers_reaped_total", "counter", "Orphaned containers removed by the reaper.", reaped, "%llu", unsigned long long);
	ENGINE_SERIES("cmdarena_engine_errors_total", "counter", "Engine calls that failed.", errors, "%llu", unsigned long long);
#undef ENGINE_SERIES
	HELP(sb, "cmdarena_engine_info", "gauge", "The configured engines: index and URL.");
	for (size_t i = 0; i < c->n_engines; i++) {
		sb_addf(sb, "cmdarena_engine_info{engine=\"%zu\",url=\"", i);
		/* A label value escapes backslash, double quote and newline. */
		for (const char *p = c->engines[i].url; *p; p++)
			sb_addf(sb, "%s%c", *p == '\\' || *p == '"' || *p == '\n' ? "\\" : "", *p == '\n' ? 'n' : *p);
		sb_addf(sb, "\"} 1\n");
	}
	return 0;
}
