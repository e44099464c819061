/*
 * master.c: cmdarena-fcgi's master process.
 *
 * It reads the config and the catalogue, opens the FastCGI socket and the
 * pool socket, forks the pool keeper and the workers, and then only watches:
 * a dead child is replaced (with a pause when children die young), SIGHUP
 * re-reads everything and rolls the children (new ones start before old ones
 * are asked to finish, so no request is refused), SIGTERM stops everything.
 * Signal handlers only set flags; the loop acts on them.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <fcgiapp.h>

#include "config/catalogue.h"
#include "config/config.h"
#include "engine/attach.h"
#include "engine/sandbox.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "pool/keeper.h"
#include "worker/inflight.h"
#include "worker/local_limit.h"
#include "worker/master.h"
#include "worker/metrics.h"
#include "worker/worker.h"

#define MAX_WORKERS 256
/* Requests in flight on this node, with room to spare (inflight.h). */
#define INFLIGHT_RECORDS 2048

enum child_kind { CHILD_WORKER, CHILD_POOL };

struct child {
	pid_t pid;
	enum child_kind kind;
	int slot;		/* worker index */
	bool retiring;		/* asked to finish: do not replace */
	long long started;
};

static struct child children[2 * MAX_WORKERS + 4];
static size_t n_children;

static volatile sig_atomic_t got_term, got_hup, got_chld;
static pid_t master_pid;

static void on_signal(int sig)
{
	if (sig == SIGTERM || sig == SIGINT)
		got_term = 1;
	else if (sig == SIGHUP)
		got_hup = 1;
	else if (sig == SIGCHLD)
		got_chld = 1;
}

struct master {
	char *config_path;
	char **overrides;
	int n_overrides;
	char *pid_file;
	struct config cfg;
	struct catalogue cat;
	int fcgi_fd;
	int pool_fd;
};

static int load_all(struct master *m, struct config *cfg, struct catalogue *cat)
{
	char err[1024];
	struct load_report rep = { STRBUF_INIT, 0, 0 };
	enum log_level level;
	int rc = -1;

	if (config_defaults(cfg) < 0) {
		lerr("out of memory");
		return -1;
	}
	if (m->config_path && config_load(cfg, m->config_path, err, sizeof(err)) < 0) {
		lerr("%s", err);
		goto out;
	}
	for (int i = 0; i < m->n_overrides; i++)
		if (config_set(cfg, m->overrides[i], err, sizeof(err)) < 0) {
			lerr("%s", err);
			goto out;
		}
	if (config_finish(cfg, err, sizeof(err)) < 0) {
		lerr("%s: %s", m->config_path ? m->config_path : "settings", err);
		goto out;
	}
	if (log_level_parse(cfg->log_level, &level) < 0) {
		lerr("log_level must be error, warn, info or debug, not '%s'", cfg->log_level);
		goto out;
	}
	log_init("master", level);
	log_use_syslog(cfg->log_syslog);
	if (cfg->workers > MAX_WORKERS) {
		lerr("workers: at most %d", MAX_WORKERS);
		goto out;
	}
	if (catalogue_load(cat, cfg->challenges, &rep) < 0) {
		lerr("the challenges in %s did not load:\n%s", cfg->challenges, rep.text.buf ? rep.text.buf : "");
		goto out;
	}
	if (rep.warnings)
		lwarn("challenges loaded with warnings:\n%s", rep.text.buf);
	rc = 0;
out:
	load_report_free(&rep);
	if (rc < 0)
		config_free(cfg);
	return rc;
}

static int open_fcgi_socket(const struct config *cfg)
{
	int fd;

	unlink(cfg->socket);
	fd = FCGX_OpenSocket(cfg->socket, cfg->backlog);
	if (fd < 0) {
		lerr("cannot listen on %s: %s", cfg->socket, strerror(errno));
		return -1;
	}
	if (chmod(cfg->socket, cfg->socket_mode) < 0)
		lwarn("chmod %s: %s", cfg->socket, strerror(errno));
	return fd;
}

static struct child *new_child_slot(void)
{
	for (size_t i = 0; i < n_children; i++)
		if (children[i].pid == 0)
			return &children[i];
	if (n_children < sizeof(children) / sizeof(children[0]))
		return &children[n_children++];
	return NULL;
}

