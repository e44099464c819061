/*
 * pool/keeper.c: the pool keeper's state machine (fcgi/pool/state.c) driven event by
 * event with a made-up clock: no Docker, no sockets. Each test plays the
 * engines' part by answering the jobs the keeper posts, and checks what the
 * keeper sends to the workers and which jobs it posts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool/state.h"
#include "tap.h"

#define MAX_SEEN 256
#define WALL0 1700000000

/* What one drain of p->out held. */
struct seen {
	int n_send, n_job;
	int client[MAX_SEEN];
	struct pool_msg msg[MAX_SEEN];
	struct job job[MAX_SEEN];
};

static struct config C;
static char node_id[] = "node-a";
static struct engine E[3];
static char *urls[3] = { "unix:///e0", "unix:///e1", "unix:///e2" };
static struct pool P;
static struct seen S;
static struct job pending[MAX_SEEN];	/* posted, not answered yet */
static int n_pending;
static long long now;
static int n_made;
static long alive_pid;	/* the one other keeper that runs */

static bool fake_alive(long pid)
{
	return pid == alive_pid;
}

static void setup(size_t engines, int size, int nobin, int parallel, double refill)
{
	memset(&C, 0, sizeof(C));
	C.n_engines = engines;
	C.node_id = node_id;
	C.pool_size = size;
	C.pool_size_nobin = nobin;
	C.pool_create_parallel = parallel;
	C.pool_refill_per_s = refill;
	C.pool_wait_ms = 3000;
	C.hard_deadline_ms = 20000;
	C.reap_margin_ms = 10000;
	C.idle_max_age_s = 300;
	C.reap_interval_s = 10;
	C.engine_ping_interval_ms = 1000;
	for (int e = 0; e < 3; e++) {
		memset(&E[e], 0, sizeof(E[e]));
		E[e].index = e;
		E[e].url = urls[e];
	}
	now = 1000000;
	n_made = 0;
	alive_pid = 0;
	n_pending = 0;
	memset(&S, 0, sizeof(S));
	if (pool_init(&P, &C, E, 4242, fake_alive, now) < 0) {
		printf("Bail out! pool_init failed\n");
		exit(1);
	}
}

/* Take everything the keeper asked for into S (the previous drain is forgotten); its jobs are pending. */
static void drain(void)
{
	struct pool_out *o;

	memset(&S, 0, sizeof(S));
	while ((o = pool_next_out(&P)) != NULL) {
		if (o->kind == POOL_OUT_SEND && S.n_send < MAX_SEEN) {
			S.client[S.n_send] = o->client;
			S.msg[S.n_send++] = o->msg;
		} else if (o->kind == POOL_OUT_JOB && S.n_job < MAX_SEEN && n_pending < MAX_SEEN) {
			S.job[S.n_job++] = *o->job;
			pending[n_pending++] = *o->job;
		}
		free(o->job);
		free(o);
	}
}

static void tick(void)
{
	pool_tick(&P, now);
	drain();
}

static bool matches(const struct job *j, enum job_kind kind, int engine, int variant)
{
	return j->kind == kind && (engine < 0 || j->engine == engine) && (variant < 0 || j->variant == variant);
}

/* Jobs of the last drain of this kind (engine, variant: -1 for any). */
static int jobs(enum job_kind kind, int engine, int variant)
{
	int n = 0;

	for (int i = 0; i < S.n_job; i++)
		if (matches(&S.job[i], kind, engine, variant))
			n++;
	return n;
}

static int pending_jobs(enum job_kind kind, int engine)
{
	int n = 0;

	for (int i = 0; i < n_pending; i++)
		if (matches(&pending[i], kind, engine, -1))
			n++;
	return n;
}

/* The oldest pending job of this kind, or NULL. */
static struct job *pending_job(enum job_kind kind, int engine)
{
	for (int i = 0; i < n_pending; i++)
		if (matches(&pending[i], kind, engine, -1))
			return &pending[i];
	return NULL;
}

static bool removal_of(const char *id, bool reaped)
{
	for (int i = 0; i < S.n_job; i++)
		if (S.job[i].kind == JOB_REMOVE && strcmp(S.job[i].id, id) == 0 && S.job[i].reaped == reaped)
			return true;
	return false;
}

/*
 * The engines answer at most max pending jobs of this kind, oldest first (a
 * creation that works makes container "c<n>"); then drain what that caused.
 */
