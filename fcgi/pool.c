/*
 * pool.c: the pool keeper (see pool.h).
 *
 * One main thread owns every piece of state (idle and claimed containers,
 * waiting requests, engine health) and talks to the workers. Engine calls
 * block, so it posts them as jobs to threads of each engine (pool_jobs.c) and
 * handles their results when the wake pipe makes its poll() return.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "attach.h"
#include "docker.h"
#include "log.h"
#include "metrics.h"
#include "pool.h"
#include "pool_jobs.h"
#include "sandbox.h"

#define N_VARIANTS 2
#define MAX_CLIENTS 1024
/*
 * A used container exits by itself right after its verdict and AutoRemove deletes it; a DELETE
 * racing that exit makes the engine kill and remove it twice over. So the forced removal waits
 * this long and is normally a cheap 404; a container still there (a hung runner) is killed then.
 */
#define RELEASE_GRACE_MS 2000

enum engine_health { HEALTH_UNKNOWN, HEALTH_UP, HEALTH_DOWN };

struct engine_state {
	struct engine eng;
	enum engine_health health;
	bool suspect;			/* a container of it failed: none handed out until a ping answers */
	long long suspect_since;	/* ...a ping queued after this */
	int creating[N_VARIANTS];
	int create_failures;		/* consecutive */
	long long create_retry_at;	/* back-off after failures */
	char last_error[256];
	double tokens;			/* creation rate limit */
	long long tokens_at;
	long long next_ping, next_list;
	bool ping_pending, list_pending;
	struct job_lanes lanes;		/* its engine calls */
};

struct container {
	char id[DOCKER_ID_MAX + 1];
	int engine;
	int variant;
	bool claimed;
	bool released;		/* used and handed back: removed at since + RELEASE_GRACE_MS */
	int client;		/* claimer's slot when claimed */
	long long since;	/* idle since, or claimed since (monotonic ms) */
	struct container *next;
};

struct waiter {
	int client;
	unsigned long seq;
	int variant;
	long long deadline;
	struct waiter *next;
};

struct removing {
	char id[DOCKER_ID_MAX + 1];
	struct removing *next;
};

static const struct config *cfg;
static struct engine_state *engines;
static size_t n_engines;
static struct container *containers;	/* idle and claimed */
static struct waiter *waiters, *waiters_tail;
static struct removing *removing;
static int clients[MAX_CLIENTS];
static size_t n_clients;

static char *spec_json[N_VARIANTS];

static volatile sig_atomic_t got_term;
static bool stopping;		/* draining: no new takes, wait for claimed containers */

static void on_term(int sig)
{
	(void)sig;
	got_term = 1;
}

/* ---- state helpers (main thread only) ---- */

static void update_gauges(void)
{
	if (metrics == NULL)
		return;
	metrics_gauge_set(&metrics->keeper_beat_ms, monotonic_ms());	/* for /healthz */
	for (size_t e = 0; e < n_engines; e++) {
		int64_t idle = 0, claimed = 0;

		for (struct container *c = containers; c; c = c->next)
			if ((size_t)c->engine == e) {
				if (c->released)
					continue;
				if (c->claimed)
					claimed++;
				else
					idle++;
			}
		metrics_gauge_set(&metrics->engine[e].idle, idle);
		metrics_gauge_set(&metrics->engine[e].claimed, claimed);
		metrics_gauge_set(&metrics->engine[e].creating, engines[e].creating[0] + engines[e].creating[1]);
		metrics_gauge_set(&metrics->engine[e].healthy, engines[e].health == HEALTH_UP);
	}
}

static bool is_removing(const char *id)
{
	for (struct removing *r = removing; r; r = r->next)
		if (strcmp(r->id, id) == 0)
			return true;
	return false;
}

static void schedule_remove(int engine, const char *id, bool reaped)
{
	struct job *j;
	struct removing *r;

	if (is_removing(id))
		return;
	j = job_new(JOB_REMOVE, engine, 0, id);
	r = calloc(1, sizeof(*r));
	if (j == NULL || r == NULL) {
		job_free(j);
		free(r);
		lerr("pool: out of memory scheduling the removal of %.12s", id);
		return;
	}
	j->reaped = reaped;
	snprintf(r->id, sizeof(r->id), "%s", id);
	r->next = removing;
	removing = r;
	job_post(&engines[engine].lanes, j);
}

