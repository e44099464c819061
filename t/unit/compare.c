/*
 * compare.c: the comparison rules of runner/README.md, one behaviour each.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/compare.h"
#include "tap.h"

/* An expectation from a NULL-terminated list of lines; defaults as in the request. */
static struct expect expect_of(const char *const *lines)
{
	struct expect e = { .order = true };

	while (lines[e.n_lines] != NULL)
		e.n_lines++;
	e.lines = calloc(e.n_lines + 1, sizeof(*e.lines));
	for (size_t i = 0; i < e.n_lines; i++)
		e.lines[i] = strdup(lines[i]);
	return e;
}

static void set_re_sub(struct expect *e, const char *pattern, const char *replacement)
{
	e->re_sub_pattern = strdup(pattern);
	e->re_sub_replacement = strdup(replacement);
}

/* Compare out (len bytes) and return whether it matched; res kept for inspection. */
static bool judge_len(struct expect *e, const char *out, size_t len, struct compare_result *res)
{
	int rc = compare_output(e, out, len, res);

	if (rc != 0)
		diag("compare_output failed: %s", res->message ? res->message : "(no message)");
	return rc == 0 && res->match;
}

static bool judge(struct expect *e, const char *out, struct compare_result *res)
{
	return judge_len(e, out, strlen(out), res);
}

/* One-shot: does out match these lines with these flags? */
static bool matches(const char *const *lines, bool order, bool ignore, bool regex, const char *out)
{
	struct expect e = expect_of(lines);
	struct compare_result res;
	bool m;

	e.order = order;
	e.ignore_non_matching = ignore;
	e.regex = regex;
	m = judge(&e, out, &res);
	compare_result_free(&res);
	expect_free(&e);
	return m;
}

static void test_trim_and_split(void)
{
	static const char *const hw[] = { "hello world", NULL };
	static const char *const two[] = { "a", "b", NULL };
	static const char *const blank_mid[] = { "a", "", "b", NULL };
	struct lines l;

	ok(matches(hw, true, false, false, "hello world\n"), "rule 1: trailing newline trimmed");
	ok(matches(hw, true, false, false, " \t\r\n\v\fhello world\n\n \f\v"),
	    "rule 1: every kind of whitespace trimmed at both ends");
	ok(!matches(hw, true, false, false, "hello  world"), "rule 1: inner whitespace kept");
	ok(matches(two, true, false, false, "a\nb"), "rule 2: split on \\n");
	ok(matches(blank_mid, true, false, false, "a\n\nb\n"), "rule 2: an empty inner line is a line");
	ok(!matches(two, true, false, false, "a\n\nb"), "rule 2: an extra empty line counts");

	is_int(lines_split("  \n\t\r\n", 6, &l), 0, "lines_split of whitespace");
	is_int(l.n, 0, "rule 2: whitespace-only output is zero lines");
	lines_free(&l);
	is_int(lines_split("", 0, &l), 0, "lines_split of nothing");
	is_int(l.n, 0, "rule 2: empty output is zero lines");
	lines_free(&l);
	is_int(lines_split("x \r\n\ny\t\r  \n", 11, &l), 0, "lines_split keeps going");
	is_int(l.n, 3, "three lines");
	if (l.n == 3) {
		is_str(l.v[0], "x", "rule 3: trailing space and \\r dropped");
		is_str(l.v[1], "", "an empty line stays empty");
		is_str(l.v[2], "y", "rule 3: trailing tab, \\r and spaces dropped");
	}
	lines_free(&l);
	is_int(lines_split("  lead\n", 7, &l), 0, "lines_split with leading spaces");
	is_str(l.n == 1 ? l.v[0] : NULL, "lead", "rule 1: leading spaces of the output trimmed");
	lines_free(&l);
	is_int(lines_split("a\n  b", 5, &l), 0, "lines_split with an indented line");
	is_str(l.n == 2 ? l.v[1] : NULL, "  b", "leading spaces of an inner line kept");
	lines_free(&l);
}

static void test_trailing_whitespace(void)
{
	static const char *const ab[] = { "a", "b", NULL };
	static const char *const padded[] = { "a  ", "b\t\r", NULL };
	static const char *const lead[] = { " a", NULL };

	ok(matches(ab, true, false, false, "a \t\r\nb\r\n"), "rule 3: output lines lose trailing \\r, spaces, tabs");
	ok(matches(padded, true, false, false, "a\nb"), "rule 3: expected lines get the same treatment");
	ok(!matches(lead, true, false, false, "x\n a"), "leading spaces of a line still count");
	ok(!matches(ab, true, false, false, "a\n b"), "a leading space on a line differs");
}

