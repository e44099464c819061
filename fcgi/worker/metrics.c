/*
 * metrics.c: shared counters and their Prometheus rendering (see metrics.h).
 */
#include <stdbool.h>
#include <stddef.h>
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

/* A series with one line per engine, read from struct engine_metrics. */
struct engine_series {
	const char *name;
	bool gauge;		/* an int64_t gauge, else a uint64_t counter */
	const char *help;
	size_t offset;
};

#define EM(field) offsetof(struct engine_metrics, field)
static const struct engine_series engine_series[] = {
	{ "cmdarena_engine_up", true, "1 when the engine answers /_ping.", EM(healthy) },
	{ "cmdarena_pool_idle", true, "Started containers waiting for a request.", EM(idle) },
	{ "cmdarena_pool_creating", true, "Containers being created and started.", EM(creating) },
	{ "cmdarena_pool_claimed", true, "Containers handed to a request and not yet released.", EM(claimed) },
	{ "cmdarena_pool_refills_total", false, "Containers created and started for the pool.", EM(created) },
	{ "cmdarena_pool_takes_total", false, "Containers handed to requests.", EM(takes) },
	{ "cmdarena_pool_create_failures_total", false, "Failed creations or starts.", EM(create_failures) },
	{ "cmdarena_containers_removed_total", false, "Containers removed after use or when idle too long.", EM(removed) },
	{ "cmdarena_containers_reaped_total", false, "Orphaned containers removed by the reaper.", EM(reaped) },
	{ "cmdarena_engine_errors_total", false, "Engine calls that failed.", EM(errors) },
};
#undef EM

static void render_counter(struct strbuf *sb, const char *name, const char *help, uint64_t v)
{
	HELP(sb, name, "counter", help);
	sb_addf(sb, "%s %llu\n", name, (unsigned long long)v);
}

/* Requests by endpoint and outcome (only the pairs seen), verdicts by layer. */
static void render_requests(struct strbuf *sb, const struct metrics *m)
{
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
}

/* The executions and the histogram of their durations. */
static void render_executions(struct strbuf *sb, const struct metrics *m)
{
	render_counter(sb, "cmdarena_executions_total", "Commands run in a sandbox container.", rd(&m->executions));
	HELP(sb, "cmdarena_execution_seconds", "histogram", "Time from taking a container to holding its verdict.");
	for (int i = 0; i < EXEC_BUCKETS; i++)
		sb_addf(sb, "cmdarena_execution_seconds_bucket{le=\"%g\"} %llu\n", exec_bounds_ms[i] / 1000.0,
		    (unsigned long long)rd(&m->exec_bucket[i]));
	sb_addf(sb, "cmdarena_execution_seconds_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)rd(&m->exec_count));
	sb_addf(sb, "cmdarena_execution_seconds_sum %.6f\n", rd(&m->exec_sum_us) / 1e6);
	sb_addf(sb, "cmdarena_execution_seconds_count %llu\n", (unsigned long long)rd(&m->exec_count));
}

/* Redis's health, the rate limits and the per-client limits. */
static void render_redis_and_limits(struct strbuf *sb, const struct metrics *m)
{
	render_counter(sb, "cmdarena_redis_errors_total",
	    "Redis commands that failed (the request went on without the cache).", rd(&m->redis_errors));
	HELP(sb, "cmdarena_redis_up", "gauge", "0 while the workers see Redis down.");
	sb_addf(sb, "cmdarena_redis_up %d\n", rdg(&m->redis_down) ? 0 : 1);
	HELP(sb, "cmdarena_solutions_redis_up", "gauge", "0 while the workers see the solutions' Redis down.");
	sb_addf(sb, "cmdarena_solutions_redis_up %d\n", rdg(&m->solutions_redis_down) ? 0 : 1);
	render_counter(sb, "cmdarena_rate_limited_total", "Executions refused by the per-client rate limit.",
	    rd(&m->rate_limited));
	HELP(sb, "cmdarena_client_inflight_refused_total", "counter",
	    "Requests refused because their client had too many executions or waits in flight.");
	sb_addf(sb, "cmdarena_client_inflight_refused_total{kind=\"execution\"} %llu\n", (unsigned long long)rd(&m->inflight_refused[0]));
	sb_addf(sb, "cmdarena_client_inflight_refused_total{kind=\"wait\"} %llu\n", (unsigned long long)rd(&m->inflight_refused[1]));
	render_counter(sb, "cmdarena_rate_limit_local_total",
	    "Rate-limit charges decided by this node's own buckets (Redis could not).", rd(&m->rate_limit_local));
}

/* The pool's waits, the workers alive and replaced, the reloads. */
static void render_processes(struct strbuf *sb, const struct metrics *m)
{
	render_counter(sb, "cmdarena_pool_waits_total", "Requests that found no idle container and waited for one.",
	    rd(&m->pool_waits));
	render_counter(sb, "cmdarena_pool_wait_timeouts_total", "Requests that waited for a container in vain.",
	    rd(&m->pool_timeouts));
	HELP(sb, "cmdarena_workers_alive", "gauge", "FastCGI workers running.");
	sb_addf(sb, "cmdarena_workers_alive %lld\n", (long long)rdg(&m->workers_alive));
	render_counter(sb, "cmdarena_workers_respawned_total", "Workers the master replaced after they died.",
	    rd(&m->workers_respawned));
	render_counter(sb, "cmdarena_reloads_total", "SIGHUP reloads done.", rd(&m->reloads));
}

/* One line per engine for every engine series, then the engines' URLs. */
static void render_engines(struct strbuf *sb, const struct metrics *m, const struct config *c)
{
	for (size_t s = 0; s < sizeof(engine_series) / sizeof(engine_series[0]); s++) {
		const struct engine_series *es = &engine_series[s];

		HELP(sb, es->name, es->gauge ? "gauge" : "counter", es->help);
		for (size_t i = 0; i < c->n_engines; i++) {
			const char *field = (const char *)&m->engine[i] + es->offset;

			if (es->gauge)
				sb_addf(sb, "%s{engine=\"%zu\"} %lld\n", es->name, i, (long long)*(const int64_t *)field);
			else
				sb_addf(sb, "%s{engine=\"%zu\"} %llu\n", es->name, i,
				    (unsigned long long)*(const uint64_t *)field);
		}
	}
	HELP(sb, "cmdarena_engine_info", "gauge", "The configured engines: index and URL.");
	for (size_t i = 0; i < c->n_engines; i++) {
		sb_addf(sb, "cmdarena_engine_info{engine=\"%zu\",url=\"", i);
		/* A label value escapes backslash, double quote and newline. */
		for (const char *p = c->engines[i].url; *p; p++)
			sb_addf(sb, "%s%c", *p == '\\' || *p == '"' || *p == '\n' ? "\\" : "", *p == '\n' ? 'n' : *p);
		sb_addf(sb, "\"} 1\n");
	}
}

int metrics_render(struct strbuf *sb, const struct config *c)
{
	const struct metrics *m = metrics;

	if (m == NULL)
		return -1;
	render_requests(sb, m);
	render_executions(sb, m);
	render_redis_and_limits(sb, m);
	render_processes(sb, m);
	render_engines(sb, m, c);
	return 0;
}
