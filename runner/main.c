/*
 * main.c: cmdarena-runner, the entrypoint and PID 1 of every sandbox
 * container. It reads one JSON request on stdin, runs the stages of
 * runner/README.md (copy, setup, command, judge, reset, setup, randomize,
 * command, judge), kills every other process, writes one JSON verdict on
 * stdout and exits 0. An audit request ("attempts") is judged attempt by
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
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>

#include "compare.h"
#include "exec.h"
#include "helpers.h"
#include "privs.h"
#include "request.h"
#include "reset.h"
#include "treecopy.h"
#include "utf8.h"

#define DEFAULT_BASH		"/opt/cmdarena/bin/bash"
#define DEFAULT_CHALLENGES	"/opt/cmdarena/challenges"
#define DEFAULT_WORK_ROOT	"/var/challenges"
#define DEFAULT_JUDGE_ROOT	"/run/cmdarena"
#define DEFAULT_JUDGE_BIN	"/opt/cmdarena/judge-bin"
#define USER_PATH		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define TOKEN_LEN		32
#define PASS_PREFIX		"cmdarena-pass:"
#define SCRIPT_OUTPUT_CAP	65536
#define CHECK_MESSAGE_MAX	300
#define KILL_ALL_MS		2000
#define EXIT_BAD_REQUEST	2
#define EXIT_FAILED		3

#define MSG_CHECK_FAILED	"The check failed."
#define MSG_RANDOMIZED		"Correct on the original files, but not after they changed: " \
				"the command must work for any files like these."
#define MSG_NOT_RANDOMIZED	"The challenge's files could not be changed for the second run, " \
				"so the command could not be judged: try again later."
#define MSG_CHECK_UNFINISHED	"The check did not finish."

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
    "real_file() { [ -f \"$1\" ] && [ ! -L \"$1\" ]; }\n"
    "real_dir() { [ -d \"$1\" ] && [ ! -L \"$1\" ]; }\n";
static const char PRELUDE_CHECK[] =
    "__cmdarena_token=${CMDARENA_PASS_TOKEN:-}\n"
    "unset CMDARENA_PASS_TOKEN\n"
    "pass() { printf '\\n%s%s\\n' '" PASS_PREFIX "' \"$__cmdarena_token\"; exit 0; }\n";

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
	long deadline_ms;	/* exec_now_ms() past which nothing more may start (total_ms) */
	const struct attempt *cmd;	/* the command being judged */
	int run_no;		/* 1, or 2 after randomize */
	pid_t keep[REQUEST_MAX_HELPERS + 1];	/* helpers' sessions, then setup's */
	size_t n_helpers;
	pid_t setup_sid;	/* setup's session: its processes survive until the reset */
	char setup_pids[512];	/* their pids, recorded after setup */
	char err[1024];		/* why a stage failed (sandbox fault) */
	bool timing;
	struct timespec t0;
};

struct verdict {
	bool correct;
	bool first_run_correct;	/* the first run passed (audit: was randomize what failed it?) */
	bool transient;		/* it measured the machine or the challenge, not the command: not kept */
	struct exec_result run;	/* the first run: output, exit code, flags */
	char *message;		/* NULL when correct */
};

/* Only ever called with this file's own formats. */
__attribute__((format(printf, 3, 4)))
static int stage_fail(struct runner *r, const char *what, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	n = (size_t)snprintf(r->err, sizeof(r->err), "%s: ", what);
	if (n >= sizeof(r->err))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(r->err + n, sizeof(r->err) - n, fmt, ap);
	va_end(ap);
	return -1;
}

