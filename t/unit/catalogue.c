/* catalogue.c: the YAML loader: a good catalogue, and a clear file:line error for every mistake. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/catalogue.h"
#include "config/config.h"
#include "engine/sandbox.h"
#include "tap.h"
#include "tmp_catalogue.h"

/* The runner spec as JSON text, for substring checks (valid until the challenge is freed). */
/* The runner request the service would send for cmd on challenge c, with the default settings. */
static char *request_for(const struct challenge *c, const char *cmd)
{
	struct config cfg;
	char nonce[NONCE_LEN + 1], *req;
	size_t len;

	config_defaults(&cfg);
	req = sandbox_runner_request(&cfg, c, cmd, strlen(cmd), nonce, &len);
	config_free(&cfg);
	return req;
}

static const char *spec_text(const struct challenge *c)
{
	return json_object_to_json_string_ext(c->runner_spec, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

static const char *dir;	/* the scratch catalogue's */

/* Load text; expect failure with a message containing want (at line, when given). */
static void refuses(const char *text, const char *want, const char *label)
{
	struct catalogue cat;
	struct load_report rep = { STRBUF_INIT, 0, 0 };
	int rc;

	rc = tmp_catalogue_load(text, &cat, &rep);
	is_int(rc, -1, "%s is refused", label);
	ok(rep.errors > 0, "%s: counted as an error", label);
	ok(rep.text.buf && strstr(rep.text.buf, want) != NULL, "%s: says '%s'", label, want);
	if (!(rep.text.buf && strstr(rep.text.buf, want)))
		diag("got: %s", rep.text.buf ? rep.text.buf : "(nothing)");
	is_int(cat.n, 0, "%s: leaves the catalogue empty", label);
	load_report_free(&rep);
	catalogue_free(&cat);
}

/* What the visitor starts with in "first": a file, a folder with a file, hidden ones. */
static const char *const made[] = { "files/notes/b.txt", "files/.stash/c.txt", "files/a.txt", "files/.secret", NULL };

static void make_files(bool make)
{
	char p[192];

	for (size_t i = 0; made[i]; i++) {
		FILE *f;

		snprintf(p, sizeof(p), "%s/%s", dir, made[i]);
		if (!make) {
			unlink(p);
			continue;
		}
		if ((f = fopen(p, "w")) != NULL) {
			fputs("the answer\n", f);
			fclose(f);
		}
	}
}

#define OK_ENTRY "- slug: ok\n  version: 1\n  description: d\n  example: echo a\n  expected_output:\n    lines: ['a']\n"

int main(void)
{
	struct catalogue cat;
	struct load_report rep = { STRBUF_INIT, 0, 0 };
	const struct challenge *c;
	char sub[128], *json;

	dir = tmp_catalogue_make("cat-test");
	snprintf(sub, sizeof(sub), "%s/files", dir);
	mkdir(sub, 0755);
	snprintf(sub, sizeof(sub), "%s/files/notes", dir);
	mkdir(sub, 0755);
	snprintf(sub, sizeof(sub), "%s/files/.stash", dir);
	mkdir(sub, 0755);
	snprintf(sub, sizeof(sub), "%s/files", dir);
	make_files(true);

	/* A catalogue using every field, including cmdchallenge's own. */
	tmp_catalogue_write("---\n"
	    "- slug: first\n  version: 3\n  dir: files\n  disp_title: First one\n  description: |\n    Print **a**.\n"
	    "  learn: use echo\n  disp_learn: true\n  example: echo a\n  expected_failures: [echo b, 'echo c']\n"
	    "  expected_output:\n    lines: ['a']\n    order: false\n    ignore_non_matching: yes\n"
	    "    re_sub: ['^\\./', '']\n  tags: [beginner]\n  completions: [a.txt]\n  author: someone\n"
	    "  emoji: x/y\n  cache_correct: true\n  cache_incorrect: false\n"
	    "  hints: ['Try `echo`.', \"Print the letter.\"]\n"
	    "- slug: second\n  version: 1\n  description: d\n  example: touch x\n  check: test -f x\n  img: cmd\n"
	    "- slug: third_regex\n  version: 1\n  description: d\n  example: date\n"
	    "  expected_output:\n    regex: true\n    lines: ['\\d+ \\w+?']\n"
	    "- slug: nobin\n  version: 2\n  description: d\n  example: echo *\n  img: cmd-no-bin\n"
	    "  expected_output:\n    lines: []\n  setup: sleep 9 &\n  setup_killable: true\n  check: pass\n");
	is_int(catalogue_load(&cat, dir, &rep), 0, "a full catalogue loads");
	if (!is_int(rep.warnings, 0, "without warnings"))
		diag("%s", rep.text.buf);
	is_int(cat.n, 4, "four challenges");
	c = catalogue_find(&cat, "first");
	ok(c != NULL, "find by slug");
	if (c) {
		is_int(c->version, 3, "version");
		is_str(c->dir, "files", "dir");
		is_str(c->title, "First one", "disp_title");
		is_str(c->description, "Print **a**.\n", "a block description");
		ok(c->disp_learn, "disp_learn");
		is_int(c->n_expected_failures, 2, "two expected failures");
		ok(!c->expect.order && c->expect.ignore_non_matching, "order and ignore_non_matching");
		is_str(c->expect.re_sub_pattern, "^\\./", "re_sub pattern");
		ok(c->cache_correct && !c->cache_incorrect, "cache_correct / cache_incorrect");
		ok(strstr(spec_text(c), "\"dir\":\"files\"") != NULL, "the runner spec names the dir");
		is_int(c->n_hints, 2, "two hints");
		is_str(c->n_hints ? c->hints[0] : NULL, "Try `echo`.", "the first hint");
		is_int(c->n_files, 3, "three names the visitor starts with (hidden ones left out)");
		if (c->n_files == 3) {
			is_str(c->files[0], "a.txt", "a file");
			is_str(c->files[1], "notes/", "a folder, with a slash");
			is_str(c->files[2], "notes/b.txt", "the file inside it");
		}
	}
	c = catalogue_find(&cat, "second");
	ok(c && !c->has_lines && c->check && strcmp(c->dir, "second") == 0, "a check-only challenge; dir defaults to the slug");
	ok(c && strstr(spec_text(c), "\"expected\":null") != NULL, "its runner spec has no expected lines");
	c = catalogue_find(&cat, "nobin");
	ok(c && c->no_bin && c->has_lines && c->expect.n_lines == 0, "cmd-no-bin with lines: [] (no output expected)");
	ok(c && c->check && c->setup, "cmd-no-bin challenges may have scripts (they get the judge's tools)");
	ok(c && c->setup_killable && strstr(spec_text(c), "\"setup_killable\":true") != NULL,
	    "setup_killable reaches the runner spec");
	ok(catalogue_find(&cat, "nope") == NULL, "an unknown slug is not found");
	json = catalogue_public_json(&cat);
	ok(json && strstr(json, "\"slug\": \"first\"") != NULL, "the public JSON lists the challenges");
	ok(json && !strstr(json, "example") && !strstr(json, "echo b") && !strstr(json, "test -f") &&
	    !strstr(json, "\"lines\""), "and never an answer, a failure, a check or the expected lines");
	ok(json && strstr(json, "\"completions\"") && strstr(json, "\"learn\""), "but what the page needs");
	ok(json && strstr(json, "\"notes/b.txt\"") && strstr(json, "\"Print the letter.\""),
	    "with the files and the hints");
	ok(json && !strstr(json, "secret") && !strstr(json, "stash") && !strstr(json, "the answer"),
	    "never a hidden name nor a file's contents");
	free(json);
	catalogue_free(&cat);
	load_report_free(&rep);

	refuses("- slug: a\n  version: 1\n  description: [x\n", "not valid YAML", "bad YAML");
	refuses("slug: a\n", "must be a list of challenges", "a mapping at the top");
	refuses("- version: 1\n  description: d\n  example: e\n  check: c\n", ":1:3: error: challenge has no slug", "a missing slug");
	refuses("- slug: a\n  description: d\n  example: e\n  check: c\n", "challenge a has no version", "a missing version");
	refuses("- slug: a\n  version: 1\n  example: e\n  check: c\n", "challenge a has no description", "a missing description");
	refuses("- slug: a\n  version: 1\n  description: d\n  check: c\n", "has no example", "a missing example");
	refuses("- slug: a\n  version: '1'\n  description: d\n  example: e\n  check: c\n", ":2:12: error: version must be an integer",
	    "a quoted version");
	refuses("- slug: a\n  version: 1\n  description: 42\n  example: e\n  check: c\n",
	    ":3:16: error: description must be a string, not a number, boolean or null (quote it)", "a number for a string");
	refuses(OK_ENTRY "  tags: [x, ~]\n", "tags item 2 must be a string", "a null in a list of strings");
	refuses("- slug: a\n  version: 1\n  description: d\n  example: e\n  expected_output:\n    lines: [null, 'b']\n",
	    ":6:13: error: expected_output.lines item 1 must be a string", "a null in lines");
	refuses("- slug: a\n  version: 1\n  description: d\n  example: e\n  expected_output:\n    lines: x\n",
	    "expected_output.lines must be a list", "lines as a string");
	refuses(OK_ENTRY OK_ENTRY, ":7: error: duplicate slug ok (first at line 1)", "a duplicate slug");
	refuses(OK_ENTRY "  dir: ../etc\n", "must be a plain directory name", "a dir with a path");
	refuses("- slug: a-b\n  version: 1\n  description: d\n  example: e\n  check: c\n", "slug 'a-b' must be", "a slug with a dash");
	refuses("- slug: a\n  version: 1\n  description: d\n  example: e\n  expected_output:\n    re_sub: ['(', '']\n    lines: ['a']\n",
	    "invalid pattern", "an invalid re_sub pattern");
	refuses("- slug: a\n  version: 1\n  description: d\n  example: e\n  expected_output:\n    regex: true\n    lines: ['[a']\n",
	    "invalid pattern", "an invalid regex line");
	refuses("- slug: a\n  version: 1\n  description: d\n  example: e\n  expected_output:\n    re_sub: ['x']\n    lines: ['a']\n",
	    "re_sub must be a list of two strings", "re_sub with one element");
	refuses("- slug: a\n  version: 1\n  description: d\n  example: e\n  expected_output:\n    order: maybe\n    lines: ['a']\n",
	    "expected_output.order must be true or false", "a bad boolean");
	refuses(OK_ENTRY "  img: alpine\n", "img must be cmd or cmd-no-bin", "an unknown img");
	refuses(OK_ENTRY "  processes: {name: a, pid: 42}\n", "processes must be a list", "processes as a mapping");
	refuses(OK_ENTRY "  processes: [{name: a, pid: 1}]\n", "processes.pid must be an integer from 2", "a helper at pid 1");
	refuses(OK_ENTRY "  processes: [{name: a, pid: 1001}]\n", "processes.pid must be from 2 to 1000", "a helper past pid 1000");
	refuses(OK_ENTRY "  processes: [{name: 'a b', pid: 42}]\n", "processes.name 'a b' must be", "a helper name with a space");
	refuses(OK_ENTRY "  processes: [{name: -x, pid: 42}]\n", "processes.name '-x' must be", "a helper name like an option");
	refuses(OK_ENTRY "  processes: [{name: a}]\n", "needs a name and a pid", "a helper without a pid");
	refuses(OK_ENTRY "  processes: [{name: a, pid: 42}, {name: b, pid: 42}]\n", "pid 42 is given twice", "two helpers at one pid");
	refuses(OK_ENTRY "  processes: [{name: a, pid: 42, killable: maybe}]\n", "processes.killable must be true or false",
	    "a bad killable");
	refuses(OK_ENTRY "  processes: [{name: a, pid: 2}, {name: a, pid: 3}, {name: a, pid: 4}, {name: a, pid: 5}, {name: a, pid: 6}]\n",
	    "at most 4 processes", "five helpers");
	refuses(OK_ENTRY "  processes: [{name: a, pid: 42, name: b}]\n", "field processes.name is given twice", "a repeated helper field");
	refuses(OK_ENTRY "  setup_killable: true\n", "setup_killable without a setup script", "setup_killable alone");
	refuses(OK_ENTRY "  version: 2\n", "field version is given twice (first at line 2)", "a repeated field");
	/* Found by t/fuzz/catalogue.c: a repeated field used to overwrite (and leak) the first one. */
	refuses(OK_ENTRY "  example: echo b\n  expected_output:\n    lines: ['b']\n  tags: [x]\n  tags: [y]\n",
	    "field example is given twice (first at line 4)", "repeated string, list and mapping fields");
	refuses(OK_ENTRY "    lines: ['b']\n    re_sub: ['a', 'b']\n    re_sub: ['c', 'd']\n",
	    "field expected_output.lines is given twice (first at line 6)", "a repeated field in expected_output");
	/* audit_allow: a known strategy and a reason for each, or the load fails naming the challenge. */
	refuses(OK_ENTRY "  audit_allow: {delete_everything: ''}\n",
	    ":7:36: error: challenge ok: audit_allow.delete_everything needs a reason", "an allowance with an empty reason");
	refuses(OK_ENTRY "  audit_allow:\n    delete_everything:\n",
	    "challenge ok: audit_allow.delete_everything needs a reason", "an allowance with no reason");
	refuses(OK_ENTRY "  audit_allow: {empty_files: '  '}\n", "audit_allow.empty_files needs a reason",
	    "an allowance with a blank reason");
	refuses(OK_ENTRY "  audit_allow: {replay: [a, b]}\n", "audit_allow.replay needs a reason", "a list as a reason");
	refuses(OK_ENTRY "  audit_allow: {delete_evrything: the task}\n",
	    "challenge ok: audit_allow names no strategy of the audit: 'delete_evrything'", "an unknown strategy");
	refuses("- audit_allow: {nope: x}\n  slug: later\n  version: 1\n  description: d\n  example: e\n  check: c\n",
	    ":1:17: error: challenge later: audit_allow names no strategy", "the slug named even when it comes after");
	refuses(OK_ENTRY "  audit_allow: [delete_everything]\n", "challenge ok: audit_allow must be a mapping",
	    "audit_allow as a list");
	refuses(OK_ENTRY "  audit_allow: {replay: a, replay: b}\n", "field audit_allow.replay is given twice",
	    "a strategy allowed twice");
	tmp_catalogue_write(OK_ENTRY "  audit_allow:\n    delete_everything: \"the task is to delete everything\"\n"
	    "    print_nothing: the expected output is empty\n");
	is_int(catalogue_load(&cat, dir, &rep), 0, "audit_allow with reasons loads");
	is_int(rep.warnings, 0, "without warnings");
	c = catalogue_find(&cat, "ok");
	ok(c && c->n_audit_allow == 2, "two allowances stored");
	is_str(c ? challenge_audit_allowed(c, "delete_everything") : NULL, "the task is to delete everything",
	    "the reason of an allowed strategy");
	is_str(c ? challenge_audit_allowed(c, "print_nothing") : NULL, "the expected output is empty", "and of the other");
	ok(c && challenge_audit_allowed(c, "replay") == NULL, "a strategy not allowed has no reason");
	ok(c && strstr(spec_text(c), "audit") == NULL, "the runner is never told");
	catalogue_free(&cat);
	load_report_free(&rep);

	refuses(OK_ENTRY "  hints: ['a', '  ']\n", "hint 2 is empty", "an empty hint");
	refuses(OK_ENTRY "  hints: [a, b, c, d, e, f, g]\n", "at most 6", "seven hints");
	refuses(OK_ENTRY "  hints: 42\n", "hints must be a list of strings", "a number as hints");
	refuses("", "holds no challenges", "an empty file");
	refuses("- 42\n", "each challenge must be a mapping", "a number as a challenge");

	/*
	 * cmdchallenge's own catalogue: unquoted numbers in lists, check-only and
	 * scripted cmd-no-bin challenges, fixed-pid helpers, fields that mean nothing here.
	 */
	tmp_catalogue_write("- slug: days\n  version: 1\n  description: d\n  example: seq 3\n  completions: [01, 08, true]\n"
	    "  expected_output:\n    lines: [1, 2, 3]\n  tests:\n    - test: 'true'\n      msg: m\n  disp_time: x\n"
	    "- slug: oops_x\n  version: 2\n  description: d\n  example: kill -9 42\n  img: cmd-no-bin\n"
	    "  randomize: echo x\n  check: '[ ! -e /proc/42 ] && pass'\n"
	    "  processes:\n    - name: oops-this-will-delete-bin-dirs\n      pid: 42\n      killable: true\n"
	    "    - {name: watcher, pid: 7, colour: red}\n"
	    "- slug: plain\n  version: 1\n  description: d\n  example: touch x\n  check: test -f x\n  expected_failures: echo 42\n");
	is_int(catalogue_load(&cat, dir, &rep), 0, "cmdchallenge's own forms load");
	is_int(rep.warnings, 3, "with a warning for each field that means nothing here");
	if (!ok(rep.text.buf && strstr(rep.text.buf, ":8:3: warning: cmdchallenge's field 'tests' means nothing here: ignored") &&
	    strstr(rep.text.buf, "field 'disp_time' means nothing") && strstr(rep.text.buf, "unknown field processes.colour"),
	    "the warnings name the field and its line"))
		diag("got: %s", rep.text.buf ? rep.text.buf : "(nothing)");
	c = catalogue_find(&cat, "days");
	ok(c && c->n_completions == 3 && !strcmp(c->completions[0], "01") && !strcmp(c->completions[1], "08") &&
	    !strcmp(c->completions[2], "true"), "completions: [01, 08, true] are taken as written");
	ok(c && c->expect.n_lines == 3 && !strcmp(c->expect.lines[2], "3"), "lines: [1, 2, 3] are the strings 1, 2, 3");
	c = catalogue_find(&cat, "oops_x");
	ok(c && c->no_bin && c->check && c->randomize && !c->has_lines, "a cmd-no-bin challenge may have check and randomize");
	ok(c && c->n_helpers == 2 && c->helpers[1].pid == 42 && c->helpers[1].killable &&
	    !strcmp(c->helpers[1].name, "oops-this-will-delete-bin-dirs") && c->helpers[0].pid == 7 && !c->helpers[0].killable,
	    "its processes, in ascending pid order, killable defaulting to false");
	if (c) {
		char *req = request_for(c, "kill 42");

		if (!ok(req && strstr(req, ",\"helpers\":[{\"pid\":7,\"name\":\"watcher\",\"killable\":false},"
		    "{\"pid\":42,\"name\":\"oops-this-will-delete-bin-dirs\",\"killable\":true}]"), "the runner request carries them as helpers"))
			diag("got: %s", req ? req : "(nothing)");
		free(req);
	}
	c = catalogue_find(&cat, "plain");
	ok(c && c->n_helpers == 0 && c->n_expected_failures == 1 && !strcmp(c->expected_failures[0], "echo 42"),
	    "a string for expected_failures is a list of one");
	if (c) {
		char *req = request_for(c, "x");

		ok(req && !strstr(req, "helpers"), "a challenge without processes sends no helpers member");
		free(req);
	}
	catalogue_free(&cat);
	load_report_free(&rep);

	/* Warnings load. */
	tmp_catalogue_write(OK_ENTRY "  colour: red\n  expected_output_extra: 1\n  dir: nowhere\n"
	    "- slug: nothing_to_judge\n  version: 1\n  description: d\n  example: e\n");
	is_int(catalogue_load(&cat, dir, &rep), 0, "unknown fields only warn");
	is_int(rep.warnings, 4, "four warnings");
	ok(rep.text.buf && strstr(rep.text.buf, ":9:8: warning: dir 'nowhere' does not exist in"),
	    "an explicit dir that does not exist warns (cmdchallenge's loader never looks)");
	ok(rep.text.buf && strstr(rep.text.buf, ":7:3: warning: unknown field 'colour' is ignored"), "an unknown field, with its line");
	ok(rep.text.buf && strstr(rep.text.buf, "nothing_to_judge has no expected_output.lines, check or randomize"),
	    "a challenge nothing could judge is named");
	is_int(cat.n, 1, "and skipped");
	catalogue_free(&cat);
	load_report_free(&rep);

	tmp_catalogue_write(OK_ENTRY);
	make_files(false);
	snprintf(sub, sizeof(sub), "%s/files/notes", dir);
	rmdir(sub);
	snprintf(sub, sizeof(sub), "%s/files/.stash", dir);
	rmdir(sub);
	snprintf(sub, sizeof(sub), "%s/files", dir);
	unlink(sub);
	rmdir(sub);
	snprintf(sub, sizeof(sub), "%s/challenges.yaml", dir);
	unlink(sub);
	is_int(catalogue_load(&cat, dir, &rep), -1, "a missing file");
	ok(rep.text.buf && strstr(rep.text.buf, "cannot open"), "says it cannot open it");
	load_report_free(&rep);
	tmp_catalogue_remove();
	return tap_done();
}
