/*
 * compare.c: judge a command's output against a challenge's expected lines,
 * by the seven rules of runner/README.md ("Comparison rules").
 *
 * Output lines are kept with their lengths (a command may print NUL bytes);
 * expected lines and patterns come from JSON and are plain C strings.
 * Patterns are PCRE2 in UTF mode that tolerates invalid UTF-8 subjects.
 * Messages for the user never quote an expected line.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <pcre2.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/compare.h"

/* Bounds on what an author's pattern may cost against a user's line. */
#define MATCH_LIMIT	1000000
#define HEAP_LIMIT_KIB	8192
/* Unordered regex comparison builds an n x n table: keep n sane. */
#define MAX_UNORDERED_PATTERNS	4096

#define COMPILE_OPTIONS	(PCRE2_UTF | PCRE2_MATCH_INVALID_UTF)
#define SUBST_OPTIONS	(PCRE2_SUBSTITUTE_GLOBAL | PCRE2_SUBSTITUTE_OVERFLOW_LENGTH | \
			 PCRE2_SUBSTITUTE_UNSET_EMPTY)

struct bline {
	char *s;	/* NUL-terminated copy; may hold NUL bytes before len */
	size_t len;
};

struct blines {
	struct bline *v;
	size_t n;
};

/* Everything one comparison owns. */
struct judge {
	const struct expect *e;
	struct blines got, want;
	pcre2_code **pats;		/* one per expected line, when regex */
	pcre2_code *sub;		/* the re_sub pattern, or NULL */
	pcre2_match_data *md;
	pcre2_match_context *mctx;
};

static void blines_free(struct blines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].s);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static char *dup_bytes(const char *s, size_t len)
{
	char *d = malloc(len + 1);

	if (d == NULL)
		return NULL;
	if (len > 0)
		memcpy(d, s, len);
	d[len] = '\0';
	return d;
}

