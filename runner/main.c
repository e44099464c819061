/*
 * main.c: cmdarena-runner, the entrypoint and PID 1 of every sandbox
 * container. It reads one JSON request on stdin, runs the stages of
 * runner/README.md (copy, setup, command, judge, randomize), kills every
 * other process, writes one JSON verdict on stdout and exits 0.
 *
 * Exit status 2: the request could not be read ({"error": ...});
 * 3: the sandbox or the challenge failed ({"nonce": ..., "error": ...}).
 * Nothing else is ever written to stdout; diagnostics go to stderr.
 */
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

#include "compare.h"
#include "exec.h"
#include "request.h"
#include "treecopy.h"
#include "utf8.h"

#define DEFAULT_BASH		"/opt/cmdarena/bin/bash"
#define DEFAULT_CHALLENGES	"/opt/cmdarena/challenges"
#define DEFAULT_WORK_ROOT	"/var/challenges"
#define SCRIPT_OUTPUT_CAP	65536
#define CHECK_MESSAGE_MAX	300
#define KILL_ALL_MS		2000
#define EXIT_BAD_REQUEST	2
#define EXIT_FAILED		3

#define MSG_CHECK_FAILED	"The check failed."
#define MSG_RANDOMIZED		"Correct on the original files, but not after they changed: " \
				"the command must work for any files like these."

/* Everything one judgement needs. */
struct runner {
	struct request req;
	struct exec_ctx ex;
	const char *bash;
	const char *work_root;
	char srcdir[4096];	/* the challenge's files in the image */
	char workdir[4096];	/* their writable copy, every script's cwd */
	char *env_pwd, *env_home;
	const char *envp[16];
	long budget_left_ms;	/* of the user's command, shared by its runs */
	long deadline_ms;	/* exec_now_ms() past which nothing more may start (total_ms) */
	pid_t setup_sid;	/* setup's session: its processes survive until the end */
	char err[1024];		/* why a stage failed (sandbox or challenge fault) */
	bool timing;
	struct timespec t0;
};

struct verdict {
	bool correct;
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

static int emit_verdict(const char *nonce, const struct verdict *v)
{
	struct json_object *obj = json_object_new_object();
	size_t len = v->run.output_len, clean_len = 0;
	char *clean;

	if (obj == NULL)
		return -1;
	/* A cut at the cap must not leave half a character (it would become U+FFFD). */
	if (v->run.truncated)
		len = utf8_trim_partial(v->run.output, len);
	clean = utf8_sanitize(v->run.output ? v->run.output : "", len, &clean_len);
	if (clean == NULL) {
		json_object_put(obj);
		return -1;
	}
	json_object_object_add(obj, "nonce", json_object_new_string(nonce));
	json_object_object_add(obj, "correct", json_object_new_boolean(v->correct));
	json_object_object_add(obj, "output", json_object_new_string_len(clean, (int)clean_len));
	json_object_object_add(obj, "exit_code", json_object_new_int(v->run.exit_code));
	json_object_object_add(obj, "message",
	    v->message ? json_object_new_string(v->message) : NULL);
	json_object_object_add(obj, "timed_out", json_object_new_boolean(v->run.timed_out));
	json_object_object_add(obj, "truncated", json_object_new_boolean(v->run.truncated));
	free(clean);
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
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"LANG=C.UTF-8", "TERM=dumb", "MANPAGER=cat", "PAGER=cat", "USER=arena",
	};
	const char *challenges = env_or("CMDARENA_CHALLENGES_ROOT", DEFAULT_CHALLENGES);
	size_t n = 0;
	int a, b;

	r->bash = env_or("CMDARENA_BASH", DEFAULT_BASH);
	r->work_root = env_or("CMDARENA_WORK_ROOT", DEFAULT_WORK_ROOT);
	a = snprintf(r->srcdir, sizeof(r->srcdir), "%s/%s", challenges, r->req.dir);
	b = snprintf(r->workdir, sizeof(r->workdir), "%s/%s", r->work_root, r->req.dir);
	if (a < 0 || (size_t)a >= sizeof(r->srcdir) || b < 0 || (size_t)b >= sizeof(r->workdir))
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
	r->budget_left_ms = r->req.timeout_ms;
	r->deadline_ms = exec_now_ms() + r->req.total_ms;
	return 0;
}

