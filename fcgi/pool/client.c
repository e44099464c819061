/*
 * pool/client.c: connect to the pool keeper, take and release containers
 * (the messages are pool/proto.h's).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "engine/attach.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "pool/client.h"
#include "pool/proto.h"

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

static int send_msg(struct pool_client *pc, const struct pool_msg *m)
{
	char buf[POOL_MSG_MAX + 1];
	int n = pool_msg_encode(m, buf, sizeof(buf));

	if (n < 0)
		return -1;
	for (int attempt = 0; attempt < 2; attempt++) {
		if (ensure_connected(pc) < 0)
			continue;
		if (send(pc->fd, buf, (size_t)n, MSG_NOSIGNAL) >= 0)
			return 0;
		disconnect(pc);
	}
	return -1;
}

/* One take in progress: the request, where its answer goes, how often it was asked again. */
struct take {
	struct pool_msg request;
	struct pool_grant *g;
	char *code, *msg;
	size_t codelen, msglen;
	int retries;
};

#define TAKE_RETRIES 20

static int fail(struct take *t, const char *code, const char *msg)
{
	snprintf(t->code, t->codelen, "%s", code);
	snprintf(t->msg, t->msglen, "%s", msg);
	return -1;
}

/* The keeper went away (a reload, a crash): ask its successor. 0, or -1 when that failed too. */
static int ask_again(struct pool_client *pc, struct take *t)
{
	disconnect(pc);
	if (++t->retries > TAKE_RETRIES || send_msg(pc, &t->request) < 0)
		return -1;
	return 0;
}

/* What one message of the keeper means: 0 granted, -1 refused (t says why), 1 keep waiting. */
static int on_answer(struct pool_client *pc, struct take *t, const struct pool_msg *answer)
{
	switch (answer->type) {
	case POOL_MSG_CONTAINER:
		t->g->engine = answer->engine;
		snprintf(t->g->id, sizeof(t->g->id), "%s", answer->id);
		if (answer->seq == t->request.seq)
			return 0;
		/* A grant for a request we gave up on: give it straight back. */
		pool_client_release(pc, t->g, false);
		return 1;
	case POOL_MSG_RECONNECT:
		/* The keeper is being replaced: reconnect (to the new one) and ask again. */
		if (answer->seq != t->request.seq)
			return 1;
		if (ask_again(pc, t) < 0)
			return fail(t, "pool_unreachable", "The sandbox pool is restarting.");
		return 1;
	case POOL_MSG_ERROR:
		if (answer->seq != t->request.seq)
			return 1;
		return fail(t, answer->code, answer->text[0] ? answer->text : "No sandbox container is available.");
	default:
		lwarn("pool client: unexpected message from the pool keeper");
		return 1;
	}
}

int pool_client_take(struct pool_client *pc, int variant, int wait_ms, struct pool_grant *g,
    char *code, size_t codelen, char *msg, size_t msglen)
{
	struct take t = { { .type = POOL_MSG_TAKE, .seq = ++pc->seq, .variant = variant }, g, code, msg, codelen,
	    msglen, 0 };
	long long deadline = clock_ms() + wait_ms + 1000;
	int rc = 1;

	if (send_msg(pc, &t.request) < 0)
		return fail(&t, "pool_unreachable", "The sandbox pool is not reachable.");
	while (rc > 0) {
		struct pollfd p = { pc->fd, POLLIN, 0 };
		long long left = deadline - clock_ms();
		char buf[POOL_MSG_MAX + 1];
		struct pool_msg answer;
		ssize_t n;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0) {
			if (left > 0 && errno == EINTR)
				continue;
			/* A late grant would arrive on this connection: drop it so the pool reclaims it. */
			disconnect(pc);
			return fail(&t, "sandbox_busy", "No sandbox container became free in time.");
		}
		n = recv(pc->fd, buf, sizeof(buf), 0);
		if (n <= 0) {
			/* A keeper that exits with our request unread resets the connection (ECONNRESET)
			 * instead of closing it: the same case. */
			if (ask_again(pc, &t) == 0)
				continue;
			disconnect(pc);
			return fail(&t, "pool_unreachable", "The sandbox pool closed the connection.");
		}
		if (pool_msg_decode(buf, (size_t)n, &answer) < 0)
			lwarn("pool client: unexpected message from the pool keeper");
		else
			rc = on_answer(pc, &t, &answer);
	}
	return rc;
}

void pool_client_release(struct pool_client *pc, const struct pool_grant *g, bool failed)
{
	struct pool_msg m = { .type = failed ? POOL_MSG_FAILED : POOL_MSG_DONE, .engine = g->engine };

	snprintf(m.id, sizeof(m.id), "%s", g->id);
	if (send_msg(pc, &m) < 0)
		lwarn("pool client: could not hand back container %.12s (the pool reaps it)", g->id);
}
