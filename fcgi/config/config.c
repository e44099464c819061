/*
 * config.c: read cmdarena.conf (see config.h). A table maps every key to its
 * field and type, so a setting is declared once and the parser, the error
 * messages and the defaults all follow from it.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "lib/client_addr.h"
#include "lib/sha256.h"

enum conf_type { T_STR, T_PATH, T_INT, T_SIZE, T_DOUBLE, T_BOOL, T_MODE, T_ENGINE };

struct conf_key {
	const char *name;
	enum conf_type type;
	size_t offset;
	const char *def;	/* default, as written in the file */
	long min, max;		/* for T_INT */
};

#define F(field) offsetof(struct config, field)

static const struct conf_key keys[] = {
	{ "socket", T_PATH, F(socket), "var/run/fcgi.sock", 0, 0 },
	{ "socket_mode", T_MODE, F(socket_mode), "0666", 0, 0 },
	{ "workers", T_INT, F(workers), "0", 0, 256 },
	{ "worker_threads", T_INT, F(worker_threads), "64", 1, 1024 },
	{ "backlog", T_INT, F(backlog), "256", 1, 65535 },
	{ "log_level", T_STR, F(log_level), "info", 0, 0 },
	{ "log_syslog", T_BOOL, F(log_syslog), "no", 0, 0 },
	{ "challenges", T_PATH, F(challenges), "challenges", 0, 0 },
	{ "image", T_STR, F(image), "cmdarena-sandbox:latest", 0, 0 },
	{ "image_nobin", T_STR, F(image_nobin), "", 0, 0 },
	{ "engine", T_ENGINE, 0, NULL, 0, 0 },
	{ "node_id", T_STR, F(node_id), "", 0, 0 },
	{ "redis", T_STR, F(redis), "127.0.0.1:6379", 0, 0 },
	{ "redis_timeout_ms", T_INT, F(redis_timeout_ms), "250", 1, 60000 },
	{ "verdict_ttl_s", T_INT, F(verdict_ttl_s), "2592000", 1, INT_MAX },
	{ "transient_ttl_s", T_INT, F(transient_ttl_s), "120", 0, 3600 },
	{ "cache_salt", T_STR, F(cache_salt), "", 0, 0 },
	{ "solutions_redis", T_STR, F(solutions_redis), "", 0, 0 },
	{ "cmd_max", T_SIZE, F(cmd_max), "1024", 1, 0 },
	{ "query_max", T_SIZE, F(query_max), "8192", 64, 0 },
	{ "trusted_proxies", T_STR, F(trusted_proxies), "", 0, 0 },
	{ "rate_limit_count", T_INT, F(rate_limit_count), "10", 0, 1000000 },
	{ "rate_limit_window_s", T_INT, F(rate_limit_window_s), "10", 1, 86400 },
	{ "rate_limit_burst", T_INT, F(rate_limit_burst), "10", 1, 1000000 },
	{ "limits_exempt", T_STR, F(limits_exempt), "", 0, 0 },
	{ "client_executions_max", T_INT, F(client_executions_max), "2", 0, 100000 },
	{ "client_waits_max", T_INT, F(client_waits_max), "8", 0, 100000 },
	{ "solutions_ttl_s", T_INT, F(solutions_ttl_s), "60", 0, 86400 },
	{ "solutions_max", T_INT, F(solutions_max), "1000", 20, 1000000 },
	{ "timeout_ms", T_INT, F(timeout_ms), "12000", 100, 600000 },
	{ "script_timeout_ms", T_INT, F(script_timeout_ms), "2000", 100, 600000 },
	{ "hard_deadline_ms", T_INT, F(hard_deadline_ms), "14000", 200, 3600000 },
	{ "output_cap", T_SIZE, F(output_cap), "64k", 1, 0 },
	{ "memory", T_SIZE, F(memory), "64m", 1, 0 },
	{ "pids_limit", T_INT, F(pids_limit), "64", 8, 100000 },
	{ "cpus", T_DOUBLE, F(cpus), "1.0", 0, 0 },
	{ "tmpfs_size", T_SIZE, F(tmpfs_size), "16m", 1, 0 },
	{ "nofile", T_INT, F(nofile), "256", 16, 1048576 },
	{ "fsize", T_SIZE, F(fsize), "16m", 1, 0 },
	{ "sandbox_uid", T_INT, F(sandbox_uid), "1000", 1, 65534 },
	{ "runtime", T_STR, F(runtime), "runc", 0, 0 },
	{ "pool_size", T_INT, F(pool_size), "4", 0, 1000 },
	{ "pool_size_nobin", T_INT, F(pool_size_nobin), "1", 0, 1000 },
	{ "pool_refill_per_s", T_DOUBLE, F(pool_refill_per_s), "20", 0, 0 },
	{ "pool_create_parallel", T_INT, F(pool_create_parallel), "2", 1, 64 },
	{ "pool_wait_ms", T_INT, F(pool_wait_ms), "5000", 1, 600000 },
	{ "pool_socket", T_PATH, F(pool_socket), "var/run/pool.sock", 0, 0 },
	{ "idle_max_age_s", T_INT, F(idle_max_age_s), "600", 10, 86400 },
	{ "reap_interval_s", T_INT, F(reap_interval_s), "5", 1, 3600 },
	{ "reap_margin_ms", T_INT, F(reap_margin_ms), "10000", 0, 3600000 },
	{ "engine_ping_interval_ms", T_INT, F(engine_ping_interval_ms), "1000", 50, 600000 },
};

