/*
 * strbuf.c: growable buffers (see strbuf.h). Every function returns 0 or -1
 * when memory runs out, leaving the buffer as it was.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/strbuf.h"

int sb_grow(struct strbuf *sb, size_t extra)
{
	size_t want, cap;
	char *p;

	if (extra > ((size_t)-1) / 2 - sb->len)
		return -1;
	want = sb->len + extra + 1;
	if (want <= sb->cap)
		return 0;
	cap = sb->cap ? sb->cap : 64;
	while (cap < want)
		cap *= 2;
	p = realloc(sb->buf, cap);
	if (p == NULL)
		return -1;
	sb->buf = p;
	sb->cap = cap;
	return 0;
}

int sb_add(struct strbuf *sb, const void *data, size_t len)
{
	if (sb_grow(sb, len) < 0)
		return -1;
	if (len)
		memcpy(sb->buf + sb->len, data, len);
	sb->len += len;
	sb->buf[sb->len] = '\0';
	return 0;
}

int sb_adds(struct strbuf *sb, const char *s)
{
	return sb_add(sb, s, strlen(s));
}

int sb_addf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || sb_grow(sb, (size_t)n) < 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sb->len += (size_t)n;
	return 0;
}

void sb_reset(struct strbuf *sb)
{
	sb->len = 0;
	if (sb->buf)
		sb->buf[0] = '\0';
}

void sb_free(struct strbuf *sb)
{
	free(sb->buf);
	sb->buf = NULL;
	sb->len = sb->cap = 0;
}

char *sb_detach(struct strbuf *sb, size_t *len)
{
	char *p;

	if (sb->buf == NULL && sb_grow(sb, 0) < 0)
		return NULL;
	p = sb->buf;
	if (len)
		*len = sb->len;
	sb->buf = NULL;
	sb->len = sb->cap = 0;
	return p;
}
