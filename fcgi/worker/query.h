/*
 * query.h: strict parsing of a request's query string.
 *
 * Everything a client sends is checked here before anything else looks at
 * it: total length, percent-encoding, which parameters exist, repeats, NUL
 * and control bytes, and the form of slug and ver. Each failure carries an
 * HTTP status, a stable code token and a sentence for the client.
 */
#ifndef CMDARENA_QUERY_H
#define CMDARENA_QUERY_H

#include <stdbool.h>
#include <stddef.h>

#define QUERY_MAX_PARAMS 8

struct query_param {
	const char *name;	/* one of the allowed names (not owned) */
	char *value;		/* decoded, NUL-terminated (may hold other NULs: see len) */
	size_t len;
};

struct query {
	struct query_param p[QUERY_MAX_PARAMS];
	size_t n;
};

struct query_error {
	int status;		/* HTTP status */
	const char *code;	/* e.g. "invalid_encoding" */
	char message[256];
};

/*
 * Parse qs (length qslen) allowing only the names in allowed (NULL-ended).
 * Returns 0, or -1 with e filled. q must be freed with query_free() either way.
 */
int query_parse(const char *qs, size_t qslen, size_t max_len, const char *const *allowed,
    struct query *q, struct query_error *e);
void query_free(struct query *q);

/* The decoded value of name, or NULL when absent (len may be NULL). */
const char *query_get(const struct query *q, const char *name, size_t *len);

/* Require name to be present and non-empty. */
int query_require(const struct query *q, const char *name, struct query_error *e);

/* slug: 1-64 of [A-Za-z0-9_]. */
int query_check_slug(const char *slug, size_t len, struct query_error *e);

/* ver: 1-9 decimal digits. */
int query_parse_ver(const char *ver, size_t len, int *out, struct query_error *e);

/* cmd: 1..max bytes, no NUL, no control bytes except tab, newline, CR. */
int query_check_cmd(const char *cmd, size_t len, size_t max, struct query_error *e);

#endif