static int answer(enum job_kind kind, int engine, bool ok, int max)
{
	int done = 0;
	struct job *p;

	while (done < max && (p = pending_job(kind, engine)) != NULL) {
		struct job j = *p;

		memmove(p, p + 1, (size_t)(pending + n_pending - (p + 1)) * sizeof(*p));
		n_pending--;
		j.ok = ok;
		if (!ok)
			snprintf(j.error, sizeof(j.error), "engine said no");
		else if (j.kind == JOB_CREATE)
			snprintf(j.id, sizeof(j.id), "c%d", ++n_made);
		pool_on_job(&P, &j, now, WALL0);
		done++;
	}
	drain();
	return done;
}
#define answer_all(kind, engine, ok) answer(kind, engine, ok, MAX_SEEN)

/* Every engine answers its first ping; the tick after posts the lists and the creations. */
static void engines_up(void)
{
	tick();
	answer_all(JOB_PING, -1, true);
	tick();
}

/* Fill: every creation works, until the pools stand full. */
static void fill(void)
{
	for (int round = 0; round < 20 && pending_jobs(JOB_CREATE, -1) > 0; round++) {
		answer_all(JOB_CREATE, -1, true);
		tick();
	}
}

static void take(int client, unsigned long seq, int variant)
{
	pool_take(&P, client, seq, variant, now);
	drain();
}

/* The one message sent (its type), or 0 when not exactly one. */
static int sent(void)
{
	return S.n_send == 1 ? (int)S.msg[0].type : 0;
}

static void test_refill_limits(void)
{
	setup(1, 2, 1, 8, 0);
	tick();
	is_int(jobs(JOB_PING, 0, -1), 1, "the first tick pings the engine");
	is_int(jobs(JOB_CREATE, -1, -1), 0, "no creation before the engine answered");
	answer_all(JOB_PING, -1, true);
	tick();
	is_int(jobs(JOB_CREATE, 0, 0), 2, "pool_size creations of cmd containers");
	is_int(jobs(JOB_CREATE, 0, 1), 1, "pool_size_nobin creations of cmd-no-bin containers");
	is_int(jobs(JOB_LIST, 0, -1), 1, "a healthy engine is listed for the reaper");
	tick();
	is_int(jobs(JOB_CREATE, -1, -1), 0, "creations in flight count: none more on the next tick");
	answer_all(JOB_CREATE, -1, true);
	tick();
	is_int(jobs(JOB_CREATE, -1, -1), 0, "full pools: nothing to create");
	is_int(pool_count_idle(&P, 0, 0), 2, "two idle cmd containers");
	is_int(pool_count_idle(&P, 0, 1), 1, "one idle cmd-no-bin container");
	pool_free(&P);

	setup(1, 5, 1, 2, 0);
	engines_up();
	is_int(jobs(JOB_CREATE, -1, -1), 2, "pool_create_parallel bounds the creations in flight");
	answer(JOB_CREATE, -1, true, 1);
	tick();
	is_int(jobs(JOB_CREATE, -1, -1), 1, "one done: one more");
	pool_free(&P);

	setup(1, 5, 1, 16, 2);
	engines_up();
	is_int(jobs(JOB_CREATE, -1, -1), 6, "a full bucket at the start: one pool's worth of tokens");
	answer_all(JOB_CREATE, -1, true);
	tick();
	is_int(jobs(JOB_CREATE, -1, -1), 0, "the bucket is empty (nothing missing anyway)");
	now += 400;
	tick();
	is_int(pool_next_timeout(&P, now), 50, "while the bucket refills the loop looks again within 50 ms");
	pool_free(&P);

	setup(1, 6, 0, 16, 2);
	engines_up();
	is_int(jobs(JOB_CREATE, -1, -1), 6, "six tokens, six creations");
	answer_all(JOB_CREATE, -1, true);
	/* Six handed out: six missing, and tokens come at 2 a second. */
	for (int i = 0; i < 6; i++)
		take(1, (unsigned long)i + 1, 0);
	tick();
	is_int(jobs(JOB_CREATE, -1, -1), 0, "no token left: no creation");
	now += 499;
	tick();
	is_int(jobs(JOB_CREATE, -1, -1), 0, "499 ms later: still less than a token");
	now += 1;
	tick();
	is_int(jobs(JOB_CREATE, -1, -1), 1, "500 ms: one token, one creation");
	now += 10000;
	tick();
	is_int(jobs(JOB_CREATE, -1, -1), 5, "a long pause: the rest, bounded by the pool");
	pool_free(&P);
}

