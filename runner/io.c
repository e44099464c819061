/*
 * io.c: the runner's one line in (the request, read from stdin up to the
 * first newline) and its one line out (the verdict or an error, JSON on
 * stdout). Nothing else ever goes to stdout.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/utf8.h"
#include "runner.h"

/* write(2) all of buf. */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Write obj as one line on stdout, then free it. */
int io_emit(struct json_object *obj)
{
	const char *text;
	int rc = -1;

	if (obj == NULL)
		return -1;
	text = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (text != NULL)
		rc = write_all(1, text, strlen(text)) == 0 && write_all(1, "\n", 1) == 0 ? 0 : -1;
	json_object_put(obj);
	if (rc < 0)
		fprintf(stderr, "cmdarena-runner: cannot write to stdout: %s\n", strerror(errno));
	return rc;
}

/* {"nonce": ..., "error": ...}; no nonce when the request was unreadable. */
int io_emit_error(const char *nonce, const char *message)
{
	struct json_object *obj = json_object_new_object();

	fprintf(stderr, "cmdarena-runner: %s\n", message);
	if (obj == NULL)
		return -1;
	if (nonce != NULL && nonce[0] != '\0')
		json_object_object_add(obj, "nonce", json_object_new_string(nonce));
	json_object_object_add(obj, "error", json_object_new_string(message));
	return io_emit(obj);
}

/* The verdict as a JSON object (without the nonce), or NULL. */
struct json_object *judgement_json(const struct judgement *v, bool audit)
{
	struct json_object *obj = json_object_new_object();
	size_t len = v->run.output_len, clean_len = 0;
	char *clean;

	if (obj == NULL)
		return NULL;
	/* A cut at the cap must not leave half a character (it would become U+FFFD). */
	if (v->run.truncated)
		len = utf8_trim_partial(v->run.output, len);
	clean = utf8_sanitize(v->run.output ? v->run.output : "", len, &clean_len);
	if (clean == NULL) {
		json_object_put(obj);
		return NULL;
	}
	json_object_object_add(obj, "correct", json_object_new_boolean(v->correct));
	json_object_object_add(obj, "output", json_object_new_string_len(clean, (int)clean_len));
	json_object_object_add(obj, "exit_code", json_object_new_int(v->run.exit_code));
	json_object_object_add(obj, "message",
	    v->message ? json_object_new_string(v->message) : NULL);
	json_object_object_add(obj, "timed_out", json_object_new_boolean(v->run.timed_out));
	json_object_object_add(obj, "truncated", json_object_new_boolean(v->run.truncated));
	json_object_object_add(obj, "transient", json_object_new_boolean(v->transient));
	if (audit)
		json_object_object_add(obj, "first_run_correct", json_object_new_boolean(v->first_run_correct));
	free(clean);
	return obj;
}

int io_emit_verdict(const char *nonce, const struct judgement *v)
{
	struct json_object *obj = judgement_json(v, false);

	if (obj == NULL)
		return -1;
	json_object_object_add(obj, "nonce", json_object_new_string(nonce));
	return io_emit(obj);
}

/* Read stdin up to the first '\n' (or EOF), at most REQUEST_MAX_BYTES. */
char *io_read_request(size_t *len, char *err, size_t errlen)
{
	const size_t max = REQUEST_MAX_BYTES + 1;	/* one more byte tells "too long" */
	size_t cap = 65536, used = 0;
	char *buf = malloc(cap), *nl;

	while (buf != NULL) {
		ssize_t n;

		if (used == cap) {
			char *bigger;

			if (cap == max) {
				snprintf(err, errlen, "The request is longer than %d bytes.",
				    REQUEST_MAX_BYTES);
				break;
			}
			cap = cap * 2 > max ? max : cap * 2;
			bigger = realloc(buf, cap);
			if (bigger == NULL)
				break;
			buf = bigger;
		}
		n = read(0, buf + used, cap - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "Cannot read the request: %s.", strerror(errno));
			break;
		}
		nl = memchr(buf + used, '\n', (size_t)n);
		used += (size_t)n;
		if (nl != NULL || n == 0) {
			*len = nl ? (size_t)(nl - buf) : used;
			if (*len == 0) {
				snprintf(err, errlen, "The request is empty.");
				break;
			}
			return buf;
		}
	}
	if (err[0] == '\0')
		snprintf(err, errlen, "Out of memory reading the request.");
	free(buf);
	return NULL;
}
