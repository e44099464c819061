/*
 * docker.h: a small client for the Docker Engine HTTP API over libcurl
 * (unix socket, or tcp:// with TLS client certificates). Blocking calls,
 * one CURL handle per thread; the API version comes from /_ping.
 */
#ifndef CMDARENA_DOCKER_H
#define CMDARENA_DOCKER_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <curl/curl.h>

#include "config/config.h"
#include "lib/strbuf.h"

#define DOCKER_ID_MAX 64

struct engine {
	int index;
	char *url;		/* as configured */
	char *socket_path;	/* unix engines */
	char *base;		/* http://docker or https://host:port */
	char *tls_cert;
	char *tls_key;
	char *tls_ca;
	char api_version[16];	/* "1.41"; empty until pinged */
};

struct docker_error {
	long status;		/* HTTP status, 0 when the engine could not be reached */
	char message[256];
};

int engine_init(struct engine *e, const struct engine_conf *ec, int index);
void engine_free(struct engine *e);

/* Point h at the engine (socket or TLS) for a request to path (already versioned or not). */
void docker_setup_handle(CURL *h, const struct engine *e);

/*
 * One request. body may be NULL. On success returns 0 with r filled (any HTTP
 * status); -1 when the engine could not be reached or timed out (err says how).
 */
int docker_request(CURL *h, const struct engine *e, const char *method, const char *path,
    const char *body, long timeout_ms, long *status, struct strbuf *out, struct docker_error *err);

/* /_ping: 0 when the engine answers; fills e->api_version from Api-Version. */
int docker_ping(CURL *h, struct engine *e, long timeout_ms, struct docker_error *err);

int docker_create(CURL *h, const struct engine *e, const char *spec_json, char id[DOCKER_ID_MAX + 1],
    long timeout_ms, struct docker_error *err);
int docker_start(CURL *h, const struct engine *e, const char *id, long timeout_ms, struct docker_error *err);
/* Force-remove (kills it first); a container already gone counts as removed. */
int docker_remove(CURL *h, const struct engine *e, const char *id, long timeout_ms, struct docker_error *err);

struct container_info {
	char id[DOCKER_ID_MAX + 1];
	time_t created;
	char node[128];		/* label cmdarena.node */
	long keeper;		/* label cmdarena.keeper: pid of the process that made it, or 0 */
	bool running;
};

/* Every container (running or not) with label `label`. *out is malloc'd. */
int docker_list(CURL *h, const struct engine *e, const char *label, struct container_info **out, size_t *n,
    long timeout_ms, struct docker_error *err);

#endif
