/*
 * request.h: the runner's one JSON request (runner/README.md, "Request"),
 * parsed and validated.
 */
#ifndef CMDARENA_REQUEST_H
#define CMDARENA_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/compare.h"

#define REQUEST_MAX_BYTES	(4 * 1024 * 1024)
#define REQUEST_NONCE_MAX	64
#define REQUEST_MAX_HELPERS	8
#define REQUEST_HELPER_NAME_MAX	64
#define REQUEST_MAX_ATTEMPTS	4096

/* A helper process started at a fixed pid before setup (cmdchallenge's oops track). */
struct helper_spec {
	long pid;
	char name[REQUEST_HELPER_NAME_MAX + 1];	/* its argv[0] */
	bool killable;		/* the user's command may signal it */
};

/* One command to judge: the request's cmd_b64, or one of its audit attempts. */
struct attempt {
	char *cmd;		/* decoded bytes, NUL-terminated, no NUL inside */
	size_t len;
};

struct request {
	char nonce[REQUEST_NONCE_MAX + 1];
	/*
	 * The commands: one (cmd_b64), or several (attempts, audit only: the
	 * service never sends it), each judged as if alone, with the full reset
	 * between them. The verdict line then holds "verdicts": [...].
	 */
	struct attempt *attempts;
	size_t n_attempts;
	bool audit;		/* the request used "attempts" */
	char *dir;		/* challenge directory name */
	long timeout_ms;	/* the user's command, all runs together */
	long script_timeout_ms;	/* each setup, check and randomize script */
	long total_ms;		/* everything, scripts included: the runner's own deadline */
	size_t output_cap;	/* bytes of output kept per run */
	bool has_expected;	/* false: "expected" was null */
	bool lines_null;	/* expected.lines was null: only randomize's lines are compared */
	struct expect expected;	/* defaults (order true, ...) even when !has_expected */
	char *setup;		/* NULL when absent */
	char *check;
	char *randomize;
	bool setup_killable;	/* setup's processes may be signalled by the command */
	struct helper_spec helpers[REQUEST_MAX_HELPERS];	/* ascending pids */
	size_t n_helpers;
};

/*
 * Parse text[0..len) into req. Returns 0, or -1 with a sentence in err
 * (size errlen). req is always safe to pass to request_free() afterwards.
 */
int request_parse(const char *text, size_t len, struct request *req, char *err, size_t errlen);
void request_free(struct request *req);

#endif