static void test_least_busy(void)
{
	setup(2, 3, 0, 8, 0);
	engines_up();
	fill();
	is_int(pool_count_idle(&P, 0, 0) + pool_count_idle(&P, 1, 0), 6, "three idle on each of two engines");
	take(1, 1, 0);
	ok(sent() == POOL_MSG_CONTAINER && S.msg[0].seq == 1, "a take is answered with a container");
	is_int(S.msg[0].engine, 0, "equal load: the first engine");
	is_str(S.msg[0].id, "c1", "its oldest container");
	take(2, 1, 0);
	is_int(S.msg[0].engine, 1, "the next take goes to the less busy engine");
	take(3, 1, 0);
	is_int(S.msg[0].engine, 0, "then back to the first");
	take(4, 1, 0);
	is_int(S.msg[0].engine, 1, "and so on");
	pool_release(&P, 0, S.msg[0].id, false, now);
	drain();
	take(5, 1, 0);
	is_int(S.msg[0].engine, 0, "a released container still counts as busy during its grace");
	take(6, 1, 1);
	ok(sent() == 0 && S.n_send == 0, "no cmd-no-bin pool: the request waits (got %d messages)", S.n_send);
	pool_free(&P);
}

static void test_engine_down_and_back(void)
{
	setup(2, 2, 0, 8, 0);
	engines_up();
	fill();
	now += 1000;
	tick();
	is_int(jobs(JOB_PING, -1, -1), 2, "pings every engine_ping_interval_ms");
	answer_all(JOB_PING, 0, false);
	is_int(pool_count_idle(&P, 0, 0), 0, "a down engine's idle containers are forgotten");
	is_int(S.n_job, 0, "...without removals (the engine is not answering)");
	take(1, 1, 0);
	is_int(S.msg[0].engine, 1, "takes go to the engine that is up");
	answer_all(JOB_PING, 1, false);
	take(2, 1, 0);
	ok(sent() == POOL_MSG_ERROR, "no engine up: a take is refused at once");
	is_str(S.msg[0].code, "engine_unavailable", "with engine_unavailable");
	is_str(S.msg[0].text, "No Docker engine is answering.", "and a sentence");
	now += 1000;
	tick();
	is_int(jobs(JOB_CREATE, -1, -1), 0, "no creation while every engine is down");
	is_int(jobs(JOB_PING, -1, -1), 2, "the pings go on");
	answer_all(JOB_PING, 0, true);
	tick();
	is_int(jobs(JOB_CREATE, 0, 0), 2, "back up: its pool is refilled");
	pool_free(&P);
}

static void test_create_failures(void)
{
	setup(1, 1, 0, 4, 0);
	engines_up();
	answer_all(JOB_CREATE, -1, false);
	tick();
	is_int(jobs(JOB_PING, 0, -1), 1, "a failed creation has the engine pinged at once");
	is_int(jobs(JOB_CREATE, -1, -1), 0, "and backs off");
	is_int(pool_next_timeout(&P, now), 200, "for 200 ms after the first failure");
	now += 200;
	tick();
	is_int(jobs(JOB_CREATE, -1, -1), 1, "then tries again");
	answer_all(JOB_CREATE, -1, false);
	take(1, 1, 0);
	is_int(S.n_send, 0, "two failures in a row: a take still waits");
	now += 400;
	tick();
	is_int(jobs(JOB_CREATE, 0, 0), 2, "400 ms later: one for the pool, one for the waiter");
	answer_all(JOB_CREATE, -1, false);
	is_int(P.engines[0].create_retry_at - now, 1600, "four failures: 1600 ms of back-off");
	now += 1600;
	tick();
	ok(sent() == POOL_MSG_ERROR && S.msg[0].seq == 1, "three failures or more in a row: the waiter is refused");
	is_str(S.msg[0].code, "sandbox_failing", "with sandbox_failing");
	answer_all(JOB_PING, -1, true);
	answer_all(JOB_CREATE, -1, false);
	take(2, 2, 0);
	ok(sent() == POOL_MSG_ERROR, "a ping that answers does not clear the failures of a healthy engine");
	now += 5000;
	tick();
	is_int(jobs(JOB_CREATE, 0, 0), 1, "its back-off over, it tries again");
	answer_all(JOB_CREATE, -1, true);
	take(3, 3, 0);
	ok(sent() == POOL_MSG_CONTAINER, "a creation that works does");
	pool_free(&P);
}

