/*
 * catalogue.c: load and validate challenges.yaml (see catalogue.h).
 *
 * libyaml's document loader gives a node tree with a mark (line, column) on
 * every node; each field is read through a table of fields by yaml_reader.c's
 * typed getters, which report a clear "file:line:col: ..." message when the
 * YAML holds the wrong kind of value.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <regex.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>
#include <yaml.h>

#include "check/audit_names.h"
#include "config/catalogue.h"
#include "config/yaml_reader.h"

#define CATALOGUE_MAX_BYTES (16 * 1024 * 1024)
#define SLUG_MAX 64

static void free_list(char **v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void challenge_free(struct challenge *c)
{
	free(c->slug);
	free(c->dir);
	free(c->title);
	free(c->description);
	free(c->learn);
	free(c->example);
	free_list(c->expected_failures, c->n_expected_failures);
	expect_free(&c->expect);
	free(c->setup);
	free(c->check);
	free(c->randomize);
	free_list(c->tags, c->n_tags);
	free_list(c->completions, c->n_completions);
	free_list(c->hints, c->n_hints);
	free_list(c->files, c->n_files);
	free(c->author);
	free(c->emoji);
	json_object_put(c->runner_spec);
	for (size_t i = 0; i < c->n_helpers; i++)
		free(c->helpers[i].name);
	free(c->helpers);
	free_list(c->audit_allow, c->n_audit_allow);
	free_list(c->audit_allow_reason, c->n_audit_allow);
	memset(c, 0, sizeof(*c));
}

/* hints: a short list of non-empty sentences, each revealed on its own. */
static int load_hints(struct loader *ld, const yaml_node_t *v, void *target)
{
	struct challenge *c = target;
	int rc = 0;

	if (ld_string_list(ld, v, "hints", &c->hints, &c->n_hints) < 0)
		return -1;
	if (c->n_hints > HINTS_MAX) {
		ERR(ld, v, "hints holds %zu hints: at most %d (a hint is a step, not a tutorial)", c->n_hints, HINTS_MAX);
		rc = -1;
	}
	for (size_t i = 0; i < c->n_hints; i++) {
		const char *h = c->hints[i];

		while (isspace((unsigned char)*h))
			h++;
		if (*h == '\0') {
			ERR(ld, v, "hint %zu is empty", i + 1);
			rc = -1;
		} else if (strlen(c->hints[i]) > HINT_MAX_BYTES) {
			ERR(ld, v, "hint %zu is %zu bytes long: at most %d", i + 1, strlen(c->hints[i]), HINT_MAX_BYTES);
			rc = -1;
		}
	}
	return rc;
}

struct name_list {
	char **v;
	size_t n, cap;
};

static int name_add(struct name_list *l, const char *prefix, const char *name, bool dir)
{
	size_t len = strlen(prefix) + strlen(name) + 2;
	char *s;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		char **v = realloc(l->v, (cap + 1) * sizeof(*v));

		if (v == NULL)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	if ((s = malloc(len)) == NULL)
		return -1;
	snprintf(s, len, "%s%s%s", prefix, name, dir ? "/" : "");
	l->v[l->n++] = s;
	l->v[l->n] = NULL;
	return 0;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The names under path (prefix + name, "dir/" for a directory), depth first,
 * sorted, at most FILES_MAX in all. Hidden names (and what they hold) are
 * left out: a visitor's plain ls would not show them, so Tab does not either.
 */
static int list_names(const char *path, const char *prefix, int depth, struct name_list *l)
{
	DIR *d = opendir(path);
	struct dirent *e;
	struct name_list here = { NULL, 0, 0 };
	int rc = 0;

	if (d == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.' && name_add(&here, "", e->d_name, false) < 0) {
			rc = -1;
			break;
		}
	closedir(d);
	if (here.n)
		qsort(here.v, here.n, sizeof(*here.v), cmp_name);
	for (size_t i = 0; rc == 0 && i < here.n && l->n < FILES_MAX; i++) {
		char sub[4096], subprefix[4096];
		struct stat st;
		bool dir;

		snprintf(sub, sizeof(sub), "%s/%s", path, here.v[i]);
		dir = lstat(sub, &st) == 0 && S_ISDIR(st.st_mode);
		if (name_add(l, prefix, here.v[i], dir) < 0)
			rc = -1;
		else if (dir && depth > 1) {
			snprintf(subprefix, sizeof(subprefix), "%s%s/", prefix, here.v[i]);
			rc = list_names(sub, subprefix, depth - 1, l);
		}
	}
	free_list(here.v, here.n);
	return rc;
}

static bool valid_slug(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > SLUG_MAX)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return false;
	return true;
}

