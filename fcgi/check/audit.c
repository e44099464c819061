/*
 * audit.c: cmdarena-check --audit (audit.h): judge every forgery strategy and every expected
 * failure of each challenge, many attempts per container, and report TAP.
 *
 * Per challenge: one request judges the example (its run-1 output is what the replays print), the
 * probe (what the example leaves) and each expected failure once; a second request (or more, by
 * chunks) judges the strategies and, for an expected failure whose first run was correct (only
 * randomize told it apart), enough repeats for AUDIT_RANDOMIZATIONS randomized judgements.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "check/audit.h"
#include "check/parallel.h"
#include "check/tap_diag.h"
#include "engine/attach.h"
#include "lib/base64.h"
#include "lib/clock.h"

/* ---- the request and the answer ---------------------------------------------------------- */

char *audit_request(const struct config *c, const struct challenge *ch, char *const *cmds, size_t n,
    size_t output_cap, char nonce[NONCE_LEN + 1], size_t *reqlen)
{
	json_object *req, *list;
	char *out = NULL;
	bool ok = true;

	if (n == 0 || sandbox_make_nonce(nonce) < 0)
		return NULL;
	req = json_object_new_object();
	list = json_object_new_array();
	if (req == NULL || list == NULL) {
		json_object_put(req);
		json_object_put(list);
		return NULL;
	}
	json_object_object_add(req, "nonce", json_object_new_string(nonce));
	json_object_object_add(req, "attempts", list);
	for (size_t i = 0; ok && i < n; i++) {
		char *b64 = base64_encode((const unsigned char *)cmds[i], strlen(cmds[i]));

		ok = b64 != NULL && json_object_array_add(list, json_object_new_string(b64)) == 0;
		free(b64);
	}
	/* The service's budget, per attempt: the runner applies timeout_ms and total_ms to each. */
	if (ok)
		out = sandbox_request_finish(req, c, ch, output_cap, reqlen);
	json_object_put(req);
	return out;
}

void audit_verdict_free(struct audit_verdict *av)
{
	verdict_free(&av->v);
	free(av->error);
	memset(av, 0, sizeof(*av));
}

/* One element of "verdicts": checked by the same code as a single verdict (with the nonce added). */
static void parse_one(json_object *e, const char *nonce, size_t output_cap, struct audit_verdict *av)
{
	json_object *m;
	char err[512];
	const char *text;
	size_t len;

	memset(av, 0, sizeof(*av));
	if (!json_object_is_type(e, json_type_object)) {
		av->error = strdup("the attempt's verdict is not a JSON object");
		return;
	}
	if (json_object_object_get_ex(e, "error", &m) && json_object_is_type(m, json_type_string)) {
		char msg[300];

		snprintf(msg, sizeof(msg), "the sandbox could not judge it: %.250s", json_object_get_string(m));
		av->error = strdup(msg);
		return;
	}
	if (!json_object_object_get_ex(e, "first_run_correct", &m) || !json_object_is_type(m, json_type_boolean)) {
		av->error = strdup("the attempt's verdict has no boolean 'first_run_correct'");
		return;
	}
	av->first_run_correct = json_object_get_boolean(m);
	json_object_object_add(e, "nonce", json_object_new_string(nonce));
	text = json_object_to_json_string_length(e, JSON_C_TO_STRING_PLAIN, &len);
	if (text == NULL || sandbox_parse_verdict(text, len, nonce, output_cap, &av->v, err, sizeof(err)) < 0) {
		av->error = strdup(text ? err : "out of memory");
		return;
	}
	av->ran = true;
}

int audit_parse_verdicts(const char *line, size_t len, const char *nonce, size_t n, size_t output_cap,
    struct audit_verdict *out, char *err, size_t errlen)
{
	json_tokener *tok = json_tokener_new();
	json_object *o = NULL, *m, *list;
	int rc = -1;