static void test_suspect(void)
{
	setup(2, 2, 0, 8, 0);
	engines_up();
	fill();
	take(1, 1, 0);
	is_int(S.msg[0].engine, 0, "a container of the first engine");
	now += 10;
	pool_release(&P, 0, S.msg[0].id, true, now);
	drain();
	ok(removal_of("c1", false), "a container that could not be attached is removed at once");
	take(2, 1, 0);
	is_int(S.msg[0].engine, 1, "its engine is suspect: the retry gets another engine's");
	take(3, 1, 0);
	is_int(S.msg[0].engine, 1, "even when that one is busier");
	tick();
	is_int(jobs(JOB_PING, 0, -1), 1, "the suspect engine is pinged at once");
	pending_job(JOB_PING, 0)->posted = now - 20;
	answer_all(JOB_PING, 0, true);
	take(4, 1, 0);
	is_int(S.n_send, 0, "a ping posted before the failure does not clear it (both engines: wait)");
	tick();
	now += 1000;
	tick();
	answer_all(JOB_PING, 0, true);
	tick();
	ok(S.n_send == 1 && S.msg[0].seq == 1 && S.client[0] == 4 && S.msg[0].engine == 0,
	    "a ping posted after it does: the waiter gets the first engine's container");
	pool_free(&P);
}

static void test_waiters_and_late_grants(void)
{
	setup(1, 1, 0, 1, 0);
	C.engine_ping_interval_ms = 60000;	/* no ping to wake up for */
	engines_up();
	answer_all(JOB_CREATE, -1, true);
	take(1, 1, 0);
	ok(sent() == POOL_MSG_CONTAINER, "the one container");
	take(2, 7, 0);
	is_int(S.n_send, 0, "the next request waits");
	is_int(pool_next_timeout(&P, now), 1000, "the loop sleeps no longer than a second");
	tick();
	is_int(jobs(JOB_CREATE, 0, 0), 1, "a waiter counts as a missing container");
	now += 2999;
	is_int(pool_next_timeout(&P, now), 1, "the loop wakes up at the waiter's deadline");
	tick();
	is_int(S.n_send, 0, "1 ms before its deadline: still waiting");
	now += 1;
	tick();
	ok(sent() == POOL_MSG_ERROR && S.msg[0].seq == 7 && S.client[0] == 2,
	    "at its deadline the waiter is refused");
	is_str(S.msg[0].code, "sandbox_busy", "with sandbox_busy");
	is_str(S.msg[0].text, "No sandbox container became free in time.", "and why");
	answer_all(JOB_CREATE, -1, true);
	tick();
	is_int(S.n_send, 0, "a container made after its waiter gave up goes to nobody...");
	is_int(pool_count_idle(&P, 0, 0), 1, "...it stays idle");
	take(3, 1, 0);
	ok(sent() == POOL_MSG_CONTAINER && S.client[0] == 3, "and the next request gets it at once");

	take(4, 1, 0);
	tick();
	pool_worker_gone(&P, 4, now);
	drain();
	answer_all(JOB_CREATE, -1, true);
	tick();
	is_int(S.n_send, 0, "a worker gone while waiting is not answered");
	is_int(pool_count_idle(&P, 0, 0), 1, "the container made for it stays idle");

	take(5, 1, 0);
	take(6, 2, 0);
	tick();
	answer_all(JOB_CREATE, -1, true);
	tick();
	ok(S.n_send == 1 && S.client[0] == 6 && S.msg[0].seq == 2 && S.msg[0].type == POOL_MSG_CONTAINER,
	    "a container made before the deadline goes to the waiter");
	pool_free(&P);
}

static void test_release_grace(void)
{
	char id[DOCKER_ID_MAX + 1];

	setup(1, 1, 0, 1, 0);
	engines_up();
	answer_all(JOB_CREATE, -1, true);
	take(1, 1, 0);
	snprintf(id, sizeof(id), "%s", S.msg[0].id);
	pool_release(&P, 0, id, false, now);
	drain();
	is_int(S.n_job, 0, "a used container is not removed at once");
	is_int(pool_count_claimed(&P, 0), 1, "it still counts as busy");
	now += 1999;
	tick();
	ok(!removal_of(id, false), "1999 ms later: still not");
	now += 1;
	tick();
	ok(removal_of(id, false), "after RELEASE_GRACE_MS it is removed");
	is_int(pool_count_claimed(&P, 0), 0, "and no longer counted");
	pool_release(&P, 0, id, false, now);
	drain();
	is_int(S.n_job, 0, "a second release while its removal runs: nothing more");
	answer_all(JOB_REMOVE, -1, true);
	pool_release(&P, 0, "predecessors", false, now);
	drain();
	ok(removal_of("predecessors", false), "a container we never had (a reload's predecessor's): removed");
	pool_release(&P, 5, "nowhere", false, now);
	drain();
	is_int(S.n_job, 0, "unknown and of no engine we know: ignored");
	pool_free(&P);
}

