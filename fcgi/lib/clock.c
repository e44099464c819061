/*
 * clock.c: CLOCK_MONOTONIC in milliseconds and microseconds, and a sleep (see clock.h).
 */
#include <errno.h>
#include <time.h>

#include "lib/clock.h"

long long clock_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

long long clock_ms(void)
{
	return clock_us() / 1000;
}

void clock_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}