static int set_message(struct verdict *v, const char *text)
{
	free(v->message);
	v->message = strdup(text);
	v->correct = false;
	return v->message == NULL ? -1 : 0;
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

static void timing(const struct runner *r, const char *stage)
{
	if (r->timing)
		fprintf(stderr, "cmdarena-runner: %8.3f ms %s\n", ms_since(&r->t0), stage);
}

/* write(2) all of buf. */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Write obj as one line on stdout, then free it. */
static int emit(struct json_object *obj)
{
	const char *text;
	int rc = -1;

	if (obj == NULL)
		return -1;
	text = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (text != NULL)
		rc = write_all(1, text, strlen(text)) == 0 && write_all(1, "\n", 1) == 0 ? 0 : -1;
	json_object_put(obj);
	if (rc < 0)
		fprintf(stderr, "cmdarena-runner: cannot write to stdout: %s\n", strerror(errno));
	return rc;
}

/* {"nonce": ..., "error": ...}; no nonce when the request was unreadable. */
static int emit_error(const char *nonce, const char *message)
{
	struct json_object *obj = json_object_new_object();

	fprintf(stderr, "cmdarena-runner: %s\n", message);
	if (obj == NULL)
		return -1;
	if (nonce != NULL && nonce[0] != '\0')
		json_object_object_add(obj, "nonce", json_object_new_string(nonce));
	json_object_object_add(obj, "error", json_object_new_string(message));
	return emit(obj);
}

/* The verdict as a JSON object (without the nonce), or NULL. */
static struct json_object *verdict_json(const struct verdict *v, bool audit)
{
	struct json_object *obj = json_object_new_object();
	size_t len = v->run.output_len, clean_len = 0;
	char *clean;

	if (obj == NULL)
		return NULL;
	/* A cut at the cap must not leave half a character (it would become U+FFFD). */
	if (v->run.truncated)
		len = utf8_trim_partial(v->run.output, len);
	clean = utf8_sanitize(v->run.output ? v->run.output : "", len, &clean_len);
	if (clean == NULL) {
		json_object_put(obj);
		return NULL;
	}
	json_object_object_add(obj, "correct", json_object_new_boolean(v->correct));
	json_object_object_add(obj, "output", json_object_new_string_len(clean, (int)clean_len));
	json_object_object_add(obj, "exit_code", json_object_new_int(v->run.exit_code));
	json_object_object_add(obj, "message",
	    v->message ? json_object_new_string(v->message) : NULL);
	json_object_object_add(obj, "timed_out", json_object_new_boolean(v->run.timed_out));
	json_object_object_add(obj, "truncated", json_object_new_boolean(v->run.truncated));
	json_object_object_add(obj, "transient", json_object_new_boolean(v->transient));
	if (audit)
		json_object_object_add(obj, "first_run_correct", json_object_new_boolean(v->first_run_correct));
	free(clean);
	return obj;
}

static int emit_verdict(const char *nonce, const struct verdict *v)
{
	struct json_object *obj = verdict_json(v, false);

	if (obj == NULL)
		return -1;
	json_object_object_add(obj, "nonce", json_object_new_string(nonce));
	return emit(obj);
}

/* Read stdin up to the first '\n' (or EOF), at most REQUEST_MAX_BYTES. */
static char *read_request(size_t *len, char *err, size_t errlen)
{
	const size_t max = REQUEST_MAX_BYTES + 1;	/* one more byte tells "too long" */
	size_t cap = 65536, used = 0;
	char *buf = malloc(cap), *nl;

	while (buf != NULL) {
		ssize_t n;

		if (used == cap) {
			char *bigger;

			if (cap == max) {
				snprintf(err, errlen, "The request is longer than %d bytes.",
				    REQUEST_MAX_BYTES);
				break;
			}
			cap = cap * 2 > max ? max : cap * 2;
			bigger = realloc(buf, cap);
			if (bigger == NULL)
				break;
			buf = bigger;
		}
		n = read(0, buf + used, cap - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "Cannot read the request: %s.", strerror(errno));
			break;
		}
		nl = memchr(buf + used, '\n', (size_t)n);
		used += (size_t)n;
		if (nl != NULL || n == 0) {
			*len = nl ? (size_t)(nl - buf) : used;
			if (*len == 0) {
				snprintf(err, errlen, "The request is empty.");
				break;
			}
			return buf;
		}
	}
	if (err[0] == '\0')
		snprintf(err, errlen, "Out of memory reading the request.");
	free(buf);
	return NULL;
}