	memset(out, 0, n * sizeof(*out));
	if (tok == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	o = json_tokener_parse_ex(tok, line, (int)len);
	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		snprintf(err, errlen, "the runner's answer is not a JSON object");
		goto out;
	}
	if (!json_object_object_get_ex(o, "verdicts", &list) && json_object_object_get_ex(o, "error", &m) &&
	    json_object_is_type(m, json_type_string)) {
		snprintf(err, errlen, "the runner refused the request: %.200s", json_object_get_string(m));
		goto out;
	}
	if (!json_object_object_get_ex(o, "nonce", &m) || !json_object_is_type(m, json_type_string) ||
	    strcmp(json_object_get_string(m), nonce) != 0) {
		snprintf(err, errlen, "the answer does not carry the request's nonce");
		goto out;
	}
	if (!json_object_object_get_ex(o, "verdicts", &list) || !json_object_is_type(list, json_type_array)) {
		snprintf(err, errlen, "the answer has no array 'verdicts'");
		goto out;
	}
	if (json_object_array_length(list) != n) {
		snprintf(err, errlen, "the answer has %zu verdicts for %zu attempts", json_object_array_length(list), n);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		parse_one(json_object_array_get_idx(list, i), nonce, output_cap, &out[i]);
		if (!out[i].ran && out[i].error == NULL) {
			for (size_t k = 0; k <= i; k++)
				audit_verdict_free(&out[k]);
			snprintf(err, errlen, "out of memory");
			goto out;
		}
	}
	rc = 0;
out:
	json_object_put(o);
	json_tokener_free(tok);
	return rc;
}

bool audit_needs_own_containers(const struct challenge *ch)
{
	json_object *h;

	/* Helpers at fixed pids exist once per container: each attempt needs a fresh one. */
	return json_object_object_get_ex(ch->runner_spec, "helpers", &h) && h != NULL &&
	    !(json_object_is_type(h, json_type_array) && json_object_array_length(h) == 0);
}

/* ---- judging in containers ---------------------------------------------------------------- */

struct audit_ctx {
	const struct config *cfg;
	const struct engine *engine;
};

/* Create and start a sandbox container for ch: its runner then waits for a request on stdin. */
static int container_up(CURL *h, const struct audit_ctx *ctx, const struct challenge *ch, char id[DOCKER_ID_MAX + 1],
    char *err, size_t errlen)
{
	struct docker_error derr = { 0, "" };
	char *spec = sandbox_container_spec(ctx->cfg, ch->no_bin);
	int rc = -1;

	if (spec == NULL)
		snprintf(err, errlen, "out of memory");
	else if (docker_create(h, ctx->engine, spec, id, 30000L, &derr) < 0)
		snprintf(err, errlen, "create: %.500s", derr.message);
	else if (docker_start(h, ctx->engine, id, 30000L, &derr) < 0) {
		snprintf(err, errlen, "start: %.500s", derr.message);
		docker_remove(h, ctx->engine, id, 30000L, &derr);
	} else {
		rc = 0;
	}
	free(spec);
	return rc;
}

/*
 * A container made ready in the background while the challenge's first request is judged, so the
 * second request does not wait for create and start.
 */
struct spare {
	const struct audit_ctx *ctx;
	const struct challenge *ch;
	char id[DOCKER_ID_MAX + 1];
	bool up;		/* ready and not yet handed over */
	bool running;		/* the thread making it is to be joined */
	pthread_t thread;
};

static void *spare_make(void *arg)
{
	struct spare *sp = arg;
	CURL *h = curl_easy_init();
	char err[600];

	sp->up = h && container_up(h, sp->ctx, sp->ch, sp->id, err, sizeof(err)) == 0;
	if (h)
		curl_easy_cleanup(h);
	return NULL;
}