static void forget_removing(const char *id)
{
	for (struct removing **pp = &removing; *pp; pp = &(*pp)->next)
		if (strcmp((*pp)->id, id) == 0) {
			struct removing *r = *pp;

			*pp = r->next;
			free(r);
			return;
		}
}

/* Unlink and return the tracked container with this id, or NULL. */
static struct container *take_container(const char *id)
{
	for (struct container **pp = &containers; *pp; pp = &(*pp)->next)
		if (strcmp((*pp)->id, id) == 0) {
			struct container *c = *pp;

			*pp = c->next;
			return c;
		}
	return NULL;
}

static int count_idle(int engine, int variant)
{
	int n = 0;

	for (struct container *c = containers; c; c = c->next)
		if (c->engine == engine && c->variant == variant && !c->claimed)
			n++;
	return n;
}

static int count_claimed(int engine)
{
	int n = 0;

	for (struct container *c = containers; c; c = c->next)
		if (c->engine == engine && c->claimed)
			n++;
	return n;
}

static int count_waiters(int variant)
{
	int n = 0;

	for (struct waiter *w = waiters; w; w = w->next)
		if (w->variant == variant)
			n++;
	return n;
}

static void send_to(int client, const char *msg)
{
	if (client < 0 || (size_t)client >= n_clients || clients[client] < 0)
		return;
	if (send(clients[client], msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		lwarn("pool: cannot answer a worker: %s", strerror(errno));
}

/* The oldest idle container of this variant on the least busy healthy engine. */
static struct container *pick_idle(int variant)
{
	struct container *best = NULL;
	int best_engine = -1, best_busy = 0;

	for (size_t e = 0; e < n_engines; e++) {
		int busy;

		/* A suspect engine waits for its ping: the request waits for another container. */
		if (engines[e].health != HEALTH_UP || engines[e].suspect || count_idle((int)e, variant) == 0)
			continue;
		busy = count_claimed((int)e);
		if (best_engine < 0 || busy < best_busy) {
			best_engine = (int)e;
			best_busy = busy;
		}
	}
	if (best_engine < 0)
		return NULL;
	/* The list is newest first: the last match is the oldest. */
	for (struct container *c = containers; c; c = c->next)
		if (!c->claimed && c->variant == variant && c->engine == best_engine)
			best = c;
	return best;
}

static void hand_out(struct container *c, int client, unsigned long seq)
{
	char msg[160];

	c->claimed = true;
	c->client = client;
	c->since = monotonic_ms();
	snprintf(msg, sizeof(msg), "C %lu %d %s", seq, c->engine, c->id);
	send_to(client, msg);
	if (metrics)
		metrics_add(&metrics->engine[c->engine].takes, 1);
}

/* Why no container can come now, or NULL when waiting makes sense. */
static const char *refusal(int variant, const char **code)
{
	bool any_alive = false, any_can_create = false;
	static char msg[300];

	(void)variant;
	for (size_t e = 0; e < n_engines; e++) {
		if (engines[e].health == HEALTH_DOWN)
			continue;
		any_alive = true;
		if (engines[e].create_failures < 3)
			any_can_create = true;
	}
	if (!any_alive) {
		*code = "engine_unavailable";
		snprintf(msg, sizeof(msg), "No Docker engine is answering.");
		return msg;
	}
	if (!any_can_create) {
		*code = "sandbox_failing";
		snprintf(msg, sizeof(msg), "Sandbox containers cannot be created right now.");
		return msg;
	}
	return NULL;
}

static void handle_take(int client, unsigned long seq, int variant)
{
	struct container *c = stopping ? NULL : pick_idle(variant);
	const char *code = NULL, *why;
	char msg[400];

	if (stopping) {
		/* A newer pool keeper listens on the same socket: ask the worker to reconnect. */
		snprintf(msg, sizeof(msg), "R %lu", seq);
		send_to(client, msg);
		return;
	}
	if (c) {
		hand_out(c, client, seq);
		return;
	}
	why = refusal(variant, &code);
	if (why) {
		snprintf(msg, sizeof(msg), "E %lu %s %s", seq, code, why);
		send_to(client, msg);
		return;
	}
	{
		struct waiter *w = calloc(1, sizeof(*w));

		if (w == NULL) {
			snprintf(msg, sizeof(msg), "E %lu sandbox_busy Out of memory.", seq);
			send_to(client, msg);
			return;
		}
		w->client = client;
		w->seq = seq;
		w->variant = variant;
		w->deadline = monotonic_ms() + cfg->pool_wait_ms;
		if (waiters_tail)
			waiters_tail->next = w;
		else
			waiters = w;
		waiters_tail = w;
		if (metrics)
			metrics_add(&metrics->pool_waits, 1);
	}
}

static void fix_tail(void)
{
	waiters_tail = NULL;
	for (struct waiter *w = waiters; w; w = w->next)
		waiters_tail = w;
}

/* Serve waiting requests from idle containers; fail those past their deadline or refused. */
static void serve_waiters(void)
{
	long long now = monotonic_ms();
	struct waiter **pp = &waiters;

	while (*pp) {
		struct waiter *w = *pp;
		struct container *c = pick_idle(w->variant);
		const char *code = NULL, *why = NULL;
		char msg[400];

		if (c) {
			hand_out(c, w->client, w->seq);
		} else if ((why = refusal(w->variant, &code)) != NULL) {
			snprintf(msg, sizeof(msg), "E %lu %s %s", w->seq, code, why);
			send_to(w->client, msg);
		} else if (now >= w->deadline) {
			snprintf(msg, sizeof(msg), "E %lu sandbox_busy No sandbox container became free in time.", w->seq);
			send_to(w->client, msg);
			if (metrics)
				metrics_add(&metrics->pool_timeouts, 1);
		} else {
			pp = &w->next;
			continue;
		}
		*pp = w->next;
		free(w);
	}
	fix_tail();
}

static void release(int engine, const char *id, bool failed)
{
	struct container *c;

	for (c = containers; c; c = c->next)
		if (strcmp(c->id, id) == 0)
			break;
	if (c == NULL || c->released) {
		/* Handed out by our predecessor (a reload) that is gone now: remove it all the same. */
		if (c == NULL && engine >= 0 && (size_t)engine < n_engines)
			schedule_remove(engine, id, false);
		return;
	}
	if (failed) {
		/* A container that cannot be attached may mean the engine is gone: check now, and
		 * hand out other engines' containers (the worker's retry) until the ping answers. */
		engines[c->engine].suspect = true;
		engines[c->engine].suspect_since = monotonic_ms();
		if (!engines[c->engine].ping_pending)
			engines[c->engine].next_ping = 0;
	}
	if (failed || stopping) {
		c = take_container(id);
		schedule_remove(c->engine, c->id, false);
		free(c);
		return;
	}
	/* Still counted as busy for its engine until the grace is over (see RELEASE_GRACE_MS). */
	c->released = true;
	c->client = -1;
	c->since = monotonic_ms();
}

/* Remove the released containers whose grace is over (all of them when flush). */
static void remove_released(long long now, bool flush)
{
	for (struct container **pp = &containers; *pp;) {
		struct container *c = *pp;

		if (c->released && (flush || now - c->since >= RELEASE_GRACE_MS)) {
			*pp = c->next;
			schedule_remove(c->engine, c->id, false);
			free(c);
			continue;
		}
		pp = &c->next;
	}
}

static void drop_client(int slot)
{
	struct container **pp = &containers;

	/* Whatever that worker held is finished with: remove it now. */
	while (*pp) {
		struct container *c = *pp;

		if (c->claimed && c->client == slot) {
			*pp = c->next;
			lwarn("pool: a worker went away holding container %.12s: removing it", c->id);
			schedule_remove(c->engine, c->id, true);
			free(c);
			continue;
		}
		pp = &c->next;
	}
	for (struct waiter **wp = &waiters; *wp;) {
		if ((*wp)->client == slot) {
			struct waiter *w = *wp;

			*wp = w->next;
			free(w);
			continue;
		}
		wp = &(*wp)->next;
	}
	fix_tail();
	close(clients[slot]);
	clients[slot] = -1;
}

static void handle_message(int slot, char *msg)
{
	unsigned long seq;
	int variant, engine;
	char id[DOCKER_ID_MAX + 1];

	if (sscanf(msg, "T %lu %d", &seq, &variant) == 2 && variant >= 0 && variant < N_VARIANTS) {
		handle_take(slot, seq, variant);
	} else if ((msg[0] == 'D' || msg[0] == 'F') && sscanf(msg + 1, " %d %64s", &engine, id) == 2) {
		release(engine, id, msg[0] == 'F');
	} else {
		lwarn("pool: ignoring a malformed message from a worker");
	}
}

/* ---- results from engine threads ---- */

static void set_health(struct engine_state *es, enum engine_health h, const char *why)
{
	if (es->health == h)
		return;
	if (h == HEALTH_UP)
		linfo("pool: engine %s is up (API %s)", es->eng.url, es->eng.api_version);
	else
		lerr("pool: engine %s is down: %s", es->eng.url, why);
	es->health = h;
	if (h == HEALTH_DOWN) {
		/* Its idle containers are unusable now; the reaper removes them if the engine returns. */
		struct container **pp = &containers;

		while (*pp) {
			struct container *c = *pp;

			if (c->engine == es->eng.index && !c->claimed) {
				*pp = c->next;
				free(c);
				continue;
			}
			pp = &c->next;
		}
	} else {
		es->create_failures = 0;
		es->create_retry_at = 0;
	}
}

static void reap_from_list(struct engine_state *es, struct job *j)
{
	time_t now = time(NULL);
	long long mono = monotonic_ms();
	long own_max_s = (cfg->hard_deadline_ms + cfg->reap_margin_ms) / 1000 + 1;
	long foreign_max_s = cfg->idle_max_age_s + own_max_s;

	for (size_t i = 0; i < j->n_list; i++) {
		const struct container_info *ci = &j->list[i];
		bool known = false, own = strcmp(ci->node, cfg->node_id) == 0;
		long age = (long)(now - ci->created);
		/* Made by another keeper of this node that still runs (our predecessor, draining after a
		 * reload): it may be in use; that keeper removes it. Bounded, in case the pid was reused. */
		bool keeper_alive = ci->keeper > 0 && ci->keeper != (long)getpid() &&
		    (kill((pid_t)ci->keeper, 0) == 0 || errno == EPERM);

		for (struct container *c = containers; c; c = c->next)
			if (strcmp(c->id, ci->id) == 0) {
				known = true;
				/* Claimed for longer than any request may last: its worker is stuck or gone. */
				if (c->claimed && mono - c->since > cfg->hard_deadline_ms + cfg->reap_margin_ms) {
					lwarn("pool: container %.12s claimed %llds ago: reaping it", c->id,
					    (mono - c->since) / 1000);
					release(c->engine, c->id, false);
				}
				break;
			}
		if (known || is_removing(ci->id) || (own && keeper_alive && age <= foreign_max_s))
			continue;
		if ((own && age > own_max_s) || (!own && age > foreign_max_s)) {
			linfo("pool: reaping orphan container %.12s (node %s, %lds old)", ci->id,
			    ci->node[0] ? ci->node : "?", age);
			schedule_remove(es->eng.index, ci->id, true);
		}
	}
}

static void handle_result(struct job *j)
{
	struct engine_state *es = &engines[j->engine];

	switch (j->kind) {
	case JOB_CREATE:
		es->creating[j->variant]--;
		if (!j->ok) {
			es->create_failures++;
			es->create_retry_at = monotonic_ms() + (es->create_failures < 6 ? 100LL << es->create_failures : 5000);
			snprintf(es->last_error, sizeof(es->last_error), "%s", j->error);
			if (metrics) {
				metrics_add(&metrics->engine[j->engine].create_failures, 1);
				metrics_add(&metrics->engine[j->engine].errors, 1);
			}
			if (es->create_failures == 1 || es->create_failures % 20 == 0)
				lerr("pool: creating a sandbox container failed (%d in a row): %s", es->create_failures, j->error);
			/* Maybe the engine itself is gone: check it now. */
			es->next_ping = 0;
			break;
		}
		es->create_failures = 0;
		if (metrics)
			metrics_add(&metrics->engine[j->engine].created, 1);
		if (es->health != HEALTH_UP || stopping) {
			schedule_remove(j->engine, j->id, false);
			break;
		}
		{
			struct container *c = calloc(1, sizeof(*c));

			if (c == NULL) {
				schedule_remove(j->engine, j->id, false);
				break;
			}
			snprintf(c->id, sizeof(c->id), "%s", j->id);
			c->engine = j->engine;
			c->variant = j->variant;
			c->since = monotonic_ms();
			c->client = -1;
			c->next = containers;
			containers = c;
		}
		break;
	case JOB_REMOVE:
		forget_removing(j->id);
		if (j->ok) {
			if (metrics)
				metrics_add(j->reaped ? &metrics->engine[j->engine].reaped : &metrics->engine[j->engine].removed, 1);
		} else {
			if (metrics)
				metrics_add(&metrics->engine[j->engine].errors, 1);
			lwarn("pool: removing %.12s failed: %s", j->id, j->error);
		}
		break;
	case JOB_PING:
		es->ping_pending = false;
		if (j->ok && j->posted >= es->suspect_since)
			es->suspect = false;
		es->next_ping = monotonic_ms() + cfg->engine_ping_interval_ms;
		if (j->ok) {
			set_health(es, HEALTH_UP, NULL);
		} else {
			if (metrics)
				metrics_add(&metrics->engine[j->engine].errors, 1);
			set_health(es, HEALTH_DOWN, j->error);
			snprintf(es->last_error, sizeof(es->last_error), "%s", j->error);
		}
		break;
	case JOB_LIST:
		es->list_pending = false;
		es->next_list = monotonic_ms() + cfg->reap_interval_s * 1000LL;
		if (j->ok)
			reap_from_list(es, j);
		else if (metrics)
			metrics_add(&metrics->engine[j->engine].errors, 1);
		break;
	}
	job_free(j);
}

static void drain_results(void)
{
	struct job *j;

	jobs_clear_wake();
	while ((j = jobs_take_result()) != NULL)
		handle_result(j);
}

/* ---- timers: pings, reaping, recycling, refilling ---- */

static void schedule_maintenance(long long now)
{
	remove_released(now, false);
	for (size_t e = 0; e < n_engines; e++) {
		struct engine_state *es = &engines[e];

		if (!es->ping_pending && now >= es->next_ping) {
			struct job *j = job_new(JOB_PING, (int)e, 0, NULL);

			if (j) {
				es->ping_pending = true;
				job_post(&es->lanes, j);
			}
		}
		if (es->health == HEALTH_UP && !es->list_pending && now >= es->next_list) {
			struct job *j = job_new(JOB_LIST, (int)e, 0, NULL);

			if (j) {
				es->list_pending = true;
				job_post(&es->lanes, j);
			}
		}
	}
	/* Idle too long: replace it (its image may be stale, its engine restarted). */
	for (struct container **pp = &containers; *pp;) {
		struct container *c = *pp;

		if (!c->claimed && now - c->since > cfg->idle_max_age_s * 1000LL) {
			*pp = c->next;
			schedule_remove(c->engine, c->id, false);
			free(c);
			continue;
		}
		pp = &c->next;
	}
}

static void refill(long long now)
{
	int targets[N_VARIANTS] = { cfg->pool_size, cfg->pool_size_nobin };
	int n_up = 0;

	for (size_t e = 0; e < n_engines; e++)
		if (engines[e].health == HEALTH_UP)
			n_up++;
	if (n_up == 0)
		return;

	for (size_t e = 0; e < n_engines; e++) {
		struct engine_state *es = &engines[e];

		if (es->health != HEALTH_UP || now < es->create_retry_at)
			continue;
		/* Token bucket: pool_refill_per_s creations per second, bursts of one pool. */
		if (cfg->pool_refill_per_s > 0) {
			double cap = cfg->pool_size + cfg->pool_size_nobin + 1;

			es->tokens += (now - es->tokens_at) * cfg->pool_refill_per_s / 1000.0;
			if (es->tokens > cap)
				es->tokens = cap;
		}
		es->tokens_at = now;
		for (int v = 0; v < N_VARIANTS; v++) {
			/* Waiting requests count as missing containers, spread over the healthy engines. */
			int want = targets[v] + (count_waiters(v) + n_up - 1) / n_up;
			int parallel = es->creating[0] + es->creating[1];

			while (count_idle((int)e, v) + es->creating[v] < want && parallel < cfg->pool_create_parallel &&
			    (cfg->pool_refill_per_s <= 0 || es->tokens >= 1.0)) {
				struct job *j = job_new(JOB_CREATE, (int)e, v, NULL);

				if (j == NULL)
					break;
				es->creating[v]++;
				parallel++;
				es->tokens -= 1.0;
				job_post(&es->lanes, j);
			}
		}
	}
}

static int next_timeout(long long now)
{
	long long t = now + 1000;

	for (struct waiter *w = waiters; w; w = w->next)
		if (w->deadline < t)
			t = w->deadline;
	for (struct container *c = containers; c; c = c->next)
		if (c->released && c->since + RELEASE_GRACE_MS < t)
			t = c->since + RELEASE_GRACE_MS;
	for (size_t e = 0; e < n_engines; e++) {
		if (!engines[e].ping_pending && engines[e].next_ping < t)
			t = engines[e].next_ping;
		if (engines[e].create_retry_at > now && engines[e].create_retry_at < t)
			t = engines[e].create_retry_at;
	}
	/* While the bucket refills, look again soon. */
	if (cfg->pool_refill_per_s > 0 && t > now + 50)
		t = now + 50;
	return t > now ? (int)(t - now) : 0;
}

/* ---- life ---- */

int pool_listen(const char *path)
{
	struct sockaddr_un sa;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		lerr("pool: socket path too long: %s", path);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		lerr("pool: socket: %s", strerror(errno));
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	strcpy(sa.sun_path, path);
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(path, 0600) < 0 || listen(fd, 512) < 0) {
		lerr("pool: cannot listen on %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static void accept_clients(int listen_fd)
{
	for (;;) {
		int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		size_t slot;

		if (fd < 0)
			return;
		for (slot = 0; slot < n_clients && clients[slot] >= 0; slot++)
			;
		if (slot == MAX_CLIENTS) {
			lerr("pool: too many workers connected");
			close(fd);
			continue;
		}
		if (slot == n_clients)
			n_clients++;
		clients[slot] = fd;
	}
}

static void read_clients(struct pollfd *pfd, size_t base, size_t nfds)
{
	for (size_t i = 0; i < n_clients && base + i < nfds; i++) {
		char msg[256];
		ssize_t n;

		if (clients[i] < 0 || pfd[base + i].fd != clients[i] || !pfd[base + i].revents)
			continue;
		while ((n = recv(clients[i], msg, sizeof(msg) - 1, MSG_DONTWAIT)) > 0) {
			msg[n] = '\0';
			handle_message((int)i, msg);
		}
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
			drop_client((int)i);
	}
}

static void shutdown_pool(void)
{
	long long deadline = monotonic_ms() + 10000;

	/* Remove everything we hold, then wait (bounded) for the removals and any creation in flight. */
	while (containers) {
		struct container *c = containers;

		containers = c->next;
		schedule_remove(c->engine, c->id, false);
		free(c);
	}
	for (;;) {
		bool busy = removing != NULL;

		for (size_t e = 0; e < n_engines; e++)
			if (engines[e].creating[0] + engines[e].creating[1])
				busy = true;
		if (!busy || monotonic_ms() > deadline)
			break;
		{
			struct pollfd p = { jobs_wake_fd(), POLLIN, 0 };

			poll(&p, 1, 100);
		}
		drain_results();
	}
	if (removing)
		lwarn("pool: stopped with removals still pending (the reaper of the next start will finish them)");
}

static int count_claimed_all(void)
{
	int n = 0;

	for (struct container *c = containers; c; c = c->next)
		if (c->claimed)
			n++;
	return n;
}

/*
 * SIGTERM: stop listening (a newer keeper may share the socket), remove the
 * idle containers, turn waiting workers away, and keep serving releases
 * until the claimed containers are back or a request could no longer last.
 */
static void begin_stopping(int *listen_fd, long long *drain_until)
{
	stopping = true;
	close(*listen_fd);
	*listen_fd = -1;
	*drain_until = monotonic_ms() + cfg->hard_deadline_ms + 2000;
	remove_released(0, true);
	for (struct container **pp = &containers; *pp;) {
		struct container *c = *pp;

		if (!c->claimed) {
			*pp = c->next;
			schedule_remove(c->engine, c->id, false);
			free(c);
			continue;
		}
		pp = &c->next;
	}
	while (waiters) {
		struct waiter *w = waiters;
		char msg[64];

		waiters = w->next;
		snprintf(msg, sizeof(msg), "R %lu", w->seq);
		send_to(w->client, msg);
		free(w);
	}
	waiters_tail = NULL;
	linfo("pool: stopping: draining %d claimed container(s)", count_claimed_all());
}

int pool_keeper_main(const struct config *c, int listen_fd)
{
	struct sigaction sa;
	struct pollfd *pfd;
	long long drain_until = 0;

	cfg = c;
	log_set_role("pool");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);

	if (jobs_init() < 0) {
		lerr("pool: pipe: %s", strerror(errno));
		return 1;
	}
	spec_json[0] = sandbox_container_spec(c, false);
	spec_json[1] = sandbox_container_spec(c, true);
	n_engines = c->n_engines;
	engines = calloc(n_engines, sizeof(*engines));
	pfd = calloc(MAX_CLIENTS + 2, sizeof(*pfd));
	if (spec_json[0] == NULL || spec_json[1] == NULL || engines == NULL || pfd == NULL) {
		lerr("pool: out of memory");
		return 1;
	}
	for (size_t i = 0; i < MAX_CLIENTS; i++)
		clients[i] = -1;
	fcntl(listen_fd, F_SETFL, fcntl(listen_fd, F_GETFL) | O_NONBLOCK);
	for (size_t e = 0; e < n_engines; e++) {
		if (engine_init(&engines[e].eng, &c->engines[e], (int)e) < 0 ||
		    jobs_start(&engines[e].lanes, &engines[e].eng, spec_json, c->pool_create_parallel) < 0) {
			lerr("pool: cannot set up engine %s", c->engines[e].url);
			return 1;
		}
		engines[e].tokens = c->pool_size + c->pool_size_nobin;
		engines[e].tokens_at = monotonic_ms();
	}
	linfo("pool: keeping %d ready container(s) (+%d cmd-no-bin) on each of %zu engine(s)", c->pool_size,
	    c->pool_size_nobin, n_engines);

	for (;;) {
		long long now = monotonic_ms();
		size_t nfds = 0;

		if (got_term && !stopping)
			begin_stopping(&listen_fd, &drain_until);
		if (stopping && (count_claimed_all() == 0 || now > drain_until))
			break;
		if (!stopping) {
			schedule_maintenance(now);
			refill(now);
			serve_waiters();
		}
		update_gauges();
		pfd[nfds++] = (struct pollfd){ listen_fd, POLLIN, 0 };
		pfd[nfds++] = (struct pollfd){ jobs_wake_fd(), POLLIN, 0 };
		for (size_t i = 0; i < n_clients; i++)
			pfd[nfds++] = (struct pollfd){ clients[i], POLLIN, 0 };
		if (poll(pfd, nfds, stopping ? 100 : next_timeout(now)) < 0 && errno != EINTR) {
			lerr("pool: poll: %s", strerror(errno));
			break;
		}
		if (listen_fd >= 0 && pfd[0].revents)
			accept_clients(listen_fd);
		drain_results();
		read_clients(pfd, 2, nfds);
	}
	linfo("pool: stopped serving; removing what is left");
	shutdown_pool();
	update_gauges();
	/* Threads are blocked on their queues or in a bounded engine call; exiting ends them. */
	return 0;
}
