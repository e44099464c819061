/*
 * request.c: parse and validate the runner's JSON request. Everything is
 * checked here, once; the stages after it trust struct request.
 */
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base64.h"
#include "request.h"

#define DEFAULT_TIMEOUT_MS		5000
#define DEFAULT_SCRIPT_TIMEOUT_MS	2000
#define DEFAULT_OUTPUT_CAP		65536
#define MAX_TIMEOUT_MS			600000
#define DEFAULT_TOTAL_MS		8500
#define MAX_OUTPUT_CAP			(16 * 1024 * 1024)
#define MAX_CMD_BYTES			65536
#define MAX_DIR_BYTES			255
#define MIN_NONCE			16

/* Only ever called with this file's own formats. */
__attribute__((format(printf, 3, 4)))
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static const char *type_name(enum json_type t)
{
	switch (t) {
	case json_type_boolean: return "a boolean";
	case json_type_int: return "an integer";
	case json_type_string: return "a string";
	case json_type_array: return "an array";
	case json_type_object: return "an object";
	default: return "of another type";
	}
}

/*
 * obj's member key of type t: 1 with *out set, 0 when absent or null
 * (*out NULL), -1 with err filled when it has another type.
 */
static int member(struct json_object *obj, const char *key, enum json_type t,
    struct json_object **out, char *err, size_t errlen)
{
	struct json_object *v = NULL;

	*out = NULL;
	if (!json_object_object_get_ex(obj, key, &v) || v == NULL)
		return 0;
	if (!json_object_is_type(v, t))
		return fail(err, errlen, "\"%s\" must be %s or null.", key, type_name(t));
	*out = v;
	return 1;
}

/* A copy of a JSON string that holds no NUL byte, or NULL (err filled). */
static char *string_copy(struct json_object *s, const char *what, char *err, size_t errlen)
{
	size_t len = (size_t)json_object_get_string_len(s);
	const char *text = json_object_get_string(s);
	char *copy;

	if (memchr(text, '\0', len) != NULL) {
		fail(err, errlen, "%s holds a NUL character.", what);
		return NULL;
	}
	copy = strdup(text);
	if (copy == NULL)
		fail(err, errlen, "Out of memory reading %s.", what);
	return copy;
}

/* An optional string member into *dst (NULL when absent or null). */
static int optional_string(struct json_object *obj, const char *key, char **dst,
    char *err, size_t errlen)
{
	struct json_object *v;
	int rc = member(obj, key, json_type_string, &v, err, errlen);

	if (rc <= 0)
		return rc;
	*dst = string_copy(v, key, err, errlen);
	return *dst == NULL ? -1 : 0;
}

static int optional_bool(struct json_object *obj, const char *key, bool *dst,
    char *err, size_t errlen)
{
	struct json_object *v;
	int rc = member(obj, key, json_type_boolean, &v, err, errlen);

	if (rc > 0)
		*dst = json_object_get_boolean(v);
	return rc < 0 ? -1 : 0;
}

/* An optional integer in [min, max] into *dst (left alone when absent). */
static int optional_int(struct json_object *obj, const char *key, long min, long max,
    long *dst, char *err, size_t errlen)
{
	struct json_object *v;
	int rc = member(obj, key, json_type_int, &v, err, errlen);
	int64_t n;

	if (rc <= 0)
		return rc;
	n = json_object_get_int64(v);
	if (n < min || n > max)
		return fail(err, errlen, "\"%s\" must be between %ld and %ld.", key, min, max);
	*dst = (long)n;
	return 0;
}

static int parse_nonce(struct json_object *root, struct request *req, char *err, size_t errlen)
{
	struct json_object *v;
	const char *s;
	size_t len;

	if (member(root, "nonce", json_type_string, &v, err, errlen) <= 0)
		return fail(err, errlen, "\"nonce\" must be a string of 16 to 64 hex digits.");
	s = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	if (len < MIN_NONCE || len > REQUEST_NONCE_MAX || strspn(s, "0123456789abcdef") != len)
		return fail(err, errlen, "\"nonce\" must be a string of 16 to 64 hex digits.");
	memcpy(req->nonce, s, len);
	req->nonce[len] = '\0';
	return 0;
}

