/*
 * exec.c: run bash in its own process group (or session) with stdin on
 * /dev/null, stdout and stderr on one pipe, a wall budget and an output cap.
 *
 * One poll loop watches the pipe and a signalfd for SIGCHLD. Every SIGCHLD
 * reaps every zombie (the runner is PID 1: orphans are its children too).
 * When bash exits, output still arriving is read for DRAIN_MS more: a
 * background job holding the pipe cannot hold the verdict.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "exec.h"
#include "lib/clock.h"

#define DRAIN_MS	100
#define EXIT_TIMEOUT	124
#define EXIT_NO_EXEC	127

int exec_init(struct exec_ctx *ctx, char *err, size_t errlen)
{
	sigset_t chld;

	memset(ctx, 0, sizeof(*ctx));
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &chld, NULL) < 0) {
		snprintf(err, errlen, "sigprocmask: %s", strerror(errno));
		return -1;
	}
	ctx->sigfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
	if (ctx->sigfd < 0) {
		snprintf(err, errlen, "signalfd: %s", strerror(errno));
		return -1;
	}
	return 0;
}

void exec_fini(struct exec_ctx *ctx)
{
	if (ctx->sigfd >= 0)
		close(ctx->sigfd);
	ctx->sigfd = -1;
}

void exec_result_free(struct exec_result *res)
{
	free(res->output);
	memset(res, 0, sizeof(*res));
}

void exec_kill_group(pid_t pgid)
{
	if (pgid > 1) {
		kill(-pgid, SIGKILL);
		/* The leader may have moved to another group (setpgid): kill it by pid too. */
		kill(pgid, SIGKILL);
	}
}

static int status_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 255;
}

/* Empty the signalfd, then reap every zombie; *status gets watch's status if it died. */
static bool reap(struct exec_ctx *ctx, pid_t watch, int *status)
{
	struct signalfd_siginfo si[8];
	bool found = false;
	pid_t p;
	int st;

	while (read(ctx->sigfd, si, sizeof(si)) > 0)
		;
	while ((p = waitpid(-1, &st, WNOHANG)) > 0 || (p < 0 && errno == EINTR)) {
		if (p == watch && watch > 0) {
			*status = st;
			found = true;
		}
	}
	return found;
}

void exec_reap(struct exec_ctx *ctx)
{
	int st;

	reap(ctx, 0, &st);
}

/* In the child: never returns. Only async-signal-safe calls. */
__attribute__((noreturn))
static void child(const struct exec_spec *spec, int out_fd, int err_fd)
{
	sigset_t none;
	int null_in, null_out, e;

	/* The runner's signal state (SIGPIPE ignored, SIGCHLD blocked) is not bash's. */
	signal(SIGPIPE, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);

	if (spec->new_session ? setsid() < 0 : setpgid(0, 0) < 0)
		goto fail;
	null_in = open("/dev/null", O_RDONLY | O_CLOEXEC);
	null_out = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (null_in < 0 || null_out < 0 || dup2(null_in, 0) < 0)
		goto fail;
	if (out_fd < 0)
		out_fd = null_out;
	if (dup2(out_fd, 1) < 0 || dup2(spec->stderr_to_null ? null_out : out_fd, 2) < 0)
		goto fail;
	if (privs_become(spec->privs) < 0 || chdir(spec->cwd) < 0)
		goto fail;
	execve(spec->path, (char *const *)spec->argv, (char *const *)spec->envp);
fail:
	e = errno;
	if (write(err_fd, &e, sizeof(e)) < 0)
		_exit(EXIT_NO_EXEC);
	_exit(EXIT_NO_EXEC);
}

/* Make the program the first thing the OOM killer takes, not the runner. */
static void prefer_for_oom(pid_t pid)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", (int)pid);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (write(fd, "1000", 4) < 0) {
		/* best effort: the program still runs */
	}
	close(fd);
}

static void remember_group(struct exec_ctx *ctx, pid_t pgid)
{
	if (ctx->n_groups < EXEC_MAX_GROUPS)
		ctx->groups[ctx->n_groups++] = pgid;
}

