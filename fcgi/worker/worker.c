/*
 * worker.c: one FastCGI worker process: accept a request, validate it,
 * answer from Redis or run the command in a pooled container, log one line.
 *
 * Design: a worker process serves worker_threads requests at once, one thread
 * per request in flight, each blocking on FCGX_Accept_r in turn (a mutex
 * serialises the accept) and owning everything a request touches: its
 * FCGX_Request, libcurl handle and engine clients, hiredis connections, and
 * its connection to the pool keeper. Nothing is shared between threads but
 * the read-only config and catalogue, and what is already shared between
 * processes (metrics, limits: atomics and robust mutexes in shared memory).
 *
 * Why threads rather than an event loop: every step of a request is a
 * blocking call of a library made for it (hiredis, libcurl's easy interface,
 * the attach exchange, the pool protocol), each with its own deadline; with a
 * thread per request that code stays as it is, and a request that waits (for
 * a container, an identical run's verdict or a lock) costs a mostly untouched
 * stack (worker_threads x 256 KiB reserved, a few KiB resident), a socket or
 * two and its buffers: kilobytes, not a process. 4 processes x 64 threads (the
 * defaults on 2 cores) hold 256 requests in flight; CPU is spent in the
 * containers, not here. The processes stay: a crash takes 1/workers of the
 * requests, and the master replaces the process as before.
 *
 * Stopping: SIGTERM reaches the main thread (the others block it), which
 * interrupts the thread waiting in accept (SIGUSR1, no restart) until every
 * thread has finished its request and returned.
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include <fcgiapp.h>

#include <json-c/json.h>

#include "engine/attach.h"
#include "engine/sandbox.h"
#include "lib/client_addr.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/strbuf.h"
#include "pool/client.h"
#include "redis/conn.h"
#include "redis/keys.h"
#include "redis/lock.h"
#include "redis/ratelimit.h"
#include "redis/solutions.h"
#include "redis/verdicts.h"
#include "worker/cmd_hash.h"
#include "worker/healthz.h"
#include "worker/inflight.h"
#include "worker/local_limit.h"
#include "worker/metrics.h"
#include "worker/query.h"
#include "worker/reply.h"
#include "worker/verdict_size.h"
#include "worker/worker.h"

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

/* One per thread: everything one request in flight uses. */
struct worker {
	const struct config *cfg;
	const struct catalogue *cat;
	struct engine *engines;
	CURL *curl;		/* for /_ping */
	struct redis_conn vc;		/* the verdict cache's instance */
	struct redis_conn sol_own;	/* the solutions' instance, when it is another one */
	struct redis_conn *sol;		/* &sol_own, or &vc when solutions live in the cache's Redis */
	struct pool_client pool;
	int index;		/* the process's */
	int thread;
	int exec_max, wait_max;	/* per client in flight: the settings, fitted to the capacity */
	const struct proxy_list *exempt;	/* limits_exempt, parsed once per process */
	FCGX_Request req;
	bool req_ready;		/* FCGX_InitRequest done */
	pthread_t tid;
	bool running;
};

/* The place a request holds in its client's share (inflight.h). */
struct place {
	int index;		/* -1: none */
	enum inflight_kind kind;
};

static volatile sig_atomic_t stop_requested;

