/*
 * compare.h: judge a command's output against a challenge's expected lines.
 *
 * The rules (runner/README.md, "Comparison rules") live here once and are
 * linked into the runner (inside the sandbox), cmdarena-check (to show an
 * author what differed) and the catalogue loader (to reject bad patterns).
 */
#ifndef CMDARENA_COMPARE_H
#define CMDARENA_COMPARE_H

#include <stdbool.h>
#include <stddef.h>

struct expect {
	char **lines;		/* expected lines (patterns when regex) */
	size_t n_lines;
	bool order;		/* false: compare sorted lines */
	bool ignore_non_matching;
	bool regex;
	char *re_sub_pattern;	/* NULL: no substitution */
	char *re_sub_replacement;
};

/* What the comparison found; owned by the caller, freed with compare_result_free(). */
struct compare_result {
	bool match;
	size_t n_expected;	/* lines compared on each side, after every rule */
	size_t n_got;
	size_t first_diff;	/* 0-based index of the first differing line (when counts allow) */
	char *expected_line;	/* that line on each side, or NULL past the end */
	char *got_line;
	char *message;		/* one sentence for the user, never the expected answer; NULL on match */
};

/* A list of normalised lines. */
struct lines {
	char **v;
	size_t n;
};

/*
 * Compile-check the expectation's patterns (re_sub pattern; every line when
 * regex). Returns 0, or -1 with a sentence in err (size errlen).
 */
int expect_validate(const struct expect *e, char *err, size_t errlen);

/*
 * Apply rules 1-3 (trim the whole output, split, drop trailing \r, spaces,
 * tabs) to out[0..len). Returns 0, -1 on allocation failure.
 */
int lines_split(const char *out, size_t len, struct lines *dst);
void lines_free(struct lines *l);

/*
 * Compare output with the expectation. Returns 0 and fills res (res->match),
 * or -1 on an internal error (allocation, a pattern that fails to compile)
 * with res->message saying what.
 */
int compare_output(const struct expect *e, const char *out, size_t len, struct compare_result *res);
void compare_result_free(struct compare_result *res);

void expect_free(struct expect *e);

#endif
