/*
 * pool/proto.c: encode and decode the pool protocol's messages (see pool/proto.h).
 * Pure functions over buffers: the sockets are the callers' business.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "pool/proto.h"

/* A cursor over the packet being decoded. */
struct reader {
	const char *p, *end;
};

static bool is_id_char(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	    c == '.' || c == '-';
}

static bool valid_id(const char *id)
{
	size_t n = strnlen(id, DOCKER_ID_MAX + 1);

	if (n == 0 || n > DOCKER_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_id_char(id[i]))
			return false;
	return true;
}

static bool valid_code(const char *code)
{
	size_t n = strnlen(code, POOL_CODE_MAX + 1);

	if (n == 0 || n > POOL_CODE_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((code[i] >= 'a' && code[i] <= 'z') || code[i] == '_'))
			return false;
	return true;
}

static bool valid_text(const char *text)
{
	size_t n = strnlen(text, POOL_TEXT_MAX + 1);

	if (n > POOL_TEXT_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (text[i] < 0x20 || text[i] > 0x7e)
			return false;
	return true;
}

int pool_msg_encode(const struct pool_msg *m, char *buf, size_t size)
{
	int n;

	switch (m->type) {
	case POOL_MSG_TAKE:
		if (m->variant < 0 || m->variant >= POOL_VARIANTS)
			return -1;
		n = snprintf(buf, size, "T %lu %d", m->seq, m->variant);
		break;
	case POOL_MSG_DONE:
	case POOL_MSG_FAILED:
		if (m->engine < 0 || !valid_id(m->id))
			return -1;
		n = snprintf(buf, size, "%c %d %s", (char)m->type, m->engine, m->id);
		break;
	case POOL_MSG_CONTAINER:
		if (m->engine < 0 || !valid_id(m->id))
			return -1;
		n = snprintf(buf, size, "C %lu %d %s", m->seq, m->engine, m->id);
		break;
	case POOL_MSG_ERROR:
		if (!valid_code(m->code) || !valid_text(m->text))
			return -1;
		n = snprintf(buf, size, "E %lu %s %s", m->seq, m->code, m->text);
		break;
	case POOL_MSG_RECONNECT:
		n = snprintf(buf, size, "R %lu", m->seq);
		break;
	default:
		return -1;
	}
	if (n < 0 || (size_t)n >= size || n > POOL_MSG_MAX)
		return -1;
	return n;
}

/* ---- decoding ---- */

static bool read_space(struct reader *r)
{
	if (r->p == r->end || *r->p != ' ')
		return false;
	r->p++;
	return true;
}

/* A decimal number of at most max, no sign, no leading zero but "0" itself. */
static bool read_number(struct reader *r, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;
	const char *start = r->p;

	while (r->p < r->end && *r->p >= '0' && *r->p <= '9') {
		unsigned d = (unsigned)(*r->p - '0');

		if (v > (max - d) / 10)
			return false;
		v = v * 10 + d;
		r->p++;
	}
	if (r->p == start || (*start == '0' && r->p - start > 1))
		return false;
	*out = v;
	return true;
}

static bool read_int(struct reader *r, int *out)
{
	unsigned long v;

	if (!read_number(r, INT_MAX, &v))
		return false;
	*out = (int)v;
	return true;
}

/* A word of at most max characters accepted by ok, copied NUL-terminated into out. */
static bool read_word(struct reader *r, size_t max, bool (*ok)(char), char *out)
{
	size_t n = 0;

	while (r->p + n < r->end && r->p[n] != ' ') {
		if (n == max || !ok(r->p[n]))
			return false;
		n++;
	}
	if (n == 0)
		return false;
	memcpy(out, r->p, n);
	out[n] = '\0';
	r->p += n;
	return true;
}

static bool is_code_char(char c)
{
	return (c >= 'a' && c <= 'z') || c == '_';
}

static bool read_id(struct reader *r, char *out)
{
	return read_word(r, DOCKER_ID_MAX, is_id_char, out);
}

/* The rest of the packet as the sentence (printable, bounded). */
static bool read_text(struct reader *r, char *out)
{
	size_t n = (size_t)(r->end - r->p);

	if (n > POOL_TEXT_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (r->p[i] < 0x20 || r->p[i] > 0x7e)
			return false;
	memcpy(out, r->p, n);
	out[n] = '\0';
	r->p += n;
	return true;
}

static bool decode_fields(struct reader *r, struct pool_msg *m)
{
	switch (m->type) {
	case POOL_MSG_TAKE:
		return read_space(r) && read_number(r, ULONG_MAX, &m->seq) && read_space(r) &&
		    read_int(r, &m->variant) && m->variant < POOL_VARIANTS;
	case POOL_MSG_DONE:
	case POOL_MSG_FAILED:
		return read_space(r) && read_int(r, &m->engine) && read_space(r) && read_id(r, m->id);
	case POOL_MSG_CONTAINER:
		return read_space(r) && read_number(r, ULONG_MAX, &m->seq) && read_space(r) &&
		    read_int(r, &m->engine) && read_space(r) && read_id(r, m->id);
	case POOL_MSG_ERROR:
		if (!(read_space(r) && read_number(r, ULONG_MAX, &m->seq) && read_space(r) &&
		    read_word(r, POOL_CODE_MAX, is_code_char, m->code)))
			return false;
		/* "E <seq> <code>" alone carries an empty sentence. */
		return r->p == r->end || (read_space(r) && read_text(r, m->text));
	case POOL_MSG_RECONNECT:
		return read_space(r) && read_number(r, ULONG_MAX, &m->seq);
	}
	return false;
}

int pool_msg_decode(const char *buf, size_t len, struct pool_msg *m)
{
	struct reader r = { buf, buf + len };

	memset(m, 0, sizeof(*m));
	if (len == 0 || len > POOL_MSG_MAX)
		return -1;
	switch (buf[0]) {
	case 'T': case 'D': case 'F': case 'C': case 'E': case 'R':
		m->type = (enum pool_msg_type)buf[0];
		break;
	default:
		return -1;
	}
	r.p++;
	if (!decode_fields(&r, m) || r.p != r.end) {
		memset(m, 0, sizeof(*m));
		return -1;
	}
	return 0;
}