#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

static char *xstrdup(const char *s)
{
	return strdup(s ? s : "");
}

int parse_size(const char *s, size_t *out)
{
	char *end;
	unsigned long long v, mul = 1;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	switch (tolower((unsigned char)*end)) {
	case '\0': break;
	case 'k': mul = 1024ULL; end++; break;
	case 'm': mul = 1024ULL * 1024; end++; break;
	case 'g': mul = 1024ULL * 1024 * 1024; end++; break;
	default: return -1;
	}
	if (*end == 'b' || *end == 'B')
		end++;
	if (*end != '\0' || v > (unsigned long long)SIZE_MAX / mul)
		return -1;
	*out = (size_t)(v * mul);
	return 0;
}

/* Where a relative path in the file points: beside the file. */
static char *resolve_path(const char *base_file, const char *value)
{
	const char *slash;
	char *p;
	size_t dirlen;

	if (value[0] == '/' || value[0] == '\0' || base_file == NULL)
		return strdup(value);
	slash = strrchr(base_file, '/');
	if (slash == NULL)
		return strdup(value);
	dirlen = (size_t)(slash - base_file);
	p = malloc(dirlen + 1 + strlen(value) + 1);
	if (p == NULL)
		return NULL;
	memcpy(p, base_file, dirlen);
	p[dirlen] = '/';
	strcpy(p + dirlen + 1, value);
	return p;
}

static void engine_conf_free(struct engine_conf *e)
{
	free(e->url);
	free(e->tls_cert);
	free(e->tls_key);
	free(e->tls_ca);
	memset(e, 0, sizeof(*e));
}

