/*
 * pool/state.c: the pool keeper's state machine (see pool/state.h). Every
 * function runs on the keeper's main thread (or a test) with the time given;
 * what must happen outside goes onto p->out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "pool/state.h"
#include "worker/metrics.h"

/* glibc's <sys/queue.h> lacks the BSD ones that allow removing the current element. */
#ifndef TAILQ_FOREACH_SAFE
#define TAILQ_FOREACH_SAFE(var, head, field, tvar) \
	for ((var) = TAILQ_FIRST(head); (var) && ((tvar) = TAILQ_NEXT(var, field), 1); (var) = (tvar))
#endif
#ifndef LIST_FOREACH_SAFE
#define LIST_FOREACH_SAFE(var, head, field, tvar) \
	for ((var) = LIST_FIRST(head); (var) && ((tvar) = LIST_NEXT(var, field), 1); (var) = (tvar))
#endif

/* ---- what to do ---- */

static struct pool_out *out_new(struct pool *p, enum pool_out_kind kind)
{
	struct pool_out *o = calloc(1, sizeof(*o));

	if (o == NULL)
		return NULL;
	o->kind = kind;
	STAILQ_INSERT_TAIL(&p->out, o, link);
	return o;
}

struct pool_out *pool_next_out(struct pool *p)
{
	struct pool_out *o = STAILQ_FIRST(&p->out);

	if (o)
		STAILQ_REMOVE_HEAD(&p->out, link);
	return o;
}

static void send_msg(struct pool *p, int client, const struct pool_msg *m)
{
	struct pool_out *o = out_new(p, POOL_OUT_SEND);

	if (o == NULL) {
		lerr("pool: out of memory answering a worker");
		return;
	}
	o->client = client;
	o->msg = *m;
}

static void send_error(struct pool *p, int client, unsigned long seq, const char *code, const char *text)
{
	struct pool_msg m = { .type = POOL_MSG_ERROR, .seq = seq };

	snprintf(m.code, sizeof(m.code), "%s", code);
	snprintf(m.text, sizeof(m.text), "%s", text);
	send_msg(p, client, &m);
}

static void send_reconnect(struct pool *p, int client, unsigned long seq)
{
	struct pool_msg m = { .type = POOL_MSG_RECONNECT, .seq = seq };

	send_msg(p, client, &m);
}

/* Queue an engine job; NULL out of memory. */
static struct job *post_job(struct pool *p, enum job_kind kind, int engine, int variant, const char *id,
    long long now)
{
	struct job *j = calloc(1, sizeof(*j));
	struct pool_out *o;

	if (j == NULL || (o = out_new(p, POOL_OUT_JOB)) == NULL) {
		free(j);
		return NULL;
	}
	j->kind = kind;
	j->engine = engine;
	j->variant = variant;
	j->posted = now;
	if (id)
		snprintf(j->id, sizeof(j->id), "%s", id);
	o->job = j;
	return j;
}

/* ---- set up ---- */

int pool_init(struct pool *p, const struct config *c, const struct engine *engs, long self_pid,
    pool_pid_alive_fn *pid_alive, long long now)
{
	memset(p, 0, sizeof(*p));
	p->cfg = c;
	p->self_pid = self_pid;
	p->pid_alive = pid_alive;
	TAILQ_INIT(&p->containers);
	TAILQ_INIT(&p->waiters);
	LIST_INIT(&p->removing);
	STAILQ_INIT(&p->out);
	p->n_engines = c->n_engines;
	p->engines = calloc(p->n_engines ? p->n_engines : 1, sizeof(*p->engines));
	if (p->engines == NULL)
		return -1;
	for (size_t e = 0; e < p->n_engines; e++) {
		p->engines[e].eng = &engs[e];
		p->engines[e].tokens = c->pool_size + c->pool_size_nobin;
		p->engines[e].tokens_at = now;
	}
	return 0;
}