static pid_t spawn(struct master *m, enum child_kind kind, int slot)
{
	struct child *c = new_child_slot();
	sigset_t none;
	pid_t pid;

	if (c == NULL) {
		lerr("too many children");
		return -1;
	}
	master_pid = getpid();
	pid = fork();
	if (pid < 0) {
		lerr("fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		int status;

		/* A master killed outright (SIGKILL) must not leave its children running: they get
		 * SIGTERM and finish as on a normal stop (the pool keeper removes its containers). */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != master_pid)
			_exit(1);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGCHLD, SIG_DFL);
		if (kind == CHILD_POOL) {
			close(m->fcgi_fd);
			status = pool_keeper_main(&m->cfg, m->pool_fd);
		} else {
			close(m->pool_fd);
			status = worker_main(&m->cfg, &m->cat, m->fcgi_fd, slot);
		}
		_exit(status);
	}
	c->pid = pid;
	c->kind = kind;
	c->slot = slot;
	c->retiring = false;
	c->started = clock_ms();
	if (kind == CHILD_WORKER && metrics)
		metrics_gauge_add(&metrics->workers_alive, 1);
	return pid;
}

static void signal_children(int sig, bool only_current)
{
	for (size_t i = 0; i < n_children; i++)
		if (children[i].pid > 0 && (!only_current || !children[i].retiring))
			kill(children[i].pid, sig);
}

static size_t live_children(void)
{
	size_t n = 0;

	for (size_t i = 0; i < n_children; i++)
		if (children[i].pid > 0)
			n++;
	return n;
}

static void reap(struct master *m, bool respawn)
{
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (size_t i = 0; i < n_children; i++) {
			struct child *c = &children[i];
			bool young;

			if (c->pid != pid)
				continue;
			c->pid = 0;
			if (c->kind == CHILD_WORKER && metrics)
				metrics_gauge_add(&metrics->workers_alive, -1);
			if (c->retiring || !respawn)
				break;
			if (WIFSIGNALED(status))
				lerr("%s %d (pid %ld) was killed by signal %d: replacing it",
				    c->kind == CHILD_POOL ? "pool keeper" : "worker", c->slot, (long)pid, WTERMSIG(status));
			else
				lerr("%s %d (pid %ld) exited with status %d: replacing it",
				    c->kind == CHILD_POOL ? "pool keeper" : "worker", c->slot, (long)pid, WEXITSTATUS(status));
			/* A child that dies at once would die again at once: slow down. */
			young = clock_ms() - c->started < 1000;
			if (young) {
				struct timespec ts = { 1, 0 };

				nanosleep(&ts, NULL);
			}
			if (c->kind == CHILD_WORKER && metrics)
				metrics_add(&metrics->workers_respawned, 1);
			spawn(m, c->kind, c->slot);
			break;
		}
	}
}