/* Rule 1's whitespace. */
static bool is_trim_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Rule 3: the length of s[0..len) without its trailing \r, spaces and tabs. */
static size_t rstrip_len(const char *s, size_t len)
{
	while (len > 0 && (s[len - 1] == '\r' || s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	return len;
}

/* Rules 1-3 on a whole output. */
static int split_output(const char *out, size_t len, struct blines *dst)
{
	size_t start = 0, end = len, n = 1, pos;

	dst->v = NULL;
	dst->n = 0;
	while (start < end && is_trim_space(out[start]))
		start++;
	while (end > start && is_trim_space(out[end - 1]))
		end--;
	if (start == end)
		return 0;	/* rule 2: empty output is zero lines */
	for (const char *p = out + start; (p = memchr(p, '\n', (size_t)(out + end - p))) != NULL; p++)
		n++;
	dst->v = calloc(n, sizeof(*dst->v));
	if (dst->v == NULL)
		return -1;
	pos = start;
	for (size_t i = 0; i < n; i++) {
		const char *nl = memchr(out + pos, '\n', end - pos);
		size_t l = nl ? (size_t)(nl - (out + pos)) : end - pos;
		size_t kept = rstrip_len(out + pos, l);

		dst->v[i].s = dup_bytes(out + pos, kept);
		if (dst->v[i].s == NULL) {
			blines_free(dst);
			return -1;
		}
		dst->v[i].len = kept;
		dst->n = i + 1;
		pos += l + 1;
	}
	return 0;
}

int lines_split(const char *out, size_t len, struct lines *dst)
{
	struct blines b;

	dst->v = NULL;
	dst->n = 0;
	if (split_output(out, len, &b) < 0)
		return -1;
	if (b.n == 0)
		return 0;
	dst->v = calloc(b.n, sizeof(*dst->v));
	if (dst->v == NULL) {
		blines_free(&b);
		return -1;
	}
	for (size_t i = 0; i < b.n; i++)
		dst->v[i] = b.v[i].s;	/* ownership moves to dst */
	dst->n = b.n;
	free(b.v);
	return 0;
}

void lines_free(struct lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

void expect_free(struct expect *e)
{
	for (size_t i = 0; i < e->n_lines; i++)
		free(e->lines[i]);
	free(e->lines);
	free(e->re_sub_pattern);
	free(e->re_sub_replacement);
	memset(e, 0, sizeof(*e));
}

void compare_result_free(struct compare_result *res)
{
	free(res->expected_line);
	free(res->got_line);
	free(res->message);
	memset(res, 0, sizeof(*res));
}

/* Only ever called with this file's own formats. */
__attribute__((format(printf, 2, 3)))
static void set_message(struct compare_result *res, const char *fmt, ...)
{
	va_list ap;
	char buf[512];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	free(res->message);
	res->message = strdup(buf);
}

static int out_of_memory(struct compare_result *res)
{
	set_message(res, "Out of memory while comparing the output.");
	return -1;
}

/* Compile one pattern; whole: it must match a whole line. */
static pcre2_code *compile(const char *pattern, bool whole, char *err, size_t errlen,
    const char *what)
{
	int code;
	PCRE2_SIZE offset;
	PCRE2_UCHAR msg[256];
	uint32_t options = COMPILE_OPTIONS | (whole ? PCRE2_ANCHORED | PCRE2_ENDANCHORED : 0);
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, options,
	    &code, &offset, NULL);

	if (re == NULL) {
		pcre2_get_error_message(code, msg, sizeof(msg));
		snprintf(err, errlen, "%s is not a valid pattern: %s (at offset %zu).",
		    what, (const char *)msg, (size_t)offset);
	}
	return re;
}

/* A group reference in a replacement: a number, or a name the pattern defines. */
static bool group_exists(const pcre2_code *re, const char *ref, size_t len)
{
	uint32_t groups = 0;
	char name[128];
	size_t digits = strspn(ref, "0123456789");

	pcre2_pattern_info(re, PCRE2_INFO_CAPTURECOUNT, &groups);
	if (len > 0 && digits >= len)
		return strtoul(ref, NULL, 10) <= groups && len < 10;
	if (len == 0 || len >= sizeof(name))
		return false;
	memcpy(name, ref, len);
	name[len] = '\0';
	return pcre2_substring_number_from_name(re, (PCRE2_SPTR)name) >= 0;
}

/*
 * Every $ of the replacement is $$, $N, ${N}, ${name} or $*MARK, naming
 * groups the pattern has: pcre2_substitute() would only fail on the first
 * line that matches.
 */
static int check_replacement(const pcre2_code *re, const char *rep, char *err, size_t errlen)
{
	static const char word[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_";
	const char *p = rep;

	while ((p = strchr(p, '$')) != NULL) {
		const char *ref = p + 1, *end;

		if (*ref == '$') {		/* a literal $ */
			p = ref + 1;
			continue;
		}
		if (*ref == '{') {
			end = strchr(++ref, '}');
			if (end == NULL)
				break;
			p = end + 1;
		} else if (*ref == '*') {	/* $*MARK */
			p = ref + 1 + strspn(ref + 1, word);
			continue;
		} else {
			end = ref + strspn(ref, "0123456789");
			p = end;
		}
		if (*ref == '*')		/* ${*MARK} */
			continue;
		if (!group_exists(re, ref, (size_t)(end - ref))) {
			snprintf(err, errlen, "The re_sub replacement names no group of the pattern "
			    "at offset %zu.", (size_t)(p - rep));
			return -1;
		}
	}
	if (p != NULL) {
		snprintf(err, errlen, "The re_sub replacement has an unclosed ${.");
		return -1;
	}
	return 0;
}

int expect_validate(const struct expect *e, char *err, size_t errlen)
{
	char what[64];
	pcre2_code *re;

	if (e->re_sub_pattern != NULL) {
		if (e->re_sub_replacement == NULL) {
			snprintf(err, errlen, "re_sub has a pattern but no replacement.");
			return -1;
		}
		re = compile(e->re_sub_pattern, false, err, errlen, "The re_sub pattern");
		if (re == NULL)
			return -1;
		if (check_replacement(re, e->re_sub_replacement, err, errlen) < 0) {
			pcre2_code_free(re);
			return -1;
		}
		pcre2_code_free(re);
	}
	if (!e->regex)
		return 0;
	for (size_t i = 0; i < e->n_lines; i++) {
		snprintf(what, sizeof(what), "Expected line %zu", i + 1);
		re = compile(e->lines[i], true, err, errlen, what);
		if (re == NULL)
			return -1;
		pcre2_code_free(re);
	}
	return 0;
}

static void judge_free(struct judge *j)
{
	blines_free(&j->got);
	blines_free(&j->want);
	if (j->pats != NULL)
		for (size_t i = 0; i < j->e->n_lines; i++)
			pcre2_code_free(j->pats[i]);
	free(j->pats);
	pcre2_code_free(j->sub);
	pcre2_match_data_free(j->md);
	pcre2_match_context_free(j->mctx);
}

/* The re_sub pattern, applied to every output line before comparing. */
static int prepare_re_sub(struct judge *j, struct compare_result *res)
{
	const struct expect *e = j->e;
	char err[512];

	if (e->re_sub_pattern == NULL)
		return 0;
	if (e->re_sub_replacement == NULL) {
		set_message(res, "re_sub has a pattern but no replacement.");
		return -1;
	}
	j->sub = compile(e->re_sub_pattern, false, err, sizeof(err), "The re_sub pattern");
	if (j->sub == NULL) {
		set_message(res, "%s", err);
		return -1;
	}
	return 0;
}

/* With regex, one compiled pattern per expected line. */
static int compile_line_patterns(struct judge *j, struct compare_result *res)
{
	const struct expect *e = j->e;
	char err[512], what[64];

	if (!e->regex || e->n_lines == 0)
		return 0;
	j->pats = calloc(e->n_lines, sizeof(*j->pats));
	if (j->pats == NULL)
		return out_of_memory(res);
	for (size_t i = 0; i < e->n_lines; i++) {
		snprintf(what, sizeof(what), "Expected line %zu", i + 1);
		j->pats[i] = compile(e->lines[i], true, err, sizeof(err), what);
		if (j->pats[i] == NULL) {
			set_message(res, "%s", err);
			return -1;
		}
	}
	return 0;
}

/* The expected lines as byte strings; rule 3 (trailing blanks) applies unless they are patterns. */
static int copy_expected_lines(struct judge *j, struct compare_result *res)
{
	const struct expect *e = j->e;

	if (e->n_lines == 0)
		return 0;
	j->want.v = calloc(e->n_lines, sizeof(*j->want.v));
	if (j->want.v == NULL)
		return out_of_memory(res);
	for (size_t i = 0; i < e->n_lines; i++) {
		size_t len = strlen(e->lines[i]);

		if (!e->regex)
			len = rstrip_len(e->lines[i], len);
		j->want.v[i].s = dup_bytes(e->lines[i], len);
		if (j->want.v[i].s == NULL)
			return out_of_memory(res);
		j->want.v[i].len = len;
		j->want.n = i + 1;
	}
	return 0;
}

/* Compile what the expectation needs; fills res->message on failure. */
static int judge_prepare(struct judge *j, struct compare_result *res)
{
	j->md = pcre2_match_data_create(1, NULL);
	j->mctx = pcre2_match_context_create(NULL);
	if (j->md == NULL || j->mctx == NULL)
		return out_of_memory(res);
	pcre2_set_match_limit(j->mctx, MATCH_LIMIT);
	pcre2_set_heap_limit(j->mctx, HEAP_LIMIT_KIB);
	if (prepare_re_sub(j, res) < 0 || compile_line_patterns(j, res) < 0)
		return -1;
	return copy_expected_lines(j, res);
}

/* 1 when re matches s[0..len), 0 when not (or past the limits), -1 when out of memory. */
static int re_match(const struct judge *j, const pcre2_code *re, const struct bline *l)
{
	int rc = pcre2_match(re, (PCRE2_SPTR)l->s, l->len, 0, 0, j->md, j->mctx);

	if (rc >= 0)
		return 1;
	return rc == PCRE2_ERROR_NOMEMORY ? -1 : 0;
}

/* Rule 4 on one line. Returns 0 or a (negative) PCRE2 error code. */
static int substitute(const struct judge *j, struct bline *l)
{
	PCRE2_SIZE cap = l->len * 2 + 64, outlen;

	for (int attempt = 0; attempt < 2; attempt++) {
		char *buf = malloc(cap);
		int rc;

		if (buf == NULL)
			return PCRE2_ERROR_NOMEMORY;
		outlen = cap;
		rc = pcre2_substitute(j->sub, (PCRE2_SPTR)l->s, l->len, 0, SUBST_OPTIONS, NULL,
		    j->mctx, (PCRE2_SPTR)j->e->re_sub_replacement, PCRE2_ZERO_TERMINATED,
		    (PCRE2_UCHAR *)buf, &outlen);
		if (rc >= 0) {
			free(l->s);
			l->s = buf;
			l->len = outlen;
			return 0;
		}
		free(buf);
		if (rc != PCRE2_ERROR_NOMEMORY)
			return rc;
		cap = outlen;	/* the length needed, trailing zero included */
	}
	return PCRE2_ERROR_NOMEMORY;
}

static int apply_re_sub(struct judge *j, struct compare_result *res)
{
	PCRE2_UCHAR msg[256];

	for (size_t i = 0; i < j->got.n; i++) {
		int rc = substitute(j, &j->got.v[i]);

		if (rc < 0) {
			pcre2_get_error_message(rc, msg, sizeof(msg));
			set_message(res, "The re_sub substitution failed: %s.", (const char *)msg);
			return -1;
		}
	}
	return 0;
}

/* Bytewise order: memcmp, then the shorter first. */
static int bline_cmp(const struct bline *a, const struct bline *b)
{
	size_t n = a->len < b->len ? a->len : b->len;
	int c = n > 0 ? memcmp(a->s, b->s, n) : 0;

	if (c != 0)
		return c;
	return (a->len > b->len) - (a->len < b->len);
}

static int bline_qsort_cmp(const void *a, const void *b)
{
	return bline_cmp(a, b);
}

static void blines_sort(struct blines *l)
{
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), bline_qsort_cmp);
}

/*
 * Does output line l equal an expected line (match a pattern)? 1, 0, or -1
 * when out of memory. sorted_want: the expected lines sorted (not regex).
 */
static int line_is_expected(const struct judge *j, const struct blines *sorted_want,
    const struct bline *l)
{
	if (j->e->regex) {
		for (size_t p = 0; p < j->e->n_lines; p++) {
			int m = re_match(j, j->pats[p], l);

			if (m != 0)
				return m;
		}
		return 0;
	}
	return sorted_want->n > 0 &&
	    bsearch(l, sorted_want->v, sorted_want->n, sizeof(*l), bline_qsort_cmp) != NULL;
}

/* Rule 6: drop output lines that no expected line accounts for. */
static int drop_non_matching(struct judge *j, struct compare_result *res)
{
	struct blines sorted = { NULL, 0 };
	size_t kept = 0;
	int rc = 0;

	if (!j->e->regex && j->want.n > 0) {
		sorted.v = malloc(j->want.n * sizeof(*sorted.v));
		if (sorted.v == NULL)
			goto nomem;
		memcpy(sorted.v, j->want.v, j->want.n * sizeof(*sorted.v));
		sorted.n = j->want.n;
		blines_sort(&sorted);	/* shares the strings: free only the array */
	}
	for (size_t i = 0; i < j->got.n; i++) {
		int m = line_is_expected(j, &sorted, &j->got.v[i]);

		if (m < 0)
			goto nomem;
		if (m)
			j->got.v[kept++] = j->got.v[i];
		else
			free(j->got.v[i].s);
	}
	j->got.n = kept;
	goto out;
nomem:
	set_message(res, "Out of memory while comparing the output.");
	rc = -1;
out:
	free(sorted.v);
	return rc;
}

/* Do got line i and expected line k agree (equal, or matching pattern k)? */
static int lines_agree(const struct judge *j, size_t i, size_t k)
{
	if (j->e->regex)
		return re_match(j, j->pats[k], &j->got.v[i]);
	return bline_cmp(&j->got.v[i], &j->want.v[k]) == 0;
}

/* Record the first difference: got line gi and expected line wi (either may be past the end). */
static int note_diff(const struct judge *j, struct compare_result *res, size_t at, size_t gi,
    size_t wi)
{
	res->first_diff = at;
	if (gi < j->got.n) {
		res->got_line = dup_bytes(j->got.v[gi].s, j->got.v[gi].len);
		if (res->got_line == NULL)
			return -1;
	}
	if (wi < j->want.n) {
		res->expected_line = dup_bytes(j->want.v[wi].s, j->want.v[wi].len);
		if (res->expected_line == NULL)
			return -1;
	}
	return 0;
}

/* Kuhn's augmenting path for output line u over the agreement table adj. */
static bool augment(size_t u, size_t n, const unsigned char *adj, size_t *line_of_pat,
    unsigned char *seen)
{
	for (size_t p = 0; p < n; p++) {
		if (!adj[u * n + p] || seen[p])
			continue;
		seen[p] = 1;
		if (line_of_pat[p] == SIZE_MAX || augment(line_of_pat[p], n, adj, line_of_pat, seen)) {
			line_of_pat[p] = u;
			return true;
		}
	}
	return false;
}

/* adj[i * n + p]: does output line i match pattern p? Returns 0, or -1 (res->message may say why). */
static int agreement_table(const struct judge *j, size_t n, unsigned char *adj)
{
	for (size_t i = 0; i < n; i++)
		for (size_t p = 0; p < n; p++) {
			int m = re_match(j, j->pats[p], &j->got.v[i]);

			if (m < 0)
				return -1;
			adj[i * n + p] = (unsigned char)m;
		}
	return 0;
}

/*
 * Match every output line to a pattern of its own (line_of_pat[p]: the line pattern p took).
 * Counts the lines left without one in *unmatched; returns the first of them, or SIZE_MAX.
 */
static size_t assign_lines(size_t n, const unsigned char *adj, size_t *line_of_pat, unsigned char *seen,
    size_t *unmatched)
{
	size_t first = SIZE_MAX;

	for (size_t p = 0; p < n; p++)
		line_of_pat[p] = SIZE_MAX;
	for (size_t i = 0; i < n; i++) {
		memset(seen, 0, n);
		if (!augment(i, n, adj, line_of_pat, seen)) {
			(*unmatched)++;
			if (first == SIZE_MAX)
				first = i;
		}
	}
	return first;
}

static size_t first_free_pattern(size_t n, const size_t *line_of_pat)
{
	for (size_t p = 0; p < n; p++)
		if (line_of_pat[p] == SIZE_MAX)
			return p;
	return SIZE_MAX;
}

/*
 * Rule 5 with regex: each output line must match a different pattern (a
 * perfect matching; greedy assignment would fail on overlapping patterns).
 * Counts are equal here. Returns 1 on a match, 0 with the diff noted, -1.
 */
static int match_unordered(const struct judge *j, struct compare_result *res, size_t *unmatched)
{
	size_t n = j->got.n, unmatched_line;
	unsigned char *adj = NULL, *seen = NULL;
	size_t *line_of_pat = NULL;
	int rc = -1;

	if (n == 0)
		return 1;
	if (n > MAX_UNORDERED_PATTERNS) {
		set_message(res, "Too many lines for an unordered regex comparison.");
		return -1;
	}
	adj = calloc(n * n, 1);
	seen = calloc(n, 1);
	line_of_pat = malloc(n * sizeof(*line_of_pat));
	if (adj != NULL && seen != NULL && line_of_pat != NULL && agreement_table(j, n, adj) == 0) {
		unmatched_line = assign_lines(n, adj, line_of_pat, seen, unmatched);
		if (unmatched_line == SIZE_MAX)
			rc = 1;
		else if (note_diff(j, res, unmatched_line, unmatched_line, first_free_pattern(n, line_of_pat)) == 0)
			rc = 0;
	}
	if (rc < 0 && res->message == NULL)
		out_of_memory(res);
	free(adj);
	free(seen);
	free(line_of_pat);
	return rc;
}

/* Rule 7, line by line: 1 when all agree, 0 with the diff noted, -1. */
static int match_ordered(const struct judge *j, struct compare_result *res)
{
	size_t n = j->got.n < j->want.n ? j->got.n : j->want.n;

	for (size_t i = 0; i < n; i++) {
		int m = lines_agree(j, i, i);

		if (m < 0)
			return -1;
		if (!m)
			return note_diff(j, res, i, i, i) < 0 ? -1 : 0;
	}
	if (j->got.n == j->want.n)
		return 1;
	return note_diff(j, res, n, n, n) < 0 ? -1 : 0;
}

static const char *plural(size_t n)
{
	return n == 1 ? "" : "s";
}

/*
 * Rule 6 without regex, both sides sorted: how many expected lines have no
 * equal in the output (missing) and how many output lines have none among the
 * expected (extra), each line counted as often as it occurs.
 */
static void count_unmatched(const struct judge *j, size_t *missing, size_t *extra)
{
	size_t g = 0, w = 0;

	*missing = *extra = 0;
	while (g < j->got.n && w < j->want.n) {
		int d = bline_cmp(&j->got.v[g], &j->want.v[w]);

		if (d == 0)
			g++, w++;
		else if (d < 0)
			g++, (*extra)++;
		else
			w++, (*missing)++;
	}
	*extra += j->got.n - g;
	*missing += j->want.n - w;
}

/* Any order: say how many lines are missing and how many are extra, never which. */
static void unordered_message(struct compare_result *res, size_t missing, size_t extra)
{
	if (missing && extra)
		set_message(res, "%zu expected line%s %s missing and %zu line%s %s extra (the order does not matter here).",
		    missing, plural(missing), missing == 1 ? "is" : "are", extra, plural(extra),
		    extra == 1 ? "is" : "are");
	else if (missing)
		set_message(res, "%zu expected line%s %s missing (the order does not matter here).", missing,
		    plural(missing), missing == 1 ? "is" : "are");
	else
		set_message(res, "%zu line%s %s extra: the output has lines the challenge does not ask for "
		    "(the order does not matter here).", extra, plural(extra), extra == 1 ? "is" : "are");
}

static void count_message(const struct judge *j, struct compare_result *res)
{
	size_t want = j->want.n, got = j->got.n;
	const char *matching = j->e->ignore_non_matching ? "matching " : "";

	if (want == 0)
		set_message(res, "Expected no output, got %zu line%s.", got, plural(got));
	else if (got == 0)
		set_message(res, "Expected %zu %sline%s of output, got none.", want, matching,
		    plural(want));
	else
		set_message(res, "Expected %zu %sline%s of output, got %zu.", want, matching,
		    plural(want), got);
}

/* Rules 5-7 once the lines are ready. */
static int judge_lines(struct judge *j, struct compare_result *res)
{
	const struct expect *e = j->e;
	size_t unmatched = 0, missing, extra;
	int m;

	res->n_expected = j->want.n;
	res->n_got = j->got.n;
	if (!e->order && !e->regex) {
		blines_sort(&j->got);
		blines_sort(&j->want);
	}
	if (!e->order && e->regex && j->got.n == j->want.n)
		m = match_unordered(j, res, &unmatched);
	else
		m = match_ordered(j, res);
	if (m < 0) {
		if (res->message == NULL)
			out_of_memory(res);
		return -1;
	}
	res->match = m == 1;
	if (res->match) {
		res->first_diff = j->got.n;
		return 0;
	}
	if (!e->order && !e->regex && j->want.n > 0 && j->got.n > 0) {
		count_unmatched(j, &missing, &extra);
		unordered_message(res, missing, extra);
	} else if (!e->order && e->regex && j->got.n == j->want.n && unmatched > 0)
		unordered_message(res, unmatched, unmatched);
	else if (j->got.n != j->want.n)
		count_message(j, res);
	else if (e->order && !e->ignore_non_matching)
		set_message(res, "Line %zu of the output is not what was expected.",
		    res->first_diff + 1);
	else
		set_message(res, "The output does not match.");
	return 0;
}

/*
 * Bash's "NAME: command not found" in the raw output: copy NAME (printable
 * bytes, at most namelen-1) and return true. Only when no expected line says
 * it too: a challenge about that message judges it like any output.
 */
static bool command_not_found(const struct expect *e, const char *out, size_t len, char *name, size_t namelen)
{
	static const char tail[] = ": command not found";
	const size_t tl = sizeof(tail) - 1;
	const char *hit = NULL, *start;
	size_t n = 0;

	for (size_t i = 0; i < e->n_lines; i++)
		if (strstr(e->lines[i], "command not found"))
			return false;
	for (size_t i = 0; i + tl <= len; i++)
		if (memcmp(out + i, tail, tl) == 0) {
			hit = out + i;
			break;
		}
	if (hit == NULL)
		return false;
	/* bash: line 1: NAME: command not found -- NAME starts after the previous ": " on that line. */
	for (start = hit; start > out && start[-1] != '\n'; start--)
		if (start - out >= 2 && start[-1] == ' ' && start[-2] == ':')
			break;
	while (start + n < hit && n + 1 < namelen) {
		unsigned char c = (unsigned char)start[n];

		name[n] = c >= 0x20 && c < 0x7f ? (char)c : '?';
		n++;
	}
	name[n] = '\0';
	return n > 0;
}

int compare_output(const struct expect *e, const char *out, size_t len, struct compare_result *res)
{
	struct judge j;
	int rc = -1;

	memset(res, 0, sizeof(*res));
	memset(&j, 0, sizeof(j));
	j.e = e;
	if (judge_prepare(&j, res) < 0)
		goto out;
	if (split_output(out, len, &j.got) < 0) {
		out_of_memory(res);
		goto out;
	}
	if (j.sub != NULL && apply_re_sub(&j, res) < 0)
		goto out;
	if (e->ignore_non_matching && drop_non_matching(&j, res) < 0)
		goto out;
	rc = judge_lines(&j, res);
	if (rc == 0 && !res->match) {
		char name[48];

		/* The shell's own complaint explains the output better than a line count. */
		if (command_not_found(e, out, len, name, sizeof(name)))
			set_message(res, "The shell found no command named '%s' (bash said \"command not found\"): "
			    "check its spelling, or whether this sandbox has it.", name);
	}
out:
	judge_free(&j);
	return rc;
}