void pool_free(struct pool *p)
{
	struct pool_container *c;
	struct pool_waiter *w;
	struct pool_removing *r;
	struct pool_out *o;

	while ((c = TAILQ_FIRST(&p->containers)) != NULL) {
		TAILQ_REMOVE(&p->containers, c, link);
		free(c);
	}
	while ((w = TAILQ_FIRST(&p->waiters)) != NULL) {
		TAILQ_REMOVE(&p->waiters, w, link);
		free(w);
	}
	while ((r = LIST_FIRST(&p->removing)) != NULL) {
		LIST_REMOVE(r, link);
		free(r);
	}
	while ((o = pool_next_out(p)) != NULL) {
		free(o->job);	/* never posted: no list */
		free(o);
	}
	free(p->engines);
	p->engines = NULL;
}

/* ---- counting and finding ---- */

int pool_count_idle(const struct pool *p, int engine, int variant)
{
	const struct pool_container *c;
	int n = 0;

	TAILQ_FOREACH(c, &p->containers, link)
		if (c->engine == engine && c->variant == variant && !c->claimed)
			n++;
	return n;
}

int pool_count_claimed(const struct pool *p, int engine)
{
	const struct pool_container *c;
	int n = 0;

	TAILQ_FOREACH(c, &p->containers, link)
		if ((engine < 0 || c->engine == engine) && c->claimed)
			n++;
	return n;
}

static int count_waiters(const struct pool *p, int variant)
{
	const struct pool_waiter *w;
	int n = 0;

	TAILQ_FOREACH(w, &p->waiters, link)
		if (w->variant == variant)
			n++;
	return n;
}

static struct pool_container *find_container(const struct pool *p, const char *id)
{
	struct pool_container *c;

	TAILQ_FOREACH(c, &p->containers, link)
		if (strcmp(c->id, id) == 0)
			return c;
	return NULL;
}

static bool is_removing(const struct pool *p, const char *id)
{
	const struct pool_removing *r;

	LIST_FOREACH(r, &p->removing, link)
		if (strcmp(r->id, id) == 0)
			return true;
	return false;
}

/* ---- removals ---- */

static void schedule_remove(struct pool *p, int engine, const char *id, bool reaped, long long now)
{
	struct pool_removing *r;
	struct job *j;

	if (is_removing(p, id))
		return;
	r = calloc(1, sizeof(*r));
	if (r == NULL || (j = post_job(p, JOB_REMOVE, engine, 0, id, now)) == NULL) {
		free(r);
		lerr("pool: out of memory scheduling the removal of %.12s", id);
		return;
	}
	j->reaped = reaped;
	snprintf(r->id, sizeof(r->id), "%s", id);
	LIST_INSERT_HEAD(&p->removing, r, link);
}

static void forget_removing(struct pool *p, const char *id)
{
	struct pool_removing *r;

	LIST_FOREACH(r, &p->removing, link)
		if (strcmp(r->id, id) == 0) {
			LIST_REMOVE(r, link);
			free(r);
			return;
		}
}

/* Stop tracking c and post its removal. */
static void drop_container(struct pool *p, struct pool_container *c, bool reaped, long long now)
{
	TAILQ_REMOVE(&p->containers, c, link);
	schedule_remove(p, c->engine, c->id, reaped, now);
	free(c);
}

/* Remove the released containers whose grace is over (all of them when flush). */
static void remove_released(struct pool *p, long long now, bool flush)
{
	struct pool_container *c, *next;

	TAILQ_FOREACH_SAFE(c, &p->containers, link, next)
		if (c->released && (flush || now - c->since >= RELEASE_GRACE_MS))
			drop_container(p, c, false, now);
}

/* ---- handing out ---- */

/* The oldest idle container of this variant on the least busy healthy engine. */
static struct pool_container *pick_idle(const struct pool *p, int variant)
{
	struct pool_container *c;
	int best_engine = -1, best_busy = 0;

