/* local_limit.c: this node's token buckets, shared by processes, surviving a dead lock holder. */
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"
#include "worker/local_limit.h"

int main(void)
{
	struct local_limits *t = local_limits_new(64);
	int ra = 0, taken = 0, *shared;
	pid_t kids[4];

	ok(t != NULL, "a table in shared memory");
	/* 3 per 30 s, burst 3: one token every 10 s. */
	for (int i = 0; i < 3; i++)
		is_int(local_limit_take(t, "192.0.2.1", 0.1, 3, 1000, &ra), 1, "token %d of the burst", i + 1);
	is_int(local_limit_take(t, "192.0.2.1", 0.1, 3, 1000, &ra), 0, "the fourth: refused");
	is_int(ra, 10, "Retry-After: 10 s");
	is_int(local_limit_take(t, "192.0.2.2", 0.1, 3, 1000, &ra), 1, "another client has its own bucket");
	is_int(local_limit_take(t, "2001:db8:1:2::/64", 0.1, 3, 1000, &ra), 1, "an IPv6 /64 key too");
	is_int(local_limit_take(t, "192.0.2.1", 0.1, 3, 6000, &ra), 0, "5 s later: still empty");
	is_int(ra, 5, "Retry-After: 5 s");
	is_int(local_limit_take(t, "192.0.2.1", 0.1, 3, 11000, &ra), 1, "10 s later: one more");
	is_int(local_limit_take(t, "192.0.2.1", 0.1, 3, 11000, &ra), 0, "and only one");
	is_int(local_limit_take(t, "192.0.2.1", 0.1, 3, 1000000, &ra), 1, "long idle: the bucket is full again...");
	is_int(local_limit_take(t, "192.0.2.1", 0.1, 3, 1000000, &ra), 1, "...");
	is_int(local_limit_take(t, "192.0.2.1", 0.1, 3, 1000000, &ra), 1, "...");
	is_int(local_limit_take(t, "192.0.2.1", 0.1, 3, 1000000, &ra), 0, "...up to the burst only");

	/* Far more clients than slots: the table stays its size and every new client gets a bucket. */
	{
		int all = 1;
		char key[32];

		for (int i = 0; i < 1000; i++) {
			snprintf(key, sizeof(key), "10.0.%d.%d", i / 256, i % 256);
			all &= local_limit_take(t, key, 0.1, 3, 2000000 + i, &ra) == 1;
		}
		ok(all, "1000 clients in 64 slots: each gets its first token");
	}

	/* Four processes take from one bucket at once: exactly the burst is handed out. */
	shared = mmap(NULL, sizeof(int), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	*shared = 0;
	for (int k = 0; k < 4; k++) {
		kids[k] = fork();
		if (kids[k] == 0) {
			int mine = 0;

			for (int i = 0; i < 100; i++)
				mine += local_limit_take(t, "198.51.100.1", 0.001, 50, 5000000, &ra);
			__atomic_fetch_add(shared, mine, __ATOMIC_SEQ_CST);
			_exit(0);
		}
	}
	for (int k = 0; k < 4; k++)
		waitpid(kids[k], NULL, 0);
	is_int(*shared, 50, "4 processes x 100 tries on a burst of 50: 50 taken");

	/* A process dies holding the lock: the next one still gets in. */
	kids[0] = fork();
	if (kids[0] == 0) {
		local_limits_hold_lock(t);
		raise(SIGKILL);
		_exit(1);
	}
	waitpid(kids[0], NULL, 0);
	alarm(10);	/* a dead lock would hang here: fail by the alarm instead */
	taken = local_limit_take(t, "203.0.113.5", 1, 1, 6000000, &ra);
	alarm(0);
	is_int(taken, 1, "after a holder died inside, the table still answers");

	munmap(shared, sizeof(int));
	local_limits_delete(t);
	return tap_done();
}
