/*
 * worker.c: one FastCGI worker process: accept a request, validate it,
 * answer from Redis or run the command in a pooled container, log one line.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "attach.h"
#include "client_addr.h"
#include "log.h"
#include "metrics.h"
#include "pool_client.h"
#include "query.h"
#include "ratelimit.h"
#include "reply.h"
#include "sandbox.h"
#include "solutions.h"
#include "strbuf.h"
#include "verdict_cache.h"
#include "worker.h"

/* What one request did, for the log line and the metrics. */
struct request_log {
	char id[40];
	char client[CLIENT_ADDR_MAX];
	enum endpoint ep;
	const char *slug;
	int ver;
	enum cache_layer layer;
	enum outcome outcome;
	int status;
	int engine;
	const char *code;
	long long start_us;
};

struct worker {
	const struct config *cfg;
	const struct catalogue *cat;
	struct engine *engines;
	CURL *curl;		/* for /_ping */
	struct verdict_cache vc;
	struct pool_client pool;
	struct proxy_list trusted;
	int index;
};

static volatile sig_atomic_t stop_requested;

static void on_term(int sig)
{
	(void)sig;
	stop_requested = 1;
	FCGX_ShutdownPending();
}

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static enum outcome outcome_for_status(int status)
{
	switch (status) {
	case 400: return OUT_BAD_REQUEST;
	case 404: return OUT_NOT_FOUND;
	case 405: return OUT_METHOD;
	case 409: return OUT_STALE;
	case 414: return OUT_TOO_LONG;
	case 429: return OUT_RATE_LIMITED;
	case 503: return OUT_UNAVAILABLE;
	case 504: return OUT_TIMEOUT;
	default: return OUT_INTERNAL;
	}
}

static void fail(FCGX_Request *r, struct request_log *rl, int status, const char *code, const char *message,
    const char *extra_member, const char *extra_header)
{
	reply_error(r, status, code, message, extra_member, extra_header);
	rl->status = status;
	rl->code = code;
	rl->outcome = outcome_for_status(status);
}

static void fail_query(FCGX_Request *r, struct request_log *rl, const struct query_error *e)
{
	fail(r, rl, e->status, e->code, e->message, NULL, NULL);
}

/* ---- running a command ---- */

struct run_error {
	int status;
	const char *code;
	char message[256];
	const char *header;
};

static int ensure_api_version(struct worker *w, struct engine *e)
{
	struct docker_error err;

	if (e->api_version[0])
		return 0;
	if (docker_ping(w->curl, e, 2000L, &err) < 0) {
		lwarn("%s", err.message);
		return -1;
	}
	return 0;
}

static int run_in_sandbox(struct worker *w, const struct challenge *ch, const char *cmd, size_t len,
    struct verdict *v, struct request_log *rl, struct run_error *re)
{
	char nonce[NONCE_LEN + 1], code[64], msg[256], err[512];
	long long deadline = monotonic_ms() + w->cfg->hard_deadline_ms, started;
	size_t reqlen, verdict_max = w->cfg->output_cap * 6 + 65536;
	struct strbuf line = STRBUF_INIT;
	char *req;
	int rc = -1;

