/*
 * pool/client.c: a worker's side of the pool protocol (fcgi/pool/client.c)
 * against a fake keeper on a thread, over a real SOCK_SEQPACKET socket: a
 * grant, a late grant given back, a reload's R, a refusal, a timeout, no keeper.
 */
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "pool/client.h"
#include "pool/proto.h"
#include "tap.h"

enum mode { GRANT_AFTER_LATE, RECONNECT_THEN_REFUSE, SILENT };

static char path[108];
static int listen_fd = -1;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static enum mode mode;
static int stop;
static char got[16][POOL_MSG_MAX + 1];	/* what the keeper received, in order */
static int n_got;

static void reply(int fd, const struct pool_msg *m)
{
	char buf[POOL_MSG_MAX + 1];
	int n = pool_msg_encode(m, buf, sizeof(buf));

	if (n < 0 || send(fd, buf, (size_t)n, MSG_NOSIGNAL) < 0)
		printf("# the fake keeper could not answer\n");
}

/* The fake keeper's answer to one packet; returns false to close the connection. */
static bool answer(int fd, const char *buf, size_t len)
{
	/* The keeper thread's own: takes seen since the mode last changed. */
	static enum mode last_mode = SILENT;
	static int takes_seen;
	struct pool_msg m, a;
	enum mode md;

	pthread_mutex_lock(&mu);
	if (n_got < 16)
		snprintf(got[n_got++], sizeof(got[0]), "%.*s", (int)len, buf);
	md = mode;
	pthread_mutex_unlock(&mu);
	if (pool_msg_decode(buf, len, &m) < 0 || m.type != POOL_MSG_TAKE)
		return true;
	takes_seen = md == last_mode ? takes_seen + 1 : 1;
	last_mode = md;
	switch (md) {
	case GRANT_AFTER_LATE:
		a = (struct pool_msg){ .type = POOL_MSG_CONTAINER, .seq = m.seq - 1, .engine = 1, .id = "old" };
		reply(fd, &a);
		a = (struct pool_msg){ .type = POOL_MSG_CONTAINER, .seq = m.seq, .engine = 0, .id = "abc" };
		reply(fd, &a);
		return true;
	case RECONNECT_THEN_REFUSE:
		if (takes_seen == 1) {
			a = (struct pool_msg){ .type = POOL_MSG_RECONNECT, .seq = m.seq };
			reply(fd, &a);
			return false;
		}
		a = (struct pool_msg){ .type = POOL_MSG_ERROR, .seq = m.seq, .code = "sandbox_busy", .text = "Busy." };
		reply(fd, &a);
		return true;
	case SILENT:
		return true;
	}
	return true;
}

static void *keeper(void *arg)
{
	int conn = -1;

	(void)arg;
	for (;;) {
		struct pollfd p[2] = { { listen_fd, POLLIN, 0 }, { conn, POLLIN, 0 } };
		char buf[POOL_MSG_MAX + 1];
		ssize_t n;

		pthread_mutex_lock(&mu);
		if (stop) {
			pthread_mutex_unlock(&mu);
			break;
		}
		pthread_mutex_unlock(&mu);
		if (poll(p, 2, 50) <= 0)
			continue;
		if (p[0].revents) {
			if (conn >= 0)
				close(conn);
			conn = accept(listen_fd, NULL, NULL);
			continue;
		}
		n = recv(conn, buf, sizeof(buf), 0);
		if (n <= 0 || !answer(conn, buf, (size_t)n)) {
			close(conn);
			conn = -1;
		}
	}
	if (conn >= 0)
		close(conn);
	return NULL;
}

static int start_keeper(pthread_t *t)
{
	struct sockaddr_un sa;

	snprintf(path, sizeof(path), "/tmp/cmdarena-pool-client-test-%ld.sock", (long)getpid());
	unlink(path);
	listen_fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(listen_fd, 4) < 0)
		return -1;
	return pthread_create(t, NULL, keeper, NULL) == 0 ? 0 : -1;
}

static void set_mode(enum mode m)
{
	pthread_mutex_lock(&mu);
	mode = m;
	pthread_mutex_unlock(&mu);
}

/* Wait (bounded) until the keeper received n packets. */
static int received(int n)
{
	int have = 0;

	for (int i = 0; i < 100; i++) {
		pthread_mutex_lock(&mu);
		have = n_got;
		pthread_mutex_unlock(&mu);
		if (have >= n)
			break;
		usleep(10000);
	}
	return have;
}

int main(void)
{
	struct pool_client pc;
	struct pool_grant g;
	char code[64], msg[256];
	pthread_t t;

	pool_client_init(&pc, "/tmp/cmdarena-no-such-pool.sock");
	is_int(pool_client_take(&pc, 0, 100, &g, code, sizeof(code), msg, sizeof(msg)), -1, "no keeper: refused");
	is_str(code, "pool_unreachable", "as pool_unreachable");
	pool_client_close(&pc);

	if (!ok(start_keeper(&t) == 0, "a fake keeper listens"))
		return tap_done();
	pool_client_init(&pc, path);

	set_mode(GRANT_AFTER_LATE);
	is_int(pool_client_take(&pc, 1, 1000, &g, code, sizeof(code), msg, sizeof(msg)), 0, "a take is granted");
	is_int(g.engine, 0, "the grant's engine");
	is_str(g.id, "abc", "the grant's container");
	is_int(received(2), 2, "the keeper got two packets");
	is_str(got[0], "T 1 1", "the take: seq 1, variant 1");
	is_str(got[1], "D 1 old", "a late grant (an older seq) is handed straight back");

	pool_client_release(&pc, &g, true);
	is_int(received(3), 3, "a release arrives");
	is_str(got[2], "F 0 abc", "a failed one as F");

	set_mode(RECONNECT_THEN_REFUSE);
	is_int(pool_client_take(&pc, 0, 1000, &g, code, sizeof(code), msg, sizeof(msg)), -1, "a refusal");
	is_int(received(5), 5, "the take was asked twice");
	is_str(got[3], "T 2 0", "first to the stopping keeper");
	is_str(got[4], "T 2 0", "then again after its R, on a new connection");
	is_str(code, "sandbox_busy", "the refusal's code");
	is_str(msg, "Busy.", "and its sentence");

	set_mode(SILENT);
	is_int(pool_client_take(&pc, 0, 0, &g, code, sizeof(code), msg, sizeof(msg)), -1, "no answer in time");
	is_str(code, "sandbox_busy", "is sandbox_busy");
	is_int(pc.fd, -1, "and the connection is dropped (a late grant goes back to the keeper)");

	pool_client_close(&pc);
	pthread_mutex_lock(&mu);
	stop = 1;
	pthread_mutex_unlock(&mu);
	pthread_join(t, NULL);
	close(listen_fd);
	unlink(path);
	return tap_done();
}