/* Decode one base64 command into a; what names it in errors. */
static int decode_cmd(struct json_object *v, struct attempt *a, const char *what, char *err, size_t errlen)
{
	size_t len;

	if (!json_object_is_type(v, json_type_string))
		return fail(err, errlen, "%s must be a base64 string.", what);
	a->cmd = (char *)base64_decode(json_object_get_string(v),
	    (size_t)json_object_get_string_len(v), &len);
	if (a->cmd == NULL)
		return fail(err, errlen, "%s is not valid base64.", what);
	a->len = len;
	if (len == 0 || len > MAX_CMD_BYTES)
		return fail(err, errlen, "The command must be 1 to %d bytes long.", MAX_CMD_BYTES);
	if (memchr(a->cmd, '\0', len) != NULL)
		return fail(err, errlen, "The command holds a NUL byte.");
	return 0;
}

/* "cmd_b64": one command; or "attempts": an array of them (audit). Exactly one of the two. */
static int parse_cmd(struct json_object *root, struct request *req, char *err, size_t errlen)
{
	struct json_object *v = NULL, *list = NULL;
	size_t n;

	if (member(root, "attempts", json_type_array, &list, err, errlen) < 0)
		return -1;
	if (list == NULL) {
		if (member(root, "cmd_b64", json_type_string, &v, err, errlen) <= 0)
			return fail(err, errlen, "\"cmd_b64\" must be a base64 string.");
		req->attempts = calloc(1, sizeof(*req->attempts));
		if (req->attempts == NULL)
			return fail(err, errlen, "Out of memory.");
		req->n_attempts = 1;
		return decode_cmd(v, &req->attempts[0], "\"cmd_b64\"", err, errlen);
	}
	if (json_object_object_get_ex(root, "cmd_b64", &v) && v != NULL)
		return fail(err, errlen, "\"cmd_b64\" and \"attempts\" exclude each other.");
	n = json_object_array_length(list);
	if (n == 0 || n > REQUEST_MAX_ATTEMPTS)
		return fail(err, errlen, "\"attempts\" must hold 1 to %d commands.", REQUEST_MAX_ATTEMPTS);
	req->attempts = calloc(n, sizeof(*req->attempts));
	if (req->attempts == NULL)
		return fail(err, errlen, "Out of memory.");
	req->audit = true;
	for (size_t i = 0; i < n; i++) {
		req->n_attempts = i + 1;
		if (decode_cmd(json_object_array_get_idx(list, i), &req->attempts[i], "An attempt",
		    err, errlen) < 0)
			return -1;
	}
	return 0;
}

