/* attach.c: Docker's stream framing, fed whole, byte by byte, and broken. */
#include <string.h>

#include "engine/attach.h"
#include "lib/clock.h"
#include "tap.h"

struct got {
	char out[256];
	size_t out_len;
	char err[256];
	size_t err_len;
};

static int sink(void *arg, int stream, const unsigned char *data, size_t len)
{
	struct got *g = arg;

	if (stream == 2) {
		memcpy(g->err + g->err_len, data, len);
		g->err_len += len;
	} else {
		memcpy(g->out + g->out_len, data, len);
		g->out_len += len;
	}
	return 0;
}

static size_t frame(unsigned char *buf, int stream, const char *payload)
{
	size_t n = strlen(payload);

	buf[0] = (unsigned char)stream;
	buf[1] = buf[2] = buf[3] = 0;
	buf[4] = (unsigned char)(n >> 24);
	buf[5] = (unsigned char)(n >> 16);
	buf[6] = (unsigned char)(n >> 8);
	buf[7] = (unsigned char)n;
	memcpy(buf + 8, payload, n);
	return n + 8;
}

int main(void)
{
	unsigned char buf[512];
	size_t n = 0;
	struct frame_parser p;
	struct got g;

	n += frame(buf + n, 1, "{\"correct\":");
	n += frame(buf + n, 2, "warning\n");
	n += frame(buf + n, 1, "true}\n");
	n += frame(buf + n, 1, "");

	memset(&p, 0, sizeof(p));
	memset(&g, 0, sizeof(g));
	is_int(frame_feed(&p, buf, n, sink, &g), 0, "whole frames parse");
	is_int(g.out_len, 17, "stdout collected");
	ok(memcmp(g.out, "{\"correct\":true}\n", 17) == 0, "stdout in order, split across frames");
	is_int(g.err_len, 8, "stderr kept apart");

	memset(&p, 0, sizeof(p));
	memset(&g, 0, sizeof(g));
	for (size_t i = 0; i < n; i++)
		if (frame_feed(&p, buf + i, 1, sink, &g) < 0)
			break;
	is_int(g.out_len, 17, "the same fed one byte at a time (headers split anywhere)");
	is_int(g.err_len, 8, "stderr too");

	memset(&p, 0, sizeof(p));
	memset(&g, 0, sizeof(g));
	buf[0] = 7;
	is_int(frame_feed(&p, buf, n, sink, &g), -1, "an unknown stream type is an error");
	buf[0] = 1;
	buf[2] = 1;
	memset(&p, 0, sizeof(p));
	is_int(frame_feed(&p, buf, n, sink, &g), -1, "non-zero padding is an error");

	is_str(attach_status_name(ATTACH_DEADLINE), "deadline", "status names");
	ok(clock_ms() > 0, "a monotonic clock");
	return tap_done();
}