static void spare_start(struct spare *sp, const struct audit_ctx *ctx, const struct challenge *ch)
{
	memset(sp, 0, sizeof(*sp));
	sp->ctx = ctx;
	sp->ch = ch;
	sp->running = pthread_create(&sp->thread, NULL, spare_make, sp) == 0;
}

/* Wait for the spare; its id when it is ready (the caller then owns the container), else NULL. */
static const char *spare_take(struct spare *sp)
{
	if (sp->running)
		pthread_join(sp->thread, NULL);
	sp->running = false;
	if (!sp->up)
		return NULL;
	sp->up = false;
	return sp->id;
}

static void spare_discard(CURL *h, struct spare *sp)
{
	struct docker_error derr = { 0, "" };
	const char *id = spare_take(sp);

	if (id && docker_remove(h, sp->ctx->engine, id, 30000L, &derr) < 0)
		fprintf(stderr, "warning: %s\n", derr.message);
}

/*
 * One container judges cmds[0..n): out[0..n) gets a verdict or an error for each. ready: a container
 * already started for ch (this call removes it), or NULL to make one.
 */
static void judge_in_one(CURL *h, const struct audit_ctx *ctx, const struct challenge *ch, char *const *cmds,
    size_t n, size_t cap, struct audit_verdict *out, const char *ready)
{
	char id[DOCKER_ID_MAX + 1], nonce[NONCE_LEN + 1], err[600];
	struct docker_error derr = { 0, "" };
	struct strbuf line = STRBUF_INIT;
	size_t reqlen = 0;
	char *req = audit_request(ctx->cfg, ch, cmds, n, cap, nonce, &reqlen);
	long long deadline = clock_ms() + (long long)n * ctx->cfg->hard_deadline_ms + 30000;
	enum attach_status st;

	err[0] = '\0';
	memset(out, 0, n * sizeof(*out));
	if (ready)
		snprintf(id, sizeof(id), "%s", ready);
	if (req == NULL) {
		snprintf(err, sizeof(err), "out of memory");
		if (ready)
			docker_remove(h, ctx->engine, id, 30000L, &derr);
		goto fail;
	}
	if (!ready && container_up(h, ctx, ch, id, err, sizeof(err)) < 0)
		goto fail;
	{
		char aerr[512];

		st = attach_exchange(ctx->engine, id, req, reqlen, deadline, n * (cap * 6 + 4096) + 65536, &line, aerr,
		    sizeof(aerr));
		if (st != ATTACH_OK)
			snprintf(err, sizeof(err), "attach %s: %.500s", attach_status_name(st), aerr);
	}
	if (docker_remove(h, ctx->engine, id, 30000L, &derr) < 0)
		fprintf(stderr, "warning: %s\n", derr.message);
	if (err[0])
		goto fail;
	if (audit_parse_verdicts(line.buf ? line.buf : "", line.len, nonce, n, cap, out, err, sizeof(err)) == 0)
		goto done;
fail:
	for (size_t i = 0; i < n; i++) {
		audit_verdict_free(&out[i]);
		out[i].error = strdup(err);
	}
done:
	free(req);
	sb_free(&line);
}

/* Judge cmds[0..n): by chunks in shared containers, or one container each when the challenge needs it. */
static size_t judge(CURL *h, const struct audit_ctx *ctx, const struct challenge *ch, char *const *cmds, size_t n,
    size_t cap, struct audit_verdict *out, const char *ready)
{
	size_t chunk = audit_needs_own_containers(ch) ? 1 : AUDIT_CHUNK, containers = 0;

	for (size_t i = 0; i < n; i += chunk, containers++)
		judge_in_one(h, ctx, ch, cmds + i, n - i < chunk ? n - i : chunk, cap, out + i, i == 0 ? ready : NULL);
	return containers;
}

/* ---- one challenge -------------------------------------------------------------------------- */

enum result_kind { RES_OK, RES_SKIP, RES_ALLOWED, RES_FORGED, RES_ERROR };

