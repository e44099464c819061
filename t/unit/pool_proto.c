/* pool/proto.c: the pool protocol's messages, encoded, decoded, and refused when malformed. */
#include <string.h>

#include "pool/proto.h"
#include "tap.h"

static int decodes(const char *s, struct pool_msg *m)
{
	return pool_msg_decode(s, strlen(s), m) == 0;
}

static void refused(const char *s, const char *why)
{
	struct pool_msg m;

	is_int(pool_msg_decode(s, strlen(s), &m), -1, "refused: %s", why);
}

/* Encode m, check the text, decode it back and compare. */
static void round_trip(const struct pool_msg *m, const char *want)
{
	char buf[POOL_MSG_MAX + 1];
	struct pool_msg back;
	int n = pool_msg_encode(m, buf, sizeof(buf));

	is_int(n, (long)strlen(want), "%c: encoded length", (char)m->type);
	is_str(n >= 0 ? buf : NULL, want, "%c: encoded text", (char)m->type);
	ok(n >= 0 && pool_msg_decode(buf, (size_t)n, &back) == 0 && back.type == m->type && back.seq == m->seq &&
	    back.variant == m->variant && back.engine == m->engine && strcmp(back.id, m->id) == 0 &&
	    strcmp(back.code, m->code) == 0 && strcmp(back.text, m->text) == 0,
	    "%c: decodes to the same", (char)m->type);
}

int main(void)
{
	struct pool_msg m;
	char buf[POOL_MSG_MAX + 1], big[POOL_MSG_MAX + 8];

	round_trip(&(struct pool_msg){ .type = POOL_MSG_TAKE, .seq = 18446744073709551615UL, .variant = 1 },
	    "T 18446744073709551615 1");
	round_trip(&(struct pool_msg){ .type = POOL_MSG_DONE, .engine = 2, .id = "3f9a0c" }, "D 2 3f9a0c");
	round_trip(&(struct pool_msg){ .type = POOL_MSG_FAILED, .engine = 0, .id = "abc" }, "F 0 abc");
	round_trip(&(struct pool_msg){ .type = POOL_MSG_CONTAINER, .seq = 7, .engine = 1, .id = "deadbeef" },
	    "C 7 1 deadbeef");
	round_trip(&(struct pool_msg){ .type = POOL_MSG_ERROR, .seq = 8, .code = "sandbox_busy",
	    .text = "No sandbox container became free in time." },
	    "E 8 sandbox_busy No sandbox container became free in time.");
	round_trip(&(struct pool_msg){ .type = POOL_MSG_ERROR, .seq = 9, .code = "engine_unavailable" },
	    "E 9 engine_unavailable ");
	round_trip(&(struct pool_msg){ .type = POOL_MSG_RECONNECT, .seq = 10 }, "R 10");

	ok(decodes("E 3 sandbox_failing", &m) && m.text[0] == '\0', "E without a sentence: an empty one");
	ok(decodes("E 3 x  two  spaces ", &m) && strcmp(m.text, " two  spaces ") == 0,
	    "the sentence is kept as sent");

	memcpy(buf, "D 0 ", 4);
	memset(buf + 4, 'f', DOCKER_ID_MAX);
	buf[4 + DOCKER_ID_MAX] = '\0';
	ok(decodes(buf, &m) && strlen(m.id) == DOCKER_ID_MAX, "an id of DOCKER_ID_MAX characters");
	strcat(buf, "f");
	refused(buf, "an id longer than DOCKER_ID_MAX");

	refused("", "empty");
	refused("T", "no fields");
	refused("T 1", "a field missing");
	refused("T 1 2", "variant out of range");
	refused("T -1 0", "a sign");
	refused("T +1 0", "a plus sign");
	refused("T 01 0", "a leading zero");
	refused("T 1  0", "two spaces");
	refused("T 1 0 ", "a trailing space");
	refused("T 1 0 x", "a trailing field");
	refused("T 18446744073709551616 0", "seq past unsigned long");
	refused("D 2147483648 abc", "engine past int");
	refused("D 0 ab/c", "a slash in an id");
	refused("D 0", "no id");
	refused("C 1 0", "a grant without an id");
	refused("E 1", "E without a code");
	refused("E 1 Busy text", "a code in capitals");
	refused("E 1 busy text\n", "a control character in the sentence");
	refused("R", "R without seq");
	refused("R 1 2", "R with more");
	refused("X 1", "an unknown type");
	refused("t 1 0", "types are capitals");
	is_int(pool_msg_decode("T 1 0\0x", 7, &m), -1, "refused: a NUL inside");
	is_int(pool_msg_decode("T 1 0x", 5, &m), 0, "only len bytes are read");

	memset(big, 'a', sizeof(big));
	memcpy(big, "E 1 x ", 6);
	is_int(pool_msg_decode(big, sizeof(big), &m), -1, "refused: longer than POOL_MSG_MAX");

	is_int(pool_msg_encode(&(struct pool_msg){ .type = POOL_MSG_TAKE, .variant = 2 }, buf, sizeof(buf)), -1,
	    "no encoding of a variant out of range");
	is_int(pool_msg_encode(&(struct pool_msg){ .type = POOL_MSG_DONE, .engine = 0, .id = "" }, buf, sizeof(buf)),
	    -1, "nor of an empty id");
	is_int(pool_msg_encode(&(struct pool_msg){ .type = POOL_MSG_ERROR, .code = "Bad" }, buf, sizeof(buf)), -1,
	    "nor of a code in capitals");
	is_int(pool_msg_encode(&(struct pool_msg){ .type = POOL_MSG_ERROR, .code = "x", .text = "a\tb" }, buf,
	    sizeof(buf)), -1, "nor of a control character");
	is_int(pool_msg_encode(&(struct pool_msg){ .type = POOL_MSG_RECONNECT, .seq = 123 }, buf, 4), -1,
	    "nor into a buffer too small");
	return tap_done();
}
