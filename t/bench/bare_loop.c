/*
 * bare_loop.c: cmdarena-bare-loop, the benchmark's baseline. It runs
 * commands the way a service without a pool would: for each one, plain
 * Docker Engine API calls create, start, wait, logs, remove (through the
 * same libcurl client as the pool), from N threads at once, for D seconds.
 *
 *   cmdarena-bare-loop -c cmdarena.conf [-o KEY=VALUE]... -n THREADS -d SECONDS -p PREFIX -N NODE
 *
 * The container gets the service's spec (every limit of sandbox.c, same
 * image), except that bash runs the command directly (no runner, no stdin)
 * and the json-file log driver keeps the output for /logs. Thread t's i-th
 * command is `echo PREFIX-t-i`; its output is checked.
 *
 * Output, one line per execution: "ok <microseconds>" or "err <what failed>",
 * then "done <executions> <errors> <seconds>". Exit 0 unless it could not start.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "config/config.h"
#include "engine/docker.h"
#include "engine/sandbox.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/strbuf.h"

#define CALL_MS 30000L

struct bench {
	struct engine eng;
	json_object *spec;	/* the template; Cmd is set per execution */
	const char *prefix;
	double end;		/* no execution starts past this (monotonic seconds) */
	pthread_mutex_t mu;	/* serialises output lines and the counters */
	unsigned long done, errors;
	double last_end;
};

struct thread_arg {
	struct bench *b;
	int index;
};

static double now_s(void)
{
	return (double)clock_us() / 1e6;
}

/* The service's spec, turned into a plain run of `bash -O globstar -c CMD`. */
static json_object *bare_spec(const struct config *cfg, const char *node)
{
	char *text = sandbox_container_spec(cfg, false);
	json_object *o = text ? json_tokener_parse(text) : NULL, *hc, *labels, *ep, *log;

	free(text);
	if (o == NULL || !json_object_object_get_ex(o, "HostConfig", &hc) ||
	    !json_object_object_get_ex(o, "Labels", &labels)) {
		json_object_put(o);
		return NULL;
	}
	ep = json_object_new_array();
	json_object_array_add(ep, json_object_new_string("/bin/bash"));
	json_object_array_add(ep, json_object_new_string("-O"));
	json_object_array_add(ep, json_object_new_string("globstar"));
	json_object_array_add(ep, json_object_new_string("-c"));
	json_object_object_add(o, "Entrypoint", ep);
	json_object_object_add(o, "AttachStdin", json_object_new_boolean(0));
	json_object_object_add(o, "OpenStdin", json_object_new_boolean(0));
	json_object_object_add(o, "StdinOnce", json_object_new_boolean(0));
	json_object_object_add(labels, "cmdarena.node", json_object_new_string(node));
	json_object_object_add(labels, "cmdarena.variant", json_object_new_string("bench-bare"));
	/* /logs needs a log driver that keeps the output; we remove the container ourselves after it. */
	log = json_object_new_object();
	json_object_object_add(log, "Type", json_object_new_string("json-file"));
	json_object_object_add(hc, "LogConfig", log);
	json_object_object_add(hc, "AutoRemove", json_object_new_boolean(0));
	return o;
}

static void report(struct bench *b, const char *what, double seconds)
{
	pthread_mutex_lock(&b->mu);
	if (what) {
		b->errors++;
		printf("err %s\n", what);
	} else {
		b->done++;
		printf("ok %.0f\n", seconds * 1e6);
	}
	b->last_end = now_s();
	pthread_mutex_unlock(&b->mu);
}

/* One command, start to finish. Returns NULL or what failed (in err->message). */
static const char *run_one(CURL *h, const struct engine *eng, json_object *spec_tpl, const char *cmd,
    struct docker_error *err)
{
	char id[DOCKER_ID_MAX + 1], path[160];
	struct strbuf out = STRBUF_INIT;
	const char *spec, *failed = NULL;
	json_object *cmdv = json_object_new_array();
	long status = 0;
	bool created = false;

	/* Only this thread touches its copy of the template. */
	json_object_array_add(cmdv, json_object_new_string(cmd));
	json_object_object_add(spec_tpl, "Cmd", cmdv);
	spec = json_object_to_json_string_ext(spec_tpl, JSON_C_TO_STRING_PLAIN);
	if (docker_create(h, eng, spec, id, CALL_MS, err) < 0) {
		failed = "create";
		goto out;
	}
	created = true;
	if (docker_start(h, eng, id, CALL_MS, err) < 0) {
		failed = "start";
		goto out;
	}
	snprintf(path, sizeof(path), "/containers/%s/wait", id);
	if (docker_request(h, eng, "POST", path, NULL, CALL_MS, &status, &out, err) < 0 || status != 200) {
		failed = "wait";
		goto out;
	}
	sb_reset(&out);
	snprintf(path, sizeof(path), "/containers/%s/logs?stdout=1&stderr=1", id);
	if (docker_request(h, eng, "GET", path, NULL, CALL_MS, &status, &out, err) < 0 || status != 200) {
		failed = "logs";
		goto out;
	}
	/* The output (inside 8-byte stream frames) must carry what echo printed. */
	if (out.buf == NULL || memmem(out.buf, out.len, cmd + 5, strlen(cmd + 5)) == NULL) {
		snprintf(err->message, sizeof(err->message), "the output lacks '%s'", cmd + 5);
		failed = "output";
	}
out:
	if (created) {
		struct docker_error e2;

		if (docker_remove(h, eng, id, CALL_MS, &e2) < 0 && failed == NULL) {
			*err = e2;
			failed = "remove";
		}
	}
	if (failed && status && err->message[0] == '\0')
		snprintf(err->message, sizeof(err->message), "status %ld", status);
	sb_free(&out);
	return failed;
}

