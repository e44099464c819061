/*
 * query.c: strict query-string parsing (see query.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker/query.h"

static int fail(struct query_error *e, int status, const char *code, const char *msg)
{
	e->status = status;
	e->code = code;
	snprintf(e->message, sizeof(e->message), "%s", msg);
	return -1;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode s[0..len) ('+' is a space). Returns the new string or NULL on a bad escape or no memory. */
static char *pct_decode(const char *s, size_t len, size_t *outlen, int *bad)
{
	char *out = malloc(len + 1);
	size_t o = 0;

	*bad = 0;
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '%') {
			int hi, lo;

			if (i + 2 >= len) {
				*bad = 1;
				free(out);
				return NULL;
			}
			hi = hexval((unsigned char)s[i + 1]);
			lo = hexval((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0) {
				*bad = 1;
				free(out);
				return NULL;
			}
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else if (s[i] == '+') {
			out[o++] = ' ';
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	*outlen = o;
	return out;
}

/* pct_decode gave NULL: a bad escape (bad set) or no memory. */
static int decode_failed(struct query_error *e, int bad)
{
	return bad ? fail(e, 400, "invalid_encoding", "The query string has an invalid percent-encoding (% must be followed by two hex digits).")
	    : fail(e, 500, "internal", "Out of memory.");
}

/* The allowed name that seg's name (namelen bytes, percent-encoded) decodes to, or NULL (*rc says why). */
static const char *allowed_name(const char *seg, size_t namelen, const char *const *allowed, struct query_error *e,
    int *rc)
{
	size_t nlen, k;
	int bad;
	char *name = pct_decode(seg, namelen, &nlen, &bad);

	if (name == NULL) {
		*rc = decode_failed(e, bad);
		return NULL;
	}
	for (k = 0; allowed[k]; k++)
		if (strlen(allowed[k]) == nlen && memcmp(allowed[k], name, nlen) == 0)
			break;
	free(name);
	if (allowed[k] == NULL)
		*rc = fail(e, 400, "unknown_parameter", "The query string has a parameter this endpoint does not take.");
	return allowed[k];
}

/* One name=value segment (seglen > 0) into q: an allowed name, given once, its value decoded. */
static int add_param(struct query *q, const char *seg, size_t seglen, const char *const *allowed,
    struct query_error *e)
{
	const char *eq = memchr(seg, '=', seglen), *name;
	size_t namelen = eq ? (size_t)(eq - seg) : seglen, vlen;
	char *value;
	int bad, rc = -1;

	if ((name = allowed_name(seg, namelen, allowed, e, &rc)) == NULL)
		return rc;
	if (query_get(q, name, NULL) != NULL) {
		char msg[128];

		snprintf(msg, sizeof(msg), "The parameter %s is given more than once.", name);
		return fail(e, 400, "repeated_parameter", msg);
	}
	if (q->n >= QUERY_MAX_PARAMS)
		return fail(e, 400, "too_many_parameters", "The query string has too many parameters.");
	value = eq ? pct_decode(eq + 1, seglen - namelen - 1, &vlen, &bad) : pct_decode("", 0, &vlen, &bad);
	if (value == NULL)
		return decode_failed(e, bad);
	q->p[q->n].name = name;
	q->p[q->n].value = value;
	q->p[q->n].len = vlen;
	q->n++;
	return 0;
}

int query_parse(const char *qs, size_t qslen, size_t max_len, const char *const *allowed,
    struct query *q, struct query_error *e)
{
	size_t pos = 0;

	memset(q, 0, sizeof(*q));
	if (qslen > max_len) {
		char msg[128];

		snprintf(msg, sizeof(msg), "The query string is longer than %zu bytes.", max_len);
		return fail(e, 414, "query_too_long", msg);
	}
	while (pos < qslen) {
		const char *seg = qs + pos, *amp = memchr(seg, '&', qslen - pos);
		size_t seglen = amp ? (size_t)(amp - seg) : qslen - pos;

		pos += seglen + 1;
		if (seglen > 0 && add_param(q, seg, seglen, allowed, e) < 0)
			return -1;
	}
	return 0;
}

void query_free(struct query *q)
{
	for (size_t i = 0; i < q->n; i++)
		free(q->p[i].value);
	q->n = 0;
}

const char *query_get(const struct query *q, const char *name, size_t *len)
{
	for (size_t i = 0; i < q->n; i++)
		if (strcmp(q->p[i].name, name) == 0) {
			if (len)
				*len = q->p[i].len;
			return q->p[i].value;
		}
	return NULL;
}

int query_require(const struct query *q, const char *name, struct query_error *e)
{
	size_t len;
	char msg[128];

	if (query_get(q, name, &len) != NULL && len > 0)
		return 0;
	snprintf(msg, sizeof(msg), "The parameter %s is missing or empty.", name);
	return fail(e, 400, "missing_parameter", msg);
}

int query_check_slug(const char *slug, size_t len, struct query_error *e)
{
	if (len == 0 || len > 64)
		return fail(e, 400, "invalid_slug", "The slug must be 1 to 64 letters, digits or underscores.");
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)slug[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
			return fail(e, 400, "invalid_slug", "The slug must be 1 to 64 letters, digits or underscores.");
	}
	return 0;
}

int query_parse_ver(const char *ver, size_t len, int *out, struct query_error *e)
{
	int v = 0;

	if (len == 0 || len > 9)
		return fail(e, 400, "invalid_version", "The version must be a whole number of 1 to 9 digits.");
	for (size_t i = 0; i < len; i++) {
		if (ver[i] < '0' || ver[i] > '9')
			return fail(e, 400, "invalid_version", "The version must be a whole number of 1 to 9 digits.");
		v = v * 10 + (ver[i] - '0');
	}
	*out = v;
	return 0;
}

int query_check_cmd(const char *cmd, size_t len, size_t max, struct query_error *e)
{
	if (len == 0)
		return fail(e, 400, "missing_parameter", "The parameter cmd is missing or empty.");
	if (len > max) {
		char msg[128];

		snprintf(msg, sizeof(msg), "The command is longer than %zu bytes.", max);
		return fail(e, 414, "cmd_too_long", msg);
	}
	if (memchr(cmd, '\0', len) != NULL)
		return fail(e, 400, "nul_byte", "The command contains a NUL byte.");
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)cmd[i];

		if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f)
			return fail(e, 400, "control_byte", "The command contains a control character (only tab and newline are allowed).");
	}
	return 0;
}
