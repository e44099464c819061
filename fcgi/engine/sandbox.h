/*
 * sandbox.h: what a sandbox container is (the create spec with every limit),
 * what the runner is asked (the request line) and what it answered (the
 * verdict, validated: the container is untrusted).
 */
#ifndef CMDARENA_SANDBOX_H
#define CMDARENA_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "config/catalogue.h"
#include "config/config.h"

#define NONCE_LEN 32

/* The JSON body of POST /containers/create. nobin hides /bin, /usr/bin, /usr/sbin. */
char *sandbox_container_spec(const struct config *c, bool nobin);

/*
 * The runner request line (ending in '\n') for cmd[0..len) on challenge ch.
 * A fresh random nonce is written to nonce (NUL-terminated).
 */
char *sandbox_runner_request(const struct config *c, const struct challenge *ch, const char *cmd, size_t len,
    char nonce[NONCE_LEN + 1], size_t *reqlen);

/* A fresh random nonce (NONCE_LEN hex digits) for a runner request. Returns 0, or -1. */
int sandbox_make_nonce(char nonce[NONCE_LEN + 1]);

/*
 * Finish a runner request object that holds "nonce" and the command ("cmd_b64", or "attempts"):
 * add the service's limits (output_cap the output's), then the challenge's members
 * (ch->runner_spec), and return it as the runner reads it: one line ended by '\n' (malloc'd;
 * *reqlen its length), or NULL.
 */
char *sandbox_request_finish(json_object *req, const struct config *c, const struct challenge *ch,
    size_t output_cap, size_t *reqlen);

struct verdict {
	bool correct;
	char *output;		/* valid UTF-8 */
	size_t output_len;
	int exit_code;
	char *message;		/* NULL when correct */
	bool timed_out;
	bool truncated;
	bool transient;		/* it measured the machine or the challenge, not the command:
				 * kept for minutes at most, never a solution */
};

/* Parse and check the runner's answer. Returns 0, or -1 with a reason in err. */
int sandbox_parse_verdict(const char *line, size_t len, const char *nonce, size_t output_cap, struct verdict *v,
    char *err, size_t errlen);
void verdict_free(struct verdict *v);

/* The /r reply body for a verdict (the fixed format of the foundation issue). */
char *verdict_reply_json(const char *slug, int ver, const struct verdict *v, size_t *len);

#endif