static void *loop(void *p)
{
	struct thread_arg *ta = p;
	struct bench *b = ta->b;
	CURL *h = curl_easy_init();
	json_object *own = NULL;
	char cmd[160], what[400];

	/* A private copy of the template: json-c objects are not shared between threads. */
	if (h == NULL || json_object_deep_copy(b->spec, &own, NULL) < 0) {
		report(b, "setup out of memory", 0);
		goto out;
	}
	for (unsigned long i = 0; now_s() < b->end; i++) {
		struct docker_error err = { 0, "" };
		double t0 = now_s();
		const char *failed;

		snprintf(cmd, sizeof(cmd), "echo %s-%d-%lu", b->prefix, ta->index, i);
		failed = run_one(h, &b->eng, own, cmd, &err);
		if (failed) {
			snprintf(what, sizeof(what), "%s: %s", failed, err.message);
			report(b, what, 0);
		} else {
			report(b, NULL, now_s() - t0);
		}
	}
out:
	json_object_put(own);
	if (h)
		curl_easy_cleanup(h);
	return NULL;
}

static int usage(void)
{
	fputs("usage: cmdarena-bare-loop -c CONF [-o KEY=VALUE]... -n THREADS -d SECONDS -p PREFIX -N NODE\n", stderr);
	return 2;
}

int main(int argc, char **argv)
{
	struct config cfg;
	struct bench b;
	struct docker_error derr = { 0, "" };
	const char *conf = NULL, *node = "bench-bare";
	pthread_t threads[64];
	struct thread_arg args[64];
	char err[512];
	int opt, n = 1, started = 0, rc = 1;
	double seconds = 5, t0;
	CURL *h;

	memset(&b, 0, sizeof(b));
	b.prefix = "bare";
	log_init("bare-loop", LOG_WARN);
	if (config_defaults(&cfg) < 0)
		return 1;
	while ((opt = getopt(argc, argv, "c:o:n:d:p:N:")) != -1) {
		switch (opt) {
		case 'c':
			conf = optarg;
			if (config_load(&cfg, conf, err, sizeof(err)) < 0) {
				fprintf(stderr, "cmdarena-bare-loop: %s\n", err);
				goto out;
			}
			break;
		case 'o':
			if (config_set(&cfg, optarg, err, sizeof(err)) < 0) {
				fprintf(stderr, "cmdarena-bare-loop: %s\n", err);
				goto out;
			}
			break;
		case 'n': n = atoi(optarg); break;
		case 'd': seconds = atof(optarg); break;
		case 'p': b.prefix = optarg; break;
		case 'N': node = optarg; break;
		default:
			rc = usage();
			goto out;
		}
	}
	if (optind != argc || n < 1 || n > 64 || !(seconds > 0)) {
		rc = usage();
		goto out;
	}
	if (config_finish(&cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "cmdarena-bare-loop: %s\n", err);
		goto out;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	h = curl_easy_init();
	if (h == NULL || engine_init(&b.eng, &cfg.engines[0], 0) < 0 ||
	    docker_ping(h, &b.eng, 5000L, &derr) < 0) {
		fprintf(stderr, "cmdarena-bare-loop: the engine does not answer: %s\n", derr.message);
		if (h)
			curl_easy_cleanup(h);
		goto out_curl;
	}
	curl_easy_cleanup(h);
	b.spec = bare_spec(&cfg, node);
	if (b.spec == NULL) {
		fprintf(stderr, "cmdarena-bare-loop: cannot build the container spec\n");
		goto out_curl;
	}
	pthread_mutex_init(&b.mu, NULL);
	t0 = now_s();
	b.end = t0 + seconds;
	for (int i = 0; i < n; i++) {
		args[i] = (struct thread_arg){ &b, i };
		if (pthread_create(&threads[i], NULL, loop, &args[i]) != 0) {
			fprintf(stderr, "cmdarena-bare-loop: pthread_create: %s\n", strerror(errno));
			break;
		}
		started++;
	}
	for (int i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	printf("done %lu %lu %.3f\n", b.done, b.errors, (b.last_end > t0 ? b.last_end : now_s()) - t0);
	rc = started == n ? 0 : 1;
	pthread_mutex_destroy(&b.mu);
	json_object_put(b.spec);
out_curl:
	engine_free(&b.eng);
	curl_global_cleanup();
out:
	config_free(&cfg);
	return rc;
}
