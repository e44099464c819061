/*
 * strbuf.h: a growable byte buffer, always NUL-terminated.
 */
#ifndef CMDARENA_STRBUF_H
#define CMDARENA_STRBUF_H

#include <stddef.h>

struct strbuf {
	char *buf;
	size_t len;
	size_t cap;
};

#define STRBUF_INIT { NULL, 0, 0 }

int sb_grow(struct strbuf *sb, size_t extra);
int sb_add(struct strbuf *sb, const void *data, size_t len);
int sb_adds(struct strbuf *sb, const char *s);
__attribute__((format(printf, 2, 3)))
int sb_addf(struct strbuf *sb, const char *fmt, ...);
void sb_reset(struct strbuf *sb);
void sb_free(struct strbuf *sb);
/* Hand the buffer to the caller (never NULL unless out of memory) and reset sb. */
char *sb_detach(struct strbuf *sb, size_t *len);

#endif
