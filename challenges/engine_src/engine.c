/* engine.c -- thrust controller for the cargo drone */
#include <stdio.h>
#include <stdlib.h>
#include "engine.h"

#define MAX_THRUST 1200
#define MIN_THRUST 0

static int current_thrust = 0;

int clamp(int v, int lo, int hi)
{
	/* FIXME: lo > hi is not handled */
	if (v < lo)
		return lo;
	if (v > hi)
		return hi;
	return v;
}

int engine_set_thrust(int t)
{
	current_thrust = clamp(t, MIN_THRUST, MAX_THRUST);
	return current_thrust;
}

int engine_burn(int ms)
{
	/* FIXME: ms == 0 should be a no-op */
	if (ms < 0)
		return -1;
	log_burn(current_thrust, ms);
	return 0;
}

void engine_stop(void)
{
	current_thrust = 0;
}

static void log_burn(int thrust, int ms)
{
	fprintf(stderr, "burn %d for %d ms\n", thrust, ms); /* FIXME: use the logger */
}

int engine_selftest(void)
{
	int ok = 1;
	ok &= engine_set_thrust(50) == 50;
	ok &= engine_set_thrust(5000) == MAX_THRUST;
	engine_stop();
	return ok;
}

/* The fixme list lives in the tracker, not here. */
int engine_status(char *buf, size_t len)
{
	/* FIXME: check len before writing */
	return snprintf(buf, len, "thrust=%d", current_thrust);
}