static bool valid_dir_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 128 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.')
			return false;
	return true;
}

/* ---- expected_output ------------------------------------------------------------------------ */

/* expected_output.lines: a list of strings; "lines:" with nothing means no output is expected. */
static int load_lines(struct loader *ld, const yaml_node_t *v, void *target)
{
	struct challenge *c = target;
	int rc;

	if (v->type == YAML_SCALAR_NODE && node_is_typed(v) && !strcmp(node_text(v), "")) {
		c->has_lines = true;
		return 0;
	}
	if (v->type != YAML_SEQUENCE_NODE) {
		ERR(ld, v, "expected_output.lines must be a list of strings, not %s", node_kind(v));
		return -1;
	}
	rc = ld_string_list(ld, v, "expected_output.lines", &c->expect.lines, &c->expect.n_lines);
	c->has_lines = true;
	return rc;
}

/* expected_output.re_sub: [pattern, replacement], applied to each line before comparing. */
static int load_re_sub(struct loader *ld, const yaml_node_t *v, void *target)
{
	struct challenge *c = target;
	char **pair = NULL;
	size_t n = 0;

	if (v->type != YAML_SEQUENCE_NODE || ld_string_list(ld, v, "expected_output.re_sub", &pair, &n) < 0 || n != 2) {
		if (pair == NULL || n != 2)
			ERR(ld, v, "expected_output.re_sub must be a list of two strings: [pattern, replacement]");
		free_list(pair, n);
		return -1;
	}
	c->expect.re_sub_pattern = pair[0];
	c->expect.re_sub_replacement = pair[1];
	free(pair);
	return 0;
}

#define CH(member) offsetof(struct challenge, member)

static const struct field expected_output_fields[] = {
	{ "lines", FT_LOAD, .load = load_lines },
	{ "order", FT_BOOL, .offset = CH(expect.order) },
	{ "ignore_non_matching", FT_BOOL, .offset = CH(expect.ignore_non_matching) },
	{ "regex", FT_BOOL, .offset = CH(expect.regex) },
	{ "re_sub", FT_LOAD, .load = load_re_sub },
};

static int load_expected_output(struct loader *ld, const yaml_node_t *map, void *target)
{
	if (map->type != YAML_MAPPING_NODE) {
		ERR(ld, map, "expected_output must be a mapping (lines, order, ...), not %s", node_kind(map));
		return -1;
	}
	return ld_fields(ld, map, expected_output_fields, N_OF(expected_output_fields), "expected_output.", target,
	    NULL);
}

/* ---- processes ------------------------------------------------------------------------------ */

static bool valid_helper_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > HELPER_NAME_MAX || s[0] == '-')
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("._+-", *s))
			return false;
	return true;
}

static int load_helper_name(struct loader *ld, const yaml_node_t *v, void *target)
{
	struct helper_proc *h = target;

	if (ld_string(ld, v, "processes.name", &h->name) < 0)
		return -1;
	if (!valid_helper_name(h->name)) {
		ERR(ld, v, "processes.name '%.64s' must be 1 to %d letters, digits or ._+- (not starting with -)", h->name,
		    HELPER_NAME_MAX);
		return -1;
	}
	return 0;
}

