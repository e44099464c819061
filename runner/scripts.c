/*
 * scripts.c: running the challenge's scripts and the user's command, each as
 * its own identity (privs.h) with its own environment. Every script gets the
 * prelude: strict mode and fail, real_file, real_dir; the check also pass,
 * whose token is the only way a check passes.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "lib/clock.h"
#include "lib/compare.h"
#include "privs.h"
#include "runner.h"

#define PASS_PREFIX		"cmdarena-pass:"
#define SCRIPT_OUTPUT_CAP	65536

/*
 * What every script runs under: strict mode, and the functions of
 * challenges/README.md. pass is defined for the check only: a check passes
 * by printing the token (given in the environment, taken out of it at once)
 * as its last line and exiting 0; exit 0 alone is not a pass.
 */
static const char PRELUDE[] =
    "set -euo pipefail\n"
    "shopt -s inherit_errexit\n"
    "fail() { printf '%s\\n' \"${1:-The check failed.}\"; exit 1; }\n"
    /* no component of the path is a symlink (a trailing slash would follow one) */
    "__cmdarena_no_link() {\n"
    "  local rest=$1 path= part parts\n"
    "  [[ $rest == /* ]] && path=/\n"
    "  IFS=/ read -ra parts <<< \"$rest\"\n"
    "  for part in \"${parts[@]}\"; do\n"
    "    [ -z \"$part\" ] && continue\n"
    "    if [ -z \"$path\" ]; then path=$part; else path=${path%/}/$part; fi\n"
    "    [ -L \"$path\" ] && return 1\n"
    "  done\n"
    "  return 0\n"
    "}\n"
    "real_file() { __cmdarena_no_link \"$1\" && [ -f \"$1\" ]; }\n"
    "real_dir() { __cmdarena_no_link \"$1\" && [ -d \"$1\" ]; }\n";
static const char PRELUDE_CHECK[] =
    "__cmdarena_token=${CMDARENA_PASS_TOKEN:-}\n"
    "unset CMDARENA_PASS_TOKEN\n"
    "pass() { printf '\\n%s%s\\n' '" PASS_PREFIX "' \"$__cmdarena_token\"; exit 0; }\n";

/* What is left of the runner's whole budget, capped at want. */
long within_total(const struct runner *r, long want)
{
	long long left = r->deadline_ms - clock_ms();

	return left < want ? (left > 0 ? (long)left : 0) : want;
}

/* A script's environment: the user's plus what only scripts get (freed by script_env_free). */
struct script_env {
	char *owned[8];
	size_t n_owned;
	const char *envp[24];
};

static int script_env_add(struct script_env *se, size_t *n, const char *name, const char *value)
{
	char *kv;

	if (se->n_owned >= sizeof(se->owned) / sizeof(se->owned[0]) ||
	    asprintf(&kv, "%s=%s", name, value) < 0)
		return -1;
	se->owned[se->n_owned++] = kv;
	se->envp[(*n)++] = kv;
	return 0;
}

static void script_env_free(struct script_env *se)
{
	for (size_t i = 0; i < se->n_owned; i++)
		free(se->owned[i]);
	se->n_owned = 0;
}

static int script_env(const struct runner *r, enum script kind, const char *token, struct script_env *se)
{
	char path[256], run[4];
	size_t n = 0;
	int rc = 0;

	memset(se, 0, sizeof(*se));
	for (size_t i = 0; r->envp[i] != NULL; i++)
		if (strncmp(r->envp[i], "PATH=", 5) != 0)
			se->envp[n++] = r->envp[i];
	/* The judge's tools first: on cmd-no-bin they are the only ones. */
	snprintf(path, sizeof(path), "%s:%s", r->judge_bin, USER_PATH + 5);
	snprintf(run, sizeof(run), "%d", r->run_no);
	rc |= script_env_add(se, &n, "PATH", path);
	/* randomize starts from the shipped files; the check compares with what the command started from */
	rc |= script_env_add(se, &n, "CMDARENA_ORIG", kind == SCRIPT_CHECK ? r->origdir : r->srcdir);
	rc |= script_env_add(se, &n, "CMDARENA_STATE", r->statedir);
	if (kind != SCRIPT_CHECK)	/* what setup and randomize write stays theirs */
		rc |= script_env_add(se, &n, "TMPDIR", r->statedir);
	rc |= script_env_add(se, &n, "CMDARENA_RUN", run);
	rc |= script_env_add(se, &n, "CMDARENA_SETUP_PIDS", r->setup_pids);
	if (token != NULL)
		rc |= script_env_add(se, &n, "CMDARENA_PASS_TOKEN", token);
	se->envp[n] = NULL;
	if (rc != 0)
		script_env_free(se);
	return rc != 0 ? -1 : 0;
}