/* One helper: {"pid": 2..32767, "name": "...", "killable": bool}. */
static int parse_helper(struct json_object *h, struct helper_spec *hs, char *err, size_t errlen)
{
	static const char allowed[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-";
	struct json_object *name;
	size_t len;

	if (!json_object_is_type(h, json_type_object))
		return fail(err, errlen, "Each helper must be an object.");
	hs->pid = 0;
	if (optional_int(h, "pid", 2, 32767, &hs->pid, err, errlen) < 0 ||
	    optional_bool(h, "killable", &hs->killable, err, errlen) < 0)
		return -1;
	if (hs->pid == 0)
		return fail(err, errlen, "A helper needs a \"pid\" from 2 to 32767.");
	if (member(h, "name", json_type_string, &name, err, errlen) <= 0)
		return fail(err, errlen, "A helper needs a \"name\".");
	len = (size_t)json_object_get_string_len(name);
	if (len == 0 || len > REQUEST_HELPER_NAME_MAX ||
	    strspn(json_object_get_string(name), allowed) != len)
		return fail(err, errlen, "A helper's name must be 1 to %d letters, digits, '_', '.', ':' or '-'.",
		    REQUEST_HELPER_NAME_MAX);
	memcpy(hs->name, json_object_get_string(name), len + 1);
	return 0;
}

static int parse_helpers(struct json_object *root, struct request *req, char *err, size_t errlen)
{
	struct json_object *list;
	int rc = member(root, "helpers", json_type_array, &list, err, errlen);
	size_t n;

	if (rc <= 0)
		return rc;
	n = json_object_array_length(list);
	if (n > REQUEST_MAX_HELPERS)
		return fail(err, errlen, "At most %d helpers.", REQUEST_MAX_HELPERS);
	for (size_t i = 0; i < n; i++) {
		if (parse_helper(json_object_array_get_idx(list, i), &req->helpers[i], err, errlen) < 0)
			return -1;
		if (i > 0 && req->helpers[i].pid <= req->helpers[i - 1].pid)
			return fail(err, errlen, "Helpers must come in ascending order of pid.");
		req->n_helpers = i + 1;
	}
	return 0;
}

static int parse_dir(struct json_object *root, struct request *req, char *err, size_t errlen)
{
	static const char allowed[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-";
	struct json_object *v;
	const char *s;
	size_t len;

	if (member(root, "dir", json_type_string, &v, err, errlen) <= 0)
		return fail(err, errlen, "\"dir\" must be a string.");
	s = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	if (len == 0 || len > MAX_DIR_BYTES || strspn(s, allowed) != len ||
	    strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return fail(err, errlen, "\"dir\" must be a name of letters, digits, '_', '.' and '-'.");
	req->dir = strdup(s);
	return req->dir == NULL ? fail(err, errlen, "Out of memory.") : 0;
}

static int parse_re_sub(struct json_object *exp, struct expect *e, char *err, size_t errlen)
{
	struct json_object *v, *pat = NULL, *rep = NULL;
	int rc = member(exp, "re_sub", json_type_array, &v, err, errlen);

	if (rc <= 0)
		return rc;
	if (json_object_array_length(v) == 2) {
		pat = json_object_array_get_idx(v, 0);
		rep = json_object_array_get_idx(v, 1);
	}
	if (!json_object_is_type(pat, json_type_string) || !json_object_is_type(rep, json_type_string))
		return fail(err, errlen, "\"re_sub\" must be null or [pattern, replacement].");
	e->re_sub_pattern = string_copy(pat, "The re_sub pattern", err, errlen);
	if (e->re_sub_pattern == NULL)
		return -1;
	e->re_sub_replacement = string_copy(rep, "The re_sub replacement", err, errlen);
	return e->re_sub_replacement == NULL ? -1 : 0;
}

static int parse_lines(struct json_object *exp, struct request *req, char *err, size_t errlen)
{
	struct expect *e = &req->expected;
	struct json_object *v;
	size_t n;

	/* null: the challenge has no lines of its own, only randomize's (second run). */
	if (json_object_object_get_ex(exp, "lines", &v) && v == NULL) {
		req->lines_null = true;
		return 0;
	}
	if (member(exp, "lines", json_type_array, &v, err, errlen) <= 0)
		return fail(err, errlen, "\"expected\" needs \"lines\", an array of strings or null.");
	n = json_object_array_length(v);
	e->lines = calloc(n + 1, sizeof(*e->lines));
	if (e->lines == NULL)
		return fail(err, errlen, "Out of memory.");
	for (size_t i = 0; i < n; i++) {
		struct json_object *line = json_object_array_get_idx(v, i);

		if (!json_object_is_type(line, json_type_string))
			return fail(err, errlen, "Expected line %zu is not a string.", i + 1);
		e->lines[i] = string_copy(line, "An expected line", err, errlen);
		if (e->lines[i] == NULL)
			return -1;
		e->n_lines = i + 1;
	}
	return 0;
}

static int parse_expected(struct json_object *root, struct request *req, char *err, size_t errlen)
{
	struct json_object *exp;
	struct expect *e = &req->expected;
	int rc = member(root, "expected", json_type_object, &exp, err, errlen);

	if (rc <= 0)
		return rc;
	req->has_expected = true;
	if (parse_lines(exp, req, err, errlen) < 0 ||
	    optional_bool(exp, "order", &e->order, err, errlen) < 0 ||
	    optional_bool(exp, "ignore_non_matching", &e->ignore_non_matching, err, errlen) < 0 ||
	    optional_bool(exp, "regex", &e->regex, err, errlen) < 0 ||
	    parse_re_sub(exp, e, err, errlen) < 0)
		return -1;
	return expect_validate(e, err, errlen);
}

static int parse_limits(struct json_object *root, struct request *req, char *err, size_t errlen)
{
	long cap = DEFAULT_OUTPUT_CAP;

	if (optional_int(root, "timeout_ms", 1, MAX_TIMEOUT_MS, &req->timeout_ms, err, errlen) < 0 ||
	    optional_int(root, "script_timeout_ms", 1, MAX_TIMEOUT_MS, &req->script_timeout_ms,
		err, errlen) < 0 ||
	    optional_int(root, "total_ms", 1, MAX_TIMEOUT_MS, &req->total_ms, err, errlen) < 0 ||
	    optional_int(root, "output_cap", 1, MAX_OUTPUT_CAP, &cap, err, errlen) < 0)
		return -1;
	req->output_cap = (size_t)cap;
	return 0;
}

static int parse_root(struct json_object *root, struct request *req, char *err, size_t errlen)
{
	if (!json_object_is_type(root, json_type_object))
		return fail(err, errlen, "The request must be a JSON object.");
	if (parse_nonce(root, req, err, errlen) < 0 ||
	    parse_cmd(root, req, err, errlen) < 0 ||
	    parse_dir(root, req, err, errlen) < 0 ||
	    parse_limits(root, req, err, errlen) < 0 ||
	    parse_expected(root, req, err, errlen) < 0 ||
	    optional_string(root, "setup", &req->setup, err, errlen) < 0 ||
	    optional_string(root, "check", &req->check, err, errlen) < 0 ||
	    optional_string(root, "randomize", &req->randomize, err, errlen) < 0 ||
	    optional_bool(root, "setup_killable", &req->setup_killable, err, errlen) < 0 ||
	    parse_helpers(root, req, err, errlen) < 0)
		return -1;
	if (req->lines_null && req->randomize == NULL)
		return fail(err, errlen, "\"expected.lines\" may only be null with a randomize script.");
	if (!req->has_expected && req->check == NULL && req->randomize == NULL)
		return fail(err, errlen, "Nothing judges this challenge: "
		    "\"expected\", \"check\" and \"randomize\" are all null.");
	return 0;
}

int request_parse(const char *text, size_t len, struct request *req, char *err, size_t errlen)
{
	struct json_tokener *tok;
	struct json_object *root;
	size_t end;
	int rc;

	memset(req, 0, sizeof(*req));
	req->timeout_ms = DEFAULT_TIMEOUT_MS;
	req->script_timeout_ms = DEFAULT_SCRIPT_TIMEOUT_MS;
	req->total_ms = DEFAULT_TOTAL_MS;
	req->output_cap = DEFAULT_OUTPUT_CAP;
	req->expected.order = true;
	err[0] = '\0';

	if (len > REQUEST_MAX_BYTES)
		return fail(err, errlen, "The request is larger than %d bytes.", REQUEST_MAX_BYTES);
	tok = json_tokener_new();
	if (tok == NULL)
		return fail(err, errlen, "Out of memory.");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	root = json_tokener_parse_ex(tok, text, (int)len);
	end = root != NULL ? json_tokener_get_parse_end(tok) : len;
	while (end < len && strchr(" \t\r\n", text[end]) != NULL && text[end] != '\0')
		end++;
	if (root == NULL || end != len) {
		enum json_tokener_error jerr = json_tokener_get_error(tok);

		json_object_put(root);
		json_tokener_free(tok);
		if (root != NULL)
			return fail(err, errlen, "The request has data after its JSON object.");
		return fail(err, errlen, "The request is not valid JSON: %s.",
		    jerr == json_tokener_continue ? "it ends too early" :
		    json_tokener_error_desc(jerr));
	}
	json_tokener_free(tok);
	rc = parse_root(root, req, err, errlen);
	json_object_put(root);
	return rc;
}

void request_free(struct request *req)
{
	for (size_t i = 0; i < req->n_attempts; i++)
		free(req->attempts[i].cmd);
	free(req->attempts);
	free(req->dir);
	expect_free(&req->expected);
	free(req->setup);
	free(req->check);
	free(req->randomize);
	memset(req, 0, sizeof(*req));
}
