/*
 * healthz.c: GET /healthz (see healthz.h). It reads the shared metrics the
 * pool keeper keeps (engine health from its pings, warm and starting
 * containers) and knocks on the pool keeper's socket; it runs nothing.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <json-c/json.h>

#include "lib/clock.h"
#include "worker/healthz.h"
#include "worker/reply.h"

struct health {
	int engines_up;
	long long idle;
	long long creating;
	bool keeper;
	bool redis;
};

static long long read_gauge(const int64_t *g)
{
	return (long long)__atomic_load_n(g, __ATOMIC_RELAXED);
}

/* Longest quiet of a live pool keeper: its loop wakes at least once a second. */
#define KEEPER_SILENCE_MS 5000

/*
 * The pool keeper is alive when its socket accepts a connection (closed at
 * once, which it takes for a worker gone) and its loop ran lately: the master
 * holds the listening socket too, so a connection alone proves nothing.
 */
static bool keeper_answers(const char *path)
{
	struct sockaddr_un sa;
	long long beat = metrics ? read_gauge(&metrics->keeper_beat_ms) : 0;
	int fd;
	bool ok;

	if (beat == 0 || clock_ms() - beat > KEEPER_SILENCE_MS)
		return false;
	if (path == NULL || strlen(path) >= sizeof(sa.sun_path))
		return false;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

static void measure(const struct config *cfg, struct health *h)
{
	memset(h, 0, sizeof(*h));
	h->keeper = keeper_answers(cfg->pool_socket);
	h->redis = metrics && !read_gauge(&metrics->redis_down);
	for (size_t e = 0; metrics && e < cfg->n_engines && e < CONFIG_MAX_ENGINES; e++) {
		if (!read_gauge(&metrics->engine[e].healthy))
			continue;
		h->engines_up++;
		h->idle += read_gauge(&metrics->engine[e].idle);
		h->creating += read_gauge(&metrics->engine[e].creating);
	}
}

/* Why this node cannot run a command now, or NULL when it can. */
static const char *verdict(const struct config *cfg, const struct health *h, const char **message)
{
	if (metrics == NULL) {
		*message = "The pool's shared state is missing.";
		return "internal";
	}
	if (!h->keeper) {
		*message = "The pool keeper does not accept connections.";
		return "pool_unreachable";
	}
	if (h->engines_up == 0) {
		*message = "No Docker engine answers its health check.";
		return "engine_unavailable";
	}
	/* With a warm pool configured, nothing warm and nothing starting means no container to take. */
	if (cfg->pool_size + cfg->pool_size_nobin > 0 && h->idle == 0 && h->creating == 0) {
		*message = "No container is ready or being started.";
		return "pool_empty";
	}
	return NULL;
}

/* The body: {"status", ["code", "error",] "engines_up", ...}, built as JSON, never spliced. */
static json_object *health_body(const struct config *cfg, const struct health *h, const char *code,
    const char *message)
{
	json_object *o = json_object_new_object();

	if (o == NULL)
		return NULL;
	json_object_object_add(o, "status", json_object_new_string(code ? "unavailable" : "ok"));
	if (code) {
		json_object_object_add(o, "code", json_object_new_string(code));
		json_object_object_add(o, "error", json_object_new_string(message));
	}
	json_object_object_add(o, "engines_up", json_object_new_int(h->engines_up));
	json_object_object_add(o, "engines", json_object_new_int64((int64_t)cfg->n_engines));
	json_object_object_add(o, "idle", json_object_new_int64(h->idle));
	json_object_object_add(o, "starting", json_object_new_int64(h->creating));
	json_object_object_add(o, "pool_keeper", json_object_new_boolean(h->keeper));
	json_object_object_add(o, "redis", json_object_new_string(h->redis ? "up" : "down"));
	return o;
}

int healthz_answer(FCGX_Request *r, const struct config *cfg, const char *method, const char **code,
    enum outcome *outcome)
{
	struct health h;
	const char *message = NULL, *text;
	json_object *body;
	size_t len = 0;
	int status;

	*code = NULL;
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		*code = "method_not_allowed";
		*outcome = OUT_METHOD;
		reply_error(r, 405, *code, "Only GET and HEAD are allowed here.", NULL, "Allow: GET, HEAD");
		return 405;
	}
	measure(cfg, &h);
	*code = verdict(cfg, &h, &message);
	status = *code ? 503 : 200;
	*outcome = *code ? OUT_UNAVAILABLE : OUT_METRICS;
	body = health_body(cfg, &h, *code, message);
	text = body ? json_object_to_json_string_length(body, JSON_C_TO_STRING_PLAIN, &len) : NULL;
	FCGX_FPrintF(r->out, "Status: %d %s\r\n"
	    "Content-Type: application/json; charset=utf-8\r\n"
	    "Cache-Control: no-store\r\n"
	    "X-Accel-Expires: 0\r\n\r\n", status, status_text(status));
	if (text) {
		FCGX_PutStr(text, (int)len, r->out);
		FCGX_PutS("\n", r->out);
	}
	json_object_put(body);
	return status;
}