static int load_helper_pid(struct loader *ld, const yaml_node_t *v, void *target)
{
	struct helper_proc *h = target;

	if (ld_int(ld, v, "processes.pid", HELPER_PID_MIN, &h->pid) < 0)
		return -1;
	if (h->pid > HELPER_PID_MAX) {
		ERR(ld, v, "processes.pid must be from %d to %d (the runner forks up to it)", HELPER_PID_MIN, HELPER_PID_MAX);
		return -1;
	}
	return 0;
}

static const struct field helper_fields[] = {
	{ "name", FT_LOAD, .load = load_helper_name },
	{ "pid", FT_LOAD, .load = load_helper_pid },
	{ "killable", FT_BOOL, .offset = offsetof(struct helper_proc, killable) },
};

/* One item of processes: {name, pid, killable}. */
static int load_helper(struct loader *ld, const yaml_node_t *map, struct helper_proc *h)
{
	const yaml_node_t *found[N_OF(helper_fields)] = { NULL };
	int rc;

	if (map->type != YAML_MAPPING_NODE) {
		ERR(ld, map, "each item of processes must be a mapping {name, pid, killable}, not %s", node_kind(map));
		return -1;
	}
	rc = ld_fields(ld, map, helper_fields, N_OF(helper_fields), "processes.", h, found);
	if (!fields_given(helper_fields, N_OF(helper_fields), found, "name") ||
	    !fields_given(helper_fields, N_OF(helper_fields), found, "pid")) {
		ERR(ld, map, "each item of processes needs a name and a pid");
		rc = -1;
	}
	return rc;
}

static int cmp_helper_pid(const void *a, const void *b)
{
	return ((const struct helper_proc *)a)->pid - ((const struct helper_proc *)b)->pid;
}

/* processes: a list of at most HELPER_MAX helpers, each pid once; kept in ascending pid order (the runner's). */
static int load_processes(struct loader *ld, const yaml_node_t *list, void *target)
{
	struct challenge *c = target;
	size_t n;
	int rc = 0;

	if (list->type != YAML_SEQUENCE_NODE) {
		ERR(ld, list, "processes must be a list of {name, pid, killable}, not %s", node_kind(list));
		return -1;
	}
	n = (size_t)(list->data.sequence.items.top - list->data.sequence.items.start);
	if (n > HELPER_MAX) {
		ERR(ld, list, "processes may name at most %d processes, not %zu", HELPER_MAX, n);
		return -1;
	}
	c->helpers = calloc(n ? n : 1, sizeof(*c->helpers));
	if (c->helpers == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		yaml_node_t *item = ld_node(ld, list->data.sequence.items.start[i]);

		c->n_helpers++;
		if (load_helper(ld, item, &c->helpers[i]) < 0) {
			rc = -1;
			continue;
		}
		for (size_t j = 0; j < i; j++)
			if (c->helpers[j].pid == c->helpers[i].pid) {
				ERR(ld, item, "processes: pid %d is given twice", c->helpers[i].pid);
				rc = -1;
			}
	}
	if (rc == 0)
		qsort(c->helpers, c->n_helpers, sizeof(*c->helpers), cmp_helper_pid);
	return rc;
}

/* ---- the runner spec ------------------------------------------------------------------------ */

/* "expected": the lines and rules (lines null when only randomize's lines are compared), or null. */
static json_object *expected_spec(const struct challenge *c)
{
	json_object *exp, *lines = NULL, *re_sub = NULL;

	if (!c->has_lines && !c->randomize)
		return NULL;
	if (c->has_lines) {
		lines = json_object_new_array();
		for (size_t i = 0; i < c->expect.n_lines; i++)
			json_object_array_add(lines, json_object_new_string(c->expect.lines[i]));
	}
	if (c->expect.re_sub_pattern) {
		re_sub = json_object_new_array();
		json_object_array_add(re_sub, json_object_new_string(c->expect.re_sub_pattern));
		json_object_array_add(re_sub, json_object_new_string(c->expect.re_sub_replacement));
	}
	exp = json_object_new_object();
	json_object_object_add(exp, "lines", lines);
	json_object_object_add(exp, "order", json_object_new_boolean(c->expect.order));
	json_object_object_add(exp, "ignore_non_matching", json_object_new_boolean(c->expect.ignore_non_matching));
	json_object_object_add(exp, "regex", json_object_new_boolean(c->expect.regex));
	json_object_object_add(exp, "re_sub", re_sub);
	return exp;
}

