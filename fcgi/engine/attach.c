/*
 * attach.c: the request/verdict exchange over an attached stream (attach.h).
 *
 * libcurl connects (unix socket or TLS) with CONNECT_ONLY; we then speak the
 * upgrade request ourselves with curl_easy_send/recv, since after "101
 * UPGRADED" the connection is a raw two-way stream that curl's HTTP layer
 * does not model.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "engine/attach.h"
#include "lib/clock.h"
#include "lib/log.h"

#define HEADER_MAX 8192

int frame_feed(struct frame_parser *p, const unsigned char *data, size_t len, frame_sink sink, void *arg)
{
	while (len > 0) {
		if (p->remaining == 0) {
			size_t need = sizeof(p->hdr) - p->hdr_have, n = len < need ? len : need;

			memcpy(p->hdr + p->hdr_have, data, n);
			p->hdr_have += n;
			data += n;
			len -= n;
			if (p->hdr_have < sizeof(p->hdr))
				return 0;
			p->hdr_have = 0;
			if (p->hdr[0] > 2 || p->hdr[1] || p->hdr[2] || p->hdr[3])
				return -1;
			p->stream = p->hdr[0];
			p->remaining = (uint32_t)p->hdr[4] << 24 | (uint32_t)p->hdr[5] << 16 |
			    (uint32_t)p->hdr[6] << 8 | (uint32_t)p->hdr[7];
			continue;
		}
		{
			size_t n = len < p->remaining ? len : p->remaining;

			if (sink(arg, p->stream, data, n) < 0)
				return -1;
			p->remaining -= (uint32_t)n;
			data += n;
			len -= n;
		}
	}
	return 0;
}

const char *attach_status_name(enum attach_status s)
{
	switch (s) {
	case ATTACH_OK: return "ok";
	case ATTACH_UNREACHABLE: return "unreachable";
	case ATTACH_GONE: return "gone";
	case ATTACH_DEADLINE: return "deadline";
	case ATTACH_EOF: return "eof";
	case ATTACH_PROTOCOL: return "protocol";
	}
	return "?";
}

struct collector {
	struct strbuf *out;
	struct strbuf err;
	size_t max;
	int done;		/* the verdict line is complete */
	int overflow;
};

static int collect_frame(void *arg, int stream, const unsigned char *data, size_t len)
{
	struct collector *c = arg;

	if (stream == 2) {
		if (c->err.len < 4096)
			sb_add(&c->err, data, len < 4096 - c->err.len ? len : 4096 - c->err.len);
		return 0;
	}
	if (c->done)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (data[i] == '\n') {
			len = i;
			c->done = 1;
			break;
		}
	if (c->out->len + len > c->max) {
		c->overflow = 1;
		return -1;
	}
	return sb_add(c->out, data, len);
}

/* Wait until the socket is ready for `events` or the deadline passes. */
static int wait_socket(curl_socket_t fd, short events, long long deadline_ms)
{
	struct pollfd pfd = { fd, events, 0 };
	long long left = deadline_ms - clock_ms();
	int r;

	if (left <= 0)
		return 0;
	do
		r = poll(&pfd, 1, left > 1000000 ? 1000000 : (int)left);
	while (r < 0 && errno == EINTR);
	return r;
}

static int send_all(CURL *h, curl_socket_t fd, const char *data, size_t len, long long deadline_ms)
{
	while (len > 0) {
		size_t sent = 0;
		CURLcode rc = curl_easy_send(h, data, len, &sent);

		if (rc == CURLE_AGAIN) {
			if (wait_socket(fd, POLLOUT, deadline_ms) <= 0)
				return -1;
			continue;
		}
		if (rc != CURLE_OK)
			return -1;
		data += sent;
		len -= sent;
	}
	return 0;
}

/* One attached connection: its handle, its socket, and where its error goes. */
struct attach_conn {
	const struct engine *e;
	CURL *h;
	curl_socket_t fd;
	long long deadline_ms;
	char *err;
	size_t errlen;
};

