/*
 * client_addr.h: which address a request comes from, for the rate limit.
 * REMOTE_ADDR, unless it is a configured trusted proxy: then the rightmost
 * X-Forwarded-For entry that is not itself a trusted proxy.
 */
#ifndef CMDARENA_CLIENT_ADDR_H
#define CMDARENA_CLIENT_ADDR_H

#include <stdbool.h>
#include <stddef.h>

#define CLIENT_ADDR_MAX 64

struct cidr {
	int family;		/* AF_INET or AF_INET6 */
	unsigned char addr[16];
	int prefix;
};

struct proxy_list {
	struct cidr *v;
	size_t n;
};

/* Parse "10.0.0.1 192.168.0.0/16 ::1". Returns 0, or -1 naming the bad entry in err. */
int proxy_list_parse(const char *text, struct proxy_list *out, char *err, size_t errlen);
void proxy_list_free(struct proxy_list *l);
bool proxy_list_contains(const struct proxy_list *l, const char *addr);

/* The client's address into out (normalised text). */
void client_address(const char *remote_addr, const char *forwarded_for, const struct proxy_list *trusted,
    char out[CLIENT_ADDR_MAX]);

#endif
