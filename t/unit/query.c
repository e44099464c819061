/* query.c: every validation rule of the query-string parser. */
#include <string.h>

#include "tap.h"
#include "worker/query.h"

static const char *const allowed[] = { "slug", "ver", "cmd", NULL };

static int parse(const char *qs, struct query *q, struct query_error *e)
{
	return query_parse(qs, strlen(qs), 8192, allowed, q, e);
}

static void rejects(const char *qs, int status, const char *code, const char *label)
{
	struct query q;
	struct query_error e = { 0, NULL, "" };
	int rc = parse(qs, &q, &e);

	is_int(rc, -1, "%s is rejected", label);
	is_int(e.status, status, "%s: status", label);
	is_str(e.code, code, "%s: code", label);
	query_free(&q);
}

int main(void)
{
	struct query q;
	struct query_error e;
	size_t len;
	const char *v;
	int ver;

	is_int(parse("slug=hello_world&ver=1&cmd=echo%20hello+world", &q, &e), 0, "a plain query parses");
	is_str(query_get(&q, "slug", NULL), "hello_world", "slug");
	is_str(query_get(&q, "cmd", &len), "echo hello world", "%%20 and + both decode to a space");
	is_int(len, 16, "cmd length");
	ok(query_get(&q, "nope", NULL) == NULL, "an absent name gives NULL");
	query_free(&q);

	is_int(parse("cmd=a%00b", &q, &e), 0, "a NUL byte decodes");
	v = query_get(&q, "cmd", &len);
	is_int(len, 3, "the decoded length counts the NUL");
	ok(v && v[1] == '\0', "the NUL is in the value");
	is_int(query_check_cmd(v, len, 1024, &e), -1, "query_check_cmd refuses the NUL");
	is_str(e.code, "nul_byte", "code nul_byte");
	query_free(&q);

	is_int(parse("&&slug=a&", &q, &e), 0, "empty segments are skipped");
	query_free(&q);
	is_int(parse("", &q, &e), 0, "an empty query parses");
	is_int(query_require(&q, "cmd", &e), -1, "but cmd is then missing");
	is_str(e.code, "missing_parameter", "code missing_parameter");
	query_free(&q);
	is_int(parse("cmd", &q, &e), 0, "a name without = parses");
	is_int(query_require(&q, "cmd", &e), -1, "and counts as empty");
	query_free(&q);

	rejects("cmd=%zz", 400, "invalid_encoding", "%%zz");
	rejects("cmd=%4", 400, "invalid_encoding", "a truncated escape");
	rejects("cmd=abc%", 400, "invalid_encoding", "a trailing %%");
	rejects("cm%zz=1", 400, "invalid_encoding", "a bad escape in a name");
	rejects("cmd=1&cmd=2", 400, "repeated_parameter", "a repeated parameter");
	rejects("cm%64=1&cmd=2", 400, "repeated_parameter", "a repeat hidden by encoding");
	rejects("foo=1", 400, "unknown_parameter", "an unknown parameter");
	{
		char big[9000];

		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		memcpy(big, "cmd=", 4);
		rejects(big, 414, "query_too_long", "a query over the limit");
	}

	is_int(query_check_slug("hello_world", 11, &e), 0, "a word slug");
	is_int(query_check_slug("../etc", 6, &e), -1, "a slug with a path");
	is_str(e.code, "invalid_slug", "code invalid_slug");
	is_int(query_check_slug("a-b", 3, &e), -1, "a slug with a dash");
	is_int(query_check_slug("", 0, &e), -1, "an empty slug");

	is_int(query_parse_ver("1", 1, &ver, &e), 0, "ver 1");
	is_int(ver, 1, "is 1");
	is_int(query_parse_ver("999999999", 9, &ver, &e), 0, "ver of 9 digits");
	is_int(query_parse_ver("1e3", 3, &ver, &e), -1, "ver 1e3");
	is_str(e.code, "invalid_version", "code invalid_version");
	is_int(query_parse_ver("-1", 2, &ver, &e), -1, "ver -1");
	is_int(query_parse_ver("99999999999999999999", 20, &ver, &e), -1, "ver of 20 digits");
	is_int(query_parse_ver(" 1", 2, &ver, &e), -1, "ver with a space");

	is_int(query_check_cmd("ls\n\tpwd\r", 8, 1024, &e), 0, "tab, newline and CR are allowed");
	is_int(query_check_cmd("a\x1b[31m", 6, 1024, &e), -1, "ESC is refused");
	is_str(e.code, "control_byte", "code control_byte");
	is_int(query_check_cmd("a\x7f", 2, 1024, &e), -1, "DEL is refused");
	is_int(query_check_cmd("12345", 5, 5, &e), 0, "exactly the limit is fine");
	is_int(query_check_cmd("123456", 6, 5, &e), -1, "one byte over is not");
	is_int(e.status, 414, "414 for a long command");
	is_int(query_check_cmd("\xff\xfe", 2, 5, &e), 0, "invalid UTF-8 bytes go to bash as they are");
	return tap_done();
}