static void test_re_sub(void)
{
	static const char *const files[] = { "a.txt", "b.txt", NULL };
	static const char *const swapped[] = { "2-1", "4-3", NULL };
	static const char *const nums[] = { "N N", NULL };
	struct expect e;
	struct compare_result res;

	e = expect_of(files);
	set_re_sub(&e, "^\\./", "");
	ok(judge(&e, "./a.txt\n./b.txt\n", &res), "rule 4: re_sub strips ./");
	compare_result_free(&res);
	ok(judge(&e, "a.txt\nb.txt\n", &res), "rule 4: re_sub leaves non-matching lines alone");
	compare_result_free(&res);
	expect_free(&e);

	e = expect_of(swapped);
	set_re_sub(&e, "(\\d)-(\\d)", "$2-$1");
	ok(judge(&e, "1-2\n3-4", &res), "rule 4: $1 and $2 in the replacement are groups");
	compare_result_free(&res);
	expect_free(&e);

	e = expect_of(nums);
	set_re_sub(&e, "\\d+", "N");
	ok(judge(&e, "12 345", &res), "rule 4: every match on a line is replaced (global)");
	compare_result_free(&res);
	expect_free(&e);

	e = expect_of(nums);
	set_re_sub(&e, "(x)?\\d+", "N$1");
	ok(judge(&e, "1 2", &res), "rule 4: an unset group is empty");
	compare_result_free(&res);
	expect_free(&e);
}

static void test_order_false(void)
{
	static const char *const abc[] = { "c", "a", "b", NULL };
	static const char *const cases[] = { "B", "a", NULL };
	static const char *const dup[] = { "a", "a", "b", NULL };

	ok(matches(abc, false, false, false, "b\nc\na\n"), "rule 5: order false accepts any order");
	ok(!matches(abc, true, false, false, "b\nc\na\n"), "order true rejects another order");
	ok(matches(cases, false, false, false, "a\nB"), "rule 5: bytewise sort (B before a)");
	ok(matches(dup, false, false, false, "b\na\na"), "rule 5: duplicates count");
	ok(!matches(dup, false, false, false, "b\na\nb"), "rule 5: a duplicate is not any line");
}

static void test_ignore_non_matching(void)
{
	static const char *const want[] = { "x", "y", NULL };
	static const char *const none[] = { NULL };

	ok(matches(want, true, true, false, "noise\nx\nmore noise\ny\n"),
	    "rule 6: lines equal to no expected line dropped");
	ok(!matches(want, true, true, false, "noise\ny\nx\n"), "rule 6: order still counts");
	ok(matches(want, false, true, false, "y\nnoise\nx\n"), "rule 6 with order false");
	ok(!matches(want, true, true, false, "x\nnoise\n"), "rule 6: missing line still fails");
	ok(matches(none, true, true, false, "anything\nat all"), "rule 6: lines [] drops everything");
}

static void test_regex(void)
{
	static const char *const pats[] = { "[0-9]+", "h.llo", NULL };
	static const char *const overlap[] = { "a.*", "ab", NULL };
	static const char *const spaces[] = { "a ", NULL };
	static const char *const utf[] = { "..", NULL };
	static const char *const none[] = { NULL };

	ok(matches(pats, true, false, true, "123\nhello"), "rule 7: each pattern matches its line");
	ok(!matches(pats, true, false, true, "x123\nhello"), "rule 7: anchored at the start");
	ok(!matches(pats, true, false, true, "123x\nhello"), "rule 7: anchored at the end");
	ok(!matches(pats, true, false, true, "123\nhello\n45"), "rule 7: count checked with regex");
	ok(matches(pats, false, false, true, "hallo\n42"), "rule 5: regex, order false");
	ok(matches(overlap, false, false, true, "ab\nac"),
	    "rule 5: regex, order false finds the assignment greedy would miss");
	ok(!matches(overlap, false, false, true, "ac\nad"), "rule 5: each line needs its own pattern");
	ok(matches(pats, true, true, true, "noise\n7\nmore\nhullo\n"), "rule 6 with regex");
	ok(!matches(spaces, true, false, true, "a"), "regex lines keep their trailing space");
	ok(matches(utf, true, false, true, "\xc3\xa9\xc3\xa9"), "patterns work on characters (UTF-8)");
	ok(!matches(utf, true, false, true, "\xff\xfe\xfd"), "invalid UTF-8 output does not break matching");
	ok(matches(none, false, false, true, " \n"), "regex, order false, no lines: empty output matches");
	ok(matches(none, true, false, true, ""), "regex, no lines: empty output matches");
}