/* Fork and exec; returns the pid, or -1 with err filled (the child reaped). */
static pid_t spawn(struct exec_ctx *ctx, const struct exec_spec *spec, int out_fd,
    char *err, size_t errlen)
{
	int ep[2], child_errno = 0, st;
	ssize_t n;
	pid_t pid;

	if (pipe2(ep, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "pipe2: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid == 0)
		child(spec, out_fd, ep[1]);
	close(ep[1]);
	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(ep[0]);
		return -1;
	}
	/* Also here, so that a kill of the group never misses a just-forked child. */
	if (!spec->new_session)
		setpgid(pid, pid);
	/* The error pipe closes on a successful exec, or carries the errno. */
	do
		n = read(ep[0], &child_errno, sizeof(child_errno));
	while (n < 0 && errno == EINTR);
	close(ep[0]);
	if (n == (ssize_t)sizeof(child_errno)) {
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		snprintf(err, errlen, "cannot run %s: %s", spec->path, strerror(child_errno));
		return -1;
	}
	remember_group(ctx, pid);
	prefer_for_oom(pid);
	return pid;
}

/* Read what the pipe has; returns 1 at EOF, 0 otherwise. Sets truncated past the cap. */
static int read_output(int fd, struct exec_result *res, size_t cap)
{
	for (;;) {
		/* Room for one byte past the cap: seeing it means "truncated". */
		ssize_t n = read(fd, res->output + res->output_len, cap + 1 - res->output_len);

		if (n > 0) {
			res->output_len += (size_t)n;
			if (res->output_len > cap) {
				res->output_len = cap;
				res->truncated = true;
				return 0;
			}
			continue;
		}
		if (n == 0)
			return 1;
		if (errno == EINTR)
			continue;
		return errno == EAGAIN ? 0 : 1;
	}
}

/* Milliseconds for poll until deadline (rounded up, at least 0). */
static int poll_ms(int64_t deadline, int64_t now)
{
	int64_t ms = (deadline - now + 999) / 1000;

	return ms < 0 ? 0 : ms > INT32_MAX ? INT32_MAX : (int)ms;
}

/* Wait for pid to end (it was just killed), reaping everything else on the way. */
static int wait_for(struct exec_ctx *ctx, pid_t pid)
{
	int st = 0;

	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR)
			return 0;
	}
	exec_reap(ctx);
	return st;
}

/* One run being watched: its process, the read end of its output pipe (-1: none or closed), its times. */
struct watch {
	pid_t pid;
	int fd;
	int64_t deadline;
	bool done;		/* bash exited: output is drained until drain_until */
	int64_t drain_until;
	int status;
};

/* The output buffer and a non-blocking pipe for it (none when the spec keeps no output). */
static int open_output(const struct exec_spec *spec, struct exec_result *res, int pfd[2], char *err, size_t errlen)
{
	if (spec->output_cap == 0)
		return 0;
	res->output = malloc(spec->output_cap + 1);
	if (res->output == NULL) {
		snprintf(err, errlen, "out of memory for %zu bytes of output", spec->output_cap);
		return -1;
	}
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "pipe2: %s", strerror(errno));
		exec_result_free(res);
		return -1;
	}
	fcntl(pfd[0], F_SETFL, O_NONBLOCK);
	return 0;
}

/*
 * One turn of the loop: wait for output or SIGCHLD until the next time limit, and act on it.
 * Returns false when the watch is over (exited and drained, timed out, truncated, or poll failed).
 */
static bool watch_turn(struct exec_ctx *ctx, const struct exec_spec *spec, struct exec_result *res,
    struct watch *w, char *err, size_t errlen)
{
	struct pollfd fds[2] = {
		{ .fd = ctx->sigfd, .events = POLLIN },
		{ .fd = w->fd, .events = POLLIN },
	};
	int64_t now = clock_us();

	if (!w->done && now >= w->deadline) {
		res->timed_out = true;
		return false;
	}
	if (w->done && (w->fd < 0 || now >= w->drain_until))
		return false;
	if (poll(fds, w->fd >= 0 ? 2 : 1, poll_ms(w->done ? w->drain_until : w->deadline, now)) < 0 && errno != EINTR) {
		snprintf(err, errlen, "poll: %s", strerror(errno));
		res->timed_out = true;	/* kill it below, report what we have */
		return false;
	}
	if (w->fd >= 0 && fds[1].revents != 0) {
		if (read_output(w->fd, res, spec->output_cap)) {
			close(w->fd);
			w->fd = -1;
		}
		if (res->truncated)
			return false;
	}
	/* Always empty the signalfd: a ready one left unread would spin the loop. */
	if (fds[0].revents != 0 && reap(ctx, w->done ? 0 : w->pid, &w->status) && !w->done) {
		w->done = true;
		w->drain_until = clock_us() + DRAIN_MS * 1000;
	}
	return true;
}

/* After the watch: kill what must not outlive it, collect bash's status, close the pipe. */
static void end_run(struct exec_ctx *ctx, const struct exec_spec *spec, struct exec_result *res, struct watch *w)
{
	if (!w->done) {
		exec_kill_group(w->pid);
		w->status = wait_for(ctx, w->pid);
	}
	if (spec->kill_group_after || res->truncated || res->timed_out)
		exec_kill_group(w->pid);
	if (w->fd >= 0)
		close(w->fd);
	res->exit_code = res->timed_out ? EXIT_TIMEOUT : status_code(w->status);
	if (res->output != NULL)
		res->output[res->output_len] = '\0';
}