/* One "cert=", "key=" or "ca=" option of an engine; each names a file beside the config. */
static int set_engine_option(struct engine_conf *e, const char *base_file, const char *tok, char *err, size_t errlen)
{
	char **slot = NULL;

	if (strncmp(tok, "cert=", 5) == 0)
		slot = &e->tls_cert;
	else if (strncmp(tok, "key=", 4) == 0)
		slot = &e->tls_key;
	else if (strncmp(tok, "ca=", 3) == 0)
		slot = &e->tls_ca;
	if (slot == NULL || *slot != NULL) {
		snprintf(err, errlen, "engine option '%.64s' is not cert=, key= or ca= (or is repeated)", tok);
		return -1;
	}
	*slot = resolve_path(base_file, strchr(tok, '=') + 1);
	if (*slot == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* Read "unix:///p" or "tcp://h:p cert=/a key=/b ca=/c" (words in copy, cut in place) into e. */
static int parse_engine(struct engine_conf *e, const char *base_file, char *copy, char *err, size_t errlen)
{
	char *tok, *save = NULL;

	tok = strtok_r(copy, " \t", &save);
	if (tok == NULL || (strncmp(tok, "unix://", 7) != 0 && strncmp(tok, "tcp://", 6) != 0)) {
		snprintf(err, errlen, "engine must start with unix:// or tcp://");
		return -1;
	}
	e->url = strdup(tok);
	if (e->url == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	while ((tok = strtok_r(NULL, " \t", &save)) != NULL)
		if (set_engine_option(e, base_file, tok, err, errlen) < 0)
			return -1;
	if (strncmp(e->url, "unix://", 7) == 0 && (e->tls_cert || e->tls_key || e->tls_ca)) {
		snprintf(err, errlen, "TLS options only apply to tcp:// engines");
		return -1;
	}
	return 0;
}

/* Add one engine (the key may be given several times). */
static int set_engine(struct config *c, const char *base_file, const char *value, char *err, size_t errlen)
{
	struct engine_conf *e;
	char *copy;
	int rc;

	if (c->n_engines >= CONFIG_MAX_ENGINES) {
		snprintf(err, errlen, "at most %d engines", CONFIG_MAX_ENGINES);
		return -1;
	}
	copy = strdup(value);
	if (copy == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	e = &c->engines[c->n_engines];
	memset(e, 0, sizeof(*e));
	rc = parse_engine(e, base_file, copy, err, errlen);
	if (rc == 0)
		c->n_engines++;
	else
		engine_conf_free(e);
	free(copy);
	return rc;
}

static int set_string(const struct conf_key *k, char **field, const char *base_file, const char *value,
    char *err, size_t errlen)
{
	char *v = k->type == T_PATH ? resolve_path(base_file, value) : strdup(value);

	if (v == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	free(*field);
	*field = v;
	return 0;
}

static int set_int(const struct conf_key *k, int *field, const char *value, char *err, size_t errlen)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(value, &end, 10);
	if (errno || end == value || *end || v < k->min || v > k->max) {
		snprintf(err, errlen, "%s must be an integer from %ld to %ld, not '%.64s'", k->name, k->min, k->max, value);
		return -1;
	}
	*field = (int)v;
	return 0;
}

static int set_size(const struct conf_key *k, size_t *field, const char *value, char *err, size_t errlen)
{
	if (parse_size(value, field) < 0 || *field < (size_t)k->min) {
		snprintf(err, errlen, "%s must be a size like 64k or 16m, not '%.64s'", k->name, value);
		return -1;
	}
	return 0;
}

static int set_double(const struct conf_key *k, double *field, const char *value, char *err, size_t errlen)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(value, &end);
	if (errno || end == value || *end || !(v >= 0)) {
		snprintf(err, errlen, "%s must be a non-negative number, not '%.64s'", k->name, value);
		return -1;
	}
	*field = v;
	return 0;
}

static int set_bool(const struct conf_key *k, bool *field, const char *value, char *err, size_t errlen)
{
	if (!strcmp(value, "yes") || !strcmp(value, "true") || !strcmp(value, "1") || !strcmp(value, "on"))
		*field = true;
	else if (!strcmp(value, "no") || !strcmp(value, "false") || !strcmp(value, "0") || !strcmp(value, "off"))
		*field = false;
	else {
		snprintf(err, errlen, "%s must be yes or no, not '%.64s'", k->name, value);
		return -1;
	}
	return 0;
}

static int set_mode(const struct conf_key *k, unsigned *field, const char *value, char *err, size_t errlen)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(value, &end, 8);
	if (errno || end == value || *end || v > 07777) {
		snprintf(err, errlen, "%s must be an octal mode like 0660, not '%.64s'", k->name, value);
		return -1;
	}
	*field = (unsigned)v;
	return 0;
}

/* Parse value as key k's type into its field of c. */
static int set_key(struct config *c, const char *base_file, const struct conf_key *k,
    const char *value, char *err, size_t errlen)
{
	void *field = (char *)c + k->offset;

	switch (k->type) {
	case T_STR:
	case T_PATH:
		return set_string(k, field, base_file, value, err, errlen);
	case T_INT:
		return set_int(k, field, value, err, errlen);
	case T_SIZE:
		return set_size(k, field, value, err, errlen);
	case T_DOUBLE:
		return set_double(k, field, value, err, errlen);
	case T_BOOL:
		return set_bool(k, field, value, err, errlen);
	case T_MODE:
		return set_mode(k, field, value, err, errlen);
	case T_ENGINE:
		return set_engine(c, base_file, value, err, errlen);
	}
	snprintf(err, errlen, "%s: unknown setting type", k->name);
	return -1;
}

static const struct conf_key *find_key(const char *name, size_t len)
{
	for (size_t i = 0; i < N_KEYS; i++)
		if (strlen(keys[i].name) == len && strncmp(keys[i].name, name, len) == 0)
			return &keys[i];
	return NULL;
}

int config_defaults(struct config *c)
{
	char err[256];

	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < N_KEYS; i++)
		if (keys[i].def && set_key(c, NULL, &keys[i], keys[i].def, err, sizeof(err)) < 0)
			return -1;
	return 0;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		*--e = '\0';
	return s;
}

/* One "key = value" line; base_file is NULL for command-line settings. */
static int apply_line(struct config *c, const char *base_file, char *line, char *err, size_t errlen)
{
	char *eq, *key, *value, *hash;
	const struct conf_key *k;

	/* A '#' starts a comment at the start of a line or after a blank. */
	for (hash = line; (hash = strchr(hash, '#')) != NULL; hash++)
		if (hash == line || hash[-1] == ' ' || hash[-1] == '\t') {
			*hash = '\0';
			break;
		}
	key = trim(line);
	if (*key == '\0')
		return 0;
	eq = strchr(key, '=');
	if (eq == NULL) {
		snprintf(err, errlen, "expected 'key = value', got '%.64s'", key);
		return -1;
	}
	*eq = '\0';
	value = trim(eq + 1);
	key = trim(key);
	k = find_key(key, strlen(key));
	if (k == NULL) {
		snprintf(err, errlen, "unknown setting '%.64s'", key);
		return -1;
	}
	return set_key(c, base_file, k, value, err, errlen);
}

int config_load(struct config *c, const char *path, char *err, size_t errlen)
{
	char line[4096], msg[512];
	unsigned lineno = 0;
	FILE *f;
	int rc = 0;

	f = fopen(path, "r");
	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	free(c->path);
	c->path = strdup(path);
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			snprintf(err, errlen, "%s:%u: line too long", path, lineno);
			rc = -1;
			break;
		}
		if (apply_line(c, path, line, msg, sizeof(msg)) < 0) {
			snprintf(err, errlen, "%s:%u: %s", path, lineno, msg);
			rc = -1;
			break;
		}
	}
	if (rc == 0 && ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		rc = -1;
	}
	fclose(f);
	return rc;
}