	for (size_t e = 0; e < p->n_engines; e++) {
		const struct pool_engine *es = &p->engines[e];
		int busy;

		/* A suspect engine waits for its ping: the request waits for another container. */
		if (es->health != HEALTH_UP || es->suspect || pool_count_idle(p, (int)e, variant) == 0)
			continue;
		busy = pool_count_claimed(p, (int)e);
		if (best_engine < 0 || busy < best_busy) {
			best_engine = (int)e;
			best_busy = busy;
		}
	}
	if (best_engine < 0)
		return NULL;
	/* The list is newest first: the oldest is the last match. */
	TAILQ_FOREACH_REVERSE(c, &p->containers, pool_containers_head, link)
		if (!c->claimed && c->variant == variant && c->engine == best_engine)
			return c;
	return NULL;
}

static void hand_out(struct pool *p, struct pool_container *c, int client, unsigned long seq, long long now)
{
	struct pool_msg m = { .type = POOL_MSG_CONTAINER, .seq = seq, .engine = c->engine };

	c->claimed = true;
	c->client = client;
	c->since = now;
	snprintf(m.id, sizeof(m.id), "%s", c->id);
	send_msg(p, client, &m);
	if (metrics)
		metrics_add(&metrics->engine[c->engine].takes, 1);
}

/* Why no container can come now (code and sentence), or false when waiting makes sense. */
static bool refusal(const struct pool *p, const char **code, const char **why)
{
	bool any_alive = false, any_can_create = false;

	for (size_t e = 0; e < p->n_engines; e++) {
		if (p->engines[e].health == HEALTH_DOWN)
			continue;
		any_alive = true;
		if (p->engines[e].create_failures < POOL_FAILING_AFTER)
			any_can_create = true;
	}
	if (!any_alive) {
		*code = "engine_unavailable";
		*why = "No Docker engine is answering.";
		return true;
	}
	if (!any_can_create) {
		*code = "sandbox_failing";
		*why = "Sandbox containers cannot be created right now.";
		return true;
	}
	return false;
}

void pool_take(struct pool *p, int client, unsigned long seq, int variant, long long now)
{
	struct pool_container *c;
	struct pool_waiter *w;
	const char *code, *why;

	if (p->stopping) {
		/* A newer pool keeper listens on the same socket: ask the worker to reconnect. */
		send_reconnect(p, client, seq);
		return;
	}
	c = pick_idle(p, variant);
	if (c) {
		hand_out(p, c, client, seq, now);
		return;
	}
	if (refusal(p, &code, &why)) {
		send_error(p, client, seq, code, why);
		return;
	}
	w = calloc(1, sizeof(*w));
	if (w == NULL) {
		send_error(p, client, seq, "sandbox_busy", "Out of memory.");
		return;
	}
	w->client = client;
	w->seq = seq;
	w->variant = variant;
	w->deadline = now + p->cfg->pool_wait_ms;
	TAILQ_INSERT_TAIL(&p->waiters, w, link);
	if (metrics)
		metrics_add(&metrics->pool_waits, 1);
}

/* Serve waiting requests from idle containers; fail those past their deadline or refused. */
static void serve_waiters(struct pool *p, long long now)
{
	struct pool_waiter *w, *next;

	TAILQ_FOREACH_SAFE(w, &p->waiters, link, next) {
		struct pool_container *c = pick_idle(p, w->variant);
		const char *code, *why;

		if (c) {
			hand_out(p, c, w->client, w->seq, now);
		} else if (refusal(p, &code, &why)) {
			send_error(p, w->client, w->seq, code, why);
		} else if (now >= w->deadline) {
			send_error(p, w->client, w->seq, "sandbox_busy", "No sandbox container became free in time.");
			if (metrics)
				metrics_add(&metrics->pool_timeouts, 1);
		} else {
			continue;
		}
		TAILQ_REMOVE(&p->waiters, w, link);
		free(w);
	}
}

