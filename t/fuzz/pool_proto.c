/*
 * t/fuzz/pool_proto.c: libFuzzer target for the pool protocol's decoder
 * (fcgi/pool/proto.c), which reads packets another process wrote.
 *
 * The input is one packet, any bytes. Checked besides memory safety: what
 * decodes is in range, encodes again to the same bytes (the one liberty: an E
 * without a sentence gains the space before its empty sentence), and that
 * encoding decodes to the same message.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pool/proto.h"

#define PROMISE(cond) do { if (!(cond)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same(const struct pool_msg *a, const struct pool_msg *b)
{
	return a->type == b->type && a->seq == b->seq && a->variant == b->variant && a->engine == b->engine &&
	    strcmp(a->id, b->id) == 0 && strcmp(a->code, b->code) == 0 && strcmp(a->text, b->text) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pool_msg m, back;
	char buf[POOL_MSG_MAX + 1];
	int n;

	if (pool_msg_decode((const char *)data, size, &m) < 0)
		return 0;
	PROMISE(size >= 1 && size <= POOL_MSG_MAX);
	PROMISE(m.variant >= 0 && m.variant < POOL_VARIANTS && m.engine >= 0);
	PROMISE(memchr(m.id, '\0', sizeof(m.id)) && memchr(m.code, '\0', sizeof(m.code)) &&
	    memchr(m.text, '\0', sizeof(m.text)));
	n = pool_msg_encode(&m, buf, sizeof(buf));
	PROMISE(n > 0);
	PROMISE(memcmp(buf, data, size < (size_t)n ? size : (size_t)n) == 0);
	PROMISE((size_t)n == size ||
	    (m.type == POOL_MSG_ERROR && m.text[0] == '\0' && (size_t)n == size + 1 && buf[size] == ' '));
	PROMISE(pool_msg_decode(buf, (size_t)n, &back) == 0 && same(&m, &back));
	return 0;
}
