/*
 * config.h: the app's own settings (cmdarena.conf(5)).
 *
 * The file is `key = value` lines with `#` comments. Every key has a default;
 * `engine` may be given several times. Relative paths are relative to the
 * config file's directory. Sizes take k/m/g suffixes, durations are in the
 * unit their name says (_ms, _s).
 */
#ifndef CMDARENA_CONFIG_H
#define CMDARENA_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#define CONFIG_MAX_ENGINES 8

struct engine_conf {
	char *url;		/* unix:///path or tcp://host:port */
	char *tls_cert;		/* client certificate (tcp only), or NULL */
	char *tls_key;
	char *tls_ca;
};

struct config {
	char *path;		/* the file read, for messages */

	/* FastCGI pool */
	char *socket;		/* FastCGI unix socket */
	unsigned socket_mode;
	int workers;		/* 0: cores x 2 */
	int worker_threads;	/* requests each worker serves at once */
	int backlog;
	char *log_level;
	bool log_syslog;

	/* Challenges and sandbox image */
	char *challenges;	/* dir holding challenges.yaml and the files */
	char *image;
	char *image_nobin;	/* NULL: same image, bins hidden by tmpfs */

	/* Engines */
	struct engine_conf engines[CONFIG_MAX_ENGINES];
	size_t n_engines;
	char *node_id;

	/* Redis */
	char *redis;		/* unix:/path or host:port */
	int redis_timeout_ms;
	int verdict_ttl_s;
	int transient_ttl_s;	/* nginx's cache time of a verdict that measured the machine */
	char *cache_salt;	/* global cache-buster, part of every Redis key */
	char *solutions_redis;	/* persistent instance for solutions; empty: the same as redis */

	/* Requests */
	size_t cmd_max;
	size_t query_max;
	char *trusted_proxies;	/* addresses/CIDRs whose X-Forwarded-For is believed */

	/* Rate limit of executions per client (token bucket in Redis); count 0 disables */
	int rate_limit_count;
	int rate_limit_window_s;
	int rate_limit_burst;

	/* Addresses/CIDRs no per-client limit of the pool counts (a load generator, a monitor) */
	char *limits_exempt;

	/* Requests in flight per client on this node (inflight.h); 0 = no limit */
	int client_executions_max;
	int client_waits_max;

	/* Solutions */
	int solutions_ttl_s;	/* how long nginx caches GET /s */
	int solutions_max;	/* distinct solutions kept per challenge version */

	/* Limits of every sandbox container */
	int timeout_ms;		/* runner's wall budget for the command */
	int script_timeout_ms;	/* setup/check/randomize */
	int hard_deadline_ms;	/* worker side: kill and remove past this */
	size_t output_cap;
	size_t memory;		/* bytes; swap equal (no swap) */
	int pids_limit;
	double cpus;
	size_t tmpfs_size;
	int nofile;
	size_t fsize;
	int sandbox_uid;
	char *runtime;		/* the engine's OCI runtime: runc or crun (HostConfig.Runtime) */

	/* Warm pool */
	int pool_size;		/* started containers kept ready per engine */
	int pool_size_nobin;
	double pool_refill_per_s;
	int pool_create_parallel;
	int pool_wait_ms;	/* how long a request waits for a container */
	char *pool_socket;
	int idle_max_age_s;
	int reap_interval_s;
	int reap_margin_ms;
	int engine_ping_interval_ms;
};

/* Fill every setting with its default (no file read). */
int config_defaults(struct config *c);

/*
 * Read path over the defaults already in c. Returns 0, or -1 with a message
 * "file:line: what is wrong" in err.
 */
int config_load(struct config *c, const char *path, char *err, size_t errlen);

/* Apply one "key=value" (from the command line). Same errors as config_load. */
int config_set(struct config *c, const char *keyvalue, char *err, size_t errlen);

/* Resolve derived defaults (workers = cores x 2, node_id = hostname...). */
int config_finish(struct config *c, char *err, size_t errlen);

/* Forget every engine (engine = settings add to the list): before giving a new list. */
void config_clear_engines(struct config *c);

void config_free(struct config *c);

/* Parse "16m", "64k", "1g", "1234" into bytes. Returns 0 or -1. */
int parse_size(const char *s, size_t *out);

#endif