/* ---- handing back ---- */

void pool_release(struct pool *p, int engine, const char *id, bool failed, long long now)
{
	struct pool_container *c = find_container(p, id);

	if (c == NULL || c->released) {
		/* Handed out by our predecessor (a reload) that is gone now: remove it all the same. */
		if (c == NULL && engine >= 0 && (size_t)engine < p->n_engines)
			schedule_remove(p, engine, id, false, now);
		return;
	}
	if (failed) {
		/* A container that cannot be attached may mean the engine is gone: check now, and
		 * hand out other engines' containers (the worker's retry) until the ping answers. */
		struct pool_engine *es = &p->engines[c->engine];

		es->suspect = true;
		es->suspect_since = now;
		if (!es->ping_pending)
			es->next_ping = 0;
	}
	if (failed || p->stopping) {
		drop_container(p, c, false, now);
		return;
	}
	/* Still counted as busy for its engine until the grace is over (see RELEASE_GRACE_MS). */
	c->released = true;
	c->client = -1;
	c->since = now;
}

void pool_on_message(struct pool *p, int client, const char *buf, size_t len, long long now)
{
	struct pool_msg m;

	if (pool_msg_decode(buf, len, &m) < 0) {
		lwarn("pool: ignoring a malformed message from a worker");
		return;
	}
	switch (m.type) {
	case POOL_MSG_TAKE:
		pool_take(p, client, m.seq, m.variant, now);
		break;
	case POOL_MSG_DONE:
	case POOL_MSG_FAILED:
		pool_release(p, m.engine, m.id, m.type == POOL_MSG_FAILED, now);
		break;
	default:
		lwarn("pool: ignoring a keeper's message sent by a worker");
		break;
	}
}

void pool_worker_gone(struct pool *p, int client, long long now)
{
	struct pool_container *c, *cnext;
	struct pool_waiter *w, *wnext;

	/* Whatever that worker held is finished with: remove it now. */
	TAILQ_FOREACH_SAFE(c, &p->containers, link, cnext)
		if (c->claimed && c->client == client) {
			lwarn("pool: a worker went away holding container %.12s: removing it", c->id);
			drop_container(p, c, true, now);
		}
	TAILQ_FOREACH_SAFE(w, &p->waiters, link, wnext)
		if (w->client == client) {
			TAILQ_REMOVE(&p->waiters, w, link);
			free(w);
		}
}

/* ---- engine job results ---- */

static void set_health(struct pool *p, struct pool_engine *es, enum engine_health h, const char *why)
{
	if (es->health == h)
		return;
	if (h == HEALTH_UP)
		linfo("pool: engine %s is up (API %s)", es->eng->url, es->eng->api_version);
	else
		lerr("pool: engine %s is down: %s", es->eng->url, why);
	es->health = h;
	if (h == HEALTH_DOWN) {
		/* Its idle containers are unusable now; the reaper removes them if the engine returns. */
		struct pool_container *c, *next;
		int e = (int)(es - p->engines);

		TAILQ_FOREACH_SAFE(c, &p->containers, link, next)
			if (c->engine == e && !c->claimed) {
				TAILQ_REMOVE(&p->containers, c, link);
				free(c);
			}
	} else {
		es->create_failures = 0;
		es->create_retry_at = 0;
	}
}

/* An orphan's fate: whether ci (listed by engine, not tracked by us) is to be removed now. */
static bool is_orphan_to_reap(const struct pool *p, const struct container_info *ci, time_t wall)
{
	const struct config *cfg = p->cfg;
	long own_max_s = (cfg->hard_deadline_ms + cfg->reap_margin_ms) / 1000 + 1;
	long foreign_max_s = cfg->idle_max_age_s + own_max_s;
	bool own = strcmp(ci->node, cfg->node_id) == 0;
	long age = (long)(wall - ci->created);
	/* Made by another keeper of this node that still runs (our predecessor, draining after a
	 * reload): it may be in use; that keeper removes it. Bounded, in case the pid was reused. */
	bool keeper_alive = ci->keeper > 0 && ci->keeper != p->self_pid && p->pid_alive && p->pid_alive(ci->keeper);

	if (is_removing(p, ci->id) || (own && keeper_alive && age <= foreign_max_s))
		return false;
	return (own && age > own_max_s) || (!own && age > foreign_max_s);
}