struct result {
	enum result_kind kind;
	const char *label;	/* strategy name, or "expected failure N" (owned when label_owned) */
	char *label_owned;
	const char *what;	/* the strategy's sentence */
	char *cmd;		/* the command (owned) */
	const char *reason;	/* skip or allowance reason */
	char *reason_owned;
	char *error;
	struct verdict v;	/* the verdict judged correct (forged) */
	size_t judged, correct;	/* expected failures: how many times, how many correct */
};

struct task {
	const struct challenge *ch;
	bool example_ok;
	char *example_error;
	struct verdict example_v;
	struct result *res;
	size_t n_res;
	double seconds;
	size_t attempts, containers;
};

static void result_free(struct result *r)
{
	free(r->label_owned);
	free(r->reason_owned);
	free(r->cmd);
	free(r->error);
	verdict_free(&r->v);
}

static void take_verdict(struct result *r, struct audit_verdict *av)
{
	verdict_free(&r->v);
	r->v = av->v;
	memset(&av->v, 0, sizeof(av->v));
}

/* Count one judged attempt of an expected failure (or a strategy) into r. */
static void count(struct result *r, struct audit_verdict *av)
{
	if (!av->ran) {
		if (r->error == NULL) {
			r->error = av->error;
			av->error = NULL;
		}
		return;
	}
	r->judged++;
	if (av->v.correct) {
		if (r->correct++ == 0)
			take_verdict(r, av);
	}
}

static void settle(struct result *r)
{
	if (r->kind == RES_SKIP || r->kind == RES_ALLOWED)
		return;
	r->kind = r->correct ? RES_FORGED : r->error ? RES_ERROR : RES_OK;
}

static double now_s(void)
{
	return (double)clock_ms() / 1000.0;
}

static size_t audit_cap(const struct config *cfg, size_t run1_len)
{
	size_t cap = 4096;

	if (run1_len + 1024 > cap)
		cap = run1_len + 1024;
	return cap < cfg->output_cap ? cap : cfg->output_cap;
}

/* Request 1: the example, the probe (what the example leaves), each expected failure once. */
struct first_round {
	char **cmds;		/* owned */
	size_t n;
	size_t probe_at;	/* 0: no probe (cmd-no-bin has no find to run it) */
	struct audit_verdict *av;
};

/* Request 2: repeats of expected failures and the strategies, each counted into a result. */
struct second_round {
	char **cmds;		/* borrowed from the results */
	size_t *result_of;	/* the task's result each command's verdict counts into */
	size_t n;
};

static void first_round_free(struct first_round *f)
{
	for (size_t i = 0; f->av && i < f->n; i++)
		audit_verdict_free(&f->av[i]);
	free(f->av);
	for (size_t i = 0; f->cmds && i < f->n; i++)
		free(f->cmds[i]);
	free(f->cmds);
	memset(f, 0, sizeof(*f));
}

static int plan_first(const struct challenge *ch, struct first_round *f)
{
	struct strbuf probe = STRBUF_INIT;

	f->cmds = calloc(2 + ch->n_expected_failures, sizeof(char *));
	if (f->cmds == NULL)
		return -1;
	f->cmds[f->n++] = strdup(ch->example);
	if (!ch->no_bin) {
		if (audit_probe_command(ch, &probe) != 0) {
			sb_free(&probe);
			return -1;
		}
		f->probe_at = f->n;
		f->cmds[f->n++] = sb_detach(&probe, NULL);
	}
	for (size_t k = 0; k < ch->n_expected_failures; k++)
		f->cmds[f->n++] = strdup(ch->expected_failures[k]);
	for (size_t i = 0; i < f->n; i++)
		if (f->cmds[i] == NULL)
			return -1;
	f->av = calloc(f->n, sizeof(*f->av));
	return f->av ? 0 : -1;
}