static void test_counts_and_messages(void)
{
	static const char *const five[] = { "1", "2", "3", "4", "5", NULL };
	static const char *const one[] = { "secret answer", NULL };
	static const char *const none[] = { NULL };
	struct expect e;
	struct compare_result res;

	e = expect_of(five);
	ok(!judge(&e, "1\n2\n3\n", &res), "count mismatch fails");
	is_int(res.n_expected, 5, "n_expected");
	is_int(res.n_got, 3, "n_got");
	is_str(res.message, "Expected 5 lines of output, got 3.", "count message");
	is_int(res.first_diff, 3, "first_diff past the shorter side");
	ok(res.got_line == NULL, "got_line NULL past the end");
	is_str(res.expected_line, "4", "expected_line at first_diff");
	compare_result_free(&res);

	ok(!judge(&e, "1\n2\nthree\n4\n5", &res), "a wrong line fails");
	is_int(res.first_diff, 2, "first_diff");
	is_str(res.expected_line, "3", "expected_line");
	is_str(res.got_line, "three", "got_line");
	is_str(res.message, "Line 3 of the output is not what was expected.", "line message");
	compare_result_free(&res);

	ok(judge(&e, "1\n2\n3\n4\n5\n", &res), "right answer matches");
	ok(res.message == NULL, "no message on a match");
	compare_result_free(&res);
	expect_free(&e);

	e = expect_of(one);
	ok(!judge(&e, "wrong", &res), "wrong single line");
	ok(res.message != NULL && strstr(res.message, "secret") == NULL,
	    "message never contains the expected line");
	compare_result_free(&res);
	ok(!judge(&e, "", &res), "empty output against one line");
	is_str(res.message, "Expected 1 line of output, got none.", "message for no output");
	compare_result_free(&res);
	e.order = false;
	ok(!judge(&e, "wrong", &res), "order false, wrong line");
	is_str(res.message, "1 expected line is missing and 1 line is extra (the order does not matter here).",
	    "order false message counts what is missing and extra");
	ok(strstr(res.message, "secret") == NULL, "order false message hides the answer");
	compare_result_free(&res);
	expect_free(&e);

	e = expect_of(none);
	ok(judge(&e, "", &res), "empty output matches lines: []");
	compare_result_free(&res);
	ok(judge(&e, " \n\n\t", &res), "whitespace output matches lines: []");
	compare_result_free(&res);
	ok(!judge(&e, "x", &res), "output against lines: [] fails");
	is_str(res.message, "Expected no output, got 1 line.", "message for unexpected output");
	compare_result_free(&res);
	expect_free(&e);
}

static void test_nul_and_errors(void)
{
	static const char *const hello[] = { "hello", NULL };
	static const char *const bad[] = { "(unclosed", NULL };
	struct expect e;
	struct compare_result res;
	char err[256];

	e = expect_of(hello);
	ok(!judge_len(&e, "hello\0junk", 10, &res), "a NUL byte does not end a line");
	compare_result_free(&res);
	ok(judge_len(&e, "\0hello", 0, &res) == false, "len 0 is empty output");
	compare_result_free(&res);
	is_int(expect_validate(&e, err, sizeof(err)), 0, "plain lines validate");
	e.regex = true;
	is_int(expect_validate(&e, err, sizeof(err)), 0, "a good pattern validates");
	expect_free(&e);

	e = expect_of(bad);
	is_int(expect_validate(&e, err, sizeof(err)), 0, "a bad pattern is fine when not regex");
	e.regex = true;
	is_int(expect_validate(&e, err, sizeof(err)), -1, "a bad pattern is rejected");
	ok(strstr(err, "Expected line 1") != NULL, "the error names the line: %s", err);
	is_int(compare_output(&e, "x", 1, &res), -1, "compare_output reports a bad pattern");
	ok(res.message != NULL, "with a message");
	compare_result_free(&res);
	expect_free(&e);

	e = expect_of(hello);
	set_re_sub(&e, "(a)(?<word>b)", "$1 ${2} ${word} $$5 $0 $*M ${*M}");
	is_int(expect_validate(&e, err, sizeof(err)), 0, "a replacement naming existing groups validates");
	expect_free(&e);
	e = expect_of(hello);
	set_re_sub(&e, "(a)", "$2");
	is_int(expect_validate(&e, err, sizeof(err)), -1, "a replacement naming a missing group is rejected");
	ok(strstr(err, "no group") != NULL, "the error says so: %s", err);
	expect_free(&e);
	e = expect_of(hello);
	set_re_sub(&e, "(a)", "${nope}");
	is_int(expect_validate(&e, err, sizeof(err)), -1, "a replacement naming a missing name is rejected");
	expect_free(&e);
	e = expect_of(hello);
	set_re_sub(&e, "(a)", "${1");
	is_int(expect_validate(&e, err, sizeof(err)), -1, "an unclosed ${ is rejected");
	expect_free(&e);
	e = expect_of(hello);
	set_re_sub(&e, "(a)", "$x");
	is_int(expect_validate(&e, err, sizeof(err)), -1, "a $ before nothing valid is rejected");
	expect_free(&e);

	e = expect_of(hello);
	set_re_sub(&e, "[", "");
	is_int(expect_validate(&e, err, sizeof(err)), -1, "a bad re_sub pattern is rejected");
	ok(strstr(err, "re_sub") != NULL, "the error names re_sub: %s", err);
	expect_free(&e);
}

