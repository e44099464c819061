/*
 * check/main.c: cmdarena-check, the challenge author's tool (cmdarena-check(1)).
 *
 *   cmdarena-check [--challenges DIR] [SLUG ...]     judge every example (must be correct) and
 *                                                   every expected_failures command (must not be)
 *                                                   through the real sandbox; TAP on stdout
 *   cmdarena-check --audit [SLUG ...]                attack every challenge with forgeries (audit.c):
 *                                                   any judged correct fails; TAP on stdout
 *   cmdarena-check --replay FILE                     re-judge past verdicts, report disagreements
 *   cmdarena-check --lint                            load the catalogue, print its messages
 *   cmdarena-check --list-json                       the page's challenge list (no answers)
 *
 * Each run uses a fresh container (create, start, attach, remove) with the
 * same limits as the service, from the image built for that directory.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "check/audit.h"
#include "check/parallel.h"
#include "check/tap_diag.h"
#include "config/catalogue.h"
#include "config/config.h"
#include "engine/attach.h"
#include "engine/docker.h"
#include "engine/sandbox.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/strbuf.h"

#ifndef CHECK_RUNNER_PATH
#define CHECK_RUNNER_PATH "runner/cmdarena-runner"
#endif
#ifndef CHECK_IMAGE_BUILD
#define CHECK_IMAGE_BUILD "runner/image/build"
#endif
/* Where `make install` puts them: used when the build tree is gone. */
#ifndef CHECK_RUNNER_INSTALLED
#define CHECK_RUNNER_INSTALLED CHECK_RUNNER_PATH
#endif
#ifndef CHECK_IMAGE_BUILD_INSTALLED
#define CHECK_IMAGE_BUILD_INSTALLED CHECK_IMAGE_BUILD
#endif

/* One command to judge (an example, an expected failure, a replayed submission) and its result. */
struct check_item {
	const struct challenge *ch;
	char *cmd;
	bool want_correct;
	const char *what;	/* "example", "expected failure", "replayed" */
	/* results */
	bool ran;
	long long ms;		/* request written to verdict read: every stage in the sandbox */
	struct verdict v;
	char error[512];
};

struct check {
	struct config cfg;
	struct catalogue cat;
	struct engine engine;
	char *built_image;	/* the image built for the catalogue (when --image is not given) */
	struct check_item *items;
	size_t n_items;
	bool progress;
	bool timings;		/* --timings: each item's time in the sandbox */
};