/* What request 1 told: the example's verdict, and what the strategies are built from. */
static void read_first(const struct audit_ctx *ctx, struct task *t, struct first_round *f, struct audit_input *in)
{
	struct audit_verdict *example = &f->av[0];

	if (example->ran) {
		t->example_ok = example->v.correct;
		t->example_v = example->v;
		memset(&example->v, 0, sizeof(example->v));
	} else {
		t->example_error = example->error;
		example->error = NULL;
	}
	in->ch = t->ch;
	in->pids_limit = ctx->cfg->pids_limit;
	if (t->example_ok) {
		in->have_run1 = true;
		in->run1 = t->example_v.output;
		in->run1_len = t->example_v.output_len;
	}
	if (f->probe_at && f->av[f->probe_at].ran)
		audit_parse_probe(f->av[f->probe_at].v.output, f->av[f->probe_at].v.output_len, &in->probe);
}

static void plan_add(struct second_round *s, size_t result, char *cmd)
{
	s->result_of[s->n] = result;
	s->cmds[s->n++] = cmd;
}

/* Expected failures: judged once; again until AUDIT_RANDOMIZATIONS when only randomize caught it. */
static int plan_expected_failures(struct task *t, struct audit_verdict *av, struct second_round *s)
{
	for (size_t k = 0; k < t->ch->n_expected_failures; k++) {
		struct result *r = &t->res[k];
		char label[48];

		snprintf(label, sizeof(label), "expected failure %zu", k + 1);
		r->label = r->label_owned = strdup(label);
		r->cmd = strdup(t->ch->expected_failures[k]);
		if (r->label_owned == NULL || r->cmd == NULL)
			return -1;
		count(r, &av[k]);
		if (av[k].ran && av[k].first_run_correct && !av[k].v.correct)
			for (size_t i = 1; i < AUDIT_RANDOMIZATIONS; i++)
				plan_add(s, k, r->cmd);
	}
	return 0;
}

/* Allowed because the strategy that covers it is allowed: the reason says so. */
static int allow_covered(struct result *r, const char *covered_by, const char *reason)
{
	struct strbuf why = STRBUF_INIT;

	if (sb_adds(&why, covered_by) | sb_adds(&why, " is allowed: ") | sb_adds(&why, reason)) {
		sb_free(&why);
		return -1;
	}
	r->kind = RES_ALLOWED;
	r->reason = r->reason_owned = sb_detach(&why, NULL);
	return 0;
}

/* Strategy st into result r (the task's result number result): allowed, skipped, or built for request 2. */
static int plan_strategy(const struct audit_strategy *st, const struct audit_input *in, struct result *r,
    size_t result, struct second_round *s)
{
	const char *allowed = challenge_audit_allowed(in->ch, st->name), *why = NULL;
	struct strbuf cmd = STRBUF_INIT;
	int built;

	r->label = st->name;
	r->what = st->what;
	if (allowed) {
		r->kind = RES_ALLOWED;
		r->reason = allowed;
		return 0;
	}
	if (st->covered_by && (allowed = challenge_audit_allowed(in->ch, st->covered_by)) != NULL)
		return allow_covered(r, st->covered_by, allowed);
	built = audit_build(st, in, &cmd, &why);
	if (built <= 0) {
		sb_free(&cmd);
		if (built == 0) {
			r->kind = RES_SKIP;
			r->reason = why;
		}
		return built;
	}
	if ((r->cmd = sb_detach(&cmd, NULL)) == NULL)
		return -1;
	plan_add(s, result, r->cmd);
	return 0;
}

/* Request 2's commands; ef_av: request 1's verdicts of the expected failures. */
static int plan_second(struct task *t, const struct audit_input *in, struct audit_verdict *ef_av,
    struct second_round *s)
{
	size_t n_ef = t->ch->n_expected_failures, cap = n_ef * AUDIT_RANDOMIZATIONS + audit_n_strategies + 1;