int exec_run(struct exec_ctx *ctx, const struct exec_spec *spec, struct exec_result *res,
    char *err, size_t errlen)
{
	int pfd[2] = { -1, -1 };
	struct watch w = { 0 };
	int64_t start;

	memset(res, 0, sizeof(*res));
	if (open_output(spec, res, pfd, err, errlen) < 0)
		return -1;
	start = clock_us();
	w.deadline = start + (int64_t)spec->budget_ms * 1000;
	w.fd = pfd[0];
	w.pid = spawn(ctx, spec, pfd[1], err, errlen);
	if (pfd[1] >= 0)
		close(pfd[1]);
	if (w.pid < 0) {
		if (pfd[0] >= 0)
			close(pfd[0]);
		exec_result_free(res);
		return -1;
	}
	res->pgid = w.pid;
	while (watch_turn(ctx, spec, res, &w, err, errlen))
		;
	end_run(ctx, spec, res, &w);
	res->elapsed_ms = (long)((clock_us() - start) / 1000);
	return 0;
}

/* Is there any child left? Reaps what it finds. */
static bool children_left(struct exec_ctx *ctx)
{
	pid_t p;
	int st;

	exec_reap(ctx);
	p = waitpid(-1, &st, WNOHANG);
	return !(p < 0 && errno == ECHILD);
}

/*
 * Outside a PID namespace: SIGKILL every direct child. As a subreaper the
 * runner inherits the orphans (setsid escapes), so repeating this reaches all.
 */
static void kill_children(void)
{
	char path[64], buf[4096], *p, *end;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)getpid());
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	for (p = buf;; p = end) {
		long pid = strtol(p, &end, 10);

		if (end == p)
			break;
		if (pid > 1)
			kill((pid_t)pid, SIGKILL);
	}
}

int exec_kill_all(struct exec_ctx *ctx, long max_ms)
{
	int64_t deadline = clock_us() + (int64_t)max_ms * 1000;
	bool pid1 = getpid() == 1;

	for (;;) {
		struct pollfd fd = { .fd = ctx->sigfd, .events = POLLIN };

		/* Never kill(-1) outside a PID namespace: as root that is the whole machine. */
		if (pid1)
			kill(-1, SIGKILL);
		else {
			for (size_t i = 0; i < ctx->n_groups; i++)
				exec_kill_group(ctx->groups[i]);
			kill_children();
		}
		if (!children_left(ctx))
			return 0;
		if (clock_us() >= deadline)
			return -1;
		poll(&fd, 1, 10);
	}
}

/* The session of a process, from /proc/PID/stat (field 6), or -1. */
pid_t exec_session_of(pid_t pid)
{
	char path[64], buf[512], *p;
	long sid;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* The command name may hold spaces and parentheses: parse after the last ')'. */
	p = strrchr(buf, ')');
	if (p == NULL || sscanf(p + 1, " %*c %*d %*d %ld", &sid) != 1)
		return -1;
	return (pid_t)sid;
}

static bool kept(pid_t sid, const pid_t *keep, size_t n_keep)
{
	for (size_t i = 0; i < n_keep; i++)
		if (keep[i] > 0 && keep[i] == sid)
			return true;
	return false;
}

/* As PID 1: SIGKILL every process outside the kept sessions; returns how many were signalled. */
static int kill_outside_sessions(const pid_t *keep, size_t n_keep)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		pid_t sid;

		if (*end != '\0' || pid <= 1 || pid == (long)getpid())
			continue;
		sid = exec_session_of((pid_t)pid);
		if (sid < 0 || kept(sid, keep, n_keep))
			continue;
		kill((pid_t)pid, SIGKILL);
		n++;
	}
	closedir(d);
	return n;
}

int exec_kill_others(struct exec_ctx *ctx, const pid_t *keep, size_t n_keep, long max_ms)
{
	int64_t deadline = clock_us() + (int64_t)max_ms * 1000;
	bool pid1 = getpid() == 1;

	for (;;) {
		struct pollfd fd = { .fd = ctx->sigfd, .events = POLLIN };
		int signalled = 0;

		if (pid1) {
			signalled = kill_outside_sessions(keep, n_keep);
		} else {
			for (size_t i = 0; i < ctx->n_groups; i++)
				if (!kept(ctx->groups[i], keep, n_keep) && kill(-ctx->groups[i], SIGKILL) == 0)
					signalled++;
		}
		exec_reap(ctx);
		if (signalled == 0)
			return 0;
		if (clock_us() >= deadline)
			return -1;
		poll(&fd, 1, 5);
	}
}