/* "helpers": [{pid, name, killable}] in ascending pids (sorted at load), as the runner wants them. */
static json_object *helpers_spec(const struct challenge *c)
{
	json_object *list = json_object_new_array();

	for (size_t i = 0; i < c->n_helpers; i++) {
		json_object *h = json_object_new_object();

		json_object_object_add(h, "pid", json_object_new_int(c->helpers[i].pid));
		json_object_object_add(h, "name", json_object_new_string(c->helpers[i].name));
		json_object_object_add(h, "killable", json_object_new_boolean(c->helpers[i].killable));
		json_object_array_add(list, h);
	}
	return list;
}

static json_object *string_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

/* The request members the runner needs for this challenge, prepared once. */
static int build_runner_spec(struct challenge *c)
{
	json_object *o = json_object_new_object();

	if (o == NULL)
		return -1;
	json_object_object_add(o, "dir", json_object_new_string(c->dir));
	json_object_object_add(o, "expected", expected_spec(c));
	json_object_object_add(o, "setup", string_or_null(c->setup));
	json_object_object_add(o, "check", string_or_null(c->check));
	json_object_object_add(o, "randomize", string_or_null(c->randomize));
	if (c->setup_killable)
		json_object_object_add(o, "setup_killable", json_object_new_boolean(1));
	if (c->n_helpers > 0)
		json_object_object_add(o, "helpers", helpers_spec(c));
	c->runner_spec = o;
	return 0;
}

/* ---- audit_allow ---------------------------------------------------------------------------- */

/* Is s only blanks (or nothing)? */
static bool blank(const char *s)
{
	for (; *s; s++)
		if (!isspace((unsigned char)*s))
			return false;
	return true;
}

/*
 * audit_allow: {STRATEGY: "reason", ...}. Each name must be one of the audit's strategies and each
 * reason a non-empty string: an allowance nobody explained is an error, not a silent hole.
 */
static int load_audit_allow(struct loader *ld, const yaml_node_t *map, struct challenge *c)
{
	const char *slug = c->slug ? c->slug : "(no slug)";
	size_t cap;
	int rc = 0;

	if (map->type != YAML_MAPPING_NODE) {
		ERR(ld, map, "challenge %s: audit_allow must be a mapping {strategy: \"reason\"}, not %s", slug,
		    node_kind(map));
		return -1;
	}
	cap = (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
	c->audit_allow = calloc(cap + 1, sizeof(char *));
	c->audit_allow_reason = calloc(cap + 1, sizeof(char *));
	if (c->audit_allow == NULL || c->audit_allow_reason == NULL)
		return -1;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = ld_node(ld, p->key), *v = ld_node(ld, p->value);
		char *reason = NULL;

		if (k->type != YAML_SCALAR_NODE || !audit_strategy_known(node_text(k))) {
			ERR(ld, k, "challenge %s: audit_allow names no strategy of the audit: '%.64s' (see cmdarena-check(1))",
			    slug, k->type == YAML_SCALAR_NODE ? node_text(k) : "?");
			rc = -1;
			continue;
		}
		if (ld_repeated_key(ld, map, p, "audit_allow.")) {
			rc = -1;
			continue;
		}
		if (v->type != YAML_SCALAR_NODE || node_is_typed(v) || blank(node_text(v))) {
			ERR(ld, v, "challenge %s: audit_allow.%s needs a reason: why this challenge rightly accepts it", slug,
			    node_text(k));
			rc = -1;
			continue;
		}
		if (ld_string(ld, v, "audit_allow reason", &reason) < 0 ||
		    (c->audit_allow[c->n_audit_allow] = strdup(node_text(k))) == NULL) {
			free(reason);
			return -1;
		}
		c->audit_allow_reason[c->n_audit_allow++] = reason;
	}
	return rc;
}