	s->cmds = calloc(cap, sizeof(char *));
	s->result_of = calloc(cap, sizeof(size_t));
	if (s->cmds == NULL || s->result_of == NULL || plan_expected_failures(t, ef_av, s) < 0)
		return -1;
	for (size_t i = 0; i < audit_n_strategies; i++)
		if (plan_strategy(&audit_strategies[i], in, &t->res[n_ef + i], n_ef + i, s) < 0)
			return -1;
	return 0;
}

/* Judge request 2 (in the spare container when it is up), counting each verdict into its result. */
static int judge_second(CURL *h, const struct audit_ctx *ctx, struct task *t, const struct second_round *s,
    size_t cap, struct spare *spare)
{
	struct audit_verdict *av = calloc(s->n, sizeof(*av));

	if (av == NULL)
		return -1;
	t->containers += judge(h, ctx, t->ch, s->cmds, s->n, cap, av, spare_take(spare));
	t->attempts += s->n;
	for (size_t i = 0; i < s->n; i++) {
		count(&t->res[s->result_of[i]], &av[i]);
		audit_verdict_free(&av[i]);
	}
	free(av);
	return 0;
}

/* Attack one challenge: its results in t. Returns -1 when out of memory. */
static int audit_one(CURL *h, const struct audit_ctx *ctx, struct task *t)
{
	size_t n_ef = t->ch->n_expected_failures;
	struct first_round first = { NULL, 0, 0, NULL };
	struct second_round second = { NULL, NULL, 0 };
	struct audit_input in;
	struct spare spare;
	double start = now_s();
	int rc = -1;

	memset(&in, 0, sizeof(in));
	memset(&spare, 0, sizeof(spare));
	t->res = calloc(n_ef + audit_n_strategies, sizeof(*t->res));
	if (t->res == NULL)
		goto out;
	t->n_res = n_ef + audit_n_strategies;
	if (plan_first(t->ch, &first) < 0)
		goto out;
	/* The second request's container gets ready while the first is judged. */
	spare_start(&spare, ctx, t->ch);
	t->containers += judge(h, ctx, t->ch, first.cmds, first.n, ctx->cfg->output_cap, first.av, NULL);
	t->attempts += first.n;
	read_first(ctx, t, &first, &in);
	if (plan_second(t, &in, first.av + first.n - n_ef, &second) < 0)
		goto out;
	first_round_free(&first);
	if (second.n && judge_second(h, ctx, t, &second, audit_cap(ctx->cfg, in.run1_len), &spare) < 0)
		goto out;
	for (size_t i = 0; i < t->n_res; i++)
		settle(&t->res[i]);
	rc = 0;
out:
	first_round_free(&first);
	free(second.cmds);
	free(second.result_of);
	spare_discard(h, &spare);
	t->seconds = now_s() - start;
	return rc;
}

/* ---- the report ----------------------------------------------------------------------------- */

struct totals {
	size_t tests, ok, skipped, allowed, forged, errors;
};

static void report_example(const struct task *t, struct totals *tot)
{
	tot->tests++;
	if (t->example_ok) {
		tot->ok++;
		printf("ok %zu - %s: example judged correct\n", tot->tests, t->ch->slug);
		return;
	}
	tot->errors++;
	printf("not ok %zu - %s: example %s (the audit builds its forgeries from it)\n", tot->tests, t->ch->slug,
	    t->example_error ? "could not be judged" : "judged incorrect");
	if (t->example_error)
		printf("#   %s\n", t->example_error);
	else
		printf("#   message: %s\n", t->example_v.message ? t->example_v.message : "");
}

