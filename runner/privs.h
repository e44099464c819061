/*
 * privs.h: who runs what inside the sandbox. The runner is root with a few
 * capabilities; everything it starts drops to one of these identities in the
 * child, between fork and exec (runner/README.md, "Who runs what").
 */
#ifndef CMDARENA_PRIVS_H
#define CMDARENA_PRIVS_H

#include <stdbool.h>

#define PRIVS_USER_UID	1000	/* arena: the visitor's command */
#define PRIVS_JUDGE_UID	1001	/* judge: setup, randomize, helper processes */

enum privs {
	PRIVS_SAME,		/* no change (the runner is not root: development only) */
	PRIVS_USER,		/* uid 1000, no capability, empty bounding set */
	PRIVS_JUDGE,		/* uid 1001: the user can neither signal nor trace it */
	PRIVS_JUDGE_KILLABLE,	/* real uid 1000, effective and saved 1001: the user may
				 * signal it (kill) but never trace it or open its fds */
	PRIVS_CHECK,		/* uid 1000 plus CAP_DAC_READ_SEARCH (ambient): reads
				 * whatever mode the command left */
};

/* True when the runner can switch identities (it is root). */
bool privs_available(void);

/*
 * In a forked child before exec: become p. Only system calls (async-signal
 * safe). Returns 0, or -1 with errno set; the caller must then not exec.
 */
int privs_become(enum privs p);

#endif
