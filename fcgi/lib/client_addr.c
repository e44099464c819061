/*
 * client_addr.c: client keys and the trusted proxy list (client_addr.h).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/client_addr.h"

static int parse_addr(const char *s, size_t len, int *family, unsigned char addr[16])
{
	char buf[INET6_ADDRSTRLEN + 1];

	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, addr) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, buf, addr) == 1) {
		*family = AF_INET6;
		return 0;
	}
	return -1;
}

int proxy_list_parse(const char *text, struct proxy_list *out, char *err, size_t errlen)
{
	const char *p = text;

	memset(out, 0, sizeof(*out));
	while (*p) {
		const char *start, *slash;
		size_t len;
		struct cidr c;
		struct cidr *grown;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (!*p)
			break;
		start = p;
		while (*p && *p != ' ' && *p != '\t' && *p != ',')
			p++;
		len = (size_t)(p - start);
		slash = memchr(start, '/', len);
		memset(&c, 0, sizeof(c));
		if (parse_addr(start, slash ? (size_t)(slash - start) : len, &c.family, c.addr) < 0)
			goto bad;
		c.prefix = c.family == AF_INET ? 32 : 128;
		if (slash) {
			char *end;
			long v = strtol(slash + 1, &end, 10);

			if (end != p || v < 0 || v > c.prefix)
				goto bad;
			c.prefix = (int)v;
		}
		grown = realloc(out->v, (out->n + 1) * sizeof(*grown));
		if (grown == NULL) {
			snprintf(err, errlen, "out of memory");
			proxy_list_free(out);
			return -1;
		}
		out->v = grown;
		out->v[out->n++] = c;
		continue;
bad:
		snprintf(err, errlen, "'%.*s' is not an address or CIDR", (int)(len > 64 ? 64 : len), start);
		proxy_list_free(out);
		return -1;
	}
	return 0;
}

void proxy_list_free(struct proxy_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static bool in_cidr(const struct cidr *c, int family, const unsigned char *addr)
{
	int full = c->prefix / 8, rest = c->prefix % 8;

	if (family != c->family)
		return false;
	if (memcmp(c->addr, addr, (size_t)full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((c->addr[full] ^ addr[full]) & (0xff << (8 - rest))) == 0;
}

static bool contains(const struct proxy_list *l, int family, const unsigned char *addr)
{
	for (size_t i = 0; i < l->n; i++)
		if (in_cidr(&l->v[i], family, addr))
			return true;
	return false;
}

bool proxy_list_contains(const struct proxy_list *l, const char *addr)
{
	unsigned char a[16];
	int family;

	return parse_addr(addr, strlen(addr), &family, a) == 0 && contains(l, family, a);
}

void client_key(const char *remote_addr, char out[CLIENT_ADDR_MAX])
{
	static const unsigned char v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	unsigned char addr[16];
	int family;

	if (remote_addr == NULL || parse_addr(remote_addr, strlen(remote_addr), &family, addr) < 0) {
		snprintf(out, CLIENT_ADDR_MAX, "unknown");
		return;
	}
	if (family == AF_INET6 && memcmp(addr, v4mapped, sizeof(v4mapped)) == 0) {
		memmove(addr, addr + 12, 4);
		family = AF_INET;
	}
	if (family == AF_INET) {
		if (inet_ntop(AF_INET, addr, out, CLIENT_ADDR_MAX) == NULL)
			snprintf(out, CLIENT_ADDR_MAX, "unknown");
		return;
	}
	memset(addr + 8, 0, 8);
	if (inet_ntop(AF_INET6, addr, out, CLIENT_ADDR_MAX - 4) == NULL)
		snprintf(out, CLIENT_ADDR_MAX, "unknown");
	else
		strcat(out, "/64");
}