/* Connect to the engine with CONNECT_ONLY and find the socket curl opened. */
static enum attach_status attach_connect(struct attach_conn *c, long long left)
{
	CURLcode rc;

	docker_setup_handle(c->h, c->e);
	curl_easy_setopt(c->h, CURLOPT_URL, c->e->base);
	curl_easy_setopt(c->h, CURLOPT_CONNECT_ONLY, 1L);
	curl_easy_setopt(c->h, CURLOPT_CONNECTTIMEOUT_MS, (long)(left < 2000 ? left : 2000));
	rc = curl_easy_perform(c->h);
	if (rc != CURLE_OK) {
		snprintf(c->err, c->errlen, "engine %s: connect: %s", c->e->url, curl_easy_strerror(rc));
		return ATTACH_UNREACHABLE;
	}
	if (curl_easy_getinfo(c->h, CURLINFO_ACTIVESOCKET, &c->fd) != CURLE_OK || c->fd == CURL_SOCKET_BAD) {
		snprintf(c->err, c->errlen, "engine %s: no socket after connect", c->e->url);
		return ATTACH_UNREACHABLE;
	}
	return ATTACH_OK;
}

/* Ask for the upgrade to a raw stream attached to the container's stdio. */
static enum attach_status send_attach_request(struct attach_conn *c, const char *id)
{
	char req[512];

	snprintf(req, sizeof(req),
	    "POST /v%s/containers/%s/attach?stream=1&stdin=1&stdout=1&stderr=1 HTTP/1.1\r\n"
	    "Host: docker\r\nContent-Type: text/plain\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n",
	    c->e->api_version[0] ? c->e->api_version : "1.41", id);
	if (send_all(c->h, c->fd, req, strlen(req), c->deadline_ms) < 0) {
		snprintf(c->err, c->errlen, "engine %s: sending the attach request failed", c->e->url);
		return ATTACH_UNREACHABLE;
	}
	return ATTACH_OK;
}

/*
 * Receive what is there into buf, waiting for it until the deadline.
 * Returns 1 with *got > 0, 0 when the deadline passed, -1 when the connection ended.
 */
static int recv_some(struct attach_conn *c, char *buf, size_t size, size_t *got)
{
	for (;;) {
		CURLcode rc;

		*got = 0;
		rc = curl_easy_recv(c->h, buf, size, got);
		if (rc == CURLE_AGAIN) {
			if (wait_socket(c->fd, POLLIN, c->deadline_ms) <= 0)
				return 0;
			continue;
		}
		return rc == CURLE_OK && *got > 0 ? 1 : -1;
	}
}

/* Read the response head into head; bytes after it (from *header_end on) already belong to the stream. */
static enum attach_status read_response_head(struct attach_conn *c, struct strbuf *head, size_t *header_end)
{
	char buf[16384];

	while (*header_end == 0) {
		size_t got;
		int r = recv_some(c, buf, sizeof(buf), &got);
		char *end;

		if (r == 0) {
			snprintf(c->err, c->errlen, "engine %s: no answer to attach before the deadline", c->e->url);
			return ATTACH_DEADLINE;
		}
		if (r < 0) {
			snprintf(c->err, c->errlen, "engine %s: connection closed during attach", c->e->url);
			return ATTACH_UNREACHABLE;
		}
		if (sb_add(head, buf, got) < 0 || head->len > HEADER_MAX) {
			snprintf(c->err, c->errlen, "engine %s: attach answer head too large", c->e->url);
			return ATTACH_PROTOCOL;
		}
		end = strstr(head->buf, "\r\n\r\n");
		if (end)
			*header_end = (size_t)(end - head->buf) + 4;
	}
	return ATTACH_OK;
}

/* The engine upgrades with 101 (or 200 on old versions); 404 and 409 mean the container is gone. */
static enum attach_status check_response_status(struct attach_conn *c, struct strbuf *head)
{
	int status = 0;
	char *eol;

