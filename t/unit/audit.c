/*
 * audit.c: the audit's parts that need no container: quoting, the strategies (run through a real
 * bash where their text matters), the probe line, the multi-attempt request and the verdict list.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "check/audit.h"
#include "lib/base64.h"
#include "tap.h"
#include "tmp_catalogue.h"

static const char *dir;	/* the scratch catalogue's, where the strategies run */

/* Run script with bash (-n: only parse it) in dir; its stdout into out (caller frees). Exit status. */
static int bash(const char *script, bool parse_only, char **out)
{
	char path[128];
	FILE *f, *p;
	struct strbuf sb = STRBUF_INIT;
	char buf[4096], cmd[256];
	size_t n;
	int st;

	snprintf(path, sizeof(path), "%s/script.sh", dir);
	f = fopen(path, "w");
	fputs(script, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "cd '%s' && bash %s script.sh 2>/dev/null", dir, parse_only ? "-n" : "");
	p = popen(cmd, "r");
	while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
		sb_add(&sb, buf, n);
	st = pclose(p);
	if (out)
		*out = sb.buf ? sb_detach(&sb, NULL) : strdup("");
	sb_free(&sb);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_names(void)
{
	bool same = audit_n_strategies == AUDIT_N_STRATEGIES;

	ok(audit_n_strategies >= 12, "at least 12 strategies (%zu)", audit_n_strategies);
	for (size_t i = 0; same && i < audit_n_strategies; i++)
		same = strcmp(audit_strategies[i].name, audit_strategy_names[i]) == 0 && audit_strategies[i].what &&
		    audit_strategies[i].build;
	ok(same, "the table and the names the loader knows are the same list, in the same order");
	same = true;
	for (size_t i = 0; i < audit_n_strategies; i++)
		if (audit_strategies[i].covered_by && (!audit_strategy_known(audit_strategies[i].covered_by) ||
		    !(audit_strategies[i].needs & (AUDIT_NEED_RUN1 | AUDIT_NEED_LINES))))
			same = false;
	ok(same, "a strategy covered by another names a strategy, and prints a hard-coded answer");
	ok(audit_strategy_known("delete_everything") && !audit_strategy_known("delete") && !audit_strategy_known(""),
	    "audit_strategy_known");
}

static void test_quote(void)
{
	static const char *const cases[] = {
		"plain", "", "it's", "''", "a\nb\n\n", "$(touch pwned) `touch pwned` $HOME", "\\n %s %n \\",
		"!event *glob? [x] {a,b} ~", "\t tab \r cr", "\xc3\xa9t\xc3\xa9 \xff\xfe",
	};
	char *out = NULL;
	struct stat st;
	char path[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct strbuf sb = STRBUF_INIT;

		sb_adds(&sb, "printf %s ");
		audit_quote(&sb, cases[i], strlen(cases[i]));
		bash(sb.buf, false, &out);
		ok(out && strcmp(out, cases[i]) == 0, "quoted case %zu reaches bash byte for byte", i + 1);
		free(out);
		sb_free(&sb);
	}
	snprintf(path, sizeof(path), "%s/pwned", dir);
	ok(stat(path, &st) < 0, "nothing quoted was run");
	{
		struct strbuf sb = STRBUF_INIT;

		audit_quote(&sb, "a\0b", 3);
		is_str(sb.buf, "'ab'", "a NUL byte is dropped (a command cannot hold one)");
		sb_free(&sb);
	}
}

static void test_probe(void)
{
	struct audit_probe p;
	const char *out = "noise\ncmdarena-audit-probe 7 3 2 5 changed\nmore\n";

	is_int(audit_parse_probe(out, strlen(out), &p), 0, "the probe line is found among other output");
	ok(p.known && p.entries == 7 && p.files == 3 && p.nonempty == 2 && p.left_nonempty == 5 && p.changed, "and read");
	out = "cmdarena-audit-probe 0 0 0 0 same";
	ok(audit_parse_probe(out, strlen(out), &p) == 0 && p.known && !p.changed && p.entries == 0, "same, no newline");
	out = "cmdarena-audit-probe 1 2 x 4 changed\n";
	ok(audit_parse_probe(out, strlen(out), &p) < 0 && !p.known, "a mangled line is not trusted");
	out = "cmdarena-audit-probe 1 2 3 4 maybe\n";
	ok(audit_parse_probe(out, strlen(out), &p) < 0 && !p.known, "nor an unknown word");
	ok(audit_parse_probe("", 0, &p) < 0 && !p.known, "no output: unknown");
}

/* Build every strategy of challenge slug; check each parses as bash; return the one named want. */
static char *build_all(const struct catalogue *cat, const char *slug, const struct audit_input *base, const char *want,
    const char **why_want)
{
	struct audit_input in = *base;
	struct strbuf cmd = STRBUF_INIT;
	char *found = NULL;
	bool parse = true;

	in.ch = catalogue_find(cat, slug);
	for (size_t i = 0; in.ch && i < audit_n_strategies; i++) {
		const char *why = NULL;
		int b = audit_build(&audit_strategies[i], &in, &cmd, &why);

		if (b == 1 && bash(cmd.buf, true, NULL) != 0) {
			diag("%s: %s does not parse:\n%s", slug, audit_strategies[i].name, cmd.buf);
			parse = false;
		}
		if (strcmp(audit_strategies[i].name, want) == 0) {
			*why_want = why;
			found = b == 1 ? strdup(cmd.buf) : NULL;
		}
	}
	ok(in.ch && parse, "%s: every strategy built is valid bash", slug);
	sb_free(&cmd);
	return found;
}

static void test_strategies(void)
{
	struct catalogue cat;
	struct load_report rep = { STRBUF_INIT, 0, 0 };
	struct audit_input in;
	const char *why = NULL;
	const char *run1 = "it's 42\n$(touch pwned)\n";
	char *cmd, *out = NULL;

	if (!is_int(tmp_catalogue_load("- slug: lines\n  version: 1\n  description: d\n  example: echo \"it's 42\" # a comment\n"
	    "  expected_output:\n    lines: [\"it's 42\", '%s $HOME']\n"
	    "- slug: files\n  version: 1\n  description: d\n  example: |\n    cat <<EOF >out.txt\n    x\n    EOF\n"
	    "  check: test -s out.txt\n"
	    "- slug: nobin\n  version: 1\n  description: d\n  example: echo x\n  img: cmd-no-bin\n"
	    "  expected_output:\n    lines: [x]\n", &cat, &rep), 0, "the strategy fixture loads"))
		diag("%s", rep.text.buf);
	memset(&in, 0, sizeof(in));
	in.have_run1 = true;
	in.run1 = run1;
	in.run1_len = strlen(run1);
	in.pids_limit = 64;

	cmd = build_all(&cat, "lines", &in, "replay", &why);
	ok(cmd != NULL, "replay is built");
	is_int(bash(cmd ? cmd : "", false, &out), 0, "replay exits 0");
	is_str(out, run1, "replay prints run 1's output byte for byte");
	free(out);
	free(cmd);
	cmd = build_all(&cat, "lines", &in, "expected_lines", &why);
	bash(cmd ? cmd : "", false, &out);
	is_str(out, "it's 42\n%s $HOME\n", "expected_lines prints the lines verbatim");
	free(out);
	free(cmd);
	cmd = build_all(&cat, "lines", &in, "empty_layout", &why);
	ok(cmd == NULL && why && strstr(why, "no check"), "empty_layout is skipped where no check looks at files");
	cmd = build_all(&cat, "lines", &in, "kill_replay", &why);
	ok(cmd && strstr(cmd, "kill -9 -1") && strncmp(cmd, "kill", 4) == 0, "kill_replay kills first");
	free(cmd);

	/* The example runs as written: a heredoc, in a subshell. */
	cmd = build_all(&cat, "files", &in, "empty_touched", &why);
	ok(cmd != NULL, "empty_touched on a challenge with a check (probe unknown: tried)");
	if (cmd) {
		char path[128], keep[128];
		struct stat st;
		FILE *f;

		snprintf(keep, sizeof(keep), "%s/keep.txt", dir);
		f = fopen(keep, "w");
		fputs("untouched\n", f);
		fclose(f);
		bash(cmd, false, &out);
		free(out);
		snprintf(path, sizeof(path), "%s/out.txt", dir);
		ok(stat(path, &st) == 0 && st.st_size == 0, "it ran the example, then emptied what it made");
		ok(stat(keep, &st) == 0 && st.st_size == 10, "but not a file the example did not touch");
		unlink(path);
		unlink(keep);
	}
	free(cmd);
	in.probe = (struct audit_probe){ .known = true, .entries = 2, .files = 2, .nonempty = 0, .left_nonempty = 3,
	    .changed = true };
	cmd = build_all(&cat, "files", &in, "empty_touched", &why);
	ok(cmd == NULL && why && strstr(why, "no non-empty file"), "empty_touched skipped when the example touches no non-empty file");
	cmd = build_all(&cat, "files", &in, "empty_layout", &why);
	ok(cmd != NULL, "empty_layout still built: it leaves non-empty files");
	free(cmd);
	in.probe.left_nonempty = 0;
	cmd = build_all(&cat, "files", &in, "empty_layout", &why);
	ok(cmd == NULL && why && strstr(why, "only empty files"), "empty_layout skipped when the example leaves only empty files");
	cmd = build_all(&cat, "files", &in, "symlink_files", &why);
	ok(cmd != NULL, "symlink_files still built");
	free(cmd);
	in.probe.changed = false;
	cmd = build_all(&cat, "files", &in, "example_in_copy", &why);
	ok(cmd == NULL && why && strstr(why, "changes no file"), "example_in_copy skipped when the example changes nothing");
	in.probe = (struct audit_probe){ 0 };

	cmd = build_all(&cat, "nobin", &in, "delete_everything", &why);
	ok(cmd == NULL && why && strstr(why, "cmd-no-bin"), "cmd-no-bin: strategies needing programs are skipped");
	cmd = build_all(&cat, "nobin", &in, "empty_files", &why);
	ok(cmd != NULL, "cmd-no-bin: empty_files uses builtins and is built");
	free(cmd);
	cmd = build_all(&cat, "nobin", &in, "second_run", &why);
	ok(cmd != NULL, "cmd-no-bin: second_run is built");
	free(cmd);

	in.have_run1 = false;
	cmd = build_all(&cat, "lines", &in, "replay", &why);
	ok(cmd == NULL && why && strstr(why, "run-1"), "without the example's run-1 output, replays are skipped");

	/* Builtins only: empty_files empties hidden and nested files. */
	{
		char path[160];
		struct stat st;
		FILE *f;

		snprintf(path, sizeof(path), "%s/sub", dir);
		mkdir(path, 0755);
		snprintf(path, sizeof(path), "%s/sub/.hidden", dir);
		f = fopen(path, "w");
		fputs("data", f);
		fclose(f);
		in.have_run1 = true;
		cmd = build_all(&cat, "nobin", &in, "empty_files", &why);
		bash(cmd ? cmd : "", false, NULL);
		ok(stat(path, &st) == 0 && st.st_size == 0, "empty_files empties a hidden file in a subdirectory");
		unlink(path);
		free(cmd);
		snprintf(path, sizeof(path), "%s/sub", dir);
		rmdir(path);
	}
	{
		char path[128];
		struct stat st;

		snprintf(path, sizeof(path), "%s/pwned", dir);
		ok(stat(path, &st) < 0, "no quoted text was ever run");
	}
	catalogue_free(&cat);
	load_report_free(&rep);
}

static void test_request(void)
{
	struct config cfg;
	struct catalogue cat;
	struct load_report rep = { STRBUF_INIT, 0, 0 };
	char nonce[NONCE_LEN + 1], *req;
	char *cmds[] = { "echo one", "printf '%s\\n' \"two\"", "\xff\x01" };
	size_t len = 0;
	json_object *o, *m;

	tmp_catalogue_load("- slug: r\n  version: 1\n  description: d\n  example: echo a\n  check: pass\n"
	    "  expected_output:\n    lines: [a]\n", &cat, &rep);
	config_defaults(&cfg);
	req = audit_request(&cfg, catalogue_find(&cat, "r"), cmds, 3, 4096, nonce, &len);
	ok(req && len > 0 && req[len - 1] == '\n' && strchr(req, '\n') == req + len - 1, "the request is one line");
	o = req ? json_tokener_parse(req) : NULL;
	ok(o != NULL, "of JSON");
	ok(o && json_object_object_get_ex(o, "nonce", &m) && strcmp(json_object_get_string(m), nonce) == 0 &&
	    strlen(nonce) == NONCE_LEN, "with the fresh nonce");
	ok(o && !json_object_object_get_ex(o, "cmd_b64", &m), "no cmd_b64");
	if (o && json_object_object_get_ex(o, "attempts", &m) && json_object_array_length(m) == 3) {
		for (size_t i = 0; i < 3; i++) {
			const char *b = json_object_get_string(json_object_array_get_idx(m, i));
			size_t n = 0;
			unsigned char *d = base64_decode(b, strlen(b), &n);

			ok(d && n == strlen(cmds[i]) && memcmp(d, cmds[i], n) == 0, "attempt %zu decodes to its command", i + 1);
			free(d);
		}
	} else {
		ok(0, "three attempts");
	}
	ok(o && json_object_object_get_ex(o, "output_cap", &m) && json_object_get_int(m) == 4096, "the audit's output cap");
	ok(o && json_object_object_get_ex(o, "timeout_ms", &m) && json_object_get_int(m) == cfg.timeout_ms &&
	    json_object_object_get_ex(o, "total_ms", &m) && json_object_get_int(m) == cfg.hard_deadline_ms - 1500,
	    "the service's budgets (per attempt)");
	ok(o && json_object_object_get_ex(o, "dir", &m) && json_object_object_get_ex(o, "check", &m) &&
	    json_object_object_get_ex(o, "expected", &m), "and the challenge's members");
	json_object_put(o);
	free(req);
	ok(audit_request(&cfg, catalogue_find(&cat, "r"), cmds, 0, 4096, nonce, &len) == NULL, "no attempts: no request");

	ok(!audit_needs_own_containers(catalogue_find(&cat, "r")), "a challenge without helpers shares containers");
	{
		struct challenge fake = { 0 };

		fake.runner_spec = json_tokener_parse("{\"dir\":\"x\",\"helpers\":[{\"pid\":42,\"name\":\"oops\",\"killable\":true}]}");
		ok(audit_needs_own_containers(&fake), "one with fixed-PID helpers gets a container per attempt");
		json_object_put(fake.runner_spec);
		fake.runner_spec = json_tokener_parse("{\"dir\":\"x\",\"helpers\":[]}");
		ok(!audit_needs_own_containers(&fake), "an empty helpers list does not");
		json_object_put(fake.runner_spec);
	}
	config_free(&cfg);
	catalogue_free(&cat);
	load_report_free(&rep);
}

static int parse(const char *line, const char *nonce, size_t n, struct audit_verdict *out, char *err)
{
	return audit_parse_verdicts(line, strlen(line), nonce, n, 8, out, err, 256);
}

static void test_verdicts(void)
{
	const char *nonce = "0123456789abcdef0123456789abcdef";
	struct audit_verdict v[3];
	char err[256], line[2048];

	snprintf(line, sizeof(line), "{\"nonce\":\"%s\",\"verdicts\":["
	    "{\"correct\":true,\"output\":\"hello\\n\",\"exit_code\":0,\"message\":null,\"timed_out\":false,"
	    "\"truncated\":false,\"first_run_correct\":true},"
	    "{\"error\":\"setup failed\"},"
	    "{\"correct\":false,\"output\":\"a very long output\",\"exit_code\":137,\"message\":\"Nope.\","
	    "\"timed_out\":true,\"truncated\":false,\"first_run_correct\":false}]}", nonce);
	is_int(parse(line, nonce, 3, v, err), 0, "a list of three verdicts is read");
	ok(v[0].ran && v[0].v.correct && v[0].first_run_correct && strcmp(v[0].v.output, "hello\n") == 0 &&
	    v[0].v.message == NULL, "the first: correct, first run correct, its output");
	ok(!v[1].ran && v[1].error && strstr(v[1].error, "setup failed"), "the second: not judged, with the reason");
	ok(v[2].ran && !v[2].v.correct && !v[2].first_run_correct && v[2].v.timed_out && v[2].v.exit_code == 137 &&
	    strcmp(v[2].v.message, "Nope.") == 0, "the third: incorrect, timed out, its message");
	ok(v[2].v.output_len <= 12, "output cut to the cap (%zu bytes)", v[2].v.output_len);
	for (int i = 0; i < 3; i++)
		audit_verdict_free(&v[i]);

	snprintf(line, sizeof(line), "{\"nonce\":\"%s\",\"verdicts\":[{\"correct\":true,\"output\":\"\",\"exit_code\":0}]}",
	    nonce);
	is_int(parse(line, nonce, 1, v, err), 0, "a verdict without first_run_correct");
	ok(!v[0].ran && v[0].error && strstr(v[0].error, "first_run_correct"), "is not trusted");
	audit_verdict_free(&v[0]);
	snprintf(line, sizeof(line), "{\"nonce\":\"%s\",\"verdicts\":[{\"correct\":\"yes\",\"output\":\"\","
	    "\"exit_code\":0,\"first_run_correct\":true}]}", nonce);
	ok(parse(line, nonce, 1, v, err) == 0 && !v[0].ran && v[0].error && strstr(v[0].error, "correct"),
	    "a verdict of the wrong shape is an error for that attempt");
	audit_verdict_free(&v[0]);

	snprintf(line, sizeof(line), "{\"nonce\":\"%s\",\"verdicts\":[{\"error\":\"x\"}]}", nonce);
	ok(parse(line, nonce, 2, v, err) < 0 && strstr(err, "1 verdicts for 2 attempts"), "a count that differs: refused");
	snprintf(line, sizeof(line), "{\"nonce\":\"ffff%s\",\"verdicts\":[{\"error\":\"x\"}]}", nonce + 4);
	ok(parse(line, nonce, 1, v, err) < 0 && strstr(err, "nonce"), "another nonce: refused");
	ok(parse("{\"error\":\"no cmd_b64\"}", nonce, 1, v, err) < 0 && strstr(err, "refused the request: no cmd_b64"),
	    "a refused request says why");
	ok(parse("not json", nonce, 1, v, err) < 0 && strstr(err, "not a JSON object"), "not JSON: refused");
	snprintf(line, sizeof(line), "{\"nonce\":\"%s\",\"verdicts\":{}}", nonce);
	ok(parse(line, nonce, 1, v, err) < 0 && strstr(err, "no array"), "verdicts not a list: refused");
	snprintf(line, sizeof(line), "{\"nonce\":\"%s\",\"verdicts\":[7]}", nonce);
	ok(parse(line, nonce, 1, v, err) == 0 && !v[0].ran && strstr(v[0].error, "not a JSON object"),
	    "an element that is no object: an error for it");
	audit_verdict_free(&v[0]);
}

int main(void)
{
	dir = tmp_catalogue_make("audit-test");
	test_names();
	test_quote();
	test_probe();
	test_strategies();
	test_request();
	test_verdicts();
	{
		char path[128];

		snprintf(path, sizeof(path), "%s/script.sh", dir);
		unlink(path);
		tmp_catalogue_remove();
		unlink("/tmp/.cmdarena-audit-mark");
	}
	return tap_done();
}
