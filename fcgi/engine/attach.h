/*
 * attach.h: talk to a container's runner through the engine's attach
 * endpoint: upgrade the connection to a raw stream, write the request line,
 * read the multiplexed output frames until the verdict line is complete.
 */
#ifndef CMDARENA_ATTACH_H
#define CMDARENA_ATTACH_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "engine/docker.h"
#include "lib/strbuf.h"

/*
 * Docker's stream framing (Tty: false): an 8-byte header [stream, 0, 0, 0,
 * size (big-endian u32)] then size bytes. A frame may be split anywhere.
 */
struct frame_parser {
	unsigned char hdr[8];
	size_t hdr_have;
	uint32_t remaining;
	int stream;
};

typedef int (*frame_sink)(void *arg, int stream, const unsigned char *data, size_t len);

/* Feed bytes; the sink gets every payload piece. Returns 0, -1 on a bad header or a sink error. */
int frame_feed(struct frame_parser *p, const unsigned char *data, size_t len, frame_sink sink, void *arg);

enum attach_status {
	ATTACH_OK,
	ATTACH_UNREACHABLE,	/* could not connect, or the engine refused the attach */
	ATTACH_GONE,		/* the container is not there or not running */
	ATTACH_DEADLINE,	/* no complete verdict before the deadline */
	ATTACH_EOF,		/* the stream ended before a verdict line */
	ATTACH_PROTOCOL,	/* bad framing or an oversized verdict */
};

/*
 * Attach to container id on engine e, send
 * request (reqlen bytes, ending in '\n'), and collect stdout until its first
 * '\n' into verdict (without the newline). deadline is CLOCK_MONOTONIC ms.
 * Runner diagnostics on stderr go to the debug log.
 */
enum attach_status attach_exchange(const struct engine *e, const char *id, const char *request,
    size_t reqlen, long long deadline_ms, size_t verdict_max, struct strbuf *verdict, char *err, size_t errlen);

const char *attach_status_name(enum attach_status s);

#endif