static void reap_from_list(struct pool *p, int engine, const struct job *j, long long now, time_t wall)
{
	const struct config *cfg = p->cfg;

	for (size_t i = 0; i < j->n_list; i++) {
		const struct container_info *ci = &j->list[i];
		struct pool_container *c = find_container(p, ci->id);

		if (c) {
			/* Claimed for longer than any request may last: its worker is stuck or gone. */
			if (c->claimed && now - c->since > cfg->hard_deadline_ms + cfg->reap_margin_ms) {
				lwarn("pool: container %.12s claimed %llds ago: reaping it", c->id, (now - c->since) / 1000);
				pool_release(p, c->engine, c->id, false, now);
			}
			continue;
		}
		if (is_orphan_to_reap(p, ci, wall)) {
			linfo("pool: reaping orphan container %.12s (node %s, %lds old)", ci->id,
			    ci->node[0] ? ci->node : "?", (long)(wall - ci->created));
			schedule_remove(p, engine, ci->id, true, now);
		}
	}
}

static void created(struct pool *p, const struct job *j, long long now)
{
	struct pool_engine *es = &p->engines[j->engine];
	struct pool_container *c;

	es->creating[j->variant]--;
	if (!j->ok) {
		es->create_failures++;
		es->create_retry_at = now + (es->create_failures < 6 ? 100LL << es->create_failures : 5000);
		snprintf(es->last_error, sizeof(es->last_error), "%s", j->error);
		if (metrics) {
			metrics_add(&metrics->engine[j->engine].create_failures, 1);
			metrics_add(&metrics->engine[j->engine].errors, 1);
		}
		if (es->create_failures == 1 || es->create_failures % 20 == 0)
			lerr("pool: creating a sandbox container failed (%d in a row): %s", es->create_failures, j->error);
		/* Maybe the engine itself is gone: check it now. */
		es->next_ping = 0;
		return;
	}
	es->create_failures = 0;
	if (metrics)
		metrics_add(&metrics->engine[j->engine].created, 1);
	if (es->health != HEALTH_UP || p->stopping || (c = calloc(1, sizeof(*c))) == NULL) {
		schedule_remove(p, j->engine, j->id, false, now);
		return;
	}
	snprintf(c->id, sizeof(c->id), "%s", j->id);
	c->engine = j->engine;
	c->variant = j->variant;
	c->since = now;
	c->client = -1;
	TAILQ_INSERT_HEAD(&p->containers, c, link);
}

static void pinged(struct pool *p, const struct job *j, long long now)
{
	struct pool_engine *es = &p->engines[j->engine];

	es->ping_pending = false;
	if (j->ok && j->posted >= es->suspect_since)
		es->suspect = false;
	es->next_ping = now + p->cfg->engine_ping_interval_ms;
	if (j->ok) {
		set_health(p, es, HEALTH_UP, NULL);
	} else {
		if (metrics)
			metrics_add(&metrics->engine[j->engine].errors, 1);
		set_health(p, es, HEALTH_DOWN, j->error);
		snprintf(es->last_error, sizeof(es->last_error), "%s", j->error);
	}
}

static void removed(struct pool *p, const struct job *j)
{
	forget_removing(p, j->id);
	if (j->ok) {
		if (metrics)
			metrics_add(j->reaped ? &metrics->engine[j->engine].reaped : &metrics->engine[j->engine].removed, 1);
		return;
	}
	if (metrics)
		metrics_add(&metrics->engine[j->engine].errors, 1);
	lwarn("pool: removing %.12s failed: %s", j->id, j->error);
}