static void report_result(const struct task *t, const struct result *r, struct totals *tot)
{
	bool ef = r->label_owned != NULL;

	tot->tests++;
	switch (r->kind) {
	case RES_OK:
		tot->ok++;
		if (ef)
			printf("ok %zu - %s: %s judged incorrect %zu time%s\n", tot->tests, t->ch->slug, r->label, r->judged,
			    r->judged == 1 ? "" : "s");
		else
			printf("ok %zu - %s: %s\n", tot->tests, t->ch->slug, r->label);
		return;
	case RES_SKIP:
		tot->skipped++;
		printf("ok %zu - %s: %s # SKIP %s\n", tot->tests, t->ch->slug, r->label, r->reason);
		return;
	case RES_ALLOWED:
		tot->allowed++;
		printf("ok %zu - %s: %s # SKIP allowed: ", tot->tests, t->ch->slug, r->label);
		/* The reason is the author's text: one line, never a format. */
		for (const char *p = r->reason; *p; p++)
			putchar(*p == '\n' || *p == '\r' || *p == '#' ? ' ' : *p);
		putchar('\n');
		return;
	case RES_FORGED:
		tot->forged++;
		if (ef)
			printf("not ok %zu - %s: %s judged correct (%zu of %zu)\n", tot->tests, t->ch->slug, r->label,
			    r->correct, r->judged);
		else
			printf("not ok %zu - %s: %s judged correct\n", tot->tests, t->ch->slug, r->label);
		if (r->what)
			printf("#   strategy: %s\n", r->what);
		tap_diag("command", r->cmd, strlen(r->cmd), 40, 240);
		tap_diag("output", r->v.output, r->v.output_len, 40, 240);
		return;
	case RES_ERROR:
		tot->errors++;
		printf("not ok %zu - %s: %s could not be judged\n", tot->tests, t->ch->slug, r->label);
		printf("#   %s\n", r->error);
		tap_diag("command", r->cmd, strlen(r->cmd), 40, 240);
		return;
	}
}

/* ---- the whole audit -------------------------------------------------------------------------- */

struct audit_run {
	struct audit_ctx ctx;
	struct task *tasks;
	struct task **order;	/* the costliest first, so that no long one is left for the end */
	size_t n;
	bool progress;
	bool times;	/* CMDARENA_AUDIT_TIMES: each challenge's attempts and time on stderr */
};

/* One challenge, on one of parallel_run's threads. */
static void audit_item(CURL *h, size_t i, void *arg)
{
	struct audit_run *run = arg;
	struct task *t = run->order[i];

	if (h == NULL || audit_one(h, &run->ctx, t) < 0) {
		free(t->example_error);
		t->example_error = strdup("out of memory");
	}
}

static void audit_item_done(size_t i, size_t done, void *arg)
{
	const struct audit_run *run = arg;
	const struct task *t = run->order[i];

	if (run->progress)
		fprintf(stderr, "\r[%zu/%zu] %-40s", done, run->n, t->ch->slug);
	if (run->times)
		fprintf(stderr, "%s: %zu attempts in %zu container(s), %.1f s\n", t->ch->slug, t->attempts, t->containers,
		    t->seconds);
}

/* A guess at a challenge's attempts: expected failures may be repeated where randomize runs. */
static size_t expected_attempts(const struct challenge *ch)
{
	return 2 + audit_n_strategies + ch->n_expected_failures * (ch->randomize ? AUDIT_RANDOMIZATIONS : 1);
}

static int cmp_cost(const void *a, const void *b)
{
	size_t x = expected_attempts((*(const struct task *const *)a)->ch);
	size_t y = expected_attempts((*(const struct task *const *)b)->ch);

	return x < y ? 1 : x > y ? -1 : 0;
}

static int cmp_seconds(const void *a, const void *b)
{
	const struct task *x = *(const struct task *const *)a, *y = *(const struct task *const *)b;

	return x->seconds < y->seconds ? 1 : x->seconds > y->seconds ? -1 : 0;
}