const char *challenge_audit_allowed(const struct challenge *c, const char *strategy)
{
	for (size_t i = 0; i < c->n_audit_allow; i++)
		if (strcmp(c->audit_allow[i], strategy) == 0)
			return c->audit_allow_reason[i];
	return NULL;
}

/* ---- one challenge -------------------------------------------------------------------------- */

/* img: which sandbox image, the full one (cmd) or the one without programs (cmd-no-bin). */
static int load_img(struct loader *ld, const yaml_node_t *v, void *target)
{
	struct challenge *c = target;
	char *img = NULL;
	int rc = ld_string(ld, v, "img", &img);

	if (rc == 0 && !strcmp(img, "cmd-no-bin")) {
		c->no_bin = true;
	} else if (rc == 0 && strcmp(img, "cmd") != 0) {
		ERR(ld, v, "img must be cmd or cmd-no-bin, not '%.64s'", img);
		rc = -1;
	}
	free(img);
	return rc;
}

/*
 * Every field of a challenge (cmdarena-challenges(5)). The last ones are fields of cmdchallenge's
 * format (its challenges.yaml, past and present, and the JSON it generated) that mean nothing here.
 */
static const struct field challenge_fields[] = {
	{ "slug", FT_STRING, .offset = CH(slug) },
	{ "version", FT_INT, .offset = CH(version), .min = 1 },
	{ "dir", FT_STRING, .offset = CH(dir) },
	{ "disp_title", FT_STRING, .offset = CH(title) },
	{ "description", FT_STRING, .offset = CH(description) },
	{ "learn", FT_STRING, .offset = CH(learn) },
	{ "disp_learn", FT_BOOL, .offset = CH(disp_learn) },
	{ "example", FT_STRING, .offset = CH(example) },
	{ "expected_failures", FT_LIST, .offset = CH(expected_failures), .count = CH(n_expected_failures) },
	{ "expected_output", FT_LOAD, .load = load_expected_output },
	{ "setup", FT_STRING, .offset = CH(setup) },
	{ "check", FT_STRING, .offset = CH(check) },
	{ "randomize", FT_STRING, .offset = CH(randomize) },
	{ "processes", FT_LOAD, .load = load_processes },
	{ "tags", FT_LIST, .offset = CH(tags), .count = CH(n_tags) },
	{ "completions", FT_LIST, .offset = CH(completions), .count = CH(n_completions) },
	{ "hints", FT_LOAD, .load = load_hints },
	{ "author", FT_STRING, .offset = CH(author) },
	{ "emoji", FT_STRING, .offset = CH(emoji) },
	{ "img", FT_LOAD, .load = load_img },
	{ "setup_killable", FT_BOOL, .offset = CH(setup_killable) },
	{ "cache_correct", FT_BOOL, .offset = CH(cache_correct) },
	{ "cache_incorrect", FT_BOOL, .offset = CH(cache_incorrect) },
	{ "audit_allow", FT_LATER, .offset = 0 },	/* read once the slug is known, for its messages */
	{ "skip_test", FT_IGNORED, .offset = 0 },
	{ "tests", FT_IGNORED, .offset = 0 },
	{ "disp_time", FT_IGNORED, .offset = 0 },
	{ "example_fail", FT_IGNORED, .offset = 0 },
	{ "openemoji", FT_IGNORED, .offset = 0 },
};

#define CHALLENGE_GIVEN(found, key) fields_given(challenge_fields, N_OF(challenge_fields), (found), (key))

/* A challenge before its fields are read: the defaults of those it may leave out. */
static void challenge_init(struct challenge *c, const yaml_node_t *map)
{
	memset(c, 0, sizeof(*c));
	c->line = (unsigned)map->start_mark.line + 1;
	c->expect.order = true;
	c->cache_correct = c->cache_incorrect = true;
}

static const char *slug_or_none(const struct challenge *c)
{
	return c->slug ? c->slug : "(no slug)";
}

