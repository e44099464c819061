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

/*
 * Start n helpers (ascending pids): each is `sleep infinity` (sleep_path)
 * under its name as argv[0], in a session of its own, as the judge user
 * (PRIVS_JUDGE, or PRIVS_JUDGE_KILLABLE). The pids below each one are used
 * up by short-lived children first. sids[i] gets helper i's session (= pid).
 * Returns 0, or -1 with err filled (a pid already taken, fork failing).
 */
int helpers_start(struct exec_ctx *ctx, const struct helper_spec *h, size_t n, const char *sleep_path,
    pid_t *sids, char *err, size_t errlen);

#endif
