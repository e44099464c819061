/*
 * pool_client.c: connect to the pool keeper, take and release containers.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "attach.h"
#include "log.h"
#include "pool_client.h"

void pool_client_init(struct pool_client *pc, const char *path)
{
	pc->path = strdup(path);
	pc->fd = -1;
	pc->seq = 0;
}

void pool_client_close(struct pool_client *pc)
{
	if (pc->fd >= 0)
		close(pc->fd);
	pc->fd = -1;
	free(pc->path);
	pc->path = NULL;
}

static int ensure_connected(struct pool_client *pc)
{
	struct sockaddr_un sa;

	if (pc->fd >= 0)
		return 0;
	if (pc->path == NULL || strlen(pc->path) >= sizeof(sa.sun_path))
		return -1;
	pc->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (pc->fd < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	strcpy(sa.sun_path, pc->path);
	if (connect(pc->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(pc->fd);
		pc->fd = -1;
		return -1;
	}
	return 0;
}

static void disconnect(struct pool_client *pc)
{
	if (pc->fd >= 0)
		close(pc->fd);
	pc->fd = -1;
}

static int send_msg(struct pool_client *pc, const char *msg)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		if (ensure_connected(pc) < 0)
			continue;
		if (send(pc->fd, msg, strlen(msg), MSG_NOSIGNAL) >= 0)
			return 0;
		disconnect(pc);
	}
	return -1;
}

int pool_client_take(struct pool_client *pc, int variant, int wait_ms, struct pool_grant *g,
    char *code, size_t codelen, char *msg, size_t msglen)
{
	char buf[512], request[64];
	unsigned long seq = ++pc->seq;
	long long deadline = monotonic_ms() + wait_ms + 1000;
	int retries = 0;

	snprintf(request, sizeof(request), "T %lu %d", seq, variant);
	if (send_msg(pc, request) < 0) {
		snprintf(code, codelen, "pool_unreachable");
		snprintf(msg, msglen, "The sandbox pool is not reachable.");
		return -1;
	}
	for (;;) {
		struct pollfd p = { pc->fd, POLLIN, 0 };
		long long left = deadline - monotonic_ms();
		unsigned long got_seq;
		int off = 0;
		ssize_t n;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0) {
			if (left > 0 && errno == EINTR)
				continue;
			/* A late grant would arrive on this connection: drop it so the pool reclaims it. */
			disconnect(pc);
			snprintf(code, codelen, "sandbox_busy");
			snprintf(msg, msglen, "No sandbox container became free in time.");
			return -1;
		}
		n = recv(pc->fd, buf, sizeof(buf) - 1, 0);
		if (n <= 0 && ++retries <= 20) {
			/*
			 * The keeper went away before answering (a reload, a crash): ask its successor.
			 * A keeper that exits with our request unread resets the connection (ECONNRESET)
			 * instead of closing it: the same case.
			 */
			disconnect(pc);
			if (send_msg(pc, request) == 0)
				continue;
		}
		if (n <= 0) {
			disconnect(pc);
			snprintf(code, codelen, "pool_unreachable");
			snprintf(msg, msglen, "The sandbox pool closed the connection.");
			return -1;
		}
		buf[n] = '\0';
		if (buf[0] == 'C' && sscanf(buf, "C %lu %d %64s", &got_seq, &g->engine, g->id) == 3) {
			if (got_seq == seq)
				return 0;
			/* A grant for a request we gave up on: give it straight back. */
			pool_client_release(pc, g, false);
			continue;
		}
		if (buf[0] == 'R' && sscanf(buf, "R %lu", &got_seq) == 1) {
			/* The keeper is being replaced: reconnect (to the new one) and ask again. */
			if (got_seq != seq)
				continue;
			disconnect(pc);
			if (++retries > 20 || send_msg(pc, request) < 0) {
				snprintf(code, codelen, "pool_unreachable");
				snprintf(msg, msglen, "The sandbox pool is restarting.");
				return -1;
			}
			continue;
		}
		if (buf[0] == 'E' && sscanf(buf, "E %lu %n", &got_seq, &off) == 1 && off > 0) {
			char *sp;

			if (got_seq != seq)
				continue;
			sp = strchr(buf + off, ' ');
			snprintf(code, codelen, "%.*s", sp ? (int)(sp - (buf + off)) : (int)strlen(buf + off), buf + off);
			snprintf(msg, msglen, "%s", sp ? sp + 1 : "No sandbox container is available.");
			return -1;
		}
		lwarn("pool client: unexpected message from the pool keeper");
	}
}

void pool_client_release(struct pool_client *pc, const struct pool_grant *g, bool failed)
{
	char buf[128];

	snprintf(buf, sizeof(buf), "%c %d %s", failed ? 'F' : 'D', g->engine, g->id);
	if (send_msg(pc, buf) < 0)
		lwarn("pool client: could not hand back container %.12s (the pool reaps it)", g->id);
}