int config_set(struct config *c, const char *keyvalue, char *err, size_t errlen)
{
	char *copy = strdup(keyvalue), msg[512];
	int rc;

	if (copy == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rc = apply_line(c, c->path, copy, msg, sizeof(msg));
	if (rc < 0)
		snprintf(err, errlen, "-o %s: %s", keyvalue, msg);
	free(copy);
	return rc;
}

/* hostname-<hash of the socket path>: two pools on one host never reap each other's containers. */
static char *default_node_id(const char *socket)
{
	char host[200], id[256], hex[65];

	if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "node");
	host[sizeof(host) - 1] = '\0';
	sha256_hex(socket, strlen(socket), hex);
	snprintf(id, sizeof(id), "%s-%.8s", host, hex);
	return xstrdup(id);
}

/* An empty string setting takes another's value (or a derived one). */
static void default_string(char **field, const char *value)
{
	if ((*field)[0] == '\0') {
		free(*field);
		*field = xstrdup(value);
	}
}

/* The settings whose default depends on the machine or on other settings. */
static int derive_defaults(struct config *c, char *err, size_t errlen)
{
	if (c->workers == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		c->workers = (int)(n > 0 ? n * 2 : 2);
	}
	if (c->n_engines == 0 && set_engine(c, NULL, "unix:///var/run/docker.sock", err, errlen) < 0)
		return -1;
	if (c->node_id[0] == '\0') {
		free(c->node_id);
		c->node_id = default_node_id(c->socket);
	}
	default_string(&c->solutions_redis, c->redis);
	default_string(&c->image_nobin, c->image);
	return 0;
}

/* An address list setting must parse now, not in a worker later. */
static int check_address_list(const char *name, const char *value, char *err, size_t errlen)
{
	struct proxy_list pl;
	char why[160];

	if (proxy_list_parse(value, &pl, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s: %s", name, why);
		return -1;
	}
	proxy_list_free(&pl);
	return 0;
}

/* The checks that involve more than one key, or more than a key's type. */
static int check_settings(const struct config *c, char *err, size_t errlen)
{
	/* The runner's whole run (scripts included) must end well before the worker gives up. */
	if (c->hard_deadline_ms < c->timeout_ms + 2000) {
		snprintf(err, errlen, "hard_deadline_ms (%d) must be at least timeout_ms + 2000 (%d)",
		    c->hard_deadline_ms, c->timeout_ms + 2000);
		return -1;
	}
	if (check_address_list("trusted_proxies", c->trusted_proxies, err, errlen) < 0 ||
	    check_address_list("limits_exempt", c->limits_exempt, err, errlen) < 0)
		return -1;
	/* The same salt goes into nginx's cache key (conf/nginx-site.conf): keep it a plain word. */
	if (strlen(c->cache_salt) > 64 || strspn(c->cache_salt,
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") != strlen(c->cache_salt)) {
		snprintf(err, errlen, "cache_salt may hold at most 64 of A-Z a-z 0-9 _ . -");
		return -1;
	}
	if (strcmp(c->runtime, "runc") != 0 && strcmp(c->runtime, "crun") != 0) {
		snprintf(err, errlen, "runtime must be runc or crun, not '%.64s'", c->runtime);
		return -1;
	}
	if (c->memory < 8 * 1024 * 1024) {
		snprintf(err, errlen, "memory must be at least 8m");
		return -1;
	}
	return 0;
}

int config_finish(struct config *c, char *err, size_t errlen)
{
	if (derive_defaults(c, err, errlen) < 0)
		return -1;
	if (c->node_id == NULL || c->image_nobin == NULL || c->solutions_redis == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return check_settings(c, err, errlen);
}

void config_clear_engines(struct config *c)
{
	for (size_t i = 0; i < c->n_engines; i++)
		engine_conf_free(&c->engines[i]);
	c->n_engines = 0;
}

void config_free(struct config *c)
{
	for (size_t i = 0; i < N_KEYS; i++)
		if (keys[i].type == T_STR || keys[i].type == T_PATH) {
			char **p = (char **)((char *)c + keys[i].offset);

			free(*p);
			*p = NULL;
		}
	config_clear_engines(c);
	free(c->path);
	c->path = NULL;
}
