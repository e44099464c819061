/*
 * exec.h: run one program (bash) in its own process group or session with a
 * wall budget and an output cap (stdout and stderr on one pipe); kill and reap.
 *
 * The runner is PID 1 of its container, so every orphan becomes its child:
 * each wait here reaps every zombie, not only the program it started.
 */
#ifndef CMDARENA_EXEC_H
#define CMDARENA_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "privs.h"

#define EXEC_MAX_GROUPS 16

/* What exec needs across runs: the SIGCHLD descriptor and the groups it started. */
struct exec_ctx {
	int sigfd;		/* signalfd for SIGCHLD (blocked in the runner) */
	pid_t groups[EXEC_MAX_GROUPS];
	size_t n_groups;
};

struct exec_spec {
	const char *path;		/* absolute path of the program */
	const char *const *argv;
	const char *const *envp;
	const char *cwd;
	long budget_ms;			/* wall budget; past it the group is killed */
	size_t output_cap;		/* 0: output to /dev/null, not waited for */
	bool stderr_to_null;		/* capture stdout only */
	bool new_session;		/* setsid() rather than a new process group */
	bool kill_group_after;		/* kill what is left of the group when done */
	enum privs privs;		/* who the program runs as (privs.h) */
};

struct exec_result {
	int exit_code;		/* exit status; 128+N for signal N; 124 on timeout */
	bool timed_out;
	bool truncated;		/* more than output_cap bytes came */
	char *output;		/* NUL-terminated, output_len bytes (may hold NULs) */
	size_t output_len;
	long elapsed_ms;	/* start to exit (or kill) */
	pid_t pgid;		/* its process group (or session) */
};

/* Block SIGCHLD and open its signalfd. Returns 0, or -1 with err filled. */
int exec_init(struct exec_ctx *ctx, char *err, size_t errlen);
void exec_fini(struct exec_ctx *ctx);

/* Run spec to completion. Returns 0 (res filled), or -1 with err filled when it cannot start. */
int exec_run(struct exec_ctx *ctx, const struct exec_spec *spec, struct exec_result *res,
    char *err, size_t errlen);
void exec_result_free(struct exec_result *res);

/* SIGKILL a process group (pgid > 1). */
void exec_kill_group(pid_t pgid);

/* Reap every zombie without blocking. */
void exec_reap(struct exec_ctx *ctx);

/*
 * Kill every other process and reap them, for at most max_ms. As PID 1 that
 * is kill(-1, SIGKILL); elsewhere (tests on a host) the groups started here
 * and every child (orphans included: the runner is a subreaper). Returns 0,
 * or -1 when children were still alive at the end.
 */
int exec_kill_all(struct exec_ctx *ctx, long max_ms);

/*
 * Kill every other process except those of the sessions in keep[0..n_keep)
 * (setup's, the helper processes') and reap them, for at most max_ms: what the
 * user's command left running must not watch or disturb the check and
 * randomize scripts. As PID 1 it walks /proc; elsewhere it kills the groups
 * started here but the kept ones. Returns 0, or -1 when some were still alive
 * at the end.
 */
int exec_kill_others(struct exec_ctx *ctx, const pid_t *keep, size_t n_keep, long max_ms);

/* The session of a process (from /proc), or -1. */
pid_t exec_session_of(pid_t pid);


#endif