/* The fields every challenge must give (the version is only asked for when nothing else was wrong). */
static void check_required(struct loader *ld, const yaml_node_t *map, const struct challenge *c,
    const yaml_node_t *slug_n, unsigned before)
{
	if (slug_n == NULL)
		ERR(ld, map, "challenge has no slug");
	else if (c->slug && !valid_slug(c->slug))
		ERR(ld, slug_n, "slug '%.64s' must be 1 to %d letters, digits or underscores", c->slug, SLUG_MAX);
	if (c->version == 0 && ld->rep->errors == before)
		ERR(ld, map, "challenge %s has no version", slug_or_none(c));
	if (c->description == NULL)
		ERR(ld, map, "challenge %s has no description", slug_or_none(c));
	if (c->example == NULL)
		ERR(ld, map, "challenge %s has no example (a reference solution)", slug_or_none(c));
}

/* dir (the slug unless given): a plain name; the names under it become the page's files. */
static void load_files(struct loader *ld, const yaml_node_t *map, struct challenge *c, const yaml_node_t *dir_n)
{
	struct name_list names = { NULL, 0, 0 };
	char path[4096];
	struct stat st;

	if (c->dir == NULL && c->slug)
		c->dir = strdup(c->slug);
	if (c->dir == NULL)
		return;
	if (!valid_dir_name(c->dir)) {
		ERR(ld, dir_n ? dir_n : map, "dir '%.64s' must be a plain directory name", c->dir);
		return;
	}
	snprintf(path, sizeof(path), "%s/%s", ld->dir, c->dir);
	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
		/*
		 * Without an explicit dir a challenge may simply have no files. With one, cmdchallenge's
		 * loader never looks (git keeps no empty directory): a warning, in case of a typo.
		 */
		if (dir_n)
			WARN(ld, dir_n, "dir '%.64s' does not exist in %s: the challenge starts in an empty directory", c->dir,
			    ld->dir);
		return;
	}
	/* Three levels: enough for Tab, bounded for a deep tree. */
	if (list_names(path, "", 3, &names) < 0)
		ERR(ld, map, "cannot list the files of %s: %s", path, strerror(errno));
	c->files = names.v;
	c->n_files = names.n;
}

/* What holds only between fields, once all are read. */
static void check_together(struct loader *ld, const yaml_node_t *map, struct challenge *c, const yaml_node_t *exp_n)
{
	char err[512];

	if (c->title == NULL && c->slug)
		c->title = strdup(c->slug);
	if (c->setup_killable && c->setup == NULL)
		ERR(ld, map, "challenge %s: setup_killable without a setup script", c->slug ? c->slug : "");
	if (exp_n && c->has_lines && expect_validate(&c->expect, err, sizeof(err)) < 0)
		ERR(ld, exp_n, "invalid pattern: %s", err);
}

/* One entry of the list. Returns 0 (loaded), 1 (skipped with a warning: nothing could judge it) or -1. */
static int load_challenge(struct loader *ld, const yaml_node_t *map, struct challenge *c)
{
	const yaml_node_t *found[N_OF(challenge_fields)] = { NULL }, *allow_n;
	unsigned before = ld->rep->errors;

	challenge_init(c, map);
	if (map->type != YAML_MAPPING_NODE) {
		ERR(ld, map, "each challenge must be a mapping (slug: ..., version: ...), not %s", node_kind(map));
		return -1;
	}
	ld_fields(ld, map, challenge_fields, N_OF(challenge_fields), "", c, found);
	allow_n = CHALLENGE_GIVEN(found, "audit_allow");
	if (allow_n && load_audit_allow(ld, allow_n, c) < 0 && ld->rep->errors == before)
		ERR(ld, allow_n, "out of memory");
	check_required(ld, map, c, CHALLENGE_GIVEN(found, "slug"), before);
	load_files(ld, map, c, CHALLENGE_GIVEN(found, "dir"));
	check_together(ld, map, c, CHALLENGE_GIVEN(found, "expected_output"));
	if (ld->rep->errors != before)
		return -1;
	if (!c->has_lines && !c->check && !c->randomize) {
		WARN(ld, map, "challenge %s has no expected_output.lines, check or randomize: nothing could judge it, skipped",
		    c->slug);
		return 1;
	}
	if (build_runner_spec(c) < 0) {
		ERR(ld, map, "out of memory");
		return -1;
	}
	return 0;
}