static void test_reaper(void)
{
	struct container_info list[8];
	struct job j;
	long own_max = (20000 + 10000) / 1000 + 1, foreign_max = 300 + own_max;

	setup(1, 1, 0, 1, 0);
	engines_up();
	answer_all(JOB_CREATE, -1, true);
	memset(list, 0, sizeof(list));
	snprintf(list[0].id, sizeof(list[0].id), "c1");	/* ours */
	list[0].created = WALL0 - 100000;
	snprintf(list[0].node, sizeof(list[0].node), "node-a");
	snprintf(list[1].id, sizeof(list[1].id), "own-old");
	list[1].created = WALL0 - own_max - 1;
	snprintf(list[1].node, sizeof(list[1].node), "node-a");
	snprintf(list[2].id, sizeof(list[2].id), "own-young");
	list[2].created = WALL0 - own_max;
	snprintf(list[2].node, sizeof(list[2].node), "node-a");
	snprintf(list[3].id, sizeof(list[3].id), "foreign-young");
	list[3].created = WALL0 - foreign_max;
	snprintf(list[3].node, sizeof(list[3].node), "node-b");
	snprintf(list[4].id, sizeof(list[4].id), "foreign-old");
	list[4].created = WALL0 - foreign_max - 1;
	snprintf(list[4].node, sizeof(list[4].node), "node-b");
	snprintf(list[5].id, sizeof(list[5].id), "predecessor");
	list[5].created = WALL0 - own_max - 5;
	snprintf(list[5].node, sizeof(list[5].node), "node-a");
	list[5].keeper = 77;
	snprintf(list[6].id, sizeof(list[6].id), "predecessor-old");
	list[6].created = WALL0 - foreign_max - 1;
	snprintf(list[6].node, sizeof(list[6].node), "node-a");
	list[6].keeper = 77;
	snprintf(list[7].id, sizeof(list[7].id), "mine-by-pid");
	list[7].created = WALL0 - own_max - 5;
	snprintf(list[7].node, sizeof(list[7].node), "node-a");
	list[7].keeper = 4242;
	alive_pid = 77;

	memset(&j, 0, sizeof(j));
	j.kind = JOB_LIST;
	j.engine = 0;
	j.ok = 1;
	j.list = list;
	j.n_list = 8;
	pool_on_job(&P, &j, now, WALL0);
	drain();
	ok(!removal_of("c1", true) && !removal_of("c1", false), "a container we track is left alone");
	ok(removal_of("own-old", true), "one of this node older than a request can last is reaped");
	ok(!removal_of("own-young", true), "a younger one is not (a worker may still use it)");
	ok(!removal_of("foreign-young", true), "another node's within idle_max_age_s + a request: kept");
	ok(removal_of("foreign-old", true), "another node's older than that: reaped");
	ok(!removal_of("predecessor", true), "a draining predecessor's (its keeper alive): kept");
	ok(removal_of("predecessor-old", true), "...unless older than any drain could last");
	ok(removal_of("mine-by-pid", true), "a keeper label with our own pid does not protect it");
	is_int(S.n_job, 4, "four removals, nothing else");
	pool_on_job(&P, &j, now, WALL0);
	drain();
	is_int(S.n_job, 0, "listed again while their removals run: not removed twice");

	take(1, 1, 0);
	now += 20000 + 10000;
	pool_on_job(&P, &j, now, WALL0);
	drain();
	is_int(S.n_job, 0, "claimed as long as a request can last: left alone");
	now += 1;
	pool_on_job(&P, &j, now, WALL0);
	drain();
	is_int(pool_count_claimed(&P, 0), 1, "claimed longer: released (counted until its grace is over)");
	now += RELEASE_GRACE_MS;
	tick();
	ok(removal_of("c1", false), "and then removed");
	pool_free(&P);
}

