/*
 * audit.h: cmdarena-check --audit, the attack on every challenge (cmdarena-check(1)).
 *
 * audit_strategy.c builds the forgeries (bash commands made from a challenge, its example, what
 * the example printed in run 1 and its expected lines); audit.c asks one container to judge many
 * of them (the runner's "attempts" request), reads the list of verdicts and prints TAP.
 */
#ifndef CMDARENA_AUDIT_H
#define CMDARENA_AUDIT_H

#include <stdbool.h>
#include <stddef.h>

#include "check/audit_names.h"
#include "config/catalogue.h"
#include "config/config.h"
#include "engine/docker.h"
#include "engine/sandbox.h"
#include "lib/strbuf.h"

/* Largest command the runner takes (cmd_b64 decoded). */
#define AUDIT_CMD_MAX 65536
/* How many randomized judgements an expected failure gets when its first run is correct. */
#define AUDIT_RANDOMIZATIONS 20
/* Attempts per container (one request); more are split over several containers. */
#define AUDIT_CHUNK 50

/* What the probe learnt of the layout the example leaves (audit_probe_command). */
struct audit_probe {
	bool known;
	long entries;		/* entries the example touched (made, changed, moved, chmodded: newer ctime) */
	long files;		/* regular files it touched */
	long nonempty;		/* ... of at least one byte */
	long left_nonempty;	/* regular files of at least one byte it leaves, touched or not */
	bool changed;		/* the example changed the tree (names, kinds, sizes, modes, mtimes, bytes) */
};

/* Everything a strategy is built from. */
struct audit_input {
	const struct challenge *ch;
	bool have_run1;		/* the example was judged correct and its first output is known */
	const char *run1;	/* what the example printed in run 1 */
	size_t run1_len;
	struct audit_probe probe;
	int pids_limit;		/* the container's, used when the cgroup does not say */
};

/* What a strategy needs to be meaningful on a challenge (else it is skipped, with the reason). */
enum audit_need {
	AUDIT_NEED_TOOLS = 1 << 0,	/* programs: not on cmd-no-bin */
	AUDIT_NEED_CHECK = 1 << 1,	/* the files decide only through a check */
	AUDIT_NEED_CHANGE = 1 << 2,	/* the example changes the files */
	AUDIT_NEED_ENTRIES = 1 << 3,	/* the example touches an entry it leaves */
	AUDIT_NEED_FILES = 1 << 4,	/* ... a regular file */
	AUDIT_NEED_NONEMPTY = 1 << 5,	/* ... a regular file with bytes */
	AUDIT_NEED_LINES = 1 << 6,	/* the challenge has expected lines */
	AUDIT_NEED_RUN1 = 1 << 7,	/* the example's run-1 output */
	AUDIT_NEED_LEFT_NONEMPTY = 1 << 8,	/* the example leaves a regular file with bytes */
};

struct audit_strategy {
	const char *name;	/* as in audit_names.h (and audit_allow) */
	const char *what;	/* one sentence */
	unsigned needs;
	int (*build)(const struct audit_input *in, struct strbuf *cmd);
	/*
	 * "replay" for the strategies that print the hard-coded answer (plus some sabotage): where
	 * audit_allow allows replay (the answer is a constant), they can tell nothing and are allowed too.
	 */
	const char *covered_by;
};

extern const struct audit_strategy audit_strategies[];
extern const size_t audit_n_strategies;

/* Append s[0..len) as one bash word in single quotes (NUL bytes dropped). */
int audit_quote(struct strbuf *sb, const char *s, size_t len);

/*
 * Build strategy s for in into cmd. Returns 1 (built), 0 (skipped: *why says why, static text)
 * or -1 (out of memory).
 */
int audit_build(const struct audit_strategy *s, const struct audit_input *in, struct strbuf *cmd, const char **why);

/*
 * The probe: run the example, print one line
 * "cmdarena-audit-probe ENTRIES FILES NONEMPTY LEFT_NONEMPTY same|changed" (what it touched and
 * left, the non-empty files it leaves, and whether the tree differs at all afterwards).
 */
int audit_probe_command(const struct challenge *ch, struct strbuf *cmd);
/* Find and read that line in a run's output. Returns 0, or -1 when it is not there. */
int audit_parse_probe(const char *out, size_t len, struct audit_probe *p);

/*
 * The runner request judging cmds[0..n) one after the other in one container (each with the full
 * reset between attempts), budgets per attempt, output capped at output_cap. A fresh nonce is
 * written to nonce.
 */
char *audit_request(const struct config *c, const struct challenge *ch, char *const *cmds, size_t n,
    size_t output_cap, char nonce[NONCE_LEN + 1], size_t *reqlen);

struct audit_verdict {
	bool ran;		/* judged: v and first_run_correct hold */
	bool first_run_correct;
	struct verdict v;
	char *error;		/* when !ran: why the sandbox could not judge it */
};

/*
 * Read the runner's answer {"nonce":..., "verdicts":[...]} to an n-attempt request into out[0..n).
 * An attempt the sandbox could not judge ({"error":...}) gets ran = false and its error. Returns 0,
 * or -1 with a reason in err when the answer as a whole is unusable (then out holds nothing).
 */
int audit_parse_verdicts(const char *line, size_t len, const char *nonce, size_t n, size_t output_cap,
    struct audit_verdict *out, char *err, size_t errlen);
void audit_verdict_free(struct audit_verdict *av);

/* Does this challenge need one container per attempt (fixed-PID helper processes)? */
bool audit_needs_own_containers(const struct challenge *ch);

/* Run the audit over the selected challenges (all when n_slugs is 0); TAP on stdout. Exit status. */
int audit_main(const struct config *cfg, const struct catalogue *cat, const struct engine *engine,
    char **slugs, int n_slugs, int jobs);

#endif
