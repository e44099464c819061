/*
 * pool/keeper.c: the pool keeper's I/O (see pool/keeper.h): the socket the workers connect
 * to, poll(), the engine threads (pool/jobs.c) and the signals. Every decision
 * is pool/state.c's: each event goes to its handler, and what the handler asks
 * for (answers to workers, engine jobs) is done right after by deliver().
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "engine/attach.h"
#include "engine/docker.h"
#include "engine/sandbox.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "pool/jobs.h"
#include "pool/keeper.h"
#include "pool/proto.h"
#include "pool/state.h"
#include "worker/metrics.h"

#define MAX_CLIENTS 1024

/* The keeper's I/O side; the state machine is p. */
struct keeper {
	struct pool p;
	struct engine *engines;
	struct job_lanes *lanes;	/* by engine */
	char *spec_json[POOL_VARIANTS];
	int listen_fd;
	int clients[MAX_CLIENTS];	/* fds by slot, -1 free */
	size_t n_clients;
	struct pollfd *pfd;
};

static volatile sig_atomic_t got_term;

static void on_term(int sig)
{
	(void)sig;
	got_term = 1;
}

/* Another process of this pid (a keeper of this node) still runs. */
static bool pid_alive(long pid)
{
	return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

static void send_to(struct keeper *k, int client, const struct pool_msg *m)
{
	char buf[POOL_MSG_MAX + 1];
	int n;

	if (client < 0 || (size_t)client >= k->n_clients || k->clients[client] < 0)
		return;
	n = pool_msg_encode(m, buf, sizeof(buf));
	if (n < 0) {
		lerr("pool: cannot encode an answer of type %c", (char)m->type);
		return;
	}
	if (send(k->clients[client], buf, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		lwarn("pool: cannot answer a worker: %s", strerror(errno));
}

/* Do what the state machine asked for: answer workers, post engine jobs. */
static void deliver(struct keeper *k)
{
	struct pool_out *o;

	while ((o = pool_next_out(&k->p)) != NULL) {
		if (o->kind == POOL_OUT_SEND) {
			send_to(k, o->client, &o->msg);
		} else {
			job_post(&k->lanes[o->job->engine], o->job);
		}
		free(o);
	}
}

static void drain_results(struct keeper *k)
{
	struct job *j;

	jobs_clear_wake();
	while ((j = jobs_take_result()) != NULL) {
		pool_on_job(&k->p, j, clock_ms(), time(NULL));
		job_free(j);
		deliver(k);
	}
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

static void accept_clients(struct keeper *k)
{
	for (;;) {
		int fd = accept4(k->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		size_t slot;

		if (fd < 0)
			return;
		for (slot = 0; slot < k->n_clients && k->clients[slot] >= 0; slot++)
			;
		if (slot == MAX_CLIENTS) {
			lerr("pool: too many workers connected");
			close(fd);
			continue;
		}
		if (slot == k->n_clients)
			k->n_clients++;
		k->clients[slot] = fd;
	}
}

static void drop_client(struct keeper *k, int slot)
{
	pool_worker_gone(&k->p, slot, clock_ms());
	deliver(k);
	close(k->clients[slot]);
	k->clients[slot] = -1;
}

static void read_clients(struct keeper *k, size_t base, size_t nfds)
{
	for (size_t i = 0; i < k->n_clients && base + i < nfds; i++) {
		struct pollfd *pfd = &k->pfd[base + i];
		char msg[POOL_MSG_MAX + 1];
		ssize_t n;

		if (k->clients[i] < 0 || pfd->fd != k->clients[i] || !pfd->revents)
			continue;
		while ((n = recv(k->clients[i], msg, sizeof(msg), MSG_DONTWAIT)) > 0) {
			pool_on_message(&k->p, (int)i, msg, (size_t)n, clock_ms());
			deliver(k);
		}
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
			drop_client(k, (int)i);
	}
}

/* Remove everything we hold, then wait (bounded) for the removals and any creation in flight. */
static void shutdown_pool(struct keeper *k)
{
	long long deadline = clock_ms() + 10000;

	pool_remove_all(&k->p, clock_ms());
	deliver(k);
	while (pool_busy(&k->p) && clock_ms() <= deadline) {
		struct pollfd p = { jobs_wake_fd(), POLLIN, 0 };

		poll(&p, 1, 100);
		drain_results(k);
	}
	if (!LIST_EMPTY(&k->p.removing))
		lwarn("pool: stopped with removals still pending (the reaper of the next start will finish them)");
}

/* SIGTERM: stop listening (a newer keeper may share the socket), then the state machine drains. */
static void begin_stopping(struct keeper *k)
{
	close(k->listen_fd);
	k->listen_fd = -1;
	pool_stop(&k->p, clock_ms());
	deliver(k);
}

static void set_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
}

/* Engines, their threads, the state machine. Returns 0 or -1 (logged). */
static int keeper_init(struct keeper *k, const struct config *c, int listen_fd)
{
	size_t n = c->n_engines ? c->n_engines : 1;

	k->listen_fd = listen_fd;
	for (size_t i = 0; i < MAX_CLIENTS; i++)
		k->clients[i] = -1;
	if (jobs_init() < 0) {
		lerr("pool: pipe: %s", strerror(errno));
		return -1;
	}
	k->spec_json[0] = sandbox_container_spec(c, false);
	k->spec_json[1] = sandbox_container_spec(c, true);
	k->engines = calloc(n, sizeof(*k->engines));
	k->lanes = calloc(n, sizeof(*k->lanes));
	k->pfd = calloc(MAX_CLIENTS + 2, sizeof(*k->pfd));
	if (k->spec_json[0] == NULL || k->spec_json[1] == NULL || k->engines == NULL || k->lanes == NULL ||
	    k->pfd == NULL || pool_init(&k->p, c, k->engines, (long)getpid(), pid_alive, clock_ms()) < 0) {
		lerr("pool: out of memory");
		return -1;
	}
	fcntl(listen_fd, F_SETFL, fcntl(listen_fd, F_GETFL) | O_NONBLOCK);
	for (size_t e = 0; e < c->n_engines; e++)
		if (engine_init(&k->engines[e], &c->engines[e], (int)e) < 0 ||
		    jobs_start(&k->lanes[e], &k->engines[e], k->spec_json, c->pool_create_parallel) < 0) {
			lerr("pool: cannot set up engine %s", c->engines[e].url);
			return -1;
		}
	linfo("pool: keeping %d ready container(s) (+%d cmd-no-bin) on each of %zu engine(s)", c->pool_size,
	    c->pool_size_nobin, c->n_engines);
	return 0;
}

/* Wait for the next event; false when poll fails. */
static bool wait_events(struct keeper *k, long long now)
{
	size_t nfds = 0;

	k->pfd[nfds++] = (struct pollfd){ k->listen_fd, POLLIN, 0 };
	k->pfd[nfds++] = (struct pollfd){ jobs_wake_fd(), POLLIN, 0 };
	for (size_t i = 0; i < k->n_clients; i++)
		k->pfd[nfds++] = (struct pollfd){ k->clients[i], POLLIN, 0 };
	if (poll(k->pfd, nfds, pool_next_timeout(&k->p, now)) < 0 && errno != EINTR) {
		lerr("pool: poll: %s", strerror(errno));
		return false;
	}
	if (k->listen_fd >= 0 && k->pfd[0].revents)
		accept_clients(k);
	drain_results(k);
	read_clients(k, 2, nfds);
	return true;
}

int pool_keeper_main(const struct config *c, int listen_fd)
{
	struct keeper k;

	memset(&k, 0, sizeof(k));
	log_set_role("pool");
	/* ps, top and the bench tell the keeper from the workers by this name. */
	prctl(PR_SET_NAME, "cmdarena-pool");
	set_signals();
	if (keeper_init(&k, c, listen_fd) < 0)
		return 1;
	for (;;) {
		long long now = clock_ms();

		if (got_term && !k.p.stopping)
			begin_stopping(&k);
		if (pool_drained(&k.p, now))
			break;
		pool_tick(&k.p, now);
		deliver(&k);
		pool_publish_gauges(&k.p);
		if (metrics != NULL)	/* for /healthz: the loop turns at least once a second */
			metrics_gauge_set(&metrics->keeper_beat_ms, now);
		if (!wait_events(&k, now))
			break;
	}
	linfo("pool: stopped serving; removing what is left");
	shutdown_pool(&k);
	pool_publish_gauges(&k.p);
	/* Threads are blocked on their queues or in a bounded engine call; exiting ends them. */
	return 0;
}