static void listed(struct pool *p, const struct job *j, long long now, time_t wall)
{
	struct pool_engine *es = &p->engines[j->engine];

	es->list_pending = false;
	es->next_list = now + p->cfg->reap_interval_s * 1000LL;
	if (j->ok)
		reap_from_list(p, j->engine, j, now, wall);
	else if (metrics)
		metrics_add(&metrics->engine[j->engine].errors, 1);
}

void pool_on_job(struct pool *p, const struct job *j, long long now, time_t wall)
{
	if (j->engine < 0 || (size_t)j->engine >= p->n_engines)
		return;
	switch (j->kind) {
	case JOB_CREATE:
		created(p, j, now);
		break;
	case JOB_REMOVE:
		removed(p, j);
		break;
	case JOB_PING:
		pinged(p, j, now);
		break;
	case JOB_LIST:
		listed(p, j, now, wall);
		break;
	}
}

/* ---- timers: pings, reaping, recycling, refilling ---- */

static void schedule_maintenance(struct pool *p, long long now)
{
	struct pool_container *c, *next;

	remove_released(p, now, false);
	for (size_t e = 0; e < p->n_engines; e++) {
		struct pool_engine *es = &p->engines[e];

		if (!es->ping_pending && now >= es->next_ping && post_job(p, JOB_PING, (int)e, 0, NULL, now) != NULL)
			es->ping_pending = true;
		if (es->health == HEALTH_UP && !es->list_pending && now >= es->next_list &&
		    post_job(p, JOB_LIST, (int)e, 0, NULL, now) != NULL)
			es->list_pending = true;
	}
	/* Idle too long: replace it (its image may be stale, its engine restarted). */
	TAILQ_FOREACH_SAFE(c, &p->containers, link, next)
		if (!c->claimed && now - c->since > p->cfg->idle_max_age_s * 1000LL)
			drop_container(p, c, false, now);
}

/* Add the tokens earned since the last refill: pool_refill_per_s a second, bursts of one pool. */
static void earn_tokens(const struct config *cfg, struct pool_engine *es, long long now)
{
	if (cfg->pool_refill_per_s > 0) {
		double cap = cfg->pool_size + cfg->pool_size_nobin + 1;

		es->tokens += (now - es->tokens_at) * cfg->pool_refill_per_s / 1000.0;
		if (es->tokens > cap)
			es->tokens = cap;
	}
	es->tokens_at = now;
}

static void refill_engine(struct pool *p, int e, int n_up, long long now)
{
	const struct config *cfg = p->cfg;
	struct pool_engine *es = &p->engines[e];
	int targets[POOL_VARIANTS] = { cfg->pool_size, cfg->pool_size_nobin };

	earn_tokens(cfg, es, now);
	for (int v = 0; v < POOL_VARIANTS; v++) {
		/* Waiting requests count as missing containers, spread over the healthy engines. */
		int want = targets[v] + (count_waiters(p, v) + n_up - 1) / n_up;
		int parallel = es->creating[0] + es->creating[1];

		while (pool_count_idle(p, e, v) + es->creating[v] < want && parallel < cfg->pool_create_parallel &&
		    (cfg->pool_refill_per_s <= 0 || es->tokens >= 1.0)) {
			if (post_job(p, JOB_CREATE, e, v, NULL, now) == NULL)
				break;
			es->creating[v]++;
			parallel++;
			es->tokens -= 1.0;
		}
	}
}

static void refill(struct pool *p, long long now)
{
	int n_up = 0;

	for (size_t e = 0; e < p->n_engines; e++)
		if (p->engines[e].health == HEALTH_UP)
			n_up++;
	if (n_up == 0)
		return;
	for (size_t e = 0; e < p->n_engines; e++)
		if (p->engines[e].health == HEALTH_UP && now >= p->engines[e].create_retry_at)
			refill_engine(p, (int)e, n_up, now);
}

