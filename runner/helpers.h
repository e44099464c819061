/*
 * helpers.h: start the helper processes a challenge asks for, each at a
 * fixed pid (cmdchallenge's oops track uses 42), before setup.
 */
#ifndef CMDARENA_HELPERS_H
#define CMDARENA_HELPERS_H

#include <stddef.h>
#include <sys/types.h>

#include "exec.h"
#include "request.h"

/* In a helper's environment: the runner started as a helper pauses (main.c). */
#define HELPERS_ENV "CMDARENA_HELPER"

/*
 * Start n helpers (ascending pids): each is the runner (self, its path) in
 * pause mode with its name as its only argument, in a session of its own, as
 * the judge user (PRIVS_JUDGE, or PRIVS_JUDGE_KILLABLE). The pids below each
 * one are used up by short-lived children first. sids[i] gets helper i's
 * session (= pid). Returns 0, or -1 with err filled (a pid already taken,
 * fork failing).
 */
int helpers_start(struct exec_ctx *ctx, const struct helper_spec *h, size_t n, const char *self,
    pid_t *sids, char *err, size_t errlen);

/* The helper's life: take its name as comm, then wait for a signal to end it. Never returns. */
__attribute__((noreturn))
void helpers_pause(const char *argv0);

#endif