/* A task for each selected challenge, in run order the costliest first. */
static int plan_tasks(struct audit_run *run, const struct catalogue *cat, char **slugs, int n_slugs)
{
	for (int i = 0; i < n_slugs; i++)
		if (catalogue_find(cat, slugs[i]) == NULL) {
			fprintf(stderr, "cmdarena-check: no challenge %s in %s\n", slugs[i], cat->yaml_path);
			return -1;
		}
	run->tasks = calloc(cat->n ? cat->n : 1, sizeof(*run->tasks));
	run->order = calloc(cat->n ? cat->n : 1, sizeof(*run->order));
	if (run->tasks == NULL || run->order == NULL)
		return -1;
	for (size_t i = 0; i < cat->n; i++)
		if (challenge_selected(&cat->v[i], slugs, n_slugs)) {
			run->order[run->n] = &run->tasks[run->n];
			run->tasks[run->n++].ch = &cat->v[i];
		}
	qsort(run->order, run->n, sizeof(*run->order), cmp_cost);
	return 0;
}

/* A TAP comment: the five challenges that took longest. */
static void report_slowest(const struct audit_run *run)
{
	struct task **by_time = calloc(run->n ? run->n : 1, sizeof(*by_time));

	if (by_time == NULL || run->n < 2) {
		free(by_time);
		return;
	}
	for (size_t i = 0; i < run->n; i++)
		by_time[i] = &run->tasks[i];
	qsort(by_time, run->n, sizeof(*by_time), cmp_seconds);
	printf("# slowest:");
	for (size_t i = 0; i < run->n && i < 5; i++)
		printf(" %s %.1f s%s", by_time[i]->ch->slug, by_time[i]->seconds, i + 1 < run->n && i < 4 ? "," : "");
	putchar('\n');
	free(by_time);
}

/* The TAP of every task, in catalogue order, and the summary. Exit status. */
static int report_all(const struct audit_run *run, double seconds)
{
	struct totals tot = { 0, 0, 0, 0, 0, 0 };

	for (size_t i = 0; i < run->n; i++) {
		report_example(&run->tasks[i], &tot);
		for (size_t k = 0; k < run->tasks[i].n_res; k++)
			report_result(&run->tasks[i], &run->tasks[i].res[k], &tot);
	}
	printf("1..%zu\n", tot.tests);
	printf("# audit: %zu challenge(s), %zu tests: %zu ok, %zu skipped, %zu allowed, %zu forged, %zu not judged; %.0f s\n",
	    run->n, tot.tests, tot.ok, tot.skipped, tot.allowed, tot.forged, tot.errors, seconds);
	report_slowest(run);
	return tot.forged || tot.errors ? 1 : 0;
}

static void tasks_free(struct audit_run *run)
{
	for (size_t i = 0; run->tasks && i < run->n; i++) {
		struct task *t = &run->tasks[i];

		for (size_t k = 0; k < t->n_res; k++)
			result_free(&t->res[k]);
		free(t->res);
		free(t->example_error);
		verdict_free(&t->example_v);
	}
	free(run->tasks);
	free(run->order);
}

int audit_main(const struct config *cfg, const struct catalogue *cat, const struct engine *engine,
    char **slugs, int n_slugs, int jobs)
{
	struct audit_run run;
	double start = now_s();
	int status = 1;

	memset(&run, 0, sizeof(run));
	run.ctx.cfg = cfg;
	run.ctx.engine = engine;
	if (plan_tasks(&run, cat, slugs, n_slugs) == 0) {
		run.progress = isatty(STDERR_FILENO) || getenv("CMDARENA_PROGRESS");
		run.times = getenv("CMDARENA_AUDIT_TIMES") != NULL;
		fprintf(stderr, "auditing %zu challenge(s) with %zu strategies, %d in parallel\n", run.n, audit_n_strategies,
		    jobs);
		parallel_run(run.n, jobs, audit_item, audit_item_done, &run);
		if (run.progress)
			fputc('\n', stderr);
		status = report_all(&run, now_s() - start);
	}
	tasks_free(&run);
	return status;
}
