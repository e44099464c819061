/*
 * judge.c: the stages of one judgement (runner/README.md, "Stages"):
 * prepare (copy, setup, hand over, snapshot), the command, the comparison
 * and the check, then the reset, setup again, randomize and the second
 * run; and audits, many attempts with the same reset between them.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"
#include "lib/clock.h"
#include "lib/compare.h"
#include "lib/utf8.h"
#include "privs.h"
#include "reset.h"
#include "runner.h"
#include "treecopy.h"

#define CHECK_MESSAGE_MAX	300
#define MSG_CHECK_FAILED	"The check failed."
#define MSG_RANDOMIZED		"Correct on the original files, but not after they changed: " \
				"the command must work for any files like these."
#define MSG_NOT_RANDOMIZED	"The challenge's files could not be changed for the second run, " \
				"so the command could not be judged: try again later."
#define MSG_CHECK_UNFINISHED	"The check did not finish."

int stage_fail(struct runner *r, const char *what, const char *fmt, ...)
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


int set_message(struct judgement *v, const char *text)
{
	free(v->message);
	v->message = strdup(text);
	v->correct = false;
	return v->message == NULL ? -1 : 0;
}


static double ms_since(long long t0_us)
{
	return (double)(clock_us() - t0_us) / 1e3;
}


void timing(const struct runner *r, const char *stage)
{
	if (r->timing)
		fprintf(stderr, "cmdarena-runner: %8.3f ms %s\n", ms_since(r->t0_us), stage);
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
/*
 * Returns 0, or -1 when some outlived a second of killing: then nothing may
 * go on as if the user's processes were gone (the files could still change).
 */
static int kill_user_processes(struct runner *r, bool keep_setup)
{
	size_t n = r->n_helpers;

	if (keep_setup && r->setup_sid > 0)
		r->keep[n++] = r->setup_sid;
	if (exec_kill_others(&r->ex, r->keep, n, 1000) < 0) {
		fprintf(stderr, "cmdarena-runner: processes outlived 1 s of killing\n");
		return -1;
	}
	return 0;
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
		if (kill_user_processes(r, false) < 0)
			return stage_fail(r, "reset", "the command's processes could not be stopped");
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
static int check_message(const struct exec_result *res, struct judgement *v)
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
static int judge_check(struct runner *r, struct judgement *v)
{
	struct exec_result res;
	char err[512], token[TOKEN_LEN + 1];
	int rc = 0;

	if (r->req.check == NULL)
		return 0;
	/* Nothing the command left running may watch the check or change what it checks. */
	if (kill_user_processes(r, true) < 0) {
		v->transient = true;
		return set_message(v, "The command's processes could not be stopped, so the check could not run.");
	}
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
    struct judgement *v)
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
static int not_randomized(struct judgement *v, const char *why, int code)
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
 * Run the randomize script and make its lines the second run's expectation e (its lines in
 * *lines). Returns 0 with *ready set when e is ready; 0 when the challenge could not be
 * randomized (v says so); -1 when the sandbox failed (r->err) or out of memory.
 */
static int randomized_expectation(struct runner *r, struct judgement *v, struct lines *lines, struct expect *e,
    bool *ready)
{
	struct exec_result script;
	char err[512];
	int rc = -1;

	*ready = false;
	memset(&script, 0, sizeof(script));
	if (run_script(r, SCRIPT_RANDOMIZE, NULL, &script, err, sizeof(err)) < 0)
		return not_randomized(v, err, -1);
	if (script.exit_code != 0 || script.truncated || script.timed_out) {
		rc = not_randomized(v, script.timed_out ? "timed out" : script.truncated ?
		    "too much output" : "the script failed", script.exit_code);
		goto out;
	}
	if (lines_split(script.output, script.output_len, lines) < 0) {
		stage_fail(r, "randomize", "out of memory");
		goto out;
	}
	if (lines->n == 0 && !empty_expectation_allowed(&r->req)) {
		rc = not_randomized(v, "it printed no expected line", 0);
		goto out;
	}
	e->lines = lines->v;
	e->n_lines = lines->n;
	if (expect_validate(e, err, sizeof(err)) < 0) {
		rc = not_randomized(v, err, 0);
		goto out;
	}
	timing(r, "randomize script");
	*ready = true;
	rc = 0;
out:
	exec_result_free(&script);
	return rc;
}

