/*
 * verdict_size.h: a verdict's reply has a bounded size whatever the command
 * printed. The output is cut by the size it takes once escaped in JSON (a
 * control byte becomes \u00XX: six bytes for one), so that the whole reply,
 * the one served, stored in Redis and cached by nginx, is at most
 * VERDICT_REPLY_MAX bytes. A cut output is flagged truncated.
 */
#ifndef CMDARENA_VERDICT_SIZE_H
#define CMDARENA_VERDICT_SIZE_H

#include <stddef.h>

#include "engine/sandbox.h"

#define VERDICT_REPLY_MAX (96 * 1024)

/* The bytes s[0..n) take inside a JSON string as json-c writes it (no slash escaping). */
size_t json_escaped_len(const char *s, size_t n);

/*
 * The longest prefix of the UTF-8 text s[0..n) whose escaped size is at most
 * budget, ending on a character boundary.
 */
size_t escaped_prefix(const char *s, size_t n, size_t budget);

/*
 * The /r reply body of v, at most max bytes: v's output is shortened (and
 * v->truncated set) when the reply would be longer. NULL when out of memory
 * or when even an empty output does not fit.
 */
char *verdict_reply_bounded(const char *slug, int ver, struct verdict *v, size_t max, size_t *len);

#endif
