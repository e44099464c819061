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

enum attach_status attach_exchange(const struct engine *e, const char *id, const char *request,
    size_t reqlen, long long deadline_ms, size_t verdict_max, struct strbuf *verdict, char *err, size_t errlen)
{
	CURL *h;
	struct strbuf head = STRBUF_INIT;
	struct collector col = { verdict, STRBUF_INIT, verdict_max, 0, 0 };
	struct frame_parser fp = { {0}, 0, 0, 0 };
	enum attach_status st = ATTACH_UNREACHABLE;
	curl_socket_t fd = CURL_SOCKET_BAD;
	char buf[16384], req[512];
	long long left = deadline_ms - clock_ms();
	size_t header_end = 0;
	CURLcode rc;
	int status = 0;

	if (left <= 0) {
		snprintf(err, errlen, "deadline passed before attaching");
		return ATTACH_DEADLINE;
	}
	/* A fresh handle each time: a CONNECT_ONLY connection must be closed, never cached. */
	h = curl_easy_init();
	if (h == NULL) {
		snprintf(err, errlen, "out of memory");
		return ATTACH_UNREACHABLE;
	}
	docker_setup_handle(h, e);
	curl_easy_setopt(h, CURLOPT_URL, e->base);
	curl_easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, left < 2000 ? left : 2000L);
	rc = curl_easy_perform(h);
	if (rc != CURLE_OK) {
		snprintf(err, errlen, "engine %s: connect: %s", e->url, curl_easy_strerror(rc));
		goto out;
	}
	if (curl_easy_getinfo(h, CURLINFO_ACTIVESOCKET, &fd) != CURLE_OK || fd == CURL_SOCKET_BAD) {
		snprintf(err, errlen, "engine %s: no socket after connect", e->url);
		goto out;
	}
	snprintf(req, sizeof(req),
	    "POST /v%s/containers/%s/attach?stream=1&stdin=1&stdout=1&stderr=1 HTTP/1.1\r\n"
	    "Host: docker\r\nContent-Type: text/plain\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n",
	    e->api_version[0] ? e->api_version : "1.41", id);
	if (send_all(h, fd, req, strlen(req), deadline_ms) < 0) {
		snprintf(err, errlen, "engine %s: sending the attach request failed", e->url);
		goto out;
	}

	/* Read the response head; bytes after it already belong to the stream. */
	while (header_end == 0) {
		size_t got = 0;

		rc = curl_easy_recv(h, buf, sizeof(buf), &got);
		if (rc == CURLE_AGAIN) {
			if (wait_socket(fd, POLLIN, deadline_ms) <= 0) {
				snprintf(err, errlen, "engine %s: no answer to attach before the deadline", e->url);
				st = ATTACH_DEADLINE;
				goto out;
			}
			continue;
		}
		if (rc != CURLE_OK || got == 0) {
			snprintf(err, errlen, "engine %s: connection closed during attach", e->url);
			goto out;
		}
		if (sb_add(&head, buf, got) < 0 || head.len > HEADER_MAX) {
			snprintf(err, errlen, "engine %s: attach answer head too large", e->url);
			st = ATTACH_PROTOCOL;
			goto out;
		}
		{
			char *end = strstr(head.buf, "\r\n\r\n");

			if (end)
				header_end = (size_t)(end - head.buf) + 4;
		}
	}
	if (sscanf(head.buf, "HTTP/1.%*d %d", &status) != 1 || (status != 101 && status != 200)) {
		char *eol = strstr(head.buf, "\r\n");

		if (eol)
			*eol = '\0';
		snprintf(err, errlen, "engine %s: attach answered '%.80s'", e->url, head.buf);
		st = status == 404 || status == 409 ? ATTACH_GONE : ATTACH_UNREACHABLE;
		goto out;
	}
	if (frame_feed(&fp, (unsigned char *)head.buf + header_end, head.len - header_end, collect_frame, &col) < 0) {
		st = ATTACH_PROTOCOL;
		snprintf(err, errlen, "engine %s: bad stream framing", e->url);
		goto out;
	}
	if (send_all(h, fd, request, reqlen, deadline_ms) < 0) {
		snprintf(err, errlen, "engine %s: writing the request to the container failed", e->url);
		st = ATTACH_GONE;
		goto out;
	}
	while (!col.done) {
		size_t got = 0;

		rc = curl_easy_recv(h, buf, sizeof(buf), &got);
		if (rc == CURLE_AGAIN) {
			if (wait_socket(fd, POLLIN, deadline_ms) <= 0) {
				snprintf(err, errlen, "no verdict before the hard deadline");
				st = ATTACH_DEADLINE;
				goto out;
			}
			continue;
		}
		if (rc != CURLE_OK || got == 0) {
			snprintf(err, errlen, "the container's output ended without a verdict%s%.200s",
			    col.err.len ? ": " : "", col.err.len ? col.err.buf : "");
			st = ATTACH_EOF;
			goto out;
		}
		if (frame_feed(&fp, (unsigned char *)buf, got, collect_frame, &col) < 0) {
			snprintf(err, errlen, col.overflow ? "the verdict is larger than %zu bytes" : "bad stream framing",
			    verdict_max);
			st = ATTACH_PROTOCOL;
			goto out;
		}
	}
	if (col.err.len)
		ldebug("runner stderr in %.12s: %.200s", id, col.err.buf);
	st = ATTACH_OK;
out:
	sb_free(&head);
	sb_free(&col.err);
	curl_easy_cleanup(h);
	return st;
}