static void on_term(int sig)
{
	(void)sig;
	stop_requested = 1;
	FCGX_ShutdownPending();
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

/* extra: NULL or members to add to the error object (taken). */
static void fail(FCGX_Request *r, struct request_log *rl, int status, const char *code, const char *message,
    json_object *extra, const char *extra_header)
{
	reply_error(r, status, code, message, extra, extra_header);
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

/* Each engine's API version, learnt once per process by whichever thread pings it first. */
static pthread_mutex_t api_mu = PTHREAD_MUTEX_INITIALIZER;
static char api_versions[CONFIG_MAX_ENGINES][16];

static int ensure_api_version(struct worker *w, struct engine *e)
{
	struct docker_error err;

	if (e->api_version[0])
		return 0;
	pthread_mutex_lock(&api_mu);
	memcpy(e->api_version, api_versions[e->index], sizeof(e->api_version));
	pthread_mutex_unlock(&api_mu);
	if (e->api_version[0])
		return 0;
	if (docker_ping(w->curl, e, 2000L, &err) < 0) {
		lwarn("%s", err.message);
		return -1;
	}
	pthread_mutex_lock(&api_mu);
	memcpy(api_versions[e->index], e->api_version, sizeof(e->api_version));
	pthread_mutex_unlock(&api_mu);
	return 0;
}

/* What run_in_sandbox sends to a container and reads back, across its attempts. */
struct exchange {
	char nonce[NONCE_LEN + 1];
	char *req;		/* the runner's request */
	size_t reqlen;
	long long deadline;	/* monotonic ms: the hard deadline of the whole run */
	struct strbuf line;	/* the runner's answer */
};

/* A container from the pool within left ms. -1: none, *re set. */
static int take_container(struct worker *w, const struct challenge *ch, long long left, struct pool_grant *g,
    struct request_log *rl, struct run_error *re)
{
	char code[64], msg[256];
	bool busy;

	if (pool_client_take(&w->pool, ch->no_bin ? 1 : 0, (int)(left < w->cfg->pool_wait_ms ? left : w->cfg->pool_wait_ms),
	    g, code, sizeof(code), msg, sizeof(msg)) == 0)
		return 0;
	busy = strcmp(code, "sandbox_busy") == 0;
	*re = (struct run_error){ 503, busy ? "sandbox_busy" : strcmp(code, "engine_unavailable") == 0 ?
	    "engine_unavailable" : "sandbox_unavailable", "", busy ? "Retry-After: 1" : "Retry-After: 5" };
	snprintf(re->message, sizeof(re->message), "%s", msg);
	lwarn("req=%s no container: %s: %s", rl->id, code, msg);
	return -1;
}

/* An attach that gave no verdict. 1: the container was gone, try another; -1: *re set. */
static int attach_failed(struct worker *w, const struct pool_grant *g, enum attach_status st, const char *err,
    struct request_log *rl, struct run_error *re)
{
	if (metrics)
		metrics_add(&metrics->engine[g->engine].errors, 1);
	lwarn("req=%s container %.12s: attach %s: %s", rl->id, g->id, attach_status_name(st), err);
	if (st == ATTACH_DEADLINE) {
		*re = (struct run_error){ 504, "deadline_exceeded", "", NULL };
		snprintf(re->message, sizeof(re->message), "The sandbox gave no verdict within %d ms.", w->cfg->hard_deadline_ms);
		return -1;
	}
	if (st != ATTACH_UNREACHABLE && st != ATTACH_GONE) {
		*re = (struct run_error){ 502, "sandbox_error", "The sandbox stopped before giving a verdict.", NULL };
		return -1;
	}
	return 1;
}

/* One attempt in one pooled container. 0: *v set; 1: the container was gone, try another; -1: *re set. */
static int run_in_container(struct worker *w, const struct challenge *ch, struct exchange *ex, struct verdict *v,
    struct request_log *rl, struct run_error *re)
{
	size_t verdict_max = w->cfg->output_cap * 6 + 65536;
	struct pool_grant g;
	enum attach_status st;
	long long started;
	char err[512];

	if (take_container(w, ch, ex->deadline - clock_ms(), &g, rl, re) < 0)
		return -1;
	/* The execution histogram starts here: time waiting for a container is not running. */
	started = clock_us();
	rl->engine = g.engine;
	if (g.engine < 0 || (size_t)g.engine >= w->cfg->n_engines || ensure_api_version(w, &w->engines[g.engine]) < 0) {
		pool_client_release(&w->pool, &g, true);
		*re = (struct run_error){ 503, "engine_unavailable", "The Docker engine is not answering.", "Retry-After: 5" };
		return -1;
	}
	sb_reset(&ex->line);
	st = attach_exchange(&w->engines[g.engine], g.id, ex->req, ex->reqlen, ex->deadline, verdict_max, &ex->line,
	    err, sizeof(err));
	pool_client_release(&w->pool, &g, st == ATTACH_UNREACHABLE || st == ATTACH_GONE);
	if (st != ATTACH_OK)
		return attach_failed(w, &g, st, err, rl, re);
	if (sandbox_parse_verdict(ex->line.buf ? ex->line.buf : "", ex->line.len, ex->nonce, w->cfg->output_cap, v,
	    err, sizeof(err)) < 0) {
		lerr("req=%s container %.12s: %s", rl->id, g.id, err);
		*re = (struct run_error){ 502, "bad_verdict", "The sandbox answered something that is not a verdict.", NULL };
		return -1;
	}
	metrics_observe_execution(clock_us() - started);
	return 0;
}

static int run_in_sandbox(struct worker *w, const struct challenge *ch, const char *cmd, size_t len,
    struct verdict *v, struct request_log *rl, struct run_error *re)
{
	struct exchange ex = { .deadline = clock_ms() + w->cfg->hard_deadline_ms, .line = STRBUF_INIT };
	int rc = 1;

	ex.req = sandbox_runner_request(w->cfg, ch, cmd, len, ex.nonce, &ex.reqlen);
	if (ex.req == NULL) {
		*re = (struct run_error){ 500, "internal", "Out of memory.", NULL };
		return -1;
	}
	/* A pooled container may have died since it was started: one retry with another. */
	for (int attempt = 0; attempt < 2 && rc == 1 && ex.deadline - clock_ms() > 0; attempt++)
		rc = run_in_container(w, ch, &ex, v, rl, re);
	if (rc == 1) {
		*re = (struct run_error){ 503, "engine_unavailable", "The Docker engine is not answering.", "Retry-After: 5" };
		rc = -1;
	}
	free(ex.req);
	sb_free(&ex.line);
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

/*
 * Is this reply body (ours, from the sandbox or from Redis) a correct verdict? Read as JSON: a
 * substring would also match the command's own output ("correct":true escaped inside "output").
 */
static bool body_correct(const char *body, size_t len)
{
	json_tokener *tok = json_tokener_new();
	json_object *o = tok ? json_tokener_parse_ex(tok, body, (int)len) : NULL, *c;
	bool correct = o != NULL && json_object_object_get_ex(o, "correct", &c) &&
	    json_object_is_type(c, json_type_boolean) && json_object_get_boolean(c);

	json_object_put(o);
	if (tok)
		json_tokener_free(tok);
	return correct;
}

/* correct: the verdict's outcome (known when we made the body; body_correct() for a stored one). */
static void answer_verdict(FCGX_Request *r, struct request_log *rl, const char *body, size_t len, int ttl,
    bool correct)
{
	rl->outcome = correct ? OUT_CORRECT : OUT_INCORRECT;
	rl->status = 200;
	reply_json(r, body, len, ttl, layer_name(rl->layer));
}

static void leave_place(struct place *p)
{
	if (p->index >= 0)
		inflight_leave(inflight, p->index);
	p->index = -1;
	p->kind = 0;
}

/*
 * Hold a place of kind (an execution, or a wait for an identical one) in the client's share.
 * false: the client has too many in flight; the 429 is answered.
 */
static bool admit(struct worker *w, FCGX_Request *r, struct request_log *rl, enum inflight_kind kind, struct place *p)
{
	int max = proxy_list_contains(w->exempt, rl->client) ? 0 : kind == INFLIGHT_EXEC ? w->exec_max : w->wait_max;
	/* No request lives longer than this: a record older is a leftover. */
	long long max_age = 2LL * w->cfg->hard_deadline_ms + w->cfg->pool_wait_ms + 5000;
	int idx;

	if (p->kind == kind)
		return true;
	leave_place(p);
	if (max <= 0)
		return true;
	idx = inflight_enter(inflight, rl->client, kind, max, clock_ms(), max_age);
	if (idx == -1) {
		if (metrics)
			metrics_add(&metrics->inflight_refused[kind == INFLIGHT_EXEC ? 0 : 1], 1);
		fail(r, rl, 429, "rate_limited", kind == INFLIGHT_EXEC ?
		    "Too many of your commands are running at once: wait for their verdicts." :
		    "Too many of your requests are waiting for a verdict: wait for them.", NULL, "Retry-After: 1");
		return false;
	}
	p->index = idx;
	p->kind = kind;
	return true;
}

/* One /r request as it goes through handle_run's steps. */
struct run {
	struct worker *w;
	FCGX_Request *r;
	struct request_log *rl;
	struct query q;
	const struct challenge *ch;
	const char *cmd;		/* in q */
	size_t clen;
	char key[REDIS_KEY_MAX];	/* the verdict's */
	enum redis_lookup lookup;	/* what the first look in the cache found */
	struct place place;		/* in the client's share (inflight.h) */
};

/* Cut, store and answer a verdict the sandbox gave (store: we hold the command's lock). */
static void store_and_answer(struct run *run, struct verdict *v, bool store)
{
	struct worker *w = run->w;
	const struct challenge *ch = run->ch;
	size_t blen;
	/* At most VERDICT_REPLY_MAX bytes served and stored, whatever the output holds. */
	char *body = verdict_reply_bounded(ch->slug, ch->version, v, VERDICT_REPLY_MAX, &blen);
	int ttl = cache_ttl(w, ch, v->correct);

	/* A verdict that measured the machine is neither kept nor published (issue 11, rule 5). */
	if (v->transient) {
		store = false;
		if (ttl > w->cfg->transient_ttl_s)
			ttl = w->cfg->transient_ttl_s;
	}
	/* Solutions have their own instance when configured: record there even without the cache. */
	if (v->correct && !v->transient && (store || w->sol != &w->vc))
		solutions_record(w->sol, ch, run->cmd, run->clen);
	if (body == NULL) {
		fail(run->r, run->rl, 500, "internal", "Out of memory.", NULL, NULL);
		return;
	}
	if (store && ttl > 0)
		redis_verdict_set(&w->vc, run->key, body, blen, ttl);
	answer_verdict(run->r, run->rl, body, blen, ttl, v->correct);
	free(body);
}

/* Hold an execution's place, run the command in a sandbox, store and answer. */
static void execute(struct run *run, bool store)
{
	struct verdict v;
	struct run_error re;

	if (!admit(run->w, run->r, run->rl, INFLIGHT_EXEC, &run->place))
		return;
	if (run_in_sandbox(run->w, run->ch, run->cmd, run->clen, &v, run->rl, &re) < 0) {
		fail(run->r, run->rl, re.status, re.code, re.message, NULL, re.header);
		return;
	}
	run->rl->layer = LAYER_EXECUTED;
	store_and_answer(run, &v, store);
	verdict_free(&v);
}

/* Step 1: a GET whose query names slug, ver and cmd, nothing else. false: answered. */
static bool run_parse(struct run *run, const char *method, const char *qs)
{
	struct query_error qe;

	if (strcmp(method, "GET") != 0) {
		fail(run->r, run->rl, 405, "method_not_allowed", "Only GET is allowed here.", NULL, "Allow: GET");
		return false;
	}
	if (query_parse(qs, strlen(qs), run->w->cfg->query_max, r_params, &run->q, &qe) < 0 ||
	    query_require(&run->q, "slug", &qe) < 0 || query_require(&run->q, "ver", &qe) < 0 ||
	    query_require(&run->q, "cmd", &qe) < 0) {
		fail_query(run->r, run->rl, &qe);
		return false;
	}
	return true;
}

/* Step 2: a challenge we have, at its current version, and a command we accept. false: answered. */
static bool run_check(struct run *run)
{
	struct query_error qe;
	size_t slen, vlen;
	const char *slug = query_get(&run->q, "slug", &slen), *ver_s = query_get(&run->q, "ver", &vlen);
	int ver;

	run->cmd = query_get(&run->q, "cmd", &run->clen);
	if (query_check_slug(slug, slen, &qe) < 0 || query_parse_ver(ver_s, vlen, &ver, &qe) < 0) {
		fail_query(run->r, run->rl, &qe);
		return false;
	}
	if ((run->ch = find_challenge(run->w, run->r, run->rl, slug, slen)) == NULL)
		return false;
	run->rl->ver = ver;
	if (ver != run->ch->version) {
		json_object *extra = json_object_new_object();

		if (extra != NULL)
			json_object_object_add(extra, "ver", json_object_new_int(run->ch->version));
		fail(run->r, run->rl, 409, "stale_version", "This challenge has changed: reload it and try again.", extra, NULL);
		return false;
	}
	if (query_check_cmd(run->cmd, run->clen, run->w->cfg->cmd_max, &qe) < 0) {
		fail_query(run->r, run->rl, &qe);
		return false;
	}
	return true;
}

/* Step 3: the verdict Redis keeps, if any. true: answered. */
static bool run_from_cache(struct run *run)
{
	struct worker *w = run->w;
	char *cached = NULL;
	size_t len;

	if (redis_key_verdict(run->key, w->cfg->cache_salt, run->ch->slug, run->ch->version, run->cmd, run->clen) < 0)
		run->lookup = LOOKUP_ERROR;
	else
		run->lookup = redis_verdict_get(&w->vc, run->key, &cached, &len);
	if (run->lookup != LOOKUP_HIT)
		return false;
	run->rl->layer = LAYER_REDIS;
	answer_verdict(run->r, run->rl, cached, len, w->cfg->verdict_ttl_s, body_correct(cached, len));
	/* One more visitor solved it this way (nginx's own hits never get here). */
	if (run->rl->outcome == OUT_CORRECT)
		solutions_count(w->sol, run->ch, run->cmd, run->clen);
	free(cached);
	return true;
}

/*
 * Step 4: not a cache hit: this request costs a token, whether it runs the command or waits
 * for an identical run (a wait holds a worker too). Redis's bucket decides, else this node's
 * (Redis down or refusing writes). false: over the limit, the 429 answered.
 */
static bool run_charge(struct run *run)
{
	const struct config *c = run->w->cfg;
	int retry_after, rc;
	char header[48];

	if (c->rate_limit_count <= 0 || proxy_list_contains(run->w->exempt, run->rl->client))
		return true;
	rc = redis_bucket_take(&run->w->vc, run->rl->client, &retry_after);
	if (rc < 0) {
		if (metrics)
			metrics_add(&metrics->rate_limit_local, 1);
		rc = local_limit_take(local_limits, run->rl->client, (double)c->rate_limit_count / c->rate_limit_window_s,
		    c->rate_limit_burst, clock_ms(), &retry_after);
	}
	if (rc != 0)
		return true;
	snprintf(header, sizeof(header), "Retry-After: %d", retry_after);
	if (metrics)
		metrics_add(&metrics->rate_limited, 1);
	fail(run->r, run->rl, 429, "rate_limited", "Too many new commands from your address: wait a little.", NULL, header);
	return false;
}

/* Before a wait for an identical run: hold a waiting place in the client's share. */
static bool may_wait(void *arg)
{
	struct run *run = arg;

	return admit(run->w, run->r, run->rl, INFLIGHT_WAIT, &run->place);
}

/* Step 5: one execution per distinct command: take the lock and run it, or wait for whoever holds it. */
static void run_once(struct run *run)
{
	struct redis_lock lk;
	char *verdict = NULL;
	size_t len;

	/* No cache: no lock either. Answer by executing. */
	if (run->lookup == LOOKUP_ERROR || redis_lock_prepare(&lk, run->w->cfg, run->key, run->w->thread, run->rl->id) < 0) {
		execute(run, false);
		return;
	}
	switch (redis_lock_acquire(&run->w->vc, &lk, may_wait, run, &verdict, &len)) {
	case LOCK_HELD:
		execute(run, true);
		redis_lock_release(&run->w->vc, &lk);
		break;
	case LOCK_UNAVAILABLE:
		execute(run, false);
		break;
	case LOCK_VERDICT:
		run->rl->layer = LAYER_INFLIGHT;
		answer_verdict(run->r, run->rl, verdict, len, run->w->cfg->verdict_ttl_s, body_correct(verdict, len));
		free(verdict);
		break;
	case LOCK_GAVE_UP:
		fail(run->r, run->rl, 504, "deadline_exceeded", "An identical command is still running; try again.", NULL, NULL);
		break;
	case LOCK_REFUSED:
		break;
	}
}

/*
 * GET /r?slug=&ver=&cmd=: steps 1 to 5, each answering when it ends the request. The Redis side
 * (keys, lock, waits, buckets) is ../redis/; what to do when Redis is away is decided here.
 */
static void handle_run(struct worker *w, FCGX_Request *r, struct request_log *rl, const char *method, const char *qs)
{
	struct run run = { .w = w, .r = r, .rl = rl, .place = { -1, 0 } };

	if (run_parse(&run, method, qs) && run_check(&run) && !run_from_cache(&run) && run_charge(&run))
		run_once(&run);
	leave_place(&run.place);
	query_free(&run.q);
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
	if (solutions_json(w->sol, ch, &body, &blen) < 0) {
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
	rl.start_us = clock_us();
	rl.engine = -1;
	rl.slug = "-";
	copy_request_id(FCGX_GetParam("REQUEST_ID", r->envp), rl.id, sizeof(rl.id));
	/* nginx's realip module already made REMOTE_ADDR the client's (client_addr.h). */
	client_key(FCGX_GetParam("REMOTE_ADDR", r->envp), rl.client);
	if (method == NULL)
		method = "";
	if (qs == NULL)
		qs = "";
	if (script && strcmp(script, "/r") == 0) {
		rl.ep = EP_R;
		cmd_hash_header(r, qs, w->cfg->query_max);
		handle_run(w, r, &rl, method, qs);
	} else if (script && strcmp(script, "/s") == 0) {
		rl.ep = EP_S;
		handle_solutions(w, r, &rl, method, qs);
	} else if (script && strcmp(script, "/metrics") == 0) {
		rl.ep = EP_METRICS;
		handle_metrics(w, r, &rl, method);
	} else if (script && strcmp(script, "/healthz") == 0) {
		rl.ep = EP_OTHER;
		rl.status = healthz_answer(r, w->cfg, method, &rl.code, &rl.outcome);
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
	    (clock_us() - rl.start_us) / 1000.0);
}

/* ---- threads ---- */

static pthread_mutex_t accept_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_t accept_owner;
static int accepting;		/* accept_owner waits in FCGX_Accept_r (atomic) */

static bool stopping(void)
{
	return __atomic_load_n(&stop_requested, __ATOMIC_SEQ_CST) != 0;
}

static void on_usr1(int sig)
{
	(void)sig;		/* only interrupts a blocked accept */
}

static void *serve(void *arg)
{
	struct worker *w = arg;

	for (;;) {
		int rc;

		pthread_mutex_lock(&accept_mu);
		if (stopping()) {
			pthread_mutex_unlock(&accept_mu);
			break;
		}
		accept_owner = pthread_self();
		__atomic_store_n(&accepting, 1, __ATOMIC_SEQ_CST);
		rc = FCGX_Accept_r(&w->req);
		__atomic_store_n(&accepting, 0, __ATOMIC_SEQ_CST);
		pthread_mutex_unlock(&accept_mu);
		if (rc < 0) {
			if (stopping())
				break;
			if (errno != EINTR) {
				lerr("accept failed: %s", strerror(errno));
				clock_sleep_ms(100);
			}
			continue;
		}
		handle(w, &w->req);
		FCGX_Finish_r(&w->req);
	}
	FCGX_Finish_r(&w->req);
	return NULL;
}

static int worker_setup(struct worker *w, const struct config *cfg, const struct catalogue *cat, int listen_fd,
    int index, int thread)
{
	w->cfg = cfg;
	w->cat = cat;
	w->index = index;
	w->thread = thread;
	w->curl = curl_easy_init();
	w->engines = calloc(cfg->n_engines, sizeof(*w->engines));
	if (w->curl == NULL || w->engines == NULL) {
		lerr("out of memory");
		return -1;
	}
	for (size_t i = 0; i < cfg->n_engines; i++)
		if (engine_init(&w->engines[i], &cfg->engines[i], (int)i) < 0) {
			lerr("cannot set up engine %s", cfg->engines[i].url);
			return -1;
		}
	redis_conn_init_cache(&w->vc, cfg);
	redis_conn_init_solutions(&w->sol_own, cfg);
	/* One instance for both: one connection, one outage. */
	w->sol = strcmp(cfg->solutions_redis, cfg->redis) == 0 ? &w->vc : &w->sol_own;
	pool_client_init(&w->pool, cfg->pool_socket);
	if (FCGX_InitRequest(&w->req, listen_fd, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
		lerr("cannot initialise a libfcgi request");
		return -1;
	}
	w->req_ready = true;
	return 0;
}

/* Undo worker_setup (also after a partial one: w was zeroed first). */
static void worker_cleanup(struct worker *w)
{
	if (w->req_ready)
		FCGX_Free(&w->req, 1);
	redis_conn_close(&w->vc);
	redis_conn_close(&w->sol_own);
	if (w->pool.path)
		pool_client_close(&w->pool);
	if (w->engines)
		for (size_t i = 0; i < w->cfg->n_engines; i++)
			engine_free(&w->engines[i]);
	free(w->engines);
	if (w->curl)
		curl_easy_cleanup(w->curl);
}

/*
 * A client's share: with C requests in flight per node (workers x threads), one client holding
 * them all would stall everyone: its executions plus waits leave at least one place free.
 */
static void fit_share(const struct config *cfg, int index, int *exec_max, int *wait_max)
{
	int cap = cfg->workers * cfg->worker_threads;

	*exec_max = cfg->client_executions_max;
	*wait_max = cfg->client_waits_max;
	if (*exec_max > 0 && cap > 1 && *exec_max > cap - 1)
		*exec_max = cap - 1;
	if (*wait_max > 0 && cap > 1 && *exec_max + *wait_max > cap - 1)
		*wait_max = cap - 1 - *exec_max > 0 ? cap - 1 - *exec_max : 1;
	if (index == 0 && (*exec_max != cfg->client_executions_max || *wait_max != cfg->client_waits_max))
		linfo("per client in flight: %d executions, %d waits (fitted to %d workers x %d threads)", *exec_max,
		    *wait_max, cfg->workers, cfg->worker_threads);
}

/* The process: its name in ps, its malloc arenas, its signals (the threads' mask is set apart). */
static void worker_process_setup(int index)
{
	struct sigaction sa;
	char role[32];

	snprintf(role, sizeof(role), "worker%d", index);
	log_set_role(role);
	prctl(PR_SET_NAME, "cmdarena-worker");	/* before its threads: they inherit it */
	/*
	 * glibc gives threads up to 8 malloc arenas per core, each with pages of its own; these
	 * threads mostly wait on sockets, so two arenas serve them and keep the RSS down.
	 */
	mallopt(M_ARENA_MAX, 2);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;	/* no SA_RESTART: a blocked accept returns */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

/* Start n serving threads; returns how many started (all of them, or the first failure stops). */
static int start_threads(struct worker *ws, int n, const struct config *cfg, const struct catalogue *cat,
    int listen_fd, int index)
{
	pthread_attr_t attr;
	int started = 0;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	for (int i = 0; i < n; i++) {
		int rc;

		if (worker_setup(&ws[i], cfg, cat, listen_fd, index, i) < 0)
			break;
		rc = pthread_create(&ws[i].tid, &attr, serve, &ws[i]);
		if (rc != 0) {
			lerr("cannot start thread %d: %s", i, strerror(rc));
			break;
		}
		ws[i].running = true;
		started++;
	}
	pthread_attr_destroy(&attr);
	return started;
}

/* Wait for SIGTERM: SIGTERM and SIGINT stay blocked (old is the mask before) except in sigsuspend. */
static void wait_for_stop(const sigset_t *old)
{
	sigset_t wait_mask = *old;

	sigdelset(&wait_mask, SIGTERM);
	sigdelset(&wait_mask, SIGINT);
	while (!stopping())
		sigsuspend(&wait_mask);
}

/* Wake the thread waiting in accept until every started thread has returned. */
static void join_threads(struct worker *ws, int n, int started)
{
	for (int left = started; left > 0;) {
		if (__atomic_load_n(&accepting, __ATOMIC_SEQ_CST))
			pthread_kill(accept_owner, SIGUSR1);
		clock_sleep_ms(20);
		left = 0;
		for (int i = 0; i < n; i++)
			if (ws[i].running && pthread_tryjoin_np(ws[i].tid, NULL) == 0)
				ws[i].running = false;
			else if (ws[i].running)
				left++;
	}
}

int worker_main(const struct config *cfg, const struct catalogue *cat, int listen_fd, int index)
{
	int n = cfg->worker_threads, started, exec_max, wait_max;
	struct proxy_list exempt;
	struct worker *ws;
	sigset_t block, old;
	char err[160];

	worker_process_setup(index);
	if (FCGX_Init() != 0) {
		lerr("cannot initialise libfcgi");
		return 1;
	}
	fit_share(cfg, index, &exec_max, &wait_max);
	/* The master checked it; a failure here is only memory. */
	if (proxy_list_parse(cfg->limits_exempt, &exempt, err, sizeof(err)) < 0) {
		lerr("limits_exempt: %s", err);
		return 1;
	}
	ws = calloc((size_t)n, sizeof(*ws));
	if (ws == NULL) {
		lerr("out of memory");
		proxy_list_free(&exempt);
		return 1;
	}
	for (int i = 0; i < n; i++) {
		ws[i].exec_max = exec_max;
		ws[i].wait_max = wait_max;
		ws[i].exempt = &exempt;
	}
	/* The threads block SIGTERM and SIGINT (they inherit this mask): the main thread gets them. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	started = start_threads(ws, n, cfg, cat, listen_fd, index);
	if (started < n)
		__atomic_store_n(&stop_requested, 1, __ATOMIC_SEQ_CST);
	else
		wait_for_stop(&old);
	join_threads(ws, n, started);
	for (int i = 0; i < n; i++)
		if (ws[i].cfg)
			worker_cleanup(&ws[i]);
	free(ws);
	proxy_list_free(&exempt);
	return started < n ? 1 : 0;
}
