/*
 * main.c: cmdarena-runner, the entrypoint and PID 1 of every sandbox
 * container. It reads one JSON request on stdin, runs the stages of
 * runner/README.md (judge.c: copy, setup, command, judge, reset, setup,
 * randomize, command, judge), kills every other process, writes one JSON
 * verdict on stdout and exits 0. An audit request ("attempts") is judged attempt by
 * attempt with the same reset between them, and answered with one line.
 *
 * The runner is root with a few capabilities; the command runs as the user
 * (uid 1000), setup and randomize as the judge (uid 1001), the check as the
 * user with CAP_DAC_READ_SEARCH (privs.h). The runner touches the user's
 * files only while none of the user's processes lives.
 *
 * Exit status 2: the request could not be read ({"error": ...});
 * 3: the sandbox or the challenge failed ({"nonce": ..., "error": ...}).
 * Nothing else is ever written to stdout; diagnostics go to stderr.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "exec.h"
#include "helpers.h"
#include "lib/clock.h"
#include "request.h"
#include "runner.h"

#define DEFAULT_BASH		"/opt/cmdarena/bin/bash"
#define DEFAULT_CHALLENGES	"/opt/cmdarena/challenges"
#define DEFAULT_WORK_ROOT	"/var/challenges"
#define DEFAULT_JUDGE_ROOT	"/run/cmdarena"
#define DEFAULT_JUDGE_BIN	"/opt/cmdarena/judge-bin"
#define KILL_ALL_MS		2000
#define EXIT_BAD_REQUEST	2
#define EXIT_FAILED		3


/* The runner's own process state, before anything else runs. */
static void harden_self(void)
{
	int fd;

	/* No /proc/1/fd, /proc/1/environ, no ptrace, whatever uid looks. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	/* Outside a PID namespace (tests), orphans still come back to be reaped. */
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	/* Start from default dispositions whatever we inherited, then ignore SIGPIPE
	 * only (a reader gone from stdout is an EPIPE to report; exec.c gives the
	 * children SIG_DFL back). */
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	umask(022);
	/* fds 0-2 must exist so that no pipe lands on them; nothing else is inherited. */
	while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd <= 2)
		;
	if (fd > 2)
		close(fd);
	close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
}

static const char *env_or(const char *name, const char *fallback)
{
	const char *v = getenv(name);

	return v != NULL && v[0] != '\0' ? v : fallback;
}

static int runner_setup(struct runner *r)
{
	static const char *const fixed_env[] = {
		USER_PATH, "LANG=C.UTF-8", "TERM=dumb", "MANPAGER=cat", "PAGER=cat", "USER=arena",
	};
	const char *challenges = env_or("CMDARENA_CHALLENGES_ROOT", DEFAULT_CHALLENGES);
	size_t n = 0;
	int a, b, c, d;

	r->bash = env_or("CMDARENA_BASH", DEFAULT_BASH);
	r->work_root = env_or("CMDARENA_WORK_ROOT", DEFAULT_WORK_ROOT);
	r->judge_root = env_or("CMDARENA_JUDGE_ROOT", DEFAULT_JUDGE_ROOT);
	r->judge_bin = env_or("CMDARENA_JUDGE_BIN", DEFAULT_JUDGE_BIN);
	a = snprintf(r->srcdir, sizeof(r->srcdir), "%s/%s", challenges, r->req.dir);
	b = snprintf(r->workdir, sizeof(r->workdir), "%s/%s", r->work_root, r->req.dir);
	c = snprintf(r->origdir, sizeof(r->origdir), "%s/orig", r->judge_root);
	d = snprintf(r->statedir, sizeof(r->statedir), "%s/state", r->judge_root);
	if (a < 0 || (size_t)a >= sizeof(r->srcdir) || b < 0 || (size_t)b >= sizeof(r->workdir) ||
	    c < 0 || (size_t)c >= sizeof(r->origdir) || d < 0 || (size_t)d >= sizeof(r->statedir))
		return stage_fail(r, "setup", "paths too long");
	if (asprintf(&r->env_pwd, "PWD=%s", r->workdir) < 0) {
		r->env_pwd = NULL;
		return stage_fail(r, "setup", "out of memory");
	}
	if (asprintf(&r->env_home, "HOME=%s", r->work_root) < 0) {
		r->env_home = NULL;
		return stage_fail(r, "setup", "out of memory");
	}
	for (size_t i = 0; i < sizeof(fixed_env) / sizeof(fixed_env[0]); i++)
		r->envp[n++] = fixed_env[i];
	r->envp[n++] = r->env_home;
	r->envp[n++] = r->env_pwd;
	r->envp[n] = NULL;
	return 0;
}

/* Open the signalfd and read the request. Returns 0, or the exit status after answering the error. */
static int read_request(struct runner *r)
{
	char err[512] = "";
	size_t len = 0;
	char *text;

	if (exec_init(&r->ex, err, sizeof(err)) < 0) {
		io_emit_error(NULL, err);
		return EXIT_FAILED;
	}
	text = io_read_request(&len, err, sizeof(err));
	r->t0_us = clock_us();
	if (text == NULL || request_parse(text, len, &r->req, err, sizeof(err)) < 0) {
		free(text);
		request_free(&r->req);
		exec_fini(&r->ex);
		io_emit_error(NULL, err);
		return EXIT_BAD_REQUEST;
	}
	free(text);
	timing(r, "request parsed");
	return 0;
}

/* Judge the command, or each attempt of an audit. Returns 0, or -1 when the sandbox failed. */
static int judge_request(struct runner *r, struct judgement *v)
{
	if (runner_setup(r) < 0 || start_helpers(r) < 0)
		return -1;
	if (r->req.audit)
		return judge_attempts(r);
	r->cmd = &r->req.attempts[0];
	return judge(r, v, true);
}

/* Stage 6: nothing the user started outlives the verdict. Then the one line on stdout. */
static void answer(struct runner *r, const struct judgement *v, int rc)
{
	if (exec_kill_all(&r->ex, KILL_ALL_MS) < 0)
		fprintf(stderr, "cmdarena-runner: processes still alive after %d ms\n", KILL_ALL_MS);
	timing(r, "kill all");
	if (rc == 0 && !r->req.audit)
		io_emit_verdict(r->req.nonce, v);
	else if (rc != 0)
		io_emit_error(r->req.nonce, r->err[0] != '\0' ? r->err : "The sandbox failed.");
	timing(r, "verdict written");
}

int main(int argc, char **argv)
{
	struct runner r;
	struct judgement v;
	int rc;

	(void)argc;
	/* A helper process (helpers.c): the runner under another name, waiting to be killed. */
	if (getenv(HELPERS_ENV) != NULL && getpid() != 1)
		helpers_pause(argv[0]);
	harden_self();
	memset(&r, 0, sizeof(r));
	memset(&v, 0, sizeof(v));
	r.timing = getenv("CMDARENA_TIMING") != NULL;
	rc = read_request(&r);
	if (rc != 0)
		return rc;
	rc = judge_request(&r, &v);
	answer(&r, &v, rc);
	judgement_free(&v);
	free(r.env_pwd);
	free(r.env_home);
	request_free(&r.req);
	exec_fini(&r.ex);
	return rc == 0 ? 0 : EXIT_FAILED;
}
