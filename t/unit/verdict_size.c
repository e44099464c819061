/* verdict_size.c: a reply is bounded by its escaped size, whatever the output holds. */
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "worker/verdict_size.h"

static struct verdict make(char fill, size_t n)
{
	struct verdict v;

	memset(&v, 0, sizeof(v));
	v.output = malloc(n + 1);
	memset(v.output, fill, n);
	v.output[n] = '\0';
	v.output_len = n;
	v.message = strdup("The output does not match.");
	v.exit_code = 0;
	return v;
}

int main(void)
{
	struct verdict v;
	size_t len;
	char *body;

	is_int(json_escaped_len("ab", 2), 2, "plain bytes: one each");
	is_int(json_escaped_len("\x01", 1), 6, "a control byte: \\u0001, six");
	is_int(json_escaped_len("\n\"\\", 3), 6, "newline, quote, backslash: two each");
	is_int(json_escaped_len("/", 1), 1, "a slash is not escaped");
	is_int(escaped_prefix("\x01\x01\x01", 3, 13), 2, "two control bytes fit in 13");
	is_int(escaped_prefix("a\xc3\xa9", 3, 2), 1, "never half a UTF-8 character");
	is_int(escaped_prefix("abc", 3, 100), 3, "everything when it fits");

	/* head -c 65536 /dev/zero | tr '\0' '\1': 64 KiB that escape to 384 KiB. */
	v = make('\x01', 65536);
	body = verdict_reply_bounded("hello_world", 1, &v, VERDICT_REPLY_MAX, &len);
	ok(body != NULL, "a control-byte flood gives a reply");
	ok(len <= VERDICT_REPLY_MAX, "of at most 96 KiB (%zu bytes)", len);
	ok(len > VERDICT_REPLY_MAX - 64, "and not much less (%zu bytes)", len);
	is_int(strlen(body), len, "the length is right");
	ok(v.truncated, "flagged truncated");
	ok(strstr(body, "\"truncated\":true") != NULL, "the reply says truncated");
	free(body);
	verdict_free(&v);

	v = make('x', 65536);
	body = verdict_reply_bounded("hello_world", 1, &v, VERDICT_REPLY_MAX, &len);
	ok(body != NULL && len < VERDICT_REPLY_MAX, "64 KiB of plain text fits as it is");
	ok(!v.truncated, "and is not flagged");
	is_int(v.output_len, 65536, "nothing cut");
	free(body);
	verdict_free(&v);

	v = make('"', 60000);
	body = verdict_reply_bounded("hello_world", 1, &v, 1000, &len);
	ok(body != NULL && len <= 1000, "quotes under a small bound: %zu bytes", len);
	free(body);
	verdict_free(&v);
	return tap_done();
}