/* The runner's own process state, before anything else runs. */
static void harden_self(void)
{
	int fd;

	/* Same uid as the user's processes: no /proc/1/fd, /proc/1/environ, no ptrace. */
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

enum script { SCRIPT_SETUP, SCRIPT_CHECK, SCRIPT_RANDOMIZE };

/* What is left of the runner's whole budget, capped at want. */
static long within_total(const struct runner *r, long want)
{
	long left = r->deadline_ms - exec_now_ms();

	return left < want ? (left > 0 ? left : 0) : want;
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
static int run_script(struct runner *r, enum script kind, const char *token, struct exec_result *res,
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
static int run_command(struct runner *r, struct exec_result *res, char *err, size_t errlen)
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

/* Record the pids of setup's session, for the scripts ($CMDARENA_SETUP_PIDS). */
static void record_setup_pids(struct runner *r)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	size_t used = 0;

	r->setup_pids[0] = '\0';
	if (d == NULL || r->setup_sid <= 0) {
		if (d != NULL)
			closedir(d);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		int n;

		if (*end != '\0' || pid <= 1 || exec_session_of((pid_t)pid) != r->setup_sid)
			continue;
		n = snprintf(r->setup_pids + used, sizeof(r->setup_pids) - used, "%s%ld", used ? " " : "", pid);
		if (n < 0 || (size_t)n >= sizeof(r->setup_pids) - used) {
			r->setup_pids[used] = '\0';
			break;
		}
		used += (size_t)n;
	}
	closedir(d);
}

/* Setup, if any: as the judge, in a session that survives until the next reset. */
static int stage_setup(struct runner *r)
{
	struct exec_result res;
	char err[512];
	int code;

	r->setup_sid = 0;
	r->setup_pids[0] = '\0';
	if (r->req.setup == NULL)
		return 0;
	if (run_script(r, SCRIPT_SETUP, NULL, &res, err, sizeof(err)) < 0)
		return stage_fail(r, "setup", "%s", err);
	code = res.exit_code;
	r->setup_sid = res.pgid;
	exec_result_free(&res);
	if (code != 0)
		return stage_fail(r, "setup", "the challenge's setup script failed (exit status %d)", code);
	record_setup_pids(r);
	return 0;
}

/* Kill every process but the helpers (and setup's, when keep_setup). */
static void kill_user_processes(struct runner *r, bool keep_setup)
{
	size_t n = r->n_helpers;

	if (keep_setup && r->setup_sid > 0)
		r->keep[n++] = r->setup_sid;
	if (exec_kill_others(&r->ex, r->keep, n, 1000) < 0)
		fprintf(stderr, "cmdarena-runner: processes outlived 1 s of killing\n");
}

/* Give the tree to uid (as root only; a development run keeps its own uid). */
static int give_tree(struct runner *r, const char *path, uid_t uid)
{
	char err[512];

	if (!privs_available())
		return 0;
	if (treecopy_chown(path, uid, uid, err, sizeof(err)) < 0)
		return stage_fail(r, "copy", "%s", err);
	return 0;
}

/*
 * Everything a run starts from, made afresh: the writable places emptied
 * (not for the first run of a fresh container), the challenge's files
 * copied, the judge's state directory, setup. The files belong to the
 * judge until the scripts are done (see finish_preparing).
 */
static int prepare_run(struct runner *r, bool reset)
{
	char err[512];

	if (reset) {
		kill_user_processes(r, false);
		if (reset_writable(r->work_root, r->judge_root, err, sizeof(err)) < 0)
			return stage_fail(r, "reset", "%s", err);
	}
	if (treecopy_copy(r->srcdir, r->workdir, err, sizeof(err)) < 0)
		return stage_fail(r, "copy", "%s", err);
	if (mkdir(r->statedir, 0700) < 0 && errno != EEXIST)
		return stage_fail(r, "copy", "cannot create %s: %s", r->statedir, strerror(errno));
	if (give_tree(r, r->statedir, PRIVS_JUDGE_UID) < 0 || give_tree(r, r->workdir, PRIVS_JUDGE_UID) < 0)
		return -1;
	timing(r, "copy");
	if (stage_setup(r) < 0)
		return -1;
	timing(r, "setup");
	return 0;
}

/*
 * After setup (and randomize): the files go to the user, nothing the
 * scripts left in the shared scratch places stays, and the check gets a
 * snapshot of what the command starts from.
 */
static int finish_preparing(struct runner *r)
{
	char err[512];

	if (give_tree(r, r->workdir, PRIVS_USER_UID) < 0)
		return -1;
	if (reset_scratch(err, sizeof(err)) < 0)
		return stage_fail(r, "reset", "%s", err);
	if (r->req.check != NULL) {
		if (treecopy_remove(r->origdir, err, sizeof(err)) < 0 ||
		    treecopy_copy(r->workdir, r->origdir, err, sizeof(err)) < 0)
			return stage_fail(r, "snapshot", "%s", err);
		if (privs_available() && treecopy_chown(r->origdir, 0, 0, err, sizeof(err)) < 0)
			return stage_fail(r, "snapshot", "%s", err);
	}
	return 0;
}

/* The check's message: its first non-blank output line, made safe and short. */
static int check_message(const struct exec_result *res, struct verdict *v)
{
	struct lines l;
	char *clean;
	size_t len, clean_len;
	int rc;

	if (lines_split(res->output, res->output_len, &l) < 0)
		return -1;
	if (l.n == 0) {
		lines_free(&l);
		return set_message(v, MSG_CHECK_FAILED);
	}
	len = utf8_clip(l.v[0], strlen(l.v[0]), CHECK_MESSAGE_MAX);
	clean = utf8_sanitize(l.v[0], len, &clean_len);
	lines_free(&l);
	if (clean == NULL)
		return -1;
	rc = set_message(v, clean);
	free(clean);
	return rc;
}

/* Did the check end by calling pass: exit 0 and the token as its last line? */
static bool check_passed(const struct exec_result *res, const char *token)
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

static int make_token(char token[TOKEN_LEN + 1])
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

/* Run the check, if any; a failure sets the verdict's message. */
static int judge_check(struct runner *r, struct verdict *v)
{
	struct exec_result res;
	char err[512], token[TOKEN_LEN + 1];
	int rc = 0;

	if (r->req.check == NULL)
		return 0;
	/* Nothing the command left running may watch the check or change what it checks. */
	kill_user_processes(r, true);
	if (make_token(token) < 0 || run_script(r, SCRIPT_CHECK, token, &res, err, sizeof(err)) < 0) {
		fprintf(stderr, "cmdarena-runner: check: %s\n", err);
		v->transient = true;
		return set_message(v, "The check could not run.");
	}
	if (check_passed(&res, token)) {
		exec_result_free(&res);
		return 0;
	}
	if (res.timed_out) {
		fprintf(stderr, "cmdarena-runner: check: timed out\n");
		v->transient = true;
		rc = set_message(v, "The check did not finish in time.");
	} else if (res.exit_code == 0) {
		/* Exit 0 without pass: a check that fell through is not a pass. */
		fprintf(stderr, "cmdarena-runner: check: exit 0 without pass\n");
		v->transient = true;
		rc = set_message(v, MSG_CHECK_UNFINISHED);
	} else {
		rc = check_message(&res, v);
	}
	exec_result_free(&res);
	return rc;
}

/* Judge one run: time, size, expected lines, then the check. */
static int judge_run(struct runner *r, const struct expect *e, const struct exec_result *run,
    struct verdict *v)
{
	struct compare_result cmp;
	char msg[160];
	int rc;

	v->correct = true;
	if (run->timed_out) {
		v->transient = true;
		if (r->req.timeout_ms % 1000 == 0)
			snprintf(msg, sizeof(msg), "The command did not finish within %ld second%s.",
			    r->req.timeout_ms / 1000, r->req.timeout_ms == 1000 ? "" : "s");
		else
			snprintf(msg, sizeof(msg), "The command did not finish within %ld ms.",
			    r->req.timeout_ms);
		return set_message(v, msg);
	}
	if (run->truncated) {
		snprintf(msg, sizeof(msg), "The command printed more than %zu bytes of output.",
		    r->req.output_cap);
		return set_message(v, msg);
	}
	if (e != NULL) {
		rc = compare_output(e, run->output, run->output_len, &cmp);
		if (rc < 0 || !cmp.match) {
			if (rc < 0)
				fprintf(stderr, "cmdarena-runner: compare: %s\n",
				    cmp.message ? cmp.message : "failed");
			rc = set_message(v, rc < 0 ? "The output could not be judged." :
			    cmp.message ? cmp.message : "The output does not match.");
			compare_result_free(&cmp);
			return rc;
		}
		compare_result_free(&cmp);
	}
	return judge_check(r, v);
}

/* randomize failed (rule: an empty or failed expectation is never a pass). */
static int not_randomized(struct verdict *v, const char *why, int code)
{
	fprintf(stderr, "cmdarena-runner: randomize: %s (exit status %d)\n", why, code);
	v->transient = true;
	return set_message(v, MSG_NOT_RANDOMIZED);
}

/* May randomize print no line? Only when the challenge's own expectation is "no output". */
static bool empty_expectation_allowed(const struct request *req)
{
	return req->has_expected && !req->lines_null && req->expected.n_lines == 0;
}

/*
 * The second run: everything reset, fresh files, setup again, the randomize
 * script prints the new expected lines, the command runs again and must be
 * right again. Returns 0 with v set, -1 when the sandbox failed (r->err).
 */
static int stage_randomize(struct runner *r, struct verdict *v)
{
	struct exec_result script, run2;
	struct expect e = r->req.expected;	/* flags and re_sub borrowed; lines replaced */
	struct lines lines = { NULL, 0 };
	char err[512];
	int rc = -1;

	memset(&run2, 0, sizeof(run2));
	memset(&script, 0, sizeof(script));
	r->run_no = 2;
	if (prepare_run(r, true) < 0)
		return -1;
	if (run_script(r, SCRIPT_RANDOMIZE, NULL, &script, err, sizeof(err)) < 0)
		return not_randomized(v, err, -1);
	if (script.exit_code != 0 || script.truncated || script.timed_out) {
		rc = not_randomized(v, script.timed_out ? "timed out" : script.truncated ?
		    "too much output" : "the script failed", script.exit_code);
		goto out;
	}
	if (lines_split(script.output, script.output_len, &lines) < 0) {
		stage_fail(r, "randomize", "out of memory");
		goto out;
	}
	if (lines.n == 0 && !empty_expectation_allowed(&r->req)) {
		rc = not_randomized(v, "it printed no expected line", 0);
		goto out;
	}
	e.lines = lines.v;
	e.n_lines = lines.n;
	if (expect_validate(&e, err, sizeof(err)) < 0) {
		rc = not_randomized(v, err, 0);
		goto out;
	}
	timing(r, "randomize script");
	if (finish_preparing(r) < 0)
		goto out;
	if (run_command(r, &run2, err, sizeof(err)) < 0) {
		stage_fail(r, "second run", "%s", err);
		goto out;
	}
	timing(r, "second run");
	rc = judge_run(r, &e, &run2, v);
	if (rc == 0 && !v->correct && !v->transient)
		rc = set_message(v, MSG_RANDOMIZED);
	if (rc < 0 && r->err[0] == '\0')
		stage_fail(r, "randomize", "out of memory");
out:
	lines_free(&lines);
	exec_result_free(&script);
	exec_result_free(&run2);
	return rc;
}

/* Judge r->cmd from scratch. Returns 0 with the verdict, -1 when the sandbox failed. */
static int judge(struct runner *r, struct verdict *v, bool fresh)
{
	/* Without lines of its own (lines: null) the first run is judged by the check alone. */
	const struct expect *e = r->req.has_expected && !r->req.lines_null ? &r->req.expected : NULL;
	char err[512];

	r->budget_left_ms = r->req.timeout_ms;
	r->deadline_ms = exec_now_ms() + r->req.total_ms;
	r->run_no = 1;
	if (prepare_run(r, !fresh) < 0 || finish_preparing(r) < 0)
		return -1;
	if (run_command(r, &v->run, err, sizeof(err)) < 0)
		return stage_fail(r, "command", "%s", err);
	timing(r, "first run");
	if (judge_run(r, e, &v->run, v) < 0)
		return stage_fail(r, "judge", "out of memory");
	timing(r, "judge");
	v->first_run_correct = v->correct;
	if (v->correct && r->req.randomize != NULL)
		return stage_randomize(r, v);
	return 0;
}

static void verdict_reset(struct verdict *v)
{
	exec_result_free(&v->run);
	free(v->message);
	memset(v, 0, sizeof(*v));
}

/* The helper processes, once per container: they live across resets. */
static int start_helpers(struct runner *r)
{
	char err[512], sleep_path[4200];

	if (r->req.n_helpers == 0)
		return 0;
	snprintf(sleep_path, sizeof(sleep_path), "%s/sleep", r->judge_bin);
	if (helpers_start(&r->ex, r->req.helpers, r->req.n_helpers, sleep_path, r->keep, err, sizeof(err)) < 0)
		return stage_fail(r, "helpers", "%s", err);
	r->n_helpers = r->req.n_helpers;
	return 0;
}

/* An audit: every attempt judged alone, with the full reset between them; one line of verdicts. */
static int judge_attempts(struct runner *r)
{
	struct json_object *out = json_object_new_object(), *list = json_object_new_array();

	if (out == NULL || list == NULL) {
		json_object_put(out);
		json_object_put(list);
		return stage_fail(r, "audit", "out of memory");
	}
	json_object_object_add(out, "nonce", json_object_new_string(r->req.nonce));
	json_object_object_add(out, "verdicts", list);
	for (size_t i = 0; i < r->req.n_attempts; i++) {
		struct verdict v;
		struct json_object *one;

		memset(&v, 0, sizeof(v));
		r->cmd = &r->req.attempts[i];
		r->err[0] = '\0';
		if (judge(r, &v, i == 0) == 0) {
			one = verdict_json(&v, true);
		} else {
			one = json_object_new_object();
			if (one != NULL)
				json_object_object_add(one, "error", json_object_new_string(r->err));
		}
		verdict_reset(&v);
		if (one == NULL) {
			json_object_put(out);
			return stage_fail(r, "audit", "out of memory");
		}
		json_object_array_add(list, one);
	}
	return emit(out) == 0 ? 0 : stage_fail(r, "audit", "cannot write the verdicts");
}

int main(void)
{
	struct runner r;
	struct verdict v;
	char err[512] = "";
	char *text;
	size_t len = 0;
	int rc;

	harden_self();
	memset(&r, 0, sizeof(r));
	memset(&v, 0, sizeof(v));
	r.timing = getenv("CMDARENA_TIMING") != NULL;
	if (exec_init(&r.ex, err, sizeof(err)) < 0) {
		emit_error(NULL, err);
		return EXIT_FAILED;
	}
	text = read_request(&len, err, sizeof(err));
	clock_gettime(CLOCK_MONOTONIC, &r.t0);
	if (text == NULL || request_parse(text, len, &r.req, err, sizeof(err)) < 0) {
		free(text);
		request_free(&r.req);
		exec_fini(&r.ex);
		emit_error(NULL, err);
		return EXIT_BAD_REQUEST;
	}
	free(text);
	timing(&r, "request parsed");

	rc = runner_setup(&r) == 0 && start_helpers(&r) == 0 ? 0 : -1;
	if (rc == 0 && r.req.audit) {
		rc = judge_attempts(&r);
	} else if (rc == 0) {
		r.cmd = &r.req.attempts[0];
		rc = judge(&r, &v, true);
	}

	/* Stage 6: nothing the user started outlives the verdict. */
	if (exec_kill_all(&r.ex, KILL_ALL_MS) < 0)
		fprintf(stderr, "cmdarena-runner: processes still alive after %d ms\n", KILL_ALL_MS);
	timing(&r, "kill all");
	if (rc == 0 && !r.req.audit)
		emit_verdict(r.req.nonce, &v);
	else if (rc != 0)
		emit_error(r.req.nonce, r.err[0] != '\0' ? r.err : "The sandbox failed.");
	timing(&r, "verdict written");

	verdict_reset(&v);
	free(r.env_pwd);
	free(r.env_home);
	request_free(&r.req);
	exec_fini(&r.ex);
	return rc == 0 ? 0 : EXIT_FAILED;
}
