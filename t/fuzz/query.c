/*
 * t/fuzz/query.c: libFuzzer target for the query-string parser (fcgi/worker/query.c).
 *
 * The input is a raw QUERY_STRING, not NUL-terminated (ASan sees any read
 * past it). Every accessor a worker uses runs on what parsed, and the
 * parser's promises are checked: a failure carries a status, a code and a
 * sentence; a success holds only allowed names, never repeated, whose
 * decoded values are no longer than the input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "worker/query.h"

#define QUERY_MAX 8192
#define CMD_MAX 1024

static const char *const allowed[] = { "slug", "ver", "cmd", NULL };

/* A broken promise is a crash libFuzzer records, with the input that caused it. */
#define PROMISE(cond) do { if (!(cond)) abort(); } while (0)

static void check_failure(const struct query_error *e)
{
	PROMISE(e->status == 400 || e->status == 414 || e->status == 500);
	PROMISE(e->code != NULL && e->code[0] != '\0');
	PROMISE(e->message[0] != '\0');
	PROMISE(memchr(e->message, '\0', sizeof(e->message)) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct query q;
	struct query_error e;
	const char *qs = (const char *)data;

	memset(&e, 0, sizeof(e));
	if (query_parse(qs, size, QUERY_MAX, allowed, &q, &e) < 0) {
		check_failure(&e);
		PROMISE(size <= QUERY_MAX || e.status == 414);
		query_free(&q);
		return 0;
	}
	PROMISE(size <= QUERY_MAX);
	PROMISE(q.n <= 3);
	for (size_t i = 0; i < q.n; i++) {
		size_t k;

		for (k = 0; allowed[k] && strcmp(allowed[k], q.p[i].name) != 0; k++)
			;
		PROMISE(allowed[k] != NULL);
		for (size_t j = i + 1; j < q.n; j++)
			PROMISE(strcmp(q.p[i].name, q.p[j].name) != 0);
		PROMISE(q.p[i].len <= size);
		PROMISE(q.p[i].value[q.p[i].len] == '\0');
	}
	/* What a worker does next, in its order. */
	for (size_t k = 0; allowed[k]; k++) {
		struct query_error re;
		size_t len = 0;
		const char *v = query_get(&q, allowed[k], &len);

		if (query_require(&q, allowed[k], &re) < 0) {
			check_failure(&re);
			PROMISE(v == NULL || len == 0);
			continue;
		}
		PROMISE(v != NULL && len > 0);
		if (strcmp(allowed[k], "slug") == 0) {
			if (query_check_slug(v, len, &re) < 0)
				check_failure(&re);
			else
				PROMISE(len <= 64 && strlen(v) == len);
		} else if (strcmp(allowed[k], "ver") == 0) {
			int ver = -1;

			if (query_parse_ver(v, len, &ver, &re) < 0)
				check_failure(&re);
			else
				PROMISE(ver >= 0 && len <= 9);
		} else if (query_check_cmd(v, len, CMD_MAX, &re) < 0) {
			check_failure(&re);
		} else {
			PROMISE(len <= CMD_MAX && memchr(v, '\0', len) == NULL);
		}
	}
	query_free(&q);
	return 0;
}