	req = sandbox_runner_request(w->cfg, ch, cmd, len, nonce, &reqlen);
	if (req == NULL) {
		*re = (struct run_error){ 500, "internal", "Out of memory.", NULL };
		return -1;
	}
	/* A pooled container may have died since it was started: one retry with another. */
	for (int attempt = 0; attempt < 2; attempt++) {
		struct pool_grant g;
		enum attach_status st;
		long long left = deadline - monotonic_ms();

		if (left <= 0)
			break;
		if (pool_client_take(&w->pool, ch->no_bin ? 1 : 0, (int)(left < w->cfg->pool_wait_ms ? left : w->cfg->pool_wait_ms),
		    &g, code, sizeof(code), msg, sizeof(msg)) < 0) {
			bool busy = strcmp(code, "sandbox_busy") == 0;

			*re = (struct run_error){ 503, busy ? "sandbox_busy" : strcmp(code, "engine_unavailable") == 0 ?
			    "engine_unavailable" : "sandbox_unavailable", "", busy ? "Retry-After: 1" : "Retry-After: 5" };
			snprintf(re->message, sizeof(re->message), "%s", msg);
			lwarn("req=%s no container: %s: %s", rl->id, code, msg);
			goto out;
		}
		/* The execution histogram starts here: time waiting for a container is not running. */
		started = now_us();
		rl->engine = g.engine;
		if (g.engine < 0 || (size_t)g.engine >= w->cfg->n_engines || ensure_api_version(w, &w->engines[g.engine]) < 0) {
			pool_client_release(&w->pool, &g, true);
			*re = (struct run_error){ 503, "engine_unavailable", "The Docker engine is not answering.", "Retry-After: 5" };
			goto out;
		}
		sb_reset(&line);
		st = attach_exchange(&w->engines[g.engine], g.id, req, reqlen, deadline, verdict_max, &line, err, sizeof(err));
		pool_client_release(&w->pool, &g, st == ATTACH_UNREACHABLE || st == ATTACH_GONE);
		if (st == ATTACH_OK) {
			if (sandbox_parse_verdict(line.buf ? line.buf : "", line.len, nonce, w->cfg->output_cap, v, err, sizeof(err)) < 0) {
				lerr("req=%s container %.12s: %s", rl->id, g.id, err);
				*re = (struct run_error){ 502, "bad_verdict", "The sandbox answered something that is not a verdict.", NULL };
				goto out;
			}
			metrics_observe_execution(now_us() - started);
			rc = 0;
			goto out;
		}
		if (metrics)
			metrics_add(&metrics->engine[g.engine].errors, 1);
		lwarn("req=%s container %.12s: attach %s: %s", rl->id, g.id, attach_status_name(st), err);
		if (st == ATTACH_DEADLINE) {
			*re = (struct run_error){ 504, "deadline_exceeded", "", NULL };
			snprintf(re->message, sizeof(re->message), "The sandbox gave no verdict within %d ms.", w->cfg->hard_deadline_ms);
			goto out;
		}
		if (st != ATTACH_UNREACHABLE && st != ATTACH_GONE) {
			*re = (struct run_error){ 502, "sandbox_error", "The sandbox stopped before giving a verdict.", NULL };
			goto out;
		}
	}
	*re = (struct run_error){ 503, "engine_unavailable", "The Docker engine is not answering.", "Retry-After: 5" };
out:
	free(req);
	sb_free(&line);
	return rc;
}

/* The challenge a valid slug names, or NULL after answering 400 or 404. */
static const struct challenge *find_challenge(struct worker *w, FCGX_Request *r, struct request_log *rl,
    const char *slug, size_t slen)
{
	struct query_error qe;
	const struct challenge *ch;

	if (query_check_slug(slug, slen, &qe) < 0) {
		fail_query(r, rl, &qe);
		return NULL;
	}
	ch = catalogue_find(w->cat, slug);
	if (ch == NULL) {
		fail(r, rl, 404, "unknown_challenge", "There is no challenge with that slug.", NULL, NULL);
		return NULL;
	}
	rl->slug = ch->slug;
	return ch;
}

/* ---- /r ---- */

static const char *const r_params[] = { "slug", "ver", "cmd", NULL };

static int cache_ttl(const struct worker *w, const struct challenge *ch, bool correct)
{
	if ((correct && !ch->cache_correct) || (!correct && !ch->cache_incorrect))
		return 0;
	return w->cfg->verdict_ttl_s;
}

static void answer_verdict(FCGX_Request *r, struct request_log *rl, const char *body, size_t len, int ttl)
{
	/* The stored reply starts with {"slug":..,"ver":..,"correct":true|false */
	rl->outcome = strstr(body, "\"correct\":true") ? OUT_CORRECT : OUT_INCORRECT;
	rl->status = 200;
	reply_json(r, body, len, ttl, layer_name(rl->layer));
}