/* Any order: the message counts the expected lines missing and the extra ones, never names them. */
static void test_unordered_messages(void)
{
	static const char *const abc[] = { "alpha", "bravo", "charlie", NULL };
	static const char *const pats[] = { "a.*", "b.*", "c.*", NULL };
	struct expect e = expect_of(abc);
	struct compare_result res;

	e.order = false;
	ok(!judge(&e, "charlie\nalpha\n", &res), "any order: one line short");
	is_str(res.message, "1 expected line is missing (the order does not matter here).", "one missing");
	compare_result_free(&res);
	ok(!judge(&e, "bravo\nalpha\ncharlie\ndelta\necho\n", &res), "any order: two lines too many");
	is_str(res.message, "2 lines are extra: the output has lines the challenge does not ask for "
	    "(the order does not matter here).", "two extra");
	compare_result_free(&res);
	ok(!judge(&e, "alpha\nx\ny\n", &res), "any order: same count, two wrong");
	is_str(res.message, "2 expected lines are missing and 2 lines are extra (the order does not matter here).",
	    "two missing, two extra");
	ok(strstr(res.message, "bravo") == NULL && strstr(res.message, "charlie") == NULL,
	    "the missing lines are not named");
	compare_result_free(&res);
	ok(!judge(&e, "alpha\nalpha\nbravo\ncharlie\n", &res), "any order: a duplicate counts as extra");
	is_str(res.message, "1 line is extra: the output has lines the challenge does not ask for "
	    "(the order does not matter here).", "duplicate extra");
	compare_result_free(&res);
	expect_free(&e);

	e = expect_of(pats);
	e.order = false;
	e.regex = true;
	ok(!judge(&e, "cat\nbat\ndog\n", &res), "any order, regex: one line matches no pattern");
	is_str(res.message, "1 expected line is missing and 1 line is extra (the order does not matter here).",
	    "regex: one missing, one extra");
	compare_result_free(&res);
	expect_free(&e);
}

/* "command not found" in the output: the message says so, and names the command. */
static void test_command_not_found(void)
{
	static const char *const three[] = { "1", "2", "3", NULL };
	static const char *const about[] = { "bash: line 1: foo: command not found", NULL };
	struct expect e = expect_of(three);
	struct compare_result res;

	ok(!judge(&e, "bash: line 1: sortt: command not found\n", &res), "a misspelt command fails");
	is_str(res.message, "The shell found no command named 'sortt' (bash said \"command not found\"): "
	    "check its spelling, or whether this sandbox has it.", "the message names the missing command");
	compare_result_free(&res);
	ok(!judge(&e, "1\nbash: wcc: command not found\n", &res), "in a pipeline's output too");
	ok(res.message && strstr(res.message, "'wcc'") != NULL, "names it: %s", res.message ? res.message : "");
	compare_result_free(&res);
	ok(!judge(&e, "1\n2\n", &res), "without the complaint");
	is_str(res.message, "Expected 3 lines of output, got 2.", "the count message stays");
	compare_result_free(&res);
	ok(judge(&e, "1\n2\n3\n", &res), "a right answer is not touched");
	compare_result_free(&res);
	expect_free(&e);

	e = expect_of(about);
	ok(!judge(&e, "bash: line 1: bar: command not found", &res), "a challenge expecting the complaint");
	is_str(res.message, "Line 1 of the output is not what was expected.", "is judged like any output");
	compare_result_free(&res);
	expect_free(&e);
}

int main(void)
{
	test_trim_and_split();
	test_trailing_whitespace();
	test_re_sub();
	test_order_false();
	test_ignore_non_matching();
	test_regex();
	test_counts_and_messages();
	test_unordered_messages();
	test_command_not_found();
	test_nul_and_errors();
	return tap_done();
}