void pool_tick(struct pool *p, long long now)
{
	if (p->stopping)
		return;
	schedule_maintenance(p, now);
	refill(p, now);
	serve_waiters(p, now);
}

int pool_next_timeout(const struct pool *p, long long now)
{
	const struct pool_waiter *w;
	const struct pool_container *c;
	long long t = now + 1000;

	if (p->stopping)
		return 100;
	TAILQ_FOREACH(w, &p->waiters, link)
		if (w->deadline < t)
			t = w->deadline;
	TAILQ_FOREACH(c, &p->containers, link)
		if (c->released && c->since + RELEASE_GRACE_MS < t)
			t = c->since + RELEASE_GRACE_MS;
	for (size_t e = 0; e < p->n_engines; e++) {
		const struct pool_engine *es = &p->engines[e];

		if (!es->ping_pending && es->next_ping < t)
			t = es->next_ping;
		if (es->create_retry_at > now && es->create_retry_at < t)
			t = es->create_retry_at;
	}
	/* While the bucket refills, look again soon. */
	if (p->cfg->pool_refill_per_s > 0 && t > now + 50)
		t = now + 50;
	return t > now ? (int)(t - now) : 0;
}

/* ---- stopping ---- */

/*
 * Stop listening is the caller's part (a newer keeper may share the socket);
 * here: remove the idle containers, turn waiting workers away, and keep
 * serving releases until the claimed containers are back or a request could
 * no longer last.
 */
void pool_stop(struct pool *p, long long now)
{
	struct pool_container *c, *cnext;
	struct pool_waiter *w;

	if (p->stopping)
		return;
	p->stopping = true;
	p->drain_until = now + p->cfg->hard_deadline_ms + 2000;
	remove_released(p, 0, true);
	TAILQ_FOREACH_SAFE(c, &p->containers, link, cnext)
		if (!c->claimed)
			drop_container(p, c, false, now);
	while ((w = TAILQ_FIRST(&p->waiters)) != NULL) {
		TAILQ_REMOVE(&p->waiters, w, link);
		send_reconnect(p, w->client, w->seq);
		free(w);
	}
	linfo("pool: stopping: draining %d claimed container(s)", pool_count_claimed(p, -1));
}

bool pool_drained(const struct pool *p, long long now)
{
	return p->stopping && (pool_count_claimed(p, -1) == 0 || now > p->drain_until);
}

void pool_remove_all(struct pool *p, long long now)
{
	struct pool_container *c;

	while ((c = TAILQ_FIRST(&p->containers)) != NULL)
		drop_container(p, c, false, now);
}

bool pool_busy(const struct pool *p)
{
	if (!LIST_EMPTY(&p->removing))
		return true;
	for (size_t e = 0; e < p->n_engines; e++)
		if (p->engines[e].creating[0] + p->engines[e].creating[1])
			return true;
	return false;
}

void pool_publish_gauges(const struct pool *p)
{
	if (metrics == NULL)
		return;
	for (size_t e = 0; e < p->n_engines; e++) {
		const struct pool_container *c;
		int64_t idle = 0, claimed = 0;

		TAILQ_FOREACH(c, &p->containers, link) {
			if ((size_t)c->engine != e || c->released)
				continue;
			if (c->claimed)
				claimed++;
			else
				idle++;
		}
		metrics_gauge_set(&metrics->engine[e].idle, idle);
		metrics_gauge_set(&metrics->engine[e].claimed, claimed);
		metrics_gauge_set(&metrics->engine[e].creating, p->engines[e].creating[0] + p->engines[e].creating[1]);
		metrics_gauge_set(&metrics->engine[e].healthy, p->engines[e].health == HEALTH_UP);
	}
}