	if (sscanf(head->buf, "HTTP/1.%*d %d", &status) == 1 && (status == 101 || status == 200))
		return ATTACH_OK;
	eol = strstr(head->buf, "\r\n");
	if (eol)
		*eol = '\0';
	snprintf(c->err, c->errlen, "engine %s: attach answered '%.80s'", c->e->url, head->buf);
	return status == 404 || status == 409 ? ATTACH_GONE : ATTACH_UNREACHABLE;
}

/* Read frames until the verdict line is complete. */
static enum attach_status read_verdict(struct attach_conn *c, struct frame_parser *fp, struct collector *col)
{
	char buf[16384];

	while (!col->done) {
		size_t got;
		int r = recv_some(c, buf, sizeof(buf), &got);

		if (r == 0) {
			snprintf(c->err, c->errlen, "no verdict before the hard deadline");
			return ATTACH_DEADLINE;
		}
		if (r < 0) {
			snprintf(c->err, c->errlen, "the container's output ended without a verdict%s%.200s",
			    col->err.len ? ": " : "", col->err.len ? col->err.buf : "");
			return ATTACH_EOF;
		}
		if (frame_feed(fp, (unsigned char *)buf, got, collect_frame, col) < 0) {
			snprintf(c->err, c->errlen, col->overflow ? "the verdict is larger than %zu bytes" :
			    "bad stream framing", col->max);
			return ATTACH_PROTOCOL;
		}
	}
	return ATTACH_OK;
}

/* Upgrade the connection, then hand the stream's first bytes (those after the head) to the parser. */
static enum attach_status open_stream(struct attach_conn *c, const char *id, struct frame_parser *fp,
    struct collector *col)
{
	struct strbuf head = STRBUF_INIT;
	size_t header_end = 0;
	enum attach_status st = send_attach_request(c, id);

	if (st == ATTACH_OK)
		st = read_response_head(c, &head, &header_end);
	if (st == ATTACH_OK)
		st = check_response_status(c, &head);
	if (st == ATTACH_OK && frame_feed(fp, (unsigned char *)head.buf + header_end, head.len - header_end,
	    collect_frame, col) < 0) {
		snprintf(c->err, c->errlen, "engine %s: bad stream framing", c->e->url);
		st = ATTACH_PROTOCOL;
	}
	sb_free(&head);
	return st;
}

enum attach_status attach_exchange(const struct engine *e, const char *id, const char *request,
    size_t reqlen, long long deadline_ms, size_t verdict_max, struct strbuf *verdict, char *err, size_t errlen)
{
	struct attach_conn c = { e, NULL, CURL_SOCKET_BAD, deadline_ms, err, errlen };
	struct collector col = { verdict, STRBUF_INIT, verdict_max, 0, 0 };
	struct frame_parser fp = { {0}, 0, 0, 0 };
	long long left = deadline_ms - clock_ms();
	enum attach_status st;

	if (left <= 0) {
		snprintf(err, errlen, "deadline passed before attaching");
		return ATTACH_DEADLINE;
	}
	/* A fresh handle each time: a CONNECT_ONLY connection must be closed, never cached. */
	c.h = curl_easy_init();
	if (c.h == NULL) {
		snprintf(err, errlen, "out of memory");
		return ATTACH_UNREACHABLE;
	}
	st = attach_connect(&c, left);
	if (st == ATTACH_OK)
		st = open_stream(&c, id, &fp, &col);
	if (st == ATTACH_OK && send_all(c.h, c.fd, request, reqlen, deadline_ms) < 0) {
		snprintf(err, errlen, "engine %s: writing the request to the container failed", e->url);
		st = ATTACH_GONE;
	}
	if (st == ATTACH_OK)
		st = read_verdict(&c, &fp, &col);
	if (st == ATTACH_OK && col.err.len)
		ldebug("runner stderr in %.12s: %.200s", id, col.err.buf);
	sb_free(&col.err);
	curl_easy_cleanup(c.h);
	return st;
}