static int run_cold(CURL *h, struct check *ck, const struct challenge *ch, const char *cmd, struct verdict *v,
    long long *ms, char *err, size_t errlen)
{
	char id[DOCKER_ID_MAX + 1], nonce[NONCE_LEN + 1], aerr[512];
	struct docker_error derr = { 0, "" };
	struct strbuf line = STRBUF_INIT;
	size_t reqlen;
	char *spec = sandbox_container_spec(&ck->cfg, ch->no_bin);
	char *req = sandbox_runner_request(&ck->cfg, ch, cmd, strlen(cmd), nonce, &reqlen);
	long long deadline = clock_ms() + ck->cfg.hard_deadline_ms + 30000;
	enum attach_status st;
	long long started;
	int rc = -1;

	if (spec == NULL || req == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (docker_create(h, &ck->engine, spec, id, 30000L, &derr) < 0) {
		snprintf(err, errlen, "%s", derr.message);
		goto out;
	}
	if (docker_start(h, &ck->engine, id, 30000L, &derr) < 0) {
		snprintf(err, errlen, "%s", derr.message);
		docker_remove(h, &ck->engine, id, 30000L, &derr);
		goto out;
	}
	started = clock_ms();
	st = attach_exchange(&ck->engine, id, req, reqlen, deadline, ck->cfg.output_cap * 6 + 65536, &line, aerr, sizeof(aerr));
	*ms = clock_ms() - started;
	if (docker_remove(h, &ck->engine, id, 30000L, &derr) < 0)
		fprintf(stderr, "warning: %s\n", derr.message);
	if (st != ATTACH_OK) {
		snprintf(err, errlen, "attach %s: %.480s", attach_status_name(st), aerr);
		goto out;
	}
	if (sandbox_parse_verdict(line.buf ? line.buf : "", line.len, nonce, ck->cfg.output_cap, v, err, errlen) < 0)
		goto out;
	rc = 0;
out:
	free(spec);
	free(req);
	sb_free(&line);
	return rc;
}

/* One item, on one of parallel_run's threads. */
static void run_item(CURL *h, size_t i, void *arg)
{
	struct check *ck = arg;
	struct check_item *it = &ck->items[i];

	if (h == NULL)
		snprintf(it->error, sizeof(it->error), "out of memory");
	else if (run_cold(h, ck, it->ch, it->cmd, &it->v, &it->ms, it->error, sizeof(it->error)) == 0)
		it->ran = true;
}

static void item_done(size_t i, size_t done, void *arg)
{
	const struct check *ck = arg;

	(void)i;
	if (ck->progress)
		fprintf(stderr, "\r[%zu/%zu]", done, ck->n_items);
}

static void run_all(struct check *ck, int jobs)
{
	parallel_run(ck->n_items, jobs, run_item, item_done, ck);
	if (ck->progress)
		fputc('\n', stderr);
}

/* Tell the author what differed: the comparison re-done here, with the expected side shown. */
static void explain_mismatch(const struct check_item *j)
{
	const struct challenge *ch = j->ch;
	struct compare_result res;

	tap_diag("output", j->v.output, j->v.output_len, 20, 200);
	if (j->v.message)
		printf("#   message: %s\n", j->v.message);
	if (j->v.timed_out)
		printf("#   the command timed out\n");
	if (!ch->has_lines)
		return;
	memset(&res, 0, sizeof(res));
	if (compare_output(&ch->expect, j->v.output, j->v.output_len, &res) == 0 && !res.match) {
		printf("#   expected %zu line(s) after the rules, got %zu\n", res.n_expected, res.n_got);
		printf("#   first difference at line %zu:\n#     expected: %s\n#          got: %s\n", res.first_diff + 1,
		    res.expected_line ? res.expected_line : "(no line)", res.got_line ? res.got_line : "(no line)");
	} else if (res.match) {
		printf("#   the output matches the expected lines: the check or randomize step decided\n");
	}
	compare_result_free(&res);
}

static int cmp_ms(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

/* A TAP comment: the median and slowest time in the sandbox (copy, setup, runs, scripts) of the jobs that ran. */
static void report_times(const struct check *ck)
{
	long long *v = calloc(ck->n_items ? ck->n_items : 1, sizeof(*v));
	const struct check_item *slowest = NULL;
	size_t n = 0;

	if (v == NULL)
		return;
	for (size_t i = 0; i < ck->n_items; i++) {
		const struct check_item *j = &ck->items[i];

		if (!j->ran)
			continue;
		v[n++] = j->ms;
		if (slowest == NULL || j->ms > slowest->ms)
			slowest = j;
	}
	if (n > 0) {
		qsort(v, n, sizeof(*v), cmp_ms);
		printf("# time in the sandbox: median %lld ms, slowest %lld ms (%s: %s), budget %d ms, cpus %.2f\n", v[n / 2],
		    slowest->ms, slowest->ch->slug, slowest->what, ck->cfg.timeout_ms, ck->cfg.cpus);
	}
	free(v);
}

static int report_selftest(struct check *ck)
{
	int failed = 0;

	printf("1..%zu\n", ck->n_items);
	for (size_t i = 0; i < ck->n_items; i++) {
		struct check_item *j = &ck->items[i];
		bool pass = j->ran && j->v.correct == j->want_correct;

		printf("%s %zu - %s: %s %s is judged %s\n", pass ? "ok" : "not ok", i + 1, j->ch->slug, j->what,
		    j->cmd, j->want_correct ? "correct" : "incorrect");
		if (ck->timings && j->ran)
			printf("#   %lld ms in the sandbox\n", j->ms);
		if (!pass) {
			failed++;
			if (!j->ran)
				printf("#   could not run: %s\n", j->error);
			else if (j->want_correct)
				explain_mismatch(j);
			else
				printf("#   a command that should fail was judged correct (add a randomize, or tighten the check)\n");
		}
	}
	if (failed)
		printf("# %d of %zu failed\n", failed, ck->n_items);
	report_times(ck);
	return failed ? 1 : 0;
}

static int plan_selftest(struct check *ck, char **slugs, int n_slugs)
{
	size_t n = 0;

	for (int i = 0; i < n_slugs; i++)
		if (catalogue_find(&ck->cat, slugs[i]) == NULL) {
			fprintf(stderr, "cmdarena-check: no challenge %s in %s\n", slugs[i], ck->cat.yaml_path);
			return -1;
		}
	for (size_t i = 0; i < ck->cat.n; i++)
		if (challenge_selected(&ck->cat.v[i], slugs, n_slugs))
			n += 1 + ck->cat.v[i].n_expected_failures;
	ck->items = calloc(n ? n : 1, sizeof(*ck->items));
	if (ck->items == NULL)
		return -1;
	for (size_t i = 0; i < ck->cat.n; i++) {
		const struct challenge *ch = &ck->cat.v[i];

		if (!challenge_selected(ch, slugs, n_slugs))
			continue;
		ck->items[ck->n_items++] = (struct check_item){ .ch = ch, .cmd = strdup(ch->example), .want_correct = true, .what = "example" };
		for (size_t k = 0; k < ch->n_expected_failures; k++)
			ck->items[ck->n_items++] = (struct check_item){ .ch = ch, .cmd = strdup(ch->expected_failures[k]),
			    .want_correct = false, .what = "expected failure" };
	}
	return 0;
}

/* --replay: one JSON object per line {"slug","cmd","correct"}. */
static int plan_replay(struct check *ck, const char *path)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	char *line = NULL;
	size_t cap = 0, n = 0, lineno = 0;
	ssize_t len;
	int rc = 0;

	if (f == NULL) {
		fprintf(stderr, "cmdarena-check: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((len = getline(&line, &cap, f)) > 0) {
		json_object *o, *s, *c, *k;
		const struct challenge *ch;
		struct check_item *grown;

		lineno++;
		if (len <= 1)
			continue;
		o = json_tokener_parse(line);
		if (o == NULL || !json_object_object_get_ex(o, "slug", &s) || !json_object_object_get_ex(o, "cmd", &c) ||
		    !json_object_object_get_ex(o, "correct", &k) || !json_object_is_type(k, json_type_boolean)) {
			fprintf(stderr, "%s:%zu: not a {\"slug\",\"cmd\",\"correct\"} object: skipped\n", path, lineno);
			json_object_put(o);
			rc = -1;
			continue;
		}
		ch = catalogue_find(&ck->cat, json_object_get_string(s));
		if (ch == NULL) {
			fprintf(stderr, "%s:%zu: no challenge %s: skipped\n", path, lineno, json_object_get_string(s));
			json_object_put(o);
			continue;
		}
		if (ck->n_items == n) {
			n = n ? 2 * n : 64;
			grown = realloc(ck->items, n * sizeof(*grown));
			if (grown == NULL) {
				json_object_put(o);
				rc = -1;
				break;
			}
			ck->items = grown;
		}
		ck->items[ck->n_items++] = (struct check_item){ .ch = ch, .cmd = strdup(json_object_get_string(c)),
		    .want_correct = json_object_get_boolean(k), .what = "replayed" };
		json_object_put(o);
	}
	free(line);
	if (f != stdin)
		fclose(f);
	return rc;
}

static int report_replay(struct check *ck)
{
	size_t agree = 0, ran = 0;

	for (size_t i = 0; i < ck->n_items; i++) {
		struct check_item *j = &ck->items[i];

		if (!j->ran) {
			printf("error: %s: %s: %s\n", j->ch->slug, j->cmd, j->error);
			continue;
		}
		ran++;
		if (j->v.correct == j->want_correct) {
			agree++;
			continue;
		}
		printf("differs: %s: %s: was %s, now %s%s%s\n", j->ch->slug, j->cmd, j->want_correct ? "correct" : "incorrect",
		    j->v.correct ? "correct" : "incorrect", j->v.message ? ": " : "", j->v.message ? j->v.message : "");
	}
	printf("agreement: %zu of %zu (%.1f%%)%s\n", agree, ran, ran ? 100.0 * (double)agree / (double)ran : 100.0,
	    ran < ck->n_items ? " (some could not run)" : "");
	return agree == ck->n_items ? 0 : 1;
}

/* Build (or find) the sandbox image for this challenges directory with the image build script. */
static char *build_image(const char *dir, const char *state)
{
	const char *script = getenv("CMDARENA_IMAGE_BUILD") ? getenv("CMDARENA_IMAGE_BUILD") :
	    access(CHECK_IMAGE_BUILD, X_OK) == 0 ? CHECK_IMAGE_BUILD : CHECK_IMAGE_BUILD_INSTALLED;
	const char *runner = getenv("CMDARENA_RUNNER") ? getenv("CMDARENA_RUNNER") :
	    access(CHECK_RUNNER_PATH, R_OK) == 0 ? CHECK_RUNNER_PATH : CHECK_RUNNER_INSTALLED;
	int fds[2];
	pid_t pid;
	char buf[256];
	struct strbuf out = STRBUF_INIT;
	ssize_t n;
	int status;

	if (pipe(fds) < 0)
		return NULL;
	pid = fork();
	if (pid < 0)
		return NULL;
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		execl(script, script, "--runner", runner, "--challenges", dir, "--state", state, (char *)NULL);
		fprintf(stderr, "cmdarena-check: cannot run %s: %s\n", script, strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	while ((n = read(fds[0], buf, sizeof(buf))) > 0 && out.len < 4096)
		sb_add(&out, buf, (size_t)n);
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || out.len == 0) {
		sb_free(&out);
		return NULL;
	}
	while (out.len && (out.buf[out.len - 1] == '\n' || out.buf[out.len - 1] == ' '))
		out.buf[--out.len] = '\0';
	return sb_detach(&out, NULL);
}

static void usage(FILE *f)
{
	fputs("usage: cmdarena-check [--challenges DIR] [options] [SLUG ...]\n"
	    "       cmdarena-check --audit [options] [SLUG ...]\n"
	    "       cmdarena-check --replay FILE [options]\n"
	    "       cmdarena-check --lint | --list-json [--challenges DIR]\n"
	    "options:\n"
	    "  --challenges DIR  the catalogue (challenges.yaml and files), default ./challenges\n"
	    "  --config FILE     take limits and the engine from this cmdarena.conf\n"
	    "  --image REF       use this sandbox image instead of building one for DIR\n"
	    "  --engine URL      the Docker engine (default unix:///var/run/docker.sock)\n"
	    "  --state DIR       where image inputs are cached (default ./var)\n"
	    "  --jobs N          runs in parallel (default 4)\n"
	    "  --timings         print each run's time in the sandbox\n", f);
}

enum mode { MODE_SELFTEST, MODE_AUDIT, MODE_REPLAY, MODE_LINT, MODE_LIST_JSON };

/* What the command line asks for. */
struct options {
	enum mode mode;
	const char *dir, *config_path, *image, *engine_url, *state;
	const char *replay;	/* MODE_REPLAY: the file of past verdicts */
	int jobs;
	bool timings;
	char **slugs;		/* the challenges named (all when none) */
	int n_slugs;
};

/* Returns 0 to go on, -1 after --help (exit 0), or 2 for a mistake (its exit status). */
static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option opts[] = {
		{ "challenges", required_argument, NULL, 'd' }, { "config", required_argument, NULL, 'c' },
		{ "image", required_argument, NULL, 'i' }, { "engine", required_argument, NULL, 'e' },
		{ "state", required_argument, NULL, 's' }, { "jobs", required_argument, NULL, 'j' },
		{ "replay", required_argument, NULL, 'r' }, { "lint", no_argument, NULL, 'l' },
		{ "list-json", no_argument, NULL, 'J' }, { "timings", no_argument, NULL, 'T' },
		{ "audit", no_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	bool lint = false, list_json = false, audit = false;
	int opt;

	*o = (struct options){ .mode = MODE_SELFTEST, .dir = "challenges", .state = "var", .jobs = 4 };
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'd': o->dir = optarg; break;
		case 'c': o->config_path = optarg; break;
		case 'i': o->image = optarg; break;
		case 'e': o->engine_url = optarg; break;
		case 's': o->state = optarg; break;
		case 'j': o->jobs = atoi(optarg); break;
		case 'r': o->replay = optarg; break;
		case 'l': lint = true; break;
		case 'J': list_json = true; break;
		case 'T': o->timings = true; break;
		case 'a': audit = true; break;
		case 'h': usage(stdout); return -1;
		default: usage(stderr); return 2;
		}
	}
	if (o->jobs < 1 || o->jobs > 64) {
		fprintf(stderr, "cmdarena-check: --jobs must be 1 to 64\n");
		return 2;
	}
	/* Given together: --lint before --list-json before --audit before --replay. */
	o->mode = lint ? MODE_LINT : list_json ? MODE_LIST_JSON : audit ? MODE_AUDIT : o->replay ? MODE_REPLAY : MODE_SELFTEST;
	o->slugs = argv + optind;
	o->n_slugs = argc - optind;
	return 0;
}

/* --engine: this engine in place of those the defaults or the config file named. */
static int replace_engine(struct config *cfg, const char *url)
{
	char err[1024], setting[1024];

	snprintf(setting, sizeof(setting), "engine=%s", url);
	config_clear_engines(cfg);
	if (config_set(cfg, setting, err, sizeof(err)) < 0) {
		fprintf(stderr, "cmdarena-check: %s\n", err);
		return -1;
	}
	return 0;
}

/* The service's limits and engine: defaults, then --config, then --engine. Returns 0 or an exit status. */
static int load_config(struct config *cfg, const struct options *o)
{
	char err[1024];

	if (config_defaults(cfg) < 0 || (o->config_path && config_load(cfg, o->config_path, err, sizeof(err)) < 0)) {
		fprintf(stderr, "cmdarena-check: %s\n", o->config_path ? err : "out of memory");
		return 2;
	}
	if (o->engine_url && replace_engine(cfg, o->engine_url) < 0)
		return 1;
	if (config_finish(cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "cmdarena-check: %s\n", err);
		return 1;
	}
	return 0;
}

/* The catalogue, its messages on stderr; the TAP modes bail out when it does not load. */
static int load_catalogue(struct check *ck, const struct options *o)
{
	struct load_report rep = { STRBUF_INIT, 0, 0 };
	int rc = catalogue_load(&ck->cat, o->dir, &rep);

	if (rep.text.len)
		fputs(rep.text.buf, stderr);
	if (rc < 0 && o->mode != MODE_LINT && o->mode != MODE_LIST_JSON)
		printf("Bail out! the challenges in %s do not load\n", o->dir);
	if (rc == 0 && o->mode == MODE_LINT)
		printf("%s: %zu challenges, %u warning(s)\n", ck->cat.yaml_path, ck->cat.n, rep.warnings);
	load_report_free(&rep);
	return rc;
}

static int mode_list_json(const struct check *ck)
{
	char *json = catalogue_public_json(&ck->cat);

	if (json)
		printf("%s\n", json);
	free(json);
	return json ? 0 : 1;
}

/* Does the engine answer? */
static int engine_answers(struct check *ck)
{
	CURL *h = curl_easy_init();
	struct docker_error derr = { 0, "" };
	int r = h ? docker_ping(h, &ck->engine, 5000L, &derr) : -1;

	if (h)
		curl_easy_cleanup(h);
	if (r < 0)
		printf("Bail out! the Docker engine does not answer: %s\n", derr.message);
	return r;
}

/* The sandbox image (--image, or built for the catalogue) and the engine, answering. */
static int sandbox_ready(struct check *ck, const struct options *o)
{
	const char *image = o->image;

	if (image == NULL) {
		fprintf(stderr, "cmdarena-check: building (or finding) the sandbox image for %s\n", o->dir);
		ck->built_image = build_image(o->dir, o->state);
		if (ck->built_image == NULL) {
			printf("Bail out! the sandbox image for %s could not be built\n", o->dir);
			return -1;
		}
		image = ck->built_image;
	}
	free(ck->cfg.image);
	ck->cfg.image = strdup(image);
	free(ck->cfg.image_nobin);
	ck->cfg.image_nobin = strdup(image);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (engine_init(&ck->engine, &ck->cfg.engines[0], 0) < 0) {
		printf("Bail out! cannot set up engine %s\n", ck->cfg.engines[0].url);
		return -1;
	}
	return engine_answers(ck);
}

static int mode_replay(struct check *ck, const struct options *o)
{
	if (plan_replay(ck, o->replay) < 0 && ck->n_items == 0)
		return 1;
	ck->progress = isatty(STDERR_FILENO) || getenv("CMDARENA_PROGRESS");
	fprintf(stderr, "replaying %zu verdict(s) with %d in parallel\n", ck->n_items, o->jobs);
	run_all(ck, o->jobs);
	return report_replay(ck);
}

static int mode_selftest(struct check *ck, const struct options *o)
{
	if (plan_selftest(ck, o->slugs, o->n_slugs) < 0)
		return 1;
	run_all(ck, o->jobs);
	return report_selftest(ck);
}

/* The modes that judge in containers. */
static int run_mode(struct check *ck, const struct options *o)
{
	if (sandbox_ready(ck, o) < 0)
		return 1;
	switch (o->mode) {
	case MODE_AUDIT: return audit_main(&ck->cfg, &ck->cat, &ck->engine, o->slugs, o->n_slugs, o->jobs);
	case MODE_REPLAY: return mode_replay(ck, o);
	default: return mode_selftest(ck, o);
	}
}

static void check_free(struct check *ck)
{
	for (size_t i = 0; i < ck->n_items; i++) {
		free(ck->items[i].cmd);
		verdict_free(&ck->items[i].v);
	}
	free(ck->items);
	free(ck->built_image);
	engine_free(&ck->engine);
	catalogue_free(&ck->cat);
	config_free(&ck->cfg);
}

int main(int argc, char **argv)
{
	struct options o;
	struct check ck;
	int status;

	memset(&ck, 0, sizeof(ck));
	log_init("cmdarena-check", LOG_WARN);
	status = parse_options(argc, argv, &o);
	if (status != 0)
		return status < 0 ? 0 : status;
	ck.timings = o.timings;
	status = load_config(&ck.cfg, &o);
	if (status == 0 && load_catalogue(&ck, &o) < 0)
		status = 1;
	else if (status == 0 && o.mode == MODE_LIST_JSON)
		status = mode_list_json(&ck);
	else if (status == 0 && o.mode != MODE_LINT)
		status = run_mode(&ck, &o);
	check_free(&ck);
	curl_global_cleanup();
	return status;
}
