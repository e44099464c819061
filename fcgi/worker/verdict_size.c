/*
 * verdict_size.c: cut a verdict's output by its escaped size (see verdict_size.h).
 */
#include <stdlib.h>

#include "worker/verdict_size.h"

static size_t escaped_char_len(unsigned char c)
{
	switch (c) {
	case '"': case '\\': case '\b': case '\n': case '\r': case '\t': case '\f':
		return 2;
	default:
		return c < 0x20 ? 6 : 1;
	}
}

size_t json_escaped_len(const char *s, size_t n)
{
	size_t total = 0;

	for (size_t i = 0; i < n; i++)
		total += escaped_char_len((unsigned char)s[i]);
	return total;
}

size_t escaped_prefix(const char *s, size_t n, size_t budget)
{
	size_t i = 0, used = 0;

	while (i < n) {
		size_t c = escaped_char_len((unsigned char)s[i]);

		if (used + c > budget)
			break;
		used += c;
		i++;
	}
	/* Never end inside a multi-byte character. */
	if (i < n)
		while (i > 0 && ((unsigned char)s[i] & 0xc0) == 0x80)
			i--;
	return i;
}

char *verdict_reply_bounded(const char *slug, int ver, struct verdict *v, size_t max, size_t *len)
{
	/* Each pass cuts by the exact overshoot; a second one only if the escaping guess was off. */
	for (int pass = 0; pass < 4; pass++) {
		size_t blen, esc, fixed, keep;
		char *body = verdict_reply_json(slug, ver, v, &blen);

		if (body == NULL || blen <= max)
			return *len = body ? blen : 0, body;
		free(body);
		esc = json_escaped_len(v->output, v->output_len);
		/* What the reply takes besides the output ("truncated":true is shorter than false). */
		fixed = blen - esc;
		if (fixed >= max || v->output_len == 0)
			return NULL;
		keep = escaped_prefix(v->output, v->output_len, max - fixed - (size_t)pass * 8);
		v->output_len = keep;
		v->output[keep] = '\0';
		v->truncated = true;
	}
	return NULL;
}