static void test_recycling(void)
{
	setup(1, 1, 0, 1, 0);
	engines_up();
	answer_all(JOB_CREATE, -1, true);
	now += 300 * 1000;
	tick();
	ok(!removal_of("c1", false), "idle for idle_max_age_s: kept");
	answer_all(JOB_PING, -1, true);
	now += 1;
	tick();
	ok(removal_of("c1", false), "longer: replaced");
	is_int(jobs(JOB_CREATE, 0, 0), 1, "by a new one");
	pool_free(&P);
}

static void test_worker_gone(void)
{
	setup(1, 2, 0, 2, 0);
	engines_up();
	answer_all(JOB_CREATE, -1, true);
	take(3, 1, 0);
	take(4, 1, 0);
	pool_worker_gone(&P, 3, now);
	drain();
	ok(removal_of("c1", true), "what a worker that went away held is removed");
	ok(!removal_of("c2", true), "not what another worker holds");
	pool_free(&P);
}

static void test_stopping(void)
{
	setup(1, 3, 0, 4, 0);
	engines_up();
	answer_all(JOB_CREATE, -1, true);
	take(1, 1, 0);
	take(2, 1, 0);
	pool_release(&P, 0, S.msg[0].id, false, now);
	take(3, 1, 1);
	tick();
	pool_stop(&P, now);
	drain();
	ok(removal_of("c3", false), "stopping removes the idle containers");
	ok(removal_of("c2", false), "and the released ones at once");
	ok(S.n_send == 1 && S.msg[0].type == POOL_MSG_RECONNECT && S.client[0] == 3,
	    "a waiting worker is told to reconnect (R)");
	is_int(pool_count_claimed(&P, -1), 1, "the claimed one stays");
	ok(!pool_drained(&P, now), "so it is not drained");
	take(4, 9, 0);
	ok(sent() == POOL_MSG_RECONNECT && S.msg[0].seq == 9, "a take while stopping: R");
	tick();
	is_int(S.n_job + S.n_send, 0, "no timers while stopping");
	is_int(pool_next_timeout(&P, now), 100, "the loop checks back every 100 ms");
	answer_all(JOB_CREATE, -1, true);
	pool_stop(&P, now);
	drain();
	is_int(S.n_send, 0, "stopping twice does nothing");
	pool_release(&P, 0, "c1", false, now);
	drain();
	ok(removal_of("c1", false), "a release while stopping: removed at once");
	ok(pool_drained(&P, now), "all back: drained");
	ok(pool_busy(&P), "removals in flight: busy");
	answer_all(JOB_REMOVE, -1, true);
	ok(!pool_busy(&P), "removals done: not busy");
	pool_free(&P);

	setup(1, 1, 0, 2, 0);
	engines_up();
	answer_all(JOB_CREATE, -1, true);
	take(1, 1, 0);
	tick();
	pool_stop(&P, now);
	drain();
	ok(pool_busy(&P), "a creation in flight: busy");
	answer_all(JOB_CREATE, -1, true);
	ok(removal_of("c2", false), "a container created while stopping is removed");
	ok(!pool_drained(&P, now + 20000 + 2000), "a claimed container is waited for as long as a request");
	ok(pool_drained(&P, now + 20000 + 2001), "and no longer");
	pool_remove_all(&P, now);
	drain();
	ok(removal_of("c1", false), "at the end, everything held is removed");
	pool_free(&P);
}

static void test_messages(void)
{
	static const char take_msg[] = "T 5 0", bad[] = "T 5 9", junk[] = "X";

	setup(1, 1, 0, 1, 0);
	engines_up();
	answer_all(JOB_CREATE, -1, true);
	pool_on_message(&P, 2, bad, strlen(bad), now);
	drain();
	is_int(S.n_send + S.n_job, 0, "an unknown variant is ignored");
	pool_on_message(&P, 2, junk, strlen(junk), now);
	drain();
	is_int(S.n_send + S.n_job, 0, "junk is ignored");
	pool_on_message(&P, 2, take_msg, strlen(take_msg), now);
	drain();
	ok(sent() == POOL_MSG_CONTAINER && S.msg[0].seq == 5 && S.client[0] == 2, "T is a take");
	pool_on_message(&P, 2, "F 0 c1", 6, now);
	drain();
	ok(removal_of("c1", false), "F is a failed release");
	pool_free(&P);
}

int main(void)
{
	test_refill_limits();
	test_least_busy();
	test_engine_down_and_back();
	test_create_failures();
	test_suspect();
	test_waiters_and_late_grants();
	test_release_grace();
	test_reaper();
	test_recycling();
	test_worker_gone();
	test_stopping();
	test_messages();
	return tap_done();
}
