/*
 * runner.h: what the runner's files share: one judgement's state (struct
 * runner), its outcome (struct judgement), and the functions each file
 * offers the others. Only the runner includes it.
 *
 *   main.c     the process: harden, read the request, judge, answer
 *   io.c       the one line in (request) and the one line out (verdict)
 *   judge.c    the stages: prepare, run, judge, reset, randomize; audits
 *   scripts.c  running setup, check, randomize and the command
 */
#ifndef CMDARENA_RUNNER_H
#define CMDARENA_RUNNER_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "exec.h"
#include "request.h"

#define TOKEN_LEN	32	/* hex digits of a check's pass token */
#define USER_PATH	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Everything one judgement needs. */
struct runner {
	struct request req;
	struct exec_ctx ex;
	const char *bash;
	const char *work_root;	/* the user's writable tree: the working copy and HOME */
	const char *judge_root;	/* the judge's: snapshot of the files and the scripts' state */
	const char *judge_bin;	/* every tool, reachable by the judge only (cmd-no-bin) */
	char srcdir[4096];	/* the challenge's files in the image */
	char workdir[4096];	/* their writable copy, every script's cwd */
	char origdir[4096];	/* $CMDARENA_ORIG for the check: the files the command started from */
	char statedir[4096];	/* $CMDARENA_STATE */
	char *env_pwd, *env_home;
	const char *envp[16];
	long budget_left_ms;	/* of the user's command, shared by its runs */
	long long deadline_ms;	/* clock_ms() past which nothing more may start (total_ms) */
	const struct attempt *cmd;	/* the command being judged */
	int run_no;		/* 1, or 2 after randomize */
	pid_t keep[REQUEST_MAX_HELPERS + 1];	/* helpers' sessions, then setup's */
	size_t n_helpers;
	pid_t setup_sid;	/* setup's session: its processes survive until the reset */
	char setup_pids[512];	/* their pids, recorded after setup */
	char err[1024];		/* why a stage failed (sandbox fault) */
	bool timing;
	long long t0_us;
};

/* The outcome of judging one command. */
struct judgement {
	bool correct;
	bool first_run_correct;	/* the first run passed (audit: was randomize what failed it?) */
	bool transient;		/* it measured the machine or the challenge, not the command: not kept */
	struct exec_result run;	/* the first run: output, exit code, flags */
	char *message;		/* NULL when correct */
};

enum script { SCRIPT_SETUP, SCRIPT_CHECK, SCRIPT_RANDOMIZE };

/* judge.c */
/* Record why a stage failed (a sandbox fault) in r->err; returns -1. Only this program's formats. */
__attribute__((format(printf, 3, 4)))
int stage_fail(struct runner *r, const char *what, const char *fmt, ...);
/* The judgement is incorrect, for this reason. Returns 0, or -1 out of memory. */
int set_message(struct judgement *v, const char *text);
/* With CMDARENA_TIMING set: milliseconds since the request, per stage, on stderr. */
void timing(const struct runner *r, const char *stage);
/* Start the request's helper processes (once per container). */
int start_helpers(struct runner *r);
/* Judge r->cmd from scratch (fresh: the container is new, nothing to reset). 0, or -1: r->err. */
int judge(struct runner *r, struct judgement *v, bool fresh);
/* An audit: every attempt judged alone, the full reset between them; writes the one line. */
int judge_attempts(struct runner *r);
void judgement_free(struct judgement *v);

/* scripts.c */
/* What is left of the runner's whole budget, capped at want. */
long within_total(const struct runner *r, long want);
/* Run a challenge script; token: the check's pass token (NULL for the others). */
int run_script(struct runner *r, enum script kind, const char *token, struct exec_result *res,
    char *err, size_t errlen);
/* Run r->cmd as the user with what is left of its budget. */
int run_command(struct runner *r, struct exec_result *res, char *err, size_t errlen);
/* A fresh pass token for one check: TOKEN_LEN hex digits and a NUL into token. */
int make_token(char token[TOKEN_LEN + 1]);
/* Did the check end by calling pass? */
bool check_passed(const struct exec_result *res, const char *token);

/* io.c */
char *io_read_request(size_t *len, char *err, size_t errlen);
/* Write obj as one line on stdout, then free it. */
int io_emit(struct json_object *obj);
/* {"nonce": ..., "error": ...}; no nonce when the request was unreadable. */
int io_emit_error(const char *nonce, const char *message);
/* The judgement as a JSON object (without the nonce); audit adds first_run_correct. */
struct json_object *judgement_json(const struct judgement *v, bool audit);
int io_emit_verdict(const char *nonce, const struct judgement *v);

#endif