/* Execute, store and answer. Returns the reply body stored (or NULL on error, already answered). */
static void execute_and_answer(struct worker *w, FCGX_Request *r, struct request_log *rl, const struct challenge *ch,
    const char *cmd, size_t len, const char *key, bool store)
{
	struct verdict v;
	struct run_error re;
	char *body;
	size_t blen;
	int ttl;

	if (run_in_sandbox(w, ch, cmd, len, &v, rl, &re) < 0) {
		fail(r, rl, re.status, re.code, re.message, NULL, re.header);
		return;
	}
	rl->layer = LAYER_EXECUTED;
	body = verdict_reply_json(ch->slug, ch->version, &v, &blen);
	ttl = cache_ttl(w, ch, v.correct);
	/* A verdict that measured the machine is neither kept nor published (issue 11, rule 5). */
	if (v.transient) {
		store = false;
		if (ttl > w->cfg->transient_ttl_s)
			ttl = w->cfg->transient_ttl_s;
	}
	if (v.correct && store)
		solutions_record(&w->vc, ch, cmd, len);
	verdict_free(&v);
	if (body == NULL) {
		fail(r, rl, 500, "internal", "Out of memory.", NULL, NULL);
		return;
	}
	if (store && ttl > 0)
		vcache_set(&w->vc, key, body, blen, ttl);
	answer_verdict(r, rl, body, blen, ttl);
	free(body);
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* The in-flight lock's token: "<pid>-<microseconds>@<node_id>", so that a waiter knows the holder. */
#define LOCK_TOKEN_MAX 192

/* A lock held by a worker of this node that no longer exists (it crashed) is stale. */
static bool holder_died(const struct worker *w, const char *holder)
{
	const char *at = strchr(holder, '@');
	char *end;
	long pid = strtol(holder, &end, 10);

	if (pid <= 0 || *end != '-' || at == NULL || strcmp(at + 1, w->cfg->node_id) != 0)
		return false;
	return kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

static void handle_run(struct worker *w, FCGX_Request *r, struct request_log *rl, const char *method, const char *qs)
{
	struct query q;
	struct query_error qe;
	const struct challenge *ch;
	const char *slug, *cmd, *ver_s;
	size_t slen, clen, vlen;
	char key[256], token[LOCK_TOKEN_MAX], holder[LOCK_TOKEN_MAX];
	char *cached = NULL;
	size_t cached_len;
	long long give_up;
	int ver;

	if (strcmp(method, "GET") != 0) {
		fail(r, rl, 405, "method_not_allowed", "Only GET is allowed here.", NULL, "Allow: GET");
		return;
	}
	if (query_parse(qs, strlen(qs), w->cfg->query_max, r_params, &q, &qe) < 0) {
		fail_query(r, rl, &qe);
		goto out;
	}
	if (query_require(&q, "slug", &qe) < 0 || query_require(&q, "ver", &qe) < 0 || query_require(&q, "cmd", &qe) < 0) {
		fail_query(r, rl, &qe);
		goto out;
	}
	slug = query_get(&q, "slug", &slen);
	ver_s = query_get(&q, "ver", &vlen);
	cmd = query_get(&q, "cmd", &clen);
	if (query_check_slug(slug, slen, &qe) < 0 || query_parse_ver(ver_s, vlen, &ver, &qe) < 0) {
		fail_query(r, rl, &qe);
		goto out;
	}
	if ((ch = find_challenge(w, r, rl, slug, slen)) == NULL)
		goto out;
	rl->ver = ver;
	if (ver != ch->version) {
		char member[32];

		snprintf(member, sizeof(member), "\"ver\":%d", ch->version);
		fail(r, rl, 409, "stale_version", "This challenge has changed: reload it and try again.", member, NULL);
		goto out;
	}
	if (query_check_cmd(cmd, clen, w->cfg->cmd_max, &qe) < 0) {
		fail_query(r, rl, &qe);
		goto out;
	}

	vcache_key(w->cfg, ch->slug, ch->version, cmd, clen, key, sizeof(key));
	switch (vcache_get(&w->vc, key, &cached, &cached_len)) {
	case VC_HIT:
		rl->layer = LAYER_REDIS;
		answer_verdict(r, rl, cached, cached_len, w->cfg->verdict_ttl_s);
		goto out;
	case VC_ERROR:
		/* No cache: no lock either. Answer by executing. */
		execute_and_answer(w, r, rl, ch, cmd, clen, key, false);
		goto out;
	case VC_MISS:
		break;
	}

	/* One execution per distinct command: take the lock or wait for whoever holds it. */
	snprintf(token, sizeof(token), "%ld-%lld@%s", (long)getpid(), now_us(), w->cfg->node_id);
	give_up = monotonic_ms() + w->cfg->hard_deadline_ms + 2000;
	for (;;) {
		enum vc_result lk = vcache_lock(&w->vc, key, token, w->cfg->hard_deadline_ms + 1000);

		if (lk == VC_HIT) {
			int retry_after;

			/*
			 * The previous holder stores its verdict before it unlocks, so it may have
			 * finished between our first look and our lock: look again, or it runs twice.
			 */
			if (vcache_get(&w->vc, key, &cached, &cached_len) == VC_HIT) {
				vcache_unlock(&w->vc, key, token);
				rl->layer = LAYER_INFLIGHT;
				answer_verdict(r, rl, cached, cached_len, w->cfg->verdict_ttl_s);
				goto out;
			}
			/* Only executions count against a client's limit, never cache hits. */
			if (ratelimit_take(&w->vc, rl->client, &retry_after) == 0) {
				char header[48];

				vcache_unlock(&w->vc, key, token);
				snprintf(header, sizeof(header), "Retry-After: %d", retry_after);
				if (metrics)
					metrics_add(&metrics->rate_limited, 1);
				fail(r, rl, 429, "rate_limited", "Too many new commands from your address: wait a little.",
				    NULL, header);
				goto out;
			}
		}
		if (lk == VC_HIT || lk == VC_ERROR) {
			execute_and_answer(w, r, rl, ch, cmd, clen, key, lk == VC_HIT);
			if (lk == VC_HIT)
				vcache_unlock(&w->vc, key, token);
			goto out;
		}
		/* Someone runs it now: poll for the stored verdict while their lock lives. */
		while (monotonic_ms() < give_up) {
			enum vc_result got;

			sleep_ms(10);
			got = vcache_get(&w->vc, key, &cached, &cached_len);
			if (got == VC_HIT) {
				rl->layer = LAYER_INFLIGHT;
				answer_verdict(r, rl, cached, cached_len, w->cfg->verdict_ttl_s);
				goto out;
			}
			if (got == VC_ERROR || vcache_locked(&w->vc, key, holder, sizeof(holder)) != VC_HIT)
				break;	/* the holder gave up (error, crash) or Redis went: try ourselves */
			if (holder_died(w, holder)) {
				/* Its lock would block everyone until it expires: drop it (if still that one). */
				lwarn("req=%s the worker holding this command's lock (%s) died: taking over", rl->id, holder);
				vcache_unlock(&w->vc, key, holder);
				break;
			}
		}
		if (monotonic_ms() >= give_up) {
			fail(r, rl, 504, "deadline_exceeded", "An identical command is still running; try again.", NULL, NULL);
			goto out;
		}
	}
out:
	free(cached);
	query_free(&q);
}

/* ---- /s ---- */

static const char *const s_params[] = { "slug", NULL };

static void handle_solutions(struct worker *w, FCGX_Request *r, struct request_log *rl, const char *method, const char *qs)
{
	struct query q;
	struct query_error qe;
	const struct challenge *ch;
	const char *slug;
	size_t slen, blen;
	char *body = NULL;

	if (strcmp(method, "GET") != 0) {
		fail(r, rl, 405, "method_not_allowed", "Only GET is allowed here.", NULL, "Allow: GET");
		return;
	}
	if (query_parse(qs, strlen(qs), w->cfg->query_max, s_params, &q, &qe) < 0 || query_require(&q, "slug", &qe) < 0) {
		fail_query(r, rl, &qe);
		goto out;
	}
	slug = query_get(&q, "slug", &slen);
	if ((ch = find_challenge(w, r, rl, slug, slen)) == NULL)
		goto out;
	rl->ver = ch->version;
	if (solutions_json(&w->vc, ch, &body, &blen) < 0) {
		fail(r, rl, 503, "solutions_unavailable", "Solutions cannot be read right now.", NULL, "Retry-After: 5");
		goto out;
	}
	rl->layer = LAYER_REDIS;
	rl->status = 200;
	rl->outcome = OUT_SOLUTIONS;
	reply_json(r, body, blen, w->cfg->solutions_ttl_s, "redis");
out:
	free(body);
	query_free(&q);
}

/* ---- /metrics ---- */

static void handle_metrics(struct worker *w, FCGX_Request *r, struct request_log *rl, const char *method)
{
	struct strbuf sb = STRBUF_INIT;

	if (strcmp(method, "GET") != 0) {
		fail(r, rl, 405, "method_not_allowed", "Only GET is allowed here.", NULL, "Allow: GET");
		return;
	}
	if (metrics_render(&sb, w->cfg) < 0) {
		fail(r, rl, 500, "internal", "Metrics are not available.", NULL, NULL);
		sb_free(&sb);
		return;
	}
	reply_text(r, "text/plain; version=0.0.4; charset=utf-8", sb.buf ? sb.buf : "", sb.len);
	rl->status = 200;
	rl->outcome = OUT_METRICS;
	sb_free(&sb);
}

/* ---- the loop ---- */

static void copy_request_id(const char *src, char *dst, size_t len)
{
	size_t i = 0;

	/* nginx's $request_id is 32 hex digits; anything else is not logged. */
	if (src)
		for (; src[i] && i + 1 < len; i++)
			if (!((src[i] >= '0' && src[i] <= '9') || (src[i] >= 'a' && src[i] <= 'f'))) {
				i = 0;
				break;
			}
	if (i == 0)
		snprintf(dst, len, "-");
	else
		dst[i] = '\0', memcpy(dst, src, i);
}

static void handle(struct worker *w, FCGX_Request *r)
{
	const char *method = FCGX_GetParam("REQUEST_METHOD", r->envp);
	const char *script = FCGX_GetParam("SCRIPT_NAME", r->envp);
	const char *qs = FCGX_GetParam("QUERY_STRING", r->envp);
	struct request_log rl;

	memset(&rl, 0, sizeof(rl));
	rl.start_us = now_us();
	rl.engine = -1;
	rl.slug = "-";
	copy_request_id(FCGX_GetParam("REQUEST_ID", r->envp), rl.id, sizeof(rl.id));
	client_address(FCGX_GetParam("REMOTE_ADDR", r->envp), FCGX_GetParam("HTTP_X_FORWARDED_FOR", r->envp),
	    &w->trusted, rl.client);
	if (method == NULL)
		method = "";
	if (qs == NULL)
		qs = "";
	if (script && strcmp(script, "/r") == 0) {
		rl.ep = EP_R;
		handle_run(w, r, &rl, method, qs);
	} else if (script && strcmp(script, "/s") == 0) {
		rl.ep = EP_S;
		handle_solutions(w, r, &rl, method, qs);
	} else if (script && strcmp(script, "/metrics") == 0) {
		rl.ep = EP_METRICS;
		handle_metrics(w, r, &rl, method);
	} else {
		rl.ep = EP_OTHER;
		fail(r, &rl, 404, "not_found", "There is nothing here.", NULL, NULL);
	}
	metrics_count_request(rl.ep, rl.outcome);
	/* Only /r answers are verdicts (/s also reads Redis, but is no verdict). */
	if (rl.ep == EP_R && rl.layer != LAYER_NONE && metrics)
		metrics_add(&metrics->layer[rl.layer], 1);
	linfo("req=%s client=%s ep=%s slug=%s ver=%d layer=%s status=%d outcome=%s code=%s engine=%d dur_ms=%.1f",
	    rl.id, rl.client, rl.ep == EP_R ? "r" : rl.ep == EP_S ? "s" : rl.ep == EP_METRICS ? "metrics" : "other", rl.slug, rl.ver,
	    layer_name(rl.layer), rl.status, outcome_name(rl.outcome), rl.code ? rl.code : "-", rl.engine,
	    (now_us() - rl.start_us) / 1000.0);
}

int worker_main(const struct config *cfg, const struct catalogue *cat, int listen_fd, int index)
{
	struct worker w;
	FCGX_Request req;
	struct sigaction sa;
	char role[32];

	snprintf(role, sizeof(role), "worker%d", index);
	log_set_role(role);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;	/* no SA_RESTART: a blocked accept returns */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	memset(&w, 0, sizeof(w));
	w.cfg = cfg;
	w.cat = cat;
	w.index = index;
	w.curl = curl_easy_init();
	w.engines = calloc(cfg->n_engines, sizeof(*w.engines));
	if (w.curl == NULL || w.engines == NULL) {
		lerr("out of memory");
		return 1;
	}
	for (size_t i = 0; i < cfg->n_engines; i++)
		if (engine_init(&w.engines[i], &cfg->engines[i], (int)i) < 0) {
			lerr("cannot set up engine %s", cfg->engines[i].url);
			return 1;
		}
	vcache_init(&w.vc, cfg);
	pool_client_init(&w.pool, cfg->pool_socket);
	{
		char err[160];

		/* The master checked it already; a failure here is only memory. */
		if (proxy_list_parse(cfg->trusted_proxies, &w.trusted, err, sizeof(err)) < 0) {
			lerr("trusted_proxies: %s", err);
			return 1;
		}
	}
	if (FCGX_Init() != 0 || FCGX_InitRequest(&req, listen_fd, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
		lerr("cannot initialise libfcgi");
		return 1;
	}
	while (!stop_requested) {
		if (FCGX_Accept_r(&req) < 0) {
			if (stop_requested)
				break;
			if (errno == EINTR)
				continue;
			lerr("accept failed: %s", strerror(errno));
			sleep_ms(100);
			continue;
		}
		handle(&w, &req);
		FCGX_Finish_r(&req);
	}
	FCGX_Free(&req, 1);
	vcache_close(&w.vc);
	pool_client_close(&w.pool);
	proxy_list_free(&w.trusted);
	for (size_t i = 0; i < cfg->n_engines; i++)
		engine_free(&w.engines[i]);
	free(w.engines);
	curl_easy_cleanup(w.curl);
	return 0;
}