static bool same_str(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

/* Everything the pool keeper uses is unchanged: the running one (and its warm pool) can stay. */
static bool pool_settings_same(const struct config *a, const struct config *b)
{
	bool same = a->n_engines == b->n_engines && same_str(a->node_id, b->node_id) &&
	    same_str(a->log_level, b->log_level) && a->log_syslog == b->log_syslog &&
	    a->pool_size == b->pool_size && a->pool_size_nobin == b->pool_size_nobin &&
	    a->pool_refill_per_s == b->pool_refill_per_s && a->pool_create_parallel == b->pool_create_parallel &&
	    a->pool_wait_ms == b->pool_wait_ms && a->idle_max_age_s == b->idle_max_age_s &&
	    a->reap_interval_s == b->reap_interval_s && a->reap_margin_ms == b->reap_margin_ms &&
	    a->engine_ping_interval_ms == b->engine_ping_interval_ms && a->hard_deadline_ms == b->hard_deadline_ms;

	for (size_t i = 0; same && i < a->n_engines; i++)
		same = same_str(a->engines[i].url, b->engines[i].url) && same_str(a->engines[i].tls_cert, b->engines[i].tls_cert) &&
		    same_str(a->engines[i].tls_key, b->engines[i].tls_key) && same_str(a->engines[i].tls_ca, b->engines[i].tls_ca);
	/* The container specs hold the image and every limit. */
	for (int nobin = 0; same && nobin < 2; nobin++) {
		char *sa = sandbox_container_spec(a, nobin), *sb = sandbox_container_spec(b, nobin);

		same = sa && sb && strcmp(sa, sb) == 0;
		free(sa);
		free(sb);
	}
	return same;
}

/* The sockets stay where they are: the new config takes the running one's paths. */
static int keep_socket_paths(const struct config *running, struct config *cfg)
{
	if (strcmp(cfg->socket, running->socket) != 0 || strcmp(cfg->pool_socket, running->pool_socket) != 0)
		lwarn("socket paths do not change on reload: restart to move them");
	free(cfg->socket);
	cfg->socket = strdup(running->socket);
	free(cfg->pool_socket);
	cfg->pool_socket = strdup(running->pool_socket);
	if (cfg->socket == NULL || cfg->pool_socket == NULL) {
		lerr("out of memory");
		return -1;
	}
	return 0;
}

/*
 * Retire the current generation (the first old_count children), then start the new one; the
 * old finish what they hold. The pool keeper is replaced only when a setting it uses changed:
 * a new one starts with no warm container, so requests wait for cold starts for a moment.
 */
static void roll_children(struct master *m, size_t old_count, bool keep_pool)
{
	for (size_t i = 0; i < old_count; i++)
		if (children[i].pid > 0 && !(keep_pool && children[i].kind == CHILD_POOL))
			children[i].retiring = true;
	if (!keep_pool)
		spawn(m, CHILD_POOL, 0);
	for (int i = 0; i < m->cfg.workers; i++)
		spawn(m, CHILD_WORKER, i);
	for (size_t i = 0; i < old_count; i++)
		if (children[i].pid > 0 && children[i].retiring)
			kill(children[i].pid, SIGTERM);
}

static void reload(struct master *m)
{
	struct config cfg;
	struct catalogue cat;
	size_t old_count = n_children;
	bool keep_pool;

	linfo("SIGHUP: reloading the config and the challenges");
	if (load_all(m, &cfg, &cat) < 0) {
		lerr("reload failed: keeping the running config and challenges");
		return;
	}
	if (keep_socket_paths(&m->cfg, &cfg) < 0) {
		lerr("reload failed: keeping the running config and challenges");
		config_free(&cfg);
		catalogue_free(&cat);
		return;
	}
	keep_pool = pool_settings_same(&m->cfg, &cfg);
	config_free(&m->cfg);
	catalogue_free(&m->cat);
	m->cfg = cfg;
	m->cat = cat;
	roll_children(m, old_count, keep_pool);
	if (metrics)
		metrics_add(&metrics->reloads, 1);
	linfo("reloaded: %zu challenges, %d workers, %s pool keeper", m->cat.n, m->cfg.workers,
	    keep_pool ? "the same" : "a new");
}

static void stop_all(struct master *m)
{
	long long deadline = clock_ms() + m->cfg.hard_deadline_ms + 12000;
	sigset_t mask;

	linfo("stopping");
	signal_children(SIGTERM, false);
	sigemptyset(&mask);
	while (live_children() > 0 && clock_ms() < deadline) {
		struct timespec ts = { 0, 50 * 1000000L };

		nanosleep(&ts, NULL);
		reap(m, false);
	}
	if (live_children() > 0) {
		lwarn("children still running after the grace period: killing them");
		signal_children(SIGKILL, false);
		while (live_children() > 0 && waitpid(-1, NULL, 0) > 0)
			reap(m, false);
		reap(m, false);
	}
}

static int write_pid_file(const char *path)
{
	FILE *f = fopen(path, "w");

	if (f == NULL) {
		lerr("cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	fprintf(f, "%ld\n", (long)getpid());
	if (ferror(f) | fclose(f)) {
		lerr("cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static void usage(FILE *f)
{
	fputs("usage: cmdarena-fcgi [-c FILE] [-o KEY=VALUE]... [-p PIDFILE] [-t]\n"
	    "  -c FILE    the config file (cmdarena.conf(5))\n"
	    "  -o K=V     override one setting (repeatable)\n"
	    "  -p FILE    write the master's pid there\n"
	    "  -t         check the config and the challenges, then exit\n", f);
}

/*
 * Read the command line into m. Returns true to go on; false with *status the exit status
 * (0 after -h, 2 on a usage error, 1 when out of memory).
 */
static bool parse_args(struct master *m, int argc, char **argv, bool *test_only, int *status)
{
	int opt;

	m->overrides = calloc((size_t)argc + 1, sizeof(char *));
	if (m->overrides == NULL) {
		lerr("out of memory");
		*status = 1;
		return false;
	}
	while ((opt = getopt(argc, argv, "c:o:p:th")) != -1) {
		switch (opt) {
		case 'c': m->config_path = optarg; break;
		case 'o': m->overrides[m->n_overrides++] = optarg; break;
		case 'p': m->pid_file = optarg; break;
		case 't': *test_only = true; break;
		case 'h': usage(stdout); *status = 0; return false;
		default: usage(stderr); *status = 2; return false;
		}
	}
	if (optind != argc) {
		usage(stderr);
		*status = 2;
		return false;
	}
	return true;
}

/* What every child shares: libcurl, the shared mappings, the two listening sockets, the pid file. */
static int open_shared(struct master *m)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 || metrics_init() < 0 || local_limits_init() < 0 ||
	    inflight_init(INFLIGHT_RECORDS) < 0) {
		lerr("cannot initialise libcurl, the shared metrics or the local rate limits");
		return -1;
	}
	m->fcgi_fd = open_fcgi_socket(&m->cfg);
	m->pool_fd = pool_listen(m->cfg.pool_socket);
	if (m->fcgi_fd < 0 || m->pool_fd < 0 || (m->pid_file && write_pid_file(m->pid_file) < 0))
		return -1;
	return 0;
}

/* Signals are blocked except while the loop sleeps in sigsuspend; the handlers only set flags. */
static void install_signal_handlers(void)
{
	static const int handled[] = { SIGTERM, SIGINT, SIGHUP, SIGCHLD };
	struct sigaction sa;
	sigset_t block;

	sigemptyset(&block);
	for (size_t i = 0; i < sizeof(handled) / sizeof(handled[0]); i++)
		sigaddset(&block, handled[i]);
	sigprocmask(SIG_BLOCK, &block, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	for (size_t i = 0; i < sizeof(handled) / sizeof(handled[0]); i++)
		sigaction(handled[i], &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* Start the children, then act on the signals until told to stop; stop them all. */
static void serve(struct master *m)
{
	sigset_t none;

	install_signal_handlers();
	linfo("listening on %s: %zu challenges, %d workers, %zu engine(s), image %s", m->cfg.socket, m->cat.n,
	    m->cfg.workers, m->cfg.n_engines, m->cfg.image);
	spawn(m, CHILD_POOL, 0);
	for (int i = 0; i < m->cfg.workers; i++)
		spawn(m, CHILD_WORKER, i);
	sigemptyset(&none);
	while (!got_term) {
		sigsuspend(&none);
		if (got_chld) {
			got_chld = 0;
			reap(m, true);
		}
		if (got_hup) {
			got_hup = 0;
			reload(m);
		}
	}
	stop_all(m);
	unlink(m->cfg.socket);
	unlink(m->cfg.pool_socket);
	if (m->pid_file)
		unlink(m->pid_file);
	linfo("stopped");
}

static void master_free(struct master *m)
{
	if (m->fcgi_fd >= 0)
		close(m->fcgi_fd);
	if (m->pool_fd >= 0)
		close(m->pool_fd);
	catalogue_free(&m->cat);
	config_free(&m->cfg);
	free(m->overrides);
}

int master_main(int argc, char **argv)
{
	struct master m;
	bool test_only = false;
	int status = 0;

	memset(&m, 0, sizeof(m));
	m.fcgi_fd = m.pool_fd = -1;
	log_init("master", LOG_INFO);
	if (!parse_args(&m, argc, argv, &test_only, &status)) {
		free(m.overrides);
		return status;
	}
	if (load_all(&m, &m.cfg, &m.cat) < 0) {
		free(m.overrides);
		return 1;
	}
	if (test_only)
		printf("config ok: %zu challenges, %zu engine(s), %d workers\n", m.cat.n, m.cfg.n_engines, m.cfg.workers);
	else if (open_shared(&m) < 0)
		status = 1;
	else
		serve(&m);
	master_free(&m);
	curl_global_cleanup();
	return status;
}
