/*
 * t/fuzz/attach.c: libFuzzer target for Docker's attach stream framing
 * (frame_feed in fcgi/engine/attach.c), which reads bytes the engine relays from
 * the sandbox.
 *
 * Input layout: one byte for the chunk size (1 to 256), then the stream. It
 * is fed whole, then in chunks of that size. Checked besides memory safety:
 * both give the same answer and, up to the first error, the same bytes per
 * stream; no frame delivers more than the input held.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/attach.h"

#define PROMISE(cond) do { if (!(cond)) abort(); } while (0)

struct collected {
	unsigned char *bytes[3];
	size_t len[3];
	size_t cap;
};

static int sink(void *arg, int stream, const unsigned char *data, size_t len)
{
	struct collected *c = arg;

	PROMISE(stream >= 0 && stream <= 2);
	PROMISE(c->len[stream] + len <= c->cap);
	memcpy(c->bytes[stream] + c->len[stream], data, len);
	c->len[stream] += len;
	return 0;
}

static int feed(const uint8_t *data, size_t size, size_t chunk, struct collected *c)
{
	struct frame_parser p;

	memset(&p, 0, sizeof(p));
	for (size_t off = 0; off < size; off += chunk) {
		size_t n = size - off < chunk ? size - off : chunk;

		if (frame_feed(&p, data + off, n, sink, c) < 0)
			return -1;
	}
	return 0;
}

static void collected_init(struct collected *c, size_t cap)
{
	memset(c, 0, sizeof(*c));
	c->cap = cap;
	for (int s = 0; s < 3; s++) {
		c->bytes[s] = malloc(cap ? cap : 1);
		PROMISE(c->bytes[s] != NULL);
	}
}

static void collected_free(struct collected *c)
{
	for (int s = 0; s < 3; s++)
		free(c->bytes[s]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct collected whole, chunked;
	size_t chunk;
	int a, b;

	if (size < 1)
		return 0;
	chunk = (size_t)data[0] + 1;
	data++;
	size--;
	collected_init(&whole, size);
	collected_init(&chunked, size);
	a = feed(data, size, size ? size : 1, &whole);
	b = feed(data, size, chunk, &chunked);
	PROMISE(a == b);
	for (int s = 0; s < 3; s++) {
		PROMISE(whole.len[s] == chunked.len[s]);
		PROMISE(memcmp(whole.bytes[s], chunked.bytes[s], whole.len[s]) == 0);
	}
	PROMISE(whole.len[0] + whole.len[1] + whole.len[2] <= size);
	collected_free(&whole);
	collected_free(&chunked);
	return 0;
}
