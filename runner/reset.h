/*
 * reset.h: put back every place a command could have written, so that
 * nothing crosses from one run (or audit attempt) to the next: the work
 * root (the working copy, anything beside it, HOME), /tmp, /dev/shm,
 * /dev/mqueue, the judge's own area and System V IPC objects.
 */
#ifndef CMDARENA_RESET_H
#define CMDARENA_RESET_H

#include <stddef.h>

/*
 * Empty the work root and the judge root and give the work root back to the
 * user (mode 0755). As PID 1 and root (in the sandbox) also /tmp, /dev/shm
 * and /dev/mqueue, and the user's System V IPC objects; never elsewhere (a
 * development run on a host must not empty the host's /tmp). Call it only
 * when no process of the user is alive. Returns 0, or -1 with err filled.
 */
int reset_writable(const char *work_root, const char *judge_root, char *err, size_t errlen);

/* Empty the shared scratch places (/tmp, /dev/shm, /dev/mqueue) only, as above. */
int reset_scratch(char *err, size_t errlen);

#endif