static const struct catalogue *sort_cat;

static int cmp_slug(const void *a, const void *b)
{
	return strcmp(sort_cat->v[*(const size_t *)a].slug, sort_cat->v[*(const size_t *)b].slug);
}

static int index_slugs(struct loader *ld, struct catalogue *cat)
{
	cat->by_slug = calloc(cat->n ? cat->n : 1, sizeof(size_t));
	if (cat->by_slug == NULL)
		return -1;
	for (size_t i = 0; i < cat->n; i++)
		cat->by_slug[i] = i;
	sort_cat = cat;
	qsort(cat->by_slug, cat->n, sizeof(size_t), cmp_slug);
	sort_cat = NULL;
	for (size_t i = 1; i < cat->n; i++) {
		const struct challenge *a = &cat->v[cat->by_slug[i - 1]], *b = &cat->v[cat->by_slug[i]];

		if (strcmp(a->slug, b->slug) == 0) {
			const struct challenge *later = a->line > b->line ? a : b;
			const struct challenge *first = a->line > b->line ? b : a;

			sb_addf(&ld->rep->text, "%s:%u: error: duplicate slug %s (first at line %u)\n", ld->file,
			    later->line, later->slug, first->line);
			ld->rep->errors++;
		}
	}
	return ld->rep->errors ? -1 : 0;
}

static char *read_file(const char *path, size_t *len, struct loader *ld)
{
	FILE *f = fopen(path, "rb");
	struct strbuf sb = STRBUF_INIT;
	char buf[65536];
	size_t n;

	if (f == NULL) {
		sb_addf(&ld->rep->text, "%s: error: cannot open: %s\n", path, strerror(errno));
		ld->rep->errors++;
		return NULL;
	}
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		if (sb.len + n > CATALOGUE_MAX_BYTES || sb_add(&sb, buf, n) < 0) {
			sb_addf(&ld->rep->text, "%s: error: larger than %d bytes\n", path, CATALOGUE_MAX_BYTES);
			ld->rep->errors++;
			sb_free(&sb);
			fclose(f);
			return NULL;
		}
	}
	fclose(f);
	return sb_detach(&sb, len);
}

/* Parse data as one YAML document into doc; a syntax error is reported with its place. */
static int parse_yaml(struct loader *ld, const char *data, size_t len, yaml_document_t *doc)
{
	yaml_parser_t parser;
	int rc = 0;

	if (!yaml_parser_initialize(&parser))
		return -1;
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	if (!yaml_parser_load(&parser, doc)) {
		sb_addf(&ld->rep->text, "%s:%lu:%lu: error: not valid YAML: %s%s%s\n", ld->file,
		    (unsigned long)parser.problem_mark.line + 1, (unsigned long)parser.problem_mark.column + 1,
		    parser.problem ? parser.problem : "parse error", parser.context ? " " : "",
		    parser.context ? parser.context : "");
		ld->rep->errors++;
		rc = -1;
	}
	yaml_parser_delete(&parser);
	return rc;
}

/* The document's root, a list of challenges, into cat (in file order; those skipped are left out). */
static void load_challenges(struct loader *ld, const yaml_node_t *root, struct catalogue *cat)
{
	unsigned before = ld->rep->errors;
	size_t cap;

	if (root == NULL) {
		ERR(ld, NULL, "the file holds no challenges");
		return;
	}
	if (root->type != YAML_SEQUENCE_NODE) {
		ERR(ld, root, "the file must be a list of challenges (- slug: ...), not %s", node_kind(root));
		return;
	}
	cap = (size_t)(root->data.sequence.items.top - root->data.sequence.items.start);
	cat->v = calloc(cap ? cap : 1, sizeof(*cat->v));
	if (cat->v == NULL) {
		ERR(ld, NULL, "out of memory");
		return;
	}
	for (yaml_node_item_t *it = root->data.sequence.items.start; it < root->data.sequence.items.top; it++) {
		if (load_challenge(ld, ld_node(ld, *it), &cat->v[cat->n]) == 0)
			cat->n++;
		else
			challenge_free(&cat->v[cat->n]);
	}
	if (cat->n == 0 && ld->rep->errors == before)
		ERR(ld, root, "the file holds no challenge that could be judged");
}