enum script { SCRIPT_SETUP, SCRIPT_CHECK, SCRIPT_RANDOMIZE };

/* What is left of the runner's whole budget, capped at want. */
static long within_total(const struct runner *r, long want)
{
	long left = r->deadline_ms - exec_now_ms();

	return left < want ? (left > 0 ? left : 0) : want;
}

/* Run a challenge script (`bash -c SCRIPT`) in the work directory; err says why it could not. */
static int run_script(struct runner *r, enum script kind, struct exec_result *res,
    char *err, size_t errlen)
{
	const char *text = kind == SCRIPT_SETUP ? r->req.setup :
	    kind == SCRIPT_CHECK ? r->req.check : r->req.randomize;

	if (within_total(r, 1) <= 0) {
		snprintf(err, errlen, "no time left in the runner's budget");
		return -1;
	}
	const char *argv[] = { "bash", "-c", text, NULL };
	struct exec_spec spec = {
		.path = r->bash, .argv = argv, .envp = r->envp, .cwd = r->workdir,
		.budget_ms = within_total(r, r->req.script_timeout_ms),
		/* setup: output discarded, and what it starts keeps running */
		.output_cap = kind == SCRIPT_SETUP ? 0 : SCRIPT_OUTPUT_CAP,
		.new_session = kind == SCRIPT_SETUP,
		.kill_group_after = kind != SCRIPT_SETUP,
		/* randomize prints expected lines: its warnings are not among them */
		.stderr_to_null = kind == SCRIPT_RANDOMIZE,
	};

	return exec_run(&r->ex, &spec, res, err, errlen);
}

/* Run the user's command (`bash -O globstar -c CMD`) with what is left of its budget. */
static int run_command(struct runner *r, struct exec_result *res, char *err, size_t errlen)
{
	const char *argv[] = { "bash", "-O", "globstar", "-c", r->req.cmd, NULL };
	long budget = within_total(r, r->budget_left_ms);
	struct exec_spec spec = {
		.path = r->bash, .argv = argv, .envp = r->envp, .cwd = r->workdir,
		.budget_ms = budget > 0 ? budget : 1,
		.output_cap = r->req.output_cap,
	};
	int rc = exec_run(&r->ex, &spec, res, err, errlen);

	if (rc == 0)
		r->budget_left_ms -= res->elapsed_ms;
	return rc;
}

