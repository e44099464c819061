/*
 * clock.h: the one monotonic clock every program here reads (the runner, the workers, the pool
 * keeper, cmdarena-check and the bench loop). Deadlines and durations only; never wall time.
 */
#ifndef CMDARENA_CLOCK_H
#define CMDARENA_CLOCK_H

/* Milliseconds on CLOCK_MONOTONIC. */
long long clock_ms(void);

/* Microseconds on CLOCK_MONOTONIC. */
long long clock_us(void);

/* Sleep ms milliseconds, resuming after a signal handler. */
void clock_sleep_ms(int ms);

#endif
