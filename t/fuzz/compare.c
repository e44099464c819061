/*
 * t/fuzz/compare.c: libFuzzer target for the output comparison (fcgi/lib/compare.c).
 *
 * Input layout: one flag byte (bit 0 order, 1 ignore_non_matching, 2 regex,
 * 3 re_sub), then the expected lines ('\n'-separated) up to the first NUL,
 * then, with bit 3, the re_sub pattern and replacement each up to a NUL, and
 * the rest is the command's output (any bytes, NULs included).
 *
 * Checked besides memory safety: a verdict says why exactly when it is not a
 * match; and the expected lines printed back (when plain and no pattern is
 * involved) always match, in any order mode.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/compare.h"

#define MAX_LINES 64

#define PROMISE(cond) do { if (!(cond)) abort(); } while (0)

/* The next NUL-terminated piece of [*p, end): a malloc'd copy, *p moved past it. */
static char *take_piece(const uint8_t **p, const uint8_t *end)
{
	const uint8_t *nul = memchr(*p, '\0', (size_t)(end - *p));
	size_t len = nul ? (size_t)(nul - *p) : (size_t)(end - *p);
	char *s = malloc(len + 1);

	if (s == NULL)
		abort();
	memcpy(s, *p, len);
	s[len] = '\0';
	*p += nul ? len + 1 : len;
	return s;
}

static bool plain_line(const char *s)
{
	size_t n = strlen(s);

	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\r' || s[i] == '\v' || s[i] == '\f')
			return false;
	return !(s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' || s[n - 1] == '\t');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data + 1, *end = data + size;
	struct expect e;
	struct compare_result res;
	struct lines split;
	char *lines_blob, *save = NULL, *tok, *joined;
	bool all_plain = true;
	size_t joined_len = 0;
	int rc;

	if (size < 1)
		return 0;
	memset(&e, 0, sizeof(e));
	e.order = data[0] & 1;
	e.ignore_non_matching = data[0] & 2;
	e.regex = data[0] & 4;
	lines_blob = take_piece(&p, end);
	if (data[0] & 8) {
		e.re_sub_pattern = take_piece(&p, end);
		e.re_sub_replacement = take_piece(&p, end);
	}
	e.lines = calloc(MAX_LINES, sizeof(char *));
	if (e.lines == NULL)
		abort();
	for (tok = strtok_r(lines_blob, "\n", &save); tok && e.n_lines < MAX_LINES; tok = strtok_r(NULL, "\n", &save)) {
		e.lines[e.n_lines++] = strdup(tok);
		all_plain = all_plain && plain_line(tok);
	}
	free(lines_blob);

	/* Rules 1-3 alone. */
	if (lines_split((const char *)p, (size_t)(end - p), &split) == 0)
		lines_free(&split);

	/* The author's side first, as the catalogue loader does; then a user's output. */
	{
		char err[256];

		(void)expect_validate(&e, err, sizeof(err));
	}
	rc = compare_output(&e, (const char *)p, (size_t)(end - p), &res);
	if (rc == 0)
		PROMISE(res.match ? res.message == NULL : res.message != NULL);
	else
		PROMISE(res.message != NULL);
	compare_result_free(&res);

	/* The expected lines printed back are correct, whatever the order rules. */
	if (all_plain && !e.regex && e.re_sub_pattern == NULL && e.n_lines > 0) {
		for (size_t i = 0; i < e.n_lines; i++)
			joined_len += strlen(e.lines[i]) + 1;
		joined = malloc(joined_len + 1);
		if (joined == NULL)
			abort();
		joined[0] = '\0';
		for (size_t i = e.n_lines; i-- > 0;) {
			/* Reversed: with order true only identical lines may pass, so reverse only when unordered. */
			size_t k = e.order ? e.n_lines - 1 - i : i;

			strcat(joined, e.lines[k]);
			strcat(joined, "\n");
		}
		PROMISE(compare_output(&e, joined, strlen(joined), &res) == 0);
		PROMISE(res.match);
		compare_result_free(&res);
		free(joined);
	}
	expect_free(&e);
	return 0;
}