/* Stage 2. */
static int stage_setup(struct runner *r)
{
	struct exec_result res;
	char err[512];
	int code;

	if (r->req.setup == NULL)
		return 0;
	if (run_script(r, SCRIPT_SETUP, &res, err, sizeof(err)) < 0)
		return stage_fail(r, "setup", "%s", err);
	code = res.exit_code;
	r->setup_sid = res.pgid;
	exec_result_free(&res);
	if (code != 0)
		return stage_fail(r, "setup", "the challenge's setup script failed (exit status %d)", code);
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

/* Run the check, if any; a failure sets the verdict's message. */
static int judge_check(struct runner *r, struct verdict *v)
{
	struct exec_result res;
	char err[512];
	int rc = 0;

	if (r->req.check == NULL)
		return 0;
	/* Nothing the command left running may watch the check or change what it checks. */
	if (exec_kill_others(&r->ex, r->setup_sid, 1000) < 0)
		fprintf(stderr, "cmdarena-runner: the command's processes outlived 1 s of killing\n");
	if (run_script(r, SCRIPT_CHECK, &res, err, sizeof(err)) < 0) {
		/* Most likely the user's processes took every pid: their loss. */
		fprintf(stderr, "cmdarena-runner: check: %s\n", err);
		return set_message(v, "The check could not run.");
	}
	if (res.exit_code != 0)
		rc = check_message(&res, v);
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

/*
 * Stage 5: fresh files, the randomize script prints the new expected lines,
 * the command runs again and must be right again. Returns 0 with v set, -1
 * when the challenge itself failed (r->err says why).
 */
static int stage_randomize(struct runner *r, struct verdict *v)
{
	struct exec_result script, run2;
	struct expect e = r->req.expected;	/* flags and re_sub borrowed; lines replaced */
	struct lines lines = { NULL, 0 };
	char err[512];
	int rc = -1;

	memset(&run2, 0, sizeof(run2));
	/* What the first run left behind must not touch the new files nor see the script. */
	exec_kill_group(v->run.pgid);
	if (exec_kill_others(&r->ex, r->setup_sid, 1000) < 0)
		fprintf(stderr, "cmdarena-runner: the command's processes outlived 1 s of killing\n");
	chmod(r->work_root, 0755);	/* the user may have locked it */
	if (treecopy_recopy(r->srcdir, r->workdir, err, sizeof(err)) < 0) {
		fprintf(stderr, "cmdarena-runner: randomize: %s\n", err);
		return set_message(v, MSG_RANDOMIZED);
	}
	if (run_script(r, SCRIPT_RANDOMIZE, &script, err, sizeof(err)) < 0) {
		fprintf(stderr, "cmdarena-runner: randomize: %s\n", err);
		return set_message(v, "The challenge's randomize script could not run.");
	}
	if (script.exit_code != 0 || script.truncated) {
		stage_fail(r, "randomize", "the challenge's randomize script failed (exit status %d%s)",
		    script.exit_code, script.truncated ? ", too much output" : "");
		goto out;
	}
	if (lines_split(script.output, script.output_len, &lines) < 0) {
		stage_fail(r, "randomize", "out of memory");
		goto out;
	}
	e.lines = lines.v;
	e.n_lines = lines.n;
	if (expect_validate(&e, err, sizeof(err)) < 0) {
		stage_fail(r, "randomize", "%s", err);
		goto out;
	}
	timing(r, "randomize script");
	if (run_command(r, &run2, err, sizeof(err)) < 0) {
		fprintf(stderr, "cmdarena-runner: second run: %s\n", err);
		rc = set_message(v, MSG_RANDOMIZED);
		goto out;
	}
	timing(r, "second run");
	rc = judge_run(r, &e, &run2, v);
	if (rc == 0 && !v->correct)
		rc = set_message(v, MSG_RANDOMIZED);
	if (rc < 0)
		stage_fail(r, "randomize", "out of memory");
out:
	lines_free(&lines);
	exec_result_free(&script);
	exec_result_free(&run2);
	return rc;
}

/* Stages 1-5. Returns 0 with the verdict, -1 when the sandbox or challenge failed. */
static int judge(struct runner *r, struct verdict *v)
{
	/* Without lines of its own (lines: null) the first run is judged by the check alone. */
	const struct expect *e = r->req.has_expected && !r->req.lines_null ? &r->req.expected : NULL;
	char err[512];

	if (treecopy_copy(r->srcdir, r->workdir, err, sizeof(err)) < 0)
		return stage_fail(r, "copy", "%s", err);
	timing(r, "copy");
	if (stage_setup(r) < 0)
		return -1;
	timing(r, "setup");
	if (run_command(r, &v->run, err, sizeof(err)) < 0)
		return stage_fail(r, "command", "%s", err);
	timing(r, "first run");
	if (judge_run(r, e, &v->run, v) < 0)
		return stage_fail(r, "judge", "out of memory");
	timing(r, "judge");
	if (v->correct && r->req.randomize != NULL)
		return stage_randomize(r, v);
	return 0;
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

	rc = runner_setup(&r) == 0 ? judge(&r, &v) : -1;

	/* Stage 6: nothing the user started outlives the verdict. */
	if (exec_kill_all(&r.ex, KILL_ALL_MS) < 0)
		fprintf(stderr, "cmdarena-runner: processes still alive after %d ms\n", KILL_ALL_MS);
	timing(&r, "kill all");
	if (rc == 0)
		emit_verdict(r.req.nonce, &v);
	else
		emit_error(r.req.nonce, r.err[0] != '\0' ? r.err : "The sandbox failed.");
	timing(&r, "verdict written");

	exec_result_free(&v.run);
	free(v.message);
	free(r.env_pwd);
	free(r.env_home);
	request_free(&r.req);
	exec_fini(&r.ex);
	return rc == 0 ? 0 : EXIT_FAILED;
}
