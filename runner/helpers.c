/*
 * helpers.c: processes at a fixed pid. In a fresh PID namespace pids are
 * handed out in increasing order, so forking children that exit at once
 * walks the counter up to the pid wanted; nothing else runs meanwhile.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"
#include "privs.h"

#define MAX_FORKS 40000

/* Fork a child that exits at once; returns its pid (reaped), or -1. */
static pid_t burn_pid(void)
{
	pid_t pid = fork();
	int st;

	if (pid == 0)
		_exit(0);
	if (pid > 0)
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
	return pid;
}

__attribute__((noreturn))
static void helper_child(const struct helper_spec *h, const char *sleep_path)
{
	const char *argv[] = { h->name, "infinity", NULL };
	const char *envp[] = { "PATH=/usr/bin:/bin", NULL };
	sigset_t none;
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	signal(SIGPIPE, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (fd < 0 || dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0 || setsid() < 0 ||
	    chdir("/") < 0 || privs_become(h->killable ? PRIVS_JUDGE_KILLABLE : PRIVS_JUDGE) < 0)
		_exit(127);
	execve(sleep_path, (char *const *)argv, (char *const *)envp);
	_exit(127);
}

int helpers_start(struct exec_ctx *ctx, const struct helper_spec *h, size_t n, const char *sleep_path,
    pid_t *sids, char *err, size_t errlen)
{
	(void)ctx;
	for (size_t i = 0; i < n; i++) {
		pid_t last = 0, pid;
		int forks = 0;

		while (last < (pid_t)h[i].pid - 1 && forks++ < MAX_FORKS) {
			last = burn_pid();
			if (last < 0) {
				snprintf(err, errlen, "helper %s: fork: %s", h[i].name, strerror(errno));
				return -1;
			}
		}
		if (last >= (pid_t)h[i].pid) {
			snprintf(err, errlen, "helper %s: pid %ld is already taken", h[i].name, h[i].pid);
			return -1;
		}
		pid = fork();
		if (pid < 0) {
			snprintf(err, errlen, "helper %s: fork: %s", h[i].name, strerror(errno));
			return -1;
		}
		if (pid == 0)
			helper_child(&h[i], sleep_path);
		if (pid != (pid_t)h[i].pid) {
			kill(pid, SIGKILL);
			snprintf(err, errlen, "helper %s: started as pid %d, not %ld", h[i].name, (int)pid, h[i].pid);
			return -1;
		}
		sids[i] = pid;
	}
	return 0;
}
