/* inflight.c: per-client executions and waits in flight, across processes, leftovers forgotten. */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"
#include "worker/inflight.h"

#define AGE 30000

int main(void)
{
	struct inflight_table *t = inflight_new(8);
	int a, b, c, w1, full[8];
	pid_t kid;

	ok(t != NULL, "a table in shared memory");
	a = inflight_enter(t, "192.0.2.1", INFLIGHT_EXEC, 2, 1000, AGE);
	b = inflight_enter(t, "192.0.2.1", INFLIGHT_EXEC, 2, 1000, AGE);
	ok(a >= 0 && b >= 0 && a != b, "two executions of one client: admitted");
	is_int(inflight_enter(t, "192.0.2.1", INFLIGHT_EXEC, 2, 1000, AGE), -1, "a third: refused");
	w1 = inflight_enter(t, "192.0.2.1", INFLIGHT_WAIT, 1, 1000, AGE);
	ok(w1 >= 0, "a wait counts apart from executions");
	is_int(inflight_enter(t, "192.0.2.1", INFLIGHT_WAIT, 1, 1000, AGE), -1, "a second wait over a limit of 1: refused");
	c = inflight_enter(t, "192.0.2.2", INFLIGHT_EXEC, 2, 1000, AGE);
	ok(c >= 0, "another client: its own share");
	is_int(inflight_count(t, "192.0.2.1", INFLIGHT_EXEC, 1000, AGE), 2, "counted: 2 executions");
	inflight_leave(t, a);
	is_int(inflight_count(t, "192.0.2.1", INFLIGHT_EXEC, 1000, AGE), 1, "one left: 1");
	a = inflight_enter(t, "192.0.2.1", INFLIGHT_EXEC, 2, 1000, AGE);
	ok(a >= 0, "and a new one is admitted");
	ok(inflight_enter(t, "192.0.2.1", INFLIGHT_EXEC, 0, 1000, AGE) >= 0, "max 0: no limit");
	is_int(inflight_enter(t, "192.0.2.1", INFLIGHT_EXEC, 2, 1000 + AGE + 1, AGE) >= 0, 1,
	    "records older than any request can live no longer count");

	/* A process that dies holding places: they stop counting. */
	inflight_delete(t);
	t = inflight_new(8);
	kid = fork();
	if (kid == 0) {
		inflight_enter(t, "198.51.100.9", INFLIGHT_EXEC, 2, 1000, AGE);
		inflight_enter(t, "198.51.100.9", INFLIGHT_EXEC, 2, 1000, AGE);
		raise(SIGKILL);
		_exit(1);
	}
	waitpid(kid, NULL, 0);
	is_int(inflight_count(t, "198.51.100.9", INFLIGHT_EXEC, 1000, AGE), 0, "a killed worker's places are gone");
	ok(inflight_enter(t, "198.51.100.9", INFLIGHT_EXEC, 2, 1000, AGE) >= 0, "the client is admitted again");

	/* A full table admits without a record (-2): never refuses for want of room. */
	inflight_delete(t);
	t = inflight_new(8);
	for (int i = 0; i < 8; i++)
		full[i] = inflight_enter(t, "203.0.113.1", INFLIGHT_WAIT, 100, 1000, AGE);
	ok(full[7] >= 0, "eight records fill it");
	is_int(inflight_enter(t, "203.0.113.2", INFLIGHT_EXEC, 2, 1000, AGE), -2, "a ninth: admitted unrecorded (-2)");
	inflight_delete(t);
	return tap_done();
}