/* Who runs a script: the check reads as the user; setup and randomize write as the judge. */
static enum privs script_privs(const struct runner *r, enum script kind)
{
	if (kind == SCRIPT_CHECK)
		return PRIVS_CHECK;
	if (kind == SCRIPT_SETUP && r->req.setup_killable)
		return PRIVS_JUDGE_KILLABLE;
	return PRIVS_JUDGE;
}

/* Run a challenge script (`bash -p -c PRELUDE+SCRIPT`) in the work directory; err says why it could not. */
int run_script(struct runner *r, enum script kind, const char *token, struct exec_result *res,
    char *err, size_t errlen)
{
	const char *text = kind == SCRIPT_SETUP ? r->req.setup :
	    kind == SCRIPT_CHECK ? r->req.check : r->req.randomize;
	struct script_env se;
	char *full = NULL;
	int rc;

	if (within_total(r, 1) <= 0) {
		snprintf(err, errlen, "no time left in the runner's budget");
		return -1;
	}
	if (asprintf(&full, "%s%s%s", PRELUDE, kind == SCRIPT_CHECK ? PRELUDE_CHECK : "", text) < 0 ||
	    script_env(r, kind, token, &se) < 0) {
		if (full != NULL)
			free(full);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	const char *argv[] = { "bash", "-p", "-c", full, NULL };
	struct exec_spec spec = {
		.path = r->bash, .argv = argv, .envp = se.envp, .cwd = r->workdir,
		.budget_ms = within_total(r, r->req.script_timeout_ms),
		/* setup: output discarded, and what it starts keeps running */
		.output_cap = kind == SCRIPT_SETUP ? 0 : SCRIPT_OUTPUT_CAP,
		.new_session = kind == SCRIPT_SETUP,
		.kill_group_after = kind != SCRIPT_SETUP,
		/* randomize prints expected lines: its warnings are not among them */
		.stderr_to_null = kind == SCRIPT_RANDOMIZE,
		.privs = script_privs(r, kind),
	};

	rc = exec_run(&r->ex, &spec, res, err, errlen);
	script_env_free(&se);
	free(full);
	return rc;
}

/* Run the user's command (`bash -O globstar -c CMD`) with what is left of its budget. */
int run_command(struct runner *r, struct exec_result *res, char *err, size_t errlen)
{
	const char *argv[] = { "bash", "-O", "globstar", "-c", r->cmd->cmd, NULL };
	long budget = within_total(r, r->budget_left_ms);
	struct exec_spec spec = {
		.path = r->bash, .argv = argv, .envp = r->envp, .cwd = r->workdir,
		.budget_ms = budget > 0 ? budget : 1,
		.output_cap = r->req.output_cap,
		.privs = PRIVS_USER,
	};
	int rc = exec_run(&r->ex, &spec, res, err, errlen);

	if (rc == 0)
		r->budget_left_ms -= res->elapsed_ms;
	return rc;
}

/* Did the check end by calling pass: exit 0 and the token as its last line? */
bool check_passed(const struct exec_result *res, const char *token)
{
	struct lines l;
	char want[sizeof(PASS_PREFIX) + TOKEN_LEN + 1];
	bool ok;

	if (res->exit_code != 0 || res->timed_out || res->truncated)
		return false;
	if (lines_split(res->output, res->output_len, &l) < 0)
		return false;
	snprintf(want, sizeof(want), "%s%s", PASS_PREFIX, token);
	ok = l.n > 0 && strcmp(l.v[l.n - 1], want) == 0;
	lines_free(&l);
	return ok;
}

int make_token(char token[TOKEN_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[TOKEN_LEN / 2];

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		return -1;
	for (size_t i = 0; i < sizeof(raw); i++) {
		token[2 * i] = hex[raw[i] >> 4];
		token[2 * i + 1] = hex[raw[i] & 15];
	}
	token[TOKEN_LEN] = '\0';
	return 0;
}