/* Run the command again on the prepared files and judge it against e. */
static int second_run(struct runner *r, const struct expect *e, struct judgement *v)
{
	struct exec_result run2;
	char err[512];
	int rc = -1;

	memset(&run2, 0, sizeof(run2));
	if (finish_preparing(r) < 0)
		goto out;
	if (run_command(r, &run2, err, sizeof(err)) < 0) {
		stage_fail(r, "second run", "%s", err);
		goto out;
	}
	timing(r, "second run");
	rc = judge_run(r, e, &run2, v);
	if (rc == 0 && !v->correct && !v->transient)
		rc = set_message(v, MSG_RANDOMIZED);
	if (rc < 0 && r->err[0] == '\0')
		stage_fail(r, "randomize", "out of memory");
out:
	exec_result_free(&run2);
	return rc;
}

/*
 * The second run: everything reset, fresh files, setup again, the randomize
 * script prints the new expected lines, the command runs again and must be
 * right again. Returns 0 with v set, -1 when the sandbox failed (r->err).
 */
static int stage_randomize(struct runner *r, struct judgement *v)
{
	struct expect e = r->req.expected;	/* flags and re_sub borrowed; lines replaced */
	struct lines lines = { NULL, 0 };
	bool ready;
	int rc;

	r->run_no = 2;
	if (prepare_run(r, true) < 0)
		return -1;
	rc = randomized_expectation(r, v, &lines, &e, &ready);
	if (ready)
		rc = second_run(r, &e, v);
	lines_free(&lines);
	return rc;
}

/* Judge r->cmd from scratch. Returns 0 with the verdict, -1 when the sandbox failed. */
int judge(struct runner *r, struct judgement *v, bool fresh)
{
	/* Without lines of its own (lines: null) the first run is judged by the check alone. */
	const struct expect *e = r->req.has_expected && !r->req.lines_null ? &r->req.expected : NULL;
	char err[512];

	r->budget_left_ms = r->req.timeout_ms;
	r->deadline_ms = clock_ms() + r->req.total_ms;
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

void judgement_free(struct judgement *v)
{
	exec_result_free(&v->run);
	free(v->message);
	memset(v, 0, sizeof(*v));
}

/* The helper processes, once per container: they live across resets. */
int start_helpers(struct runner *r)
{
	char err[512], self[4096];
	ssize_t n;

	if (r->req.n_helpers == 0)
		return 0;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return stage_fail(r, "helpers", "cannot find the runner's own path");
	self[n] = '\0';
	if (helpers_start(&r->ex, r->req.helpers, r->req.n_helpers, self, r->keep, err, sizeof(err)) < 0)
		return stage_fail(r, "helpers", "%s", err);
	r->n_helpers = r->req.n_helpers;
	return 0;
}

/* An audit: every attempt judged alone, with the full reset between them; one line of verdicts. */
int judge_attempts(struct runner *r)
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
		struct judgement v;
		struct json_object *one;

		memset(&v, 0, sizeof(v));
		r->cmd = &r->req.attempts[i];
		r->err[0] = '\0';
		if (judge(r, &v, i == 0) == 0) {
			one = judgement_json(&v, true);
		} else {
			one = json_object_new_object();
			if (one != NULL)
				json_object_object_add(one, "error", json_object_new_string(r->err));
		}
		judgement_free(&v);
		if (one == NULL) {
			json_object_put(out);
			return stage_fail(r, "audit", "out of memory");
		}
		json_object_array_add(list, one);
	}
	return io_emit(out) == 0 ? 0 : stage_fail(r, "audit", "cannot write the verdicts");
}