int catalogue_load(struct catalogue *cat, const char *dir, struct load_report *rep)
{
	struct loader ld = { NULL, dir, NULL, rep };
	yaml_document_t doc;
	char path[4096];
	unsigned before = rep->errors;
	char *data;
	size_t len;

	memset(cat, 0, sizeof(*cat));
	snprintf(path, sizeof(path), "%s/challenges.yaml", dir);
	ld.file = path;
	data = read_file(path, &len, &ld);
	if (data == NULL)
		return -1;
	if (parse_yaml(&ld, data, len, &doc) < 0) {
		free(data);
		return -1;
	}
	ld.doc = &doc;
	load_challenges(&ld, yaml_document_get_root_node(&doc), cat);
	if (rep->errors == before)
		index_slugs(&ld, cat);
	yaml_document_delete(&doc);
	free(data);
	if (rep->errors != before) {
		catalogue_free(cat);
		return -1;
	}
	cat->dir = strdup(dir);
	cat->yaml_path = strdup(path);
	return 0;
}

void catalogue_free(struct catalogue *cat)
{
	for (size_t i = 0; i < cat->n; i++)
		challenge_free(&cat->v[i]);
	free(cat->v);
	free(cat->by_slug);
	free(cat->dir);
	free(cat->yaml_path);
	memset(cat, 0, sizeof(*cat));
}

const struct challenge *catalogue_find(const struct catalogue *cat, const char *slug)
{
	size_t lo = 0, hi = cat->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct challenge *c = &cat->v[cat->by_slug[mid]];
		int d = strcmp(slug, c->slug);

		if (d == 0)
			return c;
		if (d < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static json_object *string_array(char **v, size_t n)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

char *catalogue_public_json(const struct catalogue *cat)
{
	json_object *a = json_object_new_array();
	char *out;

	if (a == NULL)
		return NULL;
	for (size_t i = 0; i < cat->n; i++) {
		const struct challenge *c = &cat->v[i];
		json_object *o = json_object_new_object();

		json_object_object_add(o, "slug", json_object_new_string(c->slug));
		json_object_object_add(o, "version", json_object_new_int(c->version));
		json_object_object_add(o, "title", json_object_new_string(c->title));
		json_object_object_add(o, "description", json_object_new_string(c->description));
		json_object_object_add(o, "learn", c->learn ? json_object_new_string(c->learn) : NULL);
		json_object_object_add(o, "disp_learn", json_object_new_boolean(c->disp_learn));
		json_object_object_add(o, "tags", string_array(c->tags, c->n_tags));
		json_object_object_add(o, "completions", string_array(c->completions, c->n_completions));
		json_object_object_add(o, "files", string_array(c->files, c->n_files));
		json_object_object_add(o, "hints", string_array(c->hints, c->n_hints));
		json_object_object_add(o, "author", c->author ? json_object_new_string(c->author) : NULL);
		json_object_object_add(o, "img", json_object_new_string(c->no_bin ? "cmd-no-bin" : "cmd"));
		json_object_array_add(a, o);
	}
	out = strdup(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
	    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(a);
	return out;
}

void load_report_free(struct load_report *rep)
{
	sb_free(&rep->text);
	rep->errors = rep->warnings = 0;
}

bool challenge_selected(const struct challenge *ch, char *const *slugs, int n)
{
	if (n == 0)
		return true;
	for (int i = 0; i < n; i++)
		if (strcmp(slugs[i], ch->slug) == 0)
			return true;
	return false;
}
