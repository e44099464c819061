/*
 * utf8.c: validation, sanitizing and clipping of UTF-8.
 */
#include <stdlib.h>
#include <string.h>

#include "lib/utf8.h"
#include "tap.h"

/* Sanitize s[0..len) and compare with want (wantlen bytes). */
static void sanitized(const char *s, size_t len, const char *want, size_t wantlen, const char *what)
{
	size_t outlen = 0;
	char *out = utf8_sanitize(s, len, &outlen);

	ok(out != NULL && outlen == wantlen && memcmp(out, want, wantlen) == 0 && out[outlen] == '\0',
	    "sanitize: %s", what);
	if (out != NULL && utf8_valid(out, outlen) == false)
		diag("sanitized output is not valid UTF-8");
	free(out);
}

#define S(lit) lit, sizeof(lit) - 1

static void test_valid(void)
{
	ok(utf8_valid(S("")), "empty is valid");
	ok(utf8_valid(S("hello")), "ASCII is valid");
	ok(utf8_valid(S("\xc3\xa9t\xc3\xa9")), "2-byte characters");
	ok(utf8_valid(S("\xe2\x82\xac")), "3-byte character (euro sign)");
	ok(utf8_valid(S("\xf0\x9f\x98\x80")), "4-byte character (emoji)");
	ok(utf8_valid(S("\xf4\x8f\xbf\xbf")), "U+10FFFF is the last valid code point");
	ok(utf8_valid(S("\xef\xbf\xbd")), "U+FFFD itself");
	ok(utf8_valid(S("a\0b")), "a NUL byte is valid UTF-8");
	ok(!utf8_valid(S("\xff")), "0xFF is invalid");
	ok(!utf8_valid(S("\x80")), "a lone continuation byte is invalid");
	ok(!utf8_valid(S("\xc0\xaf")), "overlong 2-byte form of '/' is invalid");
	ok(!utf8_valid(S("\xc1\xbf")), "C1 lead byte is invalid");
	ok(!utf8_valid(S("\xe0\x80\xaf")), "overlong 3-byte form is invalid");
	ok(!utf8_valid(S("\xf0\x80\x80\xaf")), "overlong 4-byte form is invalid");
	ok(!utf8_valid(S("\xed\xa0\x80")), "surrogate U+D800 is invalid");
	ok(!utf8_valid(S("\xed\xbf\xbf")), "surrogate U+DFFF is invalid");
	ok(utf8_valid(S("\xed\x9f\xbf")), "U+D7FF, just below the surrogates, is valid");
	ok(!utf8_valid(S("\xf4\x90\x80\x80")), "U+110000 is invalid");
	ok(!utf8_valid(S("\xf5\x80\x80\x80")), "F5 lead byte is invalid");
	ok(!utf8_valid(S("\xc3")), "truncated 2-byte sequence at the end");
	ok(!utf8_valid(S("\xe2\x82")), "truncated 3-byte sequence at the end");
	ok(!utf8_valid(S("\xf0\x9f\x98")), "truncated 4-byte sequence at the end");
	ok(!utf8_valid(S("\xe2\x28\xa1")), "bad continuation byte");
	ok(!utf8_valid("\xc3\xa9", 1), "len cuts a sequence: invalid");
}

static void test_sanitize(void)
{
	sanitized(S("hello"), S("hello"), "ASCII unchanged");
	sanitized(S("\xf0\x9f\x98\x80!"), S("\xf0\x9f\x98\x80!"), "4-byte character kept");
	sanitized(S("\xff\xfe"), S("\xef\xbf\xbd\xef\xbf\xbd"), "each invalid byte becomes U+FFFD");
	sanitized(S("a\xc0\xafz"), S("a\xef\xbf\xbd\xef\xbf\xbdz"), "overlong: both bytes replaced");
	sanitized(S("\xed\xa0\x80"), S("\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"), "surrogate replaced");
	sanitized(S("ok\xe2\x82"), S("ok\xef\xbf\xbd\xef\xbf\xbd"), "truncated sequence at the end replaced");
	sanitized(S("\xe2\x82\xe2\x82\xac"), S("\xef\xbf\xbd\xef\xbf\xbd\xe2\x82\xac"),
	    "a truncated sequence before a good one: the good one kept");
	sanitized(S("a\0b"), S("a\0b"), "NUL bytes kept");
	sanitized(S(""), S(""), "empty input");
}

static void test_clip(void)
{
	const char euro[] = "ab\xe2\x82\xac";	/* 5 bytes */
	const char emoji[] = "\xf0\x9f\x98\x80\xf0\x9f\x98\x80";	/* 8 bytes */

	is_int(utf8_clip(euro, 5, 10), 5, "max past the end: whole length");
	is_int(utf8_clip(euro, 5, 5), 5, "max at the end: whole length");
	is_int(utf8_clip(euro, 5, 2), 2, "cut between characters kept");
	is_int(utf8_clip(euro, 5, 3), 2, "cut after the first byte of a 3-byte char backs off");
	is_int(utf8_clip(euro, 5, 4), 2, "cut after the second byte backs off");
	is_int(utf8_clip(emoji, 8, 7), 4, "cut inside the second 4-byte char backs off to 4");
	is_int(utf8_clip(emoji, 8, 4), 4, "cut at a boundary kept");
	is_int(utf8_clip(emoji, 8, 1), 0, "cut inside the first char gives 0");
	is_int(utf8_clip("\xff\xff\xff", 3, 2), 2, "invalid bytes can be cut anywhere");
	is_int(utf8_clip("a\x80\x80\x80", 4, 3), 3, "stray continuation bytes can be cut anywhere");
	is_int(utf8_clip("", 0, 0), 0, "empty");
}

static void test_trim_partial(void)
{
	is_int(utf8_trim_partial("abcd\xc3", 5), 4, "a lone 2-byte lead at the end is dropped");
	is_int(utf8_trim_partial("ab\xe2\x82", 4), 2, "two bytes of a 3-byte char are dropped");
	is_int(utf8_trim_partial("a\xf0\x9f\x98", 4), 1, "three bytes of a 4-byte char are dropped");
	is_int(utf8_trim_partial("ab\xe2\x82\xac", 5), 5, "a whole char at the end is kept");
	is_int(utf8_trim_partial("ab\xe0\x80", 4), 4, "an invalid start (overlong) is left for U+FFFD");
	is_int(utf8_trim_partial("ab\xed\xa0", 4), 4, "a surrogate start is left for U+FFFD");
	is_int(utf8_trim_partial("ab\xff", 3), 3, "an invalid byte is left for U+FFFD");
	is_int(utf8_trim_partial("ab\x80\x80\x80", 5), 5, "stray continuation bytes are left");
	is_int(utf8_trim_partial("abc", 3), 3, "ASCII untouched");
	is_int(utf8_trim_partial("", 0), 0, "empty");
}

int main(void)
{
	test_valid();
	test_sanitize();
	test_clip();
	test_trim_partial();
	return tap_done();
}
